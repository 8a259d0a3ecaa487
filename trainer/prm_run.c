// prm_run.c — a whole PRM training run on one rank of a data-parallel group: see prm_run.h.
#define _POSIX_C_SOURCE 200809L
#include "prm_run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/progress.h"
#include "../core/watchdog.h"
#include "../reward/prm.h"
#include "../reward/prm_input.h"
#include "policy.h"
#include "sft.h"
#include "train_ckpt.h"

static void log_eval(fx_metrics *mx, int step, const prm_eval_result *r) {
    const char *keys[] = {"eval_step_mse", "eval_final_mse", "eval_step_auroc"};
    double vals[] = {r->step_mse, r->final_mse, r->auroc};
    fx_err err;
    if (fx_metrics_write(mx, step, 3, keys, vals, &err)) fx_warn("%s", err.msg);
    fx_info("eval at step %d: step MSE %.4f, final MSE %.4f, AUROC %.3f (%d steps, %d wrong)", step, r->step_mse,
            r->final_mse, r->auroc, r->steps, r->wrong);
}

// prm.data: the traces to train on besides the generator's, as the checker reads them.
typedef struct {
    task_problem *problem;
    char **text;
    int64_t n, cap;
    bool r1; // the prompt opened "<think>": a response without it gets it back
} pool;

static int add_to_pool(void *ctx, const prm_input_trace *t, fx_err *err) {
    pool *p = ctx;
    task_problem q;
    if (task_parse_prompt(t->problem, &q, err)) return fx_errf(err, "problem: expected a built-in task prompt (%s)", err->msg);
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 1024;
        p->problem = fx_realloc(p->problem, (size_t)p->cap * sizeof *p->problem);
        p->text = fx_realloc(p->text, (size_t)p->cap * sizeof *p->text);
    }
    size_t len = strlen(t->response);
    bool add = p->r1 && strncmp(t->response, "<think>", 7) != 0;
    p->text[p->n] = fx_malloc(len + 9);
    snprintf(p->text[p->n], len + 9, "%s%s", add ? "<think>\n" : "", t->response);
    p->problem[p->n++] = q;
    return 0;
}

// A checkpoint after `step` steps: the weights and AdamW state, and where the training stream is.
// On rank 0, or on every rank when the optimiser state is sharded (train_ckpt_save).
static int save_ckpt(train_ckpt *ck, const model *m, const trainer_dp *dp, int64_t step, uint64_t next,
                     const trainer_run *run, fx_err *err) {
    ck->counters[0] = step, ck->counters[1] = (int64_t)next;
    return train_ckpt_save(ck, m, dp, step, run, err);
}

int prm_check_rollout_policy(const char *path, model_head head, fx_err *err) {
    if (head == MODEL_HEAD_LM) return 0;
    fx_errf(err, "prm.template_rollouts: the rollouts' policy %s (prm.policy_path, else model.path) is not a causal "
                 "language model; set prm.policy_path to the policy that wrote the traces", path);
    return -1;
}

int prm_run(const prm_run_params *p, backend *be, const trainer_dp *dp, bool want_resume, prm_run_result *res) {
    int rank = dp ? dp->rank : 0, W = dp ? dp->size : 1, bad = -1;
    bool lead = rank == 0;
    bool saves = lead || (W > 1 && dp->shard); // writes checkpoints, or sends its slice of them
    fx_err err = {{0}};
    int code = FX_EXIT_INPUT;
    memset(res, 0, sizeof *res);
    int B = p->batch, steps = p->steps;
    const sft_task_params *tp = &p->task;
    const char *dir = p->run.dir;
    model m = {0}, policy = {0};
    pool pl = {0};
    tok_prompt data_prompt = {0}, policy_prompt = {0};
    tok_tokenizer *tok = NULL, *policy_tok = NULL;
    fx_metrics mx = {0};
    train_ckpt ck = {0};
    if (!p->model_path || !p->model_path[0]) {
        fx_errf(&err, "model.path: expected the folder of a model to start the PRM from (e.g. an SFT run's model/)");
        goto fail;
    }
    if (tok_load(&tok, p->model_path, &err)) goto fail;
    bool full = dp && W > 1 && dp->shard == TRAINER_SHARD_FULL; // never the whole PRM on a rank
    model_config sc;
    model_head sh;
    if (model_config_load(&sc, p->model_path, &err)) goto fail;
    if (!model_head_parse(sc.architecture, &sh) && sh == MODEL_HEAD_PRM) { // training a PRM further
        if (p->extra_layers > 0) { // new layers only on a new PRM: a PRM has those it was trained with
            fx_errf(&err, "prm.extra_layers: %s is already a PRM (%d layers); new layers go on a language model that a "
                    "new PRM starts from; set prm.extra_layers 0", p->model_path, sc.num_hidden_layers);
            goto fail;
        }
        // A PRM fluxrl trained reads one layout; training it on the other would read its steps at other tokens.
        prm_scorer was;
        if (prm_open_unloaded(&was, p->model_path, 1.0f, &err)) goto fail;
        bool trained = was.fluxrl_folder && (was.input == PRM_INPUT_CHATML || was.input == PRM_INPUT_POLICY);
        bool was_policy = was.input == PRM_INPUT_POLICY;
        prm_free(&was);
        if (trained && was_policy != p->policy_layout) {
            fx_errf(&err, "prm.layout: %s/config.json says fluxrl_prm.input \"%s\": the PRM was trained in the %s layout; "
                    "set prm.layout %s to train it further (or start a new PRM from a language model)",
                    p->model_path, was_policy ? "policy" : "chatml", was_policy ? "policy" : "published",
                    was_policy ? "policy" : "published");
            goto fail;
        }
    }
    if (model_load_as_grown_shard(&m, p->model_path, MODEL_HEAD_PRM, p->extra_layers, be, tp->seed, p->head_std,
                                  full ? rank : 0, full ? W : 1, &err))
        goto fail;
    if (p->extra_layers > 0)
        fx_info("prm-train: %d layers from %s and %d new ones on top (prm.extra_layers)", m.L - p->extra_layers,
                p->model_path, p->extra_layers);
    prm_data d = {.tok = tok, .seed = tp->seed, .max_seq = tp->max_seq, .twins = p->twins,
                  .lm_weight = (float)p->lm_weight, .dense = (float)p->dense, .policy_layout = p->policy_layout};
    if (d.lm_weight > 0 && !m.cfg.tie_word_embeddings) {
        fx_errf(&err, "prm.lm_weight: %s has no tied embedding (tie_word_embeddings false), which the auxiliary LM loss "
                "uses as its head; set prm.lm_weight 0", p->model_path);
        goto fail;
    }
    m.lm_aux = d.lm_weight > 0;
    task_opts_default(&d.task);
    d.task.ops = tp->ops, d.task.digits = tp->digits, d.task.error_rate = tp->error_rate;
    snprintf(d.task.operators, sizeof d.task.operators, "%.3s", tp->operators);
    if (task_opts_check(&d.task, &err)) goto fail;
    d.sep = tok_token_id(tok, "<extra_0>");
    if (d.sep < 0) {
        fx_errf(&err, "%s: tokenizer: no <extra_0> token, which the PRM reads at", p->model_path);
        goto fail;
    }
    // Template-guided trajectory targets: the policy writes rollouts along each training trace's plan.
    if (p->data && p->data[0]) { // as the policy's prompt (task.chat) would have opened them
        if (tok_prompt_init(&data_prompt, tok, &tp->prompt, &err)) goto fail;
        pl.r1 = data_prompt.opens_think;
        if (prm_input_each(p->data, NULL, tok, add_to_pool, &pl, &err)) goto fail;
        if (!pl.n) {
            fx_errf(&err, "prm.data: %s: no traces", p->data);
            goto fail;
        }
        d.pool_problem = pl.problem, d.pool_text = pl.text, d.npool = pl.n, d.pool_share = p->data_share;
        fx_info("prm-train: %lld traces from %s, %.0f%% of the training traces", (long long)pl.n, p->data,
                100 * p->data_share);
    }
    if (d.twins) fx_info("prm-train: generator traces in minimal pairs (prm.twins)");
    if (d.policy_layout)
        fx_info("prm-train: the input in the policy's layout, each step read at its last token (prm.layout policy)");
    if (d.dense > 0) fx_info("prm-train: the step loss at every token of the steps too, weight %g (prm.dense)", d.dense);
    if (d.lm_weight > 0) fx_info("prm-train: auxiliary LM loss on the right steps' text, weight %g", d.lm_weight);
    prm_policy_writer pw = {0};
    prm_writer writer;
    if (p->template_rollouts > 0) {
        const char *pp = p->policy_path && p->policy_path[0] ? p->policy_path : p->model_path;
        if (tok_load(&policy_tok, pp, &err) || model_load(&policy, pp, be, &err)) goto fail;
        if (prm_check_rollout_policy(pp, policy.head, &err)) goto fail;
        tok_prompt_opts po = tp->prompt;
        po.dir = pp;
        if (tok_prompt_init(&policy_prompt, policy_tok, &po, &err)) goto fail;
        pw = (prm_policy_writer){&policy, policy_tok, &policy_prompt, {1, 0, 1, 0}, tp->seed, 64, 24};
        writer = prm_policy_writer_make(&pw);
        d.writer = &writer, d.template_rollouts = p->template_rollouts;
        fx_info("prm-train: trajectory targets from %d template-guided rollouts per trace by %s", d.template_rollouts, pp);
    }
    if (B < W) {
        fx_errf(&err, "prm.batch: %d traces cannot be shared by %d ranks", B, W);
        goto fail;
    }
    if (lead && fx_write_text_in(dir, "config.json", p->run.config, &err)) goto fail;
    // Every rank has read its input (bad input is usually the same on all of them, but a file can
    // differ between nodes): agree before the first collective, so that none waits for one that
    // has stopped.
    code = 0;
fail:
    if (dp) {
        int agreed = dp->agree(dp->ctx, code, &bad);
        if (agreed) {
            if (code && rank == bad) fx_error("%s", err.msg);
            code = FX_EXIT_INPUT;
            goto out;
        }
    } else if (code) {
        fx_error("%s", err.msg);
        goto out;
    }
    code = FX_EXIT_FAIL;
    // Under mpirun every rank trains on its share of each batch (prm_train_step_dp); rank 0 also
    // evaluates and writes the run.
    int rows = (int)((int64_t)(rank + 1) * B / W) - (int)((int64_t)rank * B / W);
    trainer_train_init(&m, dp);
    trainer_attach(&m, dp);
    model_reserve(&m, rows > 0 ? rows : 1, tp->max_seq, true, p->recompute);
    // Rank 0 resumes from the newest checkpoint (--resume auto; with the state sharded every rank
    // reads and verifies its own slices, train_ckpt_resume_dp) and opens the metrics; the ranks
    // agree on how that went, then all start from rank 0's weights, moments and place.
    if (lead) train_ckpt_init(&ck, m.nparams);
    ck.kind = "prm";
    int64_t start = 0, resumed = 0;
    uint64_t next = 0;
    int mine = 0;
    resumed = train_ckpt_resume_dp(&ck, &m, dp, want_resume, dir, &start, &err); // every rank (sharded: a collective)
    if (lead) {
        if (resumed < 0 || fx_metrics_open(&mx, dir, resumed ? start : -1, &err)) mine = FX_EXIT_INPUT;
        if (resumed > 0) next = (uint64_t)ck.counters[1];
    }
    if (dp ? dp->agree(dp->ctx, mine, &bad) : mine) {
        if (mine) fx_error("%s", err.msg);
        code = FX_EXIT_INPUT;
        goto out;
    }
    if (W > 1) {
        if (lead) fx_info("prm-train: data-parallel over %d ranks", W);
        resumed = train_ckpt_share(&ck, &m, dp, resumed > 0);
        int64_t s2[2] = {start, (int64_t)next};
        dp->bcast_i64(dp->ctx, s2, 2);
        start = s2[0], next = (uint64_t)s2[1];
    }
    fx_info("prm-train: %zu parameters, batch %d, %d steps, %.0f%% of training steps wrong, run folder %s", m.nparams, B,
            steps, 100 * tp->error_rate, dir);
    prm_eval_result r;
    // Rank 0 evaluates, B / W rows at a time (its share of a batch); with sharded weights every
    // rank evaluates with it, sharing the batches.
    bool split = W > 1 && m.params_layer != NULL;
    int evalB = B / W > 0 ? B / W : 1;
    if (!resumed && (lead || split)) {
        prm_evaluate(&m, &d, split ? dp : NULL, p->eval_traces, evalB, &r);
        if (lead) log_eval(&mx, 0, &r);
    }
    model_lr_schedule sched = {MODEL_LR_COSINE, (float)p->lr, (float)p->lr / 10, p->warmup, steps};
    model_adamw opt = {0, 0.9f, 0.95f, 1e-8f, 0.0f};
    fx_progress prog;
    fx_progress_init(&prog, "prm", steps);
    fx_watchdog_start(600, "prm-train step");
    int step = (int)start;
    for (; step < steps; step++) {
        if (dp ? dp->stop(dp->ctx) : fx_stop_requested()) break;
        prm_train_stats st;
        float lr = model_lr_at(&sched, step);
        prm_train_step_dp(&m, &d, &next, B, (float)p->lambda_step, (float)p->lambda_final, &opt, lr, dp, &st);
        fx_watchdog_beat(NULL);
        if (lead) {
            const char *keys[7] = {"loss", "step_mse", "final_mse", "lr", "final_target"};
            double vals[7] = {st.loss, st.step_mse, st.final_mse, lr, st.final_target};
            int nk = 5;
            if (d.lm_weight > 0) keys[nk] = "lm_ce", vals[nk++] = st.lm_ce;
            if (d.dense > 0) keys[nk] = "dense_mse", vals[nk++] = st.dense_mse;
            if (fx_metrics_write(&mx, step + 1, nk, keys, vals, &err)) goto run_fail;
            char extra[64];
            snprintf(extra, sizeof extra, "loss %.4f", st.loss);
            fx_progress_update(&prog, step + 1, extra);
        }
        if (p->eval_every > 0 && (step + 1) % p->eval_every == 0 && step + 1 < steps && (lead || split)) {
            prm_evaluate(&m, &d, split ? dp : NULL, p->eval_traces, evalB, &r);
            if (lead) log_eval(&mx, step + 1, &r);
        }
        if (saves && p->checkpoint_every > 0 && (step + 1) % p->checkpoint_every == 0 && step + 1 < steps &&
            save_ckpt(&ck, &m, dp, step + 1, next, &p->run, &err))
            goto run_fail;
    }
    fx_progress_end(&prog, NULL);
    fx_watchdog_stop();
    trainer_log_memory(&m, W > 1 ? dp : NULL, rows > 0 ? rows : 1, tp->max_seq);
    res->steps = step;
    if (step < steps) { // preempted (Slurm) or interrupted: a checkpoint, and exit code 3
        bool saved = p->checkpoint_every > 0 && step % p->checkpoint_every == 0 && step > start;
        if (saves && !saved && save_ckpt(&ck, &m, dp, step, next, &p->run, &err)) goto run_fail;
        fx_warn("stopped by signal %d after step %d; checkpoint written, resume with --resume auto", fx_stop_signal(),
                step);
        code = FX_EXIT_STOPPED;
        goto out;
    }
    code = FX_EXIT_OK;
    if (lead || split) { // rank 0 evaluates and saves; sharded, the other ranks with it
        prm_evaluate(&m, &d, split ? dp : NULL, p->eval_traces, evalB, &r);
        if (lead) log_eval(&mx, step, &r);
        char mdir[TRAINER_PATH_MAX];
        snprintf(mdir, sizeof mdir, "%s/model", dir);
        if (trainer_policy_save(p->model_path, &m, split ? dp : NULL, mdir, &err) ||
            (lead && prm_mark_trained(mdir, d.policy_layout ? PRM_INPUT_POLICY : PRM_INPUT_CHATML, &err))) {
            code = FX_EXIT_FAIL;
            goto run_fail;
        }
        snprintf(res->model_dir, sizeof res->model_dir, "%s", mdir);
        res->eval = r, res->done = lead;
    }
    goto out;
run_fail: // a failure at run time may be one rank's: it brings the job down
    fx_error("%s", err.msg);
    if (W > 1) fx_fatal("rank %d cannot go on; bringing the job down", rank);
out:
    train_ckpt_free(&ck);
    fx_metrics_close(&mx);
    for (int64_t i = 0; i < pl.n; i++) free(pl.text[i]);
    free(pl.text), free(pl.problem);
    if (m.params_mem) model_free(&m);
    if (policy.params_mem) model_free(&policy);
    tok_free(tok), tok_free(policy_tok);
    tok_prompt_free(&data_prompt), tok_prompt_free(&policy_prompt);
    return code;
}
