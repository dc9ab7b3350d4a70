// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket server.
 *
 * Design: one listening socket and a fixed array of client slots, all non-blocking and
 * driven by the owner's poll() loop, so the proxy's control thread never blocks on an
 * operator. Every client has a bounded input buffer (one line at most) and an output
 * buffer: a reply is always queued whole (it answers something the client asked for), but
 * a follower's queued stream output is bounded, and a follower that does not read is
 * dropped rather than letting it grow our memory or stall the events it is sent.
 *
 * Clients are never freed in the middle of handle(): a failing client is marked dead and
 * reaped at the end, which also makes broadcast() safe to call from a handler.
 *
 * Fair under floods: when every slot is taken, the client idle the longest (nothing half
 * read, nothing left to send) is closed for the newcomer, so idle connections cannot lock
 * operators out; and a client's requests are only read while its unread replies stay under
 * XP_CTL_MAX_PENDING, so one that pipelines without reading cannot grow our memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "src/ctl/ctl.h"
#include "src/util/log.h"

struct ctl_client {
    int fd;                 /* -1: free slot */
    char *in;               /* XP_CTL_MAX_LINE bytes */
    size_t in_len;
    char *out;
    size_t out_off, out_len, out_cap;
    uint64_t last_ms;
    const char *stream;     /* followed stream (an ops[] name), or NULL */
    bool closing;           /* close once the output is flushed */
    bool eof;               /* the peer is done sending: answer what it sent, then close */
    bool dead;              /* close at the end of this handle() */
};

struct xp_ctl_server {
    struct xp_ctl_server_conf conf;
    char *path;
    ino_t ino;
    int lfd;
    struct ctl_client *clients;
    struct pollfd *scratch; /* for xp_ctl_server__poll() */
    struct xp_ctl_server_stats st;
};

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int xp_ctl_default_path(const char *id, char *buf, size_t len)
{
    int n;

    if (!id || !id[0] || strchr(id, '/'))
        return -EINVAL;
    n = snprintf(buf, len, XP_CTL_DIR "/%s.sock", id);
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    return 0;
}

static int fill_sockaddr(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path))
        return -ENAMETOOLONG;
    strcpy(sa->sun_path, path);
    return 0;
}

/* The socket directory is part of the access control: only root and the group traverse it. */
static int prepare_dir(const struct xp_ctl_server_conf *conf)
{
    char *copy = strdup(conf->path), *dir;
    bool ours = conf->own_dir;
    struct stat st;
    int ret = 0;

    if (!copy)
        return -ENOMEM;
    dir = dirname(copy);
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT) {
            ret = -errno;
            pr_err("%s: stat: %s", dir, strerror(errno));
            goto out;
        }
        if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
            ret = -errno;
            pr_err("%s: mkdir: %s", dir, strerror(errno));
            goto out;
        }
        ours = true;
    } else if (!S_ISDIR(st.st_mode)) {
        ret = -ENOTDIR;
        pr_err("%s: not a directory", dir);
        goto out;
    }
    if (!ours)
        goto out;
    if (conf->gid != (gid_t)-1 && chown(dir, (uid_t)-1, conf->gid) != 0) {
        ret = -errno;
        pr_err("%s: chown to group %u: %s", dir, (unsigned)conf->gid, strerror(errno));
        goto out;
    }
    /* mkdir()'s mode went through the umask; say exactly what we mean. */
    if (chmod(dir, 0750) != 0) {
        ret = -errno;
        pr_err("%s: chmod 0750: %s", dir, strerror(errno));
    }
out:
    free(copy);
    return ret;
}

/*
 * A socket file left by a crashed owner is replaced, a live one never: a second proxy with
 * the same id must not steal the first one's socket.
 */
static int clear_stale(const char *path)
{
    struct sockaddr_un sa;
    struct stat st;
    int fd, ret;

    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode)) {
        pr_err("%s exists and is not a socket; not removing it", path);
        return -EEXIST;
    }
    ret = fill_sockaddr(path, &sa);
    if (ret)
        return ret;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        close(fd);
        pr_err("%s: another process is serving this socket", path);
        return -EADDRINUSE;
    }
    ret = errno;
    close(fd);
    if (ret != ECONNREFUSED) {
        pr_err("%s: probing the existing socket: %s", path, strerror(ret));
        return -ret;
    }
    if (unlink(path) != 0 && errno != ENOENT)
        return -errno;
    pr_info("%s: removed a stale socket", path);
    return 0;
}

static int listen_socket(struct xp_ctl_server *srv)
{
    const struct xp_ctl_server_conf *conf = &srv->conf;
    struct sockaddr_un sa;
    struct stat st;
    int fd, ret;

    ret = fill_sockaddr(srv->path, &sa);
    if (ret)
        return ret;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /*
     * Linux creates the socket file with the socket inode's mode minus the umask: setting
     * it first means the file is never more open than conf->mode, even for a moment,
     * without touching the process-wide umask.
     */
    if (fchmod(fd, conf->mode) != 0) {
        ret = -errno;
        goto err_close;
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        ret = -errno;
        pr_err("%s: bind: %s", srv->path, strerror(errno));
        goto err_close;
    }
    if (conf->gid != (gid_t)-1 && chown(srv->path, (uid_t)-1, conf->gid) != 0) {
        ret = -errno;
        pr_err("%s: chown to group %u: %s", srv->path, (unsigned)conf->gid, strerror(errno));
        goto err_unlink;
    }
    if (chmod(srv->path, conf->mode) != 0 || lstat(srv->path, &st) != 0) {
        ret = -errno;
        goto err_unlink;
    }
    if (listen(fd, 16) != 0) {
        ret = -errno;
        goto err_unlink;
    }
    srv->ino = st.st_ino;
    srv->lfd = fd;
    return 0;

err_unlink:
    unlink(srv->path);
err_close:
    close(fd);
    return ret;
}

struct xp_ctl_server *xp_ctl_server__create(const struct xp_ctl_server_conf *conf)
{
    struct xp_ctl_server *srv;
    int ret;

    if (!conf || !conf->path || !conf->handler || !conf->ops) {
        errno = EINVAL;
        return NULL;
    }
    srv = calloc(1, sizeof(*srv));
    if (!srv) {
        errno = ENOMEM;
        return NULL;
    }
    srv->lfd = -1;
    srv->conf = *conf;
    if (!srv->conf.mode)
        srv->conf.mode = 0660;
    if (!srv->conf.max_clients)
        srv->conf.max_clients = XP_CTL_DEFAULT_MAX_CLIENTS;
    if (!srv->conf.idle_ms)
        srv->conf.idle_ms = XP_CTL_DEFAULT_IDLE_MS;
    if (!srv->conf.follower_max_out)
        srv->conf.follower_max_out = XP_CTL_DEFAULT_FOLLOWER_MAX_OUT;
    srv->path = strdup(conf->path);
    srv->clients = calloc(srv->conf.max_clients, sizeof(*srv->clients));
    srv->scratch = calloc(srv->conf.max_clients + 1, sizeof(*srv->scratch));
    if (!srv->path || !srv->clients || !srv->scratch) {
        ret = -ENOMEM;
        goto err_free;
    }
    srv->conf.path = srv->path;
    for (unsigned i = 0; i < srv->conf.max_clients; i++)
        srv->clients[i].fd = -1;

    ret = prepare_dir(&srv->conf);
    if (ret)
        goto err_free;
    ret = clear_stale(srv->path);
    if (ret)
        goto err_free;
    ret = listen_socket(srv);
    if (ret)
        goto err_free;
    return srv;

err_free:
    xp_ctl_server__destroy(srv);
    errno = -ret;
    return NULL;
}

static void client_close(struct xp_ctl_server *srv, struct ctl_client *c)
{
    char sink[4096];

    if (c->fd < 0)
        return;
    /*
     * Closing a Unix socket with unread input makes the peer's next read fail with
     * ECONNRESET; after an error reply (overlong line) drain what already arrived, so the
     * client reads our message and then a clean end of stream.
     */
    for (int i = 0; c->closing && i < 256; i++) {
        if (recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT) <= 0)
            break;
    }
    close(c->fd);
    c->fd = -1;
    free(c->in);
    c->in = NULL;
    free(c->out);
    c->out = NULL;
    c->in_len = c->out_off = c->out_len = c->out_cap = 0;
    if (c->stream)
        srv->st.followers--;
    c->stream = NULL;
    c->closing = c->dead = c->eof = false;
    srv->st.clients--;
}

void xp_ctl_server__destroy(struct xp_ctl_server *srv)
{
    struct stat st;

    if (!srv)
        return;
    for (unsigned i = 0; srv->clients && i < srv->conf.max_clients; i++)
        client_close(srv, &srv->clients[i]);
    if (srv->lfd >= 0) {
        close(srv->lfd);
        /* Only our own file: never a socket another process bound after us. */
        if (lstat(srv->path, &st) == 0 && st.st_ino == srv->ino)
            unlink(srv->path);
    }
    free(srv->scratch);
    free(srv->clients);
    free(srv->path);
    free(srv);
}

static void client_flush(struct ctl_client *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                c->dead = true;
            return;
        }
        /* reading our replies is activity too: idle means no progress either way */
        if (n > 0)
            c->last_ms = now_ms();
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    if (c->closing)
        c->dead = true;
}

static int client_queue_raw(struct ctl_client *c, const char *data, size_t len);

/*
 * Append data and a newline to the client's output and try to send it now;
 * the largest output buffer any client held is kept in the stats (what a
 * client that does not read can make us hold).
 */
static int client_queue(struct xp_ctl_server *srv, struct ctl_client *c, const char *data,
                        size_t len)
{
    int ret = client_queue_raw(c, data, len);

    if (c->out_cap > srv->st.out_buffer_peak)
        srv->st.out_buffer_peak = c->out_cap;
    return ret;
}

static int client_queue_raw(struct ctl_client *c, const char *data, size_t len)
{
    size_t pending = c->out_len - c->out_off, need = pending + len + 1;

    if (c->out_off && need > c->out_cap - c->out_off) {
        memmove(c->out, c->out + c->out_off, pending);
        c->out_off = 0;
        c->out_len = pending;
    }
    if (c->out_len + len + 1 > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        char *p;

        while (cap < c->out_len + len + 1)
            cap *= 2;
        p = realloc(c->out, cap);
        if (!p)
            return -ENOMEM;
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    c->out[c->out_len++] = '\n';
    client_flush(c);
    return 0;
}

static void reply_error(struct xp_ctl_server *srv, struct ctl_client *c, const char *msg)
{
    json_t *o = json_pack("{s:b,s:s}", "ok", 0, "error", msg);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

    srv->st.errors++;
    if (!s || client_queue(srv, c, s, strlen(s)))
        c->dead = true;
    free(s);
    json_decref(o);
}

static const struct xp_ctl_op *find_op(const struct xp_ctl_server *srv, const char *name)
{
    for (const struct xp_ctl_op *op = srv->conf.ops; op->name; op++) {
        if (strcmp(op->name, name) == 0)
            return op;
    }
    return NULL;
}

static json_t *help_result(const struct xp_ctl_server *srv)
{
    json_t *o = json_object();

    json_object_set_new(o, "help", json_string("list the ops this socket accepts"));
    for (const struct xp_ctl_op *op = srv->conf.ops; op->name; op++)
        json_object_set_new(o, op->name, json_string(op->help ? op->help : ""));
    return o;
}

static void dispatch(struct xp_ctl_server *srv, struct ctl_client *c, const char *line,
                     size_t len)
{
    const struct xp_ctl_op *op = NULL;
    char err[256] = "", msg[320];
    json_t *req, *result = NULL, *reply;
    json_error_t jerr;
    const char *name;
    bool follow;
    char *s;

    srv->st.requests++;
    req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!req) {
        snprintf(msg, sizeof(msg), "bad JSON at column %d: %s", jerr.column, jerr.text);
        reply_error(srv, c, msg);
        return;
    }
    if (!json_is_object(req)) {
        reply_error(srv, c, "a request is a JSON object: {\"op\": NAME, ...}");
        goto out;
    }
    name = json_string_value(json_object_get(req, "op"));
    if (!name) {
        reply_error(srv, c, "missing \"op\" (a string); try {\"op\": \"help\"}");
        goto out;
    }
    follow = json_is_true(json_object_get(req, "follow"));
    if (strcmp(name, "help") == 0) {
        result = help_result(srv);
    } else {
        op = find_op(srv, name);
        if (!op) {
            snprintf(msg, sizeof(msg), "unknown op \"%.64s\"; try {\"op\": \"help\"}", name);
            reply_error(srv, c, msg);
            goto out;
        }
        if (follow && !op->stream) {
            snprintf(msg, sizeof(msg), "op \"%s\" cannot be followed", op->name);
            reply_error(srv, c, msg);
            goto out;
        }
        result = srv->conf.handler(srv->conf.ctx, op->name, req, err, sizeof(err));
        if (!result) {
            reply_error(srv, c, err[0] ? err : "failed");
            goto out;
        }
    }
    reply = json_pack("{s:b,s:o}", "ok", 1, "result", result);
    s = reply ? json_dumps(reply, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(reply);
    if (!s) {
        reply_error(srv, c, "out of memory rendering the reply");
        goto out;
    }
    if (strlen(s) > XP_CTL_MAX_REPLY) {
        reply_error(srv, c, "reply too large");
    } else if (client_queue(srv, c, s, strlen(s))) {
        c->dead = true;
    } else if (follow && op) {
        c->stream = op->name;
        srv->st.followers++;
    }
    free(s);
out:
    json_decref(req);
}

static size_t client_pending(const struct ctl_client *c)
{
    return c->out_len - c->out_off;
}

/* Answer the complete lines of c's input while its unread replies stay under the bound. */
static void client_process(struct xp_ctl_server *srv, struct ctl_client *c)
{
    size_t start = 0;

    for (size_t i = 0; i < c->in_len && !c->dead && !c->stream; i++) {
        size_t l;

        if (client_pending(c) > XP_CTL_MAX_PENDING)
            break; /* the rest waits until the client reads */
        if (c->in[i] != '\n')
            continue;
        l = i - start;
        if (l && c->in[start + l - 1] == '\r')
            l--;
        if (l)
            dispatch(srv, c, c->in + start, l);
        start = i + 1;
    }
    if (c->stream)
        start = c->in_len;
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
}

/* After EOF: once every request it sent is answered, close when the replies are out. */
static void client_finish_eof(struct ctl_client *c)
{
    if (c->eof && !memchr(c->in, '\n', c->in_len)) {
        c->closing = true;
        client_flush(c);
    }
}

static void client_read(struct xp_ctl_server *srv, struct ctl_client *c)
{
    /* After an overlong line nothing more is answered; after EOF nothing more is read. */
    if (c->closing || c->eof)
        return;
    for (;;) {
        ssize_t n;

        /* backpressure: requests stay in the socket while replies wait to be read */
        if (client_pending(c) > XP_CTL_MAX_PENDING)
            return;
        if (c->in_len == XP_CTL_MAX_LINE) {
            srv->st.overlong++;
            reply_error(srv, c, "request line too long (limit 65536 bytes)");
            c->closing = true;
            c->in_len = 0;
            client_flush(c);
            return;
        }
        n = recv(c->fd, c->in + c->in_len, XP_CTL_MAX_LINE - c->in_len, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                c->dead = true;
            return;
        }
        if (n == 0) {
            /* The peer is done sending; answer what it sent, then close. */
            c->eof = true;
            client_finish_eof(c);
            return;
        }
        c->last_ms = now_ms();
        c->in_len += (size_t)n;
        /* Followers only listen: what they send is read and dropped. */
        if (c->stream) {
            c->in_len = 0;
            continue;
        }
        client_process(srv, c);
        if (c->dead)
            return;
    }
}

/*
 * Every slot is taken: close the client idle the longest (no half-read request, no
 * reply left to send; a follower counts as idle since its last request) for a newcomer.
 */
static struct ctl_client *evict_idle(struct xp_ctl_server *srv)
{
    struct ctl_client *oldest = NULL;

    for (unsigned i = 0; i < srv->conf.max_clients; i++) {
        struct ctl_client *c = &srv->clients[i];

        if (c->fd < 0 || c->dead || c->in_len || client_pending(c))
            continue;
        if (!oldest || c->last_ms < oldest->last_ms)
            oldest = c;
    }
    if (!oldest)
        return NULL;
    srv->st.evicted_idle++;
    client_close(srv, oldest);
    return oldest;
}

static struct ctl_client *find_client(struct xp_ctl_server *srv, int fd)
{
    for (unsigned i = 0; i < srv->conf.max_clients; i++) {
        if (srv->clients[i].fd == fd)
            return &srv->clients[i];
    }
    return NULL;
}

static int accept_all(struct xp_ctl_server *srv)
{
    static const char full[] = "{\"ok\":false,\"error\":\"too many clients\"}\n";

    for (;;) {
        struct ctl_client *c;
        int fd = accept4(srv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            /* EMFILE and friends: the client waits in the backlog; try again next time. */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                pr_warn("accept: %s", strerror(errno));
                return 0;
            }
            return -errno;
        }
        c = find_client(srv, -1);
        if (!c)
            c = evict_idle(srv);
        if (!c) {
            /* Best effort: the client learns why, we never wait for it. */
            if (send(fd, full, sizeof(full) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                pr_debug("refusing a client: send: %s", strerror(errno));
            close(fd);
            srv->st.rejected_full++;
            continue;
        }
        c->in = malloc(XP_CTL_MAX_LINE);
        if (!c->in) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->last_ms = now_ms();
        srv->st.accepted++;
        srv->st.clients++;
    }
}

unsigned xp_ctl_server__max_pollfds(const struct xp_ctl_server *srv)
{
    return srv->conf.max_clients + 1;
}

unsigned xp_ctl_server__pollfds(struct xp_ctl_server *srv, struct pollfd *out, unsigned max)
{
    unsigned n = 0;

    if (n < max && srv->lfd >= 0)
        out[n++] = (struct pollfd){ .fd = srv->lfd, .events = POLLIN };
    for (unsigned i = 0; i < srv->conf.max_clients && n < max; i++) {
        struct ctl_client *c = &srv->clients[i];
        short ev = 0;

        if (c->fd < 0)
            continue;
        if (!c->closing && !c->eof && client_pending(c) <= XP_CTL_MAX_PENDING)
            ev |= POLLIN;
        if (c->out_len > c->out_off)
            ev |= POLLOUT;
        out[n++] = (struct pollfd){ .fd = c->fd, .events = ev };
    }
    return n;
}

int xp_ctl_server__handle(struct xp_ctl_server *srv, const struct pollfd *fds, unsigned n)
{
    bool accept_ready = false;
    uint64_t t;
    int ret = 0;

    for (unsigned i = 0; i < n; i++) {
        struct ctl_client *c;

        if (!fds[i].revents || fds[i].fd < 0)
            continue;
        if (fds[i].fd == srv->lfd) {
            accept_ready = true;
            continue;
        }
        c = find_client(srv, fds[i].fd);
        if (!c || c->dead)
            continue;
        if (fds[i].revents & POLLOUT) {
            client_flush(c);
            /* requests left waiting behind the replies it just read */
            if (!c->dead && !c->closing && c->in_len) {
                client_process(srv, c);
                client_finish_eof(c);
            }
        }
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
            client_read(srv, c);
        if ((fds[i].revents & (POLLERR | POLLNVAL)) ||
            ((fds[i].revents & POLLHUP) && c->out_len > c->out_off))
            c->dead = true;
    }
    /* Read after the clients were served: their last_ms must not be in our future. */
    t = now_ms();
    for (unsigned i = 0; i < srv->conf.max_clients; i++) {
        struct ctl_client *c = &srv->clients[i];

        if (c->fd < 0)
            continue;
        if (!c->dead && !c->stream && t > c->last_ms + srv->conf.idle_ms) {
            srv->st.idle_closed++;
            c->dead = true;
        }
        if (c->dead)
            client_close(srv, c);
    }
    /* Accept last, so a new client never takes the fd number of one closed above. */
    if (accept_ready)
        ret = accept_all(srv);
    return ret;
}

int xp_ctl_server__poll(struct xp_ctl_server *srv, int timeout_ms)
{
    unsigned n = xp_ctl_server__pollfds(srv, srv->scratch, xp_ctl_server__max_pollfds(srv));

    if (poll(srv->scratch, n, timeout_ms) < 0) {
        if (errno != EINTR)
            return -errno;
        for (unsigned i = 0; i < n; i++)
            srv->scratch[i].revents = 0;
    }
    return xp_ctl_server__handle(srv, srv->scratch, n);
}

unsigned xp_ctl_server__broadcast(struct xp_ctl_server *srv, const char *stream,
                                  const char *line)
{
    size_t len = strlen(line);
    unsigned sent = 0;

    srv->st.broadcasts++;
    for (unsigned i = 0; i < srv->conf.max_clients; i++) {
        struct ctl_client *c = &srv->clients[i];

        if (c->fd < 0 || c->dead || c->closing || !c->stream || strcmp(c->stream, stream))
            continue;
        if (c->out_len - c->out_off + len + 1 > srv->conf.follower_max_out) {
            srv->st.followers_dropped++;
            c->dead = true;
            continue;
        }
        if (client_queue(srv, c, line, len)) {
            c->dead = true;
            continue;
        }
        sent++;
    }
    return sent;
}

void xp_ctl_server__stats(const struct xp_ctl_server *srv, struct xp_ctl_server_stats *st)
{
    *st = srv->st;
}

json_t *xp_ctl_server__stats_json(const struct xp_ctl_server *srv)
{
    const struct xp_ctl_server_stats *s = &srv->st;

    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:i}",
                     "accepted", (json_int_t)s->accepted,
                     "rejected_full", (json_int_t)s->rejected_full,
                     "evicted_idle", (json_int_t)s->evicted_idle,
                     "requests", (json_int_t)s->requests,
                     "errors", (json_int_t)s->errors,
                     "overlong", (json_int_t)s->overlong,
                     "idle_closed", (json_int_t)s->idle_closed,
                     "broadcasts", (json_int_t)s->broadcasts,
                     "followers_dropped", (json_int_t)s->followers_dropped,
                     "out_buffer_peak", (json_int_t)s->out_buffer_peak,
                     "clients", (int)s->clients,
                     "followers", (int)s->followers);
}
