// trainer_dp.h — data parallelism as the training loops of trainer/ see it: sums and broadcasts
// over the ranks that train one model, with no MPI in this folder. comm/dp.h makes one over an
// MPI communicator (NCCL for the model's buffers when they live on GPUs). A loop given NULL runs
// alone.
#ifndef FLUXRL_TRAINER_DP_H
#define FLUXRL_TRAINER_DP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int rank, size;
    // In place over the ranks: a buffer of the model (gradients; device memory on GPUs) ...
    void (*sum)(void *ctx, float *x, size_t n);
    // ... and host statistics.
    void (*sum_doubles)(void *ctx, double *x, int n);
    // From rank 0 to every rank: a buffer of the model, host integers, host doubles.
    void (*bcast)(void *ctx, float *x, size_t n);
    void (*bcast_i64)(void *ctx, int64_t *x, int n);
    void (*bcast_doubles)(void *ctx, double *x, int n);
    // true on every rank when a stop signal (SIGTERM, SIGINT) reached any of them: all stop after
    // the same step.
    bool (*stop)(void *ctx);
    // Every rank passes its exit code (0: fine) and gets the largest; *first_bad is the lowest rank
    // whose code was non-zero (-1: none), the one that says why. Set-up errors go through it, so
    // that no rank waits in a collective for one that has exited.
    int (*agree)(void *ctx, int code, int *first_bad);
    void *ctx;
} trainer_dp;

#endif
