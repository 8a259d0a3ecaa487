// cuda_attention.cu — causal, segment-masked GQA attention, FlashAttention-style: no (T, T)
// matrix ever reaches global memory. Forward: one block per (query tile of BQ rows, head, batch
// row) walks the key tiles it can see (keys [0, q_off + t1)), scores in shared memory, online
// softmax (running max m and sum l per row, accumulator rescaled by e^(m_old - m_new)), and saves
// lse = m + log l. Decoding (Tq = 1) has its own kernel: the warps of a block split the keys, a
// lane holds HS/32 channels, and the warps' partial softmaxes are merged at the end. Backward:
// one block per (key tile, key-value head, batch row) owns dK and dV of its keys (no races across
// the G query heads that share them, as on the CPU), recomputes P = exp(scale q.k - lse) tile by
// tile, and adds dQ with atomicAdd. Everything is fp32; head sizes up to 128.
#include <math.h>
#include <mma.h>

#include "cuda_internal.cuh"

enum { BQ = 32, BK = 32, ATT_THREADS = 128, DEC_WARPS = 8 };

#define SEG_NONE INT32_MIN // a key or query row outside the buffers: matches nothing real

template <int D> static size_t fwd_smem(void) {
    return (size_t)(BQ + 2 * BK) * (D + 1) * sizeof(float) + (size_t)BQ * (BK + 1) * sizeof(float) + BK * sizeof(int);
}
template <int D> static size_t bwd_smem(void) {
    return (size_t)(2 * BQ + 2 * BK) * (D + 1) * sizeof(float) + 2 * (size_t)BQ * (BK + 1) * sizeof(float) +
           (size_t)(BK + BQ) * sizeof(int) + 2 * BQ * sizeof(float);
}

__device__ static float quad_max(float v) {
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
    return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ static float quad_sum(float v) {
    v += __shfl_xor_sync(0xffffffffu, v, 1);
    return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

// Rows [r0, r0 + R) of a (rows, ld) buffer at column col0, HS wide, into shared (R, D+1); zeros
// past `rows` and past HS.
__device__ static void load_tile(float *dst, const float *src, int r0, int R, int rows, size_t row_stride,
                                 int col0, int HS, int D) {
    for (int e = threadIdx.x; e < R * D; e += blockDim.x) {
        int r = e / D, c = e % D, rr = r0 + r;
        dst[r * (D + 1) + c] = rr < rows && c < HS ? src[(size_t)rr * row_stride + col0 + c] : 0.0f;
    }
}

// Segment ids of rows [r0, r0 + R) of sequence b in a (B, rows) buffer, into shared dst; SEG_NONE
// past `rows`.
__device__ static void load_segs(int *dst, const int32_t *seg, int b, int r0, int R, int rows) {
    for (int j = threadIdx.x; j < R; j += blockDim.x)
        dst[j] = r0 + j < rows ? seg[(size_t)b * rows + r0 + j] : SEG_NONE;
}

// The backward's rows [t0, t0 + R) of query head h: segment ids, log-sum-exps and D = rowsum(dO O)
// into shared sq, lq, Dq (past Tq: SEG_NONE, -inf, 0).
__device__ static void load_q_rows(int *sq, float *lq, float *Dq, const int32_t *seg_q, const float *lse,
                                   const float *Dr, int b, int h, int t0, int R, const backend_attn_shape &s) {
    load_segs(sq, seg_q, b, t0, R, s.Tq);
    for (int r = threadIdx.x; r < R; r += blockDim.x) {
        bool in = t0 + r < s.Tq;
        size_t lr = ((size_t)b * s.NH + h) * s.Tq + t0 + r;
        lq[r] = in ? lse[lr] : -INFINITY;
        Dq[r] = in ? Dr[lr] : 0.0f;
    }
}

// Launches kernel k (grid, threads) with smem bytes of dynamic shared memory, opted in past 48 KiB.
template <typename K, typename... A>
static void launch_smem(cuda_ctx *x, K k, dim3 grid, int threads, size_t smem, A... args) {
    FX_ASSERT(smem <= (size_t)x->smem_optin);
    CUDA_CHECK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    k<<<grid, threads, smem, x->stream>>>(args...);
    CUDA_LAUNCHED();
}

// --- forward ---------------------------------------------------------------------------------------------

// Thread t: query row i = t/4 of the tile; scores of keys j = t%4 + 4r; output channels t%4 + 4r.
template <int D>
__global__ static void __launch_bounds__(ATT_THREADS)
    attn_fwd_kernel(float *out, float *lse, const float *q, const float *k, const float *v, const int32_t *seg_q,
                    const int32_t *seg_k, backend_attn_shape s, float scale) {
    extern __shared__ __align__(128) float sm[]; // WMMA pointers: 32-byte aligned
    const int SD = D + 1, PS = BK + 1;
    float *Qs = sm, *Ks = Qs + BQ * SD, *Vs = Ks + BK * SD, *Ps = Vs + BK * SD;
    int *sk = (int *)(Ps + BQ * PS);
    const int b = blockIdx.z, h = blockIdx.y, t0 = blockIdx.x * BQ, kh = h / (s.NH / s.NKV);
    const int HS = s.HS, QD = s.NH * HS, KD = s.NKV * HS;
    const int i = threadIdx.x / 4, jg = threadIdx.x % 4, t = t0 + i;
    const bool active = t < s.Tq;
    const int sg = active ? seg_q[(size_t)b * s.Tq + t] : SEG_NONE;
    const float *kb = k + (size_t)b * s.Tkv * KD, *vb = v + (size_t)b * s.Tkv * KD;
    load_tile(Qs, q + (size_t)b * s.Tq * QD, t0, BQ, s.Tq, QD, h * HS, HS, D);
    float m = -INFINITY, l = 0, acc[D / 4];
#pragma unroll
    for (int r = 0; r < D / 4; r++) acc[r] = 0;
    int t1 = t0 + BQ < s.Tq ? t0 + BQ : s.Tq;
    int kend = s.q_off + t1 < s.Tkv ? s.q_off + t1 : s.Tkv;
    for (int k0 = 0; k0 < kend; k0 += BK) {
        __syncthreads(); // the last tile is consumed
        load_tile(Ks, kb, k0, BK, s.Tkv, KD, kh * HS, HS, D);
        load_tile(Vs, vb, k0, BK, s.Tkv, KD, kh * HS, HS, D);
        load_segs(sk, seg_k, b, k0, BK, s.Tkv);
        __syncthreads();
        float sc[BK / 4], rmax = -INFINITY;
#pragma unroll
        for (int r = 0; r < BK / 4; r++) {
            int j = jg + 4 * r, kj = k0 + j;
            float d = 0;
#pragma unroll 16
            for (int c = 0; c < D; c++) d += Qs[i * SD + c] * Ks[j * SD + c];
            bool ok = active && kj < s.Tkv && kj <= s.q_off + t && sk[j] == sg;
            sc[r] = ok ? d * scale : -INFINITY;
            rmax = fmaxf(rmax, sc[r]);
        }
        rmax = quad_max(rmax);
        float mnew = fmaxf(m, rmax);
        float alpha = m == -INFINITY ? 0.0f : expf(m - mnew);
        float psum = 0;
#pragma unroll
        for (int r = 0; r < BK / 4; r++) {
            float p = sc[r] == -INFINITY ? 0.0f : expf(sc[r] - mnew);
            Ps[i * PS + jg + 4 * r] = p;
            psum += p;
        }
        l = l * alpha + quad_sum(psum);
        m = mnew;
        __syncwarp(); // row i's probabilities come from the 4 lanes of this warp
#pragma unroll
        for (int r = 0; r < D / 4; r++) acc[r] *= alpha;
        for (int j = 0; j < BK; j++) {
            float p = Ps[i * PS + j];
#pragma unroll
            for (int r = 0; r < D / 4; r++) acc[r] += p * Vs[j * SD + jg + 4 * r];
        }
    }
    if (!active) return;
    size_t row = (size_t)b * s.Tq + t;
#pragma unroll
    for (int r = 0; r < D / 4; r++) {
        int c = jg + 4 * r;
        if (c < HS) out[row * QD + (size_t)h * HS + c] = l > 0 ? acc[r] / l : 0.0f;
    }
    if (lse && jg == 0) lse[((size_t)b * s.NH + h) * s.Tq + t] = l > 0 ? m + logf(l) : -INFINITY;
}

// Decoding, Tq = 1: block (b, h), DEC_WARPS warps over the keys, lane channels lane + 32r.
template <int D>
__global__ static void __launch_bounds__(DEC_WARPS * 32)
    attn_decode_kernel(float *out, float *lse, const float *q, const float *k, const float *v,
                       const int32_t *seg_q, const int32_t *seg_k, backend_attn_shape s, float scale) {
    __shared__ float wm[DEC_WARPS], wl[DEC_WARPS], wacc[DEC_WARPS][D];
    const int b = blockIdx.y, h = blockIdx.x, kh = h / (s.NH / s.NKV);
    const int HS = s.HS, QD = s.NH * HS, KD = s.NKV * HS, lane = threadIdx.x % 32, w = threadIdx.x / 32;
    const int sg = seg_q[b], last = s.q_off; // query 0 sits at key index q_off
    float qr[D / 32], acc[D / 32], m = -INFINITY, l = 0;
#pragma unroll
    for (int r = 0; r < D / 32; r++) {
        int c = lane + 32 * r;
        qr[r] = c < HS ? q[(size_t)b * QD + (size_t)h * HS + c] * scale : 0.0f;
        acc[r] = 0;
    }
    int kend = last + 1 < s.Tkv ? last + 1 : s.Tkv;
    for (int j = w; j < kend; j += DEC_WARPS) {
        if (seg_k[(size_t)b * s.Tkv + j] != sg) continue; // the same for all lanes of the warp
        const float *kj = k + ((size_t)b * s.Tkv + j) * KD + (size_t)kh * HS;
        const float *vj = v + ((size_t)b * s.Tkv + j) * KD + (size_t)kh * HS;
        float d = 0;
#pragma unroll
        for (int r = 0; r < D / 32; r++) {
            int c = lane + 32 * r;
            d += c < HS ? qr[r] * kj[c] : 0.0f;
        }
        for (int o = 16; o > 0; o /= 2) d += __shfl_xor_sync(0xffffffffu, d, o);
        float mnew = fmaxf(m, d), alpha = m == -INFINITY ? 0.0f : expf(m - mnew), p = expf(d - mnew);
        l = l * alpha + p;
        m = mnew;
#pragma unroll
        for (int r = 0; r < D / 32; r++) {
            int c = lane + 32 * r;
            acc[r] = acc[r] * alpha + (c < HS ? p * vj[c] : 0.0f);
        }
    }
    if (lane == 0) wm[w] = m, wl[w] = l;
#pragma unroll
    for (int r = 0; r < D / 32; r++) wacc[w][lane + 32 * r] = acc[r];
    __syncthreads();
    if (w != 0) return;
    float M = -INFINITY, L = 0;
    for (int x = 0; x < DEC_WARPS; x++) M = fmaxf(M, wm[x]);
#pragma unroll
    for (int r = 0; r < D / 32; r++) acc[r] = 0;
    for (int x = 0; x < DEC_WARPS; x++) {
        if (wm[x] == -INFINITY) continue;
        float f = expf(wm[x] - M);
        L += wl[x] * f;
#pragma unroll
        for (int r = 0; r < D / 32; r++) acc[r] += wacc[x][lane + 32 * r] * f;
    }
#pragma unroll
    for (int r = 0; r < D / 32; r++) {
        int c = lane + 32 * r;
        if (c < HS) out[(size_t)b * QD + (size_t)h * HS + c] = L > 0 ? acc[r] / L : 0.0f;
    }
    if (lse && lane == 0) lse[(size_t)b * s.NH + h] = L > 0 ? M + logf(L) : -INFINITY;
}

template <int D>
static void fwd_launch(cuda_ctx *x, float *out, float *lse, const float *q, const float *k, const float *v,
                       const int32_t *seg_q, const int32_t *seg_k, backend_attn_shape s, float scale) {
    if (s.Tq == 1) {
        dim3 grid((unsigned)s.NH, (unsigned)s.B);
        attn_decode_kernel<D><<<grid, DEC_WARPS * 32, 0, x->stream>>>(out, lse, q, k, v, seg_q, seg_k, s, scale);
        CUDA_LAUNCHED();
        return;
    }
    dim3 grid((unsigned)((s.Tq + BQ - 1) / BQ), (unsigned)s.NH, (unsigned)s.B);
    launch_smem(x, attn_fwd_kernel<D>, grid, ATT_THREADS, fwd_smem<D>(), out, lse, q, k, v, seg_q, seg_k, s, scale);
}

// --- forward on tensor cores (BF16 precision, HS = D = 64 or 128) ------------------------------------
// Block: 4 warps, 64 query rows (16 per warp), key tiles of 64. S = Q K^T and O += P V are WMMA
// 16x16x16 products in bf16 with fp32 accumulation; the scores, the output accumulator and the
// row statistics live in shared memory (fp32), the bf16 tiles beside them. Two lanes per row do
// the masking and the online softmax over 32 keys each.
namespace wmma = nvcuda::wmma;
enum { WQ = 64, WK = 64 };
typedef wmma::fragment<wmma::accumulator, 16, 16, 16, float> wacc_t;

// acc += A B over k16 tiles of 16: A a strip of 16 rows (tile kk at a + kk * a_step, leading
// dimension lda, layout LA), B a strip of 16 columns (tile kk at b + kk * b_step, ldb, LB); bf16
// in shared memory, fp32 accumulation.
template <typename LA, typename LB>
__device__ static void mma_strip(wacc_t &acc, const __nv_bfloat16 *a, int lda, int a_step, const __nv_bfloat16 *b,
                                 int ldb, int b_step, int k16) {
    for (int kk = 0; kk < k16; kk++) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, LA> fa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, LB> fb;
        wmma::load_matrix_sync(fa, a + kk * a_step, lda);
        wmma::load_matrix_sync(fb, b + kk * b_step, ldb);
        wmma::mma_sync(acc, fa, fb, acc);
    }
}

template <int D> struct wfwd_layout { // shared memory, in floats; every array 32-byte aligned
    static const int QS = D + 8, SS = WK + 4, PS = WK + 8, OS = D + 4; // leading dimensions
    static const int S_OFF = 0, O_OFF = S_OFF + WQ * SS, M_OFF = O_OFF + WQ * OS, L_OFF = M_OFF + WQ,
                     SK_OFF = L_OFF + WQ, SQ_OFF = SK_OFF + WK, Q_OFF = SQ_OFF + WQ,
                     K_OFF = Q_OFF + WQ * QS / 2, V_OFF = K_OFF + WK * QS / 2, P_OFF = V_OFF + WK * QS / 2,
                     END = P_OFF + WQ * PS / 2;
};

template <int D> static size_t wfwd_smem(void) { return (size_t)wfwd_layout<D>::END * sizeof(float); }

// rows [r0, r0 + R) of a (rows, ld) fp32 buffer at column col0, D wide, into bf16 shared (R, ld QS)
template <int D>
__device__ static void load_bf16(__nv_bfloat16 *dst, const float *src, int r0, int R, int rows, size_t ld, int col0) {
    const int QS = wfwd_layout<D>::QS;
    for (int e = threadIdx.x; e < R * D; e += blockDim.x) {
        int r = e / D, c = e % D;
        dst[r * QS + c] = __float2bfloat16_rn(r0 + r < rows ? src[(size_t)(r0 + r) * ld + col0 + c] : 0.0f);
    }
}

template <int D>
__global__ static void __launch_bounds__(128)
    attn_fwd_wmma_kernel(float *out, float *lse, const float *q, const float *k, const float *v,
                         const int32_t *seg_q, const int32_t *seg_k, backend_attn_shape s, float scale) {
    typedef wfwd_layout<D> L;
    extern __shared__ __align__(128) float sm[]; // WMMA pointers: 32-byte aligned
    float *Ss = sm + L::S_OFF, *Os = sm + L::O_OFF, *rm = sm + L::M_OFF, *rl = sm + L::L_OFF;
    int *sk = (int *)(sm + L::SK_OFF), *sq = (int *)(sm + L::SQ_OFF);
    __nv_bfloat16 *Qs = (__nv_bfloat16 *)(sm + L::Q_OFF), *Ks = (__nv_bfloat16 *)(sm + L::K_OFF);
    __nv_bfloat16 *Vs = (__nv_bfloat16 *)(sm + L::V_OFF), *Ps = (__nv_bfloat16 *)(sm + L::P_OFF);
    const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * WQ, kh = h / (s.NH / s.NKV);
    const int QD = s.NH * D, KD = s.NKV * D, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const float *kb = k + (size_t)b * s.Tkv * KD, *vb = v + (size_t)b * s.Tkv * KD;
    load_bf16<D>(Qs, q + (size_t)b * s.Tq * QD, q0, WQ, s.Tq, QD, h * D);
    load_segs(sq, seg_q, b, q0, WQ, s.Tq);
    for (int r = threadIdx.x; r < WQ; r += blockDim.x) rm[r] = -INFINITY, rl[r] = 0;
    for (int e = threadIdx.x; e < WQ * L::OS; e += blockDim.x) Os[e] = 0;
    // this lane's row and half of the tile's keys
    const int r = 16 * warp + lane / 2, half = lane % 2, t = q0 + r;
    const bool active = t < s.Tq;
    int t1 = q0 + WQ < s.Tq ? q0 + WQ : s.Tq;
    int kend = s.q_off + t1 < s.Tkv ? s.q_off + t1 : s.Tkv;
    for (int k0 = 0; k0 < kend; k0 += WK) {
        __syncthreads(); // the last tile is consumed
        load_bf16<D>(Ks, kb, k0, WK, s.Tkv, KD, kh * D);
        load_bf16<D>(Vs, vb, k0, WK, s.Tkv, KD, kh * D);
        load_segs(sk, seg_k, b, k0, WK, s.Tkv);
        __syncthreads();
        for (int n = 0; n < WK / 16; n++) { // S (16 x 64) of this warp's rows
            wacc_t acc;
            wmma::fill_fragment(acc, 0.0f);
            mma_strip<wmma::row_major, wmma::col_major>(acc, Qs + 16 * warp * L::QS, L::QS, 16, Ks + 16 * n * L::QS,
                                                        L::QS, 16, D / 16); // K^T
            wmma::store_matrix_sync(Ss + 16 * warp * L::SS + 16 * n, acc, L::SS, wmma::mem_row_major);
        }
        __syncwarp();
        float *srow = Ss + r * L::SS;
        float m_old = rm[r], l_old = rl[r], mx = -INFINITY;
        for (int c = 32 * half; c < 32 * half + 32; c++) {
            int kj = k0 + c;
            bool ok = active && kj < s.Tkv && kj <= s.q_off + t && sk[c] == sq[r];
            srow[c] = ok ? srow[c] * scale : -INFINITY;
            mx = fmaxf(mx, srow[c]);
        }
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        float mnew = fmaxf(m_old, mx), alpha = m_old == -INFINITY ? 0.0f : expf(m_old - mnew), psum = 0;
        for (int c = 32 * half; c < 32 * half + 32; c++) {
            __nv_bfloat16 p = __float2bfloat16_rn(srow[c] == -INFINITY ? 0.0f : expf(srow[c] - mnew));
            Ps[r * L::PS + c] = p;
            psum += __bfloat162float(p); // the sum of what P V multiplies
        }
        psum += __shfl_xor_sync(0xffffffffu, psum, 1);
        for (int c = half * (D / 2); c < (half + 1) * (D / 2); c++) Os[r * L::OS + c] *= alpha;
        if (half == 0) rm[r] = mnew, rl[r] = l_old * alpha + psum;
        __syncwarp();
        for (int n = 0; n < D / 16; n++) { // O (16 x D) += P (16 x 64) V (64 x D)
            wacc_t acc;
            wmma::load_matrix_sync(acc, Os + 16 * warp * L::OS + 16 * n, L::OS, wmma::mem_row_major);
            mma_strip<wmma::row_major, wmma::row_major>(acc, Ps + 16 * warp * L::PS, L::PS, 16, Vs + 16 * n, L::QS,
                                                        16 * L::QS, WK / 16);
            wmma::store_matrix_sync(Os + 16 * warp * L::OS + 16 * n, acc, L::OS, wmma::mem_row_major);
        }
    }
    __syncthreads();
    for (int e = threadIdx.x; e < WQ * D; e += blockDim.x) {
        int rr = e / D, c = e % D, tt = q0 + rr;
        if (tt < s.Tq) out[((size_t)b * s.Tq + tt) * QD + (size_t)h * D + c] = rl[rr] > 0 ? Os[rr * L::OS + c] / rl[rr] : 0.0f;
    }
    if (lse)
        for (int rr = threadIdx.x; rr < WQ; rr += blockDim.x)
            if (q0 + rr < s.Tq)
                lse[((size_t)b * s.NH + h) * s.Tq + q0 + rr] = rl[rr] > 0 ? rm[rr] + logf(rl[rr]) : -INFINITY;
}

template <int D>
static void fwd_wmma_launch(cuda_ctx *x, float *out, float *lse, const float *q, const float *k, const float *v,
                            const int32_t *seg_q, const int32_t *seg_k, backend_attn_shape s, float scale) {
    dim3 grid((unsigned)((s.Tq + WQ - 1) / WQ), (unsigned)s.NH, (unsigned)s.B);
    launch_smem(x, attn_fwd_wmma_kernel<D>, grid, 128, wfwd_smem<D>(), out, lse, q, k, v, seg_q, seg_k, s, scale);
}

static void check_shape(backend_attn_shape s) {
    FX_ASSERT(s.NKV > 0 && s.NH % s.NKV == 0 && s.HS > 0 && s.B <= 65535 && s.NH <= 65535);
    if (s.HS > 128) fx_fatal("cuda attention: head size %d: this backend supports up to 128", s.HS);
}

void cuda_attention_forward(void *ctx, float *out, float *lse, const float *q, const float *k, const float *v,
                            const int32_t *seg_q, const int32_t *seg_k, backend_attn_shape s) {
    if (s.B <= 0 || s.Tq <= 0) return;
    check_shape(s);
    float scale = 1.0f / sqrtf((float)s.HS);
    cuda_ctx *x = (cuda_ctx *)ctx;
    if (x->prec == BACKEND_CUDA_BF16 && s.Tq > 1 && (s.HS == 64 || s.HS == 128)) {
        if (s.HS == 64) fwd_wmma_launch<64>(x, out, lse, q, k, v, seg_q, seg_k, s, scale);
        else fwd_wmma_launch<128>(x, out, lse, q, k, v, seg_q, seg_k, s, scale);
        return;
    }
    if (s.HS <= 64) fwd_launch<64>(x, out, lse, q, k, v, seg_q, seg_k, s, scale);
    else fwd_launch<128>(x, out, lse, q, k, v, seg_q, seg_k, s, scale);
}

// --- backward --------------------------------------------------------------------------------------------

// Dr[b, h, t] = sum_c dO[b,t,h,c] O[b,t,h,c], one warp per row.
__global__ static void attn_rowdot_kernel(float *Dr, const float *dout, const float *out, backend_attn_shape s) {
    size_t row = (size_t)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32; // (b, t, h) order
    size_t rows = (size_t)s.B * s.Tq * s.NH;
    if (row >= rows) return;
    int lane = threadIdx.x % 32, h = (int)(row % (size_t)s.NH);
    size_t bt = row / (size_t)s.NH, b = bt / (size_t)s.Tq, t = bt % (size_t)s.Tq;
    const float *o = out + row * s.HS, *d = dout + row * s.HS;
    float acc = 0;
    for (int c = lane; c < s.HS; c += 32) acc += o[c] * d[c];
    for (int off = 16; off > 0; off /= 2) acc += __shfl_xor_sync(0xffffffffu, acc, off);
    if (lane == 0) Dr[(b * s.NH + h) * s.Tq + t] = acc;
}

// Thread t: query row i = t/4 and keys j = t%4 + 4r for the scores; key row t/4 and channels
// t%4 + 4r for dK, dV; query row t/4 and channels t%4 + 4r for dQ.
template <int D>
__global__ static void __launch_bounds__(ATT_THREADS)
    attn_bwd_kernel(float *dq, float *dk, float *dv, const float *dout, const float *lse, const float *Dr,
                    const float *q, const float *k, const float *v, const int32_t *seg_q, const int32_t *seg_k,
                    backend_attn_shape s, float scale) {
    extern __shared__ __align__(128) float sm[]; // WMMA pointers: 32-byte aligned
    const int SD = D + 1, PS = BK + 1;
    float *Ks = sm, *Vs = Ks + BK * SD, *Qs = Vs + BK * SD, *dOs = Qs + BQ * SD, *Ps = dOs + BQ * SD;
    float *dSs = Ps + BQ * PS, *lq = dSs + BQ * PS, *Dq = lq + BQ;
    int *sk = (int *)(Dq + BQ), *sq = sk + BK;
    const int b = blockIdx.z, kh = blockIdx.y, k0 = blockIdx.x * BK, G = s.NH / s.NKV;
    const int HS = s.HS, QD = s.NH * HS, KD = s.NKV * HS;
    const int i = threadIdx.x / 4, jg = threadIdx.x % 4;
    load_tile(Ks, k + (size_t)b * s.Tkv * KD, k0, BK, s.Tkv, KD, kh * HS, HS, D);
    load_tile(Vs, v + (size_t)b * s.Tkv * KD, k0, BK, s.Tkv, KD, kh * HS, HS, D);
    load_segs(sk, seg_k, b, k0, BK, s.Tkv);
    float dK[D / 4], dV[D / 4];
#pragma unroll
    for (int r = 0; r < D / 4; r++) dK[r] = dV[r] = 0;
    int first = k0 - s.q_off > 0 ? (k0 - s.q_off) / BQ * BQ : 0; // earlier queries see none of these keys
    for (int h = kh * G; h < (kh + 1) * G; h++) {
        for (int t0 = first; t0 < s.Tq; t0 += BQ) {
            __syncthreads(); // the last tile is consumed
            load_tile(Qs, q + (size_t)b * s.Tq * QD, t0, BQ, s.Tq, QD, h * HS, HS, D);
            load_tile(dOs, dout + (size_t)b * s.Tq * QD, t0, BQ, s.Tq, QD, h * HS, HS, D);
            load_q_rows(sq, lq, Dq, seg_q, lse, Dr, b, h, t0, BQ, s);
            __syncthreads();
            const int t = t0 + i;
#pragma unroll
            for (int r = 0; r < BK / 4; r++) {
                int j = jg + 4 * r, kj = k0 + j;
                float p = 0, ds = 0;
                if (t < s.Tq && kj < s.Tkv && kj <= s.q_off + t && sk[j] == sq[i] && lq[i] > -INFINITY) {
                    float sc = 0, dp = 0;
#pragma unroll 16
                    for (int c = 0; c < D; c++) {
                        sc += Qs[i * SD + c] * Ks[j * SD + c];
                        dp += dOs[i * SD + c] * Vs[j * SD + c];
                    }
                    p = expf(sc * scale - lq[i]);
                    ds = p * (dp - Dq[i]);
                }
                Ps[i * PS + j] = p;
                dSs[i * PS + j] = ds;
            }
            __syncthreads();
            // dV += P^T dO, dK += dS^T Q (scale applied at the end); key row i here
            for (int ii = 0; ii < BQ; ii++) {
                float p = Ps[ii * PS + i], ds = dSs[ii * PS + i];
#pragma unroll
                for (int r = 0; r < D / 4; r++) {
                    dV[r] += p * dOs[ii * SD + jg + 4 * r];
                    dK[r] += ds * Qs[ii * SD + jg + 4 * r];
                }
            }
            // dQ += scale dS K, summed over this block's keys, added atomically across key tiles
            if (t < s.Tq) {
                float *dqr = dq + ((size_t)b * s.Tq + t) * QD + (size_t)h * HS;
#pragma unroll
                for (int r = 0; r < D / 4; r++) {
                    int c = jg + 4 * r;
                    if (c >= HS) continue;
                    float acc = 0;
                    for (int j = 0; j < BK; j++) acc += dSs[i * PS + j] * Ks[j * SD + c];
                    if (acc != 0.0f) atomicAdd(dqr + c, scale * acc);
                }
            }
        }
    }
    int kj = k0 + i;
    if (kj >= s.Tkv) return;
    size_t off = ((size_t)b * s.Tkv + kj) * KD + (size_t)kh * HS;
#pragma unroll
    for (int r = 0; r < D / 4; r++) {
        int c = jg + 4 * r;
        if (c < HS) {
            dk[off + c] += scale * dK[r];
            dv[off + c] += dV[r];
        }
    }
}

template <int D>
static void bwd_launch(cuda_ctx *x, float *dq, float *dk, float *dv, const float *dout, const float *lse,
                       const float *Dr, const float *q, const float *k, const float *v, const int32_t *seg_q,
                       const int32_t *seg_k, backend_attn_shape s, float scale) {
    dim3 grid((unsigned)((s.Tkv + BK - 1) / BK), (unsigned)s.NKV, (unsigned)s.B);
    launch_smem(x, attn_bwd_kernel<D>, grid, ATT_THREADS, bwd_smem<D>(), dq, dk, dv, dout, lse, Dr, q, k, v, seg_q,
                seg_k, s, scale);
}

// --- backward on tensor cores (BF16 precision, HS = D = 64 or 128) -----------------------------------
// Block: 4 warps and a tile of 64 keys (16 per warp) of one key-value head; it walks the G query
// heads and the query tiles of 64 that see its keys. Per tile, warp w forms S^T and dP^T of its 16
// keys (K_w Q^T, V_w dO^T), two lanes per key row turn them into P^T and dS^T (bf16, shared), and
// accumulates dV_w += P^T dO and dK_w += dS^T Q in register fragments; after a barrier each warp
// takes 16 query rows for dQ = dS K over all 64 keys and adds them to global memory atomically.
template <int D> struct wbwd_layout { // shared memory, in floats; every array 32-byte aligned
    static const int QS = D + 8, PS = WQ + 8, FS = WQ + 4, XS = D + 4; // leading dimensions
    static const int S_OFF = 0, DP_OFF = S_OFF + WK * FS, X_OFF = DP_OFF + WK * FS, LQ_OFF = X_OFF + WK * XS,
                     DQ_OFF = LQ_OFF + WQ, SQ_OFF = DQ_OFF + WQ, SK_OFF = SQ_OFF + WQ, K_OFF = SK_OFF + WK,
                     V_OFF = K_OFF + WK * QS / 2, Q_OFF = V_OFF + WK * QS / 2, O_OFF = Q_OFF + WQ * QS / 2,
                     P_OFF = O_OFF + WQ * QS / 2, DS_OFF = P_OFF + WK * PS / 2, END = DS_OFF + WK * PS / 2;
};

template <int D> static size_t wbwd_smem(void) { return (size_t)wbwd_layout<D>::END * sizeof(float); }

template <int D>
__global__ static void __launch_bounds__(128)
    attn_bwd_wmma_kernel(float *dq, float *dk, float *dv, const float *dout, const float *lse, const float *Dr,
                         const float *q, const float *k, const float *v, const int32_t *seg_q,
                         const int32_t *seg_k, backend_attn_shape s, float scale) {
    typedef wbwd_layout<D> L;
    extern __shared__ __align__(128) float sm[]; // WMMA pointers: 32-byte aligned
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    float *St = sm + L::S_OFF + 16 * warp * L::FS, *dPt = sm + L::DP_OFF + 16 * warp * L::FS;
    float *X = sm + L::X_OFF + 16 * warp * L::XS; // this warp's fp32 scratch (16, D)
    float *lq = sm + L::LQ_OFF, *Dq = sm + L::DQ_OFF;
    int *sq = (int *)(sm + L::SQ_OFF), *sk = (int *)(sm + L::SK_OFF);
    __nv_bfloat16 *Ks = (__nv_bfloat16 *)(sm + L::K_OFF), *Vs = (__nv_bfloat16 *)(sm + L::V_OFF);
    __nv_bfloat16 *Qs = (__nv_bfloat16 *)(sm + L::Q_OFF), *dOs = (__nv_bfloat16 *)(sm + L::O_OFF);
    __nv_bfloat16 *Pt = (__nv_bfloat16 *)(sm + L::P_OFF), *dSt = (__nv_bfloat16 *)(sm + L::DS_OFF);
    const int b = blockIdx.z, kh = blockIdx.y, k0 = blockIdx.x * WK, G = s.NH / s.NKV;
    const int QD = s.NH * D, KD = s.NKV * D;
    load_bf16<D>(Ks, k + (size_t)b * s.Tkv * KD, k0, WK, s.Tkv, KD, kh * D);
    load_bf16<D>(Vs, v + (size_t)b * s.Tkv * KD, k0, WK, s.Tkv, KD, kh * D);
    load_segs(sk, seg_k, b, k0, WK, s.Tkv);
    wacc_t dK[D / 16], dV[D / 16];
#pragma unroll
    for (int n = 0; n < D / 16; n++) wmma::fill_fragment(dK[n], 0.0f), wmma::fill_fragment(dV[n], 0.0f);
    const int j = lane / 2, half = lane % 2, kj = k0 + 16 * warp + j; // this lane's key row
    int first = k0 - s.q_off > 0 ? (k0 - s.q_off) / WQ * WQ : 0;
    for (int h = kh * G; h < (kh + 1) * G; h++) {
        for (int t0 = first; t0 < s.Tq; t0 += WQ) {
            __syncthreads(); // the last tile is consumed
            load_bf16<D>(Qs, q + (size_t)b * s.Tq * QD, t0, WQ, s.Tq, QD, h * D);
            load_bf16<D>(dOs, dout + (size_t)b * s.Tq * QD, t0, WQ, s.Tq, QD, h * D);
            load_q_rows(sq, lq, Dq, seg_q, lse, Dr, b, h, t0, WQ, s);
            __syncthreads();
            for (int n = 0; n < WQ / 16; n++) { // S^T = K_w Q^T, dP^T = V_w dO^T (16 x 64)
                wacc_t as, ap;
                wmma::fill_fragment(as, 0.0f), wmma::fill_fragment(ap, 0.0f);
                mma_strip<wmma::row_major, wmma::col_major>(as, Ks + 16 * warp * L::QS, L::QS, 16,
                                                            Qs + 16 * n * L::QS, L::QS, 16, D / 16);
                mma_strip<wmma::row_major, wmma::col_major>(ap, Vs + 16 * warp * L::QS, L::QS, 16,
                                                            dOs + 16 * n * L::QS, L::QS, 16, D / 16);
                wmma::store_matrix_sync(St + 16 * n, as, L::FS, wmma::mem_row_major);
                wmma::store_matrix_sync(dPt + 16 * n, ap, L::FS, wmma::mem_row_major);
            }
            __syncwarp();
            for (int c = 32 * half; c < 32 * half + 32; c++) { // P^T and dS^T of key kj, query t0 + c
                int t = t0 + c;
                float p = 0, ds = 0;
                if (t < s.Tq && kj < s.Tkv && kj <= s.q_off + t && sk[16 * warp + j] == sq[c] && lq[c] > -INFINITY) {
                    p = expf(St[j * L::FS + c] * scale - lq[c]);
                    ds = p * (dPt[j * L::FS + c] - Dq[c]);
                }
                Pt[(16 * warp + j) * L::PS + c] = __float2bfloat16_rn(p);
                dSt[(16 * warp + j) * L::PS + c] = __float2bfloat16_rn(ds);
            }
            __syncwarp();
#pragma unroll
            for (int n = 0; n < D / 16; n++) { // dV_w += P^T dO, dK_w += dS^T Q
                mma_strip<wmma::row_major, wmma::row_major>(dV[n], Pt + 16 * warp * L::PS, L::PS, 16, dOs + 16 * n,
                                                            L::QS, 16 * L::QS, WQ / 16);
                mma_strip<wmma::row_major, wmma::row_major>(dK[n], dSt + 16 * warp * L::PS, L::PS, 16, Qs + 16 * n,
                                                            L::QS, 16 * L::QS, WQ / 16);
            }
            __syncthreads(); // every warp's dS^T is written
            for (int n = 0; n < D / 16; n++) { // dQ rows 16w.. (16 x D) = dS (16 x 64 keys) K
                wacc_t acc;
                wmma::fill_fragment(acc, 0.0f);
                mma_strip<wmma::col_major, wmma::row_major>(acc, dSt + 16 * warp, L::PS, 16 * L::PS, Ks + 16 * n, L::QS,
                                                            16 * L::QS, WK / 16); // dS = (dS^T)^T
                wmma::store_matrix_sync(X + 16 * n, acc, L::XS, wmma::mem_row_major);
            }
            __syncwarp();
            for (int e = lane; e < 16 * D; e += 32) {
                int i = e / D, c = e % D, t = t0 + 16 * warp + i;
                float g = X[i * L::XS + c];
                if (t < s.Tq && g != 0.0f) atomicAdd(dq + ((size_t)b * s.Tq + t) * QD + (size_t)h * D + c, scale * g);
            }
            __syncwarp(); // X is read before the next tile writes it
        }
    }
    for (int pass = 0; pass < 2; pass++) { // dK, then dV: fragments -> scratch -> global (+=)
#pragma unroll
        for (int n = 0; n < D / 16; n++)
            wmma::store_matrix_sync(X + 16 * n, pass == 0 ? dK[n] : dV[n], L::XS, wmma::mem_row_major);
        __syncwarp();
        float *dst = pass == 0 ? dk : dv, f = pass == 0 ? scale : 1.0f;
        for (int e = lane; e < 16 * D; e += 32) {
            int i = e / D, c = e % D, key = k0 + 16 * warp + i;
            if (key < s.Tkv) dst[((size_t)b * s.Tkv + key) * KD + (size_t)kh * D + c] += f * X[i * L::XS + c];
        }
        __syncwarp();
    }
}

template <int D>
static void bwd_wmma_launch(cuda_ctx *x, float *dq, float *dk, float *dv, const float *dout, const float *lse,
                            const float *Dr, const float *q, const float *k, const float *v, const int32_t *seg_q,
                            const int32_t *seg_k, backend_attn_shape s, float scale) {
    dim3 grid((unsigned)((s.Tkv + WK - 1) / WK), (unsigned)s.NKV, (unsigned)s.B);
    launch_smem(x, attn_bwd_wmma_kernel<D>, grid, 128, wbwd_smem<D>(), dq, dk, dv, dout, lse, Dr, q, k, v, seg_q,
                seg_k, s, scale);
}

void cuda_attention_backward(void *ctx, float *dq, float *dk, float *dv, const float *dout, const float *out,
                             const float *lse, const float *q, const float *k, const float *v,
                             const int32_t *seg_q, const int32_t *seg_k, backend_attn_shape s) {
    if (s.B <= 0 || s.Tq <= 0) return;
    check_shape(s);
    cuda_ctx *x = (cuda_ctx *)ctx;
    size_t rows = (size_t)s.B * s.NH * s.Tq;
    if (rows > x->attn_d_cap) {
        CUDA_CHECK(cudaStreamSynchronize(x->stream));
        CUDA_CHECK(cudaFree(x->attn_d));
        CUDA_CHECK(cudaMalloc((void **)&x->attn_d, rows * sizeof(float)));
        x->attn_d_cap = rows;
    }
    attn_rowdot_kernel<<<(unsigned)((rows + 7) / 8), 256, 0, x->stream>>>(x->attn_d, dout, out, s);
    CUDA_LAUNCHED();
    float scale = 1.0f / sqrtf((float)s.HS);
    if (x->prec == BACKEND_CUDA_BF16 && (s.HS == 64 || s.HS == 128)) {
        if (s.HS == 64) bwd_wmma_launch<64>(x, dq, dk, dv, dout, lse, x->attn_d, q, k, v, seg_q, seg_k, s, scale);
        else bwd_wmma_launch<128>(x, dq, dk, dv, dout, lse, x->attn_d, q, k, v, seg_q, seg_k, s, scale);
        return;
    }
    if (s.HS <= 64) bwd_launch<64>(x, dq, dk, dv, dout, lse, x->attn_d, q, k, v, seg_q, seg_k, s, scale);
    else bwd_launch<128>(x, dq, dk, dv, dout, lse, x->attn_d, q, k, v, seg_q, seg_k, s, scale);
}

void cuda_attention_free(cuda_ctx *x) {
    CUDA_CHECK(cudaFree(x->attn_d));
    x->attn_d = NULL, x->attn_d_cap = 0;
}
