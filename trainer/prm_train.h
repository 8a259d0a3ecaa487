// prm_train.h — training a process reward model (ReasonFlux-PRM's objective) on labelled traces of
// the built-in task: L = lambda_step * mean_t (r^_t - r_t)^2 + lambda_final * (r^_final - r_final)^2,
// with r^_t the 2-class head's P(class 1) read at step t's "<extra_0>" and r^_final read at one more
// "<extra_0>" after the last step's (reward/prm.h reads the trajectory there too), r_t = 1 for a
// step the task's checker finds right, else 0, and r_final = 1 when the trace's final answer is
// right, or, with a writer and template_rollouts = n > 0, the paper's target: the success rate of n
// policy rollouts that follow the trace's plan (template-guided, trainer/prm_labels.h).
#ifndef FLUXRL_PRM_TRAIN_H
#define FLUXRL_PRM_TRAIN_H

#include "../model/model.h"
#include "../model/tok.h"
#include "../rollout/task.h"
#include "prm_labels.h"
#include "trainer_dp.h"

typedef struct {
    tok_tokenizer *tok;
    task_opts task;    // error_rate: the share of wrong steps in the traces
    uint64_t seed;
    int32_t sep;       // "<extra_0>"
    int max_seq;
    // prm.data: traces to train on besides the generator's (the policy's own samples, say), as the
    // checker reads them ("<think>\n..."), labelled by it; a training example is one of them, drawn
    // uniformly, with probability pool_share.
    const task_problem *pool_problem;
    char *const *pool_text;
    int64_t npool;
    double pool_share;
    // prm.twins (fluxrl's extension): training examples come in pairs, example 2j+1 being example
    // 2j's generator trace with one more of its right think steps written wrong (task_trace_make_wrong),
    // so the pair differs only from that step on and only the check of that step tells them apart.
    // Where example 2j is a prm.data trace, example 2j+1 is drawn as usual.
    bool twins;
    // prm.lm_weight (fluxrl's extension): an auxiliary next-token cross-entropy on the text of the
    // steps the checker finds right, this much of it added to the loss (0: none). The model needs
    // lm_aux set before model_reserve and a tied embedding, its LM head.
    float lm_weight;
    // prm.dense (fluxrl's extension): the step loss also at every token of a step's text, target 1
    // before the first token where the step departs from its gold text (task_labels' departs) and 0
    // from it on (the separator's target is the step's label); each row's tokens averaged, this much
    // of it added to the loss (0: none).
    float dense;
    // prm.layout = policy (fluxrl's extension): the input in the policy's own layout
    // (tok_prm_policy_format), each step read at the token holding its last byte, the trajectory at
    // the one "<extra_0>" after the steps; false: the published ChatML layout, "<extra_0>" after
    // each step and one more for the trajectory.
    bool policy_layout;
    const prm_writer *writer; // template-guided trajectory targets for training traces (NULL: none)
    int template_rollouts;    // rollouts per trace (0: the answer's correctness is the target)
} prm_data;

// One labelled example: the PRM input ids, the positions it is read at (n steps' and the
// trajectory's, n + 1 in all; max_steps counts them: the "<extra_0>" tokens, or with policy_layout
// each step's last token and the "<extra_0>") and the targets; departs (may be NULL):
// each step's first token that departs from its gold text, -1 for a right step (prm.dense). Returns n.
int prm_example(const prm_data *d, uint64_t stream, uint64_t index, tok_ids *ids, int *sep_pos, float *step_target,
                float *final_target, int max_steps, int *departs);

typedef struct {
    double loss, step_mse, final_mse;
    double final_target; // the batch's mean trajectory target
    double lm_ce;        // the auxiliary LM loss's mean cross-entropy (0 without it)
    double dense_mse;    // the per-token step loss's mean squared error (0 without it)
} prm_train_stats;

// One optimisation step on B examples from index *next of the training stream (advanced).
void prm_train_step(model *m, const prm_data *d, uint64_t *next, int B, float lambda_step, float lambda_final,
                    const model_adamw *opt, float lr, prm_train_stats *st);

// Data parallelism (dp NULL: one rank): every rank builds the same B examples and trains on its
// share of the rows, [rank B / size, (rank + 1) B / size); the loss keeps its 1/B, so summing the
// ranks' gradients and statistics gives the one-process step's.
void prm_train_step_dp(model *m, const prm_data *d, uint64_t *next, int B, float lambda_step, float lambda_final,
                       const model_adamw *opt, float lr, const trainer_dp *dp, prm_train_stats *st);

typedef struct {
    double step_mse, final_mse;
    double auroc; // P(a right step scores above a wrong one): step-error detection
    int steps, wrong;
} prm_eval_result;

// Scores n held-out traces (error rate 0.5), `batch` at a time (within the model's arena), and
// measures how well the PRM separates their right and wrong steps. The final MSE is against the
// answer's correctness, whatever the training target. With dp (may be NULL) over more than one
// rank and m's weights sharded (trainer.shard = full), every rank of dp calls it with the same
// batch: the ranks take turns at the batches and every rank gets the one-rank result exactly.
void prm_evaluate(model *m, const prm_data *d, const trainer_dp *dp, int n, int batch, prm_eval_result *r);

// The area under the ROC curve of scores for positives (label 1) against negatives (0), with ties
// counted half (Mann-Whitney U); NaN when either class is empty.
double prm_auroc(const float *score, const uint8_t *label, int n);

#endif
