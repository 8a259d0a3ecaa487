// decode.h — decoding a fixed batch of prompts with the KV cache: greedy or sampled.
// The prompts are left-padded to a common length (padding in a segment of its own, so no real
// token attends to it); every row then advances one token per step until it emits a stop id or
// reaches max_new. Row b's k-th token is drawn at u = the k-th block of its own Philox stream
// (seed, stream[b]), so a sample depends on its prompt, its sample index and the weights, not on
// which other rows share the batch (up to the last bits: its prefill's shape depends on the
// batch's longest prompt). Static batching: rollout/engine.h, continuous batching with samples
// bit-identical whatever the number of slots, replaces it for generation at scale.
#ifndef FLUXRL_DECODE_H
#define FLUXRL_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "../model/model.h"
#include "../model/tok.h"
#include "sample.h"

typedef struct {
    sample_params sample;   // temperature 0: greedy
    uint64_t seed;
    const uint64_t *stream; // (B) each row's stream id; NULL: row index
    int max_new;
    const int32_t *stop;    // ids that end a row (kept in its output)
    int nstop;
    // Stop strings: a row ends with the token that completes one of them in its generated text,
    // even when the string spans several tokens. Needs the tokenizer (its token bytes).
    const char *const *stop_strings;
    int nstop_strings;
    const tok_tokenizer *tok;
    // Decoding sharded weights (model.h, params_layer: every step a collective of the ranks that
    // hold them), may be NULL otherwise: more(more_ctx, mine) tells every rank whether any of them
    // still has a row to decode (mine: this rank has), so all take the same number of steps; a
    // rank whose rows have ended takes empty ones (model_param_flush) until no rank has rows left.
    bool (*more)(void *ctx, bool mine);
    void *more_ctx;
} rollout_decode_opts;

// out: B rows of max_new ids; logprob (may be NULL): each token's log-prob under the sampling
// distribution, same layout; out_len[b]: ids row b produced; finish (may be NULL): why each row
// ended (TRACE_FINISH_EOS for a stop id, _STOP for a stop string, _LENGTH at max_new).
void rollout_decode(model *m, const int32_t *const *prompts, const int *plen, int B, const rollout_decode_opts *o,
                    int32_t *out, float *logprob, int *out_len, int32_t *finish);

// A rank with no prompts of its own while the others decode sharded weights (o->more set): the
// same collectives as rollout_decode's prefill and steps, empty, until no rank has rows left.
void rollout_decode_idle(model *m, const rollout_decode_opts *o);

// A generated response as text for judging: special tokens such as </think> kept (they are part
// of the trace), a final end-of-turn token `eos` left out (caller frees).
char *rollout_response_text(const tok_tokenizer *tok, const int32_t *ids, int n, int32_t eos);
// The same with a final id that is any of stop[0..nstop) left out (the ids a row stops on).
char *rollout_response_text_stop(const tok_tokenizer *tok, const int32_t *ids, int n, const int32_t *stop, int nstop);

// Decoded rows as text: row b of out (B rows of max_new ids, len[b] of them) with a final `eos` or
// stop id of o left out, texts[b] malloc'd; out_len (may be NULL) gets len.
void rollout_rows_text(const tok_tokenizer *tok, const int32_t *out, const int *len, int B, const rollout_decode_opts *o,
                       int32_t eos, char **texts, int *out_len);
// Prompt -> decode -> text: rollout_decode of B prompts, then each row's response as text
// (a final `eos` or stop id of o left out; texts[b] malloc'd, the caller frees) and, where out_len is
// not NULL, its length in tokens. What eval, the SFT and GRPO held-out evaluations and the PRM's
// template-guided rollouts decode with.
void rollout_decode_texts(model *m, const tok_tokenizer *tok, const int32_t *const *prompts, const int *plen, int B,
                          const rollout_decode_opts *o, int32_t eos, char **texts, int *out_len);

// Draws a sequence's k-th token from its logits at u = the k-th block of its Philox stream
// (o->seed, stream); *logprob gets its log-probability under the sampling distribution.
int32_t rollout_pick(const float *logits, int V, const rollout_decode_opts *o, uint64_t stream, int k,
                     sample_scratch *scratch, float *logprob);

// The last bytes a sequence generated, enough to see a stop string that ends in its newest token
// (zero-initialised; free buf).
typedef struct {
    char *buf;
    size_t len, cap;
} rollout_tail;

// Appends token id's bytes to t; true when one of o's stop strings ends inside them.
bool rollout_tail_push(rollout_tail *t, const rollout_decode_opts *o, int32_t id);

// The stream of sample `sample` of prompt `prompt`.
uint64_t rollout_stream(uint64_t prompt, uint64_t sample);

#endif
