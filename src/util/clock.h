/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The clocks, read one way everywhere. Named clock.h, not time.h: this
 * folder is on the include path, and <time.h> must stay the system's.
 *
 * Monotonic time measures intervals, timeouts and expiries inside one run
 * (it never steps); real time stamps what leaves the process or must mean
 * the same across restarts and hosts (pair timestamps, sync rows, sequence
 * numbers seeded from the wall clock). Any thread; cheap (vDSO, no system
 * call), so fine on the hot path.
 *
 * clock_gettime() cannot fail for these two clock ids with a valid pointer,
 * so its result is not checked.
 */
#ifndef XP_UTIL_CLOCK_H
#define XP_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* The same tokens as src/policer/policer.h: two identical definitions are legal C. */
#define XP_NSEC_PER_SEC 1000000000ULL

/* Nanoseconds of clock id (CLOCK_MONOTONIC, CLOCK_REALTIME, ...). */
static inline uint64_t xp_clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * XP_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t xp_mono_ns(void)
{
    return xp_clock_ns(CLOCK_MONOTONIC);
}

/* CLOCK_MONOTONIC in milliseconds (truncated). */
static inline uint64_t xp_mono_ms(void)
{
    return xp_mono_ns() / 1000000ULL;
}

/* CLOCK_REALTIME in nanoseconds since the Unix epoch. */
static inline uint64_t xp_real_ns(void)
{
    return xp_clock_ns(CLOCK_REALTIME);
}

/* CLOCK_MONOTONIC in seconds, for intervals printed or compared as doubles. */
static inline double xp_mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CLOCK_REALTIME in seconds since the Unix epoch. */
static inline double xp_real_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Sleep about ns nanoseconds (CLOCK_MONOTONIC). A signal may cut it short:
 * for pauses inside polling loops, which look again anyway.
 */
static inline void xp_sleep_ns(uint64_t ns)
{
    struct timespec ts = {
        .tv_sec = (time_t)(ns / XP_NSEC_PER_SEC),
        .tv_nsec = (long)(ns % XP_NSEC_PER_SEC),
    };

    nanosleep(&ts, NULL);
}

#endif /* XP_UTIL_CLOCK_H */
