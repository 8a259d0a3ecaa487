// dataset.c — see dataset.h.
#define _POSIX_C_SOURCE 200809L
#include "dataset.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify.h"

static int load_jsonl(const rollout_data_opts *o, rollout_problem **out, int *n, fx_err *err) {
    FILE *f = fx_fopen_input(o->data, err);
    if (!f) return -1;
    rollout_problem *ps = NULL;
    int count = 0, cap = 0, index = 0, rc = 0, more;
    fx_jsonl in = {f, o->data, NULL, 0, 0};
    while (!rc && count < o->count && (more = fx_jsonl_next(&in, err)) != 0) {
        if (more < 0) {
            rc = -1;
            break;
        }
        int lineno = in.lineno;
        cJSON *j = cJSON_Parse(in.line);
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, o->prompt_key);
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(j, o->answer_key);
        if (!cJSON_IsObject(j)) rc = fx_errf(err, "%s:%d: expected a JSON object", o->data, lineno);
        else if (!cJSON_IsString(q)) rc = fx_errf(err, "%s:%d: %s: expected a string", o->data, lineno, o->prompt_key);
        else if (!cJSON_IsString(g) && !cJSON_IsNumber(g))
            rc = fx_errf(err, "%s:%d: %s: expected a string or a number", o->data, lineno, o->answer_key);
        const cJSON *sy = o->system_key && o->system_key[0] ? cJSON_GetObjectItemCaseSensitive(j, o->system_key) : NULL;
        if (!rc && o->system_key && o->system_key[0] && !cJSON_IsString(sy))
            rc = fx_errf(err, "%s:%d: %s: expected a string (the problem's system turn)", o->data, lineno, o->system_key);
        if (!rc && index++ >= o->first) {
            if (count == cap) cap = cap ? 2 * cap : 64, ps = fx_realloc(ps, (size_t)cap * sizeof *ps);
            char num[64];
            if (cJSON_IsNumber(g)) snprintf(num, sizeof num, "%.17g", g->valuedouble);
            const char *gs = cJSON_IsNumber(g) ? num : g->valuestring;
            // A worked solution ("... #### 72", "\boxed{72}") counts by its final answer.
            char *x = (strstr(gs, "####") || strstr(gs, "\\boxed")) ? verify_extract(gs) : NULL;
            ps[count] = (rollout_problem){.prompt = fx_strdup(q->valuestring), .gold = x ? x : fx_strdup(gs),
                                          .system = sy ? fx_strdup(sy->valuestring) : NULL};
            cJSON_DeleteItemFromObjectCaseSensitive(j, o->prompt_key);
            cJSON_DeleteItemFromObjectCaseSensitive(j, o->answer_key);
            ps[count].meta = cJSON_PrintUnformatted(j);
            FX_ASSERT(ps[count].meta);
            count++;
        }
        cJSON_Delete(j);
    }
    fx_jsonl_free(&in);
    fclose(f);
    if (!rc && count == 0) rc = fx_errf(err, "%s: no problems from line %d on", o->data, o->first + 1);
    if (rc) {
        rollout_data_free(ps, count);
        return -1;
    }
    *out = ps;
    *n = count;
    return 0;
}

int rollout_data_load(const rollout_data_opts *o, rollout_problem **out, int *n, fx_err *err) {
    *out = NULL;
    *n = 0;
    if (strcmp(o->data, "builtin") != 0) return load_jsonl(o, out, n, err);
    if (task_opts_check(&o->task, err)) return -1;
    rollout_problem *ps = fx_calloc((size_t)(o->count > 0 ? o->count : 1), sizeof *ps);
    for (int i = 0; i < o->count; i++) {
        ps[i].builtin = true;
        task_generate(&o->task, o->task_seed ^ TASK_HELDOUT_STREAM, (uint64_t)(o->first + i), &ps[i].task);
        ps[i].prompt = task_prompt(&ps[i].task);
    }
    *out = ps;
    *n = o->count;
    return 0;
}

void rollout_data_free(rollout_problem *ps, int n) {
    for (int i = 0; i < n; i++) free(ps[i].prompt), free(ps[i].gold), free(ps[i].meta), free(ps[i].system);
    free(ps);
}

bool rollout_judge(const rollout_problem *p, const char *response, bool opened_think, char **extracted) {
    if (extracted) *extracted = NULL;
    if (!p->builtin) {
        char *x = NULL;
        bool ok = verify_response(response, p->gold, &x);
        if (extracted) *extracted = x;
        else free(x);
        return ok;
    }
    size_t n = strlen(response);
    char *trace = fx_malloc(n + 9);
    snprintf(trace, n + 9, "%s%s", opened_think ? "<think>\n" : "", response);
    task_labels l;
    task_check(&p->task, trace, &l);
    bool ok = l.answer_correct;
    if (extracted && l.extracted) *extracted = fx_strdup(l.extracted);
    task_labels_free(&l);
    free(trace);
    return ok;
}
