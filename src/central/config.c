// SPDX-License-Identifier: GPL-2.0-only
/*
 * xpro-central's configuration as a conftab key table (config.h). The merge
 * defaults are the policer's (src/policer/policer.h): the central node must
 * merge with the same T_T1, T_T4 and r as the proxies police with.
 */
#include "src/central/config.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "src/parse/parse.h"
#include "src/policer/policer.h"
#include "src/util/conftab.h"
#include "src/util/hexaddr.h"
#include "src/util/log.h"
#include "src/util/secret_file.h"

/* Worst-case bytes of one pair in an answer line (two IPv6 strings, 8 integers). */
#define XP_ANSWER_PAIR_MAX 360
#define XP_LINE_SLACK 4096

#define NS_PER_MS 1000000ULL
#define MS_MAX 3600000

static int parse_proxies(struct xp_conftab *ct, json_t *val, void *obj);
static int parse_operators(struct xp_conftab *ct, json_t *val, void *obj);

#define F(field) XP_CT_FIELD(struct xp_central_config, field)

static const struct xp_conftab_key merge_keys[] = {
    { .name = "t_t1_ms", .reloadable = true, .type = XP_CT_UINT, F(merge.t_t1_ns), .min = 1, .max = MS_MAX,
      .def = XP_POLICER_DEF_T_T1_NS / NS_PER_MS, .scale = NS_PER_MS, .type_doc = "integer (ms)",
      .doc = "T_T1 of lines 6/10 (must equal the proxies' policer.t_t1_ms)." },
    { .name = "t_t4_ms", .reloadable = true, .type = XP_CT_UINT, F(merge.t_t4_ns), .min = 1, .max = MS_MAX,
      .def = XP_POLICER_DEF_T_T4_NS / NS_PER_MS, .scale = NS_PER_MS, .type_doc = "integer (ms)",
      .doc = "T_T4 of lines 14/23." },
    { .name = "r", .reloadable = true, .type = XP_CT_UINT, F(merge.r), .min = 1, .max = 1024,
      .def = XP_POLICER_DEF_SHRINK_R, .doc = "Shrink divisor." },
    { .name = "max_skew_ms", .reloadable = true, .type = XP_CT_UINT, F(merge.max_skew_ns), .min = 0, .max = MS_MAX,
      .def = 1000, .scale = NS_PER_MS, .type_doc = "integer (ms)",
      .doc = "Future tolerance before a proxy's timestamps are clamped." },
};

static const struct xp_conftab_key limits_keys[] = {
    { .name = "max_line_bytes", .type = XP_CT_UINT, F(max_line), .min = 4096, .max = 64 << 20,
      .def = 1 << 20, .doc = "Per line, both directions." },
    { .name = "max_pairs", .type = XP_CT_UINT, F(max_pairs), .min = 1, .max = 1000000,
      .def = 2048,
      .doc = "Pairs (and down pairs) per message; max_pairs x 360 + 4096 must not exceed "
             "max_line_bytes." },
    { .name = "max_warnings", .reloadable = true, .type = XP_CT_UINT, F(max_warnings), .min = 0,
      .max = XP_SYNC_MAX_WARNINGS, .def = XP_SYNC_MAX_WARNINGS, .doc = "Warnings per sync." },
    { .name = "max_conns", .reloadable = true, .type = XP_CT_UINT, F(max_conns), .min = 1, .max = 65536, .def = 256,
      .doc = "Authenticated sessions (one per id); past it a new connection gets busy." },
    { .name = "max_table_pairs", .type = XP_CT_UINT, F(max_table_pairs), .min = 1,
      .max = 1U << 30, .def = 4U << 20,
      .doc = "Rows in M_DB; when full, new pairs are answered unmerged and counted "
             "table_full." },
    { .name = "row_ttl_ms", .reloadable = true, .type = XP_CT_UINT, F(row_ttl_ns), .min = 1,
      .max = 7 * 86400000LL, .scale = NS_PER_MS, .type_doc = "integer (ms)",
      .unset_doc = "merge.t_t1_ms + merge.max_skew_ms",
      .doc = "A row whose last packet is older than this is removed; at least merge.t_t1_ms." },
    { .name = "auth_timeout_ms", .reloadable = true, .type = XP_CT_UINT, F(auth_timeout_ms), .min = 10,
      .max = 600000, .def = 3000, .type_doc = "integer (ms)", .doc = "Connect to hello." },
    { .name = "max_preauth", .reloadable = true, .type = XP_CT_UINT, F(max_preauth), .min = 1, .max = 65536,
      .def = 64,
      .doc = "Connections not yet authenticated, in all: one more pushes out the oldest." },
    { .name = "max_preauth_per_source", .reloadable = true, .type = XP_CT_UINT, F(max_preauth_per_source), .min = 1,
      .max = 65536, .def = 8,
      .doc = "... from one source address: one more pushes out that source's oldest." },
    { .name = "read_timeout_ms", .reloadable = true, .type = XP_CT_UINT, F(read_timeout_ms), .min = 10,
      .max = 600000, .def = 10000, .type_doc = "integer (ms)",
      .doc = "First byte of a line to its newline; also a stalled write." },
    { .name = "idle_timeout_ms", .reloadable = true, .type = XP_CT_UINT, F(idle_timeout_ms), .min = 10,
      .max = 86400000, .def = 60000, .type_doc = "integer (ms)", .doc = "No message at all." },
};

static const char *const store_kinds[] = {"memory", "redis", NULL};

/* The store (docs/central.md): not reloadable, a front-end is built on one. */
static const struct xp_conftab_key store_keys[] = {
    { .name = "kind", .type = XP_CT_ENUM, F(store_conf.kind), .names = store_kinds,
      .def = XP_STORE_KIND_MEMORY,
      .doc = "memory: M_DB in this process; redis: in a Redis Cluster shared by front-ends." },
    { .name = "seeds", .type = XP_CT_STRING, F(store_conf.seeds), .min = 0,
      .type_doc = "string (host:port,...)", .unset_doc = "none",
      .doc = "redis: some cluster nodes, comma separated; one answering is enough." },
    { .name = "user", .type = XP_CT_STRING, F(store_conf.user), .min = 0,
      .unset_doc = "the default user", .doc = "redis: the ACL user." },
    { .name = "password_file", .type = XP_CT_STRING, F(store_conf.password_file), .min = 0,
      .type_doc = "string (path)", .unset_doc = "no AUTH",
      .doc = "redis: a file holding the user's password (not readable by others)." },
    { .name = "buckets", .type = XP_CT_UINT, F(store_conf.buckets), .min = 1, .max = 4096,
      .def = 64, .doc = "redis: hash-tag buckets (a destination's pairs share one)." },
    { .name = "timeout_ms", .type = XP_CT_UINT, F(store_conf.timeout_ms), .min = 10,
      .max = 60000, .def = 1000, .type_doc = "integer (ms)",
      .doc = "redis: connect and per-reply timeout." },
    { .name = "retry_ms", .type = XP_CT_UINT, F(store_conf.retry_ms), .min = 0,
      .max = 600000, .def = 15000, .type_doc = "integer (ms)",
      .doc = "redis: how long one operation retries a failing cluster (failover)." },
    { .name = "wait_replicas", .type = XP_CT_UINT, F(store_conf.wait_replicas), .min = 0,
      .max = 16, .def = 0,
      .doc = "redis: replicas that must hold a merge before it is answered (WAIT); 0: none." },
};

static const struct xp_conftab_key central_keys[] = {
    { .name = "listen", .type = XP_CT_STRING, F(listen), .min = 1, .def_str = "127.0.0.1",
      .type_doc = "string (address)", .doc = "Numeric IPv4 or IPv6 address to listen on." },
    { .name = "port", .type = XP_CT_UINT, F(port), .min = 0, .max = 65535,
      .def = XP_SYNC_DEF_PORT, .doc = "TCP port; 0 = ephemeral (tests, with --ready-file)." },
    { .name = "state_file", .reloadable = true, .type = XP_CT_STRING, F(state_file), .min = 0,
      .type_doc = "string (path)", .unset_doc = "none",
      .doc = "Where M_DB is persisted; \"\" = no persistence." },
    { .name = "persist_period_ms", .reloadable = true, .type = XP_CT_UINT, F(persist_period_ms), .min = 100,
      .max = MS_MAX, .def = 4000, .type_doc = "integer (ms)",
      .doc = "Persist period (only when something changed)." },
    { .name = "stats_period_ms", .reloadable = true, .type = XP_CT_UINT, F(stats_period_ms), .min = 0,
      .max = MS_MAX, .def = 0, .type_doc = "integer (ms)",
      .doc = "--stats-out line period (0 = off)." },
    { .name = "log_level", .reloadable = true, .type = XP_CT_STRING, F(log_level), .min = 1, .def_str = "info",
      .type_doc = "err, warn, info, debug", .doc = "Log threshold (--log-level overrides it)." },
    { .name = "merge", .type = XP_CT_SECTION, .reloadable = true, XP_CT_SECTION_OF(merge_keys),
      .doc = "Algorithm 2's merge: the keys below." },
    { .name = "limits", .type = XP_CT_SECTION, .reloadable = true, XP_CT_SECTION_OF(limits_keys),
      .doc = "Limits and timeouts: the keys below." },
    { .name = "store", .type = XP_CT_SECTION, XP_CT_SECTION_OF(store_keys),
      .doc = "Where M_DB lives: the keys below." },
    { .name = "proxies", .reloadable = true, .type = XP_CT_CALLBACK, .parse = parse_proxies,
      .type_doc = "object {ID: credential}", .unset_doc = "required",
      .doc = "Per id a hex secret, or {\"secret\": HEX} or {\"secret_file\": PATH}, and "
             "optionally \"units\": [CIDR, ...] (1..64 prefixes it may write rows for)." },
    { .name = "operators", .reloadable = true, .type = XP_CT_CALLBACK, .parse = parse_operators,
      .type_doc = "object {ID: credential}", .unset_doc = "none",
      .doc = "Read-only ids (stats, never a write): a hex secret or {\"secret_file\": PATH}." },
};

#define N_KEYS (sizeof(central_keys) / sizeof(central_keys[0]))

void xp_central_config__init(struct xp_central_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    xp_conftab__defaults(central_keys, N_KEYS, cfg);
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

static int unit_elem(struct xp_conftab *ct, json_t *v, size_t i, void *elems)
{
    struct xp_cidr *units = elems;

    if (!json_is_string(v) || xp_cidr_parse(json_string_value(v), &units[i]) < 0)
        return xp_conftab__error(ct, XP_CONFTAB_E_RANGE, "not an address prefix");
    return 0;
}

/* One credential being read. */
struct cred_parse {
    bool read_only; /* an operator's */
    const char *text; /* the hex secret, in the file or in hex[] */
    char hex[2 * XP_SYNC_SECRET_MAX + 2];
    struct xp_cidr units[XP_CENTRAL_MAX_UNITS];
    unsigned n_units;
};

/* A member of the object form: {"secret": HEX} or {"secret_file": PATH}, and units. */
static int credential_field(struct xp_conftab *ct, const char *k, json_t *x, void *arg)
{
    struct cred_parse *cp = arg;
    char why[256];
    int ret;

    if (strcmp(k, "secret") == 0 || strcmp(k, "secret_file") == 0) {
        if (!json_is_string(x))
            return xp_conftab__error(ct, XP_CONFTAB_E_TYPE, "expected a string");
        if (cp->text)
            return xp_conftab__error(ct, XP_CONFTAB_E_RANGE,
                                     "\"secret\" or \"secret_file\", not both");
        cp->text = json_string_value(x);
        if (strcmp(k, "secret_file") == 0) {
            if (xp_secret_file__read(cp->text, cp->hex, sizeof(cp->hex), why, sizeof(why)) < 0)
                return xp_conftab__error(ct, XP_CONFTAB_E_RANGE, "%s", why);
            cp->text = cp->hex;
        }
        return 0;
    }
    if (strcmp(k, "units") == 0 && !cp->read_only) {
        ret = xp_conftab__array(ct, x, XP_CENTRAL_MAX_UNITS, "address prefixes", "prefixes",
                                unit_elem, cp->units);
        if (ret)
            return ret;
        cp->n_units = (unsigned)json_array_size(x);
        if (cp->n_units == 0)
            return xp_conftab__error(ct, XP_CONFTAB_E_RANGE, "at least one prefix");
        return 0;
    }
    return xp_conftab__error(ct, XP_CONFTAB_E_UNKNOWN_KEY, "unknown key (%s)",
                             cp->read_only ? "secret, secret_file; an operator writes no rows, "
                                             "so it has no units"
                                           : "secret, secret_file, units");
}

/*
 * One entry of "proxies" or "operators" (the path is at its id): a hex
 * secret, or an object with "secret" (hex) or "secret_file" (a file holding
 * the hex, not readable by others), and for proxies "units" (the unit
 * prefixes it may write rows for).
 */
static int parse_credential(struct xp_conftab *ct, const char *id, json_t *v, bool read_only,
                            struct xp_central_config *cfg)
{
    struct cred_parse cp = { .read_only = read_only };
    uint8_t secret[XP_SYNC_SECRET_MAX];
    struct xp_central_proxy_conf *p;
    int n, ret;

    if (!xp_sync_id__valid(id))
        return xp_conftab__error(ct, XP_CONFTAB_E_RANGE,
                                 "an id is 1..%d characters of [A-Za-z0-9._-]", XP_SYNC_ID_MAX);
    if (json_is_string(v)) {
        cp.text = json_string_value(v);
    } else {
        ret = xp_conftab__object(ct, v, "a hex secret or an object {\"secret_file\": PATH}",
                                 credential_field, &cp);
        if (ret)
            return ret;
    }
    if (!cp.text)
        return xp_conftab__error(ct, XP_CONFTAB_E_MISSING,
                                 "needs a hex secret, or {\"secret_file\": PATH}");
    n = xp_sync_secret__parse(cp.text, secret, sizeof(secret));
    if (n < 0)
        return xp_conftab__error(ct, XP_CONFTAB_E_RANGE, "the secret must be %d..%d bytes of hex",
                                 XP_SYNC_SECRET_MIN, XP_SYNC_SECRET_MAX);
    ret = xp_central_config__add_proxy(cfg, id, secret, (size_t)n);
    if (ret == -ENOMEM) {
        xp_conftab__error(ct, XP_CONFTAB_E_IO, "out of memory");
        return XP_CONFTAB_E_IO;
    }
    if (ret < 0)
        return xp_conftab__error(ct, XP_CONFTAB_E_RANGE,
                                 "defined twice (proxies and operators share ids)");
    p = &cfg->proxies[cfg->n_proxies - 1];
    p->read_only = read_only;
    memcpy(p->units, cp.units, cp.n_units * sizeof(cp.units[0]));
    p->n_units = cp.n_units;
    return 0;
}

static int proxy_member(struct xp_conftab *ct, const char *id, json_t *v, void *obj)
{
    return parse_credential(ct, id, v, false, obj);
}

static int operator_member(struct xp_conftab *ct, const char *id, json_t *v, void *obj)
{
    return parse_credential(ct, id, v, true, obj);
}

static int parse_proxies(struct xp_conftab *ct, json_t *val, void *obj)
{
    return xp_conftab__object(ct, val, "an object {ID: hex secret or {...}}", proxy_member, obj);
}

static int parse_operators(struct xp_conftab *ct, json_t *val, void *obj)
{
    return xp_conftab__object(ct, val, "an object {ID: hex secret or {...}}", operator_member,
                              obj);
}

/* Whether any secret is written in the file itself (not in a secret_file). */
static bool inline_secrets(json_t *root)
{
    const char *sections[] = { "proxies", "operators" };

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

/* The keys against each other, once all are read. */
static int check(struct xp_conftab *ct, const struct xp_central_config *cfg, json_t *root,
                 const char *path)
{
    enum xp_log_level level;
    uint8_t a[16];

    /* secrets written in the file make it a secret file too */
    if (inline_secrets(root)) {
        char why[256];

        if (xp_secret_file__check_mode(path, why, sizeof(why))) {
            snprintf(ct->msg, ct->msg_len, "%s (or move the secrets to secret_file)", why);
            return XP_CONFTAB_E_RANGE;
        }
    }
    if (cfg->n_proxies == 0)
        return xp_conftab__error_at(ct, XP_CONFTAB_E_MISSING, "proxies",
                                    "at least one proxy is needed");
    if ((uint64_t)cfg->max_pairs * XP_ANSWER_PAIR_MAX + XP_LINE_SLACK > cfg->max_line)
        return xp_conftab__error_at(ct, XP_CONFTAB_E_RANGE, "limits.max_pairs",
                                    "%u pairs may not fit in max_line_bytes %u (needs %u bytes "
                                    "each + %u)", cfg->max_pairs, cfg->max_line,
                                    XP_ANSWER_PAIR_MAX, XP_LINE_SLACK);
    /* A row idle for less than T_T1 may still be extended by its next packet: keep its count. */
    if (cfg->row_ttl_ns && cfg->row_ttl_ns < cfg->merge.t_t1_ns)
        return xp_conftab__error_at(ct, XP_CONFTAB_E_RANGE, "limits.row_ttl_ms",
                                    "%llu is shorter than merge.t_t1_ms %llu (a live window "
                                    "would be dropped)",
                                    (unsigned long long)(cfg->row_ttl_ns / NS_PER_MS),
                                    (unsigned long long)(cfg->merge.t_t1_ns / NS_PER_MS));
    if (xp_addr__parse(cfg->listen, a) < 0)
        return xp_conftab__error_at(ct, XP_CONFTAB_E_RANGE, "listen",
                                    "not a numeric IP address");
    if (cfg->store_conf.kind == XP_STORE_KIND_REDIS && !cfg->store_conf.seeds[0])
        return xp_conftab__error_at(ct, XP_CONFTAB_E_MISSING, "store.seeds",
                                    "the redis store needs its cluster's nodes");
    if (cfg->store_conf.password_file[0]) {
        char why[256];

        if (xp_secret_file__check_mode(cfg->store_conf.password_file, why, sizeof(why))) {
            snprintf(ct->msg, ct->msg_len, "store.password_file: %s", why);
            return XP_CONFTAB_E_RANGE;
        }
    }
    if (xp_log_level_parse(cfg->log_level, &level) < 0)
        return xp_conftab__error_at(ct, XP_CONFTAB_E_RANGE, "log_level",
                                    "expected one of \"err\", \"warn\", \"info\", \"debug\"");
    return 0;
}

int xp_central_config__load(struct xp_central_config *cfg, const char *path, char *err,
                            size_t err_len)
{
    struct xp_conftab ct;
    json_t *root = NULL;
    char *text = NULL;
    int ret;

    xp_central_config__init(cfg);
    ret = xp_conftab__read_file(path, &text, err, err_len);
    if (ret)
        return ret == XP_CONFTAB_E_IO ? -errno : -EINVAL;
    xp_conftab__init(&ct, path, text, err, err_len);
    ret = xp_conftab__load(&ct, central_keys, N_KEYS, cfg, &root);
    if (!ret)
        ret = check(&ct, cfg, root, path);
    if (ret) {
        /* only an allocation failure is not the file's fault */
        ret = ret == XP_CONFTAB_E_IO ? -ENOMEM : -EINVAL;
        xp_central_config__release(cfg);
    }
    json_decref(root);
    free(text);
    return ret;
}

void xp_central_config__print_keys(FILE *out)
{
    xp_conftab__print(out, central_keys, N_KEYS);
}

int xp_central_config__reload_check(const struct xp_central_config *running,
                                    const struct xp_central_config *next, char *err,
                                    size_t err_len)
{
    return xp_conftab__reload_check(central_keys, N_KEYS, running, next, err, err_len) ? -EINVAL
                                                                                         : 0;
}
