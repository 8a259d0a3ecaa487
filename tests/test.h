// test.h — the few assertions fluxrl's C tests use. Each failure prints file:line and the values;
// a test program ends with test_summary(), which prints "N passed, N failed" and sets the exit code.
#ifndef FLUXRL_TEST_H
#define FLUXRL_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int test_passed, test_failed;

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (cond) test_passed++;                                                               \
        else {                                                                                 \
            test_failed++;                                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);           \
        }                                                                                      \
    } while (0)

#define CHECK_INT(a, b)                                                                        \
    do {                                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                                    \
        if (a_ == b_) test_passed++;                                                           \
        else {                                                                                 \
            test_failed++;                                                                     \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b, a_, b_); \
        }                                                                                      \
    } while (0)

#define CHECK_STR(a, b)                                                                        \
    do {                                                                                       \
        const char *a_ = (a), *b_ = (b);                                                       \
        if (a_ && b_ && strcmp(a_, b_) == 0) test_passed++;                                    \
        else {                                                                                 \
            test_failed++;                                                                     \
            fprintf(stderr, "%s:%d: %s == %s failed:\n  got  \"%s\"\n  want \"%s\"\n", __FILE__, __LINE__, #a, #b, \
                    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                   \
        }                                                                                      \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                  \
    do {                                                                                       \
        double a_ = (a), b_ = (b);                                                             \
        if (fabs(a_ - b_) <= (tol)) test_passed++;                                             \
        else {                                                                                 \
            test_failed++;                                                                     \
            fprintf(stderr, "%s:%d: |%s - %s| <= %g failed: %.17g vs %.17g\n", __FILE__, __LINE__, #a, #b, \
                    (double)(tol), a_, b_);                                                    \
        }                                                                                      \
    } while (0)

static inline int test_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, test_passed, test_failed);
    return test_failed ? 1 : 0;
}

#endif
