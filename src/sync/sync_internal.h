/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to src/sync/ (and its tests, the fuzz target and src/central/):
 * the merge, the wire codec, the authentication helpers, the central table
 * and the central server.
 */
#ifndef XP_SYNC_INTERNAL_H
#define XP_SYNC_INTERNAL_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/parse/parse.h"
#include "src/util/hexaddr.h"
#include "sync.h"

#define XP_SYNC_MAX_COUNT ((uint64_t)INT64_MAX) /* largest integer on the wire */
#define XP_SYNC_NONCE_LEN 32
#define XP_SYNC_MAC_LEN 32
#define XP_KX_LEN 32 /* an X25519 key share */

/* ---- merge (merge.c): Algorithm 2, lines 3-41, for one pair ---- */

struct xp_merge_params {
    uint64_t t_t1_ns;
    uint64_t t_t4_ns;
    uint32_t r;           /* plain divisor >= 1 */
    uint64_t max_skew_ns; /* timestamps later than now + this are clamped to it */
};

enum xp_merge_case {
    XP_MERGE_NEW = 0,   /* lines 37-41: M_DB does not hold the pair */
    XP_MERGE_RESET = 1, /* lines 4-9: mark' = 1 and ts1' - ts1 > T_T1 */
    XP_MERGE_MERGE = 2, /* lines 11-29 */
    XP_MERGE_OWN = 3,   /* the row's last writer is the sender: its window replaces it */
};

/* What the central node knows of the row a request pair is merged into. */
enum xp_row_state {
    XP_ROW_ABSENT = 0, /* M_DB does not hold the pair */
    XP_ROW_SHARED = 1, /* held, and last written by another proxy (or a previous run) */
    XP_ROW_OWN = 2,    /* held, and last written by the sending proxy instance */
};

struct xp_merge_result {
    enum xp_merge_case kind;
    bool shrunk;      /* line 14 taken with r > 1 */
    unsigned clamped; /* local timestamps clamped (0..2) */
};

/*
 * Merge one proxy's local values l into the central row g (row: whether g
 * holds the pair, and whether the sender wrote it last). On return g is the new M_DB row and l the new local values
 * (dc' = 0, mark' = 0). now is the central node's CLOCK_REALTIME. Input
 * must satisfy l->ts1 <= l->ts2 and (if present) g->ts1 <= g->ts2; both
 * hold on return. Pure function.
 */
void xp_sync_merge(const struct xp_merge_params *p, uint64_t now, struct xp_sync_global *g,
                   enum xp_row_state row, struct xp_pair_state *l, struct xp_merge_result *res);

/* Lines 33-34: the local values for a pair only the central node changed. */
void xp_sync_merge_down(const struct xp_sync_global *g, struct xp_pair_state *l);

/* ---- codec (codec.c) ---- */

/* Error codes: on the wire as strings (docs/protocol.md). Positive. */
enum xp_sync_err {
    XP_SYNC_E_NONE = 0,
    XP_SYNC_E_BAD_JSON = 1,
    XP_SYNC_E_BAD_VERSION = 2,
    XP_SYNC_E_UNKNOWN_OP = 3,
    XP_SYNC_E_BAD_MESSAGE = 4,
    XP_SYNC_E_TOO_MANY_PAIRS = 5,
    XP_SYNC_E_LINE_TOO_LONG = 6,
    XP_SYNC_E_AUTH_REQUIRED = 7,
    XP_SYNC_E_AUTH_FAILED = 8,
    XP_SYNC_E_UNEXPECTED_OP = 9,
    XP_SYNC_E_SEQ_STALE = 10,
    XP_SYNC_E_BUSY = 11,
    XP_SYNC_E_TIMEOUT = 12,
    XP_SYNC_E_INTERNAL = 13,
    XP_SYNC_E_SHUTDOWN = 14,
    XP_SYNC_E_FORBIDDEN = 15,
    XP_SYNC_E__COUNT,
};

const char *xp_sync_err__name(enum xp_sync_err e);
/* Name to code; XP_SYNC_E_NONE if unknown. */
enum xp_sync_err xp_sync_err__parse(const char *name);

enum xp_sync_op {
    XP_OP_NONE = 0,
    XP_OP_CHALLENGE = 1, /* server -> client */
    XP_OP_HELLO = 2,     /* client -> server */
    XP_OP_WELCOME = 3,   /* server -> client */
    XP_OP_SYNC = 4,      /* client -> server */
    XP_OP_SYNC_OK = 5,   /* server -> client */
    XP_OP_STATS = 6,     /* client -> server */
    XP_OP_STATS_OK = 7,  /* server -> client */
    XP_OP_PING = 8,      /* client -> server */
    XP_OP_PONG = 9,      /* server -> client */
    XP_OP_ERROR = 10,    /* server -> client */
    XP_OP_WHY = 11,      /* client -> server: the rows towards a destination, by proxy */
    XP_OP_WHY_OK = 12,   /* server -> client */
};

const char *xp_sync_op__name(enum xp_sync_op op);

/* A pair on the wire: request (l), answer (g and l), or down (g). */
struct xp_sync_wire_pair {
    struct xp_policer_key key;
    struct xp_sync_global g;
    struct xp_pair_state l;
};

struct xp_sync_msg {
    enum xp_sync_op op;
    /* challenge, hello, welcome */
    uint8_t nonce[XP_SYNC_NONCE_LEN];
    uint8_t kx[XP_KX_LEN]; /* challenge, hello: the sender's ephemeral X25519 share */
    uint8_t mac[XP_SYNC_MAC_LEN];
    char proxy_id[XP_SYNC_ID_MAX + 1];
    uint64_t instance;
    uint64_t epoch;
    uint64_t max_pairs;
    uint64_t max_line;
    /* sync, sync_ok, pong, error */
    uint64_t seq;
    uint64_t since;
    uint64_t upto;
    uint64_t clamped;
    uint64_t t_ns;
    bool more;
    bool has_load;
    struct xp_sync_load load;
    struct xp_sync_wire_pair *pairs; /* sync: local values; sync_ok: answers */
    unsigned n_pairs;
    struct xp_sync_wire_pair *down;  /* sync_ok: pairs changed only on the central node */
    unsigned n_down;
    struct xp_sync_warning *warnings;
    unsigned n_warnings;
    /* error */
    enum xp_sync_err code;
    char message[256];
    /* stats_ok, why_ok: the stats (why) object, re-serialized (malloc'd) */
    char *stats_json;
    /* why: the pair asked about */
    struct xp_policer_key why_key;
};

struct xp_sync_limits {
    unsigned max_pairs;    /* pairs (and down pairs) per message */
    unsigned max_warnings; /* warnings per message */
};

/*
 * Decode one line (without its '\n'; need not be NUL-terminated). Strict:
 * unknown keys, wrong types, negative or out-of-range integers, ts1 > ts2
 * and bad addresses are errors. Returns XP_SYNC_E_NONE, or an error code
 * with a reason in err (may be NULL). msg must be released with
 * xp_sync_msg__release() in both cases. Any thread.
 */
enum xp_sync_err xp_sync_msg__decode(const char *line, size_t len,
                                     const struct xp_sync_limits *lim, struct xp_sync_msg *msg,
                                     char *err, size_t err_len);
void xp_sync_msg__release(struct xp_sync_msg *msg);

/* A growable output buffer. */
struct xp_buf {
    char *p;
    size_t len;
    size_t cap;
    bool oom; /* an append failed: the content is incomplete */
};

void xp_buf__init(struct xp_buf *b);
void xp_buf__free(struct xp_buf *b);
void xp_buf__append(struct xp_buf *b, const void *data, size_t len);
void xp_buf__printf(struct xp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes. */
void xp_buf__consume(struct xp_buf *b, size_t n);

/*
 * Encode msg as one line, '\n' included, appended to b. stats_ok takes
 * stats_json verbatim (it must be a JSON object). Returns 0 or -ENOMEM.
 */
int xp_sync_msg__encode(const struct xp_sync_msg *msg, struct xp_buf *b);

/* Append a JSON string literal (quoted, escaped) to b. */
void xp_buf__json_str(struct xp_buf *b, const char *s);

/*
 * Addresses on the wire are xp_addr__format()'s text (IPv4-mapped keys as
 * "a.b.c.d", others as IPv6) and hex fields xp_hex__encode()'s lower-case
 * hex: both in src/util/hexaddr.h.
 */

/* ---- auth (auth.c) ---- */

/*
 * The two proofs (docs/protocol.md "Authentication"): HMAC-SHA256 with the
 * proxy's secret over
 *   client: "xpro2 hello " S " " C " " id " " KS " " KC
 *   server: "xpro2 welcome " C " " S " " id " " KC " " KS
 * where S and C are the server's and the client's nonces and KS and KC
 * their X25519 key shares, all in lower-case hex. Covering the key shares
 * is what stops a man in the middle from swapping them. Returns 0 or -EIO.
 */
struct xp_sync_hs {
    const uint8_t *s_nonce, *c_nonce; /* XP_SYNC_NONCE_LEN each */
    const uint8_t *s_kx, *c_kx;       /* XP_KX_LEN each */
    const char *id;
};
int xp_sync_auth__client_mac(const uint8_t *secret, size_t secret_len,
                             const struct xp_sync_hs *hs, uint8_t mac[XP_SYNC_MAC_LEN]);
int xp_sync_auth__server_mac(const uint8_t *secret, size_t secret_len,
                             const struct xp_sync_hs *hs, uint8_t mac[XP_SYNC_MAC_LEN]);

/* ---- the sealed session (seal.c, docs/protocol.md "The sealed session") ---- */

/* One direction of a session: AES-256-GCM key and the next message number. */
struct xp_seal {
    uint8_t key[32];
    uint64_t ctr;
    bool on;
};

/* An ephemeral X25519 key pair, and the shared value with a peer's share. 0 or -EIO. */
int xp_kx__keypair(uint8_t priv[XP_KX_LEN], uint8_t pub[XP_KX_LEN]);
int xp_kx__shared(const uint8_t priv[XP_KX_LEN], const uint8_t peer[XP_KX_LEN],
                  uint8_t out[XP_KX_LEN]);
/*
 * The session's two keys: HKDF-SHA256(salt = S || C, ikm = secret || dh,
 * info = "xpro2 c2s " id | "xpro2 s2c " id). 0 or -EIO/-EINVAL.
 */
int xp_seal__derive(const uint8_t *secret, size_t secret_len, const uint8_t dh[XP_KX_LEN],
                    const uint8_t s_nonce[XP_SYNC_NONCE_LEN],
                    const uint8_t c_nonce[XP_SYNC_NONCE_LEN], const char *id,
                    struct xp_seal *c2s, struct xp_seal *s2c);
#define XP_SEAL_TAG 16 /* the AES-256-GCM tag after the ciphertext */
/*
 * The longest plaintext a line may seal: OpenSSL's base64 encoder counts in
 * int, and the base64 of the line and its tag is a third longer than both.
 */
#define XP_SEAL_MAX_PLAIN ((size_t)(INT_MAX / 4) * 3 - XP_SEAL_TAG)
/* The length of a sealed line of len plaintext bytes: base64 of the line and its tag. */
size_t xp_seal__wire_len(size_t len);
/*
 * Seal plain[len] (a JSON line without its newline) as one line appended to
 * out. 0 or -errno (-EMSGSIZE: len over XP_SEAL_MAX_PLAIN).
 */
int xp_seal__seal(struct xp_seal *s, const char *plain, size_t len, struct xp_buf *out);
/*
 * Open one sealed line (without its newline) into out (replaced). 0, or
 * -EBADMSG: not base64, or the tag does not match (forged, modified,
 * replayed, reordered or dropped line): the session is over.
 */
int xp_seal__open(struct xp_seal *s, const char *line, size_t len, struct xp_buf *out);
/* Forget the key. */
void xp_seal__clear(struct xp_seal *s);
/* Constant-time equality. */
bool xp_sync_auth__equal(const uint8_t *a, const uint8_t *b, size_t n);
/* Random bytes from getrandom(). Returns 0 or -errno. */
int xp_sync_random(void *buf, size_t n);
/* A valid proxy id: 1..XP_SYNC_ID_MAX of [A-Za-z0-9._-]. */
bool xp_sync_id__valid(const char *id);

/* ---- the central table (table.c): M_DB ---- */

struct xp_ctable;

struct xp_ctable *xp_ctable__create(uint32_t max_pairs);
void xp_ctable__destroy(struct xp_ctable *t);
uint32_t xp_ctable__count(const struct xp_ctable *t);
uint64_t xp_ctable__version(const struct xp_ctable *t);
/* The row for key, or NULL. */
struct xp_sync_global *xp_ctable__find(struct xp_ctable *t, const struct xp_policer_key *key);
/* Find or insert (zeroed) the row. *created tells which. NULL when full. */
struct xp_sync_global *xp_ctable__get(struct xp_ctable *t, const struct xp_policer_key *key,
                                      bool *created);
/* The last writer of key's row (0: none since this run loaded it, or no row). */
uint32_t xp_ctable__writer(const struct xp_ctable *t, const struct xp_policer_key *key);
/* Record that key's row was written by writer (a new version). key must exist. */
void xp_ctable__touch(struct xp_ctable *t, const struct xp_policer_key *key, uint32_t writer);

/*
 * Writers. A row's writer is a token that stands for one proxy instance
 * (proxy id and the instance it announced in hello). The table keeps, per
 * proxy id, its current instance and token, and saves them with the rows,
 * so that after a restart of the central node a row still knows which
 * proxy instance wrote it last: that proxy's next sync replaces the row with
 * its window (merge_own) instead of merging it as if another proxy had
 * written it. 0 or -EINVAL (token 0, id too long), -ENOSPC, -ENOMEM.
 */
int xp_ctable__set_writer(struct xp_ctable *t, const char *proxy_id, uint64_t instance,
                          uint32_t token);
/* The token of proxy_id's instance, or 0 if the table knows another instance or none. */
uint32_t xp_ctable__writer_token(const struct xp_ctable *t, const char *proxy_id,
                                 uint64_t instance);
/* The proxy id a token stands for, or NULL (0, or a token the table no longer knows). */
const char *xp_ctable__writer_id(const struct xp_ctable *t, uint32_t token);
/* The largest token the table knows (new tokens must be larger). */
uint32_t xp_ctable__max_token(const struct xp_ctable *t);

/*
 * Pairs with version > since not last written by writer, oldest first, at
 * most max into out[] (key and g). *upto is the version to ask from next;
 * returns the count and sets *more if pairs remain.
 */
unsigned xp_ctable__scan(struct xp_ctable *t, uint64_t since, uint32_t writer,
                         struct xp_sync_wire_pair *out, unsigned max, uint64_t *upto,
                         bool *more);

/*
 * Row expiry (docs/protocol.md "Limits", row_ttl_ms). A row is dead when
 * its ts2 < now - ttl (now: the central's CLOCK_REALTIME in ns); ttl 0 (the
 * default of a new table) never expires anything.
 */
void xp_ctable__set_ttl(struct xp_ctable *t, uint64_t ttl_ns);
/*
 * One step of the incremental sweep: look at most max_visit rows from
 * where the last step stopped (wrapping around), removing the dead ones.
 * Removal moves the last row into the hole and keeps the delta log's
 * version order, so scan() still returns every live row changed since a
 * cursor exactly once. Returns the rows removed.
 */
unsigned xp_ctable__expire(struct xp_ctable *t, uint64_t now, unsigned max_visit);
/* Rows removed by expire() plus rows skipped as dead by load(), since create. */
uint64_t xp_ctable__expired(const struct xp_ctable *t);

/* Visit every pair (tests, stats). */
void xp_ctable__foreach(const struct xp_ctable *t,
                        void (*fn)(void *arg, const struct xp_policer_key *key,
                                   const struct xp_sync_global *g),
                        void *arg);

/*
 * Persist: write path.tmp, fsync, rename over path, fsync the directory;
 * only rows alive at now are written. Load: replace the content with the
 * file's, skipping (and counting in expired()) rows dead at now. Returns 0,
 * -errno, or -EBADMSG with a reason in err for a corrupt file. The _at
 * forms take now (tests); the others use CLOCK_REALTIME.
 */
int xp_ctable__save(const struct xp_ctable *t, const char *path);
int xp_ctable__save_at(const struct xp_ctable *t, const char *path, uint64_t now);
int xp_ctable__load(struct xp_ctable *t, const char *path, char *err, size_t err_len);
int xp_ctable__load_at(struct xp_ctable *t, const char *path, uint64_t now, char *err,
                       size_t err_len);

/*
 * ---- the store (docs/central.md): where M_DB lives ----
 *
 * By default the server keeps M_DB in its own table above (one process,
 * the embedded store). xp_central_config.store, when set, is an external
 * store that does the whole of one sync request's merge and change feed
 * instead (src/store/: Redis Cluster), so that any number of stateless
 * front-ends can serve the same M_DB. The interface is defined here, below
 * its implementations, so that the dependency stays one way (store -> sync).
 */
struct xp_store;

/* A proxy instance as a row's writer: what makes a row "own" (XP_ROW_OWN). */
struct xp_store_writer {
    const char *id;
    uint64_t instance;
};

/* One sync request, as the server hands it to the store. */
struct xp_store_sync {
    const struct xp_store_writer *w;
    uint64_t seq;   /* the request's sequence number: the store answers a retry from its record */
    uint64_t now;   /* CLOCK_REALTIME ns of the front-end */
    bool reset;     /* since 0: the change feed starts from the beginning for this writer */
    const struct xp_merge_params *merge;
    uint64_t row_ttl_ns;
    /* in: key and l; out: g and l (as xp_sync_merge). skip[i]: answered by the server, untouched */
    struct xp_sync_wire_pair *pairs;
    const bool *skip;
    unsigned n;
    /* out: rows others changed since this writer's last sync (at most room) */
    struct xp_sync_wire_pair *down;
    unsigned room;
    unsigned n_down;
    bool more;
    uint64_t upto;
    /* out: what the merges did (the server's counters) */
    uint64_t merges[4], shrinks, clamped, replayed;
};

struct xp_store_ops {
    const char *name;
    /* Merge q's pairs and read its change feed. 0, or -errno (the request is not answered). */
    int (*sync)(struct xp_store *s, struct xp_store_sync *q);
    /* The epoch every front-end of this store announces (shared by all). 0 or -errno. */
    int (*epoch)(struct xp_store *s, uint64_t *epoch);
    /* Stats object members (",\"store\":{...}") appended to b. */
    void (*stats_json)(struct xp_store *s, struct xp_buf *b);
    void (*destroy)(struct xp_store *s);
};

struct xp_store {
    const struct xp_store_ops *ops;
};

/*
 * ---- the central server (server.c) ----
 *
 * struct xp_central_config is what the server takes; src/central/config.h
 * fills it from xpro-central's configuration file (and holds its defaults).
 */

#define XP_CENTRAL_MAX_UNITS 64

struct xp_central_proxy_conf {
    char id[XP_SYNC_ID_MAX + 1];
    uint8_t secret[XP_SYNC_SECRET_MAX];
    size_t secret_len;
    /* an operator's credential: stats only, never a write (docs/protocol.md "Authorisation") */
    bool read_only;
    /* the units this proxy may write rows for (IPv4 mapped); none configured: any */
    struct xp_cidr units[XP_CENTRAL_MAX_UNITS];
    unsigned n_units;
};

struct xp_central_config {
    char listen[64];   /* numeric address */
    uint16_t port;     /* 0: ephemeral (tests) */
    char state_file[512]; /* "" : no persistence */
    uint64_t persist_period_ms;
    uint64_t stats_period_ms; /* --stats-out line period */
    struct xp_merge_params merge;
    uint32_t max_line;
    uint32_t max_pairs;
    uint32_t max_warnings;
    uint32_t max_conns;
    uint32_t max_table_pairs;
    uint64_t row_ttl_ns; /* 0: merge.t_t1 + merge.max_skew (resolved by xp_central__create) */
    uint64_t auth_timeout_ms;
    uint32_t max_preauth;            /* connections not yet authenticated, in all */
    uint32_t max_preauth_per_source; /* ... from one source address */
    uint64_t read_timeout_ms;
    uint64_t idle_timeout_ms;
    char log_level[8];
    struct xp_central_proxy_conf *proxies;
    unsigned n_proxies;
    /* NULL: the embedded table; else borrowed, outlives the server (see "the store" above) */
    struct xp_store *store;
    /* what the file says of the store; main() builds store from it (src/store/store.h) */
    struct xp_central_store_conf {
        int kind; /* XP_STORE_KIND_* */
        char seeds[1024];
        char user[64];
        char password_file[512];
        uint32_t buckets;
        uint64_t timeout_ms;
        uint64_t retry_ms;
        uint32_t wait_replicas;
    } store_conf;
};
enum xp_store_kind {
    XP_STORE_KIND_MEMORY = 0,
    XP_STORE_KIND_REDIS = 1,
};

struct xp_central;

/*
 * Create the server: load the state file if it exists (a corrupt file is an
 * error, errno EBADMSG, reason logged), bind and listen. cfg is copied.
 * Returns NULL with errno.
 */
struct xp_central *xp_central__create(const struct xp_central_config *cfg);
void xp_central__destroy(struct xp_central *c);
/* The bound port (useful with port 0). */
uint16_t xp_central__port(const struct xp_central *c);
/* Watch fd (a signalfd): readable means stop. */
int xp_central__add_stop_fd(struct xp_central *c, int fd);
/* Write a stats line to f every stats_period_ms (NULL: off). */
void xp_central__set_stats_out(struct xp_central *c, void *file);
/*
 * Run the event loop until xp_central__stop() or the stop fd; persists the
 * state on the way out. Returns 0 or -errno. One thread.
 */
int xp_central__run(struct xp_central *c);
/* Ask the loop to return. Any thread, async-signal-safe. */
void xp_central__stop(struct xp_central *c);
/* Persist now. Loop thread (or when the loop is not running). */
int xp_central__persist(struct xp_central *c);
/*
 * The embedding program's fd (xpro-central: its signalfd): readable means
 * fn(c, arg) on the loop thread, which must read it. One fd. 0 or -errno.
 */
int xp_central__watch_fd(struct xp_central *c, int fd,
                         void (*fn)(struct xp_central *c, void *arg), void *arg);
/*
 * fn(c, arg) on the loop thread after every turn of the loop (at least
 * every 50 ms): a call proves the loop alive (the service watchdog).
 */
void xp_central__set_tick(struct xp_central *c, void (*fn)(struct xp_central *c, void *arg),
                          void *arg);
/*
 * Apply a new configuration (SIGHUP) on the loop thread, keeping M_DB and
 * every connection: an id still configured with the same credential keeps
 * its session, instance, token and sequence (its proxy's sync goes on
 * without a reset); a removed id, or one whose secret or role changed,
 * loses its session. listen, port, max_line, max_pairs and max_table_pairs
 * cannot change: -EINVAL, nothing changed. cfg is copied. 0 with a summary
 * in msg, or -errno with the reason.
 */
int xp_central__reload(struct xp_central *c, const struct xp_central_config *cfg, char *msg,
                       size_t msg_len);
/* Numbers for the service manager's status line. Loop thread. */
struct xp_central_summary {
    uint16_t port;
    unsigned proxies, operators, connected;
    uint32_t rows;
    uint64_t reloads;
};
void xp_central__summary(const struct xp_central *c, struct xp_central_summary *out);
/* The table (tests read it after run() returned). */
struct xp_ctable *xp_central__table(struct xp_central *c);
/* Stats document as a JSON object into b. Loop thread or after run(). */
void xp_central__stats_json(struct xp_central *c, struct xp_buf *b);

#endif /* XP_SYNC_INTERNAL_H */
