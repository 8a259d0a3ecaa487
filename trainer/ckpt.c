// ckpt.c — see ckpt.h.
#define _POSIX_C_SOURCE 200809L
#include "ckpt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/h5.h"
#include <unistd.h>

#include "../core/log.h"

#define CKPT_FORMAT "fluxrl-checkpoint"

static hid_t h5type(ckpt_type t) {
    switch (t) {
    case CKPT_F32: return H5T_NATIVE_FLOAT;
    case CKPT_I64: return H5T_NATIVE_INT64;
    case CKPT_F64: return H5T_NATIVE_DOUBLE;
    default: return H5T_NATIVE_UINT8;
    }
}

static const char *type_name(ckpt_type t) {
    static const char *names[] = {"f32", "i64", "u8", "f64"};
    return names[t];
}


static int fsync_path(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

// Each of a's fill_range pieces from element lo on (see ckpt_array), nothing written.
static void fill_pieces(const ckpt_array *a, size_t lo) {
    for (; lo < a->n; lo += CKPT_PIECE) a->fill_range(a->fill_ctx, lo, a->n - lo < CKPT_PIECE ? a->n : lo + CKPT_PIECE, a->data);
}

// Writes a (after its fill, or piece by piece after each fill_range) unless ok is false; the fills
// run either way.
static int write_array(hid_t file, const ckpt_array *a, bool ok) {
    if (!ok) {
        if (a->fill_range) fill_pieces(a, 0);
        else if (a->fill) a->fill(a->fill_ctx, a->data);
        return -1;
    }
    hsize_t n = a->n, chunk = a->n < ((hsize_t)1 << 20) ? (a->n ? a->n : 1) : ((hsize_t)1 << 20);
    hid_t space = H5Screate_simple(1, &n, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk);
    H5Pset_fletcher32(dcpl); // a checksum per chunk, verified on every read
    hid_t d = H5Dcreate2(file, a->name, h5type(a->type), space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    herr_t rc = d < 0 ? -1 : 0;
    if (!a->fill_range) {
        if (a->fill) a->fill(a->fill_ctx, a->data);
        if (!rc && a->n) rc = H5Dwrite(d, h5type(a->type), H5S_ALL, H5S_ALL, H5P_DEFAULT, a->data);
    }
    for (size_t lo = 0; a->fill_range && lo < a->n; lo += CKPT_PIECE) {
        hsize_t start = lo, count = a->n - lo < CKPT_PIECE ? a->n - lo : CKPT_PIECE;
        a->fill_range(a->fill_ctx, lo, lo + count, a->data);
        if (rc < 0) continue;
        hid_t mem = H5Screate_simple(1, &count, NULL);
        rc = H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, NULL, &count, NULL);
        if (rc >= 0) rc = H5Dwrite(d, h5type(a->type), mem, space, H5P_DEFAULT, a->data);
        H5Sclose(mem);
    }
    if (d >= 0) H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
    return rc < 0 ? -1 : 0;
}

// The fills of arrays[0..n) when nothing can be written (see ckpt_array).
static void fill_all(const ckpt_array *arrays, int n) {
    for (int i = 0; i < n; i++) write_array(-1, &arrays[i], false);
}

static int write_file(const char *path, int64_t step, const ckpt_array *arrays, int n, const char *config_json,
                      const char *kind) {
    // The latest format checksums the superblock and object headers, and fixed-length strings
    // keep the attributes in them: a damaged file is then refused, never misread (test_mutate).
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (f < 0) {
        fill_all(arrays, n);
        return -1;
    }
    int rc = fx_h5_write_fixed_str_attr(f, "format", CKPT_FORMAT) ||
             fx_h5_write_fixed_str_attr(f, "config", config_json ? config_json : "") ||
             fx_h5_write_fixed_str_attr(f, "writer", "fluxrl " FLUXRL_VERSION) ||
             (kind && fx_h5_write_fixed_str_attr(f, "kind", kind));
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, "step", H5T_NATIVE_INT64, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, H5T_NATIVE_INT64, &step) < 0) rc = -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(space);
    for (int i = 0; i < n; i++)
        if (write_array(f, &arrays[i], !rc)) rc = -1;
    if (H5Fclose(f) < 0) rc = -1;
    return rc;
}


// The steps of run_dir's complete checkpoints, newest first (caller frees); *n their number.
static int64_t *list_steps(const char *dir, int *n) {
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return NULL;
    int64_t *steps = NULL;
    int cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        long long s;
        char tail[8];
        if (sscanf(e->d_name, "step-%lld.%7s", &s, tail) != 2 || strcmp(tail, "h5") != 0) continue;
        if (*n == cap) cap = cap ? 2 * cap : 16, steps = fx_realloc(steps, (size_t)cap * sizeof *steps);
        steps[(*n)++] = s;
    }
    closedir(d);
    for (int i = 1; i < *n; i++) // insertion sort, descending
        for (int j = i; j > 0 && steps[j] > steps[j - 1]; j--) {
            int64_t t = steps[j];
            steps[j] = steps[j - 1];
            steps[j - 1] = t;
        }
    return steps;
}

static void step_path(char *buf, size_t n, const char *dir, int64_t step) {
    snprintf(buf, n, "%s/step-%08lld.h5", dir, (long long)step);
}

void ckpt_shard_path(char *buf, size_t n, const char *path, int shard, int shards) {
    size_t len = strlen(path);
    if (len >= 3 && !strcmp(path + len - 3, ".h5")) len -= 3;
    snprintf(buf, n, "%.*s.shard-%d-of-%d.h5", (int)len, path, shard, shards);
}

// Writes the arrays into `path` through a temporary file, fsynced and renamed; the fills run
// whatever happens.
static int save_as(const char *dir, const char *path, int64_t step, const ckpt_array *arrays, int n,
                   const char *config_json, const char *kind, fx_err *err) {
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    errno = 0;
    if (write_file(tmp, step, arrays, n, config_json, kind) || fsync_path(tmp)) {
        int e = errno;
        unlink(tmp);
        return fx_errf(err, "%s: cannot write the checkpoint: %s", tmp, e ? strerror(e) : "disk full or not writable?");
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return fx_errf(err, "%s: cannot rename to %s: %s", tmp, path, strerror(e));
    }
    fsync_path(dir); // the rename itself reaches the disk
    return 0;
}

// The shard files (step-N.shard-R-of-S.h5) of steps that have no checkpoint among `keep` (the
// steps kept, count of them) and are not newer than the newest of them: those of pruned
// checkpoints, and of a save that failed before its checkpoint file was written; and the
// temporary files (NAME.tmp.PID) of steps not newer than it, left by a process that died while
// writing (every rank's writes of the newest are done when it is pruned).
static void prune_shards(const char *dir, const int64_t *keep, int count) {
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        long long s;
        int r, of, used = 0;
        if (!count || sscanf(e->d_name, "step-%lld.", &s) != 1 || s > keep[0]) continue;
        bool tmp = strstr(e->d_name, ".tmp.") != NULL;
        if (!tmp && (sscanf(e->d_name, "step-%lld.shard-%d-of-%d.h5%n", &s, &r, &of, &used) != 3 ||
                     used != (int)strlen(e->d_name)))
            continue;
        bool kept = false;
        for (int i = 0; i < count && !kept && !tmp; i++) kept = keep[i] == s;
        if (kept) continue;
        char old[4600];
        snprintf(old, sizeof old, "%s/%s", dir, e->d_name);
        unlink(old);
    }
    closedir(d);
}

int ckpt_save(const char *run_dir, int64_t step, const ckpt_array *arrays, int n, const char *config_json,
              const char *kind, int keep_last, char *path_out, size_t path_len, fx_err *err) {
    fx_h5_quiet();
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/checkpoints", run_dir);
    if (fx_mkdir_p(dir, err)) {
        fill_all(arrays, n);
        return -1;
    }
    step_path(path, sizeof path, dir, step);
    if (save_as(dir, path, step, arrays, n, config_json, kind, err)) return -1;
    if (path_out) snprintf(path_out, path_len, "%s", path);
    int count;
    int64_t *steps = list_steps(dir, &count);
    for (int i = keep_last > 0 ? keep_last : count; i < count; i++) {
        char old[4200];
        step_path(old, sizeof old, dir, steps[i]);
        unlink(old);
    }
    prune_shards(dir, steps, keep_last > 0 && keep_last < count ? keep_last : count);
    free(steps);
    return 0;
}

int ckpt_save_shard(const char *run_dir, int64_t step, int shard, int shards, const ckpt_array *arrays, int n,
                    const char *kind, fx_err *err) {
    fx_h5_quiet();
    char dir[4096], path[4200], spath[4300];
    snprintf(dir, sizeof dir, "%s/checkpoints", run_dir);
    if (fx_mkdir_p(dir, err)) {
        fill_all(arrays, n);
        return -1;
    }
    step_path(path, sizeof path, dir, step);
    ckpt_shard_path(spath, sizeof spath, path, shard, shards);
    return save_as(dir, spath, step, arrays, n, NULL, kind, err);
}

// Reads dataset d (of file space `space`) into a->data: whole, or piece by piece into one piece's
// buffer, each handed to a->take_range as it is read (see ckpt_array).
static herr_t read_array(hid_t d, hid_t space, const ckpt_array *a) {
    if (!a->take_range) return H5Dread(d, h5type(a->type), H5S_ALL, H5S_ALL, H5P_DEFAULT, a->data);
    herr_t rc = 0;
    for (size_t lo = 0; lo < a->n && rc >= 0; lo += CKPT_PIECE) {
        hsize_t start = lo, count = a->n - lo < CKPT_PIECE ? a->n - lo : CKPT_PIECE;
        hid_t mem = H5Screate_simple(1, &count, NULL);
        rc = H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, NULL, &count, NULL);
        if (rc >= 0) rc = H5Dread(d, h5type(a->type), mem, space, H5P_DEFAULT, a->data);
        H5Sclose(mem);
        if (rc >= 0) a->take_range(a->fill_ctx, lo, lo + count, a->data);
    }
    return rc;
}

// Opens a checkpoint file (its format and step checked; *step may be NULL), or -1 with err set.
static hid_t open_ckpt(const char *path, int64_t *step, fx_err *err) {
    fx_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        fx_errf(err, "%s: cannot open as HDF5 (missing, truncated or corrupted)", path);
        return -1;
    }
    char *format = fx_h5_read_str_attr(f, "format");
    int rc = 0;
    if (!format || strcmp(format, CKPT_FORMAT) != 0) rc = fx_errf(err, "%s: format: expected \"%s\"", path, CKPT_FORMAT);
    free(format);
    int64_t s;
    if (!rc) {
        hid_t a = H5Aopen(f, "step", H5P_DEFAULT);
        if (a < 0 || H5Aread(a, H5T_NATIVE_INT64, &s) < 0) rc = fx_errf(err, "%s: step: missing", path);
        if (a >= 0) H5Aclose(a);
    }
    if (rc) {
        H5Fclose(f);
        return -1;
    }
    if (step) *step = s;
    return f;
}

bool ckpt_has(const char *path, const char *name) {
    fx_err err;
    hid_t f = open_ckpt(path, NULL, &err);
    if (f < 0) return false;
    bool has = H5Lexists(f, name, H5P_DEFAULT) > 0;
    H5Fclose(f);
    return has;
}

int ckpt_load_range(const char *path, const char *name, ckpt_type type, size_t n, size_t lo, size_t hi, void *piece,
                    void (*take)(void *ctx, size_t lo, size_t hi, const void *data), void *ctx, fx_err *err) {
    FX_ASSERT(lo <= hi && hi <= n);
    hid_t f = open_ckpt(path, NULL, err);
    if (f < 0) return -1;
    int rc = 0;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) {
        H5Fclose(f);
        return fx_errf(err, "%s: %s: missing", path, name);
    }
    hid_t space = H5Dget_space(d), t = H5Dget_type(d);
    hsize_t len = 0;
    H5Sget_simple_extent_dims(space, &len, NULL);
    if (H5Tequal(t, h5type(type)) <= 0 || len != n)
        rc = fx_errf(err, "%s: %s: expected %zu %s values, found %llu of another or the same type", path, name, n,
                     type_name(type), (unsigned long long)len);
    for (size_t at = lo; !rc && at < hi; at += CKPT_PIECE) {
        hsize_t start = at, count = hi - at < CKPT_PIECE ? hi - at : CKPT_PIECE;
        hid_t mem = H5Screate_simple(1, &count, NULL);
        herr_t r = H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, NULL, &count, NULL);
        if (r >= 0) r = H5Dread(d, h5type(type), mem, space, H5P_DEFAULT, piece);
        H5Sclose(mem);
        if (r < 0) rc = fx_errf(err, "%s: %s: read failed: checksum mismatch (corrupted file)", path, name);
        else take(ctx, at, at + count, piece);
    }
    H5Tclose(t);
    H5Sclose(space);
    H5Dclose(d);
    H5Fclose(f);
    return rc;
}

int ckpt_load(const char *path, const ckpt_array *arrays, int n, int64_t *step, fx_err *err) {
    hid_t f = open_ckpt(path, step, err);
    if (f < 0) return -1;
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        hid_t d = H5Dopen2(f, arrays[i].name, H5P_DEFAULT);
        if (d < 0) {
            rc = fx_errf(err, "%s: %s: missing", path, arrays[i].name);
            break;
        }
        hid_t space = H5Dget_space(d), t = H5Dget_type(d);
        hsize_t len = 0;
        H5Sget_simple_extent_dims(space, &len, NULL);
        if (H5Tequal(t, h5type(arrays[i].type)) <= 0 || len != arrays[i].n)
            rc = fx_errf(err, "%s: %s: expected %zu %s values, found %llu of another or the same type", path, arrays[i].name,
                         arrays[i].n, type_name(arrays[i].type), (unsigned long long)len);
        else if (len && read_array(d, space, &arrays[i]) < 0)
            rc = fx_errf(err, "%s: %s: read failed: checksum mismatch (corrupted file)", path, arrays[i].name);
        H5Tclose(t);
        H5Sclose(space);
        H5Dclose(d);
    }
    H5Fclose(f);
    return rc;
}

typedef struct {
    const ckpt_array *arrays;
    int n;
} plain_load;

static int load_plain(void *ctx, const char *path, int64_t *step, fx_err *err) {
    const plain_load *p = ctx;
    return ckpt_load(path, p->arrays, p->n, step, err);
}

int ckpt_resume_latest(const char *run_dir, const char *kind, const ckpt_array *arrays, int n, int64_t *step,
                       char *path_out, size_t path_len, fx_err *err) {
    plain_load p = {arrays, n};
    return ckpt_resume_latest_with(run_dir, kind, load_plain, &p, step, path_out, path_len, err);
}

int ckpt_resume_latest_with(const char *run_dir, const char *kind,
                            int (*load)(void *ctx, const char *path, int64_t *step, fx_err *err), void *ctx,
                            int64_t *step, char *path_out, size_t path_len, fx_err *err) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/checkpoints", run_dir);
    int count;
    int64_t *steps = list_steps(dir, &count);
    int found = 0;
    for (int i = 0; i < count && !found; i++) {
        char path[4200];
        step_path(path, sizeof path, dir, steps[i]);
        fx_err why;
        char *stored = kind ? ckpt_kind(path) : NULL;
        if (stored && strcmp(stored, kind) != 0) { // another loop's state: resuming would mix runs
            fx_errf(err, "%s: kind: written by a %s run; expected a %s checkpoint (--resume auto in another run's "
                         "folder: give this run its own run.name)", path, stored, kind);
            free(stored);
            free(steps);
            return -1;
        }
        free(stored);
        if (load(ctx, path, step, &why) == 0) {
            found = 1;
            if (path_out) snprintf(path_out, path_len, "%s", path);
        } else {
            fx_warn("skipping checkpoint %s: %s", path, why.msg);
        }
    }
    free(steps);
    if (!found && count > 0) return fx_errf(err, "%s: none of the %d checkpoints loads (see the warnings above)", dir, count);
    return found;
}

// A string attribute of a checkpoint file (caller frees), or NULL.
static char *file_str_attr(const char *path, const char *name) {
    fx_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return NULL;
    char *v = fx_h5_read_str_attr(f, name);
    H5Fclose(f);
    return v;
}

char *ckpt_kind(const char *path) { return file_str_attr(path, "kind"); }

char *ckpt_config(const char *path) { return file_str_attr(path, "config"); }
