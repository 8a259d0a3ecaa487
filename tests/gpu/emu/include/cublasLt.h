// cublasLt.h (emulator) — the types the backend's context holds, and create/destroy.
#ifndef FLUXRL_EMU_CUBLASLT_H
#define FLUXRL_EMU_CUBLASLT_H
typedef enum { CUBLAS_STATUS_SUCCESS = 0 } cublasStatus_t;
typedef void *cublasLtHandle_t;
typedef void *cublasLtMatmulDesc_t;
typedef void *cublasLtMatrixLayout_t;
typedef struct {
    unsigned long long data[8];
} cublasLtMatmulAlgo_t;
static inline cublasStatus_t cublasLtCreate(cublasLtHandle_t *h) {
    *h = 0;
    return CUBLAS_STATUS_SUCCESS;
}
static inline cublasStatus_t cublasLtDestroy(cublasLtHandle_t h) {
    (void)h;
    return CUBLAS_STATUS_SUCCESS;
}
#endif
