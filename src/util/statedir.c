// SPDX-License-Identifier: GPL-2.0-only
#include "statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int xp_statedir__ensure_parent(const char *file, mode_t mode, char *why, size_t why_len)
{
    char dir[4096];
    struct stat st;
    char *slash;
    size_t len;

    len = strlen(file);
    if (len >= sizeof(dir)) {
        snprintf(why, why_len, "%s: path too long", file);
        return -ENAMETOOLONG;
    }
    memcpy(dir, file, len + 1);
    slash = strrchr(dir, '/');
    if (!slash)
        return 0;
    while (slash > dir && slash[-1] == '/')
        slash--;
    if (slash == dir)
        return 0; /* in "/" */
    *slash = '\0';
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        snprintf(why, why_len, "%s (for %s) is not a directory", dir, file);
        return -ENOTDIR;
    }
    /* each missing component from the top: mkdir -p, with our mode on every one we make */
    for (char *p = dir + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;

        *p = '\0';
        if (mkdir(dir, mode) < 0 && errno != EEXIST) {
            int err = errno;

            snprintf(why, why_len, "cannot create %s (for %s): %s", dir, file, strerror(err));
            return -err;
        }
        *p = saved;
        if (!saved)
            break;
    }
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, why_len, "%s (for %s) is not a directory", dir, file);
        return -ENOTDIR;
    }
    return 0;
}

int xp_statedir__fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    char *slash;
    int fd, ret = 0;

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0)
        ret = -errno;
    close(fd);
    return ret;
}
