/* SPDX-License-Identifier: GPL-2.0-only */
/* Exit codes of every xpro program. Only main() exits. Documented in README.md. */
#ifndef XP_EXIT_CODES_H
#define XP_EXIT_CODES_H

#include <errno.h>

enum xp_exit {
    EXIT_OK = 0,
    EXIT_FAIL = 1,
    EXIT_FAIL_OPTION = 2,   /* bad option or configuration */
    EXIT_FAIL_BPF = 3,      /* XDP program load or attach */
    EXIT_FAIL_MEM = 4,
    EXIT_FAIL_IFACE = 5,    /* interface missing */
    EXIT_FAIL_PERM = 6,     /* permission denied */
    EXIT_FAIL_BUSY = 7,     /* an AF_XDP socket already holds the queue */
    EXIT_FAIL_XDP_EXISTS = 8, /* another XDP program is attached */
    EXIT_FAIL_BPFFS = 9,    /* no BPF filesystem at /sys/fs/bpf */
};

/* The exit code of a set-up step that failed with errno ERR (positive). */
static inline int xp_exit_code_of_errno(int err)
{
    switch (err) {
    case ENODEV:
        return EXIT_FAIL_IFACE;
    case EPERM:
    case EACCES:
        return EXIT_FAIL_PERM;
    case EBUSY:
        return EXIT_FAIL_BUSY;
    case EEXIST:
        return EXIT_FAIL_XDP_EXISTS;
    case ENOMEM:
        return EXIT_FAIL_MEM;
    default:
        return EXIT_FAIL;
    }
}

#endif /* XP_EXIT_CODES_H */
