// rollout_rank.c — a rollout rank: waits for the leader's work (problems to sample groups for) and
// weight syncs; sends each generated batch to its reward rank, or, with no reward ranks, scores it
// and sends it to the leader. Ends at the leader's stop.
#include <limits.h>

#include "../comm/msg.h"
#include "../core/log.h"
#include "../core/watchdog.h"
#include "pipeline_internal.h"

int pipe_rollout_rank(const fx_config *c, const comm_world *w, pipe_job *job) {
    fx_err err;
    int W = w->count[COMM_ROLE_REWARD];
    int64_t v = 0;
    if (pipe_job_sync_policy(job, w, &v, &err)) fx_fatal("%s", err.msg);
    job->version = v;
    int dest = W ? w->first[COMM_ROLE_REWARD] + w->role_rank % W : 0;
    int tag = W ? MSG_TAG_GEN : MSG_TAG_SCORED;
    pipe_loop l = {0};
    trace_batch gen, scored;
    trace_batch_init(&gen), trace_batch_init(&scored);
    fx_watchdog_start((double)c->cluster.stall_timeout, "waiting for work");
    while (pipe_next(&l, 0, MSG_TAG_WORK, w)) {
        unsigned kind = msg_head(&l.m)->kind;
        if (kind == MSG_SYNC) {
            fx_watchdog_beat("weight sync");
            if (pipe_job_sync_policy(job, w, &v, &err)) fx_fatal("%s", err.msg);
            if (v != msg_head(&l.m)->policy_version)
                fx_fatal("weight sync: received version %lld, the sync message announced %lld", (long long)v,
                         (long long)msg_head(&l.m)->policy_version);
            job->version = v;
            fx_watchdog_beat("waiting for work");
            continue;
        }
        if (kind == MSG_EVAL) { // the leader's policy is sharded: this rank evaluates the weights it holds
            fx_watchdog_beat("evaluating");
            sft_eval_result r;
            bool done = pipe_job_eval(job, &r);
            fx_info("evaluated the policy of version %lld for the leader: answers %.1f%% right", (long long)job->version,
                    100 * r.answer_acc);
            double vals[MSG_EVAL_VALUES] = {r.n, r.answer_acc, r.step_acc, r.closed, r.mean_len};
            msg_encode_eval(&l.out, w->rank, job->version, vals, done ? MSG_EVAL_VALUES : 0, l.seq++);
            msg_send(&l.out, l.from, MSG_TAG_EVAL);
            fx_watchdog_beat("waiting for work");
            continue;
        }
        if (kind != MSG_WORK)
            msg_unexpected(&l.m, l.who, "work (3), sync (4), eval (7) or stop (2)", &err), fx_fatal("%s", err.msg);
        int64_t update, n;
        const int64_t *problems;
        if (msg_decode_work(&l.m, l.who, &update, &problems, &n, &err)) fx_fatal("%s", err.msg);
        if (n > INT_MAX / c->grpo.group_size) fx_fatal("message from %s: counts: %lld problems, too many", l.who, (long long)n);
        fx_watchdog_beat("generating");
        double t0 = fx_time_now();
        pipe_job_generate(job, problems, (int)n, &gen);
        double t1 = fx_time_now(), t2 = t1, prm;
        const trace_batch *send = &gen;
        if (!W) {
            pipe_job_score(job, &gen, &scored, &prm);
            t2 = fx_time_now(), send = &scored;
        }
        msg_encode_traces(&l.out, send, w->rank, job->version, l.seq++);
        msg_set_times(&l.out, (float)(t1 - t0), (float)(t2 - t1));
        msg_send(&l.out, dest, tag);
        fx_watchdog_beat("waiting for work");
    }
    fx_watchdog_stop();
    trace_batch_free(&gen), trace_batch_free(&scored);
    pipe_loop_free(&l);
    return l.code;
}
