// SPDX-License-Identifier: GPL-2.0-only
/*
 * The proxy's configuration as a conftab key table (src/util/conftab.h):
 * the table below is the only place a key's type, range, default and
 * documentation are written. What a table row cannot say lives here as
 * callbacks (interface names by role, per-port blocks, gateway units) and
 * as the checks across keys at the end of xp_config_parse().
 */
#include "src/proxy/config.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "src/policer/policer.h"
#include "src/sync/sync.h"
#include "src/util/hexaddr.h"
#include "src/util/log.h"
#include "src/util/secret_file.h"
#include "xp_build_config.h"

#ifdef XP_HAVE_DPDK
static const bool have_dpdk = true;
#else
static const bool have_dpdk = false;
#endif

static const char *const mode_names[] = { "inline", "gateway", NULL };
static const char *const fail_names[] = { "open", "closed", NULL };
static const char *const xdp_mode_names[] = { "native", "skb", NULL };
static const char *const zc_names[] = { "auto", "on", "off", NULL };
static const char *const level_names[] = { "err", "warn", "info", "debug", NULL };
static const char *const backend_names[] = { "af_xdp", "dpdk", NULL };
static const char *const non_ip_names[] = { "drop", "pass", NULL };
static const char *const channels_names[] = { "refuse", "set", NULL };
static const char *const full_names[] = { "evict_oldest", "refuse_pass", "refuse_drop", NULL };
static const char *const dst_policy_names[] = { "drop_all", "fair_share", NULL };
static const char *const malformed_names[] = { "drop", "pass", NULL };

static int parse_ports(struct xp_conftab *ct, json_t *val, void *obj);
static bool ports_equal(const void *a, const void *b);
static int parse_port_settings(struct xp_conftab *ct, json_t *val, void *obj);
static bool port_settings_equal(const void *a, const void *b);
static int cpu_elem(struct xp_conftab *ct, json_t *v, size_t i, void *elems);
static int prefix_elem(struct xp_conftab *ct, json_t *v, size_t i, void *elems);
static int eal_arg_elem(struct xp_conftab *ct, json_t *v, size_t i, void *elems);
static int gw_unit_elem(struct xp_conftab *ct, json_t *v, size_t i, void *elems);
static int parse_units(struct xp_conftab *ct, json_t *val, void *obj);
static int parse_allow_src(struct xp_conftab *ct, json_t *val, void *obj);
static int parse_allow_dst(struct xp_conftab *ct, json_t *val, void *obj);
static int parse_unit_groups(struct xp_conftab *ct, json_t *val, void *obj);
static int parse_dst_groups(struct xp_conftab *ct, json_t *val, void *obj);

#define F(field) XP_CT_FIELD(struct xp_config, field)
#define A(field, count) XP_CT_ARRAY_FIELD(struct xp_config, field, count)
#define MS_MAX 3600000
#define NS_PER_MS 1000000

/* The prefix lists share one element parser and one shape. */
#define PREFIXES(field, count, n_max)                                                  \
    .type = XP_CT_ARRAY, A(field, count), .max = (n_max), .elem = prefix_elem,        \
    .what = "CIDR strings", .max_what = "prefixes", .type_doc = "array of CIDR strings"

/* The policer's prefix lists: any length (up to XP_CONF_PREFIXES_MAX), so on the heap. */
#define HEAP_PREFIXES(fn)                                                                  \
    .type = XP_CT_CALLBACK, .parse = (fn), .type_doc = "array of CIDR strings",           \
    .unset_doc = "[]"
#define XP_STR(x) #x
#define XP_XSTR(x) XP_STR(x)

static const struct xp_conftab_key policer_keys[] = {
    { .name = "unit_prefixes", HEAP_PREFIXES(parse_units), .reloadable = true,
      .doc = "Sources that are IoT units: only their traffic is policed (at most "
             XP_XSTR(XP_CONF_PREFIXES_MAX) " prefixes)." },
    { .name = "allow_src", HEAP_PREFIXES(parse_allow_src), .reloadable = true,
      .doc = "Sources never policed (checked first)." },
    { .name = "allow_dst", HEAP_PREFIXES(parse_allow_dst), .reloadable = true,
      .doc = "Destinations never policed (checked first)." },
    { .name = "unit_groups", .type = XP_CT_CALLBACK, .parse = parse_unit_groups,
      .reloadable = true, .type_doc = "array of objects", .unset_doc = "[] (one group: the "
      "global keys)",
      .doc = "Policy per unit prefix: {\"name\", \"prefixes\": [CIDR...], \"t_f1_pps\", "
             "\"t_t2_ms\", \"policed\": true or false}; a unit takes the group of its longest "
             "matching prefix, else the global t_f1_pps and t_t2_ms (absent keys: the global "
             "value). policed false: the group's units are forwarded unpoliced (counted)." },
    { .name = "dst_groups", .type = XP_CT_CALLBACK, .parse = parse_dst_groups,
      .reloadable = true, .type_doc = "array of objects", .unset_doc = "[] (one group: the "
      "global keys)",
      .doc = "Policy per destination prefix: {\"name\", \"prefixes\", \"t_f2_pps\", "
             "\"t_t3_ms\", \"dst_policy\": \"drop_all\"}; longest prefix wins, else the "
             "global keys." },
    { .name = "v6_unit_prefix", .type = XP_CT_UINT, F(pol.v6_unit_prefix), .min = 8, .max = 128,
      .def = XP_POLICER_DEF_V6_PREFIX, .type_doc = "integer (bits, multiple of 8)",
      .doc = "An IPv6 unit is its source address masked to this length." },
    { .name = "t_t1_ms", .type = XP_CT_UINT, F(pol.t_t1_ms), .min = 1, .max = MS_MAX,
      .def = XP_POLICER_DEF_T_T1_NS / NS_PER_MS, .type_doc = "integer (ms)", .reloadable = true,
      .doc = "T_T1: an idle gap longer than this restarts a pair's window." },
    { .name = "t_t2_ms", .type = XP_CT_UINT, F(pol.t_t2_ms), .min = 1, .max = MS_MAX,
      .def = XP_POLICER_DEF_T_T2_NS / NS_PER_MS, .type_doc = "integer (ms)", .reloadable = true,
      .doc = "T_T2: the unit test applies once a window is longer than this." },
    { .name = "t_t3_ms", .type = XP_CT_UINT, F(pol.t_t3_ms), .min = 1, .max = MS_MAX,
      .def = XP_POLICER_DEF_T_T3_NS / NS_PER_MS, .type_doc = "integer (ms)", .reloadable = true,
      .doc = "T_T3: the destination test applies once its window is longer than this." },
    { .name = "t_t4_ms", .type = XP_CT_UINT, F(pol.t_t4_ms), .min = 1, .max = MS_MAX,
      .def = XP_POLICER_DEF_T_T4_NS / NS_PER_MS, .type_doc = "integer (ms)", .reloadable = true,
      .doc = "T_T4: a window longer than this shrinks by r." },
    { .name = "r", .type = XP_CT_UINT, F(pol.r), .min = 1, .max = 1024,
      .def = XP_POLICER_DEF_SHRINK_R, .reloadable = true,
      .doc = "Shrink divisor (1: windows never shrink)." },
    { .name = "t_f1_pps", .type = XP_CT_UINT, F(pol.t_f1_pps), .min = 1, .max = 1000000000,
      .def = XP_POLICER_DEF_T_F1_PPS, .type_doc = "integer (packets/s)", .reloadable = true,
      .doc = "T_F1: highest rate of one unit towards one destination." },
    { .name = "t_f2_pps", .type = XP_CT_UINT, F(pol.t_f2_pps), .min = 1, .max = 1000000000,
      .def = XP_POLICER_DEF_T_F2_PPS, .type_doc = "integer (packets/s)", .reloadable = true,
      .doc = "T_F2: highest rate of all units towards one destination." },
    { .name = "max_pairs", .type = XP_CT_UINT, F(pol.max_pairs), .min = 64, .max = 1 << 26,
      .def = XP_POLICER_DEF_CAPACITY,
      .doc = "Pairs tracked per queue (memory: see docs/policer.md)." },
    { .name = "max_dsts", .type = XP_CT_UINT, F(pol.max_dsts), .min = 64, .max = 1 << 24,
      .def = 262144, .doc = "Destinations tracked (shared by all queues)." },
    { .name = "table_full", .type = XP_CT_ENUM, F(pol.table_full), .names = full_names,
      .def = XP_FULL_EVICT_OLDEST, .reloadable = true,
      .doc = "When the pair table is full and no idle pair can be reclaimed." },
    { .name = "dst_policy", .type = XP_CT_ENUM, F(pol.dst_policy), .names = dst_policy_names,
      .def = XP_DST_DROP_ALL, .reloadable = true,
      .doc = "A destination over T_F2: drop every packet towards it (drop_all), or share T_F2 "
             "max-min over its units and drop only what is over each unit's share "
             "(fair_share)." },
    { .name = "malformed", .type = XP_CT_ENUM, F(pol.malformed), .names = malformed_names,
      .def = XP_MALFORMED_DROP, .reloadable = true,
      .doc = "What happens to frames that do not parse (counted by reason)." },
    { .name = "kernel_block", .type = XP_CT_BOOL, F(pol.kernel_block), .def = true,
      .reloadable = true,
      .doc = "Drop blocked pairs early: in XDP (af_xdp), or right after parsing (dpdk)." },
    { .name = "block_ms", .type = XP_CT_UINT, F(pol.block_ms), .min = 10, .max = 60000,
      .def = 500, .type_doc = "integer (ms)", .reloadable = true,
      .doc = "Life of one XDP block; then the worker sees the pair again and decides anew." },
};

static const struct xp_conftab_key sync_keys[] = {
    { .name = "central", .type = XP_CT_STRING, F(sync.central), .min = 1,
      .type_doc = "string (ADDRESS:PORT)", .unset_doc = "none (no sync)",
      .doc = "The central node; numeric address, [v6]:port for IPv6." },
    { .name = "secret", .type = XP_CT_STRING, F(sync.secret), .min = 1,
      .type_doc = "string (hex)", .unset_doc = "secret or secret_file with central",
      .doc = "This proxy's secret, 32..128 hex digits, as in the central node's configuration "
             "(the configuration file must then not be readable by others)." },
    { .name = "secret_file", .type = XP_CT_STRING, F(sync.secret_file), .min = 1,
      .type_doc = "string (path)", .unset_doc = "none",
      .doc = "A file holding the secret (hex), not readable by others (refused otherwise)." },
    { .name = "period_ms", .type = XP_CT_UINT, F(sync.period_ms), .min = 100, .max = 600000,
      .def = 4000, .type_doc = "integer (ms)", .reloadable = true, .doc = "Sync period t." },
};

static const struct xp_conftab_key dpdk_keys[] = {
    { .name = "eal_args", .type = XP_CT_ARRAY, A(dpdk.eal_args, dpdk.n_eal_args),
      .max = XP_CONF_EAL_ARGS_MAX, .elem = eal_arg_elem, .what = "strings",
      .max_what = "arguments", .type_doc = "array of strings",
      .doc = "EAL arguments (cores, memory, --no-huge, --vdev, -a PCI allow-list, "
             "--file-prefix); see docs/dpdk.md." },
    { .name = "access_port", .type = XP_CT_UINT, F(dpdk.access_port), .min = 0, .max = 1023,
      .def = 0, .type_doc = "integer (ethdev port id)",
      .doc = "The DPDK port that faces the units." },
    { .name = "core_port", .type = XP_CT_UINT, F(dpdk.core_port), .min = 0, .max = 1023,
      .def = 1, .type_doc = "integer (ethdev port id)",
      .doc = "The DPDK port that faces the core network." },
    { .name = "mbufs_per_queue", .type = XP_CT_UINT, F(dpdk.mbufs_per_queue), .min = 1023,
      .max = 1 << 20, .def = 8191,
      .doc = "Mbufs in each port's pool per queue (2^n - 1 is best)." },
};

static const struct xp_conftab_key gateway_keys[] = {
    { .name = "tunnel_id", .type = XP_CT_UINT, F(gw.tunnel_id), .min = 1, .max = 65535,
      .type_doc = "integer 1..65535", .unset_doc = "required in gateway mode",
      .doc = "This proxy's id in the tunnel header, distinct for every proxy a unit may use: a "
             "datagram is only good for the proxy it names, so one captured on its way to one "
             "proxy is refused by every other." },
    { .name = "mac_fail_pps", .type = XP_CT_UINT, F(gw.mac_fail_pps), .min = 1, .max = 1000000,
      .def = 100, .type_doc = "integer (datagrams/s)",
      .doc = "Datagrams per second (and per worker) one source address may send that fail the "
             "tag; past that burst its datagrams are dropped before any MAC work "
             "(mac_limited)." },
    { .name = "tunnel_port", .type = XP_CT_UINT, F(gw.tunnel_port), .min = 1, .max = 65535,
      .def = 5685, .type_doc = "integer (UDP port)",
      .doc = "Where units send their tunnel datagrams." },
    { .name = "capacity_pps", .type = XP_CT_UINT, F(gw.capacity_pps), .min = 1,
      .max = 1000000000, .def = 1000000, .type_doc = "integer (packets/s)", .reloadable = true,
      .doc = "The load W that units see: 1000 x authenticated tunnel datagrams per second / "
             "capacity_pps; at 1000 the answer is OVERLOAD and units move to another proxy." },
    { .name = "units", .type = XP_CT_ARRAY, A(gw.units, gw.n_units), .max = XP_CONF_GW_UNITS_MAX,
      .elem = gw_unit_elem, .what = "units", .max_what = "units",
      .type_doc = "array of {\"id\", \"keys\" | \"key\", \"sources\"}",
      .unset_doc = "required in gateway mode", .reloadable = true,
      .doc = "Units allowed to tunnel: id 1..4294967295; keys: 1..4 of {\"id\": 0..255, \"key\": "
             "32..128 hex digits} (a rotation: add the new key, reload, move the units to it, "
             "remove the old one), or \"key\" alone for key id 0; sources 1..4 CIDR prefixes the "
             "unit may send from (the policer names the unit by the first)." },
};

static const struct xp_conftab_key config_keys[] = {
    { .name = "proxy_id", .type = XP_CT_STRING, F(proxy_id), .min = 1, .def_str = "xpro",
      .doc = "Name of this proxy in stats, events and sync." },
    { .name = "mode", .type = XP_CT_ENUM, F(mode), .names = mode_names, .def = XP_MODE_INLINE,
      .doc = "inline: bump in the wire between the access and core ports; gateway: units tunnel "
             "to this proxy on the access port, inner packets leave by route on the core port." },
    { .name = "backend", .type = XP_CT_ENUM, F(backend), .names = backend_names,
      .def = XP_BACKEND_AF_XDP,
      .doc = "I/O backend: AF_XDP sockets with the XDP program, or DPDK ports (the \"dpdk\" "
             "keys)." },
    { .name = "ports", .type = XP_CT_CALLBACK, .parse = parse_ports, .equal = ports_equal,
      .type_doc = "object", .unset_doc = "required",
      .doc = "Interfaces: {\"access\": IFNAME, \"core\": IFNAME}; units sit behind access." },
    { .name = "queues", .type = XP_CT_UINT, F(queues), .min = 1, .max = XP_MAX_QUEUES, .def = 1,
      .doc = "Queues per port; one pinned worker per queue index." },
    { .name = "cpus", .type = XP_CT_ARRAY, A(cpus, n_cpus), .max = XP_MAX_QUEUES,
      .elem = cpu_elem, .what = "CPU numbers", .max_what = "CPUs",
      .type_doc = "array of integers", .unset_doc = "[] (no pinning)",
      .doc = "Worker q runs on cpus[q % len]." },
    { .name = "fail_mode", .type = XP_CT_ENUM, F(fail_mode_closed), .names = fail_names,
      .def = 0,
      .doc = "With no socket on a queue (proxy down): pass frames to the kernel, or drop them." },
    { .name = "non_ip", .type = XP_CT_ENUM, F(non_ip_pass), .names = non_ip_names, .def = 0,
      .doc = "Frames that are neither IP nor ARP (ARP always passes): drop them, or give them to "
             "the kernel (the bridge) unpoliced; counted either way." },
    { .name = "channels", .type = XP_CT_ENUM, F(channels_set), .names = channels_names,
      .def = 0,
      .doc = "When a port has another number of RX channels than queues (frames on a queue "
             "without a socket would pass unpoliced): refuse to start, or set the port's "
             "channels to queues." },
    { .name = "xdp_mode", .type = XP_CT_ENUM, F(xdp_mode_skb), .names = xdp_mode_names,
      .def = 0, .doc = "XDP attach mode." },
    { .name = "zero_copy", .type = XP_CT_ENUM, F(zero_copy), .names = zc_names,
      .def = XP_CONF_ZC_AUTO,
      .doc = "AF_XDP zero-copy: try and fall back to copy, require, or never." },
    { .name = "idle_spin_us", .type = XP_CT_UINT, F(idle_spin_us), .min = 0, .max = 1000000,
      .def = XP_CONF_IDLE_SPIN_US_DEFAULT, .type_doc = "integer (µs)", .reloadable = true,
      .doc = "Idle policy: a worker keeps polling this long after its last frame, then sleeps "
             "until the next (a wake-up costs each frame that finds it asleep tens to hundreds "
             "of µs; spinning costs a core while it lasts). See bench/README.md, \"Idle "
             "policy\"." },
    { .name = "busy_poll", .type = XP_CT_BOOL, F(busy_poll), .def = false,
      .doc = "Set SO_PREFER_BUSY_POLL/SO_BUSY_POLL on the sockets." },
    { .name = "frames_per_queue", .type = XP_CT_UINT, F(frames_per_queue), .min = 1024,
      .max = 1 << 20, .def = 8192,
      .doc = "UMEM frames (2 KiB each) per queue, shared by both ports." },
    { .name = "ring_size", .type = XP_CT_UINT, F(ring_size), .min = 64, .max = 1 << 16,
      .def = 2048, .type_doc = "integer (power of two)",
      .doc = "Size of each RX/TX/fill/completion ring." },
    { .name = "stats_interval_ms", .type = XP_CT_UINT, F(stats_interval_ms), .min = 100,
      .max = 60000, .def = 1000, .type_doc = "integer (ms)", .reloadable = true,
      .doc = "Period of the JSON stats line." },
    { .name = "mgmt_prefixes", PREFIXES(mgmt, n_mgmt, XP_MGMT_PREFIXES),
      .doc = "Destinations passed to the kernel untouched (the box's own management "
             "traffic)." },
    { .name = "log_level", .type = XP_CT_ENUM, F(log_level), .names = level_names,
      .def = XP_LOG_INFO, .reloadable = true, .doc = "Log threshold." },
    { .name = "events_out", .type = XP_CT_STRING, F(events_out), .min = 1,
      .type_doc = "string (path)", .unset_doc = "none",
      .doc = "File that receives events (overload warnings, blocks) as JSON lines." },
    { .name = "events_syslog", .type = XP_CT_STRING, F(events_syslog), .min = 1,
      .type_doc = "string (path)", .unset_doc = "none",
      .doc = "Also send events to syslog through this socket (usually \"/dev/log\"), facility "
             "daemon." },
    { .name = "port_settings", .type = XP_CT_CALLBACK, .parse = parse_port_settings,
      .equal = port_settings_equal, .type_doc = "object", .unset_doc = "{}",
      .doc = "Per-port blocks: {\"default\": {..}, \"access\": {..}, \"core\": {..}} with "
             "xdp_mode and busy_poll; a port's block wins over \"default\", which wins over the "
             "top-level key." },
    { .name = "ctl_socket", .type = XP_CT_STRING, F(ctl_socket), .min = 1,
      .type_doc = "string (path)", .unset_doc = "/run/xpro/PROXY_ID.sock",
      .doc = "The control socket (xpro-ctl)." },
    { .name = "ctl_socket_group", .type = XP_CT_STRING, F(ctl_socket_group), .min = 1,
      .type_doc = "string (group)", .unset_doc = "none (root only)",
      .doc = "Group that may use the control socket (mode 0660)." },
    { .name = "state_dir", .type = XP_CT_STRING, F(state_dir), .min = 1,
      .type_doc = "string (path)", .unset_doc = "none (blocks end with the process)",
      .doc = "Directory of the proxy's state: operator blocks are kept in PROXY_ID.blocks.json "
             "there and applied again at start (docs/operators.md \"Operator blocks\"). "
             "Created (0750, owned by \"user\") if missing." },
    { .name = "user", .type = XP_CT_STRING, F(user), .min = 1, .type_doc = "string (account)",
      .unset_doc = "none (stays as started)",
      .doc = "After set-up the proxy runs as this account with only the capabilities it still "
             "needs (docs/operators.md \"Privileges\"); a root monitor process stays to undo the "
             "set-up at exit. The configuration must be readable by it for reloads." },
    { .name = "prometheus", .type = XP_CT_STRING, F(prometheus), .min = 1,
      .type_doc = "string (ADDRESS:PORT)", .unset_doc = "off",
      .doc = "Serve GET /metrics (Prometheus text) on this loopback address." },
    { .name = "sync", .type = XP_CT_SECTION, XP_CT_SECTION_OF(sync_keys), .reloadable = true,
      .doc = "Algorithm 2 with the central node: the keys below." },
    { .name = "policer", .type = XP_CT_SECTION, XP_CT_SECTION_OF(policer_keys),
      .reloadable = true, .doc = "Algorithm 1: the keys below." },
    { .name = "gateway", .type = XP_CT_SECTION, XP_CT_SECTION_OF(gateway_keys),
      .reloadable = true,
      .doc = "Gateway mode (with \"mode\": \"gateway\"): the keys below; docs/tunnel.md." },
    { .name = "dpdk", .type = XP_CT_SECTION, XP_CT_SECTION_OF(dpdk_keys),
      .doc = "The DPDK backend (with \"backend\": \"dpdk\"): the keys below." },
};

#define N_KEYS (sizeof(config_keys) / sizeof(config_keys[0]))

void xp_config_defaults(struct xp_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    xp_conftab__defaults(config_keys, N_KEYS, cfg);
    /* not keys: the port_settings blocks, -1 until a block sets them */
    for (int b = 0; b < 3; b++)
        cfg->ps_xdp_skb[b] = cfg->ps_busy_poll[b] = -1;
}

static const char *const port_roles[XP_MAX_PORTS] = { "access", "core" };

static int port_member(struct xp_conftab *ct, const char *key, json_t *v, void *obj)
{
    struct xp_config *cfg = obj;

    for (int r = 0; r < XP_MAX_PORTS; r++) {
        if (strcmp(key, port_roles[r]) != 0)
            continue;
        if (!json_is_string(v))
            return xp_conftab__error(ct, XP_CONF_E_TYPE, "expected an interface name");
        if (json_string_length(v) == 0 || json_string_length(v) >= XP_CONF_IFNAME_MAX)
            return xp_conftab__error(ct, XP_CONF_E_RANGE, "interface names are 1..%d characters",
                                     XP_CONF_IFNAME_MAX - 1);
        memcpy(cfg->port_name[r], json_string_value(v), json_string_length(v) + 1);
        return 0;
    }
    return xp_conftab__error(ct, XP_CONF_E_UNKNOWN_KEY, "unknown port role (access, core)");
}

static int parse_ports(struct xp_conftab *ct, json_t *val, void *obj)
{
    struct xp_config *cfg = obj;
    int ret;

    ret = xp_conftab__object(ct, val, "an object {\"access\": .., \"core\": ..}", port_member,
                             cfg);
    if (ret)
        return ret;
    for (int r = 0; r < XP_MAX_PORTS; r++) {
        if (!cfg->port_name[r][0])
            return xp_conftab__error(ct, XP_CONF_E_MISSING, "missing \"%s\"", port_roles[r]);
    }
    if (strcmp(cfg->port_name[0], cfg->port_name[1]) == 0)
        return xp_conftab__error(ct, XP_CONF_E_RANGE,
                                 "access and core must be different interfaces");
    return 0;
}

static bool ports_equal(const void *a, const void *b)
{
    const struct xp_config *x = a, *y = b;

    return memcmp(x->port_name, y->port_name, sizeof(x->port_name)) == 0;
}

static int cpu_elem(struct xp_conftab *ct, json_t *v, size_t i, void *elems)
{
    int *cpus = elems;

    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 4095)
        return xp_conftab__error(ct, XP_CONF_E_TYPE, "expected a CPU number 0..4095");
    cpus[i] = (int)json_integer_value(v);
    return 0;
}

static int prefix_elem(struct xp_conftab *ct, json_t *v, size_t i, void *elems)
{
    struct xp_cidr *out = elems;

    if (!json_is_string(v))
        return xp_conftab__error(ct, XP_CONF_E_TYPE, "expected a CIDR string");
    if (xp_cidr_parse(json_string_value(v), &out[i]))
        return xp_conftab__error(ct, XP_CONF_E_RANGE, "\"%s\" is not an IPv4 or IPv6 prefix",
                                 json_string_value(v));
    return 0;
}

/* A prefix list on the heap: *out holds *n prefixes (NULL when empty). */
static int parse_prefix_list(struct xp_conftab *ct, json_t *val, struct xp_cidr **out,
                             unsigned *n)
{
    size_t size = json_is_array(val) ? json_array_size(val) : 0;
    int ret;

    free(*out); /* a key given twice: jansson keeps the last, and so do we */
    *out = NULL;
    *n = 0;
    if (size && size <= XP_CONF_PREFIXES_MAX) {
        *out = calloc(size, sizeof(**out));
        if (!*out)
            return xp_conftab__error(ct, XP_CONF_E_RANGE, "out of memory for %zu prefixes",
                                     size);
    }
    ret = xp_conftab__array(ct, val, XP_CONF_PREFIXES_MAX, "CIDR strings", "prefixes",
                            prefix_elem, *out);
    if (!ret)
        *n = (unsigned)size;
    return ret;
}

static int parse_units(struct xp_conftab *ct, json_t *val, void *obj)
{
    struct xp_config *cfg = obj;

    return parse_prefix_list(ct, val, &cfg->pol.units, &cfg->pol.n_units);
}

static int parse_allow_src(struct xp_conftab *ct, json_t *val, void *obj)
{
    struct xp_config *cfg = obj;

    return parse_prefix_list(ct, val, &cfg->pol.allow_src, &cfg->pol.n_allow_src);
}

static int parse_allow_dst(struct xp_conftab *ct, json_t *val, void *obj)
{
    struct xp_config *cfg = obj;

    return parse_prefix_list(ct, val, &cfg->pol.allow_dst, &cfg->pol.n_allow_dst);
}

static int parse_group_prefixes(struct xp_conftab *ct, json_t *val, void *obj)
{
    struct xp_conf_group *g = obj;

    return parse_prefix_list(ct, val, &g->prefixes, &g->n_prefixes);
}

#define G(field) XP_CT_FIELD(struct xp_conf_group, field)
/*
 * A destination group's policy: drop_all only for now. fair_share's tick
 * water-fills with the global T_F2 over the destinations the default group's
 * policy covers (docs/policer.md, "Destination policies"); per-group shares
 * need the tick to know each destination's group.
 */
static const char *const group_dst_policy_names[] = { "drop_all", NULL };

static const struct xp_conftab_key unit_group_keys[] = {
    { .name = "name", .type = XP_CT_STRING, G(name), .min = 1, .unset_doc = "required" },
    { .name = "prefixes", .type = XP_CT_CALLBACK, .parse = parse_group_prefixes,
      .type_doc = "array of CIDR strings", .unset_doc = "required" },
    { .name = "t_f1_pps", .type = XP_CT_UINT, G(t_f_pps), .min = 1, .max = 1000000000 },
    { .name = "t_t2_ms", .type = XP_CT_UINT, G(t_t_ms), .min = 1, .max = MS_MAX },
    { .name = "policed", .type = XP_CT_BOOL, G(policed), .def = true },
};

static const struct xp_conftab_key dst_group_keys[] = {
    { .name = "name", .type = XP_CT_STRING, G(name), .min = 1, .unset_doc = "required" },
    { .name = "prefixes", .type = XP_CT_CALLBACK, .parse = parse_group_prefixes,
      .type_doc = "array of CIDR strings", .unset_doc = "required" },
    { .name = "t_f2_pps", .type = XP_CT_UINT, G(t_f_pps), .min = 1, .max = 1000000000 },
    { .name = "t_t3_ms", .type = XP_CT_UINT, G(t_t_ms), .min = 1, .max = MS_MAX },
    { .name = "dst_policy", .type = XP_CT_ENUM, G(dst_policy), .names = group_dst_policy_names,
      .def = XP_CONF_DST_DROP_ALL },
};

/* One group of groups[0..i]: its keys, a name unique among them (operators name groups). */
static int group_elem(struct xp_conftab *ct, json_t *v, size_t i, struct xp_conf_group *groups,
                      const struct xp_conftab_key *keys, size_t n_keys)
{
    struct xp_conf_group *g = &groups[i];
    int ret;

    xp_conftab__defaults(keys, n_keys, g);
    ret = xp_conftab__parse(ct, v, keys, n_keys, g);
    if (ret)
        return ret;
    if (!g->name[0] || !json_object_get(v, "prefixes"))
        return xp_conftab__error(ct, XP_CONF_E_MISSING, "a group needs \"name\" and "
                                 "\"prefixes\"");
    for (const char *c = g->name; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-' || *c == '.'))
            return xp_conftab__error(ct, XP_CONF_E_RANGE, "group name \"%s\": only letters, "
                                     "digits, '_', '-' and '.'", g->name);
    }
    if (strcmp(g->name, "default") == 0)
        return xp_conftab__error(ct, XP_CONF_E_RANGE, "\"default\" names the global keys' "
                                 "group; choose another name");
    for (size_t j = 0; j < i; j++)
        if (strcmp(groups[j].name, g->name) == 0)
            return xp_conftab__error(ct, XP_CONF_E_RANGE, "group name \"%s\" appears twice",
                                     g->name);
    return 0;
}

static int unit_group_elem(struct xp_conftab *ct, json_t *v, size_t i, void *elems)
{
    return group_elem(ct, v, i, elems, unit_group_keys,
                      sizeof(unit_group_keys) / sizeof(unit_group_keys[0]));
}

static int dst_group_elem(struct xp_conftab *ct, json_t *v, size_t i, void *elems)
{
    return group_elem(ct, v, i, elems, dst_group_keys,
                      sizeof(dst_group_keys) / sizeof(dst_group_keys[0]));
}

static void free_groups(struct xp_conf_group **groups, unsigned *n)
{
    for (unsigned i = 0; *groups && i < *n; i++)
        free((*groups)[i].prefixes);
    free(*groups);
    *groups = NULL;
    *n = 0;
}

static int parse_groups(struct xp_conftab *ct, json_t *val, struct xp_conf_group **out,
                        unsigned *n, xp_conftab_elem_fn elem)
{
    size_t size = json_is_array(val) ? json_array_size(val) : 0;

    free_groups(out, n);
    if (size && size <= XP_CONF_GROUPS_MAX) {
        *out = calloc(size, sizeof(**out));
        if (!*out)
            return xp_conftab__error(ct, XP_CONF_E_RANGE, "out of memory");
        *n = (unsigned)size; /* zeroed: released whole even when an element fails */
    }
    return xp_conftab__array(ct, val, XP_CONF_GROUPS_MAX, "group objects", "groups", elem,
                             *out);
}

static int parse_unit_groups(struct xp_conftab *ct, json_t *val, void *obj)
{
    struct xp_config *cfg = obj;

    return parse_groups(ct, val, &cfg->pol.unit_groups, &cfg->pol.n_unit_groups,
                        unit_group_elem);
}

static int parse_dst_groups(struct xp_conftab *ct, json_t *val, void *obj)
{
    struct xp_config *cfg = obj;

    return parse_groups(ct, val, &cfg->pol.dst_groups, &cfg->pol.n_dst_groups, dst_group_elem);
}

static int eal_arg_elem(struct xp_conftab *ct, json_t *v, size_t i, void *elems)
{
    char (*args)[XP_CONF_EAL_ARG_LEN] = elems;

    if (!json_is_string(v))
        return xp_conftab__error(ct, XP_CONF_E_TYPE, "expected a string");
    if (json_string_length(v) == 0 || json_string_length(v) >= XP_CONF_EAL_ARG_LEN)
        return xp_conftab__error(ct, XP_CONF_E_RANGE, "length must be 1..%d",
                                 XP_CONF_EAL_ARG_LEN - 1);
    memcpy(args[i], json_string_value(v), json_string_length(v) + 1);
    return 0;
}

/* Two prefixes overlap when the shorter one contains the other's network address. */
static bool prefixes_overlap(const struct xp_cidr *a, const struct xp_cidr *b)
{
    return xp_cidr_match(a->prefix_len <= b->prefix_len ? a : b,
                         a->prefix_len <= b->prefix_len ? b->addr : a->addr);
}

/* A tunnel key: 32..128 hex digits. */
static int gw_key_hex(struct xp_conftab *ct, json_t *f, struct xp_conf_gw_key *k)
{
    int n = json_is_string(f) ? xp_hex__decode(json_string_value(f), k->key, XP_CONF_GW_KEY_MAX)
                              : -EINVAL;

    if (n < XP_CONF_GW_KEY_MIN)
        return xp_conftab__error(ct, XP_CONF_E_RANGE, "expected %d..%d hex digits",
                                 2 * XP_CONF_GW_KEY_MIN, 2 * XP_CONF_GW_KEY_MAX);
    k->len = (uint32_t)n;
    return 0;
}

struct gw_key_parse {
    struct xp_conf_gw_key *k;
    bool have_id; /* 0 is a key id */
};

static int gw_key_field(struct xp_conftab *ct, const char *key, json_t *f, void *arg)
{
    struct gw_key_parse *kp = arg;

    if (strcmp(key, "id") == 0) {
        if (!json_is_integer(f) || json_integer_value(f) < 0 || json_integer_value(f) > 255)
            return xp_conftab__error(ct, XP_CONF_E_RANGE, "expected an integer 0..255");
        kp->k->id = (uint32_t)json_integer_value(f);
        kp->have_id = true;
        return 0;
    }
    if (strcmp(key, "key") == 0)
        return gw_key_hex(ct, f, kp->k);
    return xp_conftab__error(ct, XP_CONF_E_UNKNOWN_KEY, "unknown key (id, key)");
}

/* One of a unit's keys: {"id": 0..255, "key": HEX}, ids distinct within the unit. */
static int gw_key_elem(struct xp_conftab *ct, json_t *v, size_t i, void *elems)
{
    struct xp_conf_gw_key *keys = elems;
    struct gw_key_parse kp = { .k = &keys[i] };
    int ret;

    ret = xp_conftab__object(ct, v, "{\"id\": 0..255, \"key\": HEX}", gw_key_field, &kp);
    if (ret)
        return ret;
    if (!kp.have_id || !kp.k->len)
        return xp_conftab__error(ct, XP_CONF_E_MISSING, "a key needs \"id\" and \"key\"");
    for (size_t j = 0; j < i; j++)
        if (keys[j].id == kp.k->id)
            return xp_conftab__error(ct, XP_CONF_E_RANGE, "key id %u appears twice", kp.k->id);
    return 0;
}

static int gw_unit_field(struct xp_conftab *ct, const char *key, json_t *f, void *arg)
{
    struct xp_conf_gw_unit *u = arg;
    int ret;

    if (strcmp(key, "id") == 0) {
        if (!json_is_integer(f) || json_integer_value(f) < 1 ||
            json_integer_value(f) > 0xffffffffLL)
            return xp_conftab__error(ct, XP_CONF_E_RANGE, "expected an integer 1..4294967295");
        u->id = (uint32_t)json_integer_value(f);
    } else if (strcmp(key, "key") == 0) {
        if (u->n_keys)
            return xp_conftab__error(ct, XP_CONF_E_RANGE, "\"key\" or \"keys\", not both");
        ret = gw_key_hex(ct, f, &u->keys[0]);
        if (ret)
            return ret;
        u->n_keys = 1;
    } else if (strcmp(key, "keys") == 0) {
        if (u->n_keys)
            return xp_conftab__error(ct, XP_CONF_E_RANGE, "\"key\" or \"keys\", not both");
        ret = xp_conftab__array(ct, f, XP_CONF_GW_KEYS_MAX, "{\"id\", \"key\"} objects", "keys",
                                gw_key_elem, u->keys);
        if (ret)
            return ret;
        u->n_keys = json_array_size(f);
        if (u->n_keys == 0)
            return xp_conftab__error(ct, XP_CONF_E_RANGE, "at least one key");
    } else if (strcmp(key, "sources") == 0) {
        ret = xp_conftab__array(ct, f, XP_CONF_GW_SOURCES_MAX, "CIDR strings", "prefixes",
                                prefix_elem, u->sources);
        if (ret)
            return ret;
        u->n_sources = json_array_size(f);
        if (u->n_sources == 0)
            return xp_conftab__error(ct, XP_CONF_E_RANGE, "at least one prefix");
    } else {
        return xp_conftab__error(ct, XP_CONF_E_UNKNOWN_KEY,
                                 "unknown key (id, keys, key, sources)");
    }
    return 0;
}

static int gw_unit_elem(struct xp_conftab *ct, json_t *v, size_t i, void *elems)
{
    struct xp_conf_gw_unit *units = elems, *u = &units[i];
    int ret;

    ret = xp_conftab__object(ct, v, "{\"id\": N, \"key\": HEX, \"sources\": [CIDR]}",
                             gw_unit_field, u);
    if (ret)
        return ret;
    if (!u->id || !u->n_keys || !u->n_sources)
        return xp_conftab__error(ct, XP_CONF_E_MISSING,
                                 "a unit needs \"id\", \"keys\" (or \"key\") and \"sources\"");
    for (size_t j = 0; j < i; j++) {
        const struct xp_conf_gw_unit *o = &units[j];

        if (o->id == u->id)
            return xp_conftab__error(ct, XP_CONF_E_RANGE, "unit id %u appears twice", u->id);
        /* Sources bind units to addresses: two units on one address would undo that. */
        for (unsigned a = 0; a < u->n_sources; a++) {
            for (unsigned b = 0; b < o->n_sources; b++) {
                if (prefixes_overlap(&u->sources[a], &o->sources[b]))
                    return xp_conftab__error(ct, XP_CONF_E_RANGE,
                                             "sources.%u overlaps the sources of unit %u", a,
                                             o->id);
            }
        }
    }
    return 0;
}

/*
 * port_settings: blocks named "default", "access" or "core", each with the
 * per-port keys only. Resolution happens once everything is parsed.
 */
struct port_block {
    struct xp_config *cfg;
    int b; /* 0 default, 1 + port */
};

static int port_setting(struct xp_conftab *ct, const char *key, json_t *v, void *arg)
{
    struct port_block *pb = arg;

    if (strcmp(key, "xdp_mode") == 0)
        return xp_conftab__enum(ct, v, xdp_mode_names, &pb->cfg->ps_xdp_skb[pb->b]);
    if (strcmp(key, "busy_poll") == 0) {
        if (!json_is_boolean(v))
            return xp_conftab__error(ct, XP_CONF_E_TYPE, "expected true or false");
        pb->cfg->ps_busy_poll[pb->b] = json_is_true(v);
        return 0;
    }
    return xp_conftab__error(ct, XP_CONF_E_UNKNOWN_KEY,
                             "unknown key (per port: xdp_mode, busy_poll)");
}

static int port_block(struct xp_conftab *ct, const char *name, json_t *blk, void *obj)
{
    static const char *const blocks[] = { "default", "access", "core" };
    struct port_block pb = { .cfg = obj, .b = -1 };

    for (int i = 0; i < 3; i++)
        if (strcmp(name, blocks[i]) == 0)
            pb.b = i;
    if (pb.b < 0)
        return xp_conftab__error(ct, XP_CONF_E_UNKNOWN_KEY,
                                 "unknown block (default, access, core)");
    return xp_conftab__object(ct, blk, "an object", port_setting, &pb);
}

static int parse_port_settings(struct xp_conftab *ct, json_t *val, void *obj)
{
    return xp_conftab__object(ct, val, "an object of blocks", port_block, obj);
}

/* What a reload compares: the settings each port ends up with. */
static bool port_settings_equal(const void *a, const void *b)
{
    const struct xp_config *x = a, *y = b;

    return memcmp(x->port_xdp_skb, y->port_xdp_skb, sizeof(x->port_xdp_skb)) == 0 &&
           memcmp(x->port_busy_poll, y->port_busy_poll, sizeof(x->port_busy_poll)) == 0;
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

int xp_conf_hostport(const char *text, char *host, size_t host_len, uint16_t *port)
{
    return xp_addr__hostport(text, host, host_len, port);
}

/* The sync keys against each other; the secret file is read here so that its errors are located. */
static int check_sync(struct xp_conftab *ct, struct xp_config *cfg)
{
    uint8_t secret[XP_SYNC_SECRET_MAX];
    char host[64];
    uint16_t port;
    int n;

    if (cfg->sync.central[0] && xp_addr__hostport(cfg->sync.central, host, sizeof(host), &port))
        return xp_conftab__error_at(ct, XP_CONF_E_RANGE, "sync.central",
                                    "expected ADDRESS:PORT or [V6]:PORT");
    if (cfg->prometheus[0] && xp_addr__hostport(cfg->prometheus, host, sizeof(host), &port))
        return xp_conftab__error_at(ct, XP_CONF_E_RANGE, "prometheus",
                                    "expected ADDRESS:PORT or [V6]:PORT");
    if (cfg->sync.secret[0] && cfg->sync.secret_file[0])
        return xp_conftab__error_at(ct, XP_CONF_E_RANGE, "sync.secret_file",
                                    "give \"secret\" or \"secret_file\", not both");
    cfg->sync.secret_inline = cfg->sync.secret[0] != '\0';
    if (cfg->sync.secret_file[0]) {
        char why[300];

        if (xp_secret_file__read(cfg->sync.secret_file, cfg->sync.secret,
                                 sizeof(cfg->sync.secret), why, sizeof(why)) < 0)
            return xp_conftab__error_at(ct, XP_CONF_E_RANGE, "sync.secret_file", "%s", why);
    }
    n = cfg->sync.secret[0] ? xp_hex__decode(cfg->sync.secret, secret, sizeof(secret)) : 0;
    if (cfg->sync.secret[0] && n < XP_SYNC_SECRET_MIN)
        return xp_conftab__error_at(ct, XP_CONF_E_RANGE, "sync.secret",
                                    "expected %d..%d hex digits", 2 * XP_SYNC_SECRET_MIN,
                                    2 * XP_SYNC_SECRET_MAX);
    if (cfg->sync.central[0] && !cfg->sync.secret[0])
        return xp_conftab__error_at(ct, XP_CONF_E_MISSING, "sync",
                                    "\"central\" needs \"secret\" or \"secret_file\"");
    if (cfg->sync.central[0] && cfg->pol.n_units == 0 && cfg->mode != XP_MODE_GATEWAY)
        return xp_conftab__error_at(ct, XP_CONF_E_UNSUPPORTED, "sync",
                                    "sync needs policing (policer.unit_prefixes is empty)");
    return 0;
}

static int check_backend(struct xp_conftab *ct, const struct xp_config *cfg, json_t *root)
{
    if (cfg->backend == XP_BACKEND_DPDK && !have_dpdk)
        return xp_conftab__error_at(ct, XP_CONF_E_UNSUPPORTED, "backend",
                                    "this build has no DPDK backend (rebuild with libdpdk >= "
                                    "22.11)");
    if (cfg->backend == XP_BACKEND_DPDK && cfg->dpdk.access_port == cfg->dpdk.core_port)
        return xp_conftab__error_at(ct, XP_CONF_E_RANGE,
                                    json_object_get(json_object_get(root, "dpdk"), "core_port") ?
                                    "dpdk.core_port" : "dpdk.access_port",
                                    "access_port and core_port must differ");
    if (cfg->backend == XP_BACKEND_DPDK && cfg->user[0])
        return xp_conftab__error_at(ct, XP_CONF_E_UNSUPPORTED, "user",
                                    "not supported with the dpdk backend (its EAL threads start "
                                    "as root)");
    /* XDP passes management traffic to the kernel; a DPDK port has no kernel path. */
    if (cfg->backend == XP_BACKEND_DPDK && cfg->n_mgmt)
        return xp_conftab__error_at(ct, XP_CONF_E_UNSUPPORTED, "mgmt_prefixes",
                                    "not supported with the dpdk backend (the kernel does not "
                                    "see its ports)");
    return 0;
}

/*
 * The groups against the global keys, then the classifier built from every list (a prefix in
 * two groups of a kind is refused here).
 */
static int check_groups(struct xp_conftab *ct, struct xp_conf_policer *pc)
{
    unsigned long long total = 0;
    char err[200], at[96];

    for (unsigned i = 0; i < pc->n_unit_groups; i++) {
        struct xp_conf_group *g = &pc->unit_groups[i];

        if (!g->t_f_pps)
            g->t_f_pps = pc->t_f1_pps;
        if (!g->t_t_ms)
            g->t_t_ms = pc->t_t2_ms;
        snprintf(at, sizeof(at), "policer.unit_groups.%u", i);
        if (pc->r > 1 && (uint64_t)pc->t_t4_ms <= (uint64_t)pc->r * g->t_t_ms)
            return xp_conftab__error_at(ct, XP_CONF_E_RANGE, at, "with r > 1, t_t4_ms / r must "
                                        "exceed the group's t_t2_ms");
        for (unsigned k = 0; k < g->n_prefixes; k++) {
            /* a unit is its masked address: a longer group prefix would split one unit */
            if (g->prefixes[k].family == 6 && g->prefixes[k].prefix_len > pc->v6_unit_prefix)
                return xp_conftab__error_at(ct, XP_CONF_E_RANGE, at, "prefixes.%u is longer "
                                            "than policer.v6_unit_prefix (%u bits)", k,
                                            pc->v6_unit_prefix);
        }
        total += g->n_prefixes;
    }
    if (total > XP_CONF_PREFIXES_MAX)
        return xp_conftab__error_at(ct, XP_CONF_E_RANGE, "policer.unit_groups",
                                    "at most %u prefixes in all groups together",
                                    XP_CONF_PREFIXES_MAX);
    total = 0;
    for (unsigned i = 0; i < pc->n_dst_groups; i++) {
        struct xp_conf_group *g = &pc->dst_groups[i];

        if (!g->t_f_pps)
            g->t_f_pps = pc->t_f2_pps;
        if (!g->t_t_ms)
            g->t_t_ms = pc->t_t3_ms;
        snprintf(at, sizeof(at), "policer.dst_groups.%u", i);
        if (pc->r > 1 && (uint64_t)pc->t_t4_ms <= (uint64_t)pc->r * g->t_t_ms)
            return xp_conftab__error_at(ct, XP_CONF_E_RANGE, at, "with r > 1, t_t4_ms / r must "
                                        "exceed the group's t_t3_ms");
        total += g->n_prefixes;
    }
    if (total > XP_CONF_PREFIXES_MAX)
        return xp_conftab__error_at(ct, XP_CONF_E_RANGE, "policer.dst_groups",
                                    "at most %u prefixes in all groups together",
                                    XP_CONF_PREFIXES_MAX);
    if (pc->n_units + pc->n_allow_src + pc->n_allow_dst + pc->n_unit_groups + pc->n_dst_groups ==
        0)
        return 0; /* nothing to classify: every source is unpoliced, no table needed */
    pc->cls = xp_classifier__build(pc, err, sizeof(err));
    if (!pc->cls) {
        bool dst = strncmp(err, "dst_groups: ", 12) == 0;
        bool unit = strncmp(err, "unit_groups: ", 13) == 0;

        return xp_conftab__error_at(ct, XP_CONF_E_RANGE,
                                    dst ? "policer.dst_groups" : "policer.unit_groups", "%s",
                                    err + (dst ? 12 : unit ? 13 : 0));
    }
    return 0;
}

static int check_gateway(struct xp_conftab *ct, const struct xp_config *cfg, json_t *root)
{
    const char *where = json_object_get(root, "gateway") ? "gateway" : "mode";

    if (cfg->mode == XP_MODE_GATEWAY && cfg->gw.n_units == 0)
        return xp_conftab__error_at(ct, XP_CONF_E_MISSING, where, "gateway mode needs \"units\"");
    if (cfg->mode == XP_MODE_GATEWAY && cfg->gw.tunnel_id == 0)
        return xp_conftab__error_at(ct, XP_CONF_E_MISSING, where,
                                    "gateway mode needs \"tunnel_id\" (1..65535, one per proxy)");
    if (cfg->mode != XP_MODE_GATEWAY && cfg->gw.n_units)
        return xp_conftab__error_at(ct, XP_CONF_E_UNSUPPORTED, "gateway",
                                    "only with \"mode\": \"gateway\"");
    return 0;
}

int xp_config_parse(const char *name, const char *text, struct xp_config *cfg,
                    char *msg, size_t msg_len)
{
    struct xp_conftab ct;
    json_t *root = NULL;
    int ret;

    xp_config_defaults(cfg);
    xp_conftab__init(&ct, name, text, msg, msg_len);
    ret = xp_conftab__load(&ct, config_keys, N_KEYS, cfg, &root);
    if (ret)
        goto out;
    resolve_port_settings(cfg);
    if (!json_object_get(root, "ports")) {
        ret = xp_conftab__error_at(&ct, XP_CONF_E_MISSING, "", "missing required key \"ports\"");
        goto out;
    }
    if (cfg->ring_size & (cfg->ring_size - 1)) {
        ret = xp_conftab__error_at(&ct, XP_CONF_E_RANGE, "ring_size", "must be a power of two");
        goto out;
    }
    if (cfg->frames_per_queue < 4 * cfg->ring_size) {
        ret = xp_conftab__error_at(&ct, XP_CONF_E_RANGE, "frames_per_queue",
                                   "must be at least 4 x ring_size (%u)", 4 * cfg->ring_size);
        goto out;
    }
    if (cfg->pol.v6_unit_prefix % 8) {
        ret = xp_conftab__error_at(&ct, XP_CONF_E_RANGE, "policer.v6_unit_prefix",
                                   "must be a multiple of 8");
        goto out;
    }
    if (cfg->pol.r > 1 &&
        (uint64_t)cfg->pol.t_t4_ms <= (uint64_t)cfg->pol.r *
            (cfg->pol.t_t2_ms > cfg->pol.t_t3_ms ? cfg->pol.t_t2_ms : cfg->pol.t_t3_ms)) {
        ret = xp_conftab__error_at(&ct, XP_CONF_E_RANGE, "policer.t_t4_ms",
                                   "with r > 1, t_t4_ms / r must exceed t_t2_ms and t_t3_ms "
                                   "(a shrunk window must stay past the warm-up)");
        goto out;
    }
    ret = check_sync(&ct, cfg);
    if (!ret)
        ret = check_backend(&ct, cfg, root);
    if (!ret)
        ret = check_gateway(&ct, cfg, root);
    if (!ret)
        ret = check_groups(&ct, &cfg->pol);
out:
    json_decref(root);
    if (ret)
        xp_config_release(cfg);
    return ret;
}

void xp_config_release(struct xp_config *cfg)
{
    if (cfg)
        xp_conf_policer__release(&cfg->pol);
}

int xp_config_load(const char *path, struct xp_config *cfg, char *msg, size_t msg_len)
{
    char *text = NULL;
    int ret;

    ret = xp_conftab__read_file(path, &text, msg, msg_len);
    if (ret)
        return ret;
    ret = xp_config_parse(path, text, cfg, msg, msg_len);
    /* secrets written in the file (sync secret, tunnel keys) make it a secret file too */
    if (ret == XP_CONF_OK && (cfg->sync.secret_inline || cfg->gw.n_units)) {
        char why[300];

        if (xp_secret_file__check_mode(path, why, sizeof(why))) {
            snprintf(msg, msg_len, "%s (it holds %s)", why,
                     cfg->sync.secret_inline ? "sync.secret; or use sync.secret_file"
                                             : "gateway unit keys");
            ret = XP_CONF_E_RANGE;
            xp_config_release(cfg);
        }
    }
    free(text);
    return ret;
}

int xp_config_reload_check(const struct xp_config *old, const struct xp_config *new,
                           char *msg, size_t msg_len)
{
    if ((old->pol.n_units == 0) != (new->pol.n_units == 0)) {
        snprintf(msg, msg_len, "policer.unit_prefixes cannot go from empty to non-empty "
                 "(or back) without a restart: policing is set up at start");
        return XP_CONF_E_UNSUPPORTED;
    }
    return xp_conftab__reload_check(config_keys, N_KEYS, old, new, msg, msg_len);
}

void xp_config_print_keys(FILE *out)
{
    xp_conftab__print(out, config_keys, N_KEYS);
}

void xp_config__pipeline_conf(const struct xp_config *cfg, struct xp_pipeline_conf *out)
{
    *out = (struct xp_pipeline_conf){
        .pol = &cfg->pol,
        .non_ip_pass = cfg->non_ip_pass,
        /* another proxy's pair may lag two sync periods behind (docs/policer.md) */
        .remote_grace_ms = cfg->sync.central[0] ? 2 * cfg->sync.period_ms : 0,
        .numa_node = -1,
    };
}
