// prm_labels.c — see prm_labels.h.
#define _POSIX_C_SOURCE 200809L
#include "prm_labels.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"
#include "../rollout/decode.h"

typedef struct {
    const task_problem *p;
    task_plan_step *plan;
    int nplan, step;  // plan steps, and how many this rollout has written
    int64_t value;    // the result its last step stated (the start before any)
    bool failed, done, right;
    char *text;       // the assistant's text so far
    size_t len, cap;
    uint64_t stream;
} rollout;

static void append(rollout *r, const char *s) {
    size_t n = strlen(s);
    if (r->len + n + 1 > r->cap) {
        r->cap = 2 * (r->len + n + 1);
        r->text = fx_realloc(r->text, r->cap);
    }
    memcpy(r->text + r->len, s, n + 1);
    r->len += n;
}

// The result a step line states: the number after its last '=' (gold: "..., 23+48=71").
static bool stated_result(const char *line, int64_t *v) {
    const char *eq = strrchr(line, '=');
    if (!eq || eq[1] < '0' || eq[1] > '9') return false;
    int64_t x = 0;
    const char *d = eq + 1;
    for (; *d >= '0' && *d <= '9'; d++) {
        if (x > (INT64_MAX - 9) / 10) return false;
        x = 10 * x + (*d - '0');
    }
    if (*d && *d != '\n') return false;
    *v = x;
    return true;
}

// One phase for the rollouts in `live`: the next plan step's line, or (line false) the response.
static void phase(const prm_writer *w, rollout **live, int B, bool line) {
    const task_problem **p = fx_malloc((size_t)B * sizeof *p);
    const char **prefix = fx_malloc((size_t)B * sizeof *prefix);
    uint64_t *stream = fx_malloc((size_t)B * sizeof *stream);
    char **out = fx_calloc((size_t)B, sizeof *out);
    for (int b = 0; b < B; b++) {
        rollout *r = live[b];
        if (line) {
            const task_plan_step *s = &r->plan[r->step];
            if (s->op != '?') {
                char head[64];
                snprintf(head, sizeof head, "%" PRId64 "%c%" PRId64 ":", r->value, s->op, s->operand);
                append(r, head);
            }
        }
        p[b] = r->p, prefix[b] = r->text;
        stream[b] = fx_rng_hash(r->stream, (uint64_t)r->step);
    }
    w->write(w->ctx, p, prefix, stream, B, line, out);
    for (int b = 0; b < B; b++) {
        rollout *r = live[b];
        if (line) {
            char *nl = strchr(out[b], '\n');
            if (nl) nl[1] = '\0';
            append(r, out[b]);
            const char *ls = r->text + r->len - 1; // the line just written, header included
            while (ls > r->text && ls[-1] != '\n') ls--;
            if (!nl || !stated_result(ls, &r->value)) r->failed = true;
            r->step++;
            if (!r->failed) append(r, r->step < r->nplan ? "\n" : "</think>\n");
        } else {
            append(r, out[b]);
            task_labels l;
            task_check(r->p, r->text, &l);
            r->right = l.answer_correct;
            task_labels_free(&l);
            r->done = true;
        }
        free(out[b]);
    }
    free(p), free(prefix), free(stream), free(out);
}

void prm_template_rates(const prm_writer *w, const task_problem *p, const char *const *traces, const uint64_t *key,
                        int ntraces, int n, int batch, float *rate) {
    int rows = ntraces * n;
    rollout *r = fx_calloc((size_t)(rows ? rows : 1), sizeof *r);
    rollout **live = fx_malloc((size_t)(rows ? rows : 1) * sizeof *live);
    for (int i = 0; i < ntraces; i++) {
        task_plan_step *plan;
        int np = task_plan(traces[i], &plan);
        for (int j = 0; j < n; j++) {
            rollout *x = &r[i * n + j];
            x->p = &p[i], x->nplan = np, x->value = p[i].start;
            x->plan = fx_malloc(((size_t)np + 1) * sizeof *x->plan);
            memcpy(x->plan, plan, (size_t)np * sizeof *plan);
            x->stream = fx_rng_hash(fx_rng_hash(0x74706c74ull, key[i]), (uint64_t)j);
            append(x, np ? "<think>\n" : "<think>\n</think>\n");
        }
        free(plan);
    }
    // Every rollout still going takes its next phase: a plan line while it has plan steps left,
    // then the response.
    for (;;) {
        int nl = 0, nr = 0;
        for (int q = 0; q < rows; q++)
            if (!r[q].failed && !r[q].done && r[q].step < r[q].nplan) live[nl++] = &r[q];
        for (int a = 0; a < nl; a += batch) phase(w, live + a, nl - a < batch ? nl - a : batch, true);
        if (nl) continue;
        for (int q = 0; q < rows; q++)
            if (!r[q].failed && !r[q].done) live[nr++] = &r[q];
        for (int a = 0; a < nr; a += batch) phase(w, live + a, nr - a < batch ? nr - a : batch, false);
        break;
    }
    for (int i = 0; i < ntraces; i++) {
        int right = 0;
        for (int j = 0; j < n; j++) right += r[i * n + j].right;
        rate[i] = n ? (float)right / (float)n : 0.0f;
    }
    for (int q = 0; q < rows; q++) free(r[q].plan), free(r[q].text);
    free(r), free(live);
}

// ---- the policy as writer ------------------------------------------------------------------------

static void policy_write(void *ctx, const task_problem *const *p, const char *const *prefix, const uint64_t *stream,
                         int B, bool line, char **out) {
    prm_policy_writer *pw = ctx;
    const tok_prompt *pr = pw->prompt;
    int max_new = line ? pw->max_line : pw->max_response;
    tok_ids *ids = fx_calloc((size_t)B, sizeof *ids);
    const int32_t **pp = fx_malloc((size_t)B * sizeof *pp);
    int *plen = fx_malloc((size_t)B * sizeof *plen);
    for (int b = 0; b < B; b++) {
        char *q = task_prompt(p[b]);
        const char *body = prefix[b];
        if (pr->opens_think && !strncmp(body, "<think>\n", 8)) body += 8; // the prompt opened it
        fx_err err;
        if (tok_prompt_encode(pr, pw->tok, q, body, &ids[b], &err))
            fx_fatal_at(__FILE__, __LINE__, FX_EXIT_INPUT, "%s", err.msg);
        pp[b] = ids[b].ids, plen[b] = (int)ids[b].n;
        free(q);
    }
    const char *nl = "\n";
    rollout_decode_opts o_ = {.sample = pw->sample, .seed = pw->seed, .stream = stream, .max_new = max_new,
                              .stop = pr->stop, .nstop = pr->nstop, .stop_strings = line ? &nl : NULL,
                              .nstop_strings = line, .tok = pw->tok};
    rollout_decode_texts(pw->m, pw->tok, pp, plen, B, &o_, pr->end_of_turn, out, NULL);
    for (int b = 0; b < B; b++) tok_ids_free(&ids[b]);
    free(ids), free(pp), free(plen);
}

prm_writer prm_policy_writer_make(prm_policy_writer *pw) { return (prm_writer){policy_write, pw}; }
