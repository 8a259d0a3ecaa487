// model_ref.h — an independent double-precision implementation of the decoder, for the C tests:
// written straight from the formulas (token by token, no backend, no chunking, no arena), it
// checks the fp32 model's outputs and, by central finite differences, its gradients.
#ifndef FLUXRL_TEST_MODEL_REF_H
#define FLUXRL_TEST_MODEL_REF_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../model/model.h"

// Loss of the reference forward: what the test asks of the heads.
typedef struct {
    const int32_t *targets; // LM: sum c_logp[n] logp(target) + c_ent[n] H[n]
    const double *c_logp, *c_ent;
    const double *y;        // value head: sum (v - y)^2 over tokens with mask
    const int32_t *labels;  // PRM: sum -log softmax(logits)[label] over labels >= 0
} ref_loss;

typedef struct {
    const model *m;
    const double *P; // parameters in the model's layout, as doubles
} ref_model;

#define RP(field) (r->P + (r->m->p.field - r->m->params_mem))
#define RPL(field, l, width) (RP(field) + (size_t)(l) * (size_t)(width))

static void ref_rmsnorm(double *out, const double *x, const double *w, int n, double eps) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    double r = 1.0 / sqrt(ss / n + eps);
    for (int i = 0; i < n; i++) out[i] = x[i] * r * w[i];
}

// y (out) = W x + b, W (out, in)
static void ref_linear(double *y, const double *x, const double *W, const double *b, int in, int out) {
    for (int o = 0; o < out; o++) {
        double s = b ? b[o] : 0;
        for (int i = 0; i < in; i++) s += W[(size_t)o * in + i] * x[i];
        y[o] = s;
    }
}

static void ref_rope(double *x, int nh, int HS, int pos, double theta) {
    int half = HS / 2;
    for (int h = 0; h < nh; h++)
        for (int i = 0; i < half; i++) {
            double a = pos * pow(theta, -2.0 * i / HS), c = cos(a), s = sin(a);
            double *v = x + (size_t)h * HS, x1 = v[i], x2 = v[i + half];
            v[i] = x1 * c - x2 * s;
            v[i + half] = x2 * c + x1 * s;
        }
}

// Final hidden states (N, C) of the batch into hid.
static void ref_backbone(const ref_model *r, const int32_t *ids, const int32_t *pos, const int32_t *seg, int B, int T,
                         double *hid) {
    const model *m = r->m;
    int C = m->C, NH = m->NH, NKV = m->NKV, HS = m->HS, QD = m->QD, KD = m->KD, FF = m->F, N = B * T;
    double eps = m->cfg.rms_norm_eps, theta = m->cfg.rope_theta;
    double *x = calloc((size_t)N * C, sizeof(double)), *h = malloc(sizeof(double) * C);
    double *q = malloc(sizeof(double) * (size_t)N * QD), *k = malloc(sizeof(double) * (size_t)N * KD);
    double *v = malloc(sizeof(double) * (size_t)N * KD), *att = malloc(sizeof(double) * (size_t)N * QD);
    double *o = malloc(sizeof(double) * C), *g = malloc(sizeof(double) * FF), *u = malloc(sizeof(double) * FF);
    double *sc = malloc(sizeof(double) * T);
    for (int n = 0; n < N; n++) memcpy(x + (size_t)n * C, RP(wte) + (size_t)ids[n] * C, sizeof(double) * C);
    for (int l = 0; l < m->L; l++) {
        for (int n = 0; n < N; n++) {
            ref_rmsnorm(h, x + (size_t)n * C, RPL(ln1w, l, C), C, eps);
            double *qn = q + (size_t)n * QD, *kn = k + (size_t)n * KD;
            ref_linear(qn, h, RPL(qw, l, QD * C), m->p.qb ? RPL(qb, l, QD) : NULL, C, QD);
            ref_linear(kn, h, RPL(kw, l, KD * C), m->p.kb ? RPL(kb, l, KD) : NULL, C, KD);
            ref_linear(v + (size_t)n * KD, h, RPL(vw, l, KD * C), m->p.vb ? RPL(vb, l, KD) : NULL, C, KD);
            if (m->cfg.qk_norm) {
                for (int hh = 0; hh < NH; hh++) ref_rmsnorm(qn + hh * HS, qn + hh * HS, RPL(qnw, l, HS), HS, eps);
                for (int hh = 0; hh < NKV; hh++) ref_rmsnorm(kn + hh * HS, kn + hh * HS, RPL(knw, l, HS), HS, eps);
            }
            ref_rope(qn, NH, HS, pos[n], theta);
            ref_rope(kn, NKV, HS, pos[n], theta);
        }
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
                for (int hh = 0; hh < NH; hh++) {
                    int n = b * T + t, kh = hh / (NH / NKV);
                    double mx = -INFINITY, sum = 0;
                    for (int j = 0; j <= t; j++) {
                        int nj = b * T + j;
                        sc[j] = -INFINITY;
                        if (seg[nj] != seg[n]) continue;
                        double s = 0;
                        for (int d = 0; d < HS; d++)
                            s += q[(size_t)n * QD + hh * HS + d] * k[(size_t)nj * KD + kh * HS + d];
                        sc[j] = s / sqrt((double)HS);
                        if (sc[j] > mx) mx = sc[j];
                    }
                    for (int j = 0; j <= t; j++) sum += sc[j] == -INFINITY ? 0 : exp(sc[j] - mx);
                    double *a = att + (size_t)n * QD + hh * HS;
                    for (int d = 0; d < HS; d++) a[d] = 0;
                    for (int j = 0; j <= t; j++) {
                        if (sc[j] == -INFINITY) continue;
                        double p = exp(sc[j] - mx) / sum;
                        for (int d = 0; d < HS; d++) a[d] += p * v[(size_t)(b * T + j) * KD + kh * HS + d];
                    }
                }
        for (int n = 0; n < N; n++) {
            double *xn = x + (size_t)n * C;
            ref_linear(o, att + (size_t)n * QD, RPL(ow, l, C * QD), m->p.ob ? RPL(ob, l, C) : NULL, QD, C);
            for (int i = 0; i < C; i++) xn[i] += o[i];
            ref_rmsnorm(h, xn, RPL(ln2w, l, C), C, eps);
            ref_linear(g, h, RPL(gatew, l, FF * C), m->p.gateb ? RPL(gateb, l, FF) : NULL, C, FF);
            ref_linear(u, h, RPL(upw, l, FF * C), m->p.upb ? RPL(upb, l, FF) : NULL, C, FF);
            for (int i = 0; i < FF; i++) g[i] = g[i] / (1 + exp(-g[i])) * u[i];
            ref_linear(o, g, RPL(downw, l, C * FF), m->p.downb ? RPL(downb, l, C) : NULL, FF, C);
            for (int i = 0; i < C; i++) xn[i] += o[i];
        }
    }
    for (int n = 0; n < N; n++) ref_rmsnorm(hid + (size_t)n * C, x + (size_t)n * C, RP(lnfw), C, eps);
    free(x), free(h), free(q), free(k), free(v), free(att), free(o), free(g), free(u), free(sc);
}

// Logits (N, V) of the LM head.
static void ref_logits(const ref_model *r, const double *hid, int N, double *logits) {
    const model *m = r->m;
    const double *W = m->p.lmw ? RP(lmw) : RP(wte);
    for (int n = 0; n < N; n++) ref_linear(logits + (size_t)n * m->V, hid + (size_t)n * m->C, W, NULL, m->C, m->V);
}

static double ref_loss_of(const ref_model *r, const int32_t *ids, const int32_t *pos, const int32_t *seg, int B,
                          int T, const ref_loss *L) {
    const model *m = r->m;
    int N = B * T, C = m->C, V = m->V;
    double *hid = malloc(sizeof(double) * (size_t)N * C), loss = 0;
    ref_backbone(r, ids, pos, seg, B, T, hid);
    if (m->head == MODEL_HEAD_LM) {
        double *z = malloc(sizeof(double) * (size_t)N * V);
        ref_logits(r, hid, N, z);
        for (int n = 0; n < N; n++) {
            double *zn = z + (size_t)n * V, mx = -INFINITY, s = 0, H = 0;
            for (int i = 0; i < V; i++) mx = zn[i] > mx ? zn[i] : mx;
            for (int i = 0; i < V; i++) s += exp(zn[i] - mx);
            double lse = mx + log(s);
            for (int i = 0; i < V; i++) H -= exp(zn[i] - lse) * (zn[i] - lse);
            if (L->targets[n] >= 0 && L->c_logp) loss += L->c_logp[n] * (zn[L->targets[n]] - lse);
            if (L->c_ent) loss += L->c_ent[n] * H;
        }
        free(z);
    } else if (m->head == MODEL_HEAD_VALUE) {
        for (int n = 0; n < N; n++) {
            double val;
            ref_linear(&val, hid + (size_t)n * C, RP(s2w), m->cfg.score_bias ? RP(s2b) : NULL, C, 1);
            loss += (val - L->y[n]) * (val - L->y[n]);
        }
    } else {
        double *z = malloc(sizeof(double) * C), out[2];
        for (int n = 0; n < N; n++) {
            if (L->labels[n] < 0) continue;
            ref_linear(z, hid + (size_t)n * C, RP(s0w), RP(s0b), C, C);
            for (int i = 0; i < C; i++) z[i] = z[i] > 0 ? z[i] : 0;
            ref_linear(out, z, RP(s2w), RP(s2b), C, 2);
            double mx = out[0] > out[1] ? out[0] : out[1];
            double lse = mx + log(exp(out[0] - mx) + exp(out[1] - mx));
            loss -= out[L->labels[n]] - lse;
        }
        free(z);
    }
    free(hid);
    return loss;
}

#endif
