// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for what xpro-ctl capture reads from a socket: the
 * capture request the proxy parses (src/capture/spec.c) and the frame
 * lines xpro-ctl parses (src/capture/codec.c). Any input is accepted or
 * refused with a message, without a crash, leak or UB; an accepted request
 * is within its bounds, and an accepted frame re-encodes to the same frame.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/capture/capture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct xp_capture_frame fr, fr2;
    static struct xp_capture_rec rec;
    static char line[XP_CAPTURE_LINE_MAX];
    struct xp_capture_spec spec;
    char err[256];
    json_t *o = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);

    if (!o)
        return 0;
    if (xp_capture_spec__parse(o, 56, &spec, err, sizeof(err)) == 0) {
        if (spec.count < 1 || spec.count > XP_CAPTURE_COUNT_MAX || spec.seconds < 1 ||
            spec.seconds > XP_CAPTURE_SECONDS_MAX || spec.rate < 1 ||
            spec.rate > XP_CAPTURE_RATE_MAX || spec.filter.unit_bits > 128 || !spec.filter.fates)
            abort();
    } else if (!err[0]) {
        abort(); /* a refusal always says why */
    }
    if (xp_capture_frame__parse(o, &fr, err, sizeof(err)) == 0) {
        json_t *back;

        if (fr.caplen > XP_CAPTURE_SNAPLEN || fr.caplen > fr.len)
            abort();
        memset(&rec, 0, sizeof(rec));
        rec.t_ns = fr.t_ns;
        rec.caplen = (uint16_t)fr.caplen;
        rec.origlen = (uint16_t)fr.len;
        rec.queue = (uint16_t)fr.queue;
        rec.port = strcmp(fr.port, "access") == 0 ? 0 : 1;
        memcpy(rec.data, fr.data, fr.caplen);
        if (xp_capture_rec__line(&rec, fr.id, fr.verdict, line, sizeof(line)) < 0)
            abort();
        back = json_loads(line, 0, NULL);
        if (!back || xp_capture_frame__parse(back, &fr2, err, sizeof(err)) ||
            fr2.t_ns != fr.t_ns || fr2.caplen != fr.caplen || fr2.len != fr.len ||
            fr2.id != fr.id || strcmp(fr2.verdict, fr.verdict) ||
            memcmp(fr2.data, fr.data, fr.caplen))
            abort();
        json_decref(back);
    } else if (!err[0]) {
        abort();
    }
    json_decref(o);
    return 0;
}
