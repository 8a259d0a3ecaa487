// metrics.h — one JSON line per training step in RUN_DIR/metrics.jsonl:
//   {"step": 12, "reward_mean": 0.43, "time_rollout_s": 1.9, ...}
// Values print with 17 significant digits (a double survives the round trip), non-finite ones
// as null. Each line is flushed when written. A resumed run first drops the lines of steps after
// its checkpoint, so no step is repeated or lost.
#ifndef FLUXRL_METRICS_H
#define FLUXRL_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include "fx.h"

typedef struct {
    FILE *f;
    char path[4200];
} fx_metrics;

// resume_step < 0: a fresh run (an existing file is replaced). Else keep the lines with
// step <= resume_step and append after them.
int fx_metrics_open(fx_metrics *m, const char *run_dir, int64_t resume_step, fx_err *err);
int fx_metrics_write(fx_metrics *m, int64_t step, int n, const char *const *keys, const double *values, fx_err *err);
void fx_metrics_close(fx_metrics *m);

#endif
