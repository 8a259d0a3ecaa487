// pipeline_internal.h — the loops of pipeline/ (see pipeline.h), for train.c and the tests.
#ifndef FLUXRL_PIPELINE_INTERNAL_H
#define FLUXRL_PIPELINE_INTERNAL_H

#include "../comm/comm.h"
#include "../comm/msg.h"
#include "job.h"
#include "pipeline.h"
#include "side.h"

// The trainer leader's loop over an opened job (with every role when w is NULL, else PIPE_TRAIN
// and pipe_job_dp_init done) and a rollout side: updates grpo.steps, from the newest checkpoint
// when want_resume. At the end (code 0, or 3 after a stop signal) the side is stopped with the
// code; on failure the error is logged and its exit code returned with the side left as it is
// (a distributed caller then brings the job down). w: the world (NULL: one process).
int pipe_lead(const fx_config *c, pipe_job *job, pipe_side *side, const comm_world *w, bool want_resume,
              pipeline_result *res);

// The loops of the other ranks over their opened jobs (pipe_job_roles); each returns the exit code
// the leader's stop message carries.
int pipe_trainer_rank(const fx_config *c, const comm_world *w, pipe_job *job);
int pipe_rollout_rank(const fx_config *c, const comm_world *w, pipe_job *job);
int pipe_reward_rank(const fx_config *c, const comm_world *w, pipe_job *job);

// Those loops' messages: the one received (m, from rank `from`, named in `who`), the one sent (out,
// numbered by seq) and the exit code of the leader's stop.
typedef struct {
    msg_buf m, out;
    uint64_t seq;
    int from, code;
    char who[64];
} pipe_loop;

// The next message from `source` with `tag` (MPI_ANY_*: any) into l->m, fatal when it cannot be
// received. Returns false for the leader's stop, with l->code the exit code it carries.
bool pipe_next(pipe_loop *l, int source, int tag, const comm_world *w);
void pipe_loop_free(pipe_loop *l);

#endif
