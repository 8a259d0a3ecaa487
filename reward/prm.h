// prm.h — scoring traces with a process reward model (ReasonFlux-PRM; DESIGN.md).
// Two read-outs, chosen by the checkpoint's architecture:
//   class2 (Qwen2ForProcessRewardModel; ReasonFlux-PRM-7B, Qwen2.5-Math-PRM): the input is the chat
//     layout with user = the problem and assistant = the steps, each followed by "<extra_0>"; a step's
//     reward is P(class 1) = softmax(score(h))[1] at its "<extra_0>"; the trajectory reward is read
//     at one more "<extra_0>" after the last step's (fluxrl's convention: released 2-class PRMs
//     have no trajectory read-out; fluxrl prm-train trains this position on the final target).
//   scalar (*ForRewardModel / *ForSequenceClassification; ReasonFlux-PRM-1.5B): the same chat layout
//     with the steps joined by blank lines; sigmoid(score(h)) is read at the last token of each step
//     (the step rewards) and at the trace's last token (the trajectory reward).
// The aggregate of a trace is r^ = mean of its step rewards + alpha * trajectory reward.
#ifndef FLUXRL_PRM_H
#define FLUXRL_PRM_H

#include <stdbool.h>

#include "../model/model.h"
#include "../model/tok.h"

typedef enum { PRM_CLASS2 = 0, PRM_SCALAR } prm_readout;

typedef struct {
    model m;
    tok_tokenizer *tok;
    prm_readout readout;
    int32_t sep;      // "<extra_0>" (class2)
    float alpha;      // weight of the trajectory reward in the aggregate
    int max_tokens;   // longer inputs are cut from the left of the steps (the problem is kept)
} prm_scorer;

// dir: a Hugging Face folder with the PRM's config.json, model.safetensors and tokenizer.
int prm_load(prm_scorer *p, const char *dir, const backend *be, float alpha, fx_err *err);
void prm_free(prm_scorer *p);

typedef struct {
    float *step; // (nsteps) rewards in [0, 1]
    float trajectory;
    float score; // r^
} prm_result;

// Scores one trace: the problem and its steps (trajectory steps then response steps, as text).
// r->step must hold nsteps floats. Returns 0, or -1 with err when the input does not fit.
int prm_score(prm_scorer *p, const char *problem, const char *const *steps, int nsteps, prm_result *r, fx_err *err);

#endif
