// train_step.c — one training step of the transformer (forward, mean cross-entropy, backward,
// gradient clipping, AdamW), timed. bench/train_step/run.sh runs it next to the same step in
// PyTorch (bench/reference/train_step.py) and next to sgemm's own GFLOP/s.
//
//   train_step SIZE [THREADS] [--recompute]   SIZE: 1m | 25m | qwen05b   -> one JSON line
//   train_step sgemm [THREADS]                 OpenBLAS sgemm GFLOP/s (2048^3), the ceiling
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "shapes.h"

static double peak_rss_mib(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_maxrss / 1024.0;
}

// RSS now (MiB), from /proc/self/statm.
static double rss_mib(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return (double)resident * 4096.0 / (1024.0 * 1024.0);
}

static int bench_sgemm(int threads) {
    openblas_set_num_threads(threads);
    int n = 2048;
    float *a = malloc(sizeof(float) * (size_t)n * n), *b = malloc(sizeof(float) * (size_t)n * n);
    float *c = malloc(sizeof(float) * (size_t)n * n);
    for (size_t i = 0; i < (size_t)n * n; i++) a[i] = (float)(i % 7) * 0.1f, b[i] = (float)(i % 5) * 0.1f;
    double best = 0;
    for (int r = 0; r < 6; r++) {
        double t0 = fx_time_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double dt = fx_time_now() - t0, gf = 2.0 * n * n * (double)n / dt / 1e9;
        if (r > 0 && gf > best) best = gf;
    }
    printf("{\"sgemm_gflops\":%.1f,\"n\":%d,\"threads\":%d}\n", best, n, threads);
    free(a), free(b), free(c);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: train_step 1m|25m|qwen05b|sgemm [THREADS] [--recompute]\n");
        return 2;
    }
    int threads = argc > 2 && argv[2][0] != '-' ? atoi(argv[2]) : 2;
    bool recompute = argc > 2 && strcmp(argv[argc - 1], "--recompute") == 0;
    if (strcmp(argv[1], "sgemm") == 0) return bench_sgemm(threads);
    const bench_shape *s = bench_shape_find(argv[1]);
    if (!s) {
        fprintf(stderr, "train_step: unknown size '%s'\n", argv[1]);
        return 2;
    }
    double rss0 = rss_mib(), loss;
    size_t nparams;
    backend *be = backend_cpu_create(threads);
    double dt = bench_train_steps(s, be, recompute, NULL, &loss, &nparams);
    int N = s->B * s->T;
    double flops = bench_shape_flops(s);
    printf("{\"size\":\"%s\",\"params\":%zu,\"B\":%d,\"T\":%d,\"threads\":%d,\"recompute\":%s,\"step_s\":%.4f,"
           "\"tokens_per_s\":%.1f,\"gflops\":%.2f,\"peak_rss_mib\":%.1f,\"peak_over_start_mib\":%.1f,\"loss\":%.4f}\n",
           s->name, nparams, s->B, s->T, threads, recompute ? "true" : "false", dt, N / dt, flops / dt / 1e9,
           peak_rss_mib(), peak_rss_mib() - rss0, loss);
    backend_destroy(be);
    return 0;
}
