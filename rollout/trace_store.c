// trace_store.c — see trace_store.h and docs/formats.md.
#define _POSIX_C_SOURCE 200809L
#include "trace_store.h"

#include <hdf5.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT_NAME "fluxrl-traces"
#define FORMAT_VERSION 1

// What a column is indexed by.
enum { PER_TRACE, PER_PROMPT_ID, PER_RESPONSE_ID, PER_STEP };
enum { I32, I64, F32, U8 };

typedef struct {
    const char *path;
    int per, type;
    size_t field; // offsetof(trace_batch, array)
} column;

// group_id is last: it is extended after every other column, and its length is the trace count.
static const column g_cols[] = {
    {"/tokens/prompt_ids", PER_PROMPT_ID, I32, offsetof(trace_batch, prompt_ids)},
    {"/tokens/response_ids", PER_RESPONSE_ID, I32, offsetof(trace_batch, response_ids)},
    {"/tokens/logprobs", PER_RESPONSE_ID, F32, offsetof(trace_batch, logprobs)},
    {"/steps/end", PER_STEP, I32, offsetof(trace_batch, step_end)},
    {"/steps/part", PER_STEP, U8, offsetof(trace_batch, step_part)},
    {"/steps/reward", PER_STEP, F32, offsetof(trace_batch, step_reward)},
    {"/traces/sample_index", PER_TRACE, I32, offsetof(trace_batch, sample)},
    {"/traces/policy_version", PER_TRACE, I64, offsetof(trace_batch, policy_version)},
    {"/traces/finish_reason", PER_TRACE, I32, offsetof(trace_batch, finish)},
    {"/traces/think_end", PER_TRACE, I32, offsetof(trace_batch, think_end)},
    {"/traces/outcome_reward", PER_TRACE, F32, offsetof(trace_batch, outcome_reward)},
    {"/traces/trajectory_reward", PER_TRACE, F32, offsetof(trace_batch, trajectory_reward)},
    {"/traces/final_reward", PER_TRACE, F32, offsetof(trace_batch, final_reward)},
    {"/traces/prompt_start", PER_TRACE, I64, offsetof(trace_batch, prompt_start)},
    {"/traces/prompt_length", PER_TRACE, I32, offsetof(trace_batch, prompt_len)},
    {"/traces/response_start", PER_TRACE, I64, offsetof(trace_batch, response_start)},
    {"/traces/response_length", PER_TRACE, I32, offsetof(trace_batch, response_len)},
    {"/traces/step_start", PER_TRACE, I64, offsetof(trace_batch, step_start)},
    {"/traces/step_count", PER_TRACE, I32, offsetof(trace_batch, step_count)},
    {"/traces/group_id", PER_TRACE, I64, offsetof(trace_batch, group)},
};
#define NCOLS ((int)(sizeof g_cols / sizeof g_cols[0]))
#define GROUP_COL (NCOLS - 1)

struct trace_store {
    char *path;
    hid_t file;
    hid_t dsets[NCOLS];
    bool writing;
    int64_t count[4]; // stored traces, prompt ids, response ids, steps
    char *attrs[3];   // config, model, tokenizer
};

static const char *g_attr_names[3] = {"config", "model", "tokenizer"};

static hid_t h5type(int t) {
    switch (t) {
    case I32: return H5T_NATIVE_INT32;
    case I64: return H5T_NATIVE_INT64;
    case F32: return H5T_NATIVE_FLOAT;
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
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); // errors are reported by us, naming file and dataset
    trace_store *s = fx_calloc(1, sizeof *s);
    s->path = fx_strdup(path);
    return s;
}

static int write_str_attr(hid_t obj, const char *name, const char *value) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, t, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, t, &value);
    if (a >= 0) H5Aclose(a);
    H5Sclose(space);
    H5Tclose(t);
    return rc < 0 ? -1 : 0;
}

static char *read_str_attr(hid_t obj, const char *name) {
    if (H5Aexists(obj, name) <= 0) return NULL;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    char *v = NULL, *out = NULL;
    if (a >= 0 && H5Aread(a, t, &v) >= 0 && v) {
        out = fx_strdup(v);
        H5free_memory(v);
    }
    H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    return out;
}

int trace_store_create(trace_store **out, const char *path, const char *config_json, const char *model,
                       const char *tokenizer, fx_err *err) {
    *out = NULL;
    trace_store *s = store_new(path);
    s->writing = true;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST); // SWMR needs the latest format
    s->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (s->file < 0) {
        store_free(s);
        return fx_errf(err, "%s: cannot create the HDF5 file (folder missing or not writable?)", path);
    }
    const char *groups[] = {"/traces", "/tokens", "/steps"};
    for (int g = 0; g < 3; g++) H5Gclose(H5Gcreate2(s->file, groups[g], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    for (int c = 0; c < NCOLS; c++) {
        hsize_t zero = 0, unlimited = H5S_UNLIMITED, chunk = g_cols[c].per == PER_TRACE ? 1024 : 16384;
        hid_t space = H5Screate_simple(1, &zero, &unlimited);
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_chunk(dcpl, 1, &chunk);
        s->dsets[c] = H5Dcreate2(s->file, g_cols[c].path, h5type(g_cols[c].type), space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        H5Pclose(dcpl);
        H5Sclose(space);
        if (s->dsets[c] < 0) {
            store_free(s);
            return fx_errf(err, "%s: cannot create dataset %s", path, g_cols[c].path);
        }
    }
    const char *vals[3] = {config_json ? config_json : "", model ? model : "", tokenizer ? tokenizer : ""};
    int rc = write_str_attr(s->file, "format", FORMAT_NAME);
    for (int a = 0; a < 3 && !rc; a++) rc = write_str_attr(s->file, g_attr_names[a], vals[a]);
    if (!rc) rc = write_str_attr(s->file, "writer", "fluxrl " FLUXRL_VERSION);
    hid_t space = H5Screate(H5S_SCALAR);
    int version = FORMAT_VERSION;
    hid_t a = H5Acreate2(s->file, "format_version", H5T_NATIVE_INT, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, H5T_NATIVE_INT, &version) < 0) rc = -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(space);
    if (!rc) rc = write_str_attr(s->dsets[8], "names", "eos,stop,length,abort"); // finish_reason
    // From here on no attribute may change: SWMR allows appending data only.
    if (rc || H5Fstart_swmr_write(s->file) < 0) {
        store_free(s);
        return fx_errf(err, "%s: cannot write the store's attributes or start SWMR writing", path);
    }
    for (int k = 0; k < 3; k++) s->attrs[k] = fx_strdup(vals[k]);
    *out = s;
    return 0;
}

static int64_t batch_rows(const trace_batch *b, int per) {
    switch (per) {
    case PER_TRACE: return b->n;
    case PER_PROMPT_ID: return b->n_prompt_ids;
    case PER_RESPONSE_ID: return b->n_response_ids;
    default: return b->n_steps;
    }
}

static int append_column(trace_store *s, int c, const void *data, int64_t rows, fx_err *err) {
    if (rows == 0) return 0;
    hid_t d = s->dsets[c];
    hsize_t old = (hsize_t)s->count[g_cols[c].per], add = (hsize_t)rows, size = old + add;
    if (H5Dset_extent(d, &size) < 0) return fx_errf(err, "%s: %s: cannot extend", s->path, g_cols[c].path);
    hid_t fspace = H5Dget_space(d);
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &old, NULL, &add, NULL);
    hid_t mspace = H5Screate_simple(1, &add, NULL);
    herr_t rc = H5Dwrite(d, h5type(g_cols[c].type), mspace, fspace, H5P_DEFAULT, data);
    H5Sclose(mspace);
    H5Sclose(fspace);
    if (rc < 0) return fx_errf(err, "%s: %s: write failed (disk full?)", s->path, g_cols[c].path);
    return 0;
}

int trace_store_append(trace_store *s, const trace_batch *b, fx_err *err) {
    FX_ASSERT(s->writing);
    if (b->n == 0) return 0;
    // Starts in the file are offsets into the whole file's arrays, not the batch's.
    int64_t *starts[3];
    const int64_t *src[3] = {b->prompt_start, b->response_start, b->step_start};
    int per[3] = {PER_PROMPT_ID, PER_RESPONSE_ID, PER_STEP};
    for (int k = 0; k < 3; k++) {
        starts[k] = fx_malloc((size_t)b->n * sizeof(int64_t));
        for (int64_t i = 0; i < b->n; i++) starts[k][i] = src[k][i] + s->count[per[k]];
    }
    int rc = 0;
    for (int c = 0; c < NCOLS && !rc; c++) {
        if (c == GROUP_COL && H5Fflush(s->file, H5F_SCOPE_GLOBAL) < 0) rc = fx_errf(err, "%s: flush failed", s->path);
        const void *data = *(void *const *)((const char *)b + g_cols[c].field);
        if (g_cols[c].field == offsetof(trace_batch, prompt_start)) data = starts[0];
        if (g_cols[c].field == offsetof(trace_batch, response_start)) data = starts[1];
        if (g_cols[c].field == offsetof(trace_batch, step_start)) data = starts[2];
        if (!rc) rc = append_column(s, c, data, batch_rows(b, g_cols[c].per), err);
    }
    for (int k = 0; k < 3; k++) free(starts[k]);
    if (!rc && H5Fflush(s->file, H5F_SCOPE_GLOBAL) < 0) rc = fx_errf(err, "%s: flush failed", s->path);
    if (rc) return -1;
    s->count[PER_TRACE] += b->n;
    s->count[PER_PROMPT_ID] += b->n_prompt_ids;
    s->count[PER_RESPONSE_ID] += b->n_response_ids;
    s->count[PER_STEP] += b->n_steps;
    return 0;
}

static int64_t extent(hid_t d) {
    hid_t space = H5Dget_space(d);
    hsize_t n = 0;
    H5Sget_simple_extent_dims(space, &n, NULL);
    H5Sclose(space);
    return (int64_t)n;
}

int trace_store_open(trace_store **out, const char *path, fx_err *err) {
    *out = NULL;
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
    trace_store *s = store_new(path);
    s->file = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT);
    if (s->file < 0) {
        store_free(s);
        return fx_errf(err, "%s: cannot open as a trace store (an HDF5 file not written by fluxrl?)", path);
    }
    char *format = read_str_attr(s->file, "format");
    bool ok = format && strcmp(format, FORMAT_NAME) == 0;
    free(format);
    if (!ok) {
        store_free(s);
        return fx_errf(err, "%s: format: expected a \"%s\" attribute (not a fluxrl trace store)", path, FORMAT_NAME);
    }
    for (int c = 0; c < NCOLS; c++) {
        s->dsets[c] = H5Dopen2(s->file, g_cols[c].path, H5P_DEFAULT);
        if (s->dsets[c] < 0) {
            store_free(s);
            return fx_errf(err, "%s: %s: missing dataset", path, g_cols[c].path);
        }
        if (c == GROUP_COL) s->count[PER_TRACE] = extent(s->dsets[c]);
        else if (g_cols[c].per != PER_TRACE) s->count[g_cols[c].per] = extent(s->dsets[c]);
    }
    for (int c = 0; c < NCOLS; c++)
        if (g_cols[c].per == PER_TRACE && extent(s->dsets[c]) < s->count[PER_TRACE]) {
            store_free(s);
            return fx_errf(err, "%s: %s: shorter than /traces/group_id", path, g_cols[c].path);
        }
    for (int a = 0; a < 3; a++) s->attrs[a] = read_str_attr(s->file, g_attr_names[a]);
    *out = s;
    return 0;
}

int64_t trace_store_count(const trace_store *s) { return s->count[PER_TRACE]; }

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
    herr_t rc = H5Dread(s->dsets[c], h5type(g_cols[c].type), mspace, fspace, H5P_DEFAULT, out);
    H5Sclose(mspace);
    H5Sclose(fspace);
    return rc < 0 ? fx_errf(err, "%s: %s: read of rows [%lld, %lld) failed", s->path, g_cols[c].path, (long long)first,
                            (long long)(first + rows))
                  : 0;
}

// Checks the per-trace columns of out against the data arrays; returns the data ranges.
static int check_ranges(trace_store *s, const trace_batch *t, int64_t first, int64_t lo[3], int64_t hi[3], fx_err *err) {
    const int64_t *starts[3] = {t->prompt_start, t->response_start, t->step_start};
    const int32_t *lens[3] = {t->prompt_len, t->response_len, t->step_count};
    const char *names[3] = {"prompt", "response", "step"};
    int per[3] = {PER_PROMPT_ID, PER_RESPONSE_ID, PER_STEP};
    for (int k = 0; k < 3; k++) {
        lo[k] = INT64_MAX, hi[k] = 0;
        for (int64_t i = 0; i < t->n; i++) {
            if (starts[k][i] < 0 || lens[k][i] < 0 || starts[k][i] + lens[k][i] > s->count[per[k]])
                return fx_errf(err, "%s: /traces/%s_start: trace %lld points outside the data", s->path, names[k],
                               (long long)(first + i));
            if (starts[k][i] < lo[k]) lo[k] = starts[k][i];
            if (starts[k][i] + lens[k][i] > hi[k]) hi[k] = starts[k][i] + lens[k][i];
        }
        if (t->n == 0 || lo[k] > hi[k]) lo[k] = hi[k] = 0;
    }
    return 0;
}

int trace_store_read(trace_store *s, int64_t first, int64_t count, trace_batch *out, fx_err *err) {
    trace_batch_clear(out);
    if (first < 0 || count < 0 || first + count > s->count[PER_TRACE])
        return fx_errf(err, "%s: traces [%lld, %lld) requested but the store holds %lld", s->path, (long long)first,
                       (long long)(first + count), (long long)s->count[PER_TRACE]);
    // Per-trace columns straight into a batch of `count` traces.
    trace_batch t;
    trace_batch_init(&t);
    trace tmpl = {0};
    for (int64_t i = 0; i < count; i++) trace_batch_add(&t, &tmpl);
    int rc = 0;
    for (int c = 0; c < NCOLS && !rc; c++)
        if (g_cols[c].per == PER_TRACE) rc = read_column(s, c, first, count, *(void **)((char *)&t + g_cols[c].field), err);
    int64_t lo[3], hi[3];
    if (!rc) rc = check_ranges(s, &t, first, lo, hi, err);
    // Then the spans of the data columns those traces use, rebased to the batch.
    if (!rc) {
        int per_k[4] = {-1, 0, 1, 2};
        int64_t rows[3] = {hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]};
        t.cap_prompt_ids = t.n_prompt_ids = rows[0];
        t.cap_response_ids = t.n_response_ids = rows[1];
        t.cap_steps = t.n_steps = rows[2];
        t.prompt_ids = fx_realloc(t.prompt_ids, (size_t)(rows[0] + 1) * sizeof(int32_t));
        t.response_ids = fx_realloc(t.response_ids, (size_t)(rows[1] + 1) * sizeof(int32_t));
        t.logprobs = fx_realloc(t.logprobs, (size_t)(rows[1] + 1) * sizeof(float));
        t.step_end = fx_realloc(t.step_end, (size_t)(rows[2] + 1) * sizeof(int32_t));
        t.step_part = fx_realloc(t.step_part, (size_t)(rows[2] + 1));
        t.step_reward = fx_realloc(t.step_reward, (size_t)(rows[2] + 1) * sizeof(float));
        for (int c = 0; c < NCOLS && !rc; c++) {
            int k = per_k[g_cols[c].per];
            if (k >= 0) rc = read_column(s, c, lo[k], rows[k], *(void **)((char *)&t + g_cols[c].field), err);
        }
        for (int64_t i = 0; i < t.n; i++) t.prompt_start[i] -= lo[0], t.response_start[i] -= lo[1], t.step_start[i] -= lo[2];
    }
    // Steps end inside their response, in increasing order.
    for (int64_t i = 0; i < t.n && !rc; i++) {
        trace v = trace_batch_get(&t, i);
        for (int32_t k = 0; k < v.n_steps && !rc; k++)
            if (v.step_end[k] < 1 || v.step_end[k] > v.n_response || (k && v.step_end[k] <= v.step_end[k - 1]))
                rc = fx_errf(err, "%s: /steps/end: trace %lld step %d ends at %d (response length %d)", s->path,
                             (long long)(first + i), k, v.step_end[k], v.n_response);
    }
    if (!rc) trace_batch_append(out, &t);
    trace_batch_free(&t);
    return rc;
}

int trace_store_group(trace_store *s, int64_t group, int64_t **idx, int64_t *n, fx_err *err) {
    *idx = NULL;
    *n = 0;
    int64_t total = s->count[PER_TRACE];
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
    for (int64_t first = 0; first < s->count[PER_TRACE] && !rc; first += 256) {
        int64_t n = s->count[PER_TRACE] - first < 256 ? s->count[PER_TRACE] - first : 256;
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
    if (s->writing && H5Fflush(s->file, H5F_SCOPE_GLOBAL) < 0) rc = fx_errf(err, "%s: final flush failed", s->path);
    store_free(s);
    return rc;
}
