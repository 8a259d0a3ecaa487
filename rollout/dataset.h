// dataset.h — the problems rollout and evaluation work on: the built-in task's held-out problems,
// or a JSONL dataset in the GSM8K / MATH style ({"question": ..., "answer": ...} per line, keys
// configurable). Each problem is a user turn and a way to judge a response to it.
#ifndef FLUXRL_DATASET_H
#define FLUXRL_DATASET_H

#include <stdbool.h>

#include "../core/fx.h"
#include "task.h"

typedef struct {
    char *prompt;     // the user turn
    char *gold;       // JSONL: the gold answer (a worked solution reduced to its final answer)
    char *meta;       // JSONL: the line's other fields as a JSON object (external rewards); else NULL
    char *system;     // JSONL with system_key: the problem's own system turn; else NULL
    bool builtin;
    task_problem task; // built-in: the problem itself
} rollout_problem;

typedef struct {
    const char *data;       // "builtin" or a JSONL path
    const char *prompt_key, *answer_key;
    const char *system_key; // NULL or "": no system turn of the problem's own
    int first, count;       // problems [first, first + count): line numbers from 0 for JSONL
    task_opts task;         // built-in knobs
    uint64_t task_seed;     // built-in: problems come from task_seed ^ TASK_HELDOUT_STREAM
} rollout_data_opts;

// Bad files or lines: -1 with err naming FILE:LINE and the field.
int rollout_data_load(const rollout_data_opts *o, rollout_problem **out, int *n, fx_err *err);
void rollout_data_free(rollout_problem *ps, int n);

// Judges a response (the generated text; `opened_think` when the prompt opened "<think>").
// *extracted (may be NULL) receives the final answer found, or NULL (caller frees).
bool rollout_judge(const rollout_problem *p, const char *response, bool opened_think, char **extracted);

#endif
