// SPDX-License-Identifier: GPL-2.0-only
/*
 * The capture op (xpro-ctl capture, docs/operators.md "Capturing"): one
 * capture at a time, streamed to the client that asked for it. The control
 * thread gives each worker a tap (src/capture/capture.h) through its
 * mailbox, drains the taps once per loop turn (at least every 100 ms) into
 * JSON lines for the client, and ends the capture at its count, at its
 * duration, or as soon as the client is gone (a broadcast nobody got), then
 * takes the taps back and frees them.
 *
 * Why the frames travel over the control socket instead of into a file the
 * proxy writes: the proxy runs as an unprivileged account in a hardened
 * unit (conf/systemd/xpro-proxy.service.in: a read-only file system but for
 * its state directory), so any path it could write is one the operator
 * cannot choose; xpro-ctl, run by the operator, writes where the operator
 * may. The socket's group is the access control, as for every other op.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/capture/capture.h"
#include "src/ctl/ctl.h"
#include "src/pipeline/pipeline.h"
#include "src/proxy/proxy.h"
#include "src/util/clock.h"
#include "src/util/log.h"

#define CAPTURE_PROGRESS_NS 1000000000ULL /* a progress line this often: also finds a gone client */
#define CAPTURE_DRAIN_BURST 64

struct xp_capture_run {
    uint64_t id;
    struct xp_capture_spec spec;
    struct xp_capture_tap *taps[XP_MAX_QUEUES];
    unsigned queues;
    uint64_t deadline_mono;
    uint64_t next_progress_mono;
    uint64_t sent;     /* frames streamed to the client */
    uint64_t over;     /* drained past the count (taps of several workers): not sent */
};

static void set_tap_on_worker(struct xp_worker *w, void *arg)
{
    w->tap = arg;
}

/* Totals over the taps. */
static void run_stats(const struct xp_capture_run *r, struct xp_capture_tap_stats *tot)
{
    memset(tot, 0, sizeof(*tot));
    for (unsigned q = 0; q < r->queues; q++) {
        struct xp_capture_tap_stats s;

        if (!r->taps[q])
            continue;
        xp_capture_tap__stats(r->taps[q], &s);
        tot->matched += s.matched;
        tot->captured += s.captured;
        tot->lost_budget += s.lost_budget;
        tot->lost_ring += s.lost_ring;
    }
}

/* Send o (consumed) to the capture's follower; false when nobody got it. */
static bool send_line(struct proxy *px, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    unsigned got = 0;

    if (s && px->ctl)
        got = xp_ctl_server__broadcast(px->ctl, "capture", s);
    free(s);
    json_decref(o);
    return got > 0;
}

/*
 * Lines go out in batches of up to CAPTURE_BATCH bytes, one broadcast (a
 * send) each, not one per frame: during a flood the control thread shares
 * the machine with the data path.
 */
#define CAPTURE_BATCH (64 * 1024)

struct batch {
    char buf[CAPTURE_BATCH];
    size_t len;
};

/* Send what the batch holds; false when nobody got it. */
static bool flush(struct proxy *px, struct batch *b)
{
    unsigned got;

    if (!b->len)
        return true;
    b->buf[b->len] = '\0';
    got = px->ctl ? xp_ctl_server__broadcast(px->ctl, "capture", b->buf) : 0;
    b->len = 0;
    return got > 0;
}

/* Stream what the taps hold; false when the client is gone. */
static bool drain(struct proxy *px, struct xp_capture_run *r)
{
    struct xp_capture_rec recs[CAPTURE_DRAIN_BURST];
    static struct batch b; /* the control thread's only: one capture at a time */

    b.len = 0;
    for (unsigned q = 0; q < r->queues; q++) {
        unsigned n;

        while (r->taps[q] && (n = xp_capture_tap__drain(r->taps[q], recs,
                                                        CAPTURE_DRAIN_BURST)) > 0) {
            for (unsigned i = 0; i < n; i++) {
                int len;

                if (r->sent >= r->spec.count) {
                    r->over++;
                    continue;
                }
                if (CAPTURE_BATCH - b.len < XP_CAPTURE_LINE_MAX + 2 && !flush(px, &b))
                    return false;
                if (b.len)
                    b.buf[b.len++] = '\n';
                len = xp_capture_rec__line(&recs[i], r->id, xp_pkt_fate_name(recs[i].fate),
                                           b.buf + b.len, CAPTURE_BATCH - b.len);
                if (len < 0) { /* cannot be: our fate names are words, the room was checked */
                    r->over++;
                    b.len -= b.len ? 1 : 0;
                    continue;
                }
                b.len += (size_t)len;
                r->sent++;
            }
        }
    }
    return flush(px, &b);
}

static json_t *counts_json(const struct xp_capture_run *r, const char *kind)
{
    struct xp_capture_tap_stats t;

    run_stats(r, &t);
    return json_pack("{s:I,s:b,s:I,s:I,s:I,s:I,s:I}", "capture", (json_int_t)r->id, kind, 1,
                     "frames", (json_int_t)r->sent, "matched", (json_int_t)t.matched,
                     "lost_budget", (json_int_t)t.lost_budget, "lost_ring",
                     (json_int_t)t.lost_ring, "over_count", (json_int_t)r->over);
}

void xp_proxy__capture_stop(struct proxy *px, const char *why)
{
    struct xp_capture_run *r = px->capture;
    json_t *end;

    if (!r)
        return;
    /* the workers let go first: after this call none touches its tap again */
    for (unsigned q = 0; q < r->queues; q++)
        if (r->taps[q])
            xp_worker__call(&px->workers[q], set_tap_on_worker, NULL);
    if (strcmp(why, "client_gone") != 0 && drain(px, r)) {
        end = counts_json(r, "end");
        if (end)
            json_object_set_new(end, "why", json_string(why));
        send_line(px, end);
    }
    pr_info("capture %llu ended (%s): %llu frames streamed",
            (unsigned long long)r->id, why, (unsigned long long)r->sent);
    for (unsigned q = 0; q < r->queues; q++)
        xp_capture_tap__destroy(r->taps[q]);
    free(r);
    px->capture = NULL;
}

void xp_proxy__capture_service(struct proxy *px)
{
    struct xp_capture_run *r = px->capture;
    uint64_t now;

    if (!r)
        return;
    if (!drain(px, r)) {
        xp_proxy__capture_stop(px, "client_gone");
        return;
    }
    now = xp_mono_ns();
    if (r->sent >= r->spec.count) {
        xp_proxy__capture_stop(px, "count");
    } else if (now >= r->deadline_mono) {
        xp_proxy__capture_stop(px, "duration");
    } else if (now >= r->next_progress_mono) {
        r->next_progress_mono = now + CAPTURE_PROGRESS_NS;
        if (!send_line(px, counts_json(r, "progress")))
            xp_proxy__capture_stop(px, "client_gone");
    }
}

json_t *xp_proxy__ctl_capture(struct proxy *px, json_t *req, char *err, size_t errlen)
{
    struct xp_capture_run *r;

    if (!json_is_true(json_object_get(req, "follow"))) {
        snprintf(err, errlen, "capture streams its frames: send it with \"follow\": true "
                 "(xpro-ctl capture does)");
        return NULL;
    }
    if (px->gw) {
        snprintf(err, errlen, "capture: not in gateway mode (the workers see tunnel datagrams)");
        return NULL;
    }
    if (!px->dst) {
        snprintf(err, errlen, "capture: no policing configured (policer.unit_prefixes is "
                 "empty): no frame gets a verdict");
        return NULL;
    }
    /*
     * The running capture's client may have left without the proxy noticing yet (it
     * notices at the next line it sends, at most a second away): ask now.
     */
    if (px->capture && !send_line(px, counts_json(px->capture, "progress")))
        xp_proxy__capture_stop(px, "client_gone");
    if (px->capture) {
        snprintf(err, errlen, "capture: capture %llu is running (one at a time)",
                 (unsigned long long)px->capture->id);
        return NULL;
    }
    r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (xp_capture_spec__parse(req, px->cfg->pol.v6_unit_prefix, &r->spec, err, errlen)) {
        free(r);
        return NULL;
    }
    r->id = ++px->capture_ids;
    r->queues = px->cfg->queues;
    for (unsigned q = 0; q < r->queues; q++) {
        if (!px->pipelines[q])
            continue;
        r->taps[q] = xp_capture_tap__create(&r->spec, q);
        if (!r->taps[q]) {
            snprintf(err, errlen, "capture: %s", strerror(errno));
            for (unsigned k = 0; k < q; k++)
                xp_capture_tap__destroy(r->taps[k]);
            free(r);
            return NULL;
        }
    }
    r->deadline_mono = xp_mono_ns() + r->spec.seconds * 1000000000ULL;
    r->next_progress_mono = xp_mono_ns() + CAPTURE_PROGRESS_NS;
    px->capture = r;
    for (unsigned q = 0; q < r->queues; q++)
        if (r->taps[q])
            xp_worker__call(&px->workers[q], set_tap_on_worker, r->taps[q]);
    pr_info("capture %llu started: at most %u frames in %u s, %u frames/s per queue",
            (unsigned long long)r->id, r->spec.count, r->spec.seconds, r->spec.rate);
    return json_pack("{s:I,s:i,s:i,s:i,s:i,s:i,s:i}", "capture", (json_int_t)r->id, "queues",
                     (int)r->queues, "snaplen", XP_CAPTURE_SNAPLEN, "count", (int)r->spec.count,
                     "seconds", (int)r->spec.seconds, "rate_per_queue", (int)r->spec.rate,
                     "ring", XP_CAPTURE_RING);
}
