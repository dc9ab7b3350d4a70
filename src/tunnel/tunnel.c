// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tunnel encapsulation and authenticated decapsulation (docs/tunnel.md).
 *
 * Decapsulation is ordered so that the cheap, unauthenticated checks come
 * first and nothing a forger controls reaches state: the replay window is
 * only touched after the tag has verified, and the body is only parsed
 * after that, so every counter past bad_tag is attributable to a real unit.
 * The window is updated before the body checks on purpose: an authentic
 * packet with a malformed inner packet must not be replayable either.
 *
 * All fields are big-endian and read bytewise; no alignment is assumed.
 */
#include <errno.h>
#include <string.h>

#include "tunnel_internal.h"

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

static uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
    return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* ---- keys ---------------------------------------------------------------- */

int xp_tunnel_key__set(struct xp_tunnel_key *key, uint32_t unit_id, uint8_t key_id,
                       const uint8_t *secret, size_t secret_len)
{
    int ret = xp_tunnel_mac__init(key->mac_state, secret, secret_len);

    if (ret < 0)
        return ret;
    key->unit_id = unit_id;
    key->key_id = key_id;
    memset(key->reserved, 0, sizeof(key->reserved));
    return 0;
}

void xp_tunnel_key__wipe(struct xp_tunnel_key *key)
{
    xp_tunnel_mac__wipe(key, sizeof(*key));
}

void xp_tunnel_keys__init(struct xp_tunnel_keys *t, struct xp_tunnel_key *storage, uint32_t cap)
{
    t->keys = storage;
    t->count = 0;
    t->cap = storage ? cap : 0;
}

/* (unit id, key id) as one number: the table's order. */
static uint64_t key_rank(uint32_t unit_id, uint8_t key_id)
{
    return (uint64_t)unit_id << 8 | key_id;
}

/* First index whose (unit_id, key_id) >= the one given (count if none). */
static uint32_t keys_lower_bound(const struct xp_tunnel_keys *t, uint32_t unit_id, uint8_t key_id)
{
    uint64_t want = key_rank(unit_id, key_id);
    uint32_t lo = 0, hi = t->count;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (key_rank(t->keys[mid].unit_id, t->keys[mid].key_id) < want)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int xp_tunnel_keys__add(struct xp_tunnel_keys *t, uint32_t unit_id, uint8_t key_id,
                        const uint8_t *secret, size_t secret_len)
{
    struct xp_tunnel_key key;
    uint32_t pos, first, n;
    int ret;

    pos = keys_lower_bound(t, unit_id, key_id);
    if (pos < t->count && t->keys[pos].unit_id == unit_id && t->keys[pos].key_id == key_id)
        return -EEXIST;
    first = keys_lower_bound(t, unit_id, 0);
    for (n = 0; first + n < t->count && t->keys[first + n].unit_id == unit_id; n++)
        ;
    if (n >= XP_TUNNEL_KEYS_PER_UNIT)
        return -E2BIG;
    if (t->count >= t->cap)
        return -ENOSPC;
    ret = xp_tunnel_key__set(&key, unit_id, key_id, secret, secret_len);
    if (ret < 0)
        return ret;
    memmove(&t->keys[pos + 1], &t->keys[pos], (size_t)(t->count - pos) * sizeof(key));
    t->keys[pos] = key;
    t->count++;
    xp_tunnel_key__wipe(&key);
    return 0;
}

int xp_tunnel_keys__find(const struct xp_tunnel_keys *t, uint32_t unit_id)
{
    uint32_t pos = keys_lower_bound(t, unit_id, 0);

    if (pos < t->count && t->keys[pos].unit_id == unit_id)
        return (int)pos;
    return -1;
}

int xp_tunnel_keys__find_key(const struct xp_tunnel_keys *t, uint32_t unit_id, uint8_t key_id)
{
    uint32_t pos = keys_lower_bound(t, unit_id, key_id);

    if (pos < t->count && t->keys[pos].unit_id == unit_id && t->keys[pos].key_id == key_id)
        return (int)pos;
    return -1;
}

void xp_tunnel_keys__wipe(struct xp_tunnel_keys *t)
{
    if (t->keys && t->cap)
        xp_tunnel_mac__wipe(t->keys, (size_t)t->cap * sizeof(*t->keys));
    t->count = 0;
}

/* ---- replay window ------------------------------------------------------- */

void xp_tunnel_window__init(struct xp_tunnel_window *w, uint32_t unit_id)
{
    memset(w, 0, sizeof(*w));
    w->unit_id = unit_id;
}

int xp_tunnel_replay__init(struct xp_tunnel_replay *r, struct xp_tunnel_window *storage,
                           uint32_t cap, const struct xp_tunnel_keys *t)
{
    uint32_t i;

    if (cap < t->count)
        return -ENOSPC;
    for (i = 0; i < t->count; i++)
        xp_tunnel_window__init(&storage[i], t->keys[i].unit_id);
    r->windows = storage;
    r->count = t->count;
    return 0;
}

/*
 * A fresh window (top 0, bitmap 0) accepts seq 0 once, like any other
 * number: there is no "unused" sequence number to special-case.
 */
/*
 * A device build for a core without atomic exchange (Cortex-M0: no
 * LDREX/STREX, and no libatomic on bare metal) is single-threaded here:
 * it gets no lock.
 */
#if defined(__GCC_HAVE_SYNC_COMPARE_AND_SWAP_4)
static void window_lock(struct xp_tunnel_window *w)
{
    while (__atomic_exchange_n(&w->lock, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&w->lock, __ATOMIC_RELAXED))
            ;
    }
}

static void window_unlock(struct xp_tunnel_window *w)
{
    __atomic_store_n(&w->lock, 0, __ATOMIC_RELEASE);
}
#else
static void window_lock(struct xp_tunnel_window *w)
{
    (void)w;
}

static void window_unlock(struct xp_tunnel_window *w)
{
    (void)w;
}
#endif

static enum xp_tunnel_status window_update(struct xp_tunnel_window *w, uint64_t seq)
{
    uint64_t diff;

    if (seq > w->top) {
        diff = seq - w->top;
        w->bitmap = diff >= XP_TUNNEL_REPLAY_WINDOW ? 0 : w->bitmap << diff;
        w->bitmap |= 1;
        w->top = seq;
        return XP_TUNNEL_OK;
    }
    diff = w->top - seq;
    if (diff >= XP_TUNNEL_REPLAY_WINDOW)
        return XP_TUNNEL_TOO_OLD;
    if (w->bitmap & ((uint64_t)1 << diff))
        return XP_TUNNEL_REPLAYED;
    w->bitmap |= (uint64_t)1 << diff;
    return XP_TUNNEL_OK;
}

/*
 * A unit's datagrams may reach several workers (RSS spreads them by outer
 * address, and an attacker picks the outer address): the window is one per
 * unit, and held for a few instructions, so a spinlock is the cheap choice.
 */
enum xp_tunnel_status xp_tunnel_window__check_update(struct xp_tunnel_window *w, uint64_t seq)
{
    enum xp_tunnel_status st;

    window_lock(w);
    st = window_update(w, seq);
    window_unlock(w);
    return st;
}

static uint64_t window_shift(uint64_t bitmap, uint64_t by)
{
    return by >= XP_TUNNEL_REPLAY_WINDOW ? 0 : bitmap << by;
}

void xp_tunnel_window__merge(struct xp_tunnel_window *into, struct xp_tunnel_window *from)
{
    uint64_t top, from_top, from_bitmap;

    /* One lock at a time: a snapshot of `from`, then the update of `into`. */
    window_lock(from);
    from_top = from->top;
    from_bitmap = from->bitmap;
    window_unlock(from);
    window_lock(into);
    top = into->top > from_top ? into->top : from_top;
    into->bitmap = window_shift(into->bitmap, top - into->top) |
                   window_shift(from_bitmap, top - from_top);
    into->top = top;
    window_unlock(into);
}

/* ---- encapsulation ------------------------------------------------------- */

int xp_tunnel_encap(uint8_t *out, uint32_t cap, enum xp_tunnel_type type,
                    const struct xp_tunnel_addr *to, uint64_t seq, const struct xp_tunnel_key *key,
                    const uint8_t *body, uint32_t body_len)
{
    uint32_t total;

    if ((unsigned)type > 0xff || body_len > XP_TUNNEL_MAX_PAYLOAD - XP_TUNNEL_HDR_LEN ||
        (body_len && !body))
        return -EINVAL;
    total = XP_TUNNEL_HDR_LEN + body_len;
    if (cap < total)
        return -ENOSPC;

    /* body first: it may sit where the header goes (overlap is allowed) */
    if (body_len && body != out + XP_TUNNEL_HDR_LEN)
        memmove(out + XP_TUNNEL_HDR_LEN, body, body_len);
    out[0] = XP_TUNNEL_MAGIC0;
    out[1] = XP_TUNNEL_MAGIC1;
    out[2] = XP_TUNNEL_VERSION;
    out[3] = (uint8_t)type;
    out[4] = key->key_id;
    out[5] = 0; /* flags */
    put_be16(out + 6, to->proxy_id);
    put_be32(out + 8, key->unit_id);
    put_be32(out + 12, to->epoch);
    put_be64(out + 16, seq);
    xp_tunnel_mac__tag(key->mac_state, out, XP_TUNNEL_MAC_OFF, out + XP_TUNNEL_HDR_LEN, body_len,
                       out + XP_TUNNEL_MAC_OFF);
    return (int)total;
}

int xp_tunnel_encap_control(uint8_t *out, uint32_t cap, enum xp_tunnel_type type,
                            const struct xp_tunnel_addr *from, uint64_t seq,
                            const struct xp_tunnel_key *key, uint64_t echo_seq,
                            uint32_t w_permille)
{
    uint8_t body[XP_TUNNEL_CTL_BODY_LEN];

    if (type != XP_TUNNEL_T_KEEPALIVE_ACK && type != XP_TUNNEL_T_OVERLOAD)
        return -EINVAL;
    put_be64(body, echo_seq);
    put_be32(body + 8, w_permille);
    put_be32(body + 12, 0);
    return xp_tunnel_encap(out, cap, type, from, seq, key, body, sizeof(body));
}

/* ---- decapsulation ------------------------------------------------------- */

#define XP_DIR_TO_PROXY 0
#define XP_DIR_TO_UNIT 1

static bool type_allowed(uint8_t type, int dir)
{
    if (dir == XP_DIR_TO_PROXY)
        return type == XP_TUNNEL_T_DATA || type == XP_TUNNEL_T_KEEPALIVE;
    return type == XP_TUNNEL_T_KEEPALIVE_ACK || type == XP_TUNNEL_T_OVERLOAD;
}

/* Header checks that need no key; fills the header fields of out. */
static enum xp_tunnel_status check_header(const uint8_t *p, uint32_t len, int dir,
                                          struct xp_tunnel_result *out)
{
    memset(out, 0, sizeof(*out));
    out->key_index = -1;
    out->unit_index = -1;
    if (len < XP_TUNNEL_HDR_LEN)
        return XP_TUNNEL_TRUNCATED;
    out->type = p[3];
    out->key_id = p[4];
    out->flags = p[5];
    out->proxy_id = get_be16(p + 6);
    out->unit_id = get_be32(p + 8);
    out->epoch = get_be32(p + 12);
    out->seq = get_be64(p + 16);
    if (p[0] != XP_TUNNEL_MAGIC0 || p[1] != XP_TUNNEL_MAGIC1)
        return XP_TUNNEL_BAD_MAGIC;
    if (p[2] != XP_TUNNEL_VERSION || (out->flags & ~XP_TUNNEL_FLAGS_KNOWN))
        return XP_TUNNEL_BAD_VERSION;
    if (len > XP_TUNNEL_MAX_PAYLOAD)
        return XP_TUNNEL_TRUNCATED; /* cannot come off a wire; keeps lengths in range */
    if (!type_allowed(out->type, dir))
        return XP_TUNNEL_BAD_TYPE;
    return XP_TUNNEL_OK;
}

static enum xp_tunnel_status check_tag_replay(const uint8_t *p, uint32_t len,
                                              const struct xp_tunnel_key *key,
                                              struct xp_tunnel_window *w,
                                              struct xp_tunnel_result *out)
{
    uint8_t tag[XP_TUNNEL_TAG_LEN];
    enum xp_tunnel_status st;

    xp_tunnel_mac__tag(key->mac_state, p, XP_TUNNEL_MAC_OFF, p + XP_TUNNEL_HDR_LEN,
                       len - XP_TUNNEL_HDR_LEN, tag);
    if (!xp_tunnel_mac__equal(tag, p + XP_TUNNEL_MAC_OFF, XP_TUNNEL_TAG_LEN))
        return XP_TUNNEL_BAD_TAG;
    st = xp_tunnel_window__check_update(w, out->seq);
    if (st != XP_TUNNEL_OK)
        return st;
    out->body = p + XP_TUNNEL_HDR_LEN;
    out->body_len = len - XP_TUNNEL_HDR_LEN;
    return XP_TUNNEL_OK;
}

static enum xp_tunnel_status check_control_body(struct xp_tunnel_result *out)
{
    if (out->body_len != XP_TUNNEL_CTL_BODY_LEN)
        return XP_TUNNEL_BAD_CONTROL;
    out->echo_seq = get_be64(out->body);
    out->w_permille = get_be32(out->body + 8);
    return XP_TUNNEL_OK;
}

enum xp_tunnel_status xp_tunnel_decap(const uint8_t *udp_payload, uint32_t len,
                                      const struct xp_tunnel_addr *self,
                                      const struct xp_tunnel_keys *keys,
                                      struct xp_tunnel_replay *replay,
                                      struct xp_tunnel_result *out)
{
    enum xp_tunnel_status st;
    struct xp_tunnel_window *w;
    int first, idx;

    st = check_header(udp_payload, len, XP_DIR_TO_PROXY, out);
    if (st != XP_TUNNEL_OK)
        return st;
    /*
     * Addressing before keys, keys before the tag: a datagram for another
     * proxy or another run of this one, or for a key we do not hold, costs
     * no MAC work. The tag then proves these fields were not changed.
     */
    if (out->proxy_id != self->proxy_id)
        return XP_TUNNEL_WRONG_PROXY;
    if (out->type == XP_TUNNEL_T_DATA && out->epoch != self->epoch)
        return XP_TUNNEL_STALE_EPOCH;
    first = xp_tunnel_keys__find(keys, out->unit_id);
    /* a replay table out of step with the keys cannot protect this unit: refuse it */
    if (first < 0 || (uint32_t)first >= replay->count ||
        replay->windows[first].unit_id != out->unit_id)
        return XP_TUNNEL_UNKNOWN_UNIT;
    out->unit_index = first;
    idx = xp_tunnel_keys__find_key(keys, out->unit_id, out->key_id);
    if (idx < 0)
        return XP_TUNNEL_UNKNOWN_KEY;
    out->key_index = idx;
    w = &replay->windows[first];
    st = check_tag_replay(udp_payload, len, &keys->keys[idx], w, out);
    if (st != XP_TUNNEL_OK)
        return st;

    if (out->type == XP_TUNNEL_T_KEEPALIVE)
        return out->body_len == 0 ? XP_TUNNEL_OK : XP_TUNNEL_BAD_CONTROL;

    if (out->body_len == 0 || xp_parse_ip(out->body, out->body_len, &out->inner) != XP_PARSE_OK)
        return XP_TUNNEL_INNER_MALFORMED;
    /*
     * A tunnel packet inside a tunnel packet would be decapsulated again by
     * whichever proxy the inner one reaches: a loop, and a way to make one
     * unit's traffic look like another authenticated unit's.
     */
    if (out->inner.l4_proto == 17 && (out->inner.flags & XP_PARSED_F_HAS_L4) &&
        out->inner.dport == XP_TUNNEL_UDP_PORT)
        return XP_TUNNEL_NESTED_TUNNEL;
    return XP_TUNNEL_OK;
}

enum xp_tunnel_status xp_tunnel_decap_control(const uint8_t *udp_payload, uint32_t len,
                                              const struct xp_tunnel_key *key,
                                              uint16_t proxy_id,
                                              struct xp_tunnel_window *window,
                                              struct xp_tunnel_result *out)
{
    enum xp_tunnel_status st;

    st = check_header(udp_payload, len, XP_DIR_TO_UNIT, out);
    if (st != XP_TUNNEL_OK)
        return st;
    if (out->proxy_id != proxy_id)
        return XP_TUNNEL_WRONG_PROXY;
    if (out->unit_id != key->unit_id)
        return XP_TUNNEL_UNKNOWN_UNIT;
    if (out->key_id != key->key_id)
        return XP_TUNNEL_UNKNOWN_KEY;
    st = check_tag_replay(udp_payload, len, key, window, out);
    if (st != XP_TUNNEL_OK)
        return st;
    return check_control_body(out);
}

static const char *const status_names[XP_TUNNEL_STATUS_MAX] = {
    [XP_TUNNEL_OK] = "ok",
    [XP_TUNNEL_TRUNCATED] = "truncated",
    [XP_TUNNEL_BAD_MAGIC] = "bad_magic",
    [XP_TUNNEL_BAD_VERSION] = "bad_version",
    [XP_TUNNEL_BAD_TYPE] = "bad_type",
    [XP_TUNNEL_UNKNOWN_UNIT] = "unknown_unit",
    [XP_TUNNEL_BAD_TAG] = "bad_tag",
    [XP_TUNNEL_REPLAYED] = "replayed",
    [XP_TUNNEL_TOO_OLD] = "too_old",
    [XP_TUNNEL_NESTED_TUNNEL] = "nested_tunnel",
    [XP_TUNNEL_INNER_MALFORMED] = "inner_malformed",
    [XP_TUNNEL_BAD_CONTROL] = "bad_control",
    [XP_TUNNEL_WRONG_PROXY] = "wrong_proxy",
    [XP_TUNNEL_STALE_EPOCH] = "stale_epoch",
    [XP_TUNNEL_UNKNOWN_KEY] = "unknown_key",
};

const char *xp_tunnel_status_name(enum xp_tunnel_status status)
{
    if ((unsigned)status >= XP_TUNNEL_STATUS_MAX || !status_names[status])
        return "invalid";
    return status_names[status];
}
