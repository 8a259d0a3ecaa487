// test_watchdog.c — SIGTERM sets the stop flag; a beating loop is left alone; a stalled process
// is ended by the watchdog with a message saying what stalled.
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/watchdog.h"
#include "test.h"

static void nap(double s) {
    struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&t, NULL);
}

int main(void) {
    fx_signals_install();
    CHECK(!fx_stop_requested());
    raise(SIGTERM);
    CHECK(fx_stop_requested());
    CHECK_INT(fx_stop_signal(), SIGTERM);

    // A child that beats every 0.1 s for 1.5 s under a 0.5 s watchdog finishes normally; one
    // that stops beating is ended within about the limit, and says what it was doing.
    int fds[2];
    CHECK_INT(pipe(fds), 0);
    for (int stall = 0; stall < 2; stall++) {
        double t0 = fx_time_now();
        pid_t pid = fork();
        if (pid == 0) {
            dup2(fds[1], 2);
            fx_watchdog_start(0.5, "test loop");
            for (int i = 0; i < 15; i++) {
                fx_watchdog_beat(stall && i == 3 ? "the stalling step" : NULL);
                nap(stall && i == 3 ? 30.0 : 0.1);
            }
            fx_watchdog_stop();
            _exit(0);
        }
        int status;
        waitpid(pid, &status, 0);
        double dt = fx_time_now() - t0;
        CHECK(WIFEXITED(status));
        CHECK_INT(WEXITSTATUS(status), stall ? 1 : 0);
        if (stall) CHECK(dt < 3.0);
    }
    close(fds[1]);
    char buf[2048] = "";
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    CHECK(strstr(buf, "error: stalled: no progress for 0.") != NULL);
    CHECK(strstr(buf, " s (watchdog limit 0.5 s) in the stalling step; ending the job") != NULL);
    if (!strstr(buf, "the stalling step")) fprintf(stderr, "  stderr was: %s\n", buf);
    return test_summary("test_watchdog");
}
