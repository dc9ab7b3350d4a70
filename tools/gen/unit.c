// SPDX-License-Identifier: GPL-2.0-only
/*
 * A scenario's units: the `unit` lines of the scenario file (the format is in main.c's
 * opening comment), each unit's rate profile, and the frame it sends: a template built
 * once, then per frame a message id and a UDP checksum.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "src/util/log.h"
#include "src/util/wire.h"
#include "tools/gen/gen.h"

#define XP_GEN_MIN_FRAME_V4 (14 + 20 + 8 + 4)
#define XP_GEN_MIN_FRAME_V6 (14 + 40 + 8 + 4)

/* ---- the scenario file ---------------------------------------------------------------- */

static int unit_set(struct xp_gen_unit *u, const char *key, const char *val, int *family_out,
                    bool *have_dst)
{
    double v;
    int fam;

    if (!strcmp(key, "src") || !strcmp(key, "dst")) {
        uint8_t *a = key[0] == 's' ? u->src : u->dst;

        fam = strchr(val, ':') ? AF_INET6 : AF_INET;
        if (inet_pton(fam, val, a) != 1)
            return -EINVAL;
        if (*family_out && *family_out != fam)
            return -EINVAL;
        *family_out = fam;
        if (key[0] == 's')
            snprintf(u->src_str, sizeof(u->src_str), "%s", val);
        else
            *have_dst = true;
        return 0;
    }
    if (!strcmp(key, "smac")) {
        u->have_smac = true;
        return xp_gen_parse_mac(val, u->smac);
    }
    if (!strcmp(key, "dmac")) {
        u->have_dmac = true;
        return xp_gen_parse_mac(val, u->dmac);
    }
    if (!strcmp(key, "profile")) {
        if (!strcmp(val, "constant"))
            u->profile = XP_PROF_CONSTANT;
        else if (!strcmp(val, "onoff"))
            u->profile = XP_PROF_ONOFF;
        else if (!strcmp(val, "ramp"))
            u->profile = XP_PROF_RAMP;
        else if (!strcmp(val, "flood") || !strcmp(val, "quiet-flood"))
            u->profile = XP_PROF_FLOOD;
        else
            return -EINVAL;
        return 0;
    }
    if (!strcmp(key, "rate") && !strcmp(val, "max")) {
        u->max_rate = true;
        return 0;
    }
    if (!strcmp(key, "role"))
        return strcmp(val, "attack") && strcmp(val, "benign") ? -EINVAL : 0;
    if (!strcmp(key, "group")) {
        if (xp_gen_parse_num(val, 0, 1023, &v))
            return -EINVAL;
        u->group = (unsigned)v;
        return 0;
    }
    if (!strcmp(key, "size")) {
        if (xp_gen_parse_num(val, XP_GEN_MIN_FRAME_V4, XP_GEN_MAX_FRAME, &v))
            return -EINVAL;
        u->size = (unsigned)v;
        return 0;
    }
    if (!strcmp(key, "sport") || !strcmp(key, "dport")) {
        if (xp_gen_parse_num(val, 1, 65535, &v))
            return -EINVAL;
        *(key[0] == 's' ? &u->sport : &u->dport) = (uint16_t)v;
        return 0;
    }
    {
        static const struct {
            const char *key;
            size_t off;
        } nums[] = {
            {"rate", offsetof(struct xp_gen_unit, rate)},
            {"flood", offsetof(struct xp_gen_unit, flood)},
            {"to", offsetof(struct xp_gen_unit, to)},
            {"at", offsetof(struct xp_gen_unit, at)},
            {"on", offsetof(struct xp_gen_unit, on_s)},
            {"off", offsetof(struct xp_gen_unit, off_s)},
            {"ramp", offsetof(struct xp_gen_unit, ramp_s)},
            {"start", offsetof(struct xp_gen_unit, start)},
            {"stop", offsetof(struct xp_gen_unit, stop)},
        };

        for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
            if (strcmp(key, nums[i].key))
                continue;
            if (xp_gen_parse_num(val, 0, 1e9, &v))
                return -EINVAL;
            *(double *)((char *)u + nums[i].off) = v;
            return 0;
        }
    }
    return -ENOENT;
}

/* Fills U from the rest of a `unit` line (SAVE: strtok_r's state after "unit"); INDEX counts
 * the units before it in the file, whatever their group. */
static int unit_parse(struct xp_gen_unit *u, char **save, unsigned index, const char *path,
                      unsigned lineno)
{
    char *tok;
    int family = 0, ret;
    bool have_dst = false;

    memset(u, 0, sizeof(*u));
    u->size = 64;
    u->dport = XP_GEN_COAP_PORT;
    u->sport = (uint16_t)(40000 + index);
    u->stop = 1e9;
    u->ramp_s = 1;
    tok = strtok_r(NULL, " \t\r\n", save);
    if (!tok || strchr(tok, '=')) {
        pr_err("%s:%u: unit needs a name first", path, lineno);
        return -EINVAL;
    }
    snprintf(u->name, sizeof(u->name), "%s", tok);
    while ((tok = strtok_r(NULL, " \t\r\n", save))) {
        char *eq = strchr(tok, '=');

        if (!eq) {
            pr_err("%s:%u: expected key=value: %s", path, lineno, tok);
            return -EINVAL;
        }
        *eq = '\0';
        ret = unit_set(u, tok, eq + 1, &family, &have_dst);
        if (ret) {
            pr_err("%s:%u: %s: %s", path, lineno, tok,
                   ret == -ENOENT ? "unknown key" : "bad value");
            return -EINVAL;
        }
    }
    if (!family || !have_dst || !u->src_str[0]) {
        pr_err("%s:%u: unit %s needs src and dst of one family", path, lineno, u->name);
        return -EINVAL;
    }
    u->family = family;
    if (family == AF_INET6 && u->size < XP_GEN_MIN_FRAME_V6)
        u->size = XP_GEN_MIN_FRAME_V6;
    if (!u->have_smac) {
        uint8_t sm[6] = {0x02, 0x58, 0x50, (uint8_t)(u->group), (uint8_t)(index >> 8),
                         (uint8_t)index};

        memcpy(u->smac, sm, 6);
    }
    return 0;
}

int xp_gen_scenario__load(const char *path, int group, struct xp_gen_unit **units_out,
                          unsigned *n_out)
{
    struct xp_gen_unit *units;
    char line[1024];
    unsigned n = 0, lineno = 0, index = 0;
    FILE *f;
    int ret = 0;

    f = fopen(path, "r");
    if (!f) {
        ret = -errno;
        pr_err("%s: %s", path, strerror(errno));
        return ret;
    }
    units = calloc(XP_GEN_MAX_UNITS, sizeof(*units));
    if (!units) {
        ret = -ENOMEM;
        goto out_close;
    }
    while (fgets(line, sizeof(line), f)) {
        char *save = NULL, *tok, *hash;

        lineno++;
        hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        tok = strtok_r(line, " \t\r\n", &save);
        if (!tok || strcmp(tok, "unit"))
            continue;
        if (n == XP_GEN_MAX_UNITS) {
            pr_err("%s:%u: more than %d units", path, lineno, XP_GEN_MAX_UNITS);
            ret = -E2BIG;
            goto out_free;
        }
        ret = unit_parse(&units[n], &save, index, path, lineno);
        if (ret)
            goto out_free;
        index++;
        if (group < 0 || units[n].group == (unsigned)group)
            n++;
    }
    if (n == 0) {
        pr_err("%s: no units (group %d)", path, group);
        ret = -EINVAL;
        goto out_free;
    }
    *units_out = units;
    *n_out = n;
    units = NULL;
out_free:
    free(units);
out_close:
    fclose(f);
    return ret;
}

/* ---- frames --------------------------------------------------------------------------- */

/* The CoAP message id and the UDP checksum are left to xp_gen_unit__stamp(), per frame. */
void xp_gen_unit__build(struct xp_gen_unit *u)
{
    uint8_t *f = u->tmpl;
    unsigned l3 = 14, l4, l3len = u->family == AF_INET ? 20 : 40;
    uint16_t udp_len;

    memset(f, 0, sizeof(u->tmpl));
    memcpy(f, u->dmac, 6);
    memcpy(f + 6, u->smac, 6);
    xp_put16(f + 12, u->family == AF_INET ? ETH_P_IP : ETH_P_IPV6);
    l4 = l3 + l3len;
    udp_len = (uint16_t)(u->size - l4);
    if (u->family == AF_INET) {
        f[l3] = 0x45;
        xp_put16(f + l3 + 2, (uint16_t)(u->size - l3));
        f[l3 + 6] = 0x40; /* DF */
        f[l3 + 8] = 64;
        f[l3 + 9] = IPPROTO_UDP;
        memcpy(f + l3 + 12, u->src, 4);
        memcpy(f + l3 + 16, u->dst, 4);
        xp_put16(f + l3 + 10, xp_csum_fold(xp_csum_add(0, f + l3, 20)));
    } else {
        f[l3] = 0x60;
        xp_put16(f + l3 + 4, udp_len);
        f[l3 + 6] = IPPROTO_UDP;
        f[l3 + 7] = 64;
        memcpy(f + l3 + 8, u->src, 16);
        memcpy(f + l3 + 24, u->dst, 16);
    }
    xp_put16(f + l4, u->sport);
    xp_put16(f + l4 + 2, u->dport);
    xp_put16(f + l4 + 4, udp_len);
    /* CoAP: ver 1, type NON (1), TKL 0; code 0.01 GET; message id; then a payload marker
     * and zero padding when there is room. */
    f[l4 + 8] = 0x50;
    f[l4 + 9] = 0x01;
    if (udp_len > 12)
        f[l4 + 12] = 0xff;
    u->len = u->size;
}

void xp_gen_unit__stamp(const struct xp_gen_unit *u, uint8_t *f, uint16_t msg_id)
{
    unsigned l4 = 14 + (u->family == AF_INET ? 20 : 40);
    unsigned udp_len = u->size - l4;
    uint32_t sum = 0;

    xp_put16(f + l4 + 10, msg_id);
    xp_put16(f + l4 + 6, 0);
    /* Pseudo-header: addresses, protocol, UDP length. */
    if (u->family == AF_INET)
        sum = xp_csum_add(sum, f + 14 + 12, 8);
    else
        sum = xp_csum_add(sum, f + 14 + 8, 32);
    sum += IPPROTO_UDP + udp_len;
    xp_put16(f + l4 + 6, xp_csum_fold_udp(xp_csum_add(sum, f + l4, udp_len)));
}

double xp_gen_unit__rate(const struct xp_gen_unit *u, double t)
{
    double rel;

    if (t < u->start || t >= u->stop)
        return 0;
    if (u->max_rate && u->profile == XP_PROF_CONSTANT)
        return -1;
    switch (u->profile) {
    case XP_PROF_ONOFF:
        if (u->on_s + u->off_s <= 0)
            return u->rate;
        rel = fmod(t - u->start, u->on_s + u->off_s);
        return rel < u->on_s ? u->rate : 0;
    case XP_PROF_RAMP:
        rel = (t - u->start) / (u->ramp_s > 0 ? u->ramp_s : 1);
        return rel >= 1 ? u->to : u->rate + (u->to - u->rate) * rel;
    case XP_PROF_FLOOD:
        return t < u->at ? u->rate : u->flood;
    case XP_PROF_CONSTANT:
    default:
        return u->rate;
    }
}
