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
    train_ckpt none = {.kind = "grpo"}; // the leader writes the checkpoint's own file; this rank its shard
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
        int kind = msg_head(&m)->kind;
        bool sharded = pipe_job_sharded(job);
        if ((kind == MSG_CKPT && job->dp_hook.shard) || (sharded && (kind == MSG_SYNC || kind == MSG_SAVE))) {
            if (kind == MSG_CKPT) { // this trainer's shard of update `seq`'s checkpoint
                trainer_run run = {job->p.run_dir, NULL, 0};
                if (train_ckpt_save(&none, &job->policy, &job->dp_hook, (int64_t)msg_head(&m)->seq, &run, &err))
                    fx_fatal("%s", err.msg);
            } else if (kind == MSG_SYNC) pipe_job_serve_sync(job);
            else pipe_job_serve_save(job);
            fx_watchdog_beat("waiting for the leader's groups");
            continue;
        }
        if (kind != MSG_TRAIN)
            msg_unexpected(&m, who,
                           sharded               ? "train (5), sync (4), checkpoint (6), save (8) or stop (2)"
                           : job->dp_hook.shard ? "train (5), checkpoint (6) or stop (2)"
                                                : "train (5) or stop (2)",
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
