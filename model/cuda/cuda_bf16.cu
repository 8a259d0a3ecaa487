// cuda_bf16.cu — bf16 copies of matmul operands (BF16 precision). An activation is rounded into
// a scratch buffer at every call. A parameter is rounded once and the copy kept while it is
// valid: parameters are the ranges AdamW has been called on (so caching starts after the first
// optimiser step, and inference-only use never caches), and every write into any of them (adamw,
// upload, copy, zero, elementwise ops, a matmul output) bumps a generation that makes all cached
// copies stale. Freeing an allocation forgets the ranges and copies inside it, so that reused
// memory is never mistaken for a parameter.
#include <string.h>

#include "cuda_internal.cuh"

__global__ static void to_bf16_kernel(__nv_bfloat16 *out, const float *in, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        out[i] = __float2bfloat16_rn(in[i]);
}

static void convert(cuda_ctx *x, __nv_bfloat16 *dst, const float *src, size_t n) {
    to_bf16_kernel<<<cuda_blocks(n, 256), 256, 0, x->stream>>>(dst, src, n);
    CUDA_LAUNCHED();
}

static bool overlaps(uintptr_t lo, uintptr_t hi, uintptr_t a, uintptr_t b) { return lo < b && a < hi; }

void cuda_alloc_note(cuda_ctx *x, void *p, size_t bytes) {
    if (x->nallocs == CUDA_MAX_ALLOCS) return; // untracked: cuda_free_note then cannot forget ranges in it
    x->allocs[x->nallocs++] = (cuda_alloc_rec){(uintptr_t)p, bytes};
}

void cuda_free_note(cuda_ctx *x, void *p) {
    uintptr_t lo = (uintptr_t)p, hi = lo;
    for (int i = 0; i < x->nallocs; i++)
        if (x->allocs[i].base == lo) {
            hi = lo + x->allocs[i].bytes;
            x->allocs[i] = x->allocs[--x->nallocs];
            break;
        }
    if (hi == lo) { // not tracked: forget every parameter and copy (safe, only slower)
        lo = 0, hi = UINTPTR_MAX;
    }
    int k = 0;
    for (int i = 0; i < x->nparams; i++)
        if (!overlaps(lo, hi, x->params[i].lo, x->params[i].hi)) x->params[k++] = x->params[i];
    x->nparams = k;
    k = 0;
    for (int i = 0; i < x->ncache; i++) {
        cuda_bf16_entry *e = &x->cache[i];
        if (overlaps(lo, hi, (uintptr_t)e->src, (uintptr_t)(e->src + e->n))) CUDA_CHECK(cudaFree(e->dst));
        else x->cache[k++] = *e;
    }
    x->ncache = k;
    x->param_gen++;
}

void cuda_param_register(cuda_ctx *x, const float *p, size_t n) {
    uintptr_t lo = (uintptr_t)p, hi = (uintptr_t)(p + n);
    for (int i = 0; i < x->nparams; i++) { // grow a neighbouring range (AdamW goes tensor by tensor)
        cuda_range *r = &x->params[i];
        if (lo <= r->hi && r->lo <= hi) {
            r->lo = lo < r->lo ? lo : r->lo;
            r->hi = hi > r->hi ? hi : r->hi;
            return;
        }
    }
    if (x->nparams < CUDA_MAX_PARAM_RANGES) x->params[x->nparams++] = (cuda_range){lo, hi};
}

void cuda_param_touch(cuda_ctx *x, const void *p, size_t bytes) {
    uintptr_t lo = (uintptr_t)p, hi = lo + bytes;
    for (int i = 0; i < x->nparams; i++)
        if (overlaps(lo, hi, x->params[i].lo, x->params[i].hi)) {
            x->param_gen++;
            return;
        }
}

static bool is_param(const cuda_ctx *x, const float *p, size_t n) {
    uintptr_t lo = (uintptr_t)p, hi = (uintptr_t)(p + n);
    for (int i = 0; i < x->nparams; i++)
        if (x->params[i].lo <= lo && hi <= x->params[i].hi) return true;
    return false;
}

const __nv_bfloat16 *cuda_bf16_operand(cuda_ctx *x, const float *src, size_t n, int slot) {
    if (is_param(x, src, n)) {
        for (int i = 0; i < x->ncache; i++) {
            cuda_bf16_entry *e = &x->cache[i];
            if (e->src != src || e->n != n) continue;
            if (e->gen != x->param_gen) convert(x, e->dst, src, n), e->gen = x->param_gen;
            return e->dst;
        }
        if (x->ncache < CUDA_MAX_CACHED) {
            cuda_bf16_entry *e = &x->cache[x->ncache++];
            e->src = src, e->n = n, e->gen = x->param_gen;
            CUDA_CHECK(cudaMalloc((void **)&e->dst, n * sizeof(__nv_bfloat16)));
            convert(x, e->dst, src, n);
            return e->dst;
        }
    }
    __nv_bfloat16 **buf = slot ? &x->bf_b : &x->bf_a;
    size_t *cap = slot ? &x->bf_b_cap : &x->bf_a_cap;
    if (n > *cap) {
        if (*buf) {
            CUDA_CHECK(cudaStreamSynchronize(x->stream));
            CUDA_CHECK(cudaFree(*buf));
        }
        size_t want = n + n / 4;
        CUDA_CHECK(cudaMalloc((void **)buf, want * sizeof(__nv_bfloat16)));
        *cap = want;
    }
    convert(x, *buf, src, n);
    return *buf;
}

void cuda_bf16_free(cuda_ctx *x) {
    for (int i = 0; i < x->ncache; i++) CUDA_CHECK(cudaFree(x->cache[i].dst));
    x->ncache = 0;
    CUDA_CHECK(cudaFree(x->bf_a));
    CUDA_CHECK(cudaFree(x->bf_b));
    x->bf_a = x->bf_b = NULL, x->bf_a_cap = x->bf_b_cap = 0;
}
