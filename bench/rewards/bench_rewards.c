// bench_rewards.c — outcome rewards per second from each source (docs/rewards.md, "Costs"): the
// built-in verifier called in-process, the verifier plugin through reward_plugin_score, and an
// external program through reward_cmd_score (JSON lines over pipes, pipelined, W workers).
//   bench_rewards N PLUGIN.so "COMMAND" [WORKERS...]
// Requests are built-in-task style responses ("<think>...</think>The answer is K."), half right.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reward/external.h"
#include "rollout/verify.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: bench_rewards N PLUGIN.so \"COMMAND\" [WORKERS...]\n");
        return 2;
    }
    int n = atoi(argv[1]);
    reward_request *req = calloc((size_t)n, sizeof *req);
    reward_result *res = calloc((size_t)n, sizeof *res);
    char **text = calloc((size_t)n, sizeof *text), **gold = calloc((size_t)n, sizeof *gold);
    for (int i = 0; i < n; i++) {
        int a = i % 97, b = (i * 7) % 89;
        text[i] = malloc(256), gold[i] = malloc(32);
        snprintf(text[i], 256, "%d+%d:\n%d+%d=%d\n</think>\n\nThe answer is %d.", a, b, a, b, a + b, a + b + (i % 2));
        snprintf(gold[i], 32, "%d", a + b);
        req[i] = (reward_request){.id = i, .problem = "Compute.", .response = text[i], .answer = gold[i], .meta = "{}"};
    }
    double t0 = now_s();
    int right = 0;
    for (int i = 0; i < n; i++) right += verify_response(text[i], gold[i], NULL);
    double t1 = now_s();
    printf("built-in verifier, in-process: %d requests in %.3f s: %.0f requests/s (%d right)\n", n, t1 - t0,
           n / (t1 - t0), right);
    fx_err err;
    reward_plugin *p;
    if (reward_plugin_open(&p, argv[2], "", &err)) return fprintf(stderr, "%s\n", err.msg), 1;
    t0 = now_s();
    if (reward_plugin_score(p, req, n, res, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
    t1 = now_s();
    right = 0;
    for (int i = 0; i < n; i++) right += res[i].reward == 1.0, free(res[i].info);
    printf("verifier plugin (dlopen):      %d requests in %.3f s: %.0f requests/s (%d right)\n", n, t1 - t0,
           n / (t1 - t0), right);
    reward_plugin_close(p);
    for (int a = 4; a < argc || a == 4; a++) {
        int workers = a < argc ? atoi(argv[a]) : 1;
        reward_cmd_opts o = {argv[3], 600, workers};
        reward_cmd *rc;
        double s0 = now_s();
        if (reward_cmd_open(&rc, &o, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
        // A first small batch so that start-up (interpreter, imports) is timed apart.
        if (reward_cmd_score(rc, req, workers, res, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
        for (int i = 0; i < workers; i++) free(res[i].info);
        double s1 = now_s();
        if (reward_cmd_score(rc, req, n, res, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
        double s2 = now_s();
        right = 0;
        for (int i = 0; i < n; i++) right += res[i].reward == 1.0, free(res[i].info);
        printf("command, %d worker%s:           %d requests in %.3f s: %.0f requests/s (%d right; start-up %.2f s)\n",
               workers, workers > 1 ? "s" : " ", n, s2 - s1, n / (s2 - s1), right, s1 - s0);
        reward_cmd_close(rc);
    }
    for (int i = 0; i < n; i++) free(text[i]), free(gold[i]);
    free(req), free(res), free(text), free(gold);
    return 0;
}
