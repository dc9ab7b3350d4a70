// SPDX-License-Identifier: GPL-2.0-only
#include "syslog_sink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

struct xp_syslog {
    int fd;
    struct sockaddr_un addr;
    char ident[32];
    uint64_t failures;
};

struct xp_syslog *xp_syslog__open(const char *path, const char *ident)
{
    struct xp_syslog *s;

    if (strlen(path) >= sizeof(s->addr.sun_path)) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd == -1) {
        int err = errno;

        free(s);
        errno = err;
        return NULL;
    }
    s->addr.sun_family = AF_UNIX;
    memcpy(s->addr.sun_path, path, strlen(path) + 1);
    snprintf(s->ident, sizeof(s->ident), "%s", ident);
    return s;
}

void xp_syslog__close(struct xp_syslog *s)
{
    if (!s)
        return;
    close(s->fd);
    free(s);
}

int xp_syslog__send(struct xp_syslog *s, int severity, const char *msg)
{
    char buf[2048], stamp[32];
    struct tm tm;
    time_t now = time(NULL);
    int n;

    localtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
    n = snprintf(buf, sizeof(buf), "<%d>%s %s[%d]: %s", LOG_DAEMON | severity, stamp, s->ident,
                 (int)getpid(), msg);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n >= sizeof(buf))
        n = sizeof(buf) - 1;
    if (sendto(s->fd, buf, n, MSG_DONTWAIT, (struct sockaddr *)&s->addr, sizeof(s->addr)) == -1) {
        s->failures++;
        return -errno;
    }
    return 0;
}

uint64_t xp_syslog__failures(const struct xp_syslog *s)
{
    return s->failures;
}
