// jinja_parse.c — template text → tokens → tree, as jinja2's lexer and parser do it with
// trim_blocks and lstrip_blocks. Whatever the renderer does not implement (a tag, filter, test,
// method or function) is refused here with its name and line.
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jinja_internal.h"

// ---- arena ----
struct jarena_block {
    jarena_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void *jarena_alloc(jarena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    jarena_block *b = a->head;
    if (!b || b->used + n > b->cap) {
        size_t cap = n > 65536 ? n : 65536;
        b = fx_malloc(sizeof *b + cap);
        b->used = 0, b->cap = cap, b->next = a->head;
        a->head = b;
        a->total += cap;
    }
    void *p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *jarena_strndup(jarena *a, const char *s, size_t n) {
    char *p = jarena_alloc(a, n + 1);
    memcpy(p, s, n);
    return p;
}

void jarena_free(jarena *a) {
    for (jarena_block *b = a->head, *next; b; b = next) next = b->next, free(b);
    a->head = NULL, a->total = 0;
}

// ---- tokens ----
enum { T_EOF, T_TEXT, T_VAR_BEGIN, T_VAR_END, T_BLOCK_BEGIN, T_BLOCK_END, T_NAME, T_STR, T_INT, T_FLOAT, T_OP };

typedef struct {
    int type, line;
    const char *p; // T_TEXT, T_NAME, T_OP: the text; T_STR: the decoded string
    size_t n;
    int64_t i;
    double f;
} jtok;

typedef struct {
    jinja_template *t;
    fx_err *err;
    jmp_buf fail;
    const char *src;
    size_t len;
    jtok *tok;
    int ntok, cap, pos;
    const char **macros; // names of the macros the template defines: what a call may name
    int nmacros;
    jnode **calls; // calls of plain names, checked against the macros once all are known
    int ncalls, loop_depth;
    int depth; // nesting of expressions and tags: bounded, so no input can exhaust the stack
} jparser;

FX_NORETURN FX_PRINTF(3, 4) static void fail(jparser *p, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    jinja_errv(p->err, p->t->name, line, fmt, ap);
    va_end(ap);
    longjmp(p->fail, 1);
}

static jtok *emit(jparser *p, int type, int line, const char *s, size_t n) {
    if (p->ntok == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 256;
        p->tok = fx_realloc(p->tok, (size_t)p->cap * sizeof *p->tok);
    }
    jtok *t = &p->tok[p->ntok++];
    *t = (jtok){type, line, s, n, 0, 0};
    return t;
}

static bool is_ws(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v'; }
static bool is_name0(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_'; }
static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static int count_lines(const char *s, size_t n) {
    int k = 0;
    for (size_t i = 0; i < n; i++) k += s[i] == '\n';
    return k;
}

static void put_utf8(char *out, size_t *n, uint32_t cp) {
    if (cp < 0x80) out[(*n)++] = (char)cp;
    else if (cp < 0x800) out[(*n)++] = (char)(0xC0 | cp >> 6), out[(*n)++] = (char)(0x80 | (cp & 63));
    else if (cp < 0x10000)
        out[(*n)++] = (char)(0xE0 | cp >> 12), out[(*n)++] = (char)(0x80 | (cp >> 6 & 63)),
        out[(*n)++] = (char)(0x80 | (cp & 63));
    else
        out[(*n)++] = (char)(0xF0 | cp >> 18), out[(*n)++] = (char)(0x80 | (cp >> 12 & 63)),
        out[(*n)++] = (char)(0x80 | (cp >> 6 & 63)), out[(*n)++] = (char)(0x80 | (cp & 63));
}

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

// A string literal's escapes, as Python's unicode-escape codec reads them (jinja2 decodes literals
// so): \n \t \r \\ \' \" \a \b \f \v, octal, \xhh, \uhhhh, \Uhhhhhhhh, a backslash-newline
// vanishes, any other backslash stays.
static size_t unescape(jparser *p, int line, const char *s, size_t n, char *out) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 == n) {
            out[k++] = s[i];
            continue;
        }
        char e = s[++i];
        const char *simple = "n\nt\tr\r\\\\''\"\"a\ab\bf\fv\v";
        const char *m = NULL;
        for (const char *q = simple; *q; q += 2)
            if (*q == e) m = q;
        if (m) out[k++] = m[1];
        else if (e == '\n') continue;
        else if (e >= '0' && e <= '7') {
            int v = 0, d = 0;
            while (d < 3 && i < n && s[i] >= '0' && s[i] <= '7') v = v * 8 + (s[i++] - '0'), d++;
            i--;
            put_utf8(out, &k, (uint32_t)v);
        } else if (e == 'x' || e == 'u' || e == 'U') {
            int want = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            uint32_t v = 0;
            for (int d = 0; d < want; d++) {
                int h = i + 1 + (size_t)d < n ? hexval(s[i + 1 + (size_t)d]) : -1;
                if (h < 0) fail(p, line, "truncated \\%c escape in a string literal", e);
                v = v * 16 + (uint32_t)h;
            }
            if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) fail(p, line, "bad \\%c escape in a string literal", e);
            i += (size_t)want;
            put_utf8(out, &k, v);
        } else if (e == 'N') {
            fail(p, line, "\\N{...} escapes in string literals are not supported");
        } else {
            out[k++] = '\\', out[k++] = e;
        }
    }
    return k;
}

// The tokens of one tag's inside, up to its end ("}}" or "%}" with "-" or "+"), at bracket depth
// zero. Returns the position after the tag and sets *strip / *keep from its end marker.
static size_t lex_tag(jparser *p, size_t i, int *line, bool var, bool *strip, bool *keep) {
    const char *s = p->src;
    size_t n = p->len;
    int depth = 0;
    for (;;) {
        while (i < n && is_ws(s[i])) *line += s[i++] == '\n';
        if (i >= n) fail(p, *line, "unexpected end of template inside a %s", var ? "'{{ }}'" : "'{% %}' tag");
        const char *end = var ? "}}" : "%}";
        if (depth == 0) {
            if (strncmp(s + i, end, 2) == 0) return *strip = *keep = false, i + 2;
            if ((s[i] == '-' || (!var && s[i] == '+')) && strncmp(s + i + 1, end, 2) == 0)
                return *strip = s[i] == '-', *keep = s[i] == '+', i + 3;
        }
        if (is_name0(s[i])) {
            size_t j = i;
            while (j < n && (is_name0(s[j]) || is_digit(s[j]))) j++;
            emit(p, T_NAME, *line, s + i, j - i);
            i = j;
        } else if (is_digit(s[i])) {
            size_t j = i;
            bool flt = false;
            while (j < n && (is_digit(s[j]) || s[j] == '_')) j++;
            if (j + 1 < n && s[j] == '.' && is_digit(s[j + 1])) {
                flt = true, j++;
                while (j < n && (is_digit(s[j]) || s[j] == '_')) j++;
            }
            if (j < n && (s[j] == 'e' || s[j] == 'E')) {
                size_t k = j + 1;
                if (k < n && (s[k] == '+' || s[k] == '-')) k++;
                if (k < n && is_digit(s[k])) {
                    flt = true, j = k;
                    while (j < n && is_digit(s[j])) j++;
                }
            }
            char num[64];
            size_t m = 0;
            for (size_t k = i; k < j && m < sizeof num - 1; k++)
                if (s[k] != '_') num[m++] = s[k];
            num[m] = '\0';
            jtok *t = emit(p, flt ? T_FLOAT : T_INT, *line, s + i, j - i);
            if (flt) t->f = strtod(num, NULL);
            else {
                errno = 0;
                t->i = strtoll(num, NULL, 10);
                if (errno) fail(p, *line, "integer literal %s is out of range", num);
            }
            i = j;
        } else if (s[i] == '\'' || s[i] == '"') {
            char q = s[i];
            size_t j = i + 1;
            int l0 = *line;
            while (j < n && s[j] != q) {
                if (s[j] == '\\' && j + 1 < n) j++;
                *line += s[j] == '\n';
                j++;
            }
            if (j >= n) fail(p, l0, "unterminated string literal");
            char *out = jarena_alloc(&p->t->arena, j - i + 8);
            size_t k = unescape(p, l0, s + i + 1, j - i - 1, out);
            emit(p, T_STR, l0, out, k);
            i = j + 1;
        } else {
            static const char *ops[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">",
                                        "=", ".", ",", ":", "|", "(", ")", "[", "]", "{", "}"};
            size_t k = 0;
            while (k < sizeof ops / sizeof ops[0] && strncmp(s + i, ops[k], strlen(ops[k])) != 0) k++;
            if (k == sizeof ops / sizeof ops[0]) fail(p, *line, "unexpected character '%c'", s[i]);
            size_t m = strlen(ops[k]);
            if (strchr("([{", s[i])) depth++;
            if (strchr(")]}", s[i])) depth--;
            if (depth < 0) fail(p, *line, "unexpected '%c'", s[i]);
            emit(p, T_OP, *line, s + i, m);
            i += m;
        }
    }
}

static bool only_spaces(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!is_ws(s[i]) || s[i] == '\n') return false;
    return true;
}

// {% raw %}...{% endraw %}: the text between, as it is. Returns the position after the end tag.
static size_t lex_raw(jparser *p, size_t i, int *line) {
    const char *s = p->src;
    for (size_t j = i; j + 1 < p->len; j++) {
        if (s[j] != '{' || s[j + 1] != '%') continue;
        size_t k = j + 2;
        bool strip = s[k] == '-';
        if (s[k] == '-' || s[k] == '+') k++;
        while (k < p->len && is_ws(s[k])) k++;
        if (strncmp(s + k, "endraw", 6) != 0) continue;
        k += 6;
        while (k < p->len && is_ws(s[k])) k++;
        bool strip_after = s[k] == '-';
        if (s[k] == '-' || s[k] == '+') k++;
        if (strncmp(s + k, "%}", 2) != 0) continue;
        size_t e = j;
        if (strip) {
            while (e > i && is_ws(s[e - 1])) e--;
        } else if (s[j + 2] != '+') { // lstrip_blocks before {% endraw %}
            size_t l = j;
            while (l > i && s[l - 1] != '\n') l--;
            if ((l > i || i == 0 || s[i - 1] == '\n') && only_spaces(s + l, j - l)) e = l;
        }
        if (e > i) emit(p, T_TEXT, *line, s + i, e - i);
        *line += count_lines(s + i, k + 2 - i);
        k += 2;
        if (strip_after)
            while (k < p->len && is_ws(s[k])) *line += s[k++] == '\n';
        else if (k < p->len && s[k] == '\n') k++, (*line)++; // trim_blocks
        return k;
    }
    fail(p, *line, "missing {%% endraw %%}");
}

static void lex(jparser *p) {
    const char *s = p->src;
    size_t n = p->len, i = 0;
    int line = 1;
    while (i < n) {
        size_t j = i;
        while (j + 1 < n && !(s[j] == '{' && (s[j + 1] == '{' || s[j + 1] == '%' || s[j + 1] == '#'))) j++;
        if (j + 1 >= n) j = n;
        size_t tn = j - i; // the text before the tag
        if (j < n) {
            char kind = s[j + 1], mod = j + 2 < n ? s[j + 2] : 0;
            if (mod == '-')
                while (tn > 0 && is_ws(s[i + tn - 1])) tn--;
            else if (kind != '{' && mod != '+') { // lstrip_blocks
                size_t l = tn;
                while (l > 0 && s[i + l - 1] != '\n') l--;
                if ((l > 0 || i == 0 || s[i - 1] == '\n') && only_spaces(s + i + l, tn - l)) tn = l;
            }
        }
        if (tn) emit(p, T_TEXT, line, s + i, tn);
        line += count_lines(s + i, j - i);
        if (j >= n) break;
        char kind = s[j + 1];
        size_t k = j + 2;
        if (k < n && (s[k] == '-' || s[k] == '+')) k++;
        bool strip = false, keep = false;
        if (kind == '#') {
            const char *e = strstr(s + k, "#}");
            if (!e) fail(p, line, "unterminated comment");
            size_t ei = (size_t)(e - s);
            strip = ei > k && s[ei - 1] == '-';
            keep = ei > k && s[ei - 1] == '+';
            line += count_lines(s + j, ei - j);
            i = ei + 2;
        } else {
            if (kind == '%') { // {% raw %}
                size_t q = k;
                while (q < n && is_ws(s[q])) q++;
                if (strncmp(s + q, "raw", 3) == 0) {
                    size_t r = q + 3;
                    while (r < n && is_ws(s[r])) r++;
                    bool rs = s[r] == '-';
                    if (s[r] == '-' || s[r] == '+') r++;
                    if (strncmp(s + r, "%}", 2) == 0) {
                        r += 2;
                        if (rs) // no trim_blocks after {% raw %}, as in jinja2's lexer
                            while (r < n && is_ws(s[r])) line += s[r++] == '\n';
                        i = lex_raw(p, r, &line);
                        continue;
                    }
                }
            }
            emit(p, kind == '{' ? T_VAR_BEGIN : T_BLOCK_BEGIN, line, s + j, 2);
            i = lex_tag(p, k, &line, kind == '{', &strip, &keep);
            emit(p, kind == '{' ? T_VAR_END : T_BLOCK_END, line, s + i - 2, 2);
        }
        if (strip)
            while (i < n && is_ws(s[i])) line += s[i++] == '\n';
        else if (kind != '{' && !keep && i < n && s[i] == '\n') // trim_blocks
            i++, line++;
    }
    emit(p, T_EOF, line, "", 0);
}

// ---- parser ----
static jtok *cur(jparser *p) { return &p->tok[p->pos]; }
static bool is_op(jparser *p, const char *op) {
    jtok *t = cur(p);
    return t->type == T_OP && t->n == strlen(op) && memcmp(t->p, op, t->n) == 0;
}
static bool is_name(jparser *p, const char *name) {
    jtok *t = cur(p);
    return t->type == T_NAME && t->n == strlen(name) && memcmp(t->p, name, t->n) == 0;
}
static bool skip_op(jparser *p, const char *op) { return is_op(p, op) ? (p->pos++, true) : false; }
static bool skip_name(jparser *p, const char *name) { return is_name(p, name) ? (p->pos++, true) : false; }

static const char *tok_desc(jtok *t) {
    switch (t->type) {
    case T_EOF: return "end of template";
    case T_VAR_END: return "end of '{{ }}'";
    case T_BLOCK_END: return "end of tag";
    case T_STR: return "a string";
    case T_INT: case T_FLOAT: return "a number";
    default: return NULL;
    }
}

FX_NORETURN static void unexpected(jparser *p, const char *want) {
    jtok *t = cur(p);
    const char *d = tok_desc(t);
    if (d) fail(p, t->line, "expected %s, got %s", want, d);
    fail(p, t->line, "expected %s, got '%.*s'", want, (int)t->n, t->p);
}

static void expect_op(jparser *p, const char *op) {
    if (!skip_op(p, op)) {
        char w[16];
        snprintf(w, sizeof w, "'%s'", op);
        unexpected(p, w);
    }
}

static void expect_type(jparser *p, int type, const char *want) {
    if (cur(p)->type != type) unexpected(p, want);
    p->pos++;
}

static const char *name_of(jparser *p, jtok *t) { return jarena_strndup(&p->t->arena, t->p, t->n); }

static const char *expect_name(jparser *p, const char *want) {
    if (cur(p)->type != T_NAME) unexpected(p, want);
    return name_of(p, &p->tok[p->pos++]);
}

static jnode *node(jparser *p, jn_kind kind, int line) {
    jnode *n = jarena_alloc(&p->t->arena, sizeof *n);
    n->kind = kind, n->line = line;
    return n;
}

static void push(jparser *p, jnodes *l, jnode *n) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 4;
        jnode **v = jarena_alloc(&p->t->arena, (size_t)cap * sizeof *v);
        if (l->n) memcpy(v, l->v, (size_t)l->n * sizeof *v);
        l->v = v, l->cap = cap;
    }
    l->v[l->n++] = n;
}

static jnode *parse_expr(jparser *p, bool with_cond);
static jnode *parse_unary(jparser *p, bool with_filter);

static jnode *binop(jparser *p, int op, jnode *a, jnode *b, int line) {
    jnode *n = node(p, JN_BINOP, line);
    n->op = op, n->a = a, n->b = b;
    return n;
}

// ( args ): positional and keyword arguments into n->args / n->kw.
static void parse_call_args(jparser *p, jnode *n) {
    const char *kw[64];
    bool any_kw = false;
    expect_op(p, "(");
    while (!skip_op(p, ")")) {
        if (n->args.n && !skip_op(p, ",")) unexpected(p, "',' or ')'");
        if (skip_op(p, ")")) break;
        if (is_op(p, "*") || is_op(p, "**")) fail(p, cur(p)->line, "unsupported construct: *args / **kwargs in a call");
        const char *k = NULL;
        if (cur(p)->type == T_NAME && p->tok[p->pos + 1].type == T_OP && p->tok[p->pos + 1].n == 1 &&
            p->tok[p->pos + 1].p[0] == '=') {
            k = name_of(p, cur(p));
            p->pos += 2;
            any_kw = true;
        } else if (any_kw) {
            fail(p, cur(p)->line, "a positional argument follows a keyword argument");
        }
        if (n->args.n >= 64) fail(p, cur(p)->line, "too many arguments");
        kw[n->args.n] = k;
        push(p, &n->args, parse_expr(p, true));
    }
    if (any_kw) {
        n->kw = jarena_alloc(&p->t->arena, (size_t)n->args.n * sizeof *n->kw);
        memcpy(n->kw, kw, (size_t)n->args.n * sizeof *kw);
    }
}

static jnode *parse_primary(jparser *p) {
    jtok *t = cur(p);
    jnode *n;
    if (t->type == T_NAME) {
        p->pos++;
        const char *name = name_of(p, t);
        n = node(p, JN_LIT, t->line);
        if (!strcmp(name, "true") || !strcmp(name, "True")) n->lit = jv_bool(true);
        else if (!strcmp(name, "false") || !strcmp(name, "False")) n->lit = jv_bool(false);
        else if (!strcmp(name, "none") || !strcmp(name, "None")) n->lit.k = JV_NONE;
        else n->kind = JN_NAME, n->name = name;
        return n;
    }
    if (t->type == T_STR) {
        n = node(p, JN_LIT, t->line);
        size_t len = 0;
        for (int k = p->pos; p->tok[k].type == T_STR; k++) len += p->tok[k].n;
        char *s = jarena_alloc(&p->t->arena, len + 1);
        len = 0;
        while (cur(p)->type == T_STR) { // adjacent literals join, as in Python
            memcpy(s + len, cur(p)->p, cur(p)->n);
            len += cur(p)->n;
            p->pos++;
        }
        n->lit.k = JV_STR, n->lit.u.s.p = s, n->lit.u.s.n = len;
        return n;
    }
    if (t->type == T_INT || t->type == T_FLOAT) {
        p->pos++;
        n = node(p, JN_LIT, t->line);
        if (t->type == T_INT) n->lit = jv_int(t->i);
        else n->lit.k = JV_FLOAT, n->lit.u.f = t->f;
        return n;
    }
    if (skip_op(p, "(")) {
        if (skip_op(p, ")")) return node(p, JN_TUPLE, t->line);
        jnode *e = parse_expr(p, true);
        if (!is_op(p, ",")) {
            expect_op(p, ")");
            return e;
        }
        n = node(p, JN_TUPLE, t->line);
        push(p, &n->args, e);
        while (skip_op(p, ",") && !is_op(p, ")")) push(p, &n->args, parse_expr(p, true));
        expect_op(p, ")");
        return n;
    }
    if (skip_op(p, "[")) {
        n = node(p, JN_LIST, t->line);
        while (!skip_op(p, "]")) {
            if (n->args.n) expect_op(p, ",");
            if (skip_op(p, "]")) break;
            push(p, &n->args, parse_expr(p, true));
        }
        return n;
    }
    if (skip_op(p, "{")) {
        n = node(p, JN_DICT, t->line);
        while (!skip_op(p, "}")) {
            if (n->args.n) expect_op(p, ",");
            if (skip_op(p, "}")) break;
            push(p, &n->args, parse_expr(p, true));
            expect_op(p, ":");
            push(p, &n->args, parse_expr(p, true));
        }
        return n;
    }
    unexpected(p, "an expression");
}

static bool is_builtin_or_macro_call(jparser *p, const char *name) {
    if (jinja_has_function(name)) return true;
    for (int i = 0; i < p->nmacros; i++)
        if (!strcmp(p->macros[i], name)) return true;
    return false;
}

static jnode *parse_call(jparser *p, jnode *callee) {
    jnode *n = node(p, JN_CALL, cur(p)->line);
    n->a = callee;
    if (callee->kind == JN_ATTR) {
        if (!jinja_has_method(callee->name))
            fail(p, n->line, "unsupported method '.%s()' (see docs/tokenizer.md for what is implemented)", callee->name);
    } else if (callee->kind == JN_NAME) {
        if (p->ncalls % 64 == 0) p->calls = fx_realloc(p->calls, (size_t)(p->ncalls + 64) * sizeof *p->calls);
        p->calls[p->ncalls++] = n; // checked at the end: a macro may be defined further down
    } else {
        fail(p, n->line, "unsupported call: only macros, %s and methods of values can be called",
             "raise_exception(), namespace(), range(), dict(), strftime_now()");
    }
    parse_call_args(p, n);
    return n;
}

static jnode *parse_postfix(jparser *p, jnode *e) {
    for (;;) {
        int line = cur(p)->line;
        if (skip_op(p, ".")) {
            jtok *t = cur(p);
            if (t->type == T_INT) { // x.0 is x[0]
                p->pos++;
                jnode *n = node(p, JN_INDEX, line), *k = node(p, JN_LIT, line);
                k->lit = jv_int(t->i);
                n->a = e, n->b = k;
                e = n;
                continue;
            }
            jnode *n = node(p, JN_ATTR, line);
            n->a = e, n->name = expect_name(p, "an attribute name");
            if (e->kind == JN_NAME && !strcmp(e->name, "loop") && (!strcmp(n->name, "cycle") || !strcmp(n->name, "changed")))
                fail(p, line, "unsupported construct: loop.%s", n->name);
            e = n;
        } else if (skip_op(p, "[")) {
            jnode *start = NULL, *stop = NULL, *step = NULL;
            if (!is_op(p, ":")) start = parse_expr(p, true);
            if (skip_op(p, "]")) {
                jnode *n = node(p, JN_INDEX, line);
                n->a = e, n->b = start;
                e = n;
                continue;
            }
            expect_op(p, ":");
            if (!is_op(p, "]") && !is_op(p, ":")) stop = parse_expr(p, true);
            if (skip_op(p, ":") && !is_op(p, "]")) step = parse_expr(p, true);
            expect_op(p, "]");
            jnode *n = node(p, JN_SLICE, line);
            n->a = e, n->b = start, n->c = stop, n->d = step;
            e = n;
        } else if (is_op(p, "(")) {
            e = parse_call(p, e);
        } else {
            return e;
        }
    }
}

static jnode *parse_filter_expr(jparser *p, jnode *e) {
    for (;;) {
        int line = cur(p)->line;
        if (skip_op(p, "|")) {
            jnode *n = node(p, JN_FILTER, line);
            n->a = e, n->name = expect_name(p, "a filter name");
            if (!jinja_has_filter(n->name))
                fail(p, line, "unsupported filter '%s' (see docs/tokenizer.md for what is implemented)", n->name);
            if (is_op(p, "(")) parse_call_args(p, n);
            e = n;
        } else if (skip_name(p, "is")) {
            jnode *n = node(p, JN_TEST, line);
            n->op = skip_name(p, "not");
            n->a = e;
            jtok *t = cur(p);
            if (t->type == T_NAME) n->name = name_of(p, t), p->pos++;
            else if (is_op(p, "==") || is_op(p, "!=") || is_op(p, "<") || is_op(p, ">") || is_op(p, "<=") || is_op(p, ">="))
                n->name = name_of(p, t), p->pos++;
            else unexpected(p, "a test name");
            if (!jinja_has_test(n->name))
                fail(p, line, "unsupported test 'is %s' (see docs/tokenizer.md for what is implemented)", n->name);
            t = cur(p);
            if (is_op(p, "(")) parse_call_args(p, n);
            else if ((t->type == T_NAME || t->type == T_STR || t->type == T_INT || t->type == T_FLOAT || is_op(p, "[") ||
                      is_op(p, "{")) &&
                     !is_name(p, "else") && !is_name(p, "or") && !is_name(p, "and")) {
                if (is_name(p, "is")) fail(p, t->line, "tests cannot be chained with 'is'");
                push(p, &n->args, parse_postfix(p, parse_primary(p)));
            }
            e = n;
        } else if (is_op(p, "(")) {
            fail(p, line, "unsupported call of a filter's or test's result");
        } else {
            return e;
        }
    }
}

static jnode *parse_unary(jparser *p, bool with_filter) {
    int line = cur(p)->line;
    if (++p->depth > 200) fail(p, line, "expressions or tags nested more than 200 deep");
    jnode *e;
    if (skip_op(p, "-")) e = node(p, JN_NEG, line), e->a = parse_unary(p, false);
    else if (skip_op(p, "+")) e = node(p, JN_POS, line), e->a = parse_unary(p, false);
    else e = parse_postfix(p, parse_primary(p));
    if (with_filter) e = parse_filter_expr(p, e);
    p->depth--;
    return e;
}

static jnode *parse_pow(jparser *p) {
    jnode *e = parse_unary(p, true);
    while (is_op(p, "**")) {
        int line = cur(p)->line;
        p->pos++;
        e = binop(p, JOP_POW, e, parse_unary(p, true), line);
    }
    return e;
}

static jnode *parse_math2(jparser *p) {
    jnode *e = parse_pow(p);
    for (;;) {
        int line = cur(p)->line, op = skip_op(p, "*") ? JOP_MUL : skip_op(p, "//") ? JOP_FLOORDIV
                                      : skip_op(p, "/") ? JOP_DIV : skip_op(p, "%") ? JOP_MOD : 0;
        if (!op) return e;
        if (op == JOP_MOD && e->kind == JN_LIT && e->lit.k == JV_STR)
            fail(p, line, "unsupported construct: printf-style formatting ('...' %% value)");
        e = binop(p, op, e, parse_pow(p), line);
    }
}

static jnode *parse_concat(jparser *p) {
    jnode *e = parse_math2(p);
    while (is_op(p, "~")) {
        int line = cur(p)->line;
        p->pos++;
        e = binop(p, JOP_CONCAT, e, parse_math2(p), line);
    }
    return e;
}

static jnode *parse_math1(jparser *p) {
    jnode *e = parse_concat(p);
    for (;;) {
        int line = cur(p)->line, op = skip_op(p, "+") ? JOP_ADD : skip_op(p, "-") ? JOP_SUB : 0;
        if (!op) return e;
        e = binop(p, op, e, parse_concat(p), line);
    }
}

// a < b < c is (a < b) and (b < c), as in Python (b is evaluated twice: expressions are pure).
static jnode *parse_compare(jparser *p) {
    jnode *e = parse_math1(p), *chain = NULL, *left = e;
    for (;;) {
        int line = cur(p)->line, op = 0;
        static const char *ops[] = {"==", "!=", "<", "<=", ">", ">="};
        static const int codes[] = {JOP_EQ, JOP_NE, JOP_LT, JOP_LE, JOP_GT, JOP_GE};
        for (int k = 0; k < 6 && !op; k++)
            if (skip_op(p, ops[k])) op = codes[k];
        if (!op && skip_name(p, "in")) op = JOP_IN;
        if (!op && is_name(p, "not") && p->tok[p->pos + 1].type == T_NAME && p->tok[p->pos + 1].n == 2 &&
            !memcmp(p->tok[p->pos + 1].p, "in", 2))
            p->pos += 2, op = JOP_NOTIN;
        if (!op) return chain ? chain : e;
        jnode *right = parse_math1(p), *c = node(p, JN_CMP, line);
        c->op = op, c->a = left, c->b = right;
        if (chain) {
            jnode *both = node(p, JN_AND, line);
            both->a = chain, both->b = c;
            chain = both;
        } else {
            chain = c;
        }
        left = right;
    }
}

static jnode *parse_not(jparser *p) {
    int line = cur(p)->line;
    if (skip_name(p, "not")) {
        jnode *n = node(p, JN_NOT, line);
        n->a = parse_not(p);
        return n;
    }
    return parse_compare(p);
}

static jnode *parse_and(jparser *p) {
    jnode *e = parse_not(p);
    while (is_name(p, "and")) {
        jnode *n = node(p, JN_AND, cur(p)->line);
        p->pos++;
        n->a = e, n->b = parse_not(p);
        e = n;
    }
    return e;
}

static jnode *parse_or(jparser *p) {
    jnode *e = parse_and(p);
    while (is_name(p, "or")) {
        jnode *n = node(p, JN_OR, cur(p)->line);
        p->pos++;
        n->a = e, n->b = parse_and(p);
        e = n;
    }
    return e;
}

static jnode *parse_expr(jparser *p, bool with_cond) {
    jnode *e = parse_or(p);
    while (with_cond && is_name(p, "if")) {
        jnode *n = node(p, JN_COND, cur(p)->line);
        p->pos++;
        n->b = e, n->a = parse_or(p);
        if (skip_name(p, "else")) n->c = parse_expr(p, true);
        e = n;
    }
    return e;
}

// An expression, or a tuple of them written without parentheses ({{ a, b }}, set x = a, b).
static jnode *parse_tuple(jparser *p) {
    int line = cur(p)->line;
    jnode *e = parse_expr(p, true);
    if (!is_op(p, ",")) return e;
    jnode *t = node(p, JN_TUPLE, line);
    push(p, &t->args, e);
    while (skip_op(p, ",")) {
        if (cur(p)->type == T_VAR_END || cur(p)->type == T_BLOCK_END) break;
        push(p, &t->args, parse_expr(p, true));
    }
    return t;
}

// ---- statements ----
static const char *parse_body(jparser *p, jnodes *out, const char *const *ends);
static jnode *parse_tag(jparser *p, jtok *t, int line);

static void end_tag(jparser *p) { expect_type(p, T_BLOCK_END, "the end of the tag ('%}')"); }

static jnode *parse_if(jparser *p, int line) {
    jnode *n = node(p, JN_IF, line);
    n->a = parse_tuple(p);
    end_tag(p);
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    const char *e = parse_body(p, &n->body, ends);
    if (!strcmp(e, "elif")) {
        push(p, &n->orelse, parse_if(p, p->tok[p->pos - 1].line));
    } else if (!strcmp(e, "else")) {
        end_tag(p);
        static const char *const endif[] = {"endif", NULL};
        parse_body(p, &n->orelse, endif);
        end_tag(p);
    } else {
        end_tag(p);
    }
    return n;
}

static const char **parse_targets(jparser *p, int *count) {
    const char *names[16];
    int k = 0;
    bool paren = skip_op(p, "(");
    do {
        if (k == 16) fail(p, cur(p)->line, "too many names to unpack");
        names[k++] = expect_name(p, "a variable name");
    } while (skip_op(p, ","));
    if (paren) expect_op(p, ")");
    const char **v = jarena_alloc(&p->t->arena, (size_t)k * sizeof *v);
    memcpy(v, names, (size_t)k * sizeof *names);
    *count = k;
    return v;
}

static jnode *parse_for(jparser *p, int line) {
    jnode *n = node(p, JN_FOR, line);
    n->targets = parse_targets(p, &n->ntargets);
    if (!skip_name(p, "in")) unexpected(p, "'in'");
    n->a = parse_expr(p, false);
    if (is_op(p, ",")) fail(p, cur(p)->line, "unsupported construct: a tuple as the iterable of a for loop");
    if (skip_name(p, "if")) n->b = parse_expr(p, true);
    if (is_name(p, "recursive")) fail(p, cur(p)->line, "unsupported construct: recursive for loops");
    end_tag(p);
    static const char *const ends[] = {"else", "endfor", NULL};
    p->loop_depth++;
    const char *e = parse_body(p, &n->body, ends);
    p->loop_depth--;
    if (!strcmp(e, "else")) {
        end_tag(p);
        static const char *const endfor[] = {"endfor", NULL};
        parse_body(p, &n->orelse, endfor);
    }
    end_tag(p);
    return n;
}

static jnode *parse_set(jparser *p, int line) {
    jnode *n = node(p, JN_SET, line);
    if (cur(p)->type == T_NAME && p->tok[p->pos + 1].type == T_OP && p->tok[p->pos + 1].n == 1 &&
        p->tok[p->pos + 1].p[0] == '.') {
        n->kind = JN_SET_ATTR;
        n->name = expect_name(p, "a variable name");
        p->pos++;
        n->attr = expect_name(p, "an attribute name");
        n->targets = &n->name, n->ntargets = 1;
    } else {
        n->targets = parse_targets(p, &n->ntargets);
    }
    if (skip_op(p, "=")) {
        n->a = parse_tuple(p);
        end_tag(p);
        return n;
    }
    if (n->kind == JN_SET_ATTR || n->ntargets != 1) unexpected(p, "'='");
    if (is_op(p, "|")) fail(p, cur(p)->line, "unsupported construct: a filter on a block set");
    end_tag(p);
    n->kind = JN_SET_BLOCK;
    static const char *const ends[] = {"endset", NULL};
    parse_body(p, &n->body, ends);
    end_tag(p);
    return n;
}

static jnode *parse_macro(jparser *p, int line) {
    jnode *n = node(p, JN_MACRO, line);
    n->name = expect_name(p, "a macro name");
    const char *params[32];
    int k = 0;
    expect_op(p, "(");
    while (!skip_op(p, ")")) {
        if (k) expect_op(p, ",");
        if (skip_op(p, ")")) break;
        if (k == 32) fail(p, cur(p)->line, "too many macro parameters");
        params[k] = expect_name(p, "a parameter name");
        jnode *d = NULL;
        if (skip_op(p, "=")) d = parse_expr(p, true);
        else if (n->defaults.n && n->defaults.v[n->defaults.n - 1])
            fail(p, cur(p)->line, "a parameter without a default follows one with a default");
        push(p, &n->defaults, d);
        k++;
    }
    n->targets = jarena_alloc(&p->t->arena, (size_t)(k ? k : 1) * sizeof *n->targets);
    memcpy(n->targets, params, (size_t)k * sizeof *params);
    n->ntargets = k;
    end_tag(p);
    if (p->nmacros % 16 == 0) p->macros = fx_realloc(p->macros, (size_t)(p->nmacros + 16) * sizeof *p->macros);
    p->macros[p->nmacros++] = n->name;
    int depth = p->loop_depth;
    p->loop_depth = 0; // a macro's body is not inside the caller's loop
    static const char *const ends[] = {"endmacro", NULL};
    parse_body(p, &n->body, ends);
    p->loop_depth = depth;
    if (cur(p)->type == T_NAME) p->pos++; // {% endmacro name %}
    end_tag(p);
    return n;
}

static jnode *parse_statement(jparser *p) {
    jtok *t = cur(p);
    int line = t->line;
    if (++p->depth > 200) fail(p, line, "expressions or tags nested more than 200 deep");
    jnode *n = parse_tag(p, t, line);
    p->depth--;
    return n;
}

static jnode *parse_tag(jparser *p, jtok *t, int line) {
    const char *name = expect_name(p, "a tag name");
    if (!strcmp(name, "if")) return parse_if(p, line);
    if (!strcmp(name, "for")) return parse_for(p, line);
    if (!strcmp(name, "set")) return parse_set(p, line);
    if (!strcmp(name, "macro")) return parse_macro(p, line);
    if (!strcmp(name, "break") || !strcmp(name, "continue")) {
        if (!p->loop_depth) fail(p, line, "'%s' outside a for loop", name);
        end_tag(p);
        return node(p, name[0] == 'b' ? JN_BREAK : JN_CONTINUE, line);
    }
    if (!strcmp(name, "generation")) { // transformers' AssistantTracker: renders its body
        jnode *n = node(p, JN_BLOCK, line);
        end_tag(p);
        static const char *const ends[] = {"endgeneration", NULL};
        parse_body(p, &n->body, ends);
        end_tag(p);
        return n;
    }
    static const char *known[] = {"call", "filter", "include", "import", "from", "extends", "block", "with", "do",
                                  "autoescape", "trans", "pluralize"};
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
        if (!strcmp(name, known[k]))
            fail(p, line, "unsupported tag '{%% %s %%}' (see docs/tokenizer.md for what is implemented)", name);
    fail(p, line, "unknown tag '%s'", name);
}

// Statements up to a tag named in ends (NULL: the end of the template); returns that name, with
// the parser just after it.
static const char *parse_body(jparser *p, jnodes *out, const char *const *ends) {
    for (;;) {
        jtok *t = cur(p);
        if (t->type == T_EOF) {
            if (!ends) return NULL;
            const char *const *e = ends;
            while (e[1] && strncmp(*e, "end", 3) != 0) e++;
            fail(p, t->line, "missing '{%% %s %%}': the template ended first", *e);
        }
        if (t->type == T_TEXT) {
            jnode *n = node(p, JN_TEXT, t->line);
            n->lit.k = JV_STR, n->lit.u.s.p = t->p, n->lit.u.s.n = t->n;
            push(p, out, n);
            p->pos++;
        } else if (t->type == T_VAR_BEGIN) {
            p->pos++;
            jnode *n = node(p, JN_OUTPUT, t->line);
            n->a = parse_tuple(p);
            expect_type(p, T_VAR_END, "the end of '{{ }}'");
            push(p, out, n);
        } else if (t->type == T_BLOCK_BEGIN) {
            p->pos++;
            jtok *nt = cur(p);
            if (nt->type == T_NAME)
                for (int k = 0; ends && ends[k]; k++)
                    if (nt->n == strlen(ends[k]) && !memcmp(nt->p, ends[k], nt->n)) return p->pos++, ends[k];
            if (nt->type == T_NAME && ((nt->n >= 3 && !memcmp(nt->p, "end", 3)) || (nt->n == 4 && !memcmp(nt->p, "else", 4)) ||
                                       (nt->n == 4 && !memcmp(nt->p, "elif", 4))))
                fail(p, nt->line, "unexpected '{%% %.*s %%}'%s%s", (int)nt->n, nt->p, ends ? ": expected " : "",
                     ends ? ends[0] : "");
            push(p, out, parse_statement(p));
        } else {
            unexpected(p, "text or a tag");
        }
    }
}

// ---- frames ----
// jinja2 decides at compile time, per frame (the template, a for body, a macro, ...) and without
// regard to the order things run in, where each name lives: a name the frame stores before any
// load, outside an if, with no outer frame knowing it, starts undefined in that frame — even when
// the template's variables hold it, and for the frames nested in it too. So
// "{% for m in xs %}{{ x }}{% endfor %}{% set x = 1 %}" prints nothing for x in the loop. These
// names are recorded on the node that opens the frame and declared undefined when it starts.
typedef struct jframe {
    const char **refs;
    int n, cap;
    const struct jframe *parent;
} jframe;

typedef struct {
    const char **v;
    int n, cap;
} jnames;

static void names_add(const char ***v, int *n, int *cap, const char *name) {
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 8;
        *v = fx_realloc(*v, (size_t)*cap * sizeof **v);
    }
    (*v)[(*n)++] = name;
}

static bool frame_local(const jframe *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->refs[i], name)) return true;
    return false;
}

static bool frame_known(const jframe *f, const char *name) {
    for (; f; f = f->parent)
        if (frame_local(f, name)) return true;
    return false;
}

static void an_load(jframe *f, const char *name) {
    if (!frame_known(f, name)) names_add(&f->refs, &f->n, &f->cap, name);
}

static void an_store(jframe *f, const char *name, bool in_branch, jnames *undef) {
    if (frame_local(f, name)) return;
    bool outer = f->parent && frame_known(f->parent, name);
    names_add(&f->refs, &f->n, &f->cap, name);
    if (!in_branch && !outer) names_add(&undef->v, &undef->n, &undef->cap, name);
}

static void an_expr(jframe *f, const jnode *e) {
    if (!e) return;
    if (e->kind == JN_NAME) {
        an_load(f, e->name);
        return;
    }
    if (e->kind == JN_LIT) return;
    an_expr(f, e->a), an_expr(f, e->b), an_expr(f, e->c), an_expr(f, e->d);
    for (int i = 0; i < e->args.n; i++) an_expr(f, e->args.v[i]);
}

static void an_frame(jparser *p, const jframe *parent, const jnodes *body, const char **params, int nparams,
                     const jnode *filter, const char ***out, int *nout);

// One frame's statements in document order; the frames nested in it come after, when this
// frame's names are all known.
static void an_body(jframe *f, const jnodes *body, bool in_branch, jnames *undef, jnames *nested) {
    for (int i = 0; i < body->n; i++) {
        const jnode *n = body->v[i];
        switch (n->kind) {
        case JN_OUTPUT: an_expr(f, n->a); break;
        case JN_IF:
            an_expr(f, n->a);
            an_body(f, &n->body, true, undef, nested);
            an_body(f, &n->orelse, true, undef, nested);
            break;
        case JN_FOR:
            an_expr(f, n->a);
            names_add(&nested->v, &nested->n, &nested->cap, (const char *)n);
            break;
        case JN_SET:
            an_expr(f, n->a);
            for (int k = 0; k < n->ntargets; k++) an_store(f, n->targets[k], in_branch, undef);
            break;
        case JN_SET_ATTR:
            an_expr(f, n->a);
            an_load(f, n->name);
            break;
        case JN_SET_BLOCK: case JN_MACRO:
            an_store(f, n->kind == JN_MACRO ? n->name : n->targets[0], in_branch, undef);
            names_add(&nested->v, &nested->n, &nested->cap, (const char *)n);
            break;
        case JN_BLOCK: names_add(&nested->v, &nested->n, &nested->cap, (const char *)n); break;
        default: break;
        }
    }
}

static const char **frame_names(jparser *p, const jnames *u, int *n) {
    *n = u->n;
    if (!u->n) return NULL;
    const char **v = jarena_alloc(&p->t->arena, (size_t)u->n * sizeof *v);
    memcpy(v, u->v, (size_t)u->n * sizeof *v);
    return v;
}

static void an_nested(jparser *p, const jframe *f, const jnames *nested) {
    for (int i = 0; i < nested->n; i++) {
        jnode *n = (jnode *)nested->v[i];
        if (n->kind == JN_FOR) {
            const char *params[17];
            int np = 0;
            for (int k = 0; k < n->ntargets; k++) params[np++] = n->targets[k];
            params[np++] = "loop";
            an_frame(p, f, &n->body, params, np, n->b, &n->frame, &n->nframe);
            an_frame(p, f, &n->orelse, NULL, 0, NULL, &n->frame2, &n->nframe2);
        } else if (n->kind == JN_MACRO) {
            an_frame(p, f, &n->body, n->targets, n->ntargets, NULL, &n->frame, &n->nframe);
        } else {
            an_frame(p, f, &n->body, NULL, 0, NULL, &n->frame, &n->nframe);
        }
    }
}

static void an_frame(jparser *p, const jframe *parent, const jnodes *body, const char **params, int nparams,
                     const jnode *filter, const char ***out, int *nout) {
    jframe f = {NULL, 0, 0, parent};
    jnames undef = {0}, nested = {0};
    for (int i = 0; i < nparams; i++) names_add(&f.refs, &f.n, &f.cap, params[i]);
    an_expr(&f, filter);
    an_body(&f, body, false, &undef, &nested);
    *out = frame_names(p, &undef, nout);
    an_nested(p, &f, &nested);
    free(f.refs);
    free(undef.v);
    free(nested.v);
}

static void parser_free(jparser *p) {
    free(p->tok);
    free(p->macros);
    free(p->calls);
    free(p);
}

int jinja_parse(jinja_template **out, const char *src, const char *name, fx_err *err) {
    *out = NULL;
    jinja_template *t = fx_calloc(1, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    // On the heap: what an error's longjmp finds must not live in this frame's registers.
    jparser *p = fx_calloc(1, sizeof *p);
    p->t = t, p->err = err;
    // jinja2 reads "\r\n" and "\r" as "\n" and drops one newline at the very end of the template.
    size_t n = strlen(src), k = 0;
    char *s = jarena_alloc(&t->arena, n + 1);
    for (size_t i = 0; i < n; i++) {
        if (src[i] == '\r') {
            s[k++] = '\n';
            if (i + 1 < n && src[i + 1] == '\n') i++;
        } else {
            s[k++] = src[i];
        }
    }
    if (k && s[k - 1] == '\n') k--;
    s[k] = '\0';
    p->src = s, p->len = k;
    if (setjmp(p->fail)) {
        parser_free(p);
        jinja_free(t);
        return -1;
    }
    lex(p);
    parse_body(p, &t->body, NULL);
    for (int i = 0; i < p->ncalls; i++) {
        const jnode *c = p->calls[i];
        if (!is_builtin_or_macro_call(p, c->a->name))
            fail(p, c->line, "unsupported call of '%s': not a macro of the template nor a known function", c->a->name);
    }
    an_frame(p, NULL, &t->body, NULL, 0, NULL, &t->frame, &t->nframe);
    parser_free(p);
    *out = t;
    return 0;
}

void jinja_free(jinja_template *t) {
    if (!t) return;
    jarena_free(&t->arena);
    free(t);
}
