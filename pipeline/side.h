// side.h — the rollout side as the trainer leader sees it: somewhere to send the problems of an
// update and from which scored groups come back. Two of them: in this process (side_local.c: the
// job generates and scores on request) and on the rollout and reward ranks of an MPI world
// (side_ranks.c). The leader (leader.c) runs the same loop over either, and tests drive it through
// sides of their own (tests/test_leader.c).
#ifndef FLUXRL_PIPE_SIDE_H
#define FLUXRL_PIPE_SIDE_H

#include "../comm/comm.h"
#include "job.h"

typedef struct pipe_side pipe_side;
struct pipe_side {
    // Generate and score the groups of problems[0..n) for `update`. Their scored traces come back
    // through collect, in batches of whole groups, in any order.
    void (*request)(pipe_side *s, int64_t update, const int64_t *problems, int n);
    // One batch of scored traces (out cleared first), waiting for it; *t_rollout and *t_reward are
    // the seconds its generation and scoring took. Called only while requested groups are owed.
    int (*collect)(pipe_side *s, trace_batch *out, double *t_rollout, double *t_reward, fx_err *err);
    // The trainer leader's weights, now at `version`, to wherever generation runs.
    int (*sync)(pipe_side *s, int64_t version, fx_err *err);
    // The held-out evaluation of the weights last synced (1), or none to make (0), into r. May be
    // NULL: the leader evaluates its own policy (pipe_job_eval).
    int (*eval)(pipe_side *s, sft_eval_result *r, fx_err *err);
    // No more work: everything in flight is drained and the other ranks end with exit code `code`.
    void (*stop)(pipe_side *s, int code);
    void (*free)(pipe_side *s);
};

// In this process, with job's policy. eager: generate at request time (one-step-off: with the
// weights of the update in training), else when collected (on-policy: with the weights of the
// update the work is for).
pipe_side *pipe_side_local(pipe_job *job, bool eager);
// The rollout ranks of w (and behind them the reward ranks); job is the leader's.
pipe_side *pipe_side_ranks(pipe_job *job, const comm_world *w);

#endif
