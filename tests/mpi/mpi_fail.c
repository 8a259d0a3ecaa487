// mpi_fail.c — one rank fails while the others wait in a collective: the job must end (not hang)
// with a message naming the failed rank and its role. Run by tests/mpi/test_mpi.sh under mpirun.
//   mpi_fail          rank 1 calls fx_fatal
//   mpi_fail stall    rank 1 stops making progress; its watchdog (2 s) ends the job
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <unistd.h>

#include "comm/comm.h"
#include "core/log.h"
#include "core/watchdog.h"

int main(int argc, char **argv) {
    comm_init(&argc, &argv);
    fx_config c;
    cfg_defaults(&c);
    c.cluster.reward_ranks = 0; // 2 ranks: a trainer and a rollout rank
    comm_world w;
    fx_err err;
    if (comm_world_build(&w, &c, &err)) fx_fatal("%s", err.msg);
    if (w.rank == 1 && argc > 1 && strcmp(argv[1], "stall") == 0) {
        fx_watchdog_start(2.0, "a step that never ends");
        for (;;) sleep(1);
    }
    if (w.rank == 1) fx_fatal("injected failure on purpose");
    COMM_CHECK(MPI_Barrier(MPI_COMM_WORLD)); // rank 0 waits here for a rank that never comes
    fx_info("unreachable: the barrier completed");
    comm_world_free(&w);
    comm_finalize();
    return 0;
}
