/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The directory a state file lives in. On a fresh host nothing but the
 * systemd unit's StateDirectory= creates /var/lib/xpro, and a hand start (or
 * a state_file elsewhere) has no unit to do it: the daemons create the
 * missing directories themselves, private to their account.
 */
#ifndef XP_STATEDIR_H
#define XP_STATEDIR_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Make sure the directory holding file exists, creating each missing
 * component with mode (0700 for state). 0, or -errno with "cannot create
 * DIR for FILE: reason" (or "DIR is not a directory") in why. A file with no
 * directory part is in the working directory: 0. Any thread.
 */
int xp_statedir__ensure_parent(const char *file, mode_t mode, char *why, size_t why_len);

/*
 * fsync() the directory holding path, so that a file just renamed into it
 * survives a crash (the last step of temp + fsync + rename). 0 or -errno.
 */
int xp_statedir__fsync_parent(const char *path);

#endif /* XP_STATEDIR_H */
