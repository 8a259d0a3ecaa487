// cpu_layers.c — the per-token layers of the CPU backend: embedding, RMSNorm, RoPE, SwiGLU,
// ReLU, bias, and the log-softmax head. Plain loops over rows, threads over rows, SIMD inside.
#include <math.h>
#include <string.h>

#include "../../core/fx.h"
#include "cpu.h"

#define NT(ctx) (((cpu_ctx *)(ctx))->nthreads)

CPU_HOT void cpu_add_bias(void *ctx, float *out, const float *bias, int N, int OC) {
#pragma omp parallel for num_threads(NT(ctx)) schedule(static) if ((size_t)N * OC > 32768)
    for (int n = 0; n < N; n++) {
        float *o = out + (size_t)n * OC;
#pragma omp simd
        for (int i = 0; i < OC; i++) o[i] += bias[i];
    }
}

CPU_HOT void cpu_bias_backward(void *ctx, float *dbias, const float *dout, int N, int OC) {
    // Threads over channels: each owns its slice of dbias.
#pragma omp parallel for num_threads(NT(ctx)) schedule(static) if ((size_t)N * OC > 32768)
    for (int o0 = 0; o0 < OC; o0 += 64) {
        int o1 = o0 + 64 < OC ? o0 + 64 : OC;
        for (int n = 0; n < N; n++) {
            const float *d = dout + (size_t)n * OC;
            for (int o = o0; o < o1; o++) dbias[o] += d[o];
        }
    }
}

void cpu_embedding_forward(void *ctx, float *out, const int32_t *ids, const float *wte, int N, int C) {
#pragma omp parallel for num_threads(NT(ctx)) schedule(static) if ((size_t)N * C > 32768)
    for (int n = 0; n < N; n++) memcpy(out + (size_t)n * C, wte + (size_t)ids[n] * C, (size_t)C * sizeof(float));
}

CPU_HOT void cpu_embedding_backward(void *ctx, float *dwte, const float *dout, const int32_t *ids, int N, int C) {
    // Threads over channel blocks, so two tokens with the same id never race.
#pragma omp parallel for num_threads(NT(ctx)) schedule(static) if ((size_t)N * C > 32768)
    for (int c0 = 0; c0 < C; c0 += 64) {
        int c1 = c0 + 64 < C ? c0 + 64 : C;
        for (int n = 0; n < N; n++) {
            float *d = dwte + (size_t)ids[n] * C;
            const float *g = dout + (size_t)n * C;
            for (int c = c0; c < c1; c++) d[c] += g[c];
        }
    }
}

CPU_HOT void cpu_rmsnorm_forward(void *ctx, float *out, float *rstd, const float *inp, const float *w, int N, int C,
                         float eps) {
#pragma omp parallel for num_threads(NT(ctx)) schedule(static) if ((size_t)N * C > 32768)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *o = out + (size_t)n * C;
        float ss = 0;
#pragma omp simd reduction(+ : ss)
        for (int i = 0; i < C; i++) ss += x[i] * x[i];
        float r = 1.0f / sqrtf(ss / (float)C + eps);
#pragma omp simd
        for (int i = 0; i < C; i++) o[i] = x[i] * r * w[i];
        if (rstd) rstd[n] = r;
    }
}

CPU_HOT void cpu_rmsnorm_backward(void *ctx, float *dinp, float *dw, const float *dout, const float *inp,
                                  const float *w, const float *rstd, int N, int C) {
    // dx = r * (dy*w) - x * r^3 / C * sum(dy*w*x); dw += dy * x * r. The dw sum over rows is
    // split over threads by channel block so that no two threads write the same element.
#pragma omp parallel num_threads(NT(ctx)) if ((size_t)N * C > 32768)
    {
#pragma omp for schedule(static)
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
            float *dx = dinp + (size_t)n * C;
            float r = rstd[n], dot = 0;
#pragma omp simd reduction(+ : dot)
            for (int i = 0; i < C; i++) dot += dy[i] * w[i] * x[i];
            float k = dot * r * r * r / (float)C;
#pragma omp simd
            for (int i = 0; i < C; i++) dx[i] += r * dy[i] * w[i] - k * x[i];
        }
#pragma omp for schedule(static)
        for (int c0 = 0; c0 < C; c0 += 16) {
            int c1 = c0 + 16 < C ? c0 + 16 : C;
            for (int n = 0; n < N; n++) {
                const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
                float r = rstd[n];
                for (int c = c0; c < c1; c++) dw[c] += dy[c] * x[c] * r;
            }
        }
    }
}

// Rotates each pair (i, i + HS/2) by angle pos * inv_freq[i] (sign = +1) or back (sign = -1).
// The angle is formed in float exactly as Hugging Face does (inv_freq = 1 / theta^(2i/HS) in
// float, then pos * inv_freq in float), so long positions round the same way.
CPU_HOT static void rope_apply(void *ctx, float *x, const int32_t *pos, int N, int nh, int HS, float theta,
                               float sign) {
    int half = HS / 2;
    FX_ASSERT(HS % 2 == 0 && half <= 512);
    float inv_freq[512];
    for (int i = 0; i < half; i++) inv_freq[i] = 1.0f / powf(theta, (float)(2 * i) / (float)HS);
#pragma omp parallel for num_threads(NT(ctx)) schedule(static) if ((size_t)N * nh * HS > 32768)
    for (int n = 0; n < N; n++) {
        float cs[512], sn[512];
        float p = (float)pos[n];
        for (int i = 0; i < half; i++) {
            float a = p * inv_freq[i];
            cs[i] = cosf(a);
            sn[i] = sign * sinf(a);
        }
        for (int h = 0; h < nh; h++) {
            float *v = x + ((size_t)n * nh + h) * HS;
#pragma omp simd
            for (int i = 0; i < half; i++) {
                float x1 = v[i], x2 = v[i + half];
                v[i] = x1 * cs[i] - x2 * sn[i];
                v[i + half] = x2 * cs[i] + x1 * sn[i];
            }
        }
    }
}

void cpu_rope_forward(void *ctx, float *x, const int32_t *pos, int N, int nh, int HS, float theta) {
    rope_apply(ctx, x, pos, N, nh, HS, theta, 1.0f);
}

void cpu_rope_backward(void *ctx, float *dx, const int32_t *pos, int N, int nh, int HS, float theta) {
    rope_apply(ctx, dx, pos, N, nh, HS, theta, -1.0f);
}

CPU_HOT void cpu_swiglu_forward(void *ctx, float *out, const float *gate, const float *up, size_t n) {
#pragma omp parallel for simd num_threads(NT(ctx)) schedule(static) if (n > 32768)
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + cpu_expf(-g)) * up[i];
    }
}

CPU_HOT void cpu_swiglu_backward(void *ctx, float *dgate, float *dup, const float *dout, const float *gate,
                                 const float *up, size_t n) {
    // silu(g) = g s, s = sigmoid(g); silu'(g) = s (1 + g (1 - s)).
#pragma omp parallel for simd num_threads(NT(ctx)) schedule(static) if (n > 32768)
    for (size_t i = 0; i < n; i++) {
        float g = gate[i], s = 1.0f / (1.0f + cpu_expf(-g));
        dgate[i] += dout[i] * up[i] * s * (1.0f + g * (1.0f - s));
        dup[i] += dout[i] * g * s;
    }
}

void cpu_relu_forward(void *ctx, float *out, const float *inp, size_t n) {
#pragma omp parallel for simd num_threads(NT(ctx)) schedule(static) if (n > 32768)
    for (size_t i = 0; i < n; i++) out[i] = inp[i] > 0 ? inp[i] : 0;
}

void cpu_relu_backward(void *ctx, float *dinp, const float *dout, const float *inp, size_t n) {
#pragma omp parallel for simd num_threads(NT(ctx)) schedule(static) if (n > 32768)
    for (size_t i = 0; i < n; i++) dinp[i] += inp[i] > 0 ? dout[i] : 0;
}

CPU_HOT void cpu_logprob_forward(void *ctx, float *logp, float *lse, float *entropy, const float *logits,
                         const int32_t *targets, int n, int V) {
#pragma omp parallel for num_threads(NT(ctx)) schedule(static) if ((size_t)n * V > 32768)
    for (int r = 0; r < n; r++) {
        const float *z = logits + (size_t)r * V;
        float mx = -INFINITY;
        for (int i = 0; i < V; i++) mx = z[i] > mx ? z[i] : mx;
        float sum = 0, sz = 0; // sum e^(z-mx), sum e^(z-mx) (z-mx)
#pragma omp simd reduction(+ : sum, sz)
        for (int i = 0; i < V; i++) {
            float e = cpu_expf(z[i] - mx);
            sum += e;
            sz += e * (z[i] - mx);
        }
        float l = mx + logf(sum);
        if (lse) lse[r] = l;
        // H = -sum p log p = lse - sum p z = log(sum) - sz / sum
        if (entropy) entropy[r] = logf(sum) - sz / sum;
        if (logp) logp[r] = targets && targets[r] >= 0 && targets[r] < V ? z[targets[r]] - l : 0.0f;
    }
}

CPU_HOT void cpu_logprob_backward(void *ctx, float *logits, const int32_t *targets, const float *lse,
                                  const float *entropy, const float *dlogp, const float *dent, int n, int V) {
    FX_ASSERT(!dent || entropy);
#pragma omp parallel for num_threads(NT(ctx)) schedule(static) if ((size_t)n * V > 32768)
    for (int r = 0; r < n; r++) {
        float *z = logits + (size_t)r * V;
        int t = targets ? targets[r] : -1;
        float a = dlogp && t >= 0 ? dlogp[r] : 0.0f; // d loss / d logp
        float b = dent ? dent[r] : 0.0f;             // d loss / d H
        float l = lse[r], h = entropy ? entropy[r] : 0.0f;
        // d logp / dz = onehot - p;  dH / dz = -p (log p + H)
#pragma omp simd
        for (int i = 0; i < V; i++) {
            float lp = z[i] - l, p = cpu_expf(lp);
            z[i] = -a * p - b * p * (lp + h);
        }
        if (t >= 0 && t < V) z[t] += a; // t >= V: the target lies in another chunk of the vocabulary
    }
}
