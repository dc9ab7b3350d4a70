// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket client: connect, one request and its reply, or a stream of lines.
 * Blocking from the caller's point of view, but every wait is a poll() with a deadline,
 * so a hung proxy cannot hang xpro-ctl.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "src/ctl/ctl.h"
#include "src/util/clock.h"

#define CLIENT_MAX_LINE (16u << 20)

struct xp_ctl_client {
    int fd;
    char *buf;
    size_t off, len, cap;
};

/* Wait for events on fd until deadline (< 0: forever). Returns 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd p = { .fd = fd, .events = events };
    int left = -1, n;

    if (deadline >= 0) {
        int64_t d = deadline - (int64_t)xp_mono_ms();

        left = d > 0 ? (int)d : 0;
    }
    n = poll(&p, 1, left);
    if (n < 0)
        return -errno;
    return n == 0 ? -ETIMEDOUT : 0;
}

struct xp_ctl_client *xp_ctl_client__connect(const char *path, int timeout_ms)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct xp_ctl_client *c;
    int err;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    strcpy(sa.sun_path, path);
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        goto err_free;
    /* A Unix connect only blocks on a full backlog; bound that wait too. */
    if (timeout_ms > 0) {
        struct timeval tv = { .tv_sec = timeout_ms / 1000,
                              .tv_usec = (timeout_ms % 1000) * 1000 };

        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    }
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (errno == EINPROGRESS || errno == EAGAIN)
            errno = ETIMEDOUT;
        goto err_close;
    }
    if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) != 0)
        goto err_close;
    return c;

err_close:
    err = errno;
    close(c->fd);
    errno = err;
err_free:
    err = errno;
    free(c);
    errno = err;
    return NULL;
}

void xp_ctl_client__destroy(struct xp_ctl_client *c)
{
    if (!c)
        return;
    close(c->fd);
    free(c->buf);
    free(c);
}

int xp_ctl_client__fd(const struct xp_ctl_client *c)
{
    return c->fd;
}

int xp_ctl_client__write(struct xp_ctl_client *c, const void *buf, size_t len)
{
    const char *p = buf;

    while (len) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                int ret = wait_fd(c->fd, POLLOUT, (int64_t)xp_mono_ms() + 10000);

                if (ret)
                    return ret;
                continue;
            }
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

ssize_t xp_ctl_client__read_line(struct xp_ctl_client *c, int timeout_ms, const char **line)
{
    int64_t deadline = timeout_ms < 0 ? -1 : (int64_t)xp_mono_ms() + timeout_ms;

    for (;;) {
        char *nl = c->len > c->off ? memchr(c->buf + c->off, '\n', c->len - c->off) : NULL;
        ssize_t n;
        int ret;

        if (nl) {
            size_t l = (size_t)(nl - (c->buf + c->off));

            *nl = '\0';
            *line = c->buf + c->off;
            c->off += l + 1;
            return (ssize_t)l;
        }
        if (c->off) {
            memmove(c->buf, c->buf + c->off, c->len - c->off);
            c->len -= c->off;
            c->off = 0;
        }
        if (c->len == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 65536;
            char *p;

            if (cap > CLIENT_MAX_LINE)
                return -EMSGSIZE;
            p = realloc(c->buf, cap);
            if (!p)
                return -ENOMEM;
            c->buf = p;
            c->cap = cap;
        }
        n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n > 0) {
            c->len += (size_t)n;
            continue;
        }
        if (n == 0)
            return 0;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        ret = wait_fd(c->fd, POLLIN, deadline);
        if (ret)
            return ret;
    }
}

int xp_ctl_client__request(struct xp_ctl_client *c, json_t *req, int timeout_ms,
                           json_t **result, char *err, size_t errlen)
{
    char *s = json_dumps(req, JSON_COMPACT);
    const char *line, *msg;
    json_t *reply, *ok;
    json_error_t jerr;
    ssize_t n;
    int ret;

    *result = NULL;
    if (!s) {
        snprintf(err, errlen, "cannot encode the request");
        return -EINVAL;
    }
    ret = xp_ctl_client__write(c, s, strlen(s));
    if (!ret)
        ret = xp_ctl_client__write(c, "\n", 1);
    free(s);
    if (ret) {
        snprintf(err, errlen, "sending the request: %s", strerror(-ret));
        return ret;
    }
    n = xp_ctl_client__read_line(c, timeout_ms, &line);
    if (n <= 0) {
        ret = n == 0 ? -ECONNRESET : (int)n;
        snprintf(err, errlen, "%s", n == 0 ? "the server closed the connection without a reply"
                 : ret == -ETIMEDOUT ? "no reply in time" : strerror(-ret));
        return ret;
    }
    reply = json_loadb(line, (size_t)n, 0, &jerr);
    ok = reply ? json_object_get(reply, "ok") : NULL;
    if (!json_is_boolean(ok)) {
        snprintf(err, errlen, "not a control-socket reply: %.80s", line);
        json_decref(reply);
        return -EPROTO;
    }
    if (json_is_false(ok)) {
        msg = json_string_value(json_object_get(reply, "error"));
        snprintf(err, errlen, "%s", msg ? msg : "error without a message");
        json_decref(reply);
        return XP_CTL_E_REPLY;
    }
    *result = json_object_get(reply, "result");
    *result = *result ? json_incref(*result) : json_null();
    json_decref(reply);
    return 0;
}
