// verify_math.h — the verifier's exact reading of an answer as mathematics (internal to rollout/:
// verify.c calls it on an answer cleaned of wrappers). The canonical text it returns is equal for
// two answers exactly when they are the same value under these rules:
//   - numbers are exact: rationals (int64 p/q), sums of rational multiples of √d (d squarefree,
//     so √8 = 2√2, 1/√2 = √2/2), monomials in π, ∞, letters and Greek letters (x^2+1 = 1+x^2);
//     + - * / ^ (integer powers, ^{1/2}), \frac, \sqrt, \sqrt[n] of perfect powers, implicit
//     products (2\sqrt2, 2\pi r), mixed numbers (2\frac12 = 5/2), scientific notation (1e3,
//     1.5\times10^3), thousands groups (1,000), a trailing % dropped (50% = 50);
//   - `x = 4` and `x \in [1,2]` (a single symbol on the left) are their right-hand side;
//     inequalities of one symbol are its interval (`x > 3` = `(3, \infty)`); `a \pm b` is {a+b, a-b};
//   - `\{a, b\}` and a bare list `a, b` are sets (any order, duplicates once); `(a, b)` is an
//     ordered tuple (or open interval: the same thing written the same way); `[a, b)`, `(a, b]`,
//     `[a, b]` are intervals; `A \cup B` is a union in any order.
// Anything else (a function such as \sin, a run of letters such as "Yes", a division by a sum that
// is not a + b√d) is not read: NULL, and the caller compares text.
#ifndef FLUXRL_VERIFY_MATH_H
#define FLUXRL_VERIFY_MATH_H

// The canonical text of s (malloc'd): "p" or "p/q" for a rational, "2*sqrt(2)", "1/2*pi",
// "x^2+1", "{1,2}", "(1,2)", "[0,1)", … ; NULL when s is not read as mathematics.
char *verify_math_canon(const char *s);

#endif
