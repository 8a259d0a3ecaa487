// task.h — the built-in reasoning task of the embedded default: chains of arithmetic operations
// evaluated left to right, with gold step-by-step traces, optional injected step errors and an
// exact per-step checker (its labels are the PRM's step targets). Format and rules: docs/tasks.md.
//
// A problem "Compute 23+48-19." has the gold trace
//   <think>
//   23+48: 3+8=11, 2+4+1=7, 23+48=71
//
//   71-19: 11-9=2, 7-1-1=5, 71-19=52
//   </think>
//   The answer is 52.
// One step per operation; each step works the columns from the units up (a carry or borrow is
// written as the "+c"/"-c" term of the next column; a borrowing column shows its minuend as 1x),
// then states the result, whose digits are the columns' digits read back from the last column.
#ifndef FLUXRL_TASK_H
#define FLUXRL_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/fx.h"

#define TASK_MAX_OPS 12
#define TASK_MAX_DIGITS 6

typedef struct {
    int ops;            // operations per problem, 1..TASK_MAX_OPS
    int digits;         // operands uniform in [0, 10^digits), 1..TASK_MAX_DIGITS (a multiplier: 2..9)
    char operators[4];  // which of "+-*" may appear, e.g. "+-" (a subtrahend never exceeds the value)
    double error_rate;  // probability that a step of a generated trace is written wrong, 0..1
} task_opts;

typedef struct {
    int64_t start;
    int nops;
    char op[TASK_MAX_OPS]; // '+', '-' or '*'
    int64_t operand[TASK_MAX_OPS];
} task_problem;

// Held-out problems (evaluation) come from the generator with seed ^ TASK_HELDOUT_STREAM;
// training uses the seed itself.
#define TASK_HELDOUT_STREAM 0x5eed0e7a1ull

// Defaults: 3 operations, 2 digits, "+-", no errors.
void task_opts_default(task_opts *o);
// Bad knobs are bad input: err names the knob ("ops", "digits", "operators", "error_rate").
int task_opts_check(const task_opts *o, fx_err *err);

// Problem `index` of `seed`: a pure function of (opts, seed, index), from its own RNG stream, so
// any subset of problems can be generated in any order.
void task_generate(const task_opts *o, uint64_t seed, uint64_t index, task_problem *p);
int64_t task_answer(const task_problem *p); // the chain evaluated left to right
// The user prompt, "Compute 23+48-19." (parentheses where a product follows a sum: "(7+5)*3").
char *task_prompt(const task_problem *p);
// Reads a prompt back: exactly the text task_prompt writes, else -1 with err naming "prompt".
int task_parse_prompt(const char *prompt, task_problem *p, fx_err *err);

// A generated trace. With o->error_rate > 0, each step is independently written wrong with that
// probability (a dropped carry or borrow, or a column result off by one) from a stream of its
// own, so the problem does not depend on the error rate; later steps continue correctly from the
// wrong value and the final answer follows it. step_correct says which steps are right (the
// checker's labels for this text); the last step is the response, "The answer is N.".
typedef struct {
    char *text;
    int nsteps; // nops think steps + 1 response step
    bool step_correct[TASK_MAX_OPS + 1];
    bool answer_correct; // the stated answer equals task_answer
    int64_t stated;      // the answer the trace states
} task_trace;

void task_trace_make(const task_problem *p, const task_opts *o, uint64_t seed, uint64_t index, task_trace *t);
// The same trace with think step `force` (0 <= force < nops) also written wrong where it has a wrong
// form (step_correct[force] says whether it got one): its steps before `force` are task_trace_make's,
// later ones continue from its wrong value. A minimal pair for a verifier ("twins", docs/prm.md).
void task_trace_make_wrong(const task_problem *p, const task_opts *o, uint64_t seed, uint64_t index, int force,
                           task_trace *t);
void task_trace_free(task_trace *t);

// The checker's labels for any text. Steps: the text between an optional leading "<think>" and
// the first "</think>" (think steps), then the text after it (response steps), each split on a
// blank line ("\n\n"), trimmed, empty pieces dropped. Think step k is correct when it equals the
// gold step for operation k applied to the value the trace has reached (the result stated by
// step k-1, or the true value when step k-1 states none); a response step is correct when it is
// "The answer is V." with V the value the think steps reach. Never fails: malformed text only
// makes steps incorrect.
typedef struct {
    int nsteps, nthink;  // all steps; the first nthink are think steps
    bool *correct;       // nsteps labels
    int *begin, *end;    // byte offsets of each step's trimmed text in the trace
    int *departs;        // per step: -1 when right, else the byte (from the step's begin) where its
                         // text first departs from the gold step (0 when there is no gold text:
                         // a step past the operations or after a value with no column form)
    bool closed;         // the trace has "</think>"
    bool answer_correct; // the verifier's answer of the response equals task_answer
    char *extracted;     // that answer, NULL when there is none
} task_labels;

void task_check(const task_problem *p, const char *trace, task_labels *out);
void task_labels_free(task_labels *l);

// The plan of a trace: the operation each think step performs, read from its header "A+B:"
// (op '?' and operand -1 when a step has none). Used for template-guided rollouts.
typedef struct {
    char op;
    int64_t operand;
} task_plan_step;

int task_plan(const char *trace, task_plan_step **steps); // returns the count; *steps malloc'd
char *task_plan_text(const task_plan_step *steps, int n); // "+48 -19 *3", "?" for unreadable

#endif
