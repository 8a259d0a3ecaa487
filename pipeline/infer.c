// infer.c — eval, generate and best-of-n (infer.h): a policy decodes problems; its answers are
// judged by the task's verifier, kept as traces, or scored by PRMs.
#define _POSIX_C_SOURCE 200809L
#include "infer.h"

#include <cjson/cJSON.h>
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
#include "../reward/prm.h"
#include "../reward/prm_input.h"
#include "../rollout/decode.h"
#include "../rollout/engine.h"
#include "../rollout/merge.h"
#include "../rollout/steps.h"
#include "../rollout/trace_store.h"
#include "../rollout/verify.h"
#include "../trainer/prm_train.h"
#include "experts.h"
#include "pipeline.h"

static const char *kind_name(infer_kind k) {
    return k == INFER_EVAL ? "eval" : k == INFER_GENERATE ? "generate" : "best-of-n";
}

void infer_defaults(infer_params *p, infer_kind kind) {
    *p = (infer_params){.chat = "auto", .backend = "cpu", .precision = "bf16", .n = 1, .batch = 32, .max_new = 256,
                        .sample = {0, 0, 1, 0}, .alpha = 1, .merge = "prob"};
    if (kind == INFER_BEST_OF_N) p->n = 16, p->sample.temperature = 1;
    p->data = (rollout_data_opts){.data = "builtin", .prompt_key = "question", .answer_key = "answer", .count = 200,
                                  .task_seed = 1234};
    task_opts_default(&p->data.task);
}

// The merge options: "--option: expected ..." or NULL.
static const char *check_merge(const infer_params *p, infer_kind kind) {
    static char why[160];
    rollout_merge_space space;
    if (!p->nexperts && !p->pcm) // --pcm alone: the experts its folder names
        return p->npref ? "--preference: expected with --experts or --pcm"
               : strcmp(p->merge, "prob") ? "--merge: expected with --experts or --pcm" : NULL;
    if (p->model)
        return kind == INFER_BEST_OF_N ? "--policy and --experts / --pcm: expected one of them, got both"
                                       : "--model and --experts / --pcm: expected one of them, got both";
    if (rollout_merge_space_parse(p->merge, &space)) return "--merge: expected prob or logit";
    if (p->npref && p->nexperts && p->npref != p->nexperts) {
        snprintf(why, sizeof why, "--preference: expected %d weights (one per expert of --experts), got %d", p->nexperts,
                 p->npref);
        return why;
    }
    fx_err err;
    if (p->npref && rollout_merge_check_pref(p->preference, p->npref, "--preference", &err)) {
        snprintf(why, sizeof why, "%.150s", err.msg);
        return why;
    }
    return NULL;
}

const char *infer_check(const infer_params *p, infer_kind kind) {
    const char *merge = check_merge(p, kind);
    if (merge) return merge;
    return !p->model && !p->nexperts && !p->pcm
               ? (kind == INFER_BEST_OF_N ? "--policy (or --experts) is required" : "--model (or --experts) is required")
           : kind == INFER_BEST_OF_N && !p->nprm && (p->prm_traj_sep || p->prm_system)
               ? "--trajectory-separator / --prm-system: they tell a PRM how to read, and no --prm is given"
           : kind == INFER_GENERATE && !p->out ? "--out is required"
           : p->n < 1 ? "--n: expected an integer >= 1"
           : p->data.count < 1 ? "--problems: expected an integer >= 1"
           : p->data.first < 0 ? "--first: expected an integer >= 0"
           : p->batch < 1 ? "--batch: expected an integer >= 1"
           : p->max_new < 1 ? "--max-new: expected an integer >= 1"
           : p->slots < 0 || p->slots > 65536 ? "--slots: expected an integer in [1, 65536]"
           : p->kv_tokens < 0 ? "--kv-tokens: expected an integer >= 0"
           : p->sample.temperature < 0 ? "--temperature: expected a number >= 0"
           : !(p->sample.top_p > 0 && p->sample.top_p <= 1) ? "--top-p: expected a number in (0, 1]"
           : strcmp(p->backend, "cpu") && strcmp(p->backend, "cuda") ? "--backend: expected cpu or cuda"
           : strcmp(p->precision, "bf16") && strcmp(p->precision, "fp32") ? "--precision: expected bf16 or fp32"
           : NULL;
}

// What every command holds while it decodes: the backend, the policy and its tokenizer, the problems.
typedef struct {
    const infer_params *p;
    backend *be;
    tok_tokenizer *tok;
    tok_prompt prompt; // --chat, --system, --chat-vars against the model's tokenizer; its stop ids
    model m;           // the policy, or the first expert
    model more[INFER_MAX_EXPERTS - 1], pcm; // --experts: the others, and the PCM
    rollout_merge mix; // --experts: all of them (mix.K = 0: m alone)
    float pref[INFER_MAX_EXPERTS];
    const char *dir;   // the folder of m (its tokenizer, chat template and stop ids)
    const char *experts[INFER_MAX_EXPERTS]; // --experts, or those the --pcm folder names
    int K;
    char named[8192];  // the folders a --pcm folder names
    rollout_problem *ps;
    int np, rows;
    int32_t think_end;
    double alpha_sum[INFER_MAX_EXPERTS], alpha_tokens; // --pcm: each expert's alpha over the decoded tokens
} infer_run;

// --experts (and --pcm): every expert loaded and of the first's tokenizer, the PCM for K of them
// (rollout_merge_check), the preference (uniform when not given). The first expert is r->m.
static int open_experts(infer_run *r, fx_err *err) {
    const infer_params *p = r->p;
    int K = r->K;
    for (int i = 0; i < K; i++) r->mix.experts[i] = i ? &r->more[i - 1] : &r->m;
    if (pipe_experts_load(r->experts, K, r->be, r->tok, r->mix.experts, err)) return -1;
    r->mix.K = K;
    if (p->pcm && (model_check_dir(p->pcm, err) || model_load(&r->pcm, p->pcm, r->be, err))) return -1;
    r->mix.pcm = p->pcm ? &r->pcm : NULL;
    FX_ASSERT(!rollout_merge_space_parse(p->merge, &r->mix.space)); // infer_check
    if (rollout_merge_check(&r->mix, r->experts, p->pcm, err)) return -1;
    for (int i = 0; i < K; i++) r->pref[i] = p->npref ? p->preference[i] : 1.0f / (float)K;
    r->mix.pref = r->pref;
    return 0;
}

// The experts: --experts, or (--pcm alone) those the PCM's folder names; with --pcm, checked to
// be the ones it was trained on (pipe_pcm_check_experts: their weights' hashes).
static int resolve_experts(infer_run *r, fx_err *err) {
    const infer_params *p = r->p;
    r->K = p->nexperts;
    for (int i = 0; i < r->K; i++) r->experts[i] = p->experts[i];
    if (p->pcm && !p->nexperts) {
        char *paths[INFER_MAX_EXPERTS];
        uint64_t hash[INFER_MAX_EXPERTS];
        int n = pipe_pcm_named_experts(p->pcm, r->named, sizeof r->named, paths, hash, INFER_MAX_EXPERTS, err);
        if (n < 0) return -1;
        if (!n)
            return fx_errf(err, "--pcm: %s names no experts (no fluxrl_pcm.experts in its config.json): give them with "
                                "--experts", p->pcm);
        for (int i = 0; i < n; i++) r->experts[i] = paths[i];
        r->K = n;
        if (p->npref && p->npref != n)
            return fx_errf(err, "--preference: expected %d weights (one per expert the PCM %s names), got %d", n,
                           p->pcm, p->npref);
    }
    return p->pcm ? pipe_pcm_check_experts(p->pcm, r->experts, r->K, p->nexperts ? "--experts" : "--pcm", err) : 0;
}

static int run_open(infer_run *r, const infer_params *p, infer_kind kind, fx_err *err) {
    memset(r, 0, sizeof *r);
    r->p = p;
    tok_chat_style style;
    if (tok_chat_style_parse(p->chat, &style))
        return fx_errf(err, "fluxrl %s: --chat: expected auto, r1 or chatml, got '%s'", kind_name(kind), p->chat);
    if (!(r->be = pipeline_backend_open("--backend", p->backend, p->precision, 0, 0, "this process", err))) return -1;
    if (rollout_data_load(&p->data, &r->ps, &r->np, err)) return -1;
    if (resolve_experts(r, err)) return -1;
    r->dir = r->K ? r->experts[0] : p->model;
    if (model_check_dir(r->dir, err) || tok_load(&r->tok, r->dir, err)) return -1;
    if (r->K ? open_experts(r, err)
                    : model_load(&r->m, p->model, r->be, err) || tok_check_vocab(r->tok, r->m.cfg.vocab_size, p->model, err))
        return -1;
    tok_prompt_opts po = {p->chat, p->system, p->chat_vars, r->dir, "--chat", "--system", "--chat-vars"};
    if (tok_prompt_init(&r->prompt, r->tok, &po, err)) return -1;
    r->think_end = tok_token_id(r->tok, "</think>");
    r->rows = r->np * p->n;
    return 0;
}

static void run_close(infer_run *r) {
    rollout_data_free(r->ps, r->np);
    tok_prompt_free(&r->prompt);
    if (r->m.params_mem) model_free(&r->m);
    for (int i = 0; i < INFER_MAX_EXPERTS - 1; i++)
        if (r->more[i].params_mem) model_free(&r->more[i]);
    if (r->pcm.params_mem) model_free(&r->pcm);
    tok_free(r->tok);
    backend_destroy(r->be);
}

static rollout_decode_opts decode_opts(const infer_run *r, const uint64_t *streams) {
    return (rollout_decode_opts){r->p->sample, (uint64_t)r->p->seed, streams, r->p->max_new, r->prompt.stop,
                                 r->prompt.nstop, r->p->stop, r->p->nstop, r->tok, NULL, NULL};
}

// The prompt of problem i. A problem the chat template refuses (its raise_exception) is bad input.
static void encode_prompt(const infer_run *r, int i, tok_ids *out) {
    fx_err err;
    if (tok_prompt_encode(&r->prompt, r->tok, r->ps[i].prompt, NULL, out, &err))
        fx_fatal_at(__FILE__, __LINE__, FX_EXIT_INPUT, "problem %d: %s", i, err.msg);
}

// The engine over m, or over the experts merged (--experts).
static int engine_open(infer_run *r, rollout_engine *e, int slots, int kv_tokens, fx_err *err) {
    return r->mix.K ? rollout_engine_init_merged(e, &r->mix, slots, kv_tokens, err)
                    : rollout_engine_init(e, &r->m, slots, kv_tokens, err);
}

// Decodes rows [r0, r0 + B) as text (texts[b] malloc'd).
static void decode_texts(infer_run *r, int r0, int B, char **texts) {
    const infer_params *p = r->p;
    tok_ids *prompt = fx_calloc((size_t)B, sizeof *prompt);
    const int32_t **pp = fx_malloc((size_t)B * sizeof *pp);
    int *plen = fx_malloc((size_t)B * sizeof *plen);
    uint64_t *streams = fx_malloc((size_t)B * sizeof *streams);
    for (int b = 0; b < B; b++) {
        int i = (r0 + b) / p->n, s = (r0 + b) % p->n;
        encode_prompt(r, i, &prompt[b]);
        pp[b] = prompt[b].ids, plen[b] = (int)prompt[b].n;
        streams[b] = rollout_stream((uint64_t)(p->data.first + i), (uint64_t)s);
    }
    rollout_decode_opts o = decode_opts(r, streams);
    fx_err err;
    int K = r->mix.K, *len = NULL;
    if (r->mix.pcm) { // the alpha each token was drawn with, summed over the decoded tokens
        r->mix.alpha = fx_malloc((size_t)B * (size_t)p->max_new * (size_t)K * sizeof *r->mix.alpha);
        len = fx_malloc((size_t)B * sizeof *len);
    }
    if (K && rollout_engine_texts(&r->mix, r->tok, pp, plen, B, &o, r->prompt.end_of_turn, texts, len, &err))
        fx_fatal_at(__FILE__, __LINE__, FX_EXIT_INPUT, "%s", err.msg);
    if (!K) rollout_decode_texts(&r->m, r->tok, pp, plen, B, &o, r->prompt.end_of_turn, texts, NULL);
    for (int b = 0; len && b < B; b++)
        for (int k = 0; k < len[b]; k++, r->alpha_tokens++)
            for (int i = 0; i < K; i++) r->alpha_sum[i] += r->mix.alpha[((size_t)b * p->max_new + (size_t)k) * K + i];
    if (len) free(r->mix.alpha), r->mix.alpha = NULL;
    free(len);
    for (int b = 0; b < B; b++) tok_ids_free(&prompt[b]);
    free(prompt), free(pp), free(plen), free(streams);
}

// --- eval -----------------------------------------------------------------------------------------

// Every row decoded, p->batch at a time, and judged into correct[row] and extracted[row]; then,
// when each is given, each(ctx, row, problem, text). Progress shown under `name`.
static void judge_rows(infer_run *r, const char *name, bool *correct, char **extracted,
                       void (*each)(void *ctx, int row, const rollout_problem *pr, const char *text), void *ctx) {
    const infer_params *p = r->p;
    char **texts = fx_malloc((size_t)p->batch * sizeof *texts);
    fx_progress prog;
    fx_progress_init(&prog, name, r->rows);
    for (int r0 = 0; r0 < r->rows; r0 += p->batch) {
        int B = r->rows - r0 < p->batch ? r->rows - r0 : p->batch;
        decode_texts(r, r0, B, texts);
        for (int b = 0; b < B; b++) {
            int row = r0 + b;
            const rollout_problem *pr = &r->ps[row / p->n];
            correct[row] = rollout_judge(pr, texts[b], r->prompt.opens_think, &extracted[row]);
            if (each) each(ctx, row, pr, texts[b]);
            free(texts[b]);
        }
        fx_progress_update(&prog, r0 + B, NULL);
    }
    fx_progress_end(&prog, NULL);
    free(texts);
}

int infer_eval(const infer_params *p, infer_eval_result *res, fx_err *err) {
    infer_run r;
    int code = FX_EXIT_INPUT;
    bool *correct = NULL;
    char **extracted = NULL;
    if (run_open(&r, p, INFER_EVAL, err)) goto done;
    correct = fx_calloc((size_t)r.rows, sizeof *correct);
    extracted = fx_calloc((size_t)r.rows, sizeof *extracted);
    judge_rows(&r, "eval", correct, extracted, NULL, NULL);
    *res = (infer_eval_result){r.np, p->n, reward_sample_accuracy(correct, extracted, r.np, p->n, p->n), 0, {0}};
    if (r.mix.pcm) {
        res->K = r.mix.K;
        for (int i = 0; i < r.mix.K; i++) res->alpha_mean[i] = r.alpha_tokens > 0 ? r.alpha_sum[i] / r.alpha_tokens : 0;
    }
    code = FX_EXIT_OK;
done:
    for (int i = 0; extracted && i < r.rows; i++) free(extracted[i]);
    free(correct), free(extracted);
    run_close(&r);
    return code;
}

// --- generate -------------------------------------------------------------------------------------

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

// Every row through the engine (each problem's prompt encoded once into enc). Outputs (rows,
// max_new) into out/logp, per row out_len/finish.
static int generate_rows(infer_run *r, tok_ids *enc, int32_t *out, float *logp, int *out_len, int32_t *finish,
                         gen_progress *g, fx_err *err) {
    const infer_params *p = r->p;
    int rows = r->rows, n = p->n, longest = 0;
    const int32_t **pp = fx_malloc((size_t)rows * sizeof *pp);
    int *plen = fx_malloc((size_t)rows * sizeof *plen);
    uint64_t *streams = fx_malloc((size_t)rows * sizeof *streams);
    for (int i = 0; i < r->np; i++) {
        encode_prompt(r, i, &enc[i]);
        longest = (int)enc[i].n > longest ? (int)enc[i].n : longest;
    }
    for (int row = 0; row < rows; row++) {
        pp[row] = enc[row / n].ids, plen[row] = (int)enc[row / n].n;
        streams[row] = rollout_stream((uint64_t)(p->data.first + row / n), (uint64_t)(row % n));
    }
    fx_config c;
    cfg_defaults(&c);
    int slots = p->slots ? p->slots : (int)c.rollout.slots;
    int kv = p->kv_tokens ? p->kv_tokens : longest + p->max_new;
    rollout_engine e;
    int rc = engine_open(r, &e, slots, kv, err);
    rollout_decode_opts o = decode_opts(r, streams);
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

// Appends the decoded rows to the store in row order, a batch at a time, judged and split into steps.
static int store_rows(infer_run *r, trace_store *store, const tok_ids *enc, const int32_t *out, const float *logp,
                      const int *out_len, const int32_t *finish, long long *right, fx_err *err) {
    const infer_params *p = r->p;
    int32_t step_end[256];
    uint8_t step_part[256];
    float nan_steps[256];
    for (int k = 0; k < 256; k++) nan_steps[k] = NAN;
    steps_params sp = {NULL, r->think_end, r->prompt.opens_think};
    trace_batch tb;
    trace_batch_init(&tb);
    int rc = 0;
    for (int r0 = 0; r0 < r->rows && !rc; r0 += p->batch) {
        int B = r->rows - r0 < p->batch ? r->rows - r0 : p->batch;
        trace_batch_clear(&tb);
        for (int b = 0; b < B; b++) {
            int row = r0 + b, i = row / p->n;
            const int32_t *resp = out + (size_t)row * p->max_new;
            int len = out_len[row];
            trace t = {.group = p->data.first + i, .sample = row % p->n, .policy_version = 0, .finish = finish[row],
                       .n_prompt = (int32_t)enc[i].n, .n_response = len, .prompt = enc[i].ids, .response = resp,
                       .logprobs = logp + (size_t)row * p->max_new, .step_end = step_end, .step_part = step_part,
                       .step_reward = nan_steps, .trajectory_reward = NAN, .final_reward = NAN};
            t.n_steps = len ? steps_split(resp, len, &sp, piece, r->tok, step_end, step_part, 256, &t.think_end) : 0;
            if (!len) t.think_end = -1;
            char *text = rollout_response_text_stop(r->tok, resp, len, r->prompt.stop, r->prompt.nstop);
            t.outcome_reward = rollout_judge(&r->ps[i], text, r->prompt.opens_think, NULL) ? 1.0f : 0.0f;
            *right += t.outcome_reward > 0;
            free(text);
            trace_batch_add(&tb, &t);
        }
        rc = trace_store_append(store, &tb, err);
    }
    trace_batch_free(&tb);
    return rc;
}

// The policy's identity in the trace store: its folder, or the experts, the PCM, the preference
// and the merge.
static void policy_name(const infer_run *r, char *buf, size_t cap) {
    const infer_params *p = r->p;
    if (!r->mix.K) {
        snprintf(buf, cap, "%s", p->model);
        return;
    }
    size_t n = (size_t)snprintf(buf, cap, "experts");
    for (int i = 0; i < r->mix.K && n < cap; i++) n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? "," : " ", r->experts[i]);
    if (n < cap && p->pcm) n += (size_t)snprintf(buf + n, cap - n, "; pcm %s", p->pcm);
    for (int i = 0; i < r->mix.K && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%.9g", i ? "," : "; preference ", (double)r->pref[i]);
    if (n < cap) snprintf(buf + n, cap - n, "; merge %s", p->merge);
}

int infer_generate(const infer_params *p, infer_generate_result *res, fx_err *err) {
    infer_run r;
    int code = FX_EXIT_INPUT;
    trace_store *store = NULL;
    tok_ids *enc = NULL;
    int32_t *out = NULL, *finish = NULL;
    float *logp = NULL;
    int *out_len = NULL;
    char *tmp = NULL;
    memset(res, 0, sizeof *res);
    if (run_open(&r, p, INFER_GENERATE, err)) goto done;
    char ident[600];
    snprintf(ident, sizeof ident, "{\"data\": \"%.200s\", \"n\": %d, \"temperature\": %g, \"top_p\": %g, \"top_k\": %d, "
             "\"min_p\": %g, \"seed\": %lld}", p->data.data, p->n, p->sample.temperature, p->sample.top_p,
             p->sample.top_k, p->sample.min_p, p->seed);
    // An existing store is appended to (as the usage says); a new one is written to TRACES.h5.tmp
    // and renamed when complete, so a failed run leaves no partial file under the name.
    struct stat st;
    res->appended = stat(p->out, &st) == 0;
    if (res->appended && S_ISDIR(st.st_mode)) {
        fx_errf(err, "%s: is a directory; expected a trace store file", p->out);
        goto done;
    }
    if (res->appended) {
        if (trace_store_open_append(&store, p->out, err)) goto done;
    } else {
        tmp = fx_malloc(strlen(p->out) + 8);
        sprintf(tmp, "%s.tmp", p->out);
        char policy[2048];
        policy_name(&r, policy, sizeof policy);
        if (trace_store_create(&store, tmp, ident, policy, r.dir, err)) {
            if (errno == ENOSPC || errno == EDQUOT || errno == EIO) code = FX_EXIT_FAIL; // not the user's input
            goto done;
        }
    }
    size_t cells = (size_t)r.rows * (size_t)p->max_new;
    enc = fx_calloc((size_t)r.np, sizeof *enc);
    out = fx_malloc(cells * sizeof *out), logp = fx_malloc(cells * sizeof *logp);
    out_len = fx_malloc((size_t)r.rows * sizeof *out_len), finish = fx_malloc((size_t)r.rows * sizeof *finish);
    gen_progress g = {0};
    if (generate_rows(&r, enc, out, logp, out_len, finish, &g, err)) { // sizes that do not fit: exit 2, no store
        trace_store_close(store, NULL);
        store = NULL;
        if (tmp) remove(tmp);
        goto done;
    }
    code = FX_EXIT_FAIL;
    res->seconds = fx_time_now() - g.t0;
    if (store_rows(&r, store, enc, out, logp, out_len, finish, &res->correct, err)) goto done;
    {
        trace_store *s = store;
        store = NULL;
        if (trace_store_close(s, err)) goto done;
        if (tmp && rename(tmp, p->out) != 0) {
            fx_errf(err, "%s: cannot rename to %s: %s", tmp, p->out, strerror(errno));
            goto done;
        }
        free(tmp), tmp = NULL;
    }
    res->traces = r.rows, res->problems = r.np, res->samples = p->n, res->tokens = g.tokens;
    code = FX_EXIT_OK;
done:
    if (store) trace_store_close(store, NULL);
    if (tmp) remove(tmp), free(tmp);
    for (int i = 0; enc && i < r.np; i++) tok_ids_free(&enc[i]);
    free(enc), free(out), free(logp), free(out_len), free(finish);
    run_close(&r);
    return code;
}

// --- best-of-n ------------------------------------------------------------------------------------

// What one PRM made of the samples of all problems (row r: sample r % n of problem r / n).
typedef struct {
    float *score;         // r^; -inf when the PRM could not score the sample (no steps, too long)
    float *min_step;      // its lowest step reward (-inf likewise): the aggregation of Math-Shepherd
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
        s->score[row] = s->min_step[row] = -INFINITY;
        s->unscored++;
    } else {
        s->score[row] = r.score;
        s->min_step[row] = reward_min_step(r.step, n); // no step: -inf, as unscored
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
static void dump_row(FILE *f, const rollout_problem *p, const char *text, int sample, bool correct,
                     const char *answer, float score, float min_step) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "problem", p->prompt);
    cJSON_AddStringToObject(j, "response", text);
    cJSON_AddNumberToObject(j, "sample", sample);
    cJSON_AddBoolToObject(j, "correct", correct);
    if (answer) cJSON_AddStringToObject(j, "answer", answer); // as extracted for the checks and the votes
    else cJSON_AddNullToObject(j, "answer");
    if (isfinite(score)) cJSON_AddNumberToObject(j, "score", score);
    else cJSON_AddNullToObject(j, "score");
    if (isfinite(min_step)) cJSON_AddNumberToObject(j, "min_step", min_step);
    else cJSON_AddNullToObject(j, "min_step");
    char *line = cJSON_PrintUnformatted(j);
    FX_ASSERT(line != NULL);
    size_t len; // cJSON writes a string's bytes as they are: a sample may end mid-character
    char *utf8 = tok_utf8_sanitize(line, strlen(line), &len);
    fprintf(f, "%s\n", utf8);
    free(utf8), free(line);
    cJSON_Delete(j);
}

// The fraction of np problems whose best-scored sample of the first k (of n each) is right.
static double best_right(const bool *correct, const float *all, int np, int n, int k) {
    float *score = fx_malloc((size_t)np * k * sizeof *score);
    int64_t *group = fx_malloc((size_t)np * k * sizeof *group), *best = fx_malloc((size_t)np * sizeof *best);
    for (int i = 0; i < np; i++)
        for (int j = 0; j < k; j++) score[i * k + j] = all[i * n + j], group[i * k + j] = i;
    FX_ASSERT(reward_best_of_n(score, group, (int64_t)np * k, best) == np);
    double right = 0;
    for (int i = 0; i < np; i++) right += correct[i * n + (best[i] - (int64_t)i * k)];
    free(score), free(group), free(best);
    return right / np;
}

// Best-of-k with one PRM over the first k samples of each of np problems (n samples each); s NULL
// (no PRM): the samples' accuracies only.
static infer_bon_line bon_line(const bool *correct, char *const *extracted, const bon_scores *s, int np, int n,
                               int k) {
    reward_accuracy acc = reward_sample_accuracy(correct, extracted, np, n, k);
    if (!s)
        return (infer_bon_line){.problems = np, .samples = k, .prm_best = NAN, .pass1 = acc.pass1,
                                .majority = acc.majority, .pass_n = acc.pass_k, .within_auroc = NAN, .step_auroc = NAN,
                                .prm_vote = NAN, .min_best = NAN, .min_vote = NAN};
    double prm = best_right(correct, s->score, np, n, k), min_best = best_right(correct, s->min_step, np, n, k);
    // Within-problem AUROC: how often a right sample outscores a wrong sample of the same problem
    // (ties count half). Best-of-N lives on this; an AUROC pooled over problems also rewards a PRM
    // for knowing which problems are hard.
    double wins = 0;
    long long pairs = 0;
    for (int i = 0; i < np; i++)
        for (int j = 0; j < k; j++) {
            if (!correct[i * n + j]) continue;
            for (int t = 0; t < k; t++) {
                if (correct[i * n + t]) continue;
                float a = s->score[i * n + j], b = s->score[i * n + t];
                pairs++, wins += a > b ? 1.0 : a == b ? 0.5 : 0.0;
            }
        }
    return (infer_bon_line){.problems = np, .samples = k, .prm_best = prm, .pass1 = acc.pass1,
                            .majority = acc.majority, .pass_n = acc.pass_k,
                            .within_auroc = pairs ? wins / (double)pairs : NAN, .pairs = pairs, .step_auroc = NAN,
                            .prm_vote = reward_vote(correct, extracted, s->score, np, n, k), .min_best = min_best,
                            .min_vote = reward_vote(correct, extracted, s->min_step, np, n, k)};
}

// Best-of-n's work on each judged row: every PRM's score, and the row in the --out dump.
typedef struct {
    const infer_params *p;
    prm_scorer *prm;
    bon_scores *sc;
    FILE *dump;
    const bool *correct;
    char *const *extracted;
    bool opens_think;
} bon_ctx;

static void bon_row(void *ctx, int row, const rollout_problem *pr, const char *text) {
    bon_ctx *c = ctx;
    for (int q = 0; q < c->p->nprm; q++) score_row(&c->prm[q], pr, text, c->opens_think, &c->sc[q], row);
    if (c->dump)
        dump_row(c->dump, pr, text, row % c->p->n, c->correct[row], c->extracted[row],
                 c->p->nprm ? c->sc[0].score[row] : NAN,
                 c->p->nprm ? c->sc[0].min_step[row] : NAN);
}

int infer_best_of_n(const infer_params *p, infer_bon_result *res, fx_err *err) {
    infer_run r;
    int code = FX_EXIT_INPUT, nloaded = 0;
    prm_scorer prm[INFER_MAX_PRMS];
    bon_scores sc[INFER_MAX_PRMS] = {{0}};
    bool *correct = NULL;
    char **extracted = NULL;
    FILE *dump = NULL;
    char tmp[4200];
    memset(res, 0, sizeof *res);
    if (run_open(&r, p, INFER_BEST_OF_N, err)) goto done;
    for (; nloaded < p->nprm; nloaded++) {
        if (prm_load(&prm[nloaded], p->prm[nloaded], r.be, (float)p->alpha, err)) goto done;
        if (prm_ask(&prm[nloaded], p->prm[nloaded], p->prm_traj_sep, p->prm_system,
                    "fluxrl best-of-n: --trajectory-separator / --prm-system", err)) {
            prm_free(&prm[nloaded]);
            goto done;
        }
    }
    correct = fx_calloc((size_t)r.rows, sizeof *correct);
    extracted = fx_calloc((size_t)r.rows, sizeof *extracted);
    for (int q = 0; q < p->nprm; q++) {
        sc[q].score = fx_malloc((size_t)r.rows * sizeof *sc[q].score);
        sc[q].min_step = fx_malloc((size_t)r.rows * sizeof *sc[q].min_step);
    }
    if (p->out) {
        snprintf(tmp, sizeof tmp, "%s.tmp", p->out);
        if (!(dump = fopen(tmp, "w"))) {
            fx_errf(err, "%s: cannot create", tmp);
            goto done;
        }
    }
    bon_ctx bc = {p, prm, sc, dump, correct, extracted, r.prompt.opens_think};
    judge_rows(&r, "best-of-n", correct, extracted, bon_row, &bc);
    if (dump) {
        bool bad = fflush(dump) || ferror(dump);
        fclose(dump);
        dump = NULL;
        if (bad || rename(tmp, p->out)) {
            remove(tmp);
            fx_errf(err, "%s: cannot write", p->out);
            code = FX_EXIT_FAIL;
            goto done;
        }
    }
    for (int q = 0; q < (p->nprm ? p->nprm : 1); q++) { // no PRM: one set of lines, the samples' own
        const bon_scores *s = p->nprm ? &sc[q] : NULL;
        if (s && s->unscored)
            fx_warn("best-of-n: %s could not score %d of %d samples (no steps, or too long); they rank last", p->prm[q],
                    s->unscored, r.rows);
        for (int k = 1;; k *= 2) {
            if (k > p->n) k = p->n;
            infer_bon_line l = bon_line(correct, extracted, s, r.np, p->n, k);
            l.prm = s ? p->prm[q] : NULL, l.last = k == p->n;
            if (l.last && s && s->nstep) {
                l.steps = s->nstep;
                for (int t = 0; t < s->nstep; t++) l.wrong_steps += !s->step_label[t];
                l.step_auroc = prm_auroc(s->step_score, s->step_label, s->nstep);
            }
            res->lines = fx_realloc(res->lines, (size_t)(res->nlines + 1) * sizeof *res->lines);
            res->lines[res->nlines++] = l;
            if (k == p->n) break;
        }
    }
    code = FX_EXIT_OK;
done:
    if (dump) fclose(dump), remove(tmp);
    for (int i = 0; i < r.rows && extracted; i++) free(extracted[i]);
    for (int q = 0; q < INFER_MAX_PRMS; q++) free(sc[q].score), free(sc[q].min_step), free(sc[q].step_score), free(sc[q].step_label);
    free(correct), free(extracted);
    for (int q = 0; q < nloaded; q++) prm_free(&prm[q]);
    run_close(&r);
    return code;
}

void infer_bon_result_free(infer_bon_result *r) {
    free(r->lines);
    r->lines = NULL, r->nlines = 0;
}
