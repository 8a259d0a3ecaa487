// data_parallel.c — `fluxrl sft` and `fluxrl prm-train` across the ranks of an MPI world: the
// config on every rank, then trainer/'s run with every rank a data-parallel worker (pipeline.h).
#include <stdlib.h>
#include <string.h>

#include "../comm/comm.h"
#include "../comm/dp.h"
#include "../core/log.h"
#include "../core/watchdog.h"
#include "../model/cuda/cuda_backend.h"
#include "job.h"
#include "params.h"
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

// This rank's backend (cluster.backend; with a CUDA device per rank, the model's buffers then go
// through NCCL), agreed on by every rank. Returns 0, or the exit code every rank ends with.
static int open_backend(const fx_config *c, comm_dp *dp, int threads, backend **be) {
    fx_err err = {{0}};
    int bad = -1, mine = 0;
    *be = pipeline_backend_open("cluster.backend", c->cluster.backend, c->cluster.precision, comm_local_rank(), threads,
                                "this rank", &err);
    if (!*be) mine = FX_EXIT_INPUT;
    int code = comm_agree(mine, &bad);
    if (!code && !strcmp(c->cluster.backend, "cuda") && dp->size > 1 &&
        comm_dp_use_nccl(dp, backend_cuda_stream(*be), &err))
        mine = FX_EXIT_FAIL;
    if (!code) code = comm_agree(mine, &bad);
    if (code) {
        if (mine && comm_world_rank() == bad) fx_error("%s", err.msg);
        backend_destroy(*be);
        *be = NULL;
    }
    return code;
}

// The loop of a data-parallel command on every rank of the world: MPI up, the config agreed on,
// the backend opened, then run (sft_run, prm_run, on parameters built from the config and the run
// folder) with every rank a data-parallel worker. one_thread_each: with more than one rank, one
// thread each unless cluster.threads says otherwise.
typedef int (*dp_loop)(const fx_config *c, trainer_run run, backend *be, const trainer_dp *dp, bool want_resume,
                       void *res);

static int run_everywhere(int *argc, char ***argv, const char *role, const char *path, int nset, char **sets,
                          bool want_resume, bool one_thread_each, dp_loop run, void *res) {
    fx_config *c = fx_malloc(sizeof *c);
    comm_dp dp;
    backend *be = NULL;
    int code = start(argc, argv, role, path, nset, sets, c, &dp);
    bool dp_up = code == 0;
    int threads = !dp_up ? 0 : one_thread_each && dp.size > 1 && c->cluster.threads <= 0 ? 1 : (int)c->cluster.threads;
    if (dp_up && !(code = open_backend(c, &dp, threads, &be))) {
        trainer_dp hook = comm_dp_hook(&dp);
        hook.shard = pipe_shard(c);
        hook.vocab_rows = (int)c->trainer.vocab_chunk;
        char dir[PIPE_RUN_DIR_LEN], *json;
        trainer_run tr = pipe_trainer_run(c, dir, &json);
        code = run(c, tr, be, dp.size > 1 ? &hook : NULL, want_resume, res);
        free(json);
    }
    if (dp_up) comm_dp_free(&dp);
    backend_destroy(be);
    free(c);
    comm_finalize();
    return code;
}

static int sft_loop(const fx_config *c, trainer_run run, backend *be, const trainer_dp *dp, bool want_resume,
                    void *res) {
    sft_run_params p = pipe_sft_params(c, run);
    return sft_run(&p, be, dp, want_resume, res);
}

static int prm_loop(const fx_config *c, trainer_run run, backend *be, const trainer_dp *dp, bool want_resume,
                    void *res) {
    prm_run_params p = pipe_prm_params(c, run);
    return prm_run(&p, be, dp, want_resume, res);
}

int pipeline_sft(int *argc, char ***argv, const char *path, int nset, char **sets, bool want_resume,
                 sft_run_result *res) {
    memset(res, 0, sizeof *res);
    return run_everywhere(argc, argv, "sft", path, nset, sets, want_resume, true, sft_loop, res);
}

// prm-train keeps cluster.threads as it is (0: all the cores OpenMP sees, on every rank).
int pipeline_prm_train(int *argc, char ***argv, const char *path, int nset, char **sets, bool want_resume,
                       prm_run_result *res) {
    memset(res, 0, sizeof *res);
    return run_everywhere(argc, argv, "prm-train", path, nset, sets, want_resume, false, prm_loop, res);
}
