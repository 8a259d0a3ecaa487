// cmd_select.c — `fluxrl select --prm DIR --input POOL --top-k K --out FILE`: data selection with a
// PRM (ReasonFlux-PRM's offline use (i)): every trace of the pool gets its r^, the k best are kept,
// best first, as JSONL {problem, response, score, min_step, step_rewards, trajectory_reward, index}
// that `fluxrl sft` trains on (sft.data), or as an HDF5 trace store like the input. --by min-step
// ranks by the lowest step reward instead (fluxrl's extension; Math-Shepherd's aggregation).
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../reward/prm.h"
#include "../reward/reward.h"
#include "../rollout/trace_store.h"
#include "cli.h"
#include "../reward/prm_input.h"

typedef struct {
    char *problem, *response;
    float *step;     // the PRM's step rewards
    int *store_step; // HDF5: the store step of each
    int nsteps;
    float trajectory;
} scored;

typedef struct {
    prm_scorer *prm;
    bool scalar; // the PRM's head is scalar: its step rewards are fluxrl's extension
    scored *t;
    float *score, *min_step; // r^, the lowest step reward (-inf: no step)
    int64_t n, cap;
} pool;

static int add_trace(void *ctx, const prm_input_trace *t, fx_err *err) {
    pool *p = ctx;
    float rewards[CLI_PRM_MAX_STEPS];
    prm_result r = {.step = rewards};
    if (prm_score(p->prm, t->problem, (const char *const *)t->steps, t->nsteps, &r, err)) return -1;
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 256;
        p->t = fx_realloc(p->t, (size_t)p->cap * sizeof *p->t);
        p->score = fx_realloc(p->score, (size_t)p->cap * sizeof *p->score);
        p->min_step = fx_realloc(p->min_step, (size_t)p->cap * sizeof *p->min_step);
    }
    scored *s = &p->t[p->n];
    s->problem = fx_strdup(t->problem), s->response = fx_strdup(t->response);
    s->nsteps = t->nsteps, s->trajectory = r.trajectory;
    s->step = fx_malloc((size_t)(t->nsteps ? t->nsteps : 1) * sizeof *s->step);
    memcpy(s->step, rewards, (size_t)t->nsteps * sizeof *s->step);
    s->store_step = NULL;
    if (t->store_step) {
        s->store_step = fx_malloc((size_t)(t->nsteps ? t->nsteps : 1) * sizeof *s->store_step);
        memcpy(s->store_step, t->store_step, (size_t)t->nsteps * sizeof *s->store_step);
    }
    p->min_step[p->n] = reward_min_step(rewards, t->nsteps);
    p->score[p->n++] = r.score;
    return 0;
}

static bool g_write_failed; // the output could not be written (disk full): exit 1, not 2

static int write_jsonl(const pool *p, const int64_t *idx, int64_t k, const char *out, fx_err *err) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    FILE *f = fopen(tmp, "w");
    if (!f) return fx_errf(err, "%s: cannot create: %s", tmp, strerror(errno));
    for (int64_t r = 0; r < k; r++) {
        const scored *s = &p->t[idx[r]];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "problem", s->problem);
        cJSON_AddStringToObject(j, "response", s->response);
        cJSON_AddNumberToObject(j, "score", p->score[idx[r]]);
        if (isfinite(p->min_step[idx[r]])) cJSON_AddNumberToObject(j, "min_step", p->min_step[idx[r]]);
        else cJSON_AddNullToObject(j, "min_step");
        cJSON *st = cJSON_AddArrayToObject(j, "step_rewards");
        for (int q = 0; q < s->nsteps; q++) cJSON_AddItemToArray(st, cJSON_CreateNumber(s->step[q]));
        cJSON_AddNumberToObject(j, "trajectory_reward", s->trajectory);
        if (p->scalar) cJSON_AddStringToObject(j, "step_rewards_are", "fluxrl_extension");
        cJSON_AddNumberToObject(j, "index", (double)idx[r]);
        char *line = cli_json_text(j);
        fprintf(f, "%s\n", line);
        free(line);
        cJSON_Delete(j);
    }
    errno = 0;
    bool bad = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0;
    int e = errno;
    if (fclose(f) != 0 && !bad) bad = true, e = errno;
    if (bad) {
        remove(tmp);
        g_write_failed = true;
        return fx_errf(err, "%s: write failed: %s", tmp, e ? strerror(e) : "I/O error");
    }
    if (rename(tmp, out)) {
        remove(tmp);
        return fx_errf(err, "%s: cannot rename to %s", tmp, out);
    }
    return 0;
}

// The kept traces of the input store, in rank order, with the PRM's rewards attached (a store
// step the PRM saw no text in keeps its reward).
static int write_h5(const pool *p, const int64_t *idx, int64_t k, const char *in, const char *out, fx_err *err) {
    trace_store *s, *o = NULL;
    if (trace_store_open(&s, in, err)) return -1;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    int rc = trace_store_create(&o, tmp, trace_store_attr(s, "config") ? trace_store_attr(s, "config") : "",
                                trace_store_attr(s, "model") ? trace_store_attr(s, "model") : "",
                                trace_store_attr(s, "tokenizer") ? trace_store_attr(s, "tokenizer") : "", err);
    trace_batch one, kept;
    trace_batch_init(&one), trace_batch_init(&kept);
    for (int64_t r = 0; r < k && !rc; r++) {
        const scored *sc = &p->t[idx[r]];
        if ((rc = trace_store_read(s, idx[r], 1, &one, err))) break;
        trace t = trace_batch_get(&one, 0);
        float *reward = fx_malloc((size_t)(t.n_steps ? t.n_steps : 1) * sizeof *reward);
        for (int q = 0; q < t.n_steps; q++) reward[q] = t.step_reward[q];
        for (int q = 0; q < sc->nsteps; q++) reward[sc->store_step[q]] = sc->step[q];
        t.step_reward = reward, t.trajectory_reward = sc->trajectory;
        trace_batch_add(&kept, &t);
        free(reward);
        if (kept.n == 256 || r + 1 == k) {
            rc = trace_store_append(o, &kept, err);
            trace_batch_clear(&kept);
        }
    }
    trace_batch_free(&one), trace_batch_free(&kept);
    trace_store_close(s, NULL);
    if (rc && o) g_write_failed = true; // the store was created: what failed was writing it
    if (!o) g_write_failed = errno == ENOSPC || errno == EDQUOT || errno == EIO;
    if (o && trace_store_close(o, rc ? NULL : err)) rc = -1, g_write_failed = true;
    if (!rc && rename(tmp, out)) rc = fx_errf(err, "%s: cannot rename to %s", tmp, out);
    if (rc) remove(tmp);
    return rc;
}

int cmd_select(int argc, char **argv) {
    const char *be_kind, *be_precision;
    if (cli_take_backend("select", &argc, argv, &be_kind, &be_precision)) return FX_EXIT_INPUT;
    const char *dir = NULL, *input = NULL, *out = NULL, *tok_path = NULL, *system = NULL;
    bool traj_sep = false, by_min = false;
    double alpha = 1.0, topk = -1;
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--trajectory-separator")) {
            traj_sep = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "fluxrl select: unexpected argument '%s'; see 'fluxrl select --help'\n", argv[i]);
            return FX_EXIT_INPUT;
        }
        i++;
        if (!strcmp(argv[i - 1], "--prm")) dir = v;
        else if (!strcmp(argv[i - 1], "--input")) input = v;
        else if (!strcmp(argv[i - 1], "--out")) out = v;
        else if (!strcmp(argv[i - 1], "--tokenizer")) tok_path = v;
        else if (!strcmp(argv[i - 1], "--system")) system = v;
        else if (!strcmp(argv[i - 1], "--by")) {
            if (strcmp(v, "r") && strcmp(v, "min-step")) {
                fprintf(stderr, "fluxrl select: --by: expected r or min-step, got '%s'\n", v);
                return FX_EXIT_INPUT;
            }
            by_min = !strcmp(v, "min-step");
        } else if (!strcmp(argv[i - 1], "--alpha") || !strcmp(argv[i - 1], "--top-k")) {
            char *end;
            double x = strtod(v, &end);
            if (*end || end == v || !isfinite(x)) {
                fprintf(stderr, "fluxrl select: %s: expected a number, got '%s'\n", argv[i - 1], v);
                return FX_EXIT_INPUT;
            }
            *(!strcmp(argv[i - 1], "--alpha") ? &alpha : &topk) = x;
        } else {
            fprintf(stderr, "fluxrl select: unexpected argument '%s'; see 'fluxrl select --help'\n", argv[i - 1]);
            return FX_EXIT_INPUT;
        }
    }
    const char *bad = !dir || !input || !out ? "--prm, --input, --top-k and --out are required"
                      : topk < 1 || topk != floor(topk) || topk >= 9223372036854775808.0
                          ? "--top-k: expected an integer in [1, 2^63)"
                      : prm_input_is_h5(out) && !prm_input_is_h5(input)
                          ? "--out: an HDF5 trace store needs an HDF5 input (write JSONL instead)"
                          : NULL;
    if (bad) {
        fprintf(stderr, "fluxrl select: %s\n", bad);
        return FX_EXIT_INPUT;
    }
    backend *be = cli_open_backend("select", be_kind, be_precision);
    if (!be) return FX_EXIT_INPUT;
    prm_scorer prm;
    pool p = {.prm = &prm};
    fx_err err;
    int rc = prm_load(&prm, dir, be, (float)alpha, &err);
    if (!rc && (rc = prm_ask(&prm, dir, traj_sep, system, "fluxrl select: --trajectory-separator / --system", &err)))
        prm_free(&prm);
    if (!rc) {
        p.scalar = prm.readout == PRM_SCALAR;
        rc = prm_input_each(input, tok_path, prm.tok, add_trace, &p, &err);
        prm_free(&prm);
    }
    if (!rc && p.n == 0) rc = fx_errf(&err, "%s: no traces", input);
    if (!rc) {
        int64_t *idx = fx_malloc((size_t)p.n * sizeof *idx);
        const float *by = by_min ? p.min_step : p.score;
        int64_t k = reward_top_k(by, p.n, (int64_t)topk, idx);
        rc = prm_input_is_h5(out) ? write_h5(&p, idx, k, input, out, &err) : write_jsonl(&p, idx, k, out, &err);
        double all = 0, top = 0;
        for (int64_t i = 0; i < p.n; i++) all += p.score[i];
        for (int64_t i = 0; i < k; i++) top += p.score[idx[i]];
        if (!rc)
            printf("select: kept %lld of %lld traces by %s, mean r^ %.4f (pool %.4f), the last kept's %.4f, in %s\n",
                   (long long)k, (long long)p.n, by_min ? "the lowest step reward" : "r^", top / (double)k,
                   all / (double)p.n, by[idx[k - 1]], out);
        free(idx);
    }
    for (int64_t i = 0; i < p.n; i++) free(p.t[i].problem), free(p.t[i].response), free(p.t[i].step), free(p.t[i].store_step);
    free(p.t), free(p.score), free(p.min_step);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    backend_destroy(be);
    return rc ? (g_write_failed ? FX_EXIT_FAIL : FX_EXIT_INPUT) : FX_EXIT_OK;
}
