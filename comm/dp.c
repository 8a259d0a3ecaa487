// dp.c — data parallelism over a communicator: see dp.h.
#include "dp.h"

#include <stdlib.h>
#include <string.h>

#include "../core/watchdog.h"
#include "comm.h"

void comm_dp_init(comm_dp *d, MPI_Comm comm) {
    memset(d, 0, sizeof *d);
    d->comm = comm;
    COMM_CHECK(MPI_Comm_rank(comm, &d->rank));
    COMM_CHECK(MPI_Comm_size(comm, &d->size));
}

int comm_dp_use_nccl(comm_dp *d, void *stream, fx_err *err) {
    if (!(d->nccl = comm_nccl_create(d->comm, err))) return -1;
    d->stream = stream;
    return 0;
}

void comm_dp_free(comm_dp *d) {
    if (d->nccl) comm_nccl_free(d->nccl);
    d->nccl = NULL;
}

void comm_dp_sum(const comm_dp *d, float *x, size_t n) {
    if (d->nccl) {
        comm_nccl_allreduce_sum(d->nccl, x, n, 0, d->stream);
        return;
    }
    for (size_t off = 0; off < n; off += COMM_DP_CHUNK) {
        int k = (int)(n - off < COMM_DP_CHUNK ? n - off : COMM_DP_CHUNK);
        COMM_CHECK(MPI_Allreduce(MPI_IN_PLACE, x + off, k, MPI_FLOAT, MPI_SUM, d->comm));
    }
}

void comm_dp_sum_doubles(const comm_dp *d, double *x, int n) {
    COMM_CHECK(MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, MPI_SUM, d->comm));
}

void comm_dp_bcast(const comm_dp *d, float *x, size_t n) {
    if (d->nccl) {
        comm_nccl_broadcast(d->nccl, x, n, 0, d->stream);
        return;
    }
    for (size_t off = 0; off < n; off += COMM_DP_CHUNK) {
        int k = (int)(n - off < COMM_DP_CHUNK ? n - off : COMM_DP_CHUNK);
        COMM_CHECK(MPI_Bcast(x + off, k, MPI_FLOAT, 0, d->comm));
    }
}

void comm_dp_bcast_i64(const comm_dp *d, int64_t *x, int n) { COMM_CHECK(MPI_Bcast(x, n, MPI_INT64_T, 0, d->comm)); }

void comm_dp_bcast_doubles(const comm_dp *d, double *x, int n) {
    COMM_CHECK(MPI_Bcast(x, n, MPI_DOUBLE, 0, d->comm));
}

bool comm_dp_stop(const comm_dp *d) {
    int stop = fx_stop_requested();
    if (d->size > 1) COMM_CHECK(MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, d->comm));
    return stop != 0;
}

int comm_dp_agree(const comm_dp *d, int code, int *first_bad) {
    int in[2] = {code, code != 0 ? -d->rank : -d->size}, out[2];
    COMM_CHECK(MPI_Allreduce(in, out, 2, MPI_INT, MPI_MAX, d->comm));
    *first_bad = -out[1] < d->size ? -out[1] : -1;
    return out[0];
}

// Each rank's slice of n floats (trainer_shard_range), in ranks' order: bounds[r], bounds[r + 1].
static size_t *shard_bounds(const comm_dp *d, size_t n) {
    size_t *b = fx_malloc((size_t)(d->size + 1) * sizeof *b), hi;
    for (int r = 0; r < d->size; r++) trainer_shard_range(n, r, d->size, &b[r], &hi);
    b[d->size] = n;
    return b;
}

void comm_dp_reduce_slices(const comm_dp *d, float *x, const size_t *b) {
    if (d->nccl) {
        comm_nccl_reduce_ranges(d->nccl, x, b, d->stream);
        return;
    }
    for (int r = 0; r < d->size; r++) // the sum of slice r at its owner, r
        for (size_t off = b[r]; off < b[r + 1]; off += COMM_DP_CHUNK) {
            int k = (int)(b[r + 1] - off < COMM_DP_CHUNK ? b[r + 1] - off : COMM_DP_CHUNK);
            // recvbuf matters at the root only; elsewhere it must not alias sendbuf (MPI 4.0, 2.6.3)
            COMM_CHECK(MPI_Reduce(d->rank == r ? MPI_IN_PLACE : x + off, d->rank == r ? x + off : NULL, k, MPI_FLOAT,
                                  MPI_SUM, r, d->comm));
        }
}

void comm_dp_gather_slices(const comm_dp *d, float *x, const size_t *b) {
    if (d->nccl) {
        comm_nccl_broadcast_ranges(d->nccl, x, b, d->stream);
        return;
    }
    for (int r = 0; r < d->size; r++)
        for (size_t off = b[r]; off < b[r + 1]; off += COMM_DP_CHUNK) {
            int k = (int)(b[r + 1] - off < COMM_DP_CHUNK ? b[r + 1] - off : COMM_DP_CHUNK);
            COMM_CHECK(MPI_Bcast(x + off, k, MPI_FLOAT, r, d->comm));
        }
}

void comm_dp_max_i64(const comm_dp *d, int64_t *x, int n) {
    COMM_CHECK(MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_INT64_T, MPI_MAX, d->comm));
}

// The part [lo, hi) of slice r of a host buffer between rank r (mine: its part of the range) and
// rank 0 (all, from the range's start), in chunks.
static void move_slice(const comm_dp *d, float *mine, float *all, size_t lo, size_t hi, size_t start, int r,
                       bool to_root) {
    for (size_t off = lo; off < hi; off += COMM_DP_CHUNK) {
        int k = (int)(hi - off < COMM_DP_CHUNK ? hi - off : COMM_DP_CHUNK);
        float *at_root = all + (off - start), *at_r = mine + (off - lo);
        if (r == 0) {
            if (d->rank == 0) memcpy(to_root ? at_root : at_r, to_root ? at_r : at_root, (size_t)k * sizeof(float));
        } else if (d->rank == 0) {
            if (to_root) COMM_CHECK(MPI_Recv(at_root, k, MPI_FLOAT, r, 0, d->comm, MPI_STATUS_IGNORE));
            else COMM_CHECK(MPI_Send(at_root, k, MPI_FLOAT, r, 0, d->comm));
        } else if (d->rank == r) {
            if (to_root) COMM_CHECK(MPI_Send(at_r, k, MPI_FLOAT, 0, 0, d->comm));
            else COMM_CHECK(MPI_Recv(at_r, k, MPI_FLOAT, 0, 0, d->comm, MPI_STATUS_IGNORE));
        }
    }
}

void comm_dp_collect(const comm_dp *d, const float *mine, float *all, size_t lo, size_t hi, size_t n) {
    size_t *b = shard_bounds(d, n);
    for (int r = 0; r < d->size; r++) {
        size_t a = b[r] > lo ? b[r] : lo, e = b[r + 1] < hi ? b[r + 1] : hi;
        if (a < e) move_slice(d, (float *)mine, all, a, e, lo, r, true);
    }
    free(b);
}

void comm_dp_distribute(const comm_dp *d, const float *all, float *mine, size_t lo, size_t hi, size_t n) {
    size_t *b = shard_bounds(d, n);
    for (int r = 0; r < d->size; r++) {
        size_t a = b[r] > lo ? b[r] : lo, e = b[r + 1] < hi ? b[r + 1] : hi;
        if (a < e) move_slice(d, mine, (float *)all, a, e, lo, r, false);
    }
    free(b);
}

static void hook_sum(void *ctx, float *x, size_t n) { comm_dp_sum(ctx, x, n); }
static void hook_sum_doubles(void *ctx, double *x, int n) { comm_dp_sum_doubles(ctx, x, n); }
static void hook_bcast(void *ctx, float *x, size_t n) { comm_dp_bcast(ctx, x, n); }
static void hook_bcast_i64(void *ctx, int64_t *x, int n) { comm_dp_bcast_i64(ctx, x, n); }
static void hook_bcast_doubles(void *ctx, double *x, int n) { comm_dp_bcast_doubles(ctx, x, n); }
static bool hook_stop(void *ctx) { return comm_dp_stop(ctx); }
static int hook_agree(void *ctx, int code, int *first_bad) { return comm_dp_agree(ctx, code, first_bad); }
static void hook_max_i64(void *ctx, int64_t *x, int n) { comm_dp_max_i64(ctx, x, n); }
static void hook_reduce_slices(void *ctx, float *x, const size_t *b) { comm_dp_reduce_slices(ctx, x, b); }
static void hook_gather_slices(void *ctx, float *x, const size_t *b) { comm_dp_gather_slices(ctx, x, b); }
static void hook_collect(void *ctx, const float *mine, float *all, size_t lo, size_t hi, size_t n) {
    comm_dp_collect(ctx, mine, all, lo, hi, n);
}
static void hook_distribute(void *ctx, const float *all, float *mine, size_t lo, size_t hi, size_t n) {
    comm_dp_distribute(ctx, all, mine, lo, hi, n);
}

trainer_dp comm_dp_hook(comm_dp *d) {
    return (trainer_dp){.rank = d->rank,
                        .size = d->size,
                        .sum = hook_sum,
                        .sum_doubles = hook_sum_doubles,
                        .bcast = hook_bcast,
                        .bcast_i64 = hook_bcast_i64,
                        .bcast_doubles = hook_bcast_doubles,
                        .stop = hook_stop,
                        .agree = hook_agree,
                        .max_i64 = hook_max_i64,
                        .reduce_slices = hook_reduce_slices,
                        .gather_slices = hook_gather_slices,
                        .collect = hook_collect,
                        .distribute = hook_distribute,
                        .shard = TRAINER_SHARD_NONE,
                        .ctx = d};
}
