// test_pcm.c — the Preference Control Model head and token-level merging (docs/pcm.md, issue 18)
// against PyTorch (tests/reference/pcm/make_golden.py, data in tests/data/pcm/tiny/), and the
// exact cases: a one-hot alpha gives back that expert's log-probs bit for bit, alpha = w is the
// mixture computed directly, log(0) = -inf never becomes NaN; the merged distribution's entropy
// and its gradient (the entropy bonus) against PyTorch's autograd.
//
// Tolerances. The PCM's forward and backward are fp32 through a 2-layer decoder, as in
// test_model_golden: alpha logits z within 1e-4 relative error norm (and 1e-4 of max |z| per
// entry), every gradient within 1e-3. The merge alone, on PyTorch's own z and expert log-probs,
// is a log-softmax and a logsumexp over K terms: PyTorch rounds in fp32, the C code in double
// then once to fp32, so each value is within a few fp32 ulps of the other: we allow 8 ulps of the
// magnitudes involved, 8 * 2^-24 * (1 + |x|) (2^-24: fp32's unit roundoff).
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../model/model.h"
#include "../model/model_merge.h"
#include "test.h"

#define DIR "tests/data/pcm/tiny"

static backend *be;

typedef struct {
    int B, T, N, K, V;
    int32_t *ids, *pos, *seg, *y;
    double loss;
    st_archive a;
    float *pref, *c, *rows, *lp, *z, *alpha, *logp, *dz, *row_prob, *row_logit;
    float *e, *ent, *dz_ent; // the merged entropy: weights e, H (N), d sum e H / dz (N, K)
} golden;

static int32_t *int_array(const cJSON *j, const char *key, int n) {
    const cJSON *a = cJSON_GetObjectItem(j, key);
    FX_ASSERT(cJSON_GetArraySize(a) == n);
    int32_t *v = malloc(sizeof(int32_t) * (size_t)n);
    for (int i = 0; i < n; i++) v[i] = (int32_t)cJSON_GetArrayItem(a, i)->valuedouble;
    return v;
}

static float *tensor(const golden *g, const char *name, int64_t d0, int64_t d1) {
    fx_err err;
    int64_t shape[2] = {d0, d1};
    float *x = malloc(sizeof(float) * (size_t)d0 * (size_t)(d1 ? d1 : 1));
    if (st_read_f32(&g->a, name, d1 ? 2 : 1, shape, x, &err)) fx_fatal("%s", err.msg);
    return x;
}

static golden read_golden(int V) {
    golden g;
    memset(&g, 0, sizeof g);
    fx_err err;
    size_t len;
    char *text = fx_read_file(DIR "/golden.json", &len, &err);
    if (!text) fx_fatal("%s", err.msg);
    cJSON *j = cJSON_Parse(text);
    FX_ASSERT(j);
    g.B = cJSON_GetObjectItem(j, "B")->valueint, g.T = cJSON_GetObjectItem(j, "T")->valueint;
    g.K = cJSON_GetObjectItem(j, "K")->valueint, g.N = g.B * g.T, g.V = V;
    g.ids = int_array(j, "ids", g.N), g.pos = int_array(j, "pos", g.N), g.seg = int_array(j, "seg", g.N);
    g.y = int_array(j, "y", g.N);
    g.loss = cJSON_GetObjectItem(j, "loss")->valuedouble;
    cJSON_Delete(j);
    free(text);
    if (st_open(&g.a, DIR "/golden.safetensors", &err)) fx_fatal("%s", err.msg);
    int N = g.N, K = g.K;
    g.pref = tensor(&g, "pref", N, K), g.c = tensor(&g, "c", N, 0), g.rows = tensor(&g, "rows", (int64_t)K * N, V);
    g.lp = tensor(&g, "lp", K, N), g.z = tensor(&g, "z", N, K), g.alpha = tensor(&g, "alpha", N, K);
    g.logp = tensor(&g, "logp", N, 0), g.dz = tensor(&g, "dz", N, K);
    g.row_prob = tensor(&g, "row_prob", N, V), g.row_logit = tensor(&g, "row_logit", N, V);
    g.e = tensor(&g, "e", N, 0), g.ent = tensor(&g, "ent", N, 0), g.dz_ent = tensor(&g, "dz_ent", N, K);
    return g;
}

static void free_golden(golden *g) {
    free(g->ids), free(g->pos), free(g->seg), free(g->y);
    free(g->pref), free(g->c), free(g->rows), free(g->lp), free(g->z), free(g->alpha), free(g->logp), free(g->dz);
    free(g->row_prob), free(g->row_logit), free(g->e), free(g->ent), free(g->dz_ent);
    st_close(&g->a);
}

// ||a - b|| / ||b||
static double rel_err(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), den += (double)b[i] * b[i];
    return sqrt(num / (den > 0 ? den : 1e-30));
}

// Entries of a and b that differ by more than `ulps` fp32 roundoffs of (1 + |b|); their count.
static int count_far(const float *a, const float *b, size_t n, double ulps, double *worst) {
    int far = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]), tol = ulps * 0x1p-24 * (1.0 + fabs(b[i]));
        far += !(d <= tol);
        *worst = fmax(*worst, d / (0x1p-24 * (1.0 + fabs(b[i]))));
    }
    return far;
}

// Pointers to the K experts' log-softmax rows at token t.
static void rows_at(const golden *g, const float *rows, int t, const float **out) {
    for (int i = 0; i < g->K; i++) out[i] = rows + ((size_t)i * g->N + (size_t)t) * g->V;
}

// The merge on PyTorch's z and expert log-probs: fp32 roundoff apart.
static void test_merge_golden(const golden *g) {
    int N = g->N, K = g->K, V = g->V;
    float *alpha = malloc(sizeof(float) * N * K), *la = malloc(sizeof(float) * N * K);
    float *logp = malloc(sizeof(float) * N), *post = malloc(sizeof(float) * N * K), *dz = malloc(sizeof(float) * N * K);
    float *row = malloc(sizeof(float) * V);
    model_merge_alpha(g->z, N, K, alpha, la);
    model_merge_logp(la, g->lp, N, K, logp, post);
    model_merge_backward(alpha, post, g->c, N, K, dz);
    double wa = 0, wl = 0, wd = 0, wp = 0, wg = 0;
    CHECK_INT(count_far(alpha, g->alpha, (size_t)N * K, 8, &wa), 0);
    CHECK_INT(count_far(logp, g->logp, (size_t)N, 8, &wl), 0);
    // dz = c (post - alpha): the difference of two fp32 probabilities, times c
    double cmax = 0;
    for (int t = 0; t < N; t++) cmax = fmax(cmax, fabs(g->c[t]));
    for (int i = 0; i < N * K; i++) wd = fmax(wd, fabs((double)dz[i] - g->dz[i]) / (0x1p-24 * cmax));
    CHECK(wd <= 8);
    int far_p = 0, far_g = 0;
    const float *r[16];
    for (int t = 0; t < N; t++) {
        rows_at(g, g->rows, t, r);
        model_merge_row_prob(la + (size_t)t * K, r, K, V, row);
        far_p += count_far(row, g->row_prob + (size_t)t * V, (size_t)V, 8, &wp);
        model_merge_row_logit(alpha + (size_t)t * K, r, K, V, row);
        far_g += count_far(row, g->row_logit + (size_t)t * V, (size_t)V, 8, &wg);
        model_merge_row_prob(la + (size_t)t * K, r, K, V, row); // its entry at y_t: the token's log pi
        CHECK(memcmp(&row[g->y[t]], &logp[t], sizeof(float)) == 0);
    }
    CHECK_INT(far_p, 0);
    CHECK_INT(far_g, 0);
    // The merged entropy and its gradient: PyTorch sums V products pi log pi in fp32 (a blocked
    // reduction: error ~ log2 V ulps of sum_v |pi log pi| = H), the C code in double: we allow 16
    // ulps of (1 + H); the gradient -e alpha (c + H) the same of e (1 + |c| + H).
    float *ent = malloc(sizeof(float) * N), *cross = malloc(sizeof(float) * N * K), *dze = calloc((size_t)N * K, sizeof(float));
    double we = 0, wde = 0;
    int far_e = 0, far_de = 0;
    for (int t = 0; t < N; t++) {
        rows_at(g, g->rows, t, r);
        ent[t] = model_merge_row_entropy(la + (size_t)t * K, r, K, V, cross + (size_t)t * K);
        double d = fabs((double)ent[t] - g->ent[t]) / (0x1p-24 * (1 + fabs(g->ent[t])));
        we = fmax(we, d), far_e += !(d <= 16);
    }
    model_merge_entropy_backward(alpha, cross, ent, g->e, N, K, dze);
    for (int i = 0; i < N * K; i++) {
        double scale = fabs(g->e[i / K]) * (1 + fabs(cross[i]) + fabs(ent[i / K])) + 1e-30;
        double d = fabs((double)dze[i] - g->dz_ent[i]) / (0x1p-24 * scale);
        wde = fmax(wde, d), far_de += !(d <= 16);
    }
    CHECK_INT(far_e, 0);
    CHECK_INT(far_de, 0);
    printf("merge vs PyTorch (its z): worst in fp32 ulps of 1+|x|: alpha %.1f, log pi(y) %.1f, dz %.1f, "
           "prob-space rows %.1f, logit-space rows %.1f; entropy %.1f and its dz %.1f (16 allowed)\n", wa, wl, wd,
           wp, wg, we, wde);
    free(alpha), free(la), free(logp), free(post), free(dz), free(row), free(ent), free(cross), free(dze);
}

// The merged log-probs of the golden batch from the C PCM's own z, the loss sum c log pi, and its
// backward through the merge, the alpha head and the backbone.
static double pcm_loss_backward(model *m, const golden *g, float *z_out) {
    int N = g->N, K = g->K;
    float *z = malloc(sizeof(float) * N * K), *alpha = malloc(sizeof(float) * N * K);
    float *la = malloc(sizeof(float) * N * K), *post = malloc(sizeof(float) * N * K);
    float *dz = malloc(sizeof(float) * N * K), *logp = malloc(sizeof(float) * N);
    model_forward_pref(m, g->ids, g->pos, g->seg, g->pref, g->B, g->T);
    model_pcm_forward(m, z);
    model_merge_alpha(z, N, K, alpha, la);
    model_merge_logp(la, g->lp, N, K, logp, post);
    double loss = 0;
    for (int t = 0; t < N; t++) loss += (double)g->c[t] * logp[t];
    model_merge_backward(alpha, post, g->c, N, K, dz);
    model_pcm_backward(m, dz);
    model_backward(m);
    if (z_out) memcpy(z_out, z, sizeof(float) * N * K);
    free(z), free(alpha), free(la), free(post), free(dz), free(logp);
    return loss;
}

static float *host_grads(const model *m) {
    float *p = malloc(m->nparams * sizeof(float));
    be->download(be->ctx, p, m->grads_mem, m->nparams * sizeof(float));
    return p;
}

static void test_pcm_golden(const golden *g) {
    fx_err err;
    model m;
    if (model_load(&m, DIR, be, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        test_failed++;
        return;
    }
    CHECK(m.head == MODEL_HEAD_PCM);
    CHECK_INT(m.cfg.num_experts, g->K);
    model_reserve(&m, g->B, g->T, true, false);
    model_zero_grad(&m);
    int N = g->N, K = g->K;
    float *z = malloc(sizeof(float) * N * K);
    double loss = pcm_loss_backward(&m, g, z);
    double ez = rel_err(z, g->z, (size_t)N * K), maxd = 0, maxz = 0;
    for (int i = 0; i < N * K; i++) maxd = fmax(maxd, fabs(z[i] - g->z[i])), maxz = fmax(maxz, fabs(g->z[i]));
    CHECK(ez < 1e-4 && maxd <= 1e-4 * maxz);
    CHECK_NEAR(loss, g->loss, 1e-4 * fabs(g->loss));
    float *grads = host_grads(&m);
    double worst = 0;
    int compared = 0;
    for (int i = 0; i < m.ntensors; i++) {
        const model_tensor *t = &m.tensors[i];
        char name[128];
        snprintf(name, sizeof name, "grad.%s", t->name);
        float *w = tensor(g, name, t->shape[0], t->ndim == 2 ? t->shape[1] : 0);
        double r = rel_err(grads + t->offset, w, t->numel);
        if (r > 1e-3) fprintf(stderr, "%s: gradient relative error %.3g\n", name, r);
        CHECK(r <= 1e-3);
        worst = fmax(worst, r);
        compared++;
        free(w);
    }
    CHECK_INT(compared, g->a.ntensors - 13); // every grad.* of the golden file (13 other arrays)
    CHECK(model_find_tensor(&m, "model.pref_proj.weight") && model_find_tensor(&m, "alpha_head.bias"));
    printf("PCM vs PyTorch: z rel err %.2e, loss %.7f vs %.7f, %d gradients, worst rel err %.2e\n", ez, loss, g->loss,
           compared, worst);

    // Recomputing activations in backward: the same gradients, bit for bit.
    model_reserve(&m, g->B, g->T, true, true);
    model_zero_grad(&m);
    pcm_loss_backward(&m, g, NULL);
    float *grads2 = host_grads(&m);
    CHECK(memcmp(grads, grads2, m.nparams * sizeof(float)) == 0);

    // A smaller batch in the same arena (row 0 alone): its z equal row 0's in the full batch, the
    // preference uploaded after the arena's re-plan.
    float *z1 = malloc(sizeof(float) * g->T * K);
    model_forward_pref(&m, g->ids, g->pos, g->seg, g->pref, 1, g->T);
    model_pcm_forward(&m, z1);
    CHECK(rel_err(z1, z, (size_t)g->T * K) < 1e-6);
    // The preference reaches alpha: another w, other logits.
    float *pref2 = malloc(sizeof(float) * N * K);
    for (int t = 0; t < N; t++)
        for (int i = 0; i < K; i++) pref2[t * K + i] = g->pref[t * K + (i + 1) % K];
    model_forward_pref(&m, g->ids, g->pos, g->seg, pref2, 1, g->T);
    model_pcm_forward(&m, z1);
    CHECK(rel_err(z1, z, (size_t)g->T * K) > 1e-3);
    free(z), free(z1), free(pref2), free(grads), free(grads2);
    model_free(&m);
}

// Decoding a PCM with the KV cache (model_decode_pref: a prefill of 3 tokens, then one token
// at a time, each with its own preference) gives the alpha logits of the full forward
// (model_forward_pref + model_pcm_forward) on the golden batch: a packed row of two sequences of
// different preferences and a right-padded row. Not bit for bit: the cache feeds each matmul
// blocks of MODEL_DECODE_ROWS rows where the full forward feeds B*T, and BLAS may order a sum by
// block. The bound is test_model's for decoded logits, derived the same way: a float sum of n
// products errs by at most n u |terms| (u = 2^-24); the sums have lengths K (the preference's
// projection), C, QD, F and T (attention) in each of L layers, and C in the alpha head; the RMS
// norms, softmax and SiLU amplify by a factor taken as 4; two computations are compared:
// 2 * 4 * (L + 1) * (K + C + QD + F + T) u relative to max(1, |z|). Then alpha = softmax(z) moves
// by at most max_j |dz_j| / 2 (d alpha_i / d z_j = alpha_i (delta_ij - alpha_j): a row's absolute
// sum is 2 alpha_i (1 - alpha_i) <= 1/2).
static void test_pcm_decode(const golden *g) {
    fx_err err;
    model m;
    if (model_load(&m, DIR, be, &err)) fx_fatal("%s", err.msg);
    int B = g->B, T = g->T, N = g->N, K = g->K;
    model_reserve(&m, B, T, false, false);
    float *full = malloc(sizeof(float) * N * K), *step = malloc(sizeof(float) * N * K);
    model_forward_pref(&m, g->ids, g->pos, g->seg, g->pref, B, T);
    model_pcm_forward(&m, full);
    model_kv_init(&m, B, T);
    int32_t qi[64], qp[64], qs[64];
    float qw[64 * 16], qz[64 * 16];
    FX_ASSERT(B * 3 <= 64 && K <= 16);
    for (int t0 = 0; t0 < T;) {
        int tq = t0 == 0 ? 3 : 1;
        for (int b = 0; b < B; b++)
            for (int i = 0; i < tq; i++) {
                int src = b * T + t0 + i, dst = b * tq + i;
                qi[dst] = g->ids[src], qp[dst] = g->pos[src], qs[dst] = g->seg[src];
                memcpy(qw + (size_t)dst * K, g->pref + (size_t)src * K, sizeof(float) * K);
            }
        model_decode_pref(&m, qi, qp, qs, qw, tq, qz);
        for (int b = 0; b < B; b++)
            memcpy(step + ((size_t)b * T + t0) * K, qz + (size_t)b * tq * K, sizeof(float) * tq * K);
        t0 += tq;
    }
    CHECK_INT(m.kv_len, T);
    double bound = 2 * 4 * (m.L + 1) * (double)(K + m.C + m.QD + m.F + T) * 0x1p-24, worst = 0, worst_a = 0;
    float *a_full = malloc(sizeof(float) * K), *a_step = malloc(sizeof(float) * K);
    int compared = 0;
    for (int n = 0; n < N; n++) {
        if (g->seg[n] < 0) continue; // padding: masked from every real token, its z is not used
        double dz = 0;
        for (int i = 0; i < K; i++) {
            double d = fabs(step[n * K + i] - full[n * K + i]);
            worst = fmax(worst, d / fmax(fabs(full[n * K + i]), 1.0));
            dz = fmax(dz, d);
        }
        model_merge_alpha(full + (size_t)n * K, 1, K, a_full, NULL);
        model_merge_alpha(step + (size_t)n * K, 1, K, a_step, NULL);
        for (int i = 0; i < K; i++) {
            CHECK(fabs(a_step[i] - a_full[i]) <= dz / 2 + 0x1p-23);
            worst_a = fmax(worst_a, fabs(a_step[i] - a_full[i]));
        }
        compared++;
    }
    printf("PCM decode vs full forward: %d tokens, z worst relative difference %.2e (bound %.2e), alpha %.2e\n",
           compared, worst, bound, worst_a);
    CHECK(compared > N / 2);
    CHECK(worst <= bound);
    free(full), free(step), free(a_full), free(a_step);
    model_free(&m);
}

// A PCM whose alpha head is fixed to one expert (W_a = 0, b_a = -1e30 but at expert e, whose
// weight is exp(0 - log(1 + 2 exp(-1e30))) = 1 exactly): the merged log-probs and next-token rows
// are expert e's, bit for bit, and the gradient with respect to z is exactly 0.
static void test_one_hot_pcm(const golden *g) {
    fx_err err;
    model m;
    if (model_load(&m, DIR, be, &err)) fx_fatal("%s", err.msg);
    int N = g->N, K = g->K, V = g->V, C = m.C;
    model_reserve(&m, g->B, g->T, false, false);
    float *zeros = calloc((size_t)K * C, sizeof(float)), *bias = malloc(sizeof(float) * K);
    be->upload(be->ctx, m.p.alphaw, zeros, sizeof(float) * K * C);
    float *z = malloc(sizeof(float) * N * K), *alpha = malloc(sizeof(float) * N * K);
    float *la = malloc(sizeof(float) * N * K), *post = malloc(sizeof(float) * N * K);
    float *dz = malloc(sizeof(float) * N * K), *logp = malloc(sizeof(float) * N), *row = malloc(sizeof(float) * V);
    for (int e = 0; e < K; e++) {
        for (int i = 0; i < K; i++) bias[i] = i == e ? 0.0f : -1e30f;
        be->upload(be->ctx, m.p.alphab, bias, sizeof(float) * K);
        model_forward_pref(&m, g->ids, g->pos, g->seg, g->pref, g->B, g->T);
        model_pcm_forward(&m, z);
        model_merge_alpha(z, N, K, alpha, la);
        model_merge_logp(la, g->lp, N, K, logp, post);
        model_merge_backward(alpha, post, NULL, N, K, dz);
        int same = 0, hot = 0, zero_dz = 0, rows_same = 0;
        const float *r[16];
        for (int t = 0; t < N; t++) {
            same += memcmp(&logp[t], &g->lp[(size_t)e * N + t], sizeof(float)) == 0;
            for (int i = 0; i < K; i++) {
                hot += alpha[t * K + i] == (i == e ? 1.0f : 0.0f) && post[t * K + i] == (i == e ? 1.0f : 0.0f);
                zero_dz += dz[t * K + i] == 0.0f;
            }
            rows_at(g, g->rows, t, r);
            model_merge_row_prob(la + (size_t)t * K, r, K, V, row);
            rows_same += memcmp(row, r[e], sizeof(float) * V) == 0;
        }
        CHECK_INT(same, N);
        CHECK_INT(hot, N * K);
        CHECK_INT(zero_dz, N * K);
        CHECK_INT(rows_same, N);
    }
    free(zeros), free(bias), free(z), free(alpha), free(la), free(post), free(dz), free(logp), free(row);
    model_free(&m);
}

// Random log-softmax rows (K, V) with -inf at a few entries (tokens an expert's sampler masked).
static void random_rows(float *rows, int K, int V, unsigned *seed) {
    for (int i = 0; i < K; i++) {
        double mx = -INFINITY, s = 0;
        float *r = rows + (size_t)i * V;
        for (int v = 0; v < V; v++) r[v] = 3.0f * ((float)rand_r(seed) / (float)RAND_MAX - 0.5f);
        for (int v = 0; v < V; v++) mx = fmax(mx, r[v]);
        for (int v = 0; v < V; v++) s += exp(r[v] - mx);
        for (int v = 0; v < V; v++) r[v] = (float)(r[v] - mx - log(s));
        r[(i * 7 + 3) % V] = -INFINITY;
    }
}

// Fixed weights w, no PCM (alpha = w, log alpha = log w with log 0 = -inf): the mixture computed
// directly, sum_i w_i pi_i in long double, is what the merge gives to within fp32 rounding.
static void test_fixed_weights(void) {
    enum { K = 3, V = 50 };
    const float w[K] = {0.7f, 0.3f, 0.0f};
    float lw[K], rows[K * V], lp[K * V], out[V], logp[V], post[V * K], la[V * K];
    for (int i = 0; i < K; i++) lw[i] = w[i] > 0 ? logf(w[i]) : -INFINITY;
    unsigned seed = 18;
    random_rows(rows, K, V, &seed);
    const float *r[K] = {rows, rows + V, rows + 2 * V};
    model_merge_row_prob(lw, r, K, V, out);
    // Per-token: token t = v of the same rows, laid out (K, T) as the experts' log-probs.
    memcpy(lp, rows, sizeof rows);
    for (int t = 0; t < V; t++) memcpy(la + t * K, lw, sizeof lw);
    model_merge_logp(la, lp, V, K, logp, post);
    int far = 0, nan = 0, same = 0, inf_ok = 0;
    double worst = 0;
    for (int v = 0; v < V; v++) {
        long double mix = 0;
        for (int i = 0; i < K; i++) mix += (long double)w[i] * expl((long double)rows[i * V + v]);
        double want = (double)logl(mix);
        if (mix == 0) {
            inf_ok += out[v] == -INFINITY;
            continue;
        }
        double d = fabs(out[v] - want) / (0x1p-24 * (1 + fabs(want)));
        far += d > 2; // log pi rounded once from double: within an ulp of the exact value
        worst = fmax(worst, d);
        double dp = fabsl(expl((long double)out[v]) - mix) / mix;
        far += dp > 4 * 0x1p-24 * (1 + fabs(want)); // the probability, relative
        nan += isnan(out[v]);
        same += memcmp(&out[v], &logp[v], sizeof(float)) == 0; // per-token path = row path
    }
    CHECK_INT(far, 0);
    CHECK_INT(nan, 0);
    CHECK_INT(same + inf_ok, V);
    // The masked entry of expert 0 (weight 0.7) leaves expert 1's share; expert 2's -inf (weight 0)
    // changes nothing; no entry where every expert of weight > 0 is -inf here.
    CHECK(isfinite(out[3]) && isfinite(out[10]) && isfinite(out[17]));
    CHECK_NEAR(out[3], logf(w[1]) + rows[V + 3], 2 * 0x1p-24 * (1 + fabs(out[3])));
    printf("alpha = w (0.7, 0.3, 0): worst %.2f fp32 ulps of 1+|x| from sum w_i pi_i in long double\n", worst);

    // Through the PCM's softmax: z = log w gives alpha = w to an ulp and log alpha_2 = -inf.
    float z[K], alpha[K], l2[K];
    memcpy(z, lw, sizeof z);
    model_merge_alpha(z, 1, K, alpha, l2);
    for (int i = 0; i < K; i++) CHECK_NEAR(alpha[i], w[i], 0x1p-24);
    CHECK(l2[2] == -INFINITY && alpha[2] == 0.0f);
}

// log(0) handling and the gradient formula, without the PCM.
static void test_inf_and_gradient(void) {
    enum { K = 3, T = 4 };
    // Token 0: every expert of weight > 0 gives y probability 0 -> -inf, post = alpha, dz = 0.
    // Token 1: expert 0 gives 0, others finite. Token 2: one-hot alpha on an expert with lp -inf
    // elsewhere. Token 3: ordinary.
    const float la[T * K] = {0.0f, -INFINITY, -INFINITY,  logf(0.5f), logf(0.25f), logf(0.25f),
                             -INFINITY, 0.0f, -INFINITY,  logf(0.2f), logf(0.3f),  logf(0.5f)};
    const float lp[K * T] = {-INFINITY, -INFINITY, -INFINITY, -1.0f, // expert 0, tokens 0..3
                             -2.0f, -1.5f, -0.25f, -3.0f,            // expert 1
                             -INFINITY, -0.5f, -INFINITY, -0.1f};    // expert 2
    float logp[T], post[T * K], alpha[T * K], dz[T * K];
    for (int i = 0; i < T * K; i++) alpha[i] = expf(la[i]);
    model_merge_logp(la, lp, T, K, logp, post);
    const float dl[T] = {1.0f, 1.0f, 1.0f, 1.0f};
    model_merge_backward(alpha, post, dl, T, K, dz);
    int nan = 0;
    for (int i = 0; i < T * K; i++) nan += isnan(post[i]) || isnan(dz[i]);
    CHECK_INT(nan, 0);
    CHECK(logp[0] == -INFINITY && dz[0] == 0 && dz[1] == 0 && dz[2] == 0 && post[0] == 1.0f);
    CHECK_NEAR(logp[1], log(0.25 * exp(-1.5) + 0.25 * exp(-0.5)), 2e-7);
    CHECK(post[3] == 0.0f && dz[3] == -alpha[3]);
    CHECK(logp[2] == -0.25f && post[7] == 1.0f && dz[6] == 0.0f && dz[7] == 0.0f && dz[8] == 0.0f);

    // d log pi / d z = post - alpha against central differences of an independent double version.
    const double z[K] = {0.3, -1.2, 0.8}, l[K] = {-0.7, -2.5, -1.1};
    float zf[K], a[K], lz[K], lpk[K], lo, po[K], g[K];
    for (int i = 0; i < K; i++) zf[i] = (float)z[i], lpk[i] = (float)l[i];
    model_merge_alpha(zf, 1, K, a, lz);
    model_merge_logp(lz, lpk, 1, K, &lo, po); // (K, T=1): one log-prob per expert
    model_merge_backward(a, po, NULL, 1, K, g);
    for (int j = 0; j < K; j++) {
        double f[2];
        for (int s = 0; s < 2; s++) {
            double zz[K], mx = -INFINITY, se = 0, mix = 0;
            for (int i = 0; i < K; i++) zz[i] = (double)zf[i] + (i == j ? (s ? -1e-5 : 1e-5) : 0);
            for (int i = 0; i < K; i++) mx = fmax(mx, zz[i]);
            for (int i = 0; i < K; i++) se += exp(zz[i] - mx);
            for (int i = 0; i < K; i++) mix += exp(zz[i] - mx) / se * exp((double)lpk[i]);
            f[s] = log(mix);
        }
        CHECK_NEAR(g[j], (f[0] - f[1]) / 2e-5, 1e-6);
    }
}

// Save and load: the same architecture, K and parameters; a PCM's config without num_experts,
// or with one that disagrees with its tensors, is refused by name.
static void test_io(void) {
    fx_err err;
    model a, b;
    char out[256], path[512], cmd[600];
    snprintf(out, sizeof out, "/tmp/fluxrl_test_pcm_%d", (int)getpid());
    CHECK(model_load(&a, DIR, be, &err) == 0);
    CHECK(model_save(&a, out, ST_F32, &err) == 0);
    CHECK(model_load(&b, out, be, &err) == 0);
    CHECK_STR(b.cfg.architecture, "FluxrlPCMForTokenMixing");
    CHECK_INT(b.cfg.num_experts, a.cfg.num_experts);
    CHECK_INT(b.nparams, a.nparams);
    float *pa = malloc(a.nparams * sizeof(float)), *pb = malloc(a.nparams * sizeof(float));
    be->download(be->ctx, pa, a.params_mem, a.nparams * sizeof(float));
    be->download(be->ctx, pb, b.params_mem, b.nparams * sizeof(float));
    CHECK(memcmp(pa, pb, a.nparams * sizeof(float)) == 0);
    model_free(&b);
    // K = 2 in config.json, tensors of K = 3
    model_config c = a.cfg;
    c.num_experts = 2;
    snprintf(path, sizeof path, "%s/config.json", out);
    CHECK(model_config_save(&c, path, &err) == 0);
    CHECK(model_load(&b, out, be, &err) == -1);
    CHECK(strstr(err.msg, "pref_proj.weight") || strstr(err.msg, "alpha_head"));
    // no num_experts
    c.num_experts = 0;
    CHECK(model_config_save(&c, path, &err) == -1); // not even written
    CHECK(strstr(err.msg, "num_experts") != NULL);
    size_t len;
    char *text = fx_read_file(DIR "/config.json", &len, &err);
    FX_ASSERT(text);
    char *k = strstr(text, "\"num_experts\": 3,");
    FX_ASSERT(k);
    memmove(k, k + 17, strlen(k + 17) + 1);
    CHECK(fx_write_file_atomic(path, text, strlen(text), &err) == 0);
    CHECK(model_load(&b, out, be, &err) == -1);
    CHECK(strstr(err.msg, "num_experts") && strstr(err.msg, "missing"));
    model_config mc;
    model_head h;
    CHECK(model_check_files(out, &mc, &h, &err) == -1 && strstr(err.msg, "num_experts"));
    free(text), free(pa), free(pb);
    model_free(&a);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
    CHECK(system(cmd) == 0);
    CHECK(model_head_parse("FluxrlPCMForTokenMixing", &h) == 0 && h == MODEL_HEAD_PCM);
    // num_experts is read for a PCM only (an MoE config's key of that name means something else)
    const char *fmt = "{\"architectures\": [\"%s\"], \"model_type\": \"qwen2\", \"hidden_size\": 8, "
                      "\"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"intermediate_size\": 8, "
                      "\"vocab_size\": 10, \"num_experts\": %s}";
    char json[512];
    snprintf(json, sizeof json, fmt, "Qwen2ForCausalLM", "8");
    CHECK(model_config_parse(&mc, json, strlen(json), "lm.json", &err) == 0 && mc.num_experts == 0);
    snprintf(json, sizeof json, fmt, "FluxrlPCMForTokenMixing", "2");
    CHECK(model_config_parse(&mc, json, strlen(json), "pcm.json", &err) == 0 && mc.num_experts == 2);
    snprintf(json, sizeof json, fmt, "FluxrlPCMForTokenMixing", "5000");
    CHECK(model_config_parse(&mc, json, strlen(json), "pcm.json", &err) == -1 && strstr(err.msg, "num_experts: 5000"));
    snprintf(json, sizeof json, fmt, "FluxrlPCMForTokenMixing", "0");
    CHECK(model_config_parse(&mc, json, strlen(json), "pcm.json", &err) == -1 && strstr(err.msg, "num_experts"));
}

// A PCM started from a language model's backbone (model_load_pcm_shard, the paper's pretrained
// small LM): every backbone tensor is the LM's bit for bit, sharded or not; the LM head is left
// out; the preference projection and alpha head are new (weights of the given std, biases 0); the
// PCM runs; a PCM folder is refused (load it as it is).
static void test_from_lm(void) {
    enum { K = 3 };
    const char *lm_dir = "tests/data/model/qwen3_untied"; // untied: its lm_head must not be taken for anything
    fx_err err;
    model lm, pcm, half[2];
    if (model_load(&lm, lm_dir, be, &err)) fx_fatal("%s", err.msg);
    CHECK_INT(model_load_pcm_shard(&pcm, lm_dir, K, be, 5, 0.02f, 0, 1, &err), 0);
    CHECK(pcm.head == MODEL_HEAD_PCM && pcm.cfg.num_experts == K && pcm.V == lm.V && pcm.C == lm.C);
    CHECK_STR(pcm.cfg.architecture, "FluxrlPCMForTokenMixing");
    CHECK(model_find_tensor(&pcm, "lm_head.weight") == NULL);
    float *a = malloc(pcm.nparams * sizeof(float)), *b = malloc(lm.nparams * sizeof(float));
    be->download(be->ctx, a, pcm.params_mem, pcm.nparams * sizeof(float));
    be->download(be->ctx, b, lm.params_mem, lm.nparams * sizeof(float));
    int same = 0, fresh = 0;
    for (int i = 0; i < pcm.ntensors; i++) {
        const model_tensor *t = &pcm.tensors[i], *u = model_find_tensor(&lm, t->name);
        if (u) {
            same += u->numel == t->numel && memcmp(a + t->offset, b + u->offset, t->numel * sizeof(float)) == 0;
            continue;
        }
        fresh++;
        double sq = 0;
        for (size_t k = 0; k < t->numel; k++) sq += (double)a[t->offset + k] * a[t->offset + k];
        double rms = sqrt(sq / (double)t->numel);
        if (t->ndim == 1) CHECK(rms == 0); // biases 0
        else CHECK(rms > 0.015 && rms < 0.025); // N(0, 0.02)
    }
    CHECK_INT(same, pcm.ntensors - 4); // all but pref_proj.{weight,bias}, alpha_head.{weight,bias}
    CHECK_INT(fresh, 4);
    // it runs: alpha logits for a short sequence, finite
    int32_t ids[4] = {3, 7, 11, 2};
    float pref[4 * K], z[4 * K];
    for (int i = 0; i < 4 * K; i++) pref[i] = 1.0f / K;
    model_reserve(&pcm, 1, 4, false, false);
    model_forward_pref(&pcm, ids, NULL, NULL, pref, 1, 4);
    model_pcm_forward(&pcm, z);
    for (int i = 0; i < 4 * K; i++) CHECK(isfinite(z[i]));
    // sharded over 2 (trainer.shard = full): each rank's part of the layout is the whole PCM's
    for (int r = 0; r < 2; r++) {
        CHECK_INT(model_load_pcm_shard(&half[r], lm_dir, K, be, 5, 0.02f, r, 2, &err), 0);
        float *part = malloc(pcm.nparams * sizeof(float));
        size_t lo, hi;
        model_shard_range(pcm.nparams, r, 2, &lo, &hi);
        model_slice_get(&half[r], half[r].params_mem, lo, lo, hi, part);
        CHECK(memcmp(part, a + lo, (hi - lo) * sizeof(float)) == 0);
        free(part);
        model_free(&half[r]);
    }
    CHECK_INT(model_load_pcm_shard(&half[0], DIR, K, be, 5, 0.02f, 0, 1, &err), -1);
    CHECK(strstr(err.msg, DIR) && strstr(err.msg, "already a PCM"));
    free(a), free(b);
    model_free(&pcm), model_free(&lm);
}

// The preference prior (model_config.preference_prior = eps, fluxrl's extension): z gains
// log(w + eps), the same float sum in model_pcm_forward and model_decode_pref as model_pcm_prior
// computes, so z with it equals z without plus that term bit for bit; with W_a = 0 and b_a = 0 the
// mix is (w + eps) / (1 + K eps); the backward (of the head alone: the term is constant) and the
// gradients equal those without it; config.json keeps eps, and a value outside [0, 1] is refused.
static void test_preference_prior(const golden *g) {
    fx_err err;
    model m;
    if (model_load(&m, DIR, be, &err)) fx_fatal("%s", err.msg);
    int B = g->B, T = g->T, N = g->N, K = g->K, C = m.C;
    const float eps = 0.05f;
    model_reserve(&m, B, T, true, false);
    float *z0 = malloc(sizeof(float) * N * K), *z1 = malloc(sizeof(float) * N * K), *want = malloc(sizeof(float) * N * K);
    model_forward_pref(&m, g->ids, g->pos, g->seg, g->pref, B, T);
    model_pcm_forward(&m, z0);
    m.cfg.preference_prior = eps;
    model_forward_pref(&m, g->ids, g->pos, g->seg, g->pref, B, T);
    model_pcm_forward(&m, z1);
    int same = 0, moved = 0;
    for (int i = 0; i < N * K; i++) {
        want[i] = z0[i] + logf(g->pref[i] + eps);
        same += memcmp(&want[i], &z1[i], sizeof(float)) == 0;
        moved += z1[i] != z0[i];
    }
    CHECK_INT(same, N * K);
    CHECK(moved > 0);
    // the backward of sum dz * z is the head's alone: the gradients with and without the prior agree
    float *dz = malloc(sizeof(float) * N * K);
    for (int i = 0; i < N * K; i++) dz[i] = 0.01f * (float)((i % 7) - 3);
    model_zero_grad(&m);
    model_pcm_backward(&m, dz);
    model_backward(&m);
    float *g1 = host_grads(&m);
    m.cfg.preference_prior = 0;
    model_forward_pref(&m, g->ids, g->pos, g->seg, g->pref, B, T);
    model_pcm_forward(&m, z0);
    model_zero_grad(&m);
    model_pcm_backward(&m, dz);
    model_backward(&m);
    float *g0 = host_grads(&m);
    CHECK(memcmp(g0, g1, m.nparams * sizeof(float)) == 0);
    free(g0), free(g1), free(dz);

    // decoding: every new token's z is the decoded z without the prior plus the term, bit for bit
    model_reserve(&m, B, T, false, false);
    model_kv_init(&m, B, T);
    int32_t qi[64], qp[64], qs[64];
    float qw[64 * 16], qz0[64 * 16], qz1[64 * 16];
    FX_ASSERT(B <= 64 && K <= 16);
    int dsame = 0, dn = 0;
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++) {
            int src = b * T + t;
            qi[b] = g->ids[src], qp[b] = g->pos[src], qs[b] = g->seg[src];
            memcpy(qw + (size_t)b * K, g->pref + (size_t)src * K, sizeof(float) * K);
        }
        m.cfg.preference_prior = 0;
        model_decode_pref(&m, qi, qp, qs, qw, 1, qz0);
        m.kv_len--; // the same column again, with the prior
        m.cfg.preference_prior = eps;
        model_decode_pref(&m, qi, qp, qs, qw, 1, qz1);
        for (int i = 0; i < B * K; i++) {
            float w1 = qz0[i] + logf(qw[i] + eps);
            dsame += memcmp(&w1, &qz1[i], sizeof(float)) == 0, dn++;
        }
    }
    CHECK_INT(dsame, dn);

    // W_a = 0, b_a = 0: alpha = (w + eps) / (1 + K eps) to an ulp or two
    float *zeros = calloc((size_t)K * C + (size_t)K, sizeof(float));
    const model_tensor *tw = model_find_tensor(&m, "alpha_head.weight"), *tb = model_find_tensor(&m, "alpha_head.bias");
    FX_ASSERT(tw && tb);
    model_put_tensor(&m, (int)(tw - m.tensors), zeros);
    model_put_tensor(&m, (int)(tb - m.tensors), zeros);
    model_reserve(&m, B, T, false, false);
    model_forward_pref(&m, g->ids, g->pos, g->seg, g->pref, B, T);
    model_pcm_forward(&m, z1);
    float *alpha = malloc(sizeof(float) * K);
    double worst = 0;
    for (int n = 0; n < N; n++) {
        model_merge_alpha(z1 + (size_t)n * K, 1, K, alpha, NULL);
        for (int i = 0; i < K; i++)
            worst = fmax(worst, fabs(alpha[i] - (g->pref[n * K + i] + eps) / (1 + K * eps)));
    }
    CHECK(worst <= 4 * 0x1p-24);
    printf("preference prior %.2f: z = z0 + log(w + eps) bit for bit (%d forward, %d decoded), same gradients; "
           "W_a = 0: alpha off (w + eps) / (1 + K eps) by %.1e\n", (double)eps, same, dsame, worst);

    // config.json keeps it; outside [0, 1] it is refused, naming the key
    char out[256], cmd[300];
    snprintf(out, sizeof out, "/tmp/fluxrl_test_pcm_prior_%d", (int)getpid());
    m.cfg.preference_prior = eps;
    CHECK(model_save(&m, out, ST_F32, &err) == 0);
    model b;
    CHECK(model_load(&b, out, be, &err) == 0);
    CHECK(b.cfg.preference_prior == eps);
    CHECK(model_config_diff(&m.cfg, &b.cfg) == NULL);
    model_free(&b);
    model_config bad = m.cfg;
    bad.preference_prior = 0;
    CHECK(model_config_diff(&m.cfg, &bad) && !strcmp(model_config_diff(&m.cfg, &bad), "preference_prior"));
    const char *fmt = "{\"architectures\": [\"FluxrlPCMForTokenMixing\"], \"model_type\": \"qwen2\", \"hidden_size\": 8, "
                      "\"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"intermediate_size\": 8, "
                      "\"vocab_size\": 10, \"num_experts\": 2, \"preference_prior\": %s}";
    char json[512];
    model_config mc;
    snprintf(json, sizeof json, fmt, "0.25");
    CHECK(model_config_parse(&mc, json, strlen(json), "pcm.json", &err) == 0 && mc.preference_prior == 0.25f);
    snprintf(json, sizeof json, fmt, "1.5");
    CHECK(model_config_parse(&mc, json, strlen(json), "pcm.json", &err) == -1 && strstr(err.msg, "pcm.json") &&
          strstr(err.msg, "preference_prior: 1.5"));
    snprintf(json, sizeof json, fmt, "-0.1");
    CHECK(model_config_parse(&mc, json, strlen(json), "pcm.json", &err) == -1 && strstr(err.msg, "preference_prior"));
    snprintf(json, sizeof json, fmt, "\"x\"");
    CHECK(model_config_parse(&mc, json, strlen(json), "pcm.json", &err) == -1 && strstr(err.msg, "preference_prior"));
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
    CHECK(system(cmd) == 0);
    free(z0), free(z1), free(want), free(zeros), free(alpha);
    model_free(&m);
}

int main(void) {
    be = backend_cpu_create(0);
    model_config c;
    fx_err err;
    if (model_config_load(&c, DIR, &err)) fx_fatal("%s", err.msg);
    golden g = read_golden(c.vocab_size);
    // the backbone (a value model less its score (1, C)) plus (C, K), (C), (K, C), (K)
    size_t backbone = model_count_params(&c, MODEL_HEAD_VALUE) - (size_t)c.hidden_size;
    CHECK_INT(model_count_params(&c, MODEL_HEAD_PCM), backbone + 2 * (size_t)c.hidden_size * g.K +
                                                          (size_t)c.hidden_size + (size_t)g.K);
    test_merge_golden(&g);
    test_pcm_golden(&g);
    test_one_hot_pcm(&g);
    test_pcm_decode(&g);
    test_preference_prior(&g);
    test_fixed_weights();
    test_inf_and_gradient();
    test_io();
    test_from_lm();
    free_golden(&g);
    backend_destroy(be);
    return test_summary("test_pcm");
}
