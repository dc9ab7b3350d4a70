// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket server.
 *
 * Design: the connections (slots, buffers, limits, idle expiry, eviction, poll) are
 * src/util/line_server's; this file owns the socket file and its access control, and the
 * protocol: one JSON request per line, one reply line each, and followers, which only listen
 * to a stream. A reply is always queued whole (it answers something the client asked for),
 * but a follower's queued stream output is bounded, and a follower that does not read is
 * dropped rather than letting it grow our memory or stall the events it is sent.
 *
 * Fair under floods: when every slot is taken, the client idle the longest (nothing half
 * read, nothing left to send; a follower counts as idle since its last request) is closed
 * for the newcomer, so idle connections cannot lock operators out; and a client's requests
 * are only read while its unread replies stay under XP_CTL_MAX_PENDING, so one that
 * pipelines without reading cannot grow our memory.
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
#include <unistd.h>

#include "src/ctl/ctl.h"
#include "src/util/line_server.h"
#include "src/util/log.h"

struct xp_ctl_server {
    struct xp_ctl_server_conf conf;
    char *path;
    ino_t ino;
    struct xp_line_server *ls;
    const char **stream;    /* per slot: the followed stream (an ops[] name), or NULL */
    struct xp_ctl_server_stats st; /* the protocol's counters; the connections' are ls's */
    struct xp_line_conn *current;  /* whose request the handler is answering, or NULL */
};

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


/* Returns the listening socket, or a negative errno. */
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
    return fd;

err_unlink:
    unlink(srv->path);
err_close:
    close(fd);
    return ret;
}

static const struct xp_line_server_ops ctl_conn_ops;

struct xp_ctl_server *xp_ctl_server__create(const struct xp_ctl_server_conf *conf)
{
    struct xp_line_server_conf lconf = {
        .in_max = XP_CTL_MAX_LINE,
        .out_pause = XP_CTL_MAX_PENDING,
        .evict = XP_LINE_EVICT_IDLE,
        .full_msg = "{\"ok\":false,\"error\":\"too many clients\"}\n",
        .ops = &ctl_conn_ops,
    };
    struct xp_ctl_server *srv;
    int fd, ret;

    if (!conf || !conf->path || !conf->handler || !conf->ops) {
        errno = EINVAL;
        return NULL;
    }
    srv = calloc(1, sizeof(*srv));
    if (!srv) {
        errno = ENOMEM;
        return NULL;
    }
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
    srv->stream = calloc(srv->conf.max_clients, sizeof(*srv->stream));
    if (!srv->path || !srv->stream) {
        ret = -ENOMEM;
        goto err_destroy;
    }
    srv->conf.path = srv->path;

    ret = prepare_dir(&srv->conf);
    if (ret)
        goto err_destroy;
    ret = clear_stale(srv->path);
    if (ret)
        goto err_destroy;
    fd = listen_socket(srv);
    if (fd < 0) {
        ret = fd;
        goto err_destroy;
    }
    lconf.fd = fd;
    lconf.max_conns = srv->conf.max_clients;
    lconf.idle_ms = srv->conf.idle_ms;
    lconf.ctx = srv;
    srv->ls = xp_line_server__create(&lconf);
    if (!srv->ls) {
        ret = -errno;
        goto err_close_socket;
    }
    return srv;

err_close_socket:
    close(fd);
    unlink(srv->path);
err_destroy:
    xp_ctl_server__destroy(srv);
    errno = -ret;
    return NULL;
}

void xp_ctl_server__destroy(struct xp_ctl_server *srv)
{
    struct stat st;

    if (!srv)
        return;
    if (srv->ls) {
        xp_line_server__destroy(srv->ls);
        srv->ls = NULL;
        /* Only our own file: never a socket another process bound after us. */
        if (lstat(srv->path, &st) == 0 && st.st_ino == srv->ino)
            unlink(srv->path);
    }
    free(srv->stream);
    free(srv->path);
    free(srv);
}

/* Queue one line (data without its newline) and send what the socket takes. */
static int send_line(struct xp_line_conn *c, const char *data, size_t len)
{
    int ret = xp_line_conn__append(c, data, len);

    return ret ? ret : xp_line_conn__send(c, "\n", 1);
}

/* Returns 0, or a negative errno when the client is gone (closed). */
static int reply_error(struct xp_ctl_server *srv, struct xp_line_conn *c, const char *msg)
{
    json_t *o = json_pack("{s:b,s:s}", "ok", 0, "error", msg);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    int ret = s ? send_line(c, s, strlen(s)) : -ENOMEM;

    srv->st.errors++;
    if (ret)
        xp_line_conn__close(c);
    free(s);
    json_decref(o);
    return ret;
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

/* Answer one request line. Returns 0, or a negative errno when the client is gone. */
static int dispatch(struct xp_ctl_server *srv, struct xp_line_conn *c, const char *line,
                    size_t len)
{
    const struct xp_ctl_op *op = NULL;
    char err[256] = "", msg[320];
    json_t *req, *result = NULL, *reply;
    json_error_t jerr;
    const char *name;
    bool follow;
    char *s;
    int ret;

    srv->st.requests++;
    req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!req) {
        snprintf(msg, sizeof(msg), "bad JSON at column %d: %s", jerr.column, jerr.text);
        return reply_error(srv, c, msg);
    }
    if (!json_is_object(req)) {
        ret = reply_error(srv, c, "a request is a JSON object: {\"op\": NAME, ...}");
        goto out;
    }
    name = json_string_value(json_object_get(req, "op"));
    if (!name) {
        ret = reply_error(srv, c, "missing \"op\" (a string); try {\"op\": \"help\"}");
        goto out;
    }
    follow = json_is_true(json_object_get(req, "follow"));
    if (strcmp(name, "help") == 0) {
        result = help_result(srv);
    } else {
        op = find_op(srv, name);
        if (!op) {
            snprintf(msg, sizeof(msg), "unknown op \"%.64s\"; try {\"op\": \"help\"}", name);
            ret = reply_error(srv, c, msg);
            goto out;
        }
        if (follow && !op->stream) {
            snprintf(msg, sizeof(msg), "op \"%s\" cannot be followed", op->name);
            ret = reply_error(srv, c, msg);
            goto out;
        }
        srv->current = c;
        result = srv->conf.handler(srv->conf.ctx, op->name, req, err, sizeof(err));
        srv->current = NULL;
        if (!result) {
            ret = reply_error(srv, c, err[0] ? err : "failed");
            goto out;
        }
    }
    reply = json_pack("{s:b,s:o}", "ok", 1, "result", result);
    s = reply ? json_dumps(reply, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(reply);
    if (!s) {
        ret = reply_error(srv, c, "out of memory rendering the reply");
        goto out;
    }
    if (strlen(s) > XP_CTL_MAX_REPLY) {
        ret = reply_error(srv, c, "reply too large");
    } else {
        ret = send_line(c, s, strlen(s));
        if (!ret && follow && op) {
            srv->stream[xp_line_conn__slot(c)] = op->name;
            srv->st.followers++;
            xp_line_conn__set_idle_exempt(c, true);
        }
    }
    free(s);
out:
    json_decref(req);
    return ret;
}

/* Answer the complete lines of c's input while its unread replies stay under the bound. */
static void ctl_input(void *ctx, struct xp_line_conn *c)
{
    struct xp_ctl_server *srv = ctx;
    const char **stream = &srv->stream[xp_line_conn__slot(c)];
    size_t len, start = 0;
    char *in = xp_line_conn__input(c, &len);

    for (size_t i = 0; i < len && !*stream; i++) {
        size_t l;

        if (xp_line_conn__paused(c))
            break; /* the rest waits until the client reads */
        if (in[i] != '\n')
            continue;
        l = i - start;
        if (l && in[start + l - 1] == '\r')
            l--;
        if (l && dispatch(srv, c, in + start, l))
            return;
        start = i + 1;
    }
    /* Followers only listen: what they send is read and dropped. */
    xp_line_conn__consume(c, *stream ? len : start);
}

/* The peer is done sending: once every request it sent is answered, close. */
static void ctl_eof(void *ctx, struct xp_line_conn *c)
{
    size_t len;
    const char *in = xp_line_conn__input(c, &len);

    (void)ctx;
    if (!memchr(in, '\n', len))
        xp_line_conn__close_after_flush(c);
}

/* After an overlong line nothing more is answered. */
static void ctl_overflow(void *ctx, struct xp_line_conn *c)
{
    struct xp_ctl_server *srv = ctx;

    srv->st.overlong++;
    if (!reply_error(srv, c, "request line too long (limit 65536 bytes)"))
        xp_line_conn__close_after_flush(c);
}

static void ctl_closed(void *ctx, struct xp_line_conn *c)
{
    struct xp_ctl_server *srv = ctx;
    const char **stream = &srv->stream[xp_line_conn__slot(c)];

    if (*stream)
        srv->st.followers--;
    *stream = NULL;
}

static const struct xp_line_server_ops ctl_conn_ops = {
    .input = ctl_input,
    .overflow = ctl_overflow,
    .eof = ctl_eof,
    .closed = ctl_closed,
};

int xp_ctl_server__peer(const struct xp_ctl_server *srv, struct ucred *out)
{
    socklen_t len = sizeof(*out);

    if (!srv->current)
        return -ENOENT;
    if (getsockopt(xp_line_conn__fd(srv->current), SOL_SOCKET, SO_PEERCRED, out, &len) < 0)
        return -errno;
    return 0;
}

struct xp_line_server *xp_ctl_server__lines(struct xp_ctl_server *srv)
{
    return srv->ls;
}

unsigned xp_ctl_server__broadcast(struct xp_ctl_server *srv, const char *stream,
                                  const char *line)
{
    size_t len = strlen(line);
    unsigned sent = 0;

    srv->st.broadcasts++;
    for (unsigned i = 0; i < srv->conf.max_clients; i++) {
        struct xp_line_conn *c = xp_line_server__conn(srv->ls, i);

        if (!c || !srv->stream[i] || strcmp(srv->stream[i], stream))
            continue;
        if (xp_line_conn__pending(c) + len + 1 > srv->conf.follower_max_out) {
            srv->st.followers_dropped++;
            xp_line_conn__close(c);
            continue;
        }
        if (send_line(c, line, len) == 0)
            sent++;
    }
    return sent;
}

void xp_ctl_server__stats(const struct xp_ctl_server *srv, struct xp_ctl_server_stats *st)
{
    struct xp_line_server_stats ls;

    xp_line_server__stats(srv->ls, &ls);
    *st = srv->st;
    st->accepted = ls.accepted;
    st->rejected_full = ls.rejected_full;
    st->evicted_idle = ls.evicted;
    st->idle_closed = ls.expired;
    st->out_buffer_peak = ls.out_peak;
    st->clients = ls.conns;
}

json_t *xp_ctl_server__stats_json(const struct xp_ctl_server *srv)
{
    struct xp_ctl_server_stats s;

    xp_ctl_server__stats(srv, &s);
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:i}",
                     "accepted", (json_int_t)s.accepted,
                     "rejected_full", (json_int_t)s.rejected_full,
                     "evicted_idle", (json_int_t)s.evicted_idle,
                     "requests", (json_int_t)s.requests,
                     "errors", (json_int_t)s.errors,
                     "overlong", (json_int_t)s.overlong,
                     "idle_closed", (json_int_t)s.idle_closed,
                     "broadcasts", (json_int_t)s.broadcasts,
                     "followers_dropped", (json_int_t)s.followers_dropped,
                     "out_buffer_peak", (json_int_t)s.out_buffer_peak,
                     "clients", (int)s.clients,
                     "followers", (int)s.followers);
}
