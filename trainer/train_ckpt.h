// train_ckpt.h — the checkpoint of a training loop (sft, train, ...): the model's weights, its
// AdamW moments and step, and a few numbers of the loop's own (its step, data cursor, metrics
// accumulators), in the HDF5 container of trainer/ckpt.h. With them a resumed run continues
// exactly where the interrupted one stood.
#ifndef FLUXRL_TRAIN_CKPT_H
#define FLUXRL_TRAIN_CKPT_H

#include "../model/model.h"
#include "ckpt.h"
#include "trainer_dp.h"

#define TRAINER_PATH_MAX 1040 // a run's folder and the path of a file in it

// What a training run (sft, prm-train, train) records besides its numbers, built from the config
// by pipeline/.
typedef struct {
    const char *dir;      // the run's folder, run.out_dir/run.name
    const char *config;   // the resolved config as JSON text: the folder's config.json and in every checkpoint
    int keep_checkpoints; // run.keep_checkpoints: the newest K are kept
} trainer_run;

#define TRAIN_CKPT_COUNTERS 7
#define TRAIN_CKPT_ACCUMS 2

typedef struct {
    size_t n;                                   // the model's parameters
    float *piece;                               // a host buffer of one piece (CKPT_PIECE floats
                                                // at most) that the params, adam_m and adam_v
                                                // pass through, piece by piece, saving and loading
    char *path;                                 // the resumed checkpoint, from train_ckpt_resume
                                                // to train_ckpt_share
    int64_t counters[TRAIN_CKPT_COUNTERS + 1];  // the loop's (it fills them), then AdamW's step
    double accum[TRAIN_CKPT_ACCUMS];            // the loop's
    const char *kind; // the loop's kind, "sft", "prm" or "grpo", stored in its checkpoints; NULL: untagged
    size_t base;                                // resuming: where the shard being read starts
    bool slices_read;                           // train_ckpt_resume_dp read every rank's slices
    model *model;                               // during a save, resume or share
    const trainer_dp *dp;
} train_ckpt;

// The host buffer is needed on the rank that writes and loads the checkpoint's own file (rank 0
// of a data-parallel group) only: one piece (64 MiB at most) whatever the model's size. With the
// state sharded, every rank writes its slices to a shard file of its own through a piece buffer
// of its own; resuming, rank 0 reads each piece of every shard into its own part (the whole, or
// its slice), and every other rank then reads its slices from the shard files (or, from a whole
// checkpoint, takes them from rank 0 a piece at a time).
void train_ckpt_init(train_ckpt *c, size_t nparams);
void train_ckpt_free(train_ckpt *c);
// Writes step's checkpoint of m (and of c->counters, c->accum) into run->dir/checkpoints/. With a
// sharded optimiser state (dp->shard over several ranks) every rank of dp calls it: each writes
// its slices of the weights and moments to its shard file (step-N.shard-R-of-S.h5), all agree
// that every shard is written (a rank that could not is named on every rank, and all return -1),
// then rank 0 writes the step's own file (counters, accumulators, the slices' bounds), so a
// checkpoint is always the whole state, whatever the number of ranks (resuming onto another number
// re-shards it); unsharded, rank 0 alone calls it and writes the whole state into the step's file.
// c is rank 0's (other ranks may pass one with no host copies; its kind tags the shard). Returns
// this rank's result.
int train_ckpt_save(train_ckpt *c, const model *m, const trainer_dp *dp, int64_t step, const trainer_run *run,
                    fx_err *err);
// --resume auto on the one rank of a whole state (one process, or rank 0 of unsharded data
// parallelism; train_ckpt_resume_dp calls it): loads the newest checkpoint that loads into c and m
// (1: its counters, AdamW's step and the whole weights and moments, from its shard files when it
// was written sharded), or finds none (0). Every piece of the file, and of each of its shard
// files, is read and its checksums verified, so the newest good checkpoint is chosen.
int train_ckpt_resume(train_ckpt *c, model *m, const char *run_dir, int64_t *step, fx_err *err);
// The same over the ranks of dp, every one of them calling it (want and run_dir: rank 0's). With
// the state sharded (dp->shard over several ranks) the verification is spread over the ranks:
// rank 0 walks the candidates, newest first, checking its own file and each shard's record of its
// slice and save (not their arrays), and for each candidate every rank reads its own slices of the
// weights and moments from the shards they lie in, every piece's checksums verified; a candidate
// that any rank cannot read is skipped on all (the rank warns why, rank 0 names it), so the newest
// checkpoint whose every piece reads is resumed and no rank reads more than its slice (a whole,
// unsharded checkpoint: rank 0 reads it all, as train_ckpt_resume). Returns rank 0's result on
// every rank (1 resumed, 0 none, -1 none of them loads: err on rank 0); train_ckpt_share then
// completes the start (the weights gathered from the slices when they are not sharded). Not
// sharded: train_ckpt_resume on rank 0, 0 elsewhere.
int train_ckpt_resume_dp(train_ckpt *c, model *m, const trainer_dp *dp, bool want, const char *run_dir, int64_t *step,
                         fx_err *err);
// Every rank of dp (size > 1) starts from rank 0's weights, AdamW moments and step: broadcast when
// whole; when sliced and rank 0 resumed (train_ckpt_resume_dp), the slices each rank read from
// a sharded checkpoint (the weights gathered from them when not sharded themselves), or from a
// whole one each rank's taken from rank 0 a piece at a time as it reads the step's file again.
// resumed: rank 0's; returns it on every rank. c may be NULL on the ranks other than 0.
bool train_ckpt_share(train_ckpt *c, model *m, const trainer_dp *dp, bool resumed);

#endif
