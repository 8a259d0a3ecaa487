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
#define WSYNC_INFLIGHT 4 // buckets in flight at once (staged at the root when filled): pipelines the broadcast tree

// Collective over comm (root: the trainer leader). The root's `params` (n floats) and *version
// reach every other rank bit for bit. A rank whose n differs from the root's gets an error naming
// both counts (a different model on that rank), before any bucket is sent.
int wsync_broadcast(float *params, size_t n, int64_t *version, size_t bucket_bytes, int root, MPI_Comm comm,
                    fx_err *err);
// The same with the root's parameters bucket by bucket from fill(ctx, lo, hi, dst) (the floats
// [lo, hi) into the host array dst; the root's params unused, NULL): a sharded policy's, gathered
// one bucket at a time from the ranks that hold its slices, so that no rank holds the whole. fill
// runs on the root once for each bucket in order, [0, per), [per, 2 per), ... (per: bucket_bytes
// / 4 floats), unless the header check fails first.
int wsync_broadcast_each(float *params, size_t n, int64_t *version, size_t bucket_bytes, int root, MPI_Comm comm,
                         void (*fill)(void *ctx, size_t lo, size_t hi, float *dst), void *ctx, fx_err *err);

#endif
