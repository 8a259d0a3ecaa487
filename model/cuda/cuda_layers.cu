// cuda_layers.cu — the per-token layers of the CUDA backend: bias, embedding, RMSNorm, RoPE,
// SwiGLU, ReLU and the fused log-softmax head. Row ops run one block per row with block
// reductions; sums over rows (dw, dbias) run one thread per column over a slice of the rows, a
// shared-memory sum over the slice, then one atomicAdd per column and slice.
#include <math.h>

#include "cuda_internal.cuh"

#define STREAM(ctx) (((cuda_ctx *)(ctx))->stream)

__device__ static float warp_sum(float v) {
    for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ static float warp_max(float v) {
    for (int o = 16; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum (or max) over the block; every thread gets the result. blockDim.x: a multiple of 32.
__device__ static float block_reduce(float v, bool is_max) {
    __shared__ float s[32];
    int lane = threadIdx.x % 32, w = threadIdx.x / 32, nw = blockDim.x / 32;
    v = is_max ? warp_max(v) : warp_sum(v);
    __syncthreads(); // s may still be read by an earlier call
    if (lane == 0) s[w] = v;
    __syncthreads();
    if (w == 0) {
        float t = lane < nw ? s[lane] : (is_max ? -INFINITY : 0.0f);
        t = is_max ? warp_max(t) : warp_sum(t);
        if (lane == 0) s[0] = t;
    }
    __syncthreads();
    return s[0];
}

static int row_threads(int C) {
    int t = (C + 31) / 32 * 32;
    return t > 512 ? 512 : t;
}

// --- bias and column sums ---------------------------------------------------------------------------------

__global__ static void add_bias_kernel(float *out, const float *bias, size_t n, int OC) {
    GRID_STRIDE(i, n) out[i] += bias[i % (size_t)OC];
}

void cuda_add_bias(void *ctx, float *out, const float *bias, int N, int OC) {
    size_t n = (size_t)N * OC;
    if (!n) return;
    add_bias_kernel<<<cuda_blocks(n, 256), 256, 0, STREAM(ctx)>>>(out, bias, n, OC);
    CUDA_LAUNCHED();
}

// acc[c] += sum_n dout[n,c] * (x ? x[n,c] * r[n] : 1). Block (32, 8): 32 columns, 8 row lanes.
__global__ static void colsum_kernel(float *acc, const float *dout, const float *x, const float *r, int N, int C) {
    __shared__ float part[8][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    float s = 0;
    if (c < C)
        for (int n = blockIdx.y * 8 + threadIdx.y; n < N; n += gridDim.y * 8) {
            size_t i = (size_t)n * C + c;
            s += x ? dout[i] * x[i] * r[n] : dout[i];
        }
    part[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && c < C) {
        for (int y = 1; y < 8; y++) s += part[y][threadIdx.x];
        atomicAdd(acc + c, s);
    }
}

static void colsum(void *ctx, float *acc, const float *dout, const float *x, const float *r, int N, int C) {
    if (N <= 0 || C <= 0) return;
    int slices = (N + 63) / 64;
    slices = slices > 256 ? 256 : slices;
    dim3 grid((unsigned)((C + 31) / 32), (unsigned)slices), block(32, 8);
    colsum_kernel<<<grid, block, 0, STREAM(ctx)>>>(acc, dout, x, r, N, C);
    CUDA_LAUNCHED();
}

void cuda_bias_backward(void *ctx, float *dbias, const float *dout, int N, int OC) {
    colsum(ctx, dbias, dout, NULL, NULL, N, OC);
}

// --- embedding ----------------------------------------------------------------------------------------------

__global__ static void embedding_forward_kernel(float *out, const int32_t *ids, const float *wte, size_t n, int C) {
    GRID_STRIDE(i, n) out[i] = wte[(size_t)ids[i / (size_t)C] * C + i % (size_t)C];
}
__global__ static void embedding_backward_kernel(float *dwte, const float *dout, const int32_t *ids, size_t n,
                                                 int C) {
    GRID_STRIDE(i, n) atomicAdd(dwte + (size_t)ids[i / (size_t)C] * C + i % (size_t)C, dout[i]);
}

void cuda_embedding_forward(void *ctx, float *out, const int32_t *ids, const float *wte, int N, int C) {
    size_t n = (size_t)N * C;
    if (!n) return;
    embedding_forward_kernel<<<cuda_blocks(n, 256), 256, 0, STREAM(ctx)>>>(out, ids, wte, n, C);
    CUDA_LAUNCHED();
}

void cuda_embedding_backward(void *ctx, float *dwte, const float *dout, const int32_t *ids, int N, int C) {
    size_t n = (size_t)N * C;
    if (!n) return;
    embedding_backward_kernel<<<cuda_blocks(n, 256), 256, 0, STREAM(ctx)>>>(dwte, dout, ids, n, C);
    CUDA_LAUNCHED();
}

// --- RMSNorm ---------------------------------------------------------------------------------------------------

__global__ static void rmsnorm_forward_kernel(float *out, float *rstd, const float *inp, const float *w, int C,
                                              float eps) {
    const float *x = inp + (size_t)blockIdx.x * C;
    float *o = out + (size_t)blockIdx.x * C;
    float ss = 0;
    for (int i = threadIdx.x; i < C; i += blockDim.x) ss += x[i] * x[i];
    ss = block_reduce(ss, false);
    float r = 1.0f / sqrtf(ss / (float)C + eps);
    for (int i = threadIdx.x; i < C; i += blockDim.x) o[i] = x[i] * r * w[i];
    if (rstd && threadIdx.x == 0) rstd[blockIdx.x] = r;
}

// dx += r * (dy*w) - x * r^3 / C * sum(dy*w*x)
__global__ static void rmsnorm_backward_kernel(float *dinp, const float *dout, const float *inp, const float *w,
                                               const float *rstd, int C) {
    size_t off = (size_t)blockIdx.x * C;
    const float *x = inp + off, *dy = dout + off;
    float *dx = dinp + off;
    float r = rstd[blockIdx.x], dot = 0;
    for (int i = threadIdx.x; i < C; i += blockDim.x) dot += dy[i] * w[i] * x[i];
    dot = block_reduce(dot, false);
    float k = dot * r * r * r / (float)C;
    for (int i = threadIdx.x; i < C; i += blockDim.x) dx[i] += r * dy[i] * w[i] - k * x[i];
}

void cuda_rmsnorm_forward(void *ctx, float *out, float *rstd, const float *inp, const float *w, int N, int C,
                          float eps) {
    if (N <= 0) return;
    rmsnorm_forward_kernel<<<(unsigned)N, row_threads(C), 0, STREAM(ctx)>>>(out, rstd, inp, w, C, eps);
    CUDA_LAUNCHED();
}

void cuda_rmsnorm_backward(void *ctx, float *dinp, float *dw, const float *dout, const float *inp, const float *w,
                           const float *rstd, int N, int C) {
    if (N <= 0) return;
    rmsnorm_backward_kernel<<<(unsigned)N, row_threads(C), 0, STREAM(ctx)>>>(dinp, dout, inp, w, rstd, C);
    CUDA_LAUNCHED();
    colsum(ctx, dw, dout, inp, rstd, N, C); // dw += dy * x * r
}

// --- RoPE ---------------------------------------------------------------------------------------------------------

// One thread per (token, head, pair i). inv_freq = 1 / theta^(2i/HS) is formed on the host with
// the C library's powf, as the CPU backend does (a device powf may differ by an ulp, and at
// position 4000 an ulp of inv_freq moves the angle by 1e-4); the angle pos * inv_freq is formed in
// float as Hugging Face does.
typedef struct {
    float f[256];
} rope_freqs;

__global__ static void rope_kernel(float *x, const int32_t *pos, size_t n, int nh, int HS, rope_freqs inv, float sign) {
    int half = HS / 2;
    GRID_STRIDE(e, n) {
        int i = (int)(e % (size_t)half);
        size_t nhrow = e / (size_t)half; // token * nh + head
        size_t tok = nhrow / (size_t)nh;
        float a = (float)pos[tok] * inv.f[i];
        float cs = cosf(a), sn = sign * sinf(a);
        float *v = x + nhrow * HS;
        float x1 = v[i], x2 = v[i + half];
        v[i] = x1 * cs - x2 * sn;
        v[i + half] = x2 * cs + x1 * sn;
    }
}

static void rope(void *ctx, float *x, const int32_t *pos, int N, int nh, int HS, float theta, float sign) {
    FX_ASSERT(HS % 2 == 0);
    if (HS / 2 > 256) fx_fatal("cuda rope: head size %d: this backend supports up to 512", HS);
    size_t n = (size_t)N * nh * (HS / 2);
    if (!n) return;
    rope_freqs inv;
    for (int i = 0; i < HS / 2; i++) inv.f[i] = 1.0f / powf(theta, (float)(2 * i) / (float)HS);
    rope_kernel<<<cuda_blocks(n, 256), 256, 0, STREAM(ctx)>>>(x, pos, n, nh, HS, inv, sign);
    CUDA_LAUNCHED();
}

void cuda_rope_forward(void *ctx, float *x, const int32_t *pos, int N, int nh, int HS, float theta) {
    rope(ctx, x, pos, N, nh, HS, theta, 1.0f);
}

void cuda_rope_backward(void *ctx, float *dx, const int32_t *pos, int N, int nh, int HS, float theta) {
    rope(ctx, dx, pos, N, nh, HS, theta, -1.0f);
}

// --- SwiGLU, ReLU --------------------------------------------------------------------------------------------------

__global__ static void swiglu_forward_kernel(float *out, const float *gate, const float *up, size_t n) {
    GRID_STRIDE(i, n) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}
// silu(g) = g s, s = sigmoid(g); silu'(g) = s (1 + g (1 - s)).
__global__ static void swiglu_backward_kernel(float *dgate, float *dup, const float *dout, const float *gate,
                                              const float *up, size_t n) {
    GRID_STRIDE(i, n) {
        float g = gate[i], s = 1.0f / (1.0f + expf(-g));
        dgate[i] += dout[i] * up[i] * s * (1.0f + g * (1.0f - s));
        dup[i] += dout[i] * g * s;
    }
}
__global__ static void relu_forward_kernel(float *out, const float *inp, size_t n) {
    GRID_STRIDE(i, n) out[i] = inp[i] > 0 ? inp[i] : 0;
}
__global__ static void relu_backward_kernel(float *dinp, const float *dout, const float *inp, size_t n) {
    GRID_STRIDE(i, n) dinp[i] += inp[i] > 0 ? dout[i] : 0;
}

void cuda_swiglu_forward(void *ctx, float *out, const float *gate, const float *up, size_t n) {
    if (!n) return;
    swiglu_forward_kernel<<<cuda_blocks(n, 256), 256, 0, STREAM(ctx)>>>(out, gate, up, n);
    CUDA_LAUNCHED();
}
void cuda_swiglu_backward(void *ctx, float *dgate, float *dup, const float *dout, const float *gate,
                          const float *up, size_t n) {
    if (!n) return;
    swiglu_backward_kernel<<<cuda_blocks(n, 256), 256, 0, STREAM(ctx)>>>(dgate, dup, dout, gate, up, n);
    CUDA_LAUNCHED();
}
void cuda_relu_forward(void *ctx, float *out, const float *inp, size_t n) {
    if (!n) return;
    relu_forward_kernel<<<cuda_blocks(n, 256), 256, 0, STREAM(ctx)>>>(out, inp, n);
    CUDA_LAUNCHED();
}
void cuda_relu_backward(void *ctx, float *dinp, const float *dout, const float *inp, size_t n) {
    if (!n) return;
    relu_backward_kernel<<<cuda_blocks(n, 256), 256, 0, STREAM(ctx)>>>(dinp, dout, inp, n);
    CUDA_LAUNCHED();
}

// --- the log-softmax head: one block per row, probabilities never stored ------------------------------------------

__global__ static void logprob_forward_kernel(float *logp, float *lse, float *entropy, const float *logits,
                                              const int32_t *targets, int V) {
    int r = blockIdx.x;
    const float *z = logits + (size_t)r * V;
    float mx = -INFINITY;
    for (int i = threadIdx.x; i < V; i += blockDim.x) mx = fmaxf(mx, z[i]);
    mx = block_reduce(mx, true);
    float sum = 0, sz = 0; // sum e^(z-mx), sum e^(z-mx) (z-mx)
    for (int i = threadIdx.x; i < V; i += blockDim.x) {
        float d = z[i] - mx, e = expf(d);
        sum += e;
        sz += e * d;
    }
    sum = block_reduce(sum, false);
    sz = block_reduce(sz, false);
    if (threadIdx.x == 0) {
        float l = mx + logf(sum);
        if (lse) lse[r] = l;
        if (entropy) entropy[r] = logf(sum) - sz / sum; // H = lse - sum p z
        if (logp) logp[r] = targets && targets[r] >= 0 && targets[r] < V ? z[targets[r]] - l : 0.0f;
    }
}

// z <- dlogp * (onehot - p) - dent * p * (log p + H)
__global__ static void logprob_backward_kernel(float *logits, const int32_t *targets, const float *lse,
                                               const float *entropy, const float *dlogp, const float *dent, int V) {
    int r = blockIdx.x;
    float *z = logits + (size_t)r * V;
    int t = targets ? targets[r] : -1;
    float a = dlogp && t >= 0 ? dlogp[r] : 0.0f, b = dent ? dent[r] : 0.0f;
    float l = lse[r], h = entropy ? entropy[r] : 0.0f;
    for (int i = threadIdx.x; i < V; i += blockDim.x) {
        float lp = z[i] - l, p = expf(lp);
        z[i] = -a * p - b * p * (lp + h);
    }
    __syncthreads(); // z[t] was written by some thread of this block
    if (threadIdx.x == 0 && t >= 0 && t < V) z[t] += a; // t >= V: in another chunk of the vocabulary
}

void cuda_logprob_forward(void *ctx, float *logp, float *lse, float *entropy, const float *logits,
                          const int32_t *targets, int n, int V) {
    if (n <= 0) return;
    logprob_forward_kernel<<<(unsigned)n, 512, 0, STREAM(ctx)>>>(logp, lse, entropy, logits, targets, V);
    CUDA_LAUNCHED();
}

void cuda_logprob_backward(void *ctx, float *logits, const int32_t *targets, const float *lse, const float *entropy,
                           const float *dlogp, const float *dent, int n, int V) {
    FX_ASSERT(!dent || entropy);
    if (n <= 0) return;
    logprob_backward_kernel<<<(unsigned)n, 512, 0, STREAM(ctx)>>>(logits, targets, lse, entropy, dlogp, dent, V);
    CUDA_LAUNCHED();
}
