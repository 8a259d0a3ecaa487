// dp.c — data parallelism over a communicator: see dp.h.
#include "dp.h"

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

static void hook_sum(void *ctx, float *x, size_t n) { comm_dp_sum(ctx, x, n); }
static void hook_sum_doubles(void *ctx, double *x, int n) { comm_dp_sum_doubles(ctx, x, n); }
static void hook_bcast(void *ctx, float *x, size_t n) { comm_dp_bcast(ctx, x, n); }
static void hook_bcast_i64(void *ctx, int64_t *x, int n) { comm_dp_bcast_i64(ctx, x, n); }
static void hook_bcast_doubles(void *ctx, double *x, int n) { comm_dp_bcast_doubles(ctx, x, n); }
static bool hook_stop(void *ctx) { return comm_dp_stop(ctx); }
static int hook_agree(void *ctx, int code, int *first_bad) { return comm_dp_agree(ctx, code, first_bad); }

trainer_dp comm_dp_hook(comm_dp *d) {
    return (trainer_dp){d->rank,         d->size,            hook_sum,  hook_sum_doubles, hook_bcast,
                        hook_bcast_i64,  hook_bcast_doubles, hook_stop, hook_agree,       d};
}
