// cuda_backend.cu — the CUDA backend's vtable, memory, elementwise ops, sumsq and AdamW.
// One stream per backend; every op is queued on it, and download waits for it. Kernels are plain
// grid-stride loops in fp32; the heavy ops live in cuda_matmul.cu, cuda_rows.cu, cuda_layers.cu,
// cuda_attention.cu.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_internal.cuh"

#define X(ctx) ((cuda_ctx *)(ctx))

static void *cuda_alloc(void *ctx, size_t bytes) {
    void *p = NULL;
    size_t size = bytes ? (bytes + 255) & ~(size_t)255 : 256;
    cudaError_t e = cudaMalloc(&p, size);
    if (e != cudaSuccess)
        fx_fatal("CUDA: cannot allocate %zu bytes on device %d: %s", bytes, X(ctx)->device, cudaGetErrorString(e));
    CUDA_CHECK(cudaMemsetAsync(p, 0, size, X(ctx)->stream));
    cuda_alloc_note(X(ctx), p, size);
    return p;
}

static void cuda_free(void *ctx, void *p) {
    if (!p) return;
    CUDA_CHECK(cudaStreamSynchronize(X(ctx)->stream)); // queued work may still read it
    cuda_free_note(X(ctx), p);
    CUDA_CHECK(cudaFree(p));
}

static void cuda_upload(void *ctx, void *dst, const void *src, size_t bytes) {
    if (!bytes) return;
    cuda_param_touch(X(ctx), dst, bytes);
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, X(ctx)->stream));
    CUDA_CHECK(cudaStreamSynchronize(X(ctx)->stream)); // the caller may reuse src at once
}

static void cuda_download(void *ctx, void *dst, const void *src, size_t bytes) {
    if (!bytes) return;
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, X(ctx)->stream));
    CUDA_CHECK(cudaStreamSynchronize(X(ctx)->stream));
}

static void cuda_copy(void *ctx, void *dst, const void *src, size_t bytes) {
    if (!bytes) return;
    cuda_param_touch(X(ctx), dst, bytes);
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, X(ctx)->stream));
}

static void cuda_zero(void *ctx, void *dst, size_t bytes) {
    if (!bytes) return;
    cuda_param_touch(X(ctx), dst, bytes);
    CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, X(ctx)->stream));
}

// --- elementwise ------------------------------------------------------------------------------------

__global__ static void add_kernel(float *out, const float *a, const float *b, size_t n) {
    GRID_STRIDE(i, n) out[i] = a[i] + b[i];
}
__global__ static void axpy_kernel(float *y, const float *x, float alpha, size_t n) {
    GRID_STRIDE(i, n) y[i] += alpha * x[i];
}
__global__ static void scale_kernel(float *x, float s, size_t n) {
    GRID_STRIDE(i, n) x[i] *= s;
}

static void cuda_add(void *ctx, float *out, const float *a, const float *b, size_t n) {
    if (!n) return;
    cuda_param_touch(X(ctx), out, n * sizeof(float));
    add_kernel<<<cuda_blocks(n, 256), 256, 0, X(ctx)->stream>>>(out, a, b, n);
    CUDA_LAUNCHED();
}
static void cuda_axpy(void *ctx, float *y, const float *x, float alpha, size_t n) {
    if (!n) return;
    cuda_param_touch(X(ctx), y, n * sizeof(float));
    axpy_kernel<<<cuda_blocks(n, 256), 256, 0, X(ctx)->stream>>>(y, x, alpha, n);
    CUDA_LAUNCHED();
}
static void cuda_scale(void *ctx, float *x, float s, size_t n) {
    if (!n) return;
    cuda_param_touch(X(ctx), x, n * sizeof(float));
    scale_kernel<<<cuda_blocks(n, 256), 256, 0, X(ctx)->stream>>>(x, s, n);
    CUDA_LAUNCHED();
}

// Fixed grid, one double per block, summed on the host in block order: the result does not
// depend on timing (no atomics).
__global__ static void sumsq_kernel(double *partials, const float *x, size_t n) {
    __shared__ double part[256];
    float s = 0; // float partial sums over a thread's strided elements, then double
    GRID_STRIDE(i, n) s += x[i] * x[i];
    part[threadIdx.x] = s;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w /= 2) {
        if ((int)threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) partials[blockIdx.x] = part[0];
}

static double cuda_sumsq(void *ctx, const float *x, size_t n) {
    cuda_ctx *c = X(ctx);
    if (!n) return 0;
    sumsq_kernel<<<CUDA_SUMSQ_BLOCKS, 256, 0, c->stream>>>(c->partials, x, n);
    CUDA_LAUNCHED();
    CUDA_CHECK(cudaMemcpyAsync(c->host_partials, c->partials, CUDA_SUMSQ_BLOCKS * sizeof(double),
                               cudaMemcpyDeviceToHost, c->stream));
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    double total = 0;
    for (int i = 0; i < CUDA_SUMSQ_BLOCKS; i++) total += c->host_partials[i];
    return total;
}

// torch.optim.AdamW's single-tensor path (model/backend.h), as cpu_adamw runs it.
__global__ static void adamw_kernel(float *p, const float *g, float *m, float *v, size_t n, backend_adamw_step k) {
    GRID_STRIDE(i, n) backend_adamw_one(p, g, m, v, i, k);
}

// A sharded rank's gather wrote every slice but its own: the whole buffer is a parameter (its
// bf16 copy kept from the next matmul on, not rounded again at every call), all copies stale.
static void cuda_params_written(void *ctx, const float *p, size_t n) {
    if (!n) return;
    cuda_param_register(X(ctx), p, n);
    X(ctx)->param_gen++;
}

static void cuda_adamw(void *ctx, float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                       float b2, float eps, float wd, int t) {
    if (!n) return;
    cuda_param_register(X(ctx), p, n); // p is a parameter: its bf16 copy may be kept (cuda_bf16.cu)
    cuda_param_touch(X(ctx), p, n * sizeof(float));
    adamw_kernel<<<cuda_blocks(n, 256), 256, 0, X(ctx)->stream>>>(p, g, m, v, n,
                                                                  backend_adamw_at(lr, b1, b2, eps, wd, t));
    CUDA_LAUNCHED();
}

// --- the backend ----------------------------------------------------------------------------------------

static void cuda_destroy(backend *be) {
    cuda_ctx *c = X(be->ctx);
    CUDA_CHECK(cudaSetDevice(c->device));
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    cuda_matmul_free(c);
    cuda_bf16_free(c);
    cuda_attention_free(c);
    cuda_rows_free(c);
    CUDA_CHECK(cudaFree(c->partials));
    CUDA_CHECK(cudaFreeHost(c->host_partials));
    CUBLAS_CHECK(cublasLtDestroy(c->lt));
    CUDA_CHECK(cudaStreamDestroy(c->stream));
    free(c);
    free(be);
}

extern "C" int backend_cuda_device_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); // no driver or no device: clear the error for later calls
        return 0;
    }
    return n;
}

extern "C" void backend_cuda_sync(const backend *be) {
    CUDA_CHECK(cudaStreamSynchronize(X(be->ctx)->stream));
}

extern "C" void *backend_cuda_stream(const backend *be) { return (void *)X(be->ctx)->stream; }

extern "C" backend *backend_cuda_create(int device, backend_cuda_precision prec, fx_err *err) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        fx_errf(err, "cuda: no CUDA device (%s)", e != cudaSuccess ? cudaGetErrorString(e) : "none visible");
        cudaGetLastError();
        return NULL;
    }
    if (device < 0 || device >= n) {
        fx_errf(err, "cuda: device %d: expected 0..%d", device, n - 1);
        return NULL;
    }
    CUDA_CHECK(cudaSetDevice(device));
    cuda_ctx *c = (cuda_ctx *)fx_calloc(1, sizeof *c);
    c->device = device, c->prec = prec;
    CUDA_CHECK(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    CUBLAS_CHECK(cublasLtCreate(&c->lt));
    c->workspace_bytes = (size_t)32 << 20;
    CUDA_CHECK(cudaMalloc(&c->workspace, c->workspace_bytes));
    CUDA_CHECK(cudaMalloc(&c->partials, CUDA_SUMSQ_BLOCKS * sizeof(double)));
    CUDA_CHECK(cudaMallocHost(&c->host_partials, CUDA_SUMSQ_BLOCKS * sizeof(double)));
    CUDA_CHECK(cudaDeviceGetAttribute(&c->smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
    backend *be = (backend *)fx_calloc(1, sizeof *be);
    be->name = "cuda";
    be->ctx = c;
    be->nthreads = 1;
    be->destroy = cuda_destroy;
    be->alloc = cuda_alloc;
    be->free = cuda_free;
    be->upload = cuda_upload;
    be->download = cuda_download;
    be->copy = cuda_copy;
    be->zero = cuda_zero;
    be->matmul = cuda_matmul;
    be->linear_rows = cuda_linear_rows;
    be->add_bias = cuda_add_bias;
    be->bias_backward = cuda_bias_backward;
    be->embedding_forward = cuda_embedding_forward;
    be->embedding_backward = cuda_embedding_backward;
    be->rmsnorm_forward = cuda_rmsnorm_forward;
    be->rmsnorm_backward = cuda_rmsnorm_backward;
    be->rope_forward = cuda_rope_forward;
    be->rope_backward = cuda_rope_backward;
    be->attention_forward = cuda_attention_forward;
    be->attention_backward = cuda_attention_backward;
    be->swiglu_forward = cuda_swiglu_forward;
    be->swiglu_backward = cuda_swiglu_backward;
    be->relu_forward = cuda_relu_forward;
    be->relu_backward = cuda_relu_backward;
    be->add = cuda_add;
    be->axpy = cuda_axpy;
    be->scale = cuda_scale;
    be->sumsq = cuda_sumsq;
    be->logprob_forward = cuda_logprob_forward;
    be->logprob_backward = cuda_logprob_backward;
    be->adamw = cuda_adamw;
    be->params_written = cuda_params_written;
    return be;
}
