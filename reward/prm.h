// prm.h — scoring traces with a process reward model (ReasonFlux-PRM; DESIGN.md, docs/prm.md).
// Two read-outs, chosen by the checkpoint's architecture, and the input each was trained on:
//   class2 (Qwen2ForProcessRewardModel; Qwen2.5-Math-PRM-7B, ReasonFlux-PRM-7B): a step's reward is
//     P(class 1) = softmax(score(h))[1] at the "<extra_0>" after it.
//     - released checkpoints (PRM_INPUT_TEMPLATE): the checkpoint's chat template over
//       [system?, user: problem, assistant: "<extra_0>".join(steps) + "<extra_0>"],
//       add_generation_prompt = false, as their model cards do. They have no trajectory read-out:
//       the trajectory reward is the last step's (its "<extra_0>" has read the whole trace).
//     - folders fluxrl prm-train wrote (config.json "fluxrl_prm", PRM_INPUT_CHATML): tok_prm_format's
//       ChatML layout, plus fluxrl's trajectory separator: one more "<extra_0>" after the last step's,
//       trained on the final target and read as the trajectory reward.
//     - folders prm-train wrote with prm.layout = policy (PRM_INPUT_POLICY, fluxrl's extension):
//       tok_prm_policy_format, the trace as the policy writes it (r1 prompt, steps joined by blank
//       lines), each step read at the token holding its last byte, the trajectory at one
//       "<extra_0>" after the last step.
//   scalar (*ForRewardModel / *ForSequenceClassification with score.weight and score.bias;
//     ReasonFlux-PRM-1.5B converted by scripts/convert_reasonflux_prm_1p5b.py, PRM_INPUT_PLAIN): the
//     input is tokenizer(problem + completion), no template, completion = the steps joined by blank
//     lines; the trajectory reward is sigmoid(score(h)) at the last token (the official score). Step
//     rewards, the sigmoid at each step's last token of the same input, are fluxrl's extension.
// The aggregate of a trace is r^ = mean of its step rewards + alpha * trajectory reward.
#ifndef FLUXRL_PRM_H
#define FLUXRL_PRM_H

#include <stdbool.h>

#include "../model/model.h"
#include "../model/tok.h"

typedef enum { PRM_CLASS2 = 0, PRM_SCALAR } prm_readout;
typedef enum { PRM_INPUT_TEMPLATE = 0, PRM_INPUT_CHATML, PRM_INPUT_PLAIN, PRM_INPUT_POLICY } prm_input;

typedef struct {
    model m;
    tok_tokenizer *tok;
    prm_readout readout;
    prm_input input;
    bool traj_sep;      // class2: fluxrl's trajectory separator (on for the folders fluxrl trains)
    bool fluxrl_folder; // config.json holds "fluxrl_prm" (a folder fluxrl trained or converted)
    const char *system; // PRM_INPUT_TEMPLATE: a system message to pass (NULL: none, the template's default)
    int32_t sep;        // "<extra_0>" (class2)
    float alpha;        // weight of the trajectory reward in the aggregate
    int max_tokens;     // longer inputs are refused
} prm_scorer;

// dir: a Hugging Face folder with the PRM's config.json, model.safetensors and tokenizer. config.json's
// "fluxrl_prm" ({"input": "chatml"|"policy"|"template"|"plain", "trajectory_separator": bool}) says how a
// folder fluxrl wrote is read; without it the folder is read as its authors' code reads it. A caller
// may set traj_sep or system after loading. Bad folders: -1 with err naming the file.
int prm_load(prm_scorer *p, const char *dir, const backend *be, float alpha, fx_err *err);
void prm_free(prm_scorer *p);
// What a caller asks of a loaded PRM beyond its folder's reading: fluxrl's trajectory separator
// (one more <extra_0>) and a system turn for its chat template. Both need a 2-class PRM, the
// system turn one read through its template; otherwise -1 with err naming who asked and dir.
int prm_ask(prm_scorer *p, const char *dir, bool traj_sep, const char *system, const char *who, fx_err *err);
// What prm_load reads and checks but the weights (--dry-run): the tokenizer, config.json with
// every tensor of the checkpoint checked (model_check_files), the read-out and the input layout;
// p->m holds the layout alone (nothing can be scored). prm_free releases it.
int prm_open_unloaded(prm_scorer *p, const char *dir, float alpha, fx_err *err);
// The input of a trace as the PRM reads it (appended to ids) and where: reads[k] is the position
// of step k's read-out, reads[nsteps] the trajectory's (nsteps + 1 ints). -1 with err when the
// input cannot be built (a template error, a step holding <extra_0>).
int prm_input_ids(prm_scorer *p, const char *problem, const char *const *steps, int nsteps, tok_ids *ids, int *reads,
                  fx_err *err);

// Marks dir (a PRM folder prm-train just saved) as fluxrl's: config.json gets "fluxrl_prm":
// {"input": "chatml" (PRM_INPUT_CHATML) or "policy" (PRM_INPUT_POLICY), "trajectory_separator": true}.
int prm_mark_trained(const char *dir, prm_input input, fx_err *err);

typedef struct {
    float *step; // (nsteps) rewards in [0, 1]
    float trajectory;
    float score; // r^
} prm_result;

// Scores one trace: the problem and its steps (trajectory steps then response steps, as text).
// r->step must hold nsteps floats. Returns 0, or -1 with err when the input does not fit.
int prm_score(prm_scorer *p, const char *problem, const char *const *steps, int nsteps, prm_result *r, fx_err *err);

#endif
