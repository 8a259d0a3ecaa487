// test_prm.c — PRM scoring with both read-outs on small random PRMs saved as Hugging Face folders:
// the rewards are read at the right tokens (checked against the model's head run directly), they
// aggregate as r^ = mean + alpha * trajectory, and wrong checkpoints are refused.
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <unistd.h>

#include "reward/prm.h"
#include "prm_fixture.h"
#include "test.h"

static char dir[] = "/tmp/fluxrl-test-prm-XXXXXX";

static const char *steps[3] = {"12+3: 2+3=5, 1+0=1, 12+3=15", "15-4: 5-4=1, 1-0=1, 15-4=11", "The answer is 11."};

int main(void) {
    if (!mkdtemp(dir)) return 1;
    fx_err err;
    tok_tokenizer *tok;
    CHECK_INT(tok_load_builtin(&tok, &err), 0);
    backend *be = backend_cpu_create(1);
    CHECK_INT(make_tiny_models(dir, be), 0);
    char path[600];

    // class2: P(class 1) at each <extra_0>, computed here from the head's logits.
    prm_scorer p;
    snprintf(path, sizeof path, "%s/class2", dir);
    CHECK_INT(prm_load(&p, path, be, 0.5f, &err), 0);
    CHECK_INT(p.readout, PRM_CLASS2);
    float sr[3];
    prm_result r = {.step = sr};
    CHECK_INT(prm_score(&p, "Compute 12+3-4.", steps, 3, &r, &err), 0);
    const char *with_traj[4] = {steps[0], steps[1], steps[2], ""};
    char *text = tok_prm_format(NULL, "Compute 12+3-4.", with_traj, 4);
    tok_ids ids = {0};
    tok_encode(tok, text, strlen(text), &ids);
    model_reserve(&p.m, 1, (int)ids.n, false, false);
    model_forward(&p.m, ids.ids, NULL, NULL, 1, (int)ids.n);
    float *logits = malloc(ids.n * 2 * sizeof(float));
    model_prm_forward(&p.m, logits);
    int k = 0, sep = tok_token_id(tok, "<extra_0>");
    for (size_t i = 0; i < ids.n; i++)
        if (ids.ids[i] == sep) {
            double want = exp(logits[2 * i + 1]) / (exp(logits[2 * i]) + exp(logits[2 * i + 1]));
            CHECK_NEAR(k < 3 ? sr[k] : r.trajectory, want, 1e-6); // the 4th separator: the trajectory's
            k++;
        }
    CHECK_INT(k, 4);
    CHECK(sr[0] != sr[1] && sr[1] != sr[2]); // different tokens, different rewards
    CHECK_NEAR(r.score, (sr[0] + sr[1] + sr[2]) / 3.0 + 0.5 * r.trajectory, 1e-6);
    free(logits), free(text), tok_ids_free(&ids);
    prm_result none = {.step = sr};
    CHECK_INT(prm_score(&p, "Compute 1+1.", steps, 0, &none, &err), -1);
    CHECK(strstr(err.msg, "no steps") != NULL);
    prm_free(&p);

    // scalar: one input, tokenizer(problem + the steps joined by blank lines), no template; sigmoid
    // of the value at each step's last token and at the last token (the trajectory reward).
    snprintf(path, sizeof path, "%s/scalar", dir);
    CHECK_INT(prm_load(&p, path, be, 1.0f, &err), 0);
    CHECK_INT(p.readout, PRM_SCALAR);
    CHECK_INT(p.input, PRM_INPUT_PLAIN);
    CHECK_INT(prm_score(&p, "Compute 12+3-4.", steps, 3, &r, &err), 0);
    char full[256];
    snprintf(full, sizeof full, "Compute 12+3-4.%s\n\n%s\n\n%s", steps[0], steps[1], steps[2]);
    ids = (tok_ids){0};
    tok_encode(tok, full, strlen(full), &ids);
    int ends[3], s = 0;
    size_t at = 0, want_end[3];
    want_end[0] = strlen("Compute 12+3-4.") + strlen(steps[0]);
    want_end[1] = want_end[0] + 2 + strlen(steps[1]);
    want_end[2] = strlen(full);
    for (size_t i = 0; i < ids.n && s < 3; i++) {
        size_t len;
        tok_token_bytes(tok, ids.ids[i], &len);
        at += len;
        while (s < 3 && at >= want_end[s]) ends[s++] = (int)i;
    }
    CHECK_INT(s, 3);
    CHECK_INT(ends[2], (int)ids.n - 1);
    model_reserve(&p.m, 1, (int)ids.n, false, false);
    model_forward(&p.m, ids.ids, NULL, NULL, 1, (int)ids.n);
    float *v = malloc(ids.n * sizeof(float));
    model_value_forward(&p.m, v);
    for (int s2 = 0; s2 < 3; s2++) CHECK_NEAR(sr[s2], 1.0 / (1.0 + exp(-v[ends[s2]])), 1e-6);
    CHECK_NEAR(r.trajectory, 1.0 / (1.0 + exp(-v[ids.n - 1])), 1e-6);
    CHECK_NEAR(r.score, (sr[0] + sr[1] + sr[2]) / 3.0 + r.trajectory, 1e-6);
    free(v), tok_ids_free(&ids);
    prm_free(&p);

    // A released PRM's checkpoint keeps lm_head.weight (Qwen2.5-Math-PRM): loaded without it, the
    // same scores; a language model with a tensor it does not have is still refused.
    {
        model m;
        snprintf(path, sizeof path, "%s/class2", dir);
        CHECK_INT(model_load(&m, path, be, &err), 0);
        float *host = malloc(m.nparams * sizeof(float)), *extra = calloc((size_t)m.V * m.C, sizeof(float));
        be->download(be->ctx, host, m.params_mem, m.nparams * sizeof(float));
        st_entry *e = calloc((size_t)m.ntensors + 1, sizeof *e);
        for (int i = 0; i < m.ntensors; i++) {
            const model_tensor *t = &m.tensors[i];
            e[i] = (st_entry){.name = t->name, .ndim = t->ndim, .shape = {t->shape[0], t->shape[1]}, .data = host + t->offset};
        }
        e[m.ntensors] = (st_entry){.name = "lm_head.weight", .ndim = 2, .shape = {m.V, m.C}, .data = extra};
        char cmd[1400], file[700];
        snprintf(cmd, sizeof cmd, "cp -r '%s' '%s/class2_lm' && cp -r '%s/lm' '%s/lm_score'", path, dir, dir, dir);
        CHECK_INT(system(cmd), 0);
        snprintf(file, sizeof file, "%s/class2_lm/model.safetensors", dir);
        CHECK_INT(st_save(file, e, m.ntensors + 1, ST_F32, &err), 0);
        snprintf(path, sizeof path, "%s/class2_lm", dir);
        CHECK_INT(prm_load(&p, path, be, 0.5f, &err), 0);
        float sr2[3];
        prm_result r2 = {.step = sr2};
        CHECK_INT(prm_score(&p, "Compute 12+3-4.", steps, 3, &r2, &err), 0);
        snprintf(path, sizeof path, "%s/class2", dir);
        prm_scorer p0;
        CHECK_INT(prm_load(&p0, path, be, 0.5f, &err), 0);
        prm_result r0 = {.step = sr};
        CHECK_INT(prm_score(&p0, "Compute 12+3-4.", steps, 3, &r0, &err), 0);
        CHECK(r2.score == r0.score && sr2[0] == sr[0] && sr2[2] == sr[2]);
        prm_free(&p0), prm_free(&p);
        // an LM folder given a score head it does not have
        model lm;
        snprintf(path, sizeof path, "%s/lm", dir);
        CHECK_INT(model_load(&lm, path, be, &err), 0);
        float *lh = malloc(lm.nparams * sizeof(float));
        be->download(be->ctx, lh, lm.params_mem, lm.nparams * sizeof(float));
        st_entry *le = calloc((size_t)lm.ntensors + 1, sizeof *le);
        for (int i = 0; i < lm.ntensors; i++) {
            const model_tensor *t = &lm.tensors[i];
            le[i] = (st_entry){.name = t->name, .ndim = t->ndim, .shape = {t->shape[0], t->shape[1]}, .data = lh + t->offset};
        }
        le[lm.ntensors] = (st_entry){.name = "score.weight", .ndim = 2, .shape = {1, lm.C}, .data = extra};
        snprintf(file, sizeof file, "%s/lm_score/model.safetensors", dir);
        CHECK_INT(st_save(file, le, lm.ntensors + 1, ST_F32, &err), 0);
        model bad;
        snprintf(path, sizeof path, "%s/lm_score", dir);
        CHECK_INT(model_load(&bad, path, be, &err), -1);
        CHECK(strstr(err.msg, "unexpected tensor score.weight") != NULL);
        model_free(&lm), model_free(&m);
        free(host), free(extra), free(e), free(lh), free(le);
    }

    // A language model is not a PRM.
    snprintf(path, sizeof path, "%s/lm", dir);
    CHECK_INT(prm_load(&p, path, be, 1.0f, &err), -1);
    CHECK(strstr(err.msg, "a PRM needs a process-reward or reward head") != NULL);
    backend_destroy(be);
    tok_free(tok);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    return test_summary("test_prm");
}
