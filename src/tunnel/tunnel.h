/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The unit <-> proxy tunnel (docs/tunnel.md): every IP packet a unit sends
 * travels unchanged inside a UDP datagram to a proxy, behind a 40-byte
 * header carrying the unit id, which of its keys signs, the proxy it is
 * for and that proxy's current epoch, a sequence number and a truncated
 * HMAC-SHA256 tag under the unit's key over all of it: a datagram is good
 * for one proxy, one run of that proxy, and once. The proxy answers with control
 * messages (keepalive answers, overload reports) in the same format.
 *
 * Hot path: xp_tunnel_decap() and xp_tunnel_encap() allocate nothing, never
 * read at or past `len`, and may be called from any thread on objects that
 * thread owns or shares (the key table is read-only after setup; a replay
 * table's windows each carry a lock). Setup functions (xp_tunnel_key__set,
 * xp_tunnel_keys__*, xp_tunnel_replay__init) are not hot-path.
 *
 * The module is plain C plus libcrypto's SHA-256, so that the device
 * library (device/) compiles the same file.
 */
#ifndef XP_TUNNEL_H
#define XP_TUNNEL_H

#include <stddef.h>
#include <stdint.h>

#include "parse.h"

/* UDP port of the proxy's tunnel endpoint (docs/tunnel.md "Port"). */
#define XP_TUNNEL_UDP_PORT 5685

#define XP_TUNNEL_MAGIC0 0x58 /* 'X' */
#define XP_TUNNEL_MAGIC1 0x54 /* 'T' */
#define XP_TUNNEL_VERSION 2
#define XP_TUNNEL_HDR_LEN 40  /* header including the tag; the body follows */
#define XP_TUNNEL_MAC_OFF 24  /* the tag covers bytes [0, 24) and the body */
#define XP_TUNNEL_TAG_LEN 16  /* HMAC-SHA256 truncated to 128 bits */
#define XP_TUNNEL_CTL_BODY_LEN 16 /* body of KEEPALIVE_ACK and OVERLOAD */
/* Largest UDP payload we build or accept: IPv4's 65535 - 20 - 8. */
#define XP_TUNNEL_MAX_PAYLOAD 65507u
/* Key lengths accepted (bytes); 32 random bytes recommended. */
#define XP_TUNNEL_KEY_MIN 16
#define XP_TUNNEL_KEY_MAX 64
/* Width of the replay window, in sequence numbers. */
#define XP_TUNNEL_REPLAY_WINDOW 64
/* Keys a unit may have at once (rotation: the old and the new, with room to spare). */
#define XP_TUNNEL_KEYS_PER_UNIT 4

/* Header `type`; each type travels in one direction only, so a message cannot be reflected. */
enum xp_tunnel_type {
    XP_TUNNEL_T_DATA = 0,          /* unit -> proxy: body is one IP packet */
    XP_TUNNEL_T_KEEPALIVE = 1,     /* unit -> proxy: empty body, asks for an answer */
    XP_TUNNEL_T_KEEPALIVE_ACK = 2, /* proxy -> unit: control body */
    XP_TUNNEL_T_OVERLOAD = 3,      /* proxy -> unit: control body, W above the proxy's limit */
};

/*
 * Result of decapsulation. The names returned by xp_tunnel_status_name()
 * are counter names ("tunnel.drop.<name>"): never rename, only append
 * before XP_TUNNEL_STATUS_MAX.
 */
enum xp_tunnel_status {
    XP_TUNNEL_OK = 0,
    XP_TUNNEL_TRUNCATED = 1,       /* shorter than the header */
    XP_TUNNEL_BAD_MAGIC,           /* not "XT" */
    XP_TUNNEL_BAD_VERSION,         /* version != 1, or flags/reserved bits this version does not know */
    XP_TUNNEL_BAD_TYPE,            /* unknown type, or a type that does not travel in this direction */
    XP_TUNNEL_UNKNOWN_UNIT,        /* no key for the unit id */
    XP_TUNNEL_BAD_TAG,             /* forged or corrupted: tag mismatch */
    XP_TUNNEL_REPLAYED,            /* authentic, sequence number already seen */
    XP_TUNNEL_TOO_OLD,             /* authentic, sequence number behind the replay window */
    XP_TUNNEL_NESTED_TUNNEL,       /* inner packet is UDP to the tunnel port */
    XP_TUNNEL_INNER_MALFORMED,     /* inner packet rejected by xp_parse_ip() (or empty) */
    XP_TUNNEL_BAD_CONTROL,         /* control message with a body of the wrong length */
    XP_TUNNEL_WRONG_PROXY,         /* for (or from) another proxy: replayed across proxies */
    XP_TUNNEL_STALE_EPOCH,         /* DATA for another run of this proxy: replayed after a restart */
    XP_TUNNEL_UNKNOWN_KEY,         /* the unit has no key with this key id */
    XP_TUNNEL_STATUS_MAX,          /* number of statuses, for counter arrays */
};

/* Header flags: none defined in version 2; a set bit gives XP_TUNNEL_BAD_VERSION. */
#define XP_TUNNEL_FLAGS_KNOWN 0x00u

/*
 * Where a datagram is addressed: the proxy (its tunnel id, configured, 1..65535) and
 * that proxy's epoch (random per run, 0 = not known yet). A unit learns the epoch from the
 * proxy's control messages; DATA for another epoch is refused, so what was captured before
 * a restart cannot be replayed after it, and what was captured on its way to one proxy is
 * refused by every other.
 */
struct xp_tunnel_addr {
    uint16_t proxy_id;
    uint32_t epoch;
};

/*
 * One unit's key, in the form the hot path uses: the HMAC inner and outer
 * SHA-256 states after the padded key block, so a tag costs two SHA-256
 * runs over the message and no allocation. Opaque; set with
 * xp_tunnel_key__set(). Contains key material: wipe with
 * xp_tunnel_key__wipe() before freeing.
 */
#define XP_TUNNEL_MAC_STATE_LEN 256
struct xp_tunnel_key {
    uint32_t unit_id;
    uint8_t key_id;    /* which of the unit's keys (rotation), in every datagram it signs */
    uint8_t reserved[3];
    _Alignas(8) uint8_t mac_state[XP_TUNNEL_MAC_STATE_LEN];
};

/*
 * The proxy's key table: a sorted array the caller provides (no allocation
 * here), looked up by binary search. Bounded by `cap`. A unit has 1 to
 * XP_TUNNEL_KEYS_PER_UNIT entries, next to each other; the first one's index
 * names the unit (its replay window).
 */
struct xp_tunnel_keys {
    struct xp_tunnel_key *keys; /* sorted by (unit_id, key_id), no duplicates */
    uint32_t count;
    uint32_t cap;
};

/*
 * Anti-replay window (RFC 4303 3.4.3 style, 64 wide): `top` is the highest
 * sequence number accepted, bit i of `bitmap` is set when top - i was.
 */
struct xp_tunnel_window {
    uint64_t top;
    uint64_t bitmap;
    uint32_t unit_id; /* which unit this window belongs to (checked on use) */
    uint32_t lock;    /* spinlock around check-and-update: workers share a unit's window */
};

/*
 * Replay state parallel to a key table: windows[i] belongs to the unit whose
 * first key is keys->keys[i] (the windows at its other keys' indices are unused).
 * May be shared by threads (the proxy's workers share one, so a datagram
 * replayed towards another queue is still a replay): each window is
 * checked and updated under its own lock. Rebuild it (xp_tunnel_replay__init) whenever keys
 * are added, since insertion shifts indices.
 */
struct xp_tunnel_replay {
    struct xp_tunnel_window *windows;
    uint32_t count;
};

/*
 * What xp_tunnel_decap() found. Filled as far as decapsulation got: the
 * header fields once the header is long enough, the rest on XP_TUNNEL_OK
 * (and body/inner also on NESTED_TUNNEL, INNER_MALFORMED, BAD_CONTROL,
 * which are authentic packets from unit_id).
 */
struct xp_tunnel_result {
    const uint8_t *body;    /* points into the payload: inner IP packet or control body */
    uint32_t body_len;
    uint32_t unit_id;
    uint64_t seq;
    uint32_t epoch;         /* the epoch the datagram names */
    uint16_t proxy_id;      /* the proxy it names */
    uint8_t key_id;         /* the unit's key it was signed with */
    uint8_t flags;
    uint8_t type;           /* enum xp_tunnel_type */
    int key_index;          /* proxy side, from unknown_key on: the key in the table */
    int unit_index;         /* proxy side, from unknown_key on: the unit's first key in the
                             * table (xp_tunnel_keys__find), which indexes its window and
                             * the caller's tables parallel to the keys */
    uint32_t w_permille;    /* control messages: the proxy's W, in 1/1000 of its limit */
    uint64_t echo_seq;      /* KEEPALIVE_ACK: the keepalive's seq; 0 otherwise */
    struct xp_parsed inner; /* DATA: xp_parse_ip() of the inner packet */
};

/* Set `key` (unit_id, key_id) from a secret of XP_TUNNEL_KEY_MIN..MAX bytes. 0 or -EINVAL. */
int xp_tunnel_key__set(struct xp_tunnel_key *key, uint32_t unit_id, uint8_t key_id,
                       const uint8_t *secret, size_t secret_len);
/* Overwrite key material with zeros (not optimised away). */
void xp_tunnel_key__wipe(struct xp_tunnel_key *key);

/* Empty table over caller storage of `cap` entries. */
void xp_tunnel_keys__init(struct xp_tunnel_keys *t, struct xp_tunnel_key *storage, uint32_t cap);
/*
 * Insert in order. 0, -EEXIST (this key id of the unit is already there),
 * -E2BIG (the unit has XP_TUNNEL_KEYS_PER_UNIT keys), -ENOSPC (full),
 * -EINVAL (bad secret).
 */
int xp_tunnel_keys__add(struct xp_tunnel_keys *t, uint32_t unit_id, uint8_t key_id,
                        const uint8_t *secret, size_t secret_len);
/* Index of unit_id's first key in t->keys (its window), or -1. Hot path, O(log n). */
int xp_tunnel_keys__find(const struct xp_tunnel_keys *t, uint32_t unit_id);
/* Index of unit_id's key key_id, or -1. Hot path, O(log n). */
int xp_tunnel_keys__find_key(const struct xp_tunnel_keys *t, uint32_t unit_id, uint8_t key_id);
/* Wipe every key and empty the table. */
void xp_tunnel_keys__wipe(struct xp_tunnel_keys *t);

/*
 * Fresh windows for every key of `t`, in caller storage of `cap` entries.
 * 0, or -ENOSPC when cap < t->count.
 */
int xp_tunnel_replay__init(struct xp_tunnel_replay *r, struct xp_tunnel_window *storage,
                           uint32_t cap, const struct xp_tunnel_keys *t);
/* A fresh window (for a single peer, e.g. on the device). */
void xp_tunnel_window__init(struct xp_tunnel_window *w, uint32_t unit_id);
/*
 * Check seq against the window and, if fresh, record it. Returns
 * XP_TUNNEL_OK, XP_TUNNEL_REPLAYED or XP_TUNNEL_TOO_OLD.
 */
enum xp_tunnel_status xp_tunnel_window__check_update(struct xp_tunnel_window *w, uint64_t seq);

/*
 * Fold what `from` accepted into `into` (windows of the same unit, e.g.
 * across a reload of the key table): afterwards `into` refuses every
 * number either of them had refused when read. Takes each window's lock in
 * turn, so both may be in use.
 */
void xp_tunnel_window__merge(struct xp_tunnel_window *into, struct xp_tunnel_window *from);

/*
 * Build a tunnel payload in out[0..cap): header for (type, key, to, seq),
 * then body, then the tag under key. body may be NULL when body_len is 0,
 * and may overlap out (put the inner packet at out + XP_TUNNEL_HDR_LEN to
 * encapsulate in place). key's unit and key ids are the ones written; to
 * names the proxy (a unit's datagram: where it goes; a proxy's: who sends).
 * Returns the payload length, -ENOSPC when cap is too small, -EINVAL for a
 * type > 255 or a payload over XP_TUNNEL_MAX_PAYLOAD. Hot path.
 */
int xp_tunnel_encap(uint8_t *out, uint32_t cap, enum xp_tunnel_type type,
                    const struct xp_tunnel_addr *to, uint64_t seq, const struct xp_tunnel_key *key,
                    const uint8_t *body, uint32_t body_len);

/* A proxy -> unit control message (KEEPALIVE_ACK or OVERLOAD) with its body. Same returns. */
int xp_tunnel_encap_control(uint8_t *out, uint32_t cap, enum xp_tunnel_type type,
                            const struct xp_tunnel_addr *from, uint64_t seq,
                            const struct xp_tunnel_key *key, uint64_t echo_seq,
                            uint32_t w_permille);

/*
 * Proxy side: authenticate and decapsulate a UDP payload received on the
 * tunnel port by proxy `self`. Accepts DATA and KEEPALIVE only. Checks, in
 * order: length, magic, version and flags, type, proxy id (self's), epoch
 * (DATA: self's; a KEEPALIVE may name any, it is how a unit learns the
 * current one), unit id and key id (keys), tag (constant time), replay
 * window (updated on every authentic packet, so an authentic but malformed
 * one is not replayable either), then the body: DATA must parse with
 * xp_parse_ip() and must not be UDP to XP_TUNNEL_UDP_PORT; KEEPALIVE must be
 * empty. Everything before the tag is free of MAC work. Returns an enum
 * xp_tunnel_status. Hot path.
 */
enum xp_tunnel_status xp_tunnel_decap(const uint8_t *udp_payload, uint32_t len,
                                      const struct xp_tunnel_addr *self,
                                      const struct xp_tunnel_keys *keys,
                                      struct xp_tunnel_replay *replay,
                                      struct xp_tunnel_result *out);

/*
 * Unit side: the same for a control message from proxy proxy_id, under the
 * unit's key and the window kept for that proxy. Accepts KEEPALIVE_ACK and
 * OVERLOAD only, with a body of XP_TUNNEL_CTL_BODY_LEN. Another proxy id is
 * XP_TUNNEL_WRONG_PROXY, a unit id other than key->unit_id
 * XP_TUNNEL_UNKNOWN_UNIT, another key id XP_TUNNEL_UNKNOWN_KEY (the proxy
 * answers with the key the unit used; after a key change, an answer to the
 * old key is late). out->epoch is the proxy's current epoch.
 */
enum xp_tunnel_status xp_tunnel_decap_control(const uint8_t *udp_payload, uint32_t len,
                                              const struct xp_tunnel_key *key,
                                              uint16_t proxy_id,
                                              struct xp_tunnel_window *window,
                                              struct xp_tunnel_result *out);

/* Stable snake_case name ("ok", "truncated", "bad_tag"...); "invalid" if out of range. */
const char *xp_tunnel_status_name(enum xp_tunnel_status status);

#endif /* XP_TUNNEL_H */
