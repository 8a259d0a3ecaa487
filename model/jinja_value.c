// jinja_value.c — the values of a render and how Python writes them: str(), repr(), json.dumps()
// (transformers' tojson), truth and equality as Python defines them.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "jinja_internal.h"

jval jv_str(jctx *c, const char *s, size_t n) {
    jval v = {.k = JV_STR};
    v.u.s.p = jarena_strndup(c->a, s, n), v.u.s.n = n;
    return v;
}

jval jv_cstr(const char *s) {
    jval v = {.k = JV_STR};
    v.u.s.p = s, v.u.s.n = strlen(s);
    return v;
}

jval jv_int(int64_t i) { return (jval){.k = JV_INT, .u.i = i}; }
jval jv_bool(bool b) { return (jval){.k = JV_BOOL, .u.b = b}; }

jval jv_list(jctx *c) {
    jval v = {.k = JV_LIST};
    v.u.l = jarena_alloc(c->a, sizeof *v.u.l);
    return v;
}

jval jv_dict(jctx *c) {
    jval v = {.k = JV_DICT};
    v.u.d = jarena_alloc(c->a, sizeof *v.u.d);
    return v;
}

void jv_push(jctx *c, jlist *l, jval v) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        jval *nv = jarena_alloc(c->a, cap * sizeof *nv);
        if (l->n) memcpy(nv, l->v, l->n * sizeof *nv);
        l->v = nv, l->cap = cap;
    }
    l->v[l->n++] = v;
}

jval *jv_get(const jdict *d, const char *key, size_t klen) {
    for (size_t i = 0; i < d->n; i++)
        if (d->klen[i] == klen && memcmp(d->key[i], key, klen) == 0) return &d->v[i];
    return NULL;
}

void jv_set(jctx *c, jdict *d, const char *key, size_t klen, jval v) {
    jval *old = jv_get(d, key, klen);
    if (old) {
        *old = v;
        return;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 8;
        const char **k = jarena_alloc(c->a, cap * sizeof *k);
        size_t *kl = jarena_alloc(c->a, cap * sizeof *kl);
        jval *nv = jarena_alloc(c->a, cap * sizeof *nv);
        if (d->n) {
            memcpy(k, d->key, d->n * sizeof *k);
            memcpy(kl, d->klen, d->n * sizeof *kl);
            memcpy(nv, d->v, d->n * sizeof *nv);
        }
        d->key = k, d->klen = kl, d->v = nv, d->cap = cap;
    }
    d->key[d->n] = key, d->klen[d->n] = klen, d->v[d->n] = v;
    d->n++;
}

// JSON → values. A number that is integral is a Python int (cJSON keeps no trace of "1.0").
jval jv_from_json(jctx *c, const cJSON *j) {
    if (cJSON_IsNull(j)) return (jval){.k = JV_NONE};
    if (cJSON_IsBool(j)) return jv_bool(cJSON_IsTrue(j));
    if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        if (d == floor(d) && fabs(d) < 9007199254740992.0) return jv_int((int64_t)d);
        return (jval){.k = JV_FLOAT, .u.f = d};
    }
    if (cJSON_IsString(j)) return jv_cstr(j->valuestring);
    if (cJSON_IsArray(j)) {
        jval v = jv_list(c);
        const cJSON *e;
        cJSON_ArrayForEach(e, j) jv_push(c, v.u.l, jv_from_json(c, e));
        return v;
    }
    if (cJSON_IsObject(j)) {
        jval v = jv_dict(c);
        const cJSON *e;
        cJSON_ArrayForEach(e, j) jv_set(c, v.u.d, e->string, strlen(e->string), jv_from_json(c, e));
        return v;
    }
    return (jval){.k = JV_UNDEF};
}

bool jv_truthy(jval v) {
    switch (v.k) {
    case JV_UNDEF: case JV_NONE: return false;
    case JV_BOOL: return v.u.b;
    case JV_INT: return v.u.i != 0;
    case JV_FLOAT: return v.u.f != 0;
    case JV_STR: return v.u.s.n != 0;
    case JV_LIST: return v.u.l->n != 0;
    case JV_DICT: return v.u.d->n != 0;
    default: return true;
    }
}

static bool is_num(jval v) { return v.k == JV_INT || v.k == JV_FLOAT || v.k == JV_BOOL; }
static double num(jval v) { return v.k == JV_FLOAT ? v.u.f : v.k == JV_INT ? (double)v.u.i : v.u.b; }

bool jv_equal(jval a, jval b) {
    if (is_num(a) && is_num(b)) {
        if (a.k != JV_FLOAT && b.k != JV_FLOAT) return (a.k == JV_INT ? a.u.i : a.u.b) == (b.k == JV_INT ? b.u.i : b.u.b);
        return num(a) == num(b);
    }
    if (a.k != b.k) return false;
    switch (a.k) {
    case JV_UNDEF: case JV_NONE: return true;
    case JV_STR: return a.u.s.n == b.u.s.n && memcmp(a.u.s.p, b.u.s.p, a.u.s.n) == 0;
    case JV_LIST:
        if (a.tuple != b.tuple || a.u.l->n != b.u.l->n) return false;
        for (size_t i = 0; i < a.u.l->n; i++)
            if (!jv_equal(a.u.l->v[i], b.u.l->v[i])) return false;
        return true;
    case JV_DICT:
        if (a.u.d->n != b.u.d->n) return false;
        for (size_t i = 0; i < a.u.d->n; i++) {
            jval *o = jv_get(b.u.d, a.u.d->key[i], a.u.d->klen[i]);
            if (!o || !jv_equal(a.u.d->v[i], *o)) return false;
        }
        return true;
    case JV_NS: return a.u.d == b.u.d;
    case JV_MACRO: return a.u.macro == b.u.macro;
    default: return false;
    }
}

const char *jv_type_name(jval v) {
    static const char *names[] = {"undefined", "NoneType", "bool", "int", "float", "str", "list", "dict", "Namespace",
                                  "Macro"};
    if (v.k == JV_LIST && v.tuple) return "tuple";
    return names[v.k];
}

// ---- UTF-8 ----
uint32_t jv_utf8_next(const char *s, size_t n, size_t *i) {
    const unsigned char *u = (const unsigned char *)s;
    uint32_t c = u[*i];
    int extra = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
    if (extra) c &= 0x3F >> extra;
    (*i)++;
    for (int k = 0; k < extra && *i < n && (u[*i] & 0xC0) == 0x80; k++) c = c << 6 | (u[(*i)++] & 0x3F);
    return c;
}

size_t jv_utf8_count(const char *s, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

size_t jv_utf8_offset(const char *s, size_t n, size_t k) {
    size_t i = 0;
    while (k > 0 && i < n) {
        jv_utf8_next(s, n, &i);
        k--;
    }
    return i;
}

// Python's str.isspace().
bool jv_is_space(uint32_t cp) {
    return (cp >= 9 && cp <= 13) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}

// ---- writing values ----
void jb_add(jctx *c, jbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = 2 * (b->n + n) + 64;
        char *p = jarena_alloc(c->a, cap);
        if (b->n) memcpy(p, b->p, b->n);
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

jbuf jb_new(jctx *c) {
    jbuf b = {0};
    jb_add(c, &b, "", 0);
    return b;
}

jval jb_value(const jbuf *b) {
    jval r = {.k = JV_STR};
    r.u.s.p = b->p, r.u.s.n = b->n;
    return r;
}

static void jb_str(jctx *c, jbuf *b, const char *s) { jb_add(c, b, s, strlen(s)); }

// repr(float): the shortest digits that read back to the same double; exponent form when the
// decimal exponent is below -4 or at least 16, as Python's float_repr_style 'short'.
static void float_repr(jctx *c, jbuf *b, double f) {
    if (isnan(f)) { jb_str(c, b, "nan"); return; }
    if (isinf(f)) { jb_str(c, b, f < 0 ? "-inf" : "inf"); return; }
    char tmp[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, f);
        if (strtod(tmp, NULL) == f) break;
    }
    // tmp = [-]d.ddde[+-]xx
    char digits[24];
    int nd = 0;
    const char *q = tmp;
    bool neg = *q == '-';
    if (neg) q++;
    for (; *q && *q != 'e'; q++)
        if (*q != '.') digits[nd++] = *q;
    int exp = atoi(q + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    char out[64];
    int k = 0;
    if (neg) out[k++] = '-';
    if (exp < -4 || exp >= 16) {
        out[k++] = digits[0];
        if (nd > 1) {
            out[k++] = '.';
            for (int i = 1; i < nd; i++) out[k++] = digits[i];
        }
        k += snprintf(out + k, sizeof out - (size_t)k, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (exp < 0) {
        out[k++] = '0', out[k++] = '.';
        for (int i = 0; i < -exp - 1; i++) out[k++] = '0';
        for (int i = 0; i < nd; i++) out[k++] = digits[i];
    } else {
        for (int i = 0; i <= exp; i++) out[k++] = i < nd ? digits[i] : '0';
        out[k++] = '.';
        if (nd > exp + 1)
            for (int i = exp + 1; i < nd; i++) out[k++] = digits[i];
        else
            out[k++] = '0';
    }
    jb_add(c, b, out, (size_t)k);
}

static void int_to(jctx *c, jbuf *b, int64_t i) {
    char tmp[32];
    jb_add(c, b, tmp, (size_t)snprintf(tmp, sizeof tmp, "%lld", (long long)i));
}

// Python's str.isprintable() for one character: not in Unicode's Other (Cc Cf Cs Co Cn) or
// Separator (Zl Zp Zs) categories, but the ASCII space is printable.
static bool py_printable(uint32_t cp) {
    if (cp == ' ') return true;
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS: case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP: case UTF8PROC_CATEGORY_ZS:
        return false;
    default: return true;
    }
}

// repr(str): single quotes unless the text holds a ' and no ", escapes as Python writes them.
static void str_repr(jctx *c, jbuf *b, const char *s, size_t n) {
    bool sq = memchr(s, '\'', n) != NULL, dq = memchr(s, '"', n) != NULL;
    char q = sq && !dq ? '"' : '\'';
    jb_add(c, b, &q, 1);
    for (size_t i = 0; i < n;) {
        size_t st = i;
        uint32_t cp = jv_utf8_next(s, n, &i);
        char tmp[12];
        if (cp == (uint32_t)q || cp == '\\') tmp[0] = '\\', tmp[1] = (char)cp, jb_add(c, b, tmp, 2);
        else if (cp == '\n') jb_str(c, b, "\\n");
        else if (cp == '\r') jb_str(c, b, "\\r");
        else if (cp == '\t') jb_str(c, b, "\\t");
        else if (!py_printable(cp))
            jb_add(c, b, tmp, (size_t)snprintf(tmp, sizeof tmp, cp < 0x100 ? "\\x%02x" : cp < 0x10000 ? "\\u%04x" : "\\U%08x", cp));
        else jb_add(c, b, s + st, i - st);
    }
    jb_add(c, b, &q, 1);
}

void jv_repr_to(jctx *c, jbuf *b, jval v, int line) {
    switch (v.k) {
    case JV_STR: { str_repr(c, b, v.u.s.p, v.u.s.n); return; }
    case JV_LIST:
        jb_str(c, b, v.tuple ? "(" : "[");
        for (size_t i = 0; i < v.u.l->n; i++) {
            if (i) jb_str(c, b, ", ");
            jv_repr_to(c, b, v.u.l->v[i], line);
        }
        if (v.tuple && v.u.l->n == 1) jb_str(c, b, ",");
        { jb_str(c, b, v.tuple ? ")" : "]"); return; }
    case JV_DICT:
        jb_str(c, b, "{");
        for (size_t i = 0; i < v.u.d->n; i++) {
            if (i) jb_str(c, b, ", ");
            str_repr(c, b, v.u.d->key[i], v.u.d->klen[i]);
            jb_str(c, b, ": ");
            jv_repr_to(c, b, v.u.d->v[i], line);
        }
        { jb_str(c, b, "}"); return; }
    case JV_UNDEF: { jb_str(c, b, "Undefined"); return; } // repr(Undefined), as in ['a', Undefined]
    default: { jv_str_to(c, b, v, line); return; }
    }
}

void jv_str_to(jctx *c, jbuf *b, jval v, int line) {
    switch (v.k) {
    case JV_UNDEF: return;
    case JV_NONE: { jb_str(c, b, "None"); return; }
    case JV_BOOL: { jb_str(c, b, v.u.b ? "True" : "False"); return; }
    case JV_INT: { int_to(c, b, v.u.i); return; }
    case JV_FLOAT: { float_repr(c, b, v.u.f); return; }
    case JV_STR: { jb_add(c, b, v.u.s.p, v.u.s.n); return; }
    case JV_LIST: case JV_DICT: { jv_repr_to(c, b, v, line); return; }
    case JV_NS: jinja_fail(c, line, "cannot print a namespace");
    case JV_MACRO: jinja_fail(c, line, "cannot print a macro (call it)");
    }
}

jval jv_to_str(jctx *c, jval v, int line) {
    if (v.k == JV_STR) return v;
    jbuf b = jb_new(c);
    jv_str_to(c, &b, v, line);
    return jb_value(&b);
}

// json.dumps' string: ensure_ascii=False keeps every character but " \ and controls.
static void json_str(jctx *c, jbuf *b, const char *s, size_t n, bool ascii) {
    jb_str(c, b, "\"");
    for (size_t i = 0; i < n;) {
        size_t st = i;
        uint32_t cp = jv_utf8_next(s, n, &i);
        char tmp[16];
        switch (cp) {
        case '"': jb_str(c, b, "\\\""); break;
        case '\\': jb_str(c, b, "\\\\"); break;
        case '\n': jb_str(c, b, "\\n"); break;
        case '\r': jb_str(c, b, "\\r"); break;
        case '\t': jb_str(c, b, "\\t"); break;
        case '\b': jb_str(c, b, "\\b"); break;
        case '\f': jb_str(c, b, "\\f"); break;
        default:
            if (cp < 0x20 || (ascii && cp >= 0x7F && cp < 0x10000))
                jb_add(c, b, tmp, (size_t)snprintf(tmp, sizeof tmp, "\\u%04x", cp));
            else if (ascii && cp >= 0x10000)
                jb_add(c, b, tmp, (size_t)snprintf(tmp, sizeof tmp, "\\u%04x\\u%04x", 0xD800 + ((cp - 0x10000) >> 10),
                                                   0xDC00 + ((cp - 0x10000) & 0x3FF)));
            else
                jb_add(c, b, s + st, i - st);
        }
    }
    jb_str(c, b, "\"");
}

static void newline_indent(jctx *c, jbuf *b, int indent, int level) {
    jb_str(c, b, "\n");
    for (int i = 0; i < indent * level; i++) jb_str(c, b, " ");
}

// indent < 0: none (one line).
void jv_json_to(jctx *c, jbuf *b, jval v, bool ascii, int indent, const char *item_sep, const char *key_sep,
                int level, int line) {
    switch (v.k) {
    case JV_NONE: { jb_str(c, b, "null"); return; }
    case JV_BOOL: { jb_str(c, b, v.u.b ? "true" : "false"); return; }
    case JV_INT: { int_to(c, b, v.u.i); return; }
    case JV_FLOAT:
        if (isnan(v.u.f)) { jb_str(c, b, "NaN"); return; }
        if (isinf(v.u.f)) { jb_str(c, b, v.u.f < 0 ? "-Infinity" : "Infinity"); return; }
        { float_repr(c, b, v.u.f); return; }
    case JV_STR: { json_str(c, b, v.u.s.p, v.u.s.n, ascii); return; }
    case JV_LIST:
        if (!v.u.l->n) { jb_str(c, b, "[]"); return; }
        jb_str(c, b, "[");
        for (size_t i = 0; i < v.u.l->n; i++) {
            if (i) jb_str(c, b, item_sep);
            if (indent >= 0) newline_indent(c, b, indent, level + 1);
            jv_json_to(c, b, v.u.l->v[i], ascii, indent, item_sep, key_sep, level + 1, line);
        }
        if (indent >= 0) newline_indent(c, b, indent, level);
        { jb_str(c, b, "]"); return; }
    case JV_DICT:
        if (!v.u.d->n) { jb_str(c, b, "{}"); return; }
        jb_str(c, b, "{");
        for (size_t i = 0; i < v.u.d->n; i++) {
            if (i) jb_str(c, b, item_sep);
            if (indent >= 0) newline_indent(c, b, indent, level + 1);
            json_str(c, b, v.u.d->key[i], v.u.d->klen[i], ascii);
            jb_str(c, b, key_sep);
            jv_json_to(c, b, v.u.d->v[i], ascii, indent, item_sep, key_sep, level + 1, line);
        }
        if (indent >= 0) newline_indent(c, b, indent, level);
        { jb_str(c, b, "}"); return; }
    default: jinja_fail(c, line, "tojson: Object of type %s is not JSON serializable", jv_type_name(v));
    }
}
