// verify.h — the answer verifier: extract the final answer of a response and compare it with a
// gold answer after normalisation. Rules (the full list is in docs/tasks.md):
//
// Extraction, first rule that finds a non-empty answer wins, in the text after the last `</think>`
// when there is one (the thinking is never searched):
//   1. the last \boxed{…} (or \fbox{…}, or `\boxed 5`), braces nested; an unbalanced or empty box
//      is skipped in favour of the one before it;
//   2. the last "answer is" / "answer:" (any case: "The answer is", "Final Answer:", "Answer:";
//      not "answer isn't"): the rest of that line, without a final '.'; when that is not a number
//      as a whole, the first number after its last '=' or in it ("The answer is 12 apples." → "12");
//   3. the last "####" (GSM8K), the rest of its line, as in 2;
//   4. the last number in the text ("-3", "1,234", "2.5", "3/4", "50%").
//
// Comparison: both sides are normalised; numbers become a reduced fraction "p" or "p/q", so
// 0.5 = 1/2 = \frac{1}{2} = .50 exactly (int64 rational arithmetic, never floats). A percentage
// drops its sign: "50%" = "50", and "50%" ≠ "0.5". Anything that is not a number is compared as text
// with LaTeX wrappers and all whitespace removed.
#ifndef FLUXRL_VERIFY_H
#define FLUXRL_VERIFY_H

#include <stdbool.h>

// The final answer of a response as written (e.g. "\frac{1}{2}", "1,234"), malloc'd; NULL if none.
char *verify_extract(const char *response);

// The canonical form of an answer: "p" or "p/q" (q > 1, reduced) for a number, else the answer
// without wrappers and whitespace. Malloc'd; never NULL ("" for an empty answer).
char *verify_normalize(const char *answer);

// True when both normalise to the same non-empty canonical form.
bool verify_equal(const char *answer, const char *gold);

// Extracts the answer of response and compares it with gold. When extracted is not NULL it receives
// the extracted answer (malloc'd, or NULL when none was found; the caller frees it).
bool verify_response(const char *response, const char *gold, char **extracted);

#endif
