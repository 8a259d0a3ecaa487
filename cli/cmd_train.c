// cmd_train.c — `fluxrl train CONFIG`: GRPO on the built-in task in one process (the rollout,
// reward and trainer roles in turn). Each update samples grpo.group_size responses to each of
// grpo.prompts problems from the current policy, rewards each with the task's checker (1 for a
// right final answer, else 0), turns rewards into group-relative advantages, drops groups with no
// signal, and takes one clipped policy-gradient step (trainer/grpo.h). Held-out greedy accuracy
// is measured before, every grpo.eval_every updates and after.
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/progress.h"
#include "../core/watchdog.h"
#include "../rollout/dataset.h"
#include "../rollout/decode.h"
#include "../trainer/grpo.h"
#include "../trainer/grpo_update.h"
#include "../trainer/sft.h"
#include "../trainer/train_ckpt.h"
#include "cli.h"

#define RL_STREAM 0x72167a5eedull // training prompts for RL: a generator stream of their own

// Samples the update's responses and rewards them.
static void rollout(const fx_config *c, const sft_task *task, model *m, int update, grpo_batch *b) {
    int P = (int)c->grpo.prompts, G = (int)c->grpo.group_size, n = P * G, max_new = (int)c->grpo.max_new;
    b->n = n;
    b->plen = fx_malloc((size_t)n * sizeof(int)), b->rlen = fx_malloc((size_t)n * sizeof(int));
    b->ids = fx_calloc((size_t)n, sizeof(int32_t *)), b->old_logp = fx_calloc((size_t)n, sizeof(float *));
    b->reward = fx_malloc((size_t)n * sizeof(float)), b->group = fx_malloc((size_t)n * sizeof(int64_t));
    if (!strcmp(c->grpo.advantage, "process")) {
        b->nsteps = fx_calloc((size_t)n, sizeof(int));
        b->step_end = fx_calloc((size_t)n, sizeof(int32_t *)), b->step_reward = fx_calloc((size_t)n, sizeof(float *));
    }
    task_problem *probs = fx_malloc((size_t)P * sizeof *probs);
    tok_ids *prompts = fx_calloc((size_t)P, sizeof *prompts);
    const int32_t **pp = fx_malloc((size_t)n * sizeof *pp);
    uint64_t *streams = fx_malloc((size_t)n * sizeof *streams);
    int32_t *out = fx_malloc((size_t)n * max_new * sizeof *out);
    float *lp = fx_malloc((size_t)n * max_new * sizeof *lp);
    int *out_len = fx_malloc((size_t)n * sizeof *out_len);
    for (int p = 0; p < P; p++) {
        uint64_t index = (uint64_t)update * (uint64_t)P + (uint64_t)p;
        task_generate(&task->task, task->seed ^ RL_STREAM, index, &probs[p]);
        sft_prompt(task, &probs[p], &prompts[p]);
        for (int g = 0; g < G; g++) {
            int i = p * G + g;
            pp[i] = prompts[p].ids, b->plen[i] = (int)prompts[p].n;
            streams[i] = rollout_stream(index, (uint64_t)g);
            b->group[i] = (int64_t)index;
        }
    }
    rollout_decode_opts o = {.sample = {(float)c->grpo.temperature, 0, (float)c->grpo.top_p, 0},
                             .seed = (uint64_t)c->run.seed, .stream = streams, .max_new = max_new, .stop = &task->eos,
                             .nstop = 1};
    rollout_decode(m, pp, b->plen, n, &o, out, lp, out_len, NULL);
    for (int i = 0; i < n; i++) {
        int R = out_len[i], Pn = b->plen[i];
        b->rlen[i] = R;
        b->ids[i] = fx_malloc((size_t)(Pn + R) * sizeof(int32_t));
        memcpy(b->ids[i], pp[i], (size_t)Pn * sizeof(int32_t));
        memcpy(b->ids[i] + Pn, out + (size_t)i * max_new, (size_t)R * sizeof(int32_t));
        b->old_logp[i] = fx_malloc((size_t)(R ? R : 1) * sizeof(float));
        memcpy(b->old_logp[i], lp + (size_t)i * max_new, (size_t)R * sizeof(float));
        char *text = rollout_response_text(task->tok, out + (size_t)i * max_new, R, task->eos);
        rollout_problem rp = {.builtin = true, .task = probs[i / G]};
        b->reward[i] = rollout_judge(&rp, text, task->chat == TOK_CHAT_R1, NULL) ? 1.0f : 0.0f;
        if (b->nsteps) {
            b->step_end[i] = fx_malloc((TASK_MAX_OPS + 2) * sizeof(int32_t));
            b->step_reward[i] = fx_malloc((TASK_MAX_OPS + 2) * sizeof(float));
            b->nsteps[i] = sft_step_rewards(task, &probs[i / G], out + (size_t)i * max_new, R, TASK_MAX_OPS + 2,
                                            b->step_end[i], b->step_reward[i]);
        }
        free(text);
    }
    for (int p = 0; p < P; p++) tok_ids_free(&prompts[p]);
    free(probs), free(prompts), free(pp), free(streams), free(out), free(lp), free(out_len);
}

int cmd_train(int argc, char **argv) {
    bool want_resume = false;
    if (cli_take_resume("train", &argc, argv, &want_resume)) return FX_EXIT_INPUT;
    cli_config_args a;
    if (cli_parse_config_args("train", argc, argv, true, &a)) return FX_EXIT_INPUT;
    fx_config *c = fx_malloc(sizeof *c);
    fx_err err;
    int code = FX_EXIT_INPUT;
    model m = {0}, ref = {0};
    tok_tokenizer *tok = NULL, *ref_tok = NULL;
    backend *be = NULL;
    fx_metrics mx = {0};
    train_ckpt ck = {0};
    if (cfg_resolve(c, a.path, a.nset, a.sets, &err)) goto fail;
    cli_apply_log_config(c);
    fx_signals_install();
    be = backend_cpu_create((int)c->cluster.threads);
    if (sft_build_policy(c, be, &m, &tok, &err)) goto fail;
    sft_task task;
    if (sft_task_init(&task, tok, c, &err)) goto fail;
    task.task.error_rate = 0; // rewards come from the checker, not from written traces
    if (cfg_write_resolved(c, &err)) goto fail;
    char dir[2 * FX_CFG_STR_LEN + 2];
    cfg_run_dir(c, dir, sizeof dir);
    code = FX_EXIT_FAIL;
    int P = (int)c->grpo.prompts, G = (int)c->grpo.group_size, steps = (int)c->grpo.steps;
    int maxT = (int)c->model.max_seq;
    model_train_init(&m);
    model_reserve(&m, (int)c->grpo.minibatch, maxT, true, false);
    if (c->grpo.kl_beta > 0) { // the reference: the starting policy, frozen
        if (sft_build_policy(c, be, &ref, &ref_tok, &err)) goto fail;
        model_reserve(&ref, (int)c->grpo.minibatch, maxT, false, false);
    }
    train_ckpt_init(&ck, m.nparams);
    int64_t start = 0;
    int resumed = want_resume ? train_ckpt_resume(&ck, &m, dir, &start, &err) : 0;
    if (resumed < 0) {
        code = FX_EXIT_INPUT;
        goto fail;
    }
    if (fx_metrics_open(&mx, dir, resumed ? start : -1, &err)) goto fail;
    fx_info("train: GRPO, %zu parameters, %d prompts x %d samples per update, updates %lld..%d, run folder %s",
            m.nparams, P, G, (long long)start, steps, dir);
    sft_eval_result r;
    double before = NAN;
    if (!resumed) { // the starting policy's accuracy, once
        sft_eval(&task, &m, (int)c->grpo.eval_problems, 32, &r);
        sft_log_eval(&mx, 0, &r);
        before = r.answer_acc;
    }
    model_lr_schedule sched = {MODEL_LR_CONSTANT, (float)c->grpo.lr, (float)c->grpo.lr, (int)c->grpo.warmup, steps};
    float *adv = fx_malloc((size_t)P * G * sizeof *adv);
    uint8_t *keep = fx_malloc((size_t)P * G);
    fx_progress prog;
    fx_progress_init(&prog, "grpo", steps);
    fx_watchdog_start(600, "grpo update");
    int step = (int)start;
    for (; step < steps && !fx_stop_requested(); step++) {
        double t0 = fx_time_now();
        grpo_batch b;
        rollout(c, &task, &m, step, &b);
        double t1 = fx_time_now();
        bool process = !strcmp(c->grpo.advantage, "process");
        if (!strcmp(c->grpo.advantage, "rloo")) grpo_adv_rloo(b.reward, b.group, b.n, adv);
        else grpo_adv_grpo(b.reward, b.group, b.n, c->grpo.std_norm, 1e-6f, adv);
        int64_t kept_groups = P;
        // Step rewards carry signal even when a group's outcomes are all equal.
        if (c->grpo.dynamic_sampling && !process) kept_groups = grpo_keep_informative(b.reward, b.group, b.n, keep);
        else memset(keep, 1, (size_t)b.n);
        float *tok_adv_mem = NULL, **tok_adv = NULL;
        double step_reward = 0, nsteps = 0;
        if (process) {
            int64_t total = 0;
            for (int i = 0; i < b.n; i++) total += b.rlen[i];
            tok_adv_mem = fx_malloc((size_t)(total ? total : 1) * sizeof(float));
            tok_adv = fx_malloc((size_t)b.n * sizeof(float *));
            grpo_batch_process_advantages(&b, c->grpo.process_add_outcome, tok_adv_mem, tok_adv);
            for (int i = 0; i < b.n; i++)
                for (int k = 0; k < b.nsteps[i]; k++) step_reward += b.step_reward[i][k], nsteps++;
        }
        double reward = 0, resp = 0, norm = 0;
        for (int i = 0; i < b.n; i++) reward += b.reward[i], resp += b.rlen[i];
        grpo_update_stats us = {0};
        float lr = model_lr_at(&sched, step);
        if (kept_groups > 0) {
            grpo_kl kl = !strcmp(c->grpo.kl_estimator, "k1") ? GRPO_KL_K1
                         : !strcmp(c->grpo.kl_estimator, "k2") ? GRPO_KL_K2 : GRPO_KL_K3;
            grpo_loss_params lp = {(float)c->grpo.eps_low, (float)c->grpo.eps_high, 0, (float)c->grpo.kl_beta, kl,
                                   (float)c->grpo.entropy_beta, GRPO_AGG_TOKEN_MEAN, (int)c->grpo.max_new};
            if (!strcmp(c->grpo.loss_agg, "seq_mean_token_mean")) lp.agg = GRPO_AGG_SEQ_MEAN_TOKEN_MEAN;
            if (!strcmp(c->grpo.loss_agg, "seq_mean_token_sum_norm")) lp.agg = GRPO_AGG_SEQ_MEAN_TOKEN_SUM_NORM;
            model_adamw opt = {0, 0.9f, 0.999f, 1e-8f, (float)c->grpo.weight_decay};
            grpo_policy_update(&m, ref.params_mem ? &ref : NULL, &b, adv, (const float *const *)tok_adv, keep, &lp, (int)c->grpo.minibatch, c->grpo.grad_clip, &opt, lr, &norm, &us);
        }
        double t2 = fx_time_now();
        free(tok_adv_mem), free(tok_adv);
        const char *keys[] = {"reward_mean", "response_tokens", "groups_kept", "loss", "kl", "entropy", "clip_fraction",
                              "grad_norm", "lr", "time_rollout_s", "time_train_s", "rollout_tokens_per_s",
                              "step_reward_mean"};
        double vals[] = {reward / b.n, resp / b.n, (double)kept_groups, us.loss, us.kl, us.entropy, us.clipfrac, norm,
                         lr, t1 - t0, t2 - t1, resp / (t1 - t0), nsteps > 0 ? step_reward / nsteps : NAN};
        if (fx_metrics_write(&mx, step + 1, 13, keys, vals, &err)) goto fail;
        char extra[96];
        snprintf(extra, sizeof extra, "reward %.3f groups %lld", reward / b.n, (long long)kept_groups);
        fx_progress_update(&prog, step + 1, extra);
        grpo_batch_free(&b);
        fx_watchdog_beat(NULL);
        if (c->grpo.eval_every > 0 && (step + 1) % c->grpo.eval_every == 0 && step + 1 < steps) {
            sft_eval(&task, &m, (int)c->grpo.eval_problems, 32, &r);
            sft_log_eval(&mx, step + 1, &r);
            fx_watchdog_beat(NULL);
        }
        if (c->grpo.checkpoint_every > 0 && (step + 1) % c->grpo.checkpoint_every == 0 && step + 1 < steps) {
            ck.counters[0] = step + 1;
            if (train_ckpt_save(&ck, &m, step + 1, c, dir, &err)) goto fail;
        }
    }
    fx_progress_end(&prog, NULL);
    fx_watchdog_stop();
    free(adv), free(keep);
    if (fx_stop_requested()) { // preempted or interrupted: a checkpoint, and exit code 3
        ck.counters[0] = step;
        if (train_ckpt_save(&ck, &m, step, c, dir, &err)) goto fail;
        fx_warn("stopped by signal %d after update %d; checkpoint written, resume with --resume auto",
                fx_stop_signal(), step);
        code = FX_EXIT_STOPPED;
        goto fail;
    }
    sft_eval(&task, &m, (int)c->grpo.eval_problems, 32, &r);
    sft_log_eval(&mx, step, &r);
    char mdir[2 * FX_CFG_STR_LEN + 16];
    snprintf(mdir, sizeof mdir, "%s/model", dir);
    if (sft_save_policy(c, &m, mdir, &err)) goto fail;
    if (isnan(before)) printf("train: %d GRPO updates (resumed at %lld); held-out answers %.1f%% correct; model in %s\n",
                              step, (long long)start, 100 * r.answer_acc, mdir);
    else printf("train: %d GRPO updates; held-out answers %.1f%% -> %.1f%% correct; model in %s\n", step, 100 * before,
                100 * r.answer_acc, mdir);
    code = FX_EXIT_OK;
fail:
    if (code != FX_EXIT_OK && code != FX_EXIT_STOPPED) fx_error("%s", err.msg);
    fx_metrics_close(&mx);
    train_ckpt_free(&ck);
    if (m.params_mem) model_free(&m);
    if (ref.params_mem) model_free(&ref);
    tok_free(tok);
    tok_free(ref_tok);
    backend_destroy(be);
    free(c);
    cli_config_args_free(&a);
    return code;
}
