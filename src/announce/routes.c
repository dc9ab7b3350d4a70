// SPDX-License-Identifier: GPL-2.0-only
/*
 * The set of routes and what the speaker was told (announce.h).
 *
 * Two tables. A pair is one block the proxy reported (unit, destination, queue: the
 * pipeline that blocked it is the one that unblocks it); it holds a reference on the route
 * its reason wants. A route is what the speaker sees: a FlowSpec rule per pair, or an RTBH
 * route per destination however many pairs are blocked towards it.
 *
 * A route is *wanted* while a pair holds it and it is not capped, *announced* while the
 * speaker has it. Whenever the two differ the route sits in the pending list, and pace()
 * sends the one command that makes them agree, as tokens allow. So a burst of blocks costs at
 * most `rate` updates a second, a block that ends before its turn costs nothing, and the
 * updates go out in the order the changes happened. The cap counts routes *held*: wanted,
 * or announced and not yet withdrawn, i.e. what the speaker may hold once the pending list
 * drains; a route over it is capped (counted, logged, not announced) and waits in the capped
 * list, oldest first, for room.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/announce/announce.h"
#include "src/util/clock.h"
#include "src/util/hexaddr.h"
#include "src/util/log.h"

struct route {
    struct route *hnext;       /* hash chain */
    struct route *prev, *next; /* pending list, or capped list */
    enum xp_route_kind kind;
    uint8_t unit[16]; /* zero for RTBH */
    uint8_t dst[16];
    unsigned refs;
    bool announced;
    bool capped;
    bool listed; /* in the pending or capped list */
};

struct pair {
    struct pair *hnext;
    uint8_t unit[16];
    uint8_t dst[16];
    int queue;
    bool seeded;       /* learnt from the flows op, not from a block event (resync) */
    uint32_t seed_gen; /* the last resync that still saw it */
    struct route *route;
};

struct list {
    struct route *head, *tail;
};

struct xp_announce {
    struct xp_announce_conf conf;
    xp_announce_sink sink;
    void *ctx;
    struct pair **pairs;
    struct route **routes;
    size_t mask; /* both tables: buckets - 1 */
    struct list pending, capped;
    unsigned held; /* wanted or announced routes (the cap's count) */
    double tokens;
    uint64_t refill_ns;
    uint64_t cap_log_ns; /* last "capped" warning: at most one a second */
    uint64_t cap_log_missed;
    uint32_t seed_gen;
    struct xp_announce_stats st;
};

void xp_announce_conf__defaults(struct xp_announce_conf *conf)
{
    memset(conf, 0, sizeof(*conf));
    conf->dst_action = XP_DST_RTBH;
    snprintf(conf->next_hop4, sizeof(conf->next_hop4), "self");
    snprintf(conf->next_hop6, sizeof(conf->next_hop6), "self");
    /* RFC 7999's BLACKHOLE, which most transit networks honour for their customers */
    snprintf(conf->community, sizeof(conf->community), "65535:666");
    conf->v6_unit_prefix = 64;
    conf->max_routes = 1000;
    conf->max_pairs = 65536;
    conf->rate = 100;
    conf->burst = 50;
}

static bool community_ok(const char *s)
{
    unsigned words = 0;

    while (*s) {
        unsigned long a, b;
        char *end;

        while (*s == ' ')
            s++;
        if (!*s)
            break;
        if (*s < '0' || *s > '9')
            return false;
        a = strtoul(s, &end, 10);
        if (*end != ':' || a > 65535 || end[1] < '0' || end[1] > '9')
            return false;
        b = strtoul(end + 1, &end, 10);
        if (b > 65535 || (*end && *end != ' '))
            return false;
        s = end;
        words++;
    }
    return words > 0;
}

static bool next_hop_ok(const char *nh, bool v4)
{
    uint8_t a[16];

    if (strcmp(nh, "self") == 0)
        return true;
    return xp_addr__parse(nh, a) == 0 && xp_addr__is_v4(a) == v4;
}

int xp_announce_conf__check(const struct xp_announce_conf *conf, char *err, size_t errlen)
{
    if (conf->dst_action > XP_DST_NONE)
        snprintf(err, errlen, "dst action: unknown value %d", (int)conf->dst_action);
    else if (!next_hop_ok(conf->next_hop4, true))
        snprintf(err, errlen, "next hop \"%s\": expected \"self\" or an IPv4 address",
                 conf->next_hop4);
    else if (!next_hop_ok(conf->next_hop6, false))
        snprintf(err, errlen, "IPv6 next hop \"%s\": expected \"self\" or an IPv6 address",
                 conf->next_hop6);
    else if (!community_ok(conf->community))
        snprintf(err, errlen, "community \"%s\": expected ASN:VALUE words (0..65535 each)",
                 conf->community);
    else if (conf->v6_unit_prefix < 8 || conf->v6_unit_prefix > 128)
        snprintf(err, errlen, "IPv6 unit prefix %u: expected 8..128", conf->v6_unit_prefix);
    else if (conf->max_routes < 1 || conf->max_routes > 1000000)
        snprintf(err, errlen, "max routes %u: expected 1..1000000", conf->max_routes);
    else if (conf->max_pairs < 1 || conf->max_pairs > 16777216)
        snprintf(err, errlen, "max pairs %u: expected 1..16777216", conf->max_pairs);
    else if (!(conf->rate >= 0.01 && conf->rate <= 1e6))
        snprintf(err, errlen, "rate %g: expected 0.01..1000000 updates/s", conf->rate);
    else if (!(conf->burst >= 1 && conf->burst <= 1e6))
        snprintf(err, errlen, "burst %g: expected 1..1000000 updates", conf->burst);
    else
        return 0;
    return -EINVAL;
}

/* ---- formatting ----------------------------------------------------------------------- */

/* "a.b.c.d/32", or the IPv6 address masked to plen and "/plen". */
static void prefix_text(const uint8_t a[16], unsigned v6_plen, char *out, size_t len)
{
    char s[XP_ADDR_STRLEN];
    uint8_t m[16];

    if (xp_addr__is_v4(a)) {
        xp_addr__format(a, s, sizeof(s));
        snprintf(out, len, "%s/32", s);
        return;
    }
    memcpy(m, a, 16);
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = v6_plen > i * 8 ? v6_plen - i * 8 : 0;

        if (keep < 8)
            m[i] &= (uint8_t)(0xff00u >> keep);
    }
    xp_addr__format(m, s, sizeof(s));
    snprintf(out, len, "%s/%u", s, v6_plen);
}

int xp_announce__format(const struct xp_announce_conf *conf, enum xp_route_kind kind,
                        const uint8_t unit[16], const uint8_t dst[16], bool announce, char *buf,
                        size_t len)
{
    const char *verb = announce ? "announce" : "withdraw";
    char d[XP_ADDR_STRLEN + 8], u[XP_ADDR_STRLEN + 8], action[48];
    bool v4 = xp_addr__is_v4(dst);
    int n;

    prefix_text(dst, 128, d, sizeof(d));
    if (kind == XP_ROUTE_RTBH) {
        n = snprintf(buf, len, "%s route %s next-hop %s community [%s]", verb, d,
                     v4 ? conf->next_hop4 : conf->next_hop6, conf->community);
    } else {
        prefix_text(unit, conf->v6_unit_prefix, u, sizeof(u));
        if (conf->flow_rate_bps)
            snprintf(action, sizeof(action), "rate-limit %llu;",
                     (unsigned long long)conf->flow_rate_bps);
        else
            snprintf(action, sizeof(action), "discard;");
        n = snprintf(buf, len, "%s flow route { match { source %s; destination %s; } then { %s } }",
                     verb, u, d, action);
    }
    if (n < 0 || (size_t)n >= len)
        return -ENOSPC;
    return n;
}

/* ---- tables --------------------------------------------------------------------------- */

static uint64_t hash_key(const uint8_t unit[16], const uint8_t dst[16], uint32_t extra)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    for (unsigned i = 0; i < 16; i++)
        h = (h ^ unit[i]) * 1099511628211ULL;
    for (unsigned i = 0; i < 16; i++)
        h = (h ^ dst[i]) * 1099511628211ULL;
    h = (h ^ extra) * 1099511628211ULL;
    return h ^ (h >> 29);
}

static void list_append(struct list *l, struct route *r)
{
    r->next = NULL;
    r->prev = l->tail;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    r->listed = true;
}

static void list_remove(struct list *l, struct route *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        l->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        l->tail = r->prev;
    r->prev = r->next = NULL;
    r->listed = false;
}

static bool wanted(const struct route *r)
{
    return r->refs > 0 && !r->capped;
}

static struct route **route_slot(struct xp_announce *a, enum xp_route_kind kind,
                                 const uint8_t unit[16], const uint8_t dst[16])
{
    struct route **p = &a->routes[hash_key(unit, dst, kind) & a->mask];

    for (; *p; p = &(*p)->hnext)
        if ((*p)->kind == kind && memcmp((*p)->unit, unit, 16) == 0 &&
            memcmp((*p)->dst, dst, 16) == 0)
            break;
    return p;
}

static void route_free_if_idle(struct xp_announce *a, struct route *r)
{
    struct route **p;

    if (r->refs || r->announced || r->listed)
        return;
    p = route_slot(a, r->kind, r->unit, r->dst);
    if (*p == r)
        *p = r->hnext;
    free(r);
}

/* wanted(r) or r->announced changed: list it if they differ, unlist it if they agree. */
static void route_dirty(struct xp_announce *a, struct route *r)
{
    bool differ = wanted(r) != r->announced;

    if (r->capped)
        return; /* lives in the capped list */
    if (differ && !r->listed) {
        list_append(&a->pending, r);
    } else if (!differ && r->listed) {
        list_remove(&a->pending, r);
        a->st.coalesced += 2; /* the update and its undoing, neither sent */
    }
}

static void cap_warn(struct xp_announce *a, const struct route *r)
{
    uint64_t now = xp_mono_ns();
    char u[XP_ADDR_STRLEN], d[XP_ADDR_STRLEN];

    if (a->cap_log_ns && now - a->cap_log_ns < XP_NSEC_PER_SEC) {
        a->cap_log_missed++;
        return;
    }
    xp_addr__format(r->unit, u, sizeof(u));
    xp_addr__format(r->dst, d, sizeof(d));
    pr_warn("route cap reached (%u routes): %s %s%s%s not announced (%llu more since the "
            "last warning)",
            a->conf.max_routes, r->kind == XP_ROUTE_RTBH ? "RTBH" : "FlowSpec",
            r->kind == XP_ROUTE_RTBH ? "" : u, r->kind == XP_ROUTE_RTBH ? "" : " -> ", d,
            (unsigned long long)a->cap_log_missed);
    a->cap_log_ns = now;
    a->cap_log_missed = 0;
}

/* Room under the cap: the oldest capped routes become wanted. */
static void promote_capped(struct xp_announce *a)
{
    while (a->capped.head && a->held < a->conf.max_routes) {
        struct route *r = a->capped.head;

        list_remove(&a->capped, r);
        r->capped = false;
        a->held++;
        route_dirty(a, r);
    }
}

static void route_ref(struct xp_announce *a, struct route *r)
{
    if (r->refs++ > 0)
        return;
    if (r->announced) {
        route_dirty(a, r); /* a withdrawal not yet sent is taken back; held already counts it */
        return;
    }
    if (a->held >= a->conf.max_routes) {
        r->capped = true;
        a->st.capped++;
        list_append(&a->capped, r);
        cap_warn(a, r);
        return;
    }
    a->held++;
    route_dirty(a, r);
}

static void route_unref(struct xp_announce *a, struct route *r)
{
    if (--r->refs > 0)
        return;
    if (r->capped) {
        list_remove(&a->capped, r);
        r->capped = false;
        route_free_if_idle(a, r);
        return;
    }
    if (!r->announced) {
        a->held--; /* never reached the speaker: its place is free now */
        route_dirty(a, r);
        route_free_if_idle(a, r);
        promote_capped(a);
        return;
    }
    route_dirty(a, r); /* held until the withdrawal is sent */
}

static struct route *route_get(struct xp_announce *a, enum xp_route_kind kind,
                               const uint8_t unit[16], const uint8_t dst[16])
{
    struct route **p = route_slot(a, kind, unit, dst), *r;

    if (*p)
        return *p;
    r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->kind = kind;
    memcpy(r->unit, unit, 16);
    memcpy(r->dst, dst, 16);
    *p = r;
    return r;
}

static struct pair **pair_slot(struct xp_announce *a, const uint8_t unit[16], const uint8_t dst[16],
                               int queue)
{
    struct pair **p = &a->pairs[hash_key(unit, dst, (uint32_t)queue) & a->mask];

    for (; *p; p = &(*p)->hnext)
        if ((*p)->queue == queue && memcmp((*p)->unit, unit, 16) == 0 &&
            memcmp((*p)->dst, dst, 16) == 0)
            break;
    return p;
}

struct xp_announce *xp_announce__create(const struct xp_announce_conf *conf, xp_announce_sink sink,
                                        void *ctx, uint64_t now_ns)
{
    struct xp_announce *a;
    char err[256];
    size_t n = 64;

    if (!sink || xp_announce_conf__check(conf, err, sizeof(err))) {
        errno = EINVAL;
        return NULL;
    }
    while (n < conf->max_pairs && n < (1u << 22))
        n <<= 1;
    a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->pairs = calloc(n, sizeof(*a->pairs));
    a->routes = calloc(n, sizeof(*a->routes));
    if (!a->pairs || !a->routes) {
        xp_announce__destroy(a);
        errno = ENOMEM;
        return NULL;
    }
    a->mask = n - 1;
    a->conf = *conf;
    a->sink = sink;
    a->ctx = ctx;
    a->tokens = conf->burst;
    a->refill_ns = now_ns;
    return a;
}

void xp_announce__destroy(struct xp_announce *a)
{
    if (!a)
        return;
    for (size_t i = 0; a->pairs && i <= a->mask; i++) {
        for (struct pair *p = a->pairs[i], *next; p; p = next) {
            next = p->hnext;
            free(p);
        }
    }
    for (size_t i = 0; a->routes && i <= a->mask; i++) {
        for (struct route *r = a->routes[i], *next; r; r = next) {
            next = r->hnext;
            free(r);
        }
    }
    free(a->pairs);
    free(a->routes);
    free(a);
}

static void pair_drop(struct xp_announce *a, struct pair **slot)
{
    struct pair *p = *slot;

    *slot = p->hnext;
    a->st.pairs--;
    if (p->route)
        route_unref(a, p->route);
    free(p);
}

/* A new block of (unit, dst, queue) at slot: 0, or 1 when ignored (counted). */
static int pair_add(struct xp_announce *a, struct pair **slot, const uint8_t unit[16],
                    const uint8_t dst[16], int queue, bool dst_rate, bool seeded)
{
    uint8_t zero[16] = { 0 };
    enum xp_route_kind rk;
    struct pair *p;

    if (dst_rate && a->conf.dst_action == XP_DST_NONE) {
        a->st.events_ignored++;
        return 1;
    }
    if (a->st.pairs >= a->conf.max_pairs) {
        a->st.pairs_full++;
        return 1;
    }
    rk = dst_rate && a->conf.dst_action == XP_DST_RTBH ? XP_ROUTE_RTBH : XP_ROUTE_FLOW;
    p = calloc(1, sizeof(*p));
    if (!p) {
        a->st.pairs_full++;
        return 1;
    }
    memcpy(p->unit, unit, 16);
    memcpy(p->dst, dst, 16);
    p->queue = queue;
    p->seeded = seeded;
    p->seed_gen = a->seed_gen;
    p->route = route_get(a, rk, rk == XP_ROUTE_RTBH ? zero : unit, dst);
    if (!p->route) {
        free(p);
        a->st.pairs_full++;
        return 1;
    }
    p->hnext = *slot;
    *slot = p;
    a->st.pairs++;
    route_ref(a, p->route);
    return 0;
}

/*
 * The pair an event or a flows row names: its unit and destination (one family) and the
 * queue whose pipeline holds it (0..65535). 0, or -EINVAL for anything else.
 */
static int parse_pair(const json_t *o, uint8_t unit[16], uint8_t dst[16], int *queue)
{
    const char *us = json_string_value(json_object_get(o, "unit"));
    const char *ds = json_string_value(json_object_get(o, "dst"));
    json_t *q = json_object_get(o, "queue");

    if (!us || !ds || !json_is_integer(q) || json_integer_value(q) < 0 ||
        json_integer_value(q) > 65535 || xp_addr__parse(us, unit) || xp_addr__parse(ds, dst) ||
        xp_addr__is_v4(unit) != xp_addr__is_v4(dst))
        return -EINVAL;
    *queue = (int)json_integer_value(q);
    return 0;
}

int xp_announce__event(struct xp_announce *a, const json_t *ev)
{
    const char *kind = json_string_value(json_object_get(ev, "event"));
    const char *reason = json_string_value(json_object_get(ev, "reason"));
    uint8_t unit[16], dst[16];
    struct pair **slot;
    bool block;
    int queue;

    if (!kind) {
        a->st.events_bad++;
        return -EINVAL;
    }
    if (strcmp(kind, "block") == 0) {
        block = true;
    } else if (strcmp(kind, "unblock") == 0) {
        block = false;
    } else {
        a->st.events_ignored++;
        return 1;
    }
    /*
     * Operator blocks (xpro-ctl block) are the operator's own decision, often towards every
     * destination ("*"): not announced upstream (docs/upstream.md "Failure modes").
     */
    if (reason && strcmp(reason, "operator") == 0) {
        a->st.events_ignored++;
        return 1;
    }
    if (parse_pair(ev, unit, dst, &queue) ||
        (block && (!reason || (strcmp(reason, "unit_rate") && strcmp(reason, "dst_rate"))))) {
        a->st.events_bad++;
        return -EINVAL;
    }
    a->st.events++;
    slot = pair_slot(a, unit, dst, queue);
    if (!block) {
        if (!*slot) {
            a->st.unblock_unknown++;
            return 1;
        }
        pair_drop(a, slot);
        return 0;
    }
    if (*slot) {
        if ((*slot)->seeded) {
            (*slot)->seeded = false; /* a resync saw it first; from now on its events rule */
            return 0;
        }
        a->st.block_duplicate++;
        return 1;
    }
    return pair_add(a, slot, unit, dst, queue, strcmp(reason, "dst_rate") == 0, false);
}

void xp_announce__forget_all(struct xp_announce *a)
{
    a->st.forgets++;
    for (size_t i = 0; i <= a->mask; i++)
        while (a->pairs[i])
            pair_drop(a, &a->pairs[i]);
}

/*
 * The verdicts of the flows op that mean "blocked now by a test", and the block reason each
 * stands for (docs/upstream.md "Reconnecting"; operator blocks are not announced).
 */
static const struct {
    const char *verdict;
    bool dst_rate;
} seed_verdicts[] = {
    { "drop_unit_rate", false },
    { "drop_dst_rate", true },
};

int xp_announce__seed(struct xp_announce *a, const json_t *flows)
{
    size_t i;
    json_t *row;
    int held = 0;

    if (!json_is_array(flows))
        return -EINVAL;
    a->seed_gen++;
    a->st.seeds++;
    json_array_foreach(flows, i, row)
    {
        const char *v = json_string_value(json_object_get(row, "verdict"));
        uint8_t unit[16], dst[16];
        struct pair **slot;
        int k = -1, queue;

        for (size_t j = 0; v && j < sizeof(seed_verdicts) / sizeof(seed_verdicts[0]); j++)
            if (strcmp(v, seed_verdicts[j].verdict) == 0)
                k = (int)j;
        if (k < 0)
            continue;
        if (parse_pair(row, unit, dst, &queue)) {
            a->st.events_bad++;
            continue;
        }
        slot = pair_slot(a, unit, dst, queue);
        if (*slot) {
            (*slot)->seed_gen = a->seed_gen;
            continue;
        }
        if (pair_add(a, slot, unit, dst, queue, seed_verdicts[k].dst_rate, true) == 0)
            a->st.seeded++;
    }
    /* seeded pairs this snapshot no longer shows have ended (their unblock may have come
     * before we knew them): drop them; pairs known from events are left to their events */
    for (size_t b = 0; b <= a->mask; b++) {
        struct pair **slot = &a->pairs[b];

        while (*slot) {
            if ((*slot)->seeded && (*slot)->seed_gen != a->seed_gen) {
                pair_drop(a, slot);
                continue;
            }
            held += (*slot)->seeded;
            slot = &(*slot)->hnext;
        }
    }
    return held;
}

/* Send pending updates while tokens last (all of them when unlimited). */
static void send_pending(struct xp_announce *a, bool unlimited)
{
    char line[512];

    while (a->pending.head && (unlimited || a->tokens >= 1)) {
        struct route *r = a->pending.head;
        bool want = wanted(r);

        if (xp_announce__format(&a->conf, r->kind, r->unit, r->dst, want, line, sizeof(line)) < 0 ||
            a->sink(a->ctx, line) != 0) {
            a->st.write_errors++;
            break;
        }
        a->tokens -= 1;
        list_remove(&a->pending, r);
        r->announced = want;
        if (want) {
            a->st.announced++;
        } else {
            a->st.withdrawn++;
            a->held--;
            route_free_if_idle(a, r);
            promote_capped(a);
        }
    }
}

void xp_announce__flush(struct xp_announce *a)
{
    send_pending(a, true);
    if (a->tokens < 0)
        a->tokens = 0;
}

uint64_t xp_announce__pace(struct xp_announce *a, uint64_t now_ns)
{
    if (now_ns > a->refill_ns) {
        a->tokens += a->conf.rate * (double)(now_ns - a->refill_ns) / 1e9;
        if (a->tokens > a->conf.burst)
            a->tokens = a->conf.burst;
        a->refill_ns = now_ns;
    }
    send_pending(a, false);
    if (!a->pending.head)
        return 0;
    /* the time the next token is whole (a failed write: try again then too) */
    return now_ns + (uint64_t)((a->tokens >= 1 ? 0.0 : 1.0 - a->tokens) / a->conf.rate * 1e9) + 1;
}

void xp_announce__stats(const struct xp_announce *a, struct xp_announce_stats *st)
{
    unsigned pending = 0, capped = 0, announced = 0;

    *st = a->st;
    for (const struct route *r = a->pending.head; r; r = r->next)
        pending++;
    for (const struct route *r = a->capped.head; r; r = r->next)
        capped++;
    for (size_t i = 0; i <= a->mask; i++) {
        for (const struct route *r = a->routes[i]; r; r = r->hnext)
            announced += r->announced;
        for (const struct pair *p = a->pairs[i]; p; p = p->hnext)
            st->pairs_seeded += p->seeded;
    }
    st->pending = pending;
    st->routes_capped = capped;
    st->routes_announced = announced;
    /* held also counts announced routes whose withdrawal waits: those are not wanted */
    st->routes_wanted = a->held;
    for (const struct route *r = a->pending.head; r; r = r->next)
        if (!wanted(r))
            st->routes_wanted--;
}

json_t *xp_announce__stats_json(const struct xp_announce *a)
{
    struct xp_announce_stats st;
    json_t *o = json_object();

    if (!o)
        return NULL;
    xp_announce__stats(a, &st);
    /* one key per field, in the struct's order (docs/upstream.md "Counters") */
#define XP_PUT(f) json_object_set_new(o, #f, json_integer((json_int_t)st.f))
    XP_PUT(events);
    XP_PUT(events_ignored);
    XP_PUT(events_bad);
    XP_PUT(unblock_unknown);
    XP_PUT(block_duplicate);
    XP_PUT(pairs_full);
    XP_PUT(capped);
    XP_PUT(announced);
    XP_PUT(withdrawn);
    XP_PUT(coalesced);
    XP_PUT(forgets);
    XP_PUT(write_errors);
    XP_PUT(seeds);
    XP_PUT(seeded);
    XP_PUT(pairs);
    XP_PUT(pairs_seeded);
    XP_PUT(routes_wanted);
    XP_PUT(routes_announced);
    XP_PUT(routes_capped);
    XP_PUT(pending);
#undef XP_PUT
    return o;
}
