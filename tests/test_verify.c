// test_verify.c — the answer verifier: a table of tricky responses, each with the answer it must
// extract and whether it matches the gold answer; then the canonical forms themselves.
#include <stdlib.h>

#include "../core/rng.h"
#include "../rollout/verify.h"
#include "test.h"

typedef struct {
    const char *response, *gold;
    const char *extracted; // NULL: no answer found
    bool correct;
} vcase;

static const vcase cases[] = {
    // \boxed: nested braces, the last well-formed non-empty box wins, before any other rule
    {"So the result is \\boxed{42}.", "42", "42", true},
    {"\\boxed{\\frac{1}{2}}", "0.5", "\\frac{1}{2}", true},
    {"\\boxed{\\frac{\\sqrt{3}}{2}}", "\\frac{\\sqrt{3}}{2}", "\\frac{\\sqrt{3}}{2}", true},
    {"First \\boxed{3}, then corrected: \\boxed{4}", "4", "4", true},
    {"First \\boxed{3}, then corrected: \\boxed{4}", "3", "4", false},
    {"\\boxed{7}. The answer is 8.", "7", "7", true},
    {"\\boxed{5} and then \\boxed{6", "5", "5", true},
    {"\\boxed{9} then \\boxed{}", "9", "9", true},
    {"so \\boxed 5 it is", "5", "5", true},
    {"\\fbox{12}", "12", "12", true},
    {"$\\boxed{-3}$", "-3", "-3", true},
    {"\\[\\boxed{10}\\]", "10", "10", true},
    {"\\boxed{\\text{\\boxed{4}}}", "4", "4", true}, // a box inside a box starts last
    // "The answer is" / "Answer:" (any case), the last one; then "####"
    {"The answer is 66.", "66", "66", true},
    {"Answer: 7", "7", "7", true},
    {"Answer:\n42", "42", "42", true},
    {"the ANSWER IS 9", "9", "9", true},
    {"The answer is 7. The answer is 8.", "8", "8", true},
    {"Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.", "3/4", "\\frac{3}{4}", true},
    {"The answer is: 12 apples.", "12", "12", true},
    {"The answer is x = 5.", "5", "5", true},
    {"The answer is (C).", "(C)", "(C)", true},
    {"The answer is \\(\\frac{7}{2}\\)", "3.5", "\\(\\frac{7}{2}\\)", true},
    {"The answer is 1e3", "1000", "1e3", true}, // scientific notation
    {"He pays 5*3=15 dollars.\n#### 15", "15", "15", true},
    {"#### 1,234", "1234", "1,234", true},
    {"#### -12", "-12", "-12", true},
    {"The answer is 12", "13", "12", false},
    {"The answer isn't 5, it is 6.", "6", "6", true}, // "answer is" must end a word
    // the last number
    {"We get 3 apples and then 4 more, so 7 in total.", "7", "7", true},
    {"x = -3", "-3", "-3", true},
    {"5-3 = 2", "2", "2", true},
    {"so 10-3", "-3", "3", false}, // a minus after a digit is an operator, not a sign
    {"The total is 1,234,567.", "1234567", "1,234,567", true},
    {"Values 1,2,3", "3", "3", true},
    {"It costs $1,000.", "1000", "1,000", true},
    {"Total: 2,5 liters", "2.5", "5", false},
    {"Thus 1/2 of the pie", "0.5", "1/2", true},
    {"so x = \\frac{5}{10} overall", "1/2", "\\frac{5}{10}", true},
    {"No idea.", "5", NULL, false},
    {"", "5", NULL, false},
    // only the text after </think> counts
    {"<think>the answer is 3</think>The answer is 4.", "4", "4", true},
    {"<think>\\boxed{3}</think> so it is 4", "4", "4", true},
    {"<think>I think 5</think>", "5", NULL, false},
    {"<think>a</think>b</think>The answer is 6", "6", "6", true},
    // numbers: decimals, signs, fractions, thousands separators, percentages, exact rationals
    {"the answer is 0.50", "1/2", "0.50", true},
    {"The answer is 3.0", "3", "3.0", true},
    {"The answer is +5.", "5", "+5", true},
    {"The answer is -0", "0", "-0", true},
    {"\\boxed{-0.0}", "0", "-0.0", true},
    {"\\boxed{007}", "7", "007", true},
    {"\\boxed{.5}", "1/2", ".5", true},
    {"\\boxed{5.}", "5", "5.", true},
    {"\\boxed{2/4}", "\\frac{1}{2}", "2/4", true},
    {"\\boxed{1/0}", "1", "1/0", false},
    {"\\boxed{\\dfrac{6}{8}}", "\\frac{3}{4}", "\\dfrac{6}{8}", true},
    {"\\boxed{\\tfrac12}", "0.5", "\\tfrac12", true},
    {"\\boxed{-\\frac{2}{4}}", "-0.5", "-\\frac{2}{4}", true},
    {"\\boxed{\\frac{-1}{2}}", "-1/2", "\\frac{-1}{2}", true},
    {"\\boxed{+\\frac{4}{2}}", "2", "+\\frac{4}{2}", true},
    {"\\boxed{\\frac{1}{2}} meters", "\\frac12", "\\frac{1}{2}", true},
    {"\\boxed{\\displaystyle \\frac{1}{3}}", "1/3", "\\displaystyle \\frac{1}{3}", true},
    {"\\boxed{0.333}", "1/3", "0.333", false}, // exact, not rounded
    {"\\boxed{0.1+0.2}", "0.3", "0.1+0.2", true}, // exact arithmetic
    {"\\boxed{1,000}", "1000", "1,000", true},
    {"\\boxed{1{,}000}", "1000", "1{,}000", true},
    {"\\boxed{1\\,000}", "1000", "1\\,000", true},
    {"\\boxed{1,00}", "100", "1,00", false}, // not thousands groups
    {"\\boxed{\xe2\x88\x92" "7}", "-7", "\xe2\x88\x92" "7", true},
    {"The answer is 50%.", "50", "50%", true},
    {"The answer is 50\\%.", "0.5", "50\\%", false}, // a percentage equals its number, not /100
    {"The answer is 25%", "25\\%", "25%", true},
    {"The answer is \\$18.", "18", "\\$18", true},
    {"\\boxed{\\$5}", "5", "\\$5", true},
    {"\\boxed{90^\\circ}", "90", "90^\\circ", true},
    {"\\boxed{90^{\\circ}}", "90", "90^{\\circ}", true},
    {"The answer is 3.14159", "3.14159", "3.14159", true},
    {"The answer is 3.14159", "3.1416", "3.14159", false},
    {"\\boxed{2.50000000000000000000}", "5/2", "2.50000000000000000000", true},
    {"\\boxed{12345678901234567890123}", "12345678901234567890123", "12345678901234567890123", true},
    {"\\boxed{12345678901234567890123}", "12345678901234567890124", "12345678901234567890123", false},
    // LaTeX wrappers and text answers
    {"\\boxed{\\left( 3 \\right)}", "3", "\\left( 3 \\right)", true},
    {"\\boxed{\\text{5 cm}}", "5", "\\text{5 cm}", true},
    {"\\boxed{5\\text{ cm}}", "5", "5\\text{ cm}", true},
    {"\\boxed{5x}", "5", "5x", false}, // a letter right after the number is not a unit
    {"\\boxed{\\mathrm{B}}", "B", "\\mathrm{B}", true},
    {"\\boxed{(B)}", "B", "(B)", true}, // parentheses around one symbol
    {"\\boxed{x^2+1}", "x^2 + 1", "x^2+1", true},
    {"\\boxed{\\textbf{Yes}}", "$\\text{Yes}$", "\\textbf{Yes}", true},
    {"\\boxed{\\left(1,2\\right)}", "(1, 2)", "\\left(1,2\\right)", true},
    {"\\boxed{\\leftarrow}", "arrow", "\\leftarrow", false}, // \left only as a command of its own
};

static void test_table(void) {
    int n = (int)(sizeof cases / sizeof cases[0]);
    CHECK(n >= 60);
    for (int i = 0; i < n; i++) {
        const vcase *c = &cases[i];
        char *got = NULL;
        bool ok = verify_response(c->response, c->gold, &got);
        if (c->extracted) CHECK_STR(got, c->extracted);
        else CHECK(got == NULL);
        CHECK_INT(ok, c->correct);
        if (ok != c->correct || (c->extracted == NULL) != (got == NULL) || (got && strcmp(got, c->extracted) != 0))
            fprintf(stderr, "  case %d: response \"%s\", gold \"%s\"\n", i, c->response, c->gold);
        char *again = verify_extract(c->response); // the same answer without the comparison
        CHECK((again == NULL) == (got == NULL));
        free(again);
        free(got);
    }
}

static void check_norm(const char *in, const char *want) {
    char *got = verify_normalize(in);
    CHECK_STR(got, want);
    free(got);
}

static void test_normalize(void) {
    check_norm("0.5", "1/2");
    check_norm("-\\frac{6}{4}", "-3/2");
    check_norm("\\frac{6}{-4}", "-3/2");
    check_norm("50%", "50");
    check_norm("$1,000$", "1000");
    check_norm("  12  ", "12");
    check_norm("-0", "0");
    check_norm("3/6", "1/2");
    check_norm("\\text{Yes}", "Yes");
    check_norm("x ^ 2", "x^2");
    check_norm("", "");
    check_norm("9223372036854775807", "9223372036854775807");
    check_norm("9223372036854775808", "9223372036854775808"); // past int64: kept as text
    check_norm("-4611686018427387904/0.5", "-4611686018427387904/0.5"); // would be INT64_MIN
    CHECK(!verify_equal("", ""));
    CHECK(!verify_equal(NULL, "1"));
    CHECK(verify_equal("1/3", "\\frac{2}{6}"));
    CHECK(!verify_equal("1/3", "0.3333333333"));
}

// Adversarial text: many unbalanced boxes stay linear; random text never crashes (ASan build).
static void test_robust(void) {
    size_t n = 20000;
    char *big = malloc(n * 7 + 32);
    for (size_t i = 0; i < n; i++) memcpy(big + i * 7, "\\boxed{", 7);
    strcpy(big + n * 7, " The answer is 5");
    char *a = verify_extract(big);
    CHECK_STR(a, "5");
    free(a);
    free(big);
    static const char alphabet[] = "0123456789+-.,/%$\\{} =#:\nabxAnswerisboxedfrac</think>";
    fx_rng r = fx_rng_make(5, 0);
    char buf[201];
    int found = 0;
    for (int i = 0; i < 5000; i++) {
        int len = (int)fx_rng_below(&r, 200);
        for (int c = 0; c < len; c++) buf[c] = alphabet[fx_rng_below(&r, sizeof alphabet - 1)];
        buf[len] = '\0';
        char *e = NULL;
        bool ok = verify_response(buf, "1", &e);
        found += e != NULL;
        CHECK(!ok || e != NULL);
        free(e);
    }
    CHECK(found > 2500);
}

int main(void) {
    test_table();
    test_normalize();
    test_robust();
    return test_summary("test_verify");
}
