// reward_rank.c — a reward rank: scores each batch a rollout rank sends (pipe_job_score: verifier,
// checker or PRM, reference log-probs) and sends it to the leader, until the leader's stop.
#include "../comm/msg.h"
#include "../core/log.h"
#include "../core/watchdog.h"
#include "pipeline_internal.h"

int pipe_reward_rank(const fx_config *c, const comm_world *w, pipe_job *job) {
    fx_err err;
    pipe_loop l = {0};
    trace_batch in, scored;
    trace_batch_init(&in), trace_batch_init(&scored);
    fx_watchdog_start((double)c->cluster.stall_timeout, "waiting for traces");
    while (pipe_next(&l, MPI_ANY_SOURCE, MPI_ANY_TAG, w)) {
        unsigned kind = msg_head(&l.m)->kind;
        if (kind != MSG_TRACES || comm_role_of(w, l.from) != COMM_ROLE_ROLLOUT)
            msg_unexpected(&l.m, l.who, "traces (1) from a rollout rank, or stop (2) from the leader", &err),
                fx_fatal("%s", err.msg);
        if (msg_decode_traces(&l.m, l.who, &in, &err)) fx_fatal("%s", err.msg);
        fx_watchdog_beat("scoring");
        double t0 = fx_time_now(), prm;
        pipe_job_score(job, &in, &scored, &prm);
        msg_encode_traces(&l.out, &scored, w->rank, msg_head(&l.m)->policy_version, l.seq++);
        msg_set_times(&l.out, msg_head(&l.m)->time_rollout_s, (float)(fx_time_now() - t0));
        msg_send(&l.out, 0, MSG_TAG_SCORED);
        fx_watchdog_beat("waiting for traces");
    }
    fx_watchdog_stop();
    trace_batch_free(&in), trace_batch_free(&scored);
    pipe_loop_free(&l);
    return l.code;
}
