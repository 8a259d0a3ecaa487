// cmd_task.c — `fluxrl task sample` and `fluxrl task check`: the built-in arithmetic task as JSONL.
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../rollout/task.h"
#include "cli.h"

// A whole-string integer in [lo, hi]; prints the usage error naming the option.
static bool parse_int_opt(const char *opt, const char *v, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        fprintf(stderr, "fluxrl task sample: %s: expected an integer in [%lld, %lld], got '%s'\n", opt, lo, hi, v);
        return false;
    }
    *out = x;
    return true;
}

static bool parse_u64_opt(const char *opt, const char *v, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-') {
        fprintf(stderr, "fluxrl task sample: %s: expected a non-negative integer, got '%s'\n", opt, v);
        return false;
    }
    *out = (uint64_t)x;
    return true;
}

static bool parse_prob_opt(const char *opt, const char *v, double *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !(x >= 0.0 && x <= 1.0)) {
        fprintf(stderr, "fluxrl task sample: %s: expected a probability in [0, 1], got '%s'\n", opt, v);
        return false;
    }
    *out = x;
    return true;
}

static cJSON *bool_array(const bool *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateBool(v[i]));
    return a;
}

int cmd_task_sample(int argc, char **argv) {
    task_opts o;
    task_opts_default(&o);
    long long n = -1, v;
    uint64_t seed = 0, first = 0;
    for (int i = 0; i < argc; i += 2) { // every option takes a value
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = val != NULL;
        if (!val || strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "fluxrl task sample: %s '%s'\n", val ? "unexpected argument" : "missing value after", a);
            ok = false;
        } else if (strcmp(a, "--n") == 0) ok = parse_int_opt(a, val, 0, 1000000000LL, &n);
        else if (strcmp(a, "--seed") == 0) ok = parse_u64_opt(a, val, &seed);
        else if (strcmp(a, "--first") == 0) ok = parse_u64_opt(a, val, &first);
        else if (strcmp(a, "--ops") == 0) ok = parse_int_opt(a, val, 1, TASK_MAX_OPS, &v), o.ops = (int)v;
        else if (strcmp(a, "--digits") == 0) ok = parse_int_opt(a, val, 1, TASK_MAX_DIGITS, &v), o.digits = (int)v;
        else if (strcmp(a, "--error-rate") == 0) ok = parse_prob_opt(a, val, &o.error_rate);
        else if (strcmp(a, "--operators") == 0) {
            // Too long is caught here; task_opts_check names anything else wrong in it.
            ok = strlen(val) < sizeof o.operators;
            if (ok) strcpy(o.operators, val);
            else fprintf(stderr, "fluxrl task sample: --operators: expected 1 to 3 of '+', '-', '*', got '%s'\n", val);
        }
        else {
            fprintf(stderr, "fluxrl task sample: unknown option '%s'\n", a);
            ok = false;
        }
        if (!ok) {
            fprintf(stderr, "run 'fluxrl task sample --help' for the usage\n");
            return FX_EXIT_INPUT;
        }
    }
    fx_err err;
    if (n < 0) {
        fprintf(stderr, "fluxrl task sample: --n N is required\nrun 'fluxrl task sample --help' for the usage\n");
        return FX_EXIT_INPUT;
    }
    if (task_opts_check(&o, &err)) {
        fprintf(stderr, "fluxrl task sample: %s\n", err.msg);
        return FX_EXIT_INPUT;
    }
    for (long long k = 0; k < n; k++) {
        uint64_t index = first + (uint64_t)k;
        task_problem p;
        task_trace t;
        task_generate(&o, seed, index, &p);
        task_trace_make(&p, &o, seed, index, &t);
        char *prompt = task_prompt(&p), answer[32];
        snprintf(answer, sizeof answer, "%" PRId64, task_answer(&p));
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "index", (double)index);
        cJSON_AddStringToObject(j, "prompt", prompt);
        cJSON_AddStringToObject(j, "trace", t.text);
        cJSON_AddStringToObject(j, "answer", answer);
        cJSON_AddItemToObject(j, "step_correct", bool_array(t.step_correct, t.nsteps));
        cJSON_AddBoolToObject(j, "answer_correct", t.answer_correct);
        cli_json_line(j);
        cJSON_Delete(j);
        free(prompt);
        task_trace_free(&t);
    }
    return fflush(stdout) == 0 ? FX_EXIT_OK : FX_EXIT_FAIL;
}

int cmd_task_check(int argc, char **argv) {
    cli_jsonl in;
    int rc = cli_jsonl_open("task check", argc, argv, &in);
    if (rc) return rc;
    cJSON *j;
    while ((rc = cli_jsonl_next(&in, &j)) > 0) {
        const char *prompt = cli_jsonl_string(&in, j, "prompt");
        const char *text = prompt ? cli_jsonl_string(&in, j, "trace") : NULL;
        task_problem p;
        fx_err err;
        if (prompt && task_parse_prompt(prompt, &p, &err)) {
            fprintf(stderr, "%s:%d: %s\n", in.r.path, in.r.lineno, err.msg);
            text = NULL;
        }
        if (!text) {
            cJSON_Delete(j);
            rc = -1;
            break;
        }
        task_labels l;
        task_check(&p, text, &l);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "step_correct", bool_array(l.correct, l.nsteps));
        cJSON_AddNumberToObject(o, "think_steps", l.nthink);
        cJSON_AddBoolToObject(o, "closed", l.closed);
        cJSON_AddBoolToObject(o, "answer_correct", l.answer_correct);
        if (l.extracted) cJSON_AddStringToObject(o, "extracted", l.extracted);
        else cJSON_AddNullToObject(o, "extracted");
        cli_json_line(o);
        cJSON_Delete(o);
        task_labels_free(&l);
        cJSON_Delete(j);
    }
    cli_jsonl_close(&in);
    fflush(stdout);
    return rc < 0 ? FX_EXIT_INPUT : FX_EXIT_OK;
}
