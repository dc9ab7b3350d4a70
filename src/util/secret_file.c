// SPDX-License-Identifier: GPL-2.0-only
#include "src/util/secret_file.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int xp_secret_file__check_mode(const char *path, char *err, size_t err_len)
{
    struct stat st;

    if (stat(path, &st) < 0) {
        int e = errno;

        snprintf(err, err_len, "%s: %s", path, strerror(e));
        return -e;
    }
    if (st.st_mode & S_IROTH) {
        snprintf(err, err_len,
                 "%s holds a secret and is readable by everyone (mode %04o): "
                 "chmod o-r %s (0600 or 0640)",
                 path, (unsigned)(st.st_mode & 07777), path);
        return -EPERM;
    }
    return 0;
}

int xp_secret_file__read(const char *path, char *buf, size_t size, char *err, size_t err_len)
{
    size_t len = 0, start = 0;
    ssize_t n;
    int fd, ret;

    ret = xp_secret_file__check_mode(path, err, err_len);
    if (ret)
        return ret;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ret = -errno;
        snprintf(err, err_len, "%s: %s", path, strerror(-ret));
        return ret;
    }
    while (len < size && (n = read(fd, buf + len, size - len)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            ret = -errno;
            close(fd);
            snprintf(err, err_len, "%s: %s", path, strerror(-ret));
            return ret;
        }
        len += (size_t)n;
    }
    /* a secret that does not fit is an error, not a truncation */
    if (len == size) {
        char more;

        while ((n = read(fd, &more, 1)) < 0 && errno == EINTR)
            ;
        if (n > 0)
            len = size + 1;
    }
    close(fd);
    while (len > 0 && len <= size && isspace((unsigned char)buf[len - 1]))
        len--;
    while (start < len && isspace((unsigned char)buf[start]))
        start++;
    if (len >= size) {
        snprintf(err, err_len, "%s: longer than a secret can be (%zu bytes)", path, size - 1);
        return -EMSGSIZE;
    }
    memmove(buf, buf + start, len - start);
    len -= start;
    buf[len] = '\0';
    if (!len) {
        snprintf(err, err_len, "%s: empty", path);
        return -EINVAL;
    }
    return (int)len;
}
