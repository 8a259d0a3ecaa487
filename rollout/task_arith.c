// task_arith.c — the built-in arithmetic task: generator, gold and error-injected traces, the
// exact per-step checker, plans (format in task.h and docs/tasks.md).
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"
#include "steps.h"
#include "task.h"
#include "verify.h"

// Values a step may work on: 18 digits keep every column sum and 10^i inside int64.
#define TASK_VALUE_MAX 999999999999999999LL
#define TASK_STREAM 0x7461736bu // "task": the RNG stream family of problem generation

static const char *const THINK_OPEN = "<think>", *const THINK_CLOSE = "</think>";

void task_opts_default(task_opts *o) {
    memset(o, 0, sizeof *o);
    o->ops = 3;
    o->digits = 2;
    strcpy(o->operators, "+-");
    o->error_rate = 0.0;
}

int task_opts_check(const task_opts *o, fx_err *err) {
    if (o->ops < 1 || o->ops > TASK_MAX_OPS) return fx_errf(err, "ops: expected 1..%d, got %d", TASK_MAX_OPS, o->ops);
    if (o->digits < 1 || o->digits > TASK_MAX_DIGITS)
        return fx_errf(err, "digits: expected 1..%d, got %d", TASK_MAX_DIGITS, o->digits);
    const char *nul = memchr(o->operators, '\0', sizeof o->operators);
    size_t n = nul ? (size_t)(nul - o->operators) : sizeof o->operators;
    if (n == 0 || n >= sizeof o->operators)
        return fx_errf(err, "operators: expected 1 to 3 of '+', '-', '*'");
    for (size_t i = 0; i < n; i++)
        if (!strchr("+-*", o->operators[i]) || memchr(o->operators, o->operators[i], i))
            return fx_errf(err, "operators: expected distinct characters among '+', '-', '*', got \"%s\"", o->operators);
    if (!(o->error_rate >= 0.0 && o->error_rate <= 1.0))
        return fx_errf(err, "error_rate: expected a probability in [0, 1], got %g", o->error_rate);
    return 0;
}

static int64_t pow10i(int e) {
    int64_t v = 1;
    while (e-- > 0) v *= 10;
    return v;
}

// a op b, false when it leaves [0, TASK_VALUE_MAX] (a step's column form needs a value there).
static bool apply_op(int64_t a, char op, int64_t b, int64_t *out) {
    int64_t r;
    if (op == '+') {
        if (__builtin_add_overflow(a, b, &r)) return false;
    } else if (op == '-') {
        r = a - b;
    } else {
        if (__builtin_mul_overflow(a, b, &r)) return false;
    }
    if (r < 0 || r > TASK_VALUE_MAX) return false;
    *out = r;
    return true;
}

static fx_rng problem_rng(uint64_t seed, uint64_t index, uint64_t which) {
    return fx_rng_make(seed, fx_rng_hash(fx_rng_hash(fx_rng_hash(0, TASK_STREAM), index), which));
}

void task_generate(const task_opts *o, uint64_t seed, uint64_t index, task_problem *p) {
    FX_ASSERT(task_opts_check(o, NULL) == 0);
    fx_rng r = problem_rng(seed, index, 0);
    int64_t range = pow10i(o->digits);
    size_t nopers = strlen(o->operators);
    memset(p, 0, sizeof *p);
    p->nops = o->ops;
    p->start = (int64_t)fx_rng_below(&r, (uint64_t)range);
    int64_t cur = p->start;
    for (int k = 0; k < o->ops; k++) {
        char op = o->operators[fx_rng_below(&r, nopers)];
        int64_t b;
        if (op == '+') b = (int64_t)fx_rng_below(&r, (uint64_t)range);
        else if (op == '-') b = (int64_t)fx_rng_below(&r, (uint64_t)(cur < range - 1 ? cur : range - 1) + 1);
        else b = 2 + (int64_t)fx_rng_below(&r, 8);
        p->op[k] = op, p->operand[k] = b;
        FX_ASSERT(apply_op(cur, op, b, &cur)); // bounded by TASK_MAX_DIGITS and TASK_MAX_OPS
    }
}

int64_t task_answer(const task_problem *p) {
    int64_t v = p->start;
    for (int k = 0; k < p->nops; k++) FX_ASSERT(apply_op(v, p->op[k], p->operand[k], &v));
    return v;
}

char *task_prompt(const task_problem *p) {
    // A product applies to the whole value so far: parenthesise a sum before it.
    size_t cap = 64 + (size_t)p->nops * 24;
    char *expr = fx_malloc(cap), *tmp = fx_malloc(cap);
    snprintf(expr, cap, "%" PRId64, p->start);
    bool sum = false;
    for (int k = 0; k < p->nops; k++) {
        if (p->op[k] == '*' && sum) {
            snprintf(tmp, cap, "(%s)", expr);
            memcpy(expr, tmp, strlen(tmp) + 1);
        }
        sum = p->op[k] != '*';
        size_t n = strlen(expr);
        snprintf(expr + n, cap - n, "%c%" PRId64, p->op[k], p->operand[k]);
    }
    snprintf(tmp, cap, "Compute %s.", expr);
    free(expr);
    return tmp;
}

// A non-negative integer without a sign or leading zeros, at most `maxdig` digits.
static bool read_uint(const char **ps, int maxdig, int64_t *out) {
    const char *s = *ps;
    int n = 0;
    int64_t v = 0;
    while (s[n] >= '0' && s[n] <= '9') {
        if (n == maxdig) return false;
        v = v * 10 + (s[n] - '0');
        n++;
    }
    if (n == 0 || (n > 1 && s[0] == '0')) return false;
    *ps = s + n, *out = v;
    return true;
}

int task_parse_prompt(const char *prompt, task_problem *p, fx_err *err) {
    static const char *const want = "expected a built-in arithmetic problem such as \"Compute 23+48-19.\"";
    memset(p, 0, sizeof *p);
    const char *s = prompt;
    if (strncmp(s, "Compute ", 8) != 0) return fx_errf(err, "prompt: %s", want);
    s += 8;
    while (*s == '(') s++;
    if (!read_uint(&s, TASK_MAX_DIGITS, &p->start)) return fx_errf(err, "prompt: %s", want);
    int64_t cur = p->start;
    while (*s != '.') {
        while (*s == ')') s++;
        if (*s == '.') break;
        if (!strchr("+-*", *s) || *s == '\0') return fx_errf(err, "prompt: %s", want);
        if (p->nops == TASK_MAX_OPS) return fx_errf(err, "prompt: expected at most %d operations", TASK_MAX_OPS);
        char op = *s++;
        int64_t b;
        if (!read_uint(&s, op == '*' ? 1 : TASK_MAX_DIGITS, &b))
            return fx_errf(err, "prompt: %s (a multiplier has one digit, other numbers up to %d)", want, TASK_MAX_DIGITS);
        if (!apply_op(cur, op, b, &cur))
            return fx_errf(err, "prompt: expected every intermediate value in [0, %lld]", (long long)TASK_VALUE_MAX);
        p->op[p->nops] = op, p->operand[p->nops] = b, p->nops++;
    }
    if (s[1] != '\0' || p->nops == 0 || cur > TASK_VALUE_MAX) return fx_errf(err, "prompt: %s", want);
    // The parentheses were skipped above: the text must be exactly the canonical one.
    char *canon = task_prompt(p);
    bool same = strcmp(canon, prompt) == 0;
    free(canon);
    if (!same) return fx_errf(err, "prompt: %s (parentheses only around a sum that is multiplied)", want);
    return 0;
}

// ---- steps -------------------------------------------------------------------------------------

enum { ERR_NONE, ERR_CARRY, ERR_UP, ERR_DOWN, ERR_KINDS };

// Writes the step for a op b into buf (at least 1024 bytes): the header, one column per digit from
// the units up, and "a op b=R". Columns: addition "x+y+c=s" (s = x+y+c, next carry s/10), subtraction
// "m-y-c=d" (m = x, or 10+x when x-y-c < 0, which borrows 1 from the next column), multiplication
// by one digit "x*y+c=s" (next carry s/10); the first column has no carry term. R is the last
// column's s (or d) followed by the other columns' last digits, last column first. With an error
// kind at column ecol the step is written wrong in a plausible way: the carry into it dropped
// (ERR_CARRY, only where there is one), or its result one more or one less; later columns follow
// the written value. False when the step has no such form (negative value, multiplier > 9, an
// error that does not apply there).
static bool render_step(char *buf, int64_t a, char op, int64_t b, int ecol, int ekind, int64_t *result) {
    if (a < 0 || b < 0 || a > TASK_VALUE_MAX || b > TASK_VALUE_MAX || (op == '-' && b > a) || (op == '*' && b > 9))
        return false;
    int da[20], db[20], na = 0, nb = 0;
    for (int64_t v = a; na == 0 || v > 0; v /= 10) da[na++] = (int)(v % 10);
    for (int64_t v = b; nb == 0 || v > 0; v /= 10) db[nb++] = (int)(v % 10);
    int n = op == '*' || na >= nb ? na : nb;
    int pos = sprintf(buf, "%" PRId64 "%c%" PRId64 ":", a, op, b);
    int64_t value = 0, place = 1;
    int carry = 0;
    for (int i = 0; i < n; i++, place *= 10) {
        int x = i < na ? da[i] : 0, y = op == '*' ? (int)b : i < nb ? db[i] : 0, c = carry;
        if (i == ecol && ekind == ERR_CARRY) {
            if (c == 0) return false;
            c = 0;
        }
        int m = x, s;
        if (op == '-') {
            if (x - y - c < 0) m += 10;
            s = m - y - c;
        } else {
            s = op == '+' ? x + y + c : x * y + c;
        }
        if (i == ecol && ekind == ERR_UP) s++;
        if (i == ecol && ekind == ERR_DOWN) s--;
        int smax = op == '+' ? 19 : op == '-' ? 9 : 89;
        if (s < 0 || s > smax) return false;
        if (op == '-') {
            if (i == n - 1 && m >= 10) return false; // the result would be negative
            carry = m >= 10;
        } else {
            carry = s / 10;
        }
        if (i == 0) pos += sprintf(buf + pos, " %d%c%d=%d,", op == '-' ? m : x, op, y, s);
        else pos += sprintf(buf + pos, " %d%c%d%c%d=%d,", op == '-' ? m : x, op, y, op == '-' ? '-' : '+', c, s);
        value += (i == n - 1 ? s : s % 10) * place;
    }
    pos += sprintf(buf + pos, " %" PRId64 "%c%" PRId64 "=%" PRId64, a, op, b, value);
    buf[pos] = '\0';
    *result = value;
    return true;
}

// Whether the operations after step k still have a column form from the wrong value w (a
// subtrahend larger than the value would need a negative number).
static bool chain_ok(const task_problem *p, int k, int64_t w) {
    for (int j = k + 1; j < p->nops; j++)
        if (!apply_op(w, p->op[j], p->operand[j], &w)) return false;
    return true;
}

// Step k written wrong: a random choice among every (column, error kind) that changes the result
// and keeps the rest of the chain workable. False when there is none (the step stays right).
static bool render_wrong(char *buf, const task_problem *p, int k, int64_t cur, fx_rng *r, int64_t *res) {
    int64_t right, w;
    FX_ASSERT(apply_op(cur, p->op[k], p->operand[k], &right));
    int cand[20 * ERR_KINDS], nc = 0;
    for (int col = 0; col < 20; col++)
        for (int kind = ERR_CARRY; kind < ERR_KINDS; kind++)
            if (render_step(buf, cur, p->op[k], p->operand[k], col, kind, &w) && w != right && chain_ok(p, k, w))
                cand[nc++] = col * ERR_KINDS + kind;
    if (nc == 0) return false;
    int pick = cand[fx_rng_below(r, (uint64_t)nc)];
    FX_ASSERT(render_step(buf, cur, p->op[k], p->operand[k], pick / ERR_KINDS, pick % ERR_KINDS, res));
    return true;
}

static void trace_make(const task_problem *p, const task_opts *o, uint64_t seed, uint64_t index, int force,
                       task_trace *t) {
    FX_ASSERT(p->nops >= 1 && p->nops <= TASK_MAX_OPS);
    memset(t, 0, sizeof *t);
    // One uniform per step first, so the steps written wrong at a rate are a subset of those at
    // any higher rate (same seed and index).
    fx_rng r = problem_rng(seed, index, 1);
    double u[TASK_MAX_OPS];
    for (int k = 0; k < p->nops; k++) u[k] = fx_rng_double(&r);
    size_t cap = 128 + (size_t)p->nops * 1024, len = 0;
    char *text = fx_malloc(cap), step[1024];
    len += (size_t)sprintf(text, "%s\n", THINK_OPEN);
    int64_t cur = p->start;
    for (int k = 0; k < p->nops; k++) {
        int64_t res;
        bool wrong = (u[k] < o->error_rate || k == force) && render_wrong(step, p, k, cur, &r, &res);
        if (!wrong) FX_ASSERT(render_step(step, cur, p->op[k], p->operand[k], -1, ERR_NONE, &res));
        t->step_correct[k] = !wrong;
        len += (size_t)snprintf(text + len, cap - len, "%s%s", step, k + 1 < p->nops ? "\n\n" : "\n");
        cur = res;
    }
    snprintf(text + len, cap - len, "%s\nThe answer is %" PRId64 ".", THINK_CLOSE, cur);
    t->text = text;
    t->nsteps = p->nops + 1;
    t->step_correct[p->nops] = true; // the response follows the think steps, right or wrong
    t->stated = cur;
    t->answer_correct = cur == task_answer(p);
}

void task_trace_make(const task_problem *p, const task_opts *o, uint64_t seed, uint64_t index, task_trace *t) {
    trace_make(p, o, seed, index, -1, t);
}

void task_trace_make_wrong(const task_problem *p, const task_opts *o, uint64_t seed, uint64_t index, int force,
                           task_trace *t) {
    FX_ASSERT(force >= 0 && force < p->nops);
    trace_make(p, o, seed, index, force, t);
}

void task_trace_free(task_trace *t) {
    free(t->text);
    t->text = NULL;
}

// ---- splitting and checking ------------------------------------------------------------------

typedef struct {
    size_t *begin, *end; // trimmed steps
    int n, nthink;
    bool closed;
    size_t response; // offset of the text after "</think>" (the trace's length when none)
} steps;

// The steps of trace t by the one rule of rollout/steps.h (blank lines, "<think>" at the start
// dropped, the first "</think>" closing the thinking part).
static void split_steps(const char *t, steps *s) {
    size_t n = strlen(t);
    memset(s, 0, sizeof *s);
    int cap = 2;
    for (size_t i = 0; i < n; i++) cap += t[i] == '\n';
    steps_span *spans = fx_malloc((size_t)cap * sizeof *spans);
    size_t close;
    s->n = steps_split_text(t, spans, cap, &close);
    s->begin = fx_malloc((size_t)cap * sizeof(size_t));
    s->end = fx_malloc((size_t)cap * sizeof(size_t));
    for (int k = 0; k < s->n; k++) {
        s->begin[k] = spans[k].begin, s->end[k] = spans[k].end;
        s->nthink += spans[k].part == 0;
    }
    free(spans);
    s->closed = close != (size_t)-1;
    s->response = s->closed ? close + strlen(THINK_CLOSE) : n;
}

static void steps_free(steps *s) {
    free(s->begin);
    free(s->end);
}

// Digits of t[*i, e) as a number below 10^maxdig; false when there are none or too many.
static bool read_digits(const char *t, size_t *i, size_t e, int maxdig, int64_t *out) {
    int64_t v = 0;
    int n = 0;
    for (; *i < e && t[*i] >= '0' && t[*i] <= '9'; (*i)++) {
        if (++n > maxdig) return false;
        v = v * 10 + (t[*i] - '0');
    }
    *out = v;
    return n > 0;
}

// The result a step states: its last part (after the last ','), read as "A op B=R".
static bool read_claim(const char *t, size_t b, size_t e, int64_t *out) {
    size_t i = e;
    while (i > b && t[i - 1] != ',') i--;
    while (i < e && t[i] == ' ') i++;
    int64_t x;
    if (!read_digits(t, &i, e, 18, &x) || i >= e || !strchr("+-*", t[i])) return false;
    i++;
    if (!read_digits(t, &i, e, 18, &x) || i >= e || t[i] != '=') return false;
    i++;
    return read_digits(t, &i, e, 18, out) && i == e;
}

static bool span_is(const char *t, size_t b, size_t e, const char *want) {
    return strlen(want) == e - b && memcmp(t + b, want, e - b) == 0;
}

// The first byte of t[b, e) that departs from want (its length when one is a prefix of the other).
static int departs_at(const char *t, size_t b, size_t e, const char *want) {
    size_t n = strlen(want), i = 0;
    while (i < n && b + i < e && t[b + i] == want[i]) i++;
    return (int)i;
}

void task_check(const task_problem *p, const char *trace, task_labels *out) {
    memset(out, 0, sizeof *out);
    steps s;
    split_steps(trace, &s);
    out->nsteps = s.n, out->nthink = s.nthink, out->closed = s.closed;
    out->correct = fx_calloc((size_t)s.n + 1, sizeof(bool));
    out->begin = fx_calloc((size_t)s.n + 1, sizeof(int));
    out->end = fx_calloc((size_t)s.n + 1, sizeof(int));
    out->departs = fx_calloc((size_t)s.n + 1, sizeof(int));
    // v is the value the trace has reached: the result the last step states, or the true result
    // of its operation when it states none; invalid once it has no column form (negative, huge).
    int64_t v = p->start, res;
    bool valid = true;
    char want[1024];
    for (int i = 0; i < s.n; i++) out->begin[i] = (int)s.begin[i], out->end[i] = (int)s.end[i];
    for (int i = 0; i < s.nthink; i++) {
        if (i >= p->nops) continue; // a step beyond the operations is never correct
        bool gold = valid && render_step(want, v, p->op[i], p->operand[i], -1, ERR_NONE, &res);
        out->correct[i] = gold && span_is(trace, s.begin[i], s.end[i], want);
        out->departs[i] = out->correct[i] ? -1 : gold ? departs_at(trace, s.begin[i], s.end[i], want) : 0;
        int64_t claim;
        if (read_claim(trace, s.begin[i], s.end[i], &claim)) v = claim, valid = true;
        else if (valid) valid = apply_op(v, p->op[i], p->operand[i], &v);
    }
    for (int i = s.nthink; i < p->nops; i++) // operations the trace never wrote
        if (valid) valid = apply_op(v, p->op[i], p->operand[i], &v);
    snprintf(want, sizeof want, "The answer is %" PRId64 ".", v);
    for (int i = s.nthink; i < s.n; i++) {
        out->correct[i] = valid && span_is(trace, s.begin[i], s.end[i], want);
        out->departs[i] = out->correct[i] ? -1 : valid ? departs_at(trace, s.begin[i], s.end[i], want) : 0;
    }
    if (s.closed) {
        char gold[32];
        snprintf(gold, sizeof gold, "%" PRId64, task_answer(p));
        out->answer_correct = verify_response(trace + s.response, gold, &out->extracted);
    }
    steps_free(&s);
}

void task_labels_free(task_labels *l) {
    free(l->correct);
    free(l->begin);
    free(l->end);
    free(l->departs);
    free(l->extracted);
    memset(l, 0, sizeof *l);
}

// ---- plans -------------------------------------------------------------------------------------

int task_plan(const char *trace, task_plan_step **out) {
    steps s;
    split_steps(trace, &s);
    task_plan_step *plan = fx_malloc(((size_t)s.nthink + 1) * sizeof *plan);
    for (int k = 0; k < s.nthink; k++) {
        size_t i = s.begin[k], e = s.end[k];
        int64_t a, b;
        plan[k].op = '?', plan[k].operand = -1;
        if (!read_digits(trace, &i, e, 18, &a) || i >= e || !strchr("+-*", trace[i])) continue;
        char op = trace[i++];
        if (read_digits(trace, &i, e, 18, &b) && i < e && trace[i] == ':') plan[k].op = op, plan[k].operand = b;
    }
    steps_free(&s);
    *out = plan;
    return s.nthink;
}

char *task_plan_text(const task_plan_step *plan, int n) {
    size_t cap = 1 + (size_t)n * 24, len = 0;
    char *t = fx_malloc(cap);
    t[0] = '\0';
    for (int k = 0; k < n; k++) {
        if (plan[k].op == '?') len += (size_t)snprintf(t + len, cap - len, "%s?", k ? " " : "");
        else len += (size_t)snprintf(t + len, cap - len, "%s%c%" PRId64, k ? " " : "", plan[k].op, plan[k].operand);
    }
    return t;
}
