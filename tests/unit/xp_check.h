/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The unit tests' checks: a failed check prints where and what, counts,
 * and the test goes on, so one run shows every failure. main() returns
 * non-zero when `failures` is.
 */
#ifndef XP_CHECK_H
#define XP_CHECK_H

#include <stdio.h>

static int failures;
static int checks; /* how many were evaluated: a test that checks nothing says so */

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        checks++;                                                                         \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, __func__, \
                    #cond);                                                               \
            failures++;                                                                   \
        }                                                                                 \
    } while (0)

/* Integer equality; values are printed both unsigned and signed. */
#define CHECK_EQ(a, b)                                                                    \
    do {                                                                                  \
        unsigned long long va_ = (unsigned long long)(a), vb_ = (unsigned long long)(b);  \
        checks++;                                                                         \
        if (va_ != vb_) {                                                                 \
            fprintf(stderr, "%s:%d: %s: %s == %llu (%lld), expected %s == %llu (%lld)\n", \
                    __FILE__, __LINE__, __func__, #a, va_, (long long)va_, #b, vb_,        \
                    (long long)vb_);                                                      \
            failures++;                                                                   \
        }                                                                                 \
    } while (0)

/* A check with its own message: CHECK_MSG(cond, "fmt", args...). */
#define CHECK_MSG(cond, ...)                                                              \
    do {                                                                                  \
        checks++;                                                                         \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: %s: FAIL: ", __FILE__, __LINE__, __func__);           \
            fprintf(stderr, __VA_ARGS__);                                                 \
            fputc('\n', stderr);                                                          \
            failures++;                                                                   \
        }                                                                                 \
    } while (0)

/* The end of a test's main(): what ran and what failed, and the exit status. A test
 * that evaluated no check fails: it cannot have shown anything. */
static inline int xp_check_report(const char *test)
{
    if (failures) {
        fprintf(stderr, "%s: %d of %d checks failed\n", test, failures, checks);
        return 1;
    }
    if (!checks) {
        fprintf(stderr, "%s: no check ran\n", test);
        return 1;
    }
    printf("%s: %d checks passed\n", test, checks);
    return 0;
}

#endif /* XP_CHECK_H */
