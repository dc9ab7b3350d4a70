/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xpro-ctl capture's proxy half: sampled frames with their verdicts, taken
 * on the workers' packet path without ever slowing it much, and carried to
 * xpro-ctl, which writes the pcapng file (src/util/pcapng.h).
 *
 * The data path's side (a tap, one per worker) only exists while a capture
 * runs: the worker holds a pointer to it (NULL otherwise: one test per
 * burst) and, after the pipeline gave a burst its fates, offers the burst.
 * The tap keeps the frames that match the filter, within its budget (a
 * token bucket of `rate` frames/s, bursts of a tenth of a second, and at
 * most `count` frames in all), and copies the first XP_CAPTURE_SNAPLEN bytes
 * of each into a single-producer single-consumer ring of XP_CAPTURE_RING
 * records; a full ring is a counted loss. No lock, no system call, no
 * allocation on the worker; parsing (for an address filter) and the copy
 * happen only for frames the fate test keeps. The control thread drains the
 * rings and sends each frame to xpro-ctl as a JSON line (the record codec).
 *
 * Threading: create, destroy, drain and stats on the control thread; offer
 * on the worker that owns the tap, which gets and drops it through its
 * mailbox (so a tap is never freed while its worker may touch it).
 */
#ifndef XP_CAPTURE_H
#define XP_CAPTURE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/backend/backend.h"

#define XP_CAPTURE_SNAPLEN 256       /* bytes kept of each frame */
#define XP_CAPTURE_RING 512          /* records per worker ring (about 140 KiB) */
#define XP_CAPTURE_RATE_DEFAULT 1000 /* frames/s per worker */
#define XP_CAPTURE_RATE_MAX 10000
#define XP_CAPTURE_COUNT_DEFAULT 1000 /* frames in all */
#define XP_CAPTURE_COUNT_MAX 1000000
#define XP_CAPTURE_SECONDS_DEFAULT 10
#define XP_CAPTURE_SECONDS_MAX 3600

/* Which frames: all conditions given must hold. */
struct xp_capture_filter {
    uint8_t unit[16];   /* the source, compared on its first unit_bits bits */
    unsigned unit_bits; /* 0: any unit; 128 an IPv4 unit; policer.v6_unit_prefix IPv6 */
    uint8_t dst[16];
    bool has_dst;
    uint32_t fates;     /* bit (1 << enum xp_pkt_fate) per fate kept */
};

/* A capture request, checked (xp_capture_spec__parse). */
struct xp_capture_spec {
    struct xp_capture_filter filter;
    unsigned count;   /* stop after this many frames, 1..XP_CAPTURE_COUNT_MAX */
    unsigned seconds; /* or after this long, 1..XP_CAPTURE_SECONDS_MAX */
    unsigned rate;    /* frames/s per worker, 1..XP_CAPTURE_RATE_MAX */
};

/*
 * The capture op's request ({"op": "capture", "follow": true, "unit": A?,
 * "dst": B?, "verdict": NAME?, "count": N?, "seconds": S?, "rate": R?}) into
 * out. NAME is a fate name (xp_pkt_fate_name: forward, drop_unit_rate, ...)
 * or "drop" (every drop). IPv6 units are compared on their first
 * v6_unit_prefix bits (the policer's unit). Unknown keys are refused. 0, or
 * -EINVAL with a message naming the key in err. Any thread.
 */
int xp_capture_spec__parse(const json_t *req, unsigned v6_unit_prefix,
                           struct xp_capture_spec *out, char *err, size_t errlen);

/* One captured frame, as the tap's ring carries it. */
struct xp_capture_rec {
    uint64_t t_ns;    /* CLOCK_REALTIME, the burst's time */
    uint16_t caplen;  /* bytes in data */
    uint16_t origlen; /* the frame's length (frames are at most 64 KiB) */
    uint8_t fate;     /* enum xp_pkt_fate */
    uint8_t port;     /* the port it came in on (XP_PORT_ACCESS) */
    uint16_t queue;
    uint8_t data[XP_CAPTURE_SNAPLEN];
};

struct xp_capture_tap_stats {
    uint64_t matched;     /* frames the filter kept */
    uint64_t captured;    /* into the ring */
    uint64_t lost_budget; /* matched, over the rate or the count */
    uint64_t lost_ring;   /* matched, within budget, the ring was full */
};

struct xp_capture_tap;

/*
 * A tap for the worker of queue, with spec's filter and budget. Control
 * thread. NULL with errno (ENOMEM, EINVAL).
 */
struct xp_capture_tap *xp_capture_tap__create(const struct xp_capture_spec *spec,
                                              unsigned queue);
/* Control thread, once its worker has let go of it. Accepts NULL. */
void xp_capture_tap__destroy(struct xp_capture_tap *tap);

/*
 * Worker, hot path while a capture runs: n frames that came in on port,
 * fates[i] their enum xp_pkt_fate, at now_rt (ns, CLOCK_REALTIME) and
 * now_mono (ns, CLOCK_MONOTONIC, for the budget).
 */
void xp_capture_tap__offer(struct xp_capture_tap *tap, const struct xp_pkt *pkts, unsigned n,
                           const uint8_t *fates, unsigned port, uint64_t now_rt,
                           uint64_t now_mono);

/* Control thread: take up to max records, oldest first. */
unsigned xp_capture_tap__drain(struct xp_capture_tap *tap, struct xp_capture_rec *out,
                               unsigned max);

/* Any thread: the counters (each exact once the worker let go of the tap). */
void xp_capture_tap__stats(const struct xp_capture_tap *tap, struct xp_capture_tap_stats *out);

/* ---- the record codec: one JSON object per frame on the control socket ---------------- */

/*
 * The line {"capture": id, "t_ns": T, "queue": Q, "port": "access"|"core",
 * "len": L, "verdict": NAME, "frame": HEX} for rec into buf (NUL-terminated,
 * no newline), NAME being verdict (the fate's name: xp_pkt_fate_name(rec->
 * fate)). Written by hand, not through jansson: the control thread writes
 * up to a few thousand a second, during a flood. Returns its length, or
 * -EINVAL (verdict not a word of [a-z_], 1..31 characters) or -ENOSPC (len
 * under XP_CAPTURE_LINE_MAX). The codec is a library of its own
 * (dep_capture_codec: hex only) so that xpro-ctl reads frames without the
 * pipeline.
 */
#define XP_CAPTURE_LINE_MAX (2 * XP_CAPTURE_SNAPLEN + 256)
int xp_capture_rec__line(const struct xp_capture_rec *rec, uint64_t id, const char *verdict,
                         char *buf, size_t len);

/* A frame as xpro-ctl reads it back. */
struct xp_capture_frame {
    uint64_t id;
    uint64_t t_ns;
    unsigned queue;
    char port[8];
    unsigned len;      /* origlen */
    unsigned caplen;
    char verdict[32];
    uint8_t data[XP_CAPTURE_SNAPLEN];
};

/*
 * Read a frame object (what xp_capture_rec__json writes; other keys are
 * ignored). 0, or -EINVAL with a message in err: a missing or mistyped key,
 * a verdict that is not a word, a frame that is not hex, longer than
 * XP_CAPTURE_SNAPLEN or than len. Any thread; the input may be hostile.
 */
int xp_capture_frame__parse(const json_t *o, struct xp_capture_frame *out, char *err,
                            size_t errlen);

#endif /* XP_CAPTURE_H */
