// main.c — `fluxrl`: finds the subcommand in the table and runs it.
#include <stdio.h>
#include <string.h>

#include "../core/h5.h"
#include "cli.h"

// clang-format off
const cli_command cli_commands[] = {
    {"help", "list the subcommands, or show one's usage",
     "usage: fluxrl help [COMMAND...]\n", cmd_help},
    {"version", "print the version of fluxrl and of every library it was built with",
     "usage: fluxrl version   (also: fluxrl --version)\n", cmd_version},
    {"config check", "validate a config file and print it resolved, with every key",
     "usage: fluxrl config check FILE [--set section.key=value ...]\n"
     "Validates FILE against the schema, applies the overrides in order, and prints the\n"
     "resolved config as JSON (every key, defaults included). Exit code 2 on any error.\n", cmd_config_check},
    {"config get", "print one key of a resolved config (for scripts)",
     "usage: fluxrl config get FILE KEY [--set section.key=value ...]\n"
     "Prints the value KEY takes once FILE and the overrides are applied, e.g.\n"
     "`fluxrl config get configs/demo.json cluster.rollout_ranks`. Exit code 2 on any error.\n",
     cmd_config_get},
    {"config doc", "print the config reference (every key, type, default, range) in Markdown",
     "usage: fluxrl config doc\n"
     "Prints the reference that docs/config.md holds.\n", cmd_config_doc},
    {"ranks", "show the role, host, backend and threads of every MPI rank of a launch",
     "usage: [mpirun -np N] fluxrl ranks [FILE] [--set section.key=value ...]\n"
     "Splits the MPI world into trainer, rollout and reward ranks as the config's cluster.*\n"
     "keys say, checks each rank's backend and that collectives work in every role, prints a\n"
     "table of the ranks, and writes the resolved config to run.out_dir/run.name/config.json.\n"
     "Run it before a long job to see that the launch is what you meant. Without mpirun one\n"
     "process plays every role.\n", cmd_ranks},
    {"plot", "draw learning curves (PNG) from a run's metrics.jsonl with gnuplot",
     "usage: fluxrl plot RUN_DIR [--out DIR]\n"
     "One PNG per numeric metric of RUN_DIR/metrics.jsonl (step on the x axis), written to\n"
     "RUN_DIR/plots/ or DIR. Needs gnuplot (launch/deps.sh installs gnuplot-nox).\n", cmd_plot},
    {"sft", "supervised fine-tuning on the built-in task's traces, with held-out evaluation",
     "usage: fluxrl sft CONFIG [--set section.key=value ...] [--resume auto|never] [--dry-run]\n"
     "Trains the policy of model.* (a Hugging Face folder, or a new model with the built-in\n"
     "tokenizer) on gold traces of the built-in task (task.*, with task.error_rate of its steps\n"
     "wrong) for sft.steps AdamW steps, evaluates held-out problems by greedy decoding every\n"
     "sft.eval_every steps and at the end, and writes run.out_dir/run.name/{config.json,\n"
     "metrics.jsonl, model/} (model/ is a Hugging Face folder). A checkpoint is written every\n"
     "sft.checkpoint_every steps to checkpoints/ (the newest run.keep_checkpoints kept);\n"
     "--resume auto continues from the newest that loads (a fresh start when there is none).\n"
     "Under mpirun every rank is a data-parallel worker on its share of each batch.\n"
     "SIGTERM or SIGINT stops after the current step with a checkpoint and exit code 3.\n"
     "--dry-run checks and shows what the run would load and feed the model, and the memory\n"
     "each rank needs, then exits without training (docs/launch.md).\n", cmd_sft},
    {"eval", "accuracy of a model: mean pass@1, majority vote and pass@n over n samples",
     "usage: fluxrl eval --model DIR [--data builtin|FILE.jsonl] [--n N] [--problems P] [--first I]\n"
     "       fluxrl eval --experts DIR,DIR,... [--pcm DIR] [--preference W,W,...] [--merge prob|logit] ...\n"
     "       fluxrl eval --pcm DIR [--preference W,W,...] ...   (the experts DIR's config.json names)\n"
     "                   [--temperature T] [--top-p P] [--top-k K] [--min-p M] [--seed S]\n"
     "                   [--batch B] [--max-new M] [--stop STRING ...]\n"
     "                   [--chat auto|r1|chatml] [--system TEXT] [--chat-vars JSON]\n"
     "                   [--ops K --digits D --operators OPS --task-seed S]   (builtin)\n"
     "                   [--prompt-key question --answer-key answer]           (JSONL)\n"
     "                   [--backend cpu|cuda] [--precision bf16|fp32]           (cuda: device 0)\n"
     "Decodes N samples (default 1; greedy at temperature 0, the default) for each of P problems\n"
     "(default 200): the built-in task's held-out problems (those fluxrl sft evaluates on, for the\n"
     "same --task-seed = run.seed and knobs), or the lines of a JSONL file, the user turn being the\n"
     "prompt field. Answers are judged by the task's checker or by the answer verifier (a gold\n"
     "answer holding \"####\" or \\boxed counts by its final answer). --stop ends a sample with\n"
     "the token that completes STRING (which may span tokens); every sample also stops on the\n"
     "model's end-of-turn token, generation_config.json's eos_token_id and the tokenizer's eos.\n"
     "Prompts are the model's chat template (--chat auto) over [system turn when --system,\n"
     "user: the problem] with the template variables of --chat-vars (e.g. '{\"enable_thinking\":\n"
     "false}'); --chat r1 or chatml writes a fixed layout instead. Prints one JSON line.\n"
     "--experts decodes K expert models merged token by token instead of one model (docs/pcm.md):\n"
     "pi(y) = sum_i alpha_i pi_i(y), alpha from the Preference Control Model --pcm fed the preference\n"
     "W (K weights >= 0 summing to 1; default uniform), or alpha = W without one. The experts share\n"
     "the first's tokenizer, whose chat template and stop ids are used; --merge logit mixes logits\n"
     "instead, softmax(sum_i alpha_i z_i). Merged decoding runs in the continuous-batching engine.\n"
     "A PCM that fluxrl train saved names its experts and a hash of their weights: --pcm alone\n"
     "loads them; with --experts, they must be those (by their weights) or it is an error. With --pcm\n"
     "the line also holds \"alpha_mean\": each expert's mixing weight averaged over the decoded tokens.\n",
     cmd_eval},
    {"generate", "sample traces from a model into an HDF5 trace store",
     "usage: fluxrl generate --model DIR --out TRACES.h5 [--data builtin|FILE.jsonl] [--n N]\n"
     "                       [the sampling, batching, data and --experts options of fluxrl eval]\n"
     "                       [--slots S] [--kv-tokens K]\n"
     "Decodes N samples of each problem like fluxrl eval, splits each response into its\n"
     "trajectory and response steps (blank lines, </think>), judges its final answer\n"
     "(outcome_reward 1 or 0), and appends the traces batch by batch to TRACES.h5\n"
     "(docs/formats.md). The progress line shows tokens/s. Decoding is continuous batching\n"
     "(rollout/engine.h): S sequences at once (default --batch, else rollout.slots), K KV-cache\n"
     "columns per slot (default the longest prompt + --max-new); samples are bit-identical\n"
     "whatever S is, merged experts (--experts) included: a sample's log-prob is then the merged\n"
     "distribution's.\n", cmd_generate},
    {"merge", "Personalized Soups: experts of one architecture merged parameter by parameter",
     "usage: fluxrl merge --experts DIR,DIR,... --weights W,W,... --out DIR\n"
     "Writes the Hugging Face folder of theta = sum_i W_i theta_i (docs/pcm.md), the parameter-\n"
     "merging baseline of the Preference Control Model: every parameter summed in double over the\n"
     "experts in order and rounded to fp32 once, so one-hot weights give that expert's tensors\n"
     "exactly. The experts' config.json must describe one architecture (the first key that differs\n"
     "is named with both folders); the weights are K numbers >= 0 summing to 1 (within 1e-6).\n"
     "config.json and model.safetensors (F32) come with the first expert's tokenizer files; the\n"
     "folder is built as DIR.tmp and renamed when complete (DIR must not exist).\n", cmd_merge},
    {"prm-score", "score traces with a process reward model: step rewards, trajectory reward, r^",
     "usage: fluxrl prm-score --prm DIR --input TRACES.h5|FILE.jsonl [--alpha A] [--tokenizer PATH]\n"
     "       [--trajectory-separator] [--system TEXT] [--backend cpu|cuda] [--precision bf16|fp32]\n"
     "DIR is a Hugging Face PRM, read as its authors read it (docs/prm.md): Qwen2ForProcessRewardModel\n"
     "(2-class head read at each <extra_0>; the checkpoint's chat template over user = the problem,\n"
     "assistant = the steps each followed by <extra_0>; --system TEXT adds a system turn), or a\n"
     "*ForRewardModel with score.bias (ReasonFlux-PRM-1.5B after scripts/convert_reasonflux_prm_1p5b.py:\n"
     "sigmoid of the head at the last token of problem + completion, the trajectory reward; the step\n"
     "rewards at each step's last token are fluxrl's extension). Folders fluxrl prm-train wrote keep\n"
     "fluxrl's layout and its trajectory separator (one more <extra_0>); --trajectory-separator asks\n"
     "a released 2-class PRM for it too. Without one the trajectory reward is the last step's.\n"
     "JSONL lines are {\"problem\": ..., \"steps\": [...]} or {\"problem\": ..., \"response\": ...}\n"
     "(split at blank lines). An HDF5 trace store is decoded with --tokenizer, or the tokenizer it\n"
     "names. Prints per trace {\"index\", \"step_rewards\", \"trajectory_reward\", \"score\"} with\n"
     "score = mean step reward + A * trajectory reward (A = 1 by default).\n", cmd_prm_score},
    {"train", "GRPO in one process or across MPI trainer, rollout and reward ranks",
     "usage: fluxrl train CONFIG [--set section.key=value ...] [--resume auto|never] [--dry-run]\n"
     "       launch/mpirun.sh CONFIG with FLUXRL_COMMAND=train (one rank per cluster role)\n"
     "Starts from the policy of model.* (usually model.path = an SFT run's model/). Each of\n"
     "grpo.steps updates samples grpo.group_size responses to grpo.prompts problems (the built-in\n"
     "task, or grpo.data JSONL), rewards them (verifier; with reward.prm_path the PRM's r^ mixed\n"
     "in by reward.beta; step rewards from the task's checker or the PRM), keeps groups with signal\n"
     "and draws more (dynamic sampling), computes advantages (grpo.advantage) and takes\n"
     "grpo.ppo_epochs x grpo.ppo_minibatches clipped policy-gradient steps, gradients summed over\n"
     "the trainer ranks. rollout.max_policy_lag = 1 overlaps generation with training. Without\n"
     "mpirun one process plays every role and computes the same numbers. Evaluates held-out\n"
     "problems greedily before, every grpo.eval_every updates and after; writes\n"
     "run.out_dir/run.name/{config.json, metrics.jsonl, model/}. Checkpoints every\n"
     "grpo.checkpoint_every updates; --resume auto continues from the newest; SIGTERM or SIGINT\n"
     "stops after the current update with a checkpoint and exit code 3; SIGUSR1 exports the policy\n"
     "to export/step-N/. docs/grpo.md.\n"
     "--dry-run checks and shows what the run would load and feed the model, and the memory\n"
     "each rank needs, then exits without training (docs/launch.md).\n", cmd_train},
    {"prm-train", "train a process reward model on labelled traces of the built-in task",
     "usage: fluxrl prm-train CONFIG [--set section.key=value ...] [--resume auto] [--dry-run]\n"
     "Starts from model.path (a language model gets a new 2-class head; a PRM is fine-tuned) and\n"
     "trains on traces with prm.error_rate of their steps wrong, labelled by the task's checker:\n"
     "loss = lambda_step * step MSE + lambda_final * final MSE on P(class 1) at each <extra_0>.\n"
     "Evaluates held-out traces (half their steps wrong: MSE and the AUROC of telling right from\n"
     "wrong steps) and writes run.out_dir/run.name/{config.json, metrics.jsonl, model/}.\n"
     "prm.data adds traces to train on (the policy's own samples: JSONL or a trace store), labelled\n"
     "by the checker; prm.template_rollouts = N makes the trajectory target the success rate of N\n"
     "rollouts of the policy (prm.policy_path) that follow the trace's plan (docs/prm.md).\n"
     "fluxrl's levers for a PRM that checks the steps: prm.lm_weight (the next-token loss on the\n"
     "right steps kept as an auxiliary term), prm.dense (the step loss at every token of a step),\n"
     "prm.extra_layers (new layers on the policy's, starting as the identity), prm.twins, and\n"
     "prm.layout = policy (the input as the policy writes it, each step read at its last token).\n"
     "Under mpirun every rank is a data-parallel worker on its share of each batch. Checkpoints\n"
     "every prm.checkpoint_every steps; --resume auto continues from the newest; SIGTERM or SIGINT\n"
     "stops after the current step with a checkpoint and exit code 3.\n"
     "--dry-run checks and shows what the run would load and feed the model, and the memory\n"
     "each rank needs, then exits without training (docs/launch.md).\n", cmd_prm_train},
    {"select", "keep the k traces of a pool that a PRM scores best (data selection for SFT)",
     "usage: fluxrl select --prm DIR --input POOL.jsonl|POOL.h5 --top-k K --out FILE.jsonl|FILE.h5\n"
     "                     [--alpha A] [--by r|min-step] [--tokenizer PATH] [--trajectory-separator]\n"
     "                     [--system TEXT] [--backend cpu|cuda] [--precision bf16|fp32]\n"
     "Scores every trace of POOL with the PRM in DIR like fluxrl prm-score (r^ = mean step reward\n"
     "+ A * trajectory reward; --trajectory-separator and --system as there) and keeps the K best, best\n"
     "first (ties: input order): by r^, or with --by min-step by the lowest step reward (fluxrl's\n"
     "extension; a trace with no step ranks last). JSONL output has one line {\"problem\", \"response\",\n"
     "\"score\" (r^), \"min_step\", \"step_rewards\", \"trajectory_reward\", \"index\"} per kept trace,\n"
     "which fluxrl sft trains on with sft.data=FILE; an HDF5 output (from an HDF5 pool) is a trace\n"
     "store with the PRM's rewards attached. Written to FILE.tmp, renamed when complete.\n", cmd_select},
    {"best-of-n", "Best-of-N with a PRM next to mean pass@1, majority vote and pass@N",
     "usage: fluxrl best-of-n --policy DIR [--prm DIR ...] [--n N] [--alpha A] [--out SAMPLES.jsonl]\n"
     "                        [--trajectory-separator] [--prm-system TEXT]\n"
     "                        [the data, sampling, batching and --experts / --pcm options of fluxrl eval]\n"
     "Samples N responses (default 16, temperature 1 unless --temperature) to each problem with\n"
     "the policy, scores each with the PRM and keeps the one with the best r^. Prints one JSON line\n"
     "per PRM (up to 4 score the same samples) and N' in 1, 2, 4, ... up to N (the first N' samples\n"
     "of each problem): the accuracy of the PRM's choice, mean pass@1, majority vote and pass@N',\n"
     "and within_auroc: how often a right sample outscores a wrong one of the same problem.\n"
     "On the built-in task a PRM's last line also has the AUROC of its step rewards against the\n"
     "checker's step labels. --out writes every sample as {\"problem\", \"response\", \"sample\",\n"
     "\"correct\", \"score\" (the first PRM's)} (JSONL). --trajectory-separator and --prm-system are\n"
     "prm-score's --trajectory-separator and --system, for every PRM (--system is the policy's).\n"
     "Without --prm: one set of lines with the samples' pass@1, majority vote and pass@N' only\n"
     "(\"prm_best\", \"within_auroc\" and \"prm\" null; --out's \"score\" null).\n", cmd_best_of_n},
    // model commands (transformer core)
    {"model info", "a checkpoint's architecture, parameter count and training-step memory",
     "usage: fluxrl model info DIR [--batch B] [--seq T] [--ranks N]\n"
     "Reads DIR/config.json (a Hugging Face Qwen2 / Qwen2.5 / Qwen3 / Llama model) and prints the\n"
     "architecture, the number of parameters and the memory of one fp32 AdamW training step on a\n"
     "batch of B sequences of T tokens (default 8 x 512), with and without activation\n"
     "recomputation. --ranks N: also the memory of each of N data-parallel trainer ranks (B x T\n"
     "tokens each) for every trainer.shard level, with and without recomputation (the plan\n"
     "--dry-run prints and the runs log next to their measured peak). Exit code 2 on a bad folder or\n"
     "config.\n", cmd_model_info},
    {"logprobs", "log-probabilities of given token sequences under a model",
     "usage: fluxrl logprobs --model DIR --input FILE.jsonl\n"
     "       [--backend cpu|cuda] [--precision bf16|fp32]   (cuda: device 0)\n"
     "Each line of FILE.jsonl is {\"ids\": [token ids]}. Prints one line {\"logprobs\": [...]} per\n"
     "input line: the log-probability of every token given the ones before it (none for the\n"
     "first). The whole file is checked first; a bad line is reported as FILE:LINE: field: what\n"
     "was expected, with exit code 2 and nothing printed.\n", cmd_logprobs},
    // tokenizer commands
    {"tokenize", "turn JSONL text records into token ids, or ids back into text",
     "usage: fluxrl tokenize --tokenizer PATH [--input FILE.jsonl] [--field text] [--decode] [--skip-special]\n"
     "       fluxrl tokenize --tokenizer PATH --chat [--input FILE.jsonl]\n"
     "PATH is a tokenizer.json or a folder holding one (and tokenizer_config.json). Reads one JSON\n"
     "object per line (stdin without --input) and prints {\"ids\":[...]} for the string in --field\n"
     "(default \"text\"). With --decode it reads {\"ids\":[...]} and prints {\"text\": ...}\n"
     "(--skip-special leaves special tokens out). With --chat it reads {\"messages\": [...],\n"
     "\"add_generation_prompt\": true|false, ...} (any other key is a template variable, such as\n"
     "enable_thinking), renders the tokenizer's chat template as transformers' apply_chat_template\n"
     "does and prints {\"text\": ..., \"ids\": [...]}. A bad line stops with FILE:LINE and the\n"
     "field, exit code 2.\n", cmd_tokenize},
    {"tokenizer train", "learn a byte-level BPE tokenizer from a text file (deterministic)",
     "usage: fluxrl tokenizer train --input CORPUS.txt --vocab-size N --out DIR\n"
     "                              [--special TOKEN ...] [--eos TOKEN] [--pad TOKEN]\n"
     "Splits CORPUS like Qwen2's pre-tokenizer, merges the most frequent byte pairs until the\n"
     "vocabulary has N entries (256 bytes + merges; ties go to the smallest bytes), then adds the\n"
     "special tokens (default <|endoftext|> <|im_start|> <|im_end|> <think> </think> <extra_0>).\n"
     "Writes DIR/tokenizer.json and DIR/tokenizer_config.json (eos <|im_end|>, pad <|endoftext|>).\n",
     cmd_tokenizer_train},
    // rollout commands (tasks, verify)
    {"verify", "check final answers of responses against gold answers (JSONL in, JSONL out)",
     "usage: fluxrl verify [--input FILE.jsonl]\n"
     "Reads lines {\"response\": \"...\", \"answer\": \"...\"} (stdin without --input) and prints for\n"
     "each a line {\"correct\": true|false, \"extracted\": \"...\"|null}: the final answer found in the\n"
     "response (\\boxed{...}, \"The answer is\", \"Answer:\", \"####\", else the last number) compared\n"
     "with the gold answer after normalisation (docs/tasks.md). A bad line stops with\n"
     "FILE:LINE: field: expected ... and exit code 2.\n", cmd_verify},
    {"task sample", "generate built-in arithmetic problems with step-by-step traces (JSONL)",
     "usage: fluxrl task sample --n N [--seed S] [--first I] [--ops K] [--digits D]\n"
     "                          [--operators OPS] [--error-rate P]\n"
     "Prints N lines {\"index\", \"prompt\", \"trace\", \"answer\", \"step_correct\", \"answer_correct\"}\n"
     "for problems I..I+N-1 of seed S (both 0 by default): K operations (default 3, up to 12) on\n"
     "numbers below 10^D (default 2, up to 6), operators among + - * (default \"+-\"; * multiplies\n"
     "by one digit). With P > 0 each step is written wrong with probability P and step_correct\n"
     "says which (docs/tasks.md).\n", cmd_task_sample},
    {"task check", "label every step of traces of built-in problems as correct or not (JSONL)",
     "usage: fluxrl task check [--input FILE.jsonl]\n"
     "Reads lines {\"prompt\": \"Compute 23+48-19.\", \"trace\": \"<think>...\"} (the output of\n"
     "`fluxrl task sample` will do; stdin without --input) and prints for each a line\n"
     "{\"step_correct\": [...], \"think_steps\": N, \"closed\": true|false, \"answer_correct\": true|false,\n"
     "\"extracted\": \"...\"|null}. A bad line stops with FILE:LINE: field: expected ... (exit 2).\n",
     cmd_task_check},
    // trace commands
    {"traces info", "summarise an HDF5 trace store: counts, tokens, finish reasons, identities",
     "usage: fluxrl traces info FILE.h5\n", cmd_traces_info},
    {"traces export", "write every trace of an HDF5 trace store as JSON lines",
     "usage: fluxrl traces export FILE.h5 [--out FILE.jsonl]\n"
     "One JSON object per trace (ids, log-probs, steps, rewards; NaN as null), to stdout or to\n"
     "--out (written to FILE.jsonl.tmp, renamed when complete).\n", cmd_traces_export},
};
// clang-format on
const int cli_ncommands = (int)(sizeof cli_commands / sizeof cli_commands[0]);

// Number of argv words that the command name spans when argv matches it, else 0.
static int name_words_match(const char *name, int argc, char **argv) {
    int words = 0;
    const char *p = name;
    while (*p) {
        size_t len = strcspn(p, " ");
        if (words >= argc || strlen(argv[words]) != len || strncmp(argv[words], p, len) != 0) return 0;
        words++;
        p += len + (p[len] == ' ');
    }
    return words;
}

static bool wants_help(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return true;
    return false;
}

// `fluxrl config` alone: the commands that start with "config ".
static int group_help(const char *group, FILE *out) {
    size_t len = strlen(group);
    int found = 0;
    for (int i = 0; i < cli_ncommands; i++) {
        if (strncmp(cli_commands[i].name, group, len) == 0 && cli_commands[i].name[len] == ' ') {
            if (!found) fprintf(out, "usage: fluxrl %s COMMAND\n\n", group);
            fprintf(out, "  fluxrl %-16s %s\n", cli_commands[i].name, cli_commands[i].summary);
            found++;
        }
    }
    return found;
}

int main(int argc, char **argv) {
    fx_h5_quiet(); // fluxrl reports HDF5's errors itself, in one line; before HDF5 starts (see h5.h)
    if (argc < 2) { // a command is required: a script that forgot it must not see success
        fputs("usage: fluxrl COMMAND [ARGS...]; run 'fluxrl help' for the list of commands\n", stderr);
        return FX_EXIT_INPUT;
    }
    if (strcmp(argv[1], "--version") == 0) return cmd_version(0, NULL);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) return cmd_help(0, NULL);
    for (int i = 0; i < cli_ncommands; i++) {
        int words = name_words_match(cli_commands[i].name, argc - 1, argv + 1);
        if (!words) continue;
        int rest = argc - 1 - words;
        char **rest_argv = argv + 1 + words;
        if (wants_help(rest, rest_argv)) {
            fputs(cli_commands[i].usage, stdout);
            return FX_EXIT_OK;
        }
        return cli_commands[i].run(rest, rest_argv);
    }
    if (group_help(argv[1], stdout) > 0) {
        if (argc == 2 || wants_help(argc - 2, argv + 2)) return argc == 2 ? FX_EXIT_INPUT : FX_EXIT_OK;
        fprintf(stderr, "fluxrl %s: unknown command '%s'\n", argv[1], argv[2]);
        return FX_EXIT_INPUT;
    }
    // Suggest the closest command name.
    char best[64] = "";
    int best_d = 3;
    for (int i = 0; i < cli_ncommands; i++) {
        char first[64];
        snprintf(first, sizeof first, "%.*s", (int)strcspn(cli_commands[i].name, " "), cli_commands[i].name);
        int d = cfg_edit_distance(argv[1], first);
        if (d < best_d) best_d = d, memcpy(best, first, sizeof best);
    }
    if (best[0]) fprintf(stderr, "fluxrl: unknown command '%s'; did you mean 'fluxrl %s'?\n", argv[1], best);
    else fprintf(stderr, "fluxrl: unknown command '%s'; run 'fluxrl help' for the list\n", argv[1]);
    return FX_EXIT_INPUT;
}
