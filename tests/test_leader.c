// test_leader.c — the trainer leader's loop (pipeline/leader.c) driven through a rollout side of
// the test's own, in one process: a tiny policy from scratch, rewards set by the test (so that
// dynamic sampling drops groups and draws more), and a side that hands the scored groups back one
// group at a time, newest first. The leader must train on exactly what it trains on in order
// (metrics and weights bit for bit, rollout.max_policy_lag 0 and 1), stop on SIGTERM with a
// checkpoint and exit code 3 (a resumed run equal to an uninterrupted one), export on SIGUSR1,
// and end with exit code 1 on a failed or misbehaving rollout side.
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/watchdog.h"
#include "../pipeline/pipeline_internal.h"
#include "test.h"

// --- a rollout side of the test's own ---------------------------------------------------------------

enum { ORDER_AS_ASKED, ORDER_NEWEST_FIRST };

typedef struct {
    pipe_side base;
    pipe_side *inner;      // the in-process side (eager: generated when asked for)
    int order;
    trace_batch *groups;   // scored groups not yet handed out, oldest first
    int ngroups;
    int collects;          // collect calls so far
    int fail_at;           // collect call that fails (0: none)
    int dup_at;            // collect call that hands the previous group out again (0: none)
    int signal_at, sig;    // collect call that raises sig (0: none)
    int stop_code;         // what stop was called with (-1: not called)
    int syncs;
    trace_batch last;
} test_side;

// Rewards the test controls: group g keeps no signal when g % 3 == 1 (all 0, dropped by dynamic
// sampling), else sample s is right when (7 g + s) % 3 == 0.
static void set_rewards(trace_batch *b) {
    for (int64_t i = 0; i < b->n; i++) {
        int64_t g = b->group[i];
        float r = g % 3 == 1 ? 0.0f : (float)((7 * g + b->sample[i]) % 3 == 0);
        b->outcome_reward[i] = b->final_reward[i] = r;
    }
}

static void side_request(pipe_side *base, int64_t update, const int64_t *problems, int n) {
    test_side *s = (test_side *)base;
    s->inner->request(s->inner, update, problems, n);
    trace_batch got;
    trace_batch_init(&got);
    double tr, tw;
    fx_err err;
    if (s->inner->collect(s->inner, &got, &tr, &tw, &err)) {
        fprintf(stderr, "inner side: %s\n", err.msg);
        exit(1);
    }
    set_rewards(&got);
    for (int64_t i = 0; i < got.n;) { // split into groups
        int64_t e = i;
        while (e < got.n && got.group[e] == got.group[i]) e++;
        s->groups = fx_realloc(s->groups, (size_t)(s->ngroups + 1) * sizeof *s->groups);
        trace_batch *g = &s->groups[s->ngroups++];
        trace_batch_init(g);
        for (int64_t k = i; k < e; k++) {
            trace t = trace_batch_get(&got, k);
            trace_batch_add(g, &t);
        }
        i = e;
    }
    trace_batch_free(&got);
}

static int side_collect(pipe_side *base, trace_batch *out, double *t_rollout, double *t_reward, fx_err *err) {
    test_side *s = (test_side *)base;
    int call = ++s->collects;
    *t_rollout = *t_reward = 0;
    if (call == s->signal_at) raise(s->sig);
    if (call == s->fail_at) return fx_errf(err, "rank 2 (rollout) stopped answering");
    trace_batch_clear(out);
    if (call == s->dup_at && s->last.n) {
        trace_batch_append(out, &s->last);
        return 0;
    }
    if (!s->ngroups) return fx_errf(err, "the test side owes no groups");
    int k = s->order == ORDER_NEWEST_FIRST ? s->ngroups - 1 : 0;
    trace_batch_append(out, &s->groups[k]);
    trace_batch_clear(&s->last);
    trace_batch_append(&s->last, &s->groups[k]);
    trace_batch_free(&s->groups[k]);
    memmove(&s->groups[k], &s->groups[k + 1], (size_t)(s->ngroups - k - 1) * sizeof *s->groups);
    s->ngroups--;
    return 0;
}

static int side_sync(pipe_side *base, int64_t version, fx_err *err) {
    test_side *s = (test_side *)base;
    s->syncs++;
    return s->inner->sync(s->inner, version, err);
}

static void side_stop(pipe_side *base, int code) {
    test_side *s = (test_side *)base;
    s->stop_code = code;
    s->inner->stop(s->inner, code);
}

static void side_free(pipe_side *base) {
    test_side *s = (test_side *)base;
    for (int i = 0; i < s->ngroups; i++) trace_batch_free(&s->groups[i]);
    free(s->groups);
    trace_batch_free(&s->last);
    s->inner->free(s->inner);
}

// --- runs -------------------------------------------------------------------------------------------

static char root[64];

static void config(fx_config *c, const char *name, int lag, int steps) {
    char buf[256];
    const char *sets[] = {"model.path=", "model.hidden_size=32", "model.layers=1", "model.heads=2",
                          "model.kv_heads=1", "model.intermediate_size=64", "model.max_seq=128", "task.ops=1",
                          "task.digits=1", "grpo.prompts=2", "grpo.group_size=4", "grpo.max_new=24",
                          "grpo.minibatch=4", "grpo.eval_every=0", "grpo.eval_problems=4",
                          "grpo.checkpoint_every=0", "grpo.lr=0.01", "grpo.warmup=0", "grpo.recompute_old_logp=true",
                          "cluster.threads=1", "log.progress=off", "log.level=warn"};
    cfg_defaults(c);
    fx_err err;
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        if (cfg_set(c, sets[i], &err)) fprintf(stderr, "%s: %s\n", sets[i], err.msg), exit(1);
    snprintf(buf, sizeof buf, "run.out_dir=%s", root);
    CHECK(cfg_set(c, buf, &err) == 0);
    snprintf(buf, sizeof buf, "run.name=%s", name);
    CHECK(cfg_set(c, buf, &err) == 0);
    snprintf(buf, sizeof buf, "rollout.max_policy_lag=%d", lag);
    CHECK(cfg_set(c, buf, &err) == 0);
    snprintf(buf, sizeof buf, "grpo.steps=%d", steps);
    CHECK(cfg_set(c, buf, &err) == 0);
}

typedef struct {
    int order, fail_at, dup_at, signal_at, sig;
    bool resume;
} run_opts;

typedef struct {
    int code, stop_code, syncs;
    float *weights; // the policy's parameters at the end
    size_t n;
    pipeline_result res;
} run_out;

static run_out run(const fx_config *c, run_opts o) {
    run_out r = {0};
    pipe_job job;
    fx_err err;
    if (pipe_job_open(&job, c, PIPE_GENERATE | PIPE_SCORE | PIPE_TRAIN, 1, NULL, &err)) {
        fprintf(stderr, "pipe_job_open: %s\n", err.msg);
        exit(1);
    }
    test_side s = {.base = {side_request, side_collect, side_sync, NULL, side_stop, side_free},
                   .inner = pipe_side_local(&job, true), .order = o.order, .fail_at = o.fail_at,
                   .dup_at = o.dup_at, .signal_at = o.signal_at, .sig = o.sig, .stop_code = -1};
    trace_batch_init(&s.last);
    r.code = pipe_lead(c, &job, &s.base, NULL, o.resume, &r.res);
    r.stop_code = s.stop_code, r.syncs = s.syncs;
    r.n = job.policy.nparams;
    r.weights = fx_malloc(r.n * sizeof(float));
    job.be->download(job.be->ctx, r.weights, job.policy.params_mem, r.n * sizeof(float));
    s.base.free(&s.base);
    pipe_job_close(&job);
    return r;
}

// A run folder's metrics.jsonl without the wall-clock fields, one line per entry.
static char *metrics(const char *name) {
    char path[256], line[8192];
    snprintf(path, sizeof path, "%s/%s/metrics.jsonl", root, name);
    FILE *f = fopen(path, "r");
    if (!f) return strdup("(no metrics)");
    size_t cap = 1 << 16, len = 0;
    char *out = fx_malloc(cap);
    out[0] = 0;
    while (fgets(line, sizeof line, f)) {
        cJSON *j = cJSON_Parse(line);
        if (!j) continue;
        for (cJSON *it = j->child; it;) {
            cJSON *next = it->next;
            if (!strncmp(it->string, "time_", 5) || !strcmp(it->string, "rollout_tokens_per_s") ||
                !strcmp(it->string, "sync_bytes")) // how it travelled, not what it computed
                cJSON_Delete(cJSON_DetachItemViaPointer(j, it));
            it = next;
        }
        char *s = cJSON_PrintUnformatted(j);
        size_t n = strlen(s);
        if (len + n + 2 > cap) cap = 2 * (len + n + 2), out = fx_realloc(out, cap);
        memcpy(out + len, s, n), len += n;
        out[len++] = '\n', out[len] = 0;
        free(s);
        cJSON_Delete(j);
    }
    fclose(f);
    return out;
}

static bool exists(const char *name, const char *rel) {
    char path[320];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s/%s", root, name, rel);
    return stat(path, &st) == 0;
}

// The largest value of `key` over the metrics lines (-1 when absent).
static double metric_max(const char *text, const char *key) {
    double best = -1;
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    for (const char *p = strstr(text, pat); p; p = strstr(p + 1, pat)) {
        double v = atof(p + strlen(pat));
        if (v > best) best = v;
    }
    return best;
}

static bool same_weights(const run_out *a, const run_out *b) {
    return a->n == b->n && a->n > 0 && memcmp(a->weights, b->weights, a->n * sizeof(float)) == 0;
}

// Out-of-order groups, refills, lag 0 and 1: the same metrics and weights as the plain order.
static void test_order(int lag) {
    fx_config *c = fx_malloc(sizeof *c);
    char a[32], b[32];
    snprintf(a, sizeof a, "asked-lag%d", lag), snprintf(b, sizeof b, "newest-lag%d", lag);
    config(c, a, lag, 4);
    run_out x = run(c, (run_opts){.order = ORDER_AS_ASKED});
    config(c, b, lag, 4);
    run_out y = run(c, (run_opts){.order = ORDER_NEWEST_FIRST});
    CHECK_INT(x.code, FX_EXIT_OK);
    CHECK_INT(y.code, FX_EXIT_OK);
    CHECK_INT(x.stop_code, 0);
    CHECK_INT(x.res.steps, 4);
    CHECK_INT(x.syncs, 4); // after every update, the last too (a final evaluation may run on the rollout side)
    char *mx = metrics(a), *my = metrics(b);
    CHECK_STR(my, mx);
    // Dynamic sampling had to draw more: a third of the groups carry no signal.
    CHECK(metric_max(mx, "sampling_rounds") >= 1);
    CHECK_INT((int)metric_max(mx, "groups_kept"), 2);
    CHECK(metric_max(mx, "policy_lag_max") == lag);
    CHECK(same_weights(&x, &y));
    CHECK(exists(a, "model/model.safetensors"));
    free(mx), free(my), free(x.weights), free(y.weights), free(c);
}

// SIGTERM in update 2: a checkpoint, exit code 3, the side told so; --resume then finishes the run
// with the metrics and weights of an uninterrupted one.
static void test_stop_resume(void) {
    fx_config *c = fx_malloc(sizeof *c);
    config(c, "whole", 0, 4);
    run_out whole = run(c, (run_opts){.order = ORDER_NEWEST_FIRST});
    config(c, "stopped", 0, 4);
    // collect calls: update 1 takes at least 2 (two groups), so call 3 falls in update 2 or later
    run_out first = run(c, (run_opts){.order = ORDER_NEWEST_FIRST, .signal_at = 3, .sig = SIGTERM});
    CHECK_INT(first.code, FX_EXIT_STOPPED);
    CHECK_INT(first.stop_code, FX_EXIT_STOPPED);
    CHECK(first.res.steps >= 1 && first.res.steps < 4);
    CHECK(!first.res.done);
    char ck[64];
    snprintf(ck, sizeof ck, "checkpoints/step-%08d.h5", first.res.steps);
    CHECK(exists("stopped", ck));
    fx_stop_clear();
    run_out rest = run(c, (run_opts){.order = ORDER_NEWEST_FIRST, .resume = true});
    CHECK_INT(rest.code, FX_EXIT_OK);
    CHECK_INT(rest.res.start, first.res.steps);
    CHECK_INT(rest.res.steps, 4);
    char *mw = metrics("whole"), *ms = metrics("stopped");
    CHECK_STR(ms, mw);
    CHECK(same_weights(&whole, &rest));
    free(mw), free(ms), free(whole.weights), free(first.weights), free(rest.weights), free(c);
}

// SIGUSR1: the policy as it stands after the update, as a Hugging Face folder; the run goes on.
static void test_export(void) {
    fx_config *c = fx_malloc(sizeof *c);
    config(c, "export", 0, 3);
    run_out r = run(c, (run_opts){.signal_at = 1, .sig = SIGUSR1});
    CHECK_INT(r.code, FX_EXIT_OK);
    CHECK(exists("export", "export/step-00000001/model.safetensors"));
    CHECK(exists("export", "export/step-00000001/config.json"));
    CHECK(!exists("export", "export/step-00000002"));
    free(r.weights), free(c);
}

// A failing rollout side, or one that hands a group out twice: exit code 1, a message naming what
// went wrong, and no stop message to the side (a distributed caller brings the job down).
static void test_failures(void) {
    fx_config *c = fx_malloc(sizeof *c);
    char *buf = NULL;
    size_t len = 0;
    FILE *log = open_memstream(&buf, &len);
    fx_log_set_stream(log);
    config(c, "fail", 0, 3);
    run_out r = run(c, (run_opts){.fail_at = 4});
    CHECK_INT(r.code, FX_EXIT_FAIL);
    CHECK_INT(r.stop_code, -1);
    config(c, "dup", 0, 3);
    run_out d = run(c, (run_opts){.dup_at = 2});
    CHECK_INT(d.code, FX_EXIT_FAIL);
    CHECK_INT(d.stop_code, -1);
    fflush(log);
    fx_log_set_stream(stderr);
    CHECK(strstr(buf, "rank 2 (rollout) stopped answering") != NULL);
    CHECK(strstr(buf, "which was not asked for or came twice") != NULL);
    fclose(log);
    free(buf), free(r.weights), free(d.weights), free(c);
}

int main(void) {
    snprintf(root, sizeof root, "/tmp/fluxrl-test-leader-XXXXXX");
    if (!mkdtemp(root)) return perror("mkdtemp"), 1;
    fx_signals_install();
    fx_log_set_level(FX_LOG_WARN);
    test_order(0);
    test_order(1);
    test_stop_resume();
    test_export();
    test_failures();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (test_failed == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return test_summary("test_leader");
}
