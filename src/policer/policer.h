/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The policer: Algorithm 1 of X-Pro, made precise (docs/policer.md).
 *
 * Pure logic, no I/O, no clock: the caller passes the packet time (ns,
 * CLOCK_REALTIME). One struct xp_policer per worker thread owns a bounded
 * (unit, destination) pair table; all policers of a process share one
 * struct xp_dst_table that holds the per-destination aggregate, written by
 * each worker only in its own slots (single writer, relaxed atomics).
 *
 * Threading: every xp_policer__* call except xp_policer__stats() must be
 * made by the policer's owning worker thread. xp_dst_table__lookup() and
 * xp_policer__stats() may be called from any thread.
 *
 * Hot path: xp_policer__packet(), xp_policer__packet_burst() and
 * xp_policer__account(). They never allocate, lock, log or make system
 * calls.
 */
#ifndef XP_POLICER_H
#define XP_POLICER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XP_NSEC_PER_SEC 1000000000ULL

/*
 * A pair key: unit i and destination D, both as 16-byte IPv6 addresses
 * (IPv4 as ::ffff:a.b.c.d). The unit is already masked to the IPv6 prefix
 * length; build keys with xp_policer_key__build().
 */
struct xp_policer_key {
    uint8_t unit[16];
    uint8_t dst[16];
};

/*
 * Build a key from a packet's addresses. family is AF_INET (src/dst point
 * to 4 bytes in network order) or AF_INET6 (16 bytes). v6_prefix_len
 * (0..128) masks an IPv6 source; IPv4 sources are always kept whole.
 * Returns 0 or -EINVAL. Hot path, any thread.
 */
int xp_policer_key__build(struct xp_policer_key *key, int family, const void *src,
                          const void *dst, unsigned v6_prefix_len);

enum xp_full_policy {
    XP_FULL_EVICT_OLDEST = 0, /* evict the least recently used pair (sampled) */
    XP_FULL_REFUSE_PASS = 1,  /* do not track the new pair, forward its packet */
    XP_FULL_REFUSE_DROP = 2,  /* do not track the new pair, drop its packet */
};

/*
 * What a destination over T_F2 does to its units' packets (docs/policer.md,
 * "Destination policies").
 */
enum xp_dst_policy {
    XP_DST_DROP_ALL = 0,   /* the paper's rule: every packet towards it is dropped */
    XP_DST_FAIR_SHARE = 1, /* T_F2 shared max-min over its active units; above the share dropped */
};

/* Thresholds: reloadable (xp_policer__set_limits()). Times in ns. */
struct xp_policer_limits {
    uint64_t t_t1_ns;  /* idle gap that restarts a pair's window */
    uint64_t t_t2_ns;  /* minimum window before the unit test applies */
    uint64_t t_t3_ns;  /* minimum window before the destination test applies */
    uint64_t t_t4_ns;  /* window length that triggers a shrink (if shrink_r > 1) */
    uint32_t shrink_r; /* shrink divisor r >= 1; 1 = never shrink */
    uint64_t t_f1_pps; /* per-pair rate threshold (massive attack) */
    uint64_t t_f2_pps; /* per-destination rate threshold (low-rate attack) */
    enum xp_full_policy full_policy;
    /*
     * A pair only the central node told us about (another proxy's unit) has
     * the ts2 of the last sync answer, up to a sync period old: it counts as
     * active this much longer than T_T1 (0 without sync).
     */
    uint64_t remote_grace_ns;
    /* a field of the limits so that it can later come per destination (prefix groups) */
    enum xp_dst_policy dst_policy;
};

/* Defaults chosen by measurement: see docs/policer.md. */
#define XP_POLICER_DEF_T_T1_NS (1 * XP_NSEC_PER_SEC)
#define XP_POLICER_DEF_T_T2_NS (1 * XP_NSEC_PER_SEC)
#define XP_POLICER_DEF_T_T3_NS (1 * XP_NSEC_PER_SEC)
#define XP_POLICER_DEF_T_T4_NS (4 * XP_NSEC_PER_SEC)
#define XP_POLICER_DEF_SHRINK_R 2
#define XP_POLICER_DEF_T_F1_PPS 100000ULL
#define XP_POLICER_DEF_T_F2_PPS 800000ULL
#define XP_POLICER_DEF_CAPACITY (1U << 20)
#define XP_POLICER_DEF_V6_PREFIX 64

/* Fill in the defaults above (full_policy: XP_FULL_EVICT_OLDEST, dst_policy: XP_DST_DROP_ALL). */
void xp_policer_limits__init(struct xp_policer_limits *lim);

/*
 * Check a set of limits: thresholds > 0, shrink_r >= 1, and when shrinking
 * t_t4_ns / shrink_r > max(t_t2_ns, t_t3_ns) (otherwise a shrunk window
 * would fall back under the warm-up time and disarm the tests for good).
 * Returns 0 or -EINVAL.
 */
int xp_policer_limits__check(const struct xp_policer_limits *lim);

/* ---- the shared destination table ---- */

struct xp_dst_table;

/* The aggregate over all workers' pairs towards one destination. */
struct xp_dst_aggregate {
    uint64_t c;   /* c* = sum of c over pairs */
    uint64_t ts1; /* ts1* = min ts1 (UINT64_MAX when no pair) */
    uint64_t ts2; /* ts2* = max ts2 (0 when no pair) */
};

/*
 * Create the table shared by n_workers policers (1..XP_DST_MAX_WORKERS),
 * with room for capacity destinations (rounded up to a power of two).
 * Returns the table or NULL with errno (EINVAL, ENOMEM). Control thread.
 */
#define XP_DST_MAX_WORKERS 256
struct xp_dst_table *xp_dst_table__create(uint32_t capacity, unsigned n_workers);

/* Destroy after every policer using it is destroyed. NULL is fine. */
void xp_dst_table__destroy(struct xp_dst_table *tbl);

/*
 * Read the aggregate for dst (16 bytes). Returns 0 or -ENOENT. Any thread;
 * fields of one worker's slot may be read mid-update (off by one packet).
 */
int xp_dst_table__lookup(const struct xp_dst_table *tbl, const uint8_t dst[16],
                         struct xp_dst_aggregate *out);

/* Destinations in use, insertions that failed for lack of room, entries reclaimed. */
uint64_t xp_dst_table__count(const struct xp_dst_table *tbl);
uint64_t xp_dst_table__failures(const struct xp_dst_table *tbl);
uint64_t xp_dst_table__reclaimed(const struct xp_dst_table *tbl);

/*
 * Reclaim unused destinations (no pair of any worker uses them: pairs let
 * go of their destination when they go idle). One control thread only,
 * periodically: each call finishes the previous call's batch if every
 * worker has been quiescent since (xp_dst_table__quiescent), then looks at
 * the next budget entries and marks the unused ones for the next call.
 * Returns the entries freed by this call. Not on the packet path.
 */
unsigned xp_dst_table__reclaim(struct xp_dst_table *tbl, uint32_t budget);

/*
 * A worker's quiescent state: it holds no destination index it has not yet
 * attached a pair to. Call once per loop turn, between bursts (a cheap load
 * and, when the epoch moved, a store). Worker thread of worker_id.
 */
void xp_dst_table__quiescent(struct xp_dst_table *tbl, unsigned worker_id);

/* ---- pair ownership across the workers of one proxy (owners.c) ---- */

/*
 * Every packet of a pair must be counted in one window, but the NIC (or
 * the sender, on veth) decides which worker a packet reaches: an IPv6 unit
 * rotating addresses inside its /64 reaches every queue. The first worker
 * that creates a pair owns it; any other worker that meets a packet of it
 * hands the count to the owner (and drops the packet while the owner's
 * block stands), so a pair is never split over workers. One directory per
 * proxy with more than one worker; NULL (single worker) means every pair
 * is its worker's own.
 */
struct xp_owners;

/*
 * Create the directory for n_workers (2..256) policers holding at most
 * max_pairs pairs in all. NULL with errno (EINVAL, ENOMEM). Control thread.
 */
struct xp_owners *xp_owners__create(uint64_t max_pairs, unsigned n_workers);

/* Destroy after every policer using it is destroyed. NULL is fine. */
void xp_owners__destroy(struct xp_owners *o);

/* The worker owning key's pair, or -1 (none, or o is NULL). Any thread; a hint. */
int xp_owners__owner(const struct xp_owners *o, const struct xp_policer_key *key);

/* Pairs with an owner. Any thread. */
uint64_t xp_owners__count(struct xp_owners *o);

/* ---- the per-worker policer ---- */

struct xp_policer;

struct xp_policer_config {
    struct xp_policer_limits limits;
    uint32_t capacity;  /* maximum pairs tracked by this worker */
    unsigned worker_id; /* this worker's slot in the dst table (< n_workers) */
    uint64_t hash_seed; /* 0: random (getrandom); tests may fix it; ignored with owners */
    struct xp_owners *owners; /* shared by the proxy's policers; NULL: a single worker */
    bool numa_local;          /* put the pair pool and index on numa_node (the worker's) */
    int numa_node;
};

/*
 * Create a policer. Allocates everything now (nothing on the packet path).
 * dst must outlive the policer; worker_id must be unique among the policers
 * sharing dst. Returns the policer or NULL with errno (EINVAL, EBUSY if
 * worker_id is taken, ENOMEM).
 */
struct xp_policer *xp_policer__create(const struct xp_policer_config *cfg,
                                      struct xp_dst_table *dst);

/* Releases the worker's pairs (their counts leave the aggregate). NULL is fine. */
void xp_policer__destroy(struct xp_policer *pol);

/* Replace the limits (config reload). Returns 0 or -EINVAL. Owner thread. */
int xp_policer__set_limits(struct xp_policer *pol, const struct xp_policer_limits *lim);

/*
 * Policy per prefix (policer.unit_groups, policer.dst_groups): a pair's
 * unit test uses its unit group's T_F1 and T_T2, its destination test its
 * destination group's T_F2 and T_T3. The caller classifies (longest prefix
 * match, src/pipeline) and passes each packet's two group indices packed in
 * one word, XP_POLICER_GROUPS(unit_group, dst_group); the policer looks the
 * thresholds up in its own small arrays, so the packet path stays O(1).
 * Group 0 of each kind is the default: the global limits (set_limits keeps
 * it in step). An index beyond the groups set counts as 0: hand-offs from a
 * worker that has not yet taken a reload may name groups that are gone.
 */
#define XP_POLICER_GROUPS_MAX 1025 /* per kind, the default included */
#define XP_POLICER_GROUPS(unit_group, dst_group) ((uint32_t)(unit_group) | (uint32_t)(dst_group) << 16)
#define XP_POLICER_UNIT_GROUP(grp) ((grp) & 0xffffU)
#define XP_POLICER_DST_GROUP(grp) ((grp) >> 16)

struct xp_policer_unit_group {
    uint64_t t_f1_pps;
    uint64_t t_t2_ns;
};

struct xp_policer_dst_group {
    uint64_t t_f2_pps;
    uint64_t t_t3_ns;
    /*
     * The destination policy of the group (policer.dst_groups' dst_policy):
     * 0 is drop_all, the paper's rule and the only one this policer has yet.
     */
    uint32_t dst_policy;
};

/*
 * Set the non-default groups: unit[0..n_unit-1] become unit groups
 * 1..n_unit, dst[] likewise (n_unit, n_dst < XP_POLICER_GROUPS_MAX). Each
 * must pass the same checks as the global limits (thresholds > 0; with
 * shrinking, t_t4 / r above its warm-up). 0 or -EINVAL (nothing changed).
 * Owner thread, not per packet.
 */
int xp_policer__set_groups(struct xp_policer *pol, const struct xp_policer_unit_group *unit,
                           unsigned n_unit, const struct xp_policer_dst_group *dst,
                           unsigned n_dst);

enum xp_verdict {
    XP_VERDICT_FORWARD = 0,
    XP_VERDICT_DROP_UNIT = 1, /* pair over T_F1 (massive attack) */
    XP_VERDICT_DROP_DST = 2,  /* destination over T_F2 (low-rate attack) */
    XP_VERDICT_DROP_FULL = 3, /* table full, policy XP_FULL_REFUSE_DROP */
    /*
     * Another worker owns the pair and counts this packet (handed to it):
     * forward, or drop because the owner blocked the pair for its unit or
     * destination test. The owner, not this worker, blocks the pair.
     */
    XP_VERDICT_FOREIGN = 4,
    XP_VERDICT_FOREIGN_DROP_UNIT = 5,
    XP_VERDICT_FOREIGN_DROP_DST = 6,
    /*
     * fair_share: the destination is over T_F2 and this pair is over its
     * max-min share of it (or no share was computed yet): this packet only
     * is dropped, the pair is not blocked (its next packets may pass).
     */
    XP_VERDICT_DROP_DST_SHARE = 7,
};

/* Whether a verdict drops the packet. */
static inline bool xp_verdict_drops(enum xp_verdict v)
{
    return v != XP_VERDICT_FORWARD && v != XP_VERDICT_FOREIGN;
}

enum xp_policer_event_kind {
    XP_POLICER_EV_NONE = 0,
    XP_POLICER_EV_OVERLOAD = 1, /* unit over T_F1; once per pair per window */
};

struct xp_policer_event {
    enum xp_policer_event_kind kind;
    struct xp_policer_key key;
    uint64_t rate_pps;      /* measured c / (ts2 - ts1) */
    uint64_t threshold_pps; /* T_F1 at the time */
    uint64_t t_ns;          /* packet time */
};

/*
 * Drop provenance: the numbers a drop verdict (DROP_UNIT or DROP_DST) was
 * made on, as the tests read them at that packet (before the shrink that
 * packet may start). Rates are c * 10^9 / (ts2 - ts1) rounded down, 0 for
 * an empty window; the verdict is "over" when c * 10^9 > T_F * (ts2 - ts1).
 */
struct xp_policer_evidence {
    uint64_t t_ns;             /* the packet's time (the policer's clock) */
    uint64_t ts1, ts2, c;      /* the pair's window, this packet counted */
    uint64_t rate_pps;
    uint64_t dst_ts1, dst_ts2, dst_c; /* the destination's aggregate ts1*, ts2*, c* */
    uint64_t dst_rate_pps;
    /* pairs in the aggregate known only from the central node (other proxies' units) */
    uint32_t dst_remote_pairs;
    bool has_dst;              /* false: no aggregate (destination table full): dst_* are 0 */
    uint64_t t_f1_pps, t_f2_pps, t_t2_ns, t_t3_ns; /* the thresholds in force */
    /* the destination policy the verdict was made under: 0 is "drop_all" (the paper's rule) */
    uint32_t dst_policy;
};

/*
 * Police one packet of pair key at time t (ns). Updates the pair (creating
 * it if needed), runs the unit then the destination test and returns the
 * verdict. Dropped packets are counted all the same. If ev is not NULL,
 * ev->kind is set (XP_POLICER_EV_NONE or an event to report). Times that go
 * backwards are clamped to the latest seen (counted). Hot path, owner thread.
 */
enum xp_verdict xp_policer__packet(struct xp_policer *pol, const struct xp_policer_key *key,
                                   uint64_t t, struct xp_policer_event *ev);

/*
 * Police a burst: exactly the same as xp_policer__packet(pol, &keys[i], t,
 * &ev) for i = 0..n-1 in order (repeated keys, pairs created or evicted
 * mid-burst, clock clamping and counters included), but faster at large
 * pair counts: the whole burst is hashed first and its index buckets, pair
 * entries and destination slots are prefetched in stages, so the cache
 * misses of the packets overlap. Any n works; XP_POLICER_BURST packets at a
 * time get the full overlap (larger bursts are cut into such chunks).
 * verdicts[i] receives packet i's verdict. The events raised are written,
 * in packet order, to events[0..ret-1] (room for n needed, since each packet
 * raises at most one; NULL if not wanted) and their number is returned.
 * Hot path, owner thread.
 */
#define XP_POLICER_BURST 64
unsigned xp_policer__packet_burst(struct xp_policer *pol, const struct xp_policer_key *keys,
                                  unsigned n, uint64_t t, enum xp_verdict *verdicts,
                                  struct xp_policer_event *events);

/*
 * xp_policer__packet_burst(), and for every packet whose verdict is
 * DROP_UNIT or DROP_DST, why[i] gets the evidence of that verdict (other
 * entries are left alone; room for n). Only dropped packets pay for it.
 * Hot path, owner thread.
 */
unsigned xp_policer__packet_burst_why(struct xp_policer *pol, const struct xp_policer_key *keys,
                                      unsigned n, uint64_t t, enum xp_verdict *verdicts,
                                      struct xp_policer_event *events,
                                      struct xp_policer_evidence *why);

/*
 * The same with each packet's groups: grp[i] = XP_POLICER_GROUPS(unit group,
 * destination group) of keys[i] (NULL: every packet in the default groups)
 * and why as in xp_policer__packet_burst_why() (NULL: no evidence). Hot
 * path, owner thread.
 */
unsigned xp_policer__packet_burst_groups(struct xp_policer *pol,
                                         const struct xp_policer_key *keys, const uint32_t *grp,
                                         unsigned n, uint64_t t, enum xp_verdict *verdicts,
                                         struct xp_policer_event *events,
                                         struct xp_policer_evidence *why);

/*
 * Count n packets of pair key seen at time t that were dropped elsewhere
 * (the XDP fast path): the same state updates as n packets, no verdict, no
 * event. Returns 0, -EINVAL (n == 0) or -ENOSPC (table full, not tracked).
 * Hot path, owner thread.
 */
int xp_policer__account(struct xp_policer *pol, const struct xp_policer_key *key, uint64_t n,
                        uint64_t t);
/* The same for a pair in groups grp (what a hand-off to the pair's owner carries). */
int xp_policer__account_groups(struct xp_policer *pol, const struct xp_policer_key *key,
                               uint32_t grp, uint64_t n, uint64_t t);

/*
 * A pair's state (L_DB row). gen and shrinks are opaque: they change on each
 * local window restart and shrink, so that an install can tell what
 * happened to the pair while its snapshot was at the central node.
 */
struct xp_pair_state {
    uint64_t ts1;
    uint64_t ts2;
    uint64_t c;
    uint64_t dc;
    bool mark;
    uint32_t gen;
    uint32_t shrinks;
};

struct xp_pair_record {
    struct xp_policer_key key;
    struct xp_pair_state st;
};

/*
 * The owner's side of the hand-off: count the packets other workers handed
 * over (each record at its own time, as a packet of the pair would be) and
 * run the tests. For each record whose pair would now be dropped or raised
 * an overload event, out[] gets the key, the verdict and the event, for the
 * caller to block the pair (and xp_policer__publish_block). Returns the
 * entries written (at most max); *packets (if not NULL) gets the packets
 * taken. Call every loop turn. Owner thread.
 */
struct xp_policer_handoff {
    struct xp_policer_key key;
    uint32_t grp;                  /* the groups the packets were classified in */
    enum xp_verdict verdict;       /* XP_VERDICT_FORWARD, DROP_UNIT or DROP_DST */
    struct xp_policer_event ev;    /* kind XP_POLICER_EV_NONE or an overload */
    struct xp_policer_evidence why; /* verdict DROP_UNIT or DROP_DST: its evidence */
};
unsigned xp_policer__take_handoffs(struct xp_policer *pol, struct xp_policer_handoff *out,
                                   unsigned max, uint64_t *packets);

/*
 * The owner blocked key's pair until t_until (the policer's clock) for
 * verdict (DROP_UNIT or DROP_DST): other workers drop its packets until
 * then. No-op without owners. Owner thread.
 */
void xp_policer__publish_block(struct xp_policer *pol, const struct xp_policer_key *key,
                               uint64_t t_until, enum xp_verdict verdict);

/*
 * For operators (xpro-ctl why): key's pair and its destination's aggregate
 * as the pair's next packet at t would meet them, without counting it (no
 * side effect): *out as in struct xp_policer_evidence (t_ns = t), and the
 * verdict the tests would give: XP_VERDICT_FORWARD, DROP_UNIT or DROP_DST
 * (a pair idle at t restarts its window: FORWARD). The destination is read
 * even when this worker holds no pair towards it. Returns 0, or -ENOENT
 * when this worker holds no such pair (*out then still has the thresholds
 * and the destination). grp: the pair's groups (XP_POLICER_GROUPS), whose
 * thresholds apply. Owner thread (through the worker's mailbox).
 */
int xp_policer__why(const struct xp_policer *pol, const struct xp_policer_key *key, uint32_t grp,
                    uint64_t t, struct xp_policer_evidence *out, enum xp_verdict *verdict);

/* Read a pair. Returns 0 or -ENOENT. Owner thread (tests, ctl via mailbox). */
int xp_policer__lookup(const struct xp_policer *pol, const struct xp_policer_key *key,
                       struct xp_pair_state *out);

/*
 * Sync, step 1: move up to max pairs touched since they were last collected
 * into out[] (key and state snapshot) and mark them clean. Returns the
 * number written; call again until it returns less than max. Owner thread.
 */
unsigned xp_policer__collect_dirty(struct xp_policer *pol, struct xp_pair_record *out,
                                   unsigned max);

/*
 * Sync, step 2: install the new local values fresh for key. sent is the
 * snapshot collected for it (NULL if the pair was not sent, e.g. it only
 * changed on the central node). Packets that arrived since the snapshot
 * are kept on top of fresh (c and dc grow by them); if the local window
 * restarted since the snapshot the local window wins and fresh is ignored;
 * if it shrank, the local window is kept and the shipped dc (scaled by the
 * shrinks) is consumed. A missing pair is created: a pair we sent subject
 * to the full policy, a pair only the central node knows only into a free
 * entry (never evicting one of ours; refused counted as install_refused).
 * An idle pair (see xp_policer__expire) rejoins the aggregate if the new
 * values are not idle. The destination aggregate stays exact. Returns 0,
 * -EINVAL, -ENOSPC, or -EBUSY if another worker owns the pair (answers
 * belong to the owner: xp_owners__owner()). Owner thread.
 */
int xp_policer__install(struct xp_policer *pol, const struct xp_policer_key *key,
                        const struct xp_pair_state *sent, const struct xp_pair_state *fresh);

/*
 * The idle sweep: look at the next budget entries of the table (a cursor
 * that wraps) and take every pair idle at t (t - ts2 > T_T1) out of its
 * destination aggregate, so that a unit that stopped sending no longer
 * stretches ts1* or adds to c* (docs/policer.md, "the aggregate holds
 * active pairs only"). The pair itself stays (its next packet restarts its
 * window and brings it back). The caller spreads the sweep so the whole
 * table is covered every T_T1 / 2 (src/pipeline/pipeline.c). Returns the pairs taken
 * out. Owner thread; not per packet.
 */
unsigned xp_policer__expire(struct xp_policer *pol, uint64_t t, uint32_t budget);

/* The owner's quiescent state for the dst table (xp_dst_table__quiescent): once per loop turn. */
void xp_policer__quiescent(struct xp_policer *pol);

/*
 * Walk the table in slices, for operators (xpro-ctl flows): copy up to
 * out_max pairs in use from slots [*cursor, *cursor + slots) into out and
 * advance *cursor. Done when *cursor >= capacity. Owner thread: callers
 * run it on the worker in slices so a 1M-pair table never stalls it.
 */
unsigned xp_policer__scan(const struct xp_policer *pol, uint32_t *cursor, uint32_t slots,
                          struct xp_pair_record *out, unsigned out_max);
uint32_t xp_policer__capacity(const struct xp_policer *pol);

/* Counters. Each is written by the owner only; any thread may read them. */
struct xp_policer_stats {
    uint64_t pairs_in_use;
    uint64_t capacity;
    uint64_t packets;        /* xp_policer__packet() calls */
    uint64_t accounted;      /* packets passed to xp_policer__account() */
    uint64_t inserts;        /* pairs created */
    uint64_t restarts;       /* windows restarted after T_T1 idle */
    uint64_t shrinks;        /* windows shrunk (T_T4, r) */
    uint64_t evict_idle;     /* table full, idle pair reclaimed */
    uint64_t evict_oldest;   /* table full, least recently used pair evicted */
    uint64_t refused_pass;   /* table full, untracked packet forwarded */
    uint64_t refused_drop;   /* table full, untracked packet dropped */
    uint64_t warnings;       /* overload events raised */
    uint64_t forward;        /* verdicts */
    uint64_t drop_unit;
    uint64_t drop_dst;
    uint64_t drop_full;
    uint64_t dst_full;       /* pair tracked without destination aggregate */
    uint64_t clock_backsteps; /* packet times clamped to the latest seen */
    uint64_t installs;       /* sync values installed */
    uint64_t idle_left;      /* pairs taken out of their destination aggregate, idle */
    uint64_t install_refused; /* central-only pairs not installed: no free entry */
    uint64_t install_elsewhere; /* installs refused: another worker owns the pair */
    uint64_t foreign;         /* packets of pairs another worker owns, handed to it */
    uint64_t foreign_dropped; /* of those, dropped here: the owner had blocked the pair */
    uint64_t foreign_lost;    /* hand-offs lost: the ring to the owner was full */
    uint64_t foreign_counted; /* packets other workers handed to this one, counted */
    uint64_t foreign_refused; /* of those, not counted: no room for the pair here */
    uint64_t foreign_relayed; /* handed on: the pair had moved to a third worker */
    uint64_t owners_full;     /* pairs created without an owner entry: directory full */
    uint64_t drop_dst_share;  /* verdicts XP_VERDICT_DROP_DST_SHARE (fair_share) */
};

void xp_policer__stats(const struct xp_policer *pol, struct xp_policer_stats *out);
/* into += from, field by field (every field is a uint64_t count or gauge). */
void xp_policer_stats__add(struct xp_policer_stats *into, const struct xp_policer_stats *from);

/* ---- fair_share: the destinations' shares, computed off the packet path ---- */

/*
 * How often the control side recomputes the shares, and how old a share may
 * be before the packet path stops trusting it (it then drops what is over
 * T_F2, as if the share were 0, until a fresh one comes). The burst allowed
 * above the share: packets of one burst share one time stamp.
 */
#define XP_FAIR_PERIOD_NS (100ULL * 1000000ULL)
#define XP_FAIR_STALE_NS (1000ULL * 1000000ULL)
#define XP_FAIR_BURST_NS (20ULL * 1000000ULL)

/* One active pair's offered rate towards an overloaded destination (index in the dst table). */
struct xp_fair_demand {
    uint32_t dst;
    uint64_t pps;
};

/*
 * The demands of this worker's pairs towards every destination over T_F2
 * at t (the destination test's own numbers, every worker's share): each
 * active pair's c / (ts2 - ts1), what it offers, dropped packets included.
 * Local pairs and the other proxies' pairs the sync installed alike. Fills
 * out[0..ret-1]; a destination whose pairs do not all fit is left out
 * (*truncated set). Owner thread, off the packet path (a worker call per
 * fair tick); it walks the dst table (max_dsts entries) and the members of
 * the overloaded ones.
 */
unsigned xp_policer__fair_demands(struct xp_policer *pol, uint64_t t,
                                  struct xp_fair_demand *out, unsigned max, bool *truncated);

/*
 * The control side of a fair tick: group demands[0..n-1] (every worker's,
 * reordered in place) by destination, water-fill each destination's T_F2
 * (lim->t_f2_pps) over its units and publish the level for the packet path
 * with time t. Returns the destinations published. One control thread.
 */
unsigned xp_fair__publish(struct xp_dst_table *tbl, const struct xp_policer_limits *lim,
                          struct xp_fair_demand *demands, size_t n, uint64_t t);

/*
 * The share published for dst (16 bytes): level (pps, or UINT64_MAX: every
 * unit fits) and the time it was computed. Returns 0, or -ENOENT (unknown
 * destination, or no share published since it was claimed). Any thread.
 */
int xp_dst_table__share(const struct xp_dst_table *tbl, const uint8_t dst[16], uint64_t *level,
                        uint64_t *t);

/* Bytes of memory per tracked pair (entry plus index share), for docs/ctl. */
size_t xp_policer__bytes_per_pair(const struct xp_policer *pol);

/* The NUMA node that holds the pair pool's first page, or -1 (no NUMA, or unknown). */
int xp_policer__numa_node(const struct xp_policer *pol);

#endif /* XP_POLICER_H */
