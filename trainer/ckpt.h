// ckpt.h — training checkpoints in HDF5: named arrays (parameters, AdamW moments, RNG state,
// data cursor, ...) plus the step and the config, in RUN_DIR/checkpoints/step-NNNNNNNN.h5.
// A checkpoint is written to a temporary file, fsynced and renamed, so one under its final name
// is always complete; every dataset carries HDF5's Fletcher-32 checksum, so a corrupted file is
// detected on load. The newest K are kept. Resuming picks the newest checkpoint that loads, and
// falls back to older ones with a warning naming what was wrong with the newer. A checkpoint of a
// state split between ranks adds one shard file per rank beside its own (ckpt_save_shard).
#ifndef FLUXRL_CKPT_H
#define FLUXRL_CKPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/fx.h"

typedef enum { CKPT_F32 = 0, CKPT_I64, CKPT_U8, CKPT_F64 } ckpt_type;

typedef struct {
    const char *name; // dataset name, e.g. "params", "adam_m", "rng"
    ckpt_type type;
    size_t n;         // elements
    void *data;       // saved from / loaded into (the caller owns it, sized n)
    // Saving only, may be NULL: fills data just before the array is written, so that several
    // arrays can pass through one buffer. ckpt_save calls every fill once, in order, even when
    // the file cannot be written (a fill may be a collective the other ranks are waiting in).
    void (*fill)(void *ctx, void *data);
    void *fill_ctx;
    // Saving only, may be NULL (then fill applies), for large arrays: fills data with the
    // elements [lo, hi) just before they are written, piece by piece in order, each at most
    // CKPT_PIECE elements, so that data need only hold one piece; called for every piece even
    // when the file cannot be written.
    void (*fill_range)(void *ctx, size_t lo, size_t hi, void *data);
    // Loading only, may be NULL (then data receives all n elements): data holds one piece, and
    // ckpt_load reads the array piece by piece in order (each at most CKPT_PIECE elements, its
    // checksums verified), handing each to take_range(fill_ctx, lo, hi, data) as it is read. A
    // file that fails later (a later piece or array) may have handed over pieces already.
    void (*take_range)(void *ctx, size_t lo, size_t hi, const void *data);
} ckpt_array;

#define CKPT_PIECE ((size_t)1 << 24) // elements per fill_range and take_range: 16 of the datasets' chunks

// Writes step's checkpoint into run_dir/checkpoints/ and removes all but the newest keep_last
// (keep_last <= 0 keeps all). *path_out (may be NULL) receives the file's path. kind (may be
// NULL) names the loop that wrote it, "sft", "prm" or "grpo": a run of one kind never resumes from the
// other's checkpoint when both share a run folder.
int ckpt_save(const char *run_dir, int64_t step, const ckpt_array *arrays, int n, const char *config_json,
              const char *kind, int keep_last, char *path_out, size_t path_len, fx_err *err);

// One rank's shard of a checkpoint whose state is split between ranks (trainer.shard): the
// arrays written to run_dir/checkpoints/step-N.shard-R-of-S.h5 (ckpt_shard_path), as ckpt_save
// writes (a temporary file, fsynced and renamed; every fill called even when nothing can be
// written), no config, no pruning. The checkpoint is complete once ckpt_save has written the
// step's own file, after every shard: resuming lists those only, and ckpt_save removes the shards
// of the steps it prunes and of saves that never got that far.
int ckpt_save_shard(const char *run_dir, int64_t step, int shard, int shards, const ckpt_array *arrays, int n,
                    const char *kind, fx_err *err);
// The path of shard `shard` of `shards` of the checkpoint at path (step-N.h5).
void ckpt_shard_path(char *buf, size_t n, const char *path, int shard, int shards);

// Loads path into the arrays: each must exist with exactly the expected type and size.
int ckpt_load(const char *path, const ckpt_array *arrays, int n, int64_t *step, fx_err *err);
// Reads the elements [lo, hi) of the array `name` of path (n elements of `type` expected) a piece
// at a time (at most CKPT_PIECE elements, into `piece`, their checksums verified), handing each
// to take(ctx, a, b, piece) with its place [a, b) in the array. A failure after the first piece
// has handed over the ones before it.
int ckpt_load_range(const char *path, const char *name, ckpt_type type, size_t n, size_t lo, size_t hi, void *piece,
                    void (*take)(void *ctx, size_t lo, size_t hi, const void *data), void *ctx, fx_err *err);
// Whether the checkpoint at path opens and holds an array `name`.
bool ckpt_has(const char *path, const char *name);

// `--resume auto`: loads the newest checkpoint of run_dir that loads cleanly; a newer one that
// does not is reported with fx_warn and skipped. Returns 1 when one was loaded (its step in
// *step, its path in path_out), 0 when the run has no checkpoint, -1 when none of them loads or
// the newest was written by another kind of run (kind non-NULL; an untagged checkpoint passes).
int ckpt_resume_latest(const char *run_dir, const char *kind, const ckpt_array *arrays, int n, int64_t *step,
                       char *path_out, size_t path_len, fx_err *err);

// The same with each candidate loaded by load(ctx, path, step, err) (0: loaded), for a checkpoint
// whose arrays are not all in its own file (trainer/train_ckpt.c: shards).
int ckpt_resume_latest_with(const char *run_dir, const char *kind,
                            int (*load)(void *ctx, const char *path, int64_t *step, fx_err *err), void *ctx,
                            int64_t *step, char *path_out, size_t path_len, fx_err *err);

// The config JSON stored in a checkpoint (caller frees), or NULL.
char *ckpt_config(const char *path);
// The kind of run that wrote it (caller frees), or NULL when untagged or unreadable.
char *ckpt_kind(const char *path);

#endif
