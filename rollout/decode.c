// decode.c — see decode.h.
#include "decode.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"
#include "trace.h"

#define ROLLOUT_STREAM_TAG 0x726f6c6c6f7574ull // "rollout": keeps these streams apart from others

uint64_t rollout_stream(uint64_t prompt, uint64_t sample) {
    return fx_rng_hash(fx_rng_hash(fx_rng_hash(0, ROLLOUT_STREAM_TAG), prompt), sample);
}

char *rollout_response_text(const tok_tokenizer *tok, const int32_t *ids, int n, int32_t eos) {
    if (n > 0 && ids[n - 1] == eos) n--;
    size_t len;
    return tok_decode(tok, ids, (size_t)n, false, &len);
}

char *rollout_response_text_stop(const tok_tokenizer *tok, const int32_t *ids, int n, const int32_t *stop, int nstop) {
    for (int s = 0; s < nstop && n > 0; s++)
        if (ids[n - 1] == stop[s]) {
            n--;
            break;
        }
    size_t len;
    return tok_decode(tok, ids, (size_t)n, false, &len);
}

int32_t rollout_pick(const float *logits, int V, const rollout_decode_opts *o, uint64_t stream, int k,
                     sample_scratch *scratch, float *logprob) {
    fx_rng r = fx_rng_make(o->seed, stream);
    fx_rng_seek(&r, (uint64_t)k);
    return sample_token(logits, V, &o->sample, fx_rng_float(&r), scratch, logprob);
}

bool rollout_tail_push(rollout_tail *t, const rollout_decode_opts *o, int32_t id) {
    size_t n = 0, longest = 0;
    const char *bytes = o->tok ? tok_token_bytes(o->tok, id, &n) : NULL;
    if (!bytes || !n) return false;
    for (int s = 0; s < o->nstop_strings; s++)
        if (strlen(o->stop_strings[s]) > longest) longest = strlen(o->stop_strings[s]);
    if (t->len + n > t->cap) t->cap = 2 * (t->len + n) + 64, t->buf = fx_realloc(t->buf, t->cap);
    size_t before = t->len;
    memcpy(t->buf + t->len, bytes, n);
    t->len += n;
    bool hit = false;
    for (int s = 0; s < o->nstop_strings && !hit; s++) {
        size_t k = strlen(o->stop_strings[s]);
        // a match must end among the new bytes: start in [before - k + 1, len - k]
        size_t from = before + 1 > k ? before + 1 - k : 0;
        for (size_t at = from; k && at + k <= t->len && !hit; at++) hit = memcmp(t->buf + at, o->stop_strings[s], k) == 0;
    }
    if (t->len > 2 * longest + 64) { // keep only what a later match could still need
        size_t keep = longest;
        memmove(t->buf, t->buf + t->len - keep, keep);
        t->len = keep;
    }
    return hit;
}

void rollout_decode(model *m, const int32_t *const *prompts, const int *plen, int B, const rollout_decode_opts *o,
                    int32_t *out, float *logprob, int *out_len, int32_t *finish) {
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
    rollout_tail *tails = fx_calloc((size_t)B, sizeof *tails);
    for (int b = 0; b < B; b++) {
        out_len[b] = 0;
        active[b] = true;
        if (finish) finish[b] = TRACE_FINISH_LENGTH;
        uint64_t stream = o->stream ? o->stream[b] : (uint64_t)b;
        next[b] = rollout_pick(logits + (size_t)b * V, V, o, stream, 0, &scratch, &nlp[b]);
    }
    for (int k = 0;; k++) {
        int live = 0;
        for (int b = 0; b < B; b++) {
            if (active[b]) {
                size_t at = (size_t)b * max_new + (size_t)out_len[b]++;
                out[at] = next[b];
                if (logprob) logprob[at] = nlp[b];
                for (int s = 0; s < o->nstop; s++)
                    if (next[b] == o->stop[s]) {
                        active[b] = false;
                        if (finish) finish[b] = TRACE_FINISH_EOS;
                    }
                if (active[b] && o->nstop_strings > 0 && rollout_tail_push(&tails[b], o, next[b])) {
                    active[b] = false;
                    if (finish) finish[b] = TRACE_FINISH_STOP;
                }
                if (k == max_new - 1) active[b] = false; // its length reached
            }
            live += active[b];
            npos[b] = plen[b] + k;
            nseg[b] = active[b] ? 0 : -1; // finished rows feed padding
            if (!active[b]) next[b] = 0;
        }
        if (!(o->more ? o->more(o->more_ctx, live > 0) : live > 0)) break;
        if (!live) { // sharded weights: another rank still decodes
            model_param_flush(m, m->head == MODEL_HEAD_LM);
            continue;
        }
        model_decode(m, next, npos, nseg, 1, logits);
        for (int b = 0; b < B; b++)
            if (active[b])
                next[b] = rollout_pick(logits + (size_t)b * V, V, o, o->stream ? o->stream[b] : (uint64_t)b, k + 1,
                                       &scratch, &nlp[b]);
    }
    sample_scratch_free(&scratch);
    for (int b = 0; b < B; b++) free(tails[b].buf);
    free(tails);
    free(ids), free(pos), free(seg), free(logits), free(next), free(npos), free(nseg), free(nlp), free(active);
}

void rollout_decode_idle(model *m, const rollout_decode_opts *o) {
    FX_ASSERT(o->more);
    bool lm = m->head == MODEL_HEAD_LM; // decoding an LM reads its head at every step
    model_param_flush(m, lm); // the prefill
    while (o->more(o->more_ctx, false)) model_param_flush(m, lm);
}

void rollout_decode_texts(model *m, const tok_tokenizer *tok, const int32_t *const *prompts, const int *plen, int B,
                          const rollout_decode_opts *o, int32_t eos, char **texts, int *out_len) {
    size_t rows = (size_t)(B > 0 ? B : 1);
    int32_t *out = fx_malloc(rows * (size_t)o->max_new * sizeof *out);
    int *len = fx_malloc(rows * sizeof *len);
    rollout_decode(m, prompts, plen, B, o, out, NULL, len, NULL);
    rollout_rows_text(tok, out, len, B, o, eos, texts, out_len);
    free(out), free(len);
}

void rollout_rows_text(const tok_tokenizer *tok, const int32_t *out, const int *len, int B, const rollout_decode_opts *o,
                       int32_t eos, char **texts, int *out_len) {
    for (int b = 0; b < B; b++) {
        const int32_t *row = out + (size_t)b * (size_t)o->max_new;
        bool by_eos = len[b] > 0 && row[len[b] - 1] == eos;
        texts[b] = by_eos ? rollout_response_text(tok, row, len[b], eos)
                          : rollout_response_text_stop(tok, row, len[b], o->stop, o->nstop);
        if (out_len) out_len[b] = len[b];
    }
}
