// SPDX-License-Identifier: GPL-2.0-only
/*
 * The capture op's request, checked whole before anything starts: every
 * key known, every value in its bound, a clear message otherwise (the
 * request comes from whoever may open the control socket).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "src/capture/capture.h"
#include "src/pipeline/pipeline.h"
#include "src/util/hexaddr.h"

static const char *const known_keys[] = {
    "op", "follow", "unit", "dst", "verdict", "count", "seconds", "rate", NULL,
};

static int get_bounded(const json_t *req, const char *key, unsigned lo, unsigned hi,
                       unsigned *out, char *err, size_t errlen)
{
    const json_t *v = json_object_get(req, key);

    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        snprintf(err, errlen, "%s: expected an integer %u..%u", key, lo, hi);
        return -EINVAL;
    }
    *out = (unsigned)json_integer_value(v);
    return 0;
}

static int get_addr(const json_t *req, const char *key, uint8_t out[16], bool *given, char *err,
                    size_t errlen)
{
    const json_t *v = json_object_get(req, key);

    *given = v != NULL;
    if (!v)
        return 0;
    if (!json_is_string(v) || xp_addr__parse(json_string_value(v), out)) {
        snprintf(err, errlen, "%s: expected an IPv4 or IPv6 address", key);
        return -EINVAL;
    }
    return 0;
}

static int get_fates(const json_t *req, uint32_t *fates, char *err, size_t errlen)
{
    const json_t *v = json_object_get(req, "verdict");
    const char *name = json_string_value(v);

    *fates = (1u << XP_FATE_MAX) - 1;
    if (!v)
        return 0;
    if (name && strcmp(name, "drop") == 0) {
        *fates &= ~(1u << XP_FATE_FORWARD);
        return 0;
    }
    for (unsigned f = 0; name && f < XP_FATE_MAX; f++) {
        if (f != XP_FATE_DROP && strcmp(name, xp_pkt_fate_name(f)) == 0) {
            *fates = 1u << f;
            return 0;
        }
    }
    snprintf(err, errlen, "verdict: expected forward, drop (any drop), drop_unit_rate, "
             "drop_dst_rate, drop_table_full, drop_manual, drop_malformed or drop_non_ip");
    return -EINVAL;
}

int xp_capture_spec__parse(const json_t *req, unsigned v6_unit_prefix,
                           struct xp_capture_spec *out, char *err, size_t errlen)
{
    const char *key;
    const json_t *v;
    bool has_unit;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(req)) {
        snprintf(err, errlen, "capture: expected a JSON object");
        return -EINVAL;
    }
    json_object_foreach((json_t *)req, key, v) {
        unsigned k = 0;

        while (known_keys[k] && strcmp(known_keys[k], key) != 0)
            k++;
        if (!known_keys[k]) {
            snprintf(err, errlen, "capture: unknown key \"%.40s\" (unit, dst, verdict, count, "
                     "seconds, rate)", key);
            return -EINVAL;
        }
    }
    out->count = XP_CAPTURE_COUNT_DEFAULT;
    out->seconds = XP_CAPTURE_SECONDS_DEFAULT;
    out->rate = XP_CAPTURE_RATE_DEFAULT;
    if (get_addr(req, "unit", out->filter.unit, &has_unit, err, errlen) ||
        get_addr(req, "dst", out->filter.dst, &out->filter.has_dst, err, errlen) ||
        get_fates(req, &out->filter.fates, err, errlen) ||
        get_bounded(req, "count", 1, XP_CAPTURE_COUNT_MAX, &out->count, err, errlen) ||
        get_bounded(req, "seconds", 1, XP_CAPTURE_SECONDS_MAX, &out->seconds, err, errlen) ||
        get_bounded(req, "rate", 1, XP_CAPTURE_RATE_MAX, &out->rate, err, errlen))
        return -EINVAL;
    if (has_unit) {
        /* the policer's unit: an IPv6 unit is its prefix, any address in it */
        out->filter.unit_bits = xp_addr__is_v4(out->filter.unit) ? 128 : v6_unit_prefix;
        if (out->filter.unit_bits == 0 || out->filter.unit_bits > 128) {
            snprintf(err, errlen, "unit: the IPv6 unit prefix (%u bits) is not usable",
                     v6_unit_prefix);
            return -EINVAL;
        }
    }
    return 0;
}
