// decode.c — see decode.h.
#include "decode.h"

#include <stdbool.h>
#include <stdlib.h>

#include "../core/rng.h"

#define ROLLOUT_STREAM_TAG 0x726f6c6c6f7574ull // "rollout": keeps these streams apart from others

uint64_t rollout_stream(uint64_t prompt, uint64_t sample) {
    return fx_rng_hash(fx_rng_hash(fx_rng_hash(0, ROLLOUT_STREAM_TAG), prompt), sample);
}

char *rollout_response_text(const tok_tokenizer *tok, const int32_t *ids, int n, int32_t eos) {
    if (n > 0 && ids[n - 1] == eos) n--;
    size_t len;
    return tok_decode(tok, ids, (size_t)n, false, &len);
}

// Draws row b's k-th token from its logits.
static int32_t pick(const float *logits, int V, const rollout_decode_opts *o, uint64_t stream, int k,
                    sample_scratch *scratch, float *logprob) {
    fx_rng r = fx_rng_make(o->seed, stream);
    fx_rng_seek(&r, (uint64_t)k);
    return sample_token(logits, V, &o->sample, fx_rng_float(&r), scratch, logprob);
}

void rollout_decode(model *m, const int32_t *const *prompts, const int *plen, int B, const rollout_decode_opts *o,
                    int32_t *out, float *logprob, int *out_len) {
    int P = 0, V = m->V, max_new = o->max_new;
    FX_ASSERT(B > 0 && max_new > 0);
    for (int b = 0; b < B; b++) P = plen[b] > P ? plen[b] : P;
    model_kv_init(m, B, P + max_new);
    int32_t *ids = fx_malloc((size_t)B * P * sizeof *ids), *pos = fx_malloc((size_t)B * P * sizeof *pos);
    int32_t *seg = fx_malloc((size_t)B * P * sizeof *seg);
    for (int b = 0; b < B; b++) {
        int pad = P - plen[b];
        for (int t = 0; t < P; t++) {
            size_t i = (size_t)b * P + (size_t)t;
            ids[i] = t < pad ? 0 : prompts[b][t - pad];
            pos[i] = t < pad ? 0 : t - pad;
            seg[i] = t < pad ? -1 : 0;
        }
    }
    float *logits = fx_malloc((size_t)B * V * sizeof *logits);
    model_decode_last(m, ids, pos, seg, P, logits); // the prefill: only each row's last logits
    int32_t *next = fx_malloc((size_t)B * sizeof *next), *npos = fx_malloc((size_t)B * sizeof *npos);
    int32_t *nseg = fx_malloc((size_t)B * sizeof *nseg);
    float *nlp = fx_malloc((size_t)B * sizeof *nlp);
    bool *active = fx_malloc((size_t)B * sizeof *active);
    sample_scratch scratch;
    sample_scratch_init(&scratch, V);
    for (int b = 0; b < B; b++) {
        out_len[b] = 0;
        active[b] = true;
        uint64_t stream = o->stream ? o->stream[b] : (uint64_t)b;
        next[b] = pick(logits + (size_t)b * V, V, o, stream, 0, &scratch, &nlp[b]);
    }
    for (int k = 0; k < max_new; k++) {
        int live = 0;
        for (int b = 0; b < B; b++) {
            if (active[b]) {
                size_t at = (size_t)b * max_new + (size_t)out_len[b]++;
                out[at] = next[b];
                if (logprob) logprob[at] = nlp[b];
                for (int s = 0; s < o->nstop; s++) active[b] &= next[b] != o->stop[s];
            }
            live += active[b];
            npos[b] = plen[b] + k;
            nseg[b] = active[b] ? 0 : -1; // finished rows feed padding
            if (!active[b]) next[b] = 0;
        }
        if (!live || k == max_new - 1) break;
        model_decode(m, next, npos, nseg, 1, logits);
        for (int b = 0; b < B; b++)
            if (active[b])
                next[b] = pick(logits + (size_t)b * V, V, o, o->stream ? o->stream[b] : (uint64_t)b, k + 1, &scratch,
                               &nlp[b]);
    }
    sample_scratch_free(&scratch);
    free(ids), free(pos), free(seg), free(logits), free(next), free(npos), free(nseg), free(nlp), free(active);
}
