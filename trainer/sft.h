// sft.h — supervised fine-tuning data and evaluation for the built-in task.
// An example is the problem as a prompt (the checkpoint's chat template under task.chat = auto)
// followed by its trace as the assistant's answer, closed by the end-of-turn token (the
// response); only the response's tokens are
// trained on. Training problems are indices 0, 1, 2, ... of the run's seed; evaluation uses a
// separate stream of problems (held out), decoded greedily and checked by the task's checker.
#ifndef FLUXRL_SFT_H
#define FLUXRL_SFT_H

#include <stdint.h>

#include "../core/metrics.h"
#include "../model/model.h"
#include "../model/tok.h"
#include "../rollout/merge.h"
#include "../rollout/task.h"
#include "trainer_dp.h"

// The settings of an example stream (task.*, run.seed, model.max_seq), built from the config by
// pipeline/.
typedef struct {
    int ops, digits;
    const char *operators;  // some of "+-*"
    double error_rate;
    uint64_t seed;
    int max_seq;
    tok_prompt_opts prompt; // task.chat, task.system, task.chat_vars; dir: the model folder (NULL: built-in)
} sft_task_params;

typedef struct {
    tok_tokenizer *tok;
    task_opts task;
    tok_prompt prompt; // how a problem becomes a prompt (task.chat, task.system, task.chat_vars), its stop ids
    uint64_t seed;
    int32_t eos;       // the end-of-turn token appended to each response (prompt.end_of_turn)
    int max_seq;
    // sft.data: examples read from a file instead of the generator, tokenised once, in the order
    // they are trained on (shuffled with the seed; training index i is example i % ndata).
    tok_ids *data;
    int *data_nprompt;
    int64_t ndata;
} sft_task;

// Builds the prompt settings p->prompt against tok and its model folder (its
// generation_config.json); a template that cannot render them is bad input.
int sft_task_init(sft_task *s, tok_tokenizer *tok, const sft_task_params *p, fx_err *err);
// sft.data: trains on the examples of a JSONL file ({"problem", "response"} per line, the problem
// as the user turn) instead of the generator. Bad lines are errors naming FILE:LINE and the field;
// examples longer than max_seq are left out (with a warning).
int sft_task_load_data(sft_task *s, const char *path, fx_err *err);
void sft_task_free(sft_task *s);
// The prompt's ids (the problem as the user turn, generation prompt included). A problem the
// chat template refuses (its raise_exception) ends the run as bad input.
void sft_prompt(const sft_task *s, const task_problem *p, tok_ids *out);
// Example `index` of the training stream (problem `index` of the generator, or of sft.data):
// ids = prompt + response.
void sft_example(const sft_task *s, uint64_t index, tok_ids *ids, int *nprompt);

// Fills a (B, T) batch from the training stream starting at *next (advanced past what was used;
// examples longer than max_seq are skipped). targets[n] is the token that follows position n when
// it belongs to the response, else -1; padding has segment -1. Returns the batch's T (the longest
// example), at most max_seq.
int sft_batch(const sft_task *s, uint64_t *next, int B, int32_t *ids, int32_t *pos, int32_t *seg, int32_t *targets,
              int64_t *ntargets);

typedef struct {
    int n;
    double answer_acc; // final answer correct
    double step_acc;   // steps labelled correct, over all steps written
    double closed;     // traces that closed </think>
    double mean_len;   // response tokens
} sft_eval_result;

// Greedy decoding of n held-out problems, B at a time, by m, or with mix not NULL by the merged
// experts of mix (rollout/merge.h: through the engine, m unused). With dp (may be NULL) over
// more than one rank and m's weights sharded (trainer.shard = full), every rank of dp calls it:
// the ranks take turns at the batches, decoding together (each step gathers each layer), and
// every rank gets the whole result, the same as one rank's with the whole weights.
void sft_eval(const sft_task *s, model *m, const rollout_merge *mix, const trainer_dp *dp, int n, int B,
              sft_eval_result *r);
// Step rewards of a generated response (resp, R tokens) to problem p: the task's checker labels
// each step of its text (1 right, 0 wrong), and a step ends at the token holding its text's last
// byte; the last step takes the tokens after it, end of turn included. Returns the number of
// steps (at most max_steps) written to step_end (exclusive token offsets) and step_reward.
int sft_step_rewards(const sft_task *task, const task_problem *p, const int32_t *resp, int R, int max_steps,
                     int32_t *step_end, float *step_reward);

// Logs an evaluation as a metrics line (eval_answer_acc, eval_step_acc, ...) and an info line.
void sft_log_eval(fx_metrics *mx, int step, const sft_eval_result *r);

#endif
