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
    int64_t step;
    // the leader looks for a checkpoint (this rank reads its slices of a sharded one), then shares it
    if (train_ckpt_resume_dp(&none, &job->policy, &job->dp_hook, false, NULL, &step, &err) < 0)
        return FX_EXIT_INPUT; // none of them loads: the leader says so and brings the job down
    pipe_job_share_start(job, w, &none, false);
    pipe_loop l = {0};
    trace_batch b;
    trace_batch_init(&b);
    fx_watchdog_start((double)c->cluster.stall_timeout, "waiting for the leader's groups");
    while (pipe_next(&l, 0, MSG_TAG_TRAIN, w)) {
        fx_watchdog_beat("training");
        int kind = msg_head(&l.m)->kind;
        bool sharded = pipe_job_sharded(job);
        if ((kind == MSG_CKPT && job->dp_hook.shard) || (sharded && (kind == MSG_SYNC || kind == MSG_SAVE))) {
            if (kind == MSG_CKPT) { // this trainer's shard of update `seq`'s checkpoint
                trainer_run run = {job->p.run_dir, NULL, 0};
                if (train_ckpt_save(&none, &job->policy, &job->dp_hook, (int64_t)msg_head(&l.m)->seq, &run, &err))
                    fx_fatal("%s", err.msg);
            } else if (kind == MSG_SYNC) pipe_job_serve_sync(job);
            else pipe_job_serve_save(job);
            fx_watchdog_beat("waiting for the leader's groups");
            continue;
        }
        if (kind != MSG_TRAIN)
            msg_unexpected(&l.m, l.who,
                           sharded               ? "train (5), sync (4), checkpoint (6), save (8) or stop (2)"
                           : job->dp_hook.shard ? "train (5), checkpoint (6) or stop (2)"
                                                : "train (5) or stop (2)",
                           &err),
                fx_fatal("%s", err.msg);
        if (msg_decode_traces(&l.m, l.who, &b, &err)) fx_fatal("%s", err.msg);
        if (msg_head(&l.m)->update > INT_MAX) fx_fatal("message from %s: update: %lld, too large", l.who,
                                                     (long long)msg_head(&l.m)->update);
        pipe_update u;
        pipe_job_train(job, &b, (int)msg_head(&l.m)->update, &u);
        fx_watchdog_beat("waiting for the leader's groups");
    }
    fx_watchdog_stop();
    trace_batch_free(&b);
    pipe_loop_free(&l);
    return l.code;
}
