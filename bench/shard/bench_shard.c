// bench_shard.c — sharded trainer state (trainer.shard) next to the unsharded data-parallel run, in
// the same launch: for each level, every rank trains its share of a batch of a model of one of the
// train-step benchmark's shapes (bench/model/shapes.h) for a few steps, and the table gives
// the largest per-rank peak of backend buffers, the per-rank state (weights + gradients + AdamW
// moments, as trainer_mem_plan counts it and the backend held it), the seconds per step, and the
// floats each rank hands to collectives per step against the parameter count. The final weights of
// every level are compared with the unsharded run's (max |difference|).
//   launch/mpirun.sh -np N build/bench/bench_shard [SHAPE [ROWS [STEPS]]]   (bench/shard/run.sh)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../comm/comm.h"
#include "../../comm/dp.h"
#include "../../core/fx.h"
#include "../model/shapes.h"

// A trainer_dp that counts the floats handed to the model-buffer collectives before passing them on.
typedef struct {
    trainer_dp inner;
    double floats;
} counting;

static counting g_count;

static void c_sum(void *ctx, float *x, size_t n) {
    g_count.floats += (double)n;
    g_count.inner.sum(g_count.inner.ctx, x, n);
    (void)ctx;
}
static void c_reduce(void *ctx, float *x, const size_t *b) {
    g_count.floats += (double)(b[g_count.inner.size] - b[0]);
    g_count.inner.reduce_slices(g_count.inner.ctx, x, b);
    (void)ctx;
}
static void c_gather(void *ctx, float *x, const size_t *b) {
    g_count.floats += (double)(b[g_count.inner.size] - b[0]);
    g_count.inner.gather_slices(g_count.inner.ctx, x, b);
    (void)ctx;
}

typedef struct {
    double peak, state, step_s, floats, maxdiff;
} result;

static result run(const bench_shape *s, trainer_shard level, comm_dp *d, int rows, int steps, float **final) {
    backend *be = backend_cpu_create(1);
    model_config c = bench_shape_config(s);
    model m;
    // full: sharded from the start, as fluxrl loads a policy it shards fully (never whole on a rank)
    bool full = level == TRAINER_SHARD_FULL && d->size > 1;
    model_init_random_shard(&m, &c, MODEL_HEAD_LM, be, 1, 0.02f, 0.0f, d->rank, full ? d->size : 1);
    g_count.inner = comm_dp_hook(d);
    g_count.inner.shard = level;
    g_count.floats = 0;
    trainer_dp dp = g_count.inner;
    dp.sum = c_sum, dp.reduce_slices = c_reduce, dp.gather_slices = c_gather;
    trainer_train_init(&m, &dp);
    trainer_attach(&m, &dp);
    int B = rows / d->size, T = s->T; // this rank's rows
    model_reserve(&m, B, T, true, false);
    int N = B * T;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)N), *tgt = malloc(sizeof(int32_t) * (size_t)N);
    float *w = malloc(sizeof(float) * (size_t)N);
    fx_rng r = fx_rng_make(2, (uint64_t)d->rank + 1); // each rank its own tokens
    for (int i = 0; i < N; i++) ids[i] = (int32_t)fx_rng_below(&r, (uint64_t)c.vocab_size);
    for (int i = 0; i < N; i++) tgt[i] = i % T == T - 1 ? -1 : ids[i + 1], w[i] = 1.0f / (float)(rows * (T - 1));
    model_adamw opt = {3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f};
    double total = 0, floats0 = 0;
    for (int k = 0; k <= steps; k++) { // step 0 warms up
        MPI_Barrier(d->comm);
        double t0 = fx_time_now();
        if (k == 1) floats0 = g_count.floats;
        model_zero_grad(&m);
        model_forward(&m, ids, NULL, NULL, B, T);
        model_lm_ce(&m, tgt, w, true);
        model_backward(&m);
        trainer_optim_step(&m, &dp, 1.0, &opt, opt.lr);
        MPI_Barrier(d->comm);
        if (k > 0) total += fx_time_now() - t0;
    }
    result res = {0};
    size_t live, peak;
    be->mem_stats(be->ctx, &live, &peak);
    trainer_mem p;
    trainer_mem_plan(&m, level, d->size, d->rank, B, T, false, &p);
    double mine[2] = {(double)peak, (double)(p.params + p.grads + p.moments)}, most[2];
    MPI_Allreduce(mine, most, 2, MPI_DOUBLE, MPI_MAX, d->comm);
    res.peak = most[0], res.state = most[1], res.step_s = total / steps;
    res.floats = (g_count.floats - floats0) / steps / (double)m.nparams;
    float *params = malloc(m.nparams * sizeof(float));
    if (full) { // the slices onto rank 0, which compares
        trainer_params_collect(&m, &dp, params);
        MPI_Bcast(params, (int)m.nparams, MPI_FLOAT, 0, d->comm);
    } else be->download(be->ctx, params, m.params_mem, m.nparams * sizeof(float));
    if (!*final) *final = params;
    else {
        for (size_t i = 0; i < m.nparams; i++) {
            double dd = fabs((double)params[i] - (double)(*final)[i]);
            if (dd > res.maxdiff) res.maxdiff = dd;
        }
        free(params);
    }
    free(ids), free(tgt), free(w);
    model_free(&m);
    backend_destroy(be);
    return res;
}

int main(int argc, char **argv) {
    comm_init(&argc, &argv);
    const bench_shape *s = bench_shape_find(argc > 1 ? argv[1] : "25m");
    if (!s) fx_fatal("unknown shape %s (1m, 25m, qwen05b)", argv[1]);
    comm_dp d;
    comm_dp_init(&d, MPI_COMM_WORLD);
    int rows = argc > 2 ? atoi(argv[2]) : 8, steps = argc > 3 ? atoi(argv[3]) : 3;
    if (rows < d.size || rows % d.size) fx_fatal("ROWS (%d) must be a multiple of the ranks (%d)", rows, d.size);
    const char *names[] = {"none", "optimizer", "gradients", "full"};
    trainer_shard levels[] = {TRAINER_SHARD_NONE, TRAINER_SHARD_OPTIMIZER, TRAINER_SHARD_GRADIENTS, TRAINER_SHARD_FULL};
    float *final = NULL;
    result res[4];
    for (int k = 0; k < 4; k++) res[k] = run(s, levels[k], &d, rows, steps, &final);
    if (d.rank == 0) {
        double mib = 1024.0 * 1024.0;
        printf("shape %s (%d layers, hidden %d, vocabulary %d), %d ranks, %d rows x %d tokens per step, %d steps\n",
               s->name, s->L, s->C, s->V, d.size, rows, s->T, steps);
        printf("| trainer.shard | peak MiB per rank | state MiB per rank | ratio | s per step | ratio | floats to "
               "collectives per step / params | max |w - w_none| |\n|---|---|---|---|---|---|---|---|\n");
        for (int k = 0; k < 4; k++)
            printf("| %s | %.1f | %.1f | %.3f | %.3f | %.2f | %.2f | %.3g |\n", names[k], res[k].peak / mib,
                   res[k].state / mib, res[k].state / res[0].state, res[k].step_s, res[k].step_s / res[0].step_s,
                   res[k].floats, res[k].maxdiff);
    }
    free(final);
    comm_dp_free(&d);
    comm_finalize();
    return 0;
}
