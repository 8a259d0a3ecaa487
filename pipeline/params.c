// params.c — the config read into trainer/'s parameters: see params.h.
#include "params.h"

#include <stdio.h>
#include <string.h>

policy_params pipe_policy_params(const fx_config *c) {
    return (policy_params){.path = c->model.path,
                           .hidden_size = (int)c->model.hidden_size,
                           .layers = (int)c->model.layers,
                           .heads = (int)c->model.heads,
                           .kv_heads = (int)c->model.kv_heads,
                           .intermediate_size = (int)c->model.intermediate_size,
                           .max_seq = (int)c->model.max_seq,
                           .seed = (uint64_t)c->run.seed,
                           .init_std = (float)c->model.init_std,
                           .preference_prior = (float)c->pcm.preference_prior};
}

sft_task_params pipe_task_params(const fx_config *c) {
    return (sft_task_params){.ops = (int)c->task.ops,
                             .digits = (int)c->task.digits,
                             .operators = c->task.operators,
                             .error_rate = c->task.error_rate,
                             .seed = (uint64_t)c->run.seed,
                             .max_seq = (int)c->model.max_seq,
                             .prompt = {.chat = c->task.chat,
                                        .system = c->task.system,
                                        .vars = c->task.chat_vars,
                                        .dir = c->model.path[0] ? c->model.path : NULL,
                                        .chat_key = "task.chat",
                                        .system_key = "task.system",
                                        .vars_key = "task.chat_vars"}};
}

trainer_run pipe_trainer_run(const fx_config *c, char *dir, char **json) {
    cfg_run_dir(c, dir, PIPE_RUN_DIR_LEN);
    *json = cfg_to_json(c);
    return (trainer_run){dir, *json, (int)c->run.keep_checkpoints};
}

sft_run_params pipe_sft_params(const fx_config *c, trainer_run run) {
    return (sft_run_params){.policy = pipe_policy_params(c),
                            .task = pipe_task_params(c),
                            .run = run,
                            .data = c->sft.data,
                            .steps = (int)c->sft.steps,
                            .batch = (int)c->sft.batch,
                            .warmup = (int)c->sft.warmup,
                            .log_every = (int)c->sft.log_every,
                            .eval_every = (int)c->sft.eval_every,
                            .eval_problems = (int)c->sft.eval_problems,
                            .checkpoint_every = (int)c->sft.checkpoint_every,
                            .lr = c->sft.lr,
                            .min_lr = c->sft.min_lr,
                            .weight_decay = c->sft.weight_decay,
                            .grad_clip = c->sft.grad_clip,
                            .recompute = c->trainer.recompute};
}

prm_run_params pipe_prm_params(const fx_config *c, trainer_run run) {
    prm_run_params p = {.model_path = c->model.path,
                        .policy_path = c->prm.policy_path,
                        .task = pipe_task_params(c),
                        .head_std = (float)c->prm.head_std,
                        .data = c->prm.data,
                        .data_share = c->prm.data_share,
                        .twins = c->prm.twins,
                        .lm_weight = c->prm.lm_weight,
                        .dense = c->prm.dense,
                        .policy_layout = !strcmp(c->prm.layout, "policy"),
                        .extra_layers = (int)c->prm.extra_layers,
                        .template_rollouts = (int)c->prm.template_rollouts,
                        .steps = (int)c->prm.steps,
                        .batch = (int)c->prm.batch,
                        .warmup = (int)c->prm.warmup,
                        .eval_every = (int)c->prm.eval_every,
                        .eval_traces = (int)c->prm.eval_traces,
                        .checkpoint_every = (int)c->prm.checkpoint_every,
                        .lr = c->prm.lr,
                        .lambda_step = c->prm.lambda_step,
                        .lambda_final = c->prm.lambda_final,
                        .recompute = c->trainer.recompute,
                        .run = run};
    p.task.error_rate = c->prm.error_rate; // the share of wrong steps in the PRM's training traces
    return p;
}
