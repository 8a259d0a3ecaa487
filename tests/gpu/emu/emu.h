// emu.h — a CPU emulator for the CUDA backend's kernels, so that CI (no GPU) runs test_cuda_ops
// against the kernels' real index arithmetic, masks, reductions and barriers. Every CUDA thread
// is a fiber; the blocks of a launch run one after another; a block's fibers run
// round-robin until each finishes or waits at __syncthreads (all live threads of the block) or at
// a warp barrier (__syncwarp, and each __shfl_xor_sync: all live lanes of the warp). A barrier no
// live thread can pass is reported as a deadlock. Shared memory is plain static memory (blocks
// never overlap); dynamic shared memory and cudaMalloc'd memory start as NaN bytes, so reading
// what no thread wrote shows up as NaN. Not emulated: timing, memory ordering between blocks
// (atomics are plain adds), and anything the backend does not use.
//
// Fibers: one per thread slot of a block (MAX_THREADS), each made once with makecontext on a stack
// of its own and kept for every later block and launch: it runs the kernel body for whichever
// thread the scheduler gives it, marks itself done and waits for the next. Switching is
// _setjmp/_longjmp, which saves no signal mask (swapcontext makes a system call on every switch:
// two per thread per segment, most of the test's time before). Only a fiber's first start goes
// through swapcontext. Not for the sanitizer builds (stack switching), which do not build it.
#ifndef FLUXRL_EMU_H
#define FLUXRL_EMU_H

#include <functional>
#include <type_traits>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <string.h>
#include <ucontext.h>

#define __global__
#define __device__
#define __host__
#define __shared__ static
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

namespace emu {

enum { MAX_THREADS = 1024, STACK = 128 * 1024 };

struct fiber {
    ucontext_t ctx; // its first start only
    jmp_buf jb;     // where it waits to be resumed
    int wait;       // 0 runnable, 1 block barrier, 2 warp barrier
    bool done, started;
};

struct state {
    dim3 grid, block;
    fiber f[MAX_THREADS];
    char *stacks = nullptr;
    ucontext_t sched;  // swapcontext's save area for a fiber's first start (never resumed)
    jmp_buf sched_jb;  // where the scheduler waits for the running fiber to yield
    int cur = 0, nthreads = 0;
    std::function<void()> body;
    float slots[MAX_THREADS];
    unsigned char *dyn = nullptr;
    size_t dyn_cap = 0;
    bool reverse = false;
};

inline state &st() {
    static state s;
    return s;
}

} // namespace emu

// The built-in variables: globals, set by the scheduler before it resumes a fiber.
inline dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace emu {

// From the running fiber back to the scheduler; returns when the scheduler resumes this fiber.
inline void to_scheduler() {
    state &s = st();
    if (!_setjmp(s.f[s.cur].jb)) _longjmp(s.sched_jb, 1);
}

inline void yield_wait(int kind) {
    state &s = st();
    s.f[s.cur].wait = kind;
    to_scheduler();
}

// A fiber's whole life: the body of the thread it is given, then wait for the next.
inline void trampoline() {
    state &s = st();
    for (;;) {
        s.body();
        s.f[s.cur].done = true;
        to_scheduler();
    }
}

// From the scheduler into fiber t until it yields.
inline void resume(int t) {
    state &s = st();
    fiber &f = s.f[t];
    if (_setjmp(s.sched_jb)) return;
    if (f.started) _longjmp(f.jb, 1);
    f.started = true;
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = s.stacks + (size_t)t * STACK;
    f.ctx.uc_stack.ss_size = STACK;
    f.ctx.uc_link = nullptr;
    makecontext(&f.ctx, trampoline, 0);
    swapcontext(&s.sched, &f.ctx); // left by _longjmp(sched_jb), never returned from
}

inline void set_thread(int t) {
    state &s = st();
    threadIdx = dim3(t % s.block.x, (t / s.block.x) % s.block.y, t / (s.block.x * s.block.y));
}

// Runs one block to the end.
inline void run_block() {
    state &s = st();
    int n = s.nthreads;
    if (!s.stacks) s.stacks = (char *)malloc((size_t)MAX_THREADS * STACK);
    for (int t = 0; t < n; t++) s.f[t].wait = 0, s.f[t].done = false;
    // Every other block runs its threads in reverse order: a read of shared memory that another
    // warp writes without a barrier in between then sees the NaN it started as, in one order or
    // the other.
    bool reverse = s.reverse;
    s.reverse = !s.reverse;
    for (;;) {
        bool ran = false;
        for (int i = 0; i < n; i++) {
            int t = reverse ? n - 1 - i : i;
            fiber &f = s.f[t];
            if (f.done || f.wait) continue;
            s.cur = t;
            set_thread(t);
            resume(t);
            ran = true;
        }
        int live = 0, at_block = 0;
        for (int t = 0; t < n; t++)
            if (!s.f[t].done) live++, at_block += s.f[t].wait == 1;
        if (live == 0) return;
        bool released = false;
        if (at_block == live) {
            for (int t = 0; t < n; t++) s.f[t].wait = 0;
            released = true;
        }
        for (int w0 = 0; w0 < n; w0 += 32) { // warps: all live lanes at the warp barrier
            int wl = 0, ww = 0;
            for (int t = w0; t < w0 + 32 && t < n; t++)
                if (!s.f[t].done) wl++, ww += s.f[t].wait == 2;
            if (wl > 0 && ww == wl) {
                for (int t = w0; t < w0 + 32 && t < n; t++) s.f[t].wait = 0;
                released = true;
            }
        }
        if (!ran && !released) {
            fprintf(stderr, "emu: deadlock in block (%u,%u,%u): %d live threads, %d at __syncthreads\n", blockIdx.x,
                    blockIdx.y, blockIdx.z, live, at_block);
            abort();
        }
    }
}

struct launch {
    dim3 grid, block;
    size_t smem;
    launch(dim3 g, dim3 b, size_t sm = 0, void *stream = nullptr) : grid(g), block(b), smem(sm) { (void)stream; }
    template <typename F, typename... A> void run(F kernel, A... args) {
        state &s = st();
        s.grid = grid, s.block = block;
        s.nthreads = (int)(block.x * block.y * block.z);
        if (s.nthreads > MAX_THREADS) {
            fprintf(stderr, "emu: %d threads per block\n", s.nthreads);
            abort();
        }
        if (smem > s.dyn_cap) s.dyn = (unsigned char *)realloc(s.dyn, smem), s.dyn_cap = smem;
        s.body = [=]() { kernel(args...); };
        gridDim = grid, blockDim = block;
        for (unsigned z = 0; z < grid.z; z++)
            for (unsigned y = 0; y < grid.y; y++)
                for (unsigned x = 0; x < grid.x; x++) {
                    blockIdx = dim3(x, y, z);
                    if (smem) memset(s.dyn, 0xff, smem); // NaN: shared memory starts undefined
                    run_block();
                }
    }
};

inline void *dynamic_smem() { return st().dyn; }

} // namespace emu

inline void __syncthreads() { emu::yield_wait(1); }
inline void __syncwarp(unsigned mask = 0xffffffffu) {
    (void)mask;
    emu::yield_wait(2);
}
inline float __shfl_xor_sync(unsigned mask, float v, int lane_mask) {
    emu::state &s = emu::st();
    int t = s.cur, lane = t % 32;
    s.slots[t] = v;
    __syncwarp(mask);
    float r = s.slots[t - lane + (lane ^ lane_mask)];
    __syncwarp(mask);
    return r;
}
inline float atomicAdd(float *p, float v) {
    float old = *p;
    *p = old + v;
    return old;
}

// --- WMMA (mma.h): a fragment holds its whole 16x16 tile; lane 0 of the warp does the loads, the
// products and the stores for the warp (the other lanes' fragments are never read), and loads
// and stores are warp-collective as on the GPU (a warp barrier before and after).
#include "cuda_bf16.h"
namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };
template <typename Use, int M, int N, int K, typename T, typename Layout = void> struct fragment {
    float v[16 * 16];
};
inline float emu_val(float x) { return x; }
inline float emu_val(__nv_bfloat16 x) { return __bfloat162float(x); }
template <typename U, typename T, typename Lay>
inline void fill_fragment(fragment<U, 16, 16, 16, T, Lay> &f, float x) {
    for (int i = 0; i < 256; i++) f.v[i] = x;
}
template <typename U, typename T, typename Lay, typename P>
inline void load_matrix_sync(fragment<U, 16, 16, 16, T, Lay> &f, const P *p, unsigned ldm) {
    __syncwarp();
    bool col = std::is_same<Lay, col_major>::value;
    if (emu::st().cur % 32 == 0)
        for (int r = 0; r < 16; r++)
            for (int c = 0; c < 16; c++) f.v[r * 16 + c] = emu_val(col ? p[c * ldm + r] : p[r * ldm + c]);
    __syncwarp();
}
template <typename T>
inline void load_matrix_sync(fragment<accumulator, 16, 16, 16, T> &f, const float *p, unsigned ldm, layout_t l) {
    __syncwarp();
    if (emu::st().cur % 32 == 0)
        for (int r = 0; r < 16; r++)
            for (int c = 0; c < 16; c++) f.v[r * 16 + c] = l == mem_row_major ? p[r * ldm + c] : p[c * ldm + r];
    __syncwarp();
}
template <typename T>
inline void store_matrix_sync(float *p, const fragment<accumulator, 16, 16, 16, T> &f, unsigned ldm, layout_t l) {
    __syncwarp();
    if (emu::st().cur % 32 == 0)
        for (int r = 0; r < 16; r++)
            for (int c = 0; c < 16; c++) (l == mem_row_major ? p[r * ldm + c] : p[c * ldm + r]) = f.v[r * 16 + c];
    __syncwarp();
}
template <typename Ta, typename La, typename Tb, typename Lb, typename T>
inline void mma_sync(fragment<accumulator, 16, 16, 16, T> &d, const fragment<matrix_a, 16, 16, 16, Ta, La> &a,
                     const fragment<matrix_b, 16, 16, 16, Tb, Lb> &b, const fragment<accumulator, 16, 16, 16, T> &c) {
    if (emu::st().cur % 32 != 0) return;
    float out[256];
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++) {
            float s = c.v[i * 16 + j];
            for (int k = 0; k < 16; k++) s += a.v[i * 16 + k] * b.v[k * 16 + j];
            out[i * 16 + j] = s;
        }
    memcpy(d.v, out, sizeof out);
}
} // namespace wmma
} // namespace nvcuda

// --- the runtime API, on host memory -------------------------------------------------------------
typedef enum { cudaSuccess = 0, cudaErrorMemoryAllocation = 2 } cudaError_t;
typedef void *cudaStream_t;
typedef enum { cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice } cudaMemcpyKind;
enum { cudaStreamNonBlocking = 1, cudaDevAttrMaxSharedMemoryPerBlockOptin = 97,
       cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };

inline const char *cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : "emulated error"; }
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline cudaError_t cudaGetDeviceCount(int *n) {
    *n = 1;
    return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : cudaErrorMemoryAllocation; }
inline cudaError_t cudaDeviceGetAttribute(int *v, int attr, int dev) {
    (void)attr, (void)dev;
    *v = 227 * 1024; // sm_90's opt-in shared memory per block
    return cudaSuccess;
}
template <typename T> inline cudaError_t cudaMalloc(T **p, size_t bytes) {
    *p = (T *)malloc(bytes ? bytes : 1);
    if (!*p) return cudaErrorMemoryAllocation;
    memset((void *)*p, 0xff, bytes); // NaN until written
    return cudaSuccess;
}
template <typename T> inline cudaError_t cudaMallocHost(T **p, size_t bytes) { return cudaMalloc(p, bytes); }
inline cudaError_t cudaFree(void *p) {
    free(p);
    return cudaSuccess;
}
inline cudaError_t cudaFreeHost(void *p) { return cudaFree(p); }
inline cudaError_t cudaMemsetAsync(void *p, int v, size_t n, cudaStream_t s = nullptr) {
    (void)s;
    memset(p, v, n);
    return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void *d, const void *src, size_t n, cudaMemcpyKind k, cudaStream_t s = nullptr) {
    (void)k, (void)s;
    memmove(d, src, n);
    return cudaSuccess;
}
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags) {
    (void)flags;
    *s = nullptr;
    return cudaSuccess;
}
inline cudaError_t cudaStreamDestroy(cudaStream_t s) {
    (void)s;
    return cudaSuccess;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t s) {
    (void)s;
    return cudaSuccess;
}
template <typename F> inline cudaError_t cudaFuncSetAttribute(F f, int attr, int v) {
    (void)f, (void)attr, (void)v;
    return cudaSuccess;
}

#endif
