// decode.h — greedy decoding of a fixed batch of prompts with the KV cache, for evaluation.
// The prompts are left-padded to a common length (padding in a segment of its own, so no real
// token attends to it); every row then advances one token per step until it emits a stop id or
// reaches max_new. Static batching: the continuous-batching engine of the rollout ranks replaces
// it for generation at scale.
#ifndef FLUXRL_DECODE_H
#define FLUXRL_DECODE_H

#include <stdint.h>

#include "../model/model.h"

// out: B rows of max_new ids; out_len[b]: ids row b produced (a stop id included when hit).
void rollout_greedy(model *m, const int32_t *const *prompts, const int *plen, int B, int max_new, const int32_t *stop,
                    int nstop, int32_t *out, int *out_len);

#endif
