// config_keys.h — the config schema: every key fluxrl reads, in one place.
// It is the single source of truth for the fx_config struct, validation, `--set` overrides,
// defaults, `fluxrl config doc` and docs/config.md. To add a key, add one X(...) line:
//   X(section, name, type, default, allowed, help)
// type: INT (int64), FLOAT (double), BOOL, STR (free text), ENUM (one of the `|`-separated names).
// allowed: for numbers an interval, "[a,b]", "(a,b)", "[a,inf)"...; for ENUM the names; else "".
// Defaults are written as they would be on the command line and are validated like input.
#ifndef FLUXRL_CONFIG_KEYS_H
#define FLUXRL_CONFIG_KEYS_H

#define FX_CFG_SECTIONS(S)                                                                    \
    S(run, "What the run is called, where it writes its outputs, and the seed of its randomness.") \
    S(log, "What each rank prints, and how progress of long work is shown.")                   \
    S(cluster, "How the MPI ranks of a launch are split into roles, and what each rank runs on.") \
    S(trainer, "How the trainer ranks of one model hold and train it (`fluxrl train`, `sft`, `prm-train`).") \
    S(model, "The policy: a Hugging Face folder, or (path empty) a new model of the sizes below with the " \
             "built-in tokenizer.")                                                               \
    S(task, "The built-in reasoning task: arithmetic chains (docs/tasks.md).")                  \
    S(sft, "Supervised fine-tuning on the built-in task's gold traces (`fluxrl sft`).")          \
    S(grpo, "GRPO on the built-in task (`fluxrl train`): sampling, advantages, the loss and the optimiser.") \
    S(rollout, "How rollout ranks generate: the policy lag they may run at and their batching.")  \
    S(reward, "How reward ranks score traces: the outcome (the verifier, a program or a plugin; docs/rewards.md), " \
              "the PRM's r^ and their mix.") \
    S(prm, "Training a process reward model on labelled traces of the built-in task (`fluxrl prm-train`).") \
    S(pcm, "A merged policy (`fluxrl train`, docs/pcm.md): K frozen experts mixed token by token by a trained " \
           "Preference Control Model.")

#define FX_CFG_KEYS_run(X)                                                                     \
    X(run, name, STR, "fluxrl", "",                                                            \
      "Name of the run. Its outputs go to the folder `run.out_dir`/`run.name`.")               \
    X(run, description, STR, "", "",                                                           \
      "Free text describing the experiment; kept in the resolved config of the run.")          \
    X(run, out_dir, STR, "runs", "", "Folder that holds the run folders (created if missing).") \
    X(run, seed, INT, "1234", "[0,9007199254740991]",                                          \
      "Seed of every random stream; with the same seed and config a CPU run is reproducible.")   \
    X(run, keep_checkpoints, INT, "3", "[1,1000000]",                                          \
      "Checkpoints kept in run.out_dir/run.name/checkpoints/ (the newest; older ones are removed).")

#define FX_CFG_KEYS_log(X)                                                                     \
    X(log, level, ENUM, "info", "error|warn|info|debug", "Lowest level of log line printed.") \
    X(log, all_ranks, BOOL, "false", "",                                                       \
      "Print info and debug lines on every rank, not only rank 0 (warnings and errors always "  \
      "print on every rank).")                                                                 \
    X(log, progress, ENUM, "auto", "auto|live|lines|off",                                      \
      "Progress of long work: `live` redraws one line, `lines` logs a line every "             \
      "`log.progress_interval` seconds, `auto` picks `live` on a terminal and `lines` "        \
      "otherwise.")                                                                            \
    X(log, progress_interval, FLOAT, "10", "(0,86400]",                                        \
      "Seconds between progress lines when `log.progress` is `lines`.")

#define FX_CFG_KEYS_cluster(X)                                                                 \
    X(cluster, trainer_ranks, INT, "1", "[1,65536]",                                           \
      "MPI ranks that run policy updates (data-parallel). Ranks 0.. are trainers.")            \
    X(cluster, rollout_ranks, INT, "1", "[1,65536]",                                           \
      "MPI ranks that generate traces; they follow the trainer ranks.")                        \
    X(cluster, reward_ranks, INT, "1", "[0,65536]",                                            \
      "MPI ranks that host the reward models (PRM, reference policy); the last ranks.")        \
    X(cluster, backend, ENUM, "cpu", "cpu|cuda",                                               \
      "Where every rank runs its model ops: `cpu` (OpenBLAS + OpenMP) or `cuda` (one GPU per " \
      "rank, by local rank).")                                                                 \
    X(cluster, threads, INT, "0", "[0,1024]",                                                  \
      "CPU threads per rank; 0 divides the node's cores among the ranks on the node.")          \
    X(cluster, precision, ENUM, "bf16", "bf16|fp32",                                           \
      "cluster.backend = cuda: matmuls on bf16 inputs with fp32 accumulation (weights, gradients and " \
      "AdamW state stay fp32), or fp32 throughout (for checking).")                            \
    X(cluster, stall_timeout, INT, "900", "[10,1000000]",                                      \
      "Seconds a rank may go without progress (a message, a step) before its watchdog ends the job.")

#define FX_CFG_KEYS_trainer(X)                                                                 \
    X(trainer, shard, ENUM, "none", "none|optimizer|gradients|full",                                     \
      "What the data-parallel trainer ranks split between them (ZeRO's stages in DeepSpeed's terms): " \
      "`none`, every rank holds the weights, gradients and AdamW moments of the whole model; " \
      "`optimizer` (ZeRO-1), each rank holds the AdamW moments of its slice of the parameters only: " \
      "gradients summed to their owner, clipped by the global norm, AdamW on the owned slice, the " \
      "weights gathered onto every rank; `gradients` (ZeRO-2), the gradients too: each layer's are " \
      "summed to their owners during the backward pass as soon as they are done; `full` (ZeRO-3, " \
      "FSDP's FULL_SHARD), the weights too: each layer's are gathered " \
      "onto every rank just before the forward and backward passes read them, the embedding and LM " \
      "head a chunk of rows at a time (trainer.vocab_chunk), their gradients summed to their owners " \
      "as each chunk is done, the final norm and small heads stay gathered; so the weights, gradients " \
      "and moments each rank keeps fall as 1/N, beside one layer's and one chunk's buffers; no rank " \
      "holds the whole weights: sft's and prm-train's ranks " \
      "evaluate together (taking turns at the batches, each layer gathered at every step) and rank 0 " \
      "saves a tensor at a time; in train the leader gathers them a bucket at a time for weight sync " \
      "and a tensor at a time to save, and the first rollout rank evaluates. " \
      "Checkpoints hold the whole state whatever the rank count.") \
    X(trainer, vocab_chunk, INT, "0", "[0,16777216]",                                          \
      "trainer.shard = full: rows of the embedding and of the LM head gathered at once (each row " \
      "hidden_size floats); 0: as many as fill one decoder layer's floats (at most the vocabulary), " \
      "so the chunk's buffers are no larger than a layer's. Smaller chunks hold less and take more " \
      "collectives per pass.")                                                                 \
    X(trainer, recompute, BOOL, "false", "",                                                   \
      "Activation recomputation: keep only each layer's input in the forward pass and recompute " \
      "the layer in the backward pass (about a third more compute for a fraction of the activation " \
      "memory).")

#define FX_CFG_KEYS_model(X)                                                                   \
    X(model, path, STR, "", "",                                                                \
      "A Hugging Face folder (config.json, model.safetensors, tokenizer.json) to start from; "   \
      "empty: a new randomly initialised Qwen2-shaped model with the built-in tokenizer.")      \
    X(model, hidden_size, INT, "128", "[8,65536]", "Hidden size of a new model.")              \
    X(model, layers, INT, "4", "[1,1024]", "Decoder layers of a new model.")                    \
    X(model, heads, INT, "4", "[1,1024]", "Attention heads of a new model (divides hidden_size).") \
    X(model, kv_heads, INT, "2", "[1,1024]", "Key/value heads of a new model (divides heads).")  \
    X(model, intermediate_size, INT, "384", "[1,1048576]", "MLP width of a new model.")          \
    X(model, max_seq, INT, "256", "[16,1048576]",                                              \
      "Longest sequence (prompt + response) trained on or generated; longer samples are skipped.") \
    X(model, init_std, FLOAT, "0.02", "(0,1]", "Standard deviation of a new model's weights.")

#define FX_CFG_KEYS_task(X)                                                                    \
    X(task, ops, INT, "3", "[1,12]", "Operations per problem.")                                 \
    X(task, digits, INT, "2", "[1,6]", "Operands are below 10^digits.")                         \
    X(task, operators, STR, "+-", "", "Which of + - * may appear (* multiplies by one digit).")  \
    X(task, error_rate, FLOAT, "0.1", "[0,1]",                                                  \
      "Probability that a step of a training trace is written wrong (an imperfect teacher).")  \
    X(task, chat, ENUM, "auto", "auto|chatml|r1",                                              \
      "Prompt layout: `auto` renders the model's own chat template (tokenizer_config.json's "   \
      "chat_template or chat_template.jinja; the built-in tokenizer's writes the `r1` layout); "  \
      "`r1` (ChatML with the assistant turn opened by <think>) and `chatml` are fixed layouts that " \
      "override it (docs/tokenizer.md).")                                                       \
    X(task, system, STR, "", "",                                                               \
      "A system turn before each problem; empty: none (under `auto` the template may then write " \
      "its default one, as Qwen2.5's does).")                                                    \
    X(task, chat_vars, STR, "", "json",                                                        \
      "Template variables for `auto`, a JSON object (in a config file also written as one), e.g. " \
      "{\"enable_thinking\": false} for Qwen3; empty: none.")

#define FX_CFG_KEYS_sft(X)                                                                     \
    X(sft, steps, INT, "600", "[1,100000000]", "Optimiser steps.")                              \
    X(sft, batch, INT, "32", "[1,1048576]", "Sequences per step.")                              \
    X(sft, lr, FLOAT, "0.003", "(0,1]", "Peak learning rate (AdamW).")                          \
    X(sft, min_lr, FLOAT, "0.0003", "[0,1]", "Learning rate at the end of the cosine decay.")   \
    X(sft, warmup, INT, "30", "[0,100000000]", "Linear warm-up steps.")                          \
    X(sft, weight_decay, FLOAT, "0.01", "[0,1]", "AdamW decoupled weight decay (matrices only).") \
    X(sft, grad_clip, FLOAT, "1", "[0,1000000]", "Global gradient-norm clip; 0 turns it off.")   \
    X(sft, log_every, INT, "10", "[1,100000000]", "Steps between metrics lines.")               \
    X(sft, eval_every, INT, "200", "[0,100000000]",                                            \
      "Steps between evaluations on held-out problems (0: only at the end).")                   \
    X(sft, eval_problems, INT, "200", "[1,1000000]", "Held-out problems per evaluation (greedy decoding).") \
    X(sft, checkpoint_every, INT, "100", "[0,100000000]",                                      \
      "Steps between checkpoints (0: none but the one written when a signal stops the run).")   \
    X(sft, data, STR, "", "",                                                                  \
      "A JSONL file of {\"problem\", \"response\"} lines to train on (e.g. `fluxrl select`'s output), " \
      "shuffled and cycled; empty: the built-in task's generator.")

#define FX_CFG_KEYS_grpo(X)                                                                    \
    X(grpo, steps, INT, "60", "[1,100000000]", "Policy updates.")                               \
    X(grpo, data, STR, "", "",                                                                 \
      "Training problems: a JSONL dataset (GSM8K / MATH style), problem i = line i mod the line count, " \
      "judged by the answer verifier; empty: the built-in task's RL stream.")                   \
    X(grpo, eval_data, STR, "", "",                                                            \
      "With grpo.data: held-out problems (JSONL) for the greedy evaluations; empty: none.")      \
    X(grpo, prompt_key, STR, "question", "", "JSONL key of the problem text.")                  \
    X(grpo, system_key, STR, "", "",                                                           \
      "JSONL key of each problem's own system turn, in place of task.system (e.g. a PCM's preference in " \
      "words); every line must have it. Empty: task.system for all.")                          \
    X(grpo, answer_key, STR, "answer", "", "JSONL key of the gold answer (a worked solution counts by its final answer).") \
    X(grpo, prompts, INT, "8", "[1,1000000]", "Prompts (groups) sampled per update.")           \
    X(grpo, group_size, INT, "8", "[2,4096]", "Samples per prompt (G).")                        \
    X(grpo, temperature, FLOAT, "1", "(0,10]", "Sampling temperature of the rollouts.")         \
    X(grpo, top_p, FLOAT, "1", "(0,1]", "Top-p of the rollouts (1: off).")                      \
    X(grpo, max_new, INT, "192", "[1,1048576]", "Longest response sampled, in tokens.")         \
    X(grpo, lr, FLOAT, "0.00001", "(0,1]", "Learning rate (AdamW, constant after warm-up).")     \
    X(grpo, warmup, INT, "5", "[0,100000000]", "Linear warm-up updates.")                        \
    X(grpo, weight_decay, FLOAT, "0", "[0,1]", "AdamW decoupled weight decay.")                 \
    X(grpo, grad_clip, FLOAT, "1", "[0,1000000]", "Global gradient-norm clip; 0 turns it off.") \
    X(grpo, eps_low, FLOAT, "0.2", "[0,1]", "Clip range below: ratios under 1 - eps_low are clipped.") \
    X(grpo, eps_high, FLOAT, "0.28", "[0,10]", "Clip range above (clip-higher): 1 + eps_high.") \
    X(grpo, kl_beta, FLOAT, "0", "[0,100]",                                                     \
      "Weight of the KL penalty to the reference policy (the starting policy, kept frozen).")   \
    X(grpo, kl_estimator, ENUM, "k3", "k1|k2|k3", "KL estimator per token (docs/grpo.md).")      \
    X(grpo, kl_mode, ENUM, "loss", "loss|reward",                                              \
      "The KL as a loss term, or as a penalty kl_beta * sum_t KL_t subtracted from each trace's reward.") \
    X(grpo, entropy_beta, FLOAT, "0", "[0,100]", "Weight of the entropy bonus.")                \
    X(grpo, advantage, ENUM, "grpo", "grpo|rloo|process",                                      \
      "Advantages: group-relative outcome (grpo, rloo) or process supervision over step rewards " \
      "(process; docs/grpo.md).")                                                                \
    X(grpo, objective, ENUM, "clip", "clip|rebel",                                            \
      "The policy term: `clip`, the clipped surrogate on the advantages (PPO, GRPO), or `rebel`, " \
      "REBEL's regression of the difference of two samples' log-ratios onto the difference of their " \
      "rewards, over every pair of a group (docs/grpo.md; grpo.advantage is then unused).")      \
    X(grpo, rebel_eta, FLOAT, "1", "(0,1000000]",                                              \
      "REBEL's eta: the log-ratio difference divided by eta regresses the reward difference.")  \
    X(grpo, step_rewards, ENUM, "checker", "checker|prm|outcome",                               \
      "Where process step rewards come from: `checker`, the built-in task's exact step checker " \
      "(an oracle PRM), `prm`, the PRM at reward.prm_path (steps split at blank lines and </think>), or " \
      "`outcome`, the step_rewards that reward.command or reward.plugin return for those steps.") \
    X(grpo, process_add_outcome, BOOL, "true", "",                                              \
      "process: add the group-normalised outcome advantage to every token.")                    \
    X(grpo, std_norm, BOOL, "true", "", "grpo: divide by the group's reward standard deviation.") \
    X(grpo, loss_agg, ENUM, "token_mean", "token_mean|seq_mean_token_mean|seq_mean_token_sum_norm", \
      "How token losses are averaged over the batch (docs/grpo.md).")                           \
    X(grpo, dynamic_sampling, BOOL, "true", "",                                                 \
      "Drop groups whose rewards are all equal (they carry no signal).")                        \
    X(grpo, minibatch, INT, "32", "[1,1048576]",                                               \
      "Sequences per forward/backward pass (memory); gradients accumulate over an optimiser step.") \
    X(grpo, ppo_epochs, INT, "1", "[1,1000]", "Passes over each update's sequences (PPO epochs).") \
    X(grpo, ppo_minibatches, INT, "1", "[1,100000]",                                           \
      "Optimiser steps per epoch: each trainer rank's sequences split into this many minibatches.") \
    X(grpo, recompute_old_logp, BOOL, "true", "",                                              \
      "Take the importance ratio against log-probs the trainer recomputes before its first step " \
      "(exactly 1 on the first minibatch of an on-policy update); false: against the sampling log-probs.") \
    X(grpo, tis_cap, FLOAT, "2", "[1,1000]",                                                   \
      "Truncated importance weight min(exp(recomputed - sampling log-prob), tis_cap) for tokens of " \
      "traces generated by an older policy version (rollout.max_policy_lag = 1).")              \
    X(grpo, dual_clip, FLOAT, "0", "[0,1000]", "Dual clip c (> 1 turns it on): for A < 0 the loss is at most -A c.") \
    X(grpo, ref_on, ENUM, "reward", "reward|trainer",                                          \
      "Where the reference policy of the KL term runs: on reward ranks (its log-probs travel with the " \
      "traces) or beside each trainer.")                                                        \
    X(grpo, dynamic_rounds, INT, "4", "[0,1000]",                                              \
      "Dynamic sampling: extra rounds of prompts drawn per update to replace groups without signal.") \
    X(grpo, eval_every, INT, "20", "[0,100000000]", "Updates between held-out evaluations (0: only before and after).") \
    X(grpo, checkpoint_every, INT, "20", "[0,100000000]",                                      \
      "Updates between checkpoints (0: none but the one written when a signal stops the run).") \
    X(grpo, eval_problems, INT, "200", "[1,1000000]", "Held-out problems per evaluation (greedy).")

#define FX_CFG_KEYS_rollout(X)                                                                 \
    X(rollout, max_policy_lag, INT, "0", "[0,1]",                                              \
      "0: synchronous on-policy (update k's traces come from policy k). 1: one-step-off, rollout "  \
      "ranks generate update k+1's traces while trainers train on update k's (verl's one-step-off).") \
    X(rollout, slots, INT, "64", "[1,65536]",                                                  \
      "Sequences a rollout rank decodes at once (continuous batching: a finished one's slot takes the next).") \
    X(rollout, kv_tokens, INT, "0", "[0,16777216]",                                            \
      "KV-cache columns per slot, prompt + response - 1 at most; 0: the longest prompt + max_new. The cache "  \
      "takes 2 x layers x slots x (kv_tokens + 32) x kv_heads x head_dim floats, logged when the engine starts.")

#define FX_CFG_KEYS_reward(X)                                                                  \
    X(reward, outcome, ENUM, "verifier", "verifier|command|plugin",                                \
      "Where outcome rewards come from: the built-in answer verifier, the program reward.command (JSON " \
      "lines on stdin/stdout, docs/protocol.md) or the C plugin reward.plugin (docs/rewards.md).")   \
    X(reward, command, STR, "", "",                                                            \
      "reward.outcome = command: a shell command line each scoring rank starts reward.workers times.") \
    X(reward, timeout, FLOAT, "60", "(0,1000000]",                                             \
      "Seconds a reward.command worker may hold requests without returning a result; then it is restarted " \
      "once, and a second failure stops the run (exit 1).")                                      \
    X(reward, workers, INT, "1", "[1,1024]", "reward.command processes per scoring rank; a batch is dealt among them.") \
    X(reward, plugin, STR, "", "", "reward.outcome = plugin: a shared library with the ABI of reward/fluxrl_reward.h.") \
    X(reward, plugin_args, STR, "", "", "Text handed to the plugin's fluxrl_reward_init.")          \
    X(reward, mix, ENUM, "fluxrl", "fluxrl|reasonflux",                                         \
      "fluxrl: (1 - beta) * outcome + beta * r^; reasonflux: the ReasonFlux-PRM release's RL reward, "   \
      "0.75 * the PRM's read-out after the whole response + 0.25 * outcome (docs/rewards.md). Penalties follow.") \
    X(reward, prm_path, STR, "", "",                                                           \
      "A PRM folder (Hugging Face layout) that reward ranks score traces with; empty: outcome rewards only.") \
    X(reward, alpha, FLOAT, "1", "[0,100]", "Weight of the PRM's trajectory reward in r^ = mean step + alpha * trajectory.") \
    X(reward, beta, FLOAT, "0", "[0,1]",                                                       \
      "Mixed reward (1 - beta) * outcome + beta * r^ (needs reward.prm_path when above 0).")     \
    X(reward, format_penalty, FLOAT, "0", "[0,100]", "Subtracted from traces whose final answer cannot be found.") \
    X(reward, length_penalty, FLOAT, "0", "[0,100]",                                           \
      "DAPO's soft overlong penalty: up to this much, linearly over the last reward.overlong_buffer tokens.") \
    X(reward, overlong_buffer, INT, "0", "[0,1048576]", "Tokens before grpo.max_new where the length penalty starts.")

#define FX_CFG_KEYS_prm(X)                                                                     \
    X(prm, steps, INT, "300", "[1,100000000]", "Optimiser steps.")                              \
    X(prm, batch, INT, "16", "[1,1048576]", "Traces per step.")                                 \
    X(prm, lr, FLOAT, "0.001", "(0,1]", "Peak learning rate (AdamW; warm-up, then cosine to a tenth).") \
    X(prm, warmup, INT, "20", "[0,100000000]", "Linear warm-up steps.")                          \
    X(prm, error_rate, FLOAT, "0.3", "[0,1]",                                                   \
      "Probability that a step of a training trace is written wrong (what the PRM learns to spot).") \
    X(prm, lambda_step, FLOAT, "1", "[0,1000]", "Weight of the step-reward MSE in the loss.")    \
    X(prm, lambda_final, FLOAT, "1", "[0,1000]", "Weight of the trajectory-reward MSE in the loss.") \
    X(prm, head_std, FLOAT, "0.02", "(0,1]", "Standard deviation of a new head's weights.")     \
    X(prm, eval_every, INT, "100", "[0,100000000]", "Steps between held-out evaluations (0: at the end only).") \
    X(prm, eval_traces, INT, "200", "[1,1000000]", "Held-out traces per evaluation (half their steps wrong).") \
    X(prm, checkpoint_every, INT, "100", "[0,100000000]",                                      \
      "Steps between checkpoints (0: none but the one written when a signal stops the run).")   \
    X(prm, data, STR, "", "",                                                                  \
      "Traces to train on besides the generator's: a JSONL file of {\"problem\", \"response\"} lines or an " \
      "HDF5 trace store (e.g. the policy's own samples, `fluxrl generate`), labelled by the task's checker.") \
    X(prm, data_share, FLOAT, "1", "[0,1]",                                                    \
      "With prm.data: the share of training traces drawn from it (the rest from the generator).") \
    X(prm, twins, BOOL, "false", "",                                                           \
      "fluxrl's extension: training traces come in pairs, the second the first generator trace with one " \
      "more of its right think steps written wrong (minimal pairs: only that step's check tells them apart).") \
    X(prm, lm_weight, FLOAT, "0", "[0,1000]",                                                  \
      "fluxrl's extension: weight of an auxiliary next-token loss on the text of the steps the checker finds " \
      "right (the backbone keeps modelling the task); needs a backbone with tied embeddings. 0: none.") \
    X(prm, dense, FLOAT, "0", "[0,1000]",                                                      \
      "fluxrl's extension: weight of the step loss at every token of a step's text, target 0 from the first " \
      "token where the step departs from the checker's gold step (1 before it). 0: at the separators only.") \
    X(prm, layout, ENUM, "published", "published|policy",                                     \
      "The PRM's input. published: Qwen2.5-Math-PRM's ChatML layout, \"<extra_0>\" after each step (and " \
      "fluxrl's one more for the trajectory). policy (fluxrl's extension): the trace as the policy writes it " \
      "(r1 prompt, steps joined by blank lines), each step read at its last token, one \"<extra_0>\" at the end " \
      "for the trajectory; the folder's config.json records it for every reader.")             \
    X(prm, extra_layers, INT, "0", "[0,64]",                                                   \
      "fluxrl's extension: a new PRM gets this many decoder layers on top of model.path's, each starting as " \
      "the identity (o_proj and down_proj zero): a verifier deeper than the policy it starts from.") \
    X(prm, template_rollouts, INT, "0", "[0,1024]",                                            \
      "Trajectory target: the success rate of this many policy rollouts that follow the trace's plan " \
      "(template-guided, docs/prm.md); 0: the trace's own answer correctness.")                 \
    X(prm, policy_path, STR, "", "",                                                           \
      "The policy (a Hugging Face folder) that writes the template-guided rollouts; empty: model.path.")

#define FX_CFG_KEYS_pcm(X)                                                                     \
    X(pcm, experts, STR, "", "",                                                               \
      "Comma-separated folders of K expert language models of one tokenizer. Set, `fluxrl train` trains a " \
      "PCM that merges them (model.path: the PCM's folder; a language model's folder, whose backbone " \
      "a new PCM starts from, as the paper's starts from a pretrained small LM; or empty for a new one of " \
      "model.*'s sizes); " \
      "the first expert's tokenizer and chat template are the run's. Empty: the policy is model.path.") \
    X(pcm, preference, STR, "", "",                                                            \
      "The preference of every prompt, K weights on the simplex (\"0.7,0.3\"); empty: each prompt's own, " \
      "drawn uniformly from the simplex from run.seed and the problem. Evaluation uses it, or 1/K each.") \
    X(pcm, alpha_init, STR, "", "",                                                            \
      "A new PCM's starting mix, K weights on the simplex, each above 0: its alpha head's bias starts at " \
      "their logarithms, so it first merges the experts in about these proportions whatever the " \
      "preference (fluxrl's extension: from 1/K each, the merge may sample one expert's kind of response " \
      "only and never see the other's rewards, docs/pcm.md). Empty: bias 0, 1/K each. Not for a model.path " \
      "that is a PCM already (its alpha head is trained).")                                    \
    X(pcm, preference_prior, FLOAT, "0", "[0,1]",                                              \
      "A new PCM's preference prior eps (fluxrl's extension, docs/pcm.md): its alpha logits gain " \
      "log(w + eps) for the preference w, so it starts at about alpha = (w + eps) / (1 + K eps), merging by " \
      "the preference, and learns a correction to that; kept in the PCM's config.json (preference_prior). " \
      "0: the paper's alpha head, which sees the preference only through the backbone. Not for a " \
      "model.path that is a PCM already (its own is used).")                                   \
    X(pcm, preference_dist, ENUM, "uniform", "uniform|dirichlet|corners|data",                 \
      "Where each problem's preference comes from when pcm.preference is empty: `uniform` on the " \
      "simplex; `dirichlet`, Dirichlet(pcm.dirichlet_alpha, ...): below 1 near the corners, above 1 near " \
      "the centre; `corners`, one expert's dimension at a time (one-hot, uniformly); `data`, the grpo.data " \
      "line's pcm.preference_key (K weights on the simplex).")                                  \
    X(pcm, preference_key, STR, "preference", "",                                              \
      "The grpo.data key holding each problem's preference (pcm.preference_dist = data).")     \
    X(pcm, dirichlet_alpha, FLOAT, "1", "(0,1000]", "The concentration of pcm.preference_dist = dirichlet.") \
    X(pcm, reward, ENUM, "scalar", "scalar|bt",                                                \
      "How the reward depends on the preference. `scalar`: one reward (reward.outcome, the mix) whatever the " \
      "preference. `bt`: reward.command or reward.plugin also returns one reward per expert's dimension " \
      "(\"rewards\": [r_1, ..., r_K]); each is Bradley-Terry-normalised against the problem's reference " \
      "response, r~_i = sigmoid(r_i(y) - r_i(y_ref)), and R = sum_i w_i r~_i takes the outcome's place " \
      "(arXiv 2407.04181).")                                                                    \
    X(pcm, reference, ENUM, "model", "model|data|none",                                        \
      "The reference response y_ref of pcm.reward = bt. `model`: pcm.reference_model's greedy response to " \
      "the problem, decoded on the reward ranks; `data`: the grpo.data line's pcm.reference_key; `none`: " \
      "no reference, r~_i = sigmoid(r_i(y)) (fluxrl's extension).")                             \
    X(pcm, reference_model, STR, "", "",                                                       \
      "The reference policy of pcm.reference = model (a Hugging Face folder with the experts' tokenizer, " \
      "e.g. the model the experts were tuned from); empty: the first expert.")                   \
    X(pcm, reference_key, STR, "reference", "",                                                \
      "The grpo.data key that holds each problem's reference response (pcm.reference = data).")

#endif
