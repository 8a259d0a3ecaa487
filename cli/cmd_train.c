// cmd_train.c — `fluxrl train CONFIG`: GRPO on the built-in task, in one process or across MPI
// roles (cluster.*_ranks). The trainer leader (world rank 0) runs the loop below for both: it
// orders the groups of each update from the rollout side (train_dist.c's rollout and reward ranks,
// or train_job.c's functions in this process), keeps the groups with signal (dynamic sampling,
// drawing more problems until the batch is full), trains on them (split by whole groups across
// the trainer ranks, gradients all-reduced), sends the new weights to the rollout ranks, and logs
// one metrics line per update. With rollout.max_policy_lag = 1 the rollout side generates update
// k+1's groups with policy k while the trainers train on update k.
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../comm/msg.h"
#include "../comm/wsync.h"
#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/progress.h"
#include "../core/watchdog.h"
#include "../trainer/train_ckpt.h"
#include "cli.h"
#include "train_dist.h"
#include "train_job.h"

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

// The rollout side as the leader sees it: in this process (job) or on rollout ranks (w).
typedef struct {
    train_job *job;          // one process: generate and score on request
    trace_batch *queue;      // one process: scored batches not yet collected
    double *queue_t;         // their generation and scoring seconds (2 per batch)
    int64_t **queue_p;       // their problems while not yet generated
    int *queue_n;
    int nqueue, head;
    bool eager;              // generate at request time (one-step-off)
    const comm_world *w;     // distributed
    msg_buf msg;
    uint64_t seq;
    int outstanding;         // work messages not yet answered
} rollout_side;

// One process: generates and scores queued request i.
static void side_run(rollout_side *s, int i) {
    trace_batch gen;
    trace_batch_init(&gen);
    double t0 = fx_time_now();
    train_job_generate(s->job, s->queue_p[i], s->queue_n[i], &gen);
    double t1 = fx_time_now(), prm;
    train_job_score(s->job, &gen, &s->queue[i], &prm);
    s->queue_t[2 * i] = t1 - t0, s->queue_t[2 * i + 1] = fx_time_now() - t1;
    free(s->queue_p[i]);
    s->queue_p[i] = NULL;
    trace_batch_free(&gen);
}

static void side_request(rollout_side *s, int64_t update, const int64_t *problems, int n) {
    if (!s->w) {
        // One process: on-policy work runs when it is collected (the weights are those of its
        // update then); one-step-off work runs now, with the weights of the update in training.
        int i = s->nqueue++;
        s->queue = fx_realloc(s->queue, (size_t)s->nqueue * sizeof *s->queue);
        s->queue_t = fx_realloc(s->queue_t, (size_t)s->nqueue * 2 * sizeof *s->queue_t);
        s->queue_p = fx_realloc(s->queue_p, (size_t)s->nqueue * sizeof *s->queue_p);
        s->queue_n = fx_realloc(s->queue_n, (size_t)s->nqueue * sizeof *s->queue_n);
        trace_batch_init(&s->queue[i]);
        s->queue_p[i] = fx_malloc((size_t)(n ? n : 1) * sizeof(int64_t));
        memcpy(s->queue_p[i], problems, (size_t)n * sizeof(int64_t));
        s->queue_n[i] = n;
        if (s->eager) side_run(s, i);
        (void)update;
        return;
    }
    // Whole groups, split as evenly as possible over the rollout ranks.
    int R = s->w->count[COMM_ROLE_ROLLOUT];
    for (int r = 0; r < R; r++) {
        int a = (int)((int64_t)r * n / R), b = (int)((int64_t)(r + 1) * n / R);
        if (a == b) continue;
        msg_encode_work(&s->msg, s->w->rank, update, problems + a, b - a, s->seq++);
        msg_send(&s->msg, s->w->first[COMM_ROLE_ROLLOUT] + r, TRAIN_TAG_WORK);
        s->outstanding++;
    }
}

// One scored batch, waiting for it; times: rollout and reward seconds behind it.
static void side_collect(rollout_side *s, trace_batch *out, double *t_rollout, double *t_reward) {
    if (!s->w) {
        FX_ASSERT(s->head < s->nqueue);
        if (s->queue_p[s->head]) side_run(s, s->head);
        trace_batch_clear(out);
        trace_batch_append(out, &s->queue[s->head]);
        trace_batch_free(&s->queue[s->head]);
        *t_rollout = s->queue_t[2 * s->head], *t_reward = s->queue_t[2 * s->head + 1];
        if (++s->head == s->nqueue) s->head = s->nqueue = 0;
        return;
    }
    FX_ASSERT(s->outstanding > 0);
    fx_err err;
    int from;
    char who[64];
    if (msg_recv(&s->msg, MPI_ANY_SOURCE, TRAIN_TAG_SCORED, s->w, &from, &err)) fx_fatal("%s", err.msg);
    msg_who(s->w, from, who, sizeof who);
    if (msg_decode_traces(&s->msg, who, out, &err)) fx_fatal("%s", err.msg);
    *t_rollout = msg_head(&s->msg)->time_rollout_s, *t_reward = msg_head(&s->msg)->time_reward_s;
    s->outstanding--;
}

// The new weights to every rollout rank.
static void side_sync(rollout_side *s, model *m, int64_t version) {
    if (!s->w) return; // one process: generation uses the trained model itself
    for (int r = 0; r < s->w->count[COMM_ROLE_ROLLOUT]; r++) {
        msg_encode_sync(&s->msg, s->w->rank, version, s->seq++);
        msg_send(&s->msg, s->w->first[COMM_ROLE_ROLLOUT] + r, TRAIN_TAG_WORK);
    }
    fx_err err;
    int64_t v = version;
    (void)m;
    if (train_job_sync_policy(s->job, s->w, &v, &err)) fx_fatal("%s", err.msg);
}

// Ends the other ranks' loops with the job's exit code.
static void side_stop(rollout_side *s, int code) {
    if (!s->w) return;
    trace_batch drain;
    trace_batch_init(&drain);
    double a, b;
    while (s->outstanding > 0) side_collect(s, &drain, &a, &b); // nothing left in flight
    trace_batch_free(&drain);
    for (int r = 1; r < s->w->size; r++) {
        msg_encode_stop(&s->msg, s->w->rank, s->seq++);
        ((msg_header *)s->msg.buf)->policy_version = code;
        int tag = comm_role_of(s->w, r) == COMM_ROLE_TRAINER ? TRAIN_TAG_TRAIN : TRAIN_TAG_WORK;
        msg_send(&s->msg, r, tag);
    }
}

static void side_free(rollout_side *s) {
    for (int i = s->head; i < s->nqueue; i++) trace_batch_free(&s->queue[i]), free(s->queue_p[i]);
    free(s->queue), free(s->queue_t), free(s->queue_p), free(s->queue_n);
    msg_buf_free(&s->msg);
}

// Sorts a batch's traces by (group, sample): the order they train in, whatever order they came in.
static int cmp_trace(const void *a, const void *b, void *ctx) {
    const trace_batch *t = ctx;
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    if (t->group[i] != t->group[j]) return t->group[i] < t->group[j] ? -1 : 1;
    return (t->sample[i] > t->sample[j]) - (t->sample[i] < t->sample[j]);
}

static void sort_batch(trace_batch *b, trace_batch *tmp) {
    int64_t *idx = fx_malloc((size_t)(b->n ? b->n : 1) * sizeof *idx);
    for (int64_t i = 0; i < b->n; i++) idx[i] = i;
    // insertion sort: batches are small and mostly in order
    for (int64_t i = 1; i < b->n; i++)
        for (int64_t k = i; k > 0 && cmp_trace(&idx[k - 1], &idx[k], b) > 0; k--) {
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
    train_job *job;
    const comm_world *w; // NULL: one process
    rollout_side side;
    pending pend;
    trace_batch stash;   // scored groups of later updates (one-step-off)
    int64_t cursor;      // the next problem index of the RL stream
    int64_t *first;      // first problem of each update (for checkpoints)
    msg_buf msg;
    grpo_dp dp;
} leader;

static void issue(leader *L, int64_t update, int n) {
    int64_t *probs = fx_malloc((size_t)(n ? n : 1) * sizeof *probs);
    if (L->first[update] < 0) L->first[update] = L->cursor;
    for (int i = 0; i < n; i++) probs[i] = L->cursor++, pending_add(&L->pend, probs[i], update);
    side_request(&L->side, update, probs, n);
    free(probs);
}

typedef struct {
    double reward, correct, tokens, traces, lag, lag_max, prm, prm_n, step_reward, steps;
    double t_rollout, t_reward, t_wait;
    int groups_seen, groups_kept, rounds;
} collect_stats;

// Moves the traces of `in` that belong to `update` into round (the rest into the stash).
static void route(leader *L, trace_batch *in, int64_t update, trace_batch *round) {
    for (int64_t i = 0; i < in->n;) {
        int64_t e = i;
        while (e < in->n && in->group[e] == in->group[i]) e++;
        int64_t u = pending_take(&L->pend, in->group[i]);
        if (u < 0) fx_fatal("scored traces of problem %lld, which was not asked for", (long long)in->group[i]);
        for (int64_t k = i; k < e; k++) {
            trace t = trace_batch_get(in, k);
            if (u == update) trace_batch_add(round, &t);
            else {
                FX_ASSERT(u == update + 1); // only the next update's work is ever in flight besides this one's
                trace_batch_add(&L->stash, &t);
            }
        }
        i = e;
    }
}

// The scored, kept groups of `update` (P of them unless dynamic sampling ran out of rounds).
static void gather(leader *L, int64_t update, int version, trace_batch *kept, collect_stats *cs) {
    const fx_config *c = L->c;
    int P = (int)c->grpo.prompts;
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
            side_collect(&L->side, &in, &tr, &tw);
            cs->t_wait += fx_time_now() - t0, cs->t_rollout += tr, cs->t_reward += tw;
            route(L, &in, update, &round);
            fx_watchdog_beat(NULL);
        }
        sort_batch(&round, &tmp);
        for (int64_t i = 0; i < round.n; i++) {
            int64_t lag = version - round.policy_version[i];
            if (lag < 0 || lag > c->rollout.max_policy_lag)
                fx_fatal("a trace of problem %lld comes from policy version %lld, %lld behind the trainer's %d "
                         "(rollout.max_policy_lag = %lld)", (long long)round.group[i],
                         (long long)round.policy_version[i], (long long)lag, version,
                         (long long)c->rollout.max_policy_lag);
            cs->reward += round.final_reward[i], cs->correct += round.outcome_reward[i] > 0;
            cs->tokens += round.response_len[i], cs->traces++, cs->lag += (double)lag;
            if ((double)lag > cs->lag_max) cs->lag_max = (double)lag;
            if (!isnan(round.trajectory_reward[i])) cs->prm_n++;
            for (int32_t k = 0; k < round.step_count[i]; k++)
                cs->step_reward += round.step_reward[round.step_start[i] + k], cs->steps++;
        }
        cs->groups_seen += (int)(round.n / c->grpo.group_size);
        cs->groups_kept += train_job_keep_groups(c, &round, kept, P - cs->groups_kept);
        trace_batch_clear(&round);
        bool filter = c->grpo.dynamic_sampling && strcmp(c->grpo.advantage, "process") != 0;
        if (filter && cs->groups_kept < P && cs->rounds < c->grpo.dynamic_rounds) {
            cs->rounds++;
            issue(L, update, P - cs->groups_kept);
            continue;
        }
        break;
    }
    trace_batch_free(&round), trace_batch_free(&in), trace_batch_free(&tmp);
}

// Splits the kept groups over the trainer ranks (whole groups, in order), trains rank 0's share.
static void train_update(leader *L, const trace_batch *kept, int update, train_job_update *u) {
    const comm_world *w = L->w;
    int T = w ? w->count[COMM_ROLE_TRAINER] : 1;
    if (T == 1) {
        train_job_train(L->job, kept, update, w ? &L->dp : NULL, u);
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
            msg_encode_traces(&L->msg, &part, 0, update, 0);
            msg_send(&L->msg, w->first[COMM_ROLE_TRAINER] + r, TRAIN_TAG_TRAIN);
        } else train_job_train(L->job, &part, update, &L->dp, u);
    }
    trace_batch_free(&part);
}

int cmd_train(int argc, char **argv) {
    bool want_resume = false;
    if (cli_take_resume("train", &argc, argv, &want_resume)) return FX_EXIT_INPUT;
    cli_config_args a;
    if (cli_parse_config_args("train", argc, argv, true, &a)) return FX_EXIT_INPUT;
    comm_init(&argc, &argv);
    fx_config *c = fx_malloc(sizeof *c);
    fx_err err = {{0}};
    comm_world w = {0};
    int bad = -1, code;
    int mine = cfg_resolve(c, a.path, a.nset, a.sets, &err) || train_job_check_config(c, &err) ? FX_EXIT_INPUT : 0;
    if (!(code = comm_agree(mine, &bad))) {
        cli_apply_log_config(c);
        mine = comm_world_build(&w, c, &err) ? FX_EXIT_INPUT : 0;
    }
    if (!code && !(code = comm_agree(mine, &bad))) {
        if (w.size > 1 && w.count[COMM_ROLE_ROLLOUT] < 1) {
            mine = FX_EXIT_INPUT;
            fx_errf(&err, "cluster.rollout_ranks: a distributed run needs at least one rollout rank");
        }
        code = comm_agree(mine, &bad);
    }
    if (code) {
        if (mine && comm_world_rank() == bad) fx_error("%s", err.msg);
        goto out;
    }
    fx_signals_install();
    if (w.size == 1 || w.rank == 0) code = train_lead(c, w.size > 1 ? &w : NULL, want_resume);
    else if (w.role == COMM_ROLE_TRAINER) code = train_dist_trainer(c, &w, want_resume);
    else if (w.role == COMM_ROLE_ROLLOUT) code = train_dist_rollout(c, &w);
    else code = train_dist_reward(c, &w);
out:
    comm_world_free(&w);
    free(c);
    cli_config_args_free(&a);
    comm_finalize();
    return code;
}

int train_lead(const fx_config *c, const comm_world *w, bool want_resume) {
    fx_err err = {{0}};
    int code = FX_EXIT_INPUT;
    train_job job;
    leader L = {.c = c, .w = w};
    trace_batch_init(&L.stash);
    fx_metrics mx = {0};
    train_ckpt ck = {0};
    int steps = (int)c->grpo.steps, P = (int)c->grpo.prompts, lag = (int)c->rollout.max_policy_lag;
    unsigned roles = w ? JOB_TRAIN : JOB_GENERATE | JOB_SCORE | JOB_TRAIN;
    int threads = w ? comm_threads_per_rank(w, c) : (int)c->cluster.threads;
    if (train_job_open(&job, c, roles, threads, w, &err)) goto fail;
    L.job = &job;
    L.side = (rollout_side){.job = &job, .w = w, .eager = lag > 0};
    if (w) train_job_dp_init(&job, &L.dp, w);
    if (cfg_write_resolved(c, &err)) goto fail;
    char dir[2 * FX_CFG_STR_LEN + 2];
    cfg_run_dir(c, dir, sizeof dir);
    code = FX_EXIT_FAIL;
    train_ckpt_init(&ck, job.policy.nparams);
    int64_t start = 0;
    int resumed = want_resume ? train_ckpt_resume(&ck, &job.policy, dir, &start, &err) : 0;
    if (resumed < 0) {
        code = FX_EXIT_INPUT;
        goto fail;
    }
    L.first = fx_malloc((size_t)(steps + 1) * sizeof *L.first);
    for (int k = 0; k <= steps; k++) L.first[k] = -1;
    L.cursor = resumed ? ck.counters[1] : 0;
    job.version = start;
    // Every rank starts from the same weights: the trainers' copies and the rollout ranks' policy.
    if (w) {
        train_job_share_start(&job, w);
        int64_t v = job.version;
        if (train_job_sync_policy(&job, w, &v, &err)) goto fail;
    }
    if (fx_metrics_open(&mx, dir, resumed ? start : -1, &err)) goto fail;
    fx_info("train: GRPO, %zu parameters, %d prompts x %lld samples per update, updates %lld..%d, %s, run folder %s",
            job.policy.nparams, P, (long long)c->grpo.group_size, (long long)start, steps,
            w ? "distributed" : "one process", dir);
    if (w)
        fx_info("ranks: %d trainer, %d rollout, %d reward; max policy lag %d", w->count[0], w->count[1],
                w->count[2], lag);
    sft_eval_result r;
    double before = NAN;
    if (!resumed && train_job_eval(&job, &r)) {
        sft_log_eval(&mx, 0, &r);
        before = r.answer_acc;
    }
    fx_progress prog;
    fx_progress_init(&prog, "grpo", steps);
    fx_watchdog_start((double)c->cluster.stall_timeout, "grpo update");
    int step = (int)start;
    if (step < steps) issue(&L, step, P);
    if (lag && step + 1 < steps) issue(&L, step + 1, P);
    trace_batch kept;
    trace_batch_init(&kept);
    for (; step < steps && !fx_stop_requested(); step++) {
        double t0 = fx_time_now();
        collect_stats cs;
        gather(&L, step, (int)job.version, &kept, &cs);
        double t1 = fx_time_now();
        train_job_update u = {0};
        ck.counters[1] = L.first[step]; // a resumed run asks for this update's problems again
        train_update(&L, &kept, step, &u);
        double t2 = fx_time_now();
        if (step + 1 < steps) side_sync(&L.side, &job.policy, job.version);
        double t3 = fx_time_now();
        if (!lag && step + 1 < steps) issue(&L, step + 1, P);
        if (lag && step + 2 < steps) issue(&L, step + 2, P);
        double t4 = fx_time_now();
        model_lr_schedule sched = {MODEL_LR_CONSTANT, (float)c->grpo.lr, (float)c->grpo.lr, (int)c->grpo.warmup, steps};
        const char *keys[] = {"reward_mean", "accuracy", "response_tokens", "groups_kept", "groups_sampled",
                              "sampling_rounds", "loss", "kl", "entropy", "clip_fraction", "grad_norm", "lr",
                              "optimizer_steps", "policy_lag_mean", "policy_lag_max", "tis_mean", "step_reward_mean",
                              "prm_scored", "time_rollout_s", "time_reward_s", "time_wait_s", "time_train_s",
                              "time_sync_s", "time_step_s", "rollout_tokens_per_s"};
        double n = cs.traces ? cs.traces : 1;
        double vals[] = {cs.reward / n, cs.correct / n, cs.tokens / n, cs.groups_kept, cs.groups_seen, cs.rounds,
                         u.loss, u.kl, u.entropy, u.clipfrac, u.grad_norm, model_lr_at(&sched, step), u.steps,
                         cs.lag / n, cs.lag_max, u.tis_mean, cs.steps ? cs.step_reward / cs.steps : NAN, cs.prm_n,
                         cs.t_rollout, cs.t_reward, cs.t_wait, t2 - t1, t3 - t2, t4 - t0,
                         cs.t_rollout > 0 ? cs.tokens / cs.t_rollout : NAN};
        int nk = (int)(sizeof keys / sizeof keys[0]);
        if (fx_metrics_write(&mx, step + 1, nk, keys, vals, &err)) goto fail;
        char extra[96];
        snprintf(extra, sizeof extra, "reward %.3f groups %d/%d", cs.reward / n, cs.groups_kept, cs.groups_seen);
        fx_progress_update(&prog, step + 1, extra);
        fx_watchdog_beat(NULL);
        if (c->grpo.eval_every > 0 && (step + 1) % c->grpo.eval_every == 0 && step + 1 < steps &&
            train_job_eval(&job, &r)) {
            sft_log_eval(&mx, step + 1, &r);
            fx_watchdog_beat(NULL);
        }
        if (fx_export_requested()) { // SIGUSR1: the policy as it stands, as a Hugging Face folder
            char edir[2 * FX_CFG_STR_LEN + 40];
            snprintf(edir, sizeof edir, "%s/export/step-%08d", dir, step + 1);
            if (sft_save_policy(c, &job.policy, edir, &err)) goto fail;
            fx_info("exported the policy of update %d to %s", step + 1, edir);
        }
        if (c->grpo.checkpoint_every > 0 && (step + 1) % c->grpo.checkpoint_every == 0 && step + 1 < steps) {
            ck.counters[0] = step + 1, ck.counters[1] = L.first[step + 1];
            if (train_ckpt_save(&ck, &job.policy, step + 1, c, dir, &err)) goto fail;
        }
    }
    trace_batch_free(&kept);
    fx_progress_end(&prog, NULL);
    if (fx_stop_requested()) { // preempted or interrupted: a checkpoint, and exit code 3
        bool saved = c->grpo.checkpoint_every > 0 && step % c->grpo.checkpoint_every == 0 && step > start;
        ck.counters[0] = step, ck.counters[1] = L.first[step] >= 0 ? L.first[step] : L.cursor;
        if (!saved && train_ckpt_save(&ck, &job.policy, step, c, dir, &err)) goto fail;
        fx_warn("stopped by signal %d after update %d; checkpoint written, resume with --resume auto",
                fx_stop_signal(), step);
        code = FX_EXIT_STOPPED;
        goto done;
    }
    bool evaluated = train_job_eval(&job, &r);
    if (evaluated) sft_log_eval(&mx, step, &r);
    char mdir[2 * FX_CFG_STR_LEN + 16];
    snprintf(mdir, sizeof mdir, "%s/model", dir);
    if (sft_save_policy(c, &job.policy, mdir, &err)) goto fail;
    if (!evaluated) printf("train: %d GRPO updates; no held-out evaluation (grpo.eval_data is empty); model in %s\n",
                           step, mdir);
    else if (isnan(before)) printf("train: %d GRPO updates (resumed at %lld); held-out answers %.1f%% correct; model in %s\n",
                              step, (long long)start, 100 * r.answer_acc, mdir);
    else printf("train: %d GRPO updates; held-out answers %.1f%% -> %.1f%% correct; model in %s\n", step, 100 * before,
                100 * r.answer_acc, mdir);
    fflush(stdout);
    code = FX_EXIT_OK;
done:
    fx_watchdog_stop();
    side_stop(&L.side, code);
    goto out;
fail:
    fx_error("%s", err.msg);
    if (w) fx_fatal("the trainer leader cannot go on; bringing the job down");
out:
    fx_metrics_close(&mx);
    train_ckpt_free(&ck);
    side_free(&L.side);
    free(L.pend.problem), free(L.pend.update), free(L.first);
    trace_batch_free(&L.stash);
    msg_buf_free(&L.msg);
    train_job_close(&job);
    return code;
}
