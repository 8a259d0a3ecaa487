// cmd_prm.c — `fluxrl prm-score --prm DIR --input FILE`: step rewards, trajectory reward and the
// aggregate r^ of each trace, from an HDF5 trace store or a JSONL file.
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../reward/prm.h"
#include "../rollout/trace_store.h"
#include "cli.h"

#define MAX_STEPS 512

// Splits a response into step texts: "</think>" ends the trajectory's last step, and blank lines
// (two newlines with only spaces or tabs between) separate steps; "<think>" is dropped.
static int split_text(const char *response, char **steps, int max) {
    int n = 0;
    const char *p = response;
    while (*p && n < max) {
        const char *end = p, *next = NULL;
        for (; *end; end++) {
            if (!strncmp(end, "</think>", 8)) { next = end + 8; break; }
            if (*end == '\n') {
                const char *q = end + 1;
                while (*q == ' ' || *q == '\t') q++;
                if (*q == '\n') { next = q + 1; break; }
            }
        }
        const char *a = p, *e = end;
        if (!strncmp(a, "<think>", 7)) a += 7;
        while (a < e && isspace((unsigned char)*a)) a++;
        while (e > a && isspace((unsigned char)e[-1])) e--;
        if (e > a) {
            size_t len = (size_t)(e - a);
            steps[n] = fx_malloc(len + 1);
            memcpy(steps[n], a, len);
            steps[n++][len] = '\0';
        }
        if (!next) break;
        p = next;
    }
    return n;
}

static void print_result(long long index, const prm_result *r, int n) {
    printf("{\"index\": %lld, \"step_rewards\": [", index);
    for (int k = 0; k < n; k++) printf("%s%.6g", k ? ", " : "", r->step[k]);
    printf("], \"trajectory_reward\": %.6g, \"score\": %.6g}\n", r->trajectory, r->score);
}

static int score_jsonl(prm_scorer *p, const char *path, fx_err *err) {
    FILE *f = fopen(path, "r");
    if (!f) return fx_errf(err, "%s: cannot open", path);
    char *line = NULL, *steps[MAX_STEPS];
    size_t cap = 0;
    float rewards[MAX_STEPS];
    int lineno = 0, rc = 0;
    long long index = 0;
    while (!rc && getline(&line, &cap, f) > 0) {
        lineno++;
        if (strspn(line, " \t\r\n") == strlen(line)) continue;
        cJSON *j = cJSON_Parse(line);
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "problem");
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "steps");
        const cJSON *resp = cJSON_GetObjectItemCaseSensitive(j, "response");
        int n = 0;
        if (!cJSON_IsObject(j)) rc = fx_errf(err, "%s:%d: expected a JSON object", path, lineno);
        else if (!cJSON_IsString(q)) rc = fx_errf(err, "%s:%d: problem: expected a string", path, lineno);
        else if (cJSON_IsArray(st)) {
            for (const cJSON *s = st->child; s && !rc && n < MAX_STEPS; s = s->next)
                if (cJSON_IsString(s)) steps[n++] = fx_strdup(s->valuestring);
                else rc = fx_errf(err, "%s:%d: steps: expected an array of strings", path, lineno);
        } else if (cJSON_IsString(resp)) {
            n = split_text(resp->valuestring, steps, MAX_STEPS);
        } else {
            rc = fx_errf(err, "%s:%d: steps or response: expected an array of strings or a string", path, lineno);
        }
        prm_result r = {.step = rewards};
        if (!rc) {
            rc = prm_score(p, q->valuestring, (const char *const *)steps, n, &r, err);
            if (rc) fx_errf(err, "%s:%d: %s", path, lineno, err->msg);
            else print_result(index, &r, n);
        }
        for (int k = 0; k < n; k++) free(steps[k]);
        cJSON_Delete(j);
        index++;
    }
    free(line);
    fclose(f);
    return rc;
}

// The user turn of a decoded ChatML prompt.
static char *user_turn(const char *prompt) {
    const char *a = strstr(prompt, "<|im_start|>user\n");
    if (!a) return fx_strdup(prompt);
    a += strlen("<|im_start|>user\n");
    const char *b = strstr(a, "<|im_end|>");
    size_t n = b ? (size_t)(b - a) : strlen(a);
    char *s = fx_malloc(n + 1);
    memcpy(s, a, n);
    s[n] = '\0';
    return s;
}

static int score_h5(prm_scorer *p, const char *path, const char *tok_path, fx_err *err) {
    trace_store *s;
    if (trace_store_open(&s, path, err)) return -1;
    tok_tokenizer *tok = p->tok;
    const char *stored = trace_store_attr(s, "tokenizer");
    if (tok_path || (stored && stored[0])) { // the policy's tokenizer decodes the traces
        if (tok_load(&tok, tok_path ? tok_path : stored, err)) {
            trace_store_close(s, NULL);
            return fx_errf(err, "%s (the traces' tokenizer; give it with --tokenizer)", err->msg);
        }
    }
    trace_batch b;
    trace_batch_init(&b);
    int rc = 0;
    int64_t n = trace_store_count(s);
    char *steps[MAX_STEPS];
    float rewards[MAX_STEPS];
    for (int64_t first = 0; first < n && !rc; first += 256) {
        rc = trace_store_read(s, first, n - first < 256 ? n - first : 256, &b, err);
        for (int64_t i = 0; i < b.n && !rc; i++) {
            trace t = trace_batch_get(&b, i);
            size_t len;
            char *prompt = tok_decode(tok, t.prompt, (size_t)t.n_prompt, false, &len);
            char *problem = user_turn(prompt);
            int ns = 0;
            for (int32_t k = 0, from = 0; k < t.n_steps && ns < MAX_STEPS; from = t.step_end[k++]) {
                char *text = tok_decode(tok, t.response + from, (size_t)(t.step_end[k] - from), true, &len);
                char *a = text, *e = text + len;
                while (a < e && isspace((unsigned char)*a)) a++;
                while (e > a && isspace((unsigned char)e[-1])) e--;
                *e = '\0';
                if (*a) steps[ns++] = fx_strdup(a);
                free(text);
            }
            prm_result r = {.step = rewards};
            rc = prm_score(p, problem, (const char *const *)steps, ns, &r, err);
            if (rc) fx_errf(err, "%s: trace %lld: %s", path, (long long)(first + i), err->msg);
            else print_result(first + i, &r, ns);
            for (int k = 0; k < ns; k++) free(steps[k]);
            free(problem), free(prompt);
        }
    }
    trace_batch_free(&b);
    if (tok != p->tok) tok_free(tok);
    trace_store_close(s, NULL);
    return rc;
}

int cmd_prm_score(int argc, char **argv) {
    const char *dir = NULL, *input = NULL, *tok_path = NULL;
    double alpha = 1.0;
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--prm") && v) dir = v, i++;
        else if (!strcmp(argv[i], "--input") && v) input = v, i++;
        else if (!strcmp(argv[i], "--tokenizer") && v) tok_path = v, i++;
        else if (!strcmp(argv[i], "--alpha") && v) {
            char *end;
            alpha = strtod(v, &end);
            if (*end || end == v || !isfinite(alpha)) {
                fprintf(stderr, "fluxrl prm-score: --alpha: expected a number, got '%s'\n", v);
                return FX_EXIT_INPUT;
            }
            i++;
        } else {
            fprintf(stderr, "fluxrl prm-score: unexpected argument '%s'; see 'fluxrl prm-score --help'\n", argv[i]);
            return FX_EXIT_INPUT;
        }
    }
    if (!dir || !input) {
        fprintf(stderr, "fluxrl prm-score: --prm and --input are required\n");
        return FX_EXIT_INPUT;
    }
    backend *be = backend_cpu_create(0);
    prm_scorer p;
    fx_err err;
    int rc = prm_load(&p, dir, be, (float)alpha, &err);
    if (!rc) {
        size_t n = strlen(input);
        rc = n > 3 && !strcmp(input + n - 3, ".h5") ? score_h5(&p, input, tok_path, &err) : score_jsonl(&p, input, &err);
        prm_free(&p);
    }
    if (rc) fprintf(stderr, "%s\n", err.msg);
    backend_destroy(be);
    return rc ? FX_EXIT_INPUT : FX_EXIT_OK;
}
