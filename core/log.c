// log.c — see log.h.
#include "log.h"

#include <string.h>

static struct {
    int rank;
    char role[16];
    fx_log_level level;
    bool all_ranks;
    FILE *stream;
    double t0;
    bool started;
} g_log = {.rank = -1, .level = FX_LOG_INFO};

static const char *level_names[] = {"error", "warn", "info", "debug"};

static void log_start(void) {
    if (g_log.started) return;
    g_log.started = true;
    g_log.t0 = fx_time_now();
}

void fx_log_set_rank(int rank, const char *role) {
    log_start(); // times count from start-up, not from the first line
    g_log.rank = rank;
    snprintf(g_log.role, sizeof g_log.role, "%s", role ? role : "");
}

void fx_log_set_level(fx_log_level level) { g_log.level = level; }
void fx_log_set_all_ranks(bool all) { g_log.all_ranks = all; }
void fx_log_set_stream(FILE *stream) { g_log.stream = stream; }
int fx_log_rank(void) { return g_log.rank; }
const char *fx_log_role(void) { return g_log.role; }

int fx_log_level_parse(const char *name, fx_log_level *out) {
    for (int i = 0; i <= FX_LOG_DEBUG; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (fx_log_level)i;
            return 0;
        }
    }
    return -1;
}

bool fx_log_enabled(fx_log_level level) {
    if (level > g_log.level) return false;
    if (level >= FX_LOG_INFO && g_log.rank > 0 && !g_log.all_ranks) return false;
    return true;
}

void fx_logv(fx_log_level level, const char *fmt, va_list ap) {
    log_start();
    if (!fx_log_enabled(level)) return;
    // One buffer, one fputs: lines from several ranks sharing a terminal do not interleave.
    char line[4096];
    int n;
    double t = fx_time_now() - g_log.t0;
    if (g_log.rank >= 0)
        n = snprintf(line, sizeof line, "[r%d %s +%.1fs] ", g_log.rank, g_log.role, t);
    else
        n = snprintf(line, sizeof line, "[fluxrl +%.1fs] ", t);
    if (level != FX_LOG_INFO && n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, "%s: ", level_names[level]);
    if (n < (int)sizeof line) n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    if (n >= (int)sizeof line - 1) n = (int)sizeof line - 2;
    line[n] = '\n';
    line[n + 1] = '\0';
    FILE *out = g_log.stream ? g_log.stream : stderr;
    fputs(line, out);
    fflush(out);
}

void fx_log(fx_log_level level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fx_logv(level, fmt, ap);
    va_end(ap);
}
