// trainer_dp.h — data parallelism as the training loops of trainer/ see it: sums and broadcasts
// over the ranks that train one model, with no MPI in this folder. comm/dp.h makes one over an
// MPI communicator (NCCL for the model's buffers when they live on GPUs). A loop given NULL runs
// alone.
#ifndef FLUXRL_TRAINER_DP_H
#define FLUXRL_TRAINER_DP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../model/model.h"

// How the ranks split the state of the model they train (trainer.shard; ZeRO's stages in
// DeepSpeed's terms). NONE: every rank holds the weights, gradients and AdamW moments of the whole
// model, gradients all-reduced. OPTIMIZER (ZeRO-1): each rank holds the moments of its slice of
// the flat parameter buffer only (trainer_shard_range); gradients are summed into their owner's
// slice, the owner clips (by the global norm, summed over the slices) and steps its slice, and
// the updated slices are gathered onto every rank. GRADIENTS (ZeRO-2): the same, and each rank
// holds the gradients of its slice only: model_backward hands each layer's gradients (then the
// embedding's, final norm's and heads') to a hook as soon as they are done, which sums them over
// the ranks into their owners' slices (model.h, grads_layer), so no rank holds the gradients of
// the whole model at once. FULL (ZeRO-3, FSDP's FULL_SHARD): the weights too. Each rank keeps its
// slice of them; each layer's weights are gathered onto every rank just before model_forward and
// model_backward read them (model.h, params_layer: one layer's buffer, refilled for the next
// layer); the embedding and an untied LM head are streamed, a chunk of rows gathered just before
// it is read and its gradients summed into their owners as soon as they are done (model.h,
// params_vocab), and the small tensors outside the layers (final norm, other heads) stay gathered
// in params_rest, regathered after each optimiser step. Every forward and backward pass is then a
// collective: a rank with fewer passes than the others pads with empty ones
// (trainer_agree_forwards, trainer_pad_passes). What needs every weight at once (decoding, saving,
// weight sync) gathers them first (trainer_params_collect, model_params_whole).
typedef enum {
    TRAINER_SHARD_NONE = 0,
    TRAINER_SHARD_OPTIMIZER,
    TRAINER_SHARD_GRADIENTS,
    TRAINER_SHARD_FULL
} trainer_shard;

typedef struct {
    int rank, size;
    // In place over the ranks: a buffer of the model (gradients; device memory on GPUs) ...
    void (*sum)(void *ctx, float *x, size_t n);
    // ... and host statistics.
    void (*sum_doubles)(void *ctx, double *x, int n);
    // From rank 0 to every rank: a buffer of the model, host integers, host doubles.
    void (*bcast)(void *ctx, float *x, size_t n);
    void (*bcast_i64)(void *ctx, int64_t *x, int n);
    void (*bcast_doubles)(void *ctx, double *x, int n);
    // true on every rank when a stop signal (SIGTERM, SIGINT) reached any of them: all stop after
    // the same step.
    bool (*stop)(void *ctx);
    // Every rank passes its exit code (0: fine) and gets the largest; *first_bad is the lowest rank
    // whose code was non-zero (-1: none), the one that says why. Set-up errors go through it, so
    // that no rank waits in a collective for one that has exited.
    int (*agree)(void *ctx, int code, int *first_bad);
    // The largest of each element over the ranks, in place.
    void (*max_i64)(void *ctx, int64_t *x, int n);
    // Sharded state. x is a buffer of the model (device memory on GPUs) split into one slice per
    // rank, rank r's [bounds[r], bounds[r + 1]): reduce_slices sums x over the ranks into each
    // rank's own slice (the rest of x is left undefined), gather_slices copies each rank's slice
    // to every rank.
    void (*reduce_slices)(void *ctx, float *x, const size_t *bounds);
    void (*gather_slices)(void *ctx, float *x, const size_t *bounds);
    // Host arrays in slices of an n-float buffer: collect puts the part [lo, hi) of it into rank
    // 0's `all` (hi - lo floats; NULL elsewhere), each rank sending `mine`, the part of its slice
    // in the range (the whole slice for [0, n)); distribute is its reverse, each rank receiving
    // into `mine` its slice's part of the range from rank 0's `all`.
    void (*collect)(void *ctx, const float *mine, float *all, size_t lo, size_t hi, size_t n);
    void (*distribute)(void *ctx, const float *all, float *mine, size_t lo, size_t hi, size_t n);
    trainer_shard shard;
    int vocab_rows; // FULL: rows per chunk of the embedding and LM head (trainer.vocab_chunk); 0: as a layer
    void *ctx;
} trainer_dp;

// The slice [lo, hi) of a buffer of n floats that rank `rank` of `size` owns when the state is
// sharded: contiguous, in rank order, each but the last a multiple of 16 floats (64 bytes) long.
static inline void trainer_shard_range(size_t n, int rank, int size, size_t *lo, size_t *hi) {
    model_shard_range(n, rank, size, lo, hi);
}

// The gradients and AdamW moments of m for training on this rank: the whole state, or with
// dp->shard the moments (and with GRADIENTS the gradients) of this rank's slice only. Call before
// model_reserve; then trainer_attach with the dp the training runs on.
void trainer_train_init(model *m, const trainer_dp *dp);
// With sliced gradients, model_backward sums each piece over dp's ranks (dp must outlive the
// training).
void trainer_attach(model *m, const trainer_dp *dp);
// With sliced gradients every rank must join the same reductions. Before the backward passes of
// an optimiser step, each rank says how many it takes (mine) and gets the most any rank takes;
// after its own, it takes empty ones (model_grad_flush) up to that many with trainer_pad_passes,
// lm saying whether the passes read the LM head (model_lm_forward/_backward, model_lm_ce): with
// streamed vocabulary tensors its chunks' gathers and reductions are collectives too.
// Unsliced, returns mine and pads nothing.
int trainer_agree_passes(const model *m, const trainer_dp *dp, int mine);
void trainer_pad_passes(model *m, int mine, int most, bool lm);
// Whether any rank of dp (a const trainer_dp *) has work left, given this rank's (mine): the
// agreement that keeps ranks decoding sharded weights in step (rollout_decode_opts.more).
bool trainer_dp_more(void *dp, bool mine);
// The same for forward passes with no backward (log-probs under the current weights) when the
// weights are sharded (FULL): each is a collective. Otherwise returns mine and pads nothing.
int trainer_agree_forwards(const model *m, const trainer_dp *dp, int mine);
void trainer_pad_forwards(model *m, int mine, int most, bool lm);
// FULL: the whole of m's weights into rank 0's host array `all` (nparams floats; NULL on the
// other ranks), each rank sending its slice (a collective of dp). Rank 0 may then hold them with
// model_params_whole.
void trainer_params_collect(const model *m, const trainer_dp *dp, float *all);
// FULL: the weights [lo, hi) of m's flat layout into rank 0's host array `all` (hi - lo floats;
// NULL elsewhere), each rank sending its slice's part of them (a collective of dp): what a weight
// sync bucket or a saved tensor needs, without the whole weights on any rank.
void trainer_params_collect_range(const model *m, const trainer_dp *dp, size_t lo, size_t hi, float *all);
// The same for any buffer of the model in slices (weights, AdamW moments): mine is this rank's
// slice of it (its backend's memory), trainer_shard_range's of nparams; for the weights,
// m->params_mem, which sharded holds the slice's part of the layers' run only (model_slice_get).
void trainer_slice_collect(const model *m, const trainer_dp *dp, const float *mine, size_t lo, size_t hi, float *all);
// Saves m as a Hugging Face folder (policy_save: the tokenizer of `from`). Every rank of dp calls
// it (dp NULL: one rank); with m's weights sharded (FULL) rank 0 writes them a tensor at a time,
// each gathered from the ranks' slices as it is written (trainer_serve_save on the others), so no
// rank holds the whole weights; otherwise rank 0 writes its whole copy. Returns rank 0's result,
// 0 elsewhere.
int trainer_policy_save(const char *from, const model *m, const trainer_dp *dp, const char *dir, fx_err *err);
// The part of a rank other than 0 in rank 0's tensor-by-tensor save of m's sharded weights: each
// tensor's part of its slice, in model_save_each's order.
void trainer_serve_save(const model *m, const trainer_dp *dp);
// The reverse of trainer_slice_collect: the part [lo, hi) of a buffer of the model in slices from
// rank 0's host array `piece` (hi - lo floats; NULL elsewhere), each rank receiving its slice's
// part of the range into mine (its slice, backend memory) (a collective of dp): a resumed
// checkpoint reaches the ranks a piece at a time.
void trainer_slice_distribute(const model *m, const trainer_dp *dp, float *mine, size_t lo, size_t hi,
                              const float *piece);
// FULL, after the ranks' slices of the weights were replaced (trainer_slice_distribute of
// params_mem): the tensors outside the layers regathered (a collective of dp).
void trainer_params_refresh(model *m, const trainer_dp *dp);
// The weights whole on every rank (not FULL, sharded state) when each rank holds only its slice of
// them in params_mem (a resume that read them by slices): the slices gathered (a collective of dp).
void trainer_params_gather(model *m, const trainer_dp *dp);

// The bytes trainer rank `rank` allocates for a model of m's layout (model_layout will do),
// trained on up to `rows` sequences of T tokens at once, its state split as `shard` over `size`
// ranks (rank -1: the largest share of any rank, and rank 0's `whole`): what
// model_train_init_slice and model_reserve allocate.
typedef struct {
    size_t params, grads, moments, acts;
    size_t whole; // FULL over several ranks: the bytes of the whole weights, which no rank holds
                  // (gathered a layer, a sync bucket or a saved tensor at a time); 0 otherwise
} trainer_mem;
void trainer_mem_plan(const model *m, trainer_shard shard, int size, int rank, int rows, int T, bool recompute,
                      trainer_mem *out);
// Logs (fx_info) the plan of m's trainer state on this rank next to the peak bytes of buffers its
// backend has held (where the backend counts them): "memory: ...".
void trainer_log_memory(const model *m, const trainer_dp *dp, int rows, int T);

// One optimiser step after this rank's share of the gradients is accumulated in m: the gradients
// summed over the ranks (dp NULL: one rank), clipped by their global norm when grad_clip > 0 (torch's
// clip_grad_norm_), AdamW at lr; sharded, each rank steps its slice and the weights are gathered.
// Returns the global gradient norm before clipping.
double trainer_optim_step(model *m, const trainer_dp *dp, double grad_clip, const model_adamw *o, float lr);

#endif
