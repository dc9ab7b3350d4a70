/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The service manager's readiness and watchdog protocol (sd_notify(3)),
 * spoken directly: one datagram of "KEY=VALUE\n" lines to the AF_UNIX
 * socket named by $NOTIFY_SOCKET (a path, or an abstract name written with
 * a leading '@'). systemd documents the protocol as stable and meant to be
 * implemented without libsystemd; doing so keeps the daemons free of one
 * more shared library for about a hundred lines, and lets the proxy keep the
 * watchdog across its monitor fork (libsystemd's sd_watchdog_enabled()
 * compares $WATCHDOG_PID with getpid() on every call, which the forked
 * proxy never matches).
 *
 * Outside systemd (no $NOTIFY_SOCKET) every call is a no-op returning 0.
 */
#ifndef XP_SD_NOTIFY_H
#define XP_SD_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Read $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID once, in the process
 * the service manager started (before any fork), open the socket (CLOEXEC),
 * and unset the three variables so that no child we run (hooks, scripts)
 * talks to the manager in our name. A malformed variable is logged and
 * that part is off. Main thread, once; calling it again re-reads the
 * environment (tests).
 */
void xp_sd__init(void);

/* Whether $NOTIFY_SOCKET named a usable socket. */
bool xp_sd__enabled(void);

/*
 * Send state ("READY=1\nSTATUS=...") as one datagram. 0 when sent or when
 * not under a service manager; -errno when the send failed. Any thread
 * (one sendto()).
 */
int xp_sd__notify(const char *state);
int xp_sd__notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The watchdog period in microseconds, 0 when the manager asked for none. */
uint64_t xp_sd__watchdog_usec(void);

/*
 * From the loop whose progress proves the daemon alive: send WATCHDOG=1
 * when half the period has passed since the last one (the manager's own
 * advice). Returns true when it sent. One thread.
 */
bool xp_sd__watchdog_tick(void);

/* Whether a watchdog ping is due (half the period passed); false when off. */
bool xp_sd__watchdog_due(void);

#endif /* XP_SD_NOTIFY_H */
