// test_reward_cmd.c — external reward programs (reward/external.h) with tests/rewards/faulty_reward.py:
// large pipelined batches over several workers whose results are as large as the requests (both
// pipes full at once: no deadlock), a restart that recovers, a second failure that is an error naming
// the request and quoting the program's stderr (die, hang, garbage, non-finite), a missing program,
// and no child process left behind once closed.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reward/external.h"
#include "test.h"

#define PROG "/usr/bin/python3 tests/rewards/faulty_reward.py "

static char marker[256];

// n requests; request i's response holds its answer when i is even, and is `big` bytes long.
static void make(reward_request *req, char **resp, int n, size_t big) {
    static const char *const steps[2] = {"first step", "second step"};
    for (int i = 0; i < n; i++) {
        resp[i] = malloc(big + 64);
        memset(resp[i], 'x', big);
        snprintf(resp[i] + big, 64, "</think>The answer is %s.", i % 2 ? "no" : "42");
        req[i] = (reward_request){.id = 1000 + i, .problem = "Compute 6*7.", .response = resp[i], .answer = "42",
                                  .steps = steps, .nsteps = 2, .meta = "{\"source\":\"test\"}"};
    }
}

static void drop(char **resp, reward_result *res, int n) {
    for (int i = 0; i < n; i++) free(resp[i]), free(res[i].info), res[i].info = NULL;
}

static int no_children(void) { return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD; }

// A batch the program answers well: rewards, steps and infos where they belong.
static void test_pipelined(int workers, int n, size_t big, const char *mode) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, PROG "%s 0", mode);
    reward_cmd_opts o = {cmd, 60, workers};
    reward_cmd *rc;
    fx_err err;
    CHECK_INT(reward_cmd_open(&rc, &o, &err), 0);
    reward_request *req = calloc((size_t)n, sizeof *req);
    reward_result *res = calloc((size_t)n, sizeof *res);
    double *steps = calloc((size_t)n * 2, sizeof *steps);
    char **resp = calloc((size_t)n, sizeof *resp);
    make(req, resp, n, big);
    for (int i = 0; i < n; i++) res[i].step = steps + 2 * i;
    for (int round = 0; round < 2; round++) { // the same workers serve a second batch
        int r = reward_cmd_score(rc, req, n, res, &err);
        CHECK_INT(r, 0);
        if (r) fprintf(stderr, "%s\n", err.msg);
        int bad = 0;
        for (int i = 0; i < n; i++) {
            bad += res[i].reward != (i % 2 ? 0.0 : 1.0) || !res[i].has_steps || res[i].step[1] != 0.5 || !res[i].info;
            if (!strcmp(mode, "echo")) bad += !res[i].info || strlen(res[i].info) < big;
            free(res[i].info), res[i].info = NULL;
        }
        CHECK_INT(bad, 0);
    }
    int pid = reward_cmd_pid(rc, 0);
    reward_cmd_close(rc);
    CHECK(kill(pid, 0) < 0 && errno == ESRCH);
    CHECK(no_children());
    drop(resp, res, n);
    free(req), free(res), free(steps), free(resp);
}

// The program fails in `mode` at its `at`-th request; with the marker every later process fails at
// once. Returns the score call's result; err holds the message.
static int run_faulty(const char *mode, int at, bool persistent, double timeout, fx_err *err) {
    char cmd[512];
    unlink(marker);
    snprintf(cmd, sizeof cmd, PROG "%s %d %s", mode, at, persistent ? marker : "");
    reward_cmd_opts o = {cmd, timeout, 2};
    reward_cmd *rc;
    if (reward_cmd_open(&rc, &o, err)) return -2;
    enum { N = 24 };
    reward_request req[N];
    reward_result res[N];
    double steps[2 * N];
    char *resp[N];
    make(req, resp, N, 100);
    for (int i = 0; i < N; i++) res[i] = (reward_result){.step = steps + 2 * i};
    int r = reward_cmd_score(rc, req, N, res, err);
    int bad = 0;
    for (int i = 0; i < N && r == 0; i++) bad += res[i].reward != (i % 2 ? 0.0 : 1.0);
    CHECK_INT(bad, 0);
    reward_cmd_close(rc);
    drop(resp, res, N);
    CHECK(no_children());
    unlink(marker);
    return r;
}

static void expect_failure(const char *mode, const char *what) {
    fx_err err = {{0}};
    CHECK_INT(run_faulty(mode, 3, true, 1.0, &err), -1);
    if (!strstr(err.msg, what) || !strstr(err.msg, "request 10") || !strstr(err.msg, "restarted once already") ||
        !strstr(err.msg, "faulty_reward: failing (") || !strstr(err.msg, "'s problem: \"Compute 6*7.\"")) {
        test_failed++;
        fprintf(stderr, "%s: unexpected message: %s\n", mode, err.msg);
    } else test_passed++;
}

// pcm.reward = bt: the caller asks for 2 dimensions; "rewards" must hold exactly 2 finite numbers.
static int run_dims(const char *mode, fx_err *err) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, PROG "%s 0", mode);
    reward_cmd_opts o = {cmd, 30, 2};
    reward_cmd *rc;
    if (reward_cmd_open(&rc, &o, err)) return -2;
    enum { N = 6 };
    reward_request req[N];
    reward_result res[N];
    double steps[2 * N], dims[2 * N];
    char *resp[N];
    make(req, resp, N, 10);
    for (int i = 0; i < N; i++) res[i] = (reward_result){.step = steps + 2 * i, .ndims = 2, .dims = dims + 2 * i};
    int r = reward_cmd_score(rc, req, N, res, err);
    int bad = 0;
    for (int i = 0; i < N && r == 0; i++)
        bad += dims[2 * i] != (i % 2 ? 0.0 : 1.0) || dims[2 * i + 1] != (double)strlen(resp[i]) ||
               res[i].reward != dims[2 * i];
    CHECK_INT(bad, 0);
    reward_cmd_close(rc);
    drop(resp, res, N);
    return r;
}

int main(void) {
    snprintf(marker, sizeof marker, "/tmp/fluxrl_test_reward_cmd.%d", (int)getpid());
    test_pipelined(1, 40, 100, "good");
    test_pipelined(3, 300, 200000, "echo"); // 60 MB each way: requests and results fill both pipes
    fx_err err;
    // One death (at each worker's 11th of 12 requests): the worker is restarted and its unanswered
    // requests sent again; the new process answers them.
    CHECK_INT(run_faulty("die", 11, false, 30, &err), 0);
    // A second failure (the marker makes a restarted process fail at once): an error naming the
    // request (worker 0 fails at 1004, worker 1 at 1005) and quoting the program's stderr.
    expect_failure("die", "died");
    expect_failure("hang", "no result within reward.timeout = 1 s");
    expect_failure("garbage", "\"this is not JSON\", which is not a JSON object");
    expect_failure("nonfinite", "\"reward\" is not finite");
    expect_failure("exit", "exited with status 3");
    CHECK_INT(run_dims("dims", &err), 0);
    CHECK_INT(run_dims("dims1", &err), -1);
    CHECK(strstr(err.msg, "\"rewards\" is not a list of that length; expected a list of 2 numbers") != NULL);
    CHECK_INT(run_dims("good", &err), -1);
    CHECK(strstr(err.msg, "\"rewards\" is missing; expected a list of 2 numbers") != NULL);
    CHECK_INT(run_dims("dimsinf", &err), -1);
    CHECK(strstr(err.msg, "rewards[1] is not a finite number") != NULL);
    // A program that is not there is bad input, caught before anything runs.
    reward_cmd_opts o = {"/nonexistent/reward-prog --x", 10, 1};
    reward_cmd *rc;
    CHECK_INT(reward_cmd_open(&rc, &o, &err), -1);
    CHECK(strstr(err.msg, "/nonexistent/reward-prog is not found") != NULL);
    CHECK(no_children());
    return test_summary("test_reward_cmd");
}
