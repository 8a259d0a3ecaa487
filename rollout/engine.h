// engine.h — the rollout ranks' generation engine: continuous batching over a fixed set of slots.
// Each slot holds one sequence (a request: a prompt and its stream) in its row of the model's KV
// cache; when a sequence ends (a stop id, a stop string, max_new) its slot takes the next request
// from the queue, so the batch stays full while responses of very different lengths finish.
//
// Every step feeds one token per slot (model_decode_last with Tq = 1): the next prompt token of a
// slot still reading its prompt, the last sampled token of a generating one, padding (segment -1)
// for an empty one. A sequence is a segment of its own (its request index) in its row, so the
// tokens of the row's earlier sequences are masked out; its positions restart at 0. The columns
// are shared by all rows (backend.h's attention has one q_off); when they run out, the cache drops
// the columns between its guard and the oldest live sequence (model_kv_shift).
//
// Bit-identical samples whatever the number of slots or the slot: a sequence's k-th token is drawn
// at u = the k-th block of its Philox stream (seed, stream); its tokens go through the same ops with
// the same shapes whatever shares the step (one token per row per step; matmuls in blocks of
// MODEL_DECODE_ROWS rows, or in one call of the backend's batch-invariant linear_rows where it has
// one: the CUDA backend); and a sequence starts only at a column that is a multiple of
// ROLLOUT_ENGINE_ALIGN and at least ROLLOUT_ENGINE_GUARD, so its keys sit at the same offsets from
// the vector lanes of the attention's softmax sum, and the CPU attention takes the same code path
// (rows of fewer than 32 keys are summed differently), wherever the step counter stands. An empty
// slot waits up to ALIGN - 1 steps for such a column; the first GUARD columns of every row are
// padding. (Measured on the CPU backend: keys at any multiple of 16 from 32 to 3500 give the same
// bits; at 0, or at offsets that are not multiples of 16, they do not. Another backend keeps the
// guarantee only if its matmul and attention are as batch-invariant at these shapes.)
#ifndef FLUXRL_ENGINE_H
#define FLUXRL_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/fx.h"
#include "decode.h"
#include "merge.h"

#define ROLLOUT_ENGINE_ALIGN 16
#define ROLLOUT_ENGINE_GUARD 32

typedef struct {
    model *m;      // the model sampled from; with experts merged (mix), the first expert
    const rollout_merge *mix; // NULL: m alone
    int slots;     // sequences decoded at once (the KV cache's rows)
    int kv_tokens; // columns per row for sequences: a request needs prompt + max_new - 1 <= kv_tokens
                   // (the cache has GUARD more)
    size_t kv_bytes;
    // The last run's counts: model steps, cache compactions, slot-steps that fed a token (prompt
    // or generated), slot-steps left empty (no request left, or waiting for an aligned column).
    long long steps, shifts, fed, idle;
    // The most bytes held at once during the last run: the model's (parameters, KV cache, decoding
    // scratch) plus the engine's own buffers (logits, sampler, per-slot state).
    size_t peak_bytes, param_bytes;
} rollout_engine;

// A KV cache of `slots` rows of GUARD + kv_tokens columns (rounded up to ALIGN) on m; its size
// is e->kv_bytes (callers report it). Returns -1 with err on sizes out of range.
// What an engine of `slots` x kv_tokens holds beside the parameters at its peak (peak_bytes less
// param_bytes, the text tails aside): the KV cache, the decoding scratch and its own buffers.
size_t rollout_engine_bytes_for(const model_config *c, int slots, int kv_tokens);
int rollout_engine_init(rollout_engine *e, model *m, int slots, int kv_tokens, fx_err *err);
// The same for K experts (and a PCM) merged token by token (merge.h; rollout_merge_check them
// first): a KV cache of that shape on every model, all fed the same token per slot per step, the
// token drawn from the merged row. mix stays the caller's (its pref and alpha are read and written
// by each run); kv_bytes and param_bytes add up every model's.
int rollout_engine_init_merged(rollout_engine *e, const rollout_merge *mix, int slots, int kv_tokens, fx_err *err);
void rollout_engine_free(rollout_engine *e);

// Prompt -> decode -> text (rollout_decode_texts) for the merged experts of mix, which decode in
// the engine only: one slot per row (the samples are those of any slot count). Returns -1 with
// err when a row cannot fit.
int rollout_engine_texts(const rollout_merge *mix, const tok_tokenizer *tok, const int32_t *const *prompts,
                         const int *plen, int B, const rollout_decode_opts *o, int32_t eos, char **texts, int *out_len,
                         fx_err *err);

// Called as each request ends, in the order they end.
typedef void (*rollout_engine_done)(void *ctx, int request);

// Decodes n requests: prompts[i] (plen[i] ids) with stream o->stream[i] (NULL: i), in queue order
// into free slots. Outputs as rollout_decode's, indexed by request: out (n, o->max_new), logprob
// (may be NULL), out_len (n), finish (may be NULL). done may be NULL. Returns -1 with err when a
// request cannot fit a row (plen + max_new - 1 > kv_tokens) or is empty, before decoding anything.
int rollout_engine_run(rollout_engine *e, const int32_t *const *prompts, const int *plen, int n,
                       const rollout_decode_opts *o, int32_t *out, float *logprob, int *out_len, int32_t *finish,
                       rollout_engine_done done, void *ctx, fx_err *err);

#endif
