// job.c — see job.h.
#define _POSIX_C_SOURCE 200809L
#include "job.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../comm/msg.h"
#include "../comm/wsync.h"
#include "../core/log.h"
#include "../model/cuda/cuda_backend.h"
#include "../reward/reward.h"
#include "../rollout/dataset.h"
#include "../rollout/decode.h"
#include "../rollout/engine.h"
#include "../rollout/steps.h"
#include "experts.h"
#include "pipeline.h"

#define MAX_STEPS (TASK_MAX_OPS + 2)
#define MAX_PRM_STEPS 256

int pipe_job_check_config(const fx_config *c, fx_err *err) {
    bool prm = c->reward.prm_path[0] != '\0';
    if (c->reward.beta > 0 && !prm)
        return fx_errf(err, "reward.beta: %g mixes in the PRM's score, but reward.prm_path is empty", c->reward.beta);
    if (!strcmp(c->grpo.step_rewards, "prm") && !prm)
        return fx_errf(err, "grpo.step_rewards: \"prm\" needs a PRM, but reward.prm_path is empty");
    if (c->grpo.kl_beta > 0 && !strcmp(c->grpo.kl_mode, "reward") && strcmp(c->grpo.ref_on, "reward"))
        return fx_errf(err, "grpo.kl_mode: \"reward\" needs grpo.ref_on = \"reward\" (the reference log-probs "
                            "travel with the traces)");
    if (c->grpo.system_key[0] && !c->grpo.data[0])
        return fx_errf(err, "grpo.system_key: \"%s\" reads each problem's system turn from grpo.data, but it is empty",
                       c->grpo.system_key);
    if (c->grpo.data[0] && !strcmp(c->grpo.step_rewards, "checker") && !strcmp(c->grpo.advantage, "process"))
        return fx_errf(err, "grpo.step_rewards: \"checker\" labels the built-in task's steps only; with grpo.data "
                            "use \"prm\"");
    if (!strcmp(c->grpo.objective, "rebel") && !strcmp(c->grpo.advantage, "process"))
        return fx_errf(err, "grpo.objective: \"rebel\" regresses on each trace's reward, but grpo.advantage is "
                            "\"process\" (per-token advantages); use \"grpo\" or \"rloo\" (unused by rebel)");
    const char *outcome = c->reward.outcome;
    if (!strcmp(outcome, "command") && !c->reward.command[0])
        return fx_errf(err, "reward.outcome: \"command\" needs reward.command, the program to run, but it is empty");
    if (!strcmp(outcome, "plugin") && !c->reward.plugin[0])
        return fx_errf(err, "reward.outcome: \"plugin\" needs reward.plugin, a shared library, but it is empty");
    if (!strcmp(c->grpo.step_rewards, "outcome") && !strcmp(outcome, "verifier"))
        return fx_errf(err, "grpo.step_rewards: \"outcome\" takes the step_rewards of reward.command or "
                            "reward.plugin, but reward.outcome is \"verifier\"");
    if (!strcmp(c->reward.mix, "reasonflux") && !prm)
        return fx_errf(err, "reward.mix: \"reasonflux\" reads the PRM after the whole response, but reward.prm_path "
                            "is empty");
    if (c->pcm.experts[0]) { // a PCM policy (docs/pcm.md)
        char buf[4096], *items[ROLLOUT_MERGE_MAX_EXPERTS];
        float w[ROLLOUT_MERGE_MAX_EXPERTS];
        int K = fx_split_list("pcm.experts", c->pcm.experts, buf, sizeof buf, items, ROLLOUT_MERGE_MAX_EXPERTS, err);
        if (K < 0 || (c->pcm.preference[0] && pipe_parse_preference("pcm.preference", c->pcm.preference, K, w, err)) ||
            (c->pcm.alpha_init[0] && pipe_parse_alpha_init(c->pcm.alpha_init, K, w, err)))
            return -1;
        if (c->grpo.kl_beta > 0 && strcmp(c->grpo.ref_on, "trainer"))
            return fx_errf(err, "grpo.ref_on: expected \"trainer\" with pcm.experts and grpo.kl_beta > 0 (the reference "
                                "PCM's log-probs merge the experts' too, which the trainer holds; the reward ranks do not)");
        if (c->pcm.preference[0] && strcmp(c->pcm.preference_dist, "uniform"))
            return fx_errf(err, "pcm.preference_dist: \"%s\" draws each problem's preference, but pcm.preference "
                                "fixes one for all (leave one of them at its default)", c->pcm.preference_dist);
        if (!strcmp(c->pcm.preference_dist, "data") && !c->grpo.data[0])
            return fx_errf(err, "pcm.preference_dist: \"data\" reads each problem's preference from grpo.data, but "
                                "it is empty");
        bool bt = !strcmp(c->pcm.reward, "bt");
        if (bt && !strcmp(outcome, "verifier"))
            return fx_errf(err, "pcm.reward: \"bt\" takes the reward dimensions of reward.command or reward.plugin, "
                                "but reward.outcome is \"verifier\"");
        if (bt && !strcmp(c->pcm.reference, "data") && !c->grpo.data[0])
            return fx_errf(err, "pcm.reference: \"data\" reads each problem's reference response from grpo.data, but "
                                "it is empty (the built-in task has none: use \"model\")");
    } else if (c->pcm.preference[0])
        return fx_errf(err, "pcm.preference: a preference needs pcm.experts, the experts it weighs, but it is empty");
    else if (c->pcm.alpha_init[0])
        return fx_errf(err, "pcm.alpha_init: a PCM's starting mix needs pcm.experts, the experts it mixes, but it is "
                            "empty");
    else if (c->pcm.preference_prior > 0)
        return fx_errf(err, "pcm.preference_prior: a PCM's preference prior needs pcm.experts, the experts it mixes, "
                            "but it is empty");
    else if (!strcmp(c->pcm.reward, "bt"))
        return fx_errf(err, "pcm.reward: \"bt\" weighs reward dimensions by a PCM's preference, but pcm.experts is "
                            "empty");
    if (c->rollout.max_policy_lag > 0 && !c->grpo.recompute_old_logp)
        return fx_errf(err, "rollout.max_policy_lag: %lld needs grpo.recompute_old_logp = true (the ratio is taken "
                            "against the trainer's log-probs, the lag corrected by truncated importance weights)",
                       (long long)c->rollout.max_policy_lag);
    return 0;
}

// The config's string choices as enums and flags (the config has checked each against its set),
// the role functions' numbers and the update's parameters.
static void parse_choices(const fx_config *c, pipe_grpo_choice *g, pipe_job_params *p, grpo_train_params *t) {
    const char *a = c->grpo.advantage, *e = c->grpo.kl_estimator, *agg = c->grpo.loss_agg;
    grpo_advantage adv = !strcmp(a, "rloo") ? GRPO_ADV_RLOO : !strcmp(a, "process") ? GRPO_ADV_PROCESS : GRPO_ADV_GROUP;
    *g = (pipe_grpo_choice){
        .ref_on_reward = !strcmp(c->grpo.ref_on, "reward"),
        .prm_steps = !strcmp(c->grpo.step_rewards, "prm"),
        .outcome_steps = !strcmp(c->grpo.step_rewards, "outcome"),
        .outcome = !strcmp(c->reward.outcome, "command")  ? PIPE_OUTCOME_COMMAND
                   : !strcmp(c->reward.outcome, "plugin") ? PIPE_OUTCOME_PLUGIN
                                                          : PIPE_OUTCOME_VERIFIER,
        .reasonflux = !strcmp(c->reward.mix, "reasonflux"),
        .filter = c->grpo.dynamic_sampling && adv != GRPO_ADV_PROCESS,
    };
    grpo_kl kl = !strcmp(e, "k1") ? GRPO_KL_K1 : !strcmp(e, "k2") ? GRPO_KL_K2 : GRPO_KL_K3;
    grpo_agg ag = !strcmp(agg, "seq_mean_token_mean")       ? GRPO_AGG_SEQ_MEAN_TOKEN_MEAN
                  : !strcmp(agg, "seq_mean_token_sum_norm") ? GRPO_AGG_SEQ_MEAN_TOKEN_SUM_NORM
                                                            : GRPO_AGG_TOKEN_MEAN;
    *t = (grpo_train_params){
        .advantage = adv,
        .std_norm = c->grpo.std_norm,
        .process_add_outcome = c->grpo.process_add_outcome,
        .kl_beta = c->grpo.kl_beta,
        .kl_in_reward = c->grpo.kl_beta > 0 && !strcmp(c->grpo.kl_mode, "reward"),
        .ref_with_traces = g->ref_on_reward,
        .loss = {(float)c->grpo.eps_low, (float)c->grpo.eps_high, (float)c->grpo.dual_clip, (float)c->grpo.kl_beta, kl,
                 (float)c->grpo.entropy_beta, ag, (int)c->grpo.max_new},
        .update = {.micro = (int)c->grpo.minibatch, .minibatches = (int)c->grpo.ppo_minibatches,
                   .epochs = (int)c->grpo.ppo_epochs, .recompute_old = c->grpo.recompute_old_logp,
                   .tis_cap = (float)c->grpo.tis_cap, .grad_clip = c->grpo.grad_clip,
                   .opt = {0, 0.9f, 0.999f, 1e-8f, (float)c->grpo.weight_decay},
                   .rebel = !strcmp(c->grpo.objective, "rebel"), .rebel_eta = c->grpo.rebel_eta},
        .lr = {MODEL_LR_CONSTANT, (float)c->grpo.lr, (float)c->grpo.lr, (int)c->grpo.warmup, (int)c->grpo.steps},
    };
    *p = (pipe_job_params){
        .group_size = (int)c->grpo.group_size,
        .max_new = (int)c->grpo.max_new,
        .max_seq = (int)c->model.max_seq,
        .sample = {(float)c->grpo.temperature, 0, (float)c->grpo.top_p, 0},
        .seed = (uint64_t)c->run.seed,
        .kv_tokens = (int)c->rollout.kv_tokens,
        .slots = (int)c->rollout.slots,
        .eval_problems = (int)c->grpo.eval_problems,
        .ref_batch = (int)c->grpo.minibatch,
        .mix = {(float)c->reward.beta, (float)c->reward.format_penalty, (int)c->grpo.max_new,
                (int)c->reward.overlong_buffer, (float)c->reward.length_penalty,
                g->reasonflux ? REWARD_MIX_REASONFLUX : REWARD_MIX_FLUXRL},
        .shard = pipe_shard(c),
        .vocab_rows = (int)c->trainer.vocab_chunk,
    };
    cfg_run_dir(c, p->run_dir, sizeof p->run_dir);
}

// pcm.experts: the first expert's tokenizer, the experts (where they generate or train: a reward
// rank reads only the first's config for the vocabulary), and the policy, their PCM (model.path or
// a new one), checked to fit them (rollout_merge_check).
static int open_pcm(pipe_job *j, const fx_config *c, policy_params *pp, unsigned roles, fx_err *err) {
    int K = fx_split_list("pcm.experts", c->pcm.experts, j->expert_buf, sizeof j->expert_buf, j->expert_paths,
                            ROLLOUT_MERGE_MAX_EXPERTS, err);
    if (K < 0) return -1;
    j->K = K;
    const char *const *paths = (const char *const *)j->expert_paths;
    if (model_check_dir(paths[0], err) || tok_load(&j->tok, paths[0], err)) return -1;
    for (int i = 0; i < K; i++) j->mix.experts[i] = &j->experts[i];
    int vocab;
    if (roles & (PIPE_GENERATE | PIPE_TRAIN)) {
        if (pipe_experts_load(paths, K, j->be, j->tok, j->mix.experts, err)) return -1;
        j->experts_loaded = true;
        vocab = j->experts[0].cfg.vocab_size;
    } else {
        model_config mc;
        model_head head;
        if (model_check_files(paths[0], &mc, &head, err)) return -1;
        vocab = mc.vocab_size;
    }
    if (c->pcm.alpha_init[0]) { // also the KL reference's start, built from pp below
        if (pipe_parse_alpha_init(c->pcm.alpha_init, K, j->alpha_init, err)) return -1;
        pp->alpha_init = j->alpha_init;
    }
    if (policy_build_pcm(pp, K, vocab, j->be, &j->policy, err)) return -1;
    j->mix.K = K, j->mix.pcm = &j->policy;
    // the paper's probability-space merge: the trainer's log Σ α_i π_i(y) is the sampling
    // distribution's (a logit-space merge would need every expert's full rows to train on)
    j->mix.space = ROLLOUT_MERGE_PROB;
    if (c->model.path[0] && (roles & PIPE_TRAIN) &&
        pipe_pcm_check_experts(c->model.path, (const char *const *)j->expert_paths, K, "pcm.experts", err))
        return -1;
    const char *pcm_name = c->model.path[0] ? c->model.path : "the new PCM (model.path empty)";
    if (j->experts_loaded && rollout_merge_check(&j->mix, paths, pcm_name, err)) return -1;
    const char *dist = c->pcm.preference_dist;
    j->pref_dist = (rollout_pref_dist){!strcmp(dist, "dirichlet") ? ROLLOUT_PREF_DIRICHLET
                                       : !strcmp(dist, "corners") ? ROLLOUT_PREF_CORNERS
                                                                  : ROLLOUT_PREF_UNIFORM,
                                       c->pcm.dirichlet_alpha};
    j->pref_fixed = c->pcm.preference[0] != '\0';
    if (j->pref_fixed) return pipe_parse_preference("pcm.preference", c->pcm.preference, K, j->pref, err);
    for (int i = 0; i < K; i++) j->pref[i] = 1.0f / (float)K;
    return 0;
}

// pcm.reward = bt on a scoring rank: the reference policy (pcm.reference = model, the experts'
// tokenizer checked) or every grpo.data problem's reference response (= data, each line checked).
static int open_bt(pipe_job *j, const fx_config *c, fx_err *err) {
    const char *ref = c->pcm.reference;
    j->bt_ref = !strcmp(ref, "data") ? PIPE_BT_REF_DATA : !strcmp(ref, "none") ? PIPE_BT_REF_NONE : PIPE_BT_REF_MODEL;
    if (j->bt_ref == PIPE_BT_REF_MODEL) {
        const char *path = c->pcm.reference_model[0] ? c->pcm.reference_model : j->expert_paths[0];
        if (pipe_model_load_sharing(path, j->be, j->tok, j->expert_paths[0], &j->bt_model, err)) return -1;
        j->bt_model_loaded = true;
        if (j->bt_model.head != MODEL_HEAD_LM)
            return fx_errf(err, "pcm.reference_model: %s is not a language model", path);
    }
    return j->bt_ref == PIPE_BT_REF_DATA ? pipe_job_reference_texts(j, c, err) : 0;
}

int pipe_job_data_prefs(pipe_job *j, const fx_config *c, fx_err *err) {
    const char *key = c->pcm.preference_key;
    int K = j->K;
    j->data_pref = fx_calloc((size_t)j->ndata * (size_t)K, sizeof *j->data_pref);
    for (int i = 0; i < j->ndata; i++) {
        cJSON *o = cJSON_Parse(j->data[i].meta ? j->data[i].meta : "{}");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        char what[2 * FX_CFG_STR_LEN + 64];
        snprintf(what, sizeof what, "%s: problem %d: \"%s\" (pcm.preference_key)", c->grpo.data, i + 1, key);
        int bad = !cJSON_IsArray(v) || cJSON_GetArraySize(v) != K;
        for (int k = 0; !bad && k < K; k++) {
            const cJSON *x = cJSON_GetArrayItem(v, k);
            bad = !cJSON_IsNumber(x);
            if (!bad) j->data_pref[(size_t)i * K + k] = (float)x->valuedouble;
        }
        cJSON_Delete(o);
        if (bad) return fx_errf(err, "%s: expected a list of %d numbers, one per expert of pcm.experts", what, K);
        if (rollout_merge_check_pref(j->data_pref + (size_t)i * K, K, what, err)) return -1;
    }
    return 0;
}

int pipe_job_reference_texts(pipe_job *j, const fx_config *c, fx_err *err) {
    const char *key = c->pcm.reference_key;
    j->bt_text = fx_calloc((size_t)j->ndata, sizeof *j->bt_text);
    for (int i = 0; i < j->ndata; i++) {
        cJSON *o = cJSON_Parse(j->data[i].meta ? j->data[i].meta : "{}");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        if (cJSON_IsString(v)) j->bt_text[i] = fx_strdup(v->valuestring);
        cJSON_Delete(o);
        if (!j->bt_text[i])
            return fx_errf(err, "%s: problem %d: expected a string \"%s\" (pcm.reference_key), the problem's reference "
                                "response (pcm.reference = data)", c->grpo.data, i + 1, key);
    }
    return 0;
}

int pipe_job_open(pipe_job *j, const fx_config *c, unsigned roles, int threads, const comm_world *w, fx_err *err) {
    memset(j, 0, sizeof *j);
    j->roles = roles, j->rank = w ? w->rank : -1;
    j->next_request = w ? (int64_t)w->rank * 1000000000 : 0; // ids unique across scoring ranks, readable
    parse_choices(c, &j->g, &j->p, &j->train);
    j->be = pipeline_backend_open("cluster.backend", c->cluster.backend, c->cluster.precision, w ? w->local_rank : 0,
                                  threads, w ? comm_role_name(w->role) : "this process", err);
    if (!j->be) return -1;
    j->cuda = !strcmp(c->cluster.backend, "cuda");
    // Every role needs the tokenizer and the task; the policy's folder brings the tokenizer.
    policy_params pp = pipe_policy_params(c);
    sft_task_params tp = pipe_task_params(c);
    int trainers = w ? w->count[COMM_ROLE_TRAINER] : 1;
    if (roles & PIPE_TRAIN && j->p.shard == TRAINER_SHARD_FULL && trainers > 1) // never the whole policy here
        pp.shard_rank = w->role_rank, pp.shard_size = trainers;
    if (c->pcm.experts[0]) {
        if (open_pcm(j, c, &pp, roles, err)) return -1;
        tp.prompt.dir = j->expert_paths[0]; // the first expert's chat template
    } else if (policy_build(&pp, j->be, &j->policy, &j->tok, err))
        return -1;
    if (sft_task_init(&j->task, j->tok, &tp, err)) return -1;
    j->task_ready = true;
    j->task.task.error_rate = 0; // rewards come from the checker, not from written traces
    j->think_end = tok_token_id(j->tok, "</think>");
    rollout_data_opts d = {.prompt_key = c->grpo.prompt_key, .answer_key = c->grpo.answer_key,
                           .system_key = c->grpo.system_key, .count = INT_MAX};
    if (c->grpo.data[0]) {
        d.data = c->grpo.data;
        if (rollout_data_load(&d, &j->data, &j->ndata, err)) return -1;
    }
    if (j->K && !strcmp(c->pcm.preference_dist, "data") && pipe_job_data_prefs(j, c, err)) return -1;
    if (c->grpo.data[0] && c->grpo.eval_data[0]) {
        d.data = c->grpo.eval_data, d.count = (int)c->grpo.eval_problems;
        if (rollout_data_load(&d, &j->eval, &j->neval, err)) return -1;
    }
    int maxT = (int)c->model.max_seq, mb = (int)c->grpo.minibatch;
    if (roles & PIPE_TRAIN) { // the whole optimiser state, or this trainer's slice of it (trainer.shard)
        int T = w ? w->count[COMM_ROLE_TRAINER] : 1;
        trainer_dp shape = {.rank = w && T > 1 ? w->role_rank : 0, .size = T, .shard = j->p.shard,
                            .vocab_rows = j->p.vocab_rows};
        trainer_train_init(&j->policy, &shape);
        model_reserve(&j->policy, mb, maxT, true, (bool)c->trainer.recompute);
        for (int i = 0; i < j->K; i++) model_reserve(&j->experts[i], mb, maxT, false, false); // their log-probs
    }
    // The reference scores on the reward side (ref_on = reward) or beside the trainer.
    bool ref_here = c->grpo.kl_beta > 0 &&
                    ((roles & PIPE_SCORE && j->g.ref_on_reward) || (roles & PIPE_TRAIN && !j->g.ref_on_reward));
    pp.shard_rank = pp.shard_size = 0; // the reference is whole wherever it is
    if (ref_here) { // the starting policy, frozen: a PCM policy's is its starting PCM over the same experts
        if (j->K ? policy_build_pcm(&pp, j->K, j->policy.cfg.vocab_size, j->be, &j->ref, err)
                 : policy_build(&pp, j->be, &j->ref, &j->ref_tok, err))
            return -1;
        model_reserve(&j->ref, mb, maxT, false, false);
    }
    if (roles & PIPE_SCORE && c->reward.prm_path[0]) {
        if (prm_load(&j->prm, c->reward.prm_path, j->be, (float)c->reward.alpha, err)) return -1;
        j->has_prm = true;
    }
    if (roles & PIPE_SCORE && j->g.outcome == PIPE_OUTCOME_COMMAND) {
        reward_cmd_opts o = {c->reward.command, c->reward.timeout, (int)c->reward.workers};
        if (reward_cmd_open(&j->cmd, &o, err)) return -1;
    }
    if (roles & PIPE_SCORE && j->g.outcome == PIPE_OUTCOME_PLUGIN &&
        reward_plugin_open(&j->plugin, c->reward.plugin, c->reward.plugin_args, err))
        return -1;
    j->bt = j->K > 0 && !strcmp(c->pcm.reward, "bt");
    if (roles & PIPE_SCORE && j->bt && open_bt(j, c, err)) return -1;
    return 0;
}

void pipe_job_close(pipe_job *j) {
    if (j->has_dp) comm_dp_free(&j->dp);
    if (j->policy_nccl) comm_nccl_free(j->policy_nccl);
    if (j->task_ready) sft_task_free(&j->task);
    if (j->data) rollout_data_free(j->data, j->ndata);
    if (j->eval) rollout_data_free(j->eval, j->neval);
    if (j->policy.params_mem) model_free(&j->policy);
    for (int i = 0; i < j->K && j->experts_loaded; i++) model_free(&j->experts[i]);
    if (j->ref.params_mem) model_free(&j->ref);
    if (j->bt_model_loaded) model_free(&j->bt_model);
    for (int i = 0; j->bt_text && i < j->ndata; i++) free(j->bt_text[i]);
    free(j->bt_text);
    free(j->data_pref);
    if (j->has_prm) prm_free(&j->prm);
    reward_cmd_close(j->cmd);
    reward_plugin_close(j->plugin);
    if (j->info_log) fclose(j->info_log);
    tok_free(j->tok);
    tok_free(j->ref_tok);
    backend_destroy(j->be);
    memset(j, 0, sizeof *j);
}

// Problem `index` of the training stream: the built-in task's, or a line of grpo.data.
static void problem_of(const pipe_job *j, int64_t index, rollout_problem *p) {
    if (j->data) {
        *p = j->data[index % j->ndata];
        return;
    }
    *p = (rollout_problem){.builtin = true};
    task_generate(&j->task.task, j->task.seed ^ PIPE_RL_STREAM, (uint64_t)index, &p->task);
}

// The prompt's ids: the problem as a chat turn, generation prompt included.
static void prompt_ids(const pipe_job *j, const rollout_problem *p, tok_ids *out) {
    if (p->builtin) {
        sft_prompt(&j->task, &p->task, out);
        return;
    }
    fx_err err;
    if (tok_prompt_encode_as(&j->task.prompt, j->tok, p->system, p->prompt, NULL, out, &err))
        fx_fatal_at(__FILE__, __LINE__, FX_EXIT_INPUT, "%s", err.msg);
}

// A trace's response as text, its final stop id left out (caller frees).
static char *response_text(const pipe_job *j, const trace *t) {
    return rollout_response_text_stop(j->tok, t->response, t->n_response, j->task.prompt.stop, j->task.prompt.nstop);
}

void pipe_job_prompt(const pipe_job *j, int64_t index, tok_ids *out) {
    rollout_problem p;
    problem_of(j, index, &p);
    prompt_ids(j, &p, out);
}

// The problem's text, as the PRM reads it (caller frees).
static char *problem_text(const rollout_problem *p) { return p->builtin ? task_prompt(&p->task) : fx_strdup(p->prompt); }

static bool job_eval(pipe_job *j, sft_eval_result *r);

bool pipe_job_eval(pipe_job *j, sft_eval_result *r) {
    // a sharded leader's policy is evaluated on the rollout side (side_ranks.c)
    FX_ASSERT(!j->policy.params_layer || j->policy.params_whole);
    return job_eval(j, r);
}

static bool job_eval(pipe_job *j, sft_eval_result *r) {
    memset(r, 0, sizeof *r);
    j->mix.pref = j->pref, j->mix.per_request = false; // a PCM policy: evaluated at one preference
    if (!j->data) {
        sft_eval(&j->task, &j->policy, j->K ? &j->mix : NULL, NULL, j->p.eval_problems, 32, r);
        return true;
    }
    if (!j->eval) return false;
    int B = 32, max_new = j->p.max_new;
    char **texts = fx_malloc((size_t)B * sizeof *texts);
    int *len = fx_malloc((size_t)B * sizeof *len), *plen = fx_malloc((size_t)B * sizeof *plen);
    tok_ids *prompts = fx_calloc((size_t)B, sizeof *prompts);
    const int32_t **pp = fx_malloc((size_t)B * sizeof *pp);
    const tok_prompt *stop = &j->task.prompt;
    for (int first = 0; first < j->neval; first += B) {
        int n = j->neval - first < B ? j->neval - first : B;
        for (int b = 0; b < n; b++) {
            prompts[b].n = 0;
            prompt_ids(j, &j->eval[first + b], &prompts[b]);
            pp[b] = prompts[b].ids, plen[b] = (int)prompts[b].n;
        }
        rollout_decode_opts o = {.max_new = max_new, .stop = stop->stop, .nstop = stop->nstop}; // greedy
        fx_err err;
        if (!j->K) rollout_decode_texts(&j->policy, j->tok, pp, plen, n, &o, j->task.eos, texts, len);
        else if (rollout_engine_texts(&j->mix, j->tok, pp, plen, n, &o, j->task.eos, texts, len, &err))
            fx_fatal("held-out evaluation: %s", err.msg);
        for (int b = 0; b < n; b++) {
            char *text = texts[b];
            r->answer_acc += rollout_judge(&j->eval[first + b], text, j->task.prompt.opens_think, NULL);
            r->closed += j->think_end >= 0 && strstr(text, "</think>") != NULL;
            r->mean_len += len[b];
            free(text);
        }
    }
    r->n = j->neval;
    r->answer_acc /= j->neval, r->closed /= j->neval, r->mean_len /= j->neval;
    for (int b = 0; b < B; b++) tok_ids_free(&prompts[b]);
    free(texts), free(len), free(plen), free(prompts), free(pp);
    return true;
}

void pipe_job_generate(pipe_job *j, const int64_t *problems, int n, trace_batch *out) {
    int G = j->p.group_size, rows = n * G, max_new = j->p.max_new;
    tok_ids *prompts = fx_calloc((size_t)(n ? n : 1), sizeof *prompts);
    const int32_t **pp = fx_malloc((size_t)(rows ? rows : 1) * sizeof *pp);
    int *plen = fx_malloc((size_t)(rows ? rows : 1) * sizeof *plen);
    uint64_t *streams = fx_malloc((size_t)(rows ? rows : 1) * sizeof *streams);
    for (int p = 0; p < n; p++) {
        rollout_problem prob;
        problem_of(j, problems[p], &prob);
        prompt_ids(j, &prob, &prompts[p]);
        if ((int64_t)prompts[p].n + max_new > j->p.max_seq) // the trainer's buffers hold max_seq tokens a row
            fx_fatal_at(__FILE__, __LINE__, FX_EXIT_INPUT,
                        "%s problem %lld: its prompt is %zu tokens, and with grpo.max_new = %d that exceeds "
                        "model.max_seq = %d (raise model.max_seq or lower grpo.max_new)",
                        j->data ? "grpo.data" : "the built-in task's",
                        (long long)(j->data ? problems[p] % j->ndata + 1 : problems[p]), prompts[p].n, max_new,
                        j->p.max_seq);
        for (int g = 0; g < G; g++) {
            int i = p * G + g;
            pp[i] = prompts[p].ids, plen[i] = (int)prompts[p].n;
            streams[i] = rollout_stream((uint64_t)problems[p], (uint64_t)g);
        }
    }
    int32_t *ids = fx_malloc((size_t)(rows ? rows : 1) * max_new * sizeof *ids);
    float *lp = fx_malloc((size_t)(rows ? rows : 1) * max_new * sizeof *lp);
    int *len = fx_malloc((size_t)(rows ? rows : 1) * sizeof *len);
    int32_t *finish = fx_malloc((size_t)(rows ? rows : 1) * sizeof *finish);
    rollout_decode_opts o = {.sample = j->p.sample, .seed = j->p.seed, .stream = streams, .max_new = max_new,
                             .stop = j->task.prompt.stop, .nstop = j->task.prompt.nstop};
    if (rows) { // the continuous-batching engine: rollout.slots sequences at a time, bit-identical samples
        int longest = 0;
        for (int i = 0; i < rows; i++) longest = plen[i] > longest ? plen[i] : longest;
        int kv = j->p.kv_tokens > 0 ? j->p.kv_tokens : longest + max_new;
        int slots = j->p.slots < rows ? j->p.slots : rows;
        rollout_engine e;
        fx_err err;
        float *pref = NULL;
        if (j->K) { // a PCM policy: each row at its problem's preference
            pref = fx_malloc((size_t)rows * (size_t)j->K * sizeof *pref);
            for (int i = 0; i < rows; i++) pipe_job_pref(j, problems[i / G], pref + (size_t)i * j->K);
            j->mix.pref = pref, j->mix.per_request = true;
        }
        if ((j->K ? rollout_engine_init_merged(&e, &j->mix, slots, kv, &err) : rollout_engine_init(&e, &j->policy, slots, kv, &err)) ||
            rollout_engine_run(&e, pp, plen, rows, &o, ids, lp, len, finish, NULL, NULL, &err))
            fx_fatal("rollout: %s", err.msg);
        if (!j->engine_logged)
            fx_info("rollout engine: %d slots x %d tokens, KV cache %.1f MiB (parameters %.1f MiB)", e.slots, kv,
                    (double)e.kv_bytes / (1 << 20), (double)e.param_bytes / (1 << 20));
        j->engine_logged = true;
        rollout_engine_free(&e);
        free(pref);
    }
    trace_batch_clear(out);
    for (int i = 0; i < rows; i++) {
        const int32_t *resp = ids + (size_t)i * max_new;
        int32_t think = -1;
        for (int t = 0; t < len[i] && j->think_end >= 0; t++)
            if (resp[t] == j->think_end) {
                think = t;
                break;
            }
        trace t = {.group = problems[i / G], .sample = i % G, .policy_version = j->version, .finish = finish[i],
                   .think_end = think, .n_prompt = plen[i], .n_response = len[i], .prompt = pp[i],
                   .response = resp, .logprobs = lp + (size_t)i * max_new, .outcome_reward = NAN,
                   .trajectory_reward = NAN, .final_reward = NAN};
        trace_batch_add(out, &t);
    }
    for (int p = 0; p < n; p++) tok_ids_free(&prompts[p]);
    free(prompts), free(pp), free(plen), free(streams), free(ids), free(lp), free(len), free(finish);
}

static const char *piece(void *ctx, int32_t id, size_t *len) {
    const tok_tokenizer *t = ctx;
    if (tok_is_special(t, id)) return *len = 0, NULL;
    return tok_token_bytes(t, id, len);
}

// The text of response tokens [a, b) as a PRM step: special tokens dropped, whitespace trimmed.
static char *step_text(const pipe_job *j, const int32_t *resp, int a, int b) {
    size_t cap = 16, n = 0;
    char *s = fx_malloc(cap);
    for (int t = a; t < b; t++) {
        size_t len = 0;
        const char *bytes = piece(j->tok, resp[t], &len);
        if (!bytes) continue;
        if (n + len + 1 > cap) {
            while (n + len + 1 > cap) cap *= 2;
            s = fx_realloc(s, cap);
        }
        memcpy(s + n, bytes, len), n += len;
    }
    s[n] = '\0';
    size_t lo = 0;
    while (lo < n && (s[lo] == ' ' || s[lo] == '\n' || s[lo] == '\t')) lo++;
    while (n > lo && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t')) n--;
    memmove(s, s + lo, n - lo);
    s[n - lo] = '\0';
    return s;
}

// The response's steps (split at blank lines and </think>) as texts: ends and parts filled, texts[k]
// malloc'd (caller frees). Returns the number of steps.
static int split_step_texts(const pipe_job *j, const int32_t *resp, int R, int32_t *step_end, uint8_t *part,
                            char **texts) {
    steps_params sp = {NULL, j->think_end, j->task.prompt.opens_think};
    int32_t think;
    int n = R ? steps_split(resp, R, &sp, piece, j->tok, step_end, part, MAX_PRM_STEPS, &think) : 0;
    for (int k = 0; k < n; k++) texts[k] = step_text(j, resp, k ? step_end[k - 1] : 0, step_end[k]);
    return n;
}

// The PRM's step rewards over the response's steps (split at blank lines and </think>), its
// trajectory reward and r^. Returns the number of steps (ends in step_end), or -1 when the PRM
// cannot take the trace (logged; the trace then gets r^ = 0).
static int prm_steps(pipe_job *j, const char *problem, const int32_t *resp, int R, int32_t *step_end,
                     uint8_t *part, float *reward, float *traj, float *score) {
    char *texts[MAX_PRM_STEPS];
    const char *ptrs[MAX_PRM_STEPS];
    int n = split_step_texts(j, resp, R, step_end, part, texts);
    for (int k = 0; k < n; k++) ptrs[k] = texts[k];
    prm_result r = {.step = reward};
    fx_err err;
    int rc = prm_score(&j->prm, problem, ptrs, n, &r, &err);
    for (int k = 0; k < n; k++) free(texts[k]);
    if (rc) {
        fx_warn("PRM: %s; the trace gets r^ = 0", err.msg);
        *traj = 0, *score = 0;
        return -1;
    }
    *traj = r.trajectory, *score = r.score;
    return n;
}

// reward.mix = reasonflux: the PRM read once after the whole response — the 2-class head's
// P(class 1) at one "<extra_0>" after it (the release's verl reward), or the scalar head's sigmoid at
// its last token. 0 (logged) when the PRM cannot take the trace.
static float prm_whole_response(pipe_job *j, const char *problem, const int32_t *resp, int R) {
    char *text = step_text(j, resp, 0, R);
    const char *one[1] = {text};
    float step;
    prm_result r = {.step = &step};
    fx_err err;
    int rc = prm_score(&j->prm, problem, one, 1, &r, &err);
    free(text);
    if (rc) {
        fx_warn("PRM: %s; the trace's reasonflux read-out is 0", err.msg);
        return 0;
    }
    return step;
}

// Text that is valid UTF-8 (a sampled response may end inside a character), malloc'd.
static char *valid_utf8(char *s) {
    size_t n;
    char *v = tok_utf8_sanitize(s, strlen(s), &n);
    free(s);
    return v;
}

// What an external reward returned for a batch: outcome, and the steps it scored.
typedef struct {
    reward_result *res;
    double *step;     // (n, MAX_PRM_STEPS)
    int32_t *ends;    // (n, MAX_PRM_STEPS)
    uint8_t *parts;   // (n, MAX_PRM_STEPS)
    int *nsteps;      // (n)
    double *dims;     // (n, K): the reward dimensions (pcm.reward = bt), else NULL
} external_batch;

// One line per result that has an "info": RUN_DIR/reward_info.jsonl (reward_info.rN.jsonl on world rank N).
static void log_infos(pipe_job *j, const reward_request *req, const trace_batch *in, const external_batch *x) {
    for (int64_t i = 0; i < in->n; i++) {
        if (!x->res[i].info) continue;
        if (!j->info_log) {
            const char *dir = j->p.run_dir;
            char path[PIPE_RUN_DIR_LEN + 32];
            if (j->rank >= 0) snprintf(path, sizeof path, "%s/reward_info.r%d.jsonl", dir, j->rank);
            else snprintf(path, sizeof path, "%s/reward_info.jsonl", dir);
            fx_err err;
            if (fx_mkdir_p(dir, &err)) fx_fatal("%s", err.msg);
            j->info_log = fx_fopen(path, "a");
        }
        fprintf(j->info_log, "{\"id\":%lld,\"group\":%lld,\"sample\":%d,\"policy_version\":%lld,\"reward\":%.17g,\"info\":%s}\n",
                (long long)req[i].id, (long long)in->group[i], in->sample[i], (long long)in->policy_version[i],
                x->res[i].reward, x->res[i].info);
    }
    if (j->info_log) fflush(j->info_log);
}

// reward.outcome = command or plugin: every trace of `in` as a request, scored in one batch.
// A failure after the retry ends the job (exit 1) with the message naming the request.
static void external_score(pipe_job *j, const trace_batch *in, external_batch *x) {
    int n = (int)in->n;
    size_t rows = (size_t)(n ? n : 1);
    reward_request *req = fx_calloc(rows, sizeof *req);
    char **texts = fx_calloc(rows * MAX_PRM_STEPS, sizeof *texts);
    x->res = fx_calloc(rows, sizeof *x->res);
    x->step = fx_malloc(rows * MAX_PRM_STEPS * sizeof *x->step);
    x->ends = fx_malloc(rows * MAX_PRM_STEPS * sizeof *x->ends);
    x->parts = fx_malloc(rows * MAX_PRM_STEPS * sizeof *x->parts);
    x->nsteps = fx_calloc(rows, sizeof *x->nsteps);
    x->dims = j->bt ? fx_calloc(rows * (size_t)j->K, sizeof *x->dims) : NULL;
    for (int i = 0; i < n; i++) {
        trace t = trace_batch_get(in, i);
        rollout_problem prob;
        problem_of(j, t.group, &prob);
        char answer[32], **tx = texts + (size_t)i * MAX_PRM_STEPS;
        if (prob.builtin) snprintf(answer, sizeof answer, "%lld", (long long)task_answer(&prob.task));
        int ns = split_step_texts(j, t.response, t.n_response, x->ends + (size_t)i * MAX_PRM_STEPS,
                                  x->parts + (size_t)i * MAX_PRM_STEPS, tx);
        for (int k = 0; k < ns; k++) tx[k] = valid_utf8(tx[k]);
        x->nsteps[i] = ns;
        req[i] = (reward_request){
            .id = j->next_request++,
            .problem = valid_utf8(problem_text(&prob)),
            .response = valid_utf8(response_text(j, &t)),
            .answer = fx_strdup(prob.builtin ? answer : prob.gold),
            .steps = (const char *const *)tx,
            .nsteps = ns,
            .meta = prob.builtin ? (j->task.prompt.opens_think ? "{\"builtin\":true,\"opened_think\":true}"
                                                                 : "{\"builtin\":true,\"opened_think\":false}")
                                 : prob.meta ? prob.meta : "{}",
        };
        x->res[i].step = x->step + (size_t)i * MAX_PRM_STEPS;
        if (j->bt) x->res[i].ndims = j->K, x->res[i].dims = x->dims + (size_t)i * j->K;
    }
    fx_err err;
    int rc = j->cmd ? reward_cmd_score(j->cmd, req, n, x->res, &err) : reward_plugin_score(j->plugin, req, n, x->res, &err);
    if (rc) {
        if (j->cmd) reward_cmd_close(j->cmd), j->cmd = NULL; // every worker stopped and reaped before the exit
        fx_fatal("%s", err.msg);
    }
    for (int i = 0; i < n && j->g.outcome_steps; i++)
        if (!x->res[i].has_steps && x->nsteps[i] > 0)
            fx_fatal("grpo.step_rewards = \"outcome\": the result of request %lld (%d steps) has no step_rewards",
                     (long long)req[i].id, x->nsteps[i]);
    log_infos(j, req, in, x);
    for (int i = 0; i < n; i++) {
        free((char *)req[i].problem), free((char *)req[i].response), free((char *)req[i].answer);
        for (int k = 0; k < x->nsteps[i]; k++) free(texts[(size_t)i * MAX_PRM_STEPS + k]);
        free(x->res[i].info);
    }
    free(req), free(texts);
}

static void external_free(external_batch *x) {
    free(x->res), free(x->step), free(x->ends), free(x->parts), free(x->nsteps), free(x->dims);
}

// pcm.reward = bt: the reference response of each problem of `in` (in the order first seen), as a
// trace of its own (sample -1), scored on the K dimensions by the external reward. Returns the
// references' rewards, (problems, K), and uniq[i], trace i's problem; pcm.reference = none: zeros.
static double *bt_reference_rewards(pipe_job *j, const trace_batch *in, int *uniq) {
    int n = (int)in->n, K = j->K, nu = 0, max_new = j->p.max_new;
    int64_t *groups = fx_malloc((size_t)(n ? n : 1) * sizeof *groups);
    for (int i = 0; i < n; i++) {
        int u = 0;
        while (u < nu && groups[u] != in->group[i]) u++;
        if (u == nu) groups[nu++] = in->group[i];
        uniq[i] = u;
    }
    double *ref = fx_calloc((size_t)(nu ? nu : 1) * (size_t)K, sizeof *ref);
    if (j->bt_ref == PIPE_BT_REF_NONE || !nu) {
        free(groups);
        return ref;
    }
    size_t rows = (size_t)nu;
    tok_ids *prompts = fx_calloc(rows, sizeof *prompts), *texts = fx_calloc(rows, sizeof *texts);
    const int32_t **pp = fx_malloc(rows * sizeof *pp);
    int *plen = fx_malloc(rows * sizeof *plen), *len = fx_calloc(rows, sizeof *len);
    int32_t *ids = fx_calloc(rows * (size_t)max_new, sizeof *ids), *finish = fx_calloc(rows, sizeof *finish);
    float *lp = fx_calloc(rows * (size_t)max_new, sizeof *lp);
    int longest = 0;
    for (int u = 0; u < nu; u++) {
        rollout_problem prob;
        problem_of(j, groups[u], &prob);
        prompt_ids(j, &prob, &prompts[u]);
        pp[u] = prompts[u].ids, plen[u] = (int)prompts[u].n;
        longest = plen[u] > longest ? plen[u] : longest;
    }
    if (j->bt_ref == PIPE_BT_REF_MODEL) { // greedy, through the engine: the same text in any batch
        rollout_decode_opts o = {.max_new = max_new, .stop = j->task.prompt.stop, .nstop = j->task.prompt.nstop};
        int slots = j->p.slots < nu ? j->p.slots : nu;
        rollout_engine e;
        fx_err err;
        if (rollout_engine_init(&e, &j->bt_model, slots, longest + max_new, &err) ||
            rollout_engine_run(&e, pp, plen, nu, &o, ids, lp, len, finish, NULL, NULL, &err))
            fx_fatal("pcm.reference_model: %s", err.msg);
        rollout_engine_free(&e);
    } else
        for (int u = 0; u < nu; u++) { // the data's text, as the tokenizer reads it
            const char *text = j->bt_text[groups[u] % j->ndata];
            tok_encode(j->tok, text, strlen(text), &texts[u]);
            len[u] = texts[u].n < (size_t)max_new ? (int)texts[u].n : max_new;
            memcpy(ids + (size_t)u * max_new, texts[u].ids, (size_t)len[u] * sizeof *ids);
        }
    trace_batch rb;
    trace_batch_init(&rb);
    for (int u = 0; u < nu; u++) {
        trace t = {.group = groups[u], .sample = -1, .policy_version = j->version, .finish = finish[u],
                   .think_end = -1, .n_prompt = plen[u], .n_response = len[u], .prompt = pp[u],
                   .response = ids + (size_t)u * max_new, .logprobs = lp + (size_t)u * max_new,
                   .outcome_reward = NAN, .trajectory_reward = NAN, .final_reward = NAN};
        trace_batch_add(&rb, &t);
    }
    external_batch x = {0};
    external_score(j, &rb, &x);
    memcpy(ref, x.dims, rows * (size_t)K * sizeof *ref);
    external_free(&x);
    trace_batch_free(&rb);
    for (int u = 0; u < nu; u++) tok_ids_free(&prompts[u]), tok_ids_free(&texts[u]);
    free(groups), free(prompts), free(texts), free(pp), free(plen), free(len), free(ids), free(finish), free(lp);
    return ref;
}

// Reference log-probs of every response token of b, `mb` traces per forward pass.
void pipe_job_score(pipe_job *j, const trace_batch *in, trace_batch *out, double *prm_mean) {
    bool prm_steps_wanted = j->g.prm_steps;
    trace_batch_clear(out);
    external_batch x = {0};
    if (j->g.outcome != PIPE_OUTCOME_VERIFIER) external_score(j, in, &x);
    int *uniq = j->bt ? fx_malloc((size_t)(in->n ? in->n : 1) * sizeof *uniq) : NULL;
    double *ref = j->bt ? bt_reference_rewards(j, in, uniq) : NULL;
    double prm_sum = 0;
    int32_t ends[MAX_PRM_STEPS], pends[MAX_PRM_STEPS];
    uint8_t parts[MAX_PRM_STEPS], pparts[MAX_PRM_STEPS];
    float rewards[MAX_PRM_STEPS], prewards[MAX_PRM_STEPS];
    for (int64_t i = 0; i < in->n; i++) {
        trace t = trace_batch_get(in, i);
        rollout_problem prob;
        problem_of(j, t.group, &prob);
        char *text = response_text(j, &t);
        char *extracted = NULL;
        t.outcome_reward = rollout_judge(&prob, text, j->task.prompt.opens_think, &extracted) ? 1.0f : 0.0f;
        bool format_ok = extracted != NULL; // the verifier's extraction, whatever the outcome's source
        free(extracted), free(text);
        if (x.res) t.outcome_reward = (float)x.res[i].reward;
        // Steps: the checker's (the task's steps, each labelled right or wrong) by default.
        int n = prob.builtin ? sft_step_rewards(&j->task, &prob.task, t.response, t.n_response, MAX_STEPS, ends, rewards)
                             : 0;
        for (int k = 0; k < n; k++) parts[k] = t.think_end >= 0 && ends[k] > t.think_end + 1;
        if (j->g.outcome_steps) {
            n = x.nsteps[i];
            size_t o = (size_t)i * MAX_PRM_STEPS;
            memcpy(ends, x.ends + o, (size_t)n * sizeof *ends), memcpy(parts, x.parts + o, (size_t)n);
            for (int k = 0; k < n; k++) rewards[k] = (float)x.step[o + k];
        }
        float score = NAN;
        t.trajectory_reward = NAN;
        if (j->has_prm && (!j->g.reasonflux || prm_steps_wanted)) {
            char *problem = problem_text(&prob);
            float traj;
            int pn = prm_steps(j, problem, t.response, t.n_response, pends, pparts, prewards, &traj, &score);
            free(problem);
            t.trajectory_reward = traj;
            if (prm_steps_wanted) {
                n = pn > 0 ? pn : 0;
                memcpy(ends, pends, (size_t)n * sizeof *ends), memcpy(parts, pparts, (size_t)n);
                memcpy(rewards, prewards, (size_t)n * sizeof *rewards);
            }
        }
        if (j->has_prm && j->g.reasonflux) { // the read-out the mix uses, also kept as the trajectory reward
            char *problem = problem_text(&prob);
            score = t.trajectory_reward = prm_whole_response(j, problem, t.response, t.n_response);
            free(problem);
        }
        if (j->has_prm) prm_sum += score;
        t.n_steps = n, t.step_end = ends, t.step_part = parts, t.step_reward = rewards;
        float outcome = t.outcome_reward;
        if (j->bt) { // the preference-weighted reward takes the outcome's place
            float w[ROLLOUT_MERGE_MAX_EXPERTS];
            pipe_job_pref(j, t.group, w);
            outcome = (float)reward_bt(x.dims + (size_t)i * j->K, ref + (size_t)uniq[i] * j->K, w, j->K);
        }
        t.final_reward = reward_mix(&j->p.mix, outcome, j->has_prm ? score : 0, format_ok, t.n_response);
        t.ref_logprobs = NULL;
        trace_batch_add(out, &t);
    }
    external_free(&x);
    free(uniq), free(ref);
    if (j->ref.params_mem && j->g.ref_on_reward) grpo_ref_logprobs(&j->ref, out, j->p.ref_batch);
    *prm_mean = j->has_prm && in->n ? prm_sum / (double)in->n : NAN;
}

int pipe_job_keep_groups(const pipe_job *j, const trace_batch *in, trace_batch *out, int room) {
    bool filter = j->g.filter;
    int kept = 0;
    for (int64_t i = 0; i < in->n && kept < room;) {
        int64_t e = i;
        bool differ = false;
        while (e < in->n && in->group[e] == in->group[i]) differ |= in->final_reward[e] != in->final_reward[i], e++;
        if (!filter || differ) {
            for (int64_t k = i; k < e; k++) {
                trace t = trace_batch_get(in, k);
                trace_batch_add(out, &t);
            }
            kept++;
        }
        i = e;
    }
    return kept;
}

void pipe_job_train(pipe_job *j, const trace_batch *tb, int update, pipe_update *u) {
    grpo_train_params p = j->train;
    float *pref = NULL;
    if (j->K) { // a PCM policy: the experts' merge, each trace at its problem's preference
        pref = fx_malloc((size_t)(tb->n ? tb->n : 1) * (size_t)j->K * sizeof *pref);
        for (int64_t i = 0; i < tb->n; i++) pipe_job_pref(j, tb->group[i], pref + (size_t)i * j->K);
        p.update.experts = j->mix.experts, p.update.pref = pref;
    }
    grpo_train_on_traces(&j->policy, &j->ref, tb, &p, j->version, update, j->has_dp ? &j->dp_hook : NULL, u);
    free(pref);
    j->version++;
}

void pipe_job_pref(const pipe_job *j, int64_t index, float *w) {
    if (j->pref_fixed) memcpy(w, j->pref, (size_t)j->K * sizeof *w);
    else if (j->data_pref) memcpy(w, j->data_pref + (size_t)(index % j->ndata) * j->K, (size_t)j->K * sizeof *w);
    else rollout_merge_draw_pref_from(j->p.seed, (uint64_t)index, j->K, &j->pref_dist, w);
}

const char *pipe_job_tokenizer_dir(const pipe_job *j, const fx_config *c) {
    return j->K ? j->expert_paths[0] : c->model.path;
}

bool pipe_job_sharded(const pipe_job *j) {
    return j->has_dp && j->dp_hook.size > 1 && j->policy.params_layer != NULL;
}

// The weights [lo, hi) into dst, gathered from the trainers' slices (a collective of them).
static void fill_from_slices(void *ctx, size_t lo, size_t hi, float *dst) {
    const pipe_job *j = ctx;
    trainer_params_collect_range(&j->policy, &j->dp_hook, lo, hi, dst);
}

// The leader to every other trainer: serve the weights for a sync or a save.
static void tell_trainers(pipe_job *j, int kind) {
    msg_buf m = {0};
    for (int r = 1; r < j->dp_hook.size; r++) {
        if (kind == MSG_SYNC) msg_encode_sync(&m, j->world->rank, j->version, 0);
        else msg_encode_save(&m, j->world->rank, 0);
        msg_send(&m, j->world->first[COMM_ROLE_TRAINER] + r, MSG_TAG_TRAIN);
    }
    msg_buf_free(&m);
}

void pipe_job_serve_save(pipe_job *j) { trainer_serve_save(&j->policy, &j->dp_hook); }

int pipe_job_save_policy(pipe_job *j, const fx_config *c, const char *dir, fx_err *err) {
    bool sharded = pipe_job_sharded(j);
    if (sharded) tell_trainers(j, MSG_SAVE);
    if (trainer_policy_save(pipe_job_tokenizer_dir(j, c), &j->policy, sharded ? &j->dp_hook : NULL, dir, err))
        return -1;
    if (!j->K) return 0;
    for (int i = 0; i < j->K && !j->experts_hashed; i++) // once: the experts are frozen
        if (pipe_expert_hash(j->expert_paths[i], &j->expert_hash[i], err)) return -1;
    j->experts_hashed = true;
    return pipe_pcm_name_experts(dir, (const char *const *)j->expert_paths, j->expert_hash, j->K, err);
}

void pipe_job_dp_init(pipe_job *j, const comm_world *w) {
    comm_dp_init(&j->dp, w->role_comm);
    fx_err err;
    if (j->cuda && w->count[COMM_ROLE_TRAINER] > 1 && comm_dp_use_nccl(&j->dp, backend_cuda_stream(j->be), &err))
        fx_fatal("%s", err.msg);
    j->dp_hook = comm_dp_hook(&j->dp);
    j->dp_hook.shard = j->p.shard;
    j->dp_hook.vocab_rows = j->p.vocab_rows;
    j->world = w;
    trainer_attach(&j->policy, &j->dp_hook);
    j->has_dp = true;
}

trainer_shard pipe_shard(const fx_config *c) {
    return !strcmp(c->trainer.shard, "optimizer")   ? TRAINER_SHARD_OPTIMIZER
           : !strcmp(c->trainer.shard, "gradients") ? TRAINER_SHARD_GRADIENTS
           : !strcmp(c->trainer.shard, "full")      ? TRAINER_SHARD_FULL
                                                    : TRAINER_SHARD_NONE;
}

void pipe_job_share_start(pipe_job *j, const comm_world *w, train_ckpt *ck, bool resumed) {
    if (w->count[COMM_ROLE_TRAINER] < 2) return;
    train_ckpt_share(ck, &j->policy, &j->dp_hook, resumed);
    int64_t version = j->version;
    comm_dp_bcast_i64(&j->dp, &version, 1);
    j->version = version;
}

// The buckets of a weight sync, in floats (wsync's, and the NCCL path's below).
#define SYNC_BUCKET (WSYNC_BUCKET_BYTES_DEFAULT / sizeof(float))

void pipe_job_serve_sync(pipe_job *j) {
    size_t n = j->policy.nparams;
    for (size_t off = 0; off < n; off += SYNC_BUCKET)
        trainer_params_collect_range(&j->policy, &j->dp_hook, off, n - off < SYNC_BUCKET ? n : off + SYNC_BUCKET,
                                     NULL);
}

int pipe_job_sync_policy(pipe_job *j, const comm_world *w, int64_t *version, fx_err *err) {
    model *m = &j->policy;
    bool sharded = pipe_job_sharded(j);
    if (sharded) tell_trainers(j, MSG_SYNC);
    if (!j->cuda) { // the leader's weights, or with sharded weights each bucket gathered from the slices
        if (wsync_broadcast_each(sharded ? NULL : model_params_of(m), m->nparams, version, SYNC_BUCKET * sizeof(float), 0,
                                 w->policy_comm, sharded ? fill_from_slices : NULL, j, err))
            return -1;
        j->synced_bytes += m->nparams * sizeof(float);
        return 0;
    }
    if (!j->policy_nccl && !(j->policy_nccl = comm_nccl_create(w->policy_comm, err))) return -1;
    int64_t head[2] = {*version, (int64_t)m->nparams};
    COMM_CHECK(MPI_Bcast(head, 2, MPI_INT64_T, 0, w->policy_comm));
    if (head[1] != (int64_t)m->nparams)
        fx_fatal("weight sync: the trainer leader sends %lld parameters but this rank's model has %zu",
                 (long long)head[1], m->nparams);
    // in buckets, as the MPI path: a sharded leader gathers each into host memory and sends it
    // through one bucket of device memory
    size_t n = m->nparams, room = n < SYNC_BUCKET ? n : SYNC_BUCKET;
    float *stage = sharded ? j->be->alloc(j->be->ctx, room * sizeof(float)) : NULL;
    float *host = sharded ? fx_malloc(room * sizeof(float)) : NULL;
    for (size_t off = 0; off < n; off += SYNC_BUCKET) {
        size_t len = n - off < SYNC_BUCKET ? n - off : SYNC_BUCKET;
        float *buf = stage ? stage : model_params_of(m) + off;
        if (stage) {
            fill_from_slices(j, off, off + len, host);
            j->be->upload(j->be->ctx, stage, host, len * sizeof(float));
        }
        comm_nccl_broadcast(j->policy_nccl, buf, len, 0, backend_cuda_stream(j->be));
    }
    if (stage) j->be->free(j->be->ctx, stage);
    free(host);
    *version = head[0];
    j->synced_bytes += m->nparams * sizeof(float);
    return 0;
}
