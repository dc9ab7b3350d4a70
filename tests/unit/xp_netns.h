/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests that need real ports (root): a network namespace of the
 * process's own, built with ip(8) commands. It goes away with the process,
 * whatever the test's outcome.
 */
#ifndef XP_NETNS_H
#define XP_NETNS_H

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

/* Enter a new network namespace and run cmds there, quietly. 0, -errno, or -1 (a command failed). */
static inline int xp_netns_enter(const char *const *cmds, unsigned n)
{
    if (unshare(CLONE_NEWNET))
        return -errno;
    for (unsigned i = 0; i < n; i++) {
        char cmd[256];

        snprintf(cmd, sizeof(cmd), "%s >/dev/null 2>&1", cmds[i]);
        if (system(cmd) != 0) {
            fprintf(stderr, "netns setup: %s failed\n", cmds[i]);
            return -1;
        }
    }
    return 0;
}

#endif /* XP_NETNS_H */
