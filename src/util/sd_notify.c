// SPDX-License-Identifier: GPL-2.0-only
/*
 * sd_notify(3)'s protocol (sd_notify.h). The socket is opened once and left
 * unconnected: each message is a sendto() of the address, so a manager that
 * re-executed itself (and recreated its socket) still gets our pings, and a
 * process that dropped its privileges keeps the descriptor it needs.
 */
#include "sd_notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int sd_fd = -1;
static struct sockaddr_un sd_addr;
static socklen_t sd_addr_len;
static uint64_t wd_usec;
static uint64_t wd_last_us;

static uint64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* "/path" or "@abstract" into sd_addr; -EINVAL for anything else (systemd ignores it too). */
static int parse_address(const char *name)
{
    size_t len = strlen(name);

    memset(&sd_addr, 0, sizeof(sd_addr));
    sd_addr.sun_family = AF_UNIX;
    if ((name[0] != '/' && name[0] != '@') || len < 2 || len > sizeof(sd_addr.sun_path))
        return -EINVAL;
    memcpy(sd_addr.sun_path, name, len);
    if (name[0] == '@')
        sd_addr.sun_path[0] = '\0'; /* abstract: the length, not a NUL, ends the name */
    sd_addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    return 0;
}

static void read_watchdog(void)
{
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    unsigned long long v;
    char *end;

    wd_usec = 0;
    if (!usec)
        return;
    /* meant for another process (a wrapper's child): not ours to ping */
    if (pid) {
        errno = 0;
        v = strtoull(pid, &end, 10);
        if (errno || *end || end == pid || v != (unsigned long long)getpid())
            return;
    }
    errno = 0;
    v = strtoull(usec, &end, 10);
    if (errno || *end || end == usec || v == 0) {
        pr_warn("WATCHDOG_USEC=\"%s\" is not a positive number: no watchdog pings", usec);
        return;
    }
    wd_usec = v;
    wd_last_us = mono_us();
}

void xp_sd__init(void)
{
    const char *name = getenv("NOTIFY_SOCKET");

    if (sd_fd >= 0) {
        close(sd_fd);
        sd_fd = -1;
    }
    read_watchdog();
    if (name) {
        if (parse_address(name) < 0) {
            pr_warn("NOTIFY_SOCKET=\"%s\" is neither a path nor an @abstract name: no "
                    "readiness notification", name);
        } else {
            sd_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (sd_fd < 0)
                pr_warn("notify socket: %s", strerror(errno));
        }
    }
    if (sd_fd < 0)
        wd_usec = 0; /* nobody to ping */
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}

bool xp_sd__enabled(void)
{
    return sd_fd >= 0;
}

int xp_sd__notify(const char *state)
{
    ssize_t n;

    if (sd_fd < 0)
        return 0;
    do
        n = sendto(sd_fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sd_addr,
                   sd_addr_len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return (size_t)n == strlen(state) ? 0 : -EMSGSIZE;
}

int xp_sd__notifyf(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    int n;

    if (sd_fd < 0)
        return 0;
    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(msg))
        return -EMSGSIZE;
    return xp_sd__notify(msg);
}

uint64_t xp_sd__watchdog_usec(void)
{
    return wd_usec;
}

bool xp_sd__watchdog_due(void)
{
    return wd_usec && mono_us() - wd_last_us >= wd_usec / 2;
}

bool xp_sd__watchdog_tick(void)
{
    int ret;

    if (!xp_sd__watchdog_due())
        return false;
    wd_last_us = mono_us();
    ret = xp_sd__notify("WATCHDOG=1");
    if (ret < 0) {
        pr_warn("watchdog ping: %s", strerror(-ret));
        return false;
    }
    return true;
}
