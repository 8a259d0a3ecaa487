// jinja_eval.c — rendering the tree: expressions with Python's operators and jinja2's undefined,
// statements with jinja2's scoping (a for loop's body and a macro are scopes of their own; if
// is not), output into one buffer.
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jinja_internal.h"

void jinja_errv(fx_err *err, const char *name, int line, const char *fmt, va_list ap) {
    char msg[800];
    vsnprintf(msg, sizeof msg, fmt, ap);
    fx_errf(err, "%s: line %d: %s", name, line, msg);
}

void jinja_fail(jctx *c, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    jinja_errv(c->err, c->t->name, line, fmt, ap);
    va_end(ap);
    longjmp(c->fail, 1);
}

// Output grows in the arena, so an error's longjmp leaves nothing to free but the arena.
static void out_add(jctx *c, const char *s, size_t n) {
    if (c->out.n + n > (256u << 20)) jinja_fail(c, 0, "the rendering grew past 256 MiB");
    jb_add(c, &c->out, s, n);
}

// ---- scopes ----
static jval *lookup(jscope *s, const char *name) {
    size_t n = strlen(name);
    for (; s; s = s->parent) {
        jval *v = jv_get(&s->vars, name, n);
        if (v) return v;
    }
    return NULL;
}

static void assign(jctx *c, jscope *s, const char *name, jval v) { jv_set(c, &s->vars, name, strlen(name), v); }

static jscope *scope_new(jctx *c, jscope *parent) {
    jscope *s = jarena_alloc(c->a, sizeof *s);
    s->parent = parent;
    return s;
}

// A frame's names that start undefined (jinja_parse.c, "frames").
static void declare_undefined(jctx *c, jscope *s, const char **names, int n) {
    for (int i = 0; i < n; i++) assign(c, s, names[i], (jval){.k = JV_UNDEF});
}

// ---- expressions ----
static jval eval(jctx *c, jscope *s, const jnode *n);

static bool is_num(jval v) { return v.k == JV_INT || v.k == JV_FLOAT || v.k == JV_BOOL; }
static double num(jval v) { return v.k == JV_FLOAT ? v.u.f : v.k == JV_INT ? (double)v.u.i : v.u.b; }
static int64_t inum(jval v) { return v.k == JV_INT ? v.u.i : v.u.b; }

FX_NORETURN static void type_error(jctx *c, int line, const char *op, jval a, jval b) {
    if (a.k == JV_UNDEF || b.k == JV_UNDEF)
        jinja_fail(c, line, "an undefined value used with '%s'", op);
    jinja_fail(c, line, "unsupported operand types for %s: '%s' and '%s'", op, jv_type_name(a), jv_type_name(b));
}

static jval concat(jctx *c, jval a, jval b) {
    jval r = {.k = JV_STR};
    char *p = jarena_alloc(c->a, a.u.s.n + b.u.s.n + 1);
    memcpy(p, a.u.s.p, a.u.s.n);
    memcpy(p + a.u.s.n, b.u.s.p, b.u.s.n);
    r.u.s.p = p, r.u.s.n = a.u.s.n + b.u.s.n;
    return r;
}

static jval list_concat(jctx *c, jval a, jval b) {
    jval r = jv_list(c);
    r.tuple = a.tuple;
    for (size_t i = 0; i < a.u.l->n; i++) jv_push(c, r.u.l, a.u.l->v[i]);
    for (size_t i = 0; i < b.u.l->n; i++) jv_push(c, r.u.l, b.u.l->v[i]);
    return r;
}

// s * k and list * k; results are capped (a template is not a way to fill the memory).
static jval repeat(jctx *c, jval seq, int64_t k, int line) {
    size_t unit = seq.k == JV_STR ? seq.u.s.n : seq.u.l->n * sizeof(jval);
    if (k > 0 && unit > 0 && (uint64_t)k > (64u << 20) / unit) jinja_fail(c, line, "'*' would make more than 64 MiB");
    if (seq.k == JV_STR) {
        size_t n = k > 0 ? (size_t)k * seq.u.s.n : 0;
        char *p = jarena_alloc(c->a, n + 1);
        for (size_t i = 0; i < n; i += seq.u.s.n) memcpy(p + i, seq.u.s.p, seq.u.s.n);
        jval r = {.k = JV_STR};
        r.u.s.p = p, r.u.s.n = n;
        return r;
    }
    jval r = jv_list(c);
    for (int64_t i = 0; i < k; i++)
        for (size_t j = 0; j < seq.u.l->n; j++) jv_push(c, r.u.l, seq.u.l->v[j]);
    return r;
}

static jval arith(jctx *c, int op, jval a, jval b, int line) {
    static const char *names[] = {"", "+", "-", "*", "/", "//", "%", "**"};
    if (op == JOP_ADD && a.k == JV_STR && b.k == JV_STR) return concat(c, a, b);
    if (op == JOP_ADD && a.k == JV_LIST && b.k == JV_LIST && a.tuple == b.tuple) return list_concat(c, a, b);
    if (op == JOP_MUL && (a.k == JV_STR || a.k == JV_LIST) && (b.k == JV_INT || b.k == JV_BOOL))
        return repeat(c, a, inum(b), line);
    if (op == JOP_MUL && (b.k == JV_STR || b.k == JV_LIST) && (a.k == JV_INT || a.k == JV_BOOL))
        return repeat(c, b, inum(a), line);
    if (!is_num(a) || !is_num(b)) type_error(c, line, names[op], a, b);
    bool ints = a.k != JV_FLOAT && b.k != JV_FLOAT;
    if (ints && op != JOP_DIV && !(op == JOP_POW && inum(b) < 0)) {
        int64_t x = inum(a), y = inum(b), r;
        switch (op) {
        case JOP_ADD: if (__builtin_add_overflow(x, y, &r)) goto overflow; return jv_int(r);
        case JOP_SUB: if (__builtin_sub_overflow(x, y, &r)) goto overflow; return jv_int(r);
        case JOP_MUL: if (__builtin_mul_overflow(x, y, &r)) goto overflow; return jv_int(r);
        case JOP_FLOORDIV: case JOP_MOD: {
            if (y == 0) jinja_fail(c, line, "integer division or modulo by zero");
            if (x == INT64_MIN && y == -1) goto overflow;
            int64_t q = x / y, m = x % y;
            if (m != 0 && ((m < 0) != (y < 0))) q--, m += y; // Python rounds toward minus infinity
            return jv_int(op == JOP_FLOORDIV ? q : m);
        }
        case JOP_POW:
            r = 1;
            for (int64_t i = 0; i < y; i++)
                if (__builtin_mul_overflow(r, x, &r)) goto overflow;
            return jv_int(r);
        }
    }
    double x = num(a), y = num(b);
    switch (op) {
    case JOP_ADD: return (jval){.k = JV_FLOAT, .u.f = x + y};
    case JOP_SUB: return (jval){.k = JV_FLOAT, .u.f = x - y};
    case JOP_MUL: return (jval){.k = JV_FLOAT, .u.f = x * y};
    case JOP_DIV:
        if (y == 0) jinja_fail(c, line, "division by zero");
        return (jval){.k = JV_FLOAT, .u.f = x / y};
    case JOP_FLOORDIV: case JOP_MOD: {
        if (y == 0) jinja_fail(c, line, "float division or modulo by zero");
        double m = fmod(x, y);
        if (m != 0 && ((m < 0) != (y < 0))) m += y;
        return (jval){.k = JV_FLOAT, .u.f = op == JOP_MOD ? m : floor((x - m) / y + 0.5)};
    }
    default: return (jval){.k = JV_FLOAT, .u.f = pow(x, y)};
    }
overflow:
    jinja_fail(c, line, "integer overflow in '%s'", names[op]);
}

static int compare(jctx *c, jval a, jval b, int line, const char *op) {
    if (is_num(a) && is_num(b)) {
        double x = num(a), y = num(b);
        return x < y ? -1 : x > y;
    }
    if (a.k == JV_STR && b.k == JV_STR) { // UTF-8 bytes order as code points do
        size_t n = a.u.s.n < b.u.s.n ? a.u.s.n : b.u.s.n;
        int r = memcmp(a.u.s.p, b.u.s.p, n);
        return r ? (r < 0 ? -1 : 1) : (a.u.s.n > b.u.s.n) - (a.u.s.n < b.u.s.n);
    }
    if (a.k == JV_LIST && b.k == JV_LIST) {
        for (size_t i = 0; i < a.u.l->n && i < b.u.l->n; i++)
            if (!jv_equal(a.u.l->v[i], b.u.l->v[i])) return compare(c, a.u.l->v[i], b.u.l->v[i], line, op);
        return (a.u.l->n > b.u.l->n) - (a.u.l->n < b.u.l->n);
    }
    jinja_fail(c, line, "'%s' not supported between instances of '%s' and '%s'", op, jv_type_name(a), jv_type_name(b));
}

static bool contains(jctx *c, jval hay, jval needle, int line) {
    if (hay.k == JV_STR) {
        if (needle.k != JV_STR) jinja_fail(c, line, "'in <string>' requires string as left operand, not %s", jv_type_name(needle));
        if (!needle.u.s.n) return true;
        for (size_t i = 0; i + needle.u.s.n <= hay.u.s.n; i++)
            if (!memcmp(hay.u.s.p + i, needle.u.s.p, needle.u.s.n)) return true;
        return false;
    }
    if (hay.k == JV_LIST) {
        for (size_t i = 0; i < hay.u.l->n; i++)
            if (jv_equal(hay.u.l->v[i], needle)) return true;
        return false;
    }
    if (hay.k == JV_DICT) return needle.k == JV_STR && jv_get(hay.u.d, needle.u.s.p, needle.u.s.n);
    if (hay.k == JV_UNDEF) return false;
    jinja_fail(c, line, "argument of type '%s' is not iterable", jv_type_name(hay));
}

static jval cmp_op(jctx *c, int op, jval a, jval b, int line) {
    switch (op) {
    case JOP_EQ: return jv_bool(jv_equal(a, b));
    case JOP_NE: return jv_bool(!jv_equal(a, b));
    case JOP_LT: return jv_bool(compare(c, a, b, line, "<") < 0);
    case JOP_LE: return jv_bool(compare(c, a, b, line, "<=") <= 0);
    case JOP_GT: return jv_bool(compare(c, a, b, line, ">") > 0);
    case JOP_GE: return jv_bool(compare(c, a, b, line, ">=") >= 0);
    case JOP_IN: return jv_bool(contains(c, b, a, line));
    default: return jv_bool(!contains(c, b, a, line));
    }
}

// Python's slice of a list or string (by code points), with negative and missing bounds.
static jval slice(jctx *c, jval v, jval *start, jval *stop, jval *step, int line) {
    if (v.k != JV_STR && v.k != JV_LIST) {
        if (v.k == JV_UNDEF) jinja_fail(c, line, "slice of an undefined value");
        jinja_fail(c, line, "'%s' object is not subscriptable", jv_type_name(v));
    }
    int64_t len = v.k == JV_STR ? (int64_t)jv_utf8_count(v.u.s.p, v.u.s.n) : (int64_t)v.u.l->n;
    int64_t st = step && step->k != JV_NONE ? inum(*step) : 1;
    if (step && step->k != JV_NONE && step->k != JV_INT && step->k != JV_BOOL) jinja_fail(c, line, "slice step must be an integer");
    if (st == 0) jinja_fail(c, line, "slice step cannot be zero");
    int64_t lo, hi;
    jval *bounds[2] = {start, stop};
    int64_t out[2];
    for (int k = 0; k < 2; k++) {
        jval *b = bounds[k];
        if (!b || b->k == JV_NONE) {
            out[k] = k == 0 ? (st > 0 ? 0 : len - 1) : (st > 0 ? len : -1 - len);
            if (k == 1 && st < 0) out[k] = -1;
            continue;
        }
        if (b->k != JV_INT && b->k != JV_BOOL) jinja_fail(c, line, "slice indices must be integers or None");
        int64_t x = inum(*b);
        if (x < 0) x += len;
        if (st > 0) x = x < 0 ? 0 : x > len ? len : x;
        else x = x < -1 ? -1 : x > len - 1 ? len - 1 : x;
        out[k] = x;
    }
    lo = out[0], hi = out[1];
    jval r;
    if (v.k == JV_LIST) {
        r = jv_list(c);
        r.tuple = v.tuple;
        for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st) jv_push(c, r.u.l, v.u.l->v[i]);
        return r;
    }
    // strings: index the code points once
    size_t *off = jarena_alloc(c->a, (size_t)(len + 1) * sizeof *off);
    size_t bi = 0;
    for (int64_t i = 0; i < len; i++) off[i] = bi, jv_utf8_next(v.u.s.p, v.u.s.n, &bi);
    off[len] = v.u.s.n;
    jbuf b = jb_new(c);
    for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st) jb_add(c, &b, v.u.s.p + off[i], off[i + 1] - off[i]);
    return jb_value(&b);
}

jval jinja_getitem(jctx *c, jval obj, jval key, int line) {
    jval undef = {.k = JV_UNDEF};
    if (obj.k == JV_UNDEF) jinja_fail(c, line, "an undefined value has no item (it was indexed)");
    if (obj.k == JV_DICT || obj.k == JV_NS) {
        if (key.k != JV_STR) return undef;
        jval *v = jv_get(obj.u.d, key.u.s.p, key.u.s.n);
        return v ? *v : undef;
    }
    if ((obj.k == JV_LIST || obj.k == JV_STR) && (key.k == JV_INT || key.k == JV_BOOL)) {
        int64_t len = obj.k == JV_STR ? (int64_t)jv_utf8_count(obj.u.s.p, obj.u.s.n) : (int64_t)obj.u.l->n;
        int64_t i = inum(key);
        if (i < 0) i += len;
        if (i < 0 || i >= len) return undef;
        if (obj.k == JV_LIST) return obj.u.l->v[i];
        size_t at = jv_utf8_offset(obj.u.s.p, obj.u.s.n, (size_t)i), end = at;
        jv_utf8_next(obj.u.s.p, obj.u.s.n, &end);
        return jv_str(c, obj.u.s.p + at, end - at);
    }
    if (key.k == JV_STR) return jinja_getattr(c, obj, jarena_strndup(c->a, key.u.s.p, key.u.s.n), line);
    return undef;
}

jval jinja_getattr(jctx *c, jval obj, const char *name, int line) {
    if (obj.k == JV_UNDEF) jinja_fail(c, line, "an undefined value has no attribute '%s'", name);
    if (obj.k == JV_DICT || obj.k == JV_NS) {
        jval *v = jv_get(obj.u.d, name, strlen(name));
        if (v) return *v;
    }
    return (jval){.k = JV_UNDEF};
}

jval jinja_iterate(jctx *c, jval v, int line) {
    if (v.k == JV_LIST) return v;
    jval r = jv_list(c);
    if (v.k == JV_UNDEF) return r;
    if (v.k == JV_DICT) {
        for (size_t i = 0; i < v.u.d->n; i++) jv_push(c, r.u.l, jv_str(c, v.u.d->key[i], v.u.d->klen[i]));
        return r;
    }
    if (v.k == JV_STR) {
        for (size_t i = 0; i < v.u.s.n;) {
            size_t st = i;
            jv_utf8_next(v.u.s.p, v.u.s.n, &i);
            jv_push(c, r.u.l, jv_str(c, v.u.s.p + st, i - st));
        }
        return r;
    }
    jinja_fail(c, line, "'%s' object is not iterable", jv_type_name(v));
}

static void render_body(jctx *c, jscope *s, const jnodes *body);

// A macro call: arguments bound by position, then by keyword, then defaults, in a scope of its
// own over the template's top level; the body renders into a string of its own.
static jval call_macro(jctx *c, const jnode *m, jval *args, const char **kw, int nargs, int line) {
    if (++c->depth > 64) jinja_fail(c, line, "macros nested more than 64 deep");
    jscope *ms = scope_new(c, c->top);
    int npos = 0;
    for (int i = 0; i < nargs; i++) npos += !kw || !kw[i];
    if (npos > m->ntargets) jinja_fail(c, line, "macro '%s' takes not more than %d argument(s)", m->name, m->ntargets);
    for (int k = 0; k < nargs && kw; k++) {
        if (!kw[k]) continue;
        bool known = false;
        for (int i = 0; i < m->ntargets; i++) known |= !strcmp(kw[k], m->targets[i]);
        if (!known) jinja_fail(c, line, "macro '%s' takes no keyword argument '%s'", m->name, kw[k]);
    }
    for (int i = 0; i < m->ntargets; i++) {
        jval v = {.k = JV_UNDEF};
        bool set = i < npos;
        if (set) v = args[i];
        for (int k = 0; k < nargs && kw; k++)
            if (kw[k] && !strcmp(kw[k], m->targets[i])) {
                if (set) jinja_fail(c, line, "macro '%s' got multiple values for argument '%s'", m->name, m->targets[i]);
                v = args[k], set = true;
            }
        if (!set && m->defaults.v[i]) v = eval(c, ms, m->defaults.v[i]);
        assign(c, ms, m->targets[i], v);
    }
    declare_undefined(c, ms, m->frame, m->nframe);
    jbuf saved = c->out;
    c->out = jb_new(c);
    render_body(c, ms, &m->body);
    jval r = jb_value(&c->out);
    c->out = saved;
    c->depth--;
    return r;
}

static jval eval_call(jctx *c, jscope *s, const jnode *n) {
    int na = n->args.n;
    jval *args = jarena_alloc(c->a, (size_t)(na ? na : 1) * sizeof *args);
    const jnode *callee = n->a;
    jval obj = {.k = JV_UNDEF};
    if (callee->kind == JN_ATTR) obj = eval(c, s, callee->a);
    for (int i = 0; i < na; i++) args[i] = eval(c, s, n->args.v[i]);
    if (callee->kind == JN_ATTR) return jinja_method(c, callee, obj, args, n->kw, na);
    jval *m = lookup(s, callee->name);
    if (m && m->k == JV_MACRO) return call_macro(c, m->u.macro, args, n->kw, na, n->line);
    if (m && m->k != JV_UNDEF) jinja_fail(c, n->line, "'%s' is not callable", callee->name);
    return jinja_function(c, n, args, n->kw, na);
}

static jval eval(jctx *c, jscope *s, const jnode *n) {
    switch (n->kind) {
    case JN_LIT: return n->lit;
    case JN_NAME: {
        jval *v = lookup(s, n->name);
        return v ? *v : (jval){.k = JV_UNDEF};
    }
    case JN_ATTR: return jinja_getattr(c, eval(c, s, n->a), n->name, n->line);
    case JN_INDEX: {
        jval obj = eval(c, s, n->a);
        return jinja_getitem(c, obj, eval(c, s, n->b), n->line);
    }
    case JN_SLICE: {
        jval obj = eval(c, s, n->a), b[3], *p[3] = {NULL, NULL, NULL};
        const jnode *parts[3] = {n->b, n->c, n->d};
        for (int k = 0; k < 3; k++)
            if (parts[k]) b[k] = eval(c, s, parts[k]), p[k] = &b[k];
        return slice(c, obj, p[0], p[1], p[2], n->line);
    }
    case JN_CALL: return eval_call(c, s, n);
    case JN_FILTER: {
        jval v = eval(c, s, n->a);
        int na = n->args.n;
        jval *args = jarena_alloc(c->a, (size_t)(na ? na : 1) * sizeof *args);
        for (int i = 0; i < na; i++) args[i] = eval(c, s, n->args.v[i]);
        return jinja_filter(c, n, v, args, n->kw, na);
    }
    case JN_TEST: {
        jval v = eval(c, s, n->a);
        int na = n->args.n;
        jval *args = jarena_alloc(c->a, (size_t)(na ? na : 1) * sizeof *args);
        for (int i = 0; i < na; i++) args[i] = eval(c, s, n->args.v[i]);
        bool r = jinja_test(c, n, v, args, na);
        return jv_bool(n->op ? !r : r);
    }
    case JN_NEG: case JN_POS: {
        jval v = eval(c, s, n->a);
        if (!is_num(v)) jinja_fail(c, n->line, "bad operand type for unary %c: '%s'", n->kind == JN_NEG ? '-' : '+', jv_type_name(v));
        if (n->kind == JN_POS) return v.k == JV_BOOL ? jv_int(v.u.b) : v;
        if (v.k == JV_FLOAT) return (jval){.k = JV_FLOAT, .u.f = -v.u.f};
        if (inum(v) == INT64_MIN) jinja_fail(c, n->line, "integer overflow in unary -");
        return jv_int(-inum(v));
    }
    case JN_NOT: return jv_bool(!jv_truthy(eval(c, s, n->a)));
    case JN_AND: {
        jval a = eval(c, s, n->a);
        return jv_truthy(a) ? eval(c, s, n->b) : a;
    }
    case JN_OR: {
        jval a = eval(c, s, n->a);
        return jv_truthy(a) ? a : eval(c, s, n->b);
    }
    case JN_BINOP: {
        jval a = eval(c, s, n->a), b = eval(c, s, n->b);
        if (n->op == JOP_CONCAT) return concat(c, jv_to_str(c, a, n->line), jv_to_str(c, b, n->line));
        return arith(c, n->op, a, b, n->line);
    }
    case JN_CMP: {
        jval a = eval(c, s, n->a), b = eval(c, s, n->b);
        return cmp_op(c, n->op, a, b, n->line);
    }
    case JN_COND:
        if (jv_truthy(eval(c, s, n->a))) return eval(c, s, n->b);
        return n->c ? eval(c, s, n->c) : (jval){.k = JV_UNDEF};
    case JN_LIST: case JN_TUPLE: {
        jval r = jv_list(c);
        r.tuple = n->kind == JN_TUPLE;
        for (int i = 0; i < n->args.n; i++) jv_push(c, r.u.l, eval(c, s, n->args.v[i]));
        return r;
    }
    case JN_DICT: {
        jval r = jv_dict(c);
        for (int i = 0; i + 1 < n->args.n; i += 2) {
            jval k = eval(c, s, n->args.v[i]);
            if (k.k != JV_STR) jinja_fail(c, n->line, "dict keys must be strings here, got %s", jv_type_name(k));
            jv_set(c, r.u.d, k.u.s.p, k.u.s.n, eval(c, s, n->args.v[i + 1]));
        }
        return r;
    }
    default: jinja_fail(c, n->line, "internal: not an expression");
    }
}

// ---- statements ----

static void unpack(jctx *c, jscope *s, const jnode *n, jval v) {
    if (n->ntargets == 1) { assign(c, s, n->targets[0], v); return; }
    if (v.k != JV_LIST) jinja_fail(c, n->line, "cannot unpack a %s into %d names", jv_type_name(v), n->ntargets);
    if (v.u.l->n != (size_t)n->ntargets)
        jinja_fail(c, n->line, "cannot unpack %zu values into %d names", v.u.l->n, n->ntargets);
    for (int i = 0; i < n->ntargets; i++) assign(c, s, n->targets[i], v.u.l->v[i]);
}

// The loop variable, one per loop, updated in place for item i.
static void loop_update(jctx *c, jval l, jval items, size_t i) {
    size_t len = items.u.l->n;
    jval undef = {.k = JV_UNDEF};
    jv_set(c, l.u.d, "index", 5, jv_int((int64_t)i + 1));
    jv_set(c, l.u.d, "index0", 6, jv_int((int64_t)i));
    jv_set(c, l.u.d, "revindex", 8, jv_int((int64_t)(len - i)));
    jv_set(c, l.u.d, "revindex0", 9, jv_int((int64_t)(len - i - 1)));
    jv_set(c, l.u.d, "first", 5, jv_bool(i == 0));
    jv_set(c, l.u.d, "last", 4, jv_bool(i + 1 == len));
    jv_set(c, l.u.d, "length", 6, jv_int((int64_t)len));
    jv_set(c, l.u.d, "depth", 5, jv_int(1));
    jv_set(c, l.u.d, "depth0", 6, jv_int(0));
    jv_set(c, l.u.d, "previtem", 8, i > 0 ? items.u.l->v[i - 1] : undef);
    jv_set(c, l.u.d, "nextitem", 8, i + 1 < len ? items.u.l->v[i + 1] : undef);
}

// Bounds on a render, so that no template hangs or fills the memory: statements run, loop items
// walked or tested, and the arena's size.
static void count_step(jctx *c, int line) {
    if (++c->steps > 10000000) jinja_fail(c, line, "the template ran more than 10,000,000 steps");
    if (c->arena.total > (512u << 20)) jinja_fail(c, line, "the render needed more than 512 MiB");
}

// Each item gets a fresh body scope (jinja2's: what the body sets is gone at the next item);
// the scope's table is reused, so an empty iteration allocates nothing.
static void render_for(jctx *c, jscope *s, const jnode *n) {
    jval all = jinja_iterate(c, eval(c, s, n->a), n->line);
    jval items = all;
    jscope *b = scope_new(c, s);
    if (n->b) { // for x in xs if cond: the loop sees only the items that pass
        items = jv_list(c);
        for (size_t i = 0; i < all.u.l->n; i++) {
            count_step(c, n->line);
            b->vars.n = 0;
            declare_undefined(c, b, n->frame, n->nframe);
            unpack(c, b, n, all.u.l->v[i]);
            if (jv_truthy(eval(c, b, n->b))) jv_push(c, items.u.l, all.u.l->v[i]);
        }
    }
    jval loop = jv_dict(c);
    for (size_t i = 0; i < items.u.l->n; i++) {
        count_step(c, n->line);
        b->vars.n = 0;
        declare_undefined(c, b, n->frame, n->nframe);
        unpack(c, b, n, items.u.l->v[i]);
        loop_update(c, loop, items, i);
        assign(c, b, "loop", loop);
        render_body(c, b, &n->body);
        if (c->flow == JFLOW_BREAK) {
            c->flow = JFLOW_NONE;
            break;
        }
        c->flow = JFLOW_NONE;
    }
    if (items.u.l->n == 0) { // the else is a frame of its own too
        jscope *e = scope_new(c, s);
        declare_undefined(c, e, n->frame2, n->nframe2);
        render_body(c, e, &n->orelse);
    }
}

static void render_node(jctx *c, jscope *s, const jnode *n) {
    count_step(c, n->line);
    switch (n->kind) {
    case JN_TEXT: { out_add(c, n->lit.u.s.p, n->lit.u.s.n); return; }
    case JN_OUTPUT: {
        jval v = jv_to_str(c, eval(c, s, n->a), n->line);
        { out_add(c, v.u.s.p, v.u.s.n); return; }
    }
    case JN_IF:
        { render_body(c, s, jv_truthy(eval(c, s, n->a)) ? &n->body : &n->orelse); return; }
    case JN_FOR: { render_for(c, s, n); return; }
    case JN_SET: {
        jval v = eval(c, s, n->a);
        { unpack(c, s, n, v); return; }
    }
    case JN_SET_ATTR: {
        jval *ns = lookup(s, n->name);
        if (!ns || ns->k != JV_NS)
            jinja_fail(c, n->line, "cannot assign attribute on non-namespace object '%s'", n->name);
        jval v = eval(c, s, n->a);
        { jv_set(c, ns->u.d, n->attr, strlen(n->attr), v); return; }
    }
    case JN_SET_BLOCK: {
        jbuf saved = c->out;
        c->out = jb_new(c);
        jscope *b = scope_new(c, s); // what the body sets stays in it
        declare_undefined(c, b, n->frame, n->nframe);
        render_body(c, b, &n->body);
        jval v = jb_value(&c->out);
        c->out = saved;
        { assign(c, s, n->targets[0], v); return; }
    }
    case JN_MACRO: { assign(c, s, n->name, (jval){.k = JV_MACRO, .u.macro = n}); return; }
    case JN_BREAK: c->flow = JFLOW_BREAK; return;
    case JN_CONTINUE: c->flow = JFLOW_CONTINUE; return;
    case JN_BLOCK: { // transformers' generation block: a call block, so a frame of its own
        jscope *b = scope_new(c, s);
        declare_undefined(c, b, n->frame, n->nframe);
        render_body(c, b, &n->body);
        return;
    }
    default: jinja_fail(c, n->line, "internal: not a statement");
    }
}

static void render_body(jctx *c, jscope *s, const jnodes *body) {
    for (int i = 0; i < body->n && c->flow == JFLOW_NONE; i++) render_node(c, s, body->v[i]);
}

char *jinja_render(const jinja_template *t, const cJSON *vars, fx_err *err) {
    // On the heap: what an error's longjmp finds must not live in this frame's registers.
    jctx *c = fx_calloc(1, sizeof *c);
    c->a = &c->arena, c->t = t, c->err = err;
    if (setjmp(c->fail)) {
        jarena_free(&c->arena);
        free(c);
        return NULL;
    }
    jscope *root = scope_new(c, NULL);
    const cJSON *e;
    if (cJSON_IsObject(vars))
        cJSON_ArrayForEach(e, vars) assign(c, root, e->string, jv_from_json(c, e));
    c->top = scope_new(c, root); // the template's own assignments shadow the variables
    declare_undefined(c, c->top, t->frame, t->nframe);
    c->out = jb_new(c);
    render_body(c, c->top, &t->body);
    char *out = fx_malloc(c->out.n + 1);
    memcpy(out, c->out.p, c->out.n + 1);
    jarena_free(&c->arena);
    free(c);
    return out;
}
