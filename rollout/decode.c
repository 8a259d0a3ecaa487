// decode.c — see decode.h.
#include "decode.h"

#include <stdbool.h>
#include <stdlib.h>

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

void rollout_greedy(model *m, const int32_t *const *prompts, const int *plen, int B, int max_new, const int32_t *stop,
                    int nstop, int32_t *out, int *out_len) {
    int P = 0, V = m->V;
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
    float *logits = fx_malloc((size_t)B * P * V * sizeof *logits);
    model_decode(m, ids, pos, seg, P, logits);
    int32_t next[1024], npos[1024], nseg[1024];
    bool *active = fx_malloc((size_t)B * sizeof *active);
    FX_ASSERT(B <= 1024);
    for (int b = 0; b < B; b++) {
        out_len[b] = 0;
        active[b] = true;
        next[b] = argmax(logits + ((size_t)b * P + (size_t)(P - 1)) * V, V);
    }
    for (int k = 0; k < max_new; k++) {
        int live = 0;
        for (int b = 0; b < B; b++) {
            if (active[b]) {
                out[(size_t)b * max_new + (size_t)out_len[b]++] = next[b];
                for (int s = 0; s < nstop; s++) active[b] &= next[b] != stop[s];
            }
            live += active[b];
            npos[b] = plen[b] + k;
            nseg[b] = active[b] ? 0 : -1;
            if (!active[b]) next[b] = 0;
        }
        if (!live || k == max_new - 1) break;
        model_decode(m, next, npos, nseg, 1, logits);
        for (int b = 0; b < B; b++)
            if (active[b]) next[b] = argmax(logits + (size_t)b * V, V);
    }
    free(ids), free(pos), free(seg), free(logits), free(active);
}
