/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control socket: a Unix stream socket speaking one JSON object per line.
 *
 *   request:  {"op": "stats"}                       one line
 *   reply:    {"ok": true, "result": ...}           one line
 *             {"ok": false, "error": "message"}
 *   stream:   {"op": "events", "follow": true}  →  reply, then one line per
 *             xp_ctl_server__broadcast(srv, "events", line) until either side closes
 *
 * Access control is the file system's: the socket is mode 0660, owned by root (the
 * creating uid) and a configured group, inside a directory the server creates 0750 with
 * the same group. Operators in that group may use every op; nobody else can connect.
 *
 * The server is single-threaded and made for a poll() main loop: every function of
 * struct xp_ctl_server must be called from the thread that created it (the proxy's
 * control thread), never from a worker. Nothing here is hot-path.
 *
 * The client half (struct xp_ctl_client) is what xpro-ctl and the tests use.
 */
#ifndef XP_CTL_H
#define XP_CTL_H

#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define XP_CTL_DIR "/run/xpro"
#define XP_CTL_MAX_LINE (64u * 1024)          /* longest request line, newline included */
#define XP_CTL_DEFAULT_MAX_CLIENTS 16u
#define XP_CTL_DEFAULT_IDLE_MS 60000u
#define XP_CTL_DEFAULT_FOLLOWER_MAX_OUT (1u << 20) /* queued bytes before a follower is dropped */
#define XP_CTL_MAX_REPLY (64u << 20)          /* a reply larger than this is an error reply */
/*
 * A client's replies not yet read, past which its further requests wait (unread, in the
 * socket) until it reads: a client that pipelines without reading holds at most this much
 * of our memory, plus one reply.
 */
#define XP_CTL_MAX_PENDING (256u * 1024)

/*
 * The op handler the owner registers. Called on the server's thread, once per request,
 * with the op name and the whole request object (borrowed). Returns the result (a new
 * reference, any JSON type), or NULL with a message in err. It may call
 * xp_ctl_server__broadcast(). For a follow request (the op is declared .stream) a non-NULL
 * result accepts the follower; NULL refuses it.
 */
typedef json_t *(*xp_ctl_handler)(void *ctx, const char *op, json_t *req, char *err,
                                  size_t errlen);

/* One op the server accepts. Tables end with a { NULL } entry. */
struct xp_ctl_op {
    const char *name;
    const char *help;   /* one line, returned by the built-in "help" op */
    bool stream;        /* {"follow": true} makes the client a follower of this stream */
};

struct xp_ctl_server_conf {
    const char *path;           /* socket path; see xp_ctl_default_path() */
    gid_t gid;                  /* group of the socket (and of a directory we create);
                                 * (gid_t)-1 keeps the creating process's group */
    unsigned mode;              /* socket file mode; 0 means 0660 */
    bool own_dir;               /* the parent directory exists and is ours (XP_CTL_DIR made
                                 * by systemd's RuntimeDirectory=): also set its group and
                                 * mode 0750. A directory we create always gets them. */
    unsigned max_clients;       /* 0 means XP_CTL_DEFAULT_MAX_CLIENTS */
    unsigned idle_ms;           /* idle request connections are closed; 0 means default */
    size_t follower_max_out;    /* 0 means XP_CTL_DEFAULT_FOLLOWER_MAX_OUT */
    const struct xp_ctl_op *ops; /* accepted ops; "help" is built in */
    xp_ctl_handler handler;
    void *ctx;
};

/* Counters; monotonic except clients and followers (gauges). */
struct xp_ctl_server_stats {
    uint64_t accepted;
    uint64_t rejected_full;     /* connections refused at max_clients (every client busy) */
    uint64_t evicted_idle;      /* idle clients closed to make room for a new one */
    uint64_t requests;
    uint64_t errors;            /* error replies (bad JSON, unknown op, handler errors) */
    uint64_t overlong;          /* lines over XP_CTL_MAX_LINE: error reply and close */
    uint64_t idle_closed;
    uint64_t broadcasts;        /* lines offered to followers */
    uint64_t followers_dropped; /* followers whose queued output passed the bound */
    uint64_t out_buffer_peak;   /* largest output buffer one client held, bytes */
    unsigned clients;
    unsigned followers;
};

struct xp_ctl_server;

/*
 * Create the socket and listen. A stale socket file (nobody answers on it) is replaced;
 * a live one fails with EADDRINUSE, anything else at the path with EEXIST. Returns the
 * server, or NULL with errno set.
 */
struct xp_ctl_server *xp_ctl_server__create(const struct xp_ctl_server_conf *conf);

/* Close every connection, unlink the socket. Accepts NULL. */
void xp_ctl_server__destroy(struct xp_ctl_server *srv);

/*
 * The server's connections: poll them with util/line_server.h (xp_line_server__pollfds,
 * __handle, or __poll for an owner without a poll loop of its own). Call __handle after
 * every poll(), also on timeout (idle expiry); it ignores fds it does not know.
 */
struct xp_line_server;
struct xp_line_server *xp_ctl_server__lines(struct xp_ctl_server *srv);

/*
 * Queue line (one JSON text, without newline) to every follower of stream. Never blocks:
 * a follower whose queued output would pass follower_max_out is dropped and counted.
 * Returns the number of followers that got the line.
 */
unsigned xp_ctl_server__broadcast(struct xp_ctl_server *srv, const char *stream,
                                  const char *line);

void xp_ctl_server__stats(const struct xp_ctl_server *srv, struct xp_ctl_server_stats *st);

/*
 * Inside a handler call: who sent the request being handled, as the kernel saw the client
 * connect (SO_PEERCRED: pid, uid, gid). 0, -ENOENT outside a handler call, or -errno.
 */
struct ucred;
int xp_ctl_server__peer(const struct xp_ctl_server *srv, struct ucred *out);

/* The stats as a JSON object (new reference), for the owner's stats document. */
json_t *xp_ctl_server__stats_json(const struct xp_ctl_server *srv);

/* XP_CTL_DIR "/<id>.sock". Returns 0, or -ENAMETOOLONG / -EINVAL (id with a '/'). */
int xp_ctl_default_path(const char *id, char *buf, size_t len);

/* ---- client ---------------------------------------------------------------------------- */

/* Positive code of xp_ctl_client__request(): the server answered {"ok": false}. */
#define XP_CTL_E_REPLY 1

struct xp_ctl_client;

/* Connect to the socket at path. NULL with errno set (ENOENT, EACCES, ECONNREFUSED...). */
struct xp_ctl_client *xp_ctl_client__connect(const char *path, int timeout_ms);
void xp_ctl_client__destroy(struct xp_ctl_client *c);

/*
 * Send req (one line) and wait up to timeout_ms for its reply. Returns 0 with *result (a
 * new reference), XP_CTL_E_REPLY with the server's message in err, or a negative errno
 * (-ETIMEDOUT, -ECONNRESET when the server closed, -EPROTO for a reply that is not ours)
 * with a message in err.
 */
int xp_ctl_client__request(struct xp_ctl_client *c, json_t *req, int timeout_ms,
                           json_t **result, char *err, size_t errlen);

/*
 * Read the next line (without its newline) into *line, valid until the next call.
 * timeout_ms < 0 waits forever. Returns its length, 0 at end of stream, or a negative
 * errno (-ETIMEDOUT, -EMSGSIZE for a line over 16 MiB, -EINTR when a signal came).
 */
ssize_t xp_ctl_client__read_line(struct xp_ctl_client *c, int timeout_ms, const char **line);

/* Write all of buf. Returns 0 or a negative errno. */
int xp_ctl_client__write(struct xp_ctl_client *c, const void *buf, size_t len);

/*
 * The socket, for the caller's own poll() (a follower with other fds to watch). Lines may
 * already wait in the client's buffer: after POLLIN, and after connecting, read with
 * xp_ctl_client__read_line(c, 0, ...) until it returns -ETIMEDOUT.
 */
int xp_ctl_client__fd(const struct xp_ctl_client *c);

#endif /* XP_CTL_H */
