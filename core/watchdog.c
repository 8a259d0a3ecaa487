// watchdog.c — see watchdog.h.
#define _POSIX_C_SOURCE 200809L
#include "watchdog.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fx.h"
#include "log.h"

static struct {
    pthread_t thread;
    pthread_mutex_t lock;
    double timeout, last;
    char what[128];
    bool running;
    atomic_bool quit;
} g_wd = {.lock = PTHREAD_MUTEX_INITIALIZER};

static volatile sig_atomic_t g_stop_signal;

static void *watch(void *arg) {
    (void)arg;
    while (!atomic_load(&g_wd.quit)) {
        struct timespec nap = {0, 100 * 1000 * 1000};
        nanosleep(&nap, NULL);
        pthread_mutex_lock(&g_wd.lock);
        double idle = fx_time_now() - g_wd.last;
        char what[128];
        memcpy(what, g_wd.what, sizeof what);
        pthread_mutex_unlock(&g_wd.lock);
        if (idle > g_wd.timeout && !atomic_load(&g_wd.quit)) {
            fx_error("stalled: no progress for %.1f s (watchdog limit %g s) in %s; ending the job", idle,
                     g_wd.timeout, what);
            fflush(NULL);
            _exit(FX_EXIT_FAIL); // not exit(): the main thread may hold locks the atexit handlers need
        }
    }
    return NULL;
}

void fx_watchdog_start(double timeout_s, const char *what) {
    if (timeout_s <= 0 || g_wd.running) return;
    g_wd.timeout = timeout_s;
    fx_watchdog_beat(what ? what : "start-up");
    atomic_store(&g_wd.quit, false);
    FX_ASSERT(pthread_create(&g_wd.thread, NULL, watch, NULL) == 0);
    g_wd.running = true;
}

void fx_watchdog_beat(const char *what) {
    pthread_mutex_lock(&g_wd.lock);
    g_wd.last = fx_time_now();
    if (what) snprintf(g_wd.what, sizeof g_wd.what, "%s", what);
    pthread_mutex_unlock(&g_wd.lock);
}

void fx_watchdog_stop(void) {
    if (!g_wd.running) return;
    atomic_store(&g_wd.quit, true);
    pthread_join(g_wd.thread, NULL);
    g_wd.running = false;
}

static volatile sig_atomic_t g_export;

static void on_signal(int sig) { g_stop_signal = sig; }
static void on_export(int sig) {
    (void)sig;
    g_export = 1;
}

void fx_signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    // A SIGUSR1 ignored by whoever started us (launch/slurm/fluxrl.sbatch's mpirun wrapper, which
    // turns it into SIGTERM) stays ignored.
    struct sigaction old;
    if (sigaction(SIGUSR1, NULL, &old) == 0 && old.sa_handler != SIG_IGN) {
        sa.sa_handler = on_export;
        sigaction(SIGUSR1, &sa, NULL);
    }
}

bool fx_stop_requested(void) { return g_stop_signal != 0; }
int fx_stop_signal(void) { return (int)g_stop_signal; }
void fx_stop_clear(void) { g_stop_signal = 0; }
void fx_stop_raise(int sig) {
    if (!g_stop_signal) g_stop_signal = sig;
}

bool fx_export_requested(void) {
    if (!g_export) return false;
    g_export = 0;
    return true;
}
