/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The per-worker pipeline: classify and police frames from the access
 * port (parse -> allowlist -> unit prefixes -> Algorithm 1), keep the
 * kernel fast path in step with the verdicts, and queue events.
 *
 * Threading: one struct xp_pipeline per worker; everything but
 * xp_pipeline__stats() and xp_pipeline__drain_events() runs on the
 * worker. Events cross to the control thread through a single-producer
 * single-consumer ring: the worker never blocks on it, a full ring is
 * counted.
 *
 * The kernel fast path: a pair with a drop verdict is put into the
 * backend's block map (struct xp_block_ops: XDP's) for block_ms; the burst
 * only queues the write, xp_pipeline__sweep() writes it after the loop
 * turn's bursts. Every tick the worker reads what XDP dropped for each of
 * its blocked pairs (memory, no system call) and accounts it to the policer
 * (dropped packets still count). When a block ends, the pair's packets reach the
 * worker again and Algorithm 1 decides: a unit still over its threshold is
 * blocked again at its first packet, one that calmed down is forwarded.
 *
 * Early mode (backends without XDP, such as DPDK, and gateway mode): the
 * same block set, but the worker itself drops a blocked pair's packets
 * right after parsing, before Algorithm 1, and accounts them to the pair
 * on the tick, as it does with XDP's per-pair drop counts. Same verdicts,
 * same events. Operator blocks are kept here too in early mode (struct
 * xp_manual_blocks), where no XDP map holds them.
 */
#ifndef XP_PIPELINE_H
#define XP_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "src/backend/backend.h"
#include "src/parse/parse.h"
#include "src/policer/policer.h"


/*
 * Prefixes per list (unit_prefixes, allow_src, allow_dst, and all unit groups' or all
 * destination groups' prefixes together). Classification is a longest-prefix match
 * (src/util/lpm.h), so its cost does not grow with the lists: the limit is memory
 * (docs/datapath.md, "Classification").
 */
#define XP_CONF_PREFIXES_MAX 262144
#define XP_CONF_GROUPS_MAX (XP_POLICER_GROUPS_MAX - 1) /* per kind; group 0 is the default */
#define XP_CONF_GROUP_NAME_MAX 32

enum xp_conf_malformed {
    XP_MALFORMED_DROP = 0,
    XP_MALFORMED_PASS,
};

/* A destination group's policy (policer.dst_groups[].dst_policy). */
enum xp_conf_dst_policy {
    XP_CONF_DST_DROP_ALL = 0, /* the paper's rule: every packet towards an overloaded destination */
};

/* One policy group: policer.unit_groups[] or policer.dst_groups[]. */
struct xp_conf_group {
    char name[XP_CONF_GROUP_NAME_MAX];
    unsigned t_f_pps;       /* unit group: T_F1; destination group: T_F2 */
    unsigned t_t_ms;        /* unit group: T_T2; destination group: T_T3 */
    bool policed;           /* unit group: false forwards its units unpoliced (counted) */
    int dst_policy;         /* destination group: enum xp_conf_dst_policy */
    unsigned n_prefixes;
    struct xp_cidr *prefixes; /* owned (xp_conf_policer__release) */
};

struct xp_classifier;

/* The policer section: Algorithm 1's thresholds and who is policed. */
struct xp_conf_policer {
    unsigned t_t1_ms, t_t2_ms, t_t3_ms, t_t4_ms;
    unsigned r;
    unsigned t_f1_pps, t_f2_pps;
    unsigned max_pairs;      /* per queue */
    unsigned max_dsts;
    int table_full;          /* enum xp_full_policy */
    int dst_policy;          /* enum xp_dst_policy */
    int malformed;           /* enum xp_conf_malformed */
    bool kernel_block;       /* block dropped pairs in XDP */
    unsigned block_ms;       /* how long one XDP block lasts before userspace looks again */
    unsigned v6_unit_prefix; /* bits of an IPv6 source that name a unit */
    unsigned n_units, n_allow_src, n_allow_dst;
    /* the lists and groups are owned by the section: xp_conf_policer__release() */
    struct xp_cidr *units;
    struct xp_cidr *allow_src;
    struct xp_cidr *allow_dst;
    unsigned n_unit_groups, n_dst_groups;
    struct xp_conf_group *unit_groups; /* group i + 1 of the policer (0: the global keys) */
    struct xp_conf_group *dst_groups;
    /* the lists above compiled (xp_classifier__build), shared read-only by every worker */
    struct xp_classifier *cls;
};

/* Free what the section owns (lists, groups, classifier); NULL pointers are fine. */
void xp_conf_policer__release(struct xp_conf_policer *pc);

/*
 * Classification: every prefix list of the policer section in two
 * longest-prefix-match tables, one for sources (unit_prefixes, allow_src,
 * unit groups) and one for destinations (allow_dst, destination groups), so
 * that a packet costs one lookup per address whatever the lists hold. A
 * lookup answers a class word: the flags below and the group index (0: the
 * default group; i + 1: unit_groups[i] or dst_groups[i]).
 */
#define XP_CLS_UNIT (1U << 31)      /* source: in unit_prefixes */
#define XP_CLS_ALLOW (1U << 30)     /* in allow_src (source) or allow_dst (destination) */
#define XP_CLS_UNPOLICED (1U << 29) /* source: its unit group has policed = false */
#define XP_CLS_GROUP(w) ((w) & 0xffffU)

/*
 * Build from pc's lists (pc->cls is not used). NULL with errno: EEXIST when one
 * prefix is in two groups of a kind (err names them), ENOMEM, E2BIG. Control thread.
 */
struct xp_classifier *xp_classifier__build(const struct xp_conf_policer *pc, char *err,
                                           size_t err_len);
void xp_classifier__free(struct xp_classifier *cls);
/* Hot path, any thread: class words of n sources or destinations (cls NULL: all 0). */
void xp_classifier__src_burst(const struct xp_classifier *cls, const uint8_t *const addr[],
                              uint32_t *out, unsigned n);
void xp_classifier__dst_burst(const struct xp_classifier *cls, const uint8_t *const addr[],
                              uint32_t *out, unsigned n);
uint32_t xp_classifier__src(const struct xp_classifier *cls, const uint8_t addr[16]);
uint32_t xp_classifier__dst(const struct xp_classifier *cls, const uint8_t addr[16]);
/* Bytes held by both tables. */
size_t xp_classifier__bytes(const struct xp_classifier *cls);

/*
 * What a pipeline is configured with: the policer section (it stays the
 * caller's, and must outlive the pipeline or the next reconfigure), and
 * the two keys outside it that the pipeline reads.
 */
struct xp_pipeline_conf {
    const struct xp_conf_policer *pol;
    bool non_ip_pass;          /* non-IP frames other than ARP pass (else dropped, counted) */
    unsigned remote_grace_ms;  /* synced: how long another proxy's pair may lag (0: no sync) */
    int numa_node;             /* the worker's node: the policer's tables go there (-1: any) */
};

enum xp_event_kind {
    XP_EVENT_OVERLOAD = 0, /* a unit over T_F1 (once per pair per window) */
    XP_EVENT_BLOCK,        /* a pair is dropped in XDP from now on */
    XP_EVENT_UNBLOCK,      /* a pair's block ended and was not renewed */
};

struct xp_event {
    enum xp_event_kind kind;
    enum xp_verdict reason;   /* XP_EVENT_BLOCK: why */
    struct xp_policer_key key;
    uint64_t rate_pps;
    uint64_t threshold_pps;
    uint64_t t_ns;            /* CLOCK_REALTIME */
    unsigned queue;
    /* XP_EVENT_BLOCK: the numbers the verdict that set the block was made on */
    struct xp_policer_evidence why;
    /* XP_EVENT_BLOCK: the pair's groups (0: default, i + 1: the section's groups[i]) */
    uint16_t unit_group, dst_group;
};
/* XP_EVENT_UNBLOCK: reason is the verdict that blocked the pair (DROP_UNIT or DROP_DST). */

/* Append-only: names in xp_pipeline_counter_name(). */
enum xp_pipe_counter {
    XP_PC_POLICED = 0,     /* frames that went through Algorithm 1 */
    XP_PC_FORWARD,         /* policed and forwarded */
    XP_PC_DROP_UNIT,
    XP_PC_DROP_DST,
    XP_PC_DROP_TABLE_FULL,
    XP_PC_DROP_MALFORMED,
    XP_PC_PASS_MALFORMED,
    XP_PC_NOT_IP,          /* ARP (and non-IP with non_ip "pass"): forwarded untouched */
    XP_PC_ALLOWLISTED,     /* forwarded without policing */
    XP_PC_UNPOLICED,       /* source not in unit_prefixes: forwarded */
    XP_PC_XDP_ACCOUNTED,   /* packets dropped in XDP and counted into their pair */
    XP_PC_BLOCKS,          /* XDP blocks installed (new pairs) */
    XP_PC_BLOCK_RENEWALS,  /* XDP blocks installed again for a pair just unblocked */
    XP_PC_UNBLOCKS,
    XP_PC_BLOCK_ERRORS,    /* block map full or failing: dropped in the worker instead */
    XP_PC_BLOCK_SET_FULL,  /* worker's blocked-pair list full: dropped in the worker */
    XP_PC_EVENTS_LOST,     /* event ring full */
    XP_PC_EARLY_DROP,      /* early mode: blocked pairs' packets dropped right after parsing */
    XP_PC_EARLY_ACCOUNTED, /* early mode: those packets counted into their pair */
    XP_PC_FOREIGN,         /* policed frames of pairs another worker owns (counted there; */
                           /* also in forward or drop_*) */
    XP_PC_DROP_NON_IP,     /* neither IP nor ARP, config non_ip "drop" */
    XP_PC_DROP_MANUAL,     /* early mode: an operator blocked the unit (towards this dst) */
    XP_PC_UNPOLICED_GROUP, /* a unit in a unit group with policed = false: forwarded */
    XP_PC_DROP_DST_SHARE,  /* fair_share: over the pair's share of an overloaded destination */
    XP_PC_MAX,
};

struct xp_pipeline_stats {
    uint64_t c[XP_PC_MAX];
    uint64_t malformed[XP_PARSE_STATUS_MAX];
    uint64_t blocked_now;  /* pairs this worker holds in XDP */
};

/* A policy group's counters: frames policed in it, and of those dropped. */
struct xp_group_counts {
    uint64_t packets;
    uint64_t drops;
};

struct xp_pipeline;

/*
 * Create the pipeline of worker `queue`. owners is the proxy's pair
 * ownership directory (NULL with one worker). blocks (with its ctx) is the
 * backend's block map; NULL: none (early mode, or no kernel fast path at
 * all: unit tests). conf is copied; its policer section must outlive the
 * pipeline. NULL with errno.
 */
struct xp_pipeline *xp_pipeline__create(const struct xp_pipeline_conf *conf, unsigned queue,
                                        struct xp_dst_table *dst, struct xp_owners *owners,
                                        const struct xp_block_ops *blocks, void *blocks_ctx);
void xp_pipeline__destroy(struct xp_pipeline *pl);

/*
 * Use the early drop instead of the kernel fast path (no block ops).
 * Before the worker starts. 0 or -EINVAL.
 */
int xp_pipeline__set_early_drop(struct xp_pipeline *pl);

/*
 * Operator blocks kept by the workers (early mode): an immutable sorted
 * list. The control thread builds the next one with __with / __without
 * (NULL with errno: ENOENT no such block, ENOSPC over
 * XP_MANUAL_BLOCKS_MAX, ENOMEM), hands it to every worker
 * (xp_pipeline__set_manual_blocks() through the worker's mailbox), then
 * frees the old one. dst NULL: every destination; expires_mono 0: until
 * unblocked. Expired entries are dropped by the next change.
 */
#define XP_MANUAL_BLOCKS_MAX 4096
struct xp_manual_blocks;
struct xp_manual_blocks *xp_manual_blocks__with(const struct xp_manual_blocks *old,
                                                const uint8_t unit[16], const uint8_t *dst,
                                                uint64_t expires_mono, uint64_t now_mono);
struct xp_manual_blocks *xp_manual_blocks__without(const struct xp_manual_blocks *old,
                                                   const uint8_t unit[16], const uint8_t *dst,
                                                   uint64_t now_mono);
bool xp_manual_blocks__match(const struct xp_manual_blocks *bl, const uint8_t unit[16],
                             const uint8_t dst[16], uint64_t now_mono);
unsigned xp_manual_blocks__count(const struct xp_manual_blocks *bl);
void xp_manual_blocks__free(struct xp_manual_blocks *bl);
/* On the worker: use bl from the next frame on (NULL: none). */
void xp_pipeline__set_manual_blocks(struct xp_pipeline *pl, const struct xp_manual_blocks *bl);
/* Hot path: whether an operator block covers (unit, dst) (gateway mode asks per datagram). */
bool xp_pipeline__manual_blocked(const struct xp_pipeline *pl, const uint8_t unit[16],
                                 const uint8_t dst[16], uint64_t now_mono);

/*
 * A frame's fate as police() writes it into drop[i]: 0 forward, anything
 * else drop, and which drop (xpro-ctl capture writes it into each frame's
 * comment). Append-only; names in xp_pkt_fate_name(), the same words as
 * xpro-ctl flows' verdicts where both have one.
 */
enum xp_pkt_fate {
    XP_FATE_FORWARD = 0,
    XP_FATE_DROP,            /* dropped, without a finer reason */
    XP_FATE_DROP_UNIT,       /* the unit test (T_F1), now or by a standing block */
    XP_FATE_DROP_DST,        /* the destination test (T_F2), now or by a standing block */
    XP_FATE_DROP_TABLE_FULL, /* not tracked: the pair table is full (refuse_drop) */
    XP_FATE_DROP_MANUAL,     /* an operator block (early mode) */
    XP_FATE_DROP_MALFORMED,  /* the parser refused it, config malformed "drop" */
    XP_FATE_DROP_NON_IP,     /* neither IP nor ARP, config non_ip "drop" */
    XP_FATE_MAX,
};

/* Inline: the capture request's parser (and its fuzz target) needs the names, not the pipeline. */
static inline const char *xp_pkt_fate_name(enum xp_pkt_fate f)
{
    static const char *const names[XP_FATE_MAX] = {
        [XP_FATE_FORWARD] = "forward",
        [XP_FATE_DROP] = "drop",
        [XP_FATE_DROP_UNIT] = "drop_unit_rate",
        [XP_FATE_DROP_DST] = "drop_dst_rate",
        [XP_FATE_DROP_TABLE_FULL] = "drop_table_full",
        [XP_FATE_DROP_MANUAL] = "drop_manual",
        [XP_FATE_DROP_MALFORMED] = "drop_malformed",
        [XP_FATE_DROP_NON_IP] = "drop_non_ip",
    };

    return (unsigned)f < XP_FATE_MAX ? names[f] : "invalid";
}

/*
 * Police n frames that arrived on the access port at times now_rt
 * (CLOCK_REALTIME ns) / now_mono (CLOCK_MONOTONIC ns). Writes each frame's
 * fate into drop[i] (enum xp_pkt_fate): 0 for frames to forward, non-zero
 * for frames to drop.
 */
void xp_pipeline__police(struct xp_pipeline *pl, const struct xp_pkt *pkts, unsigned n,
                         uint8_t *drop, uint64_t now_rt, uint64_t now_mono);

/*
 * The same for frames whose unit is known otherwise (gateway mode: the
 * tunnel authenticated it): units[i] is the policer's unit key of frame i
 * (16 bytes, IPv4 mapped); policer.unit_prefixes is not consulted, the
 * allowlist still is.
 */
void xp_pipeline__police_units(struct xp_pipeline *pl, const struct xp_pkt *pkts,
                               const uint8_t (*units)[16], unsigned n, uint8_t *drop,
                               uint64_t now_rt, uint64_t now_mono);

/*
 * Switch to a reloaded configuration (thresholds, prefixes, allowlist).
 * On the worker thread only (xp_worker__call). conf is copied; its policer
 * section must outlive the pipeline or the next reconfigure. 0 or -EINVAL
 * (limits refused).
 */
int xp_pipeline__reconfigure(struct xp_pipeline *pl, const struct xp_pipeline_conf *conf);

/* fair_share: xp_policer__fair_demands() on this queue's policer. Worker thread. */
unsigned xp_pipeline__fair_demands(struct xp_pipeline *pl, uint64_t now_rt,
                                   struct xp_fair_demand *out, unsigned max, bool *truncated);

/* Sync: on the worker thread only (xp_worker__call). See policer.h. */
unsigned xp_pipeline__collect_dirty(struct xp_pipeline *pl, struct xp_pair_record *out,
                                    unsigned max);
int xp_pipeline__install(struct xp_pipeline *pl, const struct xp_policer_key *key,
                         const struct xp_pair_state *sent, const struct xp_pair_state *fresh);
/* Operators: slices of the pair table (xp_policer__scan), worker thread only. */
unsigned xp_pipeline__scan(struct xp_pipeline *pl, uint32_t *cursor, uint32_t slots,
                           struct xp_pair_record *out, unsigned out_max);
uint32_t xp_pipeline__capacity(const struct xp_pipeline *pl);

/*
 * What the pipeline does with a pair now, for operators (xpro-ctl flows). Append-only;
 * names in xp_flow_verdict_name(). Operator blocks are not the pipeline's to judge when
 * XDP holds them: the caller checks its own list first.
 */
enum xp_flow_verdict {
    XP_FLOW_FORWARD = 0,
    XP_FLOW_DROP_UNIT,        /* a unit-test block stands, or the next packet would raise one */
    XP_FLOW_DROP_DST,         /* the same for the destination test */
    XP_FLOW_DROP_TABLE_FULL,  /* not tracked: refused, the pair table is full (refuse_drop) */
    XP_FLOW_DROP_MANUAL,      /* an operator block (set by the caller, never by the pipeline) */
    XP_FLOW_DROP_DST_SHARE,   /* fair_share: the pair's rate is over its destination's share */
    XP_FLOW_MAX,
};

struct xp_flow_record {
    struct xp_pair_record rec; /* DROP_TABLE_FULL: ts1/ts2 first and last refusal, c refused */
    uint8_t verdict;           /* enum xp_flow_verdict */
    bool blocked;              /* a block stands now (XDP map, or the early drop) */
    uint16_t unit_group;       /* as in struct xp_event: the groups the pair is in now */
    uint16_t dst_group;
};

const char *xp_flow_verdict_name(enum xp_flow_verdict v);

/*
 * xp_pipeline__scan() with each pair's verdict: the block that stands (its reason), else
 * Algorithm 1's tests on the pair's state and its destination's aggregate as the next
 * packet at now_rt would meet them (an idle pair restarts: forward). Worker thread only.
 */
unsigned xp_pipeline__scan_flows(struct xp_pipeline *pl, uint32_t *cursor, uint32_t slots,
                                 struct xp_flow_record *out, unsigned out_max, uint64_t now_rt,
                                 uint64_t now_mono);

/*
 * For operators (xpro-ctl why): what this worker knows of key's pair now. tracked: the
 * worker holds the pair (st is its L_DB row, verdict what its next packet at now_rt would
 * get: xp_policer__why()); ev: its window, its destination's aggregate, the thresholds
 * (the aggregate and thresholds also when not tracked); blocked: a block of this worker
 * stands (reason DROP_UNIT or DROP_DST, until_mono its end, CLOCK_MONOTONIC).
 */
struct xp_pipeline_why {
    bool tracked;
    struct xp_pair_state st;
    struct xp_policer_evidence ev;
    enum xp_verdict verdict;
    bool blocked;
    enum xp_verdict block_reason;
    uint64_t until_mono;
};
/* Worker thread only. */
void xp_pipeline__why(struct xp_pipeline *pl, const struct xp_policer_key *key, uint64_t now_rt,
                      uint64_t now_mono, struct xp_pipeline_why *out);

/*
 * Pairs refused lately because the table was full (policy refuse_drop): they are in no
 * table, so the pipeline remembers the last XP_PIPE_REFUSED_MAX of them (one slot per key
 * hash; a newer refusal takes the slot) with their counts; those refused within T_T1 of
 * now_rt go to out. Worker thread only.
 */
#define XP_PIPE_REFUSED_MAX 64
unsigned xp_pipeline__refused(struct xp_pipeline *pl, struct xp_flow_record *out, unsigned max,
                              uint64_t now_rt);

/*
 * Every loop turn, worker thread: the dst table's quiescent state, the
 * packets other workers handed over for pairs this one owns (counted,
 * judged, blocked), the block map writes queued since the last turn
 * (batched: XDP drops a pair from the end of the turn that blocked it), and
 * the policer's idle sweep paced by time (xp_policer__expire).
 */
void xp_pipeline__sweep(struct xp_pipeline *pl, uint64_t now_mono);

/*
 * Whether other workers handed this one packets within the last second: it
 * then sleeps only briefly when idle, since their hand-offs do not wake it.
 */
bool xp_pipeline__takes_handoffs(const struct xp_pipeline *pl, uint64_t now_mono);

/* Housekeeping (about every 100 ms): account XDP drops, end blocks (written at its end). */
void xp_pipeline__tick(struct xp_pipeline *pl, uint64_t now_rt, uint64_t now_mono);

/* Control thread: take up to max events. */
unsigned xp_pipeline__drain_events(struct xp_pipeline *pl, struct xp_event *out, unsigned max);

/* Any thread. */
void xp_pipeline__stats(const struct xp_pipeline *pl, struct xp_pipeline_stats *out);
void xp_pipeline__policer_stats(const struct xp_pipeline *pl, struct xp_policer_stats *out);
const char *xp_pipeline_counter_name(enum xp_pipe_counter c);

/*
 * Any thread: the counters of unit group g (dst false) or destination group g
 * (0: the default group). A group keeps its counters across a reload while
 * its name stays (it may move to another index); a new name starts at 0.
 */
void xp_pipeline__group_stats(const struct xp_pipeline *pl, bool dst, unsigned g,
                              struct xp_group_counts *out);

/* The name of a group of pc (g 0: "default"); NULL when g is not one of its groups. */
const char *xp_conf_policer__group_name(const struct xp_conf_policer *pc, bool dst, unsigned g);

#endif /* XP_PIPELINE_H */
