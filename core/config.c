// config.c — schema-driven config loading and validation. See config.h.
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "progress.h"

#define KEY_ENTRY(sec, nm, type, def, range, help)                                            \
    {#sec "." #nm, #sec, #nm, FX_CFG_##type, def, range, help, offsetof(fx_config, sec.nm),   \
     sizeof(((fx_config *)0)->sec.nm)},
#define SECTION_KEYS(sec, help) FX_CFG_KEYS_##sec(KEY_ENTRY)
#define SECTION_ENTRY(sec, help) {#sec, help},

static const fx_cfg_key g_keys[] = {FX_CFG_SECTIONS(SECTION_KEYS)};
static const fx_cfg_section g_sections[] = {FX_CFG_SECTIONS(SECTION_ENTRY)};
#define NKEYS ((int)(sizeof g_keys / sizeof g_keys[0]))
#define NSECTIONS ((int)(sizeof g_sections / sizeof g_sections[0]))

const fx_cfg_key *cfg_keys(int *n) {
    *n = NKEYS;
    return g_keys;
}

const fx_cfg_section *cfg_sections(int *n) {
    *n = NSECTIONS;
    return g_sections;
}

const fx_cfg_key *cfg_find(const char *key) {
    for (int i = 0; i < NKEYS; i++)
        if (strcmp(g_keys[i].key, key) == 0) return &g_keys[i];
    return NULL;
}

static bool is_section(const char *name) {
    for (int i = 0; i < NSECTIONS; i++)
        if (strcmp(g_sections[i].name, name) == 0) return true;
    return false;
}

// ---------------------------------------------------------------------------------------------
// allowed ranges: "[a,b]", "(a,inf)", ...

typedef struct {
    double lo, hi;
    bool lo_open, hi_open;
} range;

static range range_parse(const char *s) {
    range r = {-INFINITY, INFINITY, true, true};
    if (!s || !s[0]) return r;
    r.lo_open = s[0] == '(';
    char *end;
    r.lo = strtod(s + 1, &end);
    FX_ASSERT(*end == ',');
    r.hi = strtod(end + 1, &end);
    r.hi_open = *end == ')';
    return r;
}

static bool range_has(range r, double v) {
    if (r.lo_open ? !(v > r.lo) : !(v >= r.lo)) return false;
    if (r.hi_open ? !(v < r.hi) : !(v <= r.hi)) return false;
    return true;
}

static void fmt_num(char *buf, size_t n, double v) {
    if (isinf(v)) snprintf(buf, n, "%sinf", v < 0 ? "-" : "");
    else if (v == floor(v) && fabs(v) < 1e17) snprintf(buf, n, "%.0f", v);
    else snprintf(buf, n, "%.15g", v);
}

// "a number > 0", "an integer in [1, 65536]", "one of \"cpu\", \"cuda\"", ...
static void describe_expected(const fx_cfg_key *k, char *buf, size_t n) {
    if (k->type == FX_CFG_BOOL) {
        snprintf(buf, n, "true or false");
        return;
    }
    if (k->type == FX_CFG_STR) {
        snprintf(buf, n, "a string");
        return;
    }
    if (k->type == FX_CFG_ENUM) {
        size_t used = (size_t)snprintf(buf, n, "one of ");
        const char *p = k->range;
        while (*p && used < n) {
            size_t len = strcspn(p, "|");
            used += (size_t)snprintf(buf + used, n - used, "%s\"%.*s\"", p == k->range ? "" : ", ", (int)len, p);
            p += len + (p[len] == '|');
        }
        return;
    }
    const char *what = k->type == FX_CFG_INT ? "an integer" : "a number";
    range r = range_parse(k->range);
    char lo[32], hi[32];
    fmt_num(lo, sizeof lo, r.lo);
    fmt_num(hi, sizeof hi, r.hi);
    if (isinf(r.lo) && isinf(r.hi)) snprintf(buf, n, "%s", what);
    else if (isinf(r.hi)) snprintf(buf, n, "%s %s %s", what, r.lo_open ? ">" : ">=", lo);
    else if (isinf(r.lo)) snprintf(buf, n, "%s %s %s", what, r.hi_open ? "<" : "<=", hi);
    else snprintf(buf, n, "%s in %c%s, %s%c", what, r.lo_open ? '(' : '[', lo, hi, r.hi_open ? ')' : ']');
}

static bool enum_has(const char *names, const char *v) {
    size_t vlen = strlen(v);
    const char *p = names;
    while (*p) {
        size_t len = strcspn(p, "|");
        if (len == vlen && strncmp(p, v, len) == 0) return true;
        p += len + (p[len] == '|');
    }
    return false;
}

// ---------------------------------------------------------------------------------------------
// storing a value into its field

static void *field(fx_config *c, const fx_cfg_key *k) { return (char *)c + k->offset; }

static int type_error(const fx_cfg_key *k, const char *source, const char *got, fx_err *err) {
    char want[256];
    describe_expected(k, want, sizeof want);
    return fx_errf(err, "%s: %s: expected %s, got %s", source, k->key, want, got);
}

static int store_number(fx_config *c, const fx_cfg_key *k, double v, const char *source, const char *got,
                        fx_err *err) {
    if (!isfinite(v) || !range_has(range_parse(k->range), v)) return type_error(k, source, got, err);
    if (k->type == FX_CFG_INT) {
        if (v != floor(v) || fabs(v) > 9007199254740992.0) return type_error(k, source, got, err);
        *(int64_t *)field(c, k) = (int64_t)v;
    } else {
        *(double *)field(c, k) = v;
    }
    return 0;
}

static int store_string(fx_config *c, const fx_cfg_key *k, const char *v, const char *source, const char *got,
                        fx_err *err) {
    if (k->type == FX_CFG_ENUM && !enum_has(k->range, v)) return type_error(k, source, got, err);
    if (strlen(v) >= k->size)
        return fx_errf(err, "%s: %s: expected a string of at most %zu bytes, got %zu bytes", source, k->key,
                       k->size - 1, strlen(v));
    // The run's folder is run.out_dir/run.name: a name that climbs out of run.out_dir or into a
    // subfolder would write where the user did not say.
    if (strcmp(k->key, "run.name") == 0 && (!v[0] || strchr(v, '/') || !strcmp(v, ".") || !strcmp(v, "..")))
        return fx_errf(err, "%s: run.name: expected a folder name inside run.out_dir (not empty, '.' or '..', no '/'), got %s",
                       source, got);
    memcpy(field(c, k), v, strlen(v) + 1);
    return 0;
}

// A value from the command line or a default, typed by the schema.
static int store_text(fx_config *c, const fx_cfg_key *k, const char *v, const char *source, fx_err *err) {
    char got[128];
    snprintf(got, sizeof got, "\"%.100s\"", v);
    switch (k->type) {
    case FX_CFG_INT:
    case FX_CFG_FLOAT: {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (end == v || *end != '\0' || errno == ERANGE) return type_error(k, source, got, err);
        if (k->type == FX_CFG_INT) { // integers exactly, beyond what a double parse would keep
            errno = 0;
            long long ll = strtoll(v, &end, 10);
            if (*end != '\0' || errno == ERANGE) return type_error(k, source, got, err);
            d = (double)ll;
        }
        return store_number(c, k, d, source, got, err);
    }
    case FX_CFG_BOOL:
        if (strcmp(v, "true") == 0) *(bool *)field(c, k) = true;
        else if (strcmp(v, "false") == 0) *(bool *)field(c, k) = false;
        else return type_error(k, source, got, err);
        return 0;
    case FX_CFG_STR:
    case FX_CFG_ENUM: return store_string(c, k, v, source, got, err);
    }
    return fx_errf(err, "%s: %s: unknown type", source, k->key);
}

static void json_brief(const cJSON *v, char *buf, size_t n) {
    char *s = cJSON_PrintUnformatted(v);
    if (!s) {
        snprintf(buf, n, "(a value)");
        return;
    }
    const char *kind = cJSON_IsObject(v) ? "an object " : cJSON_IsArray(v) ? "an array " : "";
    if (strlen(s) > 60) snprintf(buf, n, "%s%.57s...", kind, s);
    else snprintf(buf, n, "%s%s", kind, s);
    free(s);
}

static int store_json(fx_config *c, const fx_cfg_key *k, const cJSON *v, const char *source, fx_err *err) {
    char got[96];
    json_brief(v, got, sizeof got);
    switch (k->type) {
    case FX_CFG_INT:
    case FX_CFG_FLOAT:
        if (!cJSON_IsNumber(v)) return type_error(k, source, got, err);
        return store_number(c, k, v->valuedouble, source, got, err);
    case FX_CFG_BOOL:
        if (!cJSON_IsBool(v)) return type_error(k, source, got, err);
        *(bool *)field(c, k) = cJSON_IsTrue(v);
        return 0;
    case FX_CFG_STR:
    case FX_CFG_ENUM:
        if (k->type == FX_CFG_STR && !strcmp(k->range, "json") && cJSON_IsObject(v)) { // kept as its JSON text
            char *text = cJSON_PrintUnformatted(v);
            int rc = store_string(c, k, text, source, got, err);
            free(text);
            return rc;
        }
        if (!cJSON_IsString(v)) return type_error(k, source, got, err);
        return store_string(c, k, v->valuestring, source, got, err);
    }
    return fx_errf(err, "%s: %s: unknown type", source, k->key);
}

// ---------------------------------------------------------------------------------------------
// suggestions for unknown keys

int cfg_edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    int *row = fx_malloc((lb + 1) * sizeof(int));
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    int d = row[lb];
    free(row);
    return d;
}

// The closest known key or section to `path` ("section" or "section.name"), or NULL.
static const char *suggest(const char *path) {
    const char *best = NULL;
    int best_d = 1 << 30;
    const char *dot = strchr(path, '.');
    const char *leaf = dot ? dot + 1 : path;
    for (int i = 0; i < NKEYS; i++) {
        int d = cfg_edit_distance(path, g_keys[i].key);
        int d_leaf = cfg_edit_distance(leaf, g_keys[i].name) + 1; // right key, wrong section
        if (d_leaf < d) d = d_leaf;
        if (d < best_d) best_d = d, best = g_keys[i].key;
    }
    if (!dot) {
        for (int i = 0; i < NSECTIONS; i++) {
            int d = cfg_edit_distance(path, g_sections[i].name);
            if (d < best_d) best_d = d, best = g_sections[i].name;
        }
    }
    int limit = (int)strlen(leaf) / 3;
    if (limit < 2) limit = 2;
    return best_d <= limit ? best : NULL;
}

static int unknown_key(const char *source, const char *path, fx_err *err) {
    const char *s = suggest(path);
    if (s) return fx_errf(err, "%s: %s: unknown key; did you mean %s?", source, path, s);
    return fx_errf(err, "%s: %s: unknown key (see `fluxrl config doc` for the valid keys)", source, path);
}

// ---------------------------------------------------------------------------------------------
// loading

void cfg_defaults(fx_config *c) {
    memset(c, 0, sizeof *c);
    for (int i = 0; i < NKEYS; i++) {
        fx_err err;
        if (store_text(c, &g_keys[i], g_keys[i].def, "schema default", &err) != 0) fx_fatal("%s", err.msg);
    }
}

static void line_col(const char *text, const char *pos, int *line, int *col) {
    *line = 1, *col = 1;
    for (const char *p = text; p < pos && *p; p++) {
        if (*p == '\n') (*line)++, *col = 1;
        else (*col)++;
    }
}

static int check_duplicates(const cJSON *obj, const char *source, const char *prefix, fx_err *err) {
    for (const cJSON *a = obj->child; a; a = a->next)
        for (const cJSON *b = a->next; b; b = b->next)
            if (strcmp(a->string, b->string) == 0)
                return fx_errf(err, "%s: %s%s%s: key given twice", source, prefix, prefix[0] ? "." : "", a->string);
    return 0;
}

static int apply_section(fx_config *c, const cJSON *sec, const char *source, fx_err *err) {
    if (check_duplicates(sec, source, sec->string, err)) return -1;
    for (const cJSON *item = sec->child; item; item = item->next) {
        char path[256];
        snprintf(path, sizeof path, "%s.%s", sec->string, item->string);
        const fx_cfg_key *k = cfg_find(path);
        if (!k) return unknown_key(source, path, err);
        if (store_json(c, k, item, source, err)) return -1;
    }
    return 0;
}

// The first byte at or after p (before stop) that is not JSON whitespace; the text need not end in NUL.
static const char *ws_end(const char *p, const char *stop) {
    while (p < stop && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) p++;
    return p;
}

int cfg_apply_json(fx_config *c, const char *text, size_t len, const char *source, fx_err *err) {
    const char *nul = fx_json_find_nul(text, len);
    if (nul) {
        int line, col;
        line_col(text, nul, &line, &col);
        return fx_errf(err, "%s:%d:%d: a NUL character (\\u0000); expected text without one", source, line, col);
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!root) {
        const char *pos = end ? end : cJSON_GetErrorPtr();
        if (!pos) pos = text + len;
        int line, col;
        line_col(text, pos, &line, &col);
        if (ws_end(text, text + len) == text + len)
            return fx_errf(err, "%s: empty file; expected a JSON object", source);
        int near = pos < text + len ? (int)(text + len - pos < 20 ? text + len - pos : 20) : 0;
        return fx_errf(err, "%s:%d:%d: malformed JSON near \"%.*s\"", source, line, col, near, pos);
    }
    // Anything but whitespace after the value is an error too (two objects, a stray brace).
    if (end && ws_end(end, text + len) != text + len) {
        int line, col;
        line_col(text, ws_end(end, text + len), &line, &col);
        cJSON_Delete(root);
        return fx_errf(err, "%s:%d:%d: unexpected text after the JSON object", source, line, col);
    }
    int rc = 0;
    if (!cJSON_IsObject(root)) {
        char got[96];
        json_brief(root, got, sizeof got);
        rc = fx_errf(err, "%s: expected a JSON object of sections at the top, got %s", source, got);
    }
    if (!rc) rc = check_duplicates(root, source, "", err);
    for (const cJSON *sec = root->child; !rc && sec; sec = sec->next) {
        if (!is_section(sec->string)) {
            rc = unknown_key(source, sec->string, err);
        } else if (!cJSON_IsObject(sec)) {
            char got[96];
            json_brief(sec, got, sizeof got);
            rc = fx_errf(err, "%s: %s: expected an object (a section of keys), got %s", source, sec->string, got);
        } else {
            rc = apply_section(c, sec, source, err);
        }
    }
    cJSON_Delete(root);
    return rc;
}

int cfg_load(fx_config *c, const char *path, fx_err *err) {
    cfg_defaults(c);
    size_t len;
    char *text = fx_read_file(path, &len, err);
    if (!text) return -1;
    int rc = cfg_apply_json(c, text, len, path, err);
    free(text);
    return rc;
}

int cfg_set(fx_config *c, const char *assignment, fx_err *err) {
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return fx_errf(err, "--set %s: expected section.key=value", assignment);
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)(eq - assignment), assignment);
    const fx_cfg_key *k = cfg_find(key);
    if (!k && is_section(key)) { // `--set sft=5`: name the section's keys rather than suggest it
        char keys[1024] = "";
        for (int i = 0; i < NKEYS; i++) {
            size_t n = strlen(keys);
            if (strcmp(g_keys[i].section, key) == 0 && n + 80 < sizeof keys)
                snprintf(keys + n, sizeof keys - n, "%s%s", n ? ", " : "", g_keys[i].key);
        }
        return fx_errf(err, "--set %s: %s is a section, not a key; expected section.key=value with one of its keys: %s",
                       assignment, key, keys);
    }
    if (!k) return unknown_key("--set", key, err);
    return store_text(c, k, eq + 1, "--set", err);
}

int cfg_resolve(fx_config *c, const char *path, int nset, char **sets, fx_err *err) {
    if (path) {
        if (cfg_load(c, path, err)) return -1;
    } else {
        cfg_defaults(c);
    }
    for (int i = 0; i < nset; i++)
        if (cfg_set(c, sets[i], err)) return -1;
    return 0;
}

// ---------------------------------------------------------------------------------------------
// output

char *cfg_to_json(const fx_config *c) {
    cJSON *root = cJSON_CreateObject();
    for (int s = 0; s < NSECTIONS; s++) {
        cJSON *sec = cJSON_AddObjectToObject(root, g_sections[s].name);
        for (int i = 0; i < NKEYS; i++) {
            const fx_cfg_key *k = &g_keys[i];
            if (strcmp(k->section, g_sections[s].name) != 0) continue;
            const void *f = (const char *)c + k->offset;
            switch (k->type) {
            case FX_CFG_INT: cJSON_AddNumberToObject(sec, k->name, (double)*(const int64_t *)f); break;
            case FX_CFG_FLOAT: cJSON_AddNumberToObject(sec, k->name, *(const double *)f); break;
            case FX_CFG_BOOL: cJSON_AddBoolToObject(sec, k->name, *(const bool *)f); break;
            case FX_CFG_STR:
            case FX_CFG_ENUM: cJSON_AddStringToObject(sec, k->name, (const char *)f); break;
            }
        }
    }
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    FX_ASSERT(s);
    return s;
}

typedef struct {
    char *buf;
    size_t len, cap;
} strbuf;

static void sb_printf(strbuf *b, const char *fmt, ...) FX_PRINTF(2, 3);
static void sb_printf(strbuf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        FX_ASSERT(n >= 0);
        if (b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        b->cap = 2 * (b->cap + (size_t)n);
        b->buf = fx_realloc(b->buf, b->cap);
    }
}

static const char *type_name(fx_cfg_type t) {
    static const char *names[] = {"integer", "number", "boolean", "string", "enum"};
    return names[t];
}

char *cfg_doc_markdown(void) {
    strbuf b = {fx_malloc(4096), 0, 4096};
    b.buf[0] = '\0';
    sb_printf(&b, "# Configuration reference\n\n"
                  "Generated by `fluxrl config doc`; a test checks that this file matches it, so edit the\n"
                  "schema in `core/config_keys.h` and regenerate with\n"
                  "`build/fluxrl config doc > docs/config.md`.\n\n"
                  "A config is a JSON object of sections, each an object of keys, for example\n"
                  "`{\"cluster\": {\"rollout_ranks\": 2}}`. Keys left out take their defaults. Every\n"
                  "command that takes a config also takes `--set section.key=value` overrides, typed by\n"
                  "the schema and applied after the file in the order given. Unknown keys, values of the\n"
                  "wrong type or out of range, keys given twice and malformed JSON are errors that name\n"
                  "the file, the key and what was expected; the command then exits with code 2.\n"
                  "`fluxrl config check FILE` validates a config and prints it resolved, with every key.\n");
    for (int s = 0; s < NSECTIONS; s++) {
        sb_printf(&b, "\n## %s\n\n%s\n\n", g_sections[s].name, g_sections[s].help);
        sb_printf(&b, "| key | type | default | allowed | description |\n|---|---|---|---|---|\n");
        for (int i = 0; i < NKEYS; i++) {
            const fx_cfg_key *k = &g_keys[i];
            if (strcmp(k->section, g_sections[s].name) != 0) continue;
            char allowed[256] = "";
            if (k->type != FX_CFG_STR && k->type != FX_CFG_BOOL) describe_expected(k, allowed, sizeof allowed);
            const char *q = (k->type == FX_CFG_STR || k->type == FX_CFG_ENUM) ? "\"" : "";
            sb_printf(&b, "| `%s` | %s | `%s%s%s` | %s | %s |\n", k->key, type_name(k->type), q, k->def, q,
                      allowed, k->help);
        }
    }
    return b.buf;
}

void cfg_run_dir(const fx_config *c, char *buf, size_t n) {
    snprintf(buf, n, "%s/%s", c->run.out_dir, c->run.name);
}

void cfg_apply_log(const fx_config *c) {
    fx_log_level level = FX_LOG_INFO;
    fx_progress_mode mode = FX_PROGRESS_AUTO;
    // The schema has already restricted both keys to these names.
    FX_ASSERT(fx_log_level_parse(c->log.level, &level) == 0);
    FX_ASSERT(fx_progress_mode_parse(c->log.progress, &mode) == 0);
    fx_log_set_level(level);
    fx_log_set_all_ranks(c->log.all_ranks);
    fx_progress_configure(mode, c->log.progress_interval);
}

int cfg_write_resolved(const fx_config *c, fx_err *err) {
    char dir[2 * FX_CFG_STR_LEN + 2];
    cfg_run_dir(c, dir, sizeof dir);
    char *json = cfg_to_json(c);
    int rc = fx_write_text_in(dir, "config.json", json, err);
    free(json);
    return rc;
}
