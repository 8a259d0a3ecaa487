// prm_input.c — see prm_input.h.
#define _POSIX_C_SOURCE 200809L
#include "prm_input.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../rollout/decode.h"
#include "../rollout/steps.h"
#include "../rollout/trace_store.h"

bool prm_input_is_h5(const char *path) {
    size_t n = strlen(path);
    return n > 3 && !strcmp(path + n - 3, ".h5");
}

int prm_input_split(const char *response, char **steps, int max) {
    steps_span *spans = fx_malloc((size_t)max * sizeof *spans);
    size_t close;
    int n = steps_split_text(response, spans, max, &close);
    for (int k = 0; k < n; k++) {
        // A "</think>" after the first one has no text in the step, as GRPO's token steps drop it.
        size_t len = 0;
        steps[k] = fx_malloc(spans[k].end - spans[k].begin + 1);
        for (size_t i = spans[k].begin; i < spans[k].end; i++) {
            if (spans[k].end - i >= 8 && !strncmp(response + i, "</think>", 8)) i += 7;
            else steps[k][len++] = response[i];
        }
        steps[k][len] = '\0';
    }
    free(spans);
    return n;
}

// The first (or last) added token of text[0..n), as its byte offset and length; -1 when there is none.
static long added_token(tok_tokenizer *t, const char *text, size_t n, size_t *len, bool last) {
    tok_ids ids = {0};
    tok_encode(t, text, n, &ids);
    long at = -1, off = 0;
    for (size_t i = 0; i < ids.n; i++) {
        size_t l;
        const char *b = tok_token_bytes(t, ids.ids[i], &l);
        if (tok_is_added(t, ids.ids[i])) {
            at = off, *len = l;
            if (!last) break;
        }
        off += b ? (long)l : 0;
    }
    tok_ids_free(&ids);
    return at;
}

char *prm_input_user_turn(tok_tokenizer *t, const char *prompt) {
    // The layout around a user turn: the tokenizer's template rendered over a marker, else ChatML.
    static const char marker[] = "FLUXRLUSERTURNMARKER";
    char *opener = fx_strdup("<|im_start|>user\n"), *closer = fx_strdup("<|im_end|>");
    if (t && tok_has_chat_template(t)) {
        cJSON *msgs = cJSON_CreateArray(), *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "user");
        cJSON_AddStringToObject(m, "content", marker);
        cJSON_AddItemToArray(msgs, m);
        fx_err err;
        char *r = tok_apply_chat_template(t, msgs, true, NULL, &err);
        cJSON_Delete(msgs);
        const char *at = r ? strstr(r, marker) : NULL;
        if (at) { // the opener: the prefix from its last added token; the closer: the suffix's first
            size_t ol = 0, cl = 0;
            long o = added_token(t, r, (size_t)(at - r), &ol, true);
            const char *after = at + strlen(marker);
            long c = added_token(t, after, strlen(after), &cl, false);
            free(opener), free(closer);
            opener = fx_strdup(o >= 0 ? r + o : r);
            opener[(size_t)(at - r) - (size_t)(o >= 0 ? o : 0)] = '\0';
            closer = c >= 0 ? fx_strdup(after + c) : fx_strdup("");
            if (c >= 0) closer[cl] = '\0';
        }
        free(r);
    }
    // The last opener of the prompt, up to the closer after it.
    const char *a = NULL;
    for (const char *p = prompt; *opener && (p = strstr(p, opener)); p++) a = p;
    char *s;
    if (!a) s = fx_strdup(prompt);
    else {
        a += strlen(opener);
        const char *b = *closer ? strstr(a, closer) : NULL;
        size_t n = b ? (size_t)(b - a) : strlen(a);
        s = fx_malloc(n + 1);
        memcpy(s, a, n);
        s[n] = '\0';
    }
    free(opener), free(closer);
    return s;
}

static char *join_steps(char *const *steps, int n) {
    size_t len = 1;
    for (int k = 0; k < n; k++) len += strlen(steps[k]) + 2;
    char *s = fx_malloc(len), *p = s;
    *p = '\0';
    for (int k = 0; k < n; k++) p += sprintf(p, "%s%s", k ? "\n\n" : "", steps[k]);
    return s;
}

// One JSONL line into t (its strings malloc'd); -1 with err naming the field.
static int parse_line(const char *line, const char *where, prm_input_trace *t, fx_err *err) {
    cJSON *j = cJSON_Parse(line);
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "problem");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "steps");
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(j, "response");
    int rc = 0;
    if (!cJSON_IsObject(j)) rc = fx_errf(err, "%s: expected a JSON object", where);
    else if (!cJSON_IsString(q)) rc = fx_errf(err, "%s: problem: expected a string", where);
    else if (cJSON_IsArray(st)) {
        for (const cJSON *s = st->child; s && !rc && t->nsteps < CLI_PRM_MAX_STEPS; s = s->next)
            if (cJSON_IsString(s)) t->steps[t->nsteps++] = fx_strdup(s->valuestring);
            else rc = fx_errf(err, "%s: steps: expected an array of strings", where);
        if (!rc) t->response = cJSON_IsString(resp) ? fx_strdup(resp->valuestring) : join_steps(t->steps, t->nsteps);
    } else if (cJSON_IsString(resp)) {
        t->nsteps = prm_input_split(resp->valuestring, t->steps, CLI_PRM_MAX_STEPS);
        t->response = fx_strdup(resp->valuestring);
    } else {
        rc = fx_errf(err, "%s: steps or response: expected an array of strings or a string", where);
    }
    if (!rc) t->problem = fx_strdup(q->valuestring);
    cJSON_Delete(j);
    return rc;
}

static void trace_clear(prm_input_trace *t) {
    for (int k = 0; k < t->nsteps; k++) free(t->steps[k]);
    free(t->problem), free(t->response);
    t->problem = t->response = NULL, t->nsteps = 0;
}

static int each_jsonl(const char *path, prm_input_fn fn, void *ctx, fx_err *err) {
    FILE *f = fx_fopen_input(path, err);
    if (!f) return -1;
    char *steps[CLI_PRM_MAX_STEPS], where[1100];
    int rc = 0, more;
    prm_input_trace t = {.steps = steps};
    fx_jsonl in = {f, path, NULL, 0, 0};
    while (!rc && (more = fx_jsonl_next(&in, err)) != 0) {
        if (more < 0) {
            rc = -1;
            break;
        }
        snprintf(where, sizeof where, "%.1000s:%d", path, in.lineno);
        rc = parse_line(in.line, where, &t, err);
        if (!rc && (rc = fn(ctx, &t, err))) {
            fx_err inner = *err;
            fx_errf(err, "%s: %s", where, inner.msg);
        }
        trace_clear(&t);
        t.index++;
    }
    fx_jsonl_free(&in);
    fclose(f);
    return rc;
}

// The steps of stored trace t as trimmed texts, each with the store step it came from.
static void stored_steps(const tok_tokenizer *tok, const trace *tr, prm_input_trace *t) {
    size_t len;
    for (int32_t k = 0, from = 0; k < tr->n_steps && t->nsteps < CLI_PRM_MAX_STEPS; from = tr->step_end[k++]) {
        char *text = tok_decode(tok, tr->response + from, (size_t)(tr->step_end[k] - from), true, &len);
        char *a = text, *e = text + len;
        while (a < e && isspace((unsigned char)*a)) a++;
        while (e > a && isspace((unsigned char)e[-1])) e--;
        *e = '\0';
        if (*a) t->store_step[t->nsteps] = k, t->steps[t->nsteps++] = fx_strdup(a);
        free(text);
    }
}

static int each_h5(const char *path, const char *tok_path, tok_tokenizer *tok, prm_input_fn fn, void *ctx,
                   fx_err *err) {
    trace_store *s;
    if (trace_store_open(&s, path, err)) return -1;
    tok_tokenizer *own = NULL;
    const char *stored = trace_store_attr(s, "tokenizer");
    if (tok_path || (stored && stored[0])) { // the policy's tokenizer decodes the traces
        if (tok_load(&own, tok_path ? tok_path : stored, err)) {
            trace_store_close(s, NULL);
            return fx_errf(err, "%s (the traces' tokenizer; give it with --tokenizer)", err->msg);
        }
        tok = own;
    }
    trace_batch b;
    trace_batch_init(&b);
    int rc = 0;
    int64_t n = trace_store_count(s);
    char *steps[CLI_PRM_MAX_STEPS];
    int store_step[CLI_PRM_MAX_STEPS];
    for (int64_t first = 0; first < n && !rc; first += 256) {
        rc = trace_store_read(s, first, n - first < 256 ? n - first : 256, &b, err);
        for (int64_t i = 0; i < b.n && !rc; i++) {
            trace tr = trace_batch_get(&b, i);
            size_t len;
            char *prompt = tok_decode(tok, tr.prompt, (size_t)tr.n_prompt, false, &len);
            prm_input_trace t = {.index = first + i, .steps = steps, .store_step = store_step};
            t.problem = prm_input_user_turn(tok, prompt);
            // A trace that ended at a stop id (its finish "eos") holds it last: not part of the text.
            int n_text = tr.n_response - (tr.finish == TRACE_FINISH_EOS && tr.n_response > 0);
            char *raw = tok_decode(tok, tr.response, (size_t)n_text, false, &len); // bytes, maybe cut mid-character
            t.response = tok_utf8_sanitize(raw, strlen(raw), &len);
            free(raw);
            stored_steps(tok, &tr, &t);
            if ((rc = fn(ctx, &t, err))) {
                fx_err inner = *err;
                fx_errf(err, "%s: trace %lld: %s", path, (long long)t.index, inner.msg);
            }
            trace_clear(&t);
            free(prompt);
        }
    }
    trace_batch_free(&b);
    tok_free(own);
    trace_store_close(s, NULL);
    return rc;
}

int prm_input_each(const char *path, const char *tok_path, tok_tokenizer *tok, prm_input_fn fn, void *ctx,
                       fx_err *err) {
    return prm_input_is_h5(path) ? each_h5(path, tok_path, tok, fn, ctx, err) : each_jsonl(path, fn, ctx, err);
}
