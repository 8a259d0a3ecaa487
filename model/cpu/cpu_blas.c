// cpu_blas.c — matmul on OpenBLAS's sgemm.
// One thread pool only: OpenMP's. OpenBLAS (pthreads build) would keep a pool of its own, and on
// a small machine the two pools take turns spinning on the same cores (measured: a fifth of a
// training step lost to sched_yield and OpenMP's spin-wait). So OpenBLAS runs single-threaded and
// a big matmul is cut into one slice of rows (or columns) of C per OpenMP thread, each slice one
// sgemm call.
#include <cblas.h>

#include "cpu.h"

void cpu_blas_threads(int n) {
    // Asked each time rather than remembered: other code in the process may have changed it.
    if (openblas_get_num_threads() != n) openblas_set_num_threads(n);
}

void cpu_matmul(void *ctx, float *c, const float *a, const float *b, int M, int N, int K, bool ta, bool tb,
                bool accumulate) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (!accumulate)
            for (size_t i = 0; i < (size_t)M * (size_t)N; i++) c[i] = 0;
        return;
    }
    int nt = ((cpu_ctx *)ctx)->nthreads;
    int lda = ta ? M : K, ldb = tb ? K : N;
    float beta = accumulate ? 1.0f : 0.0f;
    CBLAS_TRANSPOSE opa = ta ? CblasTrans : CblasNoTrans, opb = tb ? CblasTrans : CblasNoTrans;
    cpu_blas_threads(1);
    if (nt == 1 || (double)M * N * K < 1e6) {
        cblas_sgemm(CblasRowMajor, opa, opb, M, N, K, 1.0f, a, lda, b, ldb, beta, c, N);
        return;
    }
    // Slice the longer side of C into up to 4 pieces per thread (at least 64 wide, multiples of
    // 16) handed out dynamically: a thread slowed by other work on its core gets fewer.
    bool rows = M >= N;
    int len = rows ? M : N, pieces = len / 64 < 4 * nt ? len / 64 : 4 * nt;
    pieces = pieces < nt ? nt : pieces;
    int step = ((len + pieces - 1) / pieces + 15) / 16 * 16;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int i0 = 0; i0 < len; i0 += step) {
        int n = len - i0 < step ? len - i0 : step;
        if (rows) // rows [i0, i0+n) of op(A) and C
            cblas_sgemm(CblasRowMajor, opa, opb, n, N, K, 1.0f, ta ? a + i0 : a + (size_t)i0 * K, lda, b, ldb, beta,
                        c + (size_t)i0 * N, N);
        else // columns [i0, i0+n) of op(B) and C
            cblas_sgemm(CblasRowMajor, opa, opb, M, n, K, 1.0f, a, lda, tb ? b + (size_t)i0 * K : b + i0, ldb, beta,
                        c + i0, N);
    }
}
