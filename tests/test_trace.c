// test_trace.c — trace batches; the HDF5 trace store: round trip, ranges, groups, attributes,
// JSONL export, bad files, and a writer killed with SIGKILL mid-run.
#define _POSIX_C_SOURCE 200809L
#include <hdf5.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rollout/trace_store.h"
#include "test.h"
#include "trace_fixture.h"

static char dir[] = "/tmp/fluxrl-test-trace-XXXXXX";

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void test_batch(void) {
    trace_batch b, c;
    trace_batch_init(&b);
    trace_batch_init(&c);
    for (int64_t i = 0; i < 50; i++) make_trace(i, 1, &b);
    CHECK_INT(b.n, 50);
    int bad = 0;
    for (int64_t i = 0; i < 50; i++) {
        trace t = trace_batch_get(&b, i);
        bad += !same_as(&t, i, 1);
    }
    CHECK_INT(bad, 0);
    trace_batch_append(&c, &b);
    trace_batch_append(&c, &b);
    CHECK_INT(c.n, 100);
    trace t = trace_batch_get(&c, 57);
    CHECK(same_as(&t, 7, 1));
    trace_batch_clear(&c);
    CHECK_INT(c.n, 0);
    trace_batch_free(&b);
    trace_batch_free(&c);
}

static void test_round_trip(void) {
    fx_err err;
    trace_store *s;
    const char *path = tmp_path("rt.h5");
    CHECK_INT(trace_store_create(&s, path, "{\"run\": {\"seed\": 1}}", "tiny-model", "tok.json sha 12ab", &err), 0);
    trace_batch b;
    trace_batch_init(&b);
    int64_t next = 0;
    for (int batch = 0; batch < 4; batch++) {
        trace_batch_clear(&b);
        for (int k = 0; k < 10 + batch * 7; k++) make_trace(next++, 3, &b);
        CHECK_INT(trace_store_append(s, &b, &err), 0);
    }
    trace_batch_clear(&b);
    CHECK_INT(trace_store_append(s, &b, &err), 0); // an empty batch is fine
    CHECK_INT(trace_store_close(s, &err), 0);

    CHECK_INT(trace_store_open(&s, path, &err), 0);
    CHECK_INT(trace_store_count(s), next);
    CHECK_STR(trace_store_attr(s, "config"), "{\"run\": {\"seed\": 1}}");
    CHECK_STR(trace_store_attr(s, "model"), "tiny-model");
    CHECK_STR(trace_store_attr(s, "tokenizer"), "tok.json sha 12ab");
    CHECK_INT(trace_store_read(s, 0, next, &b, &err), 0);
    int bad = 0;
    for (int64_t i = 0; i < next; i++) {
        trace t = trace_batch_get(&b, i);
        bad += !same_as(&t, i, 3);
    }
    CHECK_INT(bad, 0);
    CHECK_INT(trace_store_read(s, 13, 9, &b, &err), 0); // a range inside batches 0 and 1
    CHECK_INT(b.n, 9);
    bad = 0;
    for (int64_t i = 0; i < 9; i++) {
        trace t = trace_batch_get(&b, i);
        bad += !same_as(&t, 13 + i, 3);
    }
    CHECK_INT(bad, 0);
    CHECK_INT(trace_store_read(s, next - 2, 3, &b, &err), -1);
    CHECK(strstr(err.msg, "rt.h5: traces [") != NULL);
    int64_t *idx, n;
    CHECK_INT(trace_store_group(s, 5, &idx, &n, &err), 0);
    CHECK_INT(n, 4);
    CHECK(n == 4 && idx[0] == 20 && idx[3] == 23);
    free(idx);
    // JSONL export: one line per trace; trace 9 (group 2, sample 1, response 2*3 tokens).
    FILE *f = fopen(tmp_path("rt.jsonl"), "w+");
    CHECK_INT(trace_store_export_jsonl(s, f, &err), 0);
    rewind(f);
    char line[4096];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        if (lines == 9)
            CHECK_STR(line, "{\"index\":9,\"group\":2,\"sample\":1,\"policy_version\":0,\"finish\":\"stop\",\"think_end\":1,"
                            "\"prompt_ids\":[900,901,902,903,904,905,906],\"response_ids\":[9000,9001,9002,9003,9004,9005],"
                            "\"logprobs\":[-0.00900000054,-0.0190000013,-0.0289999992,-0.0390000008,-0.0489999987,-0.0589999966],"
                            "\"steps\":[{\"end\":1,\"part\":\"think\",\"reward\":0.25},{\"end\":6,\"part\":\"response\",\"reward\":null}],"
                            "\"outcome_reward\":1,\"trajectory_reward\":null,\"final_reward\":0}\n");
        lines++;
    }
    fclose(f);
    CHECK_INT(lines, next);
    CHECK_INT(trace_store_close(s, &err), 0);
    trace_batch_free(&b);
}

static void test_bad_files(void) {
    fx_err err;
    trace_store *s;
    CHECK_INT(trace_store_open(&s, tmp_path("none.h5"), &err), -1);
    CHECK(strstr(err.msg, "none.h5: cannot open") != NULL);
    FILE *f = fopen(tmp_path("text.h5"), "w");
    fputs("not hdf5 at all\n", f);
    fclose(f);
    CHECK_INT(trace_store_open(&s, tmp_path("text.h5"), &err), -1);
    CHECK(strstr(err.msg, "text.h5: not an HDF5 file") != NULL);
    hid_t h = H5Fcreate(tmp_path("other.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(h);
    CHECK_INT(trace_store_open(&s, tmp_path("other.h5"), &err), -1);
    CHECK(strstr(err.msg, "other.h5: format: expected a \"fluxrl-traces\" attribute") != NULL);
    CHECK_INT(trace_store_create(&s, "/nonexistent/dir/x.h5", "", "", "", &err), -1);
    CHECK(strstr(err.msg, "/nonexistent/dir/x.h5: cannot create") != NULL);
}

// A child appends batches forever and reports each completed append on a pipe; the parent kills
// it with SIGKILL after `after` appends, while it is writing the next (large) batch.
static void test_killed_writer(int after, int scale) {
    const char *path = tmp_path("killed.h5");
    int fds[2];
    CHECK_INT(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        fx_err err;
        trace_store *s;
        if (trace_store_create(&s, path, "{}", "m", "t", &err)) _exit(3);
        trace_batch b;
        trace_batch_init(&b);
        for (int64_t next = 0;;) {
            trace_batch_clear(&b);
            for (int k = 0; k < 100; k++) make_trace(next++, scale, &b);
            if (trace_store_append(s, &b, &err)) _exit(4);
            if (write(fds[1], "x", 1) != 1) _exit(5);
        }
    }
    close(fds[1]);
    char c;
    int done = 0;
    while (done < after && read(fds[0], &c, 1) == 1) done++;
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    close(fds[0]);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    fx_err err;
    trace_store *s;
    CHECK_INT(trace_store_open(&s, path, &err), 0);
    if (!s) {
        fprintf(stderr, "  %s\n", err.msg);
        return;
    }
    int64_t n = trace_store_count(s);
    CHECK(n >= 100 * (int64_t)after); // every batch reported as appended is there
    CHECK(n % 100 == 0);              // and no part of a batch
    trace_batch b;
    trace_batch_init(&b);
    CHECK_INT(trace_store_read(s, 0, n, &b, &err), 0);
    int bad = 0;
    for (int64_t i = 0; i < b.n; i++) {
        trace t = trace_batch_get(&b, i);
        bad += !same_as(&t, i, scale);
    }
    CHECK_INT(bad, 0);
    trace_batch_free(&b);
    trace_store_close(s, &err);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    test_batch();
    test_round_trip();
    test_bad_files();
    for (int k = 1; k <= 4; k++) test_killed_writer(k * 2, 40);
    char cmd[600];
    // Other tools read a killed writer's file once its SWMR flag is cleared.
    snprintf(cmd, sizeof cmd, "h5clear -s '%s/killed.h5' && h5dump -d /traces/group_id '%s/killed.h5' >/dev/null", dir, dir);
    CHECK_INT(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    return test_summary("test_trace");
}
