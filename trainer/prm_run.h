// prm_run.h — a whole `fluxrl prm-train` run: a process reward model trained on labelled traces of
// the built-in task (prm_train.h) from model.path (a language model's backbone gets a new 2-class
// head; a PRM is fine-tuned), with prm.data's traces mixed in and template-guided trajectory
// targets when asked. Writes run.out_dir/run.name/{config.json, metrics.jsonl, model/} with model/
// a Qwen2ForProcessRewardModel folder and its tokenizer, and checkpoints/ (resume with --resume auto). Data-parallel through a trainer_dp: every
// rank trains on its share of each batch (prm_train_step_dp); rank 0 also evaluates and writes.
#ifndef FLUXRL_PRM_RUN_H
#define FLUXRL_PRM_RUN_H

#include <stdbool.h>

#include "../core/config.h"
#include "prm_train.h"
#include "trainer_dp.h"

typedef struct {
    bool done;          // rank 0 wrote the model
    int steps;          // optimisation steps done
    prm_eval_result eval; // held-out evaluation at the end
    char model_dir[2 * FX_CFG_STR_LEN + 16];
} prm_run_result;

// Runs config c on this rank, on backend be (the caller's; cluster.backend) (dp NULL: alone); want_resume: from the newest checkpoint of the run
// folder (prm.checkpoint_every; a stop signal writes one and ends with FX_EXIT_STOPPED). Set-up errors are agreed on by every rank before
// any collective (exit code FX_EXIT_INPUT on all of them, logged by the lowest failing rank).
// Returns 0, FX_EXIT_STOPPED after a stop signal, FX_EXIT_INPUT or FX_EXIT_FAIL (logged; with
// more than one rank the job is brought down).
int prm_run(const fx_config *c, backend *be, const trainer_dp *dp, bool want_resume, prm_run_result *res);

#endif
