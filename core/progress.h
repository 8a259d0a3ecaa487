// progress.h — progress of long work (training steps, generation, scoring).
// On a terminal it redraws one live line; when stderr goes to a file or pipe it logs a plain
// line every `interval` seconds instead, so job logs stay readable. Prints where info-level
// logging prints (rank 0 by default).
#ifndef FLUXRL_PROGRESS_H
#define FLUXRL_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { FX_PROGRESS_AUTO = 0, FX_PROGRESS_LIVE, FX_PROGRESS_LINES, FX_PROGRESS_OFF } fx_progress_mode;

typedef struct {
    char label[64];
    int64_t total, done;
    double t0, last_print;
    fx_progress_mode mode; // resolved: LIVE, LINES or OFF
    double interval;       // seconds between plain lines
    FILE *out;
    bool drawn;            // a live line is on screen
} fx_progress;

// How every later fx_progress_init behaves (from the config's log.progress keys).
void fx_progress_configure(fx_progress_mode mode, double interval);
int fx_progress_mode_parse(const char *name, fx_progress_mode *out); // "auto|live|lines|off"

void fx_progress_init(fx_progress *p, const char *label, int64_t total);
// `extra` (may be NULL) is appended, e.g. "loss 0.713".
void fx_progress_update(fx_progress *p, int64_t done, const char *extra);
void fx_progress_end(fx_progress *p, const char *extra);
// The same with an explicit clock, for tests.
void fx_progress_init_at(fx_progress *p, const char *label, int64_t total, double now);
void fx_progress_update_at(fx_progress *p, int64_t done, const char *extra, double now);
void fx_progress_end_at(fx_progress *p, const char *extra, double now);

#endif
