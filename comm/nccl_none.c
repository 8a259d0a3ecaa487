// nccl_none.c — comm/nccl.h for a build without CUDA: no communicator can be made.
#include "nccl.h"

comm_nccl *comm_nccl_create(MPI_Comm mpi, fx_err *err) {
    fx_errf(err, "nccl: this fluxrl was built without the CUDA backend (FLUXRL_CUDA=OFF or no nvcc)");
    return NULL;
}

void comm_nccl_free(comm_nccl *c) { FX_ASSERT(!c); }
int comm_nccl_device(const comm_nccl *c) { return -1; }
int comm_nccl_rank(const comm_nccl *c) { return -1; }
int comm_nccl_size(const comm_nccl *c) { return 0; }

void comm_nccl_allreduce_sum(comm_nccl *c, float *buf, size_t n, size_t bucket_floats, void *stream) {
    FX_ASSERT(!"comm_nccl_allreduce_sum without NCCL");
}

void comm_nccl_broadcast(comm_nccl *c, float *buf, size_t n, int root, void *stream) {
    FX_ASSERT(!"comm_nccl_broadcast without NCCL");
}

void comm_nccl_reduce_ranges(comm_nccl *c, float *buf, const size_t *bounds, void *stream) {
    FX_ASSERT(!"comm_nccl_reduce_ranges without NCCL");
}

void comm_nccl_broadcast_ranges(comm_nccl *c, float *buf, const size_t *bounds, void *stream) {
    FX_ASSERT(!"comm_nccl_broadcast_ranges without NCCL");
}
