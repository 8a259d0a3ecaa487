// sample.h — from next-token logits to a sampled token and its log-probability.
// The sampling distribution is built in this order (as Hugging Face's generate and vLLM do):
//   1. temperature: softmax(logits / T); T == 0 means greedy (the argmax has probability 1);
//   2. top-k: keep the k most likely tokens (k <= 0: all);
//   3. top-p: keep the smallest set of most likely tokens whose mass reaches p (p >= 1: all);
//   4. min-p: drop tokens whose probability is below min_p × the largest one (min_p <= 0: none);
// then renormalise. Ties between equal probabilities are broken by the lower token id, so the
// result is deterministic. The token is drawn by inverting the CDF of the kept tokens, taken in
// token-id order, at a uniform u in [0, 1) that the caller draws from the sequence's own RNG
// stream: the same (logits, params, u) always give the same token, whatever the batch or slot.
// Cost O(V) per token: the kept set is found by selection (quickselect), never a full sort.
#ifndef FLUXRL_SAMPLE_H
#define FLUXRL_SAMPLE_H

typedef struct {
    float temperature; // 0: greedy
    int top_k;         // <= 0: off
    float top_p;       // >= 1: off
    float min_p;       // <= 0: off
} sample_params;

// Scratch for one sampler (one per thread): 2V floats and V ints.
typedef struct {
    int V;
    float *prob; // softmax at the temperature
    float *dist; // the sampling distribution
    int *idx;    // token ids; the kept ones first after sample_distribution
} sample_scratch;

void sample_scratch_init(sample_scratch *s, int V);
void sample_scratch_free(sample_scratch *s);

// Writes the sampling distribution over all V tokens into probs (0 for dropped tokens) and
// returns how many tokens it keeps; s->idx[0..kept) lists them (in no particular order).
int sample_distribution(const float *logits, int V, const sample_params *p, sample_scratch *s, float *probs);

// Samples a token at u in [0, 1); *logprob gets its log-probability under the sampling
// distribution (0 for greedy).
int sample_token(const float *logits, int V, const sample_params *p, float u, sample_scratch *s, float *logprob);

#endif
