// sft.c — see sft.h.
#define _POSIX_C_SOURCE 200809L
#include "sft.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/rng.h"
#include "../rollout/dataset.h"
#include "../rollout/decode.h"
#include "../rollout/engine.h"

// The prompt, then the response (without the "<think>\n" that a prompt ending in it already
// opened) and the end-of-turn token.
static int encode_example(const sft_task *s, const char *problem, const char *response, tok_ids *ids, int *nprompt,
                          fx_err *err) {
    ids->n = 0;
    if (tok_prompt_encode(&s->prompt, s->tok, problem, NULL, ids, err)) return -1;
    *nprompt = (int)ids->n;
    if (s->prompt.opens_think && strncmp(response, "<think>\n", 8) == 0) response += 8;
    tok_encode(s->tok, response, strlen(response), ids);
    tok_ids_push(ids, s->eos);
    return 0;
}

static void free_data(sft_task *s) {
    for (int64_t i = 0; i < s->ndata; i++) tok_ids_free(&s->data[i]);
    free(s->data), free(s->data_nprompt);
    s->data = NULL, s->data_nprompt = NULL, s->ndata = 0;
}

int sft_task_load_data(sft_task *s, const char *path, fx_err *err) {
    fx_err why;
    FILE *f = fx_fopen_input(path, &why);
    if (!f) return fx_errf(err, "sft.data: %s", why.msg);
    int64_t lines = 0, room = 0;
    int rc = 0, more;
    fx_jsonl in = {f, path, NULL, 0, 0};
    while (!rc && (more = fx_jsonl_next(&in, &why)) != 0) {
        if (more < 0) {
            rc = fx_errf(err, "sft.data: %s", why.msg);
            break;
        }
        int lineno = in.lineno;
        cJSON *j = cJSON_Parse(in.line);
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "problem");
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "response");
        if (!cJSON_IsObject(j)) rc = fx_errf(err, "%s:%d: expected a JSON object", path, lineno);
        else if (!cJSON_IsString(q)) rc = fx_errf(err, "%s:%d: problem: expected a string", path, lineno);
        else if (!cJSON_IsString(r)) rc = fx_errf(err, "%s:%d: response: expected a string", path, lineno);
        if (!rc) {
            lines++;
            if (s->ndata == room) {
                room = room ? 2 * room : 256;
                s->data = fx_realloc(s->data, (size_t)room * sizeof *s->data);
                s->data_nprompt = fx_realloc(s->data_nprompt, (size_t)room * sizeof *s->data_nprompt);
            }
            tok_ids *ids = &s->data[s->ndata];
            *ids = (tok_ids){0};
            fx_err bad;
            if (encode_example(s, q->valuestring, r->valuestring, ids, &s->data_nprompt[s->ndata], &bad)) {
                rc = fx_errf(err, "%s:%d: problem: %s", path, lineno, bad.msg);
                tok_ids_free(ids);
            } else if ((int)ids->n <= s->max_seq) s->ndata++;
            else tok_ids_free(ids);
        }
        cJSON_Delete(j);
    }
    fx_jsonl_free(&in);
    fclose(f);
    if (!rc && !s->ndata)
        rc = fx_errf(err, "sft.data: %s: no example (of %lld) fits in model.max_seq = %d tokens", path, (long long)lines,
                     s->max_seq);
    if (rc) return free_data(s), -1;
    if (s->ndata < lines)
        fx_warn("sft.data: %s: %lld of %lld examples are longer than model.max_seq and left out", path,
                (long long)(lines - s->ndata), (long long)lines);
    fx_rng g = fx_rng_make(s->seed, 0x7366746461746100ull); // Fisher-Yates with the run's seed
    for (int64_t i = s->ndata - 1; i > 0; i--) {
        int64_t k = (int64_t)fx_rng_below(&g, (uint64_t)i + 1);
        tok_ids t = s->data[i];
        int np = s->data_nprompt[i];
        s->data[i] = s->data[k], s->data_nprompt[i] = s->data_nprompt[k];
        s->data[k] = t, s->data_nprompt[k] = np;
    }
    return 0;
}

int sft_task_init(sft_task *s, tok_tokenizer *tok, const sft_task_params *p, fx_err *err) {
    memset(s, 0, sizeof *s);
    s->tok = tok;
    task_opts_default(&s->task);
    s->task.ops = p->ops;
    s->task.digits = p->digits;
    snprintf(s->task.operators, sizeof s->task.operators, "%.3s", p->operators);
    s->task.error_rate = p->error_rate;
    if (strlen(p->operators) >= sizeof s->task.operators)
        return fx_errf(err, "task.operators: expected some of \"+-*\", got \"%s\"", p->operators);
    if (task_opts_check(&s->task, err)) return -1;
    s->seed = p->seed;
    s->max_seq = p->max_seq;
    if (tok_prompt_init(&s->prompt, tok, &p->prompt, err)) return -1;
    s->eos = s->prompt.end_of_turn;
    return 0;
}

void sft_task_free(sft_task *s) {
    free_data(s);
    tok_prompt_free(&s->prompt);
}

void sft_prompt(const sft_task *s, const task_problem *p, tok_ids *out) {
    char *q = task_prompt(p);
    fx_err err;
    if (tok_prompt_encode(&s->prompt, s->tok, q, NULL, out, &err))
        fx_fatal_at(__FILE__, __LINE__, FX_EXIT_INPUT, "%s", err.msg);
    free(q);
}

void sft_example(const sft_task *s, uint64_t index, tok_ids *ids, int *nprompt) {
    if (s->ndata) {
        const tok_ids *d = &s->data[index % (uint64_t)s->ndata];
        ids->n = 0;
        for (size_t i = 0; i < d->n; i++) tok_ids_push(ids, d->ids[i]);
        *nprompt = s->data_nprompt[index % (uint64_t)s->ndata];
        return;
    }
    task_problem p;
    task_generate(&s->task, s->seed, index, &p);
    ids->n = 0;
    sft_prompt(s, &p, ids);
    *nprompt = (int)ids->n;
    task_trace t;
    task_trace_make(&p, &s->task, s->seed, index, &t);
    // In the r1 layout the prompt already opened the trajectory.
    const char *body = t.text;
    if (s->prompt.opens_think && strncmp(body, "<think>\n", 8) == 0) body += 8;
    tok_encode(s->tok, body, strlen(body), ids);
    tok_ids_push(ids, s->eos);
    task_trace_free(&t);
}

int sft_batch(const sft_task *s, uint64_t *next, int B, int32_t *ids, int32_t *pos, int32_t *seg, int32_t *targets,
              int64_t *ntargets) {
    tok_ids *ex = fx_calloc((size_t)B, sizeof *ex);
    int *np = fx_malloc((size_t)B * sizeof *np), T = 1;
    for (int b = 0; b < B; b++) {
        for (;;) {
            sft_example(s, (*next)++, &ex[b], &np[b]);
            if ((int)ex[b].n <= s->max_seq) break;
        }
        if ((int)ex[b].n > T) T = (int)ex[b].n;
    }
    *ntargets = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            size_t i = (size_t)b * T + (size_t)t;
            bool real = t < (int)ex[b].n;
            ids[i] = real ? ex[b].ids[t] : 0;
            pos[i] = real ? t : 0;
            seg[i] = real ? 0 : -1;
            targets[i] = (real && t + 1 < (int)ex[b].n && t + 1 >= np[b]) ? ex[b].ids[t + 1] : -1;
            *ntargets += targets[i] >= 0;
        }
    for (int b = 0; b < B; b++) tok_ids_free(&ex[b]);
    free(ex);
    free(np);
    return T;
}

// One batch of the held-out problems [first, first + b_n) decoded, checked and added to sums
// (answers right, traces closed, response tokens, steps, steps right).
static void eval_batch(const sft_task *s, model *m, const rollout_merge *mix, const rollout_decode_opts *base,
                       int first, int b_n, double sums[5]) {
    char **texts = fx_malloc((size_t)b_n * sizeof *texts);
    int *out_len = fx_malloc((size_t)b_n * sizeof *out_len), *plen = fx_malloc((size_t)b_n * sizeof *plen);
    tok_ids *prompts = fx_calloc((size_t)b_n, sizeof *prompts);
    const int32_t **pp = fx_malloc((size_t)b_n * sizeof *pp);
    task_problem *probs = fx_malloc((size_t)b_n * sizeof *probs);
    for (int b = 0; b < b_n; b++) {
        task_generate(&s->task, s->seed ^ TASK_HELDOUT_STREAM, (uint64_t)(first + b), &probs[b]);
        sft_prompt(s, &probs[b], &prompts[b]);
        pp[b] = prompts[b].ids;
        plen[b] = (int)prompts[b].n;
    }
    int room = s->max_seq - plen[0];
    for (int b = 1; b < b_n; b++) room = s->max_seq - plen[b] < room ? s->max_seq - plen[b] : room;
    rollout_decode_opts o = *base;
    o.max_new = room > 1 ? room : 1;
    fx_err err;
    if (!mix) rollout_decode_texts(m, s->tok, pp, plen, b_n, &o, s->eos, texts, out_len);
    else if (rollout_engine_texts(mix, s->tok, pp, plen, b_n, &o, s->eos, texts, out_len, &err))
        fx_fatal("held-out evaluation: %s", err.msg);
    for (int b = 0; b < b_n; b++) {
        char *text = texts[b];
        size_t len = strlen(text);
        char *trace = text;
        if (s->prompt.opens_think) { // the prompt opened <think>: the checker wants it in the trace
            trace = fx_malloc(len + 9);
            memcpy(trace, "<think>\n", 8);
            memcpy(trace + 8, text, len + 1);
        }
        task_labels l;
        task_check(&probs[b], trace, &l);
        sums[0] += l.answer_correct, sums[1] += l.closed, sums[2] += out_len[b];
        for (int k = 0; k < l.nsteps; k++) sums[4] += l.correct[k];
        sums[3] += l.nsteps;
        task_labels_free(&l);
        if (trace != text) free(trace);
        free(text);
    }
    for (int b = 0; b < b_n; b++) tok_ids_free(&prompts[b]);
    free(prompts), free(pp), free(plen), free(texts), free(out_len), free(probs);
}

void sft_eval(const sft_task *s, model *m, const rollout_merge *mix, const trainer_dp *dp, int n, int B,
              sft_eval_result *r) {
    bool split = dp && dp->size > 1 && m->params_layer; // sharded weights: the ranks share the batches
    FX_ASSERT(!split || !mix);
    int W = split ? dp->size : 1, nb = n > 0 ? (n + B - 1) / B : 0;
    rollout_decode_opts o = {.stop = s->prompt.stop, .nstop = s->prompt.nstop};
    if (split) o.more = trainer_dp_more, o.more_ctx = (void *)dp;
    double sums[5] = {0};
    // Batch q*W + rank in round q: the same batches as one rank decodes, so the same tokens. The
    // sums are of whole numbers, exact in any order.
    for (int q = 0; q * W < nb; q++) {
        int batch = q * W + (split ? dp->rank : 0);
        if (batch < nb) eval_batch(s, m, mix, &o, batch * B, n - batch * B < B ? n - batch * B : B, sums);
        else rollout_decode_idle(m, &o);
    }
    if (split) dp->sum_doubles(dp->ctx, sums, 5);
    memset(r, 0, sizeof *r);
    r->n = n;
    r->answer_acc = sums[0] / n, r->closed = sums[1] / n, r->mean_len = sums[2] / n;
    r->step_acc = sums[3] > 0 ? sums[4] / sums[3] : 0.0;
}

void sft_log_eval(fx_metrics *mx, int step, const sft_eval_result *r) {
    const char *keys[] = {"eval_answer_acc", "eval_step_acc", "eval_closed", "eval_response_tokens"};
    double vals[] = {r->answer_acc, r->step_acc, r->closed, r->mean_len};
    fx_err err;
    if (fx_metrics_write(mx, step, 4, keys, vals, &err)) fx_warn("%s", err.msg);
    fx_info("eval at step %d: answers %.1f%%, steps %.1f%%, closed %.1f%%, %.0f tokens (%d problems)", step,
            100 * r->answer_acc, 100 * r->step_acc, 100 * r->closed, r->mean_len, r->n);
}


int sft_step_rewards(const sft_task *task, const task_problem *p, const int32_t *resp, int R, int max_steps,
                     int32_t *step_end, float *step_reward) {
    char *text = rollout_response_text_stop(task->tok, resp, R, task->prompt.stop, task->prompt.nstop);
    bool r1 = task->prompt.opens_think;
    size_t tlen = strlen(text);
    char *full = fx_malloc(tlen + 9);
    snprintf(full, tlen + 9, "%s%s", r1 ? "<think>\n" : "", text);
    task_labels l;
    task_check(p, full, &l);
    int64_t *byte_end = fx_malloc((size_t)(R ? R : 1) * sizeof *byte_end), at = r1 ? 8 : 0;
    for (int j = 0; j < R; j++) {
        size_t len = 0;
        if (!tok_prompt_is_stop(&task->prompt, resp[j])) tok_token_bytes(task->tok, resp[j], &len);
        byte_end[j] = (at += (int64_t)len);
    }
    int n = 0, j = 0;
    for (int k = 0; k < l.nsteps && n < max_steps; k++) {
        while (j < R && byte_end[j] < l.end[k]) j++;
        int32_t end = j < R ? j + 1 : R;
        if (n > 0 && end <= step_end[n - 1]) continue; // two steps end in one token: the first counts
        step_end[n] = end, step_reward[n] = l.correct[k] ? 1.0f : 0.0f, n++;
    }
    if (n > 0) step_end[n - 1] = R; // the last step takes what follows it, end of turn included
    task_labels_free(&l);
    free(byte_end), free(full), free(text);
    return R > 0 ? n : 0;
}
