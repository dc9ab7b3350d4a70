// SPDX-License-Identifier: GPL-2.0-only
#include "src/gateway/nexthop.h"
#include "xsk/nic.h"

#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

struct xp_nexthops {
    uint8_t own_mac[6];
    unsigned n_routes, n_neigh, truncated;
    struct xp_route *routes; /* longest prefix first, then lowest metric */
    struct xp_neigh *neigh;  /* sorted by addr */
};

static void map4(uint8_t out[16], const void *v4)
{
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    memcpy(out + 12, v4, 4);
}

static int route_cmp(const void *a, const void *b)
{
    const struct xp_route *x = a, *y = b;

    if (x->dst.prefix_len != y->dst.prefix_len)
        return x->dst.prefix_len > y->dst.prefix_len ? -1 : 1;
    return x->priority < y->priority ? -1 : x->priority > y->priority;
}

static int neigh_cmp(const void *a, const void *b)
{
    return memcmp(((const struct xp_neigh *)a)->addr, ((const struct xp_neigh *)b)->addr, 16);
}

struct xp_nexthops *xp_nexthops__build(const uint8_t own_mac[6], const struct xp_route *routes,
                                       unsigned n_routes, const struct xp_neigh *neigh,
                                       unsigned n_neigh)
{
    struct xp_nexthops *nh;

    if (n_routes > XP_NEXTHOP_ROUTES_MAX || n_neigh > XP_NEXTHOP_NEIGH_MAX) {
        errno = E2BIG;
        return NULL;
    }
    nh = calloc(1, sizeof(*nh));
    if (!nh)
        return NULL;
    nh->routes = calloc(n_routes ? n_routes : 1, sizeof(*routes));
    nh->neigh = calloc(n_neigh ? n_neigh : 1, sizeof(*neigh));
    if (!nh->routes || !nh->neigh) {
        xp_nexthops__free(nh);
        errno = ENOMEM;
        return NULL;
    }
    memcpy(nh->own_mac, own_mac, 6);
    if (n_routes)
        memcpy(nh->routes, routes, n_routes * sizeof(*routes));
    if (n_neigh)
        memcpy(nh->neigh, neigh, n_neigh * sizeof(*neigh));
    nh->n_routes = n_routes;
    nh->n_neigh = n_neigh;
    qsort(nh->routes, n_routes, sizeof(*routes), route_cmp);
    qsort(nh->neigh, n_neigh, sizeof(*neigh), neigh_cmp);
    return nh;
}

void xp_nexthops__free(struct xp_nexthops *nh)
{
    if (!nh)
        return;
    free(nh->routes);
    free(nh->neigh);
    free(nh);
}

static const struct xp_neigh *find_neigh(const struct xp_nexthops *nh, const uint8_t addr[16])
{
    unsigned lo = 0, hi = nh->n_neigh;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        int c = memcmp(nh->neigh[mid].addr, addr, 16);

        if (c == 0)
            return &nh->neigh[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int xp_nexthops__lookup(const struct xp_nexthops *nh, const uint8_t dst[16], uint8_t dst_mac[6],
                        uint8_t src_mac[6], uint8_t next_hop[16])
{
    const struct xp_route *r = NULL;
    const struct xp_neigh *nb;

    static const uint8_t v4_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    uint8_t family = memcmp(dst, v4_prefix, 12) == 0 ? 4 : 6;

    /* Longest prefix first: the first match of the destination's own family wins. */
    for (unsigned i = 0; i < nh->n_routes; i++) {
        if (nh->routes[i].dst.family == family && xp_cidr_match(&nh->routes[i].dst, dst)) {
            r = &nh->routes[i];
            break;
        }
    }
    if (!r || !r->via_port)
        return -ENETUNREACH;
    memcpy(next_hop, r->has_gateway ? r->gateway : dst, 16);
    nb = find_neigh(nh, next_hop);
    if (!nb)
        return -EHOSTUNREACH;
    memcpy(dst_mac, nb->mac, 6);
    memcpy(src_mac, nh->own_mac, 6);
    return 0;
}

unsigned xp_nexthops__unresolved_gateways(const struct xp_nexthops *nh, uint8_t (*out)[16],
                                          unsigned max)
{
    unsigned n = 0;

    for (unsigned i = 0; i < nh->n_routes && n < max; i++) {
        const struct xp_route *r = &nh->routes[i];
        bool seen = false;

        if (!r->via_port || !r->has_gateway || find_neigh(nh, r->gateway))
            continue;
        for (unsigned k = 0; k < n && !seen; k++)
            seen = memcmp(out[k], r->gateway, 16) == 0;
        if (!seen)
            memcpy(out[n++], r->gateway, 16);
    }
    return n;
}

unsigned xp_nexthops__routes(const struct xp_nexthops *nh)
{
    return nh->n_routes;
}

unsigned xp_nexthops__neighbours(const struct xp_nexthops *nh)
{
    return nh->n_neigh;
}

unsigned xp_nexthops__truncated(const struct xp_nexthops *nh)
{
    return nh->truncated;
}

/* ---- the kernel's tables over rtnetlink ------------------------------------ */

struct dump {
    struct xp_route *routes;
    unsigned n_routes;
    struct xp_neigh *neigh;
    unsigned n_neigh;
    unsigned truncated;
    int ifindex;
};

static int nl_open(void)
{
    /* A dump that stalls must not stall the control thread for long. */
    struct timeval tv = { .tv_sec = 1 };
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void set_gateway(struct xp_route *r, uint8_t family, const void *a, unsigned alen)
{
    if (family == AF_INET && alen >= 4)
        map4(r->gateway, a);
    else if (family == AF_INET6 && alen >= 16)
        memcpy(r->gateway, a, 16);
    else
        return;
    r->has_gateway = 1;
}

/* The ifindex of the first next hop of a multipath route on ifindex (its gateway into r), or 0. */
static int multipath_on_port(struct xp_route *r, uint8_t family, const void *data, unsigned len,
                             int ifindex)
{
    const struct rtnexthop *nhp = data;

    while (len >= sizeof(*nhp) && nhp->rtnh_len >= sizeof(*nhp) && nhp->rtnh_len <= len) {
        if (nhp->rtnh_ifindex == ifindex) {
            int alen = nhp->rtnh_len - (int)sizeof(*nhp);

            for (const struct rtattr *a = RTNH_DATA(nhp); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
                if (a->rta_type == RTA_GATEWAY)
                    set_gateway(r, family, RTA_DATA(a), RTA_PAYLOAD(a));
            }
            return ifindex;
        }
        {
            unsigned step = RTNH_ALIGN(nhp->rtnh_len);

            if (step >= len)
                break;
            len -= step;
            nhp = (const struct rtnexthop *)((const char *)nhp + step);
        }
    }
    return 0;
}

static void on_route(struct dump *d, struct nlmsghdr *h)
{
    struct rtmsg *rt = NLMSG_DATA(h);
    int len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*rt));
    struct xp_route r = { 0 };
    uint32_t table = rt->rtm_table;
    bool have_dst = false;
    int oif = 0;

    if (len < 0 || (rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6))
        return;
    for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        unsigned alen = RTA_PAYLOAD(a);

        switch (a->rta_type) {
        case RTA_TABLE:
            if (alen >= 4)
                memcpy(&table, RTA_DATA(a), 4);
            break;
        case RTA_OIF:
            if (alen >= 4)
                memcpy(&oif, RTA_DATA(a), 4);
            break;
        case RTA_PRIORITY:
            if (alen >= 4)
                memcpy(&r.priority, RTA_DATA(a), 4);
            break;
        case RTA_DST:
            if (rt->rtm_family == AF_INET && alen >= 4)
                map4(r.dst.addr, RTA_DATA(a));
            else if (rt->rtm_family == AF_INET6 && alen >= 16)
                memcpy(r.dst.addr, RTA_DATA(a), 16);
            have_dst = true;
            break;
        case RTA_GATEWAY:
            set_gateway(&r, rt->rtm_family, RTA_DATA(a), alen);
            break;
        case RTA_MULTIPATH:
            /* ECMP: the first next hop through the core port serves (no hashing yet). */
            if (!oif)
                oif = multipath_on_port(&r, rt->rtm_family, RTA_DATA(a), alen, d->ifindex);
            break;
        }
    }
    if (table != RT_TABLE_MAIN)
        return;
    r.via_port = rt->rtm_type == RTN_UNICAST && oif == d->ifindex;
    if (!have_dst && rt->rtm_family == AF_INET)
        map4(r.dst.addr, "\0\0\0\0");
    r.dst.family = rt->rtm_family == AF_INET ? 4 : 6;
    r.dst.prefix_len = rt->rtm_dst_len + (rt->rtm_family == AF_INET ? 96 : 0);
    if (r.dst.prefix_len > 128)
        return;
    for (unsigned b = 0; b < 16; b++) {
        unsigned bits = r.dst.prefix_len > 8 * b ? r.dst.prefix_len - 8 * b : 0;

        r.dst.mask[b] = bits >= 8 ? 0xff : (uint8_t)(0xff00 >> bits);
        r.dst.addr[b] &= r.dst.mask[b];
    }
    if (d->n_routes >= XP_NEXTHOP_ROUTES_MAX) {
        d->truncated++;
        return;
    }
    d->routes[d->n_routes++] = r;
}

static void on_neigh(struct dump *d, struct nlmsghdr *h)
{
    struct ndmsg *nd = NLMSG_DATA(h);
    int len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*nd));
    struct xp_neigh n = { 0 };
    bool have_addr = false, have_mac = false;

    /* Only entries the kernel itself would send to without asking again. */
    if (len < 0 || nd->ndm_ifindex != d->ifindex ||
        !(nd->ndm_state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT)))
        return;
    for (struct rtattr *a = (struct rtattr *)((char *)nd + NLMSG_ALIGN(sizeof(*nd)));
         RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        unsigned alen = RTA_PAYLOAD(a);

        if (a->rta_type == NDA_DST) {
            if (nd->ndm_family == AF_INET && alen >= 4)
                map4(n.addr, RTA_DATA(a));
            else if (nd->ndm_family == AF_INET6 && alen >= 16)
                memcpy(n.addr, RTA_DATA(a), 16);
            else
                continue;
            have_addr = true;
        } else if (a->rta_type == NDA_LLADDR && alen == 6) {
            memcpy(n.mac, RTA_DATA(a), 6);
            have_mac = true;
        }
    }
    if (!have_addr || !have_mac)
        return;
    if (d->n_neigh >= XP_NEXTHOP_NEIGH_MAX) {
        d->truncated++;
        return;
    }
    d->neigh[d->n_neigh++] = n;
}

/* One dump request of type `type` for family, each answer handed to on(). */
static int nl_dump(int fd, uint16_t type, uint8_t family, struct dump *d,
                   void (*on)(struct dump *d, struct nlmsghdr *h))
{
    struct {
        struct nlmsghdr h;
        union {
            struct rtmsg rt;
            struct ndmsg nd;
        };
    } req = { 0 };
    static _Thread_local uint32_t seq;
    char buf[32768];

    req.h.nlmsg_type = type;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.h.nlmsg_seq = ++seq;
    if (type == RTM_GETROUTE) {
        req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.rt));
        req.rt.rtm_family = family;
    } else {
        req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.nd));
        req.nd.ndm_family = family;
    }
    if (send(fd, &req, req.h.nlmsg_len, 0) < 0)
        return -errno;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        int left;

        if (n < 0)
            return errno == EAGAIN ? -ETIMEDOUT : -errno;
        if (n == 0)
            return -EPROTO;
        left = (int)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_seq != req.h.nlmsg_seq)
                continue;
            if (h->nlmsg_type == NLMSG_DONE)
                return 0;
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *e = NLMSG_DATA(h);

                return e->error ? e->error : -EPROTO;
            }
            /* Answers to RTM_GETROUTE are RTM_NEWROUTE, to RTM_GETNEIGH RTM_NEWNEIGH. */
            if (h->nlmsg_type == (type == RTM_GETROUTE ? RTM_NEWROUTE : RTM_NEWNEIGH))
                on(d, h);
        }
    }
}

struct xp_nexthops *xp_nexthops__load(int ifindex, char *err, size_t errlen)
{
    struct dump d = { .ifindex = ifindex };
    struct xp_nexthops *nh = NULL;
    char name[IF_NAMESIZE];
    uint8_t mac[6];
    int fd, ret;

    ret = if_indextoname(ifindex, name) ? xp_nic_mac(name, mac) : -errno;
    if (ret) {
        snprintf(err, errlen, "ifindex %d: no Ethernet address: %s", ifindex, strerror(-ret));
        errno = -ret;
        return NULL;
    }
    d.routes = calloc(XP_NEXTHOP_ROUTES_MAX, sizeof(*d.routes));
    d.neigh = calloc(XP_NEXTHOP_NEIGH_MAX, sizeof(*d.neigh));
    fd = nl_open();
    if (!d.routes || !d.neigh || fd < 0) {
        ret = fd < 0 ? fd : -ENOMEM;
        snprintf(err, errlen, "rtnetlink: %s", strerror(-ret));
        goto out;
    }
    ret = nl_dump(fd, RTM_GETROUTE, AF_INET, &d, on_route);
    if (!ret)
        ret = nl_dump(fd, RTM_GETROUTE, AF_INET6, &d, on_route);
    if (!ret)
        ret = nl_dump(fd, RTM_GETNEIGH, AF_UNSPEC, &d, on_neigh);
    if (ret) {
        snprintf(err, errlen, "rtnetlink dump: %s", strerror(-ret));
        goto out;
    }
    nh = xp_nexthops__build(mac, d.routes, d.n_routes, d.neigh, d.n_neigh);
    if (!nh) {
        ret = -errno;
        snprintf(err, errlen, "next hops: %s", strerror(errno));
        goto out;
    }
    nh->truncated = d.truncated;
out:
    if (fd >= 0)
        close(fd);
    free(d.routes);
    free(d.neigh);
    if (!nh)
        errno = -ret;
    return nh;
}

int xp_nexthops__solicit(int ifindex, const uint8_t addr[16])
{
    static const uint8_t v4_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    struct {
        struct nlmsghdr h;
        struct ndmsg nd;
        char attrs[64];
    } req = { 0 };
    bool v4 = memcmp(addr, v4_prefix, 12) == 0;
    unsigned alen = v4 ? 4 : 16;
    struct rtattr *a;
    char buf[512];
    int fd, ret;

    /*
     * NTF_USE makes the kernel treat the entry as used by a packet: it
     * creates it if needed and starts resolution (ARP or neighbour
     * solicitation), as if it were about to send there itself.
     */
    req.h.nlmsg_type = RTM_NEWNEIGH;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK;
    req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.nd));
    req.nd.ndm_family = v4 ? AF_INET : AF_INET6;
    req.nd.ndm_ifindex = ifindex;
    req.nd.ndm_flags = NTF_USE;
    req.nd.ndm_state = NUD_NONE;
    a = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.h.nlmsg_len));
    a->rta_type = NDA_DST;
    a->rta_len = RTA_LENGTH(alen);
    memcpy(RTA_DATA(a), v4 ? addr + 12 : addr, alen);
    req.h.nlmsg_len = NLMSG_ALIGN(req.h.nlmsg_len) + RTA_ALIGN(a->rta_len);

    fd = nl_open();
    if (fd < 0)
        return fd;
    ret = 0;
    if (send(fd, &req, req.h.nlmsg_len, 0) < 0) {
        ret = -errno;
    } else {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        struct nlmsghdr *h = (struct nlmsghdr *)buf;

        if (n < 0)
            ret = -errno;
        else if (NLMSG_OK(h, (int)n) && h->nlmsg_type == NLMSG_ERROR)
            ret = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
    }
    close(fd);
    return ret;
}
