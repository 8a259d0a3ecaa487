// cmd_best_of_n.c — `fluxrl best-of-n --policy DIR --prm DIR`: Best-of-N selection with a PRM
// (ReasonFlux-PRM's use (iii)). The policy samples N responses to each problem; the PRM scores each
// (r^ = mean step reward + alpha * trajectory reward) and the best-scored one is the answer. Its
// accuracy is printed next to the baselines on the same samples: mean pass@1, majority vote over
// the extracted answers, and pass@N (an oracle picking any right sample).
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/progress.h"
#include "../reward/prm.h"
#include "../reward/reward.h"
#include "../rollout/dataset.h"
#include "../rollout/decode.h"
#include "../rollout/verify.h"
#include "../trainer/prm_train.h"
#include "cli.h"
#include "../reward/prm_input.h"

#define BON_MAX_PRMS 4

typedef struct {
    const char *policy, *chat, *out;
    const char *prm[BON_MAX_PRMS];
    int nprm;
    rollout_data_opts data;
    int n, batch, max_new;
    sample_params sample;
    long long seed;
    double alpha;
} bon_args;

static int parse_args(int argc, char **argv, bon_args *a) {
    *a = (bon_args){.chat = "r1", .n = 16, .batch = 32, .max_new = 256, .sample = {1, 0, 1, 0}, .alpha = 1};
    a->data = (rollout_data_opts){.data = "builtin", .prompt_key = "question", .answer_key = "answer", .count = 200,
                                  .task_seed = 1234};
    task_opts_default(&a->data.task);
    for (int i = 0; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v || strncmp(k, "--", 2) != 0) {
            fprintf(stderr, "fluxrl best-of-n: unexpected argument '%s'; see 'fluxrl best-of-n --help'\n", k);
            return -1;
        }
        i++;
        if (!strcmp(k, "--policy")) a->policy = v;
        else if (!strcmp(k, "--prm")) {
            if (a->nprm == BON_MAX_PRMS) {
                fprintf(stderr, "fluxrl best-of-n: --prm: at most %d\n", BON_MAX_PRMS);
                return -1;
            }
            a->prm[a->nprm++] = v;
        }
        else if (!strcmp(k, "--data")) a->data.data = v;
        else if (!strcmp(k, "--prompt-key")) a->data.prompt_key = v;
        else if (!strcmp(k, "--answer-key")) a->data.answer_key = v;
        else if (!strcmp(k, "--chat")) a->chat = v;
        else if (!strcmp(k, "--out")) a->out = v;
        else if (!strcmp(k, "--operators")) snprintf(a->data.task.operators, sizeof a->data.task.operators, "%.3s", v);
        else {
            char *end;
            double x = strtod(v, &end);
            bool wide = !strcmp(k, "--seed") || !strcmp(k, "--task-seed") || !strcmp(k, "--alpha");
            if (*end || end == v || !isfinite(x) || fabs(x) > (wide ? 9007199254740992.0 : 2147483647.0)) {
                fprintf(stderr, "fluxrl best-of-n: %s: expected a finite number%s, got '%s'\n", k,
                        wide ? " below 2^53" : " below 2^31", v);
                return -1;
            }
            if (!strcmp(k, "--n")) a->n = (int)x;
            else if (!strcmp(k, "--alpha")) a->alpha = x;
            else if (!strcmp(k, "--problems")) a->data.count = (int)x;
            else if (!strcmp(k, "--first")) a->data.first = (int)x;
            else if (!strcmp(k, "--batch")) a->batch = (int)x;
            else if (!strcmp(k, "--max-new")) a->max_new = (int)x;
            else if (!strcmp(k, "--temperature")) a->sample.temperature = (float)x;
            else if (!strcmp(k, "--top-p")) a->sample.top_p = (float)x;
            else if (!strcmp(k, "--top-k")) a->sample.top_k = (int)x;
            else if (!strcmp(k, "--min-p")) a->sample.min_p = (float)x;
            else if (!strcmp(k, "--seed")) a->seed = (long long)x;
            else if (!strcmp(k, "--task-seed")) a->data.task_seed = (uint64_t)x;
            else if (!strcmp(k, "--ops")) a->data.task.ops = (int)x;
            else if (!strcmp(k, "--digits")) a->data.task.digits = (int)x;
            else {
                fprintf(stderr, "fluxrl best-of-n: unknown option '%s'\n", k);
                return -1;
            }
        }
    }
    const char *bad = !a->policy || !a->nprm ? "--policy and --prm are required"
                      : a->n < 1 ? "--n: expected an integer >= 1"
                      : a->data.count < 1 ? "--problems: expected an integer >= 1"
                      : a->data.first < 0 ? "--first: expected an integer >= 0"
                      : a->batch < 1 ? "--batch: expected an integer >= 1"
                      : a->max_new < 1 ? "--max-new: expected an integer >= 1"
                      : a->sample.temperature < 0 ? "--temperature: expected a number >= 0"
                      : !(a->sample.top_p > 0 && a->sample.top_p <= 1) ? "--top-p: expected a number in (0, 1]"
                      : NULL;
    if (bad) {
        fprintf(stderr, "fluxrl best-of-n: %s\n", bad);
        return -1;
    }
    return 0;
}

// What one PRM made of the samples of all problems: row r is sample r % n of problem r / n.
typedef struct {
    float *score;         // r^; -inf when the PRM could not score the sample (no steps, too long)
    float *step_score;    // built-in task: the PRM's step rewards of every sample, and
    uint8_t *step_label;  // the checker's labels of the same steps
    int nstep, cap, unscored;
} bon_scores;

// Scores one response: the built-in task's steps are the checker's (as prm-train trains on), a
// JSONL problem's are the response split at blank lines and </think>.
static void score_row(prm_scorer *prm, const rollout_problem *p, const char *text, bool r1, bon_scores *s, int row) {
    char *steps[CLI_PRM_MAX_STEPS];
    float rewards[CLI_PRM_MAX_STEPS];
    int n = 0;
    task_labels l = {0};
    if (p->builtin) {
        size_t len = strlen(text);
        char *full = fx_malloc(len + 9);
        snprintf(full, len + 9, "%s%s", r1 ? "<think>\n" : "", text);
        task_check(&p->task, full, &l);
        for (; n < l.nsteps && n < CLI_PRM_MAX_STEPS; n++) {
            int sl = l.end[n] - l.begin[n];
            steps[n] = fx_malloc((size_t)sl + 1);
            memcpy(steps[n], full + l.begin[n], (size_t)sl);
            steps[n][sl] = '\0';
        }
        free(full);
    } else {
        n = prm_input_split(text, steps, CLI_PRM_MAX_STEPS);
    }
    prm_result r = {.step = rewards};
    fx_err err;
    if (prm_score(prm, p->prompt, (const char *const *)steps, n, &r, &err)) {
        s->score[row] = -INFINITY;
        s->unscored++;
    } else {
        s->score[row] = r.score;
        for (int k = 0; k < n && p->builtin; k++) {
            if (s->nstep == s->cap) {
                s->cap = s->cap ? 2 * s->cap : 4096;
                s->step_score = fx_realloc(s->step_score, (size_t)s->cap * sizeof *s->step_score);
                s->step_label = fx_realloc(s->step_label, (size_t)s->cap * sizeof *s->step_label);
            }
            s->step_score[s->nstep] = r.step[k], s->step_label[s->nstep++] = l.correct[k];
        }
    }
    for (int k = 0; k < n; k++) free(steps[k]);
    if (p->builtin) task_labels_free(&l);
}

// One sample as a JSON line: what fluxrl select, sft (sft.data) and prm-train (prm.data) read.
static void dump_row(FILE *f, const rollout_problem *p, const char *text, int sample, bool correct, float score) {
    size_t len;
    char *utf8 = tok_utf8_sanitize(text, strlen(text), &len); // a sample may end mid-character
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "problem", p->prompt);
    cJSON_AddStringToObject(j, "response", utf8);
    free(utf8);
    cJSON_AddNumberToObject(j, "sample", sample);
    cJSON_AddBoolToObject(j, "correct", correct);
    if (isfinite(score)) cJSON_AddNumberToObject(j, "score", score);
    else cJSON_AddNullToObject(j, "score");
    char *line = cli_json_text(j);
    fprintf(f, "%s\n", line);
    free(line);
    cJSON_Delete(j);
}

// Decodes rows [r0, r0 + B) with the policy into out (B rows of max_new ids).
static void decode_rows(const bon_args *a, model *m, tok_tokenizer *tok, tok_chat_style chat, const rollout_problem *ps,
                        int32_t eos, int r0, int B, int32_t *out, int *out_len) {
    tok_ids *prompt = fx_calloc((size_t)B, sizeof *prompt);
    const int32_t **pp = fx_malloc((size_t)B * sizeof *pp);
    int *plen = fx_malloc((size_t)B * sizeof *plen);
    uint64_t *streams = fx_malloc((size_t)B * sizeof *streams);
    for (int b = 0; b < B; b++) {
        int i = (r0 + b) / a->n, s = (r0 + b) % a->n;
        tok_message msg = {"user", ps[i].prompt};
        char *text = tok_chat_format(&msg, 1, chat, true);
        tok_encode(tok, text, strlen(text), &prompt[b]);
        free(text);
        pp[b] = prompt[b].ids, plen[b] = (int)prompt[b].n;
        // the streams of fluxrl eval: the same seed gives the same samples
        streams[b] = rollout_stream((uint64_t)(a->data.first + i), (uint64_t)s);
    }
    rollout_decode_opts o = {.sample = a->sample, .seed = (uint64_t)a->seed, .stream = streams, .max_new = a->max_new,
                             .stop = &eos, .nstop = 1, .tok = tok};
    rollout_decode(m, pp, plen, B, &o, out, NULL, out_len, NULL);
    for (int b = 0; b < B; b++) tok_ids_free(&prompt[b]);
    free(prompt), free(pp), free(plen), free(streams);
}

// The accuracies over the first k samples of each of np problems (n samples each).
static void report(const bool *correct, char *const *extracted, const bon_scores *s, const char *name, int np, int n,
                   int k, bool last, const char *extra) {
    double prm = 0;
    float *score = fx_malloc((size_t)np * k * sizeof *score);
    int64_t *group = fx_malloc((size_t)np * k * sizeof *group), *best = fx_malloc((size_t)np * sizeof *best);
    for (int i = 0; i < np; i++)
        for (int j = 0; j < k; j++) score[i * k + j] = s->score[i * n + j], group[i * k + j] = i;
    reward_accuracy acc = reward_sample_accuracy(correct, extracted, np, n, k);
    FX_ASSERT(reward_best_of_n(score, group, (int64_t)np * k, best) == np);
    for (int i = 0; i < np; i++) prm += correct[i * n + (best[i] - (int64_t)i * k)];
    // Within-problem AUROC: how often a right sample outscores a wrong sample of the same problem
    // (ties count half). Best-of-N lives on this; an AUROC pooled over problems also rewards a PRM
    // for knowing which problems are hard.
    double wins = 0;
    int64_t pairs = 0;
    for (int i = 0; i < np; i++)
        for (int j = 0; j < k; j++) {
            if (!correct[i * n + j]) continue;
            for (int t = 0; t < k; t++) {
                if (correct[i * n + t]) continue;
                float a = s->score[i * n + j], b = s->score[i * n + t];
                pairs++, wins += a > b ? 1.0 : a == b ? 0.5 : 0.0;
            }
        }
    char within[64];
    if (pairs) snprintf(within, sizeof within, "%.4f", wins / (double)pairs);
    else snprintf(within, sizeof within, "null");
    cJSON *js = cJSON_CreateString(name);
    char *quoted = cJSON_PrintUnformatted(js);
    printf("{\"problems\": %d, \"samples\": %d, \"prm_best\": %.4f, \"pass@1\": %.4f, \"majority\": %.4f, "
           "\"pass@n\": %.4f, \"within_auroc\": %s, \"pairs\": %lld%s, \"prm\": %s}\n",
           np, k, prm / np, acc.pass1, acc.majority, acc.pass_k, within, (long long)pairs, last ? extra : "", quoted);
    free(quoted);
    cJSON_Delete(js);
    free(score), free(group), free(best);
}

// The step AUROC fields of a PRM's last line (built-in task).
static void auroc_fields(const bon_scores *s, char *extra, size_t cap) {
    extra[0] = '\0';
    if (!s->nstep) return;
    int wrong = 0;
    for (int k = 0; k < s->nstep; k++) wrong += !s->step_label[k];
    double auroc = prm_auroc(s->step_score, s->step_label, s->nstep);
    if (isfinite(auroc))
        snprintf(extra, cap, ", \"step_auroc\": %.4f, \"steps\": %d, \"wrong_steps\": %d", auroc, s->nstep, wrong);
    else snprintf(extra, cap, ", \"step_auroc\": null, \"steps\": %d, \"wrong_steps\": %d", s->nstep, wrong);
}

int cmd_best_of_n(int argc, char **argv) {
    bon_args a;
    if (parse_args(argc, argv, &a)) return FX_EXIT_INPUT;
    backend *be = backend_cpu_create(0);
    fx_err err;
    int code = FX_EXIT_INPUT, np = 0, nloaded = 0;
    tok_chat_style chat;
    rollout_problem *ps = NULL;
    tok_tokenizer *tok = NULL;
    model m = {0};
    prm_scorer prm[BON_MAX_PRMS];
    bon_scores sc[BON_MAX_PRMS] = {{0}};
    bool *correct = NULL;
    char **extracted = NULL;
    int32_t *out = NULL;
    int *out_len = NULL, rows = 0;
    FILE *dump = NULL;
    char tmp[4200];
    if (tok_chat_style_parse(a.chat, &chat)) {
        fx_errf(&err, "fluxrl best-of-n: --chat: expected r1 or chatml, got '%s'", a.chat);
        goto done;
    }
    if (rollout_data_load(&a.data, &ps, &np, &err)) goto done;
    if (model_check_dir(a.policy, &err) || tok_load(&tok, a.policy, &err) || model_load(&m, a.policy, be, &err) ||
        tok_check_vocab(tok, m.cfg.vocab_size, a.policy, &err))
        goto done;
    for (; nloaded < a.nprm; nloaded++)
        if (prm_load(&prm[nloaded], a.prm[nloaded], be, (float)a.alpha, &err)) goto done;
    int32_t eos = tok_token_id(tok, "<|im_end|>");
    if (eos < 0) eos = tok_eos(tok);
    rows = np * a.n;
    int B = a.batch;
    correct = fx_calloc((size_t)rows, sizeof *correct);
    extracted = fx_calloc((size_t)rows, sizeof *extracted);
    for (int q = 0; q < a.nprm; q++) sc[q].score = fx_malloc((size_t)rows * sizeof *sc[q].score);
    out = fx_malloc((size_t)B * a.max_new * sizeof *out);
    out_len = fx_malloc((size_t)B * sizeof *out_len);
    if (a.out) {
        snprintf(tmp, sizeof tmp, "%s.tmp", a.out);
        if (!(dump = fopen(tmp, "w"))) {
            fx_errf(&err, "%s: cannot create", tmp);
            goto done;
        }
    }
    fx_progress prog;
    fx_progress_init(&prog, "best-of-n", rows);
    for (int r0 = 0; r0 < rows; r0 += B) {
        int nb = rows - r0 < B ? rows - r0 : B;
        decode_rows(&a, &m, tok, chat, ps, eos, r0, nb, out, out_len);
        for (int b = 0; b < nb; b++) {
            int row = r0 + b;
            const rollout_problem *p = &ps[row / a.n];
            char *text = rollout_response_text(tok, out + (size_t)b * a.max_new, out_len[b], eos);
            correct[row] = rollout_judge(p, text, chat == TOK_CHAT_R1, &extracted[row]);
            for (int q = 0; q < a.nprm; q++) score_row(&prm[q], p, text, chat == TOK_CHAT_R1, &sc[q], row);
            if (dump) dump_row(dump, p, text, row % a.n, correct[row], sc[0].score[row]);
            free(text);
        }
        fx_progress_update(&prog, r0 + nb, NULL);
    }
    fx_progress_end(&prog, NULL);
    if (dump) {
        bool bad = fflush(dump) || ferror(dump);
        fclose(dump);
        dump = NULL;
        if (bad || rename(tmp, a.out)) {
            remove(tmp);
            fx_errf(&err, "%s: cannot write", a.out);
            code = FX_EXIT_FAIL;
            goto done;
        }
    }
    for (int q = 0; q < a.nprm; q++) {
        if (sc[q].unscored)
            fx_warn("best-of-n: %s could not score %d of %d samples (no steps, or too long); they rank last", a.prm[q],
                    sc[q].unscored, rows);
        char extra[160];
        auroc_fields(&sc[q], extra, sizeof extra);
        for (int k = 1;; k *= 2) {
            if (k > a.n) k = a.n;
            report(correct, extracted, &sc[q], a.prm[q], np, a.n, k, k == a.n, extra);
            if (k == a.n) break;
        }
    }
    code = FX_EXIT_OK;
done:
    if (code) fprintf(stderr, "%s\n", err.msg);
    if (dump) fclose(dump), remove(tmp);
    for (int r = 0; r < rows && extracted; r++) free(extracted[r]);
    for (int q = 0; q < BON_MAX_PRMS; q++) free(sc[q].score), free(sc[q].step_score), free(sc[q].step_label);
    free(correct), free(extracted), free(out), free(out_len);
    for (int q = 0; q < nloaded; q++) prm_free(&prm[q]);
    rollout_data_free(ps, np);
    if (m.params_mem) model_free(&m);
    tok_free(tok);
    backend_destroy(be);
    return code;
}
