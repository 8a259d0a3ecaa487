// test_prm_labels.c — template-guided trajectory targets (trainer/prm_labels.h). With a writer that
// works each step exactly (an oracle), rollouts along a plan that matches the problem all reach the
// answer (rate 1) and rollouts along a plan that drops or changes an operation reach none (rate 0);
// a writer that slips on some streams gives the share of rollouts that did not slip; a random
// policy model's rollouts do not depend on how they are batched.
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "prm_fixture.h"
#include "test.h"
#include "trainer/prm_labels.h"

// The oracle: the gold rest of the step whose header "V op B:" ends the prefix, or the answer line
// for the last result stated. slip > 0: a stream whose first draw is below slip states one more.
typedef struct {
    double slip;
    int calls;
} oracle;

static void oracle_write(void *ctx, const task_problem *const *p, const char *const *prefix, const uint64_t *stream,
                         int B, bool line, char **out) {
    oracle *o = ctx;
    o->calls++;
    for (int b = 0; b < B; b++) {
        (void)p;
        const char *ls = prefix[b] + strlen(prefix[b]);
        while (ls > prefix[b] && ls[-1] != '\n') ls--;
        if (!line) { // "...=R\n</think>\n": answer with R
            const char *eq = strrchr(prefix[b], '=');
            int64_t r = eq ? strtoll(eq + 1, NULL, 10) : -1;
            char buf[64];
            snprintf(buf, sizeof buf, "The answer is %" PRId64 ".", r);
            out[b] = fx_strdup(buf);
            continue;
        }
        task_problem q = {.nops = 1};
        char *end;
        q.start = strtoll(ls, &end, 10);
        q.op[0] = *end;
        q.operand[0] = strtoll(end + 1, &end, 10);
        if (ls == prefix[b] + strlen(prefix[b]) || *end != ':') { // no header: nothing sensible to write
            out[b] = fx_strdup("no idea\n");
            continue;
        }
        task_opts opts;
        task_opts_default(&opts);
        task_trace t;
        task_trace_make(&q, &opts, 0, 0, &t); // "<think>\nV op B: ..., V op B=R\n</think>..."
        const char *rest = strchr(t.text + 8, ':') + 1, *nl = strchr(rest, '\n');
        size_t n = (size_t)(nl - rest) + 1;
        out[b] = fx_malloc(n + 24);
        memcpy(out[b], rest, n);
        out[b][n] = '\0';
        fx_rng g = fx_rng_make(1, stream[b]);
        if (o->slip > 0 && fx_rng_double(&g) < o->slip) { // state R+1: the chain goes wrong
            char *eq = strrchr(out[b], '=');
            snprintf(eq + 1, 23, "%" PRId64 "\n", (int64_t)strtoll(eq + 1, NULL, 10) + 1);
        }
        task_trace_free(&t);
    }
}

static task_problem problem(void) {
    task_problem p = {.start = 23, .nops = 2};
    p.op[0] = '+', p.operand[0] = 48, p.op[1] = '-', p.operand[1] = 19;
    return p;
}

static void test_oracle(void) {
    task_problem ps[4];
    for (int i = 0; i < 4; i++) ps[i] = problem();
    task_opts opts;
    task_opts_default(&opts);
    task_trace gold;
    task_trace_make(&ps[0], &opts, 0, 0, &gold);
    const char *traces[4] = {
        gold.text, // +48 -19: the problem's plan
        "<think>\n23+48: 3+8=11, 2+4+1=7, 23+48=71\n</think>\nThe answer is 71.", // drops -19
        "<think>\n23+48: 3+8=11, 2+4+1=7, 23+48=71\n\n71-18: 11-8=3, 7-1-1=5, 71-18=53\n</think>\nThe answer is 53.",
        "<think>\nhello\n\n71-19: 11-9=2, 7-1-1=5, 71-19=52\n</think>\nThe answer is 52.", // step 1 unreadable
    };
    uint64_t key[4] = {0, 1, 2, 3};
    float rate[4];
    oracle o = {0};
    prm_writer w = {oracle_write, &o};
    prm_template_rates(&w, ps, traces, key, 4, 4, 64, rate);
    CHECK_NEAR(rate[0], 1.0, 0);
    CHECK_NEAR(rate[1], 0.0, 0);
    CHECK_NEAR(rate[2], 0.0, 0);
    CHECK_NEAR(rate[3], 0.0, 0);
    CHECK_INT(o.calls, 3); // two plan lines, then the responses
    // The plan's own errors do not matter, only its operations: a trace whose first step is
    // miscomputed still has the problem's plan.
    const char *wrong = "<think>\n23+48: 3+8=11, 2+4+0=6, 23+48=61\n\n61-19: 11-9=2, 6-1-1=4, 61-19=42\n</think>\n"
                        "The answer is 42.";
    prm_template_rates(&w, ps, &wrong, key, 1, 4, 64, rate);
    CHECK_NEAR(rate[0], 1.0, 0);
    // A writer that slips: the rate is the share of rollouts that did not, the same whatever the batch.
    oracle s = {.slip = 0.5};
    prm_writer ws = {oracle_write, &s};
    float r64[1], r1[1];
    prm_template_rates(&ws, ps, (const char *const *)&gold.text, key, 1, 16, 64, r64);
    prm_template_rates(&ws, ps, (const char *const *)&gold.text, key, 1, 16, 1, r1);
    CHECK(r64[0] > 0.0f && r64[0] < 1.0f);
    CHECK_NEAR(r64[0] * 16, floor(r64[0] * 16), 0);
    CHECK_NEAR(r1[0], r64[0], 0);
    task_trace_free(&gold);
}

static void test_policy(void) {
    backend *be = backend_cpu_create(1);
    char dir[] = "/tmp/test_prm_labels_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK_INT(make_tiny_models(dir, be), 0);
    char path[128];
    snprintf(path, sizeof path, "%s/lm", dir);
    fx_err err;
    tok_tokenizer *tok;
    model m;
    CHECK_INT(tok_load(&tok, path, &err), 0);
    CHECK_INT(model_load(&m, path, be, &err), 0);
    tok_prompt pr;
    tok_prompt_opts po = {.chat = "r1", .dir = path, .chat_key = "task.chat"};
    CHECK_INT(tok_prompt_init(&pr, tok, &po, &err), 0);
    prm_policy_writer pw = {&m, tok, &pr, {1, 0, 1, 0}, 3, 12, 8};
    prm_writer w = prm_policy_writer_make(&pw);
    task_problem ps[2] = {problem(), problem()};
    task_opts opts;
    task_opts_default(&opts);
    task_trace gold;
    task_trace_make(&ps[0], &opts, 0, 0, &gold);
    const char *traces[2] = {gold.text, gold.text};
    uint64_t key[2] = {7, 8};
    float a[2], b[2];
    prm_template_rates(&w, ps, traces, key, 2, 3, 64, a);
    prm_template_rates(&w, ps, traces, key, 2, 3, 2, b);
    for (int i = 0; i < 2; i++) {
        CHECK(a[i] >= 0 && a[i] <= 1);
        CHECK_NEAR(a[i], b[i], 0);
    }
    task_trace_free(&gold);
    tok_prompt_free(&pr);
    model_free(&m);
    tok_free(tok);
    backend_destroy(be);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT(system(cmd), 0);
}

int main(void) {
    test_oracle();
    test_policy();
    return test_summary("test_prm_labels");
}
