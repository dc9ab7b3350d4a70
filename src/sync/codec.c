// SPDX-License-Identifier: GPL-2.0-only
/*
 * The wire codec of the sync protocol (docs/protocol.md): one JSON object
 * per line.
 *
 * Decoding goes through jansson and is strict: every message has a fixed
 * key set (an unknown key is an error, as in our config files), integers
 * must be non-negative and fit in int64, hex fields have an exact length.
 * The peer is untrusted until authenticated, and even then a malformed
 * message is a bug or an attack, so the decoder names the first problem
 * and the caller drops the connection.
 *
 * Encoding is hand-written printf into a growable buffer: the schema is
 * fixed and flat, and an answer of 100,000 pairs must not build 100,000
 * jansson trees.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync_internal.h"

static const char *const err_names[XP_SYNC_E__COUNT] = {
    [XP_SYNC_E_NONE] = "none",
    [XP_SYNC_E_BAD_JSON] = "bad_json",
    [XP_SYNC_E_BAD_VERSION] = "bad_version",
    [XP_SYNC_E_UNKNOWN_OP] = "unknown_op",
    [XP_SYNC_E_BAD_MESSAGE] = "bad_message",
    [XP_SYNC_E_TOO_MANY_PAIRS] = "too_many_pairs",
    [XP_SYNC_E_LINE_TOO_LONG] = "line_too_long",
    [XP_SYNC_E_AUTH_REQUIRED] = "auth_required",
    [XP_SYNC_E_AUTH_FAILED] = "auth_failed",
    [XP_SYNC_E_UNEXPECTED_OP] = "unexpected_op",
    [XP_SYNC_E_SEQ_STALE] = "seq_stale",
    [XP_SYNC_E_BUSY] = "busy",
    [XP_SYNC_E_TIMEOUT] = "timeout",
    [XP_SYNC_E_INTERNAL] = "internal",
    [XP_SYNC_E_SHUTDOWN] = "shutdown",
    [XP_SYNC_E_FORBIDDEN] = "forbidden",
};

const char *xp_sync_err__name(enum xp_sync_err e)
{
    if ((unsigned)e >= XP_SYNC_E__COUNT)
        return "internal";
    return err_names[e];
}

enum xp_sync_err xp_sync_err__parse(const char *name)
{
    for (unsigned i = 1; i < XP_SYNC_E__COUNT; i++)
        if (strcmp(name, err_names[i]) == 0)
            return i;
    return XP_SYNC_E_NONE;
}

static const char *const op_names[] = {
    [XP_OP_NONE] = NULL,
    [XP_OP_CHALLENGE] = "challenge",
    [XP_OP_HELLO] = "hello",
    [XP_OP_WELCOME] = "welcome",
    [XP_OP_SYNC] = "sync",
    [XP_OP_SYNC_OK] = "sync_ok",
    [XP_OP_STATS] = "stats",
    [XP_OP_STATS_OK] = "stats_ok",
    [XP_OP_PING] = "ping",
    [XP_OP_PONG] = "pong",
    [XP_OP_ERROR] = "error",
    [XP_OP_WHY] = "why",
    [XP_OP_WHY_OK] = "why_ok",
};

#define XP_N_OPS (sizeof(op_names) / sizeof(op_names[0]))

const char *xp_sync_op__name(enum xp_sync_op op)
{
    if ((unsigned)op >= XP_N_OPS || !op_names[op])
        return "none";
    return op_names[op];
}

/* The keys each message may (and, but for the optional ones, must) carry. */
static const char *const keys_common[] = {"v", "op", NULL};
static const char *const keys_by_op[][10] = {
    [XP_OP_CHALLENGE] = {"nonce", "kx", NULL},
    [XP_OP_HELLO] = {"proxy_id", "instance", "nonce", "kx", "hmac", NULL},
    [XP_OP_WELCOME] = {"hmac", "epoch", "max_pairs", "max_line", NULL},
    [XP_OP_SYNC] = {"seq", "epoch", "since", "pairs", "load", "warnings", NULL},
    [XP_OP_SYNC_OK] = {"seq", "epoch", "upto", "more", "clamped", "pairs", "down", NULL},
    [XP_OP_STATS] = {NULL},
    [XP_OP_STATS_OK] = {"stats", NULL},
    [XP_OP_PING] = {NULL},
    [XP_OP_PONG] = {"t", NULL},
    [XP_OP_ERROR] = {"code", "message", "seq", NULL},
    [XP_OP_WHY] = {"unit", "dst", NULL},
    [XP_OP_WHY_OK] = {"why", NULL},
};

/* ---- secrets ---- */

int xp_sync_secret__parse(const char *hex, uint8_t *out, size_t out_max)
{
    int n = hex ? xp_hex__decode(hex, out, out_max) : -EINVAL;

    if (n < XP_SYNC_SECRET_MIN)
        return -EINVAL;
    return n;
}

bool xp_sync_id__valid(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > XP_SYNC_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

/* ---- buffers ---- */

void xp_buf__init(struct xp_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void xp_buf__free(struct xp_buf *b)
{
    free(b->p);
    xp_buf__init(b);
}

static bool xp_buf__reserve(struct xp_buf *b, size_t more)
{
    size_t cap;
    char *p;

    if (b->oom)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void xp_buf__append(struct xp_buf *b, const void *data, size_t len)
{
    if (!xp_buf__reserve(b, len))
        return;
    memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
}

void xp_buf__printf(struct xp_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !xp_buf__reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void xp_buf__consume(struct xp_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        if (b->p)
            b->p[0] = '\0';
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
    b->p[b->len] = '\0';
}

void xp_buf__json_str(struct xp_buf *b, const char *s)
{
    xp_buf__append(b, "\"", 1);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch == '"' || ch == '\\')
            xp_buf__printf(b, "\\%c", ch);
        else if (ch < 0x20 || ch >= 0x7f)
            /* non-ASCII is escaped byte-wise so that the line stays valid UTF-8 */
            xp_buf__printf(b, "\\u%04x", ch);
        else
            xp_buf__append(b, s, 1);
    }
    xp_buf__append(b, "\"", 1);
}

/* ---- decoding ---- */

struct xp_dec {
    char *err;
    size_t err_len;
    const struct xp_sync_limits *lim;
};

static enum xp_sync_err xp_dec__fail(struct xp_dec *d, enum xp_sync_err code, const char *fmt,
                                     ...) __attribute__((format(printf, 3, 4)));

static enum xp_sync_err xp_dec__fail(struct xp_dec *d, enum xp_sync_err code, const char *fmt,
                                     ...)
{
    va_list ap;

    if (d->err && d->err_len) {
        va_start(ap, fmt);
        vsnprintf(d->err, d->err_len, fmt, ap);
        va_end(ap);
    }
    return code;
}

static bool xp_key_in(const char *key, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(key, *set) == 0)
            return true;
    return false;
}

static enum xp_sync_err xp_dec__keys(struct xp_dec *d, json_t *obj, const char *where,
                                     const char *const *a, const char *const *b)
{
    const char *key;
    json_t *val;

    json_object_foreach(obj, key, val) {
        (void)val;
        if (!xp_key_in(key, a) && !(b && xp_key_in(key, b)))
            return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE, "%s: unknown key \"%.40s\"", where,
                                key);
    }
    return XP_SYNC_E_NONE;
}

static enum xp_sync_err xp_dec__u64(struct xp_dec *d, json_t *obj, const char *where,
                                    const char *key, bool required, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);

    if (!v) {
        if (!required)
            return XP_SYNC_E_NONE;
        return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE, "%s: missing \"%s\"", where, key);
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE,
                            "%s: \"%s\" must be a non-negative integer", where, key);
    *out = (uint64_t)json_integer_value(v);
    return XP_SYNC_E_NONE;
}

static enum xp_sync_err xp_dec__bool(struct xp_dec *d, json_t *obj, const char *where,
                                     const char *key, bool *out)
{
    json_t *v = json_object_get(obj, key);

    if (!v)
        return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE, "%s: missing \"%s\"", where, key);
    if (!json_is_boolean(v))
        return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE, "%s: \"%s\" must be true or false",
                            where, key);
    *out = json_is_true(v);
    return XP_SYNC_E_NONE;
}

static enum xp_sync_err xp_dec__str(struct xp_dec *d, json_t *obj, const char *where,
                                    const char *key, const char **out)
{
    json_t *v = json_object_get(obj, key);

    if (!v)
        return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE, "%s: missing \"%s\"", where, key);
    if (!json_is_string(v))
        return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE, "%s: \"%s\" must be a string", where,
                            key);
    *out = json_string_value(v);
    return XP_SYNC_E_NONE;
}

/* Exactly n bytes as 2n hex digits. */
static enum xp_sync_err xp_dec__hex(struct xp_dec *d, json_t *obj, const char *where,
                                    const char *key, uint8_t *out, size_t n)
{
    const char *s = NULL;
    enum xp_sync_err e = xp_dec__str(d, obj, where, key, &s);

    if (e)
        return e;
    if (xp_hex__decode(s, out, n) != (int)n) /* n bytes at most, so exactly 2n digits */
        return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE, "%s: \"%s\" must be %zu hex digits",
                            where, key, 2 * n);
    return XP_SYNC_E_NONE;
}

static enum xp_sync_err xp_dec__u64hex(struct xp_dec *d, json_t *obj, const char *where,
                                       const char *key, uint64_t *out)
{
    uint8_t raw[8];
    enum xp_sync_err e = xp_dec__hex(d, obj, where, key, raw, sizeof(raw));

    if (e)
        return e;
    *out = 0;
    for (unsigned i = 0; i < 8; i++)
        *out = *out << 8 | raw[i];
    return XP_SYNC_E_NONE;
}

static enum xp_sync_err xp_dec__addr(struct xp_dec *d, json_t *obj, const char *where,
                                     const char *key, uint8_t a[16])
{
    const char *s = NULL;
    enum xp_sync_err e = xp_dec__str(d, obj, where, key, &s);

    if (e)
        return e;
    if (strlen(s) > 45 || xp_addr__parse(s, a) < 0)
        return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE, "%s: \"%s\" is not an IP address",
                            where, key);
    return XP_SYNC_E_NONE;
}

static enum xp_sync_err xp_dec__window(struct xp_dec *d, const char *where, uint64_t ts1,
                                       uint64_t ts2)
{
    if (ts1 > ts2)
        return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE, "%s: ts1 > ts2", where);
    return XP_SYNC_E_NONE;
}

static enum xp_sync_err xp_dec__global(struct xp_dec *d, json_t *pair, const char *where,
                                       struct xp_sync_global *g)
{
    static const char *const keys[] = {"ts1", "ts2", "c", NULL};
    json_t *obj = json_object_get(pair, "global");
    enum xp_sync_err e;

    if (!obj || !json_is_object(obj))
        return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE, "%s: \"global\" must be an object",
                            where);
    if ((e = xp_dec__keys(d, obj, where, keys, NULL)) ||
        (e = xp_dec__u64(d, obj, where, "ts1", true, &g->ts1)) ||
        (e = xp_dec__u64(d, obj, where, "ts2", true, &g->ts2)) ||
        (e = xp_dec__u64(d, obj, where, "c", true, &g->c)))
        return e;
    return xp_dec__window(d, where, g->ts1, g->ts2);
}

static enum xp_sync_err xp_dec__local(struct xp_dec *d, json_t *obj, const char *where,
                                      struct xp_pair_state *l)
{
    enum xp_sync_err e;

    if ((e = xp_dec__u64(d, obj, where, "ts1", true, &l->ts1)) ||
        (e = xp_dec__u64(d, obj, where, "ts2", true, &l->ts2)) ||
        (e = xp_dec__u64(d, obj, where, "c", true, &l->c)) ||
        (e = xp_dec__u64(d, obj, where, "dc", true, &l->dc)) ||
        (e = xp_dec__bool(d, obj, where, "mark", &l->mark)))
        return e;
    return xp_dec__window(d, where, l->ts1, l->ts2);
}

enum xp_pair_kind {
    XP_PK_REQUEST = 0, /* sync: unit, dst, ts1, ts2, c, dc, mark */
    XP_PK_ANSWER = 1,  /* sync_ok pairs: unit, dst, global, local */
    XP_PK_DOWN = 2,    /* sync_ok down: unit, dst, global */
};

static enum xp_sync_err xp_dec__pair(struct xp_dec *d, json_t *obj, enum xp_pair_kind kind,
                                     struct xp_sync_wire_pair *p)
{
    static const char *const k_req[] = {"unit", "dst", "ts1", "ts2", "c", "dc", "mark", NULL};
    static const char *const k_ans[] = {"unit", "dst", "global", "local", NULL};
    static const char *const k_down[] = {"unit", "dst", "global", NULL};
    static const char *const k_local[] = {"ts1", "ts2", "c", "dc", "mark", NULL};
    const char *where = kind == XP_PK_DOWN ? "down[]" : "pairs[]";
    enum xp_sync_err e;
    json_t *loc;

    if (!json_is_object(obj))
        return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE, "%s: must be an object", where);
    e = xp_dec__keys(d, obj, where,
                     kind == XP_PK_REQUEST ? k_req : kind == XP_PK_ANSWER ? k_ans : k_down,
                     NULL);
    if (e || (e = xp_dec__addr(d, obj, where, "unit", p->key.unit)) ||
        (e = xp_dec__addr(d, obj, where, "dst", p->key.dst)))
        return e;
    switch (kind) {
    case XP_PK_REQUEST:
        return xp_dec__local(d, obj, where, &p->l);
    case XP_PK_ANSWER:
        if ((e = xp_dec__global(d, obj, where, &p->g)))
            return e;
        loc = json_object_get(obj, "local");
        if (!loc || !json_is_object(loc))
            return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE, "%s: \"local\" must be an object",
                                where);
        if ((e = xp_dec__keys(d, loc, where, k_local, NULL)))
            return e;
        return xp_dec__local(d, loc, where, &p->l);
    case XP_PK_DOWN:
        if ((e = xp_dec__global(d, obj, where, &p->g)))
            return e;
        xp_sync_merge_down(&p->g, &p->l);
        return XP_SYNC_E_NONE;
    }
    return XP_SYNC_E_BAD_MESSAGE;
}

static enum xp_sync_err xp_dec__pairs(struct xp_dec *d, json_t *root, const char *key,
                                      enum xp_pair_kind kind, struct xp_sync_wire_pair **out,
                                      unsigned *n_out)
{
    json_t *arr = json_object_get(root, key);
    size_t n, i;
    json_t *el;

    if (!arr || !json_is_array(arr))
        return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE, "\"%s\" must be an array", key);
    n = json_array_size(arr);
    if (n > d->lim->max_pairs)
        return xp_dec__fail(d, XP_SYNC_E_TOO_MANY_PAIRS, "\"%s\": %zu pairs, at most %u", key,
                            n, d->lim->max_pairs);
    *n_out = 0;
    if (n == 0)
        return XP_SYNC_E_NONE;
    *out = calloc(n, sizeof(**out));
    if (!*out)
        return xp_dec__fail(d, XP_SYNC_E_INTERNAL, "out of memory");
    json_array_foreach(arr, i, el) {
        enum xp_sync_err e = xp_dec__pair(d, el, kind, &(*out)[i]);

        if (e)
            return e;
        (*n_out)++;
    }
    return XP_SYNC_E_NONE;
}

static enum xp_sync_err xp_dec__load(struct xp_dec *d, json_t *root, struct xp_sync_msg *m)
{
    static const char *const keys[] = {"w_ppm", "pps", "drop_pps", "pairs", NULL};
    json_t *obj = json_object_get(root, "load");
    enum xp_sync_err e;

    if (!obj)
        return XP_SYNC_E_NONE;
    if (!json_is_object(obj))
        return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE, "\"load\" must be an object");
    if ((e = xp_dec__keys(d, obj, "load", keys, NULL)) ||
        (e = xp_dec__u64(d, obj, "load", "w_ppm", true, &m->load.w_ppm)) ||
        (e = xp_dec__u64(d, obj, "load", "pps", true, &m->load.pps)) ||
        (e = xp_dec__u64(d, obj, "load", "drop_pps", true, &m->load.drop_pps)) ||
        (e = xp_dec__u64(d, obj, "load", "pairs", true, &m->load.pairs)))
        return e;
    m->has_load = true;
    return XP_SYNC_E_NONE;
}

static enum xp_sync_err xp_dec__warnings(struct xp_dec *d, json_t *root, struct xp_sync_msg *m)
{
    static const char *const keys[] = {"unit", "dst", "rate_pps", "threshold_pps", "t", NULL};
    json_t *arr = json_object_get(root, "warnings");
    size_t n, i;
    json_t *el;

    if (!arr)
        return XP_SYNC_E_NONE;
    if (!json_is_array(arr))
        return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE, "\"warnings\" must be an array");
    n = json_array_size(arr);
    if (n > d->lim->max_warnings)
        return xp_dec__fail(d, XP_SYNC_E_TOO_MANY_PAIRS, "\"warnings\": %zu, at most %u", n,
                            d->lim->max_warnings);
    if (n == 0)
        return XP_SYNC_E_NONE;
    m->warnings = calloc(n, sizeof(*m->warnings));
    if (!m->warnings)
        return xp_dec__fail(d, XP_SYNC_E_INTERNAL, "out of memory");
    json_array_foreach(arr, i, el) {
        struct xp_sync_warning *w = &m->warnings[i];
        enum xp_sync_err e;

        if (!json_is_object(el))
            return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE, "warnings[]: must be an object");
        if ((e = xp_dec__keys(d, el, "warnings[]", keys, NULL)) ||
            (e = xp_dec__addr(d, el, "warnings[]", "unit", w->key.unit)) ||
            (e = xp_dec__addr(d, el, "warnings[]", "dst", w->key.dst)) ||
            (e = xp_dec__u64(d, el, "warnings[]", "rate_pps", true, &w->rate_pps)) ||
            (e = xp_dec__u64(d, el, "warnings[]", "threshold_pps", true, &w->threshold_pps)) ||
            (e = xp_dec__u64(d, el, "warnings[]", "t", true, &w->t_ns)))
            return e;
        m->n_warnings++;
    }
    return XP_SYNC_E_NONE;
}

static enum xp_sync_err xp_dec__seq(struct xp_dec *d, json_t *root, const char *op,
                                    uint64_t *seq)
{
    enum xp_sync_err e = xp_dec__u64(d, root, op, "seq", true, seq);

    if (e)
        return e;
    if (*seq == 0)
        return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE, "%s: \"seq\" must be >= 1", op);
    return XP_SYNC_E_NONE;
}

static enum xp_sync_err xp_dec__body(struct xp_dec *d, json_t *root, struct xp_sync_msg *m)
{
    const char *op = xp_sync_op__name(m->op), *s = NULL;
    enum xp_sync_err e;
    json_t *v;

    switch (m->op) {
    case XP_OP_CHALLENGE:
        if ((e = xp_dec__hex(d, root, op, "nonce", m->nonce, XP_SYNC_NONCE_LEN)))
            return e;
        return xp_dec__hex(d, root, op, "kx", m->kx, XP_KX_LEN);
    case XP_OP_HELLO:
        if ((e = xp_dec__str(d, root, op, "proxy_id", &s)))
            return e;
        if (!xp_sync_id__valid(s))
            return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE, "hello: bad \"proxy_id\"");
        snprintf(m->proxy_id, sizeof(m->proxy_id), "%s", s);
        if ((e = xp_dec__u64hex(d, root, op, "instance", &m->instance)) ||
            (e = xp_dec__hex(d, root, op, "nonce", m->nonce, XP_SYNC_NONCE_LEN)) ||
            (e = xp_dec__hex(d, root, op, "kx", m->kx, XP_KX_LEN)))
            return e;
        return xp_dec__hex(d, root, op, "hmac", m->mac, XP_SYNC_MAC_LEN);
    case XP_OP_WELCOME:
        if ((e = xp_dec__hex(d, root, op, "hmac", m->mac, XP_SYNC_MAC_LEN)) ||
            (e = xp_dec__u64hex(d, root, op, "epoch", &m->epoch)) ||
            (e = xp_dec__u64(d, root, op, "max_pairs", true, &m->max_pairs)))
            return e;
        if ((e = xp_dec__u64(d, root, op, "max_line", true, &m->max_line)))
            return e;
        if (m->max_pairs == 0 || m->max_line == 0)
            return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE, "welcome: zero limit");
        return XP_SYNC_E_NONE;
    case XP_OP_SYNC:
        if ((e = xp_dec__seq(d, root, op, &m->seq)) ||
            (e = xp_dec__u64hex(d, root, op, "epoch", &m->epoch)) ||
            (e = xp_dec__u64(d, root, op, "since", true, &m->since)) ||
            (e = xp_dec__pairs(d, root, "pairs", XP_PK_REQUEST, &m->pairs, &m->n_pairs)) ||
            (e = xp_dec__load(d, root, m)))
            return e;
        return xp_dec__warnings(d, root, m);
    case XP_OP_SYNC_OK:
        if ((e = xp_dec__seq(d, root, op, &m->seq)) ||
            (e = xp_dec__u64hex(d, root, op, "epoch", &m->epoch)) ||
            (e = xp_dec__u64(d, root, op, "upto", true, &m->upto)) ||
            (e = xp_dec__bool(d, root, op, "more", &m->more)) ||
            (e = xp_dec__u64(d, root, op, "clamped", true, &m->clamped)) ||
            (e = xp_dec__pairs(d, root, "pairs", XP_PK_ANSWER, &m->pairs, &m->n_pairs)))
            return e;
        return xp_dec__pairs(d, root, "down", XP_PK_DOWN, &m->down, &m->n_down);
    case XP_OP_STATS:
    case XP_OP_PING:
        return XP_SYNC_E_NONE;
    case XP_OP_WHY:
        if ((e = xp_dec__addr(d, root, op, "unit", m->why_key.unit)))
            return e;
        return xp_dec__addr(d, root, op, "dst", m->why_key.dst);
    case XP_OP_STATS_OK:
    case XP_OP_WHY_OK:
        v = json_object_get(root, m->op == XP_OP_WHY_OK ? "why" : "stats");
        if (!v || !json_is_object(v))
            return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE, "%s: \"%s\" must be an object", op,
                                m->op == XP_OP_WHY_OK ? "why" : "stats");
        m->stats_json = json_dumps(v, JSON_COMPACT);
        if (!m->stats_json)
            return xp_dec__fail(d, XP_SYNC_E_INTERNAL, "out of memory");
        return XP_SYNC_E_NONE;
    case XP_OP_PONG:
        return xp_dec__u64(d, root, op, "t", true, &m->t_ns);
    case XP_OP_ERROR:
        if ((e = xp_dec__str(d, root, op, "code", &s)))
            return e;
        m->code = xp_sync_err__parse(s);
        if (m->code == XP_SYNC_E_NONE)
            return xp_dec__fail(d, XP_SYNC_E_BAD_MESSAGE, "error: unknown code");
        if ((e = xp_dec__str(d, root, op, "message", &s)))
            return e;
        snprintf(m->message, sizeof(m->message), "%s", s);
        return xp_dec__u64(d, root, op, "seq", false, &m->seq);
    case XP_OP_NONE:
        break;
    }
    return XP_SYNC_E_UNKNOWN_OP;
}

enum xp_sync_err xp_sync_msg__decode(const char *line, size_t len,
                                     const struct xp_sync_limits *lim, struct xp_sync_msg *msg,
                                     char *err, size_t err_len)
{
    struct xp_dec d = {.err = err, .err_len = err_len, .lim = lim};
    enum xp_sync_err e;
    json_error_t jerr;
    const char *op;
    json_t *root, *v;

    memset(msg, 0, sizeof(*msg));
    if (err && err_len)
        err[0] = '\0';
    root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return xp_dec__fail(&d, XP_SYNC_E_BAD_JSON, "col %d: %s", jerr.column, jerr.text);
    if (!json_is_object(root)) {
        e = xp_dec__fail(&d, XP_SYNC_E_BAD_JSON, "a message is a JSON object");
        goto out;
    }
    v = json_object_get(root, "v");
    if (!v || !json_is_integer(v) || json_integer_value(v) != XP_SYNC_PROTO_VERSION) {
        e = xp_dec__fail(&d, XP_SYNC_E_BAD_VERSION, "\"v\" must be %d", XP_SYNC_PROTO_VERSION);
        goto out;
    }
    v = json_object_get(root, "op");
    if (!v || !json_is_string(v)) {
        e = xp_dec__fail(&d, XP_SYNC_E_BAD_MESSAGE, "missing \"op\"");
        goto out;
    }
    op = json_string_value(v);
    for (unsigned i = 1; i < XP_N_OPS; i++)
        if (strcmp(op, op_names[i]) == 0)
            msg->op = i;
    if (msg->op == XP_OP_NONE) {
        e = xp_dec__fail(&d, XP_SYNC_E_UNKNOWN_OP, "unknown op \"%.32s\"", op);
        goto out;
    }
    e = xp_dec__keys(&d, root, xp_sync_op__name(msg->op), keys_common, keys_by_op[msg->op]);
    if (!e)
        e = xp_dec__body(&d, root, msg);
out:
    json_decref(root);
    return e;
}

void xp_sync_msg__release(struct xp_sync_msg *msg)
{
    free(msg->pairs);
    msg->pairs = NULL;
    free(msg->down);
    msg->down = NULL;
    free(msg->warnings);
    msg->warnings = NULL;
    free(msg->stats_json);
    msg->stats_json = NULL;
    msg->n_pairs = msg->n_down = msg->n_warnings = 0;
}

/* ---- encoding ---- */

static void xp_enc__hex(struct xp_buf *b, const char *key, const uint8_t *raw, size_t n)
{
    char hex[2 * 64 + 1];

    xp_hex__encode(raw, n, hex);
    xp_buf__printf(b, ",\"%s\":\"%s\"", key, hex);
}

static void xp_enc__u64hex(struct xp_buf *b, const char *key, uint64_t v)
{
    xp_buf__printf(b, ",\"%s\":\"%016" PRIx64 "\"", key, v);
}

static void xp_enc__keys(struct xp_buf *b, const struct xp_policer_key *k)
{
    char u[64], d[64];

    xp_addr__format(k->unit, u, sizeof(u));
    xp_addr__format(k->dst, d, sizeof(d));
    xp_buf__printf(b, "{\"unit\":\"%s\",\"dst\":\"%s\"", u, d);
}

static void xp_enc__global(struct xp_buf *b, const struct xp_sync_global *g)
{
    xp_buf__printf(b, ",\"global\":{\"ts1\":%" PRIu64 ",\"ts2\":%" PRIu64 ",\"c\":%" PRIu64 "}",
                   g->ts1, g->ts2, g->c);
}

static void xp_enc__local_fields(struct xp_buf *b, const struct xp_pair_state *l)
{
    xp_buf__printf(b,
                   "\"ts1\":%" PRIu64 ",\"ts2\":%" PRIu64 ",\"c\":%" PRIu64 ",\"dc\":%" PRIu64
                   ",\"mark\":%s",
                   l->ts1, l->ts2, l->c, l->dc, l->mark ? "true" : "false");
}

static void xp_enc__pairs(struct xp_buf *b, const char *key, const struct xp_sync_wire_pair *p,
                          unsigned n, enum xp_pair_kind kind)
{
    xp_buf__printf(b, ",\"%s\":[", key);
    for (unsigned i = 0; i < n; i++) {
        if (i)
            xp_buf__append(b, ",", 1);
        xp_enc__keys(b, &p[i].key);
        switch (kind) {
        case XP_PK_REQUEST:
            xp_buf__append(b, ",", 1);
            xp_enc__local_fields(b, &p[i].l);
            break;
        case XP_PK_ANSWER:
            xp_enc__global(b, &p[i].g);
            xp_buf__append(b, ",\"local\":{", 10);
            xp_enc__local_fields(b, &p[i].l);
            xp_buf__append(b, "}", 1);
            break;
        case XP_PK_DOWN:
            xp_enc__global(b, &p[i].g);
            break;
        }
        xp_buf__append(b, "}", 1);
    }
    xp_buf__append(b, "]", 1);
}

static void xp_enc__warnings(struct xp_buf *b, const struct xp_sync_warning *w, unsigned n)
{
    xp_buf__append(b, ",\"warnings\":[", 13);
    for (unsigned i = 0; i < n; i++) {
        if (i)
            xp_buf__append(b, ",", 1);
        xp_enc__keys(b, &w[i].key);
        xp_buf__printf(b,
                       ",\"rate_pps\":%" PRIu64 ",\"threshold_pps\":%" PRIu64 ",\"t\":%" PRIu64
                       "}",
                       w[i].rate_pps, w[i].threshold_pps, w[i].t_ns);
    }
    xp_buf__append(b, "]", 1);
}

int xp_sync_msg__encode(const struct xp_sync_msg *m, struct xp_buf *b)
{
    size_t start = b->len;

    xp_buf__printf(b, "{\"v\":%d,\"op\":\"%s\"", XP_SYNC_PROTO_VERSION, xp_sync_op__name(m->op));
    switch (m->op) {
    case XP_OP_CHALLENGE:
        xp_enc__hex(b, "nonce", m->nonce, XP_SYNC_NONCE_LEN);
        xp_enc__hex(b, "kx", m->kx, XP_KX_LEN);
        break;
    case XP_OP_HELLO:
        xp_buf__append(b, ",\"proxy_id\":", 12);
        xp_buf__json_str(b, m->proxy_id);
        xp_enc__u64hex(b, "instance", m->instance);
        xp_enc__hex(b, "nonce", m->nonce, XP_SYNC_NONCE_LEN);
        xp_enc__hex(b, "kx", m->kx, XP_KX_LEN);
        xp_enc__hex(b, "hmac", m->mac, XP_SYNC_MAC_LEN);
        break;
    case XP_OP_WELCOME:
        xp_enc__hex(b, "hmac", m->mac, XP_SYNC_MAC_LEN);
        xp_enc__u64hex(b, "epoch", m->epoch);
        xp_buf__printf(b, ",\"max_pairs\":%" PRIu64 ",\"max_line\":%" PRIu64, m->max_pairs,
                       m->max_line);
        break;
    case XP_OP_SYNC:
        xp_buf__printf(b, ",\"seq\":%" PRIu64, m->seq);
        xp_enc__u64hex(b, "epoch", m->epoch);
        xp_buf__printf(b, ",\"since\":%" PRIu64, m->since);
        xp_enc__pairs(b, "pairs", m->pairs, m->n_pairs, XP_PK_REQUEST);
        if (m->has_load)
            xp_buf__printf(b,
                           ",\"load\":{\"w_ppm\":%" PRIu64 ",\"pps\":%" PRIu64
                           ",\"drop_pps\":%" PRIu64 ",\"pairs\":%" PRIu64 "}",
                           m->load.w_ppm, m->load.pps, m->load.drop_pps, m->load.pairs);
        if (m->n_warnings)
            xp_enc__warnings(b, m->warnings, m->n_warnings);
        break;
    case XP_OP_SYNC_OK:
        xp_buf__printf(b, ",\"seq\":%" PRIu64, m->seq);
        xp_enc__u64hex(b, "epoch", m->epoch);
        xp_buf__printf(b, ",\"upto\":%" PRIu64 ",\"more\":%s,\"clamped\":%" PRIu64, m->upto,
                       m->more ? "true" : "false", m->clamped);
        xp_enc__pairs(b, "pairs", m->pairs, m->n_pairs, XP_PK_ANSWER);
        xp_enc__pairs(b, "down", m->down, m->n_down, XP_PK_DOWN);
        break;
    case XP_OP_WHY: {
        char u[64], d[64];

        xp_addr__format(m->why_key.unit, u, sizeof(u));
        xp_addr__format(m->why_key.dst, d, sizeof(d));
        xp_buf__printf(b, ",\"unit\":\"%s\",\"dst\":\"%s\"", u, d);
        break;
    }
    case XP_OP_WHY_OK:
        xp_buf__append(b, ",\"why\":", 7);
        xp_buf__append(b, m->stats_json ? m->stats_json : "{}",
                       strlen(m->stats_json ? m->stats_json : "{}"));
        break;
    case XP_OP_STATS_OK:
        xp_buf__append(b, ",\"stats\":", 9);
        xp_buf__append(b, m->stats_json ? m->stats_json : "{}",
                       strlen(m->stats_json ? m->stats_json : "{}"));
        break;
    case XP_OP_PONG:
        xp_buf__printf(b, ",\"t\":%" PRIu64, m->t_ns);
        break;
    case XP_OP_ERROR:
        xp_buf__printf(b, ",\"code\":\"%s\",\"message\":", xp_sync_err__name(m->code));
        xp_buf__json_str(b, m->message);
        if (m->seq)
            xp_buf__printf(b, ",\"seq\":%" PRIu64, m->seq);
        break;
    case XP_OP_STATS:
    case XP_OP_PING:
    case XP_OP_NONE:
        break;
    }
    xp_buf__append(b, "}\n", 2);
    if (b->oom) {
        b->len = start;
        b->oom = false;
        return -ENOMEM;
    }
    return 0;
}
