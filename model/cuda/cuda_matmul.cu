// cuda_matmul.cu — matmul on cuBLASLt. Row-major C (M,N) = op(A) op(B) is column-major
// C^T (N,M) = op(B)^T op(A)^T, so cuBLASLt is called with the operands swapped and no copy.
// FP32: fp32 inputs and CUBLAS_COMPUTE_32F (no TF32). BF16: both inputs are rounded to bf16 into
// bf16 copies (cuda_bf16.cu: parameters' copies are kept between steps), then bf16 x bf16 with
// fp32 accumulation writes fp32 C, so the caller's buffers and the master weights stay fp32. One plan (layouts and
// the algorithm cuBLASLt's heuristic picks) per shape, kept in a small table.
// A BF16 matmul with a short side (<= 64 rows or columns: decoding, where the matmul is a pass over
// the weights) skips the conversion, which would cost more than the product: fp32 inputs in
// TF32 (10-bit mantissa, finer than bf16's 7), fp32 accumulation.
#include <string.h>

#include "cuda_internal.cuh"

static int align_of(const void *p) {
    uintptr_t u = (uintptr_t)p;
    int a = 256;
    while (a > 4 && u % (uintptr_t)a) a /= 2;
    return a;
}

static cuda_mm_plan *plan_get(cuda_ctx *x, int M, int N, int K, bool ta, bool tb, bool acc, int align,
                              cuda_mm_mode mode) {
    for (int i = 0; i < x->nplans; i++) {
        cuda_mm_plan *p = &x->plans[i];
        if (p->M == M && p->N == N && p->K == K && p->ta == ta && p->tb == tb && p->acc == acc && p->align == align &&
            p->mode == mode)
            return p;
    }
    if (x->nplans == CUDA_MM_PLANS) { // full: drop the oldest half (shapes of a model are few)
        for (int i = 0; i < CUDA_MM_PLANS / 2; i++) {
            cuda_mm_plan *p = &x->plans[i];
            cublasLtMatmulDescDestroy(p->desc);
            cublasLtMatrixLayoutDestroy(p->la), cublasLtMatrixLayoutDestroy(p->lb), cublasLtMatrixLayoutDestroy(p->lc);
        }
        memmove(x->plans, x->plans + CUDA_MM_PLANS / 2, (CUDA_MM_PLANS / 2) * sizeof(cuda_mm_plan));
        x->nplans = CUDA_MM_PLANS / 2;
    }
    cuda_mm_plan *p = &x->plans[x->nplans];
    memset(p, 0, sizeof *p);
    p->M = M, p->N = N, p->K = K, p->ta = ta, p->tb = tb, p->acc = acc, p->align = align, p->mode = mode;
    cudaDataType_t in = mode == CUDA_MM_BF16 ? CUDA_R_16BF : CUDA_R_32F;
    cublasComputeType_t compute = mode == CUDA_MM_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    CUBLAS_CHECK(cublasLtMatmulDescCreate(&p->desc, compute, CUDA_R_32F));
    // Column-major view: first operand is B (N x K after op), second is A (K x M after op).
    cublasOperation_t opa = tb ? CUBLAS_OP_T : CUBLAS_OP_N, opb = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof opa));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof opb));
    // Stored shapes (rows x cols, column-major): b is (N x K) ld N, or (K x N) ld K when tb.
    if (tb) CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->la, in, K, N, K));
    else CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->la, in, N, K, N));
    if (ta) CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->lb, in, M, K, M));
    else CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->lb, in, K, M, K));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->lc, CUDA_R_32F, N, M, N));
    cublasLtMatmulPreference_t pref;
    CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                      &x->workspace_bytes, sizeof x->workspace_bytes));
    uint32_t al = (uint32_t)align;
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al, sizeof al));
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al, sizeof al));
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al, sizeof al));
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al, sizeof al));
    cublasLtMatmulHeuristicResult_t h;
    int found = 0;
    CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(x->lt, p->desc, p->la, p->lb, p->lc, p->lc, pref, 1, &h, &found));
    cublasLtMatmulPreferenceDestroy(pref);
    if (found == 0) { // BF16 falls back to TF32 for this shape; FP32 has no fallback
        cublasLtMatmulDescDestroy(p->desc);
        cublasLtMatrixLayoutDestroy(p->la), cublasLtMatrixLayoutDestroy(p->lb), cublasLtMatrixLayoutDestroy(p->lc);
        if (mode != CUDA_MM_FP32) return NULL;
        fx_fatal("cuBLASLt: no algorithm for M=%d N=%d K=%d ta=%d tb=%d align=%d", M, N, K, ta, tb, align);
    }
    p->algo = h.algo;
    x->nplans++;
    return p;
}

void cuda_matmul(void *ctx, float *c, const float *a, const float *b, int M, int N, int K, bool ta, bool tb,
                 bool accumulate) {
    cuda_ctx *x = (cuda_ctx *)ctx;
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (!accumulate) CUDA_CHECK(cudaMemsetAsync(c, 0, (size_t)M * N * sizeof(float), x->stream));
        return;
    }
    cuda_param_touch(x, c, (size_t)M * N * sizeof(float));
    int align_c = align_of(c), align_ab = align_of(a) < align_of(b) ? align_of(a) : align_of(b);
    int align_fp32 = align_c < align_ab ? align_c : align_ab;
    cuda_mm_mode mode = CUDA_MM_FP32;
    if (x->prec == BACKEND_CUDA_BF16) mode = M <= 64 || N <= 64 ? CUDA_MM_TF32 : CUDA_MM_BF16;
    cuda_mm_plan *p = NULL;
    const void *pa = a, *pb = b;
    if (mode == CUDA_MM_BF16 && (p = plan_get(x, M, N, K, ta, tb, accumulate, align_c, mode))) {
        pa = cuda_bf16_operand(x, a, (size_t)M * K, 0);
        pb = cuda_bf16_operand(x, b, (size_t)K * N, 1);
    } else {
        if (mode == CUDA_MM_BF16) mode = CUDA_MM_TF32;
        if (!(p = plan_get(x, M, N, K, ta, tb, accumulate, align_fp32, mode)))
            p = plan_get(x, M, N, K, ta, tb, accumulate, align_fp32, CUDA_MM_FP32);
    }
    float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    CUBLAS_CHECK(cublasLtMatmul(x->lt, p->desc, &alpha, pb, p->la, pa, p->lb, &beta, c, p->lc, c, p->lc, &p->algo,
                                x->workspace, x->workspace_bytes, x->stream));
}

void cuda_matmul_free(cuda_ctx *x) {
    for (int i = 0; i < x->nplans; i++) {
        cuda_mm_plan *p = &x->plans[i];
        cublasLtMatmulDescDestroy(p->desc);
        cublasLtMatrixLayoutDestroy(p->la), cublasLtMatrixLayoutDestroy(p->lb), cublasLtMatrixLayoutDestroy(p->lc);
    }
    x->nplans = 0;
    CUDA_CHECK(cudaFree(x->workspace));
}
