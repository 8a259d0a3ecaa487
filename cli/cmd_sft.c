// cmd_sft.c — `fluxrl sft CONFIG`: supervised fine-tuning on the built-in task's traces, with
// held-out evaluation; writes metrics.jsonl and the model (a Hugging Face folder) to the run folder.
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/progress.h"
#include "../core/watchdog.h"
#include "../trainer/train_ckpt.h"
#include "../trainer/sft.h"
#include "cli.h"

// Where an SFT run stands, besides its weights: train_ckpt counters 0..3 and accumulator 0.
typedef struct {
    int64_t step;      // optimiser steps done
    int64_t next;      // the next training problem's index
    int64_t log_n, tok_sum;
    double loss_sum;   // the metrics accumulators, so a resumed run logs exactly what it would have
} sft_state;

static int save_ckpt(train_ckpt *c, model *m, const sft_state *s, const fx_config *cfg, const char *dir, fx_err *err) {
    c->counters[0] = s->step, c->counters[1] = s->next, c->counters[2] = s->log_n, c->counters[3] = s->tok_sum;
    c->accum[0] = s->loss_sum;
    return train_ckpt_save(c, m, s->step, cfg, dir, err);
}

static int resume(train_ckpt *c, model *m, sft_state *s, const char *dir, fx_err *err) {
    int64_t step;
    int found = train_ckpt_resume(c, m, dir, &step, err);
    if (found > 0) *s = (sft_state){c->counters[0], c->counters[1], c->counters[2], c->counters[3], c->accum[0]};
    return found;
}

int cmd_sft(int argc, char **argv) {
    bool want_resume = false;
    if (cli_take_resume("sft", &argc, argv, &want_resume)) return FX_EXIT_INPUT;
    cli_config_args a;
    if (cli_parse_config_args("sft", argc, argv, true, &a)) return FX_EXIT_INPUT;
    fx_config *c = fx_malloc(sizeof *c);
    fx_err err;
    int code = FX_EXIT_INPUT;
    model m = {0};
    tok_tokenizer *tok = NULL;
    backend *be = NULL;
    fx_metrics mx = {0};
    train_ckpt ck = {0};
    int32_t *ids = NULL, *pos = NULL, *seg = NULL, *tgt = NULL;
    if (cfg_resolve(c, a.path, a.nset, a.sets, &err)) goto fail;
    cli_apply_log_config(c);
    fx_signals_install();
    be = backend_cpu_create((int)c->cluster.threads);
    if (sft_build_policy(c, be, &m, &tok, &err)) goto fail;
    sft_task task;
    if (sft_task_init(&task, tok, c, &err)) goto fail;
    if (cfg_write_resolved(c, &err)) goto fail;
    char dir[2 * FX_CFG_STR_LEN + 2];
    cfg_run_dir(c, dir, sizeof dir);
    int B = (int)c->sft.batch, T = (int)c->model.max_seq, steps = (int)c->sft.steps;
    model_train_init(&m);
    model_reserve(&m, B, T, true, false);
    train_ckpt_init(&ck, m.nparams);
    sft_state st = {0};
    int resumed = want_resume ? resume(&ck, &m, &st, dir, &err) : 0;
    if (resumed < 0) goto fail;
    if (fx_metrics_open(&mx, dir, resumed ? st.step : -1, &err)) goto fail;
    code = FX_EXIT_FAIL;
    fx_info("sft: %zu parameters (%d layers, hidden %d), batch %d, steps %lld..%d, run folder %s", m.nparams, m.L, m.C,
            B, (long long)st.step, steps, dir);
    ids = fx_malloc((size_t)B * T * sizeof *ids), pos = fx_malloc((size_t)B * T * sizeof *pos);
    seg = fx_malloc((size_t)B * T * sizeof *seg), tgt = fx_malloc((size_t)B * T * sizeof *tgt);
    model_lr_schedule sched = {MODEL_LR_COSINE, (float)c->sft.lr, (float)c->sft.min_lr, (int)c->sft.warmup, steps};
    model_adamw opt = {0, 0.9f, 0.95f, 1e-8f, (float)c->sft.weight_decay};
    uint64_t next = (uint64_t)st.next;
    fx_progress prog;
    fx_progress_init(&prog, "sft", steps);
    fx_watchdog_start(600, "sft step");
    double t_log = fx_time_now();
    int step = (int)st.step;
    for (; step < steps && !fx_stop_requested(); step++) {
        int64_t ntgt;
        int Tb = sft_batch(&task, &next, B, ids, pos, seg, tgt, &ntgt);
        model_zero_grad(&m);
        model_forward(&m, ids, pos, seg, B, Tb);
        double loss = model_lm_ce(&m, tgt, NULL, true);
        model_backward(&m);
        double norm = model_clip_grad_norm(&m, c->sft.grad_clip);
        float lr = model_lr_at(&sched, step);
        model_adamw_step(&m, &opt, lr);
        fx_watchdog_beat(NULL);
        st.loss_sum += loss, st.tok_sum += ntgt, st.log_n++;
        if ((step + 1) % c->sft.log_every == 0 || step + 1 == steps) {
            double now = fx_time_now();
            const char *keys[] = {"loss", "lr", "grad_norm", "train_tokens_per_s"};
            double vals[] = {st.loss_sum / (double)st.log_n, lr, norm, (double)st.tok_sum / (now - t_log)};
            if (fx_metrics_write(&mx, step + 1, 4, keys, vals, &err)) goto fail;
            char extra[96];
            snprintf(extra, sizeof extra, "loss %.4f", st.loss_sum / (double)st.log_n);
            fx_progress_update(&prog, step + 1, extra);
            t_log = now, st.loss_sum = 0, st.tok_sum = 0, st.log_n = 0;
        }
        if (c->sft.eval_every > 0 && (step + 1) % c->sft.eval_every == 0 && step + 1 < steps) {
            sft_eval_result r;
            sft_eval(&task, &m, (int)c->sft.eval_problems, B, &r);
            sft_log_eval(&mx, step + 1, &r);
            fx_watchdog_beat(NULL);
        }
        st.step = step + 1, st.next = (int64_t)next;
        if (c->sft.checkpoint_every > 0 && st.step % c->sft.checkpoint_every == 0 && st.step < steps &&
            save_ckpt(&ck, &m, &st, c, dir, &err))
            goto fail;
    }
    fx_progress_end(&prog, NULL);
    fx_watchdog_stop();
    if (fx_stop_requested()) { // preempted (Slurm) or interrupted: checkpoint, and say so by exit code
        st.step = step, st.next = (int64_t)next;
        if (save_ckpt(&ck, &m, &st, c, dir, &err)) goto fail;
        fx_warn("stopped by signal %d after step %d; checkpoint written, resume with --resume auto", fx_stop_signal(),
                step);
        code = FX_EXIT_STOPPED;
        goto fail;
    }
    sft_eval_result r;
    sft_eval(&task, &m, (int)c->sft.eval_problems, B, &r);
    sft_log_eval(&mx, step, &r);
    char mdir[2 * FX_CFG_STR_LEN + 16];
    snprintf(mdir, sizeof mdir, "%s/model", dir);
    if (sft_save_policy(c, &m, mdir, &err)) goto fail;
    printf("sft: %d steps; held-out answers %.1f%% correct, steps %.1f%%; model in %s\n", step, 100 * r.answer_acc,
           100 * r.step_acc, mdir);
    code = FX_EXIT_OK;
fail:
    if (code != FX_EXIT_OK && code != FX_EXIT_STOPPED) fx_error("%s", err.msg);
    free(ids), free(pos), free(seg), free(tgt);
    train_ckpt_free(&ck);
    fx_metrics_close(&mx);
    if (m.params_mem) model_free(&m);
    tok_free(tok);
    backend_destroy(be);
    free(c);
    cli_config_args_free(&a);
    return code;
}
