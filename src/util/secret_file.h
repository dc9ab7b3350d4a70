/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Files that hold secrets (sync secrets, tunnel keys): read them, and refuse
 * the ones anybody on the box can read. A secret in a world-readable file is
 * not a secret: every such file is an error that names the file, its mode
 * and the fix, never a warning that scrolls by.
 */
#ifndef XP_SECRET_FILE_H
#define XP_SECRET_FILE_H

#include <stddef.h>

/*
 * 0 if path is not readable by others (mode & 0004 clear), -EPERM if it is,
 * -errno if it cannot be looked at. On error, err says why.
 */
int xp_secret_file__check_mode(const char *path, char *err, size_t err_len);

/*
 * Read a secret file: its content without surrounding white space, NUL
 * terminated, into buf[size]. The mode check above first. Returns the
 * length, or -EPERM (readable by others), -EMSGSIZE (longer than size - 1),
 * -EINVAL (empty), -errno; err says why.
 */
int xp_secret_file__read(const char *path, char *buf, size_t size, char *err, size_t err_len);

#endif /* XP_SECRET_FILE_H */
