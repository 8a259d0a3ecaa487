// verify_expr.c — one answer expression as an exact value (rules in verify_math.h): a
// recursive-descent reader of LaTeX arithmetic into sums of terms c · √d · x^a · π^b …, kept in one
// canonical order and printed as canonical text.
#include "verify_expr.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/fx.h"

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// ---- exact rationals (int64; every overflow makes the reading fail, never wrap) ----------------

typedef struct {
    int64_t p, q; // q > 0, reduced
} rat;

static int64_t gcd64(int64_t a, int64_t b) {
    if (a < 0) a = -a;
    if (b < 0) b = -b;
    while (b) {
        int64_t t = a % b;
        a = b, b = t;
    }
    return a;
}

static bool rat_make(int64_t p, int64_t q, rat *out) {
    if (q == 0 || p == INT64_MIN || q == INT64_MIN) return false;
    if (q < 0) p = -p, q = -q;
    int64_t g = gcd64(p, q);
    if (g > 1) p /= g, q /= g;
    out->p = p, out->q = q;
    return true;
}

static bool rat_add(rat a, rat b, rat *out) {
    int64_t x, y, q;
    if (__builtin_mul_overflow(a.p, b.q, &x) || __builtin_mul_overflow(b.p, a.q, &y) ||
        __builtin_add_overflow(x, y, &x) || __builtin_mul_overflow(a.q, b.q, &q))
        return false;
    return rat_make(x, q, out);
}

static bool rat_mul(rat a, rat b, rat *out) {
    int64_t g1 = gcd64(a.p, b.q), g2 = gcd64(b.p, a.q); // cross-reduce first: fewer overflows
    if (g1 > 1) a.p /= g1, b.q /= g1;
    if (g2 > 1) b.p /= g2, a.q /= g2;
    int64_t p, q;
    if (__builtin_mul_overflow(a.p, b.p, &p) || __builtin_mul_overflow(a.q, b.q, &q)) return false;
    return rat_make(p, q, out);
}

static bool rat_inv(rat a, rat *out) { return rat_make(a.q, a.p, out); }

// n = k² · r with r squarefree (n ≤ 10^10, so trial division stays under 10^5 steps).
static bool split_square(int64_t n, int64_t *k, int64_t *r) {
    if (n <= 0 || n > 10000000000LL) return false;
    *k = 1, *r = 1;
    for (int64_t p = 2; p * p <= n; p++) {
        int c = 0;
        while (n % p == 0) n /= p, c++;
        for (int j = 0; j < c / 2; j++) *k *= p;
        if (c % 2) *r *= p;
    }
    *r *= n;
    return true;
}

// The integer n-th root of v ≥ 0 when v is a perfect n-th power.
static bool int_root(int64_t v, int n, int64_t *out) {
    int64_t lo = 0, hi = v < 2 ? v : (v < 3000000000LL ? 55000 : 3037000500LL);
    while (lo <= hi) {
        int64_t m = lo + (hi - lo) / 2, pw = 1;
        bool big = false;
        for (int j = 0; j < n && !big; j++) big = __builtin_mul_overflow(pw, m, &pw) || pw > v;
        if (!big && pw == v) {
            *out = m;
            return true;
        }
        if (big) hi = m - 1;
        else lo = m + 1;
    }
    return false;
}

// ---- terms and sums ---------------------------------------------------------------------------

enum { VM_SYMS = 4, VM_NAME = 48, VM_TERMS = 16 };

typedef struct {
    int64_t rad;                 // squarefree radicand, 1 when none
    int n;                       // symbols, sorted by name
    char name[VM_SYMS][VM_NAME]; // "x", "x_1", "pi", "infty", "sin(x)", "(x+1)" (an atom: a sum divided by)
    int exp[VM_SYMS];            // nonzero
} mono;

typedef struct {
    rat c;
    mono m;
} term;

typedef struct {
    int n;
    term t[VM_TERMS]; // canonical order (mono_cmp), no zero coefficient, no repeated monomial
} poly;

static int mono_cmp(const mono *a, const mono *b) {
    if (a->n != b->n) return a->n < b->n ? -1 : 1;
    for (int i = 0; i < a->n; i++) {
        int c = strcmp(a->name[i], b->name[i]);
        if (c) return c;
        if (a->exp[i] != b->exp[i]) return a->exp[i] < b->exp[i] ? -1 : 1;
    }
    if (a->rad != b->rad) return a->rad < b->rad ? -1 : 1;
    return 0;
}

static int term_cmp(const void *a, const void *b) { return mono_cmp(&((const term *)a)->m, &((const term *)b)->m); }

// Sorts t[0, n), merges equal monomials and drops zeros into out.
static bool poly_from(term *t, int n, poly *out) {
    qsort(t, (size_t)n, sizeof *t, term_cmp);
    out->n = 0;
    for (int i = 0; i < n;) {
        term acc = t[i++];
        while (i < n && mono_cmp(&acc.m, &t[i].m) == 0)
            if (!rat_add(acc.c, t[i++].c, &acc.c)) return false;
        if (acc.c.p == 0) continue;
        if (out->n == VM_TERMS) return false;
        out->t[out->n++] = acc;
    }
    return true;
}

static void poly_const(rat c, poly *out) {
    out->n = c.p != 0;
    out->t[0] = (term){c, {.rad = 1}};
}

static bool poly_symbol(const char *name, poly *out) {
    if (strlen(name) >= VM_NAME) return false;
    out->n = 1;
    out->t[0] = (term){{1, 1}, {.rad = 1, .n = 1, .exp = {1}}};
    strcpy(out->t[0].m.name[0], name);
    return true;
}

// The rational value of p when it is one (no radical, no symbol).
static bool poly_rat(const poly *p, rat *out) {
    if (p->n == 0) {
        *out = (rat){0, 1};
        return true;
    }
    if (p->n != 1 || p->t[0].m.n != 0 || p->t[0].m.rad != 1) return false;
    *out = p->t[0].c;
    return true;
}

static bool poly_add(const poly *a, const poly *b, bool negate_b, poly *out) {
    term t[2 * VM_TERMS];
    int n = 0;
    for (int i = 0; i < a->n; i++) t[n++] = a->t[i];
    for (int i = 0; i < b->n; i++) {
        t[n] = b->t[i];
        if (negate_b) t[n].c.p = -t[n].c.p;
        n++;
    }
    return poly_from(t, n, out);
}

static bool term_mul(const term *a, const term *b, term *out) {
    int64_t rad, k, r;
    if (!rat_mul(a->c, b->c, &out->c) || __builtin_mul_overflow(a->m.rad, b->m.rad, &rad) ||
        !split_square(rad, &k, &r) || !rat_mul(out->c, (rat){k, 1}, &out->c))
        return false;
    mono m = {.rad = r};
    int i = 0, j = 0;
    while (i < a->m.n || j < b->m.n) {
        int c = i == a->m.n ? 1 : j == b->m.n ? -1 : strcmp(a->m.name[i], b->m.name[j]);
        const char *name = c <= 0 ? a->m.name[i] : b->m.name[j];
        int e = c < 0 ? a->m.exp[i++] : c > 0 ? b->m.exp[j++] : a->m.exp[i++] + b->m.exp[j++];
        if (e == 0) continue;
        if (m.n == VM_SYMS || e > 64 || e < -64) return false;
        strcpy(m.name[m.n], name);
        m.exp[m.n++] = e;
    }
    out->m = m;
    return true;
}

static bool poly_mul(const poly *a, const poly *b, poly *out) {
    term *t = fx_malloc((size_t)(a->n * b->n + 1) * sizeof *t);
    int n = 0;
    bool ok = true;
    for (int i = 0; i < a->n && ok; i++)
        for (int j = 0; j < b->n && ok; j++) ok = term_mul(&a->t[i], &b->t[j], &t[n++]);
    ok = ok && poly_from(t, n, out);
    free(t);
    return ok;
}

static char *poly_text(const poly *p);

// a / b for a sum b with symbols: b becomes an atom, scaled so that its last term's coefficient is
// 1 (2/(2x+2) = 1/(x+1)); 1/(x+1) = 1/(1+x) = (x+1)^{-1}, and nothing is cancelled (sound: equal
// as polynomials in the atoms means equal).
static bool div_atom(const poly *a, const poly *b, poly *out) {
    rat c = b->t[b->n - 1].c, ic;
    poly scaled = *b;
    if (!rat_inv(c, &ic)) return false;
    for (int i = 0; i < scaled.n; i++)
        if (!rat_mul(scaled.t[i].c, ic, &scaled.t[i].c)) return false;
    char *text = poly_text(&scaled);
    size_t n = strlen(text);
    bool fits = n + 3 <= VM_NAME;
    term t = {ic, {.rad = 1, .n = 1, .exp = {-1}}};
    if (fits) snprintf(t.m.name[0], VM_NAME, "(%s)", text);
    free(text);
    poly p = {1, {t}};
    return fits && poly_mul(a, &p, out);
}

// a = ratio · b, term by term (same monomials, proportional coefficients).
static bool poly_ratio(const poly *a, const poly *b, rat *ratio) {
    if (a->n != b->n || a->n == 0) return false;
    for (int i = 0; i < a->n; i++) {
        rat q, inv;
        if (mono_cmp(&a->t[i].m, &b->t[i].m) != 0 || !rat_inv(b->t[i].c, &inv) || !rat_mul(a->t[i].c, inv, &q))
            return false;
        if (i > 0 && (q.p != ratio->p || q.q != ratio->q)) return false;
        *ratio = q;
    }
    return true;
}

// a / b: b one term (1/(c√r·x^e) = √r/(c·r)·x^-e), or b = s + t with no symbols (times the
// conjugate s - t, which makes the divisor the rational s² - t²).
static bool poly_div(const poly *a, const poly *b, poly *out) {
    if (b->n == 1) {
        term inv = b->t[0];
        if (!rat_inv(inv.c, &inv.c) || !rat_mul(inv.c, (rat){1, inv.m.rad}, &inv.c)) return false;
        for (int i = 0; i < inv.m.n; i++) inv.m.exp[i] = -inv.m.exp[i];
        poly p = {1, {inv}};
        return poly_mul(a, &p, out);
    }
    if (b->n < 2) return false;
    rat ratio;
    if (poly_ratio(a, b, &ratio)) { // (2 ln 2 + 2 ln 3) / (ln 2 + ln 3) = 2
        poly_const(ratio, out);
        return true;
    }
    if (b->n != 2 || b->t[0].m.n || b->t[1].m.n) return div_atom(a, b, out);
    poly conj = *b, den, num;
    conj.t[1].c.p = -conj.t[1].c.p;
    rat d;
    if (!poly_mul(b, &conj, &den) || !poly_rat(&den, &d) || d.p == 0 || !poly_mul(a, &conj, &num)) return false;
    poly inv;
    if (!rat_inv(d, &d)) return false;
    poly_const(d, &inv);
    return poly_mul(&num, &inv, out);
}

// The n-th root of a rational (√ of any rational ≥ 0; higher roots of perfect powers only).
static bool poly_root(const poly *a, int n, poly *out) {
    rat c;
    if (!poly_rat(a, &c) || n < 2 || n > 16) return false;
    if (n == 2) {
        int64_t pq, k, r;
        if (c.p < 0) return false;
        if (c.p == 0) {
            poly_const(c, out);
            return true;
        }
        if (__builtin_mul_overflow(c.p, c.q, &pq) || !split_square(pq, &k, &r)) return false;
        out->n = 1;
        out->t[0] = (term){{0, 1}, {.rad = r}};
        return rat_make(k, c.q, &out->t[0].c);
    }
    bool neg = c.p < 0;
    int64_t rp, rq;
    if ((neg && n % 2 == 0) || !int_root(neg ? -c.p : c.p, n, &rp) || !int_root(c.q, n, &rq)) return false;
    rat v;
    if (!rat_make(neg ? -rp : rp, rq, &v)) return false;
    poly_const(v, out);
    return true;
}

static bool poly_pow(const poly *a, const poly *e, poly *out) {
    rat r;
    if (!poly_rat(e, &r)) return false;
    if (r.q != 1) return r.p == 1 && poly_root(a, (int)(r.q > 16 ? 0 : r.q), out);
    if (r.p > 64 || r.p < -64) return false;
    poly acc;
    poly_const((rat){1, 1}, &acc);
    for (int64_t i = 0; i < (r.p < 0 ? -r.p : r.p); i++) {
        poly next;
        if (!poly_mul(&acc, a, &next)) return false;
        acc = next;
    }
    if (r.p >= 0) {
        *out = acc;
        return true;
    }
    poly one;
    poly_const((rat){1, 1}, &one);
    return poly_div(&one, &acc, out);
}

// ---- printing ---------------------------------------------------------------------------------

static void put_rat(char *buf, size_t n, rat r) {
    if (r.q == 1) snprintf(buf, n, "%" PRId64, r.p);
    else snprintf(buf, n, "%" PRId64 "/%" PRId64, r.p, r.q);
}

// "0", "3/2", "2*sqrt(2)", "-1/2*pi", "x^2+1": terms in canonical order, factors joined by '*'.
static char *poly_text(const poly *p) {
    size_t cap = 64 + (size_t)p->n * (96 + VM_SYMS * (VM_NAME + 8));
    char *s = fx_malloc(cap);
    size_t w = 0;
    if (p->n == 0) w += (size_t)snprintf(s, cap, "0");
    for (int i = 0; i < p->n; i++) {
        const term *t = &p->t[i];
        char m[VM_SYMS * (VM_NAME + 8) + 32] = "";
        size_t mw = 0;
        if (t->m.rad > 1) mw += (size_t)snprintf(m + mw, sizeof m - mw, "*sqrt(%" PRId64 ")", t->m.rad);
        for (int j = 0; j < t->m.n; j++) {
            mw += (size_t)snprintf(m + mw, sizeof m - mw, "*%s", t->m.name[j]);
            if (t->m.exp[j] != 1) mw += (size_t)snprintf(m + mw, sizeof m - mw, "^%d", t->m.exp[j]);
        }
        char c[48];
        put_rat(c, sizeof c, t->c);
        const char *sep = i > 0 && t->c.p > 0 ? "+" : "";
        if (mw == 0) w += (size_t)snprintf(s + w, cap - w, "%s%s", sep, c);
        else if (t->c.p == 1 && t->c.q == 1) w += (size_t)snprintf(s + w, cap - w, "%s%s", sep, m + 1);
        else if (t->c.p == -1 && t->c.q == 1) w += (size_t)snprintf(s + w, cap - w, "-%s", m + 1);
        else w += (size_t)snprintf(s + w, cap - w, "%s%s%s", sep, c, m);
    }
    return s;
}

// ---- the expression reader --------------------------------------------------------------------

typedef struct {
    const char *s;
    size_t i;
    int depth;
    bool groups; // "1,000" is a thousands group here (not inside a tuple or a set)
} reader;

static void skip(reader *r) {
    while (is_space(r->s[r->i])) r->i++;
}

// At "\name" (not followed by a letter): consumes it.
static bool take_cmd(reader *r, const char *name) {
    size_t n = strlen(name);
    if (r->s[r->i] != '\\' || strncmp(r->s + r->i + 1, name, n) != 0 || is_alpha(r->s[r->i + 1 + n])) return false;
    r->i += n + 1;
    return true;
}

static bool read_expr(reader *r, poly *out);

static bool digits_value(reader *r, int64_t *v, int *nd) {
    if (__builtin_mul_overflow(*v, 10, v) || __builtin_add_overflow(*v, r->s[r->i] - '0', v)) return false;
    r->i++, (*nd)++;
    return true;
}

// [digits [,ddd]…] [.digits] [e[±]digits]; *plain when it is digits only.
static bool read_number(reader *r, rat *out, bool *plain) {
    const char *s = r->s + r->i;
    size_t lead = 0;
    while (is_digit(s[lead])) lead++;
    bool groups = r->groups && lead >= 1 && lead <= 3 && s[0] != '0' && s[lead] == ',' && is_digit(s[lead + 1]) &&
                  is_digit(s[lead + 2]) && is_digit(s[lead + 3]) && !is_digit(s[lead + 4]);
    int64_t p = 0, q = 1;
    int nd = 0;
    *plain = true;
    while (is_digit(r->s[r->i]) || (groups && r->s[r->i] == ',' && is_digit(r->s[r->i + 1]))) {
        if (r->s[r->i] == ',') {
            const char *c = r->s + r->i;
            if (!(is_digit(c[2]) && is_digit(c[3]) && !is_digit(c[4]))) break;
            r->i++, *plain = false;
            continue;
        }
        if (!digits_value(r, &p, &nd)) return false;
    }
    if (r->s[r->i] == '.' && is_digit(r->s[r->i + 1])) {
        r->i++, *plain = false;
        size_t end = r->i;
        while (is_digit(r->s[end])) end++;
        size_t last = end;
        while (last > r->i && r->s[last - 1] == '0') last--; // 2.50000000000000000000 stays in range
        while (r->i < last) {
            if (!digits_value(r, &p, &nd) || __builtin_mul_overflow(q, 10, &q)) return false;
        }
        r->i = end, nd++;
    }
    if (nd == 0) return false;
    if (!rat_make(p, q, out)) return false;
    const char *e = r->s + r->i;
    if ((e[0] == 'e' || e[0] == 'E') && (is_digit(e[1]) || ((e[1] == '+' || e[1] == '-') && is_digit(e[2])))) {
        bool neg = e[1] == '-';
        r->i += 1 + (e[1] == '+' || e[1] == '-');
        int64_t k = 0;
        int kd = 0;
        while (is_digit(r->s[r->i]))
            if (!digits_value(r, &k, &kd) || k > 30) return false;
        int64_t ten = 1;
        for (int64_t j = 0; j < k; j++)
            if (__builtin_mul_overflow(ten, 10, &ten)) return false;
        if (!rat_mul(*out, neg ? (rat){1, ten} : (rat){ten, 1}, out)) return false;
        *plain = false;
    }
    return true;
}

static const char *const greek[] = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta",
                                    "theta", "vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "rho",
                                    "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi", "omega", "Gamma",
                                    "Delta", "Theta", "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega", "pi", "infty"};

static bool read_arg(reader *r, poly *out);
static bool read_primary(reader *r, poly *out);

static bool read_power(reader *r, poly *out);

// An atom named by text (a function value, a power with a symbolic exponent), when it fits.
static bool poly_atom(const char *a, const char *b, const char *c, poly *out) {
    char name[VM_NAME];
    return (size_t)snprintf(name, sizeof name, "%s%s%s", a, b, c) < sizeof name && poly_symbol(name, out);
}

// ln of a positive rational as a sum over its primes: ln(p/q) = Σ e·ln(prime) (numerator and
// denominator ≤ 10^10), so ln 32 = 5 ln 2 and ln 6 = ln 2 + ln 3: the logarithms of primes are
// independent over the rationals, so this form is exact and unique.
static bool poly_ln(rat c, poly *out) {
    if (c.p <= 0 || c.p > 10000000000LL || c.q > 10000000000LL) return false;
    term t[2 * 34]; // at most 33 prime factors, counted with multiplicity, on each side
    int n = 0;
    for (int side = 0; side < 2; side++) {
        int64_t v = side ? c.q : c.p;
        for (int64_t p = 2; v > 1; p++) {
            if (p * p > v) p = v; // what is left is prime
            int e = 0;
            while (v % p == 0) v /= p, e++;
            if (e == 0) continue;
            t[n] = (term){{side ? -e : e, 1}, {.rad = 1, .n = 1, .exp = {1}}};
            snprintf(t[n].m.name[0], VM_NAME, "ln(%" PRId64 ")", p);
            n++;
        }
    }
    return poly_from(t, n, out);
}

// \sin x, \sin(x+1), \sin^2 x, \log_2 x, \ln 2: the function's value is an atom named by the
// function and its argument's canonical text ("sin(x)"), not evaluated; except logarithms of
// positive rationals, which are sums over primes (\ln 32 = 5\ln 2, \log_2 8 = 3). At r->i: the
// name's n letters, after the backslash.
static bool read_function(reader *r, size_t n, poly *out) {
    static const char *const fns[] = {"sin", "cos", "tan", "cot", "sec", "csc", "ln", "log", "exp", "arcsin",
                                      "arccos", "arctan", "sinh", "cosh", "tanh", "lg"};
    size_t k = 0;
    while (k < sizeof fns / sizeof fns[0] && !(strlen(fns[k]) == n && strncmp(r->s + r->i, fns[k], n) == 0)) k++;
    if (k == sizeof fns / sizeof fns[0]) return false;
    r->i += n;
    char fn[24];
    snprintf(fn, sizeof fn, "%s", fns[k]);
    poly base, power = {0}, arg;
    bool has_base = r->s[r->i] == '_';
    if (has_base) { // a logarithm's base
        r->i++;
        if (!read_arg(r, &base)) return false;
        char *t = poly_text(&base);
        bool fits = strlen(fn) + strlen(t) + 2 < sizeof fn;
        if (fits) strcat(strcat(fn, "_"), t);
        free(t);
        if (!fits) return false;
    }
    skip(r);
    bool has_power = r->s[r->i] == '^';
    if (has_power) {
        r->i++;
        if (!read_arg(r, &power)) return false;
    }
    skip(r);
    if (!(r->s[r->i] == '(' ? read_primary(r, &arg) : read_power(r, &arg))) return false;
    rat x, b;
    bool ok;
    if (strcmp(fns[k], "ln") == 0 && poly_rat(&arg, &x) && poly_ln(x, out)) {
        ok = true; // ln 32 = 5 ln 2
    } else if (has_base && poly_rat(&arg, &x) && poly_rat(&base, &b) && b.p > 0 && !(b.p == 1 && b.q == 1)) {
        poly lx, lb; // log_b x = ln x / ln b: \log_2 8 = 3
        ok = poly_ln(x, &lx) && poly_ln(b, &lb) && poly_div(&lx, &lb, out);
    } else {
        char *t = poly_text(&arg);
        char open[32];
        snprintf(open, sizeof open, "%s(", fn);
        ok = poly_atom(open, t, ")", out);
        free(t);
    }
    if (ok && has_power) {
        poly p;
        ok = poly_pow(out, &power, &p);
        *out = p;
    }
    return ok;
}

// A symbol: a letter not followed by another letter ("xy" is not read: words are text), with an
// optional subscript ("x_1", "a_{10}"), or a Greek letter, \pi or \infty.
static bool read_symbol(reader *r, poly *out) {
    char name[VM_NAME];
    if (r->s[r->i] == '\\') {
        r->i++;
        size_t n = 0;
        while (is_alpha(r->s[r->i + n])) n++;
        for (size_t k = 0; k < sizeof greek / sizeof greek[0]; k++)
            if (strlen(greek[k]) == n && strncmp(r->s + r->i, greek[k], n) == 0) {
                memcpy(name, greek[k], n);
                name[n] = '\0';
                r->i += n;
                return poly_symbol(name, out);
            }
        return read_function(r, n, out);
    }
    if (!is_alpha(r->s[r->i]) || is_alpha(r->s[r->i + 1])) return false;
    size_t n = 0;
    name[n++] = r->s[r->i++];
    if (r->s[r->i] == '_') {
        const char *sub = r->s + r->i + 1;
        size_t len = 1, skipn = 1;
        if (*sub == '{') {
            len = 0, sub++;
            while (sub[len] && sub[len] != '}' && (is_digit(sub[len]) || is_alpha(sub[len]))) len++;
            if (sub[len] != '}') return false;
            skipn = len + 2;
        } else if (!is_digit(*sub) && !is_alpha(*sub)) {
            return false;
        }
        if (len == 0 || len + 2 >= VM_NAME) return false;
        name[n++] = '_';
        memcpy(name + n, sub, len);
        n += len;
        r->i += 1 + skipn;
    }
    name[n] = '\0';
    return poly_symbol(name, out);
}

// An unsigned integer argument of a mixed number's \frac: "{12}" or "7".
static bool int_arg(reader *r, int64_t *v) {
    skip(r);
    if (is_digit(r->s[r->i]) && r->s[r->i + 1] != '.') {
        *v = r->s[r->i++] - '0';
        return true;
    }
    if (r->s[r->i] != '{') return false;
    size_t j = r->i + 1;
    int64_t x = 0;
    int nd = 0;
    while (is_digit(r->s[j])) {
        if (__builtin_mul_overflow(x, 10, &x) || __builtin_add_overflow(x, r->s[j] - '0', &x)) return false;
        j++, nd++;
    }
    if (nd == 0 || r->s[j] != '}') return false;
    r->i = j + 1, *v = x;
    return true;
}

static bool read_frac(reader *r, poly *out) {
    poly a, b;
    return read_arg(r, &a) && read_arg(r, &b) && poly_div(&a, &b, out);
}

static bool read_sqrt(reader *r, poly *out) {
    int64_t n = 2;
    skip(r);
    if (r->s[r->i] == '[') { // \sqrt[3]{…}, \sqrt[{3}]{…}
        r->i++;
        skip(r);
        bool braced = r->s[r->i] == '{';
        r->i += braced;
        n = 0;
        while (is_digit(r->s[r->i]) && n < 100) n = n * 10 + (r->s[r->i++] - '0');
        if (braced && r->s[r->i++] != '}') return false;
        skip(r);
        if (r->s[r->i] != ']' || n < 2 || n > 16) return false;
        r->i++;
    }
    poly a;
    return read_arg(r, &a) && poly_root(&a, (int)n, out);
}

static bool primary_body(reader *r, poly *out) {
    skip(r);
    char c = r->s[r->i];
    if (is_digit(c) || (c == '.' && is_digit(r->s[r->i + 1]))) {
        rat v;
        bool plain;
        if (!read_number(r, &v, &plain)) return false;
        poly_const(v, out);
        size_t save = r->i;
        skip(r);
        int64_t a, b;
        if (plain && take_cmd(r, "frac")) { // 2\frac12 is 2 + 1/2
            rat f;
            if (int_arg(r, &a) && int_arg(r, &b) && rat_make(a, b, &f) && rat_add(v, f, &v)) {
                poly_const(v, out);
                return true;
            }
        }
        r->i = save;
        return true;
    }
    if (c == '(' || c == '{') {
        r->i++;
        if (!read_expr(r, out)) return false;
        skip(r);
        return r->s[r->i++] == (c == '(' ? ')' : '}');
    }
    if (take_cmd(r, "frac")) return read_frac(r, out);
    if (take_cmd(r, "sqrt")) return read_sqrt(r, out);
    return read_symbol(r, out);
}

// Every level of nesting (a bracket, a unary sign, a command's argument) counts against one bound,
// so "((((…", "----…5" and "\\sqrt\\sqrt\\sqrt…" stay within about a MiB of stack.
enum { VM_DEPTH = 40 };

static bool read_primary(reader *r, poly *out) {
    if (++r->depth > VM_DEPTH) return false;
    bool ok = primary_body(r, out);
    r->depth--;
    return ok;
}

// The argument of \frac, \sqrt or ^: a {group}, one digit, one letter or one command.
static bool read_arg(reader *r, poly *out) {
    skip(r);
    char c = r->s[r->i];
    if (c == '{') return read_primary(r, out);
    if (is_digit(c)) {
        poly_const((rat){c - '0', 1}, out);
        r->i++;
        return true;
    }
    if (is_alpha(c)) {
        char name[2] = {c, '\0'};
        r->i++;
        return poly_symbol(name, out);
    }
    if (c == '\\') return read_primary(r, out);
    return false;
}

// base^e with e not a rational (e^{2x}, 2^n): an atom "(base)^(e)" when base is one term.
static bool pow_atom(const poly *base, const poly *e, poly *out) {
    rat q;
    if (base->n != 1 || poly_rat(e, &q)) return false;
    char *b = poly_text(base), *x = poly_text(e);
    char *name = fx_malloc(strlen(b) + strlen(x) + 8);
    sprintf(name, "(%s)^(%s)", b, x);
    bool ok = poly_atom(name, "", "", out);
    free(name);
    free(b);
    free(x);
    return ok;
}

static bool read_power(reader *r, poly *out) {
    if (!read_primary(r, out)) return false;
    skip(r);
    while (r->s[r->i] == '^') {
        r->i++;
        skip(r);
        bool neg = r->s[r->i] == '-';
        if (neg) r->i++;
        poly e, p;
        if (!read_arg(r, &e)) return false;
        if (neg) {
            poly z = {0};
            if (!poly_add(&z, &e, true, &e)) return false;
        }
        if (!poly_pow(out, &e, &p) && !pow_atom(out, &e, &p)) return false;
        *out = p;
        skip(r);
    }
    return true;
}

static bool read_factor(reader *r, poly *out);

static bool factor_body(reader *r, poly *out) {
    skip(r);
    char c = r->s[r->i];
    if (c == '-' || c == '+') {
        r->i++;
        poly a, z = {0};
        return read_factor(r, &a) && poly_add(&z, &a, c == '-', out);
    }
    return read_power(r, out);
}

static bool read_factor(reader *r, poly *out) {
    if (++r->depth > VM_DEPTH) return false;
    bool ok = factor_body(r, out);
    r->depth--;
    return ok;
}

// Whether a factor follows without an operator (2\sqrt2, 2\pi r, (1+x)(1-x)); never a digit, so
// "1 000" is not read as a product.
static bool implicit_next(const reader *r) {
    const char *s = r->s + r->i;
    if (*s == '(' || *s == '{' || is_alpha(*s)) return true;
    if (*s != '\\') return false;
    return strncmp(s, "\\cdot", 5) != 0 && strncmp(s, "\\times", 6) != 0 && strncmp(s, "\\div", 4) != 0;
}

static bool read_term(reader *r, poly *out) {
    if (!read_factor(r, out)) return false;
    for (;;) {
        skip(r);
        char c = r->s[r->i];
        bool div = false;
        if (c == '*') r->i++;
        else if (c == '/') r->i++, div = true;
        else if (take_cmd(r, "cdot") || take_cmd(r, "times")) {
        } else if (take_cmd(r, "div")) div = true;
        else if (!implicit_next(r)) return true;
        poly b, p;
        if (!read_factor(r, &b) || !(div ? poly_div(out, &b, &p) : poly_mul(out, &b, &p))) return false;
        *out = p;
    }
}

static bool read_expr(reader *r, poly *out) {
    if (++r->depth > VM_DEPTH) return false;
    if (!read_term(r, out)) return false;
    for (;;) {
        skip(r);
        char c = r->s[r->i];
        if (c != '+' && c != '-') break;
        r->i++;
        poly b, p;
        if (!read_term(r, &b) || !poly_add(out, &b, c == '-', &p)) return false;
        *out = p;
    }
    r->depth--;
    return true;
}

// s read whole as one expression.
static bool expr_whole(const char *s, bool groups, poly *out) {
    reader r = {s, 0, 0, groups};
    if (!read_expr(&r, out)) return false;
    skip(&r);
    return r.s[r.i] == '\0';
}

char *verify_expr_canon(const char *s, bool groups) {
    poly p;
    return expr_whole(s, groups, &p) ? poly_text(&p) : NULL;
}

bool verify_expr_is_symbol(const char *s) {
    poly p;
    return expr_whole(s, false, &p) && p.n == 1 && p.t[0].c.p == 1 && p.t[0].c.q == 1 && p.t[0].m.rad == 1 &&
           p.t[0].m.n == 1 && p.t[0].m.exp[0] == 1;
}
