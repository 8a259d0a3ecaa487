// verify.c — final-answer extraction and normalised comparison (rules in verify.h, docs/tasks.md).
#include "verify.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/fx.h"
#include "verify_math.h"

// ---- small string helpers --------------------------------------------------------------------

static char *dup_range(const char *s, size_t n) {
    char *d = fx_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Trims s in place (returns s).
static char *trim(char *s) {
    size_t n = strlen(s), a = 0;
    while (a < n && is_space(s[a])) a++;
    while (n > a && is_space(s[n - 1])) n--;
    memmove(s, s + a, n - a);
    s[n - a] = '\0';
    return s;
}

// Replaces every `from` by `to` (to no longer than from, so in place). With cmd, `from` is a LaTeX
// command and matches only when no letter follows ("\left(" but not "\leftarrow").
static void replace_all(char *s, const char *from, const char *to, bool cmd) {
    size_t nf = strlen(from), nt = strlen(to);
    FX_ASSERT(nt <= nf);
    char *w = s;
    for (const char *r = s; *r;) {
        if (strncmp(r, from, nf) == 0 && !(cmd && is_alpha(r[nf]))) {
            memmove(w, to, nt);
            w += nt, r += nf;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

// Index of the '}' matching the '{' at s[open], or -1 when unbalanced.
static long match_brace(const char *s, size_t open) {
    int depth = 0;
    for (size_t i = open; s[i]; i++) {
        if (s[i] == '{') depth++;
        else if (s[i] == '}' && --depth == 0) return (long)i;
    }
    return -1;
}

// ---- exact rationals -------------------------------------------------------------------------

typedef struct {
    int64_t p, q; // q > 0
} rat;

// An unsigned decimal: digits with optional thousands groups ("1,234,567"), optional ".digits";
// ".5" and "5." too. Trailing fraction zeros are dropped so "2.50000000000000000000" stays in range.
static bool parse_decimal(const char **ps, rat *out) {
    const char *s = *ps;
    int64_t p = 0, q = 1;
    int ndig = 0;
    // Thousands groups only when they are exact: 1-3 digits, then one or more ",ddd" not followed by
    // another digit.
    size_t lead = 0;
    while (is_digit(s[lead])) lead++;
    bool groups = lead >= 1 && lead <= 3 && s[lead] == ',' && is_digit(s[lead + 1]) && is_digit(s[lead + 2]) &&
                  is_digit(s[lead + 3]) && !is_digit(s[lead + 4]);
    const char *c = s;
    while (is_digit(*c) || (groups && *c == ',' && is_digit(c[1]) && is_digit(c[2]) && is_digit(c[3]) && !is_digit(c[4]))) {
        if (*c == ',') {
            c++;
            continue;
        }
        if (__builtin_mul_overflow(p, 10, &p) || __builtin_add_overflow(p, *c - '0', &p)) return false;
        c++, ndig++;
    }
    if (*c == '.' && is_digit(c[1])) {
        c++;
        const char *end = c;
        while (is_digit(*end)) end++;
        const char *last = end;
        while (last > c && last[-1] == '0') last--;
        for (; c < last; c++, ndig++) {
            if (__builtin_mul_overflow(p, 10, &p) || __builtin_add_overflow(p, *c - '0', &p)) return false;
            if (__builtin_mul_overflow(q, 10, &q)) return false;
        }
        c = end, ndig++;
    } else if (*c == '.' && ndig > 0 && !is_digit(c[1])) {
        c++; // "5." is 5
    }
    if (ndig == 0) return false;
    *ps = c;
    out->p = p, out->q = q;
    return true;
}

static bool parse_signed_decimal(const char **ps, rat *out) {
    const char *s = *ps;
    bool neg = false;
    if (*s == '+' || *s == '-') neg = *s++ == '-';
    if (!parse_decimal(&s, out)) return false;
    if (neg) out->p = -out->p;
    *ps = s;
    return true;
}

// One argument of \frac: "{signed decimal}" or, in the shorthand \frac12, one digit.
static bool parse_frac_arg(const char **ps, rat *out) {
    const char *s = *ps;
    if (is_digit(*s)) {
        out->p = *s - '0', out->q = 1;
        *ps = s + 1;
        return true;
    }
    if (*s != '{') return false;
    s++;
    if (!parse_signed_decimal(&s, out) || *s != '}') return false;
    *ps = s + 1;
    return true;
}

// ---- normalisation ---------------------------------------------------------------------------

// Removes \name{…} wrappers, keeping their contents.
static void unwrap_commands(char *s) {
    static const char *const names[] = {"boxed", "fbox", "text", "textbf", "textrm", "textit", "textnormal",
                                        "mathrm", "mathbf", "mathit", "mbox", "operatorname"};
    bool again = true;
    while (again) {
        again = false;
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
            char pat[32];
            snprintf(pat, sizeof pat, "\\%s{", names[k]);
            char *at = strstr(s, pat);
            if (!at) continue;
            size_t open = (size_t)(at - s) + strlen(pat) - 1;
            long close = match_brace(s, open);
            if (close < 0) continue;
            memmove(s + close, s + close + 1, strlen(s + close + 1) + 1);
            memmove(at, s + open + 1, strlen(s + open + 1) + 1);
            again = true;
        }
    }
}

// Strips one pair of outer delimiters \( \) or \[ \] (dollar signs are removed everywhere earlier).
static bool strip_outer(char *s) {
    size_t n = strlen(s);
    if (n >= 4 && s[0] == '\\' && s[n - 2] == '\\' &&
        ((s[1] == '(' && s[n - 1] == ')') || (s[1] == '[' && s[n - 1] == ']'))) {
        memmove(s, s + 2, n - 4);
        s[n - 4] = '\0';
        return true;
    }
    return false;
}

static void remove_spaces(char *s) {
    char *w = s;
    for (const char *r = s; *r; r++)
        if (!is_space(*r)) *w++ = *r;
    *w = '\0';
}

static bool is_math(const char *s) {
    char *c = verify_math_canon(s);
    bool ok = c != NULL;
    free(c);
    return ok;
}

// Length of a unit's power at s: "^2", "^3", "^{2}", "^{3}" or nothing.
static size_t unit_power(const char *s) {
    if (s[0] != '^') return 0;
    if (s[1] == '2' || s[1] == '3') return 2;
    if (s[1] == '{' && (s[2] == '2' || s[2] == '3') && s[3] == '}') return 4;
    return 0;
}

// Drops a unit after an answer read as mathematics: a final \text{…}, \mbox{…}, \mathrm{…} or
// \textrm{…} of letters ("5\text{ cm}^2", "x = 4 \text{ dollars}"); done before unwrapping.
static void drop_text_unit(char *s) {
    static const char *const names[] = {"\\text{", "\\mbox{", "\\mathrm{", "\\textrm{"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char *at = NULL;
        for (char *p = s; (p = strstr(p, names[k])); p++) at = p;
        if (!at) continue;
        size_t open = (size_t)(at - s) + strlen(names[k]) - 1;
        long close = match_brace(s, open);
        if (close < 0) continue;
        const char *after = s + close + 1;
        after += unit_power(after);
        while (is_space(*after) || *after == '.') after++;
        if (*after) continue;
        int letters = 0;
        bool word = true;
        for (size_t i = open + 1; i < (size_t)close; i++) {
            letters += is_alpha(s[i]);
            word = word && (is_alpha(s[i]) || is_space(s[i]) || s[i] == '.');
        }
        char *head = dup_range(s, (size_t)(at - s));
        bool math = word && letters > 0 && trim(head)[0] != '\0' && is_math(head);
        free(head);
        if (math) *at = '\0';
        return;
    }
}

// Drops unit words after an answer read as mathematics: whitespace, then words of two letters or
// more, the last with an optional ^2 / ^3 ("12 apples", "5 cm^2", "3 square meters"); "2 \pi r"
// keeps r. The longest such tail whose head reads as mathematics goes.
static void drop_word_units(char *s) {
    size_t p = strlen(s);
    while (p > 0 && s[p - 1] == '.') p--;
    if (p >= 2 && s[p - 2] == '^' && (s[p - 1] == '2' || s[p - 1] == '3')) p -= 2;
    else if (p >= 4 && unit_power(s + p - 4) == 4) p -= 4;
    size_t cut[8];
    int n = 0;
    while (n < 8) { // the starts of the trailing words, last word first
        size_t end = p;
        while (p > 0 && is_alpha(s[p - 1])) p--;
        if (end - p < 2 || p == 0 || !is_space(s[p - 1])) break;
        cut[n++] = p;
        while (p > 0 && is_space(s[p - 1])) p--;
    }
    for (int k = n - 1; k >= 0; k--) {
        char *head = dup_range(s, cut[k]);
        bool math = trim(head)[0] != '\0' && is_math(head);
        free(head);
        if (math) {
            s[cut[k]] = '\0';
            trim(s);
            return;
        }
    }
}

// The answer cleaned of wrappers, spaces kept (the math reader needs "\pi r" apart). With units,
// unit words and \text units after an answer read as mathematics are dropped.
static char *clean_spaced(const char *answer, bool units) {
    char *s = fx_strdup(answer);
    replace_all(s, "\xe2\x88\x92", "-", false); // U+2212 minus sign
    replace_all(s, "\xc2\xb0", "", false);      // degree sign
    replace_all(s, "^{\\circ}", "", false);
    replace_all(s, "^\\circ", "", false);
    replace_all(s, "\\circ", "", true);
    replace_all(s, "^{\\degree}", "", false);
    replace_all(s, "^\\degree", "", false);
    replace_all(s, "\\degree", "", true);
    replace_all(s, "\\dfrac", "\\frac", true);
    replace_all(s, "\\tfrac", "\\frac", true);
    replace_all(s, "\\cfrac", "\\frac", true);
    replace_all(s, "{,}", ",", false);
    replace_all(s, "\\%", "%", false);
    replace_all(s, "\\$", "", false);
    replace_all(s, "$", "", false);
    replace_all(s, "\\left", "", true);
    replace_all(s, "\\right", "", true);
    replace_all(s, "\\displaystyle", "", true);
    replace_all(s, "\\!", "", false);
    replace_all(s, "\\,", "", false);
    replace_all(s, "\\;", "", false);
    replace_all(s, "\\:", "", false);
    replace_all(s, "\\ ", " ", false);
    replace_all(s, "~", " ", false);
    trim(s);
    while (strip_outer(s)) trim(s);
    if (units) drop_text_unit(s);
    unwrap_commands(s);
    trim(s);
    while (strip_outer(s)) trim(s);
    size_t n = strlen(s);
    if (n > 1 && s[n - 1] == '.') s[--n] = '\0';
    if (units) drop_word_units(s);
    return trim(s);
}

char *verify_normalize(const char *answer) {
    char *s = clean_spaced(answer, true);
    char *c = verify_math_canon(s);
    if (c) {
        free(s);
        return c;
    }
    remove_spaces(s);
    return s;
}

bool verify_equal(const char *answer, const char *gold) {
    if (!answer || !gold) return false;
    char *a = verify_normalize(answer), *b = verify_normalize(gold);
    bool eq = a[0] != '\0' && strcmp(a, b) == 0;
    free(a);
    free(b);
    return eq;
}

// ---- extraction ------------------------------------------------------------------------------

// Length of the number token starting at s[i] (0 if none): [sign] decimal [e[±]digits] [/digits] [%], or
// \frac{a}{b}. A sign counts only after a non-word character ("x=-3" → "-3", "5-3" → "3").
static size_t number_at(const char *s, size_t i) {
    const char *p = s + i;
    if (strncmp(p, "\\frac", 5) == 0 || strncmp(p, "\\dfrac", 6) == 0 || strncmp(p, "\\tfrac", 6) == 0) {
        const char *q = p + (p[1] == 'f' ? 5 : 6);
        rat a, b;
        if (parse_frac_arg(&q, &a) && parse_frac_arg(&q, &b)) return (size_t)(q - p);
        return 0;
    }
    const char *q = p;
    if ((*q == '-' || *q == '+') && (i == 0 || !(isalnum((unsigned char)s[i - 1]) || s[i - 1] == ')'))) q++;
    if (!(is_digit(*q) || (*q == '.' && is_digit(q[1])))) return 0;
    rat r;
    if (!parse_decimal(&q, &r)) {
        while (is_digit(*q) || *q == ',' || *q == '.') q++; // too long for int64: still one token
    }
    if (q > p && q[-1] == '.') q--; // "is 5." ends a sentence
    if ((*q == 'e' || *q == 'E') && (is_digit(q[1]) || ((q[1] == '-' || q[1] == '+') && is_digit(q[2])))) {
        q += 2; // scientific notation: 1e3, 2.5E-4
        while (is_digit(*q)) q++;
    }
    if (*q == '/' && is_digit(q[1])) {
        q++;
        while (is_digit(*q)) q++;
    }
    if (*q == '%') q++;
    else if (q[0] == '\\' && q[1] == '%') q += 2;
    return (size_t)(q - p);
}

// The last (or first) number token in s[0, n); NULL when none.
static char *find_number(const char *s, size_t n, bool last) {
    char *best = NULL;
    for (size_t i = 0; i < n;) {
        // A token starts where no digit (or '.' within a number) precedes it.
        bool start = i == 0 || !(is_digit(s[i - 1]) || (s[i - 1] == '.' && i >= 2 && is_digit(s[i - 2])));
        size_t len = start ? number_at(s, i) : 0;
        if (len > 0 && i + len <= n) {
            free(best);
            best = dup_range(s + i, len);
            if (!last) return best;
            i += len;
        } else {
            i++;
        }
    }
    return best;
}

// The content of the last well-formed, non-empty \boxed{…} / \fbox{…} / "\boxed 5" in s. Braces
// are matched in one stack pass over the text, so a response full of boxes still costs O(n).
static char *extract_boxed(const char *s) {
    size_t n = strlen(s), depth = 0;
    long *close = fx_malloc((n + 1) * sizeof *close), *stack = fx_malloc((n + 1) * sizeof *stack);
    for (size_t i = 0; i < n; i++) {
        close[i] = -1;
        if (s[i] == '{') stack[depth++] = (long)i;
        else if (s[i] == '}' && depth > 0) close[stack[--depth]] = (long)i;
    }
    char *content = NULL;
    for (size_t i = n; i-- > 0 && !content;) {
        size_t len = strncmp(s + i, "\\boxed", 6) == 0 ? 6 : strncmp(s + i, "\\fbox", 5) == 0 ? 5 : 0;
        if (len == 0) continue;
        size_t c = i + len;
        if (s[c] == '{' && close[c] >= 0) {
            content = dup_range(s + c + 1, (size_t)close[c] - c - 1);
        } else if (s[c] == ' ') {
            while (s[c] == ' ') c++;
            content = dup_range(s + c, strcspn(s + c, " \t\n\r$"));
        }
        if (content && trim(content)[0] == '\0') {
            free(content);
            content = NULL;
        }
    }
    free(close);
    free(stack);
    return content;
}

// Finds the last occurrence of needle in hay, ignoring ASCII case, that does not run on into a
// word ("answer is" but not "answer isn't"); returns the position after it.
static const char *last_marker(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    const char *found = NULL;
    for (const char *p = hay; *p; p++) {
        size_t k = 0;
        while (k < n && p[k] && tolower((unsigned char)p[k]) == needle[k]) k++;
        if (k == n && !(is_alpha(needle[n - 1]) && (is_alpha(p[n]) || p[n] == '\''))) found = p + n;
    }
    return found;
}

// Whether text (a piece of an answer line) reads whole as mathematics once cleaned.
static bool text_is_math(const char *text) {
    char *c = clean_spaced(text, false);
    bool ok = c[0] != '\0' && is_math(c);
    free(c);
    return ok;
}

// The first $…$ or \(…\) span of line whose content reads as mathematics (with markup: the first
// that holds '\\', '^' or '{', read or not: "$2^{74}$"), malloc'd; NULL if none.
static char *math_span(const char *line, bool markup) {
    for (const char *p = line; *p; p++) {
        const char *close = NULL;
        size_t skipn = 0;
        if (*p == '$') skipn = 1 + (p[1] == '$'), close = strstr(p + skipn, skipn == 2 ? "$$" : "$");
        else if (p[0] == '\\' && p[1] == '(') skipn = 2, close = strstr(p + 2, "\\)");
        if (!close) continue;
        char *span = trim(dup_range(p + skipn, (size_t)(close - p) - skipn));
        if (markup ? span[strcspn(span, "\\^{")] != '\0' : text_is_math(span)) return span;
        free(span);
        p = close;
    }
    return NULL;
}

// The answer written after a marker, in the rest of its line (or the next line when it is empty),
// without a final '.': the line when it reads as mathematics and has no '='; else its first $…$
// span that does; else what follows its last '=' when that does; else its first $…$ span with
// LaTeX markup; else the first number after its last '=' (or in it); else the text itself.
static char *answer_after(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == ':' || *p == '*' || *p == '\n' || *p == '\r') p++;
    char *line = trim(dup_range(p, strcspn(p, "\n")));
    size_t n = strlen(line);
    if (n > 0 && line[n - 1] == '.') line[--n] = '\0';
    trim(line);
    if (line[0] == '\0') {
        free(line);
        return NULL;
    }
    const char *eq = strrchr(line, '=');
    if (!eq && text_is_math(line)) return line;
    char *a = math_span(line, false);
    if (!a && eq && text_is_math(eq + 1)) a = trim(fx_strdup(eq + 1));
    if (!a) a = math_span(line, true);
    const char *from = eq ? eq + 1 : line;
    if (!a) a = find_number(from, strlen(from), false);
    if (!a) return line;
    free(line);
    return a;
}

char *verify_extract(const char *response) {
    if (!response) return NULL;
    const char *s = response;
    for (const char *p = response; (p = strstr(p, "</think>")); p++) s = p + 8;
    char *a = extract_boxed(s);
    if (a) return a;
    const char *m = NULL; // the last marker of any kind
    static const char *const markers[] = {"answer is", "answer:", "answer**:", "answer**"};
    for (size_t k = 0; k < sizeof markers / sizeof markers[0]; k++) {
        const char *mk = last_marker(s, markers[k]);
        if (mk > m) m = mk;
    }
    if (m && (a = answer_after(m))) return a;
    const char *hash = NULL;
    for (const char *p = s; (p = strstr(p, "####")); p++) hash = p + 4;
    if (hash && (a = answer_after(hash))) return a;
    return find_number(s, strlen(s), true);
}

bool verify_response(const char *response, const char *gold, char **extracted) {
    char *a = verify_extract(response);
    bool ok = a && verify_equal(a, gold);
    if (extracted) *extracted = a;
    else free(a);
    return ok;
}
