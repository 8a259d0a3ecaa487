// side_ranks.c — the rollout side on the rollout and reward ranks of an MPI world: see side.h.
// Work goes to the rollout ranks (whole groups, split as evenly as possible); scored traces come
// back from whichever rank scored them (a reward rank, or the rollout rank itself when there are
// no reward ranks). A rank that receives a stop signal asks the leader to stop (train.c); the
// request arrives here among the scored traces.
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "../comm/msg.h"
#include "../core/log.h"
#include "../core/watchdog.h"
#include "side.h"

typedef struct {
    pipe_side base;
    pipe_job *job;
    const comm_world *w;
    msg_buf msg;
    uint64_t seq;
    int outstanding; // work messages not yet answered
} side_ranks;

static void ranks_request(pipe_side *base, int64_t update, const int64_t *problems, int n) {
    side_ranks *s = (side_ranks *)base;
    int R = s->w->count[COMM_ROLE_ROLLOUT];
    for (int r = 0; r < R; r++) {
        int a = (int)((int64_t)r * n / R), b = (int)((int64_t)(r + 1) * n / R);
        if (a == b) continue;
        msg_encode_work(&s->msg, s->w->rank, update, problems + a, b - a, s->seq++);
        msg_send(&s->msg, s->w->first[COMM_ROLE_ROLLOUT] + r, MSG_TAG_WORK);
        s->outstanding++;
    }
}

static int ranks_collect(pipe_side *base, trace_batch *out, double *t_rollout, double *t_reward, fx_err *err) {
    side_ranks *s = (side_ranks *)base;
    if (s->outstanding <= 0) return fx_errf(err, "the rollout ranks owe no groups");
    int from;
    char who[64];
    for (;;) {
        if (msg_recv(&s->msg, MPI_ANY_SOURCE, MSG_TAG_SCORED, s->w, &from, err)) return -1;
        msg_who(s->w, from, who, sizeof who);
        if (msg_head(&s->msg)->kind != MSG_STOP) break;
        // A stop signal reached another rank: stop as if it had reached this one (checkpoint at the
        // end of the update, exit 3 everywhere).
        int sig = msg_head(&s->msg)->code;
        if (!fx_stop_requested()) fx_warn("%s received signal %d; stopping after this update", who, sig);
        fx_stop_raise(sig > 0 ? sig : SIGTERM);
    }
    if (msg_decode_traces(&s->msg, who, out, err)) return -1;
    *t_rollout = msg_head(&s->msg)->time_rollout_s, *t_reward = msg_head(&s->msg)->time_reward_s;
    s->outstanding--;
    return 0;
}

static int ranks_sync(pipe_side *base, int64_t version, fx_err *err) {
    side_ranks *s = (side_ranks *)base;
    for (int r = 0; r < s->w->count[COMM_ROLE_ROLLOUT]; r++) {
        msg_encode_sync(&s->msg, s->w->rank, version, s->seq++);
        msg_send(&s->msg, s->w->first[COMM_ROLE_ROLLOUT] + r, MSG_TAG_WORK);
    }
    int64_t v = version;
    return pipe_job_sync_policy(s->job, s->w, &v, err);
}

// The leader's policy sharded over the trainers (trainer.shard = full) is not whole on any of them
// between updates: the first rollout rank, which holds the weights just synced, evaluates them.
// Otherwise the leader evaluates its own. Sent before the next update's work (leader.c), so that
// the rollout rank has nothing queued before it.
static int ranks_eval(pipe_side *base, sft_eval_result *r, fx_err *err) {
    side_ranks *s = (side_ranks *)base;
    if (!s->job->policy.params_layer || !s->w->count[COMM_ROLE_ROLLOUT]) return pipe_job_eval(s->job, r) ? 1 : 0;
    int first = s->w->first[COMM_ROLE_ROLLOUT], from, n;
    msg_encode_eval(&s->msg, s->w->rank, s->job->version, NULL, 0, s->seq++);
    msg_send(&s->msg, first, MSG_TAG_WORK);
    if (msg_recv(&s->msg, first, MSG_TAG_EVAL, s->w, &from, err)) return -1;
    char who[64];
    msg_who(s->w, from, who, sizeof who);
    double v[MSG_EVAL_VALUES];
    if (msg_decode_eval(&s->msg, who, v, &n, err)) return -1;
    if (msg_head(&s->msg)->policy_version != s->job->version)
        return fx_errf(err, "message from %s: an evaluation of version %lld, expected %lld", who,
                       (long long)msg_head(&s->msg)->policy_version, (long long)s->job->version);
    memset(r, 0, sizeof *r);
    if (!n) return 0;
    *r = (sft_eval_result){(int)v[0], v[1], v[2], v[3], v[4]};
    return 1;
}

static void ranks_stop(pipe_side *base, int code) {
    side_ranks *s = (side_ranks *)base;
    trace_batch drain;
    trace_batch_init(&drain);
    double a, b;
    fx_err err;
    while (s->outstanding > 0) // nothing left in flight
        if (ranks_collect(base, &drain, &a, &b, &err)) fx_fatal("%s", err.msg);
    trace_batch_free(&drain);
    for (int r = 1; r < s->w->size; r++) {
        msg_encode_stop(&s->msg, s->w->rank, code, s->seq++);
        int tag = comm_role_of(s->w, r) == COMM_ROLE_TRAINER ? MSG_TAG_TRAIN : MSG_TAG_WORK;
        msg_send(&s->msg, r, tag);
    }
}

static void ranks_free(pipe_side *base) {
    side_ranks *s = (side_ranks *)base;
    msg_buf_free(&s->msg);
    free(s);
}

pipe_side *pipe_side_ranks(pipe_job *job, const comm_world *w) {
    side_ranks *s = fx_calloc(1, sizeof *s);
    s->base = (pipe_side){ranks_request, ranks_collect, ranks_sync, ranks_eval, ranks_stop, ranks_free};
    s->job = job, s->w = w;
    return &s->base;
}
