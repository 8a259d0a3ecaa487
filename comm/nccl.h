// nccl.h — NCCL collectives between the GPU ranks of an MPI communicator (llm.c's way): MPI only
// bootstraps (rank 0 makes the NCCL unique id and broadcasts it), every collective is NCCL on
// device buffers. Each rank drives one device, chosen by its rank among the ranks on its node.
// Used for the trainers' gradient all-reduce (role_comm of the trainers) and for the weight
// broadcast from the trainer leader to the rollout ranks (sync_comm, root 0).
// A build without CUDA links a stub: comm_nccl_create returns NULL with err saying so.
#ifndef FLUXRL_NCCL_H
#define FLUXRL_NCCL_H

#include <mpi.h>
#include <stddef.h>

#include "../core/fx.h"

typedef struct comm_nccl comm_nccl;

// Collective over mpi: every rank of it calls this. Selects the device (local rank modulo the
// visible devices) with cudaSetDevice before it makes the NCCL communicator. NULL with err
// filled when the build has no CUDA or the rank sees no device (then no rank should go on: the
// caller agrees on failure, e.g. with comm_agree).
comm_nccl *comm_nccl_create(MPI_Comm mpi, fx_err *err);
void comm_nccl_free(comm_nccl *c);
int comm_nccl_device(const comm_nccl *c); // the CUDA device this rank drives
int comm_nccl_rank(const comm_nccl *c);
int comm_nccl_size(const comm_nccl *c);

// buf (n floats, device) <- the sum over ranks, in place, as buckets of bucket_floats (0: 8M
// floats, 32 MiB) queued one after another on stream (a cudaStream_t, e.g. backend_cuda_stream;
// NULL: the default stream). Returns when all buckets are done. Not overlapped with backward:
// model_backward runs all layers in one call, so the buckets start after it.
void comm_nccl_allreduce_sum(comm_nccl *c, float *buf, size_t n, size_t bucket_floats, void *stream);
// buf (n floats, device) <- root's buf on every rank. Returns when done.
void comm_nccl_broadcast(comm_nccl *c, float *buf, size_t n, int root, void *stream);

// Sharded state: bounds[0..size] split buf (device) into one slice per rank; slice r's sum over
// the ranks lands in rank r's buf (ncclReduce rooted at each owner, grouped), or rank r's slice
// goes to every rank (ncclBroadcast from each owner, grouped). Return when done.
void comm_nccl_reduce_ranges(comm_nccl *c, float *buf, const size_t *bounds, void *stream);
void comm_nccl_broadcast_ranges(comm_nccl *c, float *buf, const size_t *bounds, void *stream);

#endif
