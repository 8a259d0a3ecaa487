// test_nccl.c — comm/nccl.h on the GPUs of this machine: under mpirun with any number of ranks,
// or alone (a world of 1). Each rank fills a buffer with values that depend on its rank; after
// the bucketed all-reduce every element must equal the sum over ranks (exactly: small integers),
// and after the broadcast every rank must hold the root's buffer. Without a CUDA device it fails
// with a clear message and prints no pass count (label gpu: launch/test.sh runs it only with one).
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../comm/nccl.h"
#include "../../model/cuda/cuda_backend.h"
#include "../test.h"

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int ok = backend_cuda_device_count() > 0, all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all_ok) {
        if (rank == 0) fprintf(stderr, "test_nccl: a rank sees no CUDA device, nothing tested\n");
        MPI_Finalize();
        return 1;
    }
    fx_err err = {{0}};
    comm_nccl *c = comm_nccl_create(MPI_COMM_WORLD, &err);
    if (!c) {
        fprintf(stderr, "test_nccl: %s\n", err.msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    CHECK_INT(comm_nccl_rank(c), rank);
    CHECK_INT(comm_nccl_size(c), size);
    backend *be = backend_cuda_create(comm_nccl_device(c), BACKEND_CUDA_FP32, &err);
    if (!be) {
        fprintf(stderr, "test_nccl: %s\n", err.msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    const size_t n = 3000017; // several buckets of 1M floats, the last one short
    float *h = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) h[i] = (float)((i % 97) + 1000 * (size_t)rank);
    float *d = be->alloc(be->ctx, n * sizeof(float));
    be->upload(be->ctx, d, h, n * sizeof(float));
    comm_nccl_allreduce_sum(c, d, n, (size_t)1 << 20, backend_cuda_stream(be));
    be->download(be->ctx, h, d, n * sizeof(float));
    size_t bad = 0;
    double ranks_sum = 1000.0 * size * (size - 1) / 2;
    for (size_t i = 0; i < n; i++)
        if (h[i] != (float)((double)(i % 97) * size + ranks_sum)) bad++;
    CHECK_INT(bad, 0);
    // broadcast from the last rank
    int root = size - 1;
    for (size_t i = 0; i < n; i++) h[i] = (float)(i % 13) + 100.0f * (float)rank;
    be->upload(be->ctx, d, h, n * sizeof(float));
    comm_nccl_broadcast(c, d, n, root, backend_cuda_stream(be));
    be->download(be->ctx, h, d, n * sizeof(float));
    bad = 0;
    for (size_t i = 0; i < n; i++)
        if (h[i] != (float)(i % 13) + 100.0f * (float)root) bad++;
    CHECK_INT(bad, 0);
    be->free(be->ctx, d);
    free(h);
    backend_destroy(be);
    comm_nccl_free(c);
    int failed = test_failed, any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    int rc = rank == 0 ? test_summary("test_nccl") : (test_failed ? 1 : 0);
    MPI_Finalize();
    return any ? 1 : rc;
}
