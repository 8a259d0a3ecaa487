// test_prm_golden.c — released PRMs scored as their authors score them: fluxrl's step rewards equal
// tests/reference/prm/make_golden.py's PyTorch implementation of each official usage within 1e-4
// (a Qwen2.5-Math-PRM-like 2-class folder read through its chat template; a ReasonFlux-PRM-1.5B-like
// backbone + reward_head.pt converted by scripts/convert_reasonflux_prm_1p5b.py), and PRM folders
// without their head, or laid out as published but not converted, are refused with one line.
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <unistd.h>

#include "reward/prm.h"
#include "test.h"

#define TOL 1e-4

static cJSON *golden;

static const char *str(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int steps_of(const cJSON *c, const char **steps) {
    int n = 0;
    for (const cJSON *s = cJSON_GetObjectItemCaseSensitive(c, "steps")->child; s; s = s->next) steps[n++] = s->valuestring;
    return n;
}

static void check_class2(const backend *be) {
    prm_scorer p;
    fx_err err;
    CHECK_INT(prm_load(&p, "tests/data/prm/class2", be, 1.0f, &err), 0);
    CHECK_INT(p.readout, PRM_CLASS2);
    CHECK_INT(p.input, PRM_INPUT_TEMPLATE); // released: no "fluxrl_prm" in config.json
    CHECK(!p.traj_sep && !p.fluxrl_folder);
    int cases = 0;
    double worst = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(golden, "class2")) {
        const char *steps[8];
        int n = steps_of(c, steps);
        float sr[8];
        prm_result r = {.step = sr};
        // "qwen": the card passes its system message explicitly; fluxrl passes none and the
        // template inserts the same one. Both must give the card's rewards.
        const char *style = str(c, "style");
        for (int explicit_sys = 0; explicit_sys < (strcmp(style, "qwen") ? 1 : 2); explicit_sys++) {
            p.system = str(c, "system");
            if (explicit_sys) p.system = "Please reason step by step, and put your final answer within \\boxed{}.";
            CHECK_INT(prm_score(&p, str(c, "problem"), steps, n, &r, &err), 0);
            int k = 0;
            const cJSON *w;
            cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(c, "step_rewards")) {
                double d = fabs(sr[k] - w->valuedouble);
                if (d > worst) worst = d;
                CHECK_NEAR(sr[k], w->valuedouble, TOL);
                k++;
            }
            CHECK_INT(k, n);
            CHECK(r.trajectory == sr[n - 1]); // no trajectory read-out: the last step's
        }
        // The rendered input is the reference's, byte for byte.
        cJSON *msgs = cJSON_CreateArray();
        if (str(c, "system")) {
            cJSON *m = cJSON_CreateObject();
            cJSON_AddStringToObject(m, "role", "system"), cJSON_AddStringToObject(m, "content", str(c, "system"));
            cJSON_AddItemToArray(msgs, m);
        }
        cJSON *u = cJSON_CreateObject(), *a = cJSON_CreateObject();
        char content[1024] = "";
        for (int k = 0; k < n; k++) strcat(strcat(content, steps[k]), "<extra_0>");
        cJSON_AddStringToObject(u, "role", "user"), cJSON_AddStringToObject(u, "content", str(c, "problem"));
        cJSON_AddStringToObject(a, "role", "assistant"), cJSON_AddStringToObject(a, "content", content);
        cJSON_AddItemToArray(msgs, u), cJSON_AddItemToArray(msgs, a);
        char *text = tok_apply_chat_template(p.tok, msgs, false, NULL, &err);
        CHECK(text && !strcmp(text, str(c, "text")));
        free(text);
        cJSON_Delete(msgs);
        cases++;
    }
    CHECK_INT(cases, 12);
    printf("class2: %d cases, worst |fluxrl - PyTorch| = %.2e\n", cases, worst);

    // fluxrl's trajectory separator, asked for: one more <extra_0>, the steps' rewards unchanged
    // (causal attention: the extra token comes after every step's read-out).
    c = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(golden, "class2"), 1);
    const char *steps[8];
    int n = steps_of(c, steps);
    float sr[8];
    prm_result r = {.step = sr};
    p.system = NULL, p.traj_sep = true;
    CHECK_INT(prm_score(&p, str(c, "problem"), steps, n, &r, &err), 0);
    for (int k = 0; k < n; k++) CHECK_NEAR(sr[k], cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c, "step_rewards"), k)->valuedouble, TOL);
    CHECK(r.trajectory != sr[n - 1]);
    // A step holding <extra_0> would shift every read-out: refused.
    const char *bad[2] = {"a<extra_0>b", "c"};
    CHECK_INT(prm_score(&p, "p", bad, 2, &r, &err), -1);
    CHECK(strstr(err.msg, "<extra_0>") != NULL);
    prm_free(&p);
}

static void check_scalar(const backend *be) {
    prm_scorer p;
    fx_err err;
    CHECK_INT(prm_load(&p, "tests/data/prm/scalar", be, 1.0f, &err), 0);
    CHECK_INT(p.readout, PRM_SCALAR);
    CHECK_INT(p.input, PRM_INPUT_PLAIN);
    CHECK(p.m.cfg.score_bias);
    int cases = 0;
    double worst = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(golden, "scalar")) {
        const char *steps[8];
        int n = steps_of(c, steps);
        float sr[8];
        prm_result r = {.step = sr};
        CHECK_INT(prm_score(&p, str(c, "problem"), steps, n, &r, &err), 0);
        double want = cJSON_GetObjectItemCaseSensitive(c, "reward")->valuedouble;
        CHECK_NEAR(r.trajectory, want, TOL); // the official score
        if (fabs(r.trajectory - want) > worst) worst = fabs(r.trajectory - want);
        for (int k = 0; k < n; k++) // fluxrl's extension
            CHECK_NEAR(sr[k], cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c, "step_extension"), k)->valuedouble, TOL);
        CHECK_NEAR(sr[n - 1], r.trajectory, 1e-6); // the last step ends at the last token
        cases++;
    }
    CHECK_INT(cases, 4);
    printf("scalar: %d cases, worst |fluxrl - PyTorch| = %.2e\n", cases, worst);
    prm_free(&p);
}

static int sh(const char *fmt, const char *a, const char *b) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, fmt, a, b, a, b);
    return system(cmd);
}

// Folders that are not loadable PRMs: each a one-line error naming what is wrong.
static void check_refused(const backend *be) {
    char dir[] = "/tmp/fluxrl-test-prm-golden-XXXXXX", path[600];
    CHECK(mkdtemp(dir) != NULL);
    prm_scorer p;
    fx_err err;
    struct {
        const char *name, *setup, *want;
    } rows[] = {
        // the config names a scalar head with a bias the weights do not have
        {"nobias", "cp -r tests/data/prm/class2 %s/nobias && sed -i 's/Qwen2ForProcessRewardModel/Qwen2ForRewardModel/; "
                   "s/\"tie_word_embeddings\"/\"score_bias\": true, \"tie_word_embeddings\"/' %s/nobias/config.json",
         "missing tensor score.weight"},
        // a released 2-class PRM whose tokenizer has no chat template
        {"notemplate", "cp -r tests/data/prm/class2 %s/notemplate && sed -i 's/\"chat_template\"/\"unused_template\"/' %s/notemplate/tokenizer_config.json",
         "chat_template: missing"},
        // wrong shapes: the converted folder claiming a larger hidden size
        {"shape", "cp -r tests/data/prm/scalar %s/shape && sed -i 's/\"intermediate_size\": 32/\"intermediate_size\": 48/' "
                  "%s/shape/config.json",
         "mlp.gate_proj.weight"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        CHECK_INT(sh(rows[i].setup, dir, dir), 0);
        snprintf(path, sizeof path, "%s/%s", dir, rows[i].name);
        CHECK_INT(prm_load(&p, path, be, 1.0f, &err), -1);
        CHECK(strstr(err.msg, rows[i].want) != NULL && !strchr(err.msg, '\n'));
        if (!strstr(err.msg, rows[i].want)) printf("  %s: %s\n", rows[i].name, err.msg);
    }
    // Published as ReasonFlux-PRM-1.5B is: the backbone as a causal LM, reward_head.pt beside it.
    model m;
    CHECK_INT(model_load_as(&m, "tests/data/prm/scalar", MODEL_HEAD_LM, be, 1, 0.02f, &err), 0);
    snprintf(path, sizeof path, "%s/published", dir);
    CHECK_INT(model_save(&m, path, ST_F32, &err), 0);
    model_free(&m);
    CHECK_INT(sh("cp tests/data/prm/scalar/tokenizer*.json %s/published/%.0s", dir, dir), 0);
    CHECK_INT(prm_load(&p, path, be, 1.0f, &err), -1);
    CHECK(strstr(err.msg, "not 'Qwen2ForCausalLM'") != NULL);
    CHECK_INT(sh("touch %s/published/reward_head.pt%.0s", dir, dir), 0);
    CHECK_INT(prm_load(&p, path, be, 1.0f, &err), -1);
    CHECK(strstr(err.msg, "reward_head.pt") && strstr(err.msg, "convert_reasonflux_prm_1p5b.py") && !strchr(err.msg, '\n'));
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    CHECK_INT(system(path), 0);
}

int main(void) {
    size_t len;
    fx_err err;
    char *text = fx_read_file("tests/data/prm/golden.json", &len, &err);
    CHECK(text != NULL);
    if (!text) return test_summary("test_prm_golden");
    golden = cJSON_ParseWithLength(text, len);
    free(text);
    backend *be = backend_cpu_create(1);
    check_class2(be);
    check_scalar(be);
    check_refused(be);
    backend_destroy(be);
    cJSON_Delete(golden);
    return test_summary("test_prm_golden");
}
