// test_task.c — the built-in arithmetic task: generator determinism, exact gold traces, injected
// errors equal to the checker's labels, hand-written traces with specific mistakes, plans.
#include <stdlib.h>

#include "../core/rng.h"
#include "../rollout/task.h"
#include "test.h"

static task_problem problem(int64_t start, const char *ops, const int64_t *operands) {
    task_problem p;
    memset(&p, 0, sizeof p);
    p.start = start;
    p.nops = (int)strlen(ops);
    for (int k = 0; k < p.nops; k++) p.op[k] = ops[k], p.operand[k] = operands[k];
    return p;
}

static task_opts opts(int ops, int digits, const char *operators, double error_rate) {
    task_opts o;
    task_opts_default(&o);
    o.ops = ops, o.digits = digits, o.error_rate = error_rate;
    snprintf(o.operators, sizeof o.operators, "%s", operators);
    return o;
}

static bool same_problem(const task_problem *a, const task_problem *b) {
    if (a->start != b->start || a->nops != b->nops) return false;
    for (int k = 0; k < a->nops; k++)
        if (a->op[k] != b->op[k] || a->operand[k] != b->operand[k]) return false;
    return true;
}

static void test_opts(void) {
    task_opts o;
    task_opts_default(&o);
    CHECK_INT(o.ops, 3);
    CHECK_INT(o.digits, 2);
    CHECK_STR(o.operators, "+-");
    fx_err err;
    CHECK_INT(task_opts_check(&o, &err), 0);
    o = opts(0, 2, "+-", 0);
    CHECK_INT(task_opts_check(&o, &err), -1);
    CHECK_STR(err.msg, "ops: expected 1..12, got 0");
    o = opts(3, 7, "+-", 0);
    CHECK_INT(task_opts_check(&o, &err), -1);
    CHECK_STR(err.msg, "digits: expected 1..6, got 7");
    o = opts(3, 2, "+/", 0);
    CHECK_INT(task_opts_check(&o, &err), -1);
    CHECK_STR(err.msg, "operators: expected distinct characters among '+', '-', '*', got \"+/\"");
    o = opts(3, 2, "++", 0);
    CHECK_INT(task_opts_check(&o, &err), -1);
    o = opts(3, 2, "", 0);
    CHECK_INT(task_opts_check(&o, &err), -1);
    o = opts(3, 2, "+", 1.5);
    CHECK_INT(task_opts_check(&o, &err), -1);
    CHECK_STR(err.msg, "error_rate: expected a probability in [0, 1], got 1.5");
}

static void test_generator(void) {
    task_opts o = opts(4, 2, "+-*", 0);
    enum { N = 200 };
    static task_problem fwd[N];
    for (int i = 0; i < N; i++) task_generate(&o, 7, (uint64_t)i, &fwd[i]);
    // Problem i is the same whatever was generated before it, and whatever the error rate.
    int same = 1;
    task_opts oe = opts(4, 2, "+-*", 0.5);
    for (int i = N - 1; i >= 0; i--) {
        task_problem b, c;
        task_generate(&o, 7, (uint64_t)i, &b);
        task_generate(&oe, 7, (uint64_t)i, &c);
        same &= same_problem(&b, &fwd[i]) && same_problem(&c, &fwd[i]);
    }
    CHECK(same);
    int differ = 0, nops[3] = {0, 0, 0}, ranges_ok = 1;
    for (int i = 0; i < N; i++) {
        task_problem other;
        task_generate(&o, 8, (uint64_t)i, &other);
        differ += !same_problem(&other, &fwd[i]);
        const task_problem *p = &fwd[i];
        int64_t v = p->start;
        ranges_ok &= p->nops == 4 && p->start >= 0 && p->start < 100;
        for (int k = 0; k < p->nops; k++) {
            char op = p->op[k];
            int64_t b = p->operand[k];
            nops[op == '+' ? 0 : op == '-' ? 1 : 2]++;
            if (op == '*') ranges_ok &= b >= 2 && b <= 9;
            else if (op == '-') ranges_ok &= b >= 0 && b < 100 && b <= v;
            else ranges_ok &= b >= 0 && b < 100;
            v = op == '+' ? v + b : op == '-' ? v - b : v * b;
        }
        ranges_ok &= v == task_answer(p);
    }
    CHECK(ranges_ok);
    CHECK(differ > N * 9 / 10); // another seed, other problems
    for (int k = 0; k < 3; k++) CHECK(nops[k] > N * 4 / 3 / 2); // each operator about a third
}

static void test_prompt(void) {
    const int64_t a[] = {48, 19};
    task_problem p = problem(23, "+-", a);
    char *s = task_prompt(&p);
    CHECK_STR(s, "Compute 23+48-19.");
    free(s);
    const int64_t b[] = {5, 3, 4, 2, 9};
    p = problem(7, "+**-*", b);
    s = task_prompt(&p);
    CHECK_STR(s, "Compute ((7+5)*3*4-2)*9.");
    CHECK_INT(task_answer(&p), ((7 + 5) * 3 * 4 - 2) * 9);
    task_problem q;
    fx_err err;
    CHECK_INT(task_parse_prompt(s, &q, &err), 0);
    CHECK(same_problem(&p, &q));
    free(s);
    // Every generated prompt reads back as its problem.
    task_opts o = opts(6, 3, "+-*", 0);
    int ok = 1;
    for (int i = 0; i < 300; i++) {
        task_generate(&o, 3, (uint64_t)i, &p);
        s = task_prompt(&p);
        ok &= task_parse_prompt(s, &q, &err) == 0 && same_problem(&p, &q);
        free(s);
    }
    CHECK(ok);
    static const char *const bad[] = {
        "Compute 23+48-19",  "compute 23+48-19.", "Compute 23+48-19. ", "Compute (23+48)-19.", "Compute 023+1.",
        "Compute 5-9.",      "Compute 5*12.",     "Compute 5.",          "Compute 1+2+.",       "Compute ((1+2)*3)*4.",
        "Compute 1000000+1.", "Compute 1 + 2.",   "",                    "Compute 1+1+1+1+1+1+1+1+1+1+1+1+1+1.",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = task_parse_prompt(bad[i], &q, &err);
        CHECK_INT(rc, -1);
        if (rc == 0) fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
        else CHECK(strncmp(err.msg, "prompt: expected", 16) == 0);
    }
}

static const char *const GOLD_23 = "<think>\n"
                                   "23+48: 3+8=11, 2+4+1=7, 23+48=71\n"
                                   "\n"
                                   "71-19: 11-9=2, 7-1-1=5, 71-19=52\n"
                                   "</think>\n"
                                   "The answer is 52.";

static void test_gold_text(void) {
    task_opts o = opts(2, 2, "+-", 0);
    const int64_t a[] = {48, 19};
    task_problem p = problem(23, "+-", a);
    task_trace t;
    task_trace_make(&p, &o, 0, 0, &t);
    CHECK_STR(t.text, GOLD_23);
    CHECK_INT(t.nsteps, 3);
    CHECK(t.step_correct[0] && t.step_correct[1] && t.step_correct[2]);
    CHECK(t.answer_correct);
    CHECK_INT(t.stated, 52);
    task_trace_free(&t);

    const int64_t b[] = {5, 3};
    p = problem(7, "+*", b);
    task_trace_make(&p, &o, 0, 0, &t);
    CHECK_STR(t.text, "<think>\n7+5: 7+5=12, 7+5=12\n\n12*3: 2*3=6, 1*3+0=3, 12*3=36\n</think>\nThe answer is 36.");
    task_trace_free(&t);

    const int64_t c[] = {1, 999, 7};
    p = problem(100, "-+*", c);
    task_trace_make(&p, &o, 0, 0, &t);
    CHECK_STR(t.text, "<think>\n"
                      "100-1: 10-1=9, 10-0-1=9, 1-0-1=0, 100-1=99\n\n"
                      "99+999: 9+9=18, 9+9+1=19, 0+9+1=10, 99+999=1098\n\n"
                      "1098*7: 8*7=56, 9*7+5=68, 0*7+6=6, 1*7+0=7, 1098*7=7686\n"
                      "</think>\n"
                      "The answer is 7686.");
    task_trace_free(&t);
}

// Gold traces check as fully correct for every knob setting.
static void test_gold_checks(void) {
    static const struct {
        int ops, digits;
        const char *operators;
    } knobs[] = {{1, 1, "+"}, {2, 1, "+-"}, {3, 2, "+-"}, {4, 2, "+-*"}, {6, 3, "+-*"}, {12, 6, "+-*"}, {12, 1, "*"}, {5, 4, "-"}};
    for (size_t s = 0; s < sizeof knobs / sizeof knobs[0]; s++) {
        task_opts o = opts(knobs[s].ops, knobs[s].digits, knobs[s].operators, 0);
        int all = 1;
        for (int i = 0; i < 150; i++) {
            task_problem p;
            task_trace t;
            task_labels l;
            task_generate(&o, 11, (uint64_t)i, &p);
            task_trace_make(&p, &o, 11, (uint64_t)i, &t);
            task_check(&p, t.text, &l);
            all &= l.nsteps == p.nops + 1 && l.nthink == p.nops && l.closed && l.answer_correct && t.answer_correct;
            for (int k = 0; k < l.nsteps && k < t.nsteps; k++) all &= l.correct[k] && t.step_correct[k];
            char want[32];
            snprintf(want, sizeof want, "%lld", (long long)task_answer(&p));
            all &= l.extracted && strcmp(l.extracted, want) == 0;
            if (!all) fprintf(stderr, "  knobs %zu problem %d:\n%s\n", s, i, t.text);
            task_labels_free(&l);
            task_trace_free(&t);
            if (!all) break;
        }
        CHECK(all);
    }
}

// Injected errors: the checker flags exactly the steps the generator reports wrong.
static void test_injected(void) {
    task_opts o = opts(4, 2, "+-*", 0.3);
    int nsteps = 0, nwrong = 0, agree = 1, wrong_answers = 0;
    for (int i = 0; i < 500; i++) {
        task_problem p;
        task_trace t;
        task_labels l;
        task_generate(&o, 5, (uint64_t)i, &p);
        task_trace_make(&p, &o, 5, (uint64_t)i, &t);
        task_check(&p, t.text, &l);
        bool same = l.nsteps == t.nsteps && l.answer_correct == t.answer_correct;
        for (int k = 0; same && k < t.nsteps; k++) same = l.correct[k] == t.step_correct[k];
        if (!same) fprintf(stderr, "  problem %d labels differ:\n%s\n", i, t.text);
        agree &= same;
        for (int k = 0; k < p.nops; k++) nwrong += !t.step_correct[k];
        nsteps += p.nops;
        wrong_answers += !t.answer_correct;
        CHECK(t.step_correct[p.nops]); // the response step follows the thinking
        task_labels_free(&l);
        task_trace_free(&t);
    }
    CHECK(agree);
    // 2000 steps at 0.3: the count of wrong ones is within 5 standard deviations (~20.5 each).
    CHECK_INT(nsteps, 2000);
    CHECK(nwrong > nsteps * 3 / 10 - 103 && nwrong < nsteps * 3 / 10 + 103);
    CHECK(wrong_answers > 0);

    // Rate 1: every step is wrong where a plausible wrong value exists (almost always).
    o = opts(3, 2, "+-", 1.0);
    int total = 0, wrong = 0;
    for (int i = 0; i < 100; i++) {
        task_problem p;
        task_trace t;
        task_generate(&o, 2, (uint64_t)i, &p);
        task_trace_make(&p, &o, 2, (uint64_t)i, &t);
        for (int k = 0; k < p.nops; k++) wrong += !t.step_correct[k];
        total += p.nops;
        task_trace_free(&t);
    }
    CHECK(wrong >= total * 9 / 10);

    // The same (seed, index, rate) writes the same trace.
    o = opts(5, 3, "+-*", 0.4);
    task_problem p;
    task_trace t1, t2;
    task_generate(&o, 9, 123, &p);
    task_trace_make(&p, &o, 9, 123, &t1);
    task_trace_make(&p, &o, 9, 123, &t2);
    CHECK_STR(t1.text, t2.text);
    task_trace_free(&t1);
    task_trace_free(&t2);
}

// task_trace_make_wrong: the trace up to step `force` is task_trace_make's, step `force` is wrong
// where it has a wrong form, and the checker agrees with the labels.
static void test_make_wrong(void) {
    task_opts o = opts(5, 2, "+-*", 0.3);
    int tried = 0, made = 0, agree = 1, prefix = 1;
    for (int i = 0; i < 200; i++) {
        task_problem p;
        task_trace t, w;
        task_generate(&o, 7, (uint64_t)i, &p);
        task_trace_make(&p, &o, 7, (uint64_t)i, &t);
        int force = i % p.nops;
        if (!t.step_correct[force]) {
            task_trace_free(&t);
            continue;
        }
        tried++;
        task_trace_make_wrong(&p, &o, 7, (uint64_t)i, force, &w);
        made += !w.step_correct[force];
        // The steps before `force` are the same text: find the start of step `force` in both.
        const char *a = t.text, *b = w.text;
        for (int k = 0; k < force; k++) a = strstr(a, "\n\n") + 2, b = strstr(b, "\n\n") + 2;
        prefix &= a - t.text == b - w.text && !strncmp(t.text, w.text, (size_t)(a - t.text));
        for (int k = 0; k < force; k++) prefix &= t.step_correct[k] == w.step_correct[k];
        if (!w.step_correct[force]) prefix &= strcmp(a, b) != 0;
        task_labels l;
        task_check(&p, w.text, &l);
        bool same = l.nsteps == w.nsteps && l.answer_correct == w.answer_correct;
        for (int k = 0; same && k < w.nsteps; k++) same = l.correct[k] == w.step_correct[k];
        agree &= same;
        task_labels_free(&l);
        task_trace_free(&t), task_trace_free(&w);
    }
    CHECK(tried > 100);
    CHECK(made >= tried * 9 / 10);
    // task_labels' departs: the first wrong step of an injected trace departs where it first differs
    // from the same step of the error-free trace (they start from the same value); right steps -1.
    task_opts clean = o;
    clean.error_rate = 0.0;
    int checked = 0, at_diff = 1;
    for (int i = 0; i < 200; i++) {
        task_problem p;
        task_trace t, g;
        task_generate(&o, 3, (uint64_t)i, &p);
        task_trace_make(&p, &o, 3, (uint64_t)i, &t);
        task_trace_make(&p, &clean, 3, (uint64_t)i, &g);
        task_labels lt, lg;
        task_check(&p, t.text, &lt), task_check(&p, g.text, &lg);
        int k = 0;
        while (k < lt.nsteps && lt.correct[k]) at_diff &= lt.departs[k++] == -1;
        if (k < p.nops) {
            const char *a = t.text + lt.begin[k], *b = g.text + lg.begin[k];
            int j = 0;
            while (a[j] == b[j]) j++;
            at_diff &= lt.departs[k] == j;
            checked++;
        }
        task_labels_free(&lt), task_labels_free(&lg);
        task_trace_free(&t), task_trace_free(&g);
    }
    CHECK(checked > 100);
    CHECK(at_diff);
    CHECK(prefix);
    CHECK(agree);
}

typedef struct {
    const char *what, *trace;
    int nsteps, nthink;
    const char *labels; // one '1' or '0' per step
    bool closed, answer_correct;
    const char *extracted;
} hcase;

static const hcase hand[] = {
    {"gold", NULL, 3, 2, "111", true, true, "52"},
    {"wrong sum", "<think>\n23+48: 3+8=11, 2+4+1=8, 23+48=81\n\n81-19: 11-9=2, 8-1-1=6, 81-19=62\n</think>\nThe answer is 62.",
     3, 2, "011", true, false, "62"},
    {"wrong carry", "<think>\n23+48: 3+8=11, 2+4+0=6, 23+48=61\n\n61-19: 11-9=2, 6-1-1=4, 61-19=42\n</think>\nThe answer is 42.",
     3, 2, "011", true, false, "42"},
    {"result digits reversed", "<think>\n23+48: 3+8=11, 2+4+1=7, 23+48=17\n\n71-19: 11-9=2, 7-1-1=5, 71-19=52\n</think>\nThe answer is 52.",
     3, 2, "001", true, true, "52"},
    {"wrong operand from the problem", "<think>\n23+48: 3+8=11, 2+4+1=7, 23+48=71\n\n71-18: 11-8=3, 7-1-1=5, 71-18=53\n</think>\nThe answer is 53.",
     3, 2, "101", true, false, "53"},
    {"left operand not the previous result", "<think>\n23+48: 3+8=11, 2+4+1=7, 23+48=71\n\n72-19: 12-9=3, 7-1-1=5, 72-19=53\n</think>\nThe answer is 53.",
     3, 2, "101", true, false, "53"},
    {"wrong answer statement", "<think>\n23+48: 3+8=11, 2+4+1=7, 23+48=71\n\n71-19: 11-9=2, 7-1-1=5, 71-19=52\n</think>\nThe answer is 53.",
     3, 2, "110", true, false, "53"},
    {"skipped step", "<think>\n71-19: 11-9=2, 7-1-1=5, 71-19=52\n</think>\nThe answer is 52.", 2, 1, "00", true, true, "52"},
    {"extra step", "<think>\n23+48: 3+8=11, 2+4+1=7, 23+48=71\n\n71-19: 11-9=2, 7-1-1=5, 71-19=52\n\n52+0: 2+0=2, 5+0+0=5, 52+0=52\n</think>\nThe answer is 52.",
     4, 3, "1101", true, true, "52"},
    {"garbage steps", "<think>\nhello world\n\n!!! 7=\n</think>\nThe answer is 52.", 3, 2, "001", true, true, "52"},
    // a second "</think>" has no text (rollout/steps.h): no response step
    {"garbage everywhere", "%%%\x01\xff<think></think></think>\n\n\n", 1, 1, "0", true, false, NULL},
    {"empty", "", 0, 0, "", false, false, NULL},
    {"only <think>", "<think>\n", 0, 0, "", false, false, NULL},
    {"missing </think>", "<think>\n23+48: 3+8=11, 2+4+1=7, 23+48=71\n\n71-19: 11-9=2, 7-1-1=5, 71-19=52\nThe answer is 52.",
     2, 2, "10", false, false, NULL},
    {"cut off mid-step", "<think>\n23+48: 3+8=11, 2+4+1=7, 23+48=71\n\n71-19: 11-9=2, 7-", 2, 2, "10", false, false, NULL},
    {"no columns", "<think>\n23+48=71\n\n71-19=52\n</think>\nThe answer is 52.", 3, 2, "001", true, true, "52"},
    {"missing space", "<think>\n23+48:3+8=11, 2+4+1=7, 23+48=71\n\n71-19: 11-9=2, 7-1-1=5, 71-19=52\n</think>\nThe answer is 52.",
     3, 2, "011", true, true, "52"},
    {"no <think>, extra blank lines and spaces", "23+48: 3+8=11, 2+4+1=7, 23+48=71  \n\n\n\n  71-19: 11-9=2, 7-1-1=5, 71-19=52\n</think>\n\nThe answer is 52.\n",
     3, 2, "111", true, true, "52"},
    {"response with an extra step", "<think>\n23+48: 3+8=11, 2+4+1=7, 23+48=71\n\n71-19: 11-9=2, 7-1-1=5, 71-19=52\n</think>\nThe answer is 52.\n\nThanks!",
     4, 2, "1110", true, true, "52"},
    {"response in other words", "<think>\n23+48: 3+8=11, 2+4+1=7, 23+48=71\n\n71-19: 11-9=2, 7-1-1=5, 71-19=52\n</think>\nSo we get \\boxed{52}",
     3, 2, "110", true, true, "52"},
    {"negative chain", "<think>\n23+48: 3+8=11, 2+4+1=7, 23+48=11\n\n11-19: 1-9=-8, 11-19=-8\n</think>\nThe answer is -8.",
     3, 2, "000", true, false, "-8"},
    {"huge claim", "<think>\n23+48: 3+8=11, 2+4+1=7, 23+48=99999999999999999999\n\n71-19: 11-9=2, 7-1-1=5, 71-19=52\n</think>\nThe answer is 52.",
     3, 2, "011", true, true, "52"},
};

static void test_hand(void) {
    const int64_t a[] = {48, 19};
    task_problem p = problem(23, "+-", a);
    for (size_t i = 0; i < sizeof hand / sizeof hand[0]; i++) {
        const hcase *h = &hand[i];
        task_labels l;
        task_check(&p, h->trace ? h->trace : GOLD_23, &l);
        char got[64] = "";
        for (int k = 0; k < l.nsteps && k < 63; k++) got[k] = l.correct[k] ? '1' : '0';
        int before = test_failed;
        CHECK_INT(l.nsteps, h->nsteps);
        CHECK_INT(l.nthink, h->nthink);
        CHECK_STR(got, h->labels);
        CHECK_INT(l.closed, h->closed);
        CHECK_INT(l.answer_correct, h->answer_correct);
        if (h->extracted) CHECK_STR(l.extracted, h->extracted);
        else CHECK(l.extracted == NULL);
        if (test_failed != before) fprintf(stderr, "  case \"%s\"\n", h->what);
        task_labels_free(&l);
    }
    // Offsets point at the trimmed steps.
    task_labels l;
    task_check(&p, GOLD_23, &l);
    CHECK_INT(l.begin[0], 8);
    CHECK_INT(l.end[0] - l.begin[0], (int)strlen("23+48: 3+8=11, 2+4+1=7, 23+48=71"));
    CHECK(strncmp(GOLD_23 + l.begin[2], "The answer is 52.", 17) == 0 && GOLD_23[l.end[2]] == '\0');
    task_labels_free(&l);
}

// Changing one digit of a think step makes exactly that step wrong and leaves those before it right;
// random text never crashes the checker.
static void test_mutations(void) {
    task_opts o = opts(4, 3, "+-*", 0);
    fx_rng r = fx_rng_make(99, 1);
    int ok = 1;
    for (int i = 0; i < 300; i++) {
        task_problem p;
        task_trace t;
        task_generate(&o, 21, (uint64_t)i, &p);
        task_trace_make(&p, &o, 21, (uint64_t)i, &t);
        task_labels l;
        task_check(&p, t.text, &l);
        int k = (int)fx_rng_below(&r, (uint64_t)p.nops);
        int ndig = 0;
        for (int c = l.begin[k]; c < l.end[k]; c++) ndig += t.text[c] >= '0' && t.text[c] <= '9';
        int pick = (int)fx_rng_below(&r, (uint64_t)ndig);
        for (int c = l.begin[k]; c < l.end[k]; c++) {
            if (t.text[c] < '0' || t.text[c] > '9' || pick-- != 0) continue;
            t.text[c] = (char)('0' + (t.text[c] - '0' + 1 + (int)fx_rng_below(&r, 9)) % 10);
            break;
        }
        task_labels_free(&l);
        task_check(&p, t.text, &l);
        ok &= l.nthink == p.nops && !l.correct[k];
        for (int j = 0; j < k; j++) ok &= l.correct[j];
        task_labels_free(&l);
        task_trace_free(&t);
    }
    CHECK(ok);
    static const char alphabet[] = "0123456789+-*=:, \n<think></think>The answer is .";
    const int64_t a[] = {48, 19};
    task_problem p = problem(23, "+-", a);
    char buf[257];
    for (int i = 0; i < 3000; i++) {
        int n = (int)fx_rng_below(&r, 256);
        for (int c = 0; c < n; c++) buf[c] = alphabet[fx_rng_below(&r, sizeof alphabet - 1)];
        buf[n] = '\0';
        task_labels l;
        task_check(&p, buf, &l);
        CHECK(l.nsteps >= 0 && l.nthink <= l.nsteps);
        task_labels_free(&l);
    }
}

static void test_plan(void) {
    task_plan_step *s;
    int n = task_plan(GOLD_23, &s);
    CHECK_INT(n, 2);
    char *txt = task_plan_text(s, n);
    CHECK_STR(txt, "+48 -19");
    free(txt);
    free(s);
    n = task_plan("<think>\n12*3: 2*3=6\n\nwhatever\n\n7-100: x\n</think>\n12*3: no", &s);
    CHECK_INT(n, 3);
    CHECK_INT(s[0].op, '*');
    CHECK_INT(s[0].operand, 3);
    CHECK_INT(s[1].op, '?');
    CHECK_INT(s[1].operand, -1);
    txt = task_plan_text(s, n);
    CHECK_STR(txt, "*3 ? -100");
    free(txt);
    free(s);
    n = task_plan("", &s);
    CHECK_INT(n, 0);
    txt = task_plan_text(s, n);
    CHECK_STR(txt, "");
    free(txt);
    free(s);
}

int main(void) {
    test_opts();
    test_generator();
    test_prompt();
    test_gold_text();
    test_gold_checks();
    test_injected();
    test_make_wrong();
    test_hand();
    test_mutations();
    test_plan();
    return test_summary("test_task");
}
