// bench_model.c — the transformer's throughput on either backend, random weights, one JSON line per
// run. bench/train_step/run.py and bench/generate/run.py print the CPU's next to PyTorch on the
// CPU; bench/gpu/run.sh prints the GPU's next to PyTorch + transformers on the same card.
//
//   bench_model train SIZE [options]    one training step (forward, mean CE, backward, clip, AdamW)
//   bench_model decode SIZE B [options] a prefill of B prompts, then 64 greedy single-token steps
//   bench_model sgemm [--threads N]     OpenBLAS sgemm GFLOP/s (2048^3): the CPU's ceiling
//
// options: --backend cpu|cuda (cpu), --threads N (the CPU's, 2), --precision fp32|bf16 (CUDA's
// matmuls, bf16), --recompute (train: activation recomputation), --steps N (train: timed steps;
// the size's own for the backend), --prompt N (decode: prompt tokens; 16 on the CPU, 128 on CUDA).
// SIZE: a row of shapes.h (1m, 25m, qwen05b on the CPU; 25m, qwen2.5-0.5b, qwen2.5-1.5b on a GPU).
// CUDA's MFU = 6 N tokens/s / peak, N = parameters, peak = the card's dense bf16 FLOP/s (989e12 for
// the H100 SXM and the H200; FLUXRL_PEAK_TFLOPS overrides); its attention FLOPs (bench_shape_flops)
// are printed too, as achieved TFLOP/s.
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../../model/cuda/cuda_backend.h"
#include "shapes.h"

enum { NEW = 64 };

typedef struct {
    bool cuda, recompute;
    int threads, steps, prompt;
    const char *precision;
} bench_opts;

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

static double peak_flops(void) {
    const char *e = getenv("FLUXRL_PEAK_TFLOPS");
    return (e && atof(e) > 0 ? atof(e) : 989.0) * 1e12;
}

static void sync_cuda(backend *be) { backend_cuda_sync(be); }

static backend *open_backend(const bench_opts *o) {
    if (!o->cuda) return backend_cpu_create(o->threads);
    fx_err err = {{0}};
    backend_cuda_precision p = strcmp(o->precision, "fp32") == 0 ? BACKEND_CUDA_FP32 : BACKEND_CUDA_BF16;
    backend *be = backend_cuda_create(0, p, &err);
    if (!be) {
        fprintf(stderr, "bench_model: %s\n", err.msg);
        exit(1);
    }
    return be;
}

// The run's settings, the start of every JSON line.
static void print_head(const char *bench, const bench_shape *s, const bench_opts *o) {
    printf("{\"bench\":\"%s\",\"backend\":\"%s\",\"size\":\"%s\",\"precision\":\"%s\",\"threads\":%d", bench,
           o->cuda ? "cuda" : "cpu", s->name, o->cuda ? o->precision : "fp32", o->cuda ? 0 : o->threads);
}

static int bench_train(const bench_shape *s, const bench_opts *o) {
    double rss0 = rss_mib(), loss;
    size_t nparams;
    backend *be = open_backend(o);
    int steps = o->steps ? o->steps : o->cuda ? s->gpu_steps : s->steps;
    double dt = bench_train_steps(s, steps, be, o->recompute, o->cuda ? sync_cuda : NULL, &loss, &nparams);
    double tokens = (double)s->B * s->T, flops = bench_shape_flops(s);
    print_head("train", s, o);
    printf(",\"params\":%zu,\"B\":%d,\"T\":%d,\"steps\":%d,\"recompute\":%s,\"step_s\":%.4f,\"tokens_per_s\":%.1f,"
           "\"gflops\":%.2f,\"loss\":%.4f",
           nparams, s->B, s->T, steps, o->recompute ? "true" : "false", dt, tokens / dt, flops / dt / 1e9, loss);
    if (o->cuda)
        printf(",\"mfu\":%.4f,\"tflops_with_attention\":%.1f}\n", 6.0 * (double)nparams * tokens / dt / peak_flops(),
               flops / dt / 1e12);
    else printf(",\"peak_rss_mib\":%.1f,\"peak_over_start_mib\":%.1f}\n", peak_rss_mib(), peak_rss_mib() - rss0);
    backend_destroy(be);
    return 0;
}

static int bench_decode(const bench_shape *s, int B, const bench_opts *o) {
    backend *be = open_backend(o);
    int prompt = o->prompt ? o->prompt : o->cuda ? 128 : 16;
    double prefill, decode;
    bench_decode_greedy(s, be, B, prompt, NEW, o->cuda ? sync_cuda : NULL, &prefill, &decode);
    print_head("decode", s, o);
    printf(",\"B\":%d,\"prompt\":%d,\"new\":%d,\"prefill_s\":%.4f,\"decode_s\":%.4f,\"tokens_per_s\":%.1f}\n", B,
           prompt, NEW, prefill, decode, (double)B * NEW / decode);
    backend_destroy(be);
    return 0;
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
    printf("{\"bench\":\"sgemm\",\"sgemm_gflops\":%.1f,\"n\":%d,\"threads\":%d}\n", best, n, threads);
    free(a), free(b), free(c);
    return 0;
}

static int usage(const char *why) {
    fprintf(stderr, "bench_model: %s\n"
                    "usage: bench_model train SIZE [options] | decode SIZE B [options] | sgemm [--threads N]\n"
                    "  options: --backend cpu|cuda  --threads N  --precision fp32|bf16  --recompute  --steps N"
                    "  --prompt N\n  SIZE:",
            why);
    for (size_t i = 0; i < sizeof bench_shapes / sizeof bench_shapes[0]; i++) fprintf(stderr, " %s", bench_shapes[i].name);
    fprintf(stderr, "\n");
    return 2;
}

// A positive whole number, or 0 when it is not one.
static int positive(const char *s) {
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v > 0 && v <= 1 << 30 ? (int)v : 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage("expected train, decode or sgemm");
    const char *what = argv[1];
    int fixed = strcmp(what, "train") == 0 ? 3 : strcmp(what, "decode") == 0 ? 4 : strcmp(what, "sgemm") == 0 ? 2 : 0;
    if (!fixed) return usage("expected train, decode or sgemm");
    if (argc < fixed) return usage("missing arguments");
    bench_opts o = {false, false, 2, 0, 0, "bf16"};
    for (int i = fixed; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--recompute") == 0) {
            o.recompute = true;
            continue;
        }
        if (!v) return usage("an option without its value");
        i++;
        if (strcmp(a, "--backend") == 0 && (strcmp(v, "cpu") == 0 || strcmp(v, "cuda") == 0))
            o.cuda = strcmp(v, "cuda") == 0;
        else if (strcmp(a, "--precision") == 0 && (strcmp(v, "fp32") == 0 || strcmp(v, "bf16") == 0)) o.precision = v;
        else if (strcmp(a, "--threads") == 0 && positive(v)) o.threads = positive(v);
        else if (strcmp(a, "--steps") == 0 && positive(v)) o.steps = positive(v);
        else if (strcmp(a, "--prompt") == 0 && positive(v)) o.prompt = positive(v);
        else return usage("an unknown option or a bad value");
    }
    if (fixed == 2) return bench_sgemm(o.threads);
    const bench_shape *s = bench_shape_find(argv[2]);
    if (!s) return usage("unknown SIZE");
    if (fixed == 3) return bench_train(s, &o);
    int B = positive(argv[3]);
    if (!B) return usage("B: expected a positive number of rows");
    return bench_decode(s, B, &o);
}
