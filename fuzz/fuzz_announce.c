// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for what xpro-announce reads from the proxy
 * (src/announce/routes.c): block/unblock events and `flows` answers, any
 * bytes, one JSON document per line. The first byte picks the cap (a small
 * route cap makes the capped and promoted paths reachable). Whatever comes,
 * no crash, leak or UB; every command written is one announce or withdraw
 * line; the route count never passes the cap; and after the stream is lost
 * (forget_all) and flushed, nothing stays announced.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "src/announce/announce.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sink(void *ctx, const char *line)
{
    (void)ctx;
    if (strncmp(line, "announce ", 9) && strncmp(line, "withdraw ", 9))
        abort();
    if (strchr(line, '\n'))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct xp_announce_conf conf;
    struct xp_announce_stats st;
    struct xp_announce *a;
    uint64_t now = 1000000000ULL;
    size_t at = 1;

    if (size < 1)
        return 0;
    xp_announce_conf__defaults(&conf);
    conf.max_routes = 1 + data[0] % 8;
    conf.max_pairs = 2 + data[0] / 8 % 16;
    conf.dst_action = (enum xp_dst_action)(data[0] / 128 % 3);
    a = xp_announce__create(&conf, sink, NULL, now);
    if (!a)
        abort();
    while (at < size) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t len = nl ? (size_t)(nl - (data + at)) : size - at;
        json_t *j = json_loadb((const char *)data + at, len, JSON_REJECT_DUPLICATES, NULL);

        if (j) {
            /* a flows answer (its object, or the bare array); anything else is an event */
            if (json_is_object(j) && json_object_get(j, "flows"))
                (void)xp_announce__seed(a, json_object_get(j, "flows"));
            else if (json_is_array(j))
                (void)xp_announce__seed(a, j);
            else
                (void)xp_announce__event(a, j);
            json_decref(j);
        }
        now += 50000000ULL;
        (void)xp_announce__pace(a, now);
        xp_announce__stats(a, &st);
        if (st.routes_announced > conf.max_routes)
            abort();
        at += len + 1;
    }
    xp_announce__forget_all(a);
    xp_announce__flush(a);
    xp_announce__stats(a, &st);
    if (st.routes_announced != 0 || st.pairs != 0)
        abort();
    xp_announce__destroy(a);
    return 0;
}
