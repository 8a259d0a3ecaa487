// infer.h — a policy decoding problems outside training: `fluxrl eval` (accuracy), `fluxrl generate`
// (the samples as traces in an HDF5 store, through the continuous-batching engine) and `fluxrl
// best-of-n` (the samples scored by PRMs, Best-of-N next to the baselines). One set of typed
// parameters for the three; the CLI parses them, calls one function and prints its result.
// Row r of a run is sample r % n of problem r / n, drawn from Philox stream (first + r / n, r % n):
// the same seed gives the same samples in all three commands.
#ifndef FLUXRL_INFER_H
#define FLUXRL_INFER_H

#include <stdbool.h>

#include "../model/backend.h"
#include "../reward/reward.h"
#include "../rollout/dataset.h"
#include "../rollout/sample.h"

#define INFER_MAX_STOP 16
#define INFER_MAX_PRMS 4
#define INFER_MAX_EXPERTS 16 // ROLLOUT_MERGE_MAX_EXPERTS

typedef struct {
    const char *model;     // the policy's folder (weights, config.json, tokenizer)
    // eval, generate: instead of model, K experts merged token by token (docs/pcm.md): their
    // folders (one vocabulary; the first's tokenizer, chat template and stop ids are used), a PCM
    // (NULL: alpha = the preference), the preference (K weights on the simplex; npref 0: uniform)
    // and the space of the merge ("prob" | "logit").
    const char *experts[INFER_MAX_EXPERTS];
    int nexperts;
    const char *pcm;
    float preference[INFER_MAX_EXPERTS];
    int npref;
    const char *merge;
    const char *chat;      // prompt layout: "auto" (the model's chat template) | "r1" | "chatml"
    const char *system;    // a system turn before each problem (NULL: none)
    const char *chat_vars; // template variables, a JSON object as text (NULL: none)
    const char *backend;   // "cpu" | "cuda" (device 0)
    const char *precision; // cuda: "bf16" | "fp32"
    const char *stop[INFER_MAX_STOP]; // strings that end a response (eval, generate)
    int nstop;
    rollout_data_opts data;
    int n, batch, max_new; // samples per problem, rows decoded at once, tokens per response
    int slots, kv_tokens;  // generate: the engine's slots (0: rollout.slots' default) and KV columns (0: fit)
    sample_params sample;
    long long seed;
    const char *out; // generate: the trace store (appended to when it exists); best-of-n: a JSONL dump
    const char *prm[INFER_MAX_PRMS]; // best-of-n: the PRMs' folders
    int nprm;
    double alpha; // best-of-n: r^ = mean step + alpha * trajectory
    bool prm_traj_sep;      // best-of-n: fluxrl's trajectory separator asked of every PRM (prm_ask)
    const char *prm_system; // best-of-n: a system turn for every PRM's template (NULL: its default)
} infer_params;

typedef enum { INFER_EVAL, INFER_GENERATE, INFER_BEST_OF_N } infer_kind;

// The defaults of each command (eval: greedy, one sample; best-of-n: 16 samples at temperature 1).
void infer_defaults(infer_params *p, infer_kind kind);
// The first parameter that is out of range, as "--option: expected ..." (NULL when all are fine).
const char *infer_check(const infer_params *p, infer_kind kind);

typedef struct {
    int problems, samples;
    reward_accuracy acc; // pass@1, majority and pass@samples
    // --pcm: the mean mixing weight of each expert (K of them) over every decoded token, the
    // weights each token was drawn with; K = 0 otherwise
    int K;
    double alpha_mean[INFER_MAX_EXPERTS];
} infer_eval_result;

typedef struct {
    int traces, problems, samples;
    long long tokens;
    double seconds;
    long long correct;
    bool appended; // to an existing store
} infer_generate_result;

// One line of Best-of-N: a PRM over the first `samples` samples of each problem; with no PRM (prm
// NULL), the samples' pass@1, majority vote and pass@N only (prm_best, within_auroc and the
// selections below NaN).
typedef struct {
    const char *prm;
    int problems, samples;
    double prm_best, pass1, majority, pass_n;
    double within_auroc; // right samples against wrong ones of the same problem (NaN: no such pair)
    long long pairs;
    bool last;             // samples == n: the step fields below belong to it
    int steps, wrong_steps; // built-in task: steps the PRM scored, of them wrong (0: no step labels)
    double step_auroc;      // NaN when undefined
    // fluxrl's extensions (NaN with no PRM): the PRM-weighted vote by r^ (reward_vote), and the
    // highest-scored sample and the weighted vote by the lowest step reward (Math-Shepherd's
    // aggregation; Lightman et al. take the product) in place of r^
    double prm_vote, min_best, min_vote;
} infer_bon_line;

typedef struct {
    infer_bon_line *lines; // for each PRM (or once with none), samples 1, 2, 4, ... n
    int nlines;
} infer_bon_result;

// Each returns an exit code (FX_EXIT_OK, _INPUT for what the user gave, _FAIL for the machine)
// with err filled when it is not 0.
int infer_eval(const infer_params *p, infer_eval_result *r, fx_err *err);
int infer_generate(const infer_params *p, infer_generate_result *r, fx_err *err);
int infer_best_of_n(const infer_params *p, infer_bon_result *r, fx_err *err);
void infer_bon_result_free(infer_bon_result *r);

#endif
