// safetensors.h — Hugging Face safetensors checkpoints, read by mmap and written atomically.
// Format: 8-byte little-endian header length N, N bytes of JSON {"name": {"dtype", "shape",
// "data_offsets": [begin, end]}, "__metadata__": {...}}, then the data (offsets relative to it).
// A checkpoint is one model.safetensors or a model.safetensors.index.json naming shards.
// Everything is validated on open: a bad file is an error naming the file and the tensor.
#ifndef FLUXRL_SAFETENSORS_H
#define FLUXRL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "../core/fx.h"

#define ST_MAX_DIMS 8
#define ST_MAX_HEADER (100u << 20) // a larger header is refused, as the reference reader does

typedef enum { ST_F32 = 0, ST_F16, ST_BF16, ST_F64, ST_I64, ST_I32, ST_I16, ST_I8, ST_U8, ST_BOOL } st_dtype;

typedef struct {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t numel, nbytes;
    size_t offset;    // of its bytes within the data section of its shard
    const void *data; // into the mmap of its shard (NULL after a header-only parse)
    int shard;        // index into st_archive.paths
} st_tensor;

typedef struct {
    int ntensors;
    st_tensor *tensors; // sorted by name
    int nshards;
    char **paths;       // one per shard
    void **maps;
    size_t *map_sizes;
} st_archive;

const char *st_dtype_name(st_dtype t); // "F32", "BF16", ...
size_t st_dtype_size(st_dtype t);

// path: a .safetensors file, a .safetensors.index.json, or a folder holding either
// (model.safetensors.index.json is preferred, then model.safetensors).
int st_open(st_archive *a, const char *path, fx_err *err);
void st_close(st_archive *a);
const st_tensor *st_find(const st_archive *a, const char *name);

// Copies a tensor into fp32, converting F16/BF16/F64 (integer dtypes are refused).
// Checks that its shape is exactly `shape` (ndim dims); err names the file and the tensor.
int st_read_f32(const st_archive *a, const char *name, int ndim, const int64_t *shape, float *out, fx_err *err);
// What st_read_f32 checks, without reading: the tensor exists with exactly `shape` and a
// floating-point dtype (its bytes lie inside its file: st_open checked the offsets).
int st_check_f32(const st_archive *a, const char *name, int ndim, const int64_t *shape, fx_err *err);

// Parses a header alone (for the fuzzer and for st_open): JSON text of `len` bytes describing a
// data section of `data_len` bytes. On success fills tensors (sorted by name; caller frees with
// st_tensors_free) with data pointers relative to `data` (may be NULL for header-only checks).
int st_parse_header(const char *json, size_t len, const void *data, size_t data_len, const char *file,
                    st_tensor **tensors, int *ntensors, fx_err *err);
void st_tensors_free(st_tensor *tensors, int n);
// A whole file's bytes: the 8-byte length, the header, the data (what st_open does after mmap).
int st_parse_buffer(const void *buf, size_t size, const char *file, st_tensor **tensors, int *ntensors, fx_err *err);

// Writing: tensors given as fp32 are stored as `dtype` (F32, BF16 or F16; BF16 and F16 round to
// nearest even). Written to a temporary file, then renamed: no half-written checkpoint is left.
typedef struct {
    const char *name;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const float *data;
} st_entry;
int st_save(const char *path, const st_entry *entries, int n, st_dtype dtype, fx_err *err);
// The same with each tensor's floats from get(ctx, i) (entries' data unused), called once for
// every i in order just before tensor i is written, valid until the next call; called for every
// tensor even when the file cannot be written, so get may be a collective other ranks wait in.
int st_save_each(const char *path, const st_entry *entries, int n, st_dtype dtype,
                 const float *(*get)(void *ctx, int i), void *ctx, fx_err *err);

// Conversions used above, exposed for the backends and tests.
float st_bf16_to_f32(uint16_t h);
uint16_t st_f32_to_bf16(float f);
float st_f16_to_f32(uint16_t h);
uint16_t st_f32_to_f16(float f);

#endif
