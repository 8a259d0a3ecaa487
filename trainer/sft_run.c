// sft_run.c — a whole SFT run on one rank of a data-parallel group: see sft_run.h.
#define _POSIX_C_SOURCE 200809L
#include "sft_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/progress.h"
#include "../core/watchdog.h"
#include "policy.h"
#include "train_ckpt.h"

// Where an SFT run stands, besides its weights: train_ckpt counters 0..3 and accumulator 0.
typedef struct {
    int64_t step;      // optimiser steps done
    int64_t next;      // the next training problem's index
    int64_t log_n, tok_sum;
    double loss_sum;   // the metrics accumulators, so a resumed run logs exactly what it would have
} sft_state;

// On rank 0, or on every rank when the optimiser state is sharded (train_ckpt_save).
static int save_ckpt(train_ckpt *c, model *m, const trainer_dp *dp, const sft_state *s, const trainer_run *run,
                     fx_err *err) {
    c->counters[0] = s->step, c->counters[1] = s->next, c->counters[2] = s->log_n, c->counters[3] = s->tok_sum;
    c->accum[0] = s->loss_sum;
    return train_ckpt_save(c, m, dp, s->step, run, err);
}

// Whether this rank takes part in writing a checkpoint.
static bool saves(const trainer_dp *dp) { return !dp || dp->rank == 0 || (dp->size > 1 && dp->shard); }

// --resume auto over the ranks (train_ckpt_resume_dp; every rank calls it): the loop's place on rank 0.
static int resume(train_ckpt *c, model *m, sft_state *s, const trainer_dp *dp, bool want, const char *dir, fx_err *err) {
    int64_t step;
    int found = train_ckpt_resume_dp(c, m, dp, want, dir, &step, err);
    if (found > 0 && (!dp || dp->rank == 0))
        *s = (sft_state){c->counters[0], c->counters[1], c->counters[2], c->counters[3], c->accum[0]};
    return found;
}

static bool stop_agreed(const trainer_dp *dp) { return dp ? dp->stop(dp->ctx) : fx_stop_requested(); }

int sft_run(const sft_run_params *p, backend *be, const trainer_dp *dp, bool want_resume, sft_run_result *res) {
    fx_err err = {{0}};
    int code = FX_EXIT_INPUT;
    model m = {0};
    tok_tokenizer *tok = NULL;
    fx_metrics mx = {0};
    train_ckpt ck = {0};
    sft_task task = {0};
    int32_t *ids = NULL, *pos = NULL, *seg = NULL, *tgt = NULL;
    float *w = NULL;
    int rank = dp ? dp->rank : 0, W = dp ? dp->size : 1, bad = -1;
    bool lead = rank == 0;
    memset(res, 0, sizeof *res);
    // Set-up on every rank; all stop together, the lowest failing rank says why.
    int mine = 0;
    if (p->batch < W)
        mine = fx_errf(&err, "sft.batch: %d rows cannot be shared by %d ranks", p->batch, W)
                   ? FX_EXIT_INPUT
                   : 0;
    policy_params pp = p->policy;
    if (dp && W > 1 && dp->shard == TRAINER_SHARD_FULL) pp.shard_rank = rank, pp.shard_size = W; // never whole here
    if (!mine)
        mine = policy_build(&pp, be, &m, &tok, &err) || sft_task_init(&task, tok, &p->task, &err) ||
                       (p->data && p->data[0] && sft_task_load_data(&task, p->data, &err)) ||
                       (lead && fx_write_text_in(p->run.dir, "config.json", p->run.config, &err))
                   ? FX_EXIT_INPUT
                   : 0;
    int agreed = dp ? dp->agree(dp->ctx, mine, &bad) : mine;
    if (agreed) {
        if (mine && (!dp || rank == bad)) fx_error("%s", err.msg);
        code = FX_EXIT_INPUT;
        goto done;
    }
    code = FX_EXIT_INPUT;
    const char *dir = p->run.dir;
    int B = p->batch, T = p->policy.max_seq, steps = p->steps;
    int r0 = (int)((int64_t)rank * B / W), Bl = (int)((int64_t)(rank + 1) * B / W) - r0; // this rank's rows
    trainer_train_init(&m, dp);
    // Sharded weights: every rank evaluates (sharing the problems) and saves (serving its slice) with rank 0.
    bool split = W > 1 && m.params_layer != NULL;
    trainer_attach(&m, dp);
    model_reserve(&m, Bl, T, true, p->recompute);
    if (lead) train_ckpt_init(&ck, m.nparams);
    ck.kind = "sft";
    sft_state st = {0};
    int resumed = resume(&ck, &m, &st, dp, want_resume, dir, &err);
    if (resumed < 0) {
        if (lead) goto fail; // sharded, every rank gets -1: rank 0 says why
        goto done;
    }
    if (W > 1) { // every rank starts from rank 0's weights, optimiser state and place in the data
        resumed = train_ckpt_share(&ck, &m, dp, resumed > 0);
        int64_t s4[4] = {st.step, st.next, st.log_n, st.tok_sum};
        dp->bcast_i64(dp->ctx, s4, 4);
        dp->bcast_doubles(dp->ctx, &st.loss_sum, 1);
        st.step = s4[0], st.next = s4[1], st.log_n = s4[2], st.tok_sum = s4[3];
    }
    if (lead && fx_metrics_open(&mx, dir, resumed ? st.step : -1, &err)) goto fail;
    code = FX_EXIT_FAIL;
    fx_info("sft: %zu parameters (%d layers, hidden %d), batch %d, steps %lld..%d, run folder %s", m.nparams, m.L, m.C,
            B, (long long)st.step, steps, dir);
    if (W > 1) fx_info("sft: data-parallel over %d ranks, %d rows each", W, B / W);
    ids = fx_malloc((size_t)B * T * sizeof *ids), pos = fx_malloc((size_t)B * T * sizeof *pos);
    seg = fx_malloc((size_t)B * T * sizeof *seg), tgt = fx_malloc((size_t)B * T * sizeof *tgt);
    w = fx_malloc((size_t)B * T * sizeof *w);
    model_lr_schedule sched = {MODEL_LR_COSINE, (float)p->lr, (float)p->min_lr, p->warmup, steps};
    model_adamw opt = {0, 0.9f, 0.95f, 1e-8f, (float)p->weight_decay};
    uint64_t next = (uint64_t)st.next;
    fx_progress prog;
    fx_progress_init(&prog, "sft", steps);
    fx_watchdog_start(600, "sft step");
    double t_log = fx_time_now();
    int step = (int)st.step;
    for (; step < steps && !stop_agreed(dp); step++) {
        int64_t ntgt;
        int Tb = sft_batch(&task, &next, B, ids, pos, seg, tgt, &ntgt);
        model_zero_grad(&m);
        size_t at = (size_t)r0 * (size_t)Tb;
        model_forward(&m, ids + at, pos + at, seg + at, Bl, Tb);
        // The mean over the global batch's target tokens: every rank weights its tokens by 1/ntgt.
        for (size_t i = 0; i < (size_t)Bl * Tb; i++) w[i] = 1.0f / (float)(ntgt ? ntgt : 1);
        double loss = model_lm_ce(&m, tgt + at, W > 1 ? w : NULL, true);
        model_backward(&m);
        if (W > 1) dp->sum_doubles(dp->ctx, &loss, 1);
        float lr = model_lr_at(&sched, step);
        double norm = trainer_optim_step(&m, W > 1 ? dp : NULL, p->grad_clip, &opt, lr);
        fx_watchdog_beat(NULL);
        st.loss_sum += loss, st.tok_sum += ntgt, st.log_n++;
        if (lead && ((step + 1) % p->log_every == 0 || step + 1 == steps)) {
            double now = fx_time_now();
            const char *keys[] = {"loss", "lr", "grad_norm", "train_tokens_per_s"};
            double vals[] = {st.loss_sum / (double)st.log_n, lr, norm, (double)st.tok_sum / (now - t_log)};
            if (fx_metrics_write(&mx, step + 1, 4, keys, vals, &err)) goto fail;
            char extra[96];
            snprintf(extra, sizeof extra, "loss %.4f", st.loss_sum / (double)st.log_n);
            fx_progress_update(&prog, step + 1, extra);
            t_log = now, st.loss_sum = 0, st.tok_sum = 0, st.log_n = 0;
        }
        if (p->eval_every > 0 && (step + 1) % p->eval_every == 0 && step + 1 < steps && (lead || split)) {
            sft_eval_result r;
            sft_eval(&task, &m, NULL, split ? dp : NULL, p->eval_problems, B, &r);
            if (lead) sft_log_eval(&mx, step + 1, &r);
            fx_watchdog_beat(NULL);
        }
        st.step = step + 1, st.next = (int64_t)next;
        if (saves(dp) && p->checkpoint_every > 0 && st.step % p->checkpoint_every == 0 && st.step < steps &&
            save_ckpt(&ck, &m, dp, &st, &p->run, &err))
            goto fail;
    }
    fx_progress_end(&prog, NULL);
    fx_watchdog_stop();
    trainer_log_memory(&m, W > 1 ? dp : NULL, Bl, T);
    res->steps = step;
    if (step < steps) { // preempted (Slurm) or interrupted: checkpoint, and say so by exit code
        st.step = step, st.next = (int64_t)next;
        if (saves(dp) && save_ckpt(&ck, &m, dp, &st, &p->run, &err)) goto fail;
        fx_warn("stopped by signal %d after step %d; checkpoint written, resume with --resume auto", fx_stop_signal(),
                step);
        code = FX_EXIT_STOPPED;
        goto fail;
    }
    code = FX_EXIT_OK;
    if (!lead && !split) goto fail;
    sft_eval_result r;
    sft_eval(&task, &m, NULL, split ? dp : NULL, p->eval_problems, B / W, &r); // rank 0's rows at a time
    if (lead) sft_log_eval(&mx, step, &r);
    snprintf(res->model_dir, sizeof res->model_dir, "%s/model", dir);
    if (trainer_policy_save(p->policy.path, &m, split ? dp : NULL, res->model_dir, &err)) {
        code = FX_EXIT_FAIL;
        goto fail;
    }
    if (!lead) goto fail;
    res->eval = r, res->done = true;
fail:
    if (code != FX_EXIT_OK && code != FX_EXIT_STOPPED) {
        fx_error("%s", err.msg);
        if (W > 1) fx_fatal("rank %d cannot go on; bringing the job down", rank);
    }
done:
    free(ids), free(pos), free(seg), free(tgt), free(w);
    train_ckpt_free(&ck);
    sft_task_free(&task);
    fx_metrics_close(&mx);
    if (m.params_mem) model_free(&m);
    tok_free(tok);
    return code;
}
