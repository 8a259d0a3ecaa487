// trainer_rank.c — a trainer other than the leader: trains on its share of each update's groups
// (sent by the leader), gradients all-reduced with the other trainers, until the leader's stop.
#include <limits.h>

#include "../comm/msg.h"
#include "../core/log.h"
#include "../core/watchdog.h"
#include "pipeline_internal.h"

int pipe_trainer_rank(const fx_config *c, const comm_world *w, pipe_job *job) {
    fx_err err;
    pipe_job_dp_init(job, w);
    train_ckpt none = {0}; // the leader's host copies are the ones written
    pipe_job_share_start(job, w, &none, false); // the leader loads any checkpoint and shares it
    msg_buf m = {0};
    trace_batch b;
    trace_batch_init(&b);
    int code = 0, from;
    char who[64];
    fx_watchdog_start((double)c->cluster.stall_timeout, "waiting for the leader's groups");
    for (;;) {
        if (msg_recv(&m, 0, MSG_TAG_TRAIN, w, &from, &err)) fx_fatal("%s", err.msg);
        fx_watchdog_beat("training");
        msg_who(w, from, who, sizeof who);
        if (msg_head(&m)->kind == MSG_STOP) {
            code = msg_head(&m)->code;
            break;
        }
        if (msg_head(&m)->kind == MSG_CKPT && job->dp_hook.shard) { // this trainer's slice of the optimiser state
            train_ckpt_save(&none, &job->policy, &job->dp_hook, 0, NULL, &err);
            fx_watchdog_beat("waiting for the leader's groups");
            continue;
        }
        if (msg_head(&m)->kind != MSG_TRAIN)
            msg_unexpected(&m, who, job->dp_hook.shard ? "train (5), checkpoint (6) or stop (2)" : "train (5) or stop (2)",
                           &err),
                fx_fatal("%s", err.msg);
        if (msg_decode_traces(&m, who, &b, &err)) fx_fatal("%s", err.msg);
        if (msg_head(&m)->update > INT_MAX) fx_fatal("message from %s: update: %lld, too large", who,
                                                     (long long)msg_head(&m)->update);
        pipe_update u;
        pipe_job_train(job, &b, (int)msg_head(&m)->update, &u);
        fx_watchdog_beat("waiting for the leader's groups");
    }
    fx_watchdog_stop();
    trace_batch_free(&b);
    msg_buf_free(&m);
    return code;
}
