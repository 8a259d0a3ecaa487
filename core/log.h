// log.h — the rank-aware logger, fluxrl's only global state.
// Every line carries the rank and role: "[r1 rollout +12.3s] warn: ...". By default only rank 0
// prints info and debug lines; every rank prints warnings and errors.
#ifndef FLUXRL_LOG_H
#define FLUXRL_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "fx.h"

typedef enum { FX_LOG_ERROR = 0, FX_LOG_WARN, FX_LOG_INFO, FX_LOG_DEBUG } fx_log_level;

// rank < 0 means "not under MPI": the prefix then has no rank.
void fx_log_set_rank(int rank, const char *role);
void fx_log_set_level(fx_log_level level);
void fx_log_set_all_ranks(bool all);  // info/debug from every rank, not only rank 0
void fx_log_set_stream(FILE *stream); // default stderr; tests point it at a memory stream
int fx_log_level_parse(const char *name, fx_log_level *out); // "error|warn|info|debug"
bool fx_log_enabled(fx_log_level level); // would a line at this level print on this rank?
int fx_log_rank(void);
const char *fx_log_role(void);

void fx_log(fx_log_level level, const char *fmt, ...) FX_PRINTF(2, 3);
void fx_logv(fx_log_level level, const char *fmt, va_list ap);
#define fx_error(...) fx_log(FX_LOG_ERROR, __VA_ARGS__)
#define fx_warn(...) fx_log(FX_LOG_WARN, __VA_ARGS__)
#define fx_info(...) fx_log(FX_LOG_INFO, __VA_ARGS__)
#define fx_debug(...) fx_log(FX_LOG_DEBUG, __VA_ARGS__)

#endif
