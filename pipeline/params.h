// params.h — the typed parameters of trainer/'s runs (sft_run, prm_run) and of the policy and
// task every command builds, read from the config once here: trainer/ and the layers below it
// never see fx_config (the `layers` test checks it).
#ifndef FLUXRL_PIPE_PARAMS_H
#define FLUXRL_PIPE_PARAMS_H

#include <stddef.h>

#include "../core/config.h"
#include "../trainer/policy.h"
#include "../trainer/prm_run.h"
#include "../trainer/sft.h"
#include "../trainer/sft_run.h"
#include "../trainer/train_ckpt.h"

#define PIPE_RUN_DIR_LEN (2 * FX_CFG_STR_LEN + 2) // run.out_dir/run.name

// The policy model.* names (run.seed initialises a new one).
policy_params pipe_policy_params(const fx_config *c);
// The built-in task's example stream: task.*, run.seed, model.max_seq, and the prompt settings
// (task.chat, task.system, task.chat_vars) for model.path's folder.
sft_task_params pipe_task_params(const fx_config *c);
// The run folder (written into dir, PIPE_RUN_DIR_LEN bytes), the resolved config as JSON (*json,
// the caller frees it) and run.keep_checkpoints.
trainer_run pipe_trainer_run(const fx_config *c, char *dir, char **json);
// `fluxrl sft` and `fluxrl prm-train` on run.
sft_run_params pipe_sft_params(const fx_config *c, trainer_run run);
prm_run_params pipe_prm_params(const fx_config *c, trainer_run run);

#endif
