// reward_rank.c — a reward rank: scores each batch a rollout rank sends (pipe_job_score: verifier,
// checker or PRM, reference log-probs) and sends it to the leader, until the leader's stop.
#include "../comm/msg.h"
#include "../core/log.h"
#include "../core/watchdog.h"
#include "pipeline_internal.h"

int pipe_reward_rank(const fx_config *c, const comm_world *w, pipe_job *job) {
    fx_err err;
    msg_buf m = {0}, out = {0};
    trace_batch in, scored;
    trace_batch_init(&in), trace_batch_init(&scored);
    uint64_t seq = 0;
    int code = 0, from;
    char who[64];
    fx_watchdog_start((double)c->cluster.stall_timeout, "waiting for traces");
    for (;;) {
        if (msg_recv(&m, MPI_ANY_SOURCE, MPI_ANY_TAG, w, &from, &err)) fx_fatal("%s", err.msg);
        msg_who(w, from, who, sizeof who);
        unsigned kind = msg_head(&m)->kind;
        if (kind == MSG_STOP && from == 0) {
            code = msg_head(&m)->code;
            break;
        }
        if (kind != MSG_TRACES || comm_role_of(w, from) != COMM_ROLE_ROLLOUT)
            msg_unexpected(&m, who, "traces (1) from a rollout rank, or stop (2) from the leader", &err),
                fx_fatal("%s", err.msg);
        if (msg_decode_traces(&m, who, &in, &err)) fx_fatal("%s", err.msg);
        fx_watchdog_beat("scoring");
        double t0 = fx_time_now(), prm;
        pipe_job_score(job, &in, &scored, &prm);
        msg_encode_traces(&out, &scored, w->rank, msg_head(&m)->policy_version, seq++);
        msg_set_times(&out, msg_head(&m)->time_rollout_s, (float)(fx_time_now() - t0));
        msg_send(&out, 0, MSG_TAG_SCORED);
        fx_watchdog_beat("waiting for traces");
    }
    fx_watchdog_stop();
    trace_batch_free(&in), trace_batch_free(&scored);
    msg_buf_free(&m), msg_buf_free(&out);
    return code;
}
