// prm_run.h — a whole `fluxrl prm-train` run: a process reward model trained on labelled traces of
// the built-in task (prm_train.h) from model.path (a language model's backbone gets a new 2-class
// head; a PRM is fine-tuned), with prm.data's traces mixed in and template-guided trajectory
// targets when asked. Writes run.out_dir/run.name/{config.json, metrics.jsonl, model/} with model/
// a Qwen2ForProcessRewardModel folder and its tokenizer, and checkpoints/ (resume with --resume auto). Data-parallel through a trainer_dp: every
// rank trains on its share of each batch (prm_train_step_dp); rank 0 also evaluates and writes.
#ifndef FLUXRL_PRM_RUN_H
#define FLUXRL_PRM_RUN_H

#include <stdbool.h>

#include "prm_train.h"
#include "sft.h"
#include "train_ckpt.h"
#include "trainer_dp.h"

// A run's settings (prm.*, the model to start from, the task, the run folder), built from the config
// by pipeline/.
typedef struct {
    const char *model_path;  // model.path: a language model (its backbone gets a new head) or a PRM
    const char *policy_path; // prm.policy_path: the template rollouts' policy; NULL or "": model_path
    sft_task_params task;    // the traces' problems (error_rate: prm.error_rate), seed, max_seq, and the
                             // prompt the policy read them after (its dir: model_path)
    float head_std;
    const char *data;        // prm.data; NULL or "": the generator's traces only
    double data_share;
    bool twins;              // prm.twins: minimal pairs of generator traces (prm_data.twins)
    double lm_weight;        // prm.lm_weight: the auxiliary LM loss (prm_data.lm_weight)
    double dense;            // prm.dense: the per-token step loss (prm_data.dense)
    bool policy_layout;      // prm.layout = policy: the input in the policy's layout (prm_data.policy_layout)
    int extra_layers;        // prm.extra_layers: new layers on a new PRM (model_load_as_grown_shard)
    int template_rollouts;
    int steps, batch, warmup, eval_every, eval_traces, checkpoint_every;
    double lr, lambda_step, lambda_final;
    bool recompute;          // trainer.recompute
    trainer_run run;
} prm_run_params;

typedef struct {
    bool done;          // rank 0 wrote the model
    int steps;          // optimisation steps done
    prm_eval_result eval; // held-out evaluation at the end
    char model_dir[TRAINER_PATH_MAX];
} prm_run_result;

// Runs p on this rank, on backend be (the caller's; cluster.backend) (dp NULL: alone); want_resume:
// from the newest checkpoint of the run folder (prm.checkpoint_every; a stop signal writes one and ends with FX_EXIT_STOPPED). Set-up errors are agreed on by every rank before
// any collective (exit code FX_EXIT_INPUT on all of them, logged by the lowest failing rank).
// Returns 0, FX_EXIT_STOPPED after a stop signal, FX_EXIT_INPUT or FX_EXIT_FAIL (logged; with
// more than one rank the job is brought down).
int prm_run(const prm_run_params *p, backend *be, const trainer_dp *dp, bool want_resume, prm_run_result *res);

// prm.template_rollouts: the rollouts' policy (path, whose head is head) must be a causal language
// model (a PRM trained further needs prm.policy_path). 0, or -1 with err naming the folder and key.
int prm_check_rollout_policy(const char *path, model_head head, fx_err *err);

#endif
