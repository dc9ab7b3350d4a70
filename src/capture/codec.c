// SPDX-License-Identifier: GPL-2.0-only
/*
 * Frames on the control socket: JSON lines with the snap in hex. Hex
 * doubles the bytes, but a capture is bounded to a few thousand frames a
 * second and every line stays printable and greppable; xpro-ctl reads each
 * with one jansson call.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "src/capture/capture.h"
#include "src/util/hexaddr.h"

static bool is_word(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;

    return n > 0 && n < max && strspn(s, "abcdefghijklmnopqrstuvwxyz_") == n;
}

int xp_capture_rec__line(const struct xp_capture_rec *rec, uint64_t id, const char *verdict,
                         char *buf, size_t len)
{
    unsigned cap = rec->caplen > XP_CAPTURE_SNAPLEN ? XP_CAPTURE_SNAPLEN : rec->caplen;
    int n;

    if (!is_word(verdict, 32))
        return -EINVAL;
    if (len < XP_CAPTURE_LINE_MAX)
        return -ENOSPC;
    n = snprintf(buf, len,
                 "{\"capture\":%llu,\"t_ns\":%llu,\"queue\":%u,\"port\":\"%s\",\"len\":%u,"
                 "\"verdict\":\"%s\",\"frame\":\"",
                 (unsigned long long)id, (unsigned long long)rec->t_ns, (unsigned)rec->queue,
                 rec->port == XP_PORT_ACCESS ? "access" : "core", (unsigned)rec->origlen,
                 verdict);
    xp_hex__encode(rec->data, cap, buf + n);
    n += 2 * (int)cap;
    memcpy(buf + n, "\"}", 3);
    return n + 2;
}

/* A non-negative integer member no larger than max. */
static int get_uint(const json_t *o, const char *key, uint64_t max, uint64_t *out, char *err,
                    size_t errlen)
{
    const json_t *v = json_object_get(o, key);

    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (uint64_t)json_integer_value(v) > max) {
        snprintf(err, errlen, "frame: \"%s\": expected an integer 0..%llu", key,
                 (unsigned long long)max);
        return -EINVAL;
    }
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* A word of [a-z_] of 1..max-1 characters (verdicts and port names). */
static int get_word(const json_t *o, const char *key, char *out, size_t max, char *err,
                    size_t errlen)
{
    const char *s = json_string_value(json_object_get(o, key));

    if (!is_word(s, max)) {
        snprintf(err, errlen, "frame: \"%s\": expected a word of 1..%zu letters or '_'", key,
                 max - 1);
        return -EINVAL;
    }
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

int xp_capture_frame__parse(const json_t *o, struct xp_capture_frame *out, char *err,
                            size_t errlen)
{
    const char *hex = json_string_value(json_object_get(o, "frame"));
    uint64_t v;
    int n;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(o)) {
        snprintf(err, errlen, "frame: expected a JSON object");
        return -EINVAL;
    }
    if (get_uint(o, "capture", UINT64_MAX >> 1, &out->id, err, errlen) ||
        get_uint(o, "t_ns", UINT64_MAX >> 1, &out->t_ns, err, errlen) ||
        get_uint(o, "queue", 65535, &v, err, errlen))
        return -EINVAL;
    out->queue = (unsigned)v;
    if (get_uint(o, "len", 65535, &v, err, errlen))
        return -EINVAL;
    out->len = (unsigned)v;
    if (get_word(o, "port", out->port, sizeof(out->port), err, errlen) ||
        get_word(o, "verdict", out->verdict, sizeof(out->verdict), err, errlen))
        return -EINVAL;
    n = hex ? xp_hex__decode(hex, out->data, sizeof(out->data)) : -EINVAL;
    if (n < 0) {
        snprintf(err, errlen, "frame: \"frame\": expected at most %d bytes in hex",
                 XP_CAPTURE_SNAPLEN);
        return -EINVAL;
    }
    if ((unsigned)n > out->len) {
        snprintf(err, errlen, "frame: %d bytes captured of a %u-byte frame", n, out->len);
        return -EINVAL;
    }
    out->caplen = (unsigned)n;
    return 0;
}
