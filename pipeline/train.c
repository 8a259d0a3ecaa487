// train.c — pipeline_train (pipeline.h): the config on every rank, the world of roles, and the loop
// each rank runs.
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/watchdog.h"
#include "pipeline_internal.h"

// The trainer leader: world rank 0 of a distributed run (w), or the one process (w NULL).
static int lead(const fx_config *c, const comm_world *w, bool want_resume, pipeline_result *res) {
    fx_err err;
    pipe_job job;
    unsigned roles = w ? PIPE_TRAIN : PIPE_GENERATE | PIPE_SCORE | PIPE_TRAIN;
    int threads = w ? comm_threads_per_rank(w, c) : (int)c->cluster.threads;
    if (pipe_job_open(&job, c, roles, threads, w, &err)) {
        fx_error("%s", err.msg);
        if (w) fx_fatal("the trainer leader cannot go on; bringing the job down");
        pipe_job_close(&job);
        return FX_EXIT_INPUT;
    }
    if (w) pipe_job_dp_init(&job, w);
    pipe_side *side = w ? pipe_side_ranks(&job, w) : pipe_side_local(&job, c->rollout.max_policy_lag > 0);
    int code = pipe_lead(c, &job, side, w, want_resume, res);
    if (w && code != FX_EXIT_OK && code != FX_EXIT_STOPPED) fx_fatal("the trainer leader cannot go on; bringing the job down");
    side->free(side);
    pipe_job_close(&job);
    return code;
}

int pipeline_train(int *argc, char ***argv, const char *path, int nset, char **sets, bool want_resume,
                   pipeline_result *res) {
    memset(res, 0, sizeof *res); // filled by the leader only
    comm_init(argc, argv);
    fx_config *c = fx_malloc(sizeof *c);
    fx_err err = {{0}};
    comm_world w = {0};
    int bad = -1, code;
    int mine = cfg_resolve(c, path, nset, sets, &err) || pipe_job_check_config(c, &err) ? FX_EXIT_INPUT : 0;
    if (!(code = comm_agree(mine, &bad))) {
        cfg_apply_log(c);
        mine = comm_world_build(&w, c, &err) ? FX_EXIT_INPUT : 0;
    }
    if (!code && !(code = comm_agree(mine, &bad))) {
        if (w.size > 1 && w.count[COMM_ROLE_ROLLOUT] < 1) {
            mine = FX_EXIT_INPUT;
            fx_errf(&err, "cluster.rollout_ranks: a distributed run needs at least one rollout rank");
        }
        code = comm_agree(mine, &bad);
    }
    if (code) {
        if (mine && comm_world_rank() == bad) fx_error("%s", err.msg);
        goto out;
    }
    fx_signals_install();
    if (w.size == 1 || w.rank == 0) code = lead(c, w.size > 1 ? &w : NULL, want_resume, res);
    else if (w.role == COMM_ROLE_TRAINER) code = pipe_trainer_rank(c, &w);
    else if (w.role == COMM_ROLE_ROLLOUT) code = pipe_rollout_rank(c, &w);
    else code = pipe_reward_rank(c, &w);
out:
    comm_world_free(&w);
    free(c);
    comm_finalize();
    return code;
}
