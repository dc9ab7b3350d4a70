/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Giving up root after set-up (docs/operators.md "Privileges"): switch the
 * process to an account and keep only the capabilities it still needs,
 * for good. No libcap: the few system calls are made directly.
 *
 * Call xp_priv__drop() while the process has one thread: capabilities are
 * per thread, and threads started before would keep theirs.
 */
#ifndef XP_PRIVILEGE_H
#define XP_PRIVILEGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define XP_PRIV_MAX_GROUPS 64

/* The account to become. */
struct xp_priv_target {
    char name[32];
    uid_t uid;
    gid_t gid;
    unsigned n_groups;
    gid_t groups[XP_PRIV_MAX_GROUPS]; /* its supplementary groups */
};

/* Look up an account by name. 0, or -ENOENT / -errno with err set. */
int xp_priv__resolve(const char *user, struct xp_priv_target *out, char *err, size_t err_len);

/*
 * Become t for good, keeping exactly the capabilities in keep (a bit per
 * CAP_* number) as permitted and effective, none inheritable or ambient,
 * the bounding set cut to them, and no_new_privs set. Checked afterwards:
 * the ids, the sets, and that root cannot be regained. 0, or -errno with
 * err set (the process is then in an unknown state: exit).
 */
int xp_priv__drop(const struct xp_priv_target *t, uint64_t keep, char *err, size_t err_len);

/* The calling thread's effective capabilities, a bit per CAP_* number (0 on error). */
uint64_t xp_priv__effective(void);

/* "cap_net_admin,cap_bpf" for a set, "none" for 0. */
void xp_priv__names(uint64_t caps, char *buf, size_t len);

#endif /* XP_PRIVILEGE_H */
