// job.h — the pieces of `fluxrl train` (GRPO on the built-in task) that every role runs:
// generating the groups of a list of problems (rollout), scoring them (reward: the verifier's
// outcome, step rewards from the task's checker or the PRM, the PRM's r^, the mixed reward and the
// reference policy's log-probs), and one policy update on scored groups (trainer). The one-process
// run and the distributed one call the same functions on the same data in the same
// order, so on CPU with the same seed they compute the same numbers. The loops that call them are
// pipeline/leader.c (the trainer leader) and pipeline/*_rank.c (the other roles).
#ifndef FLUXRL_PIPE_JOB_H
#define FLUXRL_PIPE_JOB_H

#include "../comm/comm.h"
#include "../comm/dp.h"
#include "../comm/nccl.h"
#include "../core/config.h"
#include "../reward/external.h"
#include "../reward/prm.h"
#include "../reward/reward.h"
#include "../rollout/dataset.h"
#include "../rollout/merge.h"
#include "../rollout/sample.h"
#include "../rollout/trace.h"
#include "../trainer/grpo_train.h"
#include "../trainer/grpo_update.h"
#include "../trainer/policy.h"
#include "../trainer/sft.h"
#include "../trainer/train_ckpt.h"
#include "params.h"

#define PIPE_RL_STREAM 0x72167a5eedull // training problems for RL: a generator stream of their own

enum { PIPE_GENERATE = 1, PIPE_SCORE = 2, PIPE_TRAIN = 4 };

// The scoring and sampling choices that are strings in the config, parsed once (pipe_job_open);
// the update's are in grpo_train_params.
typedef enum { PIPE_OUTCOME_VERIFIER = 0, PIPE_OUTCOME_COMMAND, PIPE_OUTCOME_PLUGIN } pipe_outcome;
typedef enum { PIPE_BT_REF_MODEL = 0, PIPE_BT_REF_DATA, PIPE_BT_REF_NONE } pipe_bt_reference;

typedef struct {
    bool ref_on_reward;       // grpo.ref_on = reward: reference log-probs come with the scored traces
    bool prm_steps;           // grpo.step_rewards = prm
    bool outcome_steps;       // grpo.step_rewards = outcome: the external reward's step_rewards
    pipe_outcome outcome;     // reward.outcome
    bool reasonflux;          // reward.mix = reasonflux
    bool filter;              // dynamic sampling: drop groups whose rewards are all equal
} pipe_grpo_choice;

// The numbers the role functions read (grpo.*, rollout.*, reward.*), from the config once
// (pipe_job_open).
typedef struct {
    int group_size, max_new; // samples per problem, tokens per sample
    int max_seq;             // model.max_seq: the longest prompt + response the trainers hold
    sample_params sample;    // grpo.temperature, grpo.top_p
    uint64_t seed;           // run.seed: the samples' streams
    int kv_tokens, slots;    // rollout.kv_tokens (<= 0: the longest prompt + max_new), rollout.slots
    int eval_problems;       // grpo.eval_problems
    int ref_batch;           // grpo.minibatch: traces per reference forward pass
    reward_mix_params mix;   // reward.beta, format and length penalties, reward.mix
    trainer_shard shard;     // trainer.shard
    int vocab_rows;          // trainer.vocab_chunk
    char run_dir[PIPE_RUN_DIR_LEN]; // where reward_info.jsonl goes
} pipe_job_params;

typedef grpo_train_stats pipe_update;

typedef struct {
    unsigned roles;
    backend *be;
    tok_tokenizer *tok;
    sft_task task;
    bool task_ready;
    pipe_grpo_choice g;    // the config's string choices, parsed
    pipe_job_params p;     // the role functions' numbers
    grpo_train_params train; // the update's parameters, from grpo.*
    model policy;          // generate / train
    model ref;             // the reference policy (the starting one, frozen), where the KL needs it
    tok_tokenizer *ref_tok;
    prm_scorer prm;        // reward.prm_path, on scoring ranks
    bool has_prm;
    reward_cmd *cmd;       // reward.outcome = command, on scoring ranks
    reward_plugin *plugin; // reward.outcome = plugin, on scoring ranks
    int64_t next_request;  // id of the next external reward request (unique per scoring rank)
    int rank;              // world rank (-1: one process), for the reward_info file's name
    FILE *info_log;        // RUN_DIR/reward_info[.rN].jsonl: the external rewards' "info", opened at the first
    int32_t think_end;     // "</think>", or -1
    rollout_problem *data, *eval; // grpo.data / grpo.eval_data (NULL: the built-in task)
    int ndata, neval;
    int64_t version;       // the policy version the weights are at
    uint64_t synced_bytes; // the weights' bytes this rank has sent or received in weight syncs
    bool cuda;             // cluster.backend = cuda: model buffers live on the GPU
    bool engine_logged;    // the rollout engine's size was reported
    comm_dp dp;            // the trainer ranks of a distributed run (pipe_job_dp_init): MPI, or NCCL on GPUs
    trainer_dp dp_hook;    // dp as the GRPO update sees it
    bool has_dp;
    comm_nccl *policy_nccl;// CUDA leader and rollout ranks: weight sync
    // pcm.experts (docs/pcm.md): the policy is a PCM merging K frozen experts (K = 0: a language model)
    int K;
    char expert_buf[4096];
    char *expert_paths[ROLLOUT_MERGE_MAX_EXPERTS]; // into expert_buf; the first's tokenizer is the run's
    model experts[ROLLOUT_MERGE_MAX_EXPERTS];      // loaded where generated or trained
    bool experts_loaded;
    uint64_t expert_hash[ROLLOUT_MERGE_MAX_EXPERTS]; // of their weights, for the saved PCM's config.json
    bool experts_hashed;
    const comm_world *world; // the trainers' world, from pipe_job_dp_init (NULL before)
    rollout_merge mix;     // the experts, the policy as their PCM (probability space)
    float pref[ROLLOUT_MERGE_MAX_EXPERTS]; // pcm.preference, or 1/K each: evaluation's
    float alpha_init[ROLLOUT_MERGE_MAX_EXPERTS]; // pcm.alpha_init (a new PCM's starting mix), when set
    bool pref_fixed;       // pcm.preference given: every prompt's; else each problem's own draw
    rollout_pref_dist pref_dist; // pcm.preference_dist, pcm.dirichlet_alpha: where the draws come from
    float *data_pref;      // pcm.preference_dist = data: each grpo.data problem's preference (ndata, K)
    // pcm.reward = bt (docs/pcm.md): K reward dimensions against a reference response, on scoring ranks
    bool bt;
    pipe_bt_reference bt_ref;
    model bt_model;        // pcm.reference = model: the reference policy, decoded greedily
    bool bt_model_loaded;
    char **bt_text;        // pcm.reference = data: each grpo.data problem's reference response (ndata)
} pipe_job;

// Checks the settings that concern more than one key (a PRM wherever rewards need one, ...).
int pipe_job_check_config(const fx_config *c, fx_err *err);
// Loads what `roles` need; threads <= 0: all cores. w (NULL: one process) picks the GPU by local
// rank when cluster.backend = cuda.
int pipe_job_open(pipe_job *j, const fx_config *c, unsigned roles, int threads, const comm_world *w, fx_err *err);
void pipe_job_close(pipe_job *j);
// pcm.reference = data: j->bt_text[i], the reference response of each grpo.data problem (j->data
// loaded), from its line's pcm.reference_key; -1 with err naming the file, the problem and the key
// when one lacks it (or it is not a string).
int pipe_job_reference_texts(pipe_job *j, const fx_config *c, fx_err *err);
// pcm.preference_dist = data: j->data_pref, each grpo.data problem's preference (j->data loaded)
// from its line's pcm.preference_key, K weights on the simplex; -1 with err naming the file, the
// problem and the key otherwise.
int pipe_job_data_prefs(pipe_job *j, const fx_config *c, fx_err *err);

// The groups (grpo.group_size samples each) of problems[0..n) of the RL stream, sampled from the
// policy: traces with group = problem index, no steps and no rewards yet.
void pipe_job_generate(pipe_job *j, const int64_t *problems, int n, trace_batch *out);
// Scores generated traces: outcome (1 when the verifier accepts the final answer, or what
// reward.command / reward.plugin return for the whole batch; their failure ends the job, exit 1),
// steps with their rewards (checker, PRM or the external reward's), the PRM's trajectory reward (with
// reward.mix = reasonflux: its read-out after the whole response), the final (mixed) reward, and the
// reference log-probs when this side hosts the reference. Returns the mean PRM score via *prm_mean
// (NaN without a PRM).
void pipe_job_score(pipe_job *j, const trace_batch *in, trace_batch *out, double *prm_mean);

// The preference of problem `index` (K weights): pcm.preference, or the problem's own draw from
// the simplex (rollout_merge_draw_pref with run.seed): every role gets the same.
void pipe_job_pref(const pipe_job *j, int64_t index, float *w);
// The folder whose tokenizer files (and chat template) the run's saved policy carries: the first
// expert's with pcm.experts, else model.path (empty: the built-in tokenizer).
const char *pipe_job_tokenizer_dir(const pipe_job *j, const fx_config *c);
// Saves the policy to dir as a Hugging Face folder with the tokenizer files of
// pipe_job_tokenizer_dir; a PCM's config.json also names its experts and their hashes
// (pipe_pcm_name_experts: `fluxrl eval --pcm DIR` finds them there). Sharded (pipe_job_sharded),
// the leader first sends a save to the other trainers and gathers the weights tensor by tensor
// from their slices as it writes them (they answer with pipe_job_serve_save).
int pipe_job_save_policy(pipe_job *j, const fx_config *c, const char *dir, fx_err *err);

// The prompt of problem `index` of the RL stream as the policy reads it, appended to out (needs
// only tok, task and the data of j: --dry-run fills no more).
void pipe_job_prompt(const pipe_job *j, int64_t index, tok_ids *out);

// Greedy held-out evaluation: the built-in task's (sft_eval), or grpo.eval_data's first
// grpo.eval_problems (answers only). Returns false when there is nothing to evaluate on.
bool pipe_job_eval(pipe_job *j, sft_eval_result *r);

// Dynamic sampling: the groups of `in` (contiguous) with rewards not all equal, appended to out,
// at most `room` of them. Returns the groups appended.
int pipe_job_keep_groups(const pipe_job *j, const trace_batch *in, trace_batch *out, int room);

// One policy update on whole groups (equal group ids contiguous): advantages, then
// grpo_policy_update with the config's loss, PPO epochs and minibatches, data-parallel over the
// trainer ranks once pipe_job_dp_init has run. Advances j->version.
void pipe_job_train(pipe_job *j, const trace_batch *b, int update, pipe_update *u);

// From here on pipe_job_train sums gradients and statistics over the trainer ranks of w:
// MPI_Allreduce on CPU ranks, NCCL on CUDA ranks (collective over the trainers: it makes their
// NCCL communicator).
void pipe_job_dp_init(pipe_job *j, const comm_world *w);
// Collective over the trainers: the policy's weights, AdamW moments (each trainer its slice when
// sharded, from the leader's resumed checkpoint ck), step and version from the leader. ck and
// resumed are the leader's (other trainers pass a train_ckpt with no host copies).
void pipe_job_share_start(pipe_job *j, const comm_world *w, train_ckpt *ck, bool resumed);
// trainer.shard as the trainers' trainer_dp takes it.
trainer_shard pipe_shard(const fx_config *c);
// Collective over policy_comm (the leader, rank 0 of it, and the rollout ranks): the leader's
// weights and *version to every rollout rank (wsync_broadcast's buckets over MPI, or NCCL). With
// the policy sharded (pipe_job_sharded) the leader first sends a sync to the other trainers and
// gathers each bucket from their slices as it sends it (they answer with pipe_job_serve_sync).
int pipe_job_sync_policy(pipe_job *j, const comm_world *w, int64_t *version, fx_err *err);
// trainer.shard = full over several trainers: no trainer holds the whole weights between updates.
bool pipe_job_sharded(const pipe_job *j);
// A trainer other than the leader, told to by a sync or a save message: its slice's part of each
// bucket of the leader's weight sync, or of each tensor of the leader's save (collectives over
// the trainers, in the leader's order).
void pipe_job_serve_sync(pipe_job *j);
void pipe_job_serve_save(pipe_job *j);

#endif
