// SPDX-License-Identifier: GPL-2.0-only
#include "src/pipeline/pipeline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kern/xp_shared.h"
#include "src/util/clock.h"
#include "src/util/counters.h"
#include "src/util/spsc.h"

/* Pairs one worker can hold in XDP at once; past that it drops them itself. */
#define XP_PIPE_BLOCKS_MAX 4096
#define XP_PIPE_EVENTS 1024
/* Longer than one jiffy at any HZ (the lag of bpf_ktime_get_coarse_ns). */
#define XP_PIPE_BLOCK_GRACE_NS 20000000ULL

_Static_assert(sizeof(struct xp_policer_key) == sizeof(struct xp_pair_key),
               "policer and XDP pair keys must share one layout");
_Static_assert(XP_PIPE_BLOCKS_MAX <= XP_BLOCK_SLOTS, "a worker's blocks fit its XDP slots");

enum block_state {
    BLOCK_EMPTY = 0,
    BLOCK_ACTIVE,  /* in the XDP map until expires_mono */
    BLOCK_LAPSED,  /* taken out of the map at `since`; renewed silently if dropped again soon */
};

struct block_entry {
    struct xp_policer_key key;
    uint8_t state;
    uint8_t reason;            /* enum xp_verdict of the first block */
    uint32_t grp;              /* XP_POLICER_GROUPS of the packet that blocked it */
    uint64_t expires_mono;
    uint64_t since_mono;
    uint64_t xdp_packets;      /* XDP drop count already accounted */
    uint64_t early_packets;    /* early mode: drops so far (the "map" counter) */
    uint32_t handle;           /* the block ops' name of the map entry, while ACTIVE */
};

/* A pair the full table refused (xp_pipeline__refused). */
struct refused_entry {
    struct xp_policer_key key;
    uint64_t first_rt, last_rt;
    uint64_t packets;
};

struct xp_pipeline {
    struct xp_pipeline_conf conf;
    unsigned queue;
    struct xp_policer *pol;
    const struct xp_block_ops *bops; /* the backend's block map, or NULL */
    void *bctx;
    const struct xp_manual_blocks *manual; /* early mode: operator blocks */
    uint64_t handoff_mono;      /* when other workers last handed us packets */
    bool early;                 /* no XDP: drop blocked pairs right after parsing */
    unsigned n_blocked;
    uint64_t sweep_mono;        /* last idle sweep */
    struct block_entry *blocks; /* open addressing, XP_PIPE_BLOCKS_MAX * 2 slots */
    struct xp_dst_table *dst;   /* for the destination test of xp_pipeline__scan_flows() */
    struct refused_entry refused[XP_PIPE_REFUSED_MAX];
    /* Events: pushed by the worker, drained by the control thread. */
    struct xp_spsc events;
    struct xp_event event_slots[XP_PIPE_EVENTS];
    struct xp_pipeline_stats st __attribute__((aligned(64)));
    /* per group (index as in the policer: 0 the default), written by the worker only */
    struct xp_group_counts ug_st[XP_POLICER_GROUPS_MAX];
    struct xp_group_counts dg_st[XP_POLICER_GROUPS_MAX];
};

#define BLOCK_SLOTS (XP_PIPE_BLOCKS_MAX * 2)

static const char *const counter_names[XP_PC_MAX] = {
    [XP_PC_POLICED] = "policed",
    [XP_PC_FORWARD] = "forward",
    [XP_PC_DROP_UNIT] = "drop_unit_rate",
    [XP_PC_DROP_DST] = "drop_dst_rate",
    [XP_PC_DROP_TABLE_FULL] = "drop_table_full",
    [XP_PC_DROP_MALFORMED] = "drop_malformed",
    [XP_PC_PASS_MALFORMED] = "pass_malformed",
    [XP_PC_NOT_IP] = "not_ip",
    [XP_PC_ALLOWLISTED] = "allowlisted",
    [XP_PC_UNPOLICED] = "unpoliced",
    [XP_PC_XDP_ACCOUNTED] = "xdp_dropped_accounted",
    [XP_PC_BLOCKS] = "blocks",
    [XP_PC_BLOCK_RENEWALS] = "block_renewals",
    [XP_PC_UNBLOCKS] = "unblocks",
    [XP_PC_BLOCK_ERRORS] = "block_errors",
    [XP_PC_BLOCK_SET_FULL] = "block_set_full",
    [XP_PC_EVENTS_LOST] = "events_lost",
    [XP_PC_EARLY_DROP] = "early_drop_blocked",
    [XP_PC_EARLY_ACCOUNTED] = "early_dropped_accounted",
    [XP_PC_FOREIGN] = "foreign",
    [XP_PC_DROP_MANUAL] = "drop_manual",
    [XP_PC_DROP_NON_IP] = "drop_non_ip",
    [XP_PC_UNPOLICED_GROUP] = "unpoliced_group",
    [XP_PC_DROP_DST_SHARE] = "drop_dst_share",
};

const char *xp_pipeline_counter_name(enum xp_pipe_counter c)
{
    return c < XP_PC_MAX ? counter_names[c] : "invalid";
}

static uint32_t key_hash(const struct xp_policer_key *k)
{
    uint64_t w[4], h;

    memcpy(w, k, sizeof(w));
    h = (w[0] ^ (w[1] * 0x9e3779b97f4a7c15ULL)) + (w[2] ^ (w[3] * 0xc2b2ae3d27d4eb4fULL));
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return (uint32_t)h;
}

static struct block_entry *block_find(struct xp_pipeline *pl, const struct xp_policer_key *k)
{
    uint32_t i = key_hash(k) & (BLOCK_SLOTS - 1);

    for (;;) {
        struct block_entry *e = &pl->blocks[i];

        if (e->state == BLOCK_EMPTY)
            return NULL;
        if (memcmp(&e->key, k, sizeof(*k)) == 0)
            return e;
        i = (i + 1) & (BLOCK_SLOTS - 1);
    }
}

static struct block_entry *block_insert(struct xp_pipeline *pl, const struct xp_policer_key *k)
{
    uint32_t i;

    if (pl->n_blocked >= XP_PIPE_BLOCKS_MAX)
        return NULL;
    i = key_hash(k) & (BLOCK_SLOTS - 1);
    while (pl->blocks[i].state != BLOCK_EMPTY)
        i = (i + 1) & (BLOCK_SLOTS - 1);
    memset(&pl->blocks[i], 0, sizeof(pl->blocks[i]));
    pl->blocks[i].key = *k;
    pl->blocks[i].handle = XP_BLOCK_HANDLE_NONE;
    pl->n_blocked++;
    return &pl->blocks[i];
}

/* Linear probing delete: shift later entries of the cluster back into the hole. */
static void block_remove(struct xp_pipeline *pl, struct block_entry *e)
{
    uint32_t hole = e - pl->blocks, i = hole;

    for (;;) {
        uint32_t home;

        i = (i + 1) & (BLOCK_SLOTS - 1);
        if (pl->blocks[i].state == BLOCK_EMPTY)
            break;
        home = key_hash(&pl->blocks[i].key) & (BLOCK_SLOTS - 1);
        /* Move i into the hole unless its home lies cyclically in (hole, i]. */
        if ((i > hole && (home <= hole || home > i)) || (i < hole && home <= hole && home > i)) {
            pl->blocks[hole] = pl->blocks[i];
            hole = i;
        }
    }
    pl->blocks[hole].state = BLOCK_EMPTY;
    pl->n_blocked--;
}

static void emit(struct xp_pipeline *pl, const struct xp_event *ev)
{
    struct xp_event e = *ev;

    e.queue = pl->queue;
    if (!xp_spsc__push(&pl->events, &e, 1))
        XP_STAT_ADD(pl->st.c[XP_PC_EVENTS_LOST], 1);
}

unsigned xp_pipeline__drain_events(struct xp_pipeline *pl, struct xp_event *out, unsigned max)
{
    return xp_spsc__pop(&pl->events, out, max);
}

/* A group's thresholds (index 0 or out of range: the global keys). */
static unsigned group_t_f1(const struct xp_conf_policer *pc, unsigned g)
{
    return g && g <= pc->n_unit_groups ? pc->unit_groups[g - 1].t_f_pps : pc->t_f1_pps;
}

static unsigned group_t_t2(const struct xp_conf_policer *pc, unsigned g)
{
    return g && g <= pc->n_unit_groups ? pc->unit_groups[g - 1].t_t_ms : pc->t_t2_ms;
}

static unsigned group_t_f2(const struct xp_conf_policer *pc, unsigned g)
{
    return g && g <= pc->n_dst_groups ? pc->dst_groups[g - 1].t_f_pps : pc->t_f2_pps;
}

static unsigned group_dst_policy(const struct xp_conf_policer *pc, unsigned g)
{
    return g && g <= pc->n_dst_groups ? (unsigned)pc->dst_groups[g - 1].dst_policy
                                      : (unsigned)pc->dst_policy;
}

static unsigned group_t_t3(const struct xp_conf_policer *pc, unsigned g)
{
    return g && g <= pc->n_dst_groups ? pc->dst_groups[g - 1].t_t_ms : pc->t_t3_ms;
}

static uint64_t block_ns(const struct xp_pipeline *pl)
{
    return (uint64_t)pl->conf.pol->block_ms * 1000000ULL;
}

/*
 * A drop verdict: make sure XDP drops the pair's next packets. On the packet
 * path: the block ops only queue the write, which xp_pipeline__sweep() or
 * the tick flushes after the burst (pipeline.h).
 */
static void block_pair(struct xp_pipeline *pl, const struct xp_policer_key *key, uint32_t grp,
                       enum xp_verdict reason, const struct xp_policer_evidence *why,
                       uint64_t now_rt, uint64_t now_mono)
{
    struct block_entry *e;
    bool renewal = false;

    if ((!pl->bops && !pl->early) || !pl->conf.pol->kernel_block)
        return;
    e = block_find(pl, key);
    if (e && e->state == BLOCK_ACTIVE && now_mono < e->expires_mono)
        return; /* frames already in flight when the block went in */
    if (e) {
        renewal = true;
        e->reason = reason; /* the test that blocks it now: what flows and the unblock report */
    } else {
        e = block_insert(pl, key);
        if (!e) {
            XP_STAT_ADD(pl->st.c[XP_PC_BLOCK_SET_FULL], 1);
            return;
        }
        e->reason = reason;
    }
    e->grp = grp;
    if (pl->bops && pl->bops->block(pl->bctx, key->unit, key->dst, now_mono + block_ns(pl),
                                    &e->handle)) {
        XP_STAT_ADD(pl->st.c[XP_PC_BLOCK_ERRORS], 1);
        block_remove(pl, e);
        return;
    }
    if (e->state != BLOCK_ACTIVE) {
        e->xdp_packets = 0; /* a new map entry counts from zero */
        e->early_packets = 0;
    }
    e->state = BLOCK_ACTIVE;
    e->expires_mono = now_mono + block_ns(pl);
    /* workers that hand us this pair's packets drop them too (the early mode's only block) */
    xp_policer__publish_block(pl->pol, key, now_rt + block_ns(pl), reason);
    if (renewal) {
        XP_STAT_ADD(pl->st.c[XP_PC_BLOCK_RENEWALS], 1);
    } else {
        struct xp_event ev = {
            .kind = XP_EVENT_BLOCK,
            .reason = reason,
            .key = *key,
            .threshold_pps = reason == XP_VERDICT_DROP_DST
                                 ? group_t_f2(pl->conf.pol, XP_POLICER_DST_GROUP(grp))
                                 : group_t_f1(pl->conf.pol, XP_POLICER_UNIT_GROUP(grp)),
            .t_ns = now_rt,
            .why = *why,
            .unit_group = XP_POLICER_UNIT_GROUP(grp),
            .dst_group = XP_POLICER_DST_GROUP(grp),
        };

        XP_STAT_ADD(pl->st.c[XP_PC_BLOCKS], 1);
        emit(pl, &ev);
    }
}

/*
 * The idle sweep is paced by time: the whole pair table every T_T1 / 2, so
 * an idle pair leaves its destination aggregate at most 1.5 T_T1 after its
 * last packet (plus a loop turn), in slices small enough that a turn never
 * stalls the ring (capped per call; a long sleep catches up gradually).
 */
#define XP_PIPE_SWEEP_MAX 4096

/* Hand-offs taken per loop turn; the rest wait for the next turn. */
#define XP_PIPE_HANDOFFS 256

/* Count what other workers handed us (pairs we own), block and report as our own packets would. */
static void take_handoffs(struct xp_pipeline *pl, uint64_t now_rt, uint64_t now_mono)
{
    struct xp_policer_handoff out[XP_PIPE_HANDOFFS];
    uint64_t packets = 0;
    unsigned n;

    n = xp_policer__take_handoffs(pl->pol, out, XP_PIPE_HANDOFFS, &packets);
    if (packets)
        pl->handoff_mono = now_mono;
    for (unsigned i = 0; i < n; i++) {
        if (out[i].ev.kind == XP_POLICER_EV_OVERLOAD) {
            struct xp_event ev = {
                .kind = XP_EVENT_OVERLOAD,
                .key = out[i].ev.key,
                .rate_pps = out[i].ev.rate_pps,
                .threshold_pps = out[i].ev.threshold_pps,
                .t_ns = out[i].ev.t_ns,
            };

            emit(pl, &ev);
        }
        if (out[i].verdict == XP_VERDICT_DROP_UNIT || out[i].verdict == XP_VERDICT_DROP_DST)
            block_pair(pl, &out[i].key, out[i].grp, out[i].verdict, &out[i].why, now_rt,
                       now_mono);
    }
}

bool xp_pipeline__takes_handoffs(const struct xp_pipeline *pl, uint64_t now_mono)
{
    return pl->handoff_mono && now_mono - pl->handoff_mono < XP_NSEC_PER_SEC;
}

/* The map refused a queued block (full): the worker's own verdicts drop the pair from now on. */
static void block_refused(void *arg, const uint8_t unit[16], const uint8_t dst[16], int err)
{
    struct xp_pipeline *pl = arg;
    struct xp_policer_key k;
    struct block_entry *e;

    (void)err;
    memcpy(k.unit, unit, 16);
    memcpy(k.dst, dst, 16);
    XP_STAT_ADD(pl->st.c[XP_PC_BLOCK_ERRORS], 1);
    e = block_find(pl, &k);
    if (e && e->state == BLOCK_ACTIVE)
        block_remove(pl, e);
}

/* Write the blocks and removals queued since the last flush: between bursts, never in one. */
static void block_flush(struct xp_pipeline *pl)
{
    if (pl->bops)
        pl->bops->flush(pl->bctx, block_refused, pl);
}

void xp_pipeline__sweep(struct xp_pipeline *pl, uint64_t now_mono)
{
    uint64_t half = (uint64_t)pl->conf.pol->t_t1_ms * 500000ULL, elapsed, budget, now_rt;

    xp_policer__quiescent(pl->pol);
    now_rt = xp_real_ns();
    take_handoffs(pl, now_rt, now_mono);
    /* the blocks this loop turn's bursts and hand-offs decided: XDP drops from here on */
    block_flush(pl);
    elapsed = now_mono - pl->sweep_mono;
    if (half == 0)
        half = 1;
    budget = (uint64_t)xp_policer__capacity(pl->pol) * elapsed / half;
    if (budget == 0)
        return;
    pl->sweep_mono = now_mono;
    if (budget > XP_PIPE_SWEEP_MAX)
        budget = XP_PIPE_SWEEP_MAX;
    xp_policer__expire(pl->pol, now_rt, (uint32_t)budget);
}

void xp_pipeline__tick(struct xp_pipeline *pl, uint64_t now_rt, uint64_t now_mono)
{
    if ((!pl->bops && !pl->early) || pl->n_blocked == 0)
        return;
    for (uint32_t i = 0; i < BLOCK_SLOTS; i++) {
        struct block_entry *e = &pl->blocks[i];
        uint64_t packets;

        if (e->state == BLOCK_ACTIVE) {
            /* no system call: XDP's counts are in memory the worker reads */
            packets = pl->early ? e->early_packets : pl->bops->read(pl->bctx, e->handle);
            if (packets > e->xdp_packets) {
                xp_policer__account_groups(pl->pol, &e->key, e->grp, packets - e->xdp_packets,
                                           now_rt);
                XP_STAT_ADD(pl->st.c[pl->early ? XP_PC_EARLY_ACCOUNTED : XP_PC_XDP_ACCOUNTED],
                            packets - e->xdp_packets);
                e->xdp_packets = packets;
            }
            /*
             * XDP reads a coarse clock that lags by up to a tick: wait that
             * long past the expiry before taking the entry out, so no drop
             * is counted after our last read.
             */
            if (now_mono >= e->expires_mono + XP_PIPE_BLOCK_GRACE_NS) {
                if (pl->bops)
                    pl->bops->unblock(pl->bctx, e->handle);
                e->handle = XP_BLOCK_HANDLE_NONE;
                e->state = BLOCK_LAPSED;
                e->since_mono = now_mono;
            }
        } else if (e->state == BLOCK_LAPSED && now_mono - e->since_mono >= block_ns(pl)) {
            struct xp_event ev = {
                .kind = XP_EVENT_UNBLOCK,
                .reason = e->reason,
                .key = e->key,
                .t_ns = now_rt,
            };

            emit(pl, &ev);
            XP_STAT_ADD(pl->st.c[XP_PC_UNBLOCKS], 1);
            block_remove(pl, e);
            i--; /* a later entry may have shifted into this slot */
        }
    }
    block_flush(pl);
    XP_STAT_SET(pl->st.blocked_now, pl->n_blocked);
}

static void make_key(struct xp_pipeline *pl, const struct xp_parsed *pp, struct xp_policer_key *k)
{
    memcpy(k->unit, pp->src, 16);
    memcpy(k->dst, pp->dst, 16);
    if (pp->family == 6) {
        unsigned bytes = pl->conf.pol->v6_unit_prefix / 8;

        memset(k->unit + bytes, 0, 16 - bytes);
    }
}

/* Parse one frame: 1 if it is IP and parsed, else its fate is set and counted. */
static int parse_one(struct xp_pipeline *pl, const struct xp_pkt *pkt, struct xp_parsed *pp,
                     uint8_t *drop, uint64_t *c)
{
    const struct xp_conf_policer *pc = pl->conf.pol;
    int st;

    *drop = 0;
    st = xp_parse_frame(pkt->data, pkt->len, pp);
    if (st == XP_PARSE_NOT_IP) {
        /* as the XDP program does (backends without it): ARP passes, the rest as configured */
        if (pp->ethertype != 0x0806 && !pl->conf.non_ip_pass) {
            c[XP_PC_DROP_NON_IP]++;
            *drop = XP_FATE_DROP_NON_IP;
        } else {
            c[XP_PC_NOT_IP]++;
        }
        return 0;
    }
    if (st != XP_PARSE_OK) {
        XP_STAT_ADD(pl->st.malformed[st], 1);
        if (pc->malformed == XP_MALFORMED_PASS) {
            c[XP_PC_PASS_MALFORMED]++;
        } else {
            c[XP_PC_DROP_MALFORMED]++;
            *drop = XP_FATE_DROP_MALFORMED;
        }
        return 0;
    }
    return 1;
}

/*
 * Classify one parsed frame from its addresses' class words: 1 if it goes
 * to the policer (key and *grp filled), else its fate is counted (forward).
 * unit, when given, names the unit (gateway mode: the authenticated sender)
 * instead of the frame's source address (sw then carries the name's group).
 */
static int classify(struct xp_pipeline *pl, const struct xp_parsed *pp, uint32_t sw,
                    uint32_t dw, const uint8_t *unit, struct xp_policer_key *key, uint32_t *grp,
                    uint64_t *c)
{
    if ((sw | dw) & XP_CLS_ALLOW) {
        c[XP_PC_ALLOWLISTED]++;
        return 0;
    }
    if (!unit && !(sw & XP_CLS_UNIT)) {
        c[XP_PC_UNPOLICED]++;
        return 0;
    }
    if (sw & XP_CLS_UNPOLICED) {
        c[XP_PC_UNPOLICED_GROUP]++;
        return 0;
    }
    *grp = XP_POLICER_GROUPS(XP_CLS_GROUP(sw), XP_CLS_GROUP(dw));
    if (unit) {
        memcpy(key->unit, unit, 16);
        memcpy(key->dst, pp->dst, 16);
        return 1;
    }
    make_key(pl, pp, key);
    return 1;
}

static void police(struct xp_pipeline *pl, const struct xp_pkt *pkts, const uint8_t (*units)[16],
                   unsigned n, uint8_t *drop, uint64_t now_rt, uint64_t now_mono);

/* Only on refusals (table full): one hash and a store, so operators can name who was refused. */
static void note_refused(struct xp_pipeline *pl, const struct xp_policer_key *key,
                         uint64_t now_rt)
{
    struct refused_entry *r = &pl->refused[key_hash(key) % XP_PIPE_REFUSED_MAX];

    if (!r->packets || memcmp(&r->key, key, sizeof(*key)) != 0) {
        r->key = *key;
        r->first_rt = now_rt;
        r->packets = 0;
    }
    r->last_rt = now_rt;
    r->packets++;
}

void xp_pipeline__police(struct xp_pipeline *pl, const struct xp_pkt *pkts, unsigned n,
                         uint8_t *drop, uint64_t now_rt, uint64_t now_mono)
{
    police(pl, pkts, NULL, n, drop, now_rt, now_mono);
}

void xp_pipeline__police_units(struct xp_pipeline *pl, const struct xp_pkt *pkts,
                               const uint8_t (*units)[16], unsigned n, uint8_t *drop,
                               uint64_t now_rt, uint64_t now_mono)
{
    police(pl, pkts, units, n, drop, now_rt, now_mono);
}

static void police(struct xp_pipeline *pl, const struct xp_pkt *pkts, const uint8_t (*units)[16],
                   unsigned n, uint8_t *drop, uint64_t now_rt, uint64_t now_mono)
{
    struct xp_policer_key keys[XP_BURST_MAX];
    struct xp_policer_event evs[XP_BURST_MAX];
    struct xp_policer_evidence why[XP_BURST_MAX]; /* written for dropped packets only */
    enum xp_verdict verdicts[XP_BURST_MAX];
    struct xp_parsed pp[XP_BURST_MAX];
    const uint8_t *src[XP_BURST_MAX], *dst[XP_BURST_MAX];
    uint32_t sw[XP_BURST_MAX], dw[XP_BURST_MAX], grp[XP_BURST_MAX];
    uint8_t idx[XP_BURST_MAX], ip[XP_BURST_MAX];
    uint64_t c[XP_PC_MAX] = { 0 };
    unsigned m = 0, n_ip = 0, n_ev;

    if (n > XP_BURST_MAX) {
        /* the backends never hand more; a larger caller is served in bursts */
        police(pl, pkts, units, XP_BURST_MAX, drop, now_rt, now_mono);
        police(pl, pkts + XP_BURST_MAX, units ? units + XP_BURST_MAX : NULL, n - XP_BURST_MAX,
               drop + XP_BURST_MAX, now_rt, now_mono);
        return;
    }
    /* Pass 1: parse, then every address of the burst in one LPM burst per table. */
    for (unsigned i = 0; i < n; i++) {
        if (!parse_one(pl, &pkts[i], &pp[n_ip], &drop[i], c))
            continue;
        src[n_ip] = pp[n_ip].src;
        dst[n_ip] = pp[n_ip].dst;
        ip[n_ip++] = (uint8_t)i;
    }
    if (n_ip) {
        xp_classifier__src_burst(pl->conf.pol->cls, src, sw, n_ip);
        xp_classifier__dst_burst(pl->conf.pol->cls, dst, dw, n_ip);
    }
    if (n_ip && units) {
        /*
         * Gateway mode: a unit may send from several source prefixes; its group is its
         * name's (the policer's key, as xpro-ctl flows looks it up), the allowlist its
         * frame's source address.
         */
        uint32_t uw[XP_BURST_MAX];

        for (unsigned j = 0; j < n_ip; j++)
            src[j] = units[ip[j]];
        xp_classifier__src_burst(pl->conf.pol->cls, src, uw, n_ip);
        for (unsigned j = 0; j < n_ip; j++)
            sw[j] = (sw[j] & ~(XP_CLS_UNPOLICED | 0xffffU)) |
                    (uw[j] & (XP_CLS_UNPOLICED | 0xffffU));
    }
    /* Pass 1b: classify; collect the frames the policer must see. */
    for (unsigned j = 0; j < n_ip; j++) {
        unsigned i = ip[j];

        if (!classify(pl, &pp[j], sw[j], dw[j], units ? units[i] : NULL, &keys[m], &grp[m], c))
            continue;
        /* operator blocks where no XDP map holds them: not counted into the pair */
        if (pl->manual && xp_manual_blocks__match(pl->manual, keys[m].unit, keys[m].dst,
                                                  now_mono)) {
            c[XP_PC_DROP_MANUAL]++;
            drop[i] = XP_FATE_DROP_MANUAL;
            continue;
        }
        /*
         * Early mode stands in for XDP's block map: a blocked pair's packet
         * stops here, and is counted into the pair on the next tick.
         */
        if (pl->n_blocked && pl->early) {
            struct block_entry *e = block_find(pl, &keys[m]);

            if (e && e->state == BLOCK_ACTIVE && now_mono < e->expires_mono) {
                e->early_packets++;
                c[XP_PC_EARLY_DROP]++;
                drop[i] = e->reason == XP_VERDICT_DROP_DST ? XP_FATE_DROP_DST
                                                           : XP_FATE_DROP_UNIT;
                continue;
            }
        }
        idx[m++] = i;
    }
    /* Pass 2: Algorithm 1 on the whole burst, its memory misses overlapped. */
    n_ev = m ? xp_policer__packet_burst_groups(pl->pol, keys, grp, m, now_rt, verdicts, evs, why)
             : 0;
    c[XP_PC_POLICED] += m;
    for (unsigned e = 0; e < n_ev; e++) {
        struct xp_event ev = {
            .kind = XP_EVENT_OVERLOAD,
            .key = evs[e].key,
            .rate_pps = evs[e].rate_pps,
            .threshold_pps = evs[e].threshold_pps,
            .t_ns = evs[e].t_ns,
        };

        emit(pl, &ev);
    }
    /* Pass 3: verdicts, and the kernel fast path for dropped pairs. */
    for (unsigned k = 0; k < m; k++) {
        enum xp_verdict v = verdicts[k];
        struct xp_group_counts *ug = &pl->ug_st[XP_POLICER_UNIT_GROUP(grp[k])];
        struct xp_group_counts *dg = &pl->dg_st[XP_POLICER_DST_GROUP(grp[k])];
        uint64_t dropped = xp_verdict_drops(v);

        XP_STAT_ADD(ug->packets, 1);
        XP_STAT_ADD(dg->packets, 1);
        if (dropped) {
            XP_STAT_ADD(ug->drops, 1);
            XP_STAT_ADD(dg->drops, 1);
        }
        switch (v) {
        case XP_VERDICT_FOREIGN:
            c[XP_PC_FOREIGN]++;
            /* fall through */
        case XP_VERDICT_FORWARD:
            c[XP_PC_FORWARD]++;
            break;
        case XP_VERDICT_DROP_UNIT:
        case XP_VERDICT_DROP_DST:
            c[v == XP_VERDICT_DROP_UNIT ? XP_PC_DROP_UNIT : XP_PC_DROP_DST]++;
            drop[idx[k]] = v == XP_VERDICT_DROP_UNIT ? XP_FATE_DROP_UNIT : XP_FATE_DROP_DST;
            block_pair(pl, &keys[k], grp[k], v, &why[k], now_rt, now_mono);
            break;
        case XP_VERDICT_DROP_DST_SHARE:
            /* this packet only: a share limits the pair's rate, it never blocks the pair */
            c[XP_PC_DROP_DST_SHARE]++;
            drop[idx[k]] = 1;
            break;
        case XP_VERDICT_FOREIGN_DROP_UNIT:
        case XP_VERDICT_FOREIGN_DROP_DST:
            /* the owner blocked the pair (and blocks it in XDP): only drop here */
            c[XP_PC_FOREIGN]++;
            c[v == XP_VERDICT_FOREIGN_DROP_UNIT ? XP_PC_DROP_UNIT : XP_PC_DROP_DST]++;
            drop[idx[k]] = v == XP_VERDICT_FOREIGN_DROP_UNIT ? XP_FATE_DROP_UNIT
                                                              : XP_FATE_DROP_DST;
            break;
        case XP_VERDICT_DROP_FULL:
            c[XP_PC_DROP_TABLE_FULL]++;
            drop[idx[k]] = XP_FATE_DROP_TABLE_FULL;
            note_refused(pl, &keys[k], now_rt);
            break;
        }
    }
    for (int k = 0; k < XP_PC_MAX; k++) {
        if (c[k])
            XP_STAT_ADD(pl->st.c[k], c[k]);
    }
}

void xp_pipeline__stats(const struct xp_pipeline *pl, struct xp_pipeline_stats *out)
{
    for (int k = 0; k < XP_PC_MAX; k++)
        out->c[k] = XP_STAT_GET(pl->st.c[k]);
    for (int k = 0; k < XP_PARSE_STATUS_MAX; k++)
        out->malformed[k] = XP_STAT_GET(pl->st.malformed[k]);
    out->blocked_now = XP_STAT_GET(pl->st.blocked_now);
}

void xp_pipeline__policer_stats(const struct xp_pipeline *pl, struct xp_policer_stats *out)
{
    xp_policer__stats(pl->pol, out);
}

static void limits_from_config(const struct xp_pipeline_conf *conf,
                               struct xp_policer_limits *lim)
{
    const struct xp_conf_policer *pc = conf->pol;

    xp_policer_limits__init(lim);
    /* two sync periods: a remote pair's ts2 is as old as the last answer, plus one lost round */
    lim->remote_grace_ns = conf->remote_grace_ms * 1000000ULL;
    lim->t_t1_ns = pc->t_t1_ms * 1000000ULL;
    lim->t_t2_ns = pc->t_t2_ms * 1000000ULL;
    lim->t_t3_ns = pc->t_t3_ms * 1000000ULL;
    lim->t_t4_ns = pc->t_t4_ms * 1000000ULL;
    lim->shrink_r = pc->r;
    lim->t_f1_pps = pc->t_f1_pps;
    lim->t_f2_pps = pc->t_f2_pps;
    lim->full_policy = pc->table_full;
    lim->dst_policy = pc->dst_policy;
}

unsigned xp_pipeline__fair_demands(struct xp_pipeline *pl, uint64_t now_rt,
                                   struct xp_fair_demand *out, unsigned max, bool *truncated)
{
    return xp_policer__fair_demands(pl->pol, now_rt, out, max, truncated);
}

/* The section's groups as the policer's (index i + 1). */
static int set_groups(struct xp_policer *pol, const struct xp_conf_policer *pc)
{
    struct xp_policer_unit_group *ug = calloc(pc->n_unit_groups + 1, sizeof(*ug));
    struct xp_policer_dst_group *dg = calloc(pc->n_dst_groups + 1, sizeof(*dg));
    int ret = -ENOMEM;

    if (ug && dg) {
        for (unsigned i = 0; i < pc->n_unit_groups; i++) {
            ug[i].t_f1_pps = pc->unit_groups[i].t_f_pps;
            ug[i].t_t2_ns = pc->unit_groups[i].t_t_ms * 1000000ULL;
        }
        for (unsigned i = 0; i < pc->n_dst_groups; i++) {
            dg[i].t_f2_pps = pc->dst_groups[i].t_f_pps;
            dg[i].t_t3_ns = pc->dst_groups[i].t_t_ms * 1000000ULL;
            dg[i].dst_policy = (uint32_t)pc->dst_groups[i].dst_policy;
        }
        ret = xp_policer__set_groups(pol, ug, pc->n_unit_groups, dg, pc->n_dst_groups);
    }
    free(ug);
    free(dg);
    return ret;
}

const char *xp_conf_policer__group_name(const struct xp_conf_policer *pc, bool dst, unsigned g)
{
    unsigned n = dst ? pc->n_dst_groups : pc->n_unit_groups;

    if (g == 0)
        return "default";
    if (g > n)
        return NULL;
    return dst ? pc->dst_groups[g - 1].name : pc->unit_groups[g - 1].name;
}

void xp_pipeline__group_stats(const struct xp_pipeline *pl, bool dst, unsigned g,
                              struct xp_group_counts *out)
{
    const struct xp_group_counts *c = dst ? pl->dg_st : pl->ug_st;

    if (g >= XP_POLICER_GROUPS_MAX) {
        out->packets = out->drops = 0;
        return;
    }
    out->packets = XP_STAT_GET(c[g].packets);
    out->drops = XP_STAT_GET(c[g].drops);
}

/*
 * After a reload, a group's counters follow its name to its new index; the
 * counts of names that are gone are dropped, new names start at zero.
 */
static void remap_counts(struct xp_group_counts *st, const struct xp_conf_policer *old,
                         const struct xp_conf_policer *new, bool dst)
{
    unsigned n_old = dst ? old->n_dst_groups : old->n_unit_groups;
    unsigned n_new = dst ? new->n_dst_groups : new->n_unit_groups;
    struct xp_group_counts *prev = malloc((n_old + 1) * sizeof(*prev));

    if (!prev)
        return; /* keep the counts by index: better than none */
    for (unsigned g = 0; g <= n_old; g++) {
        prev[g].packets = XP_STAT_GET(st[g].packets);
        prev[g].drops = XP_STAT_GET(st[g].drops);
    }
    for (unsigned g = 1; g <= n_new; g++) {
        const char *name = xp_conf_policer__group_name(new, dst, g);
        struct xp_group_counts v = { 0, 0 };

        for (unsigned o = 1; o <= n_old; o++) {
            if (strcmp(name, xp_conf_policer__group_name(old, dst, o)) == 0) {
                v = prev[o];
                break;
            }
        }
        XP_STAT_SET(st[g].packets, v.packets);
        XP_STAT_SET(st[g].drops, v.drops);
    }
    for (unsigned g = n_new + 1; g <= n_old; g++) {
        XP_STAT_SET(st[g].packets, 0);
        XP_STAT_SET(st[g].drops, 0);
    }
    free(prev);
}

unsigned xp_pipeline__collect_dirty(struct xp_pipeline *pl, struct xp_pair_record *out,
                                    unsigned max)
{
    return xp_policer__collect_dirty(pl->pol, out, max);
}

int xp_pipeline__install(struct xp_pipeline *pl, const struct xp_policer_key *key,
                         const struct xp_pair_state *sent, const struct xp_pair_state *fresh)
{
    return xp_policer__install(pl->pol, key, sent, fresh);
}

unsigned xp_pipeline__scan(struct xp_pipeline *pl, uint32_t *cursor, uint32_t slots,
                           struct xp_pair_record *out, unsigned out_max)
{
    return xp_policer__scan(pl->pol, cursor, slots, out, out_max);
}

static const char *const flow_verdict_names[XP_FLOW_MAX] = {
    [XP_FLOW_FORWARD] = "forward",
    [XP_FLOW_DROP_UNIT] = "drop_unit_rate",
    [XP_FLOW_DROP_DST] = "drop_dst_rate",
    [XP_FLOW_DROP_TABLE_FULL] = "drop_table_full",
    [XP_FLOW_DROP_MANUAL] = "drop_manual",
    [XP_FLOW_DROP_DST_SHARE] = "drop_dst_share",
};

const char *xp_flow_verdict_name(enum xp_flow_verdict v)
{
    return v < XP_FLOW_MAX ? flow_verdict_names[v] : "invalid";
}

/* c / span > pps, as the policer compares (no floating point). */
static bool over_rate(uint64_t c, uint64_t span, uint64_t pps)
{
    return (unsigned __int128)c * 1000000000ULL > (unsigned __int128)pps * span;
}

/* Algorithm 1's tests as the pair's next packet at now_rt would meet them, with no side effect. */
static enum xp_flow_verdict judge_now(const struct xp_pipeline *pl,
                                      const struct xp_pair_record *r, unsigned ug, unsigned dg,
                                      uint64_t now_rt)
{
    const struct xp_conf_policer *pc = pl->conf.pol;
    struct xp_dst_aggregate agg;
    uint64_t span = r->st.ts2 > r->st.ts1 ? r->st.ts2 - r->st.ts1 : 0;

    if (now_rt > r->st.ts2 && now_rt - r->st.ts2 > pc->t_t1_ms * 1000000ULL)
        return XP_FLOW_FORWARD; /* idle: its next packet starts a new window */
    if (span > group_t_t2(pc, ug) * 1000000ULL && over_rate(r->st.c, span, group_t_f1(pc, ug)))
        return XP_FLOW_DROP_UNIT;
    if (pl->dst && xp_dst_table__lookup(pl->dst, r->key.dst, &agg) == 0) {
        uint64_t level, at;
        bool over, fresh;

        span = agg.ts2 > agg.ts1 ? agg.ts2 - agg.ts1 : 0;
        over = span > group_t_t3(pc, dg) * 1000000ULL && over_rate(agg.c, span, group_t_f2(pc, dg));
        if (group_dst_policy(pc, dg) != XP_DST_FAIR_SHARE)
            return over ? XP_FLOW_DROP_DST : XP_FLOW_FORWARD;
        /*
         * fair_share (docs/policer.md): limited while over T_F2 or while the
         * last tick's share limits; over with no fresh share, all is dropped.
         */
        fresh = xp_dst_table__share(pl->dst, r->key.dst, &level, &at) == 0 &&
                (now_rt <= at || now_rt - at <= XP_FAIR_STALE_NS);
        if (!fresh)
            return over ? XP_FLOW_DROP_DST_SHARE : XP_FLOW_FORWARD;
        span = r->st.ts2 > r->st.ts1 ? r->st.ts2 - r->st.ts1 : 0;
        if (level != UINT64_MAX && (span == 0 || over_rate(r->st.c, span, level)))
            return XP_FLOW_DROP_DST_SHARE;
    }
    return XP_FLOW_FORWARD;
}

unsigned xp_pipeline__scan_flows(struct xp_pipeline *pl, uint32_t *cursor, uint32_t slots,
                                 struct xp_flow_record *out, unsigned out_max, uint64_t now_rt,
                                 uint64_t now_mono)
{
    uint32_t cap = xp_policer__capacity(pl->pol);
    uint32_t end = slots > cap - *cursor ? cap : *cursor + slots;
    struct xp_pair_record rec[256];
    unsigned n = 0;

    if (*cursor >= cap)
        return 0;
    while (n < out_max && *cursor < end) {
        unsigned room = out_max - n < 256 ? out_max - n : 256;
        unsigned got = xp_policer__scan(pl->pol, cursor, end - *cursor, rec, room);

        for (unsigned i = 0; i < got; i++) {
            struct block_entry *e = pl->n_blocked ? block_find(pl, &rec[i].key) : NULL;
            struct xp_flow_record *f = &out[n++];
            /* the unit's group by its key: an IPv6 unit group is never longer than the unit */
            uint32_t sw = xp_classifier__src(pl->conf.pol->cls, rec[i].key.unit);
            uint32_t dw = xp_classifier__dst(pl->conf.pol->cls, rec[i].key.dst);

            f->rec = rec[i];
            f->unit_group = (uint16_t)XP_CLS_GROUP(sw);
            f->dst_group = (uint16_t)XP_CLS_GROUP(dw);
            f->blocked = e && e->state == BLOCK_ACTIVE && now_mono < e->expires_mono;
            if (f->blocked)
                f->verdict = e->reason == XP_VERDICT_DROP_DST ? XP_FLOW_DROP_DST
                                                              : XP_FLOW_DROP_UNIT;
            else
                f->verdict = judge_now(pl, &rec[i], f->unit_group, f->dst_group, now_rt);
        }
    }
    return n;
}

void xp_pipeline__why(struct xp_pipeline *pl, const struct xp_policer_key *key, uint64_t now_rt,
                      uint64_t now_mono, struct xp_pipeline_why *out)
{
    struct block_entry *e = pl->n_blocked ? block_find(pl, key) : NULL;
    uint32_t sw = xp_classifier__src(pl->conf.pol->cls, key->unit);
    uint32_t dw = xp_classifier__dst(pl->conf.pol->cls, key->dst);

    memset(out, 0, sizeof(*out));
    out->tracked = xp_policer__why(pl->pol, key,
                                   XP_POLICER_GROUPS(XP_CLS_GROUP(sw), XP_CLS_GROUP(dw)), now_rt,
                                   &out->ev, &out->verdict) == 0 &&
                   xp_policer__lookup(pl->pol, key, &out->st) == 0;
    if (e && e->state == BLOCK_ACTIVE && now_mono < e->expires_mono) {
        out->blocked = true;
        out->block_reason = e->reason;
        out->until_mono = e->expires_mono;
    }
}

unsigned xp_pipeline__refused(struct xp_pipeline *pl, struct xp_flow_record *out, unsigned max,
                              uint64_t now_rt)
{
    uint64_t recent = pl->conf.pol->t_t1_ms * 1000000ULL;
    unsigned n = 0;

    for (unsigned i = 0; i < XP_PIPE_REFUSED_MAX && n < max; i++) {
        const struct refused_entry *r = &pl->refused[i];

        if (!r->packets || (now_rt > r->last_rt && now_rt - r->last_rt > recent))
            continue;
        memset(&out[n], 0, sizeof(out[n]));
        out[n].rec.key = r->key;
        out[n].rec.st.ts1 = r->first_rt;
        out[n].rec.st.ts2 = r->last_rt;
        out[n].rec.st.c = r->packets;
        out[n].verdict = XP_FLOW_DROP_TABLE_FULL;
        n++;
    }
    return n;
}

uint32_t xp_pipeline__capacity(const struct xp_pipeline *pl)
{
    return xp_policer__capacity(pl->pol);
}

int xp_pipeline__reconfigure(struct xp_pipeline *pl, const struct xp_pipeline_conf *conf)
{
    struct xp_policer_limits lim;
    int ret;

    limits_from_config(conf, &lim);
    ret = xp_policer__set_limits(pl->pol, &lim);
    if (!ret)
        ret = set_groups(pl->pol, conf->pol);
    if (ret) {
        /* back to the section in use: its limits and groups passed these checks before */
        limits_from_config(&pl->conf, &lim);
        xp_policer__set_limits(pl->pol, &lim);
        set_groups(pl->pol, pl->conf.pol);
        return ret;
    }
    remap_counts(pl->ug_st, pl->conf.pol, conf->pol, false);
    remap_counts(pl->dg_st, pl->conf.pol, conf->pol, true);
    pl->conf = *conf;
    return 0;
}

struct xp_pipeline *xp_pipeline__create(const struct xp_pipeline_conf *conf, unsigned queue,
                                        struct xp_dst_table *dst, struct xp_owners *owners,
                                        const struct xp_block_ops *blocks, void *blocks_ctx)
{
    struct xp_policer_config pcfg = {
        .capacity = conf->pol->max_pairs,
        .worker_id = queue,
        .hash_seed = 0,
        .owners = owners,
        .numa_local = conf->numa_node >= 0,
        .numa_node = conf->numa_node,
    };
    struct xp_pipeline *pl;
    int err;

    limits_from_config(conf, &pcfg.limits);
    if (xp_policer_limits__check(&pcfg.limits)) {
        errno = EINVAL;
        return NULL;
    }
    /* posix_memalign returns its error and leaves errno alone; callers read errno */
    err = posix_memalign((void **)&pl, 64, sizeof(*pl));
    if (err) {
        errno = err;
        return NULL;
    }
    memset(pl, 0, sizeof(*pl));
    err = -xp_spsc__init(&pl->events, pl->event_slots, sizeof(pl->event_slots[0]),
                         XP_PIPE_EVENTS);
    if (err)
        goto err_free;
    pl->conf = *conf;
    pl->queue = queue;
    pl->dst = dst;
    pl->bops = blocks;
    pl->bctx = blocks_ctx;
    pl->blocks = calloc(BLOCK_SLOTS, sizeof(*pl->blocks));
    if (!pl->blocks) {
        err = ENOMEM;
        goto err_free;
    }
    pl->pol = xp_policer__create(&pcfg, dst);
    if (!pl->pol) {
        err = errno;
        goto err_free;
    }
    err = -set_groups(pl->pol, conf->pol);
    if (err)
        goto err_destroy_policer;
    return pl;

err_destroy_policer:
    xp_policer__destroy(pl->pol);
err_free:
    free(pl->blocks);
    free(pl);
    errno = err;
    return NULL;
}

int xp_pipeline__set_early_drop(struct xp_pipeline *pl)
{
    if (pl->bops)
        return -EINVAL;
    pl->early = true;
    return 0;
}

void xp_pipeline__set_manual_blocks(struct xp_pipeline *pl, const struct xp_manual_blocks *bl)
{
    pl->manual = bl;
}

bool xp_pipeline__manual_blocked(const struct xp_pipeline *pl, const uint8_t unit[16],
                                 const uint8_t dst[16], uint64_t now_mono)
{
    return pl->manual && xp_manual_blocks__match(pl->manual, unit, dst, now_mono);
}

void xp_pipeline__destroy(struct xp_pipeline *pl)
{
    if (!pl)
        return;
    /* Blocks still in the map would outlive us: take them out. */
    for (uint32_t i = 0; pl->bops && i < BLOCK_SLOTS; i++) {
        if (pl->blocks[i].state == BLOCK_ACTIVE)
            pl->bops->unblock(pl->bctx, pl->blocks[i].handle);
    }
    if (pl->bops)
        pl->bops->flush(pl->bctx, NULL, NULL);
    xp_policer__destroy(pl->pol);
    pl->pol = NULL;
    free(pl->blocks);
    pl->blocks = NULL;
    free(pl);
}
