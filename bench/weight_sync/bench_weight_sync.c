// bench_weight_sync.c — weight sync throughput: fluxrl's bucketed broadcast (wsync_broadcast)
// next to one plain MPI_Bcast of the same buffer, in the same run, over the sync communicator
// (trainer leader -> rollout and reward ranks).
//   launch/mpirun.sh -np 3 build/bench/bench_weight_sync [MiB ...]
#include <stdlib.h>

#include "comm/wsync.h"

static double run(float *p, size_t n, size_t bucket, MPI_Comm comm, int reps) {
    fx_err err;
    int64_t version = 1;
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        MPI_Barrier(comm);
        double t0 = MPI_Wtime();
        if (bucket) {
            if (wsync_broadcast(p, n, &version, bucket, 0, comm, &err)) fx_fatal("%s", err.msg);
        } else {
            for (size_t off = 0; off < n; off += (size_t)1 << 30) // MPI counts are int
                MPI_Bcast(p + off, (int)(n - off < ((size_t)1 << 30) ? n - off : ((size_t)1 << 30)), MPI_FLOAT, 0, comm);
        }
        MPI_Barrier(comm);
        double dt = MPI_Wtime() - t0;
        if (dt < best) best = dt;
    }
    return best;
}

int main(int argc, char **argv) {
    comm_init(&argc, &argv);
    fx_config c;
    cfg_defaults(&c);
    comm_world w;
    fx_err err;
    if (comm_world_build(&w, &c, &err)) fx_fatal("%s", err.msg);
    if (w.sync_comm == MPI_COMM_NULL) fx_fatal("run with 3 ranks: trainer, rollout, reward");
    int sizes_default[] = {16, 128, 512}, nsizes = argc > 1 ? argc - 1 : 3;
    if (w.rank == 0) {
        int ranks;
        MPI_Comm_size(w.sync_comm, &ranks);
        printf("weight sync over %d ranks (1 sender, %d receivers), best of 5; GB/s = buffer bytes / time\n", ranks, ranks - 1);
        printf("| size MiB | MPI_Bcast one buffer GB/s | wsync 32 MiB buckets GB/s | ratio | wsync 4 MiB buckets GB/s | ratio |\n");
        printf("|---|---|---|---|---|---|\n");
    }
    for (int s = 0; s < nsizes; s++) {
        size_t mib = (size_t)(argc > 1 ? atoi(argv[s + 1]) : sizes_default[s]), n = mib << 18; // floats
        float *p = malloc(n * sizeof *p);
        for (size_t i = 0; i < n; i++) p[i] = (float)i;
        double plain = run(p, n, 0, w.sync_comm, 5);
        double big = run(p, n, (size_t)32 << 20, w.sync_comm, 5);
        double small = run(p, n, (size_t)4 << 20, w.sync_comm, 5);
        double gb = (double)(n * sizeof(float)) / 1e9;
        if (w.rank == 0)
            printf("| %zu | %.2f | %.2f | %.2f | %.2f | %.2f |\n", mib, gb / plain, gb / big, plain / big, gb / small,
                   plain / small);
        free(p);
    }
    comm_world_free(&w);
    comm_finalize();
    return 0;
}
