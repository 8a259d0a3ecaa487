// prm_labels.h — ReasonFlux-PRM's trajectory target by template-guided rollouts, on the built-in
// task. The plan (template) of a trace is its sequence of operations as its think steps write them
// in their headers "A op B:" (task_plan: "+48 -19"; a step without a readable header is "?"). A
// rollout follows the plan: for plan step k it is given the header "V op B:", V being the result
// the rollout's own step k-1 stated (the problem's start for k = 0), and the policy writes the rest
// of the line (the columns and the result); a "?" step the policy writes whole. Steps are joined by
// blank lines; after the last, "</think>\n" is given and the policy writes the response. The target
// r_final = the share of n rollouts whose final answer is the problem's (task_check). A rollout
// whose step states no readable result stops there and counts as a failure. A plan that drops,
// adds or changes an operation leads its rollouts away from the answer: r_final near 0 whatever
// the policy; a plan that matches the problem gets the policy's success rate along it.
#ifndef FLUXRL_PRM_LABELS_H
#define FLUXRL_PRM_LABELS_H

#include <stdbool.h>
#include <stdint.h>

#include "../model/model.h"
#include "../model/tok.h"
#include "../rollout/sample.h"
#include "../rollout/task.h"

// Whoever writes the rollouts' text. write() continues B rollouts: problem p[b], the assistant's
// text so far prefix[b] (it opens with "<think>\n"), random stream stream[b]; out[b] (malloc'd)
// gets the continuation: one line ending with "\n" when `line`, else the response up to the end
// of the turn (without the end-of-turn token).
typedef struct {
    void (*write)(void *ctx, const task_problem *const *p, const char *const *prefix, const uint64_t *stream, int B,
                  bool line, char **out);
    void *ctx;
} prm_writer;

// The writer that samples from a policy (its prompts and stop ids `prompt`, the decoder's sampling
// params).
typedef struct {
    model *m;
    tok_tokenizer *tok;
    const tok_prompt *prompt;
    sample_params sample;
    uint64_t seed;
    int max_line, max_response; // new tokens per line / for the response
} prm_policy_writer;

prm_writer prm_policy_writer_make(prm_policy_writer *pw);

// rate[i] = the success rate of n rollouts that follow the plan of traces[i] (a trace of problem
// p[i], as the checker reads it); key[i] makes its rollouts' random streams (e.g. the trace's
// index). At most `batch` rollouts are written at once.
void prm_template_rates(const prm_writer *w, const task_problem *p, const char *const *traces, const uint64_t *key,
                        int ntraces, int n, int batch, float *rate);

#endif
