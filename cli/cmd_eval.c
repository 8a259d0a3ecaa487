// cmd_eval.c — decoding problems with a model: `fluxrl eval` (accuracy: mean pass@1, majority vote,
// pass@n over n samples per problem; static batches of rollout_decode) and `fluxrl generate` (the
// samples as traces in an HDF5 trace store, through the continuous-batching engine of
// rollout/engine.h). Problems: the built-in task's held-out problems or a JSONL dataset
// (rollout/dataset.h).
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/config.h"
#include "../core/log.h"
#include "../core/progress.h"
#include "../model/tok.h"
#include "../reward/reward.h"
#include "../rollout/dataset.h"
#include "../rollout/decode.h"
#include "../rollout/engine.h"
#include "../rollout/steps.h"
#include "../rollout/trace_store.h"
#include "../rollout/verify.h"
#include "cli.h"

#define MAX_STOP_STRINGS 16

typedef struct {
    const char *cmd, *model, *chat, *out;
    const char *stop[MAX_STOP_STRINGS];
    int nstop;
    rollout_data_opts data;
    int n, batch, max_new;
    int slots, kv_tokens; // generate: the engine's (slots 0: --batch when given, else rollout.slots)
    sample_params sample;
    long long seed;
} decode_args;

static int parse_args(const char *cmd, int argc, char **argv, decode_args *a) {
    *a = (decode_args){.cmd = cmd, .chat = "r1", .n = 1, .batch = 32, .max_new = 256, .sample = {0, 0, 1, 0}};
    a->data = (rollout_data_opts){.data = "builtin", .prompt_key = "question", .answer_key = "answer", .count = 200,
                                  .task_seed = 1234};
    task_opts_default(&a->data.task);
    for (int i = 0; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v || strncmp(k, "--", 2) != 0) {
            fprintf(stderr, "fluxrl %s: unexpected argument '%s'; see 'fluxrl %s --help'\n", cmd, k, cmd);
            return -1;
        }
        i++;
        if (!strcmp(k, "--model")) a->model = v;
        else if (!strcmp(k, "--data")) a->data.data = v;
        else if (!strcmp(k, "--prompt-key")) a->data.prompt_key = v;
        else if (!strcmp(k, "--answer-key")) a->data.answer_key = v;
        else if (!strcmp(k, "--chat")) a->chat = v;
        else if (!strcmp(k, "--out") && !strcmp(cmd, "generate")) a->out = v;
        else if (!strcmp(k, "--stop")) {
            if (a->nstop == MAX_STOP_STRINGS || !v[0]) {
                fprintf(stderr, "fluxrl %s: --stop: at most %d non-empty strings\n", cmd, MAX_STOP_STRINGS);
                return -1;
            }
            a->stop[a->nstop++] = v;
        }
        else if (!strcmp(k, "--operators")) snprintf(a->data.task.operators, sizeof a->data.task.operators, "%.3s", v);
        else {
            char *end;
            double x = strtod(v, &end);
            // Every option is an int but --seed and --task-seed (whole numbers up to 2^53).
            bool wide = !strcmp(k, "--seed") || !strcmp(k, "--task-seed");
            if (*end || end == v || !isfinite(x) || fabs(x) > (wide ? 9007199254740992.0 : 2147483647.0)) {
                fprintf(stderr, "fluxrl %s: %s: expected a finite number%s, got '%s'\n", cmd, k,
                        wide ? " below 2^53" : " below 2^31", v);
                return -1;
            }
            if (!strcmp(k, "--n")) a->n = (int)x;
            else if (!strcmp(k, "--problems")) a->data.count = (int)x;
            else if (!strcmp(k, "--first")) a->data.first = (int)x;
            else if (!strcmp(k, "--batch")) a->batch = (int)x, a->slots = a->slots ? a->slots : (int)x;
            else if (!strcmp(k, "--slots") && !strcmp(cmd, "generate")) a->slots = (int)x;
            else if (!strcmp(k, "--kv-tokens") && !strcmp(cmd, "generate")) a->kv_tokens = (int)x;
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
                fprintf(stderr, "fluxrl %s: unknown option '%s'\n", cmd, k);
                return -1;
            }
        }
    }
    const char *bad = !a->model ? "--model is required"
                      : !strcmp(cmd, "generate") && !a->out ? "--out is required"
                      : a->n < 1 ? "--n: expected an integer >= 1"
                      : a->data.count < 1 ? "--problems: expected an integer >= 1"
                      : a->data.first < 0 ? "--first: expected an integer >= 0"
                      : a->batch < 1 ? "--batch: expected an integer >= 1"
                      : a->max_new < 1 ? "--max-new: expected an integer >= 1"
                      : a->slots < 0 || a->slots > 65536 ? "--slots: expected an integer in [1, 65536]"
                      : a->kv_tokens < 0 ? "--kv-tokens: expected an integer >= 0"
                      : a->sample.temperature < 0 ? "--temperature: expected a number >= 0"
                      : !(a->sample.top_p > 0 && a->sample.top_p <= 1) ? "--top-p: expected a number in (0, 1]"
                      : NULL;
    if (bad) {
        fprintf(stderr, "fluxrl %s: %s\n", cmd, bad);
        return -1;
    }
    return 0;
}

// What a decoded row gives the commands.
typedef struct {
    decode_args a;
    tok_tokenizer *tok;
    tok_chat_style chat;
    model m;
    rollout_problem *ps;
    int np, rows;
    int32_t eos, think_end;
    int32_t *out, *finish;
    float *logp;
    int *out_len;
    tok_ids *prompt;
} decoder;

static int decoder_open(decoder *d, const char *cmd, int argc, char **argv, backend *be, fx_err *err, int *code) {
    memset(d, 0, sizeof *d);
    *code = FX_EXIT_INPUT;
    err->msg[0] = '\0'; // parse_args prints its own message
    if (parse_args(cmd, argc, argv, &d->a)) return -1;
    if (tok_chat_style_parse(d->a.chat, &d->chat))
        return fx_errf(err, "fluxrl %s: --chat: expected r1 or chatml, got '%s'", cmd, d->a.chat);
    if (rollout_data_load(&d->a.data, &d->ps, &d->np, err)) return -1;
    if (model_check_dir(d->a.model, err) || tok_load(&d->tok, d->a.model, err) || model_load(&d->m, d->a.model, be, err) ||
        tok_check_vocab(d->tok, d->m.cfg.vocab_size, d->a.model, err))
        return -1;
    d->eos = tok_token_id(d->tok, "<|im_end|>");
    if (d->eos < 0) d->eos = tok_eos(d->tok);
    d->think_end = tok_token_id(d->tok, "</think>");
    d->rows = d->np * d->a.n;
    int B = d->a.batch;
    d->out = fx_malloc((size_t)B * d->a.max_new * sizeof *d->out);
    d->logp = fx_malloc((size_t)B * d->a.max_new * sizeof *d->logp);
    d->out_len = fx_malloc((size_t)B * sizeof *d->out_len);
    d->finish = fx_malloc((size_t)B * sizeof *d->finish);
    d->prompt = fx_calloc((size_t)B, sizeof *d->prompt);
    return 0;
}

static void decoder_close(decoder *d) {
    for (int b = 0; b < d->a.batch && d->prompt; b++) tok_ids_free(&d->prompt[b]);
    free(d->prompt), free(d->out), free(d->logp), free(d->out_len), free(d->finish);
    rollout_data_free(d->ps, d->np);
    if (d->m.params_mem) model_free(&d->m);
    tok_free(d->tok);
}

// Decodes rows [r0, r0 + B): row r is sample r % n of problem r / n.
static void decode_rows(decoder *d, int r0, int B) {
    const int32_t **pp = fx_malloc((size_t)B * sizeof *pp);
    int *plen = fx_malloc((size_t)B * sizeof *plen);
    uint64_t *streams = fx_malloc((size_t)B * sizeof *streams);
    for (int b = 0; b < B; b++) {
        int i = (r0 + b) / d->a.n, s = (r0 + b) % d->a.n;
        tok_message msg = {"user", d->ps[i].prompt};
        char *text = tok_chat_format(&msg, 1, d->chat, true);
        d->prompt[b].n = 0;
        tok_encode(d->tok, text, strlen(text), &d->prompt[b]);
        free(text);
        pp[b] = d->prompt[b].ids, plen[b] = (int)d->prompt[b].n;
        streams[b] = rollout_stream((uint64_t)(d->a.data.first + i), (uint64_t)s);
    }
    rollout_decode_opts o = {d->a.sample, (uint64_t)d->a.seed, streams, d->a.max_new, &d->eos, 1, d->a.stop,
                             d->a.nstop, d->tok};
    rollout_decode(&d->m, pp, plen, B, &o, d->out, d->logp, d->out_len, d->finish);
    free(pp), free(plen), free(streams);
}

static char *row_text(const decoder *d, int b) {
    return rollout_response_text(d->tok, d->out + (size_t)b * d->a.max_new, d->out_len[b], d->eos);
}

int cmd_eval(int argc, char **argv) {
    backend *be = backend_cpu_create(0);
    decoder d;
    fx_err err;
    int code;
    if (decoder_open(&d, "eval", argc, argv, be, &err, &code)) goto done;
    bool *correct = fx_calloc((size_t)d.rows, sizeof *correct);
    char **extracted = fx_calloc((size_t)d.rows, sizeof *extracted);
    fx_progress prog;
    fx_progress_init(&prog, "eval", d.rows);
    for (int r0 = 0; r0 < d.rows; r0 += d.a.batch) {
        int B = d.rows - r0 < d.a.batch ? d.rows - r0 : d.a.batch;
        decode_rows(&d, r0, B);
        for (int b = 0; b < B; b++) {
            char *text = row_text(&d, b);
            correct[r0 + b] = rollout_judge(&d.ps[(r0 + b) / d.a.n], text, d.chat == TOK_CHAT_R1, &extracted[r0 + b]);
            free(text);
        }
        fx_progress_update(&prog, r0 + B, NULL);
    }
    fx_progress_end(&prog, NULL);
    int n = d.a.n;
    reward_accuracy acc = reward_sample_accuracy(correct, extracted, d.np, n, n);
    printf("{\"problems\": %d, \"samples\": %d, \"pass@1\": %.4f, \"majority\": %.4f", d.np, n, acc.pass1,
           acc.majority);
    if (n > 1) printf(", \"pass@%d\": %.4f", n, acc.pass_k); // with one sample it is pass@1
    printf("}\n");
    for (int r = 0; r < d.rows; r++) free(extracted[r]);
    free(correct), free(extracted);
    code = FX_EXIT_OK;
done:
    if (code && err.msg[0]) fprintf(stderr, "%s\n", err.msg);
    decoder_close(&d);
    backend_destroy(be);
    return code;
}

// The text of a token for step splitting; special tokens count as no text.
static const char *piece(void *ctx, int32_t id, size_t *len) {
    const tok_tokenizer *t = ctx;
    if (tok_is_special(t, id)) return *len = 0, NULL;
    return tok_token_bytes(t, id, len);
}

// Progress as the engine's requests end, with the tokens/s so far.
typedef struct {
    fx_progress prog;
    const int *out_len;
    long long tokens;
    int ended;
    double t0;
} gen_progress;

static void on_row_done(void *ctx, int row) {
    gen_progress *g = ctx;
    g->tokens += g->out_len[row];
    char extra[64];
    snprintf(extra, sizeof extra, "%.0f tokens/s", (double)g->tokens / (fx_time_now() - g->t0));
    fx_progress_update(&g->prog, ++g->ended, extra);
}

// Every row through the engine: row r is sample r % n of problem r / n (its prompt is encoded
// once per problem). Outputs (rows, max_new) into out/logp, per row out_len/finish.
static int generate_rows(decoder *d, tok_ids *enc, int32_t *out, float *logp, int *out_len, int32_t *finish,
                         gen_progress *g, fx_err *err) {
    int rows = d->rows, n = d->a.n, longest = 0;
    const int32_t **pp = fx_malloc((size_t)rows * sizeof *pp);
    int *plen = fx_malloc((size_t)rows * sizeof *plen);
    uint64_t *streams = fx_malloc((size_t)rows * sizeof *streams);
    for (int i = 0; i < d->np; i++) {
        tok_message msg = {"user", d->ps[i].prompt};
        char *text = tok_chat_format(&msg, 1, d->chat, true);
        tok_encode(d->tok, text, strlen(text), &enc[i]);
        free(text);
        longest = (int)enc[i].n > longest ? (int)enc[i].n : longest;
    }
    for (int r = 0; r < rows; r++) {
        pp[r] = enc[r / n].ids, plen[r] = (int)enc[r / n].n;
        streams[r] = rollout_stream((uint64_t)(d->a.data.first + r / n), (uint64_t)(r % n));
    }
    fx_config c;
    cfg_defaults(&c);
    int slots = d->a.slots ? d->a.slots : (int)c.rollout.slots;
    int kv = d->a.kv_tokens ? d->a.kv_tokens : longest + d->a.max_new;
    rollout_engine e;
    int rc = rollout_engine_init(&e, &d->m, slots, kv, err);
    rollout_decode_opts o = {d->a.sample, (uint64_t)d->a.seed, streams, d->a.max_new, &d->eos, 1, d->a.stop,
                             d->a.nstop, d->tok};
    g->out_len = out_len;
    g->t0 = fx_time_now();
    if (!rc) {
        fx_progress_init(&g->prog, "generate", rows);
        rc = rollout_engine_run(&e, pp, plen, rows, &o, out, logp, out_len, finish, on_row_done, g, err);
        fx_progress_end(&g->prog, NULL);
    }
    if (!rc)
        fx_info("generate: %d slots, KV cache %.1f MiB (parameters %.1f MiB), %lld steps, %lld cache compactions, "
                "%.0f%% of slot-steps busy", e.slots, (double)e.kv_bytes / (1 << 20), (double)e.param_bytes / (1 << 20),
                e.steps, e.shifts, 100.0 * (double)e.fed / (double)(e.fed + e.idle));
    rollout_engine_free(&e);
    free(pp), free(plen), free(streams);
    return rc;
}

int cmd_generate(int argc, char **argv) {
    backend *be = backend_cpu_create(0);
    decoder d;
    fx_err err;
    int code;
    trace_store *store = NULL;
    tok_ids *enc = NULL;
    int32_t *out = NULL, *finish = NULL;
    float *logp = NULL;
    int *out_len = NULL;
    trace_batch tb;
    trace_batch_init(&tb);
    char *tmp = NULL;
    bool append = false;
    if (decoder_open(&d, "generate", argc, argv, be, &err, &code)) goto done;
    char ident[600];
    snprintf(ident, sizeof ident, "{\"data\": \"%.200s\", \"n\": %d, \"temperature\": %g, \"top_p\": %g, \"top_k\": %d, "
             "\"min_p\": %g, \"seed\": %lld}", d.a.data.data, d.a.n, d.a.sample.temperature, d.a.sample.top_p,
             d.a.sample.top_k, d.a.sample.min_p, d.a.seed);
    // An existing store is appended to (as the usage says); a new one is written to TRACES.h5.tmp
    // and renamed when complete, so a failed run leaves no partial file under the name.
    struct stat st;
    append = stat(d.a.out, &st) == 0;
    if (append && S_ISDIR(st.st_mode)) {
        fx_errf(&err, "%s: is a directory; expected a trace store file", d.a.out);
        goto done;
    }
    if (append) {
        if (trace_store_open_append(&store, d.a.out, &err)) goto done;
    } else {
        tmp = fx_malloc(strlen(d.a.out) + 8);
        sprintf(tmp, "%s.tmp", d.a.out);
        if (trace_store_create(&store, tmp, ident, d.a.model, d.a.model, &err)) {
            if (errno == ENOSPC || errno == EDQUOT || errno == EIO) code = FX_EXIT_FAIL; // not the user's input
            goto done;
        }
    }
    size_t cells = (size_t)d.rows * (size_t)d.a.max_new;
    enc = fx_calloc((size_t)d.np, sizeof *enc);
    out = fx_malloc(cells * sizeof *out), logp = fx_malloc(cells * sizeof *logp);
    out_len = fx_malloc((size_t)d.rows * sizeof *out_len), finish = fx_malloc((size_t)d.rows * sizeof *finish);
    gen_progress g = {0};
    if (generate_rows(&d, enc, out, logp, out_len, finish, &g, &err)) { // sizes that do not fit: exit 2, no store
        trace_store_close(store, NULL);
        store = NULL;
        if (tmp) remove(tmp);
        goto done;
    }
    code = FX_EXIT_FAIL;
    double secs = fx_time_now() - g.t0;
    int32_t step_end[256];
    uint8_t step_part[256];
    float nan_steps[256];
    for (int k = 0; k < 256; k++) nan_steps[k] = NAN;
    steps_params sp = {NULL, d.think_end, d.chat == TOK_CHAT_R1};
    long long right = 0;
    for (int r0 = 0; r0 < d.rows; r0 += d.a.batch) { // appended in row order, a batch at a time
        int B = d.rows - r0 < d.a.batch ? d.rows - r0 : d.a.batch;
        trace_batch_clear(&tb);
        for (int b = 0; b < B; b++) {
            int row = r0 + b, i = row / d.a.n;
            const int32_t *resp = out + (size_t)row * d.a.max_new;
            int len = out_len[row];
            trace t = {.group = d.a.data.first + i, .sample = row % d.a.n, .policy_version = 0, .finish = finish[row],
                       .n_prompt = (int32_t)enc[i].n, .n_response = len, .prompt = enc[i].ids, .response = resp,
                       .logprobs = logp + (size_t)row * d.a.max_new, .step_end = step_end, .step_part = step_part,
                       .step_reward = nan_steps, .trajectory_reward = NAN, .final_reward = NAN};
            t.n_steps = len ? steps_split(resp, len, &sp, piece, d.tok, step_end, step_part, 256, &t.think_end) : 0;
            if (!len) t.think_end = -1;
            char *text = rollout_response_text(d.tok, resp, len, d.eos);
            t.outcome_reward = rollout_judge(&d.ps[i], text, d.chat == TOK_CHAT_R1, NULL) ? 1.0f : 0.0f;
            right += t.outcome_reward > 0;
            free(text);
            trace_batch_add(&tb, &t);
        }
        if (trace_store_append(store, &tb, &err)) goto done;
    }
    {
        trace_store *s = store;
        store = NULL;
        if (trace_store_close(s, &err)) goto done;
        if (tmp && rename(tmp, d.a.out) != 0) {
            fx_errf(&err, "%s: cannot rename to %s: %s", tmp, d.a.out, strerror(errno));
            goto done;
        }
        free(tmp), tmp = NULL;
    }
    printf("generate: %d traces (%d problems x %d), %lld tokens, %.0f tokens/s, %.1f%% correct, %s %s\n", d.rows, d.np,
           d.a.n, g.tokens, (double)g.tokens / secs, 100.0 * (double)right / d.rows, append ? "appended to" : "in",
           d.a.out);
    code = FX_EXIT_OK;
done:
    if (code && err.msg[0]) fprintf(stderr, "%s\n", err.msg);
    if (store) trace_store_close(store, NULL);
    if (tmp) remove(tmp), free(tmp);
    trace_batch_free(&tb);
    for (int i = 0; enc && i < d.np; i++) tok_ids_free(&enc[i]);
    free(enc), free(out), free(logp), free(out_len), free(finish);
    decoder_close(&d);
    backend_destroy(be);
    return code;
}
