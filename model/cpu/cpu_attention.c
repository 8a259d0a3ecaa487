// cpu_attention.c — causal, segment-masked GQA attention on sgemm.
// Work is split into units, one per thread at a time: (batch row, head) in forward, (batch row,
// key-value head) in backward, so that the heads sharing a key-value head (GQA) never race on
// dk/dv. Each query head is processed in blocks of RB query rows: S = scale Q K^T over the keys
// the block can see (a causal block needs only keys [0, q_off + t1)), masked, softmax; then
// O = P V. Backward recomputes P from the saved log-sum-exp (as FlashAttention does), so no
// (T, T) matrix outlives one block.
#include <cblas.h>
#include <math.h>
#include <stdlib.h>

#include "../../core/fx.h"
#include "cpu.h"

enum { RB = 64 };

// Softmax of one row of scores in place; masked keys get 0. Returns the log-sum-exp.
CPU_HOT static float softmax_row(float *s, int nk, int visible, const int32_t *seg_k, int32_t seg) {
    float mx = -INFINITY;
    for (int j = 0; j < nk; j++) {
        if (j >= visible || seg_k[j] != seg) s[j] = -INFINITY;
        mx = s[j] > mx ? s[j] : mx;
    }
    if (mx == -INFINITY) { // no visible key: only reachable with inconsistent segments
        for (int j = 0; j < nk; j++) s[j] = 0;
        return -INFINITY;
    }
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < nk; j++) {
        float e = cpu_expf(s[j] - mx);
        s[j] = e;
        sum += e;
    }
    float inv = 1.0f / sum;
#pragma omp simd
    for (int j = 0; j < nk; j++) s[j] *= inv;
    return mx + logf(sum);
}

// Threads over units, each calling single-threaded sgemm (see cpu_blas.c).
static int units_parallel(void *ctx, int units) {
    int nt = ((cpu_ctx *)ctx)->nthreads;
    cpu_blas_threads(1);
    return units < nt ? units : nt;
}

CPU_HOT void cpu_attention_forward(void *ctx, float *out, float *lse, const float *q, const float *k, const float *v,
                           const int32_t *seg_q, const int32_t *seg_k, backend_attn_shape s) {
    const int G = s.NH / s.NKV, QD = s.NH * s.HS, KD = s.NKV * s.HS;
    const float scale = 1.0f / sqrtf((float)s.HS);
    int units = s.B * s.NH; // forward: every (row, head) writes its own output
    int nt = units_parallel(ctx, units);
#pragma omp parallel num_threads(nt)
    {
        float *S = fx_malloc((size_t)RB * (size_t)(s.q_off + s.Tq) * sizeof(float));
#pragma omp for schedule(dynamic, 1)
        for (int u = 0; u < units; u++) {
            int b = u / s.NH, h = u % s.NH, kh = h / G;
            const float *kb = k + (size_t)b * s.Tkv * KD + (size_t)kh * s.HS;
            const float *vb = v + (size_t)b * s.Tkv * KD + (size_t)kh * s.HS;
            const int32_t *sk = seg_k + (size_t)b * s.Tkv;
            for (int t0 = 0; t0 < s.Tq; t0 += RB) {
                int rb = s.Tq - t0 < RB ? s.Tq - t0 : RB, nk = s.q_off + t0 + rb;
                size_t row0 = (size_t)b * s.Tq + (size_t)t0;
                const float *qb = q + row0 * QD + (size_t)h * s.HS;
                float *ob = out + row0 * QD + (size_t)h * s.HS;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rb, nk, s.HS, scale, qb, QD, kb, KD, 0.0f, S,
                            nk);
                for (int i = 0; i < rb; i++) {
                    int t = t0 + i;
                    float l = softmax_row(S + (size_t)i * nk, nk, s.q_off + t + 1, sk, seg_q[row0 + (size_t)i]);
                    if (lse) lse[((size_t)b * s.NH + h) * s.Tq + t] = l;
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rb, s.HS, nk, 1.0f, S, nk, vb, KD, 0.0f, ob,
                            QD);
            }
        }
        free(S);
    }
}

CPU_HOT void cpu_attention_backward(void *ctx, float *dq, float *dk, float *dv, const float *dout, const float *out,
                            const float *lse, const float *q, const float *k, const float *v, const int32_t *seg_q,
                            const int32_t *seg_k, backend_attn_shape s) {
    const int G = s.NH / s.NKV, QD = s.NH * s.HS, KD = s.NKV * s.HS;
    const float scale = 1.0f / sqrtf((float)s.HS);
    int units = s.B * s.NKV;
    int nt = units_parallel(ctx, units);
#pragma omp parallel num_threads(nt)
    {
        size_t cap = (size_t)RB * (size_t)(s.q_off + s.Tq);
        float *P = fx_malloc(cap * sizeof(float)), *dP = fx_malloc(cap * sizeof(float));
#pragma omp for schedule(dynamic, 1)
        for (int u = 0; u < units; u++) {
            int b = u / s.NKV, kh = u % s.NKV;
            size_t koff = (size_t)b * s.Tkv * KD + (size_t)kh * s.HS;
            const int32_t *sk = seg_k + (size_t)b * s.Tkv;
            for (int h = kh * G; h < (kh + 1) * G; h++) {
                for (int t0 = 0; t0 < s.Tq; t0 += RB) {
                    int rb = s.Tq - t0 < RB ? s.Tq - t0 : RB, nk = s.q_off + t0 + rb;
                    size_t row0 = (size_t)b * s.Tq + (size_t)t0, qoff = row0 * QD + (size_t)h * s.HS;
                    // P = exp(scale Q K^T - lse), masked
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rb, nk, s.HS, scale, q + qoff, QD, k + koff,
                                KD, 0.0f, P, nk);
                    for (int i = 0; i < rb; i++) {
                        int t = t0 + i, visible = s.q_off + t + 1;
                        int32_t sg = seg_q[row0 + (size_t)i];
                        float l = lse[((size_t)b * s.NH + h) * s.Tq + t];
                        float *p = P + (size_t)i * nk;
                        for (int j = 0; j < nk; j++)
                            p[j] = (j < visible && sk[j] == sg && l > -INFINITY) ? cpu_expf(p[j] - l) : 0.0f;
                    }
                    // dV += P^T dO;  dP = dO V^T
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, s.HS, rb, 1.0f, P, nk, dout + qoff, QD,
                                1.0f, dv + koff, KD);
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rb, nk, s.HS, 1.0f, dout + qoff, QD,
                                v + koff, KD, 0.0f, dP, nk);
                    // dS = P (dP - rowsum(dO * O))
                    for (int i = 0; i < rb; i++) {
                        const float *o = out + qoff + (size_t)i * QD, *d = dout + qoff + (size_t)i * QD;
                        float D = 0;
#pragma omp simd reduction(+ : D)
                        for (int c = 0; c < s.HS; c++) D += o[c] * d[c];
                        float *p = P + (size_t)i * nk, *dp = dP + (size_t)i * nk;
#pragma omp simd
                        for (int j = 0; j < nk; j++) dp[j] = p[j] * (dp[j] - D);
                    }
                    // dQ += scale dS K;  dK += scale dS^T Q
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rb, s.HS, nk, scale, dP, nk, k + koff, KD,
                                1.0f, dq + qoff, QD);
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, s.HS, rb, scale, dP, nk, q + qoff, QD,
                                1.0f, dk + koff, KD);
                }
            }
        }
        free(P);
        free(dP);
    }
}
