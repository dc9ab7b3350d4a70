/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The proxy's configuration: one JSON file, parsed once into a validated
 * struct xp_config. Workers never see JSON.
 *
 * Strict: unknown keys, wrong types and out-of-range values are errors that
 * name the file, line, column and key path. No value silently falls back to
 * a default. One conftab table (config.c: config_keys[], engine in
 * src/util/conftab.h) lists every key with its type, default, range and
 * whether it may change on reload; it drives the defaults, the parser and
 * `xpro-proxy --config-keys`, which conf/README.md must match.
 */
#ifndef XP_CONFIG_H
#define XP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kern/xp_shared.h"
#include "src/backend/backend.h"
#include "src/gateway/gateway.h"
#include "src/pipeline/pipeline.h"
#include "src/parse/parse.h"
#include "src/util/conftab.h"

#define XP_CONF_ID_MAX 64
#define XP_CONF_IFNAME_MAX 16

enum xp_conf_mode {
    XP_MODE_INLINE = 0,
    XP_MODE_GATEWAY,
};

enum xp_conf_zc {
    XP_CONF_ZC_AUTO = 0,
    XP_CONF_ZC_ON,
    XP_CONF_ZC_OFF,
};

/* The I/O backend: AF_XDP (xsk/) or DPDK (src/backend/, only in builds with libdpdk). */
enum xp_conf_backend {
    XP_BACKEND_AF_XDP = 0,
    XP_BACKEND_DPDK,
};

#define XP_CONF_EAL_ARGS_MAX 48
#define XP_CONF_EAL_ARG_LEN 160

/* The DPDK backend: how EAL starts and which ethdev ports are access and core. */
struct xp_conf_dpdk {
    unsigned n_eal_args;
    char eal_args[XP_CONF_EAL_ARGS_MAX][XP_CONF_EAL_ARG_LEN];
    unsigned access_port;    /* ethdev port id */
    unsigned core_port;
    unsigned mbufs_per_queue; /* per port and queue */
};

/* The policer section (struct xp_conf_policer) is the pipeline's, the gateway section
 * (struct xp_conf_gateway) the gateway's: each module takes only its own part. */

/* Sync with the central node (Algorithm 2); off when central is empty. */
struct xp_conf_sync {
    char central[80];        /* "ADDRESS:PORT" ("[v6]:port" for IPv6) */
    char secret[160];        /* hex, as in the central node's "proxies" */
    char secret_file[256];   /* or a file holding it (not readable by others) */
    bool secret_inline;      /* secret was written in the configuration itself */
    unsigned period_ms;
};

/* bench/README.md, "Idle policy": the measurements behind it */
#define XP_CONF_IDLE_SPIN_US_DEFAULT 5000

struct xp_config {
    char proxy_id[XP_CONF_ID_MAX];
    int mode;                                   /* enum xp_conf_mode */
    int backend;                                /* enum xp_conf_backend */
    char port_name[XP_MAX_PORTS][XP_CONF_IFNAME_MAX];
    unsigned queues;
    unsigned n_cpus;
    int cpus[XP_MAX_QUEUES];
    int fail_mode_closed;                       /* 0 open, 1 closed */
    int non_ip_pass;                            /* non-IP frames but ARP: 0 drop, 1 pass */
    int channels_set;                           /* RX channels != queues: 0 refuse, 1 set */
    int xdp_mode_skb;                           /* 0 native, 1 skb (generic) */
    /*
     * Per port, resolved from the top-level keys, then port_settings'
     * "default" block, then the port's own block ("access" or "core").
     */
    int port_xdp_skb[XP_MAX_PORTS];
    bool port_busy_poll[XP_MAX_PORTS];
    /* Raw port_settings blocks: [0] default, [1] access, [2] core; -1 = not set. */
    int ps_xdp_skb[3];
    int ps_busy_poll[3];
    int zero_copy;                              /* enum xp_conf_zc */
    bool busy_poll;
    unsigned idle_spin_us;      /* idle policy: poll this long after the last frame */
    unsigned frames_per_queue;
    unsigned ring_size;
    unsigned stats_interval_ms;
    unsigned n_mgmt;
    struct xp_cidr mgmt[XP_MGMT_PREFIXES];
    int log_level;                              /* enum xp_log_level */
    char events_out[256];                       /* JSON lines of events; "" = none */
    char events_syslog[108];                    /* syslog socket for events; "" = none */
    struct xp_conf_policer pol;
    struct xp_conf_sync sync;
    struct xp_conf_dpdk dpdk;
    struct xp_conf_gateway gw;
    char ctl_socket[108];                       /* "" = /run/xpro/<proxy_id>.sock */
    char ctl_socket_group[32];                  /* "" = root only */
    char state_dir[200];                        /* operator blocks file; "" = not kept */
    char prometheus[64];                        /* "ADDRESS:PORT" on loopback; "" = off */
    char user[32];                              /* account to run as after set-up; "" = stay */
};

/* Exit-code-sized result: 0, or a positive XP_CONF_E_* with msg filled (the engine's codes). */
enum xp_conf_err {
    XP_CONF_OK = XP_CONFTAB_OK,
    XP_CONF_E_IO = XP_CONFTAB_E_IO,                   /* cannot read the file */
    XP_CONF_E_SYNTAX = XP_CONFTAB_E_SYNTAX,           /* not JSON */
    XP_CONF_E_UNKNOWN_KEY = XP_CONFTAB_E_UNKNOWN_KEY,
    XP_CONF_E_TYPE = XP_CONFTAB_E_TYPE,
    XP_CONF_E_RANGE = XP_CONFTAB_E_RANGE,
    XP_CONF_E_MISSING = XP_CONFTAB_E_MISSING,
    XP_CONF_E_UNSUPPORTED = XP_CONFTAB_E_UNSUPPORTED,
};

/* Fill cfg with every default. */
void xp_config_defaults(struct xp_config *cfg);

/*
 * Parse path into cfg. On error returns XP_CONF_E_* and writes
 * "path:line:col: key.path: message" into msg (and cfg holds nothing to
 * release). On success cfg owns heap memory (the policer's prefix lists,
 * groups and classifier): xp_config_release() it before freeing or reusing cfg.
 */
int xp_config_load(const char *path, struct xp_config *cfg, char *msg, size_t msg_len);
/* Same, from a string; name is used in messages. */
int xp_config_parse(const char *name, const char *text, struct xp_config *cfg,
                    char *msg, size_t msg_len);

/* Free what a parsed cfg owns; cfg keeps its other values. NULL is fine. */
void xp_config_release(struct xp_config *cfg);

/*
 * A reload may change only the keys the table marks reloadable. 0 if new
 * can replace old live, else XP_CONF_E_UNSUPPORTED with msg naming the key.
 */
int xp_config_reload_check(const struct xp_config *old, const struct xp_config *new,
                           char *msg, size_t msg_len);

/*
 * Split "ADDRESS:PORT" or "[V6ADDRESS]:PORT". 0 or -EINVAL. The same as
 * xp_addr__hostport() (src/util/hexaddr.h), which new code should call.
 */
int xp_conf_hostport(const char *text, char *host, size_t host_len, uint16_t *port);

/* Print the key table as Markdown rows (name, type, default, range, reload, doc). */
void xp_config_print_keys(FILE *out);

/* The pipeline's view of a configuration (its policer section lives in cfg). */
void xp_config__pipeline_conf(const struct xp_config *cfg, struct xp_pipeline_conf *out);

#endif /* XP_CONFIG_H */
