// train_ckpt.h — the checkpoint of a training loop (sft, train, ...): the model's weights, its
// AdamW moments and step, and a few numbers of the loop's own (its step, data cursor, metrics
// accumulators), in the HDF5 container of trainer/ckpt.h. With them a resumed run continues
// exactly where the interrupted one stood.
#ifndef FLUXRL_TRAIN_CKPT_H
#define FLUXRL_TRAIN_CKPT_H

#include "../core/config.h"
#include "../model/model.h"
#include "ckpt.h"

#define TRAIN_CKPT_COUNTERS 7
#define TRAIN_CKPT_ACCUMS 2

typedef struct {
    float *params, *m, *v;                      // host copies of the model's buffers
    int64_t counters[TRAIN_CKPT_COUNTERS + 1];  // the loop's (it fills them), then AdamW's step
    double accum[TRAIN_CKPT_ACCUMS];            // the loop's
    ckpt_array a[5];
    const char *kind; // the loop's kind, "sft", "prm" or "grpo", stored in its checkpoints; NULL: untagged
} train_ckpt;

void train_ckpt_init(train_ckpt *c, size_t nparams);
void train_ckpt_free(train_ckpt *c);
// Writes step's checkpoint of m (and of c->counters, c->accum) into run_dir/checkpoints/.
int train_ckpt_save(train_ckpt *c, const model *m, int64_t step, const fx_config *cfg, const char *run_dir,
                    fx_err *err);
// --resume auto: loads the newest checkpoint that loads into m and c (1), or finds none (0).
int train_ckpt_resume(train_ckpt *c, model *m, const char *run_dir, int64_t *step, fx_err *err);

#endif
