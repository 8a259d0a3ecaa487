// test_reasonflux.c — reward.mix = reasonflux (the ReasonFlux-PRM release's RL reward) through the
// scoring path of `fluxrl train` (pipe_job_score): each trace's final reward is 0.75 * P + 0.25 *
// outcome, where P is the 2-class PRM's P(class 1) at one "<extra_0>" after the whole response,
// computed here independently from the PRM's input [user = problem, assistant = response<extra_0>].
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "pipeline/job.h"
#include "prm_fixture.h"
#include "test.h"

// The response's text without special tokens, trimmed (what the PRM reads).
static char *plain_text(const tok_tokenizer *tok, const int32_t *ids, int n) {
    size_t cap = 64, len = 0;
    char *s = malloc(cap);
    for (int t = 0; t < n; t++) {
        size_t k = 0;
        if (tok_is_special(tok, ids[t])) continue;
        const char *b = tok_token_bytes(tok, ids[t], &k);
        while (len + k + 1 > cap) s = realloc(s, cap *= 2);
        memcpy(s + len, b, k), len += k;
    }
    s[len] = '\0';
    size_t lo = strspn(s, " \n\t");
    while (len > lo && strchr(" \n\t", s[len - 1])) len--;
    memmove(s, s + lo, len - lo), s[len - lo] = '\0';
    return s;
}

// P(class 1) at the first "<extra_0>" of the PRM's input for (problem, whole response).
static double p_after_response(prm_scorer *p, const char *problem, const char *response) {
    const char *one[1] = {response};
    char *text = tok_prm_format(NULL, problem, one, 1);
    tok_ids ids = {0};
    tok_encode(p->tok, text, strlen(text), &ids);
    int at = -1;
    for (size_t i = 0; i < ids.n && at < 0; i++)
        if (ids.ids[i] == p->sep) at = (int)i;
    int T = (int)ids.n;
    model_reserve(&p->m, 1, T, false, false);
    model_forward(&p->m, ids.ids, NULL, NULL, 1, T);
    float *logits = malloc((size_t)T * 2 * sizeof *logits);
    model_prm_forward(&p->m, logits);
    double P = 1.0 / (1.0 + exp((double)logits[2 * at] - (double)logits[2 * at + 1]));
    free(logits), free(text);
    tok_ids_free(&ids);
    return P;
}

int main(void) {
    char dir[] = "/tmp/fluxrl_reasonflux_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    backend *be = backend_cpu_create(1);
    CHECK_INT(make_tiny_models(dir, be), 0);
    backend_destroy(be);
    char lm[512], prm[512];
    snprintf(lm, sizeof lm, "model.path=%s/lm", dir);
    snprintf(prm, sizeof prm, "reward.prm_path=%s/class2", dir);
    char *sets[] = {lm, prm, "reward.mix=reasonflux", "task.ops=1", "task.digits=1", "model.max_seq=96",
                    "grpo.max_new=24", "grpo.group_size=3", "cluster.threads=1", "log.level=error"};
    fx_config *c = calloc(1, sizeof *c);
    fx_err err;
    CHECK_INT(cfg_resolve(c, "configs/demo.json", (int)(sizeof sets / sizeof *sets), sets, &err), 0);
    pipe_job j;
    int rc = pipe_job_open(&j, c, PIPE_GENERATE | PIPE_SCORE, 1, NULL, &err);
    CHECK_INT(rc, 0);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    trace_batch gen, scored;
    trace_batch_init(&gen), trace_batch_init(&scored);
    int64_t problems[2] = {3, 8};
    pipe_job_generate(&j, problems, 2, &gen);
    double mean;
    pipe_job_score(&j, &gen, &scored, &mean);
    CHECK_INT(scored.n, 6);
    double sum = 0;
    for (int64_t i = 0; i < scored.n; i++) {
        trace t = trace_batch_get(&scored, i);
        task_problem tp;
        task_generate(&j.task.task, j.task.seed ^ PIPE_RL_STREAM, (uint64_t)t.group, &tp);
        char *problem = task_prompt(&tp), *response = plain_text(j.tok, t.response, t.n_response);
        double P = p_after_response(&j.prm, problem, response);
        CHECK_NEAR(t.trajectory_reward, P, 1e-5);                                   // kept as the trace's PRM read-out
        CHECK_NEAR(t.final_reward, 0.75 * P + 0.25 * t.outcome_reward, 1e-5);        // the mix
        CHECK(P > 0 && P < 1);
        sum += t.trajectory_reward;
        free(problem), free(response);
    }
    CHECK_NEAR(mean, sum / 6, 1e-6);
    trace_batch_free(&gen), trace_batch_free(&scored);
    pipe_job_close(&j);
    free(c);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT(system(cmd), 0);
    return test_summary("test_reasonflux");
}
