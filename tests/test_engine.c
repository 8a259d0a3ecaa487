// test_engine.c — the continuous-batching engine (rollout/engine.h): the same requests give
// bit-identical ids and log-probs with 1, 3, 8 or 24 slots (through refills and cache
// compactions), the tokens rollout_decode gives, and stay within model + KV cache + 10%.
#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"
#include "../rollout/engine.h"
#include "../rollout/trace.h"
#include "test.h"

enum { NREQ = 24, MAX_NEW = 24, MAX_PROMPT = 21 };

static backend *be;

static model_config cfg(bool qwen3) {
    model_config c;
    memset(&c, 0, sizeof c);
    strcpy(c.model_type, qwen3 ? "qwen3" : "qwen2");
    strcpy(c.architecture, qwen3 ? "Qwen3ForCausalLM" : "Qwen2ForCausalLM");
    c.hidden_size = 32, c.num_hidden_layers = 2, c.num_attention_heads = 4, c.num_key_value_heads = 2;
    c.head_dim = 8, c.intermediate_size = 48, c.vocab_size = 67;
    c.rope_theta = 10000, c.rms_norm_eps = 1e-6, c.max_position_embeddings = 128;
    c.bos_token_id = c.eos_token_id = -1;
    if (qwen3) c.qk_norm = true;
    else c.qkv_bias = true, c.tie_word_embeddings = true;
    return c;
}

typedef struct {
    int32_t out[NREQ * MAX_NEW], finish[NREQ];
    float lp[NREQ * MAX_NEW];
    int len[NREQ];
} results;

static int32_t prompt_mem[NREQ][MAX_PROMPT];
static const int32_t *prompts[NREQ];
static int plen[NREQ];
static uint64_t streams[NREQ];

static int order[NREQ], norder;
static void on_done(void *ctx, int request) {
    (void)ctx;
    order[norder++] = request;
}

static void run_engine(model *m, int slots, int kv_tokens, const rollout_decode_opts *o, results *r,
                       rollout_engine *e) {
    fx_err err;
    memset(r, 0, sizeof *r);
    CHECK_INT(rollout_engine_init(e, m, slots, kv_tokens, &err), 0);
    norder = 0;
    CHECK_INT(rollout_engine_run(e, prompts, plen, NREQ, o, r->out, r->lp, r->len, r->finish, on_done, NULL, &err), 0);
    CHECK_INT(norder, NREQ);
}

// Same lengths, finishes, ids and log-probs, to the bit.
static bool same(const results *a, const results *b) {
    for (int i = 0; i < NREQ; i++) {
        if (a->len[i] != b->len[i] || a->finish[i] != b->finish[i]) return false;
        size_t at = (size_t)i * MAX_NEW, n = (size_t)a->len[i];
        if (memcmp(a->out + at, b->out + at, n * sizeof(int32_t)) || memcmp(a->lp + at, b->lp + at, n * sizeof(float)))
            return false;
    }
    return true;
}

static void test_slots(bool qwen3, sample_params sp, const char *what) {
    model m;
    model_config c = cfg(qwen3);
    model_init_random(&m, &c, MODEL_HEAD_LM, be, 5, 0.5f, 0.1f);
    int32_t stop = 7;
    rollout_decode_opts o = {.sample = sp, .seed = 11, .stream = streams, .max_new = MAX_NEW, .stop = &stop,
                             .nstop = 1};
    static results ref, got;
    rollout_engine e;
    // 64 columns per row: the longest request needs 20 + 24 - 1, so the cache compacts often.
    run_engine(&m, 1, 64, &o, &ref, &e);
    int eos = 0, length = 0;
    for (int i = 0; i < NREQ; i++)
        eos += ref.finish[i] == TRACE_FINISH_EOS, length += ref.finish[i] == TRACE_FINISH_LENGTH;
    printf("%s: %d of %d requests end at the stop id, %d at max_new; 1 slot: %lld steps, %lld compactions\n", what,
           eos, NREQ, length, e.steps, e.shifts);
    CHECK(eos > 0 && length > 0); // varied lengths: refills happen mid-run
    int slot_counts[] = {3, 8, 24};
    for (int k = 0; k < 3; k++) {
        run_engine(&m, slot_counts[k], 64, &o, &got, &e);
        printf("%s: %d slots: %lld steps, %lld compactions, %lld idle slot-steps, identical: %s\n", what,
               slot_counts[k], e.steps, e.shifts, e.idle, same(&ref, &got) ? "yes" : "NO");
        CHECK(same(&ref, &got));
        if (k == 0) CHECK(e.shifts > 0 && e.idle > 0); // 3 slots: compactions and refills
    }
    // A larger cache (no compaction) changes nothing either. Memory: the model's bytes
    // (parameters, KV cache, decoding scratch) and the engine's stay within parameters + KV cache
    // + 10%. (The scratch is O(slots x (widths + V)), the cache O(slots x kv_tokens x 2 L KD): the
    // bound needs a cache of real length; with 64 columns this toy model's scratch is half its KV.)
    for (int slots = 8; slots <= 24; slots += 16) {
        run_engine(&m, slots, 512, &o, &got, &e);
        CHECK_INT(e.shifts, 0);
        CHECK(same(&ref, &got));
        size_t base = e.param_bytes + e.kv_bytes;
        printf("%s: %d slots x 512 columns: peak %zu bytes = parameters %zu + KV %zu + %.1f%%\n", what, slots,
               e.peak_bytes, e.param_bytes, e.kv_bytes, 100.0 * (double)(e.peak_bytes - base) / (double)base);
        CHECK(e.peak_bytes > base && e.peak_bytes <= base + base / 10);
        // The size --dry-run predicts before a model exists: everything but the slots' text tails
        // (a few hundred bytes each at most, held while a response is decoded).
        size_t want = rollout_engine_bytes_for(&c, slots, 512), held = e.peak_bytes - e.param_bytes;
        printf("%s: predicted %zu bytes beside the parameters, held %zu\n", what, want, held);
        CHECK(want <= held && held - want <= (size_t)slots * 512);
    }
    // rollout_decode (static batching, one prefill call) draws the same tokens; its log-probs
    // differ in the last bits only (the prefill's matmuls and attention have other shapes).
    results st;
    memset(&st, 0, sizeof st);
    rollout_decode(&m, prompts, plen, NREQ, &o, st.out, st.lp, st.len, st.finish);
    double worst = 0;
    bool ids_same = true;
    for (int i = 0; i < NREQ; i++) {
        ids_same &= st.len[i] == ref.len[i] && st.finish[i] == ref.finish[i];
        for (int t = 0; t < ref.len[i] && ids_same; t++) {
            size_t at = (size_t)i * MAX_NEW + (size_t)t;
            ids_same &= st.out[at] == ref.out[at];
            worst = fmax(worst, fabs(st.lp[at] - ref.lp[at]));
        }
    }
    // The bound, derived as test_model.c's for KV-cache decoding against the full forward: each
    // logit z of either path is within 4 (L+1)(C+QD+F+T) u max(|z|, 1) of the exact value (sums
    // of those lengths, u = 2^-24, a factor 4 for the norms, softmax and SiLU), so two paths differ
    // by twice that; a log-prob z_y - logsumexp(z) moves by at most |dz_y| + max |dz|: twice again,
    // at the largest |z| of these sequences (the full forward's logits over prompt + response).
    int Tmax = MAX_PROMPT + MAX_NEW;
    int32_t *seq = calloc((size_t)Tmax, sizeof *seq);
    float *logits = malloc((size_t)Tmax * (size_t)m.V * sizeof *logits);
    double zmax = 1;
    model_reserve(&m, 1, Tmax, false, false);
    for (int i = 0; i < NREQ; i++) {
        int n = plen[i] + ref.len[i];
        memcpy(seq, prompts[i], (size_t)plen[i] * sizeof *seq);
        memcpy(seq + plen[i], ref.out + (size_t)i * MAX_NEW, (size_t)ref.len[i] * sizeof *seq);
        model_forward(&m, seq, NULL, NULL, 1, n);
        model_lm_logits(&m, 0, n, logits);
        for (size_t k = 0; k < (size_t)n * (size_t)m.V; k++) zmax = fmax(zmax, fabs(logits[k]));
    }
    free(seq), free(logits);
    double bound = 2 * 2 * 4 * (m.L + 1) * (double)(m.C + m.QD + m.F + Tmax) * 0x1p-24 * zmax;
    printf("%s: vs rollout_decode: ids %s, log-probs within %.2e (bound %.2e, largest |logit| %.2f)\n", what,
           ids_same ? "identical" : "DIFFER", worst, bound, zmax);
    CHECK(ids_same);
    CHECK(worst <= bound);
    // Another seed gives other samples (the comparisons above can fail).
    if (sp.temperature > 0) {
        rollout_decode_opts o2 = o;
        o2.seed = 12;
        run_engine(&m, 8, 64, &o2, &got, &e);
        CHECK(!same(&ref, &got));
    }
    model_free(&m);
}

static void test_errors(void) {
    model m;
    model_config c = cfg(false);
    model_init_random(&m, &c, MODEL_HEAD_LM, be, 5, 0.5f, 0.1f);
    rollout_engine e;
    fx_err err;
    CHECK_INT(rollout_engine_init(&e, &m, 0, 64, &err), -1);
    CHECK(strstr(err.msg, "slots") != NULL);
    CHECK_INT(rollout_engine_init(&e, &m, 2, 32, &err), 0);
    CHECK_INT(e.kv_tokens, 32);
    rollout_decode_opts o = {.max_new = 20};
    int32_t out[NREQ * 20], fin[NREQ];
    int len[NREQ];
    // the 21-token prompt + 20 new need 40 columns
    CHECK_INT(rollout_engine_run(&e, prompts, plen, NREQ, &o, out, NULL, len, fin, NULL, NULL, &err), -1);
    CHECK(strstr(err.msg, "rollout.kv_tokens") != NULL);
    printf("error: %s\n", err.msg);
    model_free(&m);
}

int main(void) {
    be = backend_cpu_create(0);
    fx_rng r = fx_rng_make(3, 3);
    for (int i = 0; i < NREQ; i++) {
        plen[i] = 1 + (int)fx_rng_below(&r, MAX_PROMPT - 1);
        for (int t = 0; t < plen[i]; t++) prompt_mem[i][t] = (int32_t)fx_rng_below(&r, 67);
        prompts[i] = prompt_mem[i];
        streams[i] = rollout_stream((uint64_t)i / 4, (uint64_t)i % 4); // 6 prompts x 4 samples
    }
    plen[5] = MAX_PROMPT - 1; // the longest request: 20 + 24 - 1 columns
    test_slots(false, (sample_params){1.0f, 0, 1.0f, 0}, "qwen2 sampled, T=1");
    test_slots(true, (sample_params){0.8f, 20, 0.9f, 0.05f}, "qwen3 sampled, T=0.8 top-k top-p min-p");
    test_slots(false, (sample_params){0, 0, 1.0f, 0}, "qwen2 greedy");
    test_errors();
    backend_destroy(be);
    return test_summary("test_engine");
}
