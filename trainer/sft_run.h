// sft_run.h — a whole `fluxrl sft` run: supervised fine-tuning on the built-in task's traces (or
// sft.data), held-out evaluation, metrics.jsonl, checkpoints, resume and stop signals, and the
// model written as a Hugging Face folder. Data-parallel through a trainer_dp: every rank draws the
// same global batch of sft.batch examples, trains on its share of the rows with the loss
// normalised by the global token count, and the gradients are summed before the clip and the
// AdamW step, so N ranks take the same steps as one process up to float summation order. Rank 0
// writes the run.
#ifndef FLUXRL_SFT_RUN_H
#define FLUXRL_SFT_RUN_H

#include <stdbool.h>

#include "policy.h"
#include "sft.h"
#include "train_ckpt.h"
#include "trainer_dp.h"

// A run's settings (sft.*, the policy, the example stream, the run folder), built from the config
// by pipeline/.
typedef struct {
    policy_params policy;
    sft_task_params task;
    trainer_run run;
    const char *data; // sft.data; NULL or "": the built-in task's traces
    int steps, batch, warmup, log_every, eval_every, eval_problems, checkpoint_every;
    double lr, min_lr, weight_decay, grad_clip;
    bool recompute;   // trainer.recompute
} sft_run_params;

typedef struct {
    bool done;           // rank 0 finished every step and wrote the model
    int steps;           // optimiser steps done
    sft_eval_result eval; // the held-out evaluation at the end (done)
    char model_dir[TRAINER_PATH_MAX];
} sft_run_result;

// Runs p on this rank, on backend be (the caller's; cluster.backend) (dp NULL: alone).
// want_resume: from the newest checkpoint of the run folder. Returns the exit code: 0, FX_EXIT_STOPPED after a stop signal (checkpoint written),
// FX_EXIT_INPUT when set-up failed on any rank (the lowest failing rank logs why), FX_EXIT_FAIL
// (logged; with more than one rank the job is brought down).
int sft_run(const sft_run_params *p, backend *be, const trainer_dp *dp, bool want_resume, sft_run_result *res);

#endif
