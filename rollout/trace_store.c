// trace_store.c — see trace_store.h and docs/formats.md.
#define _POSIX_C_SOURCE 200809L
#include "trace_store.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../core/h5.h"

#define FORMAT_NAME "fluxrl-traces"
#define FORMAT_VERSION 1

// The file's datasets are trace_columns, in the order they are appended: the token and step
// arrays, the per-trace columns, and /traces/group_id last (its length is the trace count).
#define NCOLS 21

// Each column's dataset path and the order columns are appended in: computed per store from
// trace_columns (no state shared between stores or threads).
typedef struct {
    int order[NCOLS];
    char paths[NCOLS][48];
} column_layout;

static void columns_init(column_layout *l) {
    FX_ASSERT(trace_ncolumns == NCOLS);
    int k = 0;
    for (int pass = 0; pass < 3; pass++)
        for (int c = 0; c < NCOLS; c++) {
            const trace_column *col = &trace_columns[c];
            bool group = strcmp(col->name, "group_id") == 0;
            if ((pass == 0 && col->per != TRACE_PER_TRACE) || (pass == 1 && col->per == TRACE_PER_TRACE && !group) ||
                (pass == 2 && group))
                l->order[k++] = c;
        }
    for (int c = 0; c < NCOLS; c++) {
        const trace_column *col = &trace_columns[c];
        char *path = l->paths[c];
        size_t cap = sizeof l->paths[c];
        if (col->per == TRACE_PER_TRACE) snprintf(path, cap, "/traces/%s", col->name);
        else if (col->per == TRACE_PER_STEP) snprintf(path, cap, "/steps/%s", col->name + 5);
        else snprintf(path, cap, "/tokens/%s", col->name);
    }
}
#define GROUP_COL 0 // trace_columns[0] is group_id

struct trace_store {
    char *path;
    hid_t file;
    hid_t dsets[NCOLS];
    column_layout cols;
    bool writing;
    int64_t count[4]; // stored traces, prompt ids, response ids, steps
    char *attrs[3];   // config, model, tokenizer
};

static const char *g_attr_names[3] = {"config", "model", "tokenizer"};

static hid_t h5type(trace_type t) {
    switch (t) {
    case TRACE_I32: return H5T_NATIVE_INT32;
    case TRACE_I64: return H5T_NATIVE_INT64;
    case TRACE_F32: return H5T_NATIVE_FLOAT;
    default: return H5T_NATIVE_UINT8;
    }
}

static void store_free(trace_store *s) {
    for (int c = 0; c < NCOLS; c++)
        if (s->dsets[c] > 0) H5Dclose(s->dsets[c]);
    if (s->file > 0) H5Fclose(s->file);
    for (int a = 0; a < 3; a++) free(s->attrs[a]);
    free(s->path);
    free(s);
}

static trace_store *store_new(const char *path) {
    fx_h5_quiet(); // errors are reported by us, naming file and dataset
    trace_store *s = fx_calloc(1, sizeof *s);
    columns_init(&s->cols);
    s->path = fx_strdup(path);
    return s;
}


int trace_store_create(trace_store **out, const char *path, const char *config_json, const char *model,
                       const char *tokenizer, fx_err *err) {
    *out = NULL;
    trace_store *s = store_new(path);
    s->writing = true;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST); // SWMR needs the latest format
    errno = 0;
    s->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (s->file < 0) {
        int e = errno;
        store_free(s);
        fx_errf(err, "%s: cannot create the HDF5 file: %s", path, e ? strerror(e) : "folder missing or not writable?");
        errno = e; // for the caller's exit code: a full disk is no bad input
        return -1;
    }
    const char *groups[] = {"/traces", "/tokens", "/steps"};
    for (int g = 0; g < 3; g++) H5Gclose(H5Gcreate2(s->file, groups[g], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    for (int c = 0; c < NCOLS; c++) {
        hsize_t zero = 0, unlimited = H5S_UNLIMITED, chunk = trace_columns[c].per == TRACE_PER_TRACE ? 1024 : 16384;
        hid_t space = H5Screate_simple(1, &zero, &unlimited);
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_chunk(dcpl, 1, &chunk);
        s->dsets[c] = H5Dcreate2(s->file, s->cols.paths[c], h5type(trace_columns[c].type), space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        H5Pclose(dcpl);
        H5Sclose(space);
        if (s->dsets[c] < 0) {
            fx_errf(err, "%s: cannot create dataset %s", path, s->cols.paths[c]);
            store_free(s);
            return -1;
        }
    }
    const char *vals[3] = {config_json ? config_json : "", model ? model : "", tokenizer ? tokenizer : ""};
    int rc = fx_h5_write_str_attr(s->file, "format", FORMAT_NAME);
    for (int a = 0; a < 3 && !rc; a++) rc = fx_h5_write_str_attr(s->file, g_attr_names[a], vals[a]);
    if (!rc) rc = fx_h5_write_str_attr(s->file, "writer", "fluxrl " FLUXRL_VERSION);
    hid_t space = H5Screate(H5S_SCALAR);
    int version = FORMAT_VERSION;
    hid_t a = H5Acreate2(s->file, "format_version", H5T_NATIVE_INT, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, H5T_NATIVE_INT, &version) < 0) rc = -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(space);
    if (!rc) rc = fx_h5_write_str_attr(s->dsets[8], "names", "eos,stop,length,abort"); // finish_reason
    // From here on no attribute may change: SWMR allows appending data only.
    errno = 0;
    if (rc || H5Fstart_swmr_write(s->file) < 0) {
        int e = errno;
        store_free(s);
        remove(path); // nothing half-made is left behind
        fx_errf(err, "%s: cannot write the store's attributes or start SWMR writing%s%s", path, e ? ": " : "",
                e ? strerror(e) : "");
        errno = e;
        return -1;
    }
    for (int k = 0; k < 3; k++) s->attrs[k] = fx_strdup(vals[k]);
    *out = s;
    return 0;
}

static int flush(trace_store *s, fx_err *err) {
    errno = 0;
    if (H5Fflush(s->file, H5F_SCOPE_GLOBAL) >= 0) return 0;
    return fx_errf(err, "%s: flush failed: %s", s->path, errno ? strerror(errno) : "disk full?");
}

static int append_column(trace_store *s, int c, const void *data, int64_t rows, fx_err *err) {
    if (rows == 0) return 0;
    hid_t d = s->dsets[c];
    hsize_t old = (hsize_t)s->count[trace_columns[c].per], add = (hsize_t)rows, size = old + add;
    if (H5Dset_extent(d, &size) < 0) return fx_errf(err, "%s: %s: cannot extend", s->path, s->cols.paths[c]);
    hid_t fspace = H5Dget_space(d);
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &old, NULL, &add, NULL);
    hid_t mspace = H5Screate_simple(1, &add, NULL);
    errno = 0;
    herr_t rc = H5Dwrite(d, h5type(trace_columns[c].type), mspace, fspace, H5P_DEFAULT, data);
    int e = errno;
    H5Sclose(mspace);
    H5Sclose(fspace);
    if (rc < 0) return fx_errf(err, "%s: %s: write failed: %s", s->path, s->cols.paths[c], e ? strerror(e) : "disk full?");
    return 0;
}

int trace_store_append(trace_store *s, const trace_batch *b, fx_err *err) {
    FX_ASSERT(s->writing);
    if (b->n == 0) return 0;
    // In the file, starts index the whole file's arrays, not the batch's.
    int64_t *starts[3];
    const int64_t *src[3] = {b->prompt_start, b->response_start, b->step_start};
    const trace_per per[3] = {TRACE_PER_PROMPT_ID, TRACE_PER_RESPONSE_ID, TRACE_PER_STEP};
    for (int k = 0; k < 3; k++) {
        starts[k] = fx_malloc((size_t)b->n * sizeof(int64_t));
        for (int64_t i = 0; i < b->n; i++) starts[k][i] = src[k][i] + s->count[per[k]];
    }
    int rc = 0;
    for (int k = 0; k < NCOLS && !rc; k++) {
        int c = s->cols.order[k];
        if (c == GROUP_COL && flush(s, err)) rc = -1;
        const void *data = trace_batch_array(b, &trace_columns[c]);
        for (int j = 0; j < 3; j++)
            if (data == src[j]) data = starts[j];
        if (!rc) rc = append_column(s, c, data, trace_batch_rows(b, trace_columns[c].per), err);
    }
    for (int k = 0; k < 3; k++) free(starts[k]);
    if (!rc && flush(s, err)) rc = -1;
    if (rc) return -1;
    for (int p = 0; p < 4; p++) s->count[p] += trace_batch_rows(b, (trace_per)p);
    return 0;
}

static int64_t extent(hid_t d) {
    hid_t space = H5Dget_space(d);
    hsize_t n = 0;
    H5Sget_simple_extent_dims(space, &n, NULL);
    H5Sclose(space);
    return (int64_t)n;
}

// Opens a finished store as a plain read-only file: damaged metadata then fails at once. A file
// whose writer is still running (or was killed) needs SWMR reading, whose metadata retries sleep
// 1, 2, 4, ... ns per attempt: HDF5's default of 100 attempts never ends on a corrupt file, 20
// give a live writer about a millisecond to finish a flush.
static hid_t open_read(const char *path) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f >= 0) return f;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_metadata_read_attempts(fapl, 20);
    f = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
    H5Pclose(fapl);
    return f;
}

int trace_store_open(trace_store **out, const char *path, fx_err *err) {
    *out = NULL;
    fx_h5_quiet(); // before the first HDF5 call: errors are ours to report, in one line
#if H5_VERSION_GE(1, 12, 0)
    htri_t is_h5 = H5Fis_accessible(path, H5P_DEFAULT);
#else
    htri_t is_h5 = H5Fis_hdf5(path);
#endif
    if (is_h5 <= 0) {
        FILE *f = fopen(path, "rb");
        if (!f) return fx_errf(err, "%s: cannot open: no such file or not readable", path);
        fclose(f);
        return fx_errf(err, "%s: not an HDF5 file", path);
    }
    // The store's string attributes are variable-length (h5py reads them as str): their global
    // heap is checked before libhdf5, which trusts its lengths, reads it.
    if (fx_h5_check_global_heaps(path, err)) return -1;
    trace_store *s = store_new(path);
    s->file = open_read(path);
    if (s->file < 0) {
        store_free(s);
        return fx_errf(err, "%s: cannot open: the HDF5 file is truncated or corrupt (its metadata does not read back)",
                       path);
    }
    char *format = fx_h5_read_str_attr(s->file, "format");
    bool ok = format && strcmp(format, FORMAT_NAME) == 0;
    free(format);
    if (!ok) {
        store_free(s);
        return fx_errf(err, "%s: format: expected a \"%s\" attribute (not a fluxrl trace store)", path, FORMAT_NAME);
    }
    for (int c = 0; c < NCOLS; c++) {
        s->dsets[c] = H5Dopen2(s->file, s->cols.paths[c], H5P_DEFAULT);
        if (s->dsets[c] < 0) {
            fx_errf(err, "%s: %s: missing dataset", path, s->cols.paths[c]);
            store_free(s);
            return -1;
        }
        if (c == GROUP_COL || trace_columns[c].per != TRACE_PER_TRACE)
            s->count[trace_columns[c].per] = extent(s->dsets[c]);
    }
    for (int c = 0; c < NCOLS; c++)
        if (trace_columns[c].per == TRACE_PER_TRACE && extent(s->dsets[c]) < s->count[TRACE_PER_TRACE]) {
            fx_errf(err, "%s: %s: shorter than /traces/group_id", path, s->cols.paths[c]);
            store_free(s);
            return -1;
        }
    for (int a = 0; a < 3; a++) s->attrs[a] = fx_h5_read_str_attr(s->file, g_attr_names[a]);
    *out = s;
    return 0;
}

int trace_store_open_append(trace_store **out, const char *path, fx_err *err) {
    trace_store *s;
    if (trace_store_open(&s, path, err)) return -1; // a store, whole: checked read-only first
    *out = NULL;
    for (int c = 0; c < NCOLS; c++) H5Dclose(s->dsets[c]), s->dsets[c] = 0;
    H5Fclose(s->file);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    errno = 0;
    s->file = H5Fopen(path, H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    int rc = s->file < 0 ? fx_errf(err, "%s: cannot open for appending: %s", path,
                                   errno ? strerror(errno) : "not writable, or a writer still has it open")
                         : 0;
    for (int c = 0; c < NCOLS && !rc; c++)
        if ((s->dsets[c] = H5Dopen2(s->file, s->cols.paths[c], H5P_DEFAULT)) < 0) rc = fx_errf(err, "%s: %s: missing dataset", path, s->cols.paths[c]);
    // Per-trace columns longer than group_id (a writer killed mid-batch) are cut back to it.
    for (int c = 0; c < NCOLS && !rc; c++)
        if (trace_columns[c].per == TRACE_PER_TRACE && extent(s->dsets[c]) != s->count[TRACE_PER_TRACE]) {
            hsize_t n = (hsize_t)s->count[TRACE_PER_TRACE];
            if (H5Dset_extent(s->dsets[c], &n) < 0) rc = fx_errf(err, "%s: %s: cannot trim", path, s->cols.paths[c]);
        }
    if (!rc && H5Fstart_swmr_write(s->file) < 0) rc = fx_errf(err, "%s: cannot start SWMR writing", path);
    if (rc) {
        store_free(s);
        return -1;
    }
    s->writing = true;
    *out = s;
    return 0;
}

int64_t trace_store_count(const trace_store *s) { return s->count[TRACE_PER_TRACE]; }

const char *trace_store_attr(const trace_store *s, const char *name) {
    for (int a = 0; a < 3; a++)
        if (strcmp(name, g_attr_names[a]) == 0) return s->attrs[a];
    return NULL;
}

static int read_column(trace_store *s, int c, int64_t first, int64_t rows, void *out, fx_err *err) {
    if (rows == 0) return 0;
    hsize_t off = (hsize_t)first, n = (hsize_t)rows;
    hid_t fspace = H5Dget_space(s->dsets[c]);
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &off, NULL, &n, NULL);
    hid_t mspace = H5Screate_simple(1, &n, NULL);
    herr_t rc = H5Dread(s->dsets[c], h5type(trace_columns[c].type), mspace, fspace, H5P_DEFAULT, out);
    H5Sclose(mspace);
    H5Sclose(fspace);
    return rc < 0 ? fx_errf(err, "%s: %s: read of rows [%lld, %lld) failed", s->path, s->cols.paths[c], (long long)first,
                            (long long)(first + rows))
                  : 0;
}

int trace_store_read(trace_store *s, int64_t first, int64_t count, trace_batch *out, fx_err *err) {
    if (first < 0 || count < 0 || first > s->count[TRACE_PER_TRACE] - count)
        return fx_errf(err, "%s: traces [%lld, %lld) requested but the store holds %lld", s->path, (long long)first,
                       (long long)(first + count), (long long)s->count[TRACE_PER_TRACE]);
    // The per-trace columns first; they say which span of each data array the traces use.
    trace_batch_resize(out, count, 0, 0, 0);
    int rc = 0;
    for (int c = 0; c < NCOLS && !rc; c++)
        if (trace_columns[c].per == TRACE_PER_TRACE) rc = read_column(s, c, first, count, trace_batch_array(out, &trace_columns[c]), err);
    int64_t *starts[3] = {out->prompt_start, out->response_start, out->step_start};
    const int32_t *lens[3] = {out->prompt_len, out->response_len, out->step_count};
    int64_t lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
    for (int k = 0; k < 3 && !rc; k++) {
        lo[k] = count ? INT64_MAX : 0;
        for (int64_t i = 0; i < count; i++) {
            if (starts[k][i] < 0 || lens[k][i] < 0 || starts[k][i] > s->count[k + 1] - lens[k][i]) {
                static const char *names[3] = {"prompt", "response", "step"};
                rc = fx_errf(err, "%s: /traces/%s_start: trace %lld points outside the stored data", s->path, names[k],
                             (long long)(first + i));
                break;
            }
            if (starts[k][i] < lo[k]) lo[k] = starts[k][i];
            if (starts[k][i] + lens[k][i] > hi[k]) hi[k] = starts[k][i] + lens[k][i];
        }
        if (lo[k] > hi[k]) lo[k] = hi[k] = 0;
    }
    if (rc) return -1;
    // Then those spans, rebased to the batch.
    int64_t counts[4] = {count, hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]};
    trace_batch_resize(out, count, counts[1], counts[2], counts[3]); // keeps the per-trace columns
    for (int c = 0; c < NCOLS && !rc; c++) {
        trace_per p = trace_columns[c].per;
        if (p != TRACE_PER_TRACE) rc = read_column(s, c, lo[p - 1], counts[p], trace_batch_array(out, &trace_columns[c]), err);
    }
    for (int64_t i = 0; i < count; i++)
        out->prompt_start[i] -= lo[0], out->response_start[i] -= lo[1], out->step_start[i] -= lo[2];
    return rc ? -1 : trace_batch_check(out, s->path, err);
}

int trace_store_group(trace_store *s, int64_t group, int64_t **idx, int64_t *n, fx_err *err) {
    *idx = NULL;
    *n = 0;
    int64_t total = s->count[TRACE_PER_TRACE];
    int64_t *ids = fx_malloc((size_t)(total + 1) * sizeof *ids);
    int rc = read_column(s, GROUP_COL, 0, total, ids, err);
    int64_t k = 0;
    for (int64_t i = 0; !rc && i < total; i++)
        if (ids[i] == group) ids[k++] = i;
    if (rc) {
        free(ids);
        return -1;
    }
    *idx = ids;
    *n = k;
    return 0;
}

static void json_float(FILE *f, float v) {
    if (isfinite(v)) fprintf(f, "%.9g", v);
    else fputs("null", f);
}

int trace_store_export_jsonl(trace_store *s, FILE *f, fx_err *err) {
    static const char *finish[] = {TRACE_FINISH_NAMES};
    trace_batch b;
    trace_batch_init(&b);
    int rc = 0;
    for (int64_t first = 0; first < s->count[TRACE_PER_TRACE] && !rc; first += 256) {
        int64_t n = s->count[TRACE_PER_TRACE] - first < 256 ? s->count[TRACE_PER_TRACE] - first : 256;
        rc = trace_store_read(s, first, n, &b, err);
        for (int64_t i = 0; i < b.n && !rc; i++) {
            trace t = trace_batch_get(&b, i);
            fprintf(f, "{\"index\":%lld,\"group\":%lld,\"sample\":%d,\"policy_version\":%lld,\"finish\":",
                    (long long)(first + i), (long long)t.group, t.sample, (long long)t.policy_version);
            if (t.finish >= 0 && t.finish <= TRACE_FINISH_ABORT) fprintf(f, "\"%s\"", finish[t.finish]);
            else fprintf(f, "%d", t.finish);
            fprintf(f, ",\"think_end\":%d,\"prompt_ids\":[", t.think_end);
            for (int32_t k = 0; k < t.n_prompt; k++) fprintf(f, "%s%d", k ? "," : "", t.prompt[k]);
            fputs("],\"response_ids\":[", f);
            for (int32_t k = 0; k < t.n_response; k++) fprintf(f, "%s%d", k ? "," : "", t.response[k]);
            fputs("],\"logprobs\":[", f);
            for (int32_t k = 0; k < t.n_response; k++) {
                if (k) fputc(',', f);
                json_float(f, t.logprobs[k]);
            }
            fputs("],\"steps\":[", f);
            for (int32_t k = 0; k < t.n_steps; k++) {
                fprintf(f, "%s{\"end\":%d,\"part\":\"%s\",\"reward\":", k ? "," : "", t.step_end[k],
                        t.step_part[k] ? "response" : "think");
                json_float(f, t.step_reward[k]);
                fputc('}', f);
            }
            fputs("],\"outcome_reward\":", f);
            json_float(f, t.outcome_reward);
            fputs(",\"trajectory_reward\":", f);
            json_float(f, t.trajectory_reward);
            fputs(",\"final_reward\":", f);
            json_float(f, t.final_reward);
            fputs("}\n", f);
        }
    }
    trace_batch_free(&b);
    if (!rc && ferror(f)) rc = fx_errf(err, "writing the JSONL export failed");
    return rc;
}

int trace_store_close(trace_store *s, fx_err *err) {
    if (!s) return 0;
    int rc = 0;
    if (s->writing && flush(s, err)) rc = -1;
    store_free(s);
    return rc;
}
