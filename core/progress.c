// progress.c — see progress.h.
#define _POSIX_C_SOURCE 200809L
#include "progress.h"

#include <string.h>
#include <unistd.h>

#include "fx.h"
#include "log.h"

static fx_progress_mode g_mode = FX_PROGRESS_AUTO;
static double g_interval = 10.0;

void fx_progress_configure(fx_progress_mode mode, double interval) {
    g_mode = mode;
    g_interval = interval;
}

int fx_progress_mode_parse(const char *name, fx_progress_mode *out) {
    static const char *names[] = {"auto", "live", "lines", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (fx_progress_mode)i;
            return 0;
        }
    }
    return -1;
}

void fx_progress_init_at(fx_progress *p, const char *label, int64_t total, double now) {
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total;
    p->t0 = p->last_print = now;
    p->interval = g_interval;
    p->out = stderr;
    p->mode = g_mode;
    if (p->mode == FX_PROGRESS_AUTO) p->mode = isatty(fileno(stderr)) ? FX_PROGRESS_LIVE : FX_PROGRESS_LINES;
    if (!fx_log_enabled(FX_LOG_INFO)) p->mode = FX_PROGRESS_OFF;
}

void fx_progress_init(fx_progress *p, const char *label, int64_t total) {
    fx_progress_init_at(p, label, total, fx_time_now());
}

// "label  45/100  45%  12.3/s  eta 4s  extra"
static void progress_format(const fx_progress *p, const char *extra, double now, char *s, size_t n) {
    double dt = now - p->t0;
    double rate = dt > 0 ? (double)p->done / dt : 0.0;
    int k = snprintf(s, n, "%s %lld/%lld", p->label, (long long)p->done, (long long)p->total);
    if (p->total > 0 && k < (int)n) {
        k += snprintf(s + k, n - (size_t)k, " %3d%%", (int)(100 * p->done / p->total));
        if (rate > 0 && p->done < p->total && k < (int)n)
            k += snprintf(s + k, n - (size_t)k, " eta %.0fs", (double)(p->total - p->done) / rate);
    }
    if (k < (int)n) k += snprintf(s + k, n - (size_t)k, " %.3g/s %.1fs", rate, dt);
    if (extra && extra[0] && k < (int)n) snprintf(s + k, n - (size_t)k, " %s", extra);
}

static void progress_draw_live(fx_progress *p, const char *text) {
    char bar[24];
    int width = (int)sizeof bar - 1;
    int fill = p->total > 0 ? (int)(width * p->done / p->total) : 0;
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '-';
    bar[width] = '\0';
    fprintf(p->out, "\r\033[K[%s] %s", bar, text);
    fflush(p->out);
    p->drawn = true;
}

void fx_progress_update_at(fx_progress *p, int64_t done, const char *extra, double now) {
    p->done = done;
    if (p->mode == FX_PROGRESS_OFF) return;
    char text[512];
    if (p->mode == FX_PROGRESS_LIVE) {
        if (now - p->last_print < 0.1 && p->drawn) return; // at most ~10 redraws a second
        progress_format(p, extra, now, text, sizeof text);
        progress_draw_live(p, text);
    } else {
        if (now - p->last_print < p->interval) return;
        progress_format(p, extra, now, text, sizeof text);
        fx_info("%s", text);
    }
    p->last_print = now;
}

void fx_progress_update(fx_progress *p, int64_t done, const char *extra) {
    fx_progress_update_at(p, done, extra, fx_time_now());
}

void fx_progress_end_at(fx_progress *p, const char *extra, double now) {
    if (p->mode == FX_PROGRESS_OFF) return;
    char text[512];
    progress_format(p, extra, now, text, sizeof text);
    if (p->mode == FX_PROGRESS_LIVE) {
        progress_draw_live(p, text);
        fputc('\n', p->out);
        fflush(p->out);
    } else {
        fx_info("%s done", text);
    }
    p->mode = FX_PROGRESS_OFF;
}

void fx_progress_end(fx_progress *p, const char *extra) { fx_progress_end_at(p, extra, fx_time_now()); }
