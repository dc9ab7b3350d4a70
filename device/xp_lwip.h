/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lwIP glue for the device library: wraps one netif's IPv4/IPv6 output so
 * that every outgoing IP packet is tunnelled to the current proxy, and
 * receives the proxies' control messages on a UDP pcb.
 *
 * Everything here runs in lwIP's tcpip thread: call xp_lwip__attach() and
 * xp_lwip__detach() with the core locked (LOCK_TCPIP_CORE()) or from a
 * tcpip_callback(). Built against Debian's liblwip-dev (lwIP 2.1.3).
 */
#ifndef XP_LWIP_H
#define XP_LWIP_H

#include "lwip/netif.h"
#include "lwip/udp.h"

#include "xp_device.h"

/* Largest inner packet tunnelled (the netif MTU must leave room for the outer headers). */
#define XP_LWIP_MAX_INNER 1500u
#define XP_LWIP_POLL_MS 250u

/* Counters; append-only. */
struct xp_lwip_stats {
    uint64_t bypassed;   /* link-local, multicast, broadcast: sent as is */
    uint64_t tunnelled;  /* handed to udp_sendto() */
    uint64_t too_big;    /* inner packet over XP_LWIP_MAX_INNER: dropped */
    uint64_t send_errors; /* pbuf_alloc or udp_sendto failed: dropped */
    uint64_t no_epoch;   /* the proxy's epoch not known yet (start, switch): dropped */
    uint64_t held;       /* ... kept instead (the latest one), sent once the epoch came */
};

struct xp_lwip {
    struct xp_device *dev;
    struct netif *netif;
    netif_output_fn orig_output;
    netif_output_ip6_fn orig_output_ip6;
    struct udp_pcb *pcb;
    int sending;   /* non-zero while our own outer datagram goes down the stack */
    int attached;
    uint32_t last_now;  /* sys_now() seen last, and the wraps of its 32-bit ms so far */
    uint64_t now_wraps;
    struct xp_lwip_stats stats;
    /* one packet in flight at a time (single thread): header room, then the inner packet */
    uint8_t buf[XP_TUNNEL_HDR_LEN + XP_LWIP_MAX_INNER];
    /* like lwIP's ARP queue: the latest packet waits for the proxy's epoch */
    uint16_t held_len;
    uint8_t held[XP_LWIP_MAX_INNER];
};

/*
 * Hook netif's output, bind a UDP pcb on local_port (0: any) for control
 * messages, and start the poll timer. l must stay valid until
 * xp_lwip__detach(). Returns ERR_OK, ERR_ALREADY (one attachment per
 * netif, at most XP_LWIP_MAX_ATTACH), ERR_MEM, or udp_bind()'s error.
 */
#define XP_LWIP_MAX_ATTACH 2
err_t xp_lwip__attach(struct xp_lwip *l, struct xp_device *dev, struct netif *netif,
                      u16_t local_port);
/* Restore netif's output, stop the timer, remove the pcb. */
void xp_lwip__detach(struct xp_lwip *l);

#endif /* XP_LWIP_H */
