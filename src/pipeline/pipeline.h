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


#define XP_CONF_PREFIXES_MAX 256

enum xp_conf_malformed {
    XP_MALFORMED_DROP = 0,
    XP_MALFORMED_PASS,
};

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
    struct xp_cidr units[XP_CONF_PREFIXES_MAX];
    struct xp_cidr allow_src[XP_CONF_PREFIXES_MAX];
    struct xp_cidr allow_dst[XP_CONF_PREFIXES_MAX];
};

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
    XP_PC_DROP_DST_SHARE,  /* fair_share: over the pair's share of an overloaded destination */
    XP_PC_MAX,
};

struct xp_pipeline_stats {
    uint64_t c[XP_PC_MAX];
    uint64_t malformed[XP_PARSE_STATUS_MAX];
    uint64_t blocked_now;  /* pairs this worker holds in XDP */
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
 * Police n frames that arrived on the access port at times now_rt
 * (CLOCK_REALTIME ns) / now_mono (CLOCK_MONOTONIC ns). Writes 1 into
 * drop[i] for frames to drop, 0 for frames to forward.
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

#endif /* XP_PIPELINE_H */
