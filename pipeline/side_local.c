// side_local.c — the rollout side in this process: see side.h.
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "side.h"

typedef struct {
    int64_t *problems; // NULL once generated
    int n;
    trace_batch scored;
    double t_rollout, t_reward;
} request;

typedef struct {
    pipe_side base;
    pipe_job *job;
    bool eager;
    request *q; // requests not yet collected, oldest at head
    int n, head;
} side_local;

static void run(side_local *s, request *r) {
    trace_batch gen;
    trace_batch_init(&gen);
    double t0 = fx_time_now();
    pipe_job_generate(s->job, r->problems, r->n, &gen);
    double t1 = fx_time_now(), prm;
    pipe_job_score(s->job, &gen, &r->scored, &prm);
    r->t_rollout = t1 - t0, r->t_reward = fx_time_now() - t1;
    free(r->problems);
    r->problems = NULL;
    trace_batch_free(&gen);
}

static void local_request(pipe_side *base, int64_t update, const int64_t *problems, int n) {
    side_local *s = (side_local *)base;
    (void)update;
    s->q = fx_realloc(s->q, (size_t)(s->n + 1) * sizeof *s->q);
    request *r = &s->q[s->n++];
    memset(r, 0, sizeof *r);
    trace_batch_init(&r->scored);
    r->problems = fx_malloc((size_t)(n ? n : 1) * sizeof(int64_t));
    memcpy(r->problems, problems, (size_t)n * sizeof(int64_t));
    r->n = n;
    if (s->eager) run(s, r);
}

static int local_collect(pipe_side *base, trace_batch *out, double *t_rollout, double *t_reward, fx_err *err) {
    side_local *s = (side_local *)base;
    if (s->head == s->n) return fx_errf(err, "the rollout side owes no groups");
    request *r = &s->q[s->head];
    if (r->problems) run(s, r);
    trace_batch_clear(out);
    trace_batch_append(out, &r->scored);
    trace_batch_free(&r->scored);
    *t_rollout = r->t_rollout, *t_reward = r->t_reward;
    if (++s->head == s->n) s->head = s->n = 0;
    return 0;
}

// Generation uses the trained model itself.
static int local_sync(pipe_side *base, int64_t version, fx_err *err) {
    (void)base, (void)version, (void)err;
    return 0;
}

static void local_stop(pipe_side *base, int code) { (void)base, (void)code; }

static int local_eval(pipe_side *base, sft_eval_result *r, fx_err *err) {
    (void)err;
    return pipe_job_eval(((side_local *)base)->job, r) ? 1 : 0;
}

static void local_free(pipe_side *base) {
    side_local *s = (side_local *)base;
    for (int i = s->head; i < s->n; i++) trace_batch_free(&s->q[i].scored), free(s->q[i].problems);
    free(s->q);
    free(s);
}

pipe_side *pipe_side_local(pipe_job *job, bool eager) {
    side_local *s = fx_calloc(1, sizeof *s);
    s->base = (pipe_side){local_request, local_collect, local_sync, local_eval, local_stop, local_free};
    s->job = job, s->eager = eager;
    return &s->base;
}
