// engine.c — see engine.h.
#include "engine.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../model/model_merge.h"
#include "trace.h"

int rollout_engine_init(rollout_engine *e, model *m, int slots, int kv_tokens, fx_err *err) {
    memset(e, 0, sizeof *e);
    if (slots < 1 || slots > 65536) return fx_errf(err, "rollout engine: slots: expected 1..65536, got %d", slots);
    if (kv_tokens < 1 || kv_tokens > (1 << 24))
        return fx_errf(err, "rollout engine: kv_tokens: expected 1..16777216, got %d", kv_tokens);
    kv_tokens = (kv_tokens + ROLLOUT_ENGINE_ALIGN - 1) / ROLLOUT_ENGINE_ALIGN * ROLLOUT_ENGINE_ALIGN;
    e->m = m, e->slots = slots, e->kv_tokens = kv_tokens;
    model_kv_init(m, slots, ROLLOUT_ENGINE_GUARD + kv_tokens);
    model_decode_release(m); // a scratch grown by an earlier, larger prefill
    e->kv_bytes = model_kv_bytes(m);
    e->param_bytes = m->nparams * sizeof(float);
    fx_debug("rollout engine: %d slots x %d tokens, KV cache %.1f MiB (parameters %.1f MiB)", slots, kv_tokens,
            (double)e->kv_bytes / (1 << 20), (double)e->param_bytes / (1 << 20));
    return 0;
}

int rollout_engine_init_merged(rollout_engine *e, const rollout_merge *mix, int slots, int kv_tokens, fx_err *err) {
    FX_ASSERT(mix->K >= 1 && mix->K <= ROLLOUT_MERGE_MAX_EXPERTS);
    if (rollout_engine_init(e, mix->experts[0], slots, kv_tokens, err)) return -1;
    e->mix = mix;
    for (int i = 1; i <= mix->K; i++) { // the other experts, then the PCM
        model *m = i < mix->K ? mix->experts[i] : mix->pcm;
        if (!m) continue;
        FX_ASSERT(m->V == e->m->V);
        model_kv_init(m, slots, ROLLOUT_ENGINE_GUARD + e->kv_tokens);
        model_decode_release(m);
        e->kv_bytes += model_kv_bytes(m);
        e->param_bytes += m->nparams * sizeof(float);
    }
    return 0;
}

void rollout_engine_free(rollout_engine *e) { memset(e, 0, sizeof *e); }

// The models the engine decodes in step: m alone, or the experts then the PCM.
static int model_count(const rollout_engine *e) { return e->mix ? e->mix->K + (e->mix->pcm != NULL) : 1; }
static model *model_at(const rollout_engine *e, int i) {
    if (!e->mix) return e->m;
    return i < e->mix->K ? e->mix->experts[i] : e->mix->pcm;
}

// One slot: the request it holds (-1: none), where its sequence stands.
typedef struct {
    int req;
    int start; // the cache column of its first token
    int fed;   // tokens fed: prompt, then generated
    int gen;   // tokens generated
    int32_t next;
    rollout_tail tail;
} slot;

typedef struct {
    rollout_engine *e;
    const int32_t *const *prompts;
    const int *plen;
    const rollout_decode_opts *o;
    int32_t *out, *finish;
    float *logprob;
    int *out_len;
    rollout_engine_done done;
    void *ctx;
} run_io;

// The engine's own buffers beside the model's: slots, their ids, a row of logits each, and the
// sampler's scratch; merging K experts, a row of logits per expert and slot, and the slots'
// preferences, alpha logits, alpha and log alpha (S, K each).
static size_t own_bytes(int S, int V, int K) {
    size_t merged = K ? (size_t)S * (size_t)K * ((size_t)V + 4) * sizeof(float) : 0;
    return (size_t)S * (sizeof(slot) + 3 * sizeof(int32_t) + (size_t)V * sizeof(float)) + 3 * (size_t)V * 4 + merged;
}

size_t rollout_engine_bytes_for(const model_config *c, int slots, int kv_tokens) {
    kv_tokens = (kv_tokens + ROLLOUT_ENGINE_ALIGN - 1) / ROLLOUT_ENGINE_ALIGN * ROLLOUT_ENGINE_ALIGN;
    return model_kv_bytes_for(c, slots, ROLLOUT_ENGINE_GUARD + kv_tokens) +
           model_decode_bytes_for(c, MODEL_HEAD_LM, slots) + own_bytes(slots, c->vocab_size, 0);
}

// Records slot s's next token, sampled from its logits (and the alpha it was drawn with when
// merging); true when its sequence ends with it.
static bool emit(const run_io *io, slot *s, const float *logits, const float *alpha, sample_scratch *scratch) {
    const rollout_decode_opts *o = io->o;
    int V = io->e->m->V, r = s->req;
    float lp;
    int32_t t = rollout_pick(logits, V, o, o->stream ? o->stream[r] : (uint64_t)r, s->gen, scratch, &lp);
    size_t at = (size_t)r * (size_t)o->max_new + (size_t)s->gen++;
    io->out[at] = t;
    if (io->logprob) io->logprob[at] = lp;
    const rollout_merge *mx = io->e->mix;
    if (mx && mx->alpha) memcpy(mx->alpha + at * (size_t)mx->K, alpha, (size_t)mx->K * sizeof(float));
    int32_t why = -1;
    for (int i = 0; i < o->nstop && why < 0; i++)
        if (t == o->stop[i]) why = TRACE_FINISH_EOS;
    if (why < 0 && o->nstop_strings > 0 && rollout_tail_push(&s->tail, o, t)) why = TRACE_FINISH_STOP;
    if (why < 0 && s->gen == o->max_new) why = TRACE_FINISH_LENGTH;
    s->next = t;
    if (why < 0) return false;
    io->out_len[r] = s->gen;
    if (io->finish) io->finish[r] = why;
    return true;
}

// Makes room for one more column: drops the columns between the guard and the oldest live
// sequence. Starts and the guard are multiples of ALIGN, so the drop keeps starts aligned.
static void make_room(rollout_engine *e, slot *sl) {
    int drop = e->m->kv_len;
    for (int b = 0; b < e->slots; b++)
        if (sl[b].req >= 0 && sl[b].start < drop) drop = sl[b].start;
    drop -= ROLLOUT_ENGINE_GUARD;
    FX_ASSERT(drop > 0 && drop % ROLLOUT_ENGINE_ALIGN == 0);
    for (int i = 0; i < model_count(e); i++) model_kv_shift(model_at(e, i), drop);
    for (int b = 0; b < e->slots; b++)
        if (sl[b].req >= 0) sl[b].start -= drop;
    e->shifts++;
}

// Merging: each expert's logits (K, S, V), the slots' preferences and alpha logits for the PCM,
// and each slot's alpha and log alpha (S, K).
typedef struct {
    float *lg, *pref, *z, *alpha, *log_alpha;
    float **rows;
} merge_scratch;

static void merge_scratch_init(merge_scratch *ms, int S, int V, int K) {
    ms->lg = fx_malloc((size_t)K * (size_t)S * (size_t)V * sizeof(float));
    ms->pref = fx_malloc((size_t)S * (size_t)K * 4 * sizeof(float));
    ms->z = ms->pref + (size_t)S * K, ms->alpha = ms->z + (size_t)S * K, ms->log_alpha = ms->alpha + (size_t)S * K;
    ms->rows = fx_malloc((size_t)K * sizeof *ms->rows);
}

static void merge_scratch_free(merge_scratch *ms) { free(ms->lg), free(ms->pref), free(ms->rows); }

// Request r's preference (K).
static const float *pref_of(const rollout_merge *mx, int r) {
    return mx->per_request ? mx->pref + (size_t)r * (size_t)mx->K : mx->pref;
}

// One step of every model on the slots' tokens; into logits (S, V) the row each slot that emits
// this step samples from: the model's logits, or the merged row (merge.h).
static void step_models(rollout_engine *e, const slot *sl, const int *plen, const int32_t *ids, const int32_t *pos,
                        const int32_t *seg, merge_scratch *ms, float *logits) {
    const rollout_merge *mx = e->mix;
    int S = e->slots, V = e->m->V;
    if (!mx) {
        model_decode_last(e->m, ids, pos, seg, 1, logits);
        return;
    }
    int K = mx->K;
    size_t SV = (size_t)S * (size_t)V;
    for (int i = 0; i < K; i++) model_decode_last(mx->experts[i], ids, pos, seg, 1, ms->lg + (size_t)i * SV);
    if (mx->pcm) { // every token carries its sequence's preference; empty slots feed zeros
        for (int b = 0; b < S; b++) {
            float *w = ms->pref + (size_t)b * K;
            if (sl[b].req >= 0) memcpy(w, pref_of(mx, sl[b].req), (size_t)K * sizeof(float));
            else memset(w, 0, (size_t)K * sizeof(float));
        }
        model_decode_pref(mx->pcm, ids, pos, seg, ms->pref, 1, ms->z);
    }
    for (int b = 0; b < S; b++) {
        if (sl[b].req < 0 || sl[b].fed + 1 < plen[sl[b].req]) continue; // emits nothing this step
        float *a = ms->alpha + (size_t)b * K, *la = ms->log_alpha + (size_t)b * K;
        if (mx->pcm) {
            model_merge_alpha(ms->z + (size_t)b * K, 1, K, a, la);
        } else {
            memcpy(a, pref_of(mx, sl[b].req), (size_t)K * sizeof(float));
            for (int i = 0; i < K; i++) la[i] = a[i] > 0 ? logf(a[i]) : -INFINITY;
        }
        for (int i = 0; i < K; i++) ms->rows[i] = ms->lg + (size_t)i * SV + (size_t)b * V;
        rollout_merge_row(mx->space, a, la, ms->rows, K, V, logits + (size_t)b * V);
    }
}

int rollout_engine_run(rollout_engine *e, const int32_t *const *prompts, const int *plen, int n,
                       const rollout_decode_opts *o, int32_t *out, float *logprob, int *out_len, int32_t *finish,
                       rollout_engine_done done, void *ctx, fx_err *err) {
    FX_ASSERT(e->m && n >= 0 && o->max_new > 0);
    for (int i = 0; i < n; i++) {
        if (plen[i] < 1) return fx_errf(err, "rollout engine: request %d: prompt: expected at least 1 token", i);
        if (plen[i] + o->max_new - 1 > e->kv_tokens)
            return fx_errf(err, "rollout engine: request %d: prompt (%d tokens) + max_new (%d) - 1 = %d KV columns, "
                           "the cache has %d per slot (rollout.kv_tokens, --kv-tokens)",
                           i, plen[i], o->max_new, plen[i] + o->max_new - 1, e->kv_tokens);
    }
    model *m = e->m;
    int S = e->slots, V = m->V, K = e->mix ? e->mix->K : 0, nm = model_count(e);
    for (int i = 0; i < nm; i++) { // a cache resized since (rollout_decode)
        model *mi = model_at(e, i);
        if (mi->kv_B != S || mi->kv_T != ROLLOUT_ENGINE_GUARD + e->kv_tokens)
            model_kv_init(mi, S, ROLLOUT_ENGINE_GUARD + e->kv_tokens);
    }
    run_io io = {e, prompts, plen, o, out, finish, logprob, out_len, done, ctx};
    slot *sl = fx_calloc((size_t)S, sizeof *sl);
    int32_t *ids = fx_malloc((size_t)S * 3 * sizeof *ids), *pos = ids + S, *seg = ids + 2 * S;
    float *logits = fx_malloc((size_t)S * (size_t)V * sizeof *logits);
    sample_scratch scratch;
    sample_scratch_init(&scratch, V);
    merge_scratch ms = {0};
    if (K) merge_scratch_init(&ms, S, V, K);
    size_t own = own_bytes(S, V, K);
    e->steps = e->shifts = e->fed = e->idle = 0;
    e->peak_bytes = 0;
    for (int b = 0; b < S; b++) sl[b].req = -1;
    int queued = 0, live = 0, ended = 0;
    while (ended < n) {
        if (!live) // an empty cache starts again after the guard
            for (int i = 0; i < nm; i++) {
                model_kv_reset(model_at(e, i));
                model_kv_pad(model_at(e, i), ROLLOUT_ENGINE_GUARD);
            }
        if (m->kv_len == m->kv_T) make_room(e, sl);
        if (m->kv_len % ROLLOUT_ENGINE_ALIGN == 0)
            for (int b = 0; b < S && queued < n; b++)
                if (sl[b].req < 0) {
                    sl[b].tail.len = 0;
                    sl[b].req = queued++, sl[b].start = m->kv_len, sl[b].fed = sl[b].gen = 0;
                    live++;
                }
        for (int b = 0; b < S; b++) {
            slot *s = &sl[b];
            if (s->req < 0) {
                ids[b] = 0, pos[b] = 0, seg[b] = -1;
                e->idle++;
                continue;
            }
            ids[b] = s->fed < plen[s->req] ? prompts[s->req][s->fed] : s->next;
            pos[b] = s->fed, seg[b] = s->req;
            e->fed++;
        }
        step_models(e, sl, plen, ids, pos, seg, &ms, logits);
        e->steps++;
        size_t held = e->param_bytes + own;
        for (int i = 0; i < nm; i++) held += model_kv_bytes(model_at(e, i)) + model_decode_bytes(model_at(e, i));
        for (int b = 0; b < S; b++) held += sl[b].tail.cap;
        e->peak_bytes = held > e->peak_bytes ? held : e->peak_bytes;
        for (int b = 0; b < S; b++) {
            slot *s = &sl[b];
            if (s->req < 0 || ++s->fed < plen[s->req]) continue; // empty, or still reading its prompt
            if (!emit(&io, s, logits + (size_t)b * V, K ? ms.alpha + (size_t)b * K : NULL, &scratch)) continue;
            if (done) done(ctx, s->req);
            s->req = -1;
            live--, ended++;
        }
    }
    sample_scratch_free(&scratch);
    if (K) merge_scratch_free(&ms);
    for (int b = 0; b < S; b++) free(sl[b].tail.buf);
    free(sl), free(ids), free(logits);
    return 0;
}

int rollout_engine_texts(const rollout_merge *mix, const tok_tokenizer *tok, const int32_t *const *prompts,
                         const int *plen, int B, const rollout_decode_opts *o, int32_t eos, char **texts, int *out_len,
                         fx_err *err) {
    int longest = 0;
    for (int b = 0; b < B; b++) longest = plen[b] > longest ? plen[b] : longest;
    size_t rows = (size_t)(B > 0 ? B : 1);
    int32_t *out = fx_malloc(rows * (size_t)o->max_new * sizeof *out);
    int *len = fx_malloc(rows * sizeof *len);
    rollout_engine e;
    int rc = rollout_engine_init_merged(&e, mix, B > 0 ? B : 1, longest + o->max_new, err);
    if (!rc) {
        rc = rollout_engine_run(&e, prompts, plen, B, o, out, NULL, len, NULL, NULL, NULL, err);
        rollout_engine_free(&e);
    }
    if (!rc) rollout_rows_text(tok, out, len, B, o, eos, texts, out_len);
    free(out), free(len);
    return rc;
}
