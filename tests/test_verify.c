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

// Answers as exact mathematics (rollout/verify_math.h): each response against its gold, the exact
// verdict. Facts from the usual MATH / GSM8K answers and Math-Verify's public test cases.
typedef struct {
    const char *response, *gold;
    bool correct;
} ecase;

static const ecase eq_cases[] = {
    // nested braces, \frac / \dfrac / \tfrac / a/b, signs
    {"\\boxed{{\\frac{10}{4}}}", "5/2", true},
    {"\\boxed{{{\\frac{10}{4}}}}", "\\frac52", true},
    {"\\boxed{\\dfrac{10}{4}}", "2.5", true},
    {"\\boxed{\\tfrac{3}{6}}", "\\frac{1}{2}", true},
    {"\\boxed{\\frac{-3}{4}}", "-\\frac34", true},
    {"\\boxed{\\frac{3}{-4}}", "-0.75", true},
    {"\\boxed{-\\frac{3}{4}}", "\\frac{3}{4}", false},
    {"\\boxed{\\frac{1}{3}}", "0.333", false},
    {"\\boxed{\\frac{2}{3}}", "\\frac{3}{2}", false},
    {"\\boxed{\\frac{\\frac{1}{2}}{3}}", "\\frac16", true},
    {"\\boxed{\\frac{1}{2}+\\frac{1}{3}}", "\\frac56", true},
    {"\\boxed{-(-3)}", "3", true},
    {"\\boxed{+7}", "7", true},
    {"\\boxed{-7}", "7", false},
    {"\\boxed{3-5}", "-2", true},
    {"\\boxed{\\left(-\\frac{1}{2}\\right)}", "-0.5", true},
    {"\\boxed{2 \\cdot 3}", "6", true},
    {"\\boxed{2 \\times 3}", "6", true},
    {"\\boxed{12 \\div 4}", "3", true},
    {"\\boxed{004}", "4", true},
    // radicals: integer radicands reduced, rationalised denominators, conjugates
    {"\\boxed{\\sqrt8}", "2\\sqrt2", true},
    {"\\boxed{\\sqrt{8}}", "2\\sqrt{2}", true},
    {"\\boxed{\\sqrt{12}}", "2\\sqrt3", true},
    {"\\boxed{\\sqrt{18}}", "3\\sqrt{2}", true},
    {"\\boxed{\\sqrt{50}}", "5 \\sqrt 2", true},
    {"\\boxed{\\sqrt{72}}", "6\\sqrt2", true},
    {"\\boxed{\\sqrt{72}}", "6\\sqrt3", false},
    {"\\boxed{\\sqrt{16}}", "4", true},
    {"\\boxed{\\sqrt{2}}", "1.414", false},
    {"\\boxed{\\frac{1}{\\sqrt{2}}}", "\\frac{\\sqrt{2}}{2}", true},
    {"\\boxed{\\frac{6}{\\sqrt{3}}}", "2\\sqrt{3}", true},
    {"\\boxed{\\frac{\\sqrt{6}}{3}}", "\\sqrt{\\frac{2}{3}}", true},
    {"\\boxed{\\sqrt{\\frac{1}{4}}}", "\\frac{1}{2}", true},
    {"\\boxed{\\sqrt{2}\\cdot\\sqrt{3}}", "\\sqrt6", true},
    {"\\boxed{\\sqrt{2}\\sqrt{2}}", "2", true},
    {"\\boxed{(\\sqrt{3})^2}", "3", true},
    {"\\boxed{1+\\sqrt{2}}", "\\sqrt{2}+1", true},
    {"\\boxed{1+\\sqrt{2}}", "1-\\sqrt{2}", false},
    {"\\boxed{\\frac{3}{1+\\sqrt{2}}}", "3\\sqrt{2}-3", true},
    {"\\boxed{\\frac{1}{2-\\sqrt{3}}}", "2+\\sqrt{3}", true},
    {"\\boxed{(1+\\sqrt{2})^2}", "3+2\\sqrt{2}", true},
    {"\\boxed{\\frac{2+\\sqrt{8}}{2}}", "1+\\sqrt{2}", true},
    {"\\boxed{\\sqrt[3]{27}}", "3", true},
    {"\\boxed{\\sqrt[3]{-8}}", "-2", true},
    {"\\boxed{\\sqrt[4]{16}}", "2", true},
    {"\\boxed{\\sqrt[10]{1024}}", "2", true},
    {"\\boxed{\\sqrt{x^2}}", "x", false}, // not read (a root of a symbol): text
    {"\\boxed{2^{\\frac{1}{2}}}", "\\sqrt{2}", true},
    {"\\boxed{\\sqrt{-4}}", "2i", false},
    // \pi and symbols
    {"\\boxed{\\frac{\\pi}{2}}", "\\pi/2", true},
    {"\\boxed{\\frac{1}{2}\\pi}", "\\frac{\\pi}{2}", true},
    {"\\boxed{2\\pi}", "\\pi \\cdot 2", true},
    {"\\boxed{\\frac{7\\pi}{6}}", "\\frac{7}{6}\\pi", true},
    {"\\boxed{\\frac{7\\pi}{6}}", "\\frac{5\\pi}{6}", false},
    {"\\boxed{\\pi}", "3.14", false},
    {"\\boxed{16\\pi}", "16 \\pi", true},
    {"\\boxed{4\\pi r^2}", "4 \\pi r^2", true},
    {"\\boxed{2\\pi r}", "2 r \\pi", true},
    {"\\boxed{\\frac{4}{3}\\pi r^3}", "\\frac{4\\pi r^3}{3}", true},
    {"\\boxed{x^2+2x+1}", "(x+1)^2", true},
    {"\\boxed{x^2-1}", "(x-1)(x+1)", true},
    {"\\boxed{x^2+1}", "(x+1)^2", false},
    {"\\boxed{2x+3}", "3+2x", true},
    {"\\boxed{a+b}", "b+a", true},
    {"\\boxed{a-b}", "b-a", false},
    {"\\boxed{\\frac{x}{2}}", "0.5x", true},
    {"\\boxed{\\frac{1}{x+1}}", "\\frac{1}{1+x}", true},
    {"\\boxed{\\frac{2}{2x+2}}", "(x+1)^{-1}", true},
    {"\\boxed{\\frac{1}{x+1}}", "\\frac{1}{x-1}", false},
    {"\\boxed{\\frac{x^2}{x}}", "x", true},
    {"\\boxed{x_1 + x_2}", "x_2+x_1", true},
    {"\\boxed{\\alpha + \\beta}", "\\beta+\\alpha", true},
    {"\\boxed{e^{2x}}", "e^{2 x}", true},
    {"\\boxed{\\sin x}", "\\sin(x)", true},
    {"\\boxed{2\\cos x}", "\\cos(x) \\cdot 2", true},
    {"\\boxed{\\sin^2 x}", "(\\sin x)^2", true},
    {"\\boxed{\\sin x}", "\\cos x", false},
    {"\\boxed{\\ln 2}", "\\ln(2)", true},
    // logarithms of positive rationals are sums over primes; other functions are not evaluated
    {"\\boxed{2\\ln 2}", "\\ln 4", true},
    {"\\boxed{\\ln 32}", "5\\ln 2", true},
    {"\\boxed{\\ln 6}", "\\ln 2 + \\ln 3", true},
    {"\\boxed{\\ln \\frac{1}{2}}", "-\\ln 2", true},
    {"\\boxed{\\ln 1}", "0", true},
    {"\\boxed{\\ln 4}", "\\ln 5", false},
    {"\\boxed{\\log_2 8}", "3", true},
    {"\\boxed{\\log_6 36}", "2", true},
    {"\\boxed{\\log_{10} 1000}", "3", true},
    {"\\boxed{\\log_2 3}", "\\frac{\\ln 3}{\\ln 2}", true},
    {"\\boxed{\\log_2 3}", "\\frac{3}{2}", false},
    {"\\boxed{\\cos\\frac{\\pi}{3}}", "\\frac12", false},
    {"\\boxed{f(x)=x^2}", "f(x) = x^2", true},
    {"\\boxed{y = 2x + 3}", "2x+3", true},
    // degrees, percentages, money, units and \text
    {"\\boxed{90^\\circ}", "90", true},
    {"\\boxed{90^{\\circ}}", "90^\\circ", true},
    {"\\boxed{90\\degree}", "90", true},
    {"\\boxed{45\xc2\xb0}", "45", true},
    {"\\boxed{90^\\circ}", "\\frac{\\pi}{2}", false},
    {"\\boxed{50\\%}", "50", true},
    {"\\boxed{12.5\\%}", "12.5", true},
    {"\\boxed{50\\%}", "0.5", false},
    {"\\boxed{\\$18.50}", "18.5", true},
    {"\\boxed{\\$1,000}", "1000", true},
    {"\\boxed{5\\text{ cm}}", "5", true},
    {"\\boxed{5 \\text{ cm}^2}", "5", true},
    {"\\boxed{5\\text{cm}}", "5", true},
    {"\\boxed{12 \\text{ inches}}", "12", true},
    {"\\boxed{12 \\mbox{ inches}}", "12", true},
    {"\\boxed{3 \\text{ square units}}", "3", true},
    {"\\boxed{20 \\text{ dollars}}", "20", true},
    {"\\boxed{10 apples}", "10", true},
    {"\\boxed{3 square meters}", "3", true},
    {"\\boxed{5 m}", "5", false}, // one letter is a symbol, not a unit
    {"\\boxed{x = 4 \\text{ cm}}", "4", true},
    {"\\boxed{\\frac{1}{2} \\text{ hour}}", "0.5", true},
    {"\\boxed{\\text{Yes}}", "Yes", true},
    {"\\boxed{\\text{Yes}}", "No", false},
    {"\\boxed{\\textbf{(C)}}", "C", true},
    {"\\boxed{\\text{(C)}}", "(C)", true},
    {"\\boxed{C}", "D", false},
    // thousands separators and scientific notation
    {"\\boxed{1,000}", "1000", true},
    {"\\boxed{1,000,000}", "10^6", true},
    {"\\boxed{12,345.5}", "12345.5", true},
    {"\\boxed{1{,}000}", "1000", true},
    {"\\boxed{1\\,000}", "1000", true},
    {"The answer is 1e3", "1000", true},
    {"so it is about 2.5e-3 in the end", "0.0025", true},
    {"I ate 3 eggs", "3", true},
    {"\\boxed{1.5e3}", "1500", true},
    {"\\boxed{2.5E-3}", "0.0025", true},
    {"\\boxed{1.5\\times10^3}", "1500", true},
    {"\\boxed{1.5 \\times 10^{3}}", "1,500", true},
    {"\\boxed{3 \\cdot 10^{-2}}", "0.03", true},
    {"\\boxed{6.02 \\times 10^{5}}", "6.02e5", true},
    {"\\boxed{6.02 \\times 10^{23}}", "6.02e23", false}, // past int64: not read, and the texts differ
    {"\\boxed{1.5\\times10^3}", "15000", false},
    {"\\boxed{2^{10}}", "1024", true},
    {"\\boxed{10^{-3}}", "0.001", true},
    {"\\boxed{2^{-1}}", "0.5", true},
    // x = 4 against 4, and x \in
    {"\\boxed{x=4}", "4", true},
    {"\\boxed{x = 4}", "x=4", true},
    {"\\boxed{4}", "x = 4", true},
    {"\\boxed{n = 12}", "12", true},
    {"\\boxed{x = 4}", "5", false},
    {"The answer is $x = \\frac{1}{2}$.", "0.5", true},
    {"\\boxed{x \\in [1, 2]}", "[1,2]", true},
    {"\\boxed{a_3 = 2}", "2", true},
    // mixed numbers
    {"\\boxed{2\\frac12}", "\\frac{5}{2}", true},
    {"\\boxed{2\\frac{1}{2}}", "2.5", true},
    {"\\boxed{-2\\frac{1}{2}}", "-2.5", true},
    {"\\boxed{3 \\frac{3}{4}}", "\\frac{15}{4}", true},
    {"\\boxed{2\\frac{\\pi}{3}}", "\\frac{2\\pi}{3}", true}, // not a mixed number: a product
    // intervals, unions, tuples, sets
    {"\\boxed{[1, 2)}", "[1,2)", true},
    {"\\boxed{[1, 2)}", "(1,2]", false},
    {"\\boxed{[1, 2)}", "[1,2]", false},
    {"\\boxed{\\left[ 1, 2 \\right)}", "[1,2)", true},
    {"\\boxed{(-\\infty, 3]}", "(-\\infty,3]", true},
    {"\\boxed{(-\\infty, 3)}", "(-\\infty,3]", false},
    {"\\boxed{[\\frac{1}{2}, \\infty)}", "[0.5, \\infty)", true},
    {"\\boxed{(-\\infty, 2) \\cup (3, \\infty)}", "(3,\\infty)\\cup(-\\infty,2)", true},
    {"\\boxed{(-\\infty, 2] \\cup (3, \\infty)}", "(-\\infty,2)\\cup(3,\\infty)", false},
    {"\\boxed{(1, 2)}", "(1,2)", true},
    {"\\boxed{(1, 2)}", "(2,1)", false}, // a tuple is ordered
    {"\\boxed{(\\frac{1}{2}, -3)}", "(0.5, -3)", true},
    {"\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "(3,\\frac{\\pi}{2})", true},
    {"\\boxed{(1, 2, 3)}", "(1,2,3)", true},
    {"\\boxed{(1, 2, 3)}", "(1,3,2)", false},
    {"\\boxed{\\{1, 2\\}}", "\\{2, 1\\}", true},
    {"\\boxed{\\{1, 2, 2\\}}", "\\{1, 2\\}", true},
    {"\\boxed{\\{1, 2\\}}", "\\{1, 3\\}", false},
    {"\\boxed{1, 2, 3}", "3, 2, 1", true},
    {"\\boxed{2, 3}", "\\{3, 2\\}", true},
    {"\\boxed{-2, 3}", "3,-2", true},
    {"\\boxed{1, 2}", "1, 2, 3", false},
    {"\\boxed{\\sqrt{2}, -\\sqrt{2}}", "\\pm\\sqrt2", true},
    {"\\boxed{x = 1, x = 2}", "2, 1", true},
    {"\\boxed{a_3 = 2, a_{37} = 19}", "19, 2", true},
    {"\\boxed{\\emptyset}", "\\{\\}", true},
    {"\\boxed{\\{1,3\\} \\cup \\{2,4\\}}", "\\{1,2,3,4\\}", true},
    {"\\boxed{\\{1,3\\} \\cup \\{2\\}}", "\\{1,2,3,4\\}", false},
    // extraction with the new readings
    {"The final answer is $\\sqrt{2}$. I hope it is correct.", "\\sqrt{2}", true},
    {"The answer is $\\frac{\\sqrt{3}}{2}$", "\\frac{\\sqrt3}{2}", true},
    {"The answer is $(1, 2)$.", "(1,2)", true},
    {"The answer is $2^{74}$.", "2^{74}", true}, // not read (past int64), but the span is the answer
    {"The final answer is $x^2 + 3y$. I hope it is correct.", "x^2+3y", true},
    {"The answer is $5 and $3 back", "5", true}, // money, not a span of mathematics
    {"**Final Answer:** 42", "42", true},
    {"**Final Answer**: 42", "42", true},
    {"**Final Answer**\n\\[\\boxed{7}\\]", "7", true},
    {"So the answer is \\boxed{x=4}.", "4", true},
    {"#### 1,234", "1234", true},
    {"#### $1,234", "1234", true},
    {"The answer is: 12 apples.", "12", true},
    {"The answer is 3 + 4 = 7.", "7", true},
    {"<think>maybe 5</think>The answer is $\\boxed{{\\frac{10}{4}}}$", "5/2", true},
    {"$\\boxed{35 \\text{ cm}}$", "35", true},
    {"Therefore \\boxed{\\frac{11}{36}}", "\\frac{11}{36}", true},
    {"the sum is 2,552,004. So \\boxed{004}", "4", true},
    // what stays text
    {"\\boxed{\\text{The midpoints form a hexagon}}", "\\text{The midpoints form a hexagon}", true},
    {"\\boxed{xy}", "yx", false},
    // inequalities of one symbol are intervals; \pm is a set of two
    {"\\boxed{-793 < a < 10}", "(-793, 10)", true},
    {"\\boxed{x > 3}", "(3, \\infty)", true},
    {"\\boxed{x \\ge 3}", "[3, \\infty)", true},
    {"\\boxed{x \\geq 3}", "(3, \\infty)", false},
    {"\\boxed{x < -1}", "(-\\infty, -1)", true},
    {"\\boxed{3 > x}", "(-\\infty, 3)", true},
    {"\\boxed{0 \\le t \\le 1}", "[0,1]", true},
    {"\\boxed{5 \\geq x > 2}", "(2,5]", true},
    {"\\boxed{x < 1 < y}", "(-\\infty,1)", false}, // not one symbol's interval: text
    {"\\boxed{1 \\pm \\sqrt{2}}", "1+\\sqrt2, 1-\\sqrt2", true},
    {"\\boxed{x = \\pm 3}", "3, -3", true},
    {"\\boxed{\\pm 3}", "3", false},
    {"\\boxed{\\begin{pmatrix} 1\\\\2 \\end{pmatrix}}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", true},
};

static void test_equal_table(void) {
    int n = (int)(sizeof eq_cases / sizeof eq_cases[0]);
    CHECK(n >= 150);
    for (int i = 0; i < n; i++) {
        const ecase *c = &eq_cases[i];
        bool ok = verify_response(c->response, c->gold, NULL);
        CHECK_INT(ok, c->correct);
        if (ok != c->correct) fprintf(stderr, "  eq case %d: response \"%s\", gold \"%s\"\n", i, c->response, c->gold);
    }
}

// Equality is a comparison of canonical forms, so it is symmetric and transitive: majority voting
// (eval, best-of-n) groups answers by it.
static void test_equal_classes(void) {
    static const char *const same[][4] = {
        {"x = 4", "4", "\\boxed{4}", "4.0"},
        {"\\frac{10}{4}", "2.5", "5/2", "2\\frac12"},
        {"\\sqrt8", "2\\sqrt2", "\\sqrt{2}\\cdot 2", "\\frac{4}{\\sqrt2}"},
        {"1e3", "1000", "1,000", "10^3"},
        {"\\{1,2\\}", "2, 1", "1,2", "\\{2, 1, 1\\}"},
    };
    for (size_t k = 0; k < sizeof same / sizeof same[0]; k++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                CHECK(verify_equal(same[k][i], same[k][j]));
                if (k > 0) CHECK(!verify_equal(same[k][i], same[k - 1][j]));
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
    check_norm("\\sqrt{8}", "2*sqrt(2)");
    check_norm("\\frac{1}{\\sqrt2}", "1/2*sqrt(2)");
    check_norm("\\frac{\\pi}{2}", "1/2*pi");
    check_norm("(x+1)^2", "1+2*x+x^2");
    check_norm("x = 4", "4");
    check_norm("1.5\\times10^3", "1500");
    check_norm("2, 1", "{1,2}");
    check_norm("\\left[ 1, 2 \\right)", "[1,2)");
    check_norm("(-\\infty, 0) \\cup (1, \\infty)", "(-infty,0)\\cup(1,infty)");
    check_norm("\\frac{1}{x+1}", "(1+x)^-1");
    check_norm("2\\sin x", "2*sin(x)");
    check_norm("5\\text{ cm}^2", "5");
    check_norm("\\sqrt{-1}", "\\sqrt{-1}"); // not read: text
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
    // Deep nesting of every kind is refused, not recursed into (the stack stays small).
    static const char *const open_close[][3] = {{"\\{", "1", "\\}"}, {"(1,", "2", ")"}, {"x=", "2", ""},
                                                {"\\sqrt{", "4", "}"}, {"-", "5", ""}, {"", "5", "%"}};
    for (size_t k = 0; k < sizeof open_close / sizeof open_close[0]; k++) {
        size_t reps = 50000, lo = strlen(open_close[k][0]), lc = strlen(open_close[k][2]);
        char *deep = malloc(reps * (lo + lc) + 16), *w = deep;
        for (size_t i = 0; i < reps; i++, w += lo) memcpy(w, open_close[k][0], lo);
        w += sprintf(w, "%s", open_close[k][1]);
        for (size_t i = 0; i < reps; i++, w += lc) memcpy(w, open_close[k][2], lc);
        *w = '\0';
        char *norm = verify_normalize(deep);
        CHECK(norm != NULL);
        free(norm);
        free(deep);
    }
    // The math reader on random LaTeX-ish text: never crashes, and every answer equals itself.
    static const char math[] = "0123456789+-*/^_.,()[]{}=x \\fracsqrtpiinftycdot\\{\\}%$";
    for (int i = 0; i < 20000; i++) {
        int len = 1 + (int)fx_rng_below(&r, 60);
        for (int c = 0; c < len; c++) buf[c] = math[fx_rng_below(&r, sizeof math - 1)];
        buf[len] = '\0';
        char *norm = verify_normalize(buf);
        CHECK(norm != NULL);
        free(norm);
        if (strlen(buf) > 0 && !verify_equal(buf, buf)) {
            char *t = verify_normalize(buf);
            CHECK(t[0] == '\0'); // only an empty answer is not equal to itself
            free(t);
        }
    }
}

int main(void) {
    test_table();
    test_equal_table();
    test_equal_classes();
    test_normalize();
    test_robust();
    return test_summary("test_verify");
}
