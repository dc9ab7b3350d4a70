// SPDX-License-Identifier: GPL-2.0-only
/*
 * The worker's side of a capture. The order of the tests is the cost
 * model: the fate mask (a bit test) first, the address filter (a parse of
 * the headers) only for frames of a kept fate, the budget (two integer
 * operations) only for frames that match, and the copy of at most
 * XP_CAPTURE_SNAPLEN bytes only for frames within it. A flood that matches
 * costs the worker a parse per frame and rate copies a second; one that
 * does not match, a bit test per frame.
 *
 * The budget is a virtual-time bucket (GCRA): each frame moves `next`
 * 1/rate s into the future, and a frame is taken while `next` is at most
 * a tenth of a second ahead of now: bursts of rate/10 frames, rate frames
 * a second over time. Nothing here reads the clock; the worker passes the
 * time it already took for the burst.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "src/capture/capture.h"
#include "src/parse/parse.h"
#include "src/pipeline/pipeline.h"
#include "src/util/counters.h"
#include "src/util/spsc.h"

#define BURST_NS 100000000ULL /* the bucket's depth: a tenth of a second */

struct xp_capture_tap {
    struct xp_spsc ring;           /* 64-byte aligned: the struct is aligned_alloc'ed */
    struct xp_capture_filter f;
    uint64_t cost_ns;              /* 1e9 / rate */
    uint64_t next_ns;              /* the bucket's virtual time */
    uint64_t left;                 /* frames the count still allows */
    unsigned queue;
    /* Written by the worker only (XP_STAT_ADD), read by anyone. */
    uint64_t matched, captured, lost_budget, lost_ring;
    struct xp_capture_rec slots[XP_CAPTURE_RING];
};

struct xp_capture_tap *xp_capture_tap__create(const struct xp_capture_spec *spec,
                                              unsigned queue)
{
    struct xp_capture_tap *tap;
    size_t size = (sizeof(*tap) + 63) & ~(size_t)63;

    if (!spec || spec->rate == 0 || spec->rate > XP_CAPTURE_RATE_MAX || spec->count == 0 ||
        queue > 65535) {
        errno = EINVAL;
        return NULL;
    }
    tap = aligned_alloc(64, size);
    if (!tap)
        return NULL;
    memset(tap, 0, sizeof(*tap));
    if (xp_spsc__init(&tap->ring, tap->slots, sizeof(tap->slots[0]), XP_CAPTURE_RING)) {
        free(tap);
        errno = EINVAL;
        return NULL;
    }
    tap->f = spec->filter;
    tap->cost_ns = 1000000000ULL / spec->rate;
    tap->left = spec->count;
    tap->queue = queue;
    return tap;
}

void xp_capture_tap__destroy(struct xp_capture_tap *tap)
{
    free(tap);
}

/* a's first bits bits equal b's. */
static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned bytes = bits / 8, rest = bits % 8;

    if (memcmp(a, b, bytes) != 0)
        return false;
    return !rest || ((a[bytes] ^ b[bytes]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static bool addr_match(const struct xp_capture_filter *f, const struct xp_pkt *pkt)
{
    struct xp_parsed pp;

    if (!f->unit_bits && !f->has_dst)
        return true;
    /* a frame the parser refuses names no unit or destination */
    if (xp_parse_frame(pkt->data, pkt->len, &pp) != XP_PARSE_OK)
        return false;
    if (f->unit_bits && !prefix_eq(pp.src, f->unit, f->unit_bits))
        return false;
    return !f->has_dst || memcmp(pp.dst, f->dst, 16) == 0;
}

void xp_capture_tap__offer(struct xp_capture_tap *tap, const struct xp_pkt *pkts, unsigned n,
                           const uint8_t *fates, unsigned port, uint64_t now_rt,
                           uint64_t now_mono)
{
    uint64_t matched = 0, captured = 0, lost_budget = 0, lost_ring = 0;
    struct xp_capture_rec rec;

    for (unsigned i = 0; i < n; i++) {
        uint32_t cap;

        if (fates[i] >= 32 || !(tap->f.fates & (1u << fates[i])) ||
            !addr_match(&tap->f, &pkts[i]))
            continue;
        matched++;
        if (tap->left == 0 || tap->next_ns > now_mono + BURST_NS) {
            lost_budget++;
            continue;
        }
        /* a full ring is a loss, not a wait; it uses the budget all the same */
        tap->next_ns = (tap->next_ns > now_mono ? tap->next_ns : now_mono) + tap->cost_ns;
        tap->left--;
        cap = pkts[i].len < XP_CAPTURE_SNAPLEN ? pkts[i].len : XP_CAPTURE_SNAPLEN;
        rec.t_ns = now_rt;
        rec.caplen = (uint16_t)cap;
        rec.origlen = pkts[i].len > 65535 ? 65535 : (uint16_t)pkts[i].len;
        rec.fate = fates[i];
        rec.port = (uint8_t)port;
        rec.queue = (uint16_t)tap->queue;
        memcpy(rec.data, pkts[i].data, cap);
        if (xp_spsc__push(&tap->ring, &rec, 1) == 1)
            captured++;
        else
            lost_ring++;
    }
    if (matched) {
        XP_STAT_ADD(tap->matched, matched);
        XP_STAT_ADD(tap->captured, captured);
        XP_STAT_ADD(tap->lost_budget, lost_budget);
        XP_STAT_ADD(tap->lost_ring, lost_ring);
    }
}

unsigned xp_capture_tap__drain(struct xp_capture_tap *tap, struct xp_capture_rec *out,
                               unsigned max)
{
    return xp_spsc__pop(&tap->ring, out, max);
}

void xp_capture_tap__stats(const struct xp_capture_tap *tap, struct xp_capture_tap_stats *out)
{
    out->matched = XP_STAT_GET(tap->matched);
    out->captured = XP_STAT_GET(tap->captured);
    out->lost_budget = XP_STAT_GET(tap->lost_budget);
    out->lost_ring = XP_STAT_GET(tap->lost_ring);
}
