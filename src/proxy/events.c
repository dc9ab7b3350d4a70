// SPDX-License-Identifier: GPL-2.0-only
/*
 * Events (docs/operators.md "Events"): the workers queue them in their
 * pipelines' rings; the control thread renders each as one JSON line and
 * hands it to every sink: the events file, syslog, and the control
 * socket's followers (`xpro-ctl events --follow`).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "src/ctl/ctl.h"
#include "src/pipeline/pipeline.h"
#include "src/proxy/proxy.h"
#include "src/util/hexaddr.h"
#include "src/proxy/sync_thread.h"
#include "src/util/syslog_sink.h"

/* Keep line (ours now) in the ring of recent events; the oldest one goes. */
static void remember(struct proxy *px, char *line)
{
    unsigned slot;

    if (!px->recent) {
        px->recent = calloc(XP_PROXY_RECENT_EVENTS, sizeof(*px->recent));
        if (!px->recent) {
            free(line);
            return;
        }
    }
    slot = (unsigned)(px->recent_total % XP_PROXY_RECENT_EVENTS);
    free(px->recent[slot]);
    px->recent[slot] = line;
    px->recent_total++;
}

json_t *xp_proxy__recent_events(const struct proxy *px, unsigned n)
{
    uint64_t held = px->recent_total < XP_PROXY_RECENT_EVENTS ? px->recent_total
                                                              : XP_PROXY_RECENT_EVENTS;
    json_t *arr = json_array();

    if (n > held)
        n = (unsigned)held;
    for (uint64_t i = px->recent_total - n; arr && i < px->recent_total; i++) {
        const char *line = px->recent[i % XP_PROXY_RECENT_EVENTS];
        json_t *o = line ? json_loads(line, 0, NULL) : NULL;

        if (o)
            json_array_append_new(arr, o);
    }
    return arr;
}

void xp_proxy__events_free(struct proxy *px)
{
    for (unsigned i = 0; px->recent && i < XP_PROXY_RECENT_EVENTS; i++)
        free(px->recent[i]);
    free(px->recent);
    px->recent = NULL;
}

void xp_proxy__emit_event(struct proxy *px, json_t *o, int severity)
{
    char *line = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));

    if (!line)
        return;
    if (px->ctl)
        xp_ctl_server__broadcast(px->ctl, "events", line);
    if (px->syslog)
        xp_syslog__send(px->syslog, severity, line);
    if (px->events) {
        fputs(line, px->events);
        fputc('\n', px->events);
        fflush(px->events);
        px->events_written++;
    }
    remember(px, line);
}

/* A window's length in seconds and its rate, as the policer computed it. */
static json_t *window_json(uint64_t ts1, uint64_t ts2, uint64_t c, uint64_t rate)
{
    return json_pack("{s:I,s:I,s:I,s:f,s:I}", "ts1", (json_int_t)ts1, "ts2", (json_int_t)ts2,
                     "c", (json_int_t)c, "window_s", ts2 > ts1 ? (ts2 - ts1) / 1e9 : 0.0,
                     "rate_pps", (json_int_t)rate);
}

json_t *xp_proxy__evidence_json(const struct xp_policer_evidence *why)
{
    static const char *const policies[] = { "drop_all" };
    json_t *o = json_pack("{s:I,s:s,s:o,s:{s:I,s:I,s:I,s:I}}", "t", (json_int_t)why->t_ns,
                          "policy", why->dst_policy < sizeof(policies) / sizeof(policies[0])
                                        ? policies[why->dst_policy] : "unknown",
                          "pair", window_json(why->ts1, why->ts2, why->c, why->rate_pps),
                          "thresholds", "t_f1_pps", (json_int_t)why->t_f1_pps, "t_f2_pps",
                          (json_int_t)why->t_f2_pps, "t_t2_ms", (json_int_t)(why->t_t2_ns / 1000000),
                          "t_t3_ms", (json_int_t)(why->t_t3_ns / 1000000));
    json_t *d;

    if (!o)
        return NULL;
    if (!why->has_dst) {
        json_object_set_new(o, "dst", json_null());
        return o;
    }
    d = window_json(why->dst_ts1, why->dst_ts2, why->dst_c, why->dst_rate_pps);
    if (d) {
        /*
         * A sync answer names no proxy (docs/protocol.md): other proxies'
         * units show as pairs known only from the central node, so this
         * proxy knows that at least one other proxy counted, not how many.
         */
        json_object_set_new(d, "remote_pairs", json_integer(why->dst_remote_pairs));
        json_object_set_new(d, "proxies_min", json_integer(why->dst_remote_pairs ? 2 : 1));
    }
    json_object_set_new(o, "dst", d ? d : json_null());
    return o;
}

static json_t *event_json(const struct proxy *px, const struct xp_event *ev)
{
    static const char *const kinds[] = {
        [XP_EVENT_OVERLOAD] = "overload",
        [XP_EVENT_BLOCK] = "block",
        [XP_EVENT_UNBLOCK] = "unblock",
    };
    char unit[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
    json_t *o;

    xp_addr__format(ev->key.unit, unit, sizeof(unit));
    xp_addr__format(ev->key.dst, dst, sizeof(dst));
    o = json_pack("{s:s,s:s,s:s,s:s,s:f,s:i}", "event", kinds[ev->kind], "proxy_id",
                  px->cfg->proxy_id, "unit", unit, "dst", dst, "time", ev->t_ns / 1e9, "queue",
                  (int)ev->queue);
    if (!o)
        return NULL;
    if (ev->kind == XP_EVENT_OVERLOAD) {
        json_object_set_new(o, "rate_pps", json_integer((json_int_t)ev->rate_pps));
        json_object_set_new(o, "threshold_pps", json_integer((json_int_t)ev->threshold_pps));
    } else if (ev->kind == XP_EVENT_BLOCK) {
        json_object_set_new(o, "reason", json_string(ev->reason == XP_VERDICT_DROP_DST
                                                          ? "dst_rate"
                                                          : "unit_rate"));
        json_object_set_new(o, "threshold_pps", json_integer((json_int_t)ev->threshold_pps));
        json_object_set_new(o, "block_ms", json_integer(px->cfg->pol.block_ms));
        json_object_set_new(o, "evidence", xp_proxy__evidence_json(&ev->why));
        /* the policy groups whose thresholds blocked the pair (names of the running config) */
        json_object_set_new(o, "unit_group", json_string(xp_conf_policer__group_name(
                                                 &px->cfg->pol, false, ev->unit_group) ?: "default"));
        json_object_set_new(o, "dst_group", json_string(xp_conf_policer__group_name(
                                                &px->cfg->pol, true, ev->dst_group) ?: "default"));
    } else if (ev->kind == XP_EVENT_UNBLOCK) {
        /* which block ended: the test that set it (operator blocks say "operator") */
        json_object_set_new(o, "reason", json_string(ev->reason == XP_VERDICT_DROP_DST
                                                          ? "dst_rate"
                                                          : "unit_rate"));
    }
    return o;
}

void xp_proxy__drain_events(struct proxy *px)
{
    struct xp_event ev[64];

    if (!px->dst)
        return;
    for (unsigned q = 0; q < px->cfg->queues; q++) {
        unsigned n;

        while ((n = xp_pipeline__drain_events(px->pipelines[q], ev, 64)) > 0) {
            for (unsigned i = 0; i < n; i++) {
                json_t *o = event_json(px, &ev[i]);

                /* a unit over T_F1 is news for the other proxies too (Algorithm 2's warnings) */
                if (ev[i].kind == XP_EVENT_OVERLOAD && px->sync)
                    xp_proxy_sync__warn(px->sync, &ev[i]);
                if (!o)
                    continue;
                xp_proxy__emit_event(px, o, ev[i].kind == XP_EVENT_UNBLOCK ? LOG_NOTICE
                                                                           : LOG_WARNING);
                json_decref(o);
            }
            if (n < 64)
                break;
        }
    }
    if (px->events)
        fflush(px->events);
}
