// data_parallel.c — `fluxrl sft` and `fluxrl prm-train` across the ranks of an MPI world: the
// config on every rank, then trainer/'s run with every rank a data-parallel worker (pipeline.h).
#include <stdlib.h>
#include <string.h>

#include "../comm/comm.h"
#include "../comm/dp.h"
#include "../core/log.h"
#include "../core/watchdog.h"
#include "pipeline.h"

// MPI up, the config resolved on every rank and agreed on; the run's log settings and signal
// handlers in place. Returns 0, or the exit code every rank ends with (reported once).
static int start(int *argc, char ***argv, const char *role, const char *path, int nset, char **sets, fx_config *c,
                 comm_dp *dp) {
    comm_init(argc, argv);
    fx_err err = {{0}};
    int bad = -1, mine = cfg_resolve(c, path, nset, sets, &err) ? FX_EXIT_INPUT : 0;
    int code = comm_agree(mine, &bad);
    if (code) {
        if (mine && comm_world_rank() == bad) fx_error("%s", err.msg);
        return code;
    }
    cfg_apply_log(c);
    if (comm_world_size() > 1) fx_log_set_rank(comm_world_rank(), role);
    fx_signals_install();
    comm_dp_init(dp, MPI_COMM_WORLD);
    return 0;
}

int pipeline_sft(int *argc, char ***argv, const char *path, int nset, char **sets, bool want_resume,
                 sft_run_result *res) {
    memset(res, 0, sizeof *res);
    fx_config *c = fx_malloc(sizeof *c);
    comm_dp dp;
    int code = start(argc, argv, "sft", path, nset, sets, c, &dp);
    if (!code) {
        trainer_dp hook = comm_dp_hook(&dp);
        code = sft_run(c, dp.size > 1 ? &hook : NULL, want_resume, res);
        comm_dp_free(&dp);
    }
    free(c);
    comm_finalize();
    return code;
}

int pipeline_prm_train(int *argc, char ***argv, const char *path, int nset, char **sets, bool want_resume,
                       prm_run_result *res) {
    memset(res, 0, sizeof *res);
    fx_config *c = fx_malloc(sizeof *c);
    comm_dp dp;
    int code = start(argc, argv, "prm-train", path, nset, sets, c, &dp);
    if (!code) {
        trainer_dp hook = comm_dp_hook(&dp);
        code = prm_run(c, dp.size > 1 ? &hook : NULL, want_resume, res);
        comm_dp_free(&dp);
    }
    free(c);
    comm_finalize();
    return code;
}
