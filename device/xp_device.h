/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The device-side core of gateway mode (docs/tunnel.md "Device side"):
 * portable C with no lwIP types, no clock and no sockets. The glue
 * (device/lwip_hook.c for lwIP) feeds it outgoing IP packets, control
 * messages from proxies and the current time, and sends what it returns.
 *
 * - Every outgoing IP packet becomes one tunnel payload (UDP) for the
 *   current proxy: xp_device__encap_output(). A datagram names the proxy
 *   (its tunnel id) and the proxy's current epoch, learnt from the answer
 *   to a keepalive: until the device knows it, packets are refused
 *   (-EAGAIN, tx_no_epoch) and a keepalive is due at once.
 * - Keepalives go to the current proxy every keepalive_ms
 *   (xp_device__poll()), every XP_DEVICE_PROBE_MS while its epoch is not
 *   known; an authentic answer or overload report from it is proof of life.
 * - The device moves to the next proxy, round robin, when the current one
 *   has not been heard from for dead_ms, or reports W >= overload_permille.
 * - Inbound traffic is not touched: the only inbound path here is
 *   xp_device__control_input() for datagrams from a proxy's tunnel port.
 *
 * No allocation anywhere; a struct xp_device is self-contained (it holds
 * the unit's key: wipe it with xp_device__wipe()). Not thread-safe: call
 * everything from one thread (lwIP's tcpip thread).
 */
#ifndef XP_DEVICE_H
#define XP_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tunnel.h"

#define XP_DEVICE_MAX_PROXIES 8

/* Defaults (docs/tunnel.md): a dead proxy is left within dead_ms + one poll period. */
#define XP_DEVICE_KEEPALIVE_MS 1000u
#define XP_DEVICE_DEAD_MS 3000u
#define XP_DEVICE_OVERLOAD_PERMILLE 1000u
/* Keepalive period while the current proxy's epoch is unknown (nothing can be sent). */
#define XP_DEVICE_PROBE_MS 200u

struct xp_device_config {
    uint32_t unit_id;
    uint8_t key_id;         /* which of the unit's keys (0..255): the proxies' "keys" id */
    const uint8_t *secret;  /* XP_TUNNEL_KEY_MIN..MAX bytes, the unit's key */
    size_t secret_len;
    /*
     * First sequence number. Must exceed every number this unit id ever
     * used, or the proxies drop its packets as replays after a reboot:
     * e.g. (boot counter kept in flash) << 32, or a real-time clock in µs.
     */
    uint64_t seq_base;
    uint32_t keepalive_ms;      /* 0: XP_DEVICE_KEEPALIVE_MS */
    uint32_t dead_ms;           /* 0: XP_DEVICE_DEAD_MS; must exceed keepalive_ms */
    uint32_t overload_permille; /* 0: XP_DEVICE_OVERLOAD_PERMILLE; switch when W >= this */
};

struct xp_device_proxy {
    uint8_t addr[16];  /* IPv4-mapped for IPv4, as in src/parse */
    uint16_t port;     /* host order */
    uint8_t family;    /* 4 or 6 */
    uint16_t proxy_id; /* its tunnel id (the proxy's gateway.tunnel_id) */
    uint32_t epoch;    /* its current epoch, from its last answer; 0: not known yet */
    uint64_t ka_seq;   /* seq of the last keepalive sent to it: the answer must echo it */
    bool ka_sent;
    struct xp_tunnel_window window; /* replay window for this proxy's control messages */
};

/* Counters; append-only. */
struct xp_device_stats {
    uint64_t tx_packets;            /* IP packets encapsulated */
    uint64_t tx_bytes;              /* their inner bytes */
    uint64_t tx_errors;             /* encap failed: no proxy, packet too big for out_cap */
    uint64_t tx_no_epoch;           /* refused: the current proxy's epoch is not known yet */
    uint64_t keepalives;            /* keepalives built */
    uint64_t ctl_ok;                /* authentic control messages */
    uint64_t ctl_not_proxy;         /* control datagram from an address not in the list */
    uint64_t ctl_drop[XP_TUNNEL_STATUS_MAX]; /* by reason */
    uint64_t switch_timeout;
    uint64_t switch_overload;
    uint64_t epoch_changes;         /* a proxy answered with another epoch (it restarted) */
    uint64_t key_changes;           /* xp_device__set_key() calls that took effect */
};

enum xp_device_switch_reason {
    XP_DEVICE_SWITCH_NONE = 0,
    XP_DEVICE_SWITCH_TIMEOUT = 1,
    XP_DEVICE_SWITCH_OVERLOAD = 2,
};

struct xp_device {
    struct xp_tunnel_key key;
    struct xp_device_proxy proxies[XP_DEVICE_MAX_PROXIES];
    uint32_t n_proxies;
    uint32_t current;
    uint64_t seq;              /* next sequence number to send */
    uint64_t last_heard_ms;    /* last proof of life from the current proxy (or switch time) */
    uint64_t last_keepalive_ms;
    bool keepalive_due;        /* send one at the next poll (after start or a switch) */
    uint32_t keepalive_ms, dead_ms, overload_permille;
    enum xp_device_switch_reason last_switch;
    struct xp_device_stats stats;
};

/* 0, or -EINVAL (bad secret, dead_ms <= keepalive_ms). now_ms: caller's monotonic clock. */
int xp_device__init(struct xp_device *dev, const struct xp_device_config *cfg, uint64_t now_ms);
/*
 * Key rotation: sign from now on with (key_id, secret). The proxies must
 * hold the new key before (their "keys" list, reloaded), and the old one
 * until every unit moved: then no datagram is lost across the switch.
 * The sequence numbers go on. 0 or -EINVAL (bad secret; the old key stays).
 */
int xp_device__set_key(struct xp_device *dev, uint8_t key_id, const uint8_t *secret,
                       size_t secret_len);
/* Wipe the key and everything else. */
void xp_device__wipe(struct xp_device *dev);

/*
 * Append a proxy (family 4: addr holds 4 bytes; 6: 16 bytes; port in host
 * order; proxy_id its tunnel id, 1..65535). The first one added is
 * current. 0, -EINVAL, -ENOSPC, -EEXIST (same address and port, or same
 * tunnel id).
 */
int xp_device__add_proxy(struct xp_device *dev, uint8_t family, const uint8_t *addr,
                         uint16_t port, uint16_t proxy_id);
/* The proxy to send to now, or NULL if none. */
const struct xp_device_proxy *xp_device__current(const struct xp_device *dev);

/*
 * Encapsulate one outgoing IP packet for the current proxy into
 * out[0..out_cap). pkt may be out + XP_TUNNEL_HDR_LEN (in place). Returns
 * the UDP payload length, -ENETUNREACH (no proxy), -EAGAIN (the current
 * proxy's epoch is not known yet: poll now, a keepalive is due), -ENOSPC,
 * -EINVAL.
 */
int xp_device__encap_output(struct xp_device *dev, const uint8_t *pkt, uint32_t len,
                            uint8_t *out, uint32_t out_cap);

/*
 * Housekeeping at now_ms: switch away from a silent proxy, and build a
 * keepalive for the current one when due. Returns the keepalive's length
 * (send it to xp_device__current()), 0 when there is nothing to send, or
 * a negative errno. Call every keepalive_ms / 4 or more often.
 */
int xp_device__poll(struct xp_device *dev, uint64_t now_ms, uint8_t *out, uint32_t out_cap);

/*
 * A UDP datagram that arrived from (family, addr, port). Authenticates it
 * as a control message from that proxy; an answer from the current proxy
 * refreshes its liveness, an overload report (or an answer carrying W) at
 * or above the threshold moves to the next proxy. The answer to the last
 * keepalive sent to a proxy gives its epoch (an older answer cannot: a
 * restarted proxy's new epoch is learnt, a replayed old one is not). Returns the
 * enum xp_tunnel_status (XP_TUNNEL_UNKNOWN_UNIT when the sender is not in
 * the list).
 */
enum xp_tunnel_status xp_device__control_input(struct xp_device *dev, uint8_t family,
                                               const uint8_t *addr, uint16_t port,
                                               const uint8_t *payload, uint32_t len,
                                               uint64_t now_ms);

#endif /* XP_DEVICE_H */
