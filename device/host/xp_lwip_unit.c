// SPDX-License-Identifier: GPL-2.0-only
/*
 * xp-lwip-unit: a simulated IoT unit for the gateway-mode tests. It runs
 * Debian's lwIP (2.1.3, NO_SYS=0: tcpip thread, pthreads sys_arch, core
 * locking) on an existing TAP interface through lwIP's own tapif netif,
 * with the device library's glue (device/lwip_hook.c) attached, so every
 * IP packet the stack sends leaves as a tunnel datagram for the current
 * proxy. Traffic is made with lwIP's raw UDP API under the core lock, so
 * it takes the same path (ip4_output -> netif->output) as a real unit's.
 *
 *   xp-lwip-unit --tap NAME --ip A.B.C.D/NN --gw A.B.C.D --unit-id N
 *                --key-file FILE --proxy IP:PORT/ID [--proxy IP:PORT/ID ...]
 *                --mode coap|flood --target IP[:PORT] [options]
 *
 * The key file holds the unit's key as 32..128 hex digits (16..64 bytes),
 * optionally after "KEYID:" (0..255, default 0) and surrounded by
 * whitespace: the form the proxy's "units" configuration uses. SIGUSR1
 * re-reads it and signs from then on with the key it holds (a rotation:
 * "event":"key"). ID in --proxy is the proxy's gateway.tunnel_id. stdout carries one JSON object per line: events
 * ("event":"start"/"switch"), per-request lines (coap) and one summary.
 * Diagnostics go to stderr. Exit codes are src/util/exit_codes.h's: 2 bad
 * option, key file or address; 5 TAP interface missing or not a TAP;
 * 6 permission denied; 1 anything else.
 *
 * Threads: lwIP's tcpip thread runs the glue (its 250 ms keepalive timer,
 * control messages) and our receive callback; lwIP's tapif thread reads
 * the TAP. main() sends under LOCK_TCPIP_CORE() and otherwise sleeps in
 * ppoll() on an eventfd (a matching reply came) and a signalfd (SIGINT,
 * SIGTERM, blocked in every thread). State shared with the callback is
 * only touched with the core lock held.
 *
 * Allocation happens here at start-up only (the RTT array); the device
 * library's packet path allocates nothing of its own. Note that Debian's
 * lwipopts.h sets MEMP_MEM_MALLOC=1, so on this host lwIP's pbufs come
 * from glibc malloc: a host property, not the device library's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/sys.h"
#include "lwip/tcpip.h"
#include "lwip/udp.h"
#include "netif/tapif.h"

#include "src/util/exit_codes.h"
#include "xp_build_config.h"
#include "xp_device.h"
#include "xp_lwip.h"

#define PROG "xp-lwip-unit"

#define NSEC_PER_MSEC UINT64_C(1000000)
#define NSEC_PER_SEC UINT64_C(1000000000)
/* Main-thread housekeeping period: bounds how late a switch event is stamped. */
#define UNIT_TICK_NS (10 * NSEC_PER_MSEC)
/* Flood mode: how long to wait for the last replies after the last send. */
#define UNIT_DRAIN_NS (200 * NSEC_PER_MSEC)
/* The unit's MTU: the 68 bytes of outer IPv4 + UDP + tunnel header off 1500 (docs/tunnel.md). */
#define UNIT_MTU (1500 - 68)

#define COAP_DEFAULT_PORT 5683
#define COAP_VERSION 1
#define COAP_T_CON 0
#define COAP_T_NON 1
#define COAP_T_ACK 2
#define COAP_T_RST 3
#define COAP_GET 0x01
#define COAP_OPT_URI_PATH 11
#define COAP_TOKEN_LEN 8
#define COAP_MAX_PATH 255
#define COAP_MAX_MSG 1400

enum unit_mode {
    UNIT_MODE_NONE = 0,
    UNIT_MODE_COAP = 1,
    UNIT_MODE_FLOOD = 2,
};

struct unit_addr {
    uint32_t addr; /* network order */
    uint16_t port; /* host order */
    uint16_t id;   /* proxies: the tunnel id */
};

struct unit_opts {
    const char *tap;
    uint32_t ip, netmask, gw; /* network order */
    unsigned prefix;
    uint32_t unit_id;
    const char *key_file;
    struct unit_addr proxies[XP_DEVICE_MAX_PROXIES];
    unsigned n_proxies;
    uint64_t seq_base;
    bool have_seq_base;
    enum unit_mode mode;
    struct unit_addr target;
    const char *path;
    uint32_t count;
    uint32_t interval_ms;
    uint32_t timeout_ms;
    uint32_t rate;
    uint32_t duration_s; /* 0: none (coap), flood's default otherwise */
    uint32_t size;
    uint32_t local_port;
    const char *status_out;
    bool no_tunnel;          /* --no-tunnel: the glue is not attached */
};

static const struct unit_opts defaults_unit = {
    .path = "time",
    .count = 10,
    .interval_ms = 200,
    .timeout_ms = 1000,
    .rate = 100,
    .size = 64,
};
#define UNIT_FLOOD_DEFAULT_DURATION 10

/*
 * The option table: name, argument, help, and which mode it belongs to
 * (0: both). The index doubles as getopt's return value and the bit in
 * the "seen" mask that rejects repeats.
 */
enum unit_opt_id {
    OPT_TAP = 0,
    OPT_IP,
    OPT_GW,
    OPT_UNIT_ID,
    OPT_KEY_FILE,
    OPT_PROXY,
    OPT_SEQ_BASE,
    OPT_MODE,
    OPT_TARGET,
    OPT_PATH,
    OPT_COUNT,
    OPT_INTERVAL,
    OPT_TIMEOUT,
    OPT_RATE,
    OPT_SIZE,
    OPT_DURATION,
    OPT_LOCAL_PORT,
    OPT_STATUS_OUT,
    OPT_NO_TUNNEL,
    OPT_HELP,
    OPT_VERSION,
    OPT_MAX,
};

struct unit_opt_doc {
    const char *arg;
    enum unit_mode mode;
    const char *help;
};

static const struct option long_opts[] = {
    [OPT_TAP] = {"tap", required_argument, NULL, OPT_TAP},
    [OPT_IP] = {"ip", required_argument, NULL, OPT_IP},
    [OPT_GW] = {"gw", required_argument, NULL, OPT_GW},
    [OPT_UNIT_ID] = {"unit-id", required_argument, NULL, OPT_UNIT_ID},
    [OPT_KEY_FILE] = {"key-file", required_argument, NULL, OPT_KEY_FILE},
    [OPT_PROXY] = {"proxy", required_argument, NULL, OPT_PROXY},
    [OPT_SEQ_BASE] = {"seq-base", required_argument, NULL, OPT_SEQ_BASE},
    [OPT_MODE] = {"mode", required_argument, NULL, OPT_MODE},
    [OPT_TARGET] = {"target", required_argument, NULL, OPT_TARGET},
    [OPT_PATH] = {"path", required_argument, NULL, OPT_PATH},
    [OPT_COUNT] = {"count", required_argument, NULL, OPT_COUNT},
    [OPT_INTERVAL] = {"interval-ms", required_argument, NULL, OPT_INTERVAL},
    [OPT_TIMEOUT] = {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
    [OPT_RATE] = {"rate", required_argument, NULL, OPT_RATE},
    [OPT_SIZE] = {"size", required_argument, NULL, OPT_SIZE},
    [OPT_DURATION] = {"duration", required_argument, NULL, OPT_DURATION},
    [OPT_LOCAL_PORT] = {"local-port", required_argument, NULL, OPT_LOCAL_PORT},
    [OPT_STATUS_OUT] = {"status-out", required_argument, NULL, OPT_STATUS_OUT},
    [OPT_NO_TUNNEL] = {"no-tunnel", no_argument, NULL, OPT_NO_TUNNEL},
    [OPT_HELP] = {"help", no_argument, NULL, OPT_HELP},
    [OPT_VERSION] = {"version", no_argument, NULL, OPT_VERSION},
    [OPT_MAX] = {NULL, 0, NULL, 0},
};

static const struct unit_opt_doc opt_docs[OPT_MAX] = {
    [OPT_TAP] = {"NAME", 0, "existing TAP interface (ip tuntap add dev NAME mode tap)"},
    [OPT_IP] = {"A.B.C.D/NN", 0, "the unit's address and prefix (1..30)"},
    [OPT_GW] = {"A.B.C.D", 0, "default gateway, inside --ip's subnet"},
    [OPT_UNIT_ID] = {"N", 0, "unit id, 1..4294967295"},
    [OPT_KEY_FILE] = {"FILE", 0, "the unit's key: [KEYID:]HEX, 32..128 hex digits (16..64 "
                                 "bytes); SIGUSR1 re-reads it"},
    [OPT_PROXY] = {"IP:PORT/ID", 0, "a proxy's tunnel address (IPv4) and tunnel id; repeat, in "
                                    "order, up to 8"},
    [OPT_SEQ_BASE] = {"N", 0, "first sequence number (default: CLOCK_REALTIME in us)"},
    [OPT_MODE] = {"coap|flood", 0, "confirmable GETs with RTT, or paced NON messages"},
    [OPT_TARGET] = {"IP[:PORT]", 0, "CoAP server (default port 5683)"},
    [OPT_PATH] = {"PATH", 0, "Uri-Path, '/'-separated (default \"time\")"},
    [OPT_COUNT] = {"N", UNIT_MODE_COAP, "requests to send (default 10)"},
    [OPT_INTERVAL] = {"MS", UNIT_MODE_COAP, "time between request starts (default 200)"},
    [OPT_TIMEOUT] = {"MS", UNIT_MODE_COAP, "wait per request before counting it lost (default 1000)"},
    [OPT_RATE] = {"PPS", UNIT_MODE_FLOOD, "messages per second (default 100)"},
    [OPT_SIZE] = {"BYTES", UNIT_MODE_FLOOD, "UDP payload per message (default 64)"},
    [OPT_DURATION] = {"SEC", 0, "flood length (default 10); coap: overall limit"},
    [OPT_LOCAL_PORT] = {"PORT", 0, "UDP port for the tunnel's control messages (default any)"},
    [OPT_STATUS_OUT] = {"FILE", 0, "rewrite a JSON status file once per second"},
    [OPT_NO_TUNNEL] = {NULL, 0, "do not attach the device library: plain lwIP routing via --gw "
                                "(the bench's baseline)"},
    [OPT_HELP] = {NULL, 0, "this text"},
    [OPT_VERSION] = {NULL, 0, "print the version"},
};

/* What the receive callback (tcpip thread) and main() share; core lock held for both. */
struct unit_pending {
    bool active;     /* a request is waiting for its answer */
    bool empty_ack;  /* got an empty ACK: the answer comes as a separate response */
    bool done;
    bool reset;      /* answered with RST */
    uint16_t mid;
    uint8_t token[COAP_TOKEN_LEN];
    uint8_t code;
    uint64_t rx_ns;
};

struct unit {
    struct unit_opts o;
    struct netif netif;
    struct xp_device dev;
    struct xp_lwip glue;
    struct udp_pcb *pcb;
    bool attached;
    int evfd, sigfd;
    uint64_t t0_ns;
    /* shared with the callback */
    struct unit_pending pend;
    uint64_t rx_from_target;
    uint64_t rx_unmatched;
    /* main thread only */
    uint32_t seen_current;
    uint64_t switches;
    uint64_t sent, send_errors, answered, lost, resets;
    uint64_t last_tick_ns, last_status_ns;
    struct xp_device_stats last_stats; /* at the previous tick: which switch counter moved */
    bool status_warned;
    int stop_signal;
    uint32_t *rtt_us;
};

static struct unit g_unit;

__attribute__((format(printf, 1, 2))) static void unit_err(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs(PROG ": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------------------------------ */
/* Option parsing: every value fully consumed and range-checked, no silent defaults.        */

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    unsigned long long v;
    char *end;

    /* strtoull accepts signs and spaces; we want plain decimal digits only */
    if (!s[0] || s[0] < '0' || s[0] > '9')
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        return -EINVAL;
    if (v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

static int parse_u32_opt(const char *name, const char *s, uint32_t min, uint32_t max,
                         uint32_t *out)
{
    uint64_t v;
    int ret = parse_u64(s, min, max, &v);

    if (ret == -ERANGE)
        unit_err("--%s %s: out of range %" PRIu32 "..%" PRIu32, name, s, min, max);
    else if (ret)
        unit_err("--%s %s: not a decimal number", name, s);
    else
        *out = (uint32_t)v;
    return ret;
}

static int parse_ipv4(const char *s, uint32_t *addr)
{
    struct in_addr a;

    if (inet_pton(AF_INET, s, &a) != 1)
        return -EINVAL;
    *addr = a.s_addr;
    return 0;
}

/* "IP:PORT", or "IP" when default_port is non-zero. IPv4 only: the unit has no IPv6 address. */
static int parse_ip_port(const char *name, const char *s, uint16_t default_port,
                         struct unit_addr *out)
{
    char host[INET_ADDRSTRLEN];
    const char *colon = strrchr(s, ':');
    size_t hlen = colon ? (size_t)(colon - s) : strlen(s);
    uint64_t port = default_port;

    if (s[0] == '[' || (colon && strchr(s, ':') != colon)) {
        unit_err("--%s %s: IPv6 is not supported (the unit has only an IPv4 address)", name, s);
        return -EINVAL;
    }
    if (!colon && !default_port) {
        unit_err("--%s %s: expected IP:PORT", name, s);
        return -EINVAL;
    }
    if (hlen >= sizeof(host)) {
        unit_err("--%s %s: not an IPv4 address", name, s);
        return -EINVAL;
    }
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    if (parse_ipv4(host, &out->addr)) {
        unit_err("--%s %s: '%s' is not an IPv4 address", name, s, host);
        return -EINVAL;
    }
    if (colon && parse_u64(colon + 1, 1, 65535, &port)) {
        unit_err("--%s %s: port must be 1..65535", name, s);
        return -EINVAL;
    }
    out->port = (uint16_t)port;
    return 0;
}

/* "IP:PORT/ID": a proxy's tunnel address and its tunnel id (1..65535). */
static int parse_proxy(const char *s, struct unit_addr *out)
{
    char buf[64];
    const char *slash = strrchr(s, '/');
    uint64_t id;

    if (!slash || (size_t)(slash - s) >= sizeof(buf) || parse_u64(slash + 1, 1, 65535, &id)) {
        unit_err("--proxy %s: expected IP:PORT/ID (ID: the proxy's gateway.tunnel_id, "
                 "1..65535)", s);
        return -EINVAL;
    }
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = '\0';
    if (parse_ip_port("proxy", buf, 0, out))
        return -EINVAL;
    out->id = (uint16_t)id;
    return 0;
}

static int parse_cidr(const char *s, struct unit_opts *o)
{
    char host[INET_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    uint64_t prefix;
    uint32_t h;

    if (!slash || (size_t)(slash - s) >= sizeof(host)) {
        unit_err("--ip %s: expected A.B.C.D/NN", s);
        return -EINVAL;
    }
    memcpy(host, s, (size_t)(slash - s));
    host[slash - s] = '\0';
    if (parse_ipv4(host, &o->ip)) {
        unit_err("--ip %s: '%s' is not an IPv4 address", s, host);
        return -EINVAL;
    }
    /* /31 and /32 leave no room for a gateway beside the unit */
    if (parse_u64(slash + 1, 1, 30, &prefix)) {
        unit_err("--ip %s: prefix length must be 1..30", s);
        return -EINVAL;
    }
    o->prefix = (unsigned)prefix;
    o->netmask = htonl(~0u << (32 - o->prefix));
    h = ntohl(o->ip) & ~ntohl(o->netmask);
    if (h == 0 || h == ~ntohl(o->netmask)) {
        unit_err("--ip %s: that is the subnet's network or broadcast address", s);
        return -EINVAL;
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: " PROG " --tap NAME --ip A.B.C.D/NN --gw A.B.C.D --unit-id N\n"
               "       --key-file FILE --proxy IP:PORT [--proxy IP:PORT ...]\n"
               "       --mode coap|flood --target IP[:PORT] [options]\n\n");
    for (int i = 0; i < OPT_MAX; i++) {
        char left[40];

        snprintf(left, sizeof(left), "--%s%s%s", long_opts[i].name, opt_docs[i].arg ? " " : "",
                 opt_docs[i].arg ? opt_docs[i].arg : "");
        fprintf(f, "  %-26s %s%s\n", left, opt_docs[i].help,
                opt_docs[i].mode == UNIT_MODE_COAP    ? " [coap]"
                : opt_docs[i].mode == UNIT_MODE_FLOOD ? " [flood]"
                                                      : "");
    }
    fprintf(f, "\nExit: 0 done, 1 failure, 2 bad option/key/address, 5 no such TAP, 6 permission.\n");
}

/* Returns 0, 1 for --help, 2 for --version, or -EINVAL (message printed). */
static int parse_args(int argc, char **argv, struct unit_opts *o)
{
    uint32_t seen = 0;
    int c, idx, at;
    uint64_t v;

    *o = defaults_unit;
    opterr = 0; /* our messages, not getopt's */
    /* '+': no permutation, so argv[at] is the option just parsed (used to refuse abbreviations) */
    for (;;) {
        at = optind;
        idx = -1;
        c = getopt_long(argc, argv, "+:", long_opts, &idx);
        if (c == -1)
            break;
        if (c == '?') {
            unit_err("unknown option '%s' (try --help)", argv[at]);
            return -EINVAL;
        }
        if (c == ':') {
            unit_err("option '%s' needs a value", argv[at]);
            return -EINVAL;
        }
        /* getopt_long takes unambiguous prefixes (--tar); a test script must spell options out */
        {
            const char *given = argv[at] + 2;
            size_t n = strcspn(given, "=");

            if (strncmp(given, long_opts[c].name, n) != 0 || long_opts[c].name[n] != '\0') {
                unit_err("option '%s': write it in full as --%s", argv[at], long_opts[c].name);
                return -EINVAL;
            }
        }
        if (c != OPT_PROXY && (seen & (1u << c))) {
            unit_err("--%s given twice", long_opts[c].name);
            return -EINVAL;
        }
        seen |= 1u << c;

        switch (c) {
        case OPT_TAP:
            if (!optarg[0] || strlen(optarg) >= IFNAMSIZ) {
                unit_err("--tap '%s': interface names are 1..%d characters", optarg,
                         IFNAMSIZ - 1);
                return -EINVAL;
            }
            o->tap = optarg;
            break;
        case OPT_IP:
            if (parse_cidr(optarg, o))
                return -EINVAL;
            break;
        case OPT_GW:
            if (parse_ipv4(optarg, &o->gw)) {
                unit_err("--gw %s: not an IPv4 address", optarg);
                return -EINVAL;
            }
            break;
        case OPT_UNIT_ID:
            if (parse_u32_opt("unit-id", optarg, 1, UINT32_MAX, &o->unit_id))
                return -EINVAL;
            break;
        case OPT_KEY_FILE:
            o->key_file = optarg;
            break;
        case OPT_PROXY:
            if (o->n_proxies == XP_DEVICE_MAX_PROXIES) {
                unit_err("--proxy: at most %d proxies", XP_DEVICE_MAX_PROXIES);
                return -EINVAL;
            }
            if (parse_proxy(optarg, &o->proxies[o->n_proxies]))
                return -EINVAL;
            for (unsigned i = 0; i < o->n_proxies; i++)
                if ((o->proxies[i].addr == o->proxies[o->n_proxies].addr &&
                     o->proxies[i].port == o->proxies[o->n_proxies].port) ||
                    o->proxies[i].id == o->proxies[o->n_proxies].id) {
                    unit_err("--proxy %s: address or tunnel id given twice", optarg);
                    return -EINVAL;
                }
            o->n_proxies++;
            break;
        case OPT_SEQ_BASE:
            if (parse_u64(optarg, 0, UINT64_MAX, &v)) {
                unit_err("--seq-base %s: not a decimal number", optarg);
                return -EINVAL;
            }
            o->seq_base = v;
            o->have_seq_base = true;
            break;
        case OPT_MODE:
            if (strcmp(optarg, "coap") == 0) {
                o->mode = UNIT_MODE_COAP;
            } else if (strcmp(optarg, "flood") == 0) {
                o->mode = UNIT_MODE_FLOOD;
            } else {
                unit_err("--mode %s: expected coap or flood", optarg);
                return -EINVAL;
            }
            break;
        case OPT_TARGET:
            if (parse_ip_port("target", optarg, COAP_DEFAULT_PORT, &o->target))
                return -EINVAL;
            break;
        case OPT_PATH:
            if (strlen(optarg) > COAP_MAX_PATH) {
                unit_err("--path: at most %d characters", COAP_MAX_PATH);
                return -EINVAL;
            }
            o->path = optarg;
            break;
        case OPT_COUNT:
            if (parse_u32_opt("count", optarg, 1, 1000000, &o->count))
                return -EINVAL;
            break;
        case OPT_INTERVAL:
            if (parse_u32_opt("interval-ms", optarg, 1, 60000, &o->interval_ms))
                return -EINVAL;
            break;
        case OPT_TIMEOUT:
            if (parse_u32_opt("timeout-ms", optarg, 1, 60000, &o->timeout_ms))
                return -EINVAL;
            break;
        case OPT_RATE:
            if (parse_u32_opt("rate", optarg, 1, 1000000, &o->rate))
                return -EINVAL;
            break;
        case OPT_SIZE:
            if (parse_u32_opt("size", optarg, 1, COAP_MAX_MSG, &o->size))
                return -EINVAL;
            break;
        case OPT_DURATION:
            if (parse_u32_opt("duration", optarg, 1, 86400, &o->duration_s))
                return -EINVAL;
            break;
        case OPT_LOCAL_PORT:
            if (parse_u32_opt("local-port", optarg, 1, 65535, &o->local_port))
                return -EINVAL;
            break;
        case OPT_STATUS_OUT:
            if (!optarg[0]) {
                unit_err("--status-out: empty file name");
                return -EINVAL;
            }
            o->status_out = optarg;
            break;
        case OPT_NO_TUNNEL:
            o->no_tunnel = true;
            break;
        case OPT_HELP:
            return 1;
        case OPT_VERSION:
            return 2;
        default:
            unit_err("internal: option %d", c);
            return -EINVAL;
        }
    }
    if (optind < argc) {
        unit_err("unexpected argument '%s' (try --help)", argv[optind]);
        return -EINVAL;
    }

    static const enum unit_opt_id required[] = {OPT_TAP,   OPT_IP,    OPT_GW,   OPT_UNIT_ID,
                                                OPT_KEY_FILE, OPT_PROXY, OPT_MODE, OPT_TARGET};
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (!(seen & (1u << required[i]))) {
            unit_err("--%s is required (try --help)", long_opts[required[i]].name);
            return -EINVAL;
        }
    for (int i = 0; i < OPT_MAX; i++)
        if ((seen & (1u << i)) && opt_docs[i].mode && opt_docs[i].mode != o->mode) {
            unit_err("--%s only applies to --mode %s", long_opts[i].name,
                     opt_docs[i].mode == UNIT_MODE_COAP ? "coap" : "flood");
            return -EINVAL;
        }
    if ((o->gw & o->netmask) != (o->ip & o->netmask) || o->gw == o->ip) {
        unit_err("--gw: must be another address inside the --ip subnet /%u", o->prefix);
        return -EINVAL;
    }
    if (o->mode == UNIT_MODE_FLOOD && !o->duration_s)
        o->duration_s = UNIT_FLOOD_DEFAULT_DURATION;
    if (o->mode == UNIT_MODE_FLOOD && (uint64_t)o->rate * o->duration_s > UINT32_MAX) {
        unit_err("--rate x --duration: at most %u messages", UINT32_MAX);
        return -EINVAL;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Key file and TAP checks: done before lwIP starts, since tapif_init() exit(1)s on errors. */

static int hex_nibble(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * "[KEYID:]HEX": the key id in *key_id. Returns the key length, or -EINVAL
 * (message printed). Buffers are wiped either way.
 */
static int read_key_file(const char *path, uint8_t key[XP_TUNNEL_KEY_MAX], uint8_t *key_id)
{
    char text[2 * XP_TUNNEL_KEY_MAX + 64];
    size_t len = 0, start, end, digits;
    ssize_t n;
    int fd, ret = -EINVAL;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        unit_err("--key-file %s: %s", path, strerror(errno));
        return -EINVAL;
    }
    while (len < sizeof(text)) {
        n = read(fd, text + len, sizeof(text) - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            unit_err("--key-file %s: read: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len == sizeof(text)) {
        unit_err("--key-file %s: too long (expected 32..128 hex digits)", path);
        goto out;
    }
    for (start = 0; start < len && strchr(" \t\r\n", text[start]); start++)
        ;
    for (end = len; end > start && strchr(" \t\r\n", text[end - 1]); end--)
        ;
    *key_id = 0;
    for (size_t i = start; i < end && i < start + 4; i++) {
        if (text[i] != ':')
            continue;
        unsigned id = 0;

        for (size_t k = start; k < i; k++) {
            if (text[k] < '0' || text[k] > '9')
                id = 256;
            else
                id = id * 10 + (unsigned)(text[k] - '0');
        }
        if (i == start || id > 255) {
            unit_err("--key-file %s: the key id before ':' must be 0..255", path);
            goto out;
        }
        *key_id = (uint8_t)id;
        start = i + 1;
        break;
    }
    digits = end - start;
    for (size_t i = start; i < end; i++)
        if (hex_nibble((unsigned char)text[i]) < 0) {
            unit_err("--key-file %s: not a hex digit at offset %zu (the key is 32..128 hex "
                     "digits)", path, i);
            goto out;
        }
    if (digits % 2 || digits < 2 * XP_TUNNEL_KEY_MIN || digits > 2 * XP_TUNNEL_KEY_MAX) {
        unit_err("--key-file %s: %zu hex digits, expected an even number in %d..%d", path,
                 digits, 2 * XP_TUNNEL_KEY_MIN, 2 * XP_TUNNEL_KEY_MAX);
        goto out;
    }
    for (size_t b = 0; b < digits / 2; b++)
        key[b] = (uint8_t)(hex_nibble((unsigned char)text[start + 2 * b]) << 4 |
                           hex_nibble((unsigned char)text[start + 2 * b + 1]));
    ret = (int)(digits / 2);
out:
    explicit_bzero(text, sizeof(text));
    close(fd);
    return ret;
}

/*
 * The TAP must exist (the test creates and addresses it; TUNSETIFF would
 * otherwise quietly create a fresh, unconfigured one) and be free. Try
 * the same TUNSETIFF tapif will make, so its failures become messages.
 * Returns 0 or an exit code.
 */
static int check_tap(const char *name)
{
    struct ifreq ifr;
    int fd, sock, ret = EXIT_OK;

    if (!if_nametoindex(name)) {
        unit_err("--tap %s: no such interface in this network namespace (create it with "
                 "'ip tuntap add dev %s mode tap')", name, name);
        return EXIT_FAIL_IFACE;
    }
    fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        unit_err("/dev/net/tun: %s", strerror(errno));
        return errno == EACCES || errno == EPERM ? EXIT_FAIL_PERM : EXIT_FAIL;
    }
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, name, strlen(name));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI; /* what tapif asks for */
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;

        if (e == EINVAL) {
            unit_err("--tap %s: not a (single-queue) TAP device", name);
            ret = EXIT_FAIL_IFACE;
        } else if (e == EBUSY) {
            unit_err("--tap %s: already attached to another process", name);
            ret = EXIT_FAIL;
        } else {
            unit_err("--tap %s: TUNSETIFF: %s", name, strerror(e));
            ret = e == EPERM ? EXIT_FAIL_PERM : EXIT_FAIL;
        }
    }
    close(fd);
    if (ret != EXIT_OK)
        return ret;

    /* a kernel side that is down makes every write fail; say so once here */
    sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock >= 0) {
        memset(&ifr, 0, sizeof(ifr));
        memcpy(ifr.ifr_name, name, strlen(name));
        if (ioctl(sock, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP))
            unit_err("warning: --tap %s is down (ip link set %s up)", name, name);
        close(sock);
    }
    return EXIT_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* CoAP (RFC 7252): just what a GET and its answer need.                                     */

/* Uri-Path options for path, appended at p; returns the bytes written, or -ENOSPC. */
static int coap_put_path(uint8_t *p, size_t cap, const char *path)
{
    size_t off = 0;
    unsigned delta = COAP_OPT_URI_PATH;

    while (*path) {
        size_t seg = strcspn(path, "/");

        if (seg) {
            size_t need = 1 + (seg >= 13) + seg;

            if (off + need > cap)
                return -ENOSPC;
            /* seg <= COAP_MAX_PATH < 269: one extended length byte at most */
            p[off++] = (uint8_t)(delta << 4 | (seg >= 13 ? 13 : seg));
            if (seg >= 13)
                p[off++] = (uint8_t)(seg - 13);
            memcpy(p + off, path, seg);
            off += seg;
            delta = 0; /* the next Uri-Path repeats the option number */
        }
        path += seg;
        if (*path == '/')
            path++;
    }
    return (int)off;
}

/*
 * A GET of type (CON or NON). pad_to > 0 appends a payload marker and
 * zeros up to pad_to bytes (flood). Returns the length or -ENOSPC.
 */
static int coap_build_get(uint8_t *buf, size_t cap, uint8_t type, uint16_t mid,
                          const uint8_t token[COAP_TOKEN_LEN], const char *path, size_t pad_to)
{
    size_t off = 4 + COAP_TOKEN_LEN;
    int n;

    if (cap < off)
        return -ENOSPC;
    buf[0] = (uint8_t)(COAP_VERSION << 6 | type << 4 | COAP_TOKEN_LEN);
    buf[1] = COAP_GET;
    buf[2] = (uint8_t)(mid >> 8);
    buf[3] = (uint8_t)mid;
    memcpy(buf + 4, token, COAP_TOKEN_LEN);
    n = coap_put_path(buf + off, cap - off, path);
    if (n < 0)
        return n;
    off += (size_t)n;
    if (pad_to > off) {
        if (pad_to < off + 2 || pad_to > cap)
            return -ENOSPC; /* a payload marker must be followed by at least one byte */
        buf[off] = 0xff;
        memset(buf + off + 1, 0, pad_to - off - 1);
        off = pad_to;
    }
    return (int)off;
}

/* Send len bytes of buf to the target. Core lock held. */
static err_t unit_send(struct unit *u, const uint8_t *buf, size_t len)
{
    ip_addr_t dst;
    struct pbuf *p;
    err_t err;

    p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
    if (!p)
        return ERR_MEM;
    pbuf_take(p, buf, (u16_t)len);
    ip_addr_set_ip4_u32_val(dst, u->o.target.addr);
    err = udp_sendto(u->pcb, p, &dst, u->o.target.port);
    pbuf_free(p);
    return err;
}

/*
 * lwIP receive callback (tcpip thread, core locked): match the answer to
 * the pending request. A piggybacked answer is an ACK with our message id
 * and token; an empty ACK announces a separate response, which carries
 * our token in a CON (which we ACK) or NON message.
 */
static void unit_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                      u16_t port)
{
    struct unit *u = arg;
    struct unit_pending *q = &u->pend;
    uint64_t now = mono_ns();
    uint8_t m[4 + COAP_TOKEN_LEN];
    u16_t n = pbuf_copy_partial(p, m, sizeof(m), 0);
    unsigned type, tkl;
    uint16_t mid;
    bool ours;

    (void)pcb;
    pbuf_free(p);
    if (!IP_IS_V4(addr) || ip4_addr_get_u32(ip_2_ip4(addr)) != u->o.target.addr ||
        port != u->o.target.port)
        return; /* not from the target */
    u->rx_from_target++;
    if (u->o.mode != UNIT_MODE_COAP)
        return;
    if (n < 4 || m[0] >> 6 != COAP_VERSION) {
        u->rx_unmatched++;
        return;
    }
    type = (m[0] >> 4) & 3;
    tkl = m[0] & 15;
    mid = (uint16_t)(m[2] << 8 | m[3]);
    ours = tkl == COAP_TOKEN_LEN && n >= 4 + tkl && memcmp(m + 4, q->token, tkl) == 0;

    if (!q->active) {
        u->rx_unmatched++; /* late: its request already counted as lost */
        return;
    }
    if ((type == COAP_T_ACK || type == COAP_T_RST) && mid == q->mid) {
        if (type == COAP_T_RST) {
            q->reset = true;
        } else if (m[1] == 0) {
            q->empty_ack = true; /* separate response to follow */
            return;
        } else if (!ours) {
            u->rx_unmatched++;
            return;
        }
    } else if ((type == COAP_T_CON || type == COAP_T_NON) && ours) {
        if (type == COAP_T_CON) {
            uint8_t ack[4] = {COAP_VERSION << 6 | COAP_T_ACK << 4, 0, m[2], m[3]};

            unit_send(u, ack, sizeof(ack));
        }
    } else {
        u->rx_unmatched++;
        return;
    }
    q->done = true;
    q->active = false;
    q->code = type == COAP_T_RST ? 0 : m[1];
    q->rx_ns = now;
    {
        uint64_t one = 1;

        if (write(u->evfd, &one, sizeof(one)) < 0) {
            /* EAGAIN: already signalled; main checks q->done under the lock anyway */
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Housekeeping in main(): switch events and the status file.                                */

/* SIGUSR1: sign with the key the key file holds now. Main thread. */
static void rekey(struct unit *u, uint64_t now)
{
    uint8_t key[XP_TUNNEL_KEY_MAX];
    uint8_t key_id;
    int len = read_key_file(u->o.key_file, key, &key_id), ret;

    if (len < 0)
        return; /* the message is printed; the old key stays */
    LOCK_TCPIP_CORE();
    ret = xp_device__set_key(&u->dev, key_id, key, (size_t)len);
    UNLOCK_TCPIP_CORE();
    explicit_bzero(key, sizeof(key));
    if (ret < 0) {
        unit_err("xp_device__set_key: %s (the old key stays)", strerror(-ret));
        return;
    }
    printf("{\"event\":\"key\",\"key_id\":%u,\"t_ms\":%" PRIu64 "}\n", key_id,
           (now - u->t0_ns) / NSEC_PER_MSEC);
}

/* A signal from the signalfd: SIGUSR1 rekeys, the others stop. true if it was a stop. */
static bool on_signal(struct unit *u, const struct signalfd_siginfo *si, uint64_t now)
{
    if (si->ssi_signo == SIGUSR1) {
        rekey(u, now);
        return false;
    }
    u->stop_signal = (int)si->ssi_signo;
    return true;
}

static void fmt_proxy(const struct unit *u, uint32_t i, char *buf, size_t cap)
{
    char a[INET_ADDRSTRLEN];

    inet_ntop(AF_INET, &u->o.proxies[i].addr, a, sizeof(a));
    snprintf(buf, cap, "%s:%u", a, u->o.proxies[i].port);
}

struct unit_snapshot {
    uint32_t current;
    uint64_t rx_from_target;
    struct xp_device_stats dev;
    struct xp_lwip_stats glue;
};

static void take_snapshot(struct unit *u, struct unit_snapshot *s)
{
    LOCK_TCPIP_CORE();
    s->current = u->dev.current;
    s->rx_from_target = u->rx_from_target;
    s->dev = u->dev.stats;
    s->glue = u->glue.stats;
    UNLOCK_TCPIP_CORE();
}

static void write_status(struct unit *u, const struct unit_snapshot *s, uint64_t now)
{
    char tmp[PATH_MAX], proxy[40];
    FILE *f;
    int ok;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", u->o.status_out) >= (int)sizeof(tmp))
        return;
    f = fopen(tmp, "w");
    if (!f)
        goto fail;
    fmt_proxy(u, s->current, proxy, sizeof(proxy));
    fprintf(f,
            "{\"t_ms\":%" PRIu64 ",\"unit_id\":%" PRIu32 ",\"proxy\":\"%s\",\"proxy_index\":%" PRIu32
            ",\"switches\":%" PRIu64 ",\"sent\":%" PRIu64 ",\"answered\":%" PRIu64
            ",\"device\":{\"tx_packets\":%" PRIu64 ",\"tx_bytes\":%" PRIu64
            ",\"tx_errors\":%" PRIu64 ",\"keepalives\":%" PRIu64 ",\"ctl_ok\":%" PRIu64
            ",\"ctl_not_proxy\":%" PRIu64 ",\"switch_timeout\":%" PRIu64
            ",\"switch_overload\":%" PRIu64 ",\"tx_no_epoch\":%" PRIu64
            ",\"epoch_changes\":%" PRIu64 ",\"key_changes\":%" PRIu64 ",\"ctl_drop\":{",
            (now - u->t0_ns) / NSEC_PER_MSEC, u->o.unit_id, proxy, s->current, u->switches,
            u->sent, u->o.mode == UNIT_MODE_COAP ? u->answered : s->rx_from_target,
            s->dev.tx_packets, s->dev.tx_bytes, s->dev.tx_errors, s->dev.keepalives,
            s->dev.ctl_ok, s->dev.ctl_not_proxy, s->dev.switch_timeout, s->dev.switch_overload,
            s->dev.tx_no_epoch, s->dev.epoch_changes, s->dev.key_changes);
    for (int i = XP_TUNNEL_OK + 1; i < XP_TUNNEL_STATUS_MAX; i++)
        fprintf(f, "%s\"%s\":%" PRIu64, i > XP_TUNNEL_OK + 1 ? "," : "",
                xp_tunnel_status_name((enum xp_tunnel_status)i), s->dev.ctl_drop[i]);
    fprintf(f,
            "}},\"lwip\":{\"bypassed\":%" PRIu64 ",\"tunnelled\":%" PRIu64 ",\"too_big\":%" PRIu64
            ",\"send_errors\":%" PRIu64 ",\"no_epoch\":%" PRIu64 ",\"held\":%" PRIu64 "}}\n",
            s->glue.bypassed, s->glue.tunnelled, s->glue.too_big, s->glue.send_errors,
            s->glue.no_epoch, s->glue.held);
    ok = !ferror(f);
    if (fclose(f) != 0 || !ok)
        goto fail;
    /* rename: a reader never sees a half-written file */
    if (rename(tmp, u->o.status_out) == 0)
        return;
fail:
    if (!u->status_warned)
        unit_err("--status-out %s: %s (continuing)", u->o.status_out, strerror(errno));
    u->status_warned = true;
}

/*
 * Switches happen in the tcpip thread (glue timer: timeout; control
 * message: overload); notice them here by comparing the current index, at
 * most UNIT_TICK_NS late. The reason is the counter that moved.
 */
static void housekeeping(struct unit *u, uint64_t now, bool force_status)
{
    struct signalfd_siginfo si;
    struct unit_snapshot s;

    u->last_tick_ns = now;
    /* a flood that has fallen behind never sleeps: see a stop request here too */
    if (read(u->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        on_signal(u, &si, now);
    take_snapshot(u, &s);
    if (s.current != u->seen_current) {
        char from[40], to[40];
        const char *why =
            s.dev.switch_overload != u->last_stats.switch_overload ? "overload" : "timeout";

        fmt_proxy(u, u->seen_current, from, sizeof(from));
        fmt_proxy(u, s.current, to, sizeof(to));
        printf("{\"event\":\"switch\",\"from\":\"%s\",\"to\":\"%s\",\"reason\":\"%s\","
               "\"t_ms\":%" PRIu64 "}\n",
               from, to, why, (now - u->t0_ns) / NSEC_PER_MSEC);
        u->seen_current = s.current;
        u->switches++;
    }
    u->last_stats = s.dev;
    if (u->o.status_out && (force_status || now - u->last_status_ns >= NSEC_PER_SEC)) {
        u->last_status_ns = now;
        write_status(u, &s, now);
    }
}

enum unit_wait {
    UNIT_WAIT_DEADLINE = 0,
    UNIT_WAIT_EVENT = 1,
    UNIT_WAIT_STOP = 2,
};

/*
 * Sleep until deadline (CLOCK_MONOTONIC ns), doing housekeeping every
 * tick. Returns early on SIGINT/SIGTERM, and on a reply when wake is set.
 */
static enum unit_wait idle_until(struct unit *u, uint64_t deadline, bool wake)
{
    struct pollfd fds[2] = {{.fd = u->sigfd, .events = POLLIN}, {.fd = u->evfd, .events = POLLIN}};

    for (;;) {
        uint64_t now = mono_ns(), slice;
        struct timespec ts;

        if (now - u->last_tick_ns >= UNIT_TICK_NS)
            housekeeping(u, now, false);
        if (now >= deadline)
            return UNIT_WAIT_DEADLINE;
        slice = deadline - now;
        if (slice > UNIT_TICK_NS)
            slice = UNIT_TICK_NS;
        ts.tv_sec = (time_t)(slice / NSEC_PER_SEC);
        ts.tv_nsec = (long)(slice % NSEC_PER_SEC);
        if (ppoll(fds, wake ? 2 : 1, &ts, NULL) <= 0)
            continue; /* timeout, or EINTR from a signal we do not handle */
        if (fds[0].revents & POLLIN) {
            struct signalfd_siginfo si;

            if (read(u->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
                on_signal(u, &si, mono_ns()))
                return UNIT_WAIT_STOP;
            continue;
        }
        if (wake && (fds[1].revents & POLLIN)) {
            uint64_t v;

            if (read(u->evfd, &v, sizeof(v)) < 0) {
                /* EAGAIN: nothing left; the caller checks the shared state anyway */
            }
            return UNIT_WAIT_EVENT;
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* The two modes.                                                                             */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array of n > 0 values. */
static uint32_t percentile(const uint32_t *v, uint64_t n, unsigned pct)
{
    uint64_t rank = (n * pct + 99) / 100;

    return v[rank ? rank - 1 : 0];
}

/*
 * One confirmable GET at a time: send, wait up to timeout_ms for its
 * answer, then wait for the next start (start + interval_ms), so the
 * period is max(interval, RTT). No CoAP retransmission: a loss is a loss.
 */
static void run_coap(struct unit *u, uint64_t end)
{
    uint8_t msg[COAP_MAX_MSG];
    uint16_t mid;
    uint32_t rnd[2] = {0, 0};

    /* random start of message ids and tokens, like a real CoAP stack (RFC 7252 4.4, 5.3.1) */
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        rnd[0] = (uint32_t)mono_ns();
        rnd[1] = u->o.unit_id;
    }
    mid = (uint16_t)rnd[0];

    for (uint32_t seq = 0; seq < u->o.count && !u->stop_signal; seq++, mid++) {
        uint64_t t_send, deadline;
        uint8_t token[COAP_TOKEN_LEN];
        struct unit_pending got;
        char proxy[40];
        uint32_t via;
        enum unit_wait w;
        int len;
        err_t err;

        if (end && mono_ns() >= end)
            break;
        memcpy(token, &seq, 4);
        memcpy(token + 4, &rnd[1], 4);
        len = coap_build_get(msg, sizeof(msg), COAP_T_CON, mid, token, u->o.path, 0);
        if (len < 0) /* not reached: the path length is checked at parse time */
            break;

        LOCK_TCPIP_CORE();
        memset(&u->pend, 0, sizeof(u->pend));
        u->pend.active = true;
        u->pend.mid = mid;
        memcpy(u->pend.token, token, sizeof(token));
        via = u->dev.current; /* the proxy this request is tunnelled through */
        t_send = mono_ns();
        err = unit_send(u, msg, (size_t)len);
        if (err != ERR_OK)
            u->pend.active = false;
        UNLOCK_TCPIP_CORE();
        fmt_proxy(u, via, proxy, sizeof(proxy));
        if (err != ERR_OK) {
            u->send_errors++;
            printf("{\"seq\":%" PRIu32 ",\"error\":\"udp_sendto: %d\",\"proxy\":\"%s\"}\n", seq,
                   (int)err, proxy);
            goto next;
        }
        u->sent++;

        deadline = t_send + (uint64_t)u->o.timeout_ms * NSEC_PER_MSEC;
        do {
            w = idle_until(u, deadline, true);
            LOCK_TCPIP_CORE();
            got = u->pend;
            if (!got.done && (w != UNIT_WAIT_EVENT))
                u->pend.active = false; /* deadline or stop: give up on it */
            UNLOCK_TCPIP_CORE();
        } while (!got.done && w == UNIT_WAIT_EVENT);

        if (got.done && got.reset) {
            u->resets++;
            printf("{\"seq\":%" PRIu32 ",\"rtt_us\":%" PRIu64 ",\"code\":\"RST\",\"proxy\":\"%s\"}\n",
                   seq, (got.rx_ns - t_send) / 1000, proxy);
        } else if (got.done) {
            uint64_t rtt = (got.rx_ns - t_send) / 1000;

            u->rtt_us[u->answered++] = rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt;
            printf("{\"seq\":%" PRIu32 ",\"rtt_us\":%" PRIu64 ",\"code\":\"%u.%02u\","
                   "\"proxy\":\"%s\"}\n",
                   seq, rtt, (unsigned)got.code >> 5, (unsigned)got.code & 31u, proxy);
        } else if (w == UNIT_WAIT_STOP) {
            u->sent--; /* interrupted while waiting: neither answered nor lost */
            break;
        } else {
            u->lost++;
            printf("{\"seq\":%" PRIu32 ",\"lost\":true,\"proxy\":\"%s\"}\n", seq, proxy);
        }
next:
        if (seq + 1 < u->o.count) {
            uint64_t next = t_send + (uint64_t)u->o.interval_ms * NSEC_PER_MSEC;

            if (end && next > end)
                next = end;
            if (idle_until(u, next, false) == UNIT_WAIT_STOP)
                break;
        }
    }
}

static void print_coap_summary(struct unit *u, const char *proxy)
{
    printf("{\"mode\":\"coap\",\"sent\":%" PRIu64 ",\"answered\":%" PRIu64 ",\"lost\":%" PRIu64
           ",\"reset\":%" PRIu64 ",\"unmatched\":%" PRIu64 ",\"send_errors\":%" PRIu64,
           u->sent, u->answered, u->lost, u->resets, u->rx_unmatched, u->send_errors);
    if (u->answered) {
        qsort(u->rtt_us, u->answered, sizeof(u->rtt_us[0]), cmp_u32);
        printf(",\"rtt_us\":{\"min\":%" PRIu32 ",\"median\":%" PRIu32 ",\"p99\":%" PRIu32
               ",\"max\":%" PRIu32 "}",
               u->rtt_us[0], percentile(u->rtt_us, u->answered, 50),
               percentile(u->rtt_us, u->answered, 99), u->rtt_us[u->answered - 1]);
    } else {
        printf(",\"rtt_us\":{\"min\":null,\"median\":null,\"p99\":null,\"max\":null}");
    }
    printf(",\"switches\":%" PRIu64 ",\"proxy\":\"%s\",\"interrupted\":%s}\n", u->switches, proxy,
           u->stop_signal ? "true" : "false");
}

/*
 * rate x duration NON GETs of --size bytes, each sent at t0 + i / rate
 * (a fixed schedule: when sending falls behind, the next ones go without
 * sleeping, so the mean rate holds). Bounded by the message count and by
 * duration + 1 s of wall time, whichever comes first.
 */
static void run_flood(struct unit *u, uint64_t *elapsed_ns)
{
    uint64_t total = (uint64_t)u->o.rate * u->o.duration_s;
    uint64_t t0 = mono_ns(), hard_end = t0 + ((uint64_t)u->o.duration_s + 1) * NSEC_PER_SEC;
    uint8_t msg[COAP_MAX_MSG], token[COAP_TOKEN_LEN] = {0};
    uint16_t mid = (uint16_t)t0;
    uint64_t i;

    memcpy(token + 4, &u->o.unit_id, 4);
    for (i = 0; i < total && !u->stop_signal; i++, mid++) {
        uint64_t due = t0 + i * NSEC_PER_SEC / u->o.rate;
        uint32_t i32 = (uint32_t)i;
        int len;
        err_t err;

        if (due > mono_ns() && idle_until(u, due, false) == UNIT_WAIT_STOP)
            break;
        if (mono_ns() >= hard_end)
            break;
        memcpy(token, &i32, 4);
        len = coap_build_get(msg, sizeof(msg), COAP_T_NON, mid, token, u->o.path, u->o.size);
        if (len < 0)
            break; /* not reached: checked before the run */
        LOCK_TCPIP_CORE();
        err = unit_send(u, msg, (size_t)len);
        UNLOCK_TCPIP_CORE();
        if (err == ERR_OK)
            u->sent++;
        else
            u->send_errors++;
        if (mono_ns() - u->last_tick_ns >= UNIT_TICK_NS)
            housekeeping(u, mono_ns(), false);
    }
    *elapsed_ns = mono_ns() - t0;
    if (!u->stop_signal)
        idle_until(u, mono_ns() + UNIT_DRAIN_NS, false);
}

/* ------------------------------------------------------------------------------------------ */
/* lwIP bring-up and teardown.                                                                */

/* Core lock held. Returns 0 or an exit code (message printed). */
static int unit_lwip_setup(struct unit *u, const uint8_t *key, size_t key_len, uint8_t key_id)
{
    struct xp_device_config cfg = {
        .unit_id = u->o.unit_id,
        .key_id = key_id,
        .secret = key,
        .secret_len = key_len,
        .seq_base = u->o.seq_base,
    };
    ip4_addr_t ip, mask, gw;
    err_t err;
    int ret;

    ip4_addr_set_u32(&ip, u->o.ip);
    ip4_addr_set_u32(&mask, u->o.netmask);
    ip4_addr_set_u32(&gw, u->o.gw);
    /* tapif_init opens PRECONFIGURED_TAPIF and, with it set, runs no ifconfig */
    if (!netif_add(&u->netif, &ip, &mask, &gw, NULL, tapif_init, tcpip_input)) {
        unit_err("netif_add failed");
        return EXIT_FAIL;
    }
    /*
     * tapif gives every instance 02:12:34:56:78:ab; units sharing a bridge
     * need their own: locally administered 02:58:50 ("XP") + the unit id's
     * low 24 bits. Set before netif_set_up(), so the gratuitous ARP has it.
     */
    u->netif.hwaddr[0] = 0x02;
    u->netif.hwaddr[1] = 0x58;
    u->netif.hwaddr[2] = 0x50;
    u->netif.hwaddr[3] = (u8_t)(u->o.unit_id >> 16);
    u->netif.hwaddr[4] = (u8_t)(u->o.unit_id >> 8);
    u->netif.hwaddr[5] = (u8_t)u->o.unit_id;
    u->netif.mtu = UNIT_MTU;
    netif_set_default(&u->netif);

    ret = xp_device__init(&u->dev, &cfg, sys_now());
    if (ret < 0) {
        unit_err("xp_device__init: %s", strerror(-ret));
        return EXIT_FAIL_OPTION;
    }
    for (unsigned i = 0; i < u->o.n_proxies; i++) {
        ret = xp_device__add_proxy(&u->dev, 4, (const uint8_t *)&u->o.proxies[i].addr,
                                   u->o.proxies[i].port, u->o.proxies[i].id);
        if (ret < 0) {
            unit_err("xp_device__add_proxy: %s", strerror(-ret));
            return EXIT_FAIL_OPTION;
        }
    }
    if (!u->o.no_tunnel) {
        err = xp_lwip__attach(&u->glue, &u->dev, &u->netif, (u16_t)u->o.local_port);
        if (err != ERR_OK) {
            unit_err("xp_lwip__attach: lwIP error %d", (int)err);
            return EXIT_FAIL;
        }
        u->attached = true;
    }

    u->pcb = udp_new_ip_type(IPADDR_TYPE_V4);
    if (!u->pcb) {
        unit_err("udp_new: out of memory");
        return EXIT_FAIL_MEM;
    }
    err = udp_bind(u->pcb, IP4_ADDR_ANY, 0);
    if (err != ERR_OK) {
        unit_err("udp_bind: lwIP error %d", (int)err);
        return EXIT_FAIL;
    }
    udp_recv(u->pcb, unit_recv, u);
    return EXIT_OK; /* the caller sets the netif up once the TAP's link is (tap_wait_up) */
}

/*
 * tapif opened the TAP, which turns its carrier on; the kernel acts on that
 * later (linkwatch, up to a second), and until then a bridge the TAP is in
 * drops what we send: our first ARP request was lost and the first packets
 * waited in lwIP for its 1 s retry. A device's driver reports link up to
 * lwIP; this is the host's equivalent. Bounded; on timeout we go on anyway.
 */
static void tap_wait_up(const char *tap, unsigned timeout_ms)
{
    char path[64], state[16];
    const struct timespec tick = {.tv_nsec = 10 * 1000 * 1000};

    snprintf(path, sizeof(path), "/sys/class/net/%s/operstate", tap);
    for (unsigned waited = 0;; waited += 10) {
        FILE *f = fopen(path, "re");
        bool up = false;

        if (f) {
            up = fgets(state, sizeof(state), f) && strncmp(state, "up", 2) == 0;
            fclose(f);
        }
        if (up)
            return;
        if (waited >= timeout_ms) {
            unit_err("--tap %s: link not up after %u ms, starting anyway", tap, timeout_ms);
            return;
        }
        nanosleep(&tick, NULL);
    }
}

/*
 * Core lock held. Down first, so nothing leaves untunnelled after the
 * glue is gone (a late reply to a removed pcb would draw an ICMP error).
 */
static void unit_lwip_teardown(struct unit *u)
{
    netif_set_down(&u->netif);
    if (u->pcb)
        udp_remove(u->pcb);
    u->pcb = NULL;
    if (u->attached)
        xp_lwip__detach(&u->glue);
    u->attached = false;
    xp_device__wipe(&u->dev);
}

int main(int argc, char **argv)
{
    struct unit *u = &g_unit;
    uint8_t key[XP_TUNNEL_KEY_MAX];
    char proxy[40], ipbuf[INET_ADDRSTRLEN];
    uint64_t end = 0, elapsed_ns = 0;
    sigset_t sigs;
    uint8_t key_id;
    int key_len, ret;

    ret = parse_args(argc, argv, &u->o);
    if (ret == 1) {
        usage(stdout);
        return EXIT_OK;
    }
    if (ret == 2) {
        printf(PROG " %s\n", XP_VERSION);
        return EXIT_OK;
    }
    if (ret < 0)
        return EXIT_FAIL_OPTION;
    if (u->o.mode == UNIT_MODE_FLOOD) {
        uint8_t probe[COAP_MAX_MSG], tok[COAP_TOKEN_LEN] = {0};
        int min = coap_build_get(probe, sizeof(probe), COAP_T_NON, 0, tok, u->o.path, 0);

        if (min < 0 || u->o.size < (uint32_t)min + 2) {
            unit_err("--size %" PRIu32 ": at least %d bytes with --path '%s'", u->o.size,
                     min + 2, u->o.path);
            return EXIT_FAIL_OPTION;
        }
    }
    key_len = read_key_file(u->o.key_file, key, &key_id);
    if (key_len < 0)
        return EXIT_FAIL_OPTION;
    ret = check_tap(u->o.tap);
    if (ret != EXIT_OK)
        goto out_wipe_key;
    if (!u->o.have_seq_base) {
        /* docs/tunnel.md: a real-time clock in us never goes back across runs */
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        u->o.seq_base = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    }
    if (u->o.mode == UNIT_MODE_COAP) {
        u->rtt_us = calloc(u->o.count, sizeof(u->rtt_us[0]));
        if (!u->rtt_us) {
            unit_err("out of memory for %" PRIu32 " RTTs", u->o.count);
            ret = EXIT_FAIL_MEM;
            goto out_wipe_key;
        }
    }

    /* block before lwIP starts its threads, so they inherit the mask and only the signalfd sees them */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    u->sigfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
    u->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (u->sigfd < 0 || u->evfd < 0) {
        unit_err("signalfd/eventfd: %s", strerror(errno));
        ret = EXIT_FAIL;
        goto out_free;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* one JSON object per line, seen as it happens */
    if (setenv("PRECONFIGURED_TAPIF", u->o.tap, 1) != 0) {
        unit_err("setenv: %s", strerror(errno));
        ret = EXIT_FAIL;
        goto out_free;
    }

    tcpip_init(NULL, NULL); /* starts the tcpip thread; the core lock exists on return */
    LOCK_TCPIP_CORE();
    ret = unit_lwip_setup(u, key, (size_t)key_len, key_id);
    explicit_bzero(key, sizeof(key)); /* the device holds its own derived copy now */
    if (ret != EXIT_OK) {
        unit_lwip_teardown(u);
        UNLOCK_TCPIP_CORE();
        goto out_free;
    }
    u->seen_current = u->dev.current;
    UNLOCK_TCPIP_CORE();
    tap_wait_up(u->o.tap, 3000);
    /* up last: from here on every packet the stack sends goes through the glue */
    LOCK_TCPIP_CORE();
    netif_set_up(&u->netif);
    UNLOCK_TCPIP_CORE();

    u->t0_ns = mono_ns();
    if (u->o.mode == UNIT_MODE_COAP && u->o.duration_s)
        end = u->t0_ns + (uint64_t)u->o.duration_s * NSEC_PER_SEC;
    inet_ntop(AF_INET, &u->o.ip, ipbuf, sizeof(ipbuf));
    fmt_proxy(u, u->seen_current, proxy, sizeof(proxy));
    {
        /* The wall clock at t_ms 0, so that tests can relate our times to theirs. */
        struct timespec rt, mono;

        clock_gettime(CLOCK_REALTIME, &rt);
        clock_gettime(CLOCK_MONOTONIC, &mono);
        printf("{\"event\":\"start\",\"unit_id\":%" PRIu32 ",\"tap\":\"%s\",\"ip\":\"%s/%u\","
               "\"proxy\":\"%s\",\"mode\":\"%s\",\"t_ms\":0,\"wall_ms\":%" PRIu64 "}\n",
               u->o.unit_id, u->o.tap, ipbuf, u->o.prefix, proxy,
               u->o.mode == UNIT_MODE_COAP ? "coap" : "flood",
               ((uint64_t)rt.tv_sec * NSEC_PER_SEC + (uint64_t)rt.tv_nsec -
                ((uint64_t)mono.tv_sec * NSEC_PER_SEC + (uint64_t)mono.tv_nsec - u->t0_ns)) /
                   NSEC_PER_MSEC);
    }
    housekeeping(u, u->t0_ns, true);

    if (u->o.mode == UNIT_MODE_COAP)
        run_coap(u, end);
    else
        run_flood(u, &elapsed_ns);

    housekeeping(u, mono_ns(), true); /* last switch event and status, before the wipe */
    fmt_proxy(u, u->seen_current, proxy, sizeof(proxy));
    LOCK_TCPIP_CORE();
    unit_lwip_teardown(u);
    UNLOCK_TCPIP_CORE();

    if (u->o.mode == UNIT_MODE_COAP) {
        print_coap_summary(u, proxy);
    } else {
        uint64_t ms = elapsed_ns / NSEC_PER_MSEC;

        printf("{\"mode\":\"flood\",\"sent\":%" PRIu64 ",\"send_errors\":%" PRIu64
               ",\"answered\":%" PRIu64 ",\"elapsed_ms\":%" PRIu64 ",\"rate_pps\":%" PRIu64
               ",\"switches\":%" PRIu64 ",\"proxy\":\"%s\",\"interrupted\":%s}\n",
               u->sent, u->send_errors, u->rx_from_target, ms,
               ms ? u->sent * 1000 / ms : 0, u->switches, proxy,
               u->stop_signal ? "true" : "false");
    }
    ret = EXIT_OK;
    /*
     * lwIP's threads keep running (tapif has no way to stop its thread):
     * returning from main ends them with the process.
     */
out_free:
    free(u->rtt_us);
    u->rtt_us = NULL;
out_wipe_key:
    explicit_bzero(key, sizeof(key));
    return ret;
}
