// cuda_backend.h — the CUDA backend (model/backend.h on one GPU). C-callable from every build: a
// build without CUDA (FLUXRL_CUDA=OFF, or no nvcc) links a stub that returns NULL with err set.
//
// Buffers are device memory, fp32 throughout, as the vtable fixes. The precision picks what the
// matmuls compute in: FP32 (fp32 inputs, fp32 products, TF32 off: for checking against the CPU)
// or BF16 (inputs rounded to bf16 inside matmul, fp32 accumulation and fp32 output; the master
// weights, gradients and AdamW moments stay fp32). Every other op runs in fp32 in both.
#ifndef FLUXRL_CUDA_BACKEND_H
#define FLUXRL_CUDA_BACKEND_H

#ifdef __cplusplus
extern "C" {
#endif

#include "../../core/fx.h"
#include "../backend.h"

typedef enum { BACKEND_CUDA_FP32 = 0, BACKEND_CUDA_BF16 } backend_cuda_precision;

// The backend on device `device` (cudaSetDevice). NULL with err filled when the build has no
// CUDA backend, no device is visible or `device` is out of range.
backend *backend_cuda_create(int device, backend_cuda_precision prec, fx_err *err);
// Waits for every op queued on the backend's stream (for timing; download already waits).
void backend_cuda_sync(const backend *be);
// The backend's cudaStream_t (as void *, so that C code needs no CUDA header): the stream every op
// is queued on, for NCCL collectives on the same buffers (comm/nccl.h).
void *backend_cuda_stream(const backend *be);
// The number of visible CUDA devices (0 in a build without CUDA, or with no driver).
int backend_cuda_device_count(void);

#ifdef __cplusplus
}
#endif

#endif
