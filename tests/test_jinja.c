// test_jinja.c — the chat-template renderer against python3-jinja2: every case of
// tests/data/jinja/golden.jsonl (tests/reference/jinja/make_golden.py: the published templates of
// seven model families × conversations, and one small template per construct) must render byte
// for byte as jinja2 did, or fail where jinja2 failed (raise_exception with its message). Then
// what is refused at parse time, with the construct and line named.
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../model/jinja.h"
#include "test.h"

static char *slurp(const char *path) {
    fx_err err;
    size_t n;
    char *s = fx_read_file(path, &n, &err);
    if (!s) fprintf(stderr, "%s\n", err.msg);
    return s;
}

static int first_diff(const char *a, const char *b) {
    int i = 0;
    while (a[i] && a[i] == b[i]) i++;
    return i;
}

static void golden_case(const cJSON *o, int *ncases) {
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(o, "name"));
    const cJSON *inline_t = cJSON_GetObjectItem(o, "template"), *file = cJSON_GetObjectItem(o, "file");
    char *src = NULL;
    if (cJSON_IsString(file)) {
        char path[512];
        snprintf(path, sizeof path, "tests/data/jinja/%s", file->valuestring);
        src = slurp(path);
    } else {
        src = fx_strdup(cJSON_GetStringValue(inline_t));
    }
    CHECK(src != NULL);
    if (!src) return;
    (*ncases)++;
    jinja_template *t;
    fx_err err = {{0}};
    int rc = jinja_parse(&t, src, name, &err);
    if (rc) fprintf(stderr, "%s: parse failed: %s\n", name, err.msg);
    CHECK_INT(rc, 0);
    free(src);
    if (rc) return;
    char *got = jinja_render(t, cJSON_GetObjectItem(o, "vars"), &err);
    const cJSON *text = cJSON_GetObjectItem(o, "text"), *error = cJSON_GetObjectItem(o, "error");
    if (cJSON_IsString(text)) {
        if (!got) fprintf(stderr, "%s: render failed: %s\n", name, err.msg);
        else if (strcmp(got, text->valuestring) != 0) {
            int d = first_diff(got, text->valuestring);
            fprintf(stderr, "%s: differs at byte %d:\n  got  \"%.80s\"\n  want \"%.80s\"\n", name, d, got + d,
                    text->valuestring + d);
        }
        CHECK(got && strcmp(got, text->valuestring) == 0);
    } else {
        if (got) fprintf(stderr, "%s: rendered, but jinja2 failed with %s\n", name, error->valuestring);
        CHECK(got == NULL);
        if (!got && cJSON_IsTrue(cJSON_GetObjectItem(o, "raised"))) { // raise_exception: its message
            if (!strstr(err.msg, error->valuestring)) fprintf(stderr, "%s: message '%s'\n", name, err.msg);
            CHECK(strstr(err.msg, error->valuestring) != NULL);
            CHECK(strstr(err.msg, "raise_exception") != NULL);
        }
    }
    free(got);
    jinja_free(t);
}

static void test_golden(void) {
    FILE *f = fopen("tests/data/jinja/golden.jsonl", "r");
    CHECK(f != NULL);
    if (!f) return;
    char *line = NULL;
    size_t cap = 0;
    int ncases = 0;
    while (getline(&line, &cap, f) > 0) {
        cJSON *o = cJSON_Parse(line);
        CHECK(o != NULL);
        if (o) golden_case(o, &ncases);
        cJSON_Delete(o);
    }
    free(line);
    fclose(f);
    CHECK(ncases >= 180);
    printf("test_jinja: %d golden cases\n", ncases);
}

// Refused when parsed: the message names the construct and the line.
static void test_refused(void) {
    static const struct {
        const char *src, *want;
    } cases[] = {
        {"a\n{% call foo() %}x{% endcall %}", "line 2: unsupported tag '{% call %}'"},
        {"{% filter upper %}x{% endfilter %}", "line 1: unsupported tag '{% filter %}'"},
        {"{% include 'x.jinja' %}", "unsupported tag '{% include %}'"},
        {"{% extends 'base' %}", "unsupported tag '{% extends %}'"},
        {"{% do ns.update() %}", "unsupported tag '{% do %}'"},
        {"{% frobnicate %}", "line 1: unknown tag 'frobnicate'"},
        {"\n\n{{ x | wordwrap }}", "line 3: unsupported filter 'wordwrap'"},
        {"{{ x | indent(4) }}", "unsupported filter 'indent'"},
        {"{% if x is escaped %}{% endif %}", "unsupported test 'is escaped'"},
        {"{{ x.format(1) }}", "unsupported method '.format()'"},
        {"{{ messages.append(1) }}", "unsupported method '.append()'"},
        {"{{ cycler(1, 2) }}", "unsupported call of 'cycler'"},
        {"{{ lipsum() }}", "unsupported call of 'lipsum'"},
        {"{% for x in xs recursive %}{{ loop(x) }}{% endfor %}", "recursive for loops"},
        {"{{ f(*args) }}{% macro f() %}{% endmacro %}", "*args / **kwargs"},
        {"{% if x %}", "line 1: missing '{% endif %}'"},
        {"{% for x in y %}\n{% endif %}", "line 2: unexpected '{% endif %}'"},
        {"{{ x", "unexpected end of template"},
        {"{{ 'abc }}", "unterminated string literal"},
        {"{# never closed", "unterminated comment"},
        {"{{ x + }}", "expected an expression, got end of '{{ }}'"},
        {"{{ 1 $ 2 }}", "unexpected character '$'"},
        {"{% set %}", "expected a variable name"},
        {"{% break %}", "'break' outside a for loop"},
        {"{% raw %}never ends", "missing {% endraw %}"},
        {"{{ '\\N{DASH}' }}", "\\N{...} escapes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        jinja_template *t = NULL;
        fx_err err = {{0}};
        int rc = jinja_parse(&t, cases[i].src, "x.json: chat_template", &err);
        CHECK_INT(rc, -1);
        CHECK(t == NULL);
        if (!strstr(err.msg, cases[i].want) || strncmp(err.msg, "x.json: chat_template: ", 23) != 0)
            fprintf(stderr, "case %zu: message '%s', want '%s'\n", i, err.msg, cases[i].want);
        CHECK(strstr(err.msg, cases[i].want) != NULL);
        CHECK(strncmp(err.msg, "x.json: chat_template: ", 23) == 0);
        jinja_free(t);
    }
}

// Run-time errors name the line; a template renders again after one failed.
static void test_runtime_errors(void) {
    jinja_template *t;
    fx_err err = {{0}};
    CHECK_INT(jinja_parse(&t, "a\n{{ raise_exception('bad ' ~ who) }}", "tpl", &err), 0);
    cJSON *vars = cJSON_Parse("{\"who\": \"input\"}");
    char *out = jinja_render(t, vars, &err);
    CHECK(out == NULL);
    CHECK_STR(err.msg, "tpl: line 2: raise_exception: bad input");
    jinja_free(t);
    CHECK_INT(jinja_parse(&t, "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "tpl", &err), 0);
    out = jinja_render(t, vars, &err);
    CHECK(out == NULL);
    CHECK(strstr(err.msg, "nested more than 64 deep") != NULL);
    jinja_free(t);
    CHECK_INT(jinja_parse(&t, "{{ range(1000000)|length }}", "tpl", &err), 0);
    CHECK(jinja_render(t, vars, &err) == NULL);
    CHECK(strstr(err.msg, "range too big") != NULL);
    jinja_free(t);
    CHECK_INT(jinja_parse(&t, "{{ who }}", "tpl", &err), 0);
    out = jinja_render(t, vars, &err);
    CHECK_STR(out, "input");
    free(out);
    jinja_free(t);
    cJSON_Delete(vars);
}

int main(void) {
    test_golden();
    test_refused();
    test_runtime_errors();
    return test_summary("test_jinja");
}
