// verify_math.c — answers as exact mathematics (rules in verify_math.h): the structures around
// expressions — sets, tuples, intervals, unions, relations, ± — as canonical text; each expression
// is read by verify_expr.c.
#include "verify_math.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/fx.h"
#include "verify_expr.h"

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static char *dup_trim(const char *s, size_t n) {
    while (n > 0 && is_space(*s)) s++, n--;
    while (n > 0 && is_space(s[n - 1])) n--;
    char *d = fx_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

// Splits s at sep outside brackets; returns the number of parts (malloc'd strings in parts[]).
static int split_top(const char *s, const char *sep, char **parts, int max) {
    size_t ns = strlen(sep), from = 0;
    int depth = 0, n = 0;
    for (size_t i = 0;; i++) {
        bool end = s[i] == '\0';
        if (!end) {
            char c = s[i];
            if (c == '(' || c == '[' || c == '{') depth++;
            else if (c == ')' || c == ']' || c == '}') depth--;
        }
        if (end || (depth == 0 && strncmp(s + i, sep, ns) == 0 && !(is_alpha(sep[ns - 1]) && is_alpha(s[i + ns])))) {
            if (n == max) {
                for (int k = 0; k < n; k++) free(parts[k]);
                return -1;
            }
            parts[n++] = dup_trim(s + from, i - from);
            if (end) return n;
            from = i + ns;
            i += ns - 1;
        }
    }
}

static int str_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static char *canon_item(const char *s, bool groups);

// Each part read as an item; then in order (tuple) or sorted without repeats (set, union).
static char *canon_parts(char **parts, int n, bool sorted, const char *open, const char *sep, const char *close) {
    char *out = NULL;
    int ok = 0;
    for (int k = 0; k < n; k++) {
        char *c = canon_item(parts[k], false);
        free(parts[k]);
        parts[k] = c;
        ok += c != NULL;
    }
    if (ok == n) {
        if (sorted) qsort(parts, (size_t)n, sizeof *parts, str_cmp);
        size_t len = strlen(open) + strlen(close) + 1;
        for (int k = 0; k < n; k++) len += strlen(parts[k]) + strlen(sep);
        out = fx_malloc(len);
        strcpy(out, open);
        for (int k = 0; k < n; k++) {
            if (sorted && k > 0 && strcmp(parts[k], parts[k - 1]) == 0) continue;
            if (k > 0) strcat(out, sep);
            strcat(out, parts[k]);
        }
        strcat(out, close);
    }
    for (int k = 0; k < n; k++) free(parts[k]);
    return out;
}

enum { VM_PARTS = 64 };

// "(a, b)", "[a, b)", "\{a, b\}" when the brackets enclose all of s; NULL otherwise.
static char *canon_bracketed(const char *s, size_t n) {
    char *parts[VM_PARTS];
    if (n >= 4 && strncmp(s, "\\{", 2) == 0 && strncmp(s + n - 2, "\\}", 2) == 0) {
        char *inner = dup_trim(s + 2, n - 4);
        int k = inner[0] ? split_top(inner, ",", parts, VM_PARTS) : 0;
        free(inner);
        return k < 0 ? NULL : canon_parts(parts, k, true, "{", ",", "}");
    }
    if (n < 2 || (s[0] != '(' && s[0] != '[') || (s[n - 1] != ')' && s[n - 1] != ']')) return NULL;
    int depth = 0;
    for (size_t i = 0; i < n; i++) { // the opening bracket must close at the very end
        if (s[i] == '(' || s[i] == '[' || s[i] == '{') depth++;
        else if ((s[i] == ')' || s[i] == ']' || s[i] == '}') && --depth == 0 && i != n - 1) return NULL;
    }
    char *inner = dup_trim(s + 1, n - 2);
    int k = split_top(inner, ",", parts, VM_PARTS);
    free(inner);
    if (k < 0) return NULL;
    if (k < 2) {
        for (int j = 0; j < k; j++) free(parts[j]);
        return NULL;
    }
    char open[2] = {s[0], '\0'}, close[2] = {s[n - 1], '\0'};
    bool matched = (s[0] == '(' && s[n - 1] == ')') || (s[0] == '[' && s[n - 1] == ']');
    if (k > 2 && !matched) { // [a, b, c) is no interval
        for (int j = 0; j < k; j++) free(parts[j]);
        return NULL;
    }
    return canon_parts(parts, k, false, open, ",", close);
}

// A relation token at s: its length, and whether it says "less" and whether it is strict.
static size_t relation_at(const char *s, bool *less, bool *strict) {
    static const struct {
        const char *tok;
        bool less, strict;
    } ops[] = {{"<", true, true}, {">", false, true}, {"\\lt", true, true}, {"\\gt", false, true},
               {"\\leqslant", true, false}, {"\\geqslant", false, false}, {"\\leq", true, false},
               {"\\geq", false, false}, {"\\le", true, false}, {"\\ge", false, false}};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        size_t n = strlen(ops[k].tok);
        if (strncmp(s, ops[k].tok, n) == 0 && !(s[0] == '\\' && is_alpha(s[n]))) {
            *less = ops[k].less, *strict = ops[k].strict;
            return n;
        }
    }
    return 0;
}

// x < a, x \ge a, a < x \le b, 3 > x (one symbol x): the interval of x, as [a, b) is written.
// NULL when s has no relation; "" (not read) when it has one that is not such an interval.
static char *canon_relation(const char *s) {
    size_t at[3], len[3];
    bool less[3], strict[3];
    int n = 0, depth = 0;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '(' || s[i] == '[' || s[i] == '{') depth++;
        else if (s[i] == ')' || s[i] == ']' || s[i] == '}') depth--;
        size_t l = depth == 0 ? relation_at(s + i, &less[n < 3 ? n : 2], &strict[n < 3 ? n : 2]) : 0;
        if (l == 0) continue;
        if (n == 3) return fx_strdup("");
        at[n] = i, len[n++] = l;
        i += l - 1;
    }
    if (n == 0) return NULL;
    if (n > 2) return fx_strdup("");
    char *part[3];
    size_t from = 0;
    for (int k = 0; k <= n; k++) {
        size_t to = k < n ? at[k] : strlen(s);
        part[k] = dup_trim(s + from, to - from);
        if (k < n) from = at[k] + len[k];
    }
    char *lo = NULL, *hi = NULL, *out = NULL;
    bool lo_open = true, hi_open = true;
    if (n == 1) { // x op a, or a op x read as x op' a
        bool sym_left = verify_expr_is_symbol(part[0]), sym_right = !sym_left && verify_expr_is_symbol(part[1]);
        bool x_less = sym_left ? less[0] : !less[0]; // x < a
        if (sym_left || sym_right) {
            char *a = canon_item(sym_left ? part[1] : part[0], false);
            if (a && x_less) lo = fx_strdup("-infty"), hi = a, hi_open = strict[0];
            else if (a) lo = a, hi = fx_strdup("infty"), lo_open = strict[0];
        }
    } else if (less[0] == less[1] && verify_expr_is_symbol(part[1])) { // a < x <= b, or b > x >= a
        lo = canon_item(part[less[0] ? 0 : 2], false), hi = canon_item(part[less[0] ? 2 : 0], false);
        lo_open = strict[less[0] ? 0 : 1], hi_open = strict[less[0] ? 1 : 0];
    }
    if (lo && hi) {
        out = fx_malloc(strlen(lo) + strlen(hi) + 4);
        sprintf(out, "%c%s,%s%c", lo_open ? '(' : '[', lo, hi, hi_open ? ')' : ']');
    }
    free(lo);
    free(hi);
    for (int k = 0; k <= n; k++) free(part[k]);
    return out ? out : fx_strdup("");
}

// a \pm b (one \pm or \mp): the set {a + b, a - b}, as "a + b, a - b" is written. NULL when none.
static char *canon_pm(const char *s) {
    const char *at = strstr(s, "\\pm");
    if (!at) at = strstr(s, "\\mp");
    if (!at || is_alpha(at[3]) || strstr(at + 3, "\\pm") || strstr(at + 3, "\\mp")) return NULL;
    size_t n = strlen(s), k = (size_t)(at - s);
    char *parts[2];
    for (int j = 0; j < 2; j++) {
        parts[j] = fx_malloc(n + 1);
        memcpy(parts[j], s, k);
        parts[j][k] = j ? '-' : '+';
        strcpy(parts[j] + k + 1, at + 3);
    }
    return canon_parts(parts, 2, true, "{", ",", "}");
}

static char *canon_item(const char *s, bool groups) {
    size_t n = strlen(s);
    if (n == 0) return NULL;
    if (s[n - 1] == '%' && n > 1 && s[n - 2] != '%') {
        char *t = dup_trim(s, n - 1);
        char *c = canon_item(t, groups);
        free(t);
        return c;
    }
    if (strcmp(s, "\\emptyset") == 0 || strcmp(s, "\\varnothing") == 0 || strcmp(s, "\\{\\}") == 0)
        return fx_strdup("{}");
    char *c = canon_bracketed(s, n);
    if (c) return c;
    if ((c = canon_relation(s))) {
        if (c[0]) return c;
        free(c);
        return NULL;
    }
    char *parts[3];
    for (int rel = 0; rel < 2; rel++) { // x = 4 and x \in [1,2] are their right-hand side
        int k = split_top(s, rel == 0 ? "=" : "\\in", parts, 3);
        if (k == 2 && verify_expr_is_symbol(parts[0])) c = canon_item(parts[1], groups);
        else if (k == 2 && rel == 0) {
            char *l = canon_item(parts[0], false), *r = canon_item(parts[1], false);
            if (l && r) {
                c = fx_malloc(strlen(l) + strlen(r) + 2);
                sprintf(c, "%s=%s", l, r);
            }
            free(l);
            free(r);
        }
        for (int j = 0; j < (k > 0 ? k : 0); j++) free(parts[j]);
        if (k >= 2) return c;
    }
    return verify_expr_canon(s, groups);
}

// A union of finite sets is one set: \{1,3\} \cup \{2,4\} = \{1,2,3,4\}. NULL unless every part is
// written \{…\}. Takes the parts.
static char *union_of_sets(char **parts, int k) {
    char *elems[VM_PARTS];
    int n = 0;
    bool sets = true;
    for (int j = 0; j < k && sets; j++) {
        size_t len = strlen(parts[j]);
        sets = len >= 4 && strncmp(parts[j], "\\{", 2) == 0 && strncmp(parts[j] + len - 2, "\\}", 2) == 0;
        if (!sets) break;
        char *inner = dup_trim(parts[j] + 2, len - 4);
        int m = inner[0] ? split_top(inner, ",", elems + n, VM_PARTS - n) : 0;
        free(inner);
        if (m < 0) sets = false;
        else n += m;
    }
    for (int j = 0; j < k; j++) free(parts[j]);
    if (sets) return canon_parts(elems, n, true, "{", ",", "}");
    for (int j = 0; j < n; j++) free(elems[j]);
    return NULL;
}

// The deepest nesting of brackets in s: the structures recurse once per level.
static int nesting(const char *s) {
    int depth = 0, most = 0;
    for (; *s; s++) {
        if (*s == '(' || *s == '[' || *s == '{') depth++;
        else if (*s == ')' || *s == ']' || *s == '}') depth--;
        if (depth > most) most = depth;
    }
    return most;
}

char *verify_math_canon(const char *s) {
    if (nesting(s) > 32) return NULL; // no answer nests deeper; the stack stays small
    char *t = dup_trim(s, strlen(s));
    char *parts[VM_PARTS];
    char *c = NULL;
    int k = split_top(t, "\\cup", parts, VM_PARTS);
    bool all_sets = k > 1;
    for (int j = 0; j < k && all_sets; j++) all_sets = strncmp(parts[j], "\\{", 2) == 0;
    if (all_sets) c = union_of_sets(parts, k);
    else if (k > 1) c = canon_parts(parts, k, true, "", "\\cup", "");
    else {
        for (int j = 0; j < k; j++) free(parts[j]);
        c = canon_pm(t);
        if (!c) c = canon_item(t, true);
        if (!c && (k = split_top(t, ",", parts, VM_PARTS)) > 1) c = canon_parts(parts, k, true, "{", ",", "}");
        else if (!c)
            for (int j = 0; j < k; j++) free(parts[j]);
    }
    free(t);
    return c;
}
