// SPDX-License-Identifier: GPL-2.0-only
/*
 * xpro-central's configuration (conf/central.json, keys in docs/protocol.md
 * "Configuration"). Strict like the proxy's: unknown keys, wrong types and
 * out-of-range values are errors located as file:line:col, never replaced
 * by defaults. One table drives parsing and range checks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/util/secret_file.h"
#include "sync_internal.h"

/* Worst-case bytes of one pair in an answer line (two IPv6 strings, 8 integers). */
#define XP_ANSWER_PAIR_MAX 360
#define XP_LINE_SLACK 4096

enum xp_ck_type {
    XP_CK_U64 = 0,
    XP_CK_STR = 1,
};

struct xp_ckey {
    const char *section; /* NULL: top level */
    const char *name;
    enum xp_ck_type type;
    uint64_t min, max;
    size_t off;  /* in struct xp_central_config */
    size_t size; /* XP_CK_U64: 2, 4 or 8; XP_CK_STR: buffer size */
    uint64_t scale; /* ms -> ns for the merge times */
};

#define XP_CK_OFF(f) offsetof(struct xp_central_config, f), sizeof(((struct xp_central_config *)0)->f)

static const struct xp_ckey ckeys[] = {
    {NULL, "listen", XP_CK_STR, 0, 0, XP_CK_OFF(listen), 0},
    {NULL, "port", XP_CK_U64, 0, 65535, XP_CK_OFF(port), 1},
    {NULL, "state_file", XP_CK_STR, 0, 0, XP_CK_OFF(state_file), 0},
    {NULL, "persist_period_ms", XP_CK_U64, 100, 3600000, XP_CK_OFF(persist_period_ms), 1},
    {NULL, "stats_period_ms", XP_CK_U64, 0, 3600000, XP_CK_OFF(stats_period_ms), 1},
    {NULL, "log_level", XP_CK_STR, 0, 0, XP_CK_OFF(log_level), 0},
    {"merge", "t_t1_ms", XP_CK_U64, 1, 3600000, XP_CK_OFF(merge.t_t1_ns), 1000000},
    {"merge", "t_t4_ms", XP_CK_U64, 1, 3600000, XP_CK_OFF(merge.t_t4_ns), 1000000},
    {"merge", "r", XP_CK_U64, 1, 1024, XP_CK_OFF(merge.r), 1},
    {"merge", "max_skew_ms", XP_CK_U64, 0, 3600000, XP_CK_OFF(merge.max_skew_ns), 1000000},
    {"limits", "max_line_bytes", XP_CK_U64, 4096, 64 << 20, XP_CK_OFF(max_line), 1},
    {"limits", "max_pairs", XP_CK_U64, 1, 1000000, XP_CK_OFF(max_pairs), 1},
    {"limits", "max_warnings", XP_CK_U64, 0, XP_SYNC_MAX_WARNINGS, XP_CK_OFF(max_warnings), 1},
    {"limits", "max_conns", XP_CK_U64, 1, 65536, XP_CK_OFF(max_conns), 1},
    {"limits", "max_table_pairs", XP_CK_U64, 1, 1U << 30, XP_CK_OFF(max_table_pairs), 1},
    {"limits", "row_ttl_ms", XP_CK_U64, 1, 7 * 86400000ULL, XP_CK_OFF(row_ttl_ns), 1000000},
    {"limits", "auth_timeout_ms", XP_CK_U64, 10, 600000, XP_CK_OFF(auth_timeout_ms), 1},
    {"limits", "max_preauth", XP_CK_U64, 1, 65536, XP_CK_OFF(max_preauth), 1},
    {"limits", "max_preauth_per_source", XP_CK_U64, 1, 65536, XP_CK_OFF(max_preauth_per_source),
     1},
    {"limits", "read_timeout_ms", XP_CK_U64, 10, 600000, XP_CK_OFF(read_timeout_ms), 1},
    {"limits", "idle_timeout_ms", XP_CK_U64, 10, 86400000, XP_CK_OFF(idle_timeout_ms), 1},
};

#define XP_N_CKEYS (sizeof(ckeys) / sizeof(ckeys[0]))

void xp_central_config__init(struct xp_central_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->listen, sizeof(cfg->listen), "127.0.0.1");
    cfg->port = XP_SYNC_DEF_PORT;
    cfg->persist_period_ms = 4000;
    cfg->stats_period_ms = 0;
    snprintf(cfg->log_level, sizeof(cfg->log_level), "info");
    cfg->merge.t_t1_ns = 1000ULL * 1000000;
    cfg->merge.t_t4_ns = 4000ULL * 1000000;
    cfg->merge.r = 2;
    cfg->merge.max_skew_ns = 1000ULL * 1000000;
    cfg->max_line = 1 << 20;
    cfg->max_pairs = 2048;
    cfg->max_warnings = XP_SYNC_MAX_WARNINGS;
    cfg->max_conns = 256;
    cfg->max_table_pairs = 4U << 20;
    cfg->row_ttl_ns = 0; /* merge.t_t1 + merge.max_skew, whatever those end up being */
    cfg->auth_timeout_ms = 3000;
    cfg->max_preauth = 64;
    cfg->max_preauth_per_source = 8;
    cfg->read_timeout_ms = 10000;
    cfg->idle_timeout_ms = 60000;
}

void xp_central_config__release(struct xp_central_config *cfg)
{
    free(cfg->proxies);
    cfg->proxies = NULL;
    cfg->n_proxies = 0;
}

int xp_central_config__add_proxy(struct xp_central_config *cfg, const char *id,
                                 const uint8_t *secret, size_t len)
{
    struct xp_central_proxy_conf *p;

    if (!xp_sync_id__valid(id) || len < XP_SYNC_SECRET_MIN || len > XP_SYNC_SECRET_MAX)
        return -EINVAL;
    for (unsigned i = 0; i < cfg->n_proxies; i++)
        if (strcmp(cfg->proxies[i].id, id) == 0)
            return -EEXIST;
    p = realloc(cfg->proxies, (cfg->n_proxies + 1) * sizeof(*p));
    if (!p)
        return -ENOMEM;
    cfg->proxies = p;
    p = &cfg->proxies[cfg->n_proxies++];
    memset(p, 0, sizeof(*p));
    snprintf(p->id, sizeof(p->id), "%s", id);
    memcpy(p->secret, secret, len);
    p->secret_len = len;
    return 0;
}

/*
 * jansson keeps no positions for values: locate a key by its quoted name
 * after its section's, which is exact for this flat two-level schema
 * unless a name is repeated as a string value earlier in the file.
 */
static void xp_cc__locate(const char *text, const char *section, const char *key, int *line,
                          int *col)
{
    char quoted[128];
    const char *p = text, *hit;

    *line = 1;
    *col = 1;
    if (!text)
        return;
    if (section) {
        snprintf(quoted, sizeof(quoted), "\"%s\"", section);
        hit = strstr(p, quoted);
        if (hit)
            p = hit + 1;
    }
    if (key) {
        snprintf(quoted, sizeof(quoted), "\"%s\"", key);
        hit = strstr(p, quoted);
        if (hit)
            p = hit;
    }
    if (p == text)
        return;
    for (const char *s = text; s < p; s++) {
        if (*s == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

struct xp_cc {
    const char *path;
    const char *text;
    char *err;
    size_t err_len;
};

static int xp_cc__fail(struct xp_cc *cc, const char *section, const char *key, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));

static int xp_cc__fail(struct xp_cc *cc, const char *section, const char *key, const char *fmt,
                       ...)
{
    int line, col, n;
    va_list ap;

    xp_cc__locate(cc->text, section, key, &line, &col);
    n = snprintf(cc->err, cc->err_len, "%s:%d:%d: %s%s%s: ", cc->path, line, col,
                 section ? section : "", section ? "." : "", key ? key : "(root)");
    if (n < 0 || (size_t)n >= cc->err_len)
        return -EINVAL;
    va_start(ap, fmt);
    vsnprintf(cc->err + n, cc->err_len - (size_t)n, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static int xp_cc__value(struct xp_cc *cc, const struct xp_ckey *k, json_t *v,
                        struct xp_central_config *cfg)
{
    uint8_t *dst = (uint8_t *)cfg + k->off;
    uint64_t u;

    if (k->type == XP_CK_STR) {
        if (!json_is_string(v))
            return xp_cc__fail(cc, k->section, k->name, "must be a string");
        if (strlen(json_string_value(v)) >= k->size)
            return xp_cc__fail(cc, k->section, k->name, "longer than %zu bytes", k->size - 1);
        snprintf((char *)dst, k->size, "%s", json_string_value(v));
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return xp_cc__fail(cc, k->section, k->name, "must be a non-negative integer");
    u = (uint64_t)json_integer_value(v);
    if (u < k->min || u > k->max)
        return xp_cc__fail(cc, k->section, k->name, "%llu out of range %llu..%llu",
                           (unsigned long long)u, (unsigned long long)k->min,
                           (unsigned long long)k->max);
    u *= k->scale;
    switch (k->size) {
    case 2: {
        uint16_t x = (uint16_t)u;

        memcpy(dst, &x, 2);
        break;
    }
    case 4: {
        uint32_t x = (uint32_t)u;

        memcpy(dst, &x, 4);
        break;
    }
    default:
        memcpy(dst, &u, 8);
        break;
    }
    return 0;
}

static int xp_cc__object(struct xp_cc *cc, json_t *obj, const char *section,
                         struct xp_central_config *cfg)
{
    const char *key;
    json_t *v;
    int ret;

    json_object_foreach(obj, key, v) {
        const struct xp_ckey *k = NULL;

        for (unsigned i = 0; i < XP_N_CKEYS; i++) {
            bool same_sec = section ? ckeys[i].section && strcmp(ckeys[i].section, section) == 0
                                    : !ckeys[i].section;

            if (same_sec && strcmp(ckeys[i].name, key) == 0)
                k = &ckeys[i];
        }
        if (k) {
            ret = xp_cc__value(cc, k, v, cfg);
            if (ret)
                return ret;
            continue;
        }
        if (!section && (strcmp(key, "merge") == 0 || strcmp(key, "limits") == 0)) {
            if (!json_is_object(v))
                return xp_cc__fail(cc, NULL, key, "must be an object");
            ret = xp_cc__object(cc, v, key, cfg);
            if (ret)
                return ret;
            continue;
        }
        if (!section && (strcmp(key, "proxies") == 0 || strcmp(key, "operators") == 0))
            continue; /* below */
        return xp_cc__fail(cc, section, key, "unknown key");
    }
    return 0;
}

/* A unit prefix "a.b.c.d/n" or "ipv6/n" (a bare address: one host). 0 or -EINVAL. */
static int xp_cc__prefix(const char *s, struct xp_central_prefix *out)
{
    char addr[INET6_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    bool v6 = memchr(s, ':', alen) != NULL;
    unsigned long len = v6 ? 128 : 32;
    char *end;

    if (alen == 0 || alen >= sizeof(addr))
        return -EINVAL;
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    memset(out, 0, sizeof(*out));
    if (v6 ? inet_pton(AF_INET6, addr, out->addr) != 1
           : inet_pton(AF_INET, addr, out->addr + 12) != 1)
        return -EINVAL;
    if (!v6)
        out->addr[10] = out->addr[11] = 0xff;
    if (slash) {
        if (!slash[1] || slash[1] == '-' || slash[1] == '+')
            return -EINVAL;
        len = strtoul(slash + 1, &end, 10);
        if (*end || len > (v6 ? 128UL : 32UL))
            return -EINVAL;
    }
    out->len = (uint8_t)(v6 ? len : 96 + len);
    return 0;
}

/*
 * One entry of "proxies" or "operators": a hex secret, or an object with
 * "secret" (hex) or "secret_file" (a file holding the hex, not readable by
 * others), and for proxies "units" (the unit prefixes it may write rows for).
 */
static int xp_cc__credential(struct xp_cc *cc, const char *section, const char *id, json_t *v,
                             bool read_only, struct xp_central_config *cfg)
{
    char hex[2 * XP_SYNC_SECRET_MAX + 2], why[256];
    struct xp_central_proxy_conf *p;
    uint8_t secret[XP_SYNC_SECRET_MAX];
    const char *text = NULL, *k;
    json_t *units = NULL, *x;
    int n;

    if (!xp_sync_id__valid(id))
        return xp_cc__fail(cc, section, id, "an id is 1..%d characters of [A-Za-z0-9._-]",
                           XP_SYNC_ID_MAX);
    if (json_is_string(v)) {
        text = json_string_value(v);
    } else if (json_is_object(v)) {
        json_object_foreach(v, k, x) {
            if (strcmp(k, "secret") == 0 && json_is_string(x) && !text) {
                text = json_string_value(x);
            } else if (strcmp(k, "secret_file") == 0 && json_is_string(x) && !text) {
                n = xp_secret_file__read(json_string_value(x), hex, sizeof(hex), why,
                                         sizeof(why));
                if (n < 0)
                    return xp_cc__fail(cc, section, id, "secret_file: %s", why);
                text = hex;
            } else if (strcmp(k, "units") == 0 && !read_only && json_is_array(x)) {
                units = x;
            } else {
                return xp_cc__fail(cc, section, id,
                                   "\"%s\": expected \"secret\" or \"secret_file\" (one)%s",
                                   k, read_only ? "" : " and \"units\" (an array)");
            }
        }
    }
    if (!text)
        return xp_cc__fail(cc, section, id, "needs a hex secret, or {\"secret_file\": PATH}");
    n = xp_sync_secret__parse(text, secret, sizeof(secret));
    if (n < 0)
        return xp_cc__fail(cc, section, id, "the secret must be %d..%d bytes of hex",
                           XP_SYNC_SECRET_MIN, XP_SYNC_SECRET_MAX);
    if (xp_central_config__add_proxy(cfg, id, secret, (size_t)n) < 0)
        return xp_cc__fail(cc, section, id, "defined twice (proxies and operators share ids)");
    p = &cfg->proxies[cfg->n_proxies - 1];
    p->read_only = read_only;
    if (units) {
        size_t i;

        if (json_array_size(units) == 0 || json_array_size(units) > XP_CENTRAL_MAX_UNITS)
            return xp_cc__fail(cc, section, id, "units: 1..%d prefixes", XP_CENTRAL_MAX_UNITS);
        json_array_foreach(units, i, x) {
            if (!json_is_string(x) || xp_cc__prefix(json_string_value(x), &p->units[i]) < 0)
                return xp_cc__fail(cc, section, id, "units.%zu: not an address prefix", i);
        }
        p->n_units = (unsigned)json_array_size(units);
    }
    return 0;
}

static int xp_cc__credentials(struct xp_cc *cc, json_t *obj, const char *section, bool read_only,
                              struct xp_central_config *cfg)
{
    const char *id;
    json_t *v;
    int ret;

    if (!obj)
        return 0;
    if (!json_is_object(obj))
        return xp_cc__fail(cc, NULL, section, "must be an object {id: hex secret or {...}}");
    json_object_foreach(obj, id, v) {
        ret = xp_cc__credential(cc, section, id, v, read_only, cfg);
        if (ret)
            return ret;
    }
    return 0;
}

/* Whether any secret is written in the file itself (not in a secret_file). */
static bool xp_cc__inline_secrets(json_t *root)
{
    const char *sections[] = {"proxies", "operators"};

    for (unsigned s = 0; s < 2; s++) {
        json_t *obj = json_object_get(root, sections[s]), *v;
        const char *id;

        json_object_foreach(obj, id, v) {
            if (json_is_string(v) || json_object_get(v, "secret"))
                return true;
        }
    }
    return false;
}

int xp_central_config__load(struct xp_central_config *cfg, const char *path, char *err,
                            size_t err_len)
{
    struct xp_cc cc = {.path = path, .err = err, .err_len = err_len};
    json_error_t jerr;
    json_t *root = NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *f;
    int ret;

    xp_central_config__init(cfg);
    f = fopen(path, "re");
    if (!f) {
        ret = -errno;
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return ret;
    }
    text = calloc(1, 1 << 20);
    if (text)
        len = fread(text, 1, (1 << 20) - 1, f);
    fclose(f);
    if (!text) {
        snprintf(err, err_len, "%s: out of memory", path);
        return -ENOMEM;
    }
    cc.text = text;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, err_len, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        ret = -EINVAL;
        goto out;
    }
    if (!json_is_object(root)) {
        ret = xp_cc__fail(&cc, NULL, NULL, "the configuration must be a JSON object");
        goto out;
    }
    ret = xp_cc__object(&cc, root, NULL, cfg);
    if (!ret)
        ret = xp_cc__credentials(&cc, json_object_get(root, "proxies"), "proxies", false, cfg);
    if (!ret)
        ret = xp_cc__credentials(&cc, json_object_get(root, "operators"), "operators", true,
                                 cfg);
    if (ret)
        goto out;
    /* secrets written in the file make it a secret file too */
    if (xp_cc__inline_secrets(root)) {
        char why[256];

        ret = xp_secret_file__check_mode(path, why, sizeof(why));
        if (ret) {
            snprintf(err, err_len, "%s (or move the secrets to secret_file)", why);
            ret = -EINVAL;
            goto out;
        }
    }
    if (cfg->n_proxies == 0) {
        ret = xp_cc__fail(&cc, NULL, "proxies", "at least one proxy is needed");
        goto out;
    }
    if ((uint64_t)cfg->max_pairs * XP_ANSWER_PAIR_MAX + XP_LINE_SLACK > cfg->max_line) {
        ret = xp_cc__fail(&cc, "limits", "max_pairs",
                          "%u pairs may not fit in max_line_bytes %u (needs %u bytes each + %u)",
                          cfg->max_pairs, cfg->max_line, XP_ANSWER_PAIR_MAX, XP_LINE_SLACK);
        goto out;
    }
    /*
     * A row idle for less than T_T1 may still be extended by its next
     * packet: dropping it would lose the window's count.
     */
    if (cfg->row_ttl_ns && cfg->row_ttl_ns < cfg->merge.t_t1_ns) {
        ret = xp_cc__fail(&cc, "limits", "row_ttl_ms",
                          "%llu is shorter than merge.t_t1_ms %llu (a live window would be "
                          "dropped)",
                          (unsigned long long)(cfg->row_ttl_ns / 1000000),
                          (unsigned long long)(cfg->merge.t_t1_ns / 1000000));
        goto out;
    }
    {
        uint8_t a[16];

        if (xp_addr__parse(cfg->listen, a) < 0) {
            ret = xp_cc__fail(&cc, NULL, "listen", "not a numeric IP address");
            goto out;
        }
    }
    ret = 0;
out:
    if (ret)
        xp_central_config__release(cfg);
    json_decref(root);
    free(text);
    return ret;
}
