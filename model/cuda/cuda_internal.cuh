// cuda_internal.cuh — shared by the CUDA backend's files (not a public header: model code sees
// only model/backend.h): the context, the fail-fast check and each file's ops.
#ifndef FLUXRL_CUDA_INTERNAL_CUH
#define FLUXRL_CUDA_INTERNAL_CUH

#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "cuda_backend.h" // fx.h and backend.h, with C linkage

// Every CUDA call: an error is a bug or a broken device, fatal with file:line (llm.c's cudaCheck).
#define CUDA_CHECK(call)                                                                       \
    do {                                                                                       \
        cudaError_t cuda_rc_ = (call);                                                         \
        if (cuda_rc_ != cudaSuccess)                                                           \
            fx_fatal_at(__FILE__, __LINE__, FX_EXIT_FAIL, "CUDA error: %s (%s)", cudaGetErrorString(cuda_rc_), \
                        #call);                                                                \
    } while (0)
#define CUBLAS_CHECK(call)                                                                     \
    do {                                                                                       \
        cublasStatus_t cublas_rc_ = (call);                                                    \
        if (cublas_rc_ != CUBLAS_STATUS_SUCCESS)                                               \
            fx_fatal_at(__FILE__, __LINE__, FX_EXIT_FAIL, "cuBLASLt error %d (%s)", (int)cublas_rc_, #call); \
    } while (0)
// After a kernel launch: launch errors at once (execution errors surface at the next sync).
#define CUDA_LAUNCHED() CUDA_CHECK(cudaGetLastError())

typedef enum { CUDA_MM_FP32 = 0, CUDA_MM_BF16, CUDA_MM_TF32 } cuda_mm_mode;

// One cached matmul plan: the layouts and the algorithm cuBLASLt chose for one shape.
typedef struct {
    int M, N, K;
    bool ta, tb, acc;
    cuda_mm_mode mode;
    int align; // min alignment in bytes of a, b, c (cuBLASLt picks algorithms per alignment)
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtMatmulAlgo_t algo;
} cuda_mm_plan;

enum { CUDA_MM_PLANS = 128 };

typedef struct {
    uintptr_t lo, hi;
} cuda_range;
typedef struct {
    uintptr_t base;
    size_t bytes;
} cuda_alloc_rec;
typedef struct { // a kept bf16 copy of a parameter tensor (cuda_bf16.cu)
    const float *src;
    size_t n;
    __nv_bfloat16 *dst;
    unsigned long long gen; // param_gen when converted
} cuda_bf16_entry;

enum { CUDA_MAX_PARAM_RANGES = 256, CUDA_MAX_CACHED = 1024, CUDA_MAX_ALLOCS = 4096 };

typedef struct {
    int device;
    backend_cuda_precision prec;
    cudaStream_t stream;
    cublasLtHandle_t lt;
    void *workspace; // cuBLASLt's
    size_t workspace_bytes;
    __nv_bfloat16 *bf_a, *bf_b; // bf16 copies of a matmul's inputs (BF16 precision)
    size_t bf_a_cap, bf_b_cap;  // in elements
    cuda_mm_plan plans[CUDA_MM_PLANS];
    int nplans;
    double *partials; // (CUDA_SUMSQ_BLOCKS) sumsq block sums
    double *host_partials;
    float *attn_d;    // rowsum(dO * O) scratch of attention backward
    size_t attn_d_cap;
    float *rows_ws;   // linear_rows' partial sums per chunk (cuda_rows.cu)
    size_t rows_ws_cap;
    int smem_optin;   // bytes of shared memory a block may opt into
    // parameters and their bf16 copies (cuda_bf16.cu)
    cuda_range params[CUDA_MAX_PARAM_RANGES];
    int nparams;
    unsigned long long param_gen;
    cuda_bf16_entry cache[CUDA_MAX_CACHED];
    int ncache;
    cuda_alloc_rec allocs[CUDA_MAX_ALLOCS];
    int nallocs;
} cuda_ctx;

enum { CUDA_SUMSQ_BLOCKS = 1024 };

static inline unsigned cuda_blocks(size_t n, unsigned threads) {
    size_t b = (n + threads - 1) / threads;
    return (unsigned)(b > 65535u * 16u ? 65535u * 16u : b); // grid-stride loops cover the rest
}

// Thread i of the grid, then every gridDim.x * blockDim.x after it, below n (the loop of an
// elementwise kernel launched with cuda_blocks).
#define GRID_STRIDE(i, n) for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); \
                               i += (size_t)gridDim.x * blockDim.x)

// cuda_bf16.cu
void cuda_alloc_note(cuda_ctx *x, void *p, size_t bytes);
void cuda_free_note(cuda_ctx *x, void *p);
void cuda_param_register(cuda_ctx *x, const float *p, size_t n); // AdamW's p
void cuda_param_touch(cuda_ctx *x, const void *p, size_t bytes); // any write
// A bf16 copy of src (n floats): kept for parameters, else in scratch `slot` (0 or 1).
const __nv_bfloat16 *cuda_bf16_operand(cuda_ctx *x, const float *src, size_t n, int slot);
void cuda_bf16_free(cuda_ctx *x);

// cuda_matmul.cu
void cuda_matmul(void *ctx, float *c, const float *a, const float *b, int M, int N, int K, bool ta, bool tb,
                 bool accumulate);
void cuda_matmul_free(cuda_ctx *x);

// cuda_rows.cu
void cuda_linear_rows(void *ctx, float *y, const float *x, const float *w, const float *b, int M, int K, int N);
void cuda_rows_free(cuda_ctx *x);

// cuda_layers.cu
void cuda_add_bias(void *ctx, float *out, const float *bias, int N, int OC);
void cuda_bias_backward(void *ctx, float *dbias, const float *dout, int N, int OC);
void cuda_embedding_forward(void *ctx, float *out, const int32_t *ids, const float *wte, int N, int C);
void cuda_embedding_backward(void *ctx, float *dwte, const float *dout, const int32_t *ids, int N, int C);
void cuda_rmsnorm_forward(void *ctx, float *out, float *rstd, const float *inp, const float *w, int N, int C,
                          float eps);
void cuda_rmsnorm_backward(void *ctx, float *dinp, float *dw, const float *dout, const float *inp, const float *w,
                           const float *rstd, int N, int C);
void cuda_rope_forward(void *ctx, float *x, const int32_t *pos, int N, int nh, int HS, float theta);
void cuda_rope_backward(void *ctx, float *dx, const int32_t *pos, int N, int nh, int HS, float theta);
void cuda_swiglu_forward(void *ctx, float *out, const float *gate, const float *up, size_t n);
void cuda_swiglu_backward(void *ctx, float *dgate, float *dup, const float *dout, const float *gate,
                          const float *up, size_t n);
void cuda_relu_forward(void *ctx, float *out, const float *inp, size_t n);
void cuda_relu_backward(void *ctx, float *dinp, const float *dout, const float *inp, size_t n);
void cuda_logprob_forward(void *ctx, float *logp, float *lse, float *entropy, const float *logits,
                          const int32_t *targets, int n, int V);
void cuda_logprob_backward(void *ctx, float *logits, const int32_t *targets, const float *lse, const float *entropy,
                           const float *dlogp, const float *dent, int n, int V);

// cuda_attention.cu
void cuda_attention_forward(void *ctx, float *out, float *lse, const float *q, const float *k, const float *v,
                            const int32_t *seg_q, const int32_t *seg_k, backend_attn_shape s);
void cuda_attention_backward(void *ctx, float *dq, float *dk, float *dv, const float *dout, const float *out,
                             const float *lse, const float *q, const float *k, const float *v,
                             const int32_t *seg_q, const int32_t *seg_k, backend_attn_shape s);
void cuda_attention_free(cuda_ctx *x);

#endif
