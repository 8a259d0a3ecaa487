// cmd_eval.c — `fluxrl eval --model DIR --data builtin|FILE.jsonl`: accuracy of a model on the
// built-in task's held-out problems or on a JSONL dataset (GSM8K / MATH style), with n samples per
// problem: mean pass@1, majority vote and pass@n.
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/progress.h"
#include "../rollout/decode.h"
#include "../rollout/verify.h"
#include "../trainer/sft.h"
#include "cli.h"

typedef struct {
    char *prompt; // the user turn
    char *gold;   // JSONL: the gold answer
    task_problem p; // built-in
} problem;

typedef struct {
    const char *model, *data, *prompt_key, *answer_key, *chat;
    int n, problems, first, batch, max_new;
    float temperature, top_p, min_p;
    int top_k;
    long long seed, task_seed;
    task_opts task;
} eval_args;

static int parse_args(int argc, char **argv, eval_args *a) {
    *a = (eval_args){.data = "builtin", .prompt_key = "question", .answer_key = "answer", .chat = "r1", .n = 1,
                     .problems = 200, .batch = 32, .max_new = 256, .top_p = 1, .task_seed = 1234};
    task_opts_default(&a->task);
    for (int i = 0; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v || strncmp(k, "--", 2) != 0) {
            fprintf(stderr, "fluxrl eval: unexpected argument '%s'; see 'fluxrl eval --help'\n", k);
            return -1;
        }
        i++;
        if (!strcmp(k, "--model")) a->model = v;
        else if (!strcmp(k, "--data")) a->data = v;
        else if (!strcmp(k, "--prompt-key")) a->prompt_key = v;
        else if (!strcmp(k, "--answer-key")) a->answer_key = v;
        else if (!strcmp(k, "--chat")) a->chat = v;
        else if (!strcmp(k, "--operators")) snprintf(a->task.operators, sizeof a->task.operators, "%.3s", v);
        else {
            char *end;
            double x = strtod(v, &end);
            if (*end || end == v) {
                fprintf(stderr, "fluxrl eval: %s: expected a number, got '%s'\n", k, v);
                return -1;
            }
            if (!strcmp(k, "--n")) a->n = (int)x;
            else if (!strcmp(k, "--problems")) a->problems = (int)x;
            else if (!strcmp(k, "--first")) a->first = (int)x;
            else if (!strcmp(k, "--batch")) a->batch = (int)x;
            else if (!strcmp(k, "--max-new")) a->max_new = (int)x;
            else if (!strcmp(k, "--temperature")) a->temperature = (float)x;
            else if (!strcmp(k, "--top-p")) a->top_p = (float)x;
            else if (!strcmp(k, "--top-k")) a->top_k = (int)x;
            else if (!strcmp(k, "--min-p")) a->min_p = (float)x;
            else if (!strcmp(k, "--seed")) a->seed = (long long)x;
            else if (!strcmp(k, "--task-seed")) a->task_seed = (long long)x;
            else if (!strcmp(k, "--ops")) a->task.ops = (int)x;
            else if (!strcmp(k, "--digits")) a->task.digits = (int)x;
            else {
                fprintf(stderr, "fluxrl eval: unknown option '%s'\n", k);
                return -1;
            }
        }
    }
    const char *bad = !a->model ? "--model is required" : a->n < 1 ? "--n: expected an integer >= 1"
                     : a->problems < 1 ? "--problems: expected an integer >= 1" : a->batch < 1 ? "--batch: expected >= 1"
                     : a->max_new < 1 ? "--max-new: expected >= 1" : a->temperature < 0 ? "--temperature: expected >= 0"
                     : NULL;
    if (bad) {
        fprintf(stderr, "fluxrl eval: %s\n", bad);
        return -1;
    }
    return 0;
}

// Problems of a JSONL file: {prompt_key: "...", answer_key: "..."} per line.
static int load_jsonl(const eval_args *a, problem **out, int *n, fx_err *err) {
    FILE *f = fopen(a->data, "r");
    if (!f) return fx_errf(err, "%s: cannot open", a->data);
    problem *ps = NULL;
    int count = 0, cap = 0, lineno = 0, rc = 0;
    char *line = NULL;
    size_t lcap = 0;
    while (!rc && getline(&line, &lcap, f) > 0) {
        lineno++;
        if (strspn(line, " \t\r\n") == strlen(line)) continue;
        cJSON *j = cJSON_Parse(line);
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, a->prompt_key);
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(j, a->answer_key);
        if (!cJSON_IsObject(j)) rc = fx_errf(err, "%s:%d: expected a JSON object", a->data, lineno);
        else if (!cJSON_IsString(q)) rc = fx_errf(err, "%s:%d: %s: expected a string", a->data, lineno, a->prompt_key);
        else if (!cJSON_IsString(g) && !cJSON_IsNumber(g))
            rc = fx_errf(err, "%s:%d: %s: expected a string or a number", a->data, lineno, a->answer_key);
        if (!rc && lineno > a->first && count < a->problems) {
            if (count == cap) cap = cap ? 2 * cap : 64, ps = fx_realloc(ps, (size_t)cap * sizeof *ps);
            ps[count].prompt = fx_strdup(q->valuestring);
            char num[64];
            if (cJSON_IsNumber(g)) snprintf(num, sizeof num, "%.17g", g->valuedouble);
            const char *gs = cJSON_IsNumber(g) ? num : g->valuestring;
            // A worked solution ("... #### 72", "\boxed{72}") counts by its final answer.
            char *x = (strstr(gs, "####") || strstr(gs, "\\boxed")) ? verify_extract(gs) : NULL;
            ps[count++].gold = x ? x : fx_strdup(gs);
        }
        cJSON_Delete(j);
    }
    free(line);
    fclose(f);
    if (!rc && count == 0) rc = fx_errf(err, "%s: no problems to evaluate", a->data);
    *out = ps;
    *n = count;
    return rc;
}

int cmd_eval(int argc, char **argv) {
    eval_args a;
    if (parse_args(argc, argv, &a)) return FX_EXIT_INPUT;
    fx_err err;
    tok_chat_style chat;
    if (tok_chat_style_parse(a.chat, &chat)) {
        fprintf(stderr, "fluxrl eval: --chat: expected r1 or chatml, got '%s'\n", a.chat);
        return FX_EXIT_INPUT;
    }
    bool builtin = strcmp(a.data, "builtin") == 0;
    if (builtin && task_opts_check(&a.task, &err)) {
        fprintf(stderr, "fluxrl eval: %s\n", err.msg);
        return FX_EXIT_INPUT;
    }
    problem *ps = NULL;
    int np = a.problems;
    if (!builtin && load_jsonl(&a, &ps, &np, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return FX_EXIT_INPUT;
    }
    if (builtin) {
        ps = fx_calloc((size_t)np, sizeof *ps);
        for (int i = 0; i < np; i++) {
            task_generate(&a.task, (uint64_t)a.task_seed ^ SFT_EVAL_STREAM, (uint64_t)(a.first + i), &ps[i].p);
            ps[i].prompt = task_prompt(&ps[i].p);
        }
    }
    backend *be = backend_cpu_create(0);
    model m = {0};
    tok_tokenizer *tok = NULL;
    int code = FX_EXIT_INPUT;
    if (tok_load(&tok, a.model, &err) || model_load(&m, a.model, be, &err)) goto done;
    int32_t eos = tok_token_id(tok, "<|im_end|>");
    if (eos < 0) eos = tok_eos(tok);
    // Rows are (problem, sample) pairs, decoded `batch` at a time.
    int rows = np * a.n, max_new = a.max_new;
    int32_t *out = fx_malloc((size_t)a.batch * max_new * sizeof *out);
    int *out_len = fx_malloc((size_t)a.batch * sizeof *out_len), *plen = fx_malloc((size_t)a.batch * sizeof *plen);
    tok_ids *pids = fx_calloc((size_t)a.batch, sizeof *pids);
    const int32_t **pp = fx_malloc((size_t)a.batch * sizeof *pp);
    uint64_t *streams = fx_malloc((size_t)a.batch * sizeof *streams);
    bool *correct = fx_calloc((size_t)rows, sizeof *correct);
    char **extracted = fx_calloc((size_t)rows, sizeof *extracted);
    fx_progress prog;
    fx_progress_init(&prog, "eval", rows);
    for (int r0 = 0; r0 < rows; r0 += a.batch) {
        int B = rows - r0 < a.batch ? rows - r0 : a.batch;
        for (int b = 0; b < B; b++) {
            int i = (r0 + b) / a.n, s = (r0 + b) % a.n;
            tok_message msg = {"user", ps[i].prompt};
            char *text = tok_chat_format(&msg, 1, chat, true);
            pids[b].n = 0;
            tok_encode(tok, text, strlen(text), &pids[b]);
            free(text);
            pp[b] = pids[b].ids, plen[b] = (int)pids[b].n;
            streams[b] = rollout_stream((uint64_t)(a.first + i), (uint64_t)s);
        }
        rollout_decode_opts o = {{a.temperature, a.top_k, a.top_p, a.min_p}, (uint64_t)a.seed, streams, max_new, &eos, 1};
        rollout_decode(&m, pp, plen, B, &o, out, NULL, out_len);
        for (int b = 0; b < B; b++) {
            int row = r0 + b, i = row / a.n;
            size_t len;
            char *text = tok_decode(tok, out + (size_t)b * max_new, (size_t)out_len[b], true, &len);
            if (builtin) {
                char *trace = fx_malloc(len + 9);
                snprintf(trace, len + 9, "%s%s", chat == TOK_CHAT_R1 ? "<think>\n" : "", text);
                task_labels l;
                task_check(&ps[i].p, trace, &l);
                correct[row] = l.answer_correct;
                extracted[row] = l.extracted ? fx_strdup(l.extracted) : NULL;
                task_labels_free(&l);
                free(trace);
            } else {
                correct[row] = verify_response(text, ps[i].gold, &extracted[row]);
            }
            free(text);
        }
        fx_progress_update(&prog, r0 + B, NULL);
    }
    fx_progress_end(&prog, NULL);
    // pass@1 (mean over samples), majority vote over the extracted answers, pass@n.
    double pass1 = 0, maj = 0, passn = 0;
    for (int i = 0; i < np; i++) {
        int c = 0, best = -1, best_votes = 0;
        for (int s = 0; s < a.n; s++) {
            int row = i * a.n + s, votes = 0;
            c += correct[row];
            if (!extracted[row]) continue;
            for (int t = 0; t < a.n; t++) {
                const char *e = extracted[i * a.n + t];
                votes += e && verify_equal(e, extracted[row]);
            }
            if (votes > best_votes) best_votes = votes, best = row;
        }
        pass1 += (double)c / a.n;
        passn += c > 0;
        maj += best >= 0 && correct[best];
    }
    printf("{\"problems\": %d, \"samples\": %d, \"pass@1\": %.4f, \"majority\": %.4f, \"pass@%d\": %.4f}\n", np, a.n,
           pass1 / np, maj / np, a.n, passn / np);
    for (int r = 0; r < rows; r++) free(extracted[r]);
    for (int b = 0; b < a.batch; b++) tok_ids_free(&pids[b]);
    free(out), free(out_len), free(plen), free(pids), free(pp), free(streams), free(correct), free(extracted);
    code = FX_EXIT_OK;
done:
    if (code) fprintf(stderr, "%s\n", err.msg);
    for (int i = 0; i < np; i++) free(ps[i].prompt), free(ps[i].gold);
    free(ps);
    if (m.params_mem) model_free(&m);
    tok_free(tok);
    backend_destroy(be);
    return code;
}
