// wsync.h — weight sync: the trainer leader sends the policy's parameters, with their version,
// to every rank that generates or scores with it (rollout ranks; reward ranks that host the
// reference policy), in fixed-size buckets so that no rank ever stages more than a few buckets
// at once. On CPU ranks this is MPI; CUDA ranks use NCCL broadcast with the same bucketing.
#ifndef FLUXRL_WSYNC_H
#define FLUXRL_WSYNC_H

#include <stddef.h>
#include <stdint.h>

#include "comm.h"

#define WSYNC_BUCKET_BYTES_DEFAULT ((size_t)32 << 20)

// Collective over comm (root: the trainer leader). The root's `params` (n floats) and *version
// reach every other rank bit for bit. A rank whose n differs from the root's gets an error naming
// both counts (a different model on that rank), before any bucket is sent.
int wsync_broadcast(float *params, size_t n, int64_t *version, size_t bucket_bytes, int root, MPI_Comm comm,
                    fx_err *err);

#endif
