// nccl.c — see nccl.h. C on NCCL's and the CUDA runtime's C APIs; fatal with file:line on any
// CUDA or NCCL error (llm.c's ncclCheck), which through comm's abort hook ends the whole job.
#include "nccl.h"

#include <cuda_runtime_api.h>
#include <nccl.h>
#include <stdlib.h>

#define NCCL_CHECK(call)                                                                       \
    do {                                                                                       \
        ncclResult_t nccl_rc_ = (call);                                                        \
        if (nccl_rc_ != ncclSuccess)                                                           \
            fx_fatal_at(__FILE__, __LINE__, FX_EXIT_FAIL, "NCCL error: %s (%s)", ncclGetErrorString(nccl_rc_), #call); \
    } while (0)
#define CUDA_CHECK(call)                                                                       \
    do {                                                                                       \
        cudaError_t cuda_rc_ = (call);                                                         \
        if (cuda_rc_ != cudaSuccess)                                                           \
            fx_fatal_at(__FILE__, __LINE__, FX_EXIT_FAIL, "CUDA error: %s (%s)", cudaGetErrorString(cuda_rc_), #call); \
    } while (0)
#define MPI_CHECK(call)                                                                        \
    do {                                                                                       \
        if ((call) != MPI_SUCCESS) fx_fatal_at(__FILE__, __LINE__, FX_EXIT_FAIL, "MPI error in %s", #call); \
    } while (0)

struct comm_nccl {
    ncclComm_t comm;
    int rank, size, device;
};

comm_nccl *comm_nccl_create(MPI_Comm mpi, fx_err *err) {
    int rank, size, devices = 0, local = 0;
    MPI_CHECK(MPI_Comm_rank(mpi, &rank));
    MPI_CHECK(MPI_Comm_size(mpi, &size));
    MPI_Comm node;
    MPI_CHECK(MPI_Comm_split_type(mpi, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node));
    MPI_CHECK(MPI_Comm_rank(node, &local));
    MPI_CHECK(MPI_Comm_free(&node));
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        cudaGetLastError();
        fx_errf(err, "nccl: rank %d sees no CUDA device", rank);
        return NULL;
    }
    comm_nccl *c = fx_calloc(1, sizeof *c);
    c->rank = rank, c->size = size, c->device = local % devices;
    CUDA_CHECK(cudaSetDevice(c->device));
    ncclUniqueId id;
    if (rank == 0) NCCL_CHECK(ncclGetUniqueId(&id));
    MPI_CHECK(MPI_Bcast(&id, (int)sizeof id, MPI_BYTE, 0, mpi));
    NCCL_CHECK(ncclCommInitRank(&c->comm, size, id, rank));
    return c;
}

void comm_nccl_free(comm_nccl *c) {
    if (!c) return;
    NCCL_CHECK(ncclCommDestroy(c->comm));
    free(c);
}

int comm_nccl_device(const comm_nccl *c) { return c->device; }
int comm_nccl_rank(const comm_nccl *c) { return c->rank; }
int comm_nccl_size(const comm_nccl *c) { return c->size; }

void comm_nccl_allreduce_sum(comm_nccl *c, float *buf, size_t n, size_t bucket_floats, void *stream) {
    cudaStream_t s = (cudaStream_t)stream;
    if (bucket_floats == 0) bucket_floats = (size_t)8 << 20;
    CUDA_CHECK(cudaSetDevice(c->device));
    for (size_t off = 0; off < n; off += bucket_floats) {
        size_t len = n - off < bucket_floats ? n - off : bucket_floats;
        NCCL_CHECK(ncclAllReduce(buf + off, buf + off, len, ncclFloat, ncclSum, c->comm, s));
    }
    CUDA_CHECK(cudaStreamSynchronize(s));
}

void comm_nccl_broadcast(comm_nccl *c, float *buf, size_t n, int root, void *stream) {
    cudaStream_t s = (cudaStream_t)stream;
    CUDA_CHECK(cudaSetDevice(c->device));
    if (n) NCCL_CHECK(ncclBroadcast(buf, buf, n, ncclFloat, root, c->comm, s));
    CUDA_CHECK(cudaStreamSynchronize(s));
}

void comm_nccl_reduce_ranges(comm_nccl *c, float *buf, const size_t *bounds, void *stream) {
    cudaStream_t s = (cudaStream_t)stream;
    CUDA_CHECK(cudaSetDevice(c->device));
    NCCL_CHECK(ncclGroupStart());
    for (int r = 0; r < c->size; r++)
        if (bounds[r + 1] > bounds[r])
            NCCL_CHECK(ncclReduce(buf + bounds[r], buf + bounds[r], bounds[r + 1] - bounds[r], ncclFloat, ncclSum, r,
                                  c->comm, s));
    NCCL_CHECK(ncclGroupEnd());
    CUDA_CHECK(cudaStreamSynchronize(s));
}

void comm_nccl_broadcast_ranges(comm_nccl *c, float *buf, const size_t *bounds, void *stream) {
    cudaStream_t s = (cudaStream_t)stream;
    CUDA_CHECK(cudaSetDevice(c->device));
    NCCL_CHECK(ncclGroupStart());
    for (int r = 0; r < c->size; r++)
        if (bounds[r + 1] > bounds[r])
            NCCL_CHECK(ncclBroadcast(buf + bounds[r], buf + bounds[r], bounds[r + 1] - bounds[r], ncclFloat, r, c->comm,
                                     s));
    NCCL_CHECK(ncclGroupEnd());
    CUDA_CHECK(cudaStreamSynchronize(s));
}
