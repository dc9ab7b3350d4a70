// SPDX-License-Identifier: GPL-2.0-only
/*
 * The per-worker policer: Algorithm 1 over a bounded pair table.
 *
 * Layout. Pairs live in a fixed pool of 128-byte entries (two cache lines:
 * everything a packet reads or writes on the first, links and cold fields
 * on the second) addressed by 32-bit index, so links survive without
 * pointers and the pool never moves. A separate index maps a key to its
 * entry: 64-byte buckets of 6 (16-bit tag, pair index, dst index) slots,
 * linear probing over at most XP_MAX_PROBE buckets, sized for a load of at
 * most 1/2. A bucket's overflow count says how many entries probed past it,
 * so a miss usually stops at the home bucket and deletions need no
 * tombstones. The pair's destination index is repeated in its index slot so
 * that the bucket alone names both lines a packet needs next (pair entry and
 * this worker's dst slot): they are fetched in parallel, making the chain of
 * dependent cache misses two long (bucket, then pair + slot) instead of three.
 *
 * Bursts. xp_policer__packet_burst() runs the same per-packet code in order
 * but first hashes the whole burst and prefetches in stages (buckets, then
 * the pair entries and dst slots they name), so that the misses of up to 64
 * packets overlap instead of being paid one after the other.
 *
 * Destination aggregate. Each pair caches the index of its destination in
 * the shared xp_dst_table, whose slot for this worker holds the partial
 * c_sum / ts1_min / ts2_max of this worker's pairs towards it. c_sum moves
 * by the same deltas as each pair's c. ts1_min is the earliest ts1 of the
 * slot's pairs, kept in two orders: a FIFO of the windows that began in time
 * order (nearly all: new pairs, restarts; O(1) in and out) and a pairing
 * heap for the others (a shrink or a sync install moves a ts1 to the middle;
 * a sorted list would need a walk, quadratic for a botnet of many units
 * towards one target; the heap is O(log n) amortised, insertion O(1)); see
 * xp_ts1__insert(). ts2_max only grows on a packet; when the pair holding it
 * leaves, it is recomputed from the FIFO and the heap, which stops early as
 * soon as it meets another pair with the same ts2.
 *
 * Full table. When no entry is free, a CLOCK hand samples the next
 * XP_RECLAIM_SCAN entries of the pool: the first idle one (t - ts2 > T_T1)
 * is reclaimed, else the policy decides; "evict oldest" takes the least
 * recently used of the sample. An exact LRU list would cost two more cache
 * misses on every packet (unlinking from the neighbours) to speed up only
 * the rare full-table insertion.
 */
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "policer_internal.h"
#include "src/util/counters.h"

#define XP_BUCKET_SLOTS 6
#define XP_MAX_PROBE 8
#define XP_RECLAIM_SCAN 32
/* Packets whose misses are overlapped together; larger bursts are cut into chunks. */
#define XP_BURST_CHUNK XP_POLICER_BURST
/*
 * How far ahead of the sequential pass a burst fetches second lines (dirty
 * list, heap). A rolling pipeline (bucket 16-48 packets ahead, entry 8-24)
 * was measured against these stages and was no faster at 1M pairs and
 * slower at 10M on this machine (docs/policer.md, "Scale").
 */
#define XP_BURST_AHEAD 8

#define XP_PAIR_F_USED 0x1
#define XP_PAIR_F_MARK 0x2
#define XP_PAIR_F_WARNED 0x4
#define XP_PAIR_F_DIRTY 0x8
/* idle for more than T_T1: taken out of the destination aggregate until its next packet */
#define XP_PAIR_F_IDLE 0x10
/* created by a sync answer and not seen here since: another proxy's pair */
#define XP_PAIR_F_REMOTE 0x20
/* in its slot's ts1 FIFO (h_prev, h_sib are its links there), not in the heap */
#define XP_PAIR_F_FIFO 0x40

/* count()'s answer for a pair another worker owns (xp_owners): hand the packets over */
#define XP_FOREIGN (XP_NIL - 1)

/*
 * tag is 16 bits of the hash (not the bits that chose the bucket): a wrong
 * entry is read only on a 1-in-65536 tag collision, and 16 bits leave room
 * for the dst index. dst[s] is pairs[idx[s]].dst, fixed for the pair's life.
 */
struct xp_bucket {
    uint16_t tag[XP_BUCKET_SLOTS];
    uint32_t idx[XP_BUCKET_SLOTS];
    uint32_t dst[XP_BUCKET_SLOTS];
    uint32_t overflow;
} __attribute__((aligned(XP_CACHE_LINE)));

struct xp_pair {
    /* first line: all that a packet reads and writes (unless it restarts or shrinks) */
    struct xp_policer_key key;
    uint64_t ts1;
    uint64_t ts2;
    uint64_t c;
    uint32_t dst; /* index in the dst table, XP_NIL if it was full */
    uint32_t flags;
    /* second line */
    /*
     * dc is kept as c - dc: c and dc grow together on every packet, so the
     * offset only moves on the rare events that change one without the
     * other (restart, shrink, install) and the packet path never writes
     * this line. Unsigned wrap-around keeps dc = c - dc_off exact.
     */
    uint64_t dc_off;
    uint64_t hash;
    /*
     * Where the pair is in its dst slot's ts1 order: in the FIFO (flag
     * XP_PAIR_F_FIFO) h_prev and h_sib are its neighbours; in the pairing
     * heap h_prev is the parent or left sibling.
     */
    uint32_t h_child, h_sib, h_prev;
    uint32_t f_next;                 /* links the free list */
    uint32_t d_next, d_prev;         /* dirty list */
    uint32_t gen;                    /* +1 per local window restart */
    uint32_t shrinks;                /* +1 per local shrink */
    /*
     * fair_share: the pair's theoretical arrival time (GCRA) at its
     * destination's share; only written while the destination is over T_F2.
     */
    uint64_t fs_tat;
} __attribute__((aligned(XP_CACHE_LINE)));

_Static_assert(sizeof(struct xp_bucket) == 64, "bucket is one cache line");
_Static_assert(sizeof(struct xp_pair) == 128, "pair is two cache lines");

struct xp_policer_counters {
    _Atomic uint64_t pairs_in_use;
    _Atomic uint64_t packets;
    _Atomic uint64_t accounted;
    _Atomic uint64_t inserts;
    _Atomic uint64_t restarts;
    _Atomic uint64_t shrinks;
    _Atomic uint64_t evict_idle;
    _Atomic uint64_t evict_oldest;
    _Atomic uint64_t refused_pass;
    _Atomic uint64_t refused_drop;
    _Atomic uint64_t warnings;
    _Atomic uint64_t forward;
    _Atomic uint64_t drop_unit;
    _Atomic uint64_t drop_dst;
    _Atomic uint64_t drop_full;
    _Atomic uint64_t dst_full;
    _Atomic uint64_t clock_backsteps;
    _Atomic uint64_t installs;
    _Atomic uint64_t idle_left;
    _Atomic uint64_t install_refused;
    _Atomic uint64_t install_elsewhere;
    _Atomic uint64_t foreign;
    _Atomic uint64_t foreign_dropped;
    _Atomic uint64_t foreign_lost;
    _Atomic uint64_t foreign_counted;
    _Atomic uint64_t foreign_refused;
    _Atomic uint64_t foreign_relayed;
    _Atomic uint64_t owners_full;
    _Atomic uint64_t drop_dst_share;
};

/*
 * The windows of one destination slot that began in time order, oldest
 * first (see xp_ts1__insert()). head and tail are pair indices.
 */
struct xp_ts1_fifo {
    uint32_t head;
    uint32_t tail;
};

struct xp_policer {
    struct xp_policer_limits lim;
    struct xp_pair *pairs;
    struct xp_bucket *buckets;
    struct xp_dst_slot *slots; /* this worker's slot array in the dst table */
    struct xp_ts1_fifo *fifos; /* per dst index, like slots: this worker's own */
    struct xp_dst_table *dst;
    uint64_t seed;
    uint64_t t_last;
    uint32_t capacity;
    uint32_t bmask;
    uint32_t free_head;
    uint32_t dirty_head;
    uint32_t dirty_tail;
    uint32_t hand;
    uint32_t sweep; /* next entry the idle sweep looks at */
    unsigned worker_id;
    struct xp_owners *owners;  /* NULL: a single worker, every pair is ours */
    bool handoff_pending;      /* records produced since the last publish */
    /* the owner and published block found by the last count() that returned XP_FOREIGN */
    int foreign_owner;
    uint64_t foreign_block;
    /* thresholds per group (xp_policer__set_groups); [0] is the default: lim's */
    unsigned n_ug, n_dg;
    struct xp_policer_unit_group ug[XP_POLICER_GROUPS_MAX];
    struct xp_policer_dst_group dg[XP_POLICER_GROUPS_MAX];
    struct xp_policer_counters cnt __attribute__((aligned(XP_CACHE_LINE)));
};

/* ---- limits ---- */

void xp_policer_limits__init(struct xp_policer_limits *lim)
{
    memset(lim, 0, sizeof(*lim));
    lim->t_t1_ns = XP_POLICER_DEF_T_T1_NS;
    lim->t_t2_ns = XP_POLICER_DEF_T_T2_NS;
    lim->t_t3_ns = XP_POLICER_DEF_T_T3_NS;
    lim->t_t4_ns = XP_POLICER_DEF_T_T4_NS;
    lim->shrink_r = XP_POLICER_DEF_SHRINK_R;
    lim->t_f1_pps = XP_POLICER_DEF_T_F1_PPS;
    lim->t_f2_pps = XP_POLICER_DEF_T_F2_PPS;
    lim->full_policy = XP_FULL_EVICT_OLDEST;
    lim->dst_policy = XP_DST_DROP_ALL;
}

int xp_policer_limits__check(const struct xp_policer_limits *lim)
{
    uint64_t warm;

    if (!lim || lim->shrink_r == 0 || lim->t_f1_pps == 0 || lim->t_f2_pps == 0)
        return -EINVAL;
    if (lim->full_policy != XP_FULL_EVICT_OLDEST && lim->full_policy != XP_FULL_REFUSE_PASS &&
        lim->full_policy != XP_FULL_REFUSE_DROP)
        return -EINVAL;
    if (lim->dst_policy != XP_DST_DROP_ALL && lim->dst_policy != XP_DST_FAIR_SHARE)
        return -EINVAL;
    warm = lim->t_t2_ns > lim->t_t3_ns ? lim->t_t2_ns : lim->t_t3_ns;
    if (lim->shrink_r > 1 && lim->t_t4_ns / lim->shrink_r <= warm)
        return -EINVAL;
    return 0;
}

/* ---- keys ---- */

int xp_policer_key__build(struct xp_policer_key *key, int family, const void *src,
                          const void *dst, unsigned v6_prefix_len)
{
    static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (family == AF_INET) {
        memcpy(key->unit, v4_mapped, 12);
        memcpy(key->unit + 12, src, 4);
        memcpy(key->dst, v4_mapped, 12);
        memcpy(key->dst + 12, dst, 4);
        return 0;
    }
    if (family != AF_INET6 || v6_prefix_len > 128)
        return -EINVAL;
    memcpy(key->unit, src, 16);
    memcpy(key->dst, dst, 16);
    for (unsigned i = 0; i < 16; i++) {
        unsigned bits = i * 8;

        if (bits >= v6_prefix_len)
            key->unit[i] = 0;
        else if (v6_prefix_len - bits < 8)
            key->unit[i] &= (uint8_t)(0xff00U >> (v6_prefix_len - bits));
    }
    return 0;
}

static inline bool xp_key_eq(const struct xp_policer_key *a, const struct xp_policer_key *b)
{
    uint64_t x[4], y[4];

    memcpy(x, a, sizeof(x));
    memcpy(y, b, sizeof(y));
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) == 0;
}

static inline uint64_t xp_span(uint64_t later, uint64_t earlier)
{
    return later > earlier ? later - earlier : 0;
}

/* rate > threshold, i.e. c / (span ns) > pps, without floating point */
static inline bool xp_over_rate(uint64_t c, uint64_t span, uint64_t pps)
{
    return (unsigned __int128)c * XP_NSEC_PER_SEC > (unsigned __int128)pps * span;
}

/* ---- index ---- */

static inline uint16_t xp_hash_tag(uint64_t h)
{
    return (uint16_t)(h >> 48);
}

static inline const struct xp_bucket *xp_home_bucket(const struct xp_policer *pol, uint64_t h)
{
    return &pol->buckets[(uint32_t)h & pol->bmask];
}

/* This worker's slot of dst index d, or NULL for XP_NIL. */
static inline struct xp_dst_slot *xp_policer__slot_of(const struct xp_policer *pol, uint32_t d)
{
    return d == XP_NIL ? NULL : &pol->slots[d];
}

/* Ask for the dst slots of index d (ours to write, the other workers' to read). */
static inline void xp_policer__prefetch_dst(const struct xp_policer *pol, uint32_t d)
{
    const struct xp_dst_table *tbl = pol->dst;

    if (d == XP_NIL)
        return;
    for (unsigned w = 0; w < tbl->n_workers; w++) {
        if (w == pol->worker_id)
            __builtin_prefetch(&tbl->slots[w][d], 1);
        else
            __builtin_prefetch(&tbl->slots[w][d], 0);
    }
}

/*
 * Find key's pair. *dst gets its dst index from the index slot (XP_NIL if
 * none) before the pair entry is read, so the caller can ask for the dst
 * slot while the entry's miss is still outstanding.
 */
static inline uint32_t xp_index__find(const struct xp_policer *pol,
                                      const struct xp_policer_key *key, uint64_t h,
                                      bool prefetch_dst)
{
    uint32_t b = (uint32_t)h & pol->bmask;
    uint16_t tag = xp_hash_tag(h);

    for (unsigned i = 0; i < XP_MAX_PROBE; i++) {
        const struct xp_bucket *bk = &pol->buckets[(b + i) & pol->bmask];

        for (unsigned s = 0; s < XP_BUCKET_SLOTS; s++) {
            uint32_t idx = bk->idx[s];

            if (bk->tag[s] != tag || idx == XP_NIL)
                continue;
            if (prefetch_dst)
                xp_policer__prefetch_dst(pol, bk->dst[s]);
            if (xp_key_eq(&pol->pairs[idx].key, key))
                return idx;
        }
        if (bk->overflow == 0)
            break;
    }
    return XP_NIL;
}

/* Returns the new slot's dst field (for the caller to fill in), or NULL if no room. */
static uint32_t *xp_index__insert(struct xp_policer *pol, uint64_t h, uint32_t idx)
{
    uint32_t b = (uint32_t)h & pol->bmask;

    for (unsigned i = 0; i < XP_MAX_PROBE; i++) {
        struct xp_bucket *bk = &pol->buckets[(b + i) & pol->bmask];

        for (unsigned s = 0; s < XP_BUCKET_SLOTS; s++) {
            if (bk->idx[s] != XP_NIL)
                continue;
            bk->idx[s] = idx;
            bk->tag[s] = xp_hash_tag(h);
            bk->dst[s] = XP_NIL;
            for (unsigned j = 0; j < i; j++)
                pol->buckets[(b + j) & pol->bmask].overflow++;
            return &bk->dst[s];
        }
    }
    return NULL;
}

static void xp_index__remove(struct xp_policer *pol, uint64_t h, uint32_t idx)
{
    uint32_t b = (uint32_t)h & pol->bmask;

    for (unsigned i = 0; i < XP_MAX_PROBE; i++) {
        struct xp_bucket *bk = &pol->buckets[(b + i) & pol->bmask];

        for (unsigned s = 0; s < XP_BUCKET_SLOTS; s++) {
            if (bk->idx[s] != idx)
                continue;
            bk->idx[s] = XP_NIL;
            for (unsigned j = 0; j < i; j++)
                pol->buckets[(b + j) & pol->bmask].overflow--;
            return;
        }
    }
}

/* Change the dst index repeated in idx's index slot. */
static void xp_index__set_dst(struct xp_policer *pol, uint64_t h, uint32_t idx, uint32_t d)
{
    uint32_t b = (uint32_t)h & pol->bmask;

    for (unsigned i = 0; i < XP_MAX_PROBE; i++) {
        struct xp_bucket *bk = &pol->buckets[(b + i) & pol->bmask];

        for (unsigned s = 0; s < XP_BUCKET_SLOTS; s++) {
            if (bk->idx[s] == idx) {
                bk->dst[s] = d;
                return;
            }
        }
    }
}

/* ---- pairing heap of one dst slot, ordered by ts1 ---- */

static uint32_t xp_heap__meld(struct xp_pair *P, uint32_t a, uint32_t b)
{
    uint32_t t;

    if (a == XP_NIL)
        return b;
    if (b == XP_NIL)
        return a;
    if (P[b].ts1 < P[a].ts1) {
        t = a;
        a = b;
        b = t;
    }
    P[b].h_sib = P[a].h_child;
    if (P[a].h_child != XP_NIL)
        P[P[a].h_child].h_prev = b;
    P[b].h_prev = a;
    P[a].h_child = b;
    return a;
}

/* Two-pass pairing of a sibling list: meld pairs left to right, then fold right to left. */
static uint32_t xp_heap__merge_pairs(struct xp_pair *P, uint32_t first)
{
    uint32_t stack = XP_NIL, a = first, root;

    while (a != XP_NIL) {
        uint32_t b = P[a].h_sib;
        uint32_t next = b != XP_NIL ? P[b].h_sib : XP_NIL;

        P[a].h_sib = P[a].h_prev = XP_NIL;
        if (b != XP_NIL) {
            P[b].h_sib = P[b].h_prev = XP_NIL;
            a = xp_heap__meld(P, a, b);
        }
        P[a].h_sib = stack;
        stack = a;
        a = next;
    }
    if (stack == XP_NIL)
        return XP_NIL;
    root = stack;
    stack = P[root].h_sib;
    P[root].h_sib = XP_NIL;
    while (stack != XP_NIL) {
        uint32_t next = P[stack].h_sib;

        P[stack].h_sib = XP_NIL;
        root = xp_heap__meld(P, root, stack);
        stack = next;
    }
    return root;
}

static void xp_heap__insert(struct xp_pair *P, struct xp_dst_slot *s, uint32_t x)
{
    P[x].h_child = P[x].h_sib = P[x].h_prev = XP_NIL;
    s->heap_root = xp_heap__meld(P, s->heap_root, x);
}

/*
 * Take x, not the root, out of the heap. Its children were no earlier than
 * x, so no earlier than x's parent: they take x's place in its sibling list
 * as they are. This walks x's own children once, where pairing them up
 * again (the textbook delete) melds and rewrites every one of them: most
 * of the heap work of a restart or of an idle pair leaving the aggregate.
 * Only the root's removal pairs its children (that is what keeps the root's
 * child list short).
 */
static void xp_heap__cut(struct xp_pair *P, uint32_t x)
{
    uint32_t prev = P[x].h_prev, next = P[x].h_sib, first = P[x].h_child, last = prev;

    if (first != XP_NIL) {
        for (last = first; P[last].h_sib != XP_NIL; last = P[last].h_sib)
            ;
        P[first].h_prev = prev;
        P[last].h_sib = next;
    }
    if (P[prev].h_child == x)
        P[prev].h_child = first != XP_NIL ? first : next;
    else
        P[prev].h_sib = first != XP_NIL ? first : next;
    if (next != XP_NIL)
        P[next].h_prev = last;
    P[x].h_child = P[x].h_sib = P[x].h_prev = XP_NIL;
}

static void xp_heap__remove(struct xp_pair *P, struct xp_dst_slot *s, uint32_t x)
{
    if (s->heap_root == x) {
        s->heap_root = xp_heap__merge_pairs(P, P[x].h_child);
        if (s->heap_root != XP_NIL)
            P[s->heap_root].h_prev = XP_NIL;
        P[x].h_child = P[x].h_sib = P[x].h_prev = XP_NIL;
    } else {
        xp_heap__cut(P, x);
    }
}

/*
 * ---- ts1 order of one dst slot: a FIFO, and the heap for what comes out of order ----
 *
 * Almost every window begins now: a new pair, a restart after T_T1 idle, a
 * pair back from idle. Such a window is no earlier than any window that
 * began before it, so it goes to the tail of a FIFO that stays sorted by
 * construction, and leaves it in O(1) (doubly linked through h_prev and
 * h_sib). Only a window whose ts1 is earlier than the tail's (a shrink, a
 * row installed by sync, a clock step) goes to the pairing heap. The
 * earliest ts1 is the earlier of the FIFO's head and the heap's root.
 *
 * Why: with a million units towards a few destinations, pairs go idle and
 * restart all the time, and the oldest window, the heap's root, is the one
 * that goes idle first. Each root removal paired up its children (every
 * window inserted since was one): ~log2(members) melds of cold pair entries
 * per idle pair (bench/README.md, "The policer rows": the heap and expire
 * were the worker's largest costs at 1M pairs over 8 destinations).
 */
static void xp_ts1__insert(struct xp_policer *pol, struct xp_dst_slot *s, uint32_t x)
{
    struct xp_pair *P = pol->pairs;
    struct xp_ts1_fifo *f = &pol->fifos[P[x].dst];

    if (f->tail != XP_NIL && P[x].ts1 < P[f->tail].ts1) {
        P[x].flags &= ~XP_PAIR_F_FIFO;
        xp_heap__insert(P, s, x);
        return;
    }
    P[x].flags |= XP_PAIR_F_FIFO;
    P[x].h_child = P[x].h_sib = XP_NIL;
    P[x].h_prev = f->tail;
    if (f->tail != XP_NIL)
        P[f->tail].h_sib = x;
    else
        f->head = x;
    f->tail = x;
}

static void xp_ts1__remove(struct xp_policer *pol, struct xp_dst_slot *s, uint32_t x)
{
    struct xp_pair *P = pol->pairs;
    struct xp_ts1_fifo *f;

    if (!(P[x].flags & XP_PAIR_F_FIFO)) {
        xp_heap__remove(P, s, x);
        return;
    }
    f = &pol->fifos[P[x].dst];
    if (P[x].h_prev != XP_NIL)
        P[P[x].h_prev].h_sib = P[x].h_sib;
    else
        f->head = P[x].h_sib;
    if (P[x].h_sib != XP_NIL)
        P[P[x].h_sib].h_prev = P[x].h_prev;
    else
        f->tail = P[x].h_prev;
    P[x].h_sib = P[x].h_prev = XP_NIL;
    P[x].flags &= ~XP_PAIR_F_FIFO;
}

/* The member of slot d with the earliest ts1 (the FIFO's head on a tie), or XP_NIL. */
static inline uint32_t xp_ts1__first(const struct xp_policer *pol, uint32_t d)
{
    const struct xp_pair *P = pol->pairs;
    uint32_t h = pol->fifos[d].head, r = pol->slots[d].heap_root;

    if (h == XP_NIL)
        return r;
    if (r == XP_NIL)
        return h;
    return P[r].ts1 < P[h].ts1 ? r : h;
}

static inline void xp_slot__publish_ts1(const struct xp_policer *pol, uint32_t d)
{
    uint32_t first = xp_ts1__first(pol, d);

    XP_ATOMIC_SET(&pol->slots[d].ts1_min, first == XP_NIL ? UINT64_MAX : pol->pairs[first].ts1);
}

/* ---- pair <-> destination aggregate ---- */

/* The pair's share of its destination aggregate: none if the dst table was full, or while idle. */
static inline struct xp_dst_slot *xp_pair__slot(struct xp_policer *pol, const struct xp_pair *p)
{
    return p->dst == XP_NIL || (p->flags & XP_PAIR_F_IDLE) ? NULL : &pol->slots[p->dst];
}

static void xp_pair__attach(struct xp_policer *pol, uint32_t idx)
{
    struct xp_pair *P = pol->pairs, *p = &P[idx];
    struct xp_dst_slot *s = xp_pair__slot(pol, p);

    if (!s)
        return;
    xp_ts1__insert(pol, s, idx);
    if (p->flags & XP_PAIR_F_REMOTE)
        atomic_fetch_add_explicit(&pol->dst->entries[p->dst].remote_pairs, 1,
                                  memory_order_relaxed);
    XP_ATOMIC_ADD(&s->c_sum, p->c);
    if (p->ts2 > XP_ATOMIC_GET(&s->ts2_max))
        XP_ATOMIC_SET(&s->ts2_max, p->ts2);
    xp_slot__publish_ts1(pol, p->dst);
}

/*
 * The member after x in the heap under root, in preorder, without a stack
 * (h_prev leads back up: to the parent from a first child, else to the left
 * sibling); XP_NIL after the last.
 */
static uint32_t xp_heap__next(const struct xp_pair *P, uint32_t root, uint32_t x)
{
    if (P[x].h_child != XP_NIL)
        return P[x].h_child;
    /* no child: the next sibling of x or of its nearest ancestor that has one */
    while (x != root && P[x].h_sib == XP_NIL) {
        uint32_t up = P[x].h_prev;

        while (P[up].h_child != x) {
            x = up;
            up = P[x].h_prev;
        }
        x = up;
    }
    return x == root ? XP_NIL : P[x].h_sib;
}

/* Every member of slot d: the FIFO from its head, then the heap; first is XP_NIL. */
static inline uint32_t xp_slot__next_member(const struct xp_policer *pol, uint32_t d, uint32_t x)
{
    const struct xp_pair *P = pol->pairs;
    uint32_t root = pol->slots[d].heap_root;

    if (x == XP_NIL)
        return pol->fifos[d].head != XP_NIL ? pol->fifos[d].head : root;
    if (P[x].flags & XP_PAIR_F_FIFO)
        return P[x].h_sib != XP_NIL ? P[x].h_sib : root;
    return xp_heap__next(P, root, x);
}

/* The largest of m and the ts2 of the heap's members; stops as soon as it reaches stop. */
static uint64_t xp_heap__max_ts2(const struct xp_pair *P, uint32_t root, uint64_t m,
                                 uint64_t stop)
{
    for (uint32_t x = root; x != XP_NIL && m < stop; x = xp_heap__next(P, root, x))
        if (P[x].ts2 > m)
            m = P[x].ts2;
    return m;
}

/*
 * The pair holding ts2_max left: find the new maximum among the members,
 * the FIFO from its tail (the latest windows, likely the latest packets)
 * and then the heap, stopping at the first member as late as the old one.
 */
static void xp_slot__recompute_ts2(const struct xp_policer *pol, uint32_t d, uint64_t old_max)
{
    const struct xp_pair *P = pol->pairs;
    uint64_t m = 0;

    for (uint32_t i = pol->fifos[d].tail; i != XP_NIL && m < old_max; i = P[i].h_prev)
        if (P[i].ts2 > m)
            m = P[i].ts2;
    m = xp_heap__max_ts2(P, pol->slots[d].heap_root, m, old_max);
    XP_ATOMIC_SET(&pol->slots[d].ts2_max, m);
}

static void xp_pair__detach(struct xp_policer *pol, uint32_t idx)
{
    struct xp_pair *P = pol->pairs, *p = &P[idx];
    struct xp_dst_slot *s = xp_pair__slot(pol, p);

    if (!s)
        return;
    xp_ts1__remove(pol, s, idx);
    if (p->flags & XP_PAIR_F_REMOTE)
        atomic_fetch_sub_explicit(&pol->dst->entries[p->dst].remote_pairs, 1,
                                  memory_order_relaxed);
    if (pol->fifos[p->dst].head == XP_NIL && s->heap_root == XP_NIL) {
        /* an empty slot must not contribute at all */
        XP_ATOMIC_SET(&s->c_sum, 0);
        XP_ATOMIC_SET(&s->ts2_max, 0);
    } else {
        XP_ATOMIC_SET(&s->c_sum, XP_ATOMIC_GET(&s->c_sum) - p->c);
        if (p->ts2 >= XP_ATOMIC_GET(&s->ts2_max))
            xp_slot__recompute_ts2(pol, p->dst, p->ts2);
    }
    xp_slot__publish_ts1(pol, p->dst);
}

/*
 * Mark pair idx as known only from the central node (on) or as ours (off),
 * keeping its destination's count of such pairs (drop provenance) right.
 */
static void xp_pair__set_remote(struct xp_policer *pol, uint32_t idx, bool on)
{
    struct xp_pair *p = &pol->pairs[idx];

    if (!(p->flags & XP_PAIR_F_REMOTE) == !on)
        return;
    if (on)
        p->flags |= XP_PAIR_F_REMOTE;
    else
        p->flags &= ~XP_PAIR_F_REMOTE;
    if (xp_pair__slot(pol, p)) {
        if (on)
            atomic_fetch_add_explicit(&pol->dst->entries[p->dst].remote_pairs, 1,
                                      memory_order_relaxed);
        else
            atomic_fetch_sub_explicit(&pol->dst->entries[p->dst].remote_pairs, 1,
                                      memory_order_relaxed);
    }
}

static void xp_pair__set_ts1(struct xp_policer *pol, uint32_t idx, uint64_t ts1)
{
    struct xp_pair *P = pol->pairs;
    struct xp_dst_slot *s = xp_pair__slot(pol, &P[idx]);

    if (P[idx].ts1 == ts1)
        return;
    if (!s) {
        P[idx].ts1 = ts1;
        return;
    }
    xp_ts1__remove(pol, s, idx);
    P[idx].ts1 = ts1;
    xp_ts1__insert(pol, s, idx);
    xp_slot__publish_ts1(pol, P[idx].dst);
}

static inline uint64_t xp_pair__dc(const struct xp_pair *p)
{
    return p->c - p->dc_off;
}

static inline void xp_pair__set_dc(struct xp_pair *p, uint64_t dc)
{
    p->dc_off = p->c - dc;
}

/* Set c, keeping dc as it was. */
static void xp_pair__set_c(struct xp_policer *pol, uint32_t idx, uint64_t c)
{
    struct xp_pair *p = &pol->pairs[idx];
    struct xp_dst_slot *s = xp_pair__slot(pol, p);
    uint64_t dc = xp_pair__dc(p);

    if (s)
        XP_ATOMIC_SET(&s->c_sum, XP_ATOMIC_GET(&s->c_sum) - p->c + c);
    p->c = c;
    xp_pair__set_dc(p, dc);
}

static void xp_pair__set_ts2(struct xp_policer *pol, uint32_t idx, uint64_t ts2)
{
    struct xp_pair *p = &pol->pairs[idx];
    struct xp_dst_slot *s = xp_pair__slot(pol, p);
    uint64_t old = p->ts2, max;

    p->ts2 = ts2;
    if (!s)
        return;
    max = XP_ATOMIC_GET(&s->ts2_max);
    if (ts2 > max)
        XP_ATOMIC_SET(&s->ts2_max, ts2);
    else if (ts2 < old && old >= max)
        xp_slot__recompute_ts2(pol, p->dst, old);
}

/* ---- dirty list ---- */

static void xp_dirty__add(struct xp_policer *pol, uint32_t idx)
{
    struct xp_pair *P = pol->pairs;

    if (P[idx].flags & XP_PAIR_F_DIRTY)
        return;
    P[idx].flags |= XP_PAIR_F_DIRTY;
    P[idx].d_next = XP_NIL;
    P[idx].d_prev = pol->dirty_tail;
    if (pol->dirty_tail != XP_NIL)
        P[pol->dirty_tail].d_next = idx;
    else
        pol->dirty_head = idx;
    pol->dirty_tail = idx;
}

static void xp_dirty__remove(struct xp_policer *pol, uint32_t idx)
{
    struct xp_pair *P = pol->pairs;

    if (!(P[idx].flags & XP_PAIR_F_DIRTY))
        return;
    P[idx].flags &= ~XP_PAIR_F_DIRTY;
    if (P[idx].d_prev != XP_NIL)
        P[P[idx].d_prev].d_next = P[idx].d_next;
    else
        pol->dirty_head = P[idx].d_next;
    if (P[idx].d_next != XP_NIL)
        P[P[idx].d_next].d_prev = P[idx].d_prev;
    else
        pol->dirty_tail = P[idx].d_prev;
    P[idx].d_next = P[idx].d_prev = XP_NIL;
}

/* ---- allocation, eviction ---- */

static void xp_pair__evict(struct xp_policer *pol, uint32_t idx)
{
    struct xp_pair *p = &pol->pairs[idx];

    xp_index__remove(pol, p->hash, idx);
    xp_pair__detach(pol, idx);
    xp_dirty__remove(pol, idx);
    if (pol->owners)
        xp_owners__release(pol->owners, p->hash, pol->worker_id);
    p->flags = 0;
    p->f_next = pol->free_head;
    pol->free_head = idx;
    XP_ATOMIC_SET(&pol->cnt.pairs_in_use, XP_ATOMIC_GET(&pol->cnt.pairs_in_use) - 1);
}

static inline bool xp_pair__idle(const struct xp_policer *pol, const struct xp_pair *p,
                                 uint64_t t)
{
    return xp_span(t, p->ts2) > pol->lim.t_t1_ns;
}

/*
 * Free one entry among cand[]: an idle one if any, else what the policy
 * says. Returns 0, or the refusal verdict's error (-ENOSPC) with *verdict set.
 */
static int xp_policer__reclaim(struct xp_policer *pol, const uint32_t *cand, unsigned n,
                               uint64_t t, enum xp_verdict *verdict)
{
    uint32_t oldest = XP_NIL;

    for (unsigned i = 0; i < n; i++) {
        const struct xp_pair *p = &pol->pairs[cand[i]];

        if (xp_pair__idle(pol, p, t)) {
            xp_pair__evict(pol, cand[i]);
            XP_STAT_ADD(pol->cnt.evict_idle, 1);
            return 0;
        }
        if (oldest == XP_NIL || p->ts2 < pol->pairs[oldest].ts2)
            oldest = cand[i];
    }
    switch (pol->lim.full_policy) {
    case XP_FULL_EVICT_OLDEST:
        if (oldest == XP_NIL)
            break;
        xp_pair__evict(pol, oldest);
        XP_STAT_ADD(pol->cnt.evict_oldest, 1);
        return 0;
    case XP_FULL_REFUSE_PASS:
        XP_STAT_ADD(pol->cnt.refused_pass, 1);
        *verdict = XP_VERDICT_FORWARD;
        return -ENOSPC;
    case XP_FULL_REFUSE_DROP:
        XP_STAT_ADD(pol->cnt.refused_drop, 1);
        *verdict = XP_VERDICT_DROP_FULL;
        return -ENOSPC;
    }
    *verdict = XP_VERDICT_FORWARD;
    return -ENOSPC;
}

/* The pool is full: sample the next entries after the CLOCK hand. */
static int xp_policer__reclaim_pool(struct xp_policer *pol, uint64_t t, enum xp_verdict *v)
{
    uint32_t cand[XP_RECLAIM_SCAN];
    unsigned n = pol->capacity < XP_RECLAIM_SCAN ? pol->capacity : XP_RECLAIM_SCAN;

    for (unsigned i = 0; i < n; i++) {
        cand[i] = pol->hand;
        pol->hand = pol->hand + 1 == pol->capacity ? 0 : pol->hand + 1;
    }
    return xp_policer__reclaim(pol, cand, n, t, v);
}

/* The probe neighbourhood of h is full (rare at load <= 1/2): free a slot in it. */
static int xp_policer__reclaim_near(struct xp_policer *pol, uint64_t h, uint64_t t,
                                    enum xp_verdict *v)
{
    uint32_t cand[XP_MAX_PROBE * XP_BUCKET_SLOTS];
    uint32_t b = (uint32_t)h & pol->bmask;
    unsigned n = 0;

    for (unsigned i = 0; i < XP_MAX_PROBE; i++)
        for (unsigned s = 0; s < XP_BUCKET_SLOTS; s++)
            cand[n++] = pol->buckets[(b + i) & pol->bmask].idx[s];
    return xp_policer__reclaim(pol, cand, n, t, v);
}

/*
 * Before creating key's pair (hash h, not in our table): who owns it? Us
 * (claimed now, or no directory), or another worker (its id, and its
 * published block in pol->foreign_block). A full directory leaves the pair
 * ours without an entry (counted): it may then be split, never lost.
 */
static int xp_policer__owner_for_new(struct xp_policer *pol, uint64_t h)
{
    int owner;

    if (!pol->owners)
        return (int)pol->worker_id;
    pol->foreign_block = 0;
    owner = xp_owners__find(pol->owners, h, &pol->foreign_block);
    if (owner < 0 || owner == (int)pol->worker_id)
        owner = xp_owners__claim(pol->owners, h, pol->worker_id);
    if (owner == -ENOSPC) {
        XP_STAT_ADD(pol->cnt.owners_full, 1);
        return (int)pol->worker_id;
    }
    return owner;
}

/* Create the pair with ts1 = ts2 = t, c = dc = 0; XP_NIL if refused (*v says what to do). */
static uint32_t xp_pair__new(struct xp_policer *pol, const struct xp_policer_key *key,
                             uint64_t h, uint64_t t, enum xp_verdict *v)
{
    struct xp_pair *p;
    uint32_t idx, *slot_dst;

    if (pol->free_head == XP_NIL && xp_policer__reclaim_pool(pol, t, v) < 0)
        goto refused;
    idx = pol->free_head;
    pol->free_head = pol->pairs[idx].f_next;
    slot_dst = xp_index__insert(pol, h, idx);
    if (!slot_dst) {
        if (xp_policer__reclaim_near(pol, h, t, v) < 0 ||
            !(slot_dst = xp_index__insert(pol, h, idx))) {
            pol->pairs[idx].f_next = pol->free_head;
            pol->free_head = idx;
            goto refused;
        }
    }
    p = &pol->pairs[idx];
    p->key = *key;
    p->hash = h;
    p->ts1 = p->ts2 = t;
    p->c = p->dc_off = 0;
    p->flags = XP_PAIR_F_USED;
    p->gen = 0;
    p->shrinks = 0;
    p->fs_tat = 0;
    p->d_next = p->d_prev = XP_NIL;
    p->dst = xp_dst_table__get(pol->dst, key->dst);
    *slot_dst = p->dst;
    if (p->dst == XP_NIL)
        XP_STAT_ADD(pol->cnt.dst_full, 1);
    xp_pair__attach(pol, idx);
    XP_STAT_ADD(pol->cnt.inserts, 1);
    XP_ATOMIC_SET(&pol->cnt.pairs_in_use, XP_ATOMIC_GET(&pol->cnt.pairs_in_use) + 1);
    return idx;

refused:
    /* the claim made for it (xp_policer__owner_for_new) goes with it */
    if (pol->owners)
        xp_owners__release(pol->owners, h, pol->worker_id);
    return XP_NIL;
}

/*
 * Give pair idx a destination entry (it has none: new, back from idle, or
 * the table was full) and join that destination's aggregate.
 */
static void xp_pair__join_dst(struct xp_policer *pol, uint32_t idx)
{
    struct xp_pair *p = &pol->pairs[idx];

    p->dst = xp_dst_table__get(pol->dst, p->key.dst);
    xp_index__set_dst(pol, p->hash, idx, p->dst);
    if (p->dst == XP_NIL)
        XP_STAT_ADD(pol->cnt.dst_full, 1);
    xp_pair__attach(pol, idx);
}

/*
 * Another proxy's pair (REMOTE) holds the window of the last sync answer.
 * Its home proxy shrinks it as soon as it passes T_T4, up to a sync period
 * before we hear of it; meanwhile its older ts1 would hold ts1* early (and
 * its unshrunk c inflate c*) while our own pairs of the same destination
 * have shrunk, so the destination's rate would dip or jump for a sync period
 * after every shrink. Apply the same shrink here, with now for its last
 * packet (an active pair's ts2 at home), as the home proxy does; the next
 * answer replaces the estimate with the real window.
 */
static void xp_pair__project_remote(struct xp_policer *pol, uint32_t idx, uint64_t t)
{
    struct xp_pair *p = &pol->pairs[idx];
    uint32_t r = pol->lim.shrink_r;
    uint64_t span = xp_span(t, p->ts1), ts1;

    if (r <= 1 || span <= pol->lim.t_t4_ns)
        return;
    ts1 = t - span / r;
    if (ts1 > p->ts2)
        ts1 = p->ts2;
    xp_pair__set_c(pol, idx, p->c / r);
    xp_pair__set_ts1(pol, idx, ts1);
}

/* Project the remote pairs at the root of our share of destination d (oldest ts1 first). */
static inline void xp_policer__project_slot(struct xp_policer *pol, uint32_t d, uint64_t t)
{
    const struct xp_dst_slot *s = &pol->slots[d];

    for (unsigned n = 0; n < 8; n++) {
        const struct xp_pair *root;
        uint32_t first;

        /*
         * ts1_min is the root's ts1: a window no longer than T_T4 is decided
         * on the slot's line, which the packet already has, without reading
         * the root's entry (a miss of its own on every packet otherwise).
         */
        if (xp_span(t, XP_ATOMIC_GET(&s->ts1_min)) <= pol->lim.t_t4_ns)
            return;
        first = xp_ts1__first(pol, d);
        if (first == XP_NIL)
            return;
        root = &pol->pairs[first];
        if (!(root->flags & XP_PAIR_F_REMOTE))
            return;
        xp_pair__project_remote(pol, first, t);
    }
}

/* ---- Algorithm 1 ---- */

static inline uint64_t xp_policer__clock(struct xp_policer *pol, uint64_t t)
{
    /* a per-worker monotone clock keeps t - ts2 meaningful if the wall clock steps back */
    if (t < pol->t_last) {
        XP_STAT_ADD(pol->cnt.clock_backsteps, 1);
        return pol->t_last;
    }
    pol->t_last = t;
    return t;
}

/*
 * Find or create key's pair (hash h) and count n packets at t (lines 1-9).
 * Returns its index, XP_NIL if refused (*v says what to do), or XP_FOREIGN
 * if another worker owns it (pol->foreign_owner; nothing counted here).
 * prefetch_dst: the dst slots are not in cache yet (single-packet path).
 */
static inline uint32_t xp_policer__count(struct xp_policer *pol,
                                         const struct xp_policer_key *key, uint64_t h,
                                         uint64_t n, uint64_t t, enum xp_verdict *v,
                                         bool prefetch_dst)
{
    uint32_t idx = xp_index__find(pol, key, h, prefetch_dst);
    struct xp_pair *p;
    struct xp_dst_slot *s;

    if (idx == XP_NIL) {
        int owner = xp_policer__owner_for_new(pol, h);

        if (owner != (int)pol->worker_id) {
            pol->foreign_owner = owner;
            return XP_FOREIGN;
        }
        idx = xp_pair__new(pol, key, h, t, v);
        if (idx == XP_NIL)
            return XP_NIL;
    } else if (xp_pair__idle(pol, &pol->pairs[idx], t)) {
        p = &pol->pairs[idx];
        xp_pair__set_c(pol, idx, 0);
        xp_pair__set_dc(p, 0);
        p->flags = (p->flags | XP_PAIR_F_MARK) & ~XP_PAIR_F_WARNED;
        p->gen++;
        if ((p->flags & XP_PAIR_F_IDLE) || p->dst == XP_NIL) {
            /* out of the aggregate (idle, or no room then): back as a new window */
            p->ts1 = p->ts2 = t;
            p->flags &= ~XP_PAIR_F_IDLE;
            xp_pair__join_dst(pol, idx);
        } else {
            xp_pair__set_ts1(pol, idx, t);
        }
        XP_STAT_ADD(pol->cnt.restarts, 1);
    }
    p = &pol->pairs[idx];
    s = xp_pair__slot(pol, p);
    /* a remote pair's first packet here makes it ours (a branch on a line already read) */
    if (p->flags & XP_PAIR_F_REMOTE)
        xp_pair__set_remote(pol, idx, false);
    /* dc grows with c through dc_off */
    p->c += n;
    /* ts2 never moves back: a sync may have installed a later ts2 from another proxy */
    if (t > p->ts2)
        p->ts2 = t;
    if (s) {
        XP_ATOMIC_ADD(&s->c_sum, n);
        if (p->ts2 > XP_ATOMIC_GET(&s->ts2_max))
            XP_ATOMIC_SET(&s->ts2_max, p->ts2);
    }
    xp_dirty__add(pol, idx);
    return idx;
}

/* The part of the shrink that runs rarely (once per T_T4 / r of activity). */
static void __attribute__((noinline)) xp_policer__shrink(struct xp_policer *pol, uint32_t idx,
                                                         uint64_t span)
{
    struct xp_pair *p = &pol->pairs[idx];
    uint32_t r = pol->lim.shrink_r;
    uint64_t dc = xp_pair__dc(p);

    /*
     * dc shrinks with c: it is the local part of c, and the shrink scales
     * every packet in the window, ours included. Shipping it unscaled would
     * add (1 - 1/r) of it twice over (docs/policer.md, "exactly once").
     */
    xp_pair__set_c(pol, idx, p->c / r);
    xp_pair__set_dc(p, dc / r);
    xp_pair__set_ts1(pol, idx, p->ts2 - span / r);
    p->shrinks++;
    XP_STAT_ADD(pol->cnt.shrinks, 1);
}

/*
 * Shrink after the verdict: the packet that crosses T_T4 is judged on the
 * full window, and limits__check() guarantees the shrunk window stays longer
 * than T_T2 and T_T3, so the tests stay armed for the next packets.
 */
static inline void xp_policer__maybe_shrink(struct xp_policer *pol, uint32_t idx)
{
    const struct xp_pair *p = &pol->pairs[idx];
    uint64_t span;

    if (pol->lim.shrink_r <= 1)
        return;
    span = xp_span(p->ts2, p->ts1);
    if (span > pol->lim.t_t4_ns)
        xp_policer__shrink(pol, idx, span);
}

/*
 * Count n packets of key, all at t, as n packets would count one by one:
 * the first may create or restart the pair, and a window shrinks at the
 * first packet that finds it past T_T4, not after all n (shrinking after
 * them would floor the n packets too). The last packet's shrink is left to
 * the caller (xp_policer__judge, or maybe_shrink). Returns as count().
 */
static uint32_t xp_policer__count_n(struct xp_policer *pol, const struct xp_policer_key *key,
                                    uint64_t h, uint64_t n, uint64_t t, enum xp_verdict *v)
{
    uint32_t idx = xp_policer__count(pol, key, h, 1, t, v, true);
    struct xp_pair *p;

    if (idx == XP_NIL || idx == XP_FOREIGN)
        return idx;
    p = &pol->pairs[idx];
    while (--n) {
        struct xp_dst_slot *s;
        uint64_t k = 1;

        xp_policer__maybe_shrink(pol, idx);
        /* the rest at once unless the window is still past T_T4 (then one more, and look again) */
        if (pol->lim.shrink_r <= 1 || xp_span(p->ts2, p->ts1) <= pol->lim.t_t4_ns)
            k = n;
        s = xp_pair__slot(pol, p);
        p->c += k; /* dc grows with c through dc_off */
        if (s)
            XP_ATOMIC_ADD(&s->c_sum, k);
        n -= k - 1;
    }
    return idx;
}

static inline uint64_t xp_rate_pps(uint64_t c, uint64_t span)
{
    return span ? (uint64_t)((unsigned __int128)c * XP_NSEC_PER_SEC / span) : 0;
}

/*
 * The evidence of a verdict on pair p at t: its window, its destination's
 * aggregate (agg, or read now if NULL) and the limits. Only on drops.
 */
static void __attribute__((noinline))
xp_policer__evidence(const struct xp_policer *pol, const struct xp_pair *p, uint64_t t,
                     const struct xp_policer_unit_group *ug, const struct xp_policer_dst_group *dg,
                     const struct xp_dst_aggregate *agg, struct xp_policer_evidence *why)
{
    struct xp_dst_aggregate now;

    memset(why, 0, sizeof(*why));
    why->t_ns = t;
    why->ts1 = p->ts1;
    why->ts2 = p->ts2;
    why->c = p->c;
    why->rate_pps = xp_rate_pps(p->c, xp_span(p->ts2, p->ts1));
    /* the thresholds of the pair's groups, those the verdict used */
    why->t_f1_pps = ug->t_f1_pps;
    why->t_f2_pps = dg->t_f2_pps;
    why->t_t2_ns = ug->t_t2_ns;
    why->t_t3_ns = dg->t_t3_ns;
    if (p->dst == XP_NIL || (p->flags & XP_PAIR_F_IDLE))
        return;
    if (!agg) {
        xp_dst_table__aggregate(pol->dst, p->dst, &now);
        agg = &now;
    }
    why->has_dst = true;
    why->dst_ts1 = agg->ts1;
    why->dst_ts2 = agg->ts2;
    why->dst_c = agg->c;
    why->dst_rate_pps = agg->ts2 > agg->ts1 ? xp_rate_pps(agg->c, agg->ts2 - agg->ts1) : 0;
    why->dst_remote_pairs = atomic_load_explicit(&pol->dst->entries[p->dst].remote_pairs,
                                                 memory_order_relaxed);
}

/*
 * fair_share, for a packet of p: forward it if the pair is within its share
 * of the destination, a rate limit with a burst tolerance (GCRA: one time
 * stamp per pair, no refill loop). The share comes from the last fair tick.
 * A destination is limited while its aggregate is over T_F2 (over: none, or
 * a share older than XP_FAIR_STALE_NS, limits to 0, so what is over T_F2 is
 * dropped until a share is known), and after that while the last tick found
 * its units' demands over T_F2 (a published level other than UINT64_MAX):
 * the aggregate test alone understates the rate for a moment whenever a
 * long window shrinks (c* over min ts1 mixes windows of different lengths),
 * which would let the whole overload through for that moment.
 */
static enum xp_verdict __attribute__((noinline)) xp_policer__fair(struct xp_policer *pol,
                                                                  struct xp_pair *p, uint64_t t,
                                                                  bool over)
{
    const struct xp_dst_share *sh = &pol->dst->shares[p->dst];
    uint64_t at = XP_ATOMIC_GET(&sh->t_ns), level = XP_ATOMIC_GET(&sh->level), tat;

    if (!at || xp_span(t, at) > XP_FAIR_STALE_NS) {
        if (!over)
            return XP_VERDICT_FORWARD;
        level = 0;
    }
    if (level == UINT64_MAX)
        return XP_VERDICT_FORWARD;
    if (level == 0)
        return XP_VERDICT_DROP_DST_SHARE;
    tat = p->fs_tat > t ? p->fs_tat : t;
    if (tat - t > XP_FAIR_BURST_NS)
        return XP_VERDICT_DROP_DST_SHARE;
    p->fs_tat = tat + XP_NSEC_PER_SEC / level;
    return XP_VERDICT_FORWARD;
}

/*
 * The tests, after pair idx counted its packets at t (lines 10-38): the unit
 * test, else the destination test over every worker's share; then the
 * shrink. If an overload event is raised, *n_ev grows by one and, if ev is
 * not NULL, *ev is filled in; otherwise ev is left alone. A drop verdict
 * fills *why (if not NULL) with its evidence, before the shrink.
 */
static inline enum xp_verdict xp_policer__judge(struct xp_policer *pol, uint32_t idx,
                                                uint64_t t, uint32_t grp,
                                                struct xp_policer_event *ev, unsigned *n_ev,
                                                struct xp_policer_evidence *why)
{
    enum xp_verdict v = XP_VERDICT_FORWARD;
    struct xp_pair *p = &pol->pairs[idx];
    unsigned ui = XP_POLICER_UNIT_GROUP(grp), di = XP_POLICER_DST_GROUP(grp);
    const struct xp_policer_unit_group *ug = &pol->ug[ui < pol->n_ug ? ui : 0];
    const struct xp_policer_dst_group *dg = &pol->dg[di < pol->n_dg ? di : 0];
    uint64_t span;

    /* unit test (massive attack) */
    span = xp_span(p->ts2, p->ts1);
    if (span > ug->t_t2_ns && xp_over_rate(p->c, span, ug->t_f1_pps)) {
        v = XP_VERDICT_DROP_UNIT;
        if (!(p->flags & XP_PAIR_F_WARNED)) {
            p->flags |= XP_PAIR_F_WARNED;
            XP_STAT_ADD(pol->cnt.warnings, 1);
            (*n_ev)++;
            if (ev) {
                ev->kind = XP_POLICER_EV_OVERLOAD;
                ev->key = p->key;
                ev->rate_pps = (uint64_t)((unsigned __int128)p->c * XP_NSEC_PER_SEC / span);
                ev->threshold_pps = ug->t_f1_pps;
                ev->t_ns = t;
            }
        }
        if (why)
            xp_policer__evidence(pol, p, t, ug, dg, NULL, why);
        goto shrink;
    }

    /* destination test (low-rate attack), over every worker's share */
    if (p->dst != XP_NIL) {
        struct xp_dst_aggregate agg;

        if (pol->lim.shrink_r > 1)
            xp_policer__project_slot(pol, p->dst, t);
        xp_dst_table__aggregate(pol->dst, p->dst, &agg);
        span = xp_span(agg.ts2, agg.ts1);
        if (span > dg->t_t3_ns && xp_over_rate(agg.c, span, dg->t_f2_pps)) {
            v = dg->dst_policy == XP_DST_FAIR_SHARE ? xp_policer__fair(pol, p, t, true)
                                                    : XP_VERDICT_DROP_DST;
            if (why && v != XP_VERDICT_FORWARD)
                xp_policer__evidence(pol, p, t, ug, dg, &agg, why);
        } else if (dg->dst_policy == XP_DST_FAIR_SHARE) {
            v = xp_policer__fair(pol, p, t, false);
            if (why && v != XP_VERDICT_FORWARD)
                xp_policer__evidence(pol, p, t, ug, dg, &agg, why);
        }
    }
shrink:
    xp_policer__maybe_shrink(pol, idx);
    return v;
}

/*
 * n packets of key at t belong to the pair another worker owns (found by
 * the count() that returned XP_FOREIGN): hand them over, and drop them if
 * the owner has blocked the pair.
 */
static enum xp_verdict xp_policer__hand_off(struct xp_policer *pol,
                                            const struct xp_policer_key *key, uint32_t grp,
                                            uint64_t n, uint64_t t)
{
    uint64_t block = pol->foreign_block;

    if (xp_owners__produce(pol->owners, pol->worker_id, (unsigned)pol->foreign_owner, key, grp,
                           t, n))
        pol->handoff_pending = true;
    else
        XP_STAT_ADD(pol->cnt.foreign_lost, n);
    XP_STAT_ADD(pol->cnt.foreign, n);
    if (block && (block >> 8) > t / 1000000) {
        XP_STAT_ADD(pol->cnt.foreign_dropped, n);
        return (block & 0xff) == XP_VERDICT_DROP_DST ? XP_VERDICT_FOREIGN_DROP_DST
                                                     : XP_VERDICT_FOREIGN_DROP_UNIT;
    }
    return XP_VERDICT_FOREIGN;
}

/* Make this worker's hand-offs visible to their owners (end of a call). */
static inline void xp_policer__publish_handoffs(struct xp_policer *pol)
{
    if (pol->handoff_pending) {
        xp_owners__publish(pol->owners, pol->worker_id);
        pol->handoff_pending = false;
    }
}

/*
 * Police one packet whose key hashes to h: the whole of xp_policer__packet()
 * but the event reset and the publication of hand-offs. If an overload
 * event is raised, *n_ev grows by one and, if ev is not NULL, *ev is filled
 * in; otherwise ev is left alone.
 */
static inline enum xp_verdict xp_policer__police(struct xp_policer *pol,
                                                 const struct xp_policer_key *key, uint64_t h,
                                                 uint32_t grp, uint64_t t,
                                                 struct xp_policer_event *ev, unsigned *n_ev,
                                                 bool prefetch_dst, struct xp_policer_evidence *why)
{
    enum xp_verdict v = XP_VERDICT_FORWARD;
    uint32_t idx;

    XP_STAT_ADD(pol->cnt.packets, 1);
    t = xp_policer__clock(pol, t);
    idx = xp_policer__count(pol, key, h, 1, t, &v, prefetch_dst);
    if (idx == XP_FOREIGN)
        return xp_policer__hand_off(pol, key, grp, 1, t);
    if (idx != XP_NIL)
        v = xp_policer__judge(pol, idx, t, grp, ev, n_ev, why);
    switch (v) {
    case XP_VERDICT_FORWARD:
        XP_STAT_ADD(pol->cnt.forward, 1);
        break;
    case XP_VERDICT_DROP_UNIT:
        XP_STAT_ADD(pol->cnt.drop_unit, 1);
        break;
    case XP_VERDICT_DROP_DST:
        XP_STAT_ADD(pol->cnt.drop_dst, 1);
        break;
    case XP_VERDICT_DROP_FULL:
        XP_STAT_ADD(pol->cnt.drop_full, 1);
        break;
    case XP_VERDICT_DROP_DST_SHARE:
        XP_STAT_ADD(pol->cnt.drop_dst_share, 1);
        break;
    default:
        break;
    }
    return v;
}

enum xp_verdict xp_policer__packet(struct xp_policer *pol, const struct xp_policer_key *key,
                                   uint64_t t, struct xp_policer_event *ev)
{
    unsigned n_ev = 0;

    enum xp_verdict v;

    if (ev)
        ev->kind = XP_POLICER_EV_NONE;
    v = xp_policer__police(pol, key, xp_pair_hash(pol->seed, key), 0, t, ev, &n_ev, true, NULL);
    xp_policer__publish_handoffs(pol);
    return v;
}

/*
 * Burst stage 3 look-ahead for the pair at idx (a candidate, possibly
 * stale: only a hint): its first line was asked for in stage 2 and has
 * likely arrived. Ask for the second line when the packet will write it
 * (joining the dirty list, or a restart), and for a restart also the heap
 * neighbours that the move of ts1 will touch.
 */
static inline void xp_policer__prefetch_cold(const struct xp_policer *pol, uint32_t idx,
                                             uint64_t t, bool neighbours)
{
    const struct xp_pair *P = pol->pairs, *p;
    bool idle;

    if (idx == XP_NIL)
        return;
    p = &P[idx];
    idle = xp_pair__idle(pol, p, t);
    if (!neighbours) {
        if (idle || !(p->flags & XP_PAIR_F_DIRTY))
            __builtin_prefetch((const char *)p + XP_CACHE_LINE, 1);
        return;
    }
    if (!idle || p->dst == XP_NIL)
        return;
    /*
     * Second line asked for XP_BURST_AHEAD / 2 packets ago. The move of ts1
     * rewrites the links of the neighbours (FIFO or heap), which are on their
     * second lines; the append at the FIFO's tail reads the tail's ts1 (first
     * line) and writes its link (second line).
     */
    if (p->h_prev != XP_NIL)
        __builtin_prefetch((const char *)&P[p->h_prev] + XP_CACHE_LINE, 1);
    if (p->h_sib != XP_NIL)
        __builtin_prefetch((const char *)&P[p->h_sib] + XP_CACHE_LINE, 1);
    if (p->h_child != XP_NIL)
        __builtin_prefetch((const char *)&P[p->h_child] + XP_CACHE_LINE, 1);
    {
        uint32_t tail = pol->fifos[p->dst].tail;

        if (tail != XP_NIL && tail != idx) {
            __builtin_prefetch(&P[tail], 0);
            __builtin_prefetch((const char *)&P[tail] + XP_CACHE_LINE, 1);
        }
    }
}

/* One chunk of at most XP_BURST_CHUNK packets; see xp_policer__packet_burst(). */
static unsigned xp_policer__burst_chunk(struct xp_policer *pol, const struct xp_policer_key *keys,
                                        const uint32_t *grp, unsigned n, uint64_t t,
                                        enum xp_verdict *verdicts,
                                        struct xp_policer_event *events,
                                        struct xp_policer_evidence *why)
{
    uint64_t h[XP_BURST_CHUNK];
    uint32_t cand[XP_BURST_CHUNK + XP_BURST_AHEAD];
    unsigned n_ev = 0;

    /* stage 1: hash the burst and ask for every home bucket */
    for (unsigned i = 0; i < n; i++) {
        h[i] = xp_pair_hash(pol->seed, &keys[i]);
        __builtin_prefetch(xp_home_bucket(pol, h[i]), 0);
    }
    /*
     * Stage 2: the buckets have had a whole pass to arrive. A tag match
     * names the likely pair entry and its dst slots: ask for both. A miss
     * (new pair, or one that overflowed its home bucket) is left to the
     * sequential pass.
     */
    for (unsigned i = 0; i < n; i++) {
        const struct xp_bucket *bk = xp_home_bucket(pol, h[i]);
        uint16_t tag = xp_hash_tag(h[i]);

        cand[i] = XP_NIL;
        for (unsigned s = 0; s < XP_BUCKET_SLOTS; s++) {
            if (bk->tag[s] != tag || bk->idx[s] == XP_NIL)
                continue;
            cand[i] = bk->idx[s];
            __builtin_prefetch(&pol->pairs[cand[i]], 1);
            xp_policer__prefetch_dst(pol, bk->dst[s]);
            break;
        }
    }
    for (unsigned i = n; i < n + XP_BURST_AHEAD; i++)
        cand[i] = XP_NIL;
    /*
     * Stage 3: the exact sequential algorithm, packet by packet, so that
     * repeats, creations and evictions within the burst behave as with
     * xp_policer__packet(). It looks up the index again (the bucket is in
     * cache now) instead of trusting cand[], which earlier packets of the
     * burst may have made stale.
     */
    for (unsigned i = 0; i < n; i++) {
        struct xp_policer_event *ev = events ? &events[n_ev] : NULL;

        xp_policer__prefetch_cold(pol, cand[i + XP_BURST_AHEAD], t, false);
        xp_policer__prefetch_cold(pol, cand[i + XP_BURST_AHEAD / 2], t, true);
        verdicts[i] = xp_policer__police(pol, &keys[i], h[i], grp ? grp[i] : 0, t, ev, &n_ev,
                                         false, why ? &why[i] : NULL);
    }
    return n_ev;
}

unsigned xp_policer__packet_burst_groups(struct xp_policer *pol,
                                         const struct xp_policer_key *keys, const uint32_t *grp,
                                         unsigned n, uint64_t t, enum xp_verdict *verdicts,
                                         struct xp_policer_event *events,
                                         struct xp_policer_evidence *why)
{
    unsigned n_ev = 0;

    for (unsigned done = 0; done < n; done += XP_BURST_CHUNK) {
        unsigned m = n - done < XP_BURST_CHUNK ? n - done : XP_BURST_CHUNK;

        n_ev += xp_policer__burst_chunk(pol, keys + done, grp ? grp + done : NULL, m, t,
                                        verdicts + done, events ? events + n_ev : NULL,
                                        why ? why + done : NULL);
    }
    xp_policer__publish_handoffs(pol);
    return n_ev;
}

unsigned xp_policer__packet_burst_why(struct xp_policer *pol, const struct xp_policer_key *keys,
                                      unsigned n, uint64_t t, enum xp_verdict *verdicts,
                                      struct xp_policer_event *events,
                                      struct xp_policer_evidence *why)
{
    return xp_policer__packet_burst_groups(pol, keys, NULL, n, t, verdicts, events, why);
}

unsigned xp_policer__packet_burst(struct xp_policer *pol, const struct xp_policer_key *keys,
                                  unsigned n, uint64_t t, enum xp_verdict *verdicts,
                                  struct xp_policer_event *events)
{
    return xp_policer__packet_burst_why(pol, keys, n, t, verdicts, events, NULL);
}

int xp_policer__account(struct xp_policer *pol, const struct xp_policer_key *key, uint64_t n,
                        uint64_t t)
{
    return xp_policer__account_groups(pol, key, 0, n, t);
}

int xp_policer__account_groups(struct xp_policer *pol, const struct xp_policer_key *key,
                               uint32_t grp, uint64_t n, uint64_t t)
{
    enum xp_verdict v;
    uint32_t idx;

    if (n == 0)
        return -EINVAL;
    XP_STAT_ADD(pol->cnt.accounted, n);
    t = xp_policer__clock(pol, t);
    idx = xp_policer__count_n(pol, key, xp_pair_hash(pol->seed, key), n, t, &v);
    if (idx == XP_FOREIGN) {
        /* blocked here while we owned it, owned elsewhere since: its drops count there */
        xp_policer__hand_off(pol, key, grp, n, t);
        xp_policer__publish_handoffs(pol);
        return 0;
    }
    if (idx == XP_NIL)
        return -ENOSPC;
    xp_policer__maybe_shrink(pol, idx);
    return 0;
}

/* Records taken from a ring per call, so the stack stays small. */
#define XP_HANDOFF_BATCH 64

unsigned xp_policer__take_handoffs(struct xp_policer *pol, struct xp_policer_handoff *out,
                                   unsigned max, uint64_t *packets)
{
    struct xp_owner_rec rec[XP_HANDOFF_BATCH];
    unsigned n_out = 0;

    if (packets)
        *packets = 0;
    if (!pol->owners)
        return 0;
    for (unsigned from = 0; from < pol->owners->n_workers; from++) {
        unsigned n;

        if (from == pol->worker_id)
            continue;
        /* at most one output per record: never take more than out[] can report */
        while (n_out < max &&
               (n = xp_owners__consume(pol->owners, pol->worker_id, from, rec,
                                       max - n_out < XP_HANDOFF_BATCH ? max - n_out
                                                                      : XP_HANDOFF_BATCH))) {
            for (unsigned i = 0; i < n; i++) {
                struct xp_policer_handoff *o = &out[n_out];
                enum xp_verdict v = XP_VERDICT_FORWARD;
                unsigned n_ev = 0;
                uint32_t idx;
                /* a record is older than our latest packet by up to a loop turn: not a backstep */
                uint64_t t = rec[i].t > pol->t_last ? rec[i].t : pol->t_last;

                pol->t_last = t;
                if (packets)
                    *packets += rec[i].n;
                idx = xp_policer__count_n(pol, &rec[i].key,
                                          xp_pair_hash(pol->seed, &rec[i].key), rec[i].n, t, &v);
                if (idx == XP_FOREIGN) {
                    /* we let it go and a third worker took it since: pass the count on */
                    if (xp_owners__produce(pol->owners, pol->worker_id,
                                           (unsigned)pol->foreign_owner, &rec[i].key,
                                           rec[i].grp, t, rec[i].n))
                        pol->handoff_pending = true;
                    else
                        XP_STAT_ADD(pol->cnt.foreign_lost, rec[i].n);
                    XP_STAT_ADD(pol->cnt.foreign_relayed, rec[i].n);
                    continue;
                }
                if (idx == XP_NIL) {
                    XP_STAT_ADD(pol->cnt.foreign_refused, rec[i].n);
                    continue;
                }
                XP_STAT_ADD(pol->cnt.foreign_counted, rec[i].n);
                o->ev.kind = XP_POLICER_EV_NONE;
                v = xp_policer__judge(pol, idx, t, rec[i].grp, &o->ev, &n_ev, &o->why);
                /*
                 * Over its fair share: the worker that met them already
                 * forwarded these packets; they only used up the pair's
                 * allowance here (a share never blocks a pair).
                 */
                if (v == XP_VERDICT_DROP_DST_SHARE)
                    v = XP_VERDICT_FORWARD;
                if (v == XP_VERDICT_FORWARD && !n_ev)
                    continue;
                o->key = rec[i].key;
                o->grp = rec[i].grp;
                o->verdict = v;
                n_out++;
            }
        }
    }
    xp_policer__publish_handoffs(pol);
    return n_out;
}

void xp_policer__publish_block(struct xp_policer *pol, const struct xp_policer_key *key,
                               uint64_t t_until, enum xp_verdict verdict)
{
    if (!pol->owners)
        return;
    xp_owners__set_block(pol->owners, xp_pair_hash(pol->seed, key), pol->worker_id,
                         (t_until / 1000000) << 8 | (uint64_t)verdict);
}

/* ---- state access, sync ---- */

static void xp_pair__state(const struct xp_pair *p, struct xp_pair_state *out)
{
    out->ts1 = p->ts1;
    out->ts2 = p->ts2;
    out->c = p->c;
    out->dc = xp_pair__dc(p);
    out->mark = p->flags & XP_PAIR_F_MARK;
    out->gen = p->gen;
    out->shrinks = p->shrinks;
}

int xp_policer__lookup(const struct xp_policer *pol, const struct xp_policer_key *key,
                       struct xp_pair_state *out)
{
    uint32_t idx = xp_index__find(pol, key, xp_pair_hash(pol->seed, key), false);

    if (idx == XP_NIL)
        return -ENOENT;
    xp_pair__state(&pol->pairs[idx], out);
    return 0;
}

int xp_policer__why(const struct xp_policer *pol, const struct xp_policer_key *key, uint32_t grp,
                    uint64_t t, struct xp_policer_evidence *out, enum xp_verdict *verdict)
{
    uint32_t idx = xp_index__find(pol, key, xp_pair_hash(pol->seed, key), false);
    unsigned ui = XP_POLICER_UNIT_GROUP(grp), di = XP_POLICER_DST_GROUP(grp);
    const struct xp_policer_unit_group *ug = &pol->ug[ui < pol->n_ug ? ui : 0];
    const struct xp_policer_dst_group *dg = &pol->dg[di < pol->n_dg ? di : 0];
    struct xp_dst_aggregate agg;
    uint32_t d = XP_NIL;
    const struct xp_pair *p = NULL;
    uint64_t span;

    *verdict = XP_VERDICT_FORWARD;
    if (idx == XP_NIL) {
        static const struct xp_pair none = { .dst = XP_NIL };

        /* the thresholds, and the destination if any worker has it */
        xp_policer__evidence(pol, &none, t, ug, dg, NULL, out);
        d = xp_dst_table__index(pol->dst, key->dst);
    } else {
        p = &pol->pairs[idx];
        xp_policer__evidence(pol, p, t, ug, dg, NULL, out);
        if (!out->has_dst)
            d = xp_dst_table__index(pol->dst, key->dst);
    }
    if (d != XP_NIL) {
        xp_dst_table__aggregate(pol->dst, d, &agg);
        out->has_dst = agg.ts1 != UINT64_MAX;
        if (out->has_dst) {
            out->dst_ts1 = agg.ts1;
            out->dst_ts2 = agg.ts2;
            out->dst_c = agg.c;
            out->dst_rate_pps = agg.ts2 > agg.ts1 ? xp_rate_pps(agg.c, agg.ts2 - agg.ts1) : 0;
            out->dst_remote_pairs =
                atomic_load_explicit(&pol->dst->entries[d].remote_pairs, memory_order_relaxed);
        }
    }
    if (idx == XP_NIL)
        return -ENOENT;
    /* the tests of the pair's next packet, as xp_policer__judge() runs them, without counting it */
    if (xp_pair__idle(pol, p, t))
        return 0; /* its next packet starts a new window */
    span = xp_span(p->ts2, p->ts1);
    if (span > ug->t_t2_ns && xp_over_rate(p->c, span, ug->t_f1_pps))
        *verdict = XP_VERDICT_DROP_UNIT;
    else if (out->has_dst && out->dst_ts2 > out->dst_ts1 &&
             out->dst_ts2 - out->dst_ts1 > dg->t_t3_ns &&
             xp_over_rate(out->dst_c, out->dst_ts2 - out->dst_ts1, dg->t_f2_pps))
        *verdict = XP_VERDICT_DROP_DST;
    return 0;
}

unsigned xp_policer__scan(const struct xp_policer *pol, uint32_t *cursor, uint32_t slots,
                          struct xp_pair_record *out, unsigned out_max)
{
    uint32_t end = *cursor + slots > pol->capacity ? pol->capacity : *cursor + slots;
    unsigned n = 0;
    uint32_t i;

    for (i = *cursor; i < end && n < out_max; i++) {
        if (!(pol->pairs[i].flags & XP_PAIR_F_USED))
            continue;
        out[n].key = pol->pairs[i].key;
        xp_pair__state(&pol->pairs[i], &out[n].st);
        n++;
    }
    *cursor = i;
    return n;
}

uint32_t xp_policer__capacity(const struct xp_policer *pol)
{
    return pol->capacity;
}

unsigned xp_policer__collect_dirty(struct xp_policer *pol, struct xp_pair_record *out,
                                   unsigned max)
{
    unsigned n = 0;

    while (n < max && pol->dirty_head != XP_NIL) {
        uint32_t idx = pol->dirty_head;

        out[n].key = pol->pairs[idx].key;
        xp_pair__state(&pol->pairs[idx], &out[n].st);
        xp_dirty__remove(pol, idx);
        n++;
    }
    return n;
}

int xp_policer__install(struct xp_policer *pol, const struct xp_policer_key *key,
                        const struct xp_pair_state *sent, const struct xp_pair_state *fresh)
{
    uint64_t h, delta;
    enum xp_verdict v;
    struct xp_pair *p;
    bool was_idle;
    uint32_t idx;

    if (!key || !fresh || fresh->ts2 < fresh->ts1)
        return -EINVAL;
    h = xp_pair_hash(pol->seed, key);
    idx = xp_index__find(pol, key, h, false);
    if (idx == XP_NIL) {
        /*
         * Only pairs we sent may take a free entry by eviction; a pair only
         * the central node knows never pushes out one of our own (its
         * packets would be judged on less than they sent).
         */
        if (!sent && pol->free_head == XP_NIL) {
            XP_STAT_ADD(pol->cnt.install_refused, 1);
            return -ENOSPC;
        }
        /* never a second copy of a pair another worker holds (the caller routes by owner) */
        if (xp_policer__owner_for_new(pol, h) != (int)pol->worker_id) {
            XP_STAT_ADD(pol->cnt.install_elsewhere, 1);
            return -EBUSY;
        }
        /* created at fresh->ts2 so that the values below only move ts1 and c */
        idx = xp_pair__new(pol, key, h, fresh->ts2, &v);
        if (idx == XP_NIL)
            return -ENOSPC;
        if (!sent)
            xp_pair__set_remote(pol, idx, true);
        delta = 0;
    } else if (sent && pol->pairs[idx].gen != sent->gen) {
        /*
         * The window restarted here while the request was in flight: it is
         * newer, and its dc holds only packets after the restart, none of
         * which were shipped.
         */
        XP_STAT_ADD(pol->cnt.installs, 1);
        return 0;
    } else if (sent && pol->pairs[idx].shrinks != sent->shrinks) {
        /*
         * The window shrank here while the request was in flight. Keep it
         * (the central node merged the pre-shrink snapshot; our next sync
         * ships the shrunk window) and consume what was shipped, scaled as
         * the shrinks scaled dc.
         */
        uint64_t shipped = sent->dc;

        p = &pol->pairs[idx];
        for (uint32_t k = sent->shrinks; k != p->shrinks && shipped; k++)
            shipped /= pol->lim.shrink_r > 1 ? pol->lim.shrink_r : 1;
        xp_pair__set_dc(p, xp_span(xp_pair__dc(p), shipped));
        p->flags &= ~XP_PAIR_F_MARK;
        XP_STAT_ADD(pol->cnt.installs, 1);
        return 0;
    } else {
        uint64_t before = sent ? sent->dc : 0;

        delta = xp_span(xp_pair__dc(&pol->pairs[idx]), before);
    }
    p = &pol->pairs[idx];
    /* an idle pair stays out of the aggregate while its values change, then joins it */
    was_idle = p->flags & XP_PAIR_F_IDLE;
    xp_pair__set_ts1(pol, idx, fresh->ts1);
    xp_pair__set_ts2(pol, idx, fresh->ts2 > p->ts2 ? fresh->ts2 : p->ts2);
    xp_pair__set_c(pol, idx, fresh->c + delta);
    xp_pair__set_dc(p, fresh->dc + delta);
    if (fresh->mark)
        p->flags |= XP_PAIR_F_MARK;
    else
        p->flags &= ~XP_PAIR_F_MARK;
    /* values from another proxy, nothing of ours unsent: its ts2 lags by up to a sync period */
    if (!sent && xp_pair__dc(p) == 0)
        xp_pair__set_remote(pol, idx, true);
    if (was_idle && xp_span(pol->t_last, p->ts2) <= pol->lim.t_t1_ns + pol->lim.remote_grace_ns) {
        p->flags &= ~XP_PAIR_F_IDLE;
        xp_pair__join_dst(pol, idx);
    }
    XP_STAT_ADD(pol->cnt.installs, 1);
    return 0;
}

void xp_policer__quiescent(struct xp_policer *pol)
{
    xp_dst_table__quiescent(pol->dst, pol->worker_id);
}

unsigned xp_policer__expire(struct xp_policer *pol, uint64_t t, uint32_t budget)
{
    unsigned left = 0;

    t = xp_policer__clock(pol, t);
    if (budget > pol->capacity)
        budget = pol->capacity;
    for (uint32_t n = 0; n < budget; n++) {
        uint32_t idx = pol->sweep;
        struct xp_pair *p = &pol->pairs[idx];

        pol->sweep = idx + 1 == pol->capacity ? 0 : idx + 1;
        /* remote pairs of destinations this worker sees no packets for: projected here */
        if ((p->flags & (XP_PAIR_F_USED | XP_PAIR_F_IDLE | XP_PAIR_F_REMOTE)) ==
                (XP_PAIR_F_USED | XP_PAIR_F_REMOTE) &&
            p->dst != XP_NIL)
            xp_pair__project_remote(pol, idx, t);
        if ((p->flags & (XP_PAIR_F_USED | XP_PAIR_F_IDLE)) != XP_PAIR_F_USED ||
            p->dst == XP_NIL || !xp_pair__idle(pol, p, t) ||
            ((p->flags & XP_PAIR_F_REMOTE) &&
             xp_span(t, p->ts2) <= pol->lim.t_t1_ns + pol->lim.remote_grace_ns))
            continue;
        xp_pair__detach(pol, idx);
        /* let go of the entry too, so that an unused destination can be reclaimed */
        p->dst = XP_NIL;
        xp_index__set_dst(pol, p->hash, idx, XP_NIL);
        p->flags |= XP_PAIR_F_IDLE;
        left++;
    }
    if (left)
        XP_STAT_ADD(pol->cnt.idle_left, left);
    return left;
}

/* ---- fair_share: demands for the control side's water-filling ---- */

unsigned xp_policer__fair_demands(struct xp_policer *pol, uint64_t t,
                                  struct xp_fair_demand *out, unsigned max, bool *truncated)
{
    const struct xp_policer_limits *lim = &pol->lim;
    const struct xp_pair *P = pol->pairs;
    struct xp_dst_table *tbl = pol->dst;
    unsigned n = 0;

    *truncated = false;
    if (lim->dst_policy != XP_DST_FAIR_SHARE)
        return 0;
    for (uint32_t d = 0; d <= tbl->mask; d++) {
        const struct xp_dst_slot *s = &pol->slots[d];
        struct xp_dst_aggregate agg;
        unsigned first = n;
        uint64_t span;

        if (pol->fifos[d].head == XP_NIL && s->heap_root == XP_NIL)
            continue;
        /* the destination test as a packet would run it now: remote roots projected first */
        if (lim->shrink_r > 1)
            xp_policer__project_slot(pol, d, t);
        xp_dst_table__aggregate(tbl, d, &agg);
        span = xp_span(agg.ts2, agg.ts1);
        /* over T_F2, or still limited by the last tick (see xp_policer__fair) */
        if ((span <= lim->t_t3_ns || !xp_over_rate(agg.c, span, lim->t_f2_pps)) &&
            !xp_dst_table__limiting(tbl, d, t))
            continue;
        for (uint32_t i = xp_slot__next_member(pol, d, XP_NIL); i != XP_NIL;
             i = xp_slot__next_member(pol, d, i)) {
            const struct xp_pair *p = &P[i];
            uint64_t grace = (p->flags & XP_PAIR_F_REMOTE) ? lim->remote_grace_ns : 0;

            /* idle pairs leave the aggregate at the next sweep: they demand nothing now */
            if (xp_span(t, p->ts2) > lim->t_t1_ns + grace)
                continue;
            if (n == max) {
                /* a destination's demands all or none: a partial list would share too much */
                *truncated = true;
                return first;
            }
            span = xp_span(p->ts2, p->ts1);
            /* a rate over less than a tick of history is noise: count it over one tick */
            if (span < XP_FAIR_PERIOD_NS)
                span = XP_FAIR_PERIOD_NS;
            out[n].dst = d;
            out[n].pps = (uint64_t)((unsigned __int128)p->c * XP_NSEC_PER_SEC / span);
            n++;
        }
    }
    return n;
}

/* ---- lifecycle ---- */

/* Group 0 of each kind: the global limits. */
static void xp_policer__default_groups(struct xp_policer *pol)
{
    pol->ug[0].t_f1_pps = pol->lim.t_f1_pps;
    pol->ug[0].t_t2_ns = pol->lim.t_t2_ns;
    pol->dg[0].t_f2_pps = pol->lim.t_f2_pps;
    pol->dg[0].t_t3_ns = pol->lim.t_t3_ns;
    pol->dg[0].dst_policy = pol->lim.dst_policy;
}

static uint32_t xp_pow2_at_least(uint64_t v)
{
    uint64_t p = 1;

    while (p < v)
        p <<= 1;
    return (uint32_t)p;
}

struct xp_policer *xp_policer__create(const struct xp_policer_config *cfg,
                                      struct xp_dst_table *dst)
{
    struct xp_policer *pol;
    uint32_t nb;
    int err, node;

    if (!cfg || !dst || cfg->capacity == 0 || cfg->capacity > (1U << 28) ||
        xp_policer_limits__check(&cfg->limits) < 0 ||
        (cfg->owners && cfg->worker_id >= cfg->owners->n_workers)) {
        errno = EINVAL;
        return NULL;
    }
    pol = aligned_alloc(XP_CACHE_LINE, sizeof(*pol));
    if (!pol) {
        errno = ENOMEM;
        return NULL;
    }
    memset(pol, 0, sizeof(*pol));
    err = xp_dst_table__claim(dst, cfg->worker_id);
    if (err < 0)
        goto err_free_pol;
    pol->lim = cfg->limits;
    xp_policer__default_groups(pol);
    pol->n_ug = pol->n_dg = 1;
    pol->dst = dst;
    pol->worker_id = cfg->worker_id;
    pol->slots = dst->slots[cfg->worker_id];
    pol->capacity = cfg->capacity;
    pol->owners = cfg->owners;
    /* with a directory, one hash names a pair in every worker's table and in the directory */
    pol->seed = cfg->owners ? cfg->owners->seed : cfg->hash_seed;
    if (!pol->seed && getrandom(&pol->seed, sizeof(pol->seed), 0) != sizeof(pol->seed))
        pol->seed = 0x2545f4914f6cdd1dULL ^ (uint64_t)(uintptr_t)pol;

    node = cfg->numa_local ? cfg->numa_node : -1;
    /* at most half of the index slots in use */
    nb = xp_pow2_at_least(((uint64_t)cfg->capacity * 2 + XP_BUCKET_SLOTS - 1) / XP_BUCKET_SLOTS);
    if (nb < XP_MAX_PROBE)
        nb = XP_MAX_PROBE;
    pol->bmask = nb - 1;
    pol->buckets = xp_policer_alloc_big((size_t)nb * sizeof(struct xp_bucket), node);
    if (!pol->buckets) {
        err = -ENOMEM;
        goto err_release;
    }
    for (uint32_t i = 0; i < nb; i++) {
        memset(pol->buckets[i].idx, 0xff, sizeof(pol->buckets[i].idx));
        memset(pol->buckets[i].tag, 0, sizeof(pol->buckets[i].tag));
        memset(pol->buckets[i].dst, 0xff, sizeof(pol->buckets[i].dst));
        pol->buckets[i].overflow = 0;
    }
    pol->fifos = xp_policer_alloc_big((size_t)(dst->mask + 1) * sizeof(struct xp_ts1_fifo), node);
    if (!pol->fifos) {
        err = -ENOMEM;
        goto err_free_buckets;
    }
    memset(pol->fifos, 0xff, (size_t)(dst->mask + 1) * sizeof(struct xp_ts1_fifo));
    pol->pairs = xp_policer_alloc_big((size_t)cfg->capacity * sizeof(struct xp_pair), node);
    if (!pol->pairs) {
        err = -ENOMEM;
        goto err_free_buckets;
    }
    memset(pol->pairs, 0, (size_t)cfg->capacity * sizeof(struct xp_pair));
    for (uint32_t i = 0; i < cfg->capacity; i++)
        pol->pairs[i].f_next = i + 1 < cfg->capacity ? i + 1 : XP_NIL;
    pol->free_head = 0;
    pol->dirty_head = pol->dirty_tail = XP_NIL;
    pol->hand = 0;
    return pol;

err_free_buckets:
    free(pol->fifos);
    free(pol->buckets);
    pol->buckets = NULL;
err_release:
    xp_dst_table__release(dst, cfg->worker_id);
err_free_pol:
    free(pol);
    errno = -err;
    return NULL;
}

void xp_policer__destroy(struct xp_policer *pol)
{
    if (!pol)
        return;
    if (pol->pairs) {
        /*
         * Take this worker's counts out of the shared aggregate, and its
         * claims. Every pair leaves, so each slot goes back to neutral at
         * once: detaching pair by pair would recompute ts2_max through the
         * remaining members each time the latest one left (quadratic if the
         * pool's order follows the packets').
         */
        for (uint32_t i = 0; i < pol->capacity; i++) {
            const struct xp_pair *p = &pol->pairs[i];

            if (!(p->flags & XP_PAIR_F_USED))
                continue;
            if ((p->flags & XP_PAIR_F_REMOTE) && xp_pair__slot(pol, p))
                atomic_fetch_sub_explicit(&pol->dst->entries[p->dst].remote_pairs, 1,
                                          memory_order_relaxed);
            if (pol->owners)
                xp_owners__release(pol->owners, p->hash, pol->worker_id);
        }
        for (uint32_t d = 0; d <= pol->dst->mask; d++) {
            struct xp_dst_slot *s = &pol->slots[d];

            if (pol->fifos[d].head == XP_NIL && s->heap_root == XP_NIL)
                continue;
            XP_ATOMIC_SET(&s->c_sum, 0);
            XP_ATOMIC_SET(&s->ts2_max, 0);
            XP_ATOMIC_SET(&s->ts1_min, UINT64_MAX);
            s->heap_root = XP_NIL;
        }
    }
    xp_dst_table__release(pol->dst, pol->worker_id);
    free(pol->pairs);
    pol->pairs = NULL;
    free(pol->buckets);
    pol->buckets = NULL;
    free(pol->fifos);
    pol->fifos = NULL;
    free(pol);
}

int xp_policer__set_limits(struct xp_policer *pol, const struct xp_policer_limits *lim)
{
    int err = xp_policer_limits__check(lim);

    if (err < 0)
        return err;
    pol->lim = *lim;
    xp_policer__default_groups(pol);
    return 0;
}

/* Does group's warm-up (t_t2 or t_t3) stay below a shrunk window (as limits__check)? */
static bool xp_policer__warm_ok(const struct xp_policer_limits *lim, uint64_t warm)
{
    return lim->shrink_r <= 1 || lim->t_t4_ns / lim->shrink_r > warm;
}

int xp_policer__set_groups(struct xp_policer *pol, const struct xp_policer_unit_group *unit,
                           unsigned n_unit, const struct xp_policer_dst_group *dst,
                           unsigned n_dst)
{
    if (n_unit >= XP_POLICER_GROUPS_MAX || n_dst >= XP_POLICER_GROUPS_MAX ||
        (n_unit && !unit) || (n_dst && !dst))
        return -EINVAL;
    for (unsigned i = 0; i < n_unit; i++)
        if (unit[i].t_f1_pps == 0 || !xp_policer__warm_ok(&pol->lim, unit[i].t_t2_ns))
            return -EINVAL;
    for (unsigned i = 0; i < n_dst; i++)
        if (dst[i].t_f2_pps == 0 || dst[i].dst_policy != 0 ||
            !xp_policer__warm_ok(&pol->lim, dst[i].t_t3_ns))
            return -EINVAL;
    if (n_unit)
        memcpy(&pol->ug[1], unit, n_unit * sizeof(*unit));
    if (n_dst)
        memcpy(&pol->dg[1], dst, n_dst * sizeof(*dst));
    pol->n_ug = n_unit + 1;
    pol->n_dg = n_dst + 1;
    return 0;
}

void xp_policer_stats__add(struct xp_policer_stats *into, const struct xp_policer_stats *from)
{
    uint64_t *a = (uint64_t *)into;
    const uint64_t *b = (const uint64_t *)from;

    _Static_assert(sizeof(*into) % sizeof(uint64_t) == 0, "only uint64_t fields");
    for (size_t i = 0; i < sizeof(*into) / sizeof(uint64_t); i++)
        a[i] += b[i];
}

int xp_policer__numa_node(const struct xp_policer *pol)
{
    int node = -1;

    if (numa_available() < 0 ||
        get_mempolicy(&node, NULL, 0, (void *)pol->pairs, MPOL_F_NODE | MPOL_F_ADDR))
        return -1;
    return node;
}

void xp_policer__stats(const struct xp_policer *pol, struct xp_policer_stats *out)
{
    const struct xp_policer_counters *c = &pol->cnt;

    out->pairs_in_use = XP_ATOMIC_GET(&c->pairs_in_use);
    out->capacity = pol->capacity;
    out->packets = XP_ATOMIC_GET(&c->packets);
    out->accounted = XP_ATOMIC_GET(&c->accounted);
    out->inserts = XP_ATOMIC_GET(&c->inserts);
    out->restarts = XP_ATOMIC_GET(&c->restarts);
    out->shrinks = XP_ATOMIC_GET(&c->shrinks);
    out->evict_idle = XP_ATOMIC_GET(&c->evict_idle);
    out->evict_oldest = XP_ATOMIC_GET(&c->evict_oldest);
    out->refused_pass = XP_ATOMIC_GET(&c->refused_pass);
    out->refused_drop = XP_ATOMIC_GET(&c->refused_drop);
    out->warnings = XP_ATOMIC_GET(&c->warnings);
    out->forward = XP_ATOMIC_GET(&c->forward);
    out->drop_unit = XP_ATOMIC_GET(&c->drop_unit);
    out->drop_dst = XP_ATOMIC_GET(&c->drop_dst);
    out->drop_full = XP_ATOMIC_GET(&c->drop_full);
    out->dst_full = XP_ATOMIC_GET(&c->dst_full);
    out->clock_backsteps = XP_ATOMIC_GET(&c->clock_backsteps);
    out->installs = XP_ATOMIC_GET(&c->installs);
    out->idle_left = XP_ATOMIC_GET(&c->idle_left);
    out->install_refused = XP_ATOMIC_GET(&c->install_refused);
    out->install_elsewhere = XP_ATOMIC_GET(&c->install_elsewhere);
    out->foreign = XP_ATOMIC_GET(&c->foreign);
    out->foreign_dropped = XP_ATOMIC_GET(&c->foreign_dropped);
    out->foreign_lost = XP_ATOMIC_GET(&c->foreign_lost);
    out->foreign_counted = XP_ATOMIC_GET(&c->foreign_counted);
    out->foreign_refused = XP_ATOMIC_GET(&c->foreign_refused);
    out->foreign_relayed = XP_ATOMIC_GET(&c->foreign_relayed);
    out->owners_full = XP_ATOMIC_GET(&c->owners_full);
    out->drop_dst_share = XP_ATOMIC_GET(&c->drop_dst_share);
}

size_t xp_policer__bytes_per_pair(const struct xp_policer *pol)
{
    size_t total = (size_t)pol->capacity * sizeof(struct xp_pair) +
                   (size_t)(pol->bmask + 1) * sizeof(struct xp_bucket);

    return (total + pol->capacity - 1) / pol->capacity;
}
