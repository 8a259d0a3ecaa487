// cuda_rows.cu — linear_rows: y (M,N) = x (M,K) W^T (+ b), W (N,K), batch-invariant. Every output
// element goes through the same fp32 operations whatever M and wherever its row sits:
//   K is cut into chunks of ROWS_KC (the last one shorter); chunk c's partial sum is a chain of
//   fmaf over its k in increasing order starting from 0, padded with 0 * 0 terms to a multiple of
//   ROWS_BK: p_c = fmaf(x[r][k], w[n][k], p_c);
//   y = 0; y = y + p_c for c = 0, 1, ..., S-1 in order; then y = y + b[n].
// The tiling decides only which thread computes which element, so the launches below may differ
// by shape without changing a bit (no split-K by shape, no atomics, no heuristic per M):
//   M <= ROWS_SPLIT_M (decoding): a block per (column tile, chunk) holds every row and reads its
//     weights once; the partial sums go to a workspace and rows_combine_kernel adds them in chunk
//     order (and the bias);
//   M > ROWS_SPLIT_M (prefill): a block per (row tile, column tile) walks every chunk, adding each
//     partial to its running sum in registers.
// fp32 in both precisions (BF16 as well: finer than the TF32 cuBLASLt used for short sides).
#include "cuda_internal.cuh"

enum {
    ROWS_BK = 16,            // k per shared-memory tile
    ROWS_KC = 256,           // k per chunk: a multiple of ROWS_BK
    ROWS_THREADS = 256,
    ROWS_SPLIT_M = 64,       // up to this many rows: one block holds all rows (decoding)
    ROWS_BIG_M = 256,        // from this many rows: 128 x 128 tiles (prefill)
    ROWS_WS_FLOATS = 1 << 24 // the decoding workspace's size: wider outputs go in column slabs
};

// One tile configuration: a block computes BM rows x BN columns, a thread TM x TN of them
// (threads = (BM/TM) * (BN/TN) = ROWS_THREADS; thread t holds columns of tx = t % (BN/TN)).
// split: this block computes only chunk blockIdx.z and writes its partial sums to part
// ((S, M, N) for the columns of this call); else it walks all chunks and writes y (row stride ldy).
template <int BM, int BN, int TM, int TN>
__global__ void __launch_bounds__(ROWS_THREADS)
rows_kernel(float *y, float *part, const float *x, const float *w, const float *b, int M, int N, int K, int ldy,
            bool split) {
    constexpr int NTX = BN / TN, TPC = ROWS_KC / ROWS_BK;
    constexpr int NX = (BM * ROWS_BK + ROWS_THREADS - 1) / ROWS_THREADS;
    constexpr int NW = (BN * ROWS_BK + ROWS_THREADS - 1) / ROWS_THREADS;
    static_assert(NTX * (BM / TM) == ROWS_THREADS && ROWS_KC % ROWS_BK == 0, "tile shape");
    // k-major tiles; rows padded by 4 floats (fewer bank conflicts when stored, 16-byte aligned)
    __shared__ __align__(16) float xs[ROWS_BK][BM + 4];
    __shared__ __align__(16) float wsm[ROWS_BK][BN + 4];
    int tid = (int)threadIdx.x, tx = tid % NTX, ty = tid / NTX;
    int r0 = (int)blockIdx.y * BM, n0 = (int)blockIdx.x * BN;
    int ntiles = (K + ROWS_BK - 1) / ROWS_BK;
    int i0 = split ? (int)blockIdx.z * TPC : 0;
    int i1 = split && i0 + TPC < ntiles ? i0 + TPC : ntiles;
    float rx[NX], rw[NW]; // the next tile, loaded while the current one is multiplied
    auto load = [&](int i) {
        int k0 = i * ROWS_BK;
#pragma unroll
        for (int j = 0; j < NX; j++) {
            int e = tid + j * ROWS_THREADS, r = r0 + e / ROWS_BK, k = k0 + e % ROWS_BK;
            rx[j] = e < BM * ROWS_BK && r < M && k < K ? x[(size_t)r * K + k] : 0.0f;
        }
#pragma unroll
        for (int j = 0; j < NW; j++) {
            int e = tid + j * ROWS_THREADS, n = n0 + e / ROWS_BK, k = k0 + e % ROWS_BK;
            rw[j] = e < BN * ROWS_BK && n < N && k < K ? w[(size_t)n * K + k] : 0.0f;
        }
    };
    float tot[TM][TN], acc[TM][TN];
#pragma unroll
    for (int a = 0; a < TM; a++)
#pragma unroll
        for (int c = 0; c < TN; c++) tot[a][c] = 0.0f, acc[a][c] = 0.0f;
    if (i0 < i1) load(i0);
    for (int i = i0; i < i1; i++) {
        __syncthreads(); // everyone is done reading the previous tile
#pragma unroll
        for (int j = 0; j < NX; j++) {
            int e = tid + j * ROWS_THREADS;
            if (e < BM * ROWS_BK) xs[e % ROWS_BK][e / ROWS_BK] = rx[j];
        }
#pragma unroll
        for (int j = 0; j < NW; j++) {
            int e = tid + j * ROWS_THREADS;
            if (e < BN * ROWS_BK) wsm[e % ROWS_BK][e / ROWS_BK] = rw[j];
        }
        __syncthreads();
        if (i + 1 < i1) load(i + 1);
        if (i % TPC == 0 && i != i0) { // a chunk ends: add its partial sum, start the next from 0
#pragma unroll
            for (int a = 0; a < TM; a++)
#pragma unroll
                for (int c = 0; c < TN; c++) tot[a][c] = tot[a][c] + acc[a][c], acc[a][c] = 0.0f;
        }
#pragma unroll
        for (int kk = 0; kk < ROWS_BK; kk++) {
            float av[TM], bv[TN];
#pragma unroll
            for (int a = 0; a < TM; a++) av[a] = xs[kk][ty * TM + a];
#pragma unroll
            for (int c = 0; c < TN; c++) bv[c] = wsm[kk][tx * TN + c];
#pragma unroll
            for (int a = 0; a < TM; a++)
#pragma unroll
                for (int c = 0; c < TN; c++) acc[a][c] = fmaf(av[a], bv[c], acc[a][c]);
        }
    }
    if (!split && i1 > i0)
#pragma unroll
        for (int a = 0; a < TM; a++)
#pragma unroll
            for (int c = 0; c < TN; c++) tot[a][c] = tot[a][c] + acc[a][c];
#pragma unroll
    for (int a = 0; a < TM; a++) {
        int r = r0 + ty * TM + a;
#pragma unroll
        for (int c = 0; c < TN; c++) {
            int n = n0 + tx * TN + c;
            if (r >= M || n >= N) continue;
            if (split) part[((size_t)blockIdx.z * M + r) * N + n] = acc[a][c];
            else y[(size_t)r * ldy + n] = b ? tot[a][c] + b[n] : tot[a][c];
        }
    }
}

// y[r][n] = (0 + part[0][r][n] + ... + part[S-1][r][n]) + b[n], the chunks in order (as the
// running sum of rows_kernel without split).
__global__ void rows_combine_kernel(float *y, const float *part, const float *b, int M, int N, int ldy, int S) {
    size_t n_out = (size_t)M * N;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n_out; i += (size_t)gridDim.x * blockDim.x) {
        float v = 0.0f;
        for (int c = 0; c < S; c++) v = v + part[(size_t)c * n_out + i];
        int r = (int)(i / (size_t)N), n = (int)(i % (size_t)N);
        y[(size_t)r * ldy + n] = b ? v + b[n] : v;
    }
}

template <int BM, int BN, int TM, int TN>
static void rows_launch(cuda_ctx *c, float *y, float *part, const float *x, const float *w, const float *b, int M,
                        int N, int K, int ldy, int S) {
    dim3 grid((unsigned)((N + BN - 1) / BN), (unsigned)((M + BM - 1) / BM), part ? (unsigned)S : 1u);
    auto kernel = rows_kernel<BM, BN, TM, TN>; // (one name before <<<: tests/gpu/emu/make_emu.py)
    kernel<<<grid, ROWS_THREADS, 0, c->stream>>>(y, part, x, w, b, M, N, K, ldy, part != NULL);
    CUDA_LAUNCHED();
}

void cuda_linear_rows(void *ctx, float *y, const float *x, const float *w, const float *b, int M, int K, int N) {
    cuda_ctx *c = (cuda_ctx *)ctx;
    if (M <= 0 || N <= 0) return;
    cuda_param_touch(c, y, (size_t)M * N * sizeof(float));
    int S = K > 0 ? (K + ROWS_KC - 1) / ROWS_KC : 0;
    if (M > ROWS_SPLIT_M) { // prefill: 128 x 128 tiles from ROWS_BIG_M rows, else narrow ones
        if (M >= ROWS_BIG_M) rows_launch<128, 128, 8, 8>(c, y, NULL, x, w, b, M, N, K, N, S);
        else rows_launch<64, 32, 8, 1>(c, y, NULL, x, w, b, M, N, K, N, S);
        return;
    }
    // Decoding: partial sums of every chunk in the workspace, then their sum; wide outputs (the LM
    // head) in slabs of columns so that the workspace stays at ROWS_WS_FLOATS.
    size_t per_col = (size_t)(S > 0 ? S : 1) * (size_t)M;
    int slab = (int)(ROWS_WS_FLOATS / per_col) / 128 * 128;
    slab = slab < 128 ? 128 : (slab > N ? N : slab);
    size_t need = per_col * (size_t)slab;
    if (need > c->rows_ws_cap) {
        CUDA_CHECK(cudaStreamSynchronize(c->stream)); // queued work may still read the old one
        CUDA_CHECK(cudaFree(c->rows_ws));
        CUDA_CHECK(cudaMalloc((void **)&c->rows_ws, need * sizeof(float)));
        c->rows_ws_cap = need;
    }
    for (int n0 = 0; n0 < N; n0 += slab) {
        int ns = N - n0 < slab ? N - n0 : slab;
        const float *ws = w + (size_t)n0 * (size_t)K;
        if (S > 0) {
            if (M <= 8) rows_launch<8, 32, 1, 1>(c, NULL, c->rows_ws, x, ws, NULL, M, ns, K, N, S);
            else if (M <= 32) rows_launch<32, 32, 4, 1>(c, NULL, c->rows_ws, x, ws, NULL, M, ns, K, N, S);
            else rows_launch<64, 32, 8, 1>(c, NULL, c->rows_ws, x, ws, NULL, M, ns, K, N, S);
        }
        rows_combine_kernel<<<cuda_blocks((size_t)M * ns, 256), 256, 0, c->stream>>>(
            y + n0, c->rows_ws, b ? b + n0 : NULL, M, ns, N, S);
        CUDA_LAUNCHED();
    }
}

void cuda_rows_free(cuda_ctx *c) {
    CUDA_CHECK(cudaFree(c->rows_ws));
    c->rows_ws = NULL, c->rows_ws_cap = 0;
}
