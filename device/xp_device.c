// SPDX-License-Identifier: GPL-2.0-only
/*
 * Device-side core: proxy list, liveness, round-robin switching, and the
 * unit's end of the tunnel. The clock is the caller's (lwIP's sys_now()
 * on a unit), so the tests drive time by hand.
 *
 * Liveness is judged only from authenticated control messages: data
 * packets get no answer from the proxy (replies come straight from their
 * destinations), so keepalives are sent whether or not there is traffic.
 * A spoofed or replayed "I'm alive" or "overloaded" cannot keep a unit on
 * a dead proxy or chase it off a good one.
 */
#include <errno.h>
#include <string.h>

#include "xp_device.h"

static void addr_to_mapped(uint8_t family, const uint8_t *addr, uint8_t out[16])
{
    if (family == 4) {
        memset(out, 0, 10);
        out[10] = 0xff;
        out[11] = 0xff;
        memcpy(out + 12, addr, 4);
    } else {
        memcpy(out, addr, 16);
    }
}

int xp_device__init(struct xp_device *dev, const struct xp_device_config *cfg, uint64_t now_ms)
{
    int ret;

    memset(dev, 0, sizeof(*dev));
    dev->keepalive_ms = cfg->keepalive_ms ? cfg->keepalive_ms : XP_DEVICE_KEEPALIVE_MS;
    dev->dead_ms = cfg->dead_ms ? cfg->dead_ms : XP_DEVICE_DEAD_MS;
    dev->overload_permille =
        cfg->overload_permille ? cfg->overload_permille : XP_DEVICE_OVERLOAD_PERMILLE;
    if (dev->dead_ms <= dev->keepalive_ms)
        return -EINVAL;
    ret = xp_tunnel_key__set(&dev->key, cfg->unit_id, cfg->key_id, cfg->secret, cfg->secret_len);
    if (ret < 0)
        return ret;
    dev->seq = cfg->seq_base;
    dev->last_heard_ms = now_ms;
    dev->last_keepalive_ms = now_ms;
    dev->keepalive_due = true;
    return 0;
}

int xp_device__set_key(struct xp_device *dev, uint8_t key_id, const uint8_t *secret,
                       size_t secret_len)
{
    struct xp_tunnel_key next;
    int ret = xp_tunnel_key__set(&next, dev->key.unit_id, key_id, secret, secret_len);

    if (ret < 0)
        return ret;
    xp_tunnel_key__wipe(&dev->key);
    dev->key = next;
    xp_tunnel_key__wipe(&next);
    dev->stats.key_changes++;
    return 0;
}

void xp_device__wipe(struct xp_device *dev)
{
    xp_tunnel_key__wipe(&dev->key);
    memset(dev, 0, sizeof(*dev));
}

int xp_device__add_proxy(struct xp_device *dev, uint8_t family, const uint8_t *addr,
                         uint16_t port, uint16_t proxy_id)
{
    struct xp_device_proxy *p;
    uint8_t mapped[16];

    if ((family != 4 && family != 6) || !addr || port == 0 || proxy_id == 0)
        return -EINVAL;
    addr_to_mapped(family, addr, mapped);
    for (uint32_t i = 0; i < dev->n_proxies; i++)
        if ((dev->proxies[i].port == port && memcmp(dev->proxies[i].addr, mapped, 16) == 0) ||
            dev->proxies[i].proxy_id == proxy_id)
            return -EEXIST;
    if (dev->n_proxies >= XP_DEVICE_MAX_PROXIES)
        return -ENOSPC;
    p = &dev->proxies[dev->n_proxies++];
    memcpy(p->addr, mapped, 16);
    p->port = port;
    p->family = family;
    p->proxy_id = proxy_id;
    p->epoch = 0;
    p->ka_sent = false;
    xp_tunnel_window__init(&p->window, dev->key.unit_id);
    return 0;
}

const struct xp_device_proxy *xp_device__current(const struct xp_device *dev)
{
    return dev->n_proxies ? &dev->proxies[dev->current] : NULL;
}

/*
 * The new proxy gets a full dead_ms to answer, and a keepalive at once so
 * that it can. With one proxy there is nowhere to go: keep trying it.
 */
static void switch_next(struct xp_device *dev, enum xp_device_switch_reason why, uint64_t now_ms)
{
    if (dev->n_proxies > 1)
        dev->current = (dev->current + 1) % dev->n_proxies;
    dev->last_heard_ms = now_ms;
    dev->keepalive_due = true;
    dev->last_switch = why;
    if (why == XP_DEVICE_SWITCH_TIMEOUT)
        dev->stats.switch_timeout++;
    else
        dev->stats.switch_overload++;
}

static struct xp_tunnel_addr proxy_addr(const struct xp_device_proxy *p)
{
    return (struct xp_tunnel_addr){ .proxy_id = p->proxy_id, .epoch = p->epoch };
}

int xp_device__encap_output(struct xp_device *dev, const uint8_t *pkt, uint32_t len,
                            uint8_t *out, uint32_t out_cap)
{
    const struct xp_device_proxy *p;
    struct xp_tunnel_addr to;
    int n;

    if (!dev->n_proxies) {
        dev->stats.tx_errors++;
        return -ENETUNREACH;
    }
    p = &dev->proxies[dev->current];
    /* The proxy refuses DATA for any epoch but its current one, unopened: do not send it. */
    if (p->epoch == 0) {
        dev->stats.tx_no_epoch++;
        return -EAGAIN;
    }
    to = proxy_addr(p);
    n = xp_tunnel_encap(out, out_cap, XP_TUNNEL_T_DATA, &to, dev->seq, &dev->key, pkt, len);
    if (n < 0) {
        dev->stats.tx_errors++;
        return n;
    }
    dev->seq++;
    dev->stats.tx_packets++;
    dev->stats.tx_bytes += len;
    return n;
}

int xp_device__poll(struct xp_device *dev, uint64_t now_ms, uint8_t *out, uint32_t out_cap)
{
    struct xp_device_proxy *p;
    struct xp_tunnel_addr to;
    uint32_t interval;
    int n;

    if (!dev->n_proxies)
        return 0;
    if (now_ms >= dev->last_heard_ms && now_ms - dev->last_heard_ms >= dev->dead_ms)
        switch_next(dev, XP_DEVICE_SWITCH_TIMEOUT, now_ms);
    p = &dev->proxies[dev->current];
    /* without the epoch nothing can be sent: ask more often until it comes */
    interval = p->epoch || dev->keepalive_ms < XP_DEVICE_PROBE_MS ? dev->keepalive_ms
                                                                  : XP_DEVICE_PROBE_MS;
    if (!dev->keepalive_due && now_ms - dev->last_keepalive_ms < interval)
        return 0;
    /* a keepalive may name any epoch (0 before the first answer): its answer gives the current one */
    to = proxy_addr(p);
    n = xp_tunnel_encap(out, out_cap, XP_TUNNEL_T_KEEPALIVE, &to, dev->seq, &dev->key, NULL, 0);
    if (n < 0)
        return n;
    p->ka_seq = dev->seq;
    p->ka_sent = true;
    dev->seq++;
    dev->keepalive_due = false;
    dev->last_keepalive_ms = now_ms;
    dev->stats.keepalives++;
    return n;
}

enum xp_tunnel_status xp_device__control_input(struct xp_device *dev, uint8_t family,
                                               const uint8_t *addr, uint16_t port,
                                               const uint8_t *payload, uint32_t len,
                                               uint64_t now_ms)
{
    struct xp_device_proxy *p;
    struct xp_tunnel_result r;
    enum xp_tunnel_status st;
    uint8_t mapped[16];
    uint32_t i;

    if ((family != 4 && family != 6) || !addr)
        goto not_proxy;
    addr_to_mapped(family, addr, mapped);
    for (i = 0; i < dev->n_proxies; i++)
        if (dev->proxies[i].port == port && memcmp(dev->proxies[i].addr, mapped, 16) == 0)
            break;
    if (i == dev->n_proxies)
        goto not_proxy;

    p = &dev->proxies[i];
    st = xp_tunnel_decap_control(payload, len, &dev->key, p->proxy_id, &p->window, &r);
    if (st != XP_TUNNEL_OK) {
        dev->stats.ctl_drop[st]++;
        return st;
    }
    dev->stats.ctl_ok++;
    /*
     * Only the answer to our last keepalive teaches the epoch: an authentic
     * but older message (delayed, or replayed from before a restart of the
     * proxy) must not take us back to an epoch the proxy no longer accepts.
     */
    if (p->ka_sent && r.echo_seq == p->ka_seq && r.epoch != p->epoch) {
        if (p->epoch)
            dev->stats.epoch_changes++;
        p->epoch = r.epoch;
    }
    if (i != dev->current)
        return XP_TUNNEL_OK; /* a late answer from a proxy we left: nothing to do */
    dev->last_heard_ms = now_ms;
    /* W counts, not the message type: an OVERLOAD below our threshold is only a warning */
    if (r.w_permille >= dev->overload_permille)
        switch_next(dev, XP_DEVICE_SWITCH_OVERLOAD, now_ms);
    return XP_TUNNEL_OK;

not_proxy:
    dev->stats.ctl_not_proxy++;
    return XP_TUNNEL_UNKNOWN_UNIT;
}
