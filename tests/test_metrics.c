// test_metrics.c — metrics lines: exact values, null for NaN, and a resumed run whose file ends
// up byte-identical to an uninterrupted one.
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <unistd.h>

#include "core/metrics.h"
#include "test.h"

static char dir[] = "/tmp/fluxrl-test-metrics-XXXXXX";

static void log_steps(fx_metrics *m, int from, int to) {
    const char *keys[3] = {"loss", "reward_mean", "lag"};
    for (int s = from; s < to; s++) {
        double v[3] = {1.0 / (s + 1), 0.1 * s, s == 2 ? NAN : 0.0};
        fx_err err;
        CHECK_INT(fx_metrics_write(m, s, 3, keys, v, &err), 0);
    }
}

static char *slurp(const char *name) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fx_err err;
    return fx_read_file(path, NULL, &err);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    fx_metrics m;
    fx_err err;
    CHECK_INT(fx_metrics_open(&m, a, -1, &err), 0);
    log_steps(&m, 0, 6);
    fx_metrics_close(&m);
    // Run b: logs steps 0..4, "crashes", resumes from the checkpoint of step 2, logs 3..5.
    CHECK_INT(fx_metrics_open(&m, b, -1, &err), 0);
    log_steps(&m, 0, 5);
    fx_metrics_close(&m);
    CHECK_INT(fx_metrics_open(&m, b, 2, &err), 0);
    log_steps(&m, 3, 6);
    fx_metrics_close(&m);
    char *x = slurp("a/metrics.jsonl"), *y = slurp("b/metrics.jsonl");
    CHECK(x && y);
    CHECK_STR(x, y);
    CHECK(strstr(x, "{\"step\": 2, \"loss\": 0.33333333333333331, \"reward_mean\": 0.20000000000000001, \"lag\": null}\n") != NULL);
    free(x);
    free(y);
    // A fresh run replaces an old file.
    CHECK_INT(fx_metrics_open(&m, a, -1, &err), 0);
    log_steps(&m, 0, 1);
    fx_metrics_close(&m);
    x = slurp("a/metrics.jsonl");
    CHECK_STR(x, "{\"step\": 0, \"loss\": 1, \"reward_mean\": 0, \"lag\": 0}\n");
    free(x);
    CHECK_INT(fx_metrics_open(&m, "/proc/fluxrl-nope", -1, &err), -1);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    return test_summary("test_metrics");
}
