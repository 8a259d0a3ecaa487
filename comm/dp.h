// dp.h — the one data-parallel module: the ranks of a communicator that train one model (the
// trainer ranks of `fluxrl train`, every rank of `fluxrl sft` and `fluxrl prm-train`) sum and
// broadcast buffers and agree on stop signals and errors through it, and hand it to trainer/'s
// loops as a trainer_dp. Float buffers of the model go through NCCL when the ranks are on GPUs
// (comm_dp_use_nccl), else through MPI in chunks of COMM_DP_CHUNK floats (MPI counts are ints).
#ifndef FLUXRL_COMM_DP_H
#define FLUXRL_COMM_DP_H

#include <mpi.h>

#include "../trainer/trainer_dp.h"
#include "nccl.h"

#define COMM_DP_CHUNK ((size_t)1 << 24) // floats per MPI call: 64 MiB

typedef struct {
    MPI_Comm comm;
    int rank, size;
    comm_nccl *nccl; // NULL: MPI
    void *stream;    // the CUDA stream NCCL runs on
} comm_dp;

// Over comm (every rank of it calls this).
void comm_dp_init(comm_dp *d, MPI_Comm comm);
// From here on, float buffers of the model go through NCCL on `stream` (collective over comm: it
// makes the communicator). Returns -1 with err filled when NCCL cannot start.
int comm_dp_use_nccl(comm_dp *d, void *stream, fx_err *err);
void comm_dp_free(comm_dp *d);

void comm_dp_sum(const comm_dp *d, float *x, size_t n);
void comm_dp_sum_doubles(const comm_dp *d, double *x, int n);
void comm_dp_bcast(const comm_dp *d, float *x, size_t n); // from rank 0 of comm
void comm_dp_bcast_i64(const comm_dp *d, int64_t *x, int n);
void comm_dp_bcast_doubles(const comm_dp *d, double *x, int n);
// True on every rank when fx_stop_requested() on any.
bool comm_dp_stop(const comm_dp *d);
// Every rank passes its exit code (0: fine); all get the largest, and *first_bad the lowest rank
// (of comm) whose code was non-zero (-1: none), which is the one that reports.
int comm_dp_agree(const comm_dp *d, int code, int *first_bad);

void comm_dp_max_i64(const comm_dp *d, int64_t *x, int n);
// Sharded state (trainer_dp.h): x (a buffer of the model) in one slice per rank, rank r's
// [b[r], b[r + 1]): the sum over the ranks of each slice at its rank; each rank's slice to every
// rank. MPI_Reduce and MPI_Bcast rooted at each owner in turn (NCCL's, grouped, on GPUs).
void comm_dp_reduce_slices(const comm_dp *d, float *x, const size_t *b);
void comm_dp_gather_slices(const comm_dp *d, float *x, const size_t *b);
// Host arrays: the part [lo, hi) of an n-float buffer in slices, each rank's (mine: its part of
// the range) into rank 0's all (from the range's start); and back, rank 0's all (the range) to
// each rank's mine (its part of the range).
void comm_dp_collect(const comm_dp *d, const float *mine, float *all, size_t lo, size_t hi, size_t n);
void comm_dp_distribute(const comm_dp *d, const float *all, float *mine, size_t lo, size_t hi, size_t n);

// The trainer_dp of d (shard NONE; the caller sets its level) (valid while d is).
trainer_dp comm_dp_hook(comm_dp *d);

#endif
