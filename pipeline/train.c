// train.c — pipeline_train (pipeline.h): the config on every rank, the world of roles, and the loop
// each rank runs.
#include <stdlib.h>
#include <string.h>

#include "../comm/msg.h"
#include "../core/log.h"
#include "../core/watchdog.h"
#include "pipeline_internal.h"

// The roles this rank's job plays: all of them in one process; else its MPI role's (the leader
// trains; a rollout rank also scores when there are no reward ranks).
static unsigned job_roles(const comm_world *w) {
    if (!w) return PIPE_GENERATE | PIPE_SCORE | PIPE_TRAIN;
    if (w->role == COMM_ROLE_TRAINER) return PIPE_TRAIN;
    if (w->role == COMM_ROLE_REWARD) return PIPE_SCORE;
    return PIPE_GENERATE | (w->count[COMM_ROLE_REWARD] == 0 ? PIPE_SCORE : 0);
}

// A non-leader rank that receives a stop signal asks the leader to stop (once), which then stops
// every rank as if the signal had reached it (side_ranks.c): a checkpoint, exit 3 everywhere.
static const comm_world *g_world;

static void forward_stop(void) {
    static bool sent;
    if (sent || !fx_stop_requested()) return;
    sent = true;
    fx_warn("signal %d: asking the trainer leader to stop after this update", fx_stop_signal());
    msg_buf m = {0};
    msg_encode_stop(&m, g_world->rank, fx_stop_signal(), 0);
    msg_send(&m, 0, MSG_TAG_SCORED);
    msg_buf_free(&m);
}

bool pipe_next(pipe_loop *l, int source, int tag, const comm_world *w) {
    fx_err err;
    if (msg_recv(&l->m, source, tag, w, &l->from, &err)) fx_fatal("%s", err.msg);
    msg_who(w, l->from, l->who, sizeof l->who);
    if (msg_head(&l->m)->kind != MSG_STOP || l->from != 0) return true;
    l->code = msg_head(&l->m)->code;
    return false;
}

void pipe_loop_free(pipe_loop *l) { msg_buf_free(&l->m), msg_buf_free(&l->out); }

// This rank's loop over its opened job (w NULL: the one process leads every role).
static int run_rank(const fx_config *c, const comm_world *w, pipe_job *job, bool want_resume,
                    pipeline_result *res) {
    if (w && w->rank != 0) {
        g_world = w;
        msg_set_idle(forward_stop);
        if (w->role == COMM_ROLE_TRAINER) return pipe_trainer_rank(c, w, job);
        if (w->role == COMM_ROLE_ROLLOUT) return pipe_rollout_rank(c, w, job);
        return pipe_reward_rank(c, w, job);
    }
    if (w) pipe_job_dp_init(job, w);
    pipe_side *side = w ? pipe_side_ranks(job, w) : pipe_side_local(job, c->rollout.max_policy_lag > 0);
    int code = pipe_lead(c, job, side, w, want_resume, res);
    // A failed leader brings the job down with its exit code (2: bad input, such as a checkpoint
    // that does not fit), which mpirun passes on.
    if (w && code != FX_EXIT_OK && code != FX_EXIT_STOPPED)
        fx_fatal_at(__FILE__, __LINE__, code, "the trainer leader cannot go on; bringing the job down");
    side->free(side);
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
    // Every rank loads what its role needs (policy, tokenizer, PRM, data); all agree before the
    // first collective, so bad input ends every rank with exit 2, reported by the lowest failing one.
    const comm_world *wp = w.size > 1 ? &w : NULL;
    pipe_job job;
    int threads = wp ? comm_threads_per_rank(wp, c) : (int)c->cluster.threads;
    mine = pipe_job_open(&job, c, job_roles(wp), threads, wp, &err) ? FX_EXIT_INPUT : 0;
    if ((code = comm_agree(mine, &bad))) {
        if (mine && comm_world_rank() == bad) fx_error("%s", err.msg);
    } else code = run_rank(c, wp, &job, want_resume, res);
    pipe_job_close(&job);
out:
    comm_world_free(&w);
    free(c);
    comm_finalize();
    return code;
}
