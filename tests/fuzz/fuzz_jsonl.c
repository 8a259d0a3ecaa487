// fuzz_jsonl.c — libFuzzer target for JSONL datasets (rollout/dataset.h, `--data FILE.jsonl`,
// grpo.data) and the answer verifier: any bytes as a dataset file load as problems or give an error
// naming the file, never a crash; each loaded problem is judged against a fixed response and
// against its own gold answer.
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rollout/dataset.h"
#include "rollout/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[64];
    if (!path[0]) snprintf(path, sizeof path, "/tmp/fluxrl-fuzz-%ld.jsonl", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    rollout_data_opts o = {.data = path, .prompt_key = "question", .answer_key = "answer", .count = 64};
    rollout_problem *ps;
    int n;
    fx_err err;
    if (rollout_data_load(&o, &ps, &n, &err) == 0) {
        for (int i = 0; i < n; i++) {
            char *x = NULL;
            (void)rollout_judge(&ps[i], "<think>\nsteps\n</think>\nThe answer is \\boxed{\\frac{10}{4}}.", true, &x);
            free(x);
            if (ps[i].gold) {
                char *norm = verify_normalize(ps[i].gold);
                free(norm);
                (void)verify_equal(ps[i].gold, ps[i].gold);
            }
        }
        rollout_data_free(ps, n);
    } else if (!strstr(err.msg, path)) {
        abort(); // an error names the file
    }
    unlink(path);
    return 0;
}
