// test_prm_train.c — PRM training: labelled examples match the generator's labels, the AUROC is
// computed as defined, and training drives the loss down (it memorises a fixed batch).
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "reward/prm.h"
#include "test.h"
#include "trainer/prm_train.h"

static void test_auroc(void) {
    float s1[4] = {0.9f, 0.8f, 0.2f, 0.1f};
    uint8_t l1[4] = {1, 1, 0, 0}, l2[4] = {0, 0, 1, 1}, l3[4] = {1, 0, 1, 0}, none[4] = {1, 1, 1, 1};
    CHECK_NEAR(prm_auroc(s1, l1, 4), 1.0, 0);
    CHECK_NEAR(prm_auroc(s1, l2, 4), 0.0, 0);
    CHECK_NEAR(prm_auroc(s1, l3, 4), 0.75, 1e-12); // 0.9>0.8, 0.9>0.1, 0.2<0.8, 0.2>0.1: 3 of 4
    float ties[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    CHECK_NEAR(prm_auroc(ties, l1, 4), 0.5, 0);
    CHECK(isnan(prm_auroc(s1, none, 4)));
}

// The generator's problem and trace i of d's stream (what prm_example reads).
static void generator_trace(const prm_data *d, uint64_t i, task_problem *p, task_trace *t) {
    task_generate(&d->task, d->seed, i, p);
    task_trace_make(p, &d->task, d->seed, i, t);
}

int main(void) {
    test_auroc();
    fx_err err;
    tok_tokenizer *tok;
    CHECK_INT(tok_load_builtin(&tok, &err), 0);
    prm_data d = {.tok = tok, .seed = 5, .max_seq = 256, .sep = tok_token_id(tok, "<extra_0>")};
    task_opts_default(&d.task);
    d.task.error_rate = 0.5;
    // Examples carry the generator's labels at their separators.
    int agree = 0;
    for (uint64_t i = 0; i < 20; i++) {
        tok_ids ids = {0};
        int sep[16];
        float tgt[16], fin;
        int n = prm_example(&d, 0, i, &ids, sep, tgt, &fin, 16, NULL);
        task_problem p;
        task_trace t;
        generator_trace(&d, i, &p, &t);
        bool same = n == t.nsteps && fin == (t.answer_correct ? 1.0f : 0.0f);
        for (int k = 0; same && k < n; k++) same = (tgt[k] > 0.5f) == t.step_correct[k] && ids.ids[sep[k]] == d.sep;
        agree += same;
        task_trace_free(&t);
        tok_ids_free(&ids);
    }
    CHECK_INT(agree, 20);
    // prm.layout policy: the text is the policy's (the r1 prompt, the steps joined by blank lines,
    // one <extra_0> at the end); step k is read at the token holding its last byte, the trajectory
    // at the <extra_0>; the scorer (reward/prm.c) builds the same tokens and reads for those steps.
    d.policy_layout = true;
    for (uint64_t i = 0; i < 20; i++) {
        tok_ids ids = {0}, sc = {0};
        int sep[16], reads[16], dep[16];
        float tgt[16], fin;
        int n = prm_example(&d, 0, i, &ids, sep, tgt, &fin, 16, dep);
        task_problem p;
        task_trace t;
        generator_trace(&d, i, &p, &t);
        task_labels l;
        task_check(&p, t.text, &l);
        CHECK_INT(n, l.nsteps);
        char *prompt = task_prompt(&p), *want = malloc(strlen(prompt) + strlen(t.text) + 256), *steps[16];
        size_t end[16];
        int w = sprintf(want, "<|im_start|>user\n%s<|im_end|>\n<|im_start|>assistant\n<think>\n", prompt);
        for (int k = 0; k < n; k++) {
            steps[k] = strndup(t.text + l.begin[k], (size_t)(l.end[k] - l.begin[k]));
            w += sprintf(want + w, "%s%s", k ? "\n\n" : "", steps[k]);
            end[k] = (size_t)w;
        }
        sprintf(want + w, "<extra_0>");
        char *got = malloc(strlen(want) + 64);
        size_t at = 0, *upto = malloc(ids.n * sizeof *upto); // the bytes of tokens 0..j
        for (size_t j = 0; j < ids.n; j++) {
            size_t len = 0;
            const char *b = tok_token_bytes(tok, ids.ids[j], &len);
            if (at + len < strlen(want) + 64) memcpy(got + at, b, len);
            at += len, upto[j] = at;
        }
        got[at < strlen(want) + 64 ? at : 0] = '\0';
        CHECK_STR(got, want);
        for (int k = 0; k < n; k++) {
            CHECK(upto[sep[k]] >= end[k] && (sep[k] == 0 || upto[sep[k] - 1] < end[k]));
            CHECK((dep[k] < 0) == (tgt[k] > 0.5f));
        }
        CHECK(sep[n] == (int)ids.n - 1 && ids.ids[sep[n]] == d.sep);
        prm_scorer ps = {.tok = tok, .readout = PRM_CLASS2, .input = PRM_INPUT_POLICY, .traj_sep = true, .sep = d.sep};
        CHECK_INT(prm_input_ids(&ps, prompt, (const char *const *)steps, n, &sc, reads, &err), 0);
        CHECK(sc.n == ids.n && memcmp(sc.ids, ids.ids, ids.n * sizeof *ids.ids) == 0);
        for (int k = 0; k <= n; k++) CHECK_INT(reads[k], sep[k]);
        for (int k = 0; k < n; k++) free(steps[k]);
        free(prompt), free(want), free(got), free(upto);
        task_labels_free(&l);
        task_trace_free(&t);
        tok_ids_free(&ids), tok_ids_free(&sc);
    }
    d.policy_layout = false;
    // prm.twins: example 2j + 1 is example 2j's trace with one more right step made wrong; their
    // tokens agree up to that step's separator and their targets before it, then 1 against 0 there.
    d.twins = true;
    d.task.error_rate = 0.3;
    int pairs = 0;
    for (uint64_t j = 0; j < 20; j++) {
        tok_ids a = {0}, b = {0};
        int sa[16], sb[16];
        float ta[16], tb[16], fa, fb;
        int da[16], db[16];
        int na = prm_example(&d, 0, 2 * j, &a, sa, ta, &fa, 16, da), nb = prm_example(&d, 0, 2 * j + 1, &b, sb, tb, &fb, 16, db);
        CHECK_INT(na, nb);
        int k = 0;
        while (k < na && ta[k] == tb[k]) k++;
        if (k == na) { // no right step had a wrong form: the trace itself
            tok_ids_free(&a), tok_ids_free(&b);
            continue;
        }
        pairs++;
        CHECK(ta[k] == 1.0f && tb[k] == 0.0f);
        bool prefix = true; // the same tokens up to step k - 1's separator (task_trace_make_wrong's own test: the texts)
        int upto = k ? sa[k - 1] : 0;
        for (int t = 0; t <= upto && prefix; t++) prefix = a.ids[t] == b.ids[t];
        CHECK(prefix);
        // prm.dense: step k of the twin departs at the first token where the pair differs.
        size_t first = 0;
        while (first < a.n && first < b.n && a.ids[first] == b.ids[first]) first++;
        CHECK_INT(da[k], -1);
        CHECK_INT(db[k], (int)first);
        for (int s = 0; s < na; s++) CHECK((da[s] < 0) == (ta[s] > 0.5f) && (db[s] < 0) == (tb[s] > 0.5f));
        tok_ids_free(&a), tok_ids_free(&b);
    }
    CHECK(pairs >= 15);
    d.twins = false;
    d.task.error_rate = 0.5;
    // Training lowers the loss: 40 steps on one fixed batch of 4 traces, in either layout.
    model_config c = {0};
    snprintf(c.model_type, sizeof c.model_type, "qwen2");
    snprintf(c.architecture, sizeof c.architecture, "Qwen2ForProcessRewardModel");
    c.hidden_size = 32, c.num_hidden_layers = 2, c.num_attention_heads = 4, c.num_key_value_heads = 2, c.head_dim = 8;
    c.intermediate_size = 64, c.vocab_size = tok_vocab_size(tok), c.max_position_embeddings = 256;
    c.rope_theta = 10000, c.rms_norm_eps = 1e-6, c.qkv_bias = true, c.tie_word_embeddings = true;
    c.bos_token_id = c.eos_token_id = -1;
    backend *be = backend_cpu_create(1);
    model m;
    model_adamw opt = {0, 0.9f, 0.95f, 1e-8f, 0};
    prm_train_stats first, last;
    uint64_t next = 0;
    for (int lay = 0; lay < 2; lay++) {
        d.policy_layout = lay == 1;
        model_init_random(&m, &c, MODEL_HEAD_PRM, be, 1, 0.1f, 0.0f);
        model_train_init(&m);
        model_reserve(&m, 4, 256, true, false);
        next = 0;
        prm_train_step(&m, &d, &next, 4, 1.0f, 1.0f, &opt, 3e-3f, &first);
        for (int s = 0; s < 40; s++) {
            next = 0;
            prm_train_step(&m, &d, &next, 4, 1.0f, 1.0f, &opt, 3e-3f, &last);
        }
        printf("%s layout: loss %.4f -> %.4f\n", lay ? "policy" : "published", first.loss, last.loss);
        CHECK(last.loss < 0.5 * first.loss);
        prm_eval_result r;
        prm_evaluate(&m, &d, NULL, 8, 4, &r);
        CHECK(r.steps > 8 && r.wrong > 0 && r.auroc >= 0 && r.auroc <= 1);
        model_free(&m);
    }
    d.policy_layout = false;

    // prm.lm_weight: on a PRM with lm_aux the LM loss is the language model's, bit for bit (loss and
    // gradients of every backbone tensor), for a language model with the same backbone.
    model lm, pm;
    c.tie_word_embeddings = true;
    snprintf(c.architecture, sizeof c.architecture, "Qwen2ForCausalLM");
    model_init_random(&lm, &c, MODEL_HEAD_LM, be, 3, 0.1f, 0.0f);
    snprintf(c.architecture, sizeof c.architecture, "Qwen2ForProcessRewardModel");
    model_init_random(&pm, &c, MODEL_HEAD_PRM, be, 4, 0.1f, 0.0f);
    for (int t = 0; t < lm.ntensors; t++) {
        const model_tensor *a = &lm.tensors[t], *q = model_find_tensor(&pm, a->name);
        CHECK(q != NULL && q->numel == a->numel);
        if (q) memcpy(pm.params_mem + q->offset, lm.params_mem + a->offset, a->numel * sizeof(float));
    }
    pm.lm_aux = true;
    model_train_init(&lm), model_train_init(&pm);
    model_reserve(&lm, 2, 24, true, false), model_reserve(&pm, 2, 24, true, false);
    int32_t ids[48], tg[48];
    float w[48];
    for (int i = 0; i < 48; i++) ids[i] = (i * 37 + 11) % c.vocab_size, tg[i] = i % 5 == 0 ? -1 : (i * 53 + 7) % c.vocab_size;
    for (int i = 0; i < 48; i++) w[i] = tg[i] < 0 ? 0.0f : 0.5f / 48;
    model_zero_grad(&lm), model_zero_grad(&pm);
    model_forward(&lm, ids, NULL, NULL, 2, 24), model_forward(&pm, ids, NULL, NULL, 2, 24);
    double la = model_lm_ce(&lm, tg, w, true), lp = model_lm_ce(&pm, tg, w, true);
    model_backward(&lm), model_backward(&pm);
    CHECK(la > 0 && la == lp);
    int same = 0;
    for (int t = 0; t < lm.ntensors; t++) {
        const model_tensor *a = &lm.tensors[t], *q = model_find_tensor(&pm, a->name);
        same += q && !memcmp(pm.grads_mem + q->offset, lm.grads_mem + a->offset, a->numel * sizeof(float));
    }
    CHECK_INT(same, lm.ntensors);
    model_free(&lm), model_free(&pm);

    // prm.extra_layers: a PRM grown by 2 layers on a language model's backbone starts out computing
    // exactly what the backbone does (the new layers' output projections zero), and they get gradients.
    {
        char dir[] = "/tmp/fluxrl-test-grow-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        snprintf(c.architecture, sizeof c.architecture, "Qwen2ForCausalLM");
        model_init_random(&lm, &c, MODEL_HEAD_LM, be, 5, 0.1f, 0.0f);
        CHECK_INT(model_save(&lm, dir, ST_F32, &err), 0);
        model_free(&lm);
        model a, g;
        CHECK_INT(model_load_as_grown_shard(&a, dir, MODEL_HEAD_PRM, 0, be, 9, 0.1f, 0, 1, &err), 0);
        CHECK_INT(model_load_as_grown_shard(&g, dir, MODEL_HEAD_PRM, 2, be, 9, 0.1f, 0, 1, &err), 0);
        CHECK_INT(g.L, a.L + 2);
        CHECK_INT(g.cfg.num_hidden_layers, a.L + 2);
        int zeros = 0, copied = 0;
        for (int t = 0; t < g.ntensors; t++) {
            const model_tensor *q = &g.tensors[t], *o = model_find_tensor(&a, q->name);
            float *v = g.params_mem + q->offset;
            if (q->layer >= a.L) {
                bool zero = true;
                for (size_t i = 0; i < q->numel; i++) zero &= v[i] == 0.0f;
                zeros += zero && (strstr(q->name, ".o_proj.") || strstr(q->name, ".down_proj."));
                CHECK(o == NULL);
            } else if (o) { // the backbone's tensors, and the head made the same for the comparison
                if (!strncmp(q->name, "score.", 6)) memcpy(v, a.params_mem + o->offset, q->numel * sizeof(float));
                copied += !memcmp(v, a.params_mem + o->offset, q->numel * sizeof(float));
            }
        }
        CHECK_INT(zeros, 2 * 2); // o_proj.weight and down_proj.weight of each new layer
        CHECK_INT(copied, a.ntensors);
        model_reserve(&a, 2, 24, false, false), model_reserve(&g, 2, 24, false, false);
        float la2[96], lg2[96];
        model_forward(&a, ids, NULL, NULL, 2, 24), model_forward(&g, ids, NULL, NULL, 2, 24);
        model_prm_forward(&a, la2), model_prm_forward(&g, lg2);
        CHECK(!memcmp(la2, lg2, sizeof la2));
        // The new layers get gradients (through their zero output projections first).
        model_train_init(&g);
        model_reserve(&g, 2, 24, true, false);
        model_zero_grad(&g);
        model_forward(&g, ids, NULL, NULL, 2, 24);
        model_prm_forward(&g, lg2);
        for (int i = 0; i < 96; i++) lg2[i] = i % 2 ? 1.0f : -1.0f;
        model_prm_backward(&g, lg2);
        model_backward(&g);
        int moved = 0;
        for (int t = 0; t < g.ntensors; t++) {
            const model_tensor *q = &g.tensors[t];
            if (q->layer < a.L || !strstr(q->name, "o_proj.weight")) continue;
            bool nz = false;
            for (size_t i = 0; i < q->numel; i++) nz |= g.grads_mem[q->offset + i] != 0.0f;
            moved += nz;
        }
        CHECK_INT(moved, 2);
        model_free(&a), model_free(&g);
        char path[256];
        snprintf(path, sizeof path, "rm -rf %s", dir);
        CHECK_INT(system(path), 0);
    }

    // Training with it: the auxiliary loss falls on a fixed batch, and the PRM loss still does.
    model_init_random(&m, &c, MODEL_HEAD_PRM, be, 1, 0.1f, 0.0f);
    m.lm_aux = true;
    model_train_init(&m);
    model_reserve(&m, 4, 256, true, false);
    d.lm_weight = 0.5f;
    next = 0;
    prm_train_step(&m, &d, &next, 4, 1.0f, 1.0f, &opt, 3e-3f, &first);
    for (int s = 0; s < 40; s++) {
        next = 0;
        prm_train_step(&m, &d, &next, 4, 1.0f, 1.0f, &opt, 3e-3f, &last);
    }
    printf("with lm_weight 0.5: lm_ce %.4f -> %.4f, step_mse %.4f -> %.4f\n", first.lm_ce, last.lm_ce, first.step_mse,
           last.step_mse);
    CHECK(first.lm_ce > 3.0 && last.lm_ce < 0.5 * first.lm_ce); // from about log V (5.7) for random weights
    CHECK(last.step_mse < 0.5 * first.step_mse);
    CHECK_NEAR(last.loss, last.step_mse + last.final_mse + 0.5 * last.lm_ce, 1e-9);
    model_free(&m);

    // prm.dense: the per-token step loss falls on a fixed batch too, and is in the loss.
    model_init_random(&m, &c, MODEL_HEAD_PRM, be, 1, 0.1f, 0.0f);
    model_train_init(&m);
    model_reserve(&m, 4, 256, true, false);
    d.lm_weight = 0.0f, d.dense = 2.0f, d.task.error_rate = 0.5;
    next = 0;
    prm_train_step(&m, &d, &next, 4, 1.0f, 1.0f, &opt, 3e-3f, &first);
    for (int s = 0; s < 40; s++) {
        next = 0;
        prm_train_step(&m, &d, &next, 4, 1.0f, 1.0f, &opt, 3e-3f, &last);
    }
    printf("with dense 2: dense_mse %.4f -> %.4f\n", first.dense_mse, last.dense_mse);
    CHECK(first.dense_mse > 0.05 && last.dense_mse < 0.5 * first.dense_mse);
    CHECK_NEAR(last.loss, last.step_mse + last.final_mse + 2.0 * last.dense_mse, 1e-9);
    model_free(&m);
    backend_destroy(be);
    tok_free(tok);
    return test_summary("test_prm_train");
}
