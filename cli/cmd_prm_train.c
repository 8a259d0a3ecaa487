// cmd_prm_train.c — `fluxrl prm-train CONFIG`: a process reward model trained on labelled traces of
// the built-in task (trainer/prm_train.h), starting from model.path (a language model's backbone
// gets a new 2-class head; a PRM is fine-tuned). Writes run.out_dir/run.name/{config.json,
// metrics.jsonl, model/} with model/ a Qwen2ForProcessRewardModel folder and its tokenizer.
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/progress.h"
#include "../core/watchdog.h"
#include "../trainer/prm_train.h"
#include "../trainer/sft.h"
#include "cli.h"

static void log_eval(fx_metrics *mx, int step, const prm_eval_result *r) {
    const char *keys[] = {"eval_step_mse", "eval_final_mse", "eval_step_auroc"};
    double vals[] = {r->step_mse, r->final_mse, r->auroc};
    fx_err err;
    if (fx_metrics_write(mx, step, 3, keys, vals, &err)) fx_warn("%s", err.msg);
    fx_info("eval at step %d: step MSE %.4f, final MSE %.4f, AUROC %.3f (%d steps, %d wrong)", step, r->step_mse,
            r->final_mse, r->auroc, r->steps, r->wrong);
}

int cmd_prm_train(int argc, char **argv) {
    cli_config_args a;
    if (cli_parse_config_args("prm-train", argc, argv, true, &a)) return FX_EXIT_INPUT;
    fx_config *c = fx_malloc(sizeof *c);
    fx_err err;
    int code = FX_EXIT_INPUT;
    model m = {0};
    tok_tokenizer *tok = NULL;
    backend *be = NULL;
    fx_metrics mx = {0};
    if (cfg_resolve(c, a.path, a.nset, a.sets, &err)) goto fail;
    cli_apply_log_config(c);
    fx_signals_install();
    if (!c->model.path[0]) {
        fx_errf(&err, "model.path: expected the folder of a model to start the PRM from (e.g. an SFT run's model/)");
        goto fail;
    }
    be = backend_cpu_create((int)c->cluster.threads);
    if (tok_load(&tok, c->model.path, &err)) goto fail;
    if (model_load_as(&m, c->model.path, MODEL_HEAD_PRM, be, (uint64_t)c->run.seed, (float)c->prm.head_std, &err))
        goto fail;
    prm_data d = {.tok = tok, .seed = (uint64_t)c->run.seed, .max_seq = (int)c->model.max_seq};
    task_opts_default(&d.task);
    d.task.ops = (int)c->task.ops, d.task.digits = (int)c->task.digits, d.task.error_rate = c->prm.error_rate;
    snprintf(d.task.operators, sizeof d.task.operators, "%.3s", c->task.operators);
    if (task_opts_check(&d.task, &err)) goto fail;
    d.sep = tok_token_id(tok, "<extra_0>");
    if (d.sep < 0) {
        fx_errf(&err, "%s: tokenizer: no <extra_0> token, which the PRM reads at", c->model.path);
        goto fail;
    }
    if (cfg_write_resolved(c, &err)) goto fail;
    char dir[2 * FX_CFG_STR_LEN + 2];
    cfg_run_dir(c, dir, sizeof dir);
    if (fx_metrics_open(&mx, dir, -1, &err)) goto fail;
    code = FX_EXIT_FAIL;
    int B = (int)c->prm.batch, steps = (int)c->prm.steps;
    model_train_init(&m);
    model_reserve(&m, B, (int)c->model.max_seq, true, false);
    fx_info("prm-train: %zu parameters, batch %d, %d steps, %.0f%% of training steps wrong, run folder %s", m.nparams, B,
            steps, 100 * c->prm.error_rate, dir);
    prm_eval_result r;
    prm_evaluate(&m, &d, (int)c->prm.eval_traces, B, &r);
    log_eval(&mx, 0, &r);
    model_lr_schedule sched = {MODEL_LR_COSINE, (float)c->prm.lr, (float)c->prm.lr / 10, (int)c->prm.warmup, steps};
    model_adamw opt = {0, 0.9f, 0.95f, 1e-8f, 0.0f};
    uint64_t next = 0;
    fx_progress prog;
    fx_progress_init(&prog, "prm", steps);
    fx_watchdog_start(600, "prm-train step");
    int step = 0;
    for (; step < steps && !fx_stop_requested(); step++) {
        prm_train_stats st;
        float lr = model_lr_at(&sched, step);
        prm_train_step(&m, &d, &next, B, (float)c->prm.lambda_step, (float)c->prm.lambda_final, &opt, lr, &st);
        fx_watchdog_beat(NULL);
        const char *keys[] = {"loss", "step_mse", "final_mse", "lr"};
        double vals[] = {st.loss, st.step_mse, st.final_mse, lr};
        if (fx_metrics_write(&mx, step + 1, 4, keys, vals, &err)) goto fail;
        char extra[64];
        snprintf(extra, sizeof extra, "loss %.4f", st.loss);
        fx_progress_update(&prog, step + 1, extra);
        if (c->prm.eval_every > 0 && (step + 1) % c->prm.eval_every == 0 && step + 1 < steps) {
            prm_evaluate(&m, &d, (int)c->prm.eval_traces, B, &r);
            log_eval(&mx, step + 1, &r);
        }
    }
    fx_progress_end(&prog, NULL);
    fx_watchdog_stop();
    prm_evaluate(&m, &d, (int)c->prm.eval_traces, B, &r);
    log_eval(&mx, step, &r);
    char mdir[2 * FX_CFG_STR_LEN + 16];
    snprintf(mdir, sizeof mdir, "%s/model", dir);
    if (sft_save_policy(c, &m, mdir, &err)) goto fail;
    printf("prm-train: %d steps; held-out step AUROC %.3f, step MSE %.4f; PRM in %s\n", step, r.auroc, r.step_mse, mdir);
    code = fx_stop_requested() ? FX_EXIT_STOPPED : FX_EXIT_OK;
fail:
    if (code != FX_EXIT_OK && code != FX_EXIT_STOPPED) fx_error("%s", err.msg);
    fx_metrics_close(&mx);
    if (m.params_mem) model_free(&m);
    tok_free(tok);
    backend_destroy(be);
    free(c);
    cli_config_args_free(&a);
    return code;
}
