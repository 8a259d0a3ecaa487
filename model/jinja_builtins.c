// jinja_builtins.c — the filters, tests, methods of str and dict, and global functions that chat
// templates use, each as jinja2 3.1 and transformers define it. The name tables are what the
// parser accepts; anything else is refused when the template is parsed.
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#include "jinja_internal.h"

static const char *filters[] = {"length", "count", "trim", "tojson", "default", "d", "first", "last", "upper", "lower",
                                "capitalize", "join", "replace", "string", "int", "float", "list", "items",
                                "selectattr", "rejectattr", "select", "reject", "map", "reverse", "abs", "safe", NULL};
static const char *tests[] = {"defined", "undefined", "none", "boolean", "false", "true", "integer", "float", "number",
                              "string", "mapping", "iterable", "sequence", "callable", "sameas", "eq", "equalto",
                              "==", "ne", "!=", "lt", "<", "lessthan", "le", "<=", "gt", ">", "greaterthan", "ge",
                              ">=", "in", "odd", "even", "divisibleby", "lower", "upper", NULL};
static const char *methods[] = {"split", "strip", "lstrip", "rstrip", "startswith", "endswith", "replace", "upper",
                                "lower", "capitalize", "join", "get", "items", "keys", "values", NULL};
static const char *functions[] = {"raise_exception", "namespace", "range", "dict", "strftime_now", NULL};

static bool in_table(const char *const *t, const char *name) {
    for (; *t; t++)
        if (!strcmp(*t, name)) return true;
    return false;
}

bool jinja_has_filter(const char *name) { return in_table(filters, name); }
bool jinja_has_test(const char *name) { return in_table(tests, name); }
bool jinja_has_method(const char *name) { return in_table(methods, name); }
bool jinja_has_function(const char *name) { return in_table(functions, name); }

// ---- arguments ----
typedef struct {
    jval *v;
    const char **kw;
    int n;
} jargs;

// Argument `name`, at position pos when passed positionally; NULL when absent.
static jval *arg(const jargs *a, int pos, const char *name) {
    int k = 0;
    jval *found = NULL;
    for (int i = 0; i < a->n; i++) {
        if (a->kw && a->kw[i]) {
            if (!strcmp(a->kw[i], name)) found = &a->v[i];
        } else if (k++ == pos) {
            found = &a->v[i];
        }
    }
    return found;
}

static void check_args(jctx *c, const jargs *a, int maxpos, const char *const *names, const char *what, int line) {
    int k = 0;
    for (int i = 0; i < a->n; i++) {
        if (a->kw && a->kw[i]) {
            if (!in_table(names, a->kw[i])) jinja_fail(c, line, "%s got an unexpected keyword argument '%s'", what, a->kw[i]);
        } else {
            k++;
        }
    }
    if (k > maxpos) jinja_fail(c, line, "%s takes at most %d argument(s), got %d", what, maxpos, k);
}

static jval need_str(jctx *c, jval v, const char *what, int line) {
    if (v.k != JV_STR) jinja_fail(c, line, "%s: expected a string, got %s", what, jv_type_name(v));
    return v;
}

static jval soft_str(jctx *c, jval v, int line) { return jv_to_str(c, v, line); }

// ---- string helpers ----
static bool in_chars(uint32_t cp, jval chars) {
    for (size_t i = 0; i < chars.u.s.n;)
        if (jv_utf8_next(chars.u.s.p, chars.u.s.n, &i) == cp) return true;
    return false;
}

// str.strip / lstrip / rstrip: whitespace, or the characters of chars.
static jval strip(jctx *c, jval s, jval *chars, bool left, bool right) {
    size_t lo = 0, hi = s.u.s.n;
    bool ws = !chars || chars->k == JV_NONE;
    while (left && lo < hi) {
        size_t i = lo;
        uint32_t cp = jv_utf8_next(s.u.s.p, hi, &i);
        if (ws ? !jv_is_space(cp) : !in_chars(cp, *chars)) break;
        lo = i;
    }
    while (right && hi > lo) {
        size_t st = hi - 1;
        while (st > lo && ((unsigned char)s.u.s.p[st] & 0xC0) == 0x80) st--;
        size_t i = st;
        uint32_t cp = jv_utf8_next(s.u.s.p, hi, &i);
        if (ws ? !jv_is_space(cp) : !in_chars(cp, *chars)) break;
        hi = st;
    }
    jval r = s;
    r.u.s.p = s.u.s.p + lo, r.u.s.n = hi - lo;
    return r;
}

static const char *find(const char *h, size_t hn, const char *n, size_t nn) {
    if (nn == 0) return h;
    for (size_t i = 0; i + nn <= hn; i++)
        if (!memcmp(h + i, n, nn)) return h + i;
    return NULL;
}

static jval split(jctx *c, jval s, jval *sep, jval *maxsplit, int line) {
    jval r = jv_list(c);
    int64_t max = maxsplit && maxsplit->k == JV_INT ? maxsplit->u.i : -1;
    const char *p = s.u.s.p, *end = p + s.u.s.n;
    if (!sep || sep->k == JV_NONE) { // runs of whitespace, no empty pieces
        size_t i = 0, n = s.u.s.n;
        for (;;) {
            while (i < n) {
                size_t j = i;
                if (!jv_is_space(jv_utf8_next(p, n, &j))) break;
                i = j;
            }
            if (i >= n) break;
            size_t st = i;
            if (max >= 0 && (int64_t)r.u.l->n == max) { // the rest as it is, trailing spaces kept
                jv_push(c, r.u.l, jv_str(c, p + st, n - st));
                break;
            }
            while (i < n) {
                size_t j = i;
                if (jv_is_space(jv_utf8_next(p, n, &j))) break;
                i = j;
            }
            jv_push(c, r.u.l, jv_str(c, p + st, i - st));
        }
        return r;
    }
    need_str(c, *sep, "split: the separator", line);
    if (!sep->u.s.n) jinja_fail(c, line, "split: empty separator");
    for (;;) {
        const char *q = (max < 0 || (int64_t)r.u.l->n < max) ? find(p, (size_t)(end - p), sep->u.s.p, sep->u.s.n) : NULL;
        if (!q) {
            jv_push(c, r.u.l, jv_str(c, p, (size_t)(end - p)));
            return r;
        }
        jv_push(c, r.u.l, jv_str(c, p, (size_t)(q - p)));
        p = q + sep->u.s.n;
    }
}

static jval replace(jctx *c, jval s, jval old, jval new, int64_t count) {
    jbuf b = jb_new(c);
    const char *p = s.u.s.p, *end = p + s.u.s.n;
    int64_t done = 0;
    if (!old.u.s.n) { // Python inserts new around every character
        for (size_t i = 0; i <= s.u.s.n;) {
            if (count >= 0 && done >= count) {
                jb_add(c, &b, s.u.s.p + i, s.u.s.n - i);
                break;
            }
            jb_add(c, &b, new.u.s.p, new.u.s.n), done++;
            if (i == s.u.s.n) break;
            size_t st = i;
            jv_utf8_next(s.u.s.p, s.u.s.n, &i);
            jb_add(c, &b, s.u.s.p + st, i - st);
        }
    } else {
        for (;;) {
            const char *q = (count < 0 || done < count) ? find(p, (size_t)(end - p), old.u.s.p, old.u.s.n) : NULL;
            if (!q) break;
            jb_add(c, &b, p, (size_t)(q - p));
            jb_add(c, &b, new.u.s.p, new.u.s.n);
            p = q + old.u.s.n, done++;
        }
        jb_add(c, &b, p, (size_t)(end - p));
    }
    return jb_value(&b);
}

// upper / lower / capitalize by code point (utf8proc's simple case mapping; Python's full mapping
// differs for a few characters such as ß → SS).
static jval recase(jctx *c, jval s, int mode) {
    jbuf b = jb_new(c);
    bool first = true;
    for (size_t i = 0; i < s.u.s.n;) {
        uint32_t cp = jv_utf8_next(s.u.s.p, s.u.s.n, &i);
        int32_t m = mode == 'U' || (mode == 'C' && first) ? utf8proc_toupper((int32_t)cp) : utf8proc_tolower((int32_t)cp);
        first = false;
        utf8proc_uint8_t tmp[4];
        utf8proc_ssize_t k = utf8proc_encode_char(m, tmp);
        jb_add(c, &b, (const char *)tmp, (size_t)k);
    }
    return jb_value(&b);
}

static bool starts_or_ends(jctx *c, jval s, jval pre, bool ends, int line) {
    if (pre.k == JV_LIST && pre.tuple) {
        for (size_t i = 0; i < pre.u.l->n; i++)
            if (starts_or_ends(c, s, pre.u.l->v[i], ends, line)) return true;
        return false;
    }
    need_str(c, pre, ends ? "endswith" : "startswith", line);
    if (pre.u.s.n > s.u.s.n) return false;
    return !memcmp(s.u.s.p + (ends ? s.u.s.n - pre.u.s.n : 0), pre.u.s.p, pre.u.s.n);
}

static jval attr_path(jctx *c, jval v, jval attr, int line);

static jval join(jctx *c, jval seq, jval sep, jval *attr, int line) {
    jval items = jinja_iterate(c, seq, line);
    jbuf b = jb_new(c);
    for (size_t i = 0; i < items.u.l->n; i++) {
        if (i) jb_add(c, &b, sep.u.s.p, sep.u.s.n);
        jval v = items.u.l->v[i];
        if (attr) v = attr_path(c, v, *attr, line);
        jv_str_to(c, &b, v, line);
    }
    return jb_value(&b);
}

// ---- methods ----
jval jinja_method(jctx *c, const jnode *n, jval obj, jval *argv, const char **kw, int nargs) {
    jargs a = {argv, kw, nargs};
    const char *m = n->name;
    int line = n->line;
    if (obj.k == JV_UNDEF) jinja_fail(c, line, "an undefined value has no attribute '%s'", m);
    if (obj.k == JV_STR) {
        static const char *const none[] = {NULL}, *const sp[] = {"sep", "maxsplit", NULL},
                                 *const ch[] = {"chars", NULL};
        if (!strcmp(m, "split")) {
            check_args(c, &a, 2, sp, "split()", line);
            return split(c, obj, arg(&a, 0, "sep"), arg(&a, 1, "maxsplit"), line);
        }
        if (!strcmp(m, "strip") || !strcmp(m, "lstrip") || !strcmp(m, "rstrip")) {
            check_args(c, &a, 1, ch, m, line);
            jval *chars = arg(&a, 0, "chars");
            if (chars && chars->k != JV_NONE) need_str(c, *chars, m, line);
            return strip(c, obj, chars, m[0] != 'r', m[0] != 'l');
        }
        if (!strcmp(m, "startswith") || !strcmp(m, "endswith")) {
            check_args(c, &a, 1, none, m, line);
            if (a.n != 1) jinja_fail(c, line, "%s() takes one argument", m);
            return jv_bool(starts_or_ends(c, obj, argv[0], m[0] == 'e', line));
        }
        if (!strcmp(m, "replace")) {
            check_args(c, &a, 3, none, "replace()", line);
            if (a.n < 2) jinja_fail(c, line, "replace() takes at least 2 arguments");
            int64_t count = a.n > 2 && argv[2].k == JV_INT ? argv[2].u.i : -1;
            return replace(c, obj, need_str(c, argv[0], "replace", line), need_str(c, argv[1], "replace", line), count);
        }
        if (!strcmp(m, "upper") || !strcmp(m, "lower") || !strcmp(m, "capitalize")) {
            check_args(c, &a, 0, none, m, line);
            return recase(c, obj, m[0] == 'u' ? 'U' : m[0] == 'l' ? 'L' : 'C');
        }
        if (!strcmp(m, "join")) {
            check_args(c, &a, 1, none, "join()", line);
            if (a.n != 1) jinja_fail(c, line, "join() takes one argument");
            jval items = jinja_iterate(c, argv[0], line);
            for (size_t i = 0; i < items.u.l->n; i++)
                if (items.u.l->v[i].k != JV_STR) jinja_fail(c, line, "join(): sequence item %zu: expected str", i);
            return join(c, items, obj, NULL, line);
        }
    }
    if (obj.k == JV_DICT) {
        static const char *const none[] = {NULL};
        if (!strcmp(m, "get")) {
            check_args(c, &a, 2, none, "get()", line);
            if (a.n < 1) jinja_fail(c, line, "get() takes at least one argument");
            jval *v = argv[0].k == JV_STR ? jv_get(obj.u.d, argv[0].u.s.p, argv[0].u.s.n) : NULL;
            return v ? *v : a.n > 1 ? argv[1] : (jval){.k = JV_NONE};
        }
        if (!strcmp(m, "items") || !strcmp(m, "keys") || !strcmp(m, "values")) {
            check_args(c, &a, 0, none, m, line);
            jval r = jv_list(c);
            for (size_t i = 0; i < obj.u.d->n; i++) {
                jval k = jv_str(c, obj.u.d->key[i], obj.u.d->klen[i]);
                if (m[0] == 'k') jv_push(c, r.u.l, k);
                else if (m[0] == 'v') jv_push(c, r.u.l, obj.u.d->v[i]);
                else {
                    jval t = jv_list(c);
                    t.tuple = true;
                    jv_push(c, t.u.l, k);
                    jv_push(c, t.u.l, obj.u.d->v[i]);
                    jv_push(c, r.u.l, t);
                }
            }
            return r;
        }
    }
    jinja_fail(c, line, "'%s' object has no attribute '%s'", jv_type_name(obj), m);
}

// ---- tests ----
bool jinja_test(jctx *c, const jnode *n, jval v, jval *args, int nargs) {
    const char *t = n->name;
    int line = n->line;
    if (!strcmp(t, "defined")) return v.k != JV_UNDEF;
    if (!strcmp(t, "undefined")) return v.k == JV_UNDEF;
    if (!strcmp(t, "none")) return v.k == JV_NONE;
    if (!strcmp(t, "boolean")) return v.k == JV_BOOL;
    if (!strcmp(t, "false")) return v.k == JV_BOOL && !v.u.b;
    if (!strcmp(t, "true")) return v.k == JV_BOOL && v.u.b;
    if (!strcmp(t, "integer")) return v.k == JV_INT;
    if (!strcmp(t, "float")) return v.k == JV_FLOAT;
    if (!strcmp(t, "number")) return v.k == JV_INT || v.k == JV_FLOAT || v.k == JV_BOOL;
    if (!strcmp(t, "string")) return v.k == JV_STR;
    if (!strcmp(t, "mapping")) return v.k == JV_DICT;
    if (!strcmp(t, "iterable") || !strcmp(t, "sequence"))
        return v.k == JV_STR || v.k == JV_LIST || v.k == JV_DICT || v.k == JV_UNDEF;
    if (!strcmp(t, "callable")) return v.k == JV_MACRO;
    if (!strcmp(t, "lower") || !strcmp(t, "upper")) {
        if (v.k != JV_STR) return false;
        bool cased = false;
        for (size_t i = 0; i < v.u.s.n;) {
            int32_t cp = (int32_t)jv_utf8_next(v.u.s.p, v.u.s.n, &i);
            bool lo = utf8proc_toupper(cp) != cp, up = utf8proc_tolower(cp) != cp;
            if (t[0] == 'l' ? up : lo) return false;
            cased |= lo || up;
        }
        return cased;
    }
    if (nargs != 1) {
        if (!strcmp(t, "odd") || !strcmp(t, "even")) {
            if (v.k != JV_INT) jinja_fail(c, line, "'is %s' needs an integer, got %s", t, jv_type_name(v));
            return (v.u.i % 2 != 0) == (t[0] == 'o');
        }
        jinja_fail(c, line, "'is %s' takes one argument", t);
    }
    jval b = args[0];
    if (!strcmp(t, "sameas")) {
        if (v.k != b.k) return false;
        if (v.k == JV_NONE || v.k == JV_UNDEF) return true;
        if (v.k == JV_BOOL) return v.u.b == b.u.b;
        return jv_equal(v, b) && (v.k == JV_INT || memcmp(&v.u, &b.u, sizeof v.u) == 0);
    }
    if (!strcmp(t, "eq") || !strcmp(t, "equalto") || !strcmp(t, "==")) return jv_equal(v, b);
    if (!strcmp(t, "ne") || !strcmp(t, "!=")) return !jv_equal(v, b);
    if (!strcmp(t, "in")) {
        if (b.k == JV_STR) return v.k == JV_STR && find(b.u.s.p, b.u.s.n, v.u.s.p, v.u.s.n);
        jval items = jinja_iterate(c, b, line);
        for (size_t i = 0; i < items.u.l->n; i++)
            if (jv_equal(items.u.l->v[i], v)) return true;
        return false;
    }
    if (!strcmp(t, "divisibleby")) {
        if (v.k != JV_INT || b.k != JV_INT || b.u.i == 0) jinja_fail(c, line, "'is divisibleby' needs integers");
        return v.u.i % b.u.i == 0;
    }
    // lt / le / gt / ge: Python's ordering of numbers or strings
    bool nums = (v.k == JV_INT || v.k == JV_FLOAT) && (b.k == JV_INT || b.k == JV_FLOAT);
    int r;
    if (nums) {
        double x = v.k == JV_INT ? (double)v.u.i : v.u.f, y = b.k == JV_INT ? (double)b.u.i : b.u.f;
        r = x < y ? -1 : x > y;
    } else if (v.k == JV_STR && b.k == JV_STR) {
        size_t m = v.u.s.n < b.u.s.n ? v.u.s.n : b.u.s.n;
        r = memcmp(v.u.s.p, b.u.s.p, m);
        if (!r) r = (v.u.s.n > b.u.s.n) - (v.u.s.n < b.u.s.n);
    } else {
        jinja_fail(c, line, "'is %s' cannot compare %s and %s", t, jv_type_name(v), jv_type_name(b));
    }
    if (!strcmp(t, "lt") || !strcmp(t, "<") || !strcmp(t, "lessthan")) return r < 0;
    if (!strcmp(t, "le") || !strcmp(t, "<=")) return r <= 0;
    if (!strcmp(t, "gt") || !strcmp(t, ">") || !strcmp(t, "greaterthan")) return r > 0;
    return r >= 0;
}

// ---- filters ----

// jinja2's make_attrgetter: "a.b.0" walks down item by item (digits index lists).
static jval attr_path(jctx *c, jval v, jval attr, int line) {
    if (attr.k == JV_INT) return jinja_getitem(c, v, attr, line);
    need_str(c, attr, "attribute", line);
    const char *p = attr.u.s.p, *end = p + attr.u.s.n;
    while (p <= end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        if (!dot) dot = end;
        jval key = jv_str(c, p, (size_t)(dot - p));
        bool digits = dot > p;
        for (const char *q = p; q < dot; q++) digits &= *q >= '0' && *q <= '9';
        if (digits && dot - p < 18) key = jv_int(strtoll(key.u.s.p, NULL, 10));
        v = jinja_getitem(c, v, key, line);
        p = dot + 1;
    }
    return v;
}
static jval seq_select(jctx *c, const jnode *n, jval seq, jval *args, int nargs, bool by_attr, bool keep) {
    int line = n->line;
    jval items = jinja_iterate(c, seq, line), r = jv_list(c);
    int k = 0;
    jval attr = {.k = JV_UNDEF};
    if (by_attr) {
        if (nargs < 1) jinja_fail(c, line, "%s needs an attribute name", n->name);
        attr = need_str(c, args[k++], n->name, line);
    }
    const char *test = NULL;
    if (k < nargs) test = need_str(c, args[k++], n->name, line).u.s.p;
    if (test && !jinja_has_test(test)) jinja_fail(c, line, "%s: unsupported test '%s'", n->name, test);
    jnode tn = {.kind = JN_TEST, .line = line, .name = test};
    for (size_t i = 0; i < items.u.l->n; i++) {
        jval v = items.u.l->v[i];
        if (by_attr) v = attr_path(c, v, attr, line);
        bool ok = test ? jinja_test(c, &tn, v, args + k, nargs - k) : jv_truthy(v);
        if (ok == keep) jv_push(c, r.u.l, items.u.l->v[i]);
    }
    return r;
}

// The string v stripped of whitespace, as C text in tmp for strtoll / strtod; false when it is empty
// or longer than a number can be.
static bool number_text(jctx *c, jval v, char *tmp, size_t cap) {
    jval s = strip(c, v, NULL, true, true);
    if (!s.u.s.n || s.u.s.n >= cap) return false;
    memcpy(tmp, s.u.s.p, s.u.s.n);
    tmp[s.u.s.n] = '\0';
    return true;
}

static jval to_int(jctx *c, jval v, jval dflt, int base) {
    if (v.k == JV_INT) return v;
    if (v.k == JV_BOOL) return jv_int(v.u.b);
    if (v.k == JV_FLOAT) return isfinite(v.u.f) && fabs(v.u.f) < 9.2e18 ? jv_int((int64_t)v.u.f) : dflt;
    if (v.k == JV_STR) {
        char tmp[64];
        if (!number_text(c, v, tmp, sizeof tmp)) return dflt;
        char *end;
        errno = 0;
        long long i = strtoll(tmp, &end, base);
        if (!*end && !errno) return jv_int(i);
        if (base != 10) return dflt;
        double d = strtod(tmp, &end);
        if (!*end && isfinite(d) && fabs(d) < 9.2e18) return jv_int((int64_t)d);
    }
    return dflt;
}

static jval to_float(jctx *c, jval v, jval dflt) {
    if (v.k == JV_FLOAT) return v;
    if (v.k == JV_INT || v.k == JV_BOOL) return (jval){.k = JV_FLOAT, .u.f = v.k == JV_INT ? (double)v.u.i : v.u.b};
    if (v.k == JV_STR) {
        char tmp[64];
        if (!number_text(c, v, tmp, sizeof tmp)) return dflt;
        char *end;
        double d = strtod(tmp, &end);
        if (!*end) return (jval){.k = JV_FLOAT, .u.f = d};
    }
    return dflt;
}

static jval tojson(jctx *c, jval v, const jargs *a, int line) {
    static const char *const names[] = {"ensure_ascii", "indent", "separators", "sort_keys", NULL};
    check_args(c, a, 4, names, "tojson", line);
    jval *ascii = arg(a, 0, "ensure_ascii"), *indent = arg(a, 1, "indent"),
         *seps = arg(a, 2, "separators"), *sort = arg(a, 3, "sort_keys");
    if (sort && jv_truthy(*sort)) jinja_fail(c, line, "tojson(sort_keys=true) is not supported");
    int ind = -1;
    if (indent && indent->k != JV_NONE) {
        if (indent->k != JV_INT || indent->u.i < 0 || indent->u.i > 64)
            jinja_fail(c, line, "tojson: indent must be an integer in [0, 64]");
        ind = (int)indent->u.i;
    }
    const char *item = ind >= 0 ? "," : ", ", *key = ": ";
    if (seps && seps->k != JV_NONE) {
        if (seps->k != JV_LIST || seps->u.l->n != 2 || seps->u.l->v[0].k != JV_STR || seps->u.l->v[1].k != JV_STR)
            jinja_fail(c, line, "tojson: separators must be two strings");
        item = jarena_strndup(c->a, seps->u.l->v[0].u.s.p, seps->u.l->v[0].u.s.n);
        key = jarena_strndup(c->a, seps->u.l->v[1].u.s.p, seps->u.l->v[1].u.s.n);
    }
    jbuf b = jb_new(c);
    jv_json_to(c, &b, v, ascii && jv_truthy(*ascii), ind, item, key, 0, line);
    return jb_value(&b);
}

jval jinja_filter(jctx *c, const jnode *n, jval v, jval *argv, const char **kw, int nargs) {
    jargs a = {argv, kw, nargs};
    const char *f = n->name;
    int line = n->line;
    static const char *const none[] = {NULL};
    jval undef = {.k = JV_UNDEF};
    if (!strcmp(f, "length") || !strcmp(f, "count")) {
        check_args(c, &a, 0, none, f, line);
        if (v.k == JV_STR) return jv_int((int64_t)jv_utf8_count(v.u.s.p, v.u.s.n));
        if (v.k == JV_LIST) return jv_int((int64_t)v.u.l->n);
        if (v.k == JV_DICT) return jv_int((int64_t)v.u.d->n);
        if (v.k == JV_UNDEF) return jv_int(0);
        jinja_fail(c, line, "object of type '%s' has no len()", jv_type_name(v));
    }
    if (!strcmp(f, "trim")) {
        static const char *const ch[] = {"chars", NULL};
        check_args(c, &a, 1, ch, f, line);
        jval *chars = arg(&a, 0, "chars");
        if (chars && chars->k != JV_NONE) need_str(c, *chars, "trim", line);
        return strip(c, soft_str(c, v, line), chars, true, true);
    }
    if (!strcmp(f, "tojson")) return tojson(c, v, &a, line);
    if (!strcmp(f, "default") || !strcmp(f, "d")) {
        static const char *const names[] = {"default_value", "boolean", NULL};
        check_args(c, &a, 2, names, f, line);
        jval *dv = arg(&a, 0, "default_value"), *boolean = arg(&a, 1, "boolean");
        if (v.k == JV_UNDEF || (boolean && jv_truthy(*boolean) && !jv_truthy(v))) return dv ? *dv : jv_cstr("");
        return v;
    }
    if (!strcmp(f, "first") || !strcmp(f, "last")) {
        check_args(c, &a, 0, none, f, line);
        jval items = jinja_iterate(c, v, line);
        if (!items.u.l->n) return undef;
        return items.u.l->v[f[0] == 'f' ? 0 : items.u.l->n - 1];
    }
    if (!strcmp(f, "upper") || !strcmp(f, "lower") || !strcmp(f, "capitalize")) {
        check_args(c, &a, 0, none, f, line);
        return recase(c, soft_str(c, v, line), f[0] == 'u' ? 'U' : f[0] == 'l' ? 'L' : 'C');
    }
    if (!strcmp(f, "join")) {
        static const char *const names[] = {"d", "attribute", NULL};
        check_args(c, &a, 2, names, f, line);
        jval *sep = arg(&a, 0, "d");
        jval s = sep ? soft_str(c, *sep, line) : jv_cstr("");
        return join(c, v, s, arg(&a, 1, "attribute"), line);
    }
    if (!strcmp(f, "replace")) {
        static const char *const names[] = {"old", "new", "count", NULL};
        check_args(c, &a, 3, names, f, line);
        jval *old = arg(&a, 0, "old"), *new = arg(&a, 1, "new"), *cnt = arg(&a, 2, "count");
        if (!old || !new) jinja_fail(c, line, "replace needs old and new");
        return replace(c, soft_str(c, v, line), soft_str(c, *old, line), soft_str(c, *new, line),
                       cnt && cnt->k == JV_INT ? cnt->u.i : -1);
    }
    if (!strcmp(f, "string") || !strcmp(f, "safe")) {
        check_args(c, &a, 0, none, f, line);
        return soft_str(c, v, line);
    }
    if (!strcmp(f, "int")) {
        static const char *const names[] = {"default", "base", NULL};
        check_args(c, &a, 2, names, f, line);
        jval *d = arg(&a, 0, "default"), *base = arg(&a, 1, "base");
        if (base && (base->k != JV_INT || base->u.i < 2 || base->u.i > 36))
            jinja_fail(c, line, "int: base must be an integer in [2, 36]");
        return to_int(c, v, d ? *d : jv_int(0), base ? (int)base->u.i : 10);
    }
    if (!strcmp(f, "float")) {
        static const char *const names[] = {"default", NULL};
        check_args(c, &a, 1, names, f, line);
        jval *d = arg(&a, 0, "default");
        return to_float(c, v, d ? *d : (jval){.k = JV_FLOAT, .u.f = 0});
    }
    if (!strcmp(f, "list")) {
        check_args(c, &a, 0, none, f, line);
        jval items = jinja_iterate(c, v, line), r = jv_list(c);
        for (size_t i = 0; i < items.u.l->n; i++) jv_push(c, r.u.l, items.u.l->v[i]);
        return r;
    }
    if (!strcmp(f, "items")) {
        check_args(c, &a, 0, none, f, line);
        if (v.k == JV_UNDEF) return jv_list(c);
        if (v.k != JV_DICT) jinja_fail(c, line, "items: can only get item pairs from a mapping, not %s", jv_type_name(v));
        jnode m = {.kind = JN_ATTR, .line = line, .name = "items"};
        return jinja_method(c, &m, v, NULL, NULL, 0);
    }
    if (!strcmp(f, "selectattr") || !strcmp(f, "rejectattr") || !strcmp(f, "select") || !strcmp(f, "reject")) {
        if (kw)
            for (int i = 0; i < nargs; i++)
                if (kw[i]) jinja_fail(c, line, "%s takes no keyword arguments", f);
        return seq_select(c, n, v, argv, nargs, strstr(f, "attr") != NULL, f[0] == 's');
    }
    if (!strcmp(f, "map")) {
        jval items = jinja_iterate(c, v, line), r = jv_list(c);
        jval *attr = NULL, *dflt = NULL;
        for (int i = 0; i < nargs && kw; i++) {
            if (kw[i] && !strcmp(kw[i], "attribute")) attr = &argv[i];
            else if (kw[i] && !strcmp(kw[i], "default")) dflt = &argv[i];
            else if (kw[i]) jinja_fail(c, line, "map got an unexpected keyword argument '%s'", kw[i]);
        }
        if (attr) {
            for (size_t i = 0; i < items.u.l->n; i++) {
                jval x = attr_path(c, items.u.l->v[i], *attr, line);
                jv_push(c, r.u.l, x.k == JV_UNDEF && dflt ? *dflt : x);
            }
            return r;
        }
        if (nargs < 1 || argv[0].k != JV_STR) jinja_fail(c, line, "map needs attribute= or a filter name");
        const char *name = jarena_strndup(c->a, argv[0].u.s.p, argv[0].u.s.n);
        if (!jinja_has_filter(name) || !strcmp(name, "map")) jinja_fail(c, line, "map: unsupported filter '%s'", name);
        jnode fn = {.kind = JN_FILTER, .line = line, .name = name};
        for (size_t i = 0; i < items.u.l->n; i++)
            jv_push(c, r.u.l, jinja_filter(c, &fn, items.u.l->v[i], argv + 1, kw ? kw + 1 : NULL, nargs - 1));
        return r;
    }
    if (!strcmp(f, "reverse")) {
        check_args(c, &a, 0, none, f, line);
        if (v.k == JV_STR) {
            jval items = jinja_iterate(c, v, line);
            jbuf b = jb_new(c);
            for (size_t i = items.u.l->n; i-- > 0;) jb_add(c, &b, items.u.l->v[i].u.s.p, items.u.l->v[i].u.s.n);
            return jb_value(&b);
        }
        jval items = jinja_iterate(c, v, line), r = jv_list(c);
        for (size_t i = items.u.l->n; i-- > 0;) jv_push(c, r.u.l, items.u.l->v[i]);
        return r;
    }
    if (!strcmp(f, "abs")) {
        check_args(c, &a, 0, none, f, line);
        if (v.k == JV_INT) {
            if (v.u.i == INT64_MIN) jinja_fail(c, line, "integer overflow in abs");
            return jv_int(v.u.i < 0 ? -v.u.i : v.u.i);
        }
        if (v.k == JV_BOOL) return jv_int(v.u.b);
        if (v.k == JV_FLOAT) return (jval){.k = JV_FLOAT, .u.f = fabs(v.u.f)};
        jinja_fail(c, line, "bad operand type for abs(): '%s'", jv_type_name(v));
    }
    jinja_fail(c, line, "internal: filter '%s' has no implementation", f);
}

// ---- global functions ----
jval jinja_function(jctx *c, const jnode *n, jval *argv, const char **kw, int nargs) {
    const char *f = n->a->name;
    int line = n->line;
    if (!strcmp(f, "raise_exception")) {
        jval msg = nargs ? jv_to_str(c, argv[0], line) : jv_cstr("");
        jinja_fail(c, line, "raise_exception: %.*s", (int)msg.u.s.n, msg.u.s.p);
    }
    if (!strcmp(f, "namespace") || !strcmp(f, "dict")) {
        jval r = jv_dict(c);
        r.k = f[0] == 'n' ? JV_NS : JV_DICT;
        for (int i = 0; i < nargs; i++) {
            if (kw && kw[i]) {
                jv_set(c, r.u.d, kw[i], strlen(kw[i]), argv[i]);
            } else if (argv[i].k == JV_DICT) {
                for (size_t k = 0; k < argv[i].u.d->n; k++)
                    jv_set(c, r.u.d, argv[i].u.d->key[k], argv[i].u.d->klen[k], argv[i].u.d->v[k]);
            } else {
                jinja_fail(c, line, "%s() takes keyword arguments or a mapping", f);
            }
        }
        return r;
    }
    if (!strcmp(f, "range")) {
        int64_t x[3] = {0, 0, 1};
        if (nargs < 1 || nargs > 3 || kw) jinja_fail(c, line, "range() takes 1 to 3 positional arguments");
        for (int i = 0; i < nargs; i++) {
            if (argv[i].k != JV_INT && argv[i].k != JV_BOOL) jinja_fail(c, line, "range(): arguments must be integers");
            x[nargs == 1 ? 1 : i] = argv[i].k == JV_INT ? argv[i].u.i : argv[i].u.b;
        }
        if (x[2] == 0) jinja_fail(c, line, "range() arg 3 must not be zero");
        jval r = jv_list(c);
        for (int64_t i = x[0]; x[2] > 0 ? i < x[1] : i > x[1]; i += x[2]) {
            if (r.u.l->n >= 100000) jinja_fail(c, line, "range too big (more than 100000 items, as jinja2's sandbox)");
            jv_push(c, r.u.l, jv_int(i));
        }
        return r;
    }
    if (!strcmp(f, "strftime_now")) { // transformers: datetime.now().strftime(format)
        if (nargs != 1 || argv[0].k != JV_STR) jinja_fail(c, line, "strftime_now() takes one format string");
        char fmt[256], out[512];
        snprintf(fmt, sizeof fmt, "%.*s", (int)argv[0].u.s.n, argv[0].u.s.p);
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        size_t k = strftime(out, sizeof out, fmt, &tm);
        return jv_str(c, out, k);
    }
    jinja_fail(c, line, "'%s' is undefined", f);
}
