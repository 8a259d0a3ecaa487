// verify.h — the answer verifier: extract the final answer of a response and compare it with a
// gold answer after normalisation. Rules (the full list is in docs/tasks.md):
//
// Extraction, first rule that finds a non-empty answer wins, in the text after the last `</think>`
// when there is one (the thinking is never searched):
//   1. the last \boxed{…} (or \fbox{…}, or `\boxed 5`), braces nested; an unbalanced or empty box
//      is skipped in favour of the one before it;
//   2. the last "answer is" / "answer:" (any case: "The answer is", "Final Answer:", "Answer:",
//      "**Answer**:"; not "answer isn't"): the rest of that line, without a final '.'; the line
//      itself when it reads as mathematics (verify_math.h) and has no '='; else its first $…$ span
//      that does; else what follows its last '=' when that does; else the first number after its
//      last '=' or in it ("The answer is 12 apples." → "12");
//   3. the last "####" (GSM8K), the rest of its line, as in 2;
//   4. the last number in the text ("-3", "1,234", "2.5", "1e3", "3/4", "50%").
//
// Comparison: both sides are cleaned (wrappers, $, \left, \text units and unit words after a value,
// degree marks) and read as exact mathematics (verify_math.h): 0.5 = 1/2 = \frac{2}{4},
// \sqrt8 = 2\sqrt2, 1.5\times10^3 = 1.5e3 = 1,500, `x = 4` = 4, \{1,2\} = 2, 1, with int64
// rational arithmetic, never floats. A percentage drops its sign: "50%" = "50", and "50%" ≠ "0.5".
// What is not read (words, matrices, a logarithm to evaluate) is compared as text without whitespace.
#ifndef FLUXRL_VERIFY_H
#define FLUXRL_VERIFY_H

#include <stdbool.h>

// The final answer of a response as written (e.g. "\frac{1}{2}", "1,234"), malloc'd; NULL if none.
char *verify_extract(const char *response);

// The canonical form of an answer: "p" or "p/q" (q > 1, reduced) for a rational, the canonical text
// of verify_math_canon for other mathematics ("2*sqrt(2)", "{1,2}", "[0,1)"), else the answer
// without wrappers and whitespace. Malloc'd; never NULL ("" for an empty answer).
char *verify_normalize(const char *answer);

// True when both normalise to the same non-empty canonical form (so an equivalence: symmetric and
// transitive, which majority voting relies on).
bool verify_equal(const char *answer, const char *gold);

// Extracts the answer of response and compares it with gold. When extracted is not NULL it receives
// the extracted answer (malloc'd, or NULL when none was found; the caller frees it).
bool verify_response(const char *response, const char *gold, char **extracted);

#endif
