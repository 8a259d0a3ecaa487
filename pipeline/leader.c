// leader.c — the trainer leader's loop (pipeline_internal.h). It orders the groups of each update
// from the rollout side, routes what comes back to its update (groups arrive in any order, and
// with rollout.max_policy_lag = 1 the next update's work is in flight while this one trains), keeps
// the groups with signal (dynamic sampling, drawing more problems until the batch is full), trains
// on them (split by whole groups across the trainer ranks, gradients all-reduced), sends the new
// weights to the rollout side, and logs one metrics line per update; checkpoints, SIGTERM
// (checkpoint, exit 3) and SIGUSR1 (export) at the end of an update.
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../comm/msg.h"
#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/progress.h"
#include "../core/watchdog.h"
#include "../trainer/train_ckpt.h"
#include "pipeline_internal.h"

// What the leader has asked for and not yet received: problem -> update.
typedef struct {
    int64_t *problem, *update;
    int n, cap;
} pending;

static void pending_add(pending *p, int64_t problem, int64_t update) {
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 64;
        p->problem = fx_realloc(p->problem, (size_t)p->cap * sizeof(int64_t));
        p->update = fx_realloc(p->update, (size_t)p->cap * sizeof(int64_t));
    }
    p->problem[p->n] = problem, p->update[p->n++] = update;
}

// Removes a problem; returns its update, or -1 when it was not asked for.
static int64_t pending_take(pending *p, int64_t problem) {
    for (int i = 0; i < p->n; i++)
        if (p->problem[i] == problem) {
            int64_t u = p->update[i];
            p->problem[i] = p->problem[--p->n], p->update[i] = p->update[p->n];
            return u;
        }
    return -1;
}

static int pending_count(const pending *p, int64_t update) {
    int n = 0;
    for (int i = 0; i < p->n; i++) n += p->update[i] == update;
    return n;
}

// Sorts a batch's traces by (group, sample): the order they train in, whatever order they came in.
static int cmp_trace(const trace_batch *t, int64_t i, int64_t j) {
    if (t->group[i] != t->group[j]) return t->group[i] < t->group[j] ? -1 : 1;
    return (t->sample[i] > t->sample[j]) - (t->sample[i] < t->sample[j]);
}

static void sort_batch(trace_batch *b, trace_batch *tmp) {
    int64_t *idx = fx_malloc((size_t)(b->n ? b->n : 1) * sizeof *idx);
    for (int64_t i = 0; i < b->n; i++) idx[i] = i;
    // insertion sort: batches are small and mostly in order
    for (int64_t i = 1; i < b->n; i++)
        for (int64_t k = i; k > 0 && cmp_trace(b, idx[k - 1], idx[k]) > 0; k--) {
            int64_t x = idx[k];
            idx[k] = idx[k - 1], idx[k - 1] = x;
        }
    trace_batch_clear(tmp);
    for (int64_t i = 0; i < b->n; i++) {
        trace t = trace_batch_get(b, idx[i]);
        trace_batch_add(tmp, &t);
    }
    trace_batch_clear(b);
    trace_batch_append(b, tmp);
    free(idx);
}

typedef struct {
    const fx_config *c;
    pipe_job *job;
    const comm_world *w; // NULL: one process
    pipe_side *side;
    trainer_run run;     // the run folder and the config its checkpoints record
    pending pend;
    trace_batch stash;   // scored groups of the next update (one-step-off)
    int64_t cursor;      // the next problem index of the RL stream
    int64_t *first;      // first problem of each update (for checkpoints)
    msg_buf msg;
} leader;

static void issue(leader *L, int64_t update, int n) {
    int64_t *probs = fx_malloc((size_t)(n ? n : 1) * sizeof *probs);
    if (L->first[update] < 0) L->first[update] = L->cursor;
    for (int i = 0; i < n; i++) probs[i] = L->cursor++, pending_add(&L->pend, probs[i], update);
    L->side->request(L->side, update, probs, n);
    free(probs);
}

typedef struct {
    double reward, correct, tokens, traces, lag, lag_max, prm, prm_n, step_reward, steps;
    double t_rollout, t_reward, t_wait;
    int groups_seen, groups_kept, rounds;
} collect_stats;

// Moves the traces of `in` that belong to `update` into round (the next update's into the stash).
static int route(leader *L, trace_batch *in, int64_t update, trace_batch *round, fx_err *err) {
    for (int64_t i = 0; i < in->n;) {
        int64_t e = i;
        while (e < in->n && in->group[e] == in->group[i]) e++;
        int64_t u = pending_take(&L->pend, in->group[i]);
        if (u < 0)
            return fx_errf(err, "scored traces of problem %lld, which was not asked for or came twice",
                           (long long)in->group[i]);
        if (u != update && u != update + 1)
            return fx_errf(err, "scored traces of problem %lld of update %lld arrived during update %lld",
                           (long long)in->group[i], (long long)u, (long long)update);
        for (int64_t k = i; k < e; k++) {
            trace t = trace_batch_get(in, k);
            trace_batch_add(u == update ? round : &L->stash, &t);
        }
        i = e;
    }
    return 0;
}

// The scored, kept groups of `update` (P of them unless dynamic sampling ran out of rounds).
static int gather(leader *L, int64_t update, int version, trace_batch *kept, collect_stats *cs, fx_err *err) {
    const fx_config *c = L->c;
    int P = (int)c->grpo.prompts, rc = 0;
    trace_batch round, in, tmp;
    trace_batch_init(&round), trace_batch_init(&in), trace_batch_init(&tmp);
    memset(cs, 0, sizeof *cs);
    trace_batch_clear(kept);
    // Groups of this update that arrived while the previous one was gathered.
    trace_batch_append(&round, &L->stash);
    trace_batch_clear(&L->stash);
    for (;;) {
        while (pending_count(&L->pend, update) > 0) {
            double t0 = fx_time_now(), tr, tw;
            if ((rc = L->side->collect(L->side, &in, &tr, &tw, err)) || (rc = route(L, &in, update, &round, err)))
                goto out;
            cs->t_wait += fx_time_now() - t0, cs->t_rollout += tr, cs->t_reward += tw;
            fx_watchdog_beat(NULL);
        }
        sort_batch(&round, &tmp);
        for (int64_t i = 0; i < round.n; i++) {
            int64_t lag = version - round.policy_version[i];
            if (lag < 0 || lag > c->rollout.max_policy_lag) {
                rc = fx_errf(err, "a trace of problem %lld comes from policy version %lld, %lld behind the trainer's "
                                  "%d (rollout.max_policy_lag = %lld)", (long long)round.group[i],
                             (long long)round.policy_version[i], (long long)lag, version,
                             (long long)c->rollout.max_policy_lag);
                goto out;
            }
            cs->reward += round.final_reward[i], cs->correct += round.outcome_reward[i] > 0;
            cs->tokens += round.response_len[i], cs->traces++, cs->lag += (double)lag;
            if ((double)lag > cs->lag_max) cs->lag_max = (double)lag;
            if (!isnan(round.trajectory_reward[i])) cs->prm_n++;
            for (int32_t k = 0; k < round.step_count[i]; k++)
                cs->step_reward += round.step_reward[round.step_start[i] + k], cs->steps++;
        }
        cs->groups_seen += (int)(round.n / c->grpo.group_size);
        cs->groups_kept += pipe_job_keep_groups(L->job, &round, kept, P - cs->groups_kept);
        trace_batch_clear(&round);
        if (L->job->g.filter && cs->groups_kept < P && cs->rounds < c->grpo.dynamic_rounds) {
            cs->rounds++;
            issue(L, update, P - cs->groups_kept);
            continue;
        }
        break;
    }
out:
    trace_batch_free(&round), trace_batch_free(&in), trace_batch_free(&tmp);
    return rc;
}

// Splits the kept groups over the trainer ranks (whole groups, in order), trains rank 0's share.
static void train_update(leader *L, const trace_batch *kept, int update, pipe_update *u) {
    const comm_world *w = L->w;
    int T = w ? w->count[COMM_ROLE_TRAINER] : 1;
    if (T == 1) {
        pipe_job_train(L->job, kept, update, u);
        return;
    }
    int64_t groups = kept->n / L->c->grpo.group_size, G = L->c->grpo.group_size;
    trace_batch part;
    trace_batch_init(&part);
    for (int r = T - 1; r >= 0; r--) {
        int64_t a = r * groups / T * G, b = (r + 1) * groups / T * G;
        trace_batch_clear(&part);
        for (int64_t i = a; i < b; i++) {
            trace t = trace_batch_get(kept, i);
            trace_batch_add(&part, &t);
        }
        if (r > 0) {
            msg_encode_train(&L->msg, &part, 0, update, (uint64_t)update);
            msg_send(&L->msg, w->first[COMM_ROLE_TRAINER] + r, MSG_TAG_TRAIN);
        } else pipe_job_train(L->job, &part, update, u);
    }
    trace_batch_free(&part);
}

// One metrics line per update; a PCM policy (K experts) adds pcm_alpha_1..K, each expert's mean
// mixing weight over the tokens trained on.
static int log_update(fx_metrics *mx, const fx_config *c, int step, const collect_stats *cs, const pipe_update *u,
                      int K, const double t[5], double sync_bytes, fx_err *err) {
    int steps = (int)c->grpo.steps;
    model_lr_schedule sched = {MODEL_LR_CONSTANT, (float)c->grpo.lr, (float)c->grpo.lr, (int)c->grpo.warmup, steps};
    const char *keys[] = {"reward_mean", "accuracy", "response_tokens", "groups_kept", "groups_sampled",
                          "sampling_rounds", "loss", "kl", "entropy", "clip_fraction", "grad_norm", "lr",
                          "optimizer_steps", "policy_lag_mean", "policy_lag_max", "tis_mean", "step_reward_mean",
                          "prm_scored", "time_rollout_s", "time_reward_s", "time_wait_s", "time_train_s",
                          "time_sync_s", "time_step_s", "rollout_tokens_per_s", "sync_bytes"};
    double n = cs->traces ? cs->traces : 1;
    double vals[] = {cs->reward / n, cs->correct / n, cs->tokens / n, cs->groups_kept, cs->groups_seen, cs->rounds,
                     u->loss, u->kl, u->entropy, u->clipfrac, u->grad_norm, model_lr_at(&sched, step), u->steps,
                     cs->lag / n, cs->lag_max, u->tis_mean, cs->steps ? cs->step_reward / cs->steps : NAN, cs->prm_n,
                     cs->t_rollout, cs->t_reward, cs->t_wait, t[2] - t[1], t[3] - t[2], t[4] - t[0],
                     cs->t_rollout > 0 ? cs->tokens / cs->t_rollout : NAN, sync_bytes};
    enum { BASE = sizeof keys / sizeof keys[0] };
    const char *all_keys[BASE + 16];
    double all_vals[BASE + 16];
    char names[16][24];
    memcpy(all_keys, keys, sizeof keys), memcpy(all_vals, vals, sizeof vals);
    for (int e = 0; e < K; e++) {
        snprintf(names[e], sizeof names[e], "pcm_alpha_%d", e + 1);
        all_keys[BASE + e] = names[e], all_vals[BASE + e] = u->alpha_mean[e];
    }
    return fx_metrics_write(mx, step + 1, BASE + K, all_keys, all_vals, err);
}

// The checkpoint of update `step`. With the optimiser state sharded over the trainers, they hear
// of it first, and send their slices (train_ckpt_save).
static int save_ckpt(leader *L, train_ckpt *ck, int64_t step, fx_err *err) {
    const comm_world *w = L->w;
    int T = w ? w->count[COMM_ROLE_TRAINER] : 1;
    if (T > 1 && L->job->dp_hook.shard)
        for (int r = 1; r < T; r++) {
            msg_encode_ckpt(&L->msg, 0, (uint64_t)step);
            msg_send(&L->msg, w->first[COMM_ROLE_TRAINER] + r, MSG_TAG_TRAIN);
        }
    return train_ckpt_save(ck, &L->job->policy, T > 1 ? &L->job->dp_hook : NULL, step, &L->run, err);
}

// The held-out evaluation of the weights of the update just trained (1), or none to make (0): on
// the rollout side where it evaluates them (side->eval), else of the leader's own policy.
static int lead_eval(leader *L, sft_eval_result *r, fx_err *err) {
    if (L->side->eval) return L->side->eval(L->side, r, err);
    return pipe_job_eval(L->job, r) ? 1 : 0;
}

// "2 trainer (ranks 0-1)": a role's count and world ranks. A rank killed outright (SIGKILL, the OOM
// killer) cannot say what it was; mpirun's report names only its number ("process rank 3 ...
// exited on signal 9"), and this line maps the number to the role.
static void role_ranks(const comm_world *w, comm_role role, char *buf, size_t n) {
    int first = w->first[role], count = w->count[role];
    if (count == 0) snprintf(buf, n, "0 %s", comm_role_name(role));
    else if (count == 1) snprintf(buf, n, "1 %s (rank %d)", comm_role_name(role), first);
    else snprintf(buf, n, "%d %s (ranks %d-%d)", count, comm_role_name(role), first, first + count - 1);
}

int pipe_lead(const fx_config *c, pipe_job *job, pipe_side *side, const comm_world *w, bool want_resume,
              pipeline_result *res) {
    fx_err err = {{0}};
    int code = FX_EXIT_INPUT;
    leader L = {.c = c, .job = job, .w = w, .side = side};
    trace_batch_init(&L.stash);
    fx_metrics mx = {0};
    train_ckpt ck = {0};
    char dir[PIPE_RUN_DIR_LEN], *json = NULL;
    trace_batch kept;
    trace_batch_init(&kept);
    memset(res, 0, sizeof *res);
    res->before = res->after = NAN;
    int steps = (int)c->grpo.steps, P = (int)c->grpo.prompts, lag = (int)c->rollout.max_policy_lag;
    L.run = pipe_trainer_run(c, dir, &json);
    if (fx_write_text_in(dir, "config.json", json, &err)) goto fail;
    code = FX_EXIT_FAIL;
    train_ckpt_init(&ck, job->policy.nparams);
    ck.kind = "grpo";
    int64_t start = 0;
    // with the trainers' state sharded, every trainer reads its own slices (the others wait for this
    // in pipe_trainer_rank)
    const trainer_dp *dp = w && w->count[COMM_ROLE_TRAINER] > 1 ? &job->dp_hook : NULL;
    int resumed = train_ckpt_resume_dp(&ck, &job->policy, dp, want_resume, dir, &start, &err);
    if (resumed < 0) {
        code = FX_EXIT_INPUT;
        goto fail;
    }
    L.first = fx_malloc((size_t)(steps + 1) * sizeof *L.first);
    for (int k = 0; k <= steps; k++) L.first[k] = -1;
    L.cursor = resumed ? ck.counters[1] : 0;
    job->version = start;
    res->start = start;
    // Every rank starts from the same weights: the trainers' copies and the rollout ranks' policy.
    if (w) {
        pipe_job_share_start(job, w, &ck, resumed > 0);
        int64_t v = job->version;
        if (pipe_job_sync_policy(job, w, &v, &err)) goto fail;
    }
    if (fx_metrics_open(&mx, dir, resumed ? start : -1, &err)) goto fail;
    fx_info("train: GRPO, %zu parameters, %d prompts x %lld samples per update, updates %lld..%d, %s, run folder %s",
            job->policy.nparams, P, (long long)c->grpo.group_size, (long long)start, steps,
            w ? "distributed" : "one process", dir);
    if (w) {
        char roles[3][64];
        for (int r = 0; r < 3; r++) role_ranks(w, (comm_role)r, roles[r], sizeof roles[r]);
        fx_info("ranks: %s, %s, %s; max policy lag %d", roles[0], roles[1], roles[2], lag);
    }
    sft_eval_result r;
    int ev = resumed ? 0 : lead_eval(&L, &r, &err);
    if (ev < 0) goto fail;
    if (ev) {
        sft_log_eval(&mx, 0, &r);
        res->before = r.answer_acc;
    }
    fx_progress prog;
    fx_progress_init(&prog, "grpo", steps);
    fx_watchdog_start((double)c->cluster.stall_timeout, "grpo update");
    int step = (int)start;
    if (step < steps) issue(&L, step, P);
    if (lag && step + 1 < steps) issue(&L, step + 1, P);
    for (; step < steps && !fx_stop_requested(); step++) {
        double t[5];
        t[0] = fx_time_now();
        collect_stats cs;
        if (gather(&L, step, (int)job->version, &kept, &cs, &err)) goto fail_run;
        t[1] = fx_time_now();
        pipe_update u = {0};
        ck.counters[1] = L.first[step]; // a resumed run asks for this update's problems again
        train_update(&L, &kept, step, &u);
        t[2] = fx_time_now();
        uint64_t synced = job->synced_bytes;
        // the new weights to the rollout side, the last update's too (its final evaluation may run there)
        if (side->sync(side, job->version, &err)) goto fail_run;
        t[3] = fx_time_now();
        // evaluated before the next work is sent: a rollout rank that evaluates has nothing queued
        bool eval_now = c->grpo.eval_every > 0 && (step + 1) % c->grpo.eval_every == 0 && step + 1 < steps;
        if (eval_now && (ev = lead_eval(&L, &r, &err)) < 0) goto fail_run;
        if (!lag && step + 1 < steps) issue(&L, step + 1, P);
        if (lag && step + 2 < steps) issue(&L, step + 2, P);
        t[4] = fx_time_now();
        if (log_update(&mx, c, step, &cs, &u, L.job->K, t, (double)(job->synced_bytes - synced), &err)) goto fail_run;
        char extra[96];
        double n = cs.traces ? cs.traces : 1;
        snprintf(extra, sizeof extra, "reward %.3f groups %d/%d", cs.reward / n, cs.groups_kept, cs.groups_seen);
        fx_progress_update(&prog, step + 1, extra);
        fx_watchdog_beat(NULL);
        if (eval_now && ev) {
            sft_log_eval(&mx, step + 1, &r);
            fx_watchdog_beat(NULL);
        }
        if (fx_export_requested()) { // SIGUSR1: the policy as it stands, as a Hugging Face folder
            char edir[2 * FX_CFG_STR_LEN + 40];
            snprintf(edir, sizeof edir, "%s/export/step-%08d", dir, step + 1);
            if (pipe_job_save_policy(job, c, edir, &err)) goto fail_run;
            fx_info("exported the policy of update %d to %s", step + 1, edir);
        }
        if (c->grpo.checkpoint_every > 0 && (step + 1) % c->grpo.checkpoint_every == 0 && step + 1 < steps) {
            ck.counters[0] = step + 1, ck.counters[1] = L.first[step + 1];
            if (save_ckpt(&L, &ck, step + 1, &err)) goto fail_run;
        }
    }
    fx_progress_end(&prog, NULL);
    res->steps = step;
    if (fx_stop_requested()) { // preempted or interrupted: a checkpoint, and exit code 3
        bool saved = c->grpo.checkpoint_every > 0 && step % c->grpo.checkpoint_every == 0 && step > start;
        ck.counters[0] = step, ck.counters[1] = L.first[step] >= 0 ? L.first[step] : L.cursor;
        if (!saved && save_ckpt(&L, &ck, step, &err)) goto fail_run;
        fx_warn("stopped by signal %d after update %d; checkpoint written, resume with --resume auto",
                fx_stop_signal(), step);
        code = FX_EXIT_STOPPED;
        goto done;
    }
    if ((ev = lead_eval(&L, &r, &err)) < 0) goto fail_run;
    res->evaluated = ev > 0;
    if (res->evaluated) sft_log_eval(&mx, step, &r), res->after = r.answer_acc;
    snprintf(res->model_dir, sizeof res->model_dir, "%s/model", dir);
    if (pipe_job_save_policy(job, c, res->model_dir, &err)) goto fail_run;
    res->done = true;
    code = FX_EXIT_OK;
done:
    fx_watchdog_stop();
    side->stop(side, code);
    goto out;
fail_run:
    fx_watchdog_stop();
fail:
    fx_error("%s", err.msg);
out:
    trace_batch_free(&kept);
    fx_metrics_close(&mx);
    train_ckpt_free(&ck);
    free(json);
    free(L.pend.problem), free(L.pend.update), free(L.first);
    trace_batch_free(&L.stash);
    msg_buf_free(&L.msg);
    return code;
}
