// verify_expr.h — one answer expression read as an exact value (internal to rollout/: the
// structures of verify_math.c are built on it). Rules in verify_math.h.
#ifndef FLUXRL_VERIFY_EXPR_H
#define FLUXRL_VERIFY_EXPR_H

#include <stdbool.h>

// The canonical text of s read whole as one expression ("3/2", "2*sqrt(2)", "x^2+1"), malloc'd;
// NULL when it is not one. With groups, "1,000" is a thousands group (not inside tuples and sets).
char *verify_expr_canon(const char *s, bool groups);

// Whether s reads as exactly one symbol (the left side of "x = 4", the x of "x > 3").
bool verify_expr_is_symbol(const char *s);

#endif
