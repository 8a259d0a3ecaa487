// test_model_golden.c — the C transformer against PyTorch (tests/reference/model/make_golden.py):
// tiny Hugging Face checkpoints in tests/data/model/ are loaded, run on a packed + padded batch,
// and compared tensor by tensor: logits and loss (1e-4 relative), every parameter gradient
// (1e-3 relative error norm), the losses and gradient norms of 5 AdamW steps with clipping and a
// warmup + cosine schedule. Then save/load round trips (F32, BF16) and checkpoint errors.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../model/model.h"
#include "test.h"

static backend *be;

typedef struct {
    int B, T, N;
    int32_t *ids, *pos, *seg, *targets;
    double loss, final_loss;
    double adam_losses[5], grad_norms[5];
    model_adamw opt;
    model_lr_schedule sched;
    double max_norm;
    int steps;
} golden;

static int32_t *int_array(cJSON *j, const char *key, int n) {
    cJSON *a = cJSON_GetObjectItem(j, key);
    FX_ASSERT(cJSON_GetArraySize(a) == n);
    int32_t *v = malloc(sizeof(int32_t) * (size_t)n);
    for (int i = 0; i < n; i++) v[i] = (int32_t)cJSON_GetArrayItem(a, i)->valuedouble;
    return v;
}

static double num(cJSON *j, const char *key) { return cJSON_GetObjectItem(j, key)->valuedouble; }

static golden read_golden(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/golden.json", dir);
    fx_err err;
    size_t len;
    char *text = fx_read_file(path, &len, &err);
    if (!text) fx_fatal("%s", err.msg);
    cJSON *j = cJSON_Parse(text);
    FX_ASSERT(j);
    golden g;
    memset(&g, 0, sizeof g);
    g.B = (int)num(j, "B"), g.T = (int)num(j, "T"), g.N = g.B * g.T;
    g.ids = int_array(j, "ids", g.N), g.pos = int_array(j, "pos", g.N), g.seg = int_array(j, "seg", g.N);
    g.targets = int_array(j, "targets", g.N);
    g.loss = num(j, "loss"), g.final_loss = num(j, "final_loss");
    cJSON *o = cJSON_GetObjectItem(j, "optimizer");
    g.opt = (model_adamw){(float)num(o, "lr"), (float)num(o, "beta1"), (float)num(o, "beta2"), (float)num(o, "eps"),
                          (float)num(o, "weight_decay")};
    g.sched = (model_lr_schedule){MODEL_LR_COSINE, (float)num(o, "lr"), (float)num(o, "min_lr"), (int)num(o, "warmup"),
                                  (int)num(o, "total")};
    g.max_norm = num(o, "max_grad_norm");
    g.steps = (int)num(o, "steps");
    FX_ASSERT(g.steps == 5);
    for (int i = 0; i < 5; i++) {
        g.adam_losses[i] = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "adamw_losses"), i)->valuedouble;
        g.grad_norms[i] = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "grad_norms"), i)->valuedouble;
    }
    cJSON_Delete(j);
    free(text);
    return g;
}

static void free_golden(golden *g) { free(g->ids), free(g->pos), free(g->seg), free(g->targets); }

// ||a - b|| / ||b||
static double rel_err(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), den += (double)b[i] * b[i];
    return sqrt(num / (den > 0 ? den : 1e-30));
}

// Forward, the loss (mean cross-entropy over targets: next tokens or PRM labels) and backward.
// PRM logits are returned in out (N, 2) when not NULL.
static double loss_and_backward(model *m, const golden *g, float *out) {
    model_forward(m, g->ids, g->pos, g->seg, g->B, g->T);
    if (m->head == MODEL_HEAD_LM) {
        double loss = model_lm_ce(m, g->targets, NULL, true);
        model_backward(m);
        return loss;
    }
    float *z = malloc(sizeof(float) * 2 * (size_t)g->N), *dz = malloc(sizeof(float) * 2 * (size_t)g->N);
    model_prm_forward(m, z);
    int count = 0;
    for (int n = 0; n < g->N; n++) count += g->targets[n] >= 0;
    double loss = 0;
    for (int n = 0; n < g->N; n++) {
        double mx = fmax(z[2 * n], z[2 * n + 1]);
        double lse = mx + log(exp(z[2 * n] - mx) + exp(z[2 * n + 1] - mx));
        for (int k = 0; k < 2; k++)
            dz[2 * n + k] =
                g->targets[n] < 0 ? 0.0f : (float)((exp(z[2 * n + k] - lse) - (k == g->targets[n])) / count);
        if (g->targets[n] >= 0) loss -= (z[2 * n + g->targets[n]] - lse) / count;
    }
    model_prm_backward(m, dz);
    model_backward(m);
    if (out) memcpy(out, z, sizeof(float) * 2 * (size_t)g->N);
    free(z), free(dz);
    return loss;
}

static void test_golden(const char *name) {
    char dir[256], path[512];
    snprintf(dir, sizeof dir, "tests/data/model/%s", name);
    golden g = read_golden(dir);
    fx_err err;
    model m;
    if (model_load(&m, dir, be, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        test_failed++;
        free_golden(&g);
        return;
    }
    model_reserve(&m, g.B, g.T, true, false);
    st_archive ga;
    snprintf(path, sizeof path, "%s/golden.safetensors", dir);
    if (st_open(&ga, path, &err)) fx_fatal("%s", err.msg);

    // logits and loss
    int W = m.head == MODEL_HEAD_LM ? m.V : 2;
    float *got = malloc(sizeof(float) * (size_t)g.N * W), *want = malloc(sizeof(float) * (size_t)g.N * W);
    int64_t shape[2] = {g.N, W};
    CHECK(st_read_f32(&ga, "logits", 2, shape, want, &err) == 0);
    model_zero_grad(&m);
    double loss = loss_and_backward(&m, &g, m.head == MODEL_HEAD_PRM ? got : NULL);
    if (m.head == MODEL_HEAD_LM) model_lm_logits(&m, 0, g.N, got);
    double e = rel_err(got, want, (size_t)g.N * W);
    double maxd = 0, maxw = 0;
    for (size_t i = 0; i < (size_t)g.N * W; i++)
        maxd = fmax(maxd, fabs(got[i] - want[i])), maxw = fmax(maxw, fabs(want[i]));
    CHECK(e < 1e-4 && maxd <= 1e-4 * maxw);
    CHECK_NEAR(loss, g.loss, 1e-4 * fabs(g.loss));

    // every gradient
    float *grads = malloc(m.nparams * sizeof(float));
    be->download(be->ctx, grads, m.grads_mem, m.nparams * sizeof(float));
    double worst = 0;
    int compared = 0;
    for (int i = 0; i < m.ntensors; i++) {
        const model_tensor *t = &m.tensors[i];
        char gname[128];
        snprintf(gname, sizeof gname, "grad.%s", t->name);
        float *w = malloc(t->numel * sizeof(float));
        if (st_read_f32(&ga, gname, t->ndim, t->shape, w, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            test_failed++;
        } else {
            double r = rel_err(grads + t->offset, w, t->numel);
            if (r > 1e-3) fprintf(stderr, "%s: %s: gradient relative error %.3g\n", name, gname, r);
            CHECK(r <= 1e-3);
            worst = fmax(worst, r);
            compared++;
        }
        free(w);
    }
    CHECK_INT(compared, ga.ntensors - 1); // every grad.* in the golden file, plus logits
    printf("%s: logits rel err %.2e, loss %.7f vs %.7f, %d gradients, worst rel err %.2e\n", name, e, loss, g.loss,
           compared, worst);

    // 5 AdamW steps
    double worst_loss = 0;
    for (int s = 0; s < g.steps; s++) {
        model_zero_grad(&m);
        double l = loss_and_backward(&m, &g, NULL);
        double norm = model_clip_grad_norm(&m, g.max_norm);
        CHECK_NEAR(l, g.adam_losses[s], 1e-4 * fabs(g.adam_losses[s]));
        CHECK_NEAR(norm, g.grad_norms[s], 1e-3 * g.grad_norms[s]);
        worst_loss = fmax(worst_loss, fabs(l - g.adam_losses[s]) / fabs(g.adam_losses[s]));
        model_adamw_step(&m, &g.opt, model_lr_at(&g.sched, s));
    }
    model_zero_grad(&m);
    double fin = loss_and_backward(&m, &g, NULL);
    CHECK_NEAR(fin, g.final_loss, 1e-4 * fabs(g.final_loss));
    printf("%s: 5 AdamW steps, worst loss rel err %.2e, final loss %.7f vs %.7f\n", name, worst_loss, fin,
           g.final_loss);
    free(got), free(want), free(grads);
    st_close(&ga);
    model_free(&m);
    free_golden(&g);
}

static float *host_params(const model *m) {
    float *p = malloc(m->nparams * sizeof(float));
    be->download(be->ctx, p, m->params_mem, m->nparams * sizeof(float));
    return p;
}

// Save, load again: the same config and the same parameters (BF16: the model is BF16 already).
static void test_roundtrip(const char *name, st_dtype dtype) {
    char dir[256], out[256];
    snprintf(dir, sizeof dir, "tests/data/model/%s", name);
    snprintf(out, sizeof out, "/tmp/fluxrl_test_model_%d_%s", (int)getpid(), name);
    fx_err err;
    model a, b;
    CHECK(model_load(&a, dir, be, &err) == 0);
    CHECK(model_save(&a, out, dtype, &err) == 0);
    if (model_load(&b, out, be, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        test_failed++;
        model_free(&a);
        return;
    }
    CHECK_STR(b.cfg.architecture, a.cfg.architecture);
    CHECK_INT(b.nparams, a.nparams);
    CHECK(b.cfg.tie_word_embeddings == a.cfg.tie_word_embeddings && b.cfg.qk_norm == a.cfg.qk_norm);
    float *pa = host_params(&a), *pb = host_params(&b);
    CHECK(memcmp(pa, pb, a.nparams * sizeof(float)) == 0);
    free(pa), free(pb);
    model_free(&a), model_free(&b);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
    CHECK(system(cmd) == 0);
}

// A checkpoint missing a tensor, or holding one the config does not imply, is refused by name.
static void test_bad_checkpoints(void) {
    const char *dir = "tests/data/model/qwen2_tied";
    char out[256], path[512], cmd[600];
    snprintf(out, sizeof out, "/tmp/fluxrl_test_model_%d_bad", (int)getpid());
    fx_err err;
    model a, b;
    CHECK(model_load(&a, dir, be, &err) == 0);
    float *p = host_params(&a);
    st_entry *e = calloc((size_t)a.ntensors + 1, sizeof *e);
    for (int i = 0; i < a.ntensors; i++) {
        const model_tensor *t = &a.tensors[i];
        e[i] = (st_entry){t->name, t->ndim, {t->shape[0], t->shape[1]}, p + t->offset};
    }
    CHECK(model_save(&a, out, ST_F32, &err) == 0);
    snprintf(path, sizeof path, "%s/model.safetensors", out);
    // missing: drop model.layers.1.mlp.up_proj.weight
    int drop = -1;
    for (int i = 0; i < a.ntensors; i++)
        if (strcmp(a.tensors[i].name, "model.layers.1.mlp.up_proj.weight") == 0) drop = i;
    FX_ASSERT(drop >= 0);
    st_entry keep = e[drop];
    e[drop] = e[a.ntensors - 1];
    CHECK(st_save(path, e, a.ntensors - 1, ST_F32, &err) == 0);
    CHECK(model_load(&b, out, be, &err) == -1);
    CHECK(strstr(err.msg, "model.layers.1.mlp.up_proj.weight") && strstr(err.msg, "missing"));
    // unexpected: an lm_head.weight in a tied model
    e[drop] = keep;
    e[a.ntensors] = (st_entry){"lm_head.weight", 2, {a.V, a.C}, p};
    CHECK(st_save(path, e, a.ntensors + 1, ST_F32, &err) == 0);
    CHECK(model_load(&b, out, be, &err) == -1);
    CHECK(strstr(err.msg, "lm_head.weight") && strstr(err.msg, "unexpected"));
    // wrong shape: a vector where layer 0's o_proj matrix belongs
    for (int i = 0; i < a.ntensors; i++)
        if (strcmp(a.tensors[i].name, "model.layers.0.self_attn.o_proj.weight") == 0) e[i].ndim = 1;
    CHECK(st_save(path, e, a.ntensors, ST_F32, &err) == 0);
    CHECK(model_load(&b, out, be, &err) == -1);
    CHECK(strstr(err.msg, "model.layers.0.self_attn.o_proj.weight") != NULL);
    // an unknown architecture
    e[drop] = keep;
    model_config c = a.cfg;
    strcpy(a.cfg.architecture, "Qwen2ForTokenMagic");
    CHECK(model_save(&a, out, ST_F32, &err) == 0);
    a.cfg = c;
    CHECK(model_load(&b, out, be, &err) == -1);
    CHECK(strstr(err.msg, "Qwen2ForTokenMagic") && strstr(err.msg, "architectures"));
    free(e), free(p);
    model_free(&a);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
    CHECK(system(cmd) == 0);
}

int main(void) {
    be = backend_cpu_create(0);
    test_golden("qwen2_tied");
    test_golden("qwen3_untied");
    test_golden("qwen2_bf16");
    test_golden("qwen2_prm");
    test_roundtrip("qwen3_untied", ST_F32);
    test_roundtrip("qwen2_bf16", ST_BF16);
    test_roundtrip("qwen2_prm", ST_F32);
    test_bad_checkpoints();
    backend_destroy(be);
    return test_summary("test_model_golden");
}
