// safetensors.c — see safetensors.h. Header validation follows the reference reader: a bounded
// header, known dtypes, offsets inside the data, sizes equal to shape × dtype, no overlaps.
#define _POSIX_C_SOURCE 200809L
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// Tensor data is little-endian in the file and used in place: big-endian hosts are not supported.
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian");

static const struct {
    const char *name;
    size_t size;
} g_dtypes[] = {{"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"I64", 8},
                {"I32", 4}, {"I16", 2}, {"I8", 1},   {"U8", 1},  {"BOOL", 1}};
#define NDTYPES ((int)(sizeof g_dtypes / sizeof g_dtypes[0]))

const char *st_dtype_name(st_dtype t) { return g_dtypes[t].name; }
size_t st_dtype_size(st_dtype t) { return g_dtypes[t].size; }

// ---------------------------------------------------------------------------------------------
// fp16 / bf16 <-> fp32, round to nearest even

// A float's bits, and the float of given bits.
static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float float_of(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float st_bf16_to_f32(uint16_t h) { return float_of((uint32_t)h << 16); }

uint16_t st_f32_to_bf16(float f) {
    uint32_t u = bits_of(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x0040u); // NaN stays NaN (quiet)
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float st_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (exp == 0) { // zero or subnormal: mant * 2^-24
        float f = ldexpf((float)mant, -24);
        return sign ? -f : f;
    }
    if (exp == 31) return float_of(sign | 0x7f800000u | (mant << 13)); // inf or NaN
    return float_of(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

uint16_t st_f32_to_f16(float f) {
    uint32_t x = bits_of(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    x &= 0x7fffffffu;
    if (x > 0x7f800000u) return sign | 0x7e00u;  // NaN
    if (x >= 0x47800000u) return sign | 0x7c00u; // >= 65536 (or inf): inf
    if (x < 0x38800000u)                         // below 2^-14: subnormal or zero
        return sign | (uint16_t)nearbyintf(float_of(x) * 16777216.0f); // mant = |f| / 2^-24, rounded to even
    uint32_t mant = x & 0x7fffffu, h = ((((x >> 23) - 127 + 15) << 10) | (mant >> 13)), rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; // a carry rolls into the exponent correctly
    return (uint16_t)(sign | h);
}

// ---------------------------------------------------------------------------------------------
// header

static int cmp_name(const void *a, const void *b) {
    return strcmp(((const st_tensor *)a)->name, ((const st_tensor *)b)->name);
}

static int cmp_offset(const void *a, const void *b) {
    const st_tensor *x = *(st_tensor *const *)a, *y = *(st_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

void st_tensors_free(st_tensor *tensors, int n) {
    for (int i = 0; tensors && i < n; i++) free(tensors[i].name);
    free(tensors);
}

// A non-negative integer that a double holds exactly.
static bool json_size(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0 ||
        v->valuedouble != floor(v->valuedouble))
        return false;
    *out = (uint64_t)v->valuedouble;
    return true;
}

static int parse_entry(const cJSON *e, const char *file, size_t data_len, st_tensor *t, fx_err *err) {
    const char *name = e->string;
    if (!cJSON_IsObject(e)) return fx_errf(err, "%s: tensor %s: expected an object with dtype, shape, data_offsets", file, name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dtype)) return fx_errf(err, "%s: tensor %s: dtype: expected a string", file, name);
    int dt = NDTYPES;
    for (int d = 0; d < NDTYPES; d++)
        if (strcmp(dtype->valuestring, g_dtypes[d].name) == 0) dt = d;
    if (dt == NDTYPES)
        return fx_errf(err, "%s: tensor %s: dtype: unsupported \"%.32s\" (expected F32, F16, BF16, F64, I64, I32, I16, I8, U8 or BOOL)",
                       file, name, dtype->valuestring);
    t->dtype = (st_dtype)dt;
    if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) > ST_MAX_DIMS)
        return fx_errf(err, "%s: tensor %s: shape: expected an array of at most %d sizes", file, name, ST_MAX_DIMS);
    t->ndim = 0;
    uint64_t numel = 1;
    for (const cJSON *d = shape->child; d; d = d->next) {
        uint64_t n;
        if (!json_size(d, &n)) return fx_errf(err, "%s: tensor %s: shape: expected non-negative integers", file, name);
        if (n != 0 && numel > (UINT64_MAX / 16) / n) return fx_errf(err, "%s: tensor %s: shape: too many elements", file, name);
        numel *= n;
        t->shape[t->ndim++] = (int64_t)n;
    }
    uint64_t b, end;
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 || !json_size(offs->child, &b) ||
        !json_size(offs->child->next, &end) || b > end)
        return fx_errf(err, "%s: tensor %s: data_offsets: expected [begin, end] with 0 <= begin <= end", file, name);
    if (end > data_len)
        return fx_errf(err, "%s: tensor %s: data_offsets [%llu, %llu] run past the end of the data (%zu bytes): truncated file?",
                       file, name, (unsigned long long)b, (unsigned long long)end, data_len);
    uint64_t want = numel * g_dtypes[t->dtype].size;
    if (end - b != want)
        return fx_errf(err, "%s: tensor %s: data_offsets hold %llu bytes but its shape and dtype %s need %llu", file, name,
                       (unsigned long long)(end - b), g_dtypes[t->dtype].name, (unsigned long long)want);
    t->numel = (size_t)numel;
    t->nbytes = (size_t)want;
    t->offset = (size_t)b;
    return 0;
}

// No two tensors share a byte.
static int check_overlaps(st_tensor *ts, int n, const char *file, fx_err *err) {
    st_tensor **order = fx_malloc((size_t)(n > 0 ? n : 1) * sizeof *order);
    for (int i = 0; i < n; i++) order[i] = &ts[i];
    qsort(order, (size_t)n, sizeof *order, cmp_offset);
    int rc = 0;
    size_t end = 0;
    const char *owner = NULL;
    for (int i = 0; i < n && !rc; i++) {
        if (order[i]->nbytes == 0) continue;
        if (owner && order[i]->offset < end)
            rc = fx_errf(err, "%s: tensors %s and %s overlap in the data section", file, owner, order[i]->name);
        if (order[i]->offset + order[i]->nbytes > end) end = order[i]->offset + order[i]->nbytes, owner = order[i]->name;
    }
    free(order);
    return rc;
}

int st_parse_header(const char *json, size_t len, const void *data, size_t data_len, const char *file,
                    st_tensor **tensors, int *ntensors, fx_err *err) {
    *tensors = NULL;
    *ntensors = 0;
    if (len == 0 || json[0] != '{') return fx_errf(err, "%s: header: expected a JSON object", file);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
    // Only padding (spaces) may follow the object.
    bool trailing = false;
    for (const char *p = end; root && p && p < json + len; p++) trailing |= !(*p == ' ' || *p == '\0');
    if (!cJSON_IsObject(root) || trailing) {
        cJSON_Delete(root);
        return fx_errf(err, "%s: header: malformed JSON", file);
    }
    int n = 0;
    for (const cJSON *e = root->child; e; e = e->next) n++;
    st_tensor *ts = fx_calloc((size_t)n + 1, sizeof *ts);
    int count = 0, rc = 0;
    for (const cJSON *e = root->child; e && !rc; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) {
            if (!cJSON_IsObject(e)) rc = fx_errf(err, "%s: __metadata__: expected an object of strings", file);
            for (const cJSON *m = e->child; !rc && m; m = m->next)
                if (!cJSON_IsString(m)) rc = fx_errf(err, "%s: __metadata__.%s: expected a string", file, m->string);
            continue;
        }
        rc = parse_entry(e, file, data_len, &ts[count], err);
        if (!rc) {
            ts[count].name = fx_strdup(e->string);
            ts[count].data = data ? (const char *)data + ts[count].offset : NULL;
            count++;
        }
    }
    cJSON_Delete(root);
    if (!rc) {
        qsort(ts, (size_t)count, sizeof *ts, cmp_name);
        for (int k = 1; k < count && !rc; k++)
            if (strcmp(ts[k - 1].name, ts[k].name) == 0) rc = fx_errf(err, "%s: tensor %s: listed twice", file, ts[k].name);
    }
    if (!rc) rc = check_overlaps(ts, count, file, err);
    if (rc) {
        st_tensors_free(ts, count);
        return -1;
    }
    *tensors = ts;
    *ntensors = count;
    return 0;
}

// ---------------------------------------------------------------------------------------------
// files

int st_parse_buffer(const void *buf, size_t size, const char *file, st_tensor **ts, int *n, fx_err *err) {
    *ts = NULL;
    *n = 0;
    const unsigned char *b = buf;
    if (size < 8) return fx_errf(err, "%s: %zu bytes: too short for a safetensors file (truncated?)", file, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | b[i];
    if (hlen > ST_MAX_HEADER)
        return fx_errf(err, "%s: header of %llu bytes is larger than the %u allowed (not a safetensors file?)", file,
                       (unsigned long long)hlen, ST_MAX_HEADER);
    if (hlen > size - 8)
        return fx_errf(err, "%s: header of %llu bytes runs past the end of the file (%zu bytes): truncated?", file,
                       (unsigned long long)hlen, size);
    return st_parse_header((const char *)b + 8, (size_t)hlen, b + 8 + hlen, size - 8 - (size_t)hlen, file, ts, n, err);
}

// Maps one .safetensors file and parses its header; tensors get shard index `shard`.
static int open_shard(const char *path, int shard, void **map, size_t *map_size, st_tensor **ts, int *n, fx_err *err) {
    *map = NULL;
    *map_size = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fx_errf(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fx_errf(err, "%s: not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    if (size < 8) {
        close(fd);
        return fx_errf(err, "%s: %zu bytes: too short for a safetensors file (truncated?)", path, size);
    }
    void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return fx_errf(err, "%s: cannot mmap: %s", path, strerror(errno));
    int rc = st_parse_buffer(m, size, path, ts, n, err);
    if (rc) {
        munmap(m, size);
        return -1;
    }
    for (int i = 0; i < *n; i++) (*ts)[i].shard = shard;
    *map = m;
    *map_size = size;
    return 0;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static bool is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int add_shard(st_archive *a, const char *path, fx_err *err) {
    int k = a->nshards;
    a->paths = fx_realloc(a->paths, (size_t)(k + 1) * sizeof *a->paths);
    a->maps = fx_realloc(a->maps, (size_t)(k + 1) * sizeof *a->maps);
    a->map_sizes = fx_realloc(a->map_sizes, (size_t)(k + 1) * sizeof *a->map_sizes);
    a->paths[k] = fx_strdup(path);
    a->maps[k] = NULL;
    a->map_sizes[k] = 0;
    a->nshards++;
    st_tensor *ts = NULL;
    int n = 0;
    if (open_shard(path, k, &a->maps[k], &a->map_sizes[k], &ts, &n, err)) return -1;
    a->tensors = fx_realloc(a->tensors, (size_t)(a->ntensors + n + 1) * sizeof *a->tensors);
    memcpy(a->tensors + a->ntensors, ts, (size_t)n * sizeof *ts);
    a->ntensors += n;
    free(ts); // the names moved into a->tensors
    return 0;
}

// model.safetensors.index.json: {"weight_map": {"tensor name": "shard file name", ...}}.
static int open_index(st_archive *a, const char *index_path, fx_err *err) {
    size_t len;
    char *text = fx_read_file(index_path, &len, err);
    if (!text) return -1;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    int rc = 0;
    if (!cJSON_IsObject(root)) rc = fx_errf(err, "%s: malformed JSON (expected an object with weight_map)", index_path);
    else if (!cJSON_IsObject(map)) rc = fx_errf(err, "%s: weight_map: expected an object of tensor name -> shard file", index_path);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", index_path);
    char *slash = strrchr(dir, '/');
    if (slash) slash[1] = '\0';
    else dir[0] = '\0';
    int listed = 0;
    char path[8192];
    for (const cJSON *e = map ? map->child : NULL; !rc && e; e = e->next, listed++) {
        if (!cJSON_IsString(e) || !ends_with(e->valuestring, ".safetensors") || strchr(e->valuestring, '/'))
            rc = fx_errf(err, "%s: weight_map.%s: expected the file name of a .safetensors shard in the same folder",
                         index_path, e->string);
        if (rc) break;
        snprintf(path, sizeof path, "%s%s", dir, e->valuestring);
        bool seen = false;
        for (int k = 0; k < a->nshards; k++) seen |= strcmp(a->paths[k], path) == 0;
        if (!seen) rc = add_shard(a, path, err);
    }
    if (!rc) qsort(a->tensors, (size_t)a->ntensors, sizeof *a->tensors, cmp_name);
    // Every tensor is where the index says, and no shard holds a tensor the index does not list.
    for (const cJSON *e = map ? map->child : NULL; !rc && e; e = e->next) {
        const st_tensor *t = st_find(a, e->string);
        if (!t) rc = fx_errf(err, "%s: tensor %s: listed in weight_map but not in %s", index_path, e->string, e->valuestring);
        else if (snprintf(path, sizeof path, "%s%s", dir, e->valuestring) > 0 && strcmp(a->paths[t->shard], path) != 0)
            rc = fx_errf(err, "%s: tensor %s: weight_map says %s but it is in %s", index_path, e->string, e->valuestring,
                         a->paths[t->shard]);
    }
    for (int i = 1; !rc && i < a->ntensors; i++)
        if (strcmp(a->tensors[i - 1].name, a->tensors[i].name) == 0)
            rc = fx_errf(err, "%s: tensor %s: in two shards", index_path, a->tensors[i].name);
    if (!rc && a->ntensors != listed) {
        for (int i = 0; i < a->ntensors; i++)
            if (!cJSON_GetObjectItemCaseSensitive(map, a->tensors[i].name)) {
                rc = fx_errf(err, "%s: tensor %s: in shard %s but not listed in weight_map", index_path,
                             a->tensors[i].name, a->paths[a->tensors[i].shard]);
                break;
            }
    }
    cJSON_Delete(root);
    return rc;
}

int st_open(st_archive *a, const char *path, fx_err *err) {
    memset(a, 0, sizeof *a);
    struct stat st;
    if (stat(path, &st) != 0) return fx_errf(err, "%s: cannot open: %s", path, strerror(errno));
    char buf[4096];
    int rc;
    if (S_ISDIR(st.st_mode)) {
        snprintf(buf, sizeof buf, "%s/model.safetensors.index.json", path);
        if (is_file(buf)) {
            rc = open_index(a, buf, err);
        } else {
            snprintf(buf, sizeof buf, "%s/model.safetensors", path);
            if (!is_file(buf))
                return fx_errf(err, "%s: no model.safetensors or model.safetensors.index.json in this folder", path);
            rc = add_shard(a, buf, err);
        }
    } else if (ends_with(path, ".json")) {
        rc = open_index(a, path, err);
    } else {
        rc = add_shard(a, path, err);
    }
    if (!rc) qsort(a->tensors, (size_t)a->ntensors, sizeof *a->tensors, cmp_name);
    if (rc) st_close(a);
    return rc;
}

void st_close(st_archive *a) {
    st_tensors_free(a->tensors, a->ntensors);
    for (int k = 0; k < a->nshards; k++) {
        if (a->maps[k]) munmap(a->maps[k], a->map_sizes[k]);
        free(a->paths[k]);
    }
    free(a->paths);
    free(a->maps);
    free(a->map_sizes);
    memset(a, 0, sizeof *a);
}

const st_tensor *st_find(const st_archive *a, const char *name) {
    st_tensor key = {.name = (char *)name};
    return a->ntensors ? bsearch(&key, a->tensors, (size_t)a->ntensors, sizeof key, cmp_name) : NULL;
}

static void shape_str(int ndim, const int64_t *shape, char *buf, size_t n) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++) k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

int st_check_f32(const st_archive *a, const char *name, int ndim, const int64_t *shape, fx_err *err) {
    const st_tensor *t = st_find(a, name);
    const char *file = a->nshards == 1 ? a->paths[0] : a->nshards ? "checkpoint" : "(empty)";
    if (!t) return fx_errf(err, "%s: tensor %s: missing", file, name);
    file = a->paths[t->shard];
    bool same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char got[128], want[128];
        shape_str(t->ndim, t->shape, got, sizeof got);
        shape_str(ndim, shape, want, sizeof want);
        return fx_errf(err, "%s: tensor %s: shape %s, expected %s", file, name, got, want);
    }
    if (t->dtype != ST_F32 && t->dtype != ST_BF16 && t->dtype != ST_F16 && t->dtype != ST_F64)
        return fx_errf(err, "%s: tensor %s: dtype %s, expected a floating-point dtype (F32, BF16, F16, F64)", file, name,
                       st_dtype_name(t->dtype));
    return 0;
}

int st_read_f32(const st_archive *a, const char *name, int ndim, const int64_t *shape, float *out, fx_err *err) {
    if (st_check_f32(a, name, ndim, shape, err)) return -1;
    const st_tensor *t = st_find(a, name);
    const unsigned char *src = t->data;
    switch (t->dtype) {
    case ST_F32: memcpy(out, src, t->nbytes); break;
    case ST_BF16:
    case ST_F16:
        for (size_t i = 0; i < t->numel; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            out[i] = t->dtype == ST_BF16 ? st_bf16_to_f32(h) : st_f16_to_f32(h);
        }
        break;
    default: // ST_F64: st_check_f32 let only floating-point dtypes through
        for (size_t i = 0; i < t->numel; i++) {
            double d;
            memcpy(&d, src + 8 * i, 8);
            out[i] = (float)d;
        }
        break;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------------
// writing

static int write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static char *save_header(const st_entry *entries, int n, st_dtype dtype, size_t *hlen) {
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
    cJSON_AddStringToObject(meta, "format", "pt");
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        size_t numel = 1;
        cJSON *e = cJSON_AddObjectToObject(root, entries[i].name);
        cJSON_AddStringToObject(e, "dtype", st_dtype_name(dtype));
        cJSON *shape = cJSON_AddArrayToObject(e, "shape");
        for (int d = 0; d < entries[i].ndim; d++) {
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)entries[i].shape[d]));
            numel *= (size_t)entries[i].shape[d];
        }
        cJSON *offs = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        off += numel * st_dtype_size(dtype);
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    FX_ASSERT(json);
    size_t len = strlen(json), padded = (len + 7) / 8 * 8; // data starts 8-byte aligned
    json = fx_realloc(json, padded + 1);
    memset(json + len, ' ', padded - len);
    json[padded] = '\0';
    *hlen = padded;
    return json;
}

int st_save(const char *path, const st_entry *entries, int n, st_dtype dtype, fx_err *err) {
    return st_save_each(path, entries, n, dtype, NULL, NULL, err);
}

// The remaining gets of a save that stopped at tensor i (see st_save_each).
static void get_rest(const float *(*get)(void *ctx, int i), void *ctx, int i, int n) {
    for (; get && i < n; i++) get(ctx, i);
}

int st_save_each(const char *path, const st_entry *entries, int n, st_dtype dtype,
                 const float *(*get)(void *ctx, int i), void *ctx, fx_err *err) {
    if (dtype != ST_F32 && dtype != ST_BF16 && dtype != ST_F16) {
        get_rest(get, ctx, 0, n);
        return fx_errf(err, "%s: cannot save as %s (F32, BF16 or F16)", path, st_dtype_name(dtype));
    }
    size_t hlen;
    char *header = save_header(entries, n, dtype, &hlen);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        int e = errno;
        free(header);
        get_rest(get, ctx, 0, n);
        return fx_errf(err, "%s: cannot create: %s", tmp, strerror(e));
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    int bad = write_all(fd, len8, 8) || write_all(fd, header, hlen);
    free(header);
    enum { CHUNK = 1 << 16 };
    uint16_t *half = dtype == ST_F32 ? NULL : fx_malloc(CHUNK * sizeof *half);
    for (int i = 0; i < n; i++) {
        const float *data = get ? get(ctx, i) : entries[i].data;
        if (bad) continue;
        size_t numel = 1;
        for (int d = 0; d < entries[i].ndim; d++) numel *= (size_t)entries[i].shape[d];
        if (dtype == ST_F32) {
            bad = write_all(fd, data, numel * 4);
            continue;
        }
        for (size_t s = 0; s < numel && !bad; s += CHUNK) {
            size_t m = numel - s < CHUNK ? numel - s : CHUNK;
            for (size_t j = 0; j < m; j++)
                half[j] = dtype == ST_BF16 ? st_f32_to_bf16(data[s + j]) : st_f32_to_f16(data[s + j]);
            bad = write_all(fd, half, m * 2);
        }
    }
    free(half);
    if (bad || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return fx_errf(err, "%s: write failed: %s", tmp, strerror(e));
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return fx_errf(err, "%s: cannot finish writing: %s", path, strerror(e));
    }
    return 0;
}
