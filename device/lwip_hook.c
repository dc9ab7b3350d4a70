// SPDX-License-Identifier: GPL-2.0-only
/*
 * lwIP glue (device/xp_lwip.h). The X-Pro prototype changed the
 * destination of one CoAP message inside lwIP; here the netif's output
 * functions are wrapped instead, which catches every IP packet the stack
 * sends (TCP, UDP, ICMP, raw) without patching lwIP.
 *
 * Three kinds of packet go down unchanged: our own outer datagrams
 * (`sending` is set around udp_sendto(), which re-enters netif->output
 * on this same thread), and packets that only make sense on the link and
 * that a proxy could not forward anyway: IPv4 broadcast and multicast
 * (DHCP), IPv6 link-local and multicast (ND, MLD, DHCPv6).
 *
 * Allocation: the core allocates nothing; here the outer datagram needs a
 * pbuf, which lwIP takes from its fixed pools (PBUF_REF over our buffer,
 * no copy), never from malloc.
 */
#include <errno.h>
#include <string.h>

#include "lwip/ip4_addr.h"
#include "lwip/ip6_addr.h"
#include "lwip/pbuf.h"
#include "lwip/sys.h"
#include "lwip/timeouts.h"

#include "xp_lwip.h"

static struct xp_lwip *g_attached[XP_LWIP_MAX_ATTACH];

static struct xp_lwip *find_attached(const struct netif *netif)
{
    for (int i = 0; i < XP_LWIP_MAX_ATTACH; i++)
        if (g_attached[i] && g_attached[i]->netif == netif)
            return g_attached[i];
    return NULL;
}

static void proxy_ip(const struct xp_device_proxy *p, ip_addr_t *ip)
{
    if (p->family == 4) {
        u32_t a;

        memcpy(&a, p->addr + 12, 4); /* already network order */
        ip_addr_set_ip4_u32_val(*ip, a);
    } else {
        u32_t w[4];

        memcpy(w, p->addr, 16);
        IP_ADDR6(ip, w[0], w[1], w[2], w[3]);
    }
}

/* Send payload (already in l->buf) to the current proxy. */
static void send_outer(struct xp_lwip *l, int len)
{
    const struct xp_device_proxy *p = xp_device__current(l->dev);
    struct pbuf *q;
    ip_addr_t dst;
    err_t err;

    if (!p || len <= 0)
        return;
    q = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_REF);
    if (!q) {
        l->stats.send_errors++;
        return;
    }
    q->payload = l->buf;
    proxy_ip(p, &dst);
    l->sending = 1;
    err = udp_sendto(l->pcb, q, &dst, p->port);
    l->sending = 0;
    pbuf_free(q);
    if (err != ERR_OK)
        l->stats.send_errors++;
    else
        l->stats.tunnelled++;
}

static bool link_only_v4(const struct netif *netif, const struct pbuf *p)
{
    ip4_addr_t dst;

    if (p->len < 20)
        return false;
    memcpy(&dst.addr, (const u8_t *)p->payload + 16, 4);
    return ip4_addr_ismulticast(&dst) || ip4_addr_isbroadcast(&dst, netif);
}

static bool link_only_v6(const struct pbuf *p)
{
    const u8_t *d;

    if (p->len < 40)
        return false;
    d = (const u8_t *)p->payload + 24;
    return d[0] == 0xff || (d[0] == 0xfe && (d[1] & 0xc0) == 0x80);
}

static void poll_now(struct xp_lwip *l);

/* Encapsulate p and send it; the original packet is consumed by the caller as usual. */
static err_t tunnel_out(struct xp_lwip *l, struct pbuf *p)
{
    u16_t n = p->tot_len;
    int len;

    if (n > XP_LWIP_MAX_INNER) {
        l->stats.too_big++;
        return ERR_OK; /* dropped, like a packet lost on the wire */
    }
    if (pbuf_copy_partial(p, l->buf + XP_TUNNEL_HDR_LEN, n, 0) != n) {
        l->stats.send_errors++;
        return ERR_OK;
    }
    len = xp_device__encap_output(l->dev, l->buf + XP_TUNNEL_HDR_LEN, n, l->buf,
                                  sizeof(l->buf));
    if (len == -EAGAIN) {
        /*
         * Like a packet waiting for ARP: the latest one is kept (the one it
         * replaces is lost, counted), and the question goes out now.
         */
        if (l->held_len)
            l->stats.no_epoch++;
        memcpy(l->held, l->buf + XP_TUNNEL_HDR_LEN, n);
        l->held_len = n;
        poll_now(l);
        return ERR_OK;
    }
    send_outer(l, len);
    return ERR_OK;
}

static err_t xp_output4(struct netif *netif, struct pbuf *p, const ip4_addr_t *nexthop)
{
    struct xp_lwip *l = find_attached(netif);

    if (!l)
        return ERR_IF;
    if (l->sending || link_only_v4(netif, p)) {
        if (!l->sending)
            l->stats.bypassed++;
        return l->orig_output(netif, p, nexthop);
    }
    return tunnel_out(l, p);
}

static err_t xp_output6(struct netif *netif, struct pbuf *p, const ip6_addr_t *nexthop)
{
    struct xp_lwip *l = find_attached(netif);

    if (!l)
        return ERR_IF;
    if (l->sending || link_only_v6(p)) {
        if (!l->sending)
            l->stats.bypassed++;
        return l->orig_output_ip6(netif, p, nexthop);
    }
    return tunnel_out(l, p);
}

/*
 * lwIP's sys_now() is a 32-bit millisecond count that wraps after 49.7
 * days; the device core wants a clock that only grows. Called on lwIP's
 * thread only, often enough (every poll) to see each wrap.
 */
static uint64_t now_ms(struct xp_lwip *l)
{
    u32_t t = sys_now();

    if (t < l->last_now)
        l->now_wraps += (uint64_t)1 << 32;
    l->last_now = t;
    return l->now_wraps + t;
}

/* The epoch came (or the proxy changed and it is known): send what was held for it. */
static void send_held(struct xp_lwip *l)
{
    const struct xp_device_proxy *cur = xp_device__current(l->dev);
    int len;

    if (!l->held_len || !cur || !cur->epoch)
        return;
    memcpy(l->buf + XP_TUNNEL_HDR_LEN, l->held, l->held_len);
    len = xp_device__encap_output(l->dev, l->buf + XP_TUNNEL_HDR_LEN, l->held_len, l->buf,
                                  sizeof(l->buf));
    l->held_len = 0;
    l->stats.held++;
    send_outer(l, len);
}

static void control_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                         u16_t port)
{
    struct xp_lwip *l = arg;
    uint8_t msg[XP_TUNNEL_HDR_LEN + XP_TUNNEL_CTL_BODY_LEN + 1];
    u16_t n;

    (void)pcb;
    /* one byte more than any control message, so an oversized one still fails its checks */
    n = pbuf_copy_partial(p, msg, sizeof(msg), 0);
    if (IP_IS_V4(addr)) {
        u32_t a = ip4_addr_get_u32(ip_2_ip4(addr));

        xp_device__control_input(l->dev, 4, (const uint8_t *)&a, port, msg, n, now_ms(l));
    } else {
        xp_device__control_input(l->dev, 6, (const uint8_t *)ip_2_ip6(addr)->addr, port, msg, n,
                                 now_ms(l));
    }
    pbuf_free(p);
    send_held(l);
}

static void poll_now(struct xp_lwip *l)
{
    int len = xp_device__poll(l->dev, now_ms(l), l->buf, sizeof(l->buf));

    if (len > 0)
        send_outer(l, len);
}

static void poll_timer(void *arg)
{
    struct xp_lwip *l = arg;

    poll_now(l);
    sys_timeout(XP_LWIP_POLL_MS, poll_timer, l);
}

err_t xp_lwip__attach(struct xp_lwip *l, struct xp_device *dev, struct netif *netif,
                      u16_t local_port)
{
    err_t err;
    int slot = -1;

    if (find_attached(netif))
        return ERR_ALREADY;
    for (int i = 0; i < XP_LWIP_MAX_ATTACH; i++)
        if (!g_attached[i]) {
            slot = i;
            break;
        }
    if (slot < 0)
        return ERR_ALREADY;

    memset(l, 0, sizeof(*l));
    l->dev = dev;
    l->netif = netif;
    l->pcb = udp_new_ip_type(IPADDR_TYPE_ANY);
    if (!l->pcb)
        return ERR_MEM;
    err = udp_bind(l->pcb, IP_ANY_TYPE, local_port);
    if (err != ERR_OK)
        goto err_remove_pcb;
    udp_recv(l->pcb, control_recv, l);

    l->orig_output = netif->output;
    l->orig_output_ip6 = netif->output_ip6;
    netif->output = xp_output4;
    netif->output_ip6 = xp_output6;
    g_attached[slot] = l;
    l->attached = 1;
    /* the first keepalive now: the proxy's epoch is needed before any packet can go */
    poll_now(l);
    sys_timeout(XP_LWIP_POLL_MS, poll_timer, l);
    return ERR_OK;

err_remove_pcb:
    udp_remove(l->pcb);
    l->pcb = NULL;
    return err;
}

void xp_lwip__detach(struct xp_lwip *l)
{
    if (!l->attached)
        return;
    sys_untimeout(poll_timer, l);
    l->netif->output = l->orig_output;
    l->netif->output_ip6 = l->orig_output_ip6;
    udp_remove(l->pcb);
    l->pcb = NULL;
    for (int i = 0; i < XP_LWIP_MAX_ATTACH; i++)
        if (g_attached[i] == l)
            g_attached[i] = NULL;
    l->attached = 0;
}
