// train_dist.c — see train_dist.h.
#define _POSIX_C_SOURCE 200809L
#include "train_dist.h"

#include <limits.h>
#include <string.h>

#include "../comm/msg.h"
#include "../comm/wsync.h"
#include "../core/log.h"
#include "../core/watchdog.h"

// A message of the wrong kind, or from a rank that has no business sending it, ends the job.
static void unexpected(const comm_world *w, const msg_buf *m, int from, const char *expected) {
    char who[64];
    msg_who(w, from, who, sizeof who);
    fx_fatal("message from %s: kind: %u, expected %s", who, msg_head(m)->kind, expected);
}

int train_dist_trainer(const fx_config *c, const comm_world *w, bool want_resume) {
    (void)want_resume; // the leader loads the checkpoint and shares it
    fx_err err;
    train_job job;
    if (train_job_open(&job, c, JOB_TRAIN, comm_threads_per_rank(w, c), w, &err)) fx_fatal("%s", err.msg);
    grpo_dp dp;
    train_job_dp_init(&job, &dp, w);
    train_job_share_start(&job, w);
    msg_buf m = {0};
    trace_batch b;
    trace_batch_init(&b);
    int code = 0, from;
    fx_watchdog_start((double)c->cluster.stall_timeout, "waiting for the leader's groups");
    for (;;) {
        if (msg_recv(&m, 0, TRAIN_TAG_TRAIN, w, &from, &err)) fx_fatal("%s", err.msg);
        fx_watchdog_beat("training");
        if (msg_head(&m)->kind == MSG_STOP) {
            code = (int)msg_head(&m)->policy_version;
            break;
        }
        if (msg_head(&m)->kind != MSG_TRACES) unexpected(w, &m, from, "traces (1) or stop (2)");
        char who[64];
        msg_who(w, from, who, sizeof who);
        if (msg_decode_traces(&m, who, &b, &err)) fx_fatal("%s", err.msg);
        train_job_update u;
        train_job_train(&job, &b, (int)msg_head(&m)->policy_version, &dp, &u);
        fx_watchdog_beat("waiting for the leader's groups");
    }
    fx_watchdog_stop();
    trace_batch_free(&b);
    msg_buf_free(&m);
    train_job_close(&job);
    return code;
}

int train_dist_rollout(const fx_config *c, const comm_world *w) {
    fx_err err;
    train_job job;
    int W = w->count[COMM_ROLE_REWARD];
    unsigned roles = JOB_GENERATE | (W == 0 ? JOB_SCORE : 0);
    if (train_job_open(&job, c, roles, comm_threads_per_rank(w, c), w, &err)) fx_fatal("%s", err.msg);
    int64_t v = 0;
    if (train_job_sync_policy(&job, w, &v, &err)) fx_fatal("%s", err.msg);
    job.version = v;
    int dest = W ? w->first[COMM_ROLE_REWARD] + w->role_rank % W : 0;
    int tag = W ? TRAIN_TAG_GEN : TRAIN_TAG_SCORED;
    msg_buf m = {0}, out = {0};
    trace_batch gen, scored;
    trace_batch_init(&gen), trace_batch_init(&scored);
    uint64_t seq = 0;
    int code = 0, from;
    fx_watchdog_start((double)c->cluster.stall_timeout, "waiting for work");
    for (;;) {
        if (msg_recv(&m, 0, TRAIN_TAG_WORK, w, &from, &err)) fx_fatal("%s", err.msg);
        unsigned kind = msg_head(&m)->kind;
        if (kind == MSG_STOP) {
            code = (int)msg_head(&m)->policy_version;
            break;
        }
        if (kind == MSG_SYNC) {
            fx_watchdog_beat("weight sync");
            if (train_job_sync_policy(&job, w, &v, &err)) fx_fatal("%s", err.msg);
            if (v != msg_head(&m)->policy_version)
                fx_fatal("weight sync: received version %lld, the sync message announced %lld", (long long)v,
                         (long long)msg_head(&m)->policy_version);
            job.version = v;
            fx_watchdog_beat("waiting for work");
            continue;
        }
        if (kind != MSG_WORK) unexpected(w, &m, from, "work (3), sync (4) or stop (2)");
        char who[64];
        msg_who(w, from, who, sizeof who);
        int64_t update, n;
        const int64_t *problems;
        if (msg_decode_work(&m, who, &update, &problems, &n, &err)) fx_fatal("%s", err.msg);
        if (n > INT_MAX / c->grpo.group_size) fx_fatal("message from %s: counts: %lld problems, too many", who, (long long)n);
        fx_watchdog_beat("generating");
        double t0 = fx_time_now();
        train_job_generate(&job, problems, (int)n, &gen);
        double t1 = fx_time_now(), t2 = t1, prm;
        const trace_batch *send = &gen;
        if (!W) {
            train_job_score(&job, &gen, &scored, &prm);
            t2 = fx_time_now(), send = &scored;
        }
        msg_encode_traces(&out, send, w->rank, job.version, seq++);
        msg_set_times(&out, (float)(t1 - t0), (float)(t2 - t1));
        msg_send(&out, dest, tag);
        fx_watchdog_beat("waiting for work");
    }
    fx_watchdog_stop();
    trace_batch_free(&gen), trace_batch_free(&scored);
    msg_buf_free(&m), msg_buf_free(&out);
    train_job_close(&job);
    return code;
}

int train_dist_reward(const fx_config *c, const comm_world *w) {
    fx_err err;
    train_job job;
    if (train_job_open(&job, c, JOB_SCORE, comm_threads_per_rank(w, c), w, &err)) fx_fatal("%s", err.msg);
    msg_buf m = {0}, out = {0};
    trace_batch in, scored;
    trace_batch_init(&in), trace_batch_init(&scored);
    uint64_t seq = 0;
    int code = 0, from;
    fx_watchdog_start((double)c->cluster.stall_timeout, "waiting for traces");
    for (;;) {
        if (msg_recv(&m, MPI_ANY_SOURCE, MPI_ANY_TAG, w, &from, &err)) fx_fatal("%s", err.msg);
        unsigned kind = msg_head(&m)->kind;
        if (kind == MSG_STOP && from == 0) {
            code = (int)msg_head(&m)->policy_version;
            break;
        }
        if (kind != MSG_TRACES || comm_role_of(w, from) != COMM_ROLE_ROLLOUT)
            unexpected(w, &m, from, "traces (1) from a rollout rank, or stop (2) from the leader");
        char who[64];
        msg_who(w, from, who, sizeof who);
        if (msg_decode_traces(&m, who, &in, &err)) fx_fatal("%s", err.msg);
        fx_watchdog_beat("scoring");
        double t0 = fx_time_now(), prm;
        train_job_score(&job, &in, &scored, &prm);
        msg_encode_traces(&out, &scored, w->rank, msg_head(&m)->policy_version, seq++);
        msg_set_times(&out, msg_head(&m)->time_rollout_s, (float)(fx_time_now() - t0));
        msg_send(&out, 0, TRAIN_TAG_SCORED);
        fx_watchdog_beat("waiting for traces");
    }
    fx_watchdog_stop();
    trace_batch_free(&in), trace_batch_free(&scored);
    msg_buf_free(&m), msg_buf_free(&out);
    train_job_close(&job);
    return code;
}
