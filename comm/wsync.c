// wsync.c — see wsync.h.
#include "wsync.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

int wsync_broadcast(float *params, size_t n, int64_t *version, size_t bucket_bytes, int root, MPI_Comm comm,
                    fx_err *err) {
    return wsync_broadcast_each(params, n, version, bucket_bytes, root, comm, NULL, NULL, err);
}

int wsync_broadcast_each(float *params, size_t n, int64_t *version, size_t bucket_bytes, int root, MPI_Comm comm,
                         void (*fill)(void *ctx, size_t lo, size_t hi, float *dst), void *ctx, fx_err *err) {
    int me;
    COMM_CHECK(MPI_Comm_rank(comm, &me));
    // The header first: every rank checks it holds the same model before any data moves.
    int64_t head[3] = {*version, (int64_t)n, (int64_t)bucket_bytes};
    COMM_CHECK(MPI_Bcast(head, 3, MPI_INT64_T, root, comm));
    int mismatch = head[1] != (int64_t)n, any = 0;
    COMM_CHECK(MPI_Allreduce(&mismatch, &any, 1, MPI_INT, MPI_MAX, comm));
    if (any) {
        if (mismatch)
            return fx_errf(err, "weight sync: the trainer leader sends %lld parameters but this rank's model has %zu",
                           (long long)head[1], n);
        return fx_errf(err, "weight sync: another rank's model has a different parameter count; stopping");
    }
    size_t per = (size_t)head[2] / sizeof(float);
    if (per == 0) per = 1;
    if (per > INT_MAX) per = INT_MAX;
    if (me != root) fill = NULL;
    // filled at the root: one staging bucket per broadcast in flight
    size_t room = n < per ? n : per;
    float *stage = fill ? fx_malloc(room * WSYNC_INFLIGHT * sizeof(float)) : NULL;
    MPI_Request req[WSYNC_INFLIGHT];
    int inflight = 0;
    for (size_t off = 0; off < n; off += per) {
        if (inflight == WSYNC_INFLIGHT) {
            COMM_CHECK(MPI_Waitall(WSYNC_INFLIGHT, req, MPI_STATUSES_IGNORE));
            inflight = 0;
        }
        int count = (int)(n - off < per ? n - off : per);
        float *buf = fill ? stage + (size_t)inflight * room : params + off;
        if (fill) fill(ctx, off, off + (size_t)count, buf);
        COMM_CHECK(MPI_Ibcast(buf, count, MPI_FLOAT, root, comm, &req[inflight++]));
    }
    COMM_CHECK(MPI_Waitall(inflight, req, MPI_STATUSES_IGNORE));
    free(stage);
    *version = head[0];
    return 0;
}
