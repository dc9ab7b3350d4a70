// SPDX-License-Identifier: GPL-2.0-only
#include "src/proxy/config.h"
#include "src/util/secret_file.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "src/policer/policer.h"
#include "src/util/log.h"
#include "xp_build_config.h"

#ifdef XP_HAVE_DPDK
static const bool have_dpdk = true;
#else
static const bool have_dpdk = false;
#endif

enum key_type {
    KT_STRING = 0,
    KT_UINT,
    KT_BOOL,
    KT_ENUM,
    KT_SPECIAL, /* parsed by the key's own handler */
    KT_SECTION, /* an object whose keys are in sub[] */
};

struct conf_ctx;
typedef int (*special_fn)(struct conf_ctx *ctx, json_t *val, struct xp_config *cfg);

struct key_desc {
    const char *name;
    enum key_type type;
    size_t offset;
    size_t size;            /* KT_STRING: buffer size */
    long long min, max;     /* KT_UINT */
    const char *const *enum_names; /* KT_ENUM: index is the value, NULL-terminated */
    special_fn special;
    const char *type_doc;
    const char *default_doc;
    bool reloadable;
    const char *doc;
    const struct key_desc *sub; /* KT_SECTION */
    size_t n_sub;
};

struct conf_ctx {
    const char *name;
    const char *text;
    char *msg;
    size_t msg_len;
    const char *path[8]; /* deepest: gateway.units.N.sources.M */
    int depth;
};

static const char *const mode_names[] = { "inline", "gateway", NULL };
static const char *const fail_names[] = { "open", "closed", NULL };
static const char *const xdp_mode_names[] = { "native", "skb", NULL };
static const char *const zc_names[] = { "auto", "on", "off", NULL };
static const char *const level_names[] = { "err", "warn", "info", "debug", NULL };
static const char *const backend_names[] = { "af_xdp", "dpdk", NULL };
static const char *const non_ip_names[] = { "drop", "pass", NULL };
static const char *const channels_names[] = { "refuse", "set", NULL };

static int parse_ports(struct conf_ctx *ctx, json_t *val, struct xp_config *cfg);
static int parse_cpus(struct conf_ctx *ctx, json_t *val, struct xp_config *cfg);
static int parse_mgmt(struct conf_ctx *ctx, json_t *val, struct xp_config *cfg);
static int parse_units(struct conf_ctx *ctx, json_t *val, struct xp_config *cfg);
static int parse_port_settings(struct conf_ctx *ctx, json_t *val, struct xp_config *cfg);
static int parse_allow_src(struct conf_ctx *ctx, json_t *val, struct xp_config *cfg);
static int parse_allow_dst(struct conf_ctx *ctx, json_t *val, struct xp_config *cfg);
static int parse_eal_args(struct conf_ctx *ctx, json_t *val, struct xp_config *cfg);
static int parse_gw_units(struct conf_ctx *ctx, json_t *val, struct xp_config *cfg);
static bool hex_ok(const char *s, size_t min, size_t max);
static const char *const full_names[] = { "evict_oldest", "refuse_pass", "refuse_drop", NULL };
static const char *const malformed_names[] = { "drop", "pass", NULL };

#define OFF(f) offsetof(struct xp_config, f)
#define POFF(f) offsetof(struct xp_config, pol.f)
#define MS_MAX 3600000

static const struct key_desc policer_keys[] = {
    { "unit_prefixes", KT_SPECIAL, 0, 0, 0, 0, NULL, parse_units,
      "array of CIDR strings", "[]", true,
      "Sources that are IoT units: only their traffic is policed." },
    { "allow_src", KT_SPECIAL, 0, 0, 0, 0, NULL, parse_allow_src,
      "array of CIDR strings", "[]", true, "Sources never policed (checked first)." },
    { "allow_dst", KT_SPECIAL, 0, 0, 0, 0, NULL, parse_allow_dst,
      "array of CIDR strings", "[]", true, "Destinations never policed (checked first)." },
    { "v6_unit_prefix", KT_UINT, POFF(v6_unit_prefix), 0, 8, 128, NULL, NULL,
      "integer (bits, multiple of 8)", "64", false,
      "An IPv6 unit is its source address masked to this length." },
    { "t_t1_ms", KT_UINT, POFF(t_t1_ms), 0, 1, MS_MAX, NULL, NULL,
      "integer (ms)", "1000", true, "T_T1: an idle gap longer than this restarts a pair's window." },
    { "t_t2_ms", KT_UINT, POFF(t_t2_ms), 0, 1, MS_MAX, NULL, NULL,
      "integer (ms)", "1000", true, "T_T2: the unit test applies once a window is longer than this." },
    { "t_t3_ms", KT_UINT, POFF(t_t3_ms), 0, 1, MS_MAX, NULL, NULL,
      "integer (ms)", "1000", true,
      "T_T3: the destination test applies once its window is longer than this." },
    { "t_t4_ms", KT_UINT, POFF(t_t4_ms), 0, 1, MS_MAX, NULL, NULL,
      "integer (ms)", "4000", true, "T_T4: a window longer than this shrinks by r." },
    { "r", KT_UINT, POFF(r), 0, 1, 1024, NULL, NULL,
      "integer", "2", true, "Shrink divisor (1: windows never shrink)." },
    { "t_f1_pps", KT_UINT, POFF(t_f1_pps), 0, 1, 1000000000, NULL, NULL,
      "integer (packets/s)", "100000", true, "T_F1: highest rate of one unit towards one destination." },
    { "t_f2_pps", KT_UINT, POFF(t_f2_pps), 0, 1, 1000000000, NULL, NULL,
      "integer (packets/s)", "800000", true, "T_F2: highest rate of all units towards one destination." },
    { "max_pairs", KT_UINT, POFF(max_pairs), 0, 64, 1 << 26, NULL, NULL,
      "integer", "1048576", false, "Pairs tracked per queue (memory: see docs/policer.md)." },
    { "max_dsts", KT_UINT, POFF(max_dsts), 0, 64, 1 << 24, NULL, NULL,
      "integer", "262144", false, "Destinations tracked (shared by all queues)." },
    { "table_full", KT_ENUM, POFF(table_full), 0, 0, 0, full_names, NULL,
      "evict_oldest, refuse_pass, refuse_drop", "\"evict_oldest\"", true,
      "When the pair table is full and no idle pair can be reclaimed." },
    { "malformed", KT_ENUM, POFF(malformed), 0, 0, 0, malformed_names, NULL,
      "drop, pass", "\"drop\"", true, "What happens to frames that do not parse (counted by reason)." },
    { "kernel_block", KT_BOOL, POFF(kernel_block), 0, 0, 0, NULL, NULL,
      "boolean", "true", true,
      "Drop blocked pairs early: in XDP (af_xdp), or right after parsing (dpdk)." },
    { "block_ms", KT_UINT, POFF(block_ms), 0, 10, 60000, NULL, NULL,
      "integer (ms)", "500", true,
      "Life of one XDP block; then the worker sees the pair again and decides anew." },
};

#define SOFF(f) offsetof(struct xp_config, sync.f)
#define FSIZE(f) sizeof(((struct xp_config *)0)->f)

static const struct key_desc sync_keys[] = {
    { "central", KT_STRING, SOFF(central), FSIZE(sync.central), 0, 0, NULL, NULL,
      "string (ADDRESS:PORT)", "none (no sync)", false,
      "The central node; numeric address, [v6]:port for IPv6." },
    { "secret", KT_STRING, SOFF(secret), FSIZE(sync.secret), 0, 0, NULL, NULL,
      "string (hex)", "secret or secret_file with central", false,
      "This proxy's secret, 32..128 hex digits, as in the central node's configuration "
      "(the configuration file must then not be readable by others)." },
    { "secret_file", KT_STRING, SOFF(secret_file), FSIZE(sync.secret_file), 0, 0, NULL, NULL,
      "string (path)", "none", false,
      "A file holding the secret (hex), not readable by others (refused otherwise)." },
    { "period_ms", KT_UINT, SOFF(period_ms), 0, 100, 600000, NULL, NULL,
      "integer (ms)", "4000", true, "Sync period t." },
};

#define DOFF(f) offsetof(struct xp_config, dpdk.f)

static const struct key_desc dpdk_keys[] = {
    { "eal_args", KT_SPECIAL, 0, 0, 0, 0, NULL, parse_eal_args,
      "array of strings", "[]", false,
      "EAL arguments (cores, memory, --no-huge, --vdev, -a PCI allow-list, --file-prefix); "
      "see docs/dpdk.md." },
    { "access_port", KT_UINT, DOFF(access_port), 0, 0, 1023, NULL, NULL,
      "integer (ethdev port id)", "0", false, "The DPDK port that faces the units." },
    { "core_port", KT_UINT, DOFF(core_port), 0, 0, 1023, NULL, NULL,
      "integer (ethdev port id)", "1", false, "The DPDK port that faces the core network." },
    { "mbufs_per_queue", KT_UINT, DOFF(mbufs_per_queue), 0, 1023, 1 << 20, NULL, NULL,
      "integer", "8191", false, "Mbufs in each port's pool per queue (2^n - 1 is best)." },
};

#define GOFF(f) offsetof(struct xp_config, gw.f)

static const struct key_desc gateway_keys[] = {
    { "tunnel_id", KT_UINT, GOFF(tunnel_id), 0, 1, 65535, NULL, NULL,
      "integer 1..65535", "required in gateway mode", false,
      "This proxy's id in the tunnel header, distinct for every proxy a unit may use: a datagram "
      "is only good for the proxy it names, so one captured on its way to one proxy is refused "
      "by every other." },
    { "mac_fail_pps", KT_UINT, GOFF(mac_fail_pps), 0, 1, 1000000, NULL, NULL,
      "integer (datagrams/s)", "100", false,
      "Datagrams per second (and per worker) one source address may send that fail the tag; "
      "past that burst its datagrams are dropped before any MAC work (mac_limited)." },
    { "tunnel_port", KT_UINT, GOFF(tunnel_port), 0, 1, 65535, NULL, NULL,
      "integer (UDP port)", "5685", false, "Where units send their tunnel datagrams." },
    { "capacity_pps", KT_UINT, GOFF(capacity_pps), 0, 1, 1000000000, NULL, NULL,
      "integer (packets/s)", "1000000", true,
      "The load W that units see: 1000 x authenticated tunnel datagrams per second / capacity_pps; "
      "at 1000 the answer is OVERLOAD and units move to another proxy." },
    { "units", KT_SPECIAL, 0, 0, 0, 0, NULL, parse_gw_units,
      "array of {\"id\", \"keys\" | \"key\", \"sources\"}", "required in gateway mode", true,
      "Units allowed to tunnel: id 1..4294967295; keys: 1..4 of {\"id\": 0..255, \"key\": 32..128 "
      "hex digits} (a rotation: add the new key, reload, move the units to it, remove the old "
      "one), or \"key\" alone for key id 0; sources 1..4 CIDR prefixes the unit may send from "
      "(the policer names the unit by the first)." },
};

static const struct key_desc config_keys[] = {
    { "proxy_id", KT_STRING, OFF(proxy_id), XP_CONF_ID_MAX, 0, 0, NULL, NULL,
      "string", "\"xpro\"", false, "Name of this proxy in stats, events and sync." },
    { "mode", KT_ENUM, OFF(mode), 0, 0, 0, mode_names, NULL,
      "inline, gateway", "\"inline\"", false,
      "inline: bump in the wire between the access and core ports; gateway: units tunnel "
      "to this proxy on the access port, inner packets leave by route on the core port." },
    { "backend", KT_ENUM, OFF(backend), 0, 0, 0, backend_names, NULL,
      "af_xdp, dpdk", "\"af_xdp\"", false,
      "I/O backend: AF_XDP sockets with the XDP program, or DPDK ports (the \"dpdk\" keys)." },
    { "ports", KT_SPECIAL, 0, 0, 0, 0, NULL, parse_ports,
      "object", "required", false,
      "Interfaces: {\"access\": IFNAME, \"core\": IFNAME}; units sit behind access." },
    { "queues", KT_UINT, OFF(queues), 0, 1, XP_MAX_QUEUES, NULL, NULL,
      "integer", "1", false, "Queues per port; one pinned worker per queue index." },
    { "cpus", KT_SPECIAL, 0, 0, 0, 0, NULL, parse_cpus,
      "array of integers", "[] (no pinning)", false,
      "Worker q runs on cpus[q % len]." },
    { "fail_mode", KT_ENUM, OFF(fail_mode_closed), 0, 0, 0, fail_names, NULL,
      "open, closed", "\"open\"", false,
      "With no socket on a queue (proxy down): pass frames to the kernel, or drop them." },
    { "non_ip", KT_ENUM, OFF(non_ip_pass), 0, 0, 0, non_ip_names, NULL,
      "drop, pass", "\"drop\"", false,
      "Frames that are neither IP nor ARP (ARP always passes): drop them, or give them to "
      "the kernel (the bridge) unpoliced; counted either way." },
    { "channels", KT_ENUM, OFF(channels_set), 0, 0, 0, channels_names, NULL,
      "refuse, set", "\"refuse\"", false,
      "When a port has another number of RX channels than queues (frames on a queue without "
      "a socket would pass unpoliced): refuse to start, or set the port's channels to queues." },
    { "xdp_mode", KT_ENUM, OFF(xdp_mode_skb), 0, 0, 0, xdp_mode_names, NULL,
      "native, skb", "\"native\"", false, "XDP attach mode." },
    { "zero_copy", KT_ENUM, OFF(zero_copy), 0, 0, 0, zc_names, NULL,
      "auto, on, off", "\"auto\"", false,
      "AF_XDP zero-copy: try and fall back to copy, require, or never." },
    { "busy_poll", KT_BOOL, OFF(busy_poll), 0, 0, 0, NULL, NULL,
      "boolean", "false", false, "Set SO_PREFER_BUSY_POLL/SO_BUSY_POLL on the sockets." },
    { "frames_per_queue", KT_UINT, OFF(frames_per_queue), 0, 1024, 1 << 20, NULL, NULL,
      "integer", "8192", false, "UMEM frames (2 KiB each) per queue, shared by both ports." },
    { "ring_size", KT_UINT, OFF(ring_size), 0, 64, 1 << 16, NULL, NULL,
      "integer (power of two)", "2048", false, "Size of each RX/TX/fill/completion ring." },
    { "stats_interval_ms", KT_UINT, OFF(stats_interval_ms), 0, 100, 60000, NULL, NULL,
      "integer (ms)", "1000", true, "Period of the JSON stats line." },
    { "mgmt_prefixes", KT_SPECIAL, 0, 0, 0, 0, NULL, parse_mgmt,
      "array of CIDR strings", "[]", false,
      "Destinations passed to the kernel untouched (the box's own management traffic)." },
    { "log_level", KT_ENUM, OFF(log_level), 0, 0, 0, level_names, NULL,
      "err, warn, info, debug", "\"info\"", true, "Log threshold." },
    { "events_out", KT_STRING, OFF(events_out), sizeof(((struct xp_config *)0)->events_out),
      0, 0, NULL, NULL, "string (path)", "none", false,
      "File that receives events (overload warnings, blocks) as JSON lines." },
    { "events_syslog", KT_STRING, OFF(events_syslog), FSIZE(events_syslog), 0, 0, NULL, NULL,
      "string (path)", "none", false,
      "Also send events to syslog through this socket (usually \"/dev/log\"), facility daemon." },
    { "port_settings", KT_SPECIAL, 0, 0, 0, 0, NULL, parse_port_settings,
      "object", "{}", false,
      "Per-port blocks: {\"default\": {..}, \"access\": {..}, \"core\": {..}} with xdp_mode "
      "and busy_poll; a port's block wins over \"default\", which wins over the top-level key." },
    { "ctl_socket", KT_STRING, OFF(ctl_socket), FSIZE(ctl_socket), 0, 0, NULL, NULL,
      "string (path)", "/run/xpro/PROXY_ID.sock", false, "The control socket (xpro-ctl)." },
    { "ctl_socket_group", KT_STRING, OFF(ctl_socket_group), FSIZE(ctl_socket_group), 0, 0,
      NULL, NULL, "string (group)", "none (root only)", false,
      "Group that may use the control socket (mode 0660)." },
    { "user", KT_STRING, OFF(user), FSIZE(user), 0, 0, NULL, NULL, "string (account)",
      "none (stays as started)", false,
      "After set-up the proxy runs as this account with only the capabilities it still needs "
      "(docs/operators.md \"Privileges\"); a root monitor process stays to undo the set-up at "
      "exit. The configuration must be readable by it for reloads." },
    { "prometheus", KT_STRING, OFF(prometheus), FSIZE(prometheus), 0, 0, NULL, NULL,
      "string (ADDRESS:PORT)", "off", false,
      "Serve GET /metrics (Prometheus text) on this loopback address." },
    { "sync", KT_SECTION, 0, 0, 0, 0, NULL, NULL, "object", "{}", true,
      "Algorithm 2 with the central node: the keys below.", sync_keys,
      sizeof(sync_keys) / sizeof(sync_keys[0]) },
    { "policer", KT_SECTION, 0, 0, 0, 0, NULL, NULL, "object", "{}", true,
      "Algorithm 1: the keys below.", policer_keys,
      sizeof(policer_keys) / sizeof(policer_keys[0]) },
    { "gateway", KT_SECTION, 0, 0, 0, 0, NULL, NULL, "object", "{}", true,
      "Gateway mode (with \"mode\": \"gateway\"): the keys below; docs/tunnel.md.",
      gateway_keys, sizeof(gateway_keys) / sizeof(gateway_keys[0]) },
    { "dpdk", KT_SECTION, 0, 0, 0, 0, NULL, NULL, "object", "{}", false,
      "The DPDK backend (with \"backend\": \"dpdk\"): the keys below.", dpdk_keys,
      sizeof(dpdk_keys) / sizeof(dpdk_keys[0]) },
};

#define N_KEYS (sizeof(config_keys) / sizeof(config_keys[0]))

void xp_config_defaults(struct xp_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->proxy_id, sizeof(cfg->proxy_id), "xpro");
    cfg->mode = XP_MODE_INLINE;
    cfg->queues = 1;
    cfg->fail_mode_closed = 0;
    cfg->xdp_mode_skb = 0;
    cfg->zero_copy = XP_CONF_ZC_AUTO;
    cfg->frames_per_queue = 8192;
    cfg->ring_size = 2048;
    cfg->stats_interval_ms = 1000;
    cfg->log_level = XP_LOG_INFO;
    cfg->backend = XP_BACKEND_AF_XDP;
    cfg->dpdk.access_port = 0;
    cfg->dpdk.core_port = 1;
    cfg->dpdk.mbufs_per_queue = 8191;
    cfg->pol.t_t1_ms = XP_POLICER_DEF_T_T1_NS / 1000000;
    cfg->pol.t_t2_ms = XP_POLICER_DEF_T_T2_NS / 1000000;
    cfg->pol.t_t3_ms = XP_POLICER_DEF_T_T3_NS / 1000000;
    cfg->pol.t_t4_ms = XP_POLICER_DEF_T_T4_NS / 1000000;
    cfg->pol.r = XP_POLICER_DEF_SHRINK_R;
    cfg->pol.t_f1_pps = XP_POLICER_DEF_T_F1_PPS;
    cfg->pol.t_f2_pps = XP_POLICER_DEF_T_F2_PPS;
    cfg->pol.max_pairs = XP_POLICER_DEF_CAPACITY;
    cfg->pol.max_dsts = 262144;
    cfg->pol.table_full = XP_FULL_EVICT_OLDEST;
    cfg->pol.malformed = XP_MALFORMED_DROP;
    cfg->pol.kernel_block = true;
    cfg->pol.block_ms = 500;
    cfg->pol.v6_unit_prefix = XP_POLICER_DEF_V6_PREFIX;
    cfg->sync.period_ms = 4000;
    cfg->gw.tunnel_port = 5685;
    cfg->gw.mac_fail_pps = 100;
    cfg->gw.capacity_pps = 1000000;
    for (int b = 0; b < 3; b++)
        cfg->ps_xdp_skb[b] = cfg->ps_busy_poll[b] = -1;
}

/*
 * jansson keeps no positions for values, so errors about a key find it
 * again in the text: a small scanner walks the JSON along the key path.
 */
struct scan {
    const char *s;
    int line, col;
};

static void sc_adv(struct scan *sc)
{
    if (*sc->s == '\n') {
        sc->line++;
        sc->col = 1;
    } else {
        sc->col++;
    }
    sc->s++;
}

static void sc_ws(struct scan *sc)
{
    while (*sc->s == ' ' || *sc->s == '\t' || *sc->s == '\n' || *sc->s == '\r')
        sc_adv(sc);
}

/* Skip a string at sc (which points at '"'); copy up to len-1 bytes of it into out. */
static void sc_string(struct scan *sc, char *out, size_t len)
{
    size_t n = 0;

    sc_adv(sc);
    while (*sc->s && *sc->s != '"') {
        if (*sc->s == '\\' && sc->s[1])
            sc_adv(sc);
        if (out && n + 1 < len)
            out[n++] = *sc->s;
        sc_adv(sc);
    }
    if (*sc->s == '"')
        sc_adv(sc);
    if (out)
        out[n] = '\0';
}

static void sc_value(struct scan *sc)
{
    int depth = 0;

    sc_ws(sc);
    do {
        if (*sc->s == '"') {
            sc_string(sc, NULL, 0);
            continue;
        }
        if (*sc->s == '{' || *sc->s == '[')
            depth++;
        else if (*sc->s == '}' || *sc->s == ']')
            depth--;
        else if (depth == 0 && (*sc->s == ',' || *sc->s == ' ' || *sc->s == '\n'))
            break;
        if (*sc->s == '\0')
            break;
        sc_adv(sc);
    } while (depth > 0 || (*sc->s && *sc->s != ',' && *sc->s != '}' && *sc->s != ']' &&
                           *sc->s != ' ' && *sc->s != '\n' && *sc->s != '\r'));
}

/* Position of path[0..depth) in text: the key itself, or the array element. */
static void locate(const char *text, const char *const *path, int depth, int *line, int *col)
{
    struct scan sc = { .s = text, .line = 1, .col = 1 };
    char key[128];

    for (int d = 0; d < depth; d++) {
        sc_ws(&sc);
        if (*sc.s == '{') {
            bool found = false;

            sc_adv(&sc);
            for (;;) {
                struct scan at;

                sc_ws(&sc);
                if (*sc.s != '"')
                    goto out;
                at = sc;
                sc_string(&sc, key, sizeof(key));
                sc_ws(&sc);
                if (*sc.s != ':')
                    goto out;
                sc_adv(&sc);
                if (strcmp(key, path[d]) == 0) {
                    found = true;
                    if (d == depth - 1)
                        sc = at;
                    break;
                }
                sc_value(&sc);
                sc_ws(&sc);
                if (*sc.s != ',')
                    goto out;
                sc_adv(&sc);
            }
            if (!found)
                goto out;
        } else if (*sc.s == '[') {
            long idx = strtol(path[d], NULL, 10);

            sc_adv(&sc);
            for (long i = 0; i < idx; i++) {
                sc_value(&sc);
                sc_ws(&sc);
                if (*sc.s != ',')
                    goto out;
                sc_adv(&sc);
            }
            sc_ws(&sc);
        } else {
            goto out;
        }
    }
out:
    *line = sc.line;
    *col = sc.col;
}

__attribute__((format(printf, 3, 4)))
static int conf_error(struct conf_ctx *ctx, int err, const char *fmt, ...)
{
    char keypath[256] = "";
    size_t n = 0;
    int line, col;
    va_list ap;

    for (int i = 0; i < ctx->depth; i++) {
        int w = snprintf(keypath + n, sizeof(keypath) - n, "%s%s", i ? "." : "", ctx->path[i]);

        if (w < 0 || (size_t)w >= sizeof(keypath) - n)
            break;
        n += w;
    }
    locate(ctx->text, ctx->path, ctx->depth, &line, &col);
    n = snprintf(ctx->msg, ctx->msg_len, "%s:%d:%d: %s: ", ctx->name, line, col,
                 keypath[0] ? keypath : "(top)");
    if (n < ctx->msg_len) {
        va_start(ap, fmt);
        vsnprintf(ctx->msg + n, ctx->msg_len - n, fmt, ap);
        va_end(ap);
    }
    return err;
}

static int parse_enum(struct conf_ctx *ctx, json_t *val, const char *const *names, int *out)
{
    const char *s;
    char list[128] = "";
    size_t n = 0;

    if (!json_is_string(val))
        goto bad;
    s = json_string_value(val);
    for (int i = 0; names[i]; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
bad:
    for (int i = 0; names[i] && n < sizeof(list); i++)
        n += snprintf(list + n, sizeof(list) - n, "%s\"%s\"", i ? ", " : "", names[i]);
    return conf_error(ctx, json_is_string(val) ? XP_CONF_E_RANGE : XP_CONF_E_TYPE,
                      "expected one of %s", list);
}

static int parse_object(struct conf_ctx *ctx, json_t *obj, const struct key_desc *table,
                        size_t n, struct xp_config *cfg);

static int parse_key(struct conf_ctx *ctx, const struct key_desc *k, json_t *val,
                     struct xp_config *cfg)
{
    char *field = (char *)cfg + k->offset;

    switch (k->type) {
    case KT_STRING:
        if (!json_is_string(val))
            return conf_error(ctx, XP_CONF_E_TYPE, "expected a string");
        if (json_string_length(val) == 0 || json_string_length(val) >= k->size)
            return conf_error(ctx, XP_CONF_E_RANGE, "length must be 1..%zu", k->size - 1);
        memcpy(field, json_string_value(val), json_string_length(val) + 1);
        return 0;
    case KT_UINT: {
        json_int_t v;

        if (!json_is_integer(val))
            return conf_error(ctx, XP_CONF_E_TYPE, "expected an integer");
        v = json_integer_value(val);
        if (v < k->min || v > k->max)
            return conf_error(ctx, XP_CONF_E_RANGE, "%lld is out of range %lld..%lld",
                              (long long)v, k->min, k->max);
        *(unsigned *)field = v;
        return 0;
    }
    case KT_BOOL:
        if (!json_is_boolean(val))
            return conf_error(ctx, XP_CONF_E_TYPE, "expected true or false");
        *(bool *)field = json_is_true(val);
        return 0;
    case KT_ENUM:
        return parse_enum(ctx, val, k->enum_names, (int *)field);
    case KT_SPECIAL:
        return k->special(ctx, val, cfg);
    case KT_SECTION:
        if (!json_is_object(val))
            return conf_error(ctx, XP_CONF_E_TYPE, "expected an object");
        return parse_object(ctx, val, k->sub, k->n_sub, cfg);
    }
    return conf_error(ctx, XP_CONF_E_TYPE, "internal: unknown key type");
}

static int parse_ports(struct conf_ctx *ctx, json_t *val, struct xp_config *cfg)
{
    static const char *const roles[XP_MAX_PORTS] = { "access", "core" };
    const char *key;
    json_t *v;
    int ret;

    if (!json_is_object(val))
        return conf_error(ctx, XP_CONF_E_TYPE, "expected an object {\"access\": .., \"core\": ..}");
    json_object_foreach(val, key, v) {
        int role = -1;

        ctx->path[ctx->depth++] = key;
        for (int r = 0; r < XP_MAX_PORTS; r++)
            if (strcmp(key, roles[r]) == 0)
                role = r;
        if (role < 0)
            return conf_error(ctx, XP_CONF_E_UNKNOWN_KEY, "unknown port role (access, core)");
        if (!json_is_string(v))
            return conf_error(ctx, XP_CONF_E_TYPE, "expected an interface name");
        if (json_string_length(v) == 0 || json_string_length(v) >= XP_CONF_IFNAME_MAX)
            return conf_error(ctx, XP_CONF_E_RANGE, "interface names are 1..%d characters",
                              XP_CONF_IFNAME_MAX - 1);
        memcpy(cfg->port_name[role], json_string_value(v), json_string_length(v) + 1);
        ctx->depth--;
    }
    for (int r = 0; r < XP_MAX_PORTS; r++) {
        if (!cfg->port_name[r][0])
            return conf_error(ctx, XP_CONF_E_MISSING, "missing \"%s\"", roles[r]);
    }
    ret = strcmp(cfg->port_name[0], cfg->port_name[1]) == 0;
    if (ret)
        return conf_error(ctx, XP_CONF_E_RANGE, "access and core must be different interfaces");
    return 0;
}

/*
 * Arrays share one shape: type and size checked here, each element by elem()
 * with its index already on the key path, so errors name "key.N".
 */
static int parse_array(struct conf_ctx *ctx, json_t *val, size_t max, const char *what,
                       const char *max_what,
                       int (*elem)(struct conf_ctx *ctx, json_t *v, size_t i, void *arg),
                       void *arg)
{
    char idx[24];
    size_t i;
    json_t *v;

    if (!json_is_array(val))
        return conf_error(ctx, XP_CONF_E_TYPE, "expected an array of %s", what);
    if (json_array_size(val) > max)
        return conf_error(ctx, XP_CONF_E_RANGE, "at most %zu %s", max, max_what);
    if (ctx->depth >= (int)(sizeof(ctx->path) / sizeof(ctx->path[0])) - 1)
        return conf_error(ctx, XP_CONF_E_TYPE, "nested too deeply");
    json_array_foreach(val, i, v) {
        int ret;

        snprintf(idx, sizeof(idx), "%zu", i);
        ctx->path[ctx->depth++] = idx;
        ret = elem(ctx, v, i, arg);
        if (ret)
            return ret;
        ctx->depth--;
    }
    return 0;
}

static int cpu_elem(struct conf_ctx *ctx, json_t *v, size_t i, void *arg)
{
    struct xp_config *cfg = arg;

    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 4095)
        return conf_error(ctx, XP_CONF_E_TYPE, "expected a CPU number 0..4095");
    cfg->cpus[i] = json_integer_value(v);
    return 0;
}

static int parse_cpus(struct conf_ctx *ctx, json_t *val, struct xp_config *cfg)
{
    int ret = parse_array(ctx, val, XP_MAX_QUEUES, "CPU numbers", "CPUs", cpu_elem, cfg);

    if (!ret)
        cfg->n_cpus = json_array_size(val);
    return ret;
}

static int prefix_elem(struct conf_ctx *ctx, json_t *v, size_t i, void *arg)
{
    struct xp_cidr *out = arg;

    if (!json_is_string(v))
        return conf_error(ctx, XP_CONF_E_TYPE, "expected a CIDR string");
    if (xp_cidr_parse(json_string_value(v), &out[i]))
        return conf_error(ctx, XP_CONF_E_RANGE, "\"%s\" is not an IPv4 or IPv6 prefix",
                          json_string_value(v));
    return 0;
}

static int parse_prefixes(struct conf_ctx *ctx, json_t *val, struct xp_cidr *out,
                          unsigned *n_out, unsigned max)
{
    int ret = parse_array(ctx, val, max, "CIDR strings", "prefixes", prefix_elem, out);

    if (!ret)
        *n_out = json_array_size(val);
    return ret;
}

static int parse_mgmt(struct conf_ctx *ctx, json_t *val, struct xp_config *cfg)
{
    return parse_prefixes(ctx, val, cfg->mgmt, &cfg->n_mgmt, XP_MGMT_PREFIXES);
}

static int parse_units(struct conf_ctx *ctx, json_t *val, struct xp_config *cfg)
{
    return parse_prefixes(ctx, val, cfg->pol.units, &cfg->pol.n_units, XP_CONF_PREFIXES_MAX);
}

static int parse_allow_src(struct conf_ctx *ctx, json_t *val, struct xp_config *cfg)
{
    return parse_prefixes(ctx, val, cfg->pol.allow_src, &cfg->pol.n_allow_src,
                          XP_CONF_PREFIXES_MAX);
}

static int parse_allow_dst(struct conf_ctx *ctx, json_t *val, struct xp_config *cfg)
{
    return parse_prefixes(ctx, val, cfg->pol.allow_dst, &cfg->pol.n_allow_dst,
                          XP_CONF_PREFIXES_MAX);
}

static int eal_arg_elem(struct conf_ctx *ctx, json_t *v, size_t i, void *arg)
{
    struct xp_config *cfg = arg;

    if (!json_is_string(v))
        return conf_error(ctx, XP_CONF_E_TYPE, "expected a string");
    if (json_string_length(v) == 0 || json_string_length(v) >= XP_CONF_EAL_ARG_LEN)
        return conf_error(ctx, XP_CONF_E_RANGE, "length must be 1..%d", XP_CONF_EAL_ARG_LEN - 1);
    memcpy(cfg->dpdk.eal_args[i], json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int parse_eal_args(struct conf_ctx *ctx, json_t *val, struct xp_config *cfg)
{
    int ret = parse_array(ctx, val, XP_CONF_EAL_ARGS_MAX, "strings", "arguments",
                          eal_arg_elem, cfg);

    if (!ret)
        cfg->dpdk.n_eal_args = json_array_size(val);
    return ret;
}

/* Two prefixes overlap when the shorter one contains the other's network address. */
static bool prefixes_overlap(const struct xp_cidr *a, const struct xp_cidr *b)
{
    return xp_cidr_match(a->prefix_len <= b->prefix_len ? a : b,
                         a->prefix_len <= b->prefix_len ? b->addr : a->addr);
}

/* A tunnel key: 32..128 hex digits. */
static int gw_key_hex(struct conf_ctx *ctx, json_t *f, struct xp_conf_gw_key *k)
{
    const char *h = json_is_string(f) ? json_string_value(f) : NULL;
    size_t n = h ? strlen(h) : 0;

    if (!h || !hex_ok(h, 2 * XP_CONF_GW_KEY_MIN, 2 * XP_CONF_GW_KEY_MAX))
        return conf_error(ctx, XP_CONF_E_RANGE, "expected %d..%d hex digits",
                          2 * XP_CONF_GW_KEY_MIN, 2 * XP_CONF_GW_KEY_MAX);
    for (size_t b = 0; b < n / 2; b++)
        sscanf(h + 2 * b, "%2hhx", &k->key[b]);
    k->len = (uint32_t)(n / 2);
    return 0;
}

/* One of a unit's keys: {"id": 0..255, "key": HEX}, ids distinct within the unit. */
static int gw_key_elem(struct conf_ctx *ctx, json_t *v, size_t i, void *arg)
{
    struct xp_conf_gw_unit *u = arg;
    struct xp_conf_gw_key *k = &u->keys[i];
    bool have_id = false;
    const char *key;
    json_t *f;
    int ret;

    if (!json_is_object(v))
        return conf_error(ctx, XP_CONF_E_TYPE, "expected {\"id\": 0..255, \"key\": HEX}");
    json_object_foreach(v, key, f) {
        ctx->path[ctx->depth++] = key;
        if (strcmp(key, "id") == 0) {
            if (!json_is_integer(f) || json_integer_value(f) < 0 || json_integer_value(f) > 255)
                return conf_error(ctx, XP_CONF_E_RANGE, "expected an integer 0..255");
            k->id = (uint32_t)json_integer_value(f);
            have_id = true;
        } else if (strcmp(key, "key") == 0) {
            ret = gw_key_hex(ctx, f, k);
            if (ret)
                return ret;
        } else {
            return conf_error(ctx, XP_CONF_E_UNKNOWN_KEY, "unknown key (id, key)");
        }
        ctx->depth--;
    }
    if (!have_id || !k->len)
        return conf_error(ctx, XP_CONF_E_MISSING, "a key needs \"id\" and \"key\"");
    for (size_t j = 0; j < i; j++)
        if (u->keys[j].id == k->id)
            return conf_error(ctx, XP_CONF_E_RANGE, "key id %u appears twice", k->id);
    return 0;
}

static int gw_unit_elem(struct conf_ctx *ctx, json_t *v, size_t i, void *arg)
{
    struct xp_config *cfg = arg;
    struct xp_conf_gw_unit *u = &cfg->gw.units[i];
    const char *key;
    json_t *f;
    int ret;

    if (!json_is_object(v))
        return conf_error(ctx, XP_CONF_E_TYPE, "expected {\"id\": N, \"key\": HEX, \"sources\": [CIDR]}");
    json_object_foreach(v, key, f) {
        ctx->path[ctx->depth++] = key;
        if (strcmp(key, "id") == 0) {
            if (!json_is_integer(f) || json_integer_value(f) < 1 ||
                json_integer_value(f) > 0xffffffffLL)
                return conf_error(ctx, XP_CONF_E_RANGE, "expected an integer 1..4294967295");
            u->id = (uint32_t)json_integer_value(f);
        } else if (strcmp(key, "key") == 0) {
            if (u->n_keys)
                return conf_error(ctx, XP_CONF_E_RANGE, "\"key\" or \"keys\", not both");
            ret = gw_key_hex(ctx, f, &u->keys[0]);
            if (ret)
                return ret;
            u->n_keys = 1;
        } else if (strcmp(key, "keys") == 0) {
            if (u->n_keys)
                return conf_error(ctx, XP_CONF_E_RANGE, "\"key\" or \"keys\", not both");
            ret = parse_array(ctx, f, XP_CONF_GW_KEYS_MAX, "{\"id\", \"key\"} objects", "keys",
                              gw_key_elem, u);
            if (ret)
                return ret;
            u->n_keys = json_array_size(f);
            if (u->n_keys == 0)
                return conf_error(ctx, XP_CONF_E_RANGE, "at least one key");
        } else if (strcmp(key, "sources") == 0) {
            ret = parse_prefixes(ctx, f, u->sources, &u->n_sources, XP_CONF_GW_SOURCES_MAX);
            if (ret)
                return ret;
            if (u->n_sources == 0)
                return conf_error(ctx, XP_CONF_E_RANGE, "at least one prefix");
        } else {
            return conf_error(ctx, XP_CONF_E_UNKNOWN_KEY, "unknown key (id, keys, key, sources)");
        }
        ctx->depth--;
    }
    if (!u->id || !u->n_keys || !u->n_sources)
        return conf_error(ctx, XP_CONF_E_MISSING,
                          "a unit needs \"id\", \"keys\" (or \"key\") and \"sources\"");
    for (size_t j = 0; j < i; j++) {
        const struct xp_conf_gw_unit *o = &cfg->gw.units[j];

        if (o->id == u->id)
            return conf_error(ctx, XP_CONF_E_RANGE, "unit id %u appears twice", u->id);
        /* Sources bind units to addresses: two units on one address would undo that. */
        for (unsigned a = 0; a < u->n_sources; a++) {
            for (unsigned b = 0; b < o->n_sources; b++) {
                if (prefixes_overlap(&u->sources[a], &o->sources[b]))
                    return conf_error(ctx, XP_CONF_E_RANGE,
                                      "sources.%u overlaps the sources of unit %u", a, o->id);
            }
        }
    }
    return 0;
}

static int parse_gw_units(struct conf_ctx *ctx, json_t *val, struct xp_config *cfg)
{
    int ret = parse_array(ctx, val, XP_CONF_GW_UNITS_MAX, "units", "units", gw_unit_elem, cfg);

    if (!ret)
        cfg->gw.n_units = json_array_size(val);
    return ret;
}

/*
 * port_settings: blocks named "default", "access" or "core", each with the
 * per-port keys only. Resolution happens once everything is parsed.
 */
static int parse_port_settings(struct conf_ctx *ctx, json_t *val, struct xp_config *cfg)
{
    static const char *const blocks[] = { "default", "access", "core" };
    const char *name, *key;
    json_t *blk, *v;

    if (!json_is_object(val))
        return conf_error(ctx, XP_CONF_E_TYPE, "expected an object of blocks");
    json_object_foreach(val, name, blk) {
        int b = -1;

        ctx->path[ctx->depth++] = name;
        for (int i = 0; i < 3; i++)
            if (strcmp(name, blocks[i]) == 0)
                b = i;
        if (b < 0)
            return conf_error(ctx, XP_CONF_E_UNKNOWN_KEY,
                              "unknown block (default, access, core)");
        if (!json_is_object(blk))
            return conf_error(ctx, XP_CONF_E_TYPE, "expected an object");
        json_object_foreach(blk, key, v) {
            ctx->path[ctx->depth++] = key;
            if (strcmp(key, "xdp_mode") == 0) {
                int ret = parse_enum(ctx, v, xdp_mode_names, &cfg->ps_xdp_skb[b]);

                if (ret)
                    return ret;
            } else if (strcmp(key, "busy_poll") == 0) {
                if (!json_is_boolean(v))
                    return conf_error(ctx, XP_CONF_E_TYPE, "expected true or false");
                cfg->ps_busy_poll[b] = json_is_true(v);
            } else {
                return conf_error(ctx, XP_CONF_E_UNKNOWN_KEY,
                                  "unknown key (per port: xdp_mode, busy_poll)");
            }
            ctx->depth--;
        }
        ctx->depth--;
    }
    return 0;
}

static void resolve_port_settings(struct xp_config *cfg)
{
    for (int p = 0; p < XP_MAX_PORTS; p++) {
        int skb = cfg->xdp_mode_skb, bp = cfg->busy_poll;

        if (cfg->ps_xdp_skb[0] >= 0)
            skb = cfg->ps_xdp_skb[0];
        if (cfg->ps_xdp_skb[1 + p] >= 0)
            skb = cfg->ps_xdp_skb[1 + p];
        if (cfg->ps_busy_poll[0] >= 0)
            bp = cfg->ps_busy_poll[0];
        if (cfg->ps_busy_poll[1 + p] >= 0)
            bp = cfg->ps_busy_poll[1 + p];
        cfg->port_xdp_skb[p] = skb;
        cfg->port_busy_poll[p] = bp;
    }
}

static int parse_object(struct conf_ctx *ctx, json_t *obj, const struct key_desc *table,
                        size_t n, struct xp_config *cfg)
{
    const char *key;
    json_t *val;
    int ret;

    json_object_foreach(obj, key, val) {
        const struct key_desc *k = NULL;

        for (size_t i = 0; i < n; i++)
            if (strcmp(table[i].name, key) == 0)
                k = &table[i];
        if (ctx->depth >= (int)(sizeof(ctx->path) / sizeof(ctx->path[0])) - 1)
            return conf_error(ctx, XP_CONF_E_TYPE, "nested too deeply");
        ctx->path[ctx->depth++] = key;
        if (!k)
            return conf_error(ctx, XP_CONF_E_UNKNOWN_KEY, "unknown key");
        ret = parse_key(ctx, k, val, cfg);
        if (ret)
            return ret;
        ctx->depth--;
    }
    return 0;
}

int xp_conf_hostport(const char *text, char *host, size_t host_len, uint16_t *port)
{
    const char *colon = strrchr(text, ':');
    const char *h = text, *hend = colon;
    unsigned long p;
    char *end;

    if (!colon || colon == text)
        return -EINVAL;
    if (text[0] == '[') {
        h = text + 1;
        if (colon[-1] != ']')
            return -EINVAL;
        hend = colon - 1;
    } else if (memchr(text, ':', colon - text)) {
        return -EINVAL; /* an IPv6 address needs brackets */
    }
    errno = 0;
    p = strtoul(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || p == 0 || p > 65535 ||
        (size_t)(hend - h) >= host_len || hend == h)
        return -EINVAL;
    memcpy(host, h, hend - h);
    host[hend - h] = '\0';
    *port = p;
    return 0;
}

static bool hex_ok(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);

    if (n < min || n > max || n % 2)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
              (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    return true;
}

int xp_config_parse(const char *name, const char *text, struct xp_config *cfg,
                    char *msg, size_t msg_len)
{
    struct conf_ctx ctx = { .name = name, .text = text, .msg = msg, .msg_len = msg_len };
    bool seen_ports = false;
    json_error_t jerr;
    json_t *root;
    int ret = 0;

    xp_config_defaults(cfg);
    root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(msg, msg_len, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
        return XP_CONF_E_SYNTAX;
    }
    if (!json_is_object(root)) {
        ret = conf_error(&ctx, XP_CONF_E_TYPE, "the configuration must be a JSON object");
        goto out;
    }
    ret = parse_object(&ctx, root, config_keys, N_KEYS, cfg);
    if (ret)
        goto out;
    seen_ports = json_object_get(root, "ports") != NULL;
    resolve_port_settings(cfg);
    ctx.depth = 0;
    if (!seen_ports) {
        ret = conf_error(&ctx, XP_CONF_E_MISSING, "missing required key \"ports\"");
        goto out;
    }
    if (cfg->ring_size & (cfg->ring_size - 1)) {
        ctx.path[ctx.depth++] = "ring_size";
        ret = conf_error(&ctx, XP_CONF_E_RANGE, "must be a power of two");
        goto out;
    }
    if (cfg->frames_per_queue < 4 * cfg->ring_size) {
        ctx.path[ctx.depth++] = "frames_per_queue";
        ret = conf_error(&ctx, XP_CONF_E_RANGE, "must be at least 4 x ring_size (%u)",
                         4 * cfg->ring_size);
        goto out;
    }
    if (cfg->pol.v6_unit_prefix % 8) {
        ctx.path[ctx.depth++] = "policer";
        ctx.path[ctx.depth++] = "v6_unit_prefix";
        ret = conf_error(&ctx, XP_CONF_E_RANGE, "must be a multiple of 8");
        goto out;
    }
    if (cfg->pol.r > 1 &&
        (uint64_t)cfg->pol.t_t4_ms <= (uint64_t)cfg->pol.r *
            (cfg->pol.t_t2_ms > cfg->pol.t_t3_ms ? cfg->pol.t_t2_ms : cfg->pol.t_t3_ms)) {
        ctx.path[ctx.depth++] = "policer";
        ctx.path[ctx.depth++] = "t_t4_ms";
        ret = conf_error(&ctx, XP_CONF_E_RANGE,
                         "with r > 1, t_t4_ms / r must exceed t_t2_ms and t_t3_ms "
                         "(a shrunk window must stay past the warm-up)");
        goto out;
    }
    {
        char host[64];
        uint16_t port;

        if (cfg->sync.central[0] &&
            xp_conf_hostport(cfg->sync.central, host, sizeof(host), &port)) {
            ctx.path[ctx.depth++] = "sync";
            ctx.path[ctx.depth++] = "central";
            ret = conf_error(&ctx, XP_CONF_E_RANGE, "expected ADDRESS:PORT or [V6]:PORT");
            goto out;
        }
        if (cfg->prometheus[0] &&
            xp_conf_hostport(cfg->prometheus, host, sizeof(host), &port)) {
            ctx.path[ctx.depth++] = "prometheus";
            ret = conf_error(&ctx, XP_CONF_E_RANGE, "expected ADDRESS:PORT or [V6]:PORT");
            goto out;
        }
    }
    if (cfg->sync.secret[0] && cfg->sync.secret_file[0]) {
        ctx.path[ctx.depth++] = "sync";
        ctx.path[ctx.depth++] = "secret_file";
        ret = conf_error(&ctx, XP_CONF_E_RANGE, "give \"secret\" or \"secret_file\", not both");
        goto out;
    }
    cfg->sync.secret_inline = cfg->sync.secret[0] != '\0';
    if (cfg->sync.secret_file[0]) {
        char why[300];
        int n = xp_secret_file__read(cfg->sync.secret_file, cfg->sync.secret,
                                     sizeof(cfg->sync.secret), why, sizeof(why));

        if (n < 0) {
            ctx.path[ctx.depth++] = "sync";
            ctx.path[ctx.depth++] = "secret_file";
            ret = conf_error(&ctx, XP_CONF_E_RANGE, "%s", why);
            goto out;
        }
    }
    if (cfg->sync.secret[0] && !hex_ok(cfg->sync.secret, 32, 128)) {
        ctx.path[ctx.depth++] = "sync";
        ctx.path[ctx.depth++] = "secret";
        ret = conf_error(&ctx, XP_CONF_E_RANGE, "expected 32..128 hex digits");
        goto out;
    }
    if (cfg->sync.central[0] && !cfg->sync.secret[0]) {
        ctx.path[ctx.depth++] = "sync";
        ret = conf_error(&ctx, XP_CONF_E_MISSING, "\"central\" needs \"secret\" or \"secret_file\"");
        goto out;
    }
    if (cfg->sync.central[0] && cfg->pol.n_units == 0 && cfg->mode != XP_MODE_GATEWAY) {
        ctx.path[ctx.depth++] = "sync";
        ret = conf_error(&ctx, XP_CONF_E_UNSUPPORTED,
                         "sync needs policing (policer.unit_prefixes is empty)");
        goto out;
    }
    if (cfg->backend == XP_BACKEND_DPDK && !have_dpdk) {
        ctx.path[ctx.depth++] = "backend";
        ret = conf_error(&ctx, XP_CONF_E_UNSUPPORTED,
                         "this build has no DPDK backend (rebuild with libdpdk >= 22.11)");
        goto out;
    }
    if (cfg->backend == XP_BACKEND_DPDK && cfg->dpdk.access_port == cfg->dpdk.core_port) {
        ctx.path[ctx.depth++] = "dpdk";
        ctx.path[ctx.depth++] = json_object_get(json_object_get(root, "dpdk"), "core_port") ?
                                "core_port" : "access_port";
        ret = conf_error(&ctx, XP_CONF_E_RANGE, "access_port and core_port must differ");
        goto out;
    }
    if (cfg->backend == XP_BACKEND_DPDK && cfg->user[0]) {
        ctx.path[ctx.depth++] = "user";
        ret = conf_error(&ctx, XP_CONF_E_UNSUPPORTED,
                         "not supported with the dpdk backend (its EAL threads start as root)");
        goto out;
    }
    if (cfg->backend == XP_BACKEND_DPDK && cfg->n_mgmt) {
        /* XDP passes management traffic to the kernel; a DPDK port has no kernel path. */
        ctx.path[ctx.depth++] = "mgmt_prefixes";
        ret = conf_error(&ctx, XP_CONF_E_UNSUPPORTED,
                         "not supported with the dpdk backend (the kernel does not see its ports)");
        goto out;
    }
    if (cfg->mode == XP_MODE_GATEWAY && cfg->gw.n_units == 0) {
        ctx.path[ctx.depth++] = json_object_get(root, "gateway") ? "gateway" : "mode";
        ret = conf_error(&ctx, XP_CONF_E_MISSING, "gateway mode needs \"units\"");
        goto out;
    }
    if (cfg->mode == XP_MODE_GATEWAY && cfg->gw.tunnel_id == 0) {
        ctx.path[ctx.depth++] = json_object_get(root, "gateway") ? "gateway" : "mode";
        ret = conf_error(&ctx, XP_CONF_E_MISSING,
                         "gateway mode needs \"tunnel_id\" (1..65535, one per proxy)");
        goto out;
    }
    if (cfg->mode != XP_MODE_GATEWAY && cfg->gw.n_units) {
        ctx.path[ctx.depth++] = "gateway";
        ret = conf_error(&ctx, XP_CONF_E_UNSUPPORTED, "only with \"mode\": \"gateway\"");
        goto out;
    }
out:
    json_decref(root);
    return ret;
}

int xp_config_load(const char *path, struct xp_config *cfg, char *msg, size_t msg_len)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t len = 0, cap = 0;
    int ret;

    if (!f) {
        snprintf(msg, msg_len, "%s: %s", path, strerror(errno));
        return XP_CONF_E_IO;
    }
    for (;;) {
        if (len + 4096 + 1 > cap) {
            char *t;

            cap = cap ? cap * 2 : 8192;
            if (cap > (1 << 24)) {
                snprintf(msg, msg_len, "%s: larger than 16 MiB", path);
                ret = XP_CONF_E_IO;
                goto out;
            }
            t = realloc(text, cap);
            if (!t) {
                snprintf(msg, msg_len, "%s: out of memory", path);
                ret = XP_CONF_E_IO;
                goto out;
            }
            text = t;
        }
        size_t n = fread(text + len, 1, 4096, f);

        len += n;
        if (n < 4096)
            break;
    }
    if (ferror(f)) {
        snprintf(msg, msg_len, "%s: read error", path);
        ret = XP_CONF_E_IO;
        goto out;
    }
    text[len] = '\0';
    if (strlen(text) != len) {
        snprintf(msg, msg_len, "%s: contains a NUL byte", path);
        ret = XP_CONF_E_SYNTAX;
        goto out;
    }
    ret = xp_config_parse(path, text, cfg, msg, msg_len);
    /* secrets written in the file (sync secret, tunnel keys) make it a secret file too */
    if (ret == XP_CONF_OK && (cfg->sync.secret_inline || cfg->gw.n_units)) {
        char why[300];

        if (xp_secret_file__check_mode(path, why, sizeof(why))) {
            snprintf(msg, msg_len, "%s (it holds %s)", why,
                     cfg->sync.secret_inline ? "sync.secret; or use sync.secret_file"
                                             : "gateway unit keys");
            ret = XP_CONF_E_RANGE;
        }
    }
out:
    free(text);
    fclose(f);
    return ret;
}

static bool key_equal(const struct key_desc *k, const struct xp_config *a,
                      const struct xp_config *b)
{
    const char *fa = (const char *)a + k->offset, *fb = (const char *)b + k->offset;

    switch (k->type) {
    case KT_STRING:
        return strcmp(fa, fb) == 0;
    case KT_UINT:
        return *(const unsigned *)fa == *(const unsigned *)fb;
    case KT_BOOL:
        return *(const bool *)fa == *(const bool *)fb;
    case KT_ENUM:
        return *(const int *)fa == *(const int *)fb;
    case KT_SPECIAL:
        if (k->special == parse_ports)
            return memcmp(a->port_name, b->port_name, sizeof(a->port_name)) == 0;
        if (k->special == parse_cpus)
            return a->n_cpus == b->n_cpus &&
                   memcmp(a->cpus, b->cpus, a->n_cpus * sizeof(a->cpus[0])) == 0;
        if (k->special == parse_port_settings)
            return memcmp(a->port_xdp_skb, b->port_xdp_skb, sizeof(a->port_xdp_skb)) == 0 &&
                   memcmp(a->port_busy_poll, b->port_busy_poll, sizeof(a->port_busy_poll)) == 0;
        if (k->special == parse_mgmt)
            return a->n_mgmt == b->n_mgmt &&
                   memcmp(a->mgmt, b->mgmt, a->n_mgmt * sizeof(a->mgmt[0])) == 0;
        if (k->special == parse_gw_units)
            return a->gw.n_units == b->gw.n_units &&
                   memcmp(a->gw.units, b->gw.units, a->gw.n_units * sizeof(a->gw.units[0])) == 0;
        if (k->special == parse_eal_args) {
            if (a->dpdk.n_eal_args != b->dpdk.n_eal_args)
                return false;
            for (unsigned i = 0; i < a->dpdk.n_eal_args; i++)
                if (strcmp(a->dpdk.eal_args[i], b->dpdk.eal_args[i]) != 0)
                    return false;
            return true;
        }
        return true; /* the prefix lists of the policer are reloadable */
    case KT_SECTION:
        return true;
    }
    return false;
}

static int reload_check(const struct key_desc *table, size_t n, const char *prefix,
                        const struct xp_config *a, const struct xp_config *b,
                        char *msg, size_t msg_len)
{
    for (size_t i = 0; i < n; i++) {
        const struct key_desc *k = &table[i];

        if (k->type == KT_SECTION) {
            char sub[64];
            int ret;

            snprintf(sub, sizeof(sub), "%s%s.", prefix, k->name);
            ret = reload_check(k->sub, k->n_sub, sub, a, b, msg, msg_len);
            if (ret)
                return ret;
            continue;
        }
        if (!k->reloadable && !key_equal(k, a, b)) {
            snprintf(msg, msg_len, "%s%s cannot change without a restart", prefix, k->name);
            return XP_CONF_E_UNSUPPORTED;
        }
    }
    return 0;
}

int xp_config_reload_check(const struct xp_config *old, const struct xp_config *new,
                           char *msg, size_t msg_len)
{
    if ((old->pol.n_units == 0) != (new->pol.n_units == 0)) {
        snprintf(msg, msg_len, "policer.unit_prefixes cannot go from empty to non-empty "
                 "(or back) without a restart: policing is set up at start");
        return XP_CONF_E_UNSUPPORTED;
    }
    return reload_check(config_keys, N_KEYS, "", old, new, msg, msg_len);
}

static void print_keys(FILE *out, const char *prefix, const struct key_desc *table, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct key_desc *k = &table[i];
        char range[48] = "";

        if (k->type == KT_UINT)
            snprintf(range, sizeof(range), "%lld..%lld", k->min, k->max);
        fprintf(out, "| `%s%s` | %s | %s | %s | %s | %s |\n", prefix, k->name, k->type_doc,
                k->default_doc, range, k->reloadable ? "yes" : "no", k->doc);
        if (k->type == KT_SECTION) {
            char sub[64];

            snprintf(sub, sizeof(sub), "%s%s.", prefix, k->name);
            print_keys(out, sub, k->sub, k->n_sub);
        }
    }
}

void xp_config_print_keys(FILE *out)
{
    fprintf(out, "| key | type | default | range | reload | meaning |\n");
    fprintf(out, "| --- | --- | --- | --- | --- | --- |\n");
    print_keys(out, "", config_keys, N_KEYS);
}
