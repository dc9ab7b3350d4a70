// SPDX-License-Identifier: GPL-2.0-only
/*
 * Config parser: every class of error names file:line:col and the key path;
 * valid files give the documented defaults; the key table printed by the
 * parser is the one in conf/README.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <unistd.h>
#include <sys/stat.h>

#include "src/proxy/config.h"

#include "xp_check.h"

static void expect_error(const char *text, int err, const char *msg_expected)
{
    struct xp_config cfg;
    char msg[512] = "";
    int ret = xp_config_parse("t.json", text, &cfg, msg, sizeof(msg));

    if (ret == 0)
        xp_config_release(&cfg);
    CHECK_MSG(ret == err, "%s: got %d (%s), want %d", text, ret, msg, err);
    CHECK_MSG(strcmp(msg, msg_expected) == 0, "message\n  got:  %s\n  want: %s", msg, msg_expected);
}

static void test_errors(void)
{
    expect_error("{\"ports\": {\"access\": \"a\", \"core\": \"b\"},\n  \"queus\": 2}",
                 XP_CONF_E_UNKNOWN_KEY, "t.json:2:3: queus: unknown key");
    expect_error("{\"ports\": {\"access\": \"a\", \"core\": \"b\"},\n\"queues\": \"2\"}",
                 XP_CONF_E_TYPE, "t.json:2:1: queues: expected an integer");
    expect_error("{\"ports\": {\"access\": \"a\", \"core\": \"b\"}, \"queues\": 65}",
                 XP_CONF_E_RANGE, "t.json:1:41: queues: 65 is out of range 1..64");
    expect_error("{\"ports\": {\"access\": \"a\",\n            \"cor\": \"b\"}}",
                 XP_CONF_E_UNKNOWN_KEY, "t.json:2:13: ports.cor: unknown port role (access, core)");
    expect_error("{\"ports\": {\"access\": \"a\"}}", XP_CONF_E_MISSING,
                 "t.json:1:2: ports: missing \"core\"");
    expect_error("{\"queues\": 1}", XP_CONF_E_MISSING,
                 "t.json:1:1: (top): missing required key \"ports\"");
    expect_error("{\"ports\": {\"access\": \"a\", \"core\": \"b\"},\n \"fail_mode\": \"ajar\"}",
                 XP_CONF_E_RANGE, "t.json:2:2: fail_mode: expected one of \"open\", \"closed\"");
    expect_error("{\"ports\": {\"access\": \"a\", \"core\": \"b\"},\n \"policer\": {\"dst_policy\": \"fair\"}}",
                 XP_CONF_E_RANGE,
                 "t.json:2:14: policer.dst_policy: expected one of \"drop_all\", \"fair_share\"");
    expect_error("{\"ports\": {\"access\": \"a\", \"core\": \"b\"},\n \"busy_poll\": 1}",
                 XP_CONF_E_TYPE, "t.json:2:2: busy_poll: expected true or false");
    expect_error("{\"ports\": {\"access\": \"a\", \"core\": \"b\"},\n \"mgmt_prefixes\": [\"198.18.0.0/15\",\n   \"10.0.0.0/33\"]}",
                 XP_CONF_E_RANGE, "t.json:3:4: mgmt_prefixes.1: \"10.0.0.0/33\" is not an IPv4 or IPv6 prefix");
    expect_error("{\"ports\": {\"access\": \"a\", \"core\": \"b\"}, \"cpus\": [0, -1]}",
                 XP_CONF_E_TYPE, "t.json:1:53: cpus.1: expected a CPU number 0..4095");
    expect_error("{\"ports\": {\"access\": \"a\", \"core\": \"a\"}}", XP_CONF_E_RANGE,
                 "t.json:1:2: ports: access and core must be different interfaces");
    expect_error("{\"ports\": {\"access\": \"a\", \"core\": \"b\"}, \"ring_size\": 1000}",
                 XP_CONF_E_RANGE, "t.json:1:41: ring_size: must be a power of two");
    expect_error("{\"ports\": {\"access\": \"a\", \"core\": \"b\"}, \"ports\": {}}",
                 XP_CONF_E_SYNTAX, "t.json:1:47: duplicate object key near '\"ports\"'");
    expect_error("{\"ports\": {\"access\": \"a\", \"core\": \"b\"},}", XP_CONF_E_SYNTAX,
                 "t.json:1:40: string or '}' expected near '}'");
    expect_error("[1, 2]", XP_CONF_E_TYPE,
                 "t.json:1:1: (top): the configuration must be a JSON object");
    expect_error("{\"ports\": {\"access\": \"a\", \"core\": \"b\"}, \"proxy_id\": \"\"}",
                 XP_CONF_E_RANGE, "t.json:1:41: proxy_id: length must be 1..63");
    expect_error("{\"ports\": {\"access\": \"a\", \"core\": \"b\"}, \"mode\": \"gateway\"}",
                 XP_CONF_E_MISSING, "t.json:1:41: mode: gateway mode needs \"units\"");
}

#define GW_HEAD "{\"ports\": {\"access\": \"a\", \"core\": \"b\"}, \"mode\": \"gateway\",\n"
#define KEY32 "00112233445566778899aabbccddeeff"

/* Gateway units: every field checked, errors down to gateway.units.N.sources.M. */
static void test_gateway(void)
{
    struct xp_config cfg;
    char msg[512] = "";

    expect_error(GW_HEAD " \"gateway\": {\"units\": [{\"id\": 1, \"key\": \"" KEY32 "\",\n"
                 "   \"sources\": [\"198.18.2.2/32\", \"198.18.2.300/32\"]}]}}",
                 XP_CONF_E_RANGE, "t.json:3:33: gateway.units.0.sources.1: \"198.18.2.300/32\" is "
                 "not an IPv4 or IPv6 prefix");
    expect_error(GW_HEAD " \"gateway\": {\"units\": [{\"id\": 1, \"key\": \"abc\", \"sources\": "
                 "[\"198.18.2.2/32\"]}]}}", XP_CONF_E_RANGE,
                 "t.json:2:34: gateway.units.0.key: expected 32..128 hex digits");
    expect_error(GW_HEAD " \"gateway\": {\"units\": [{\"id\": 1, \"key\": \"" KEY32 "\"}]}}",
                 XP_CONF_E_MISSING,
                 "t.json:2:24: gateway.units.0: a unit needs \"id\", \"keys\" (or \"key\") and "
                 "\"sources\"");
    expect_error(GW_HEAD " \"gateway\": {\"units\": [{\"id\": 0, \"key\": \"" KEY32 "\", "
                 "\"sources\": [\"198.18.2.2/32\"]}]}}", XP_CONF_E_RANGE,
                 "t.json:2:25: gateway.units.0.id: expected an integer 1..4294967295");
    expect_error(GW_HEAD " \"gateway\": {\"units\": [{\"id\": 1, \"key\": \"" KEY32 "\", "
                 "\"sources\": [\"198.18.2.2/32\"], \"colour\": 1}]}}", XP_CONF_E_UNKNOWN_KEY,
                 "t.json:2:107: gateway.units.0.colour: unknown key (id, keys, key, sources)");
    expect_error(GW_HEAD " \"gateway\": {\"units\": [\n"
                 "  {\"id\": 5, \"key\": \"" KEY32 "\", \"sources\": [\"198.18.2.2/32\"]},\n"
                 "  {\"id\": 5, \"key\": \"" KEY32 "\", \"sources\": [\"198.18.2.3/32\"]}]}}",
                 XP_CONF_E_RANGE, "t.json:4:3: gateway.units.1: unit id 5 appears twice");
    expect_error(GW_HEAD " \"gateway\": {\"units\": [\n"
                 "  {\"id\": 5, \"key\": \"" KEY32 "\", \"sources\": [\"198.18.2.0/24\"]},\n"
                 "  {\"id\": 6, \"key\": \"" KEY32 "\", \"sources\": [\"198.18.2.3/32\"]}]}}",
                 XP_CONF_E_RANGE, "t.json:4:3: gateway.units.1: sources.0 overlaps the sources of unit 5");
    expect_error("{\"ports\": {\"access\": \"a\", \"core\": \"b\"},\n \"gateway\": {\"units\": "
                 "[{\"id\": 1, \"key\": \"" KEY32 "\", \"sources\": [\"198.18.2.2/32\"]}]}}",
                 XP_CONF_E_UNSUPPORTED, "t.json:2:2: gateway: only with \"mode\": \"gateway\"");
    /* keys: the rotation form */
    expect_error(GW_HEAD " \"gateway\": {\"units\": [{\"id\": 1, \"key\": \"" KEY32 "\", "
                 "\"keys\": [], \"sources\": [\"198.18.2.2/32\"]}]}}", XP_CONF_E_RANGE,
                 "t.json:2:77: gateway.units.0.keys: \"key\" or \"keys\", not both");
    expect_error(GW_HEAD " \"gateway\": {\"units\": [{\"id\": 1, \"keys\": [], "
                 "\"sources\": [\"198.18.2.2/32\"]}]}}", XP_CONF_E_RANGE,
                 "t.json:2:34: gateway.units.0.keys: at least one key");
    expect_error(GW_HEAD " \"gateway\": {\"units\": [{\"id\": 1, \"keys\": [{\"id\": 256, "
                 "\"key\": \"" KEY32 "\"}], \"sources\": [\"198.18.2.2/32\"]}]}}", XP_CONF_E_RANGE,
                 "t.json:2:44: gateway.units.0.keys.0.id: expected an integer 0..255");
    expect_error(GW_HEAD " \"gateway\": {\"units\": [{\"id\": 1, \"keys\": [{\"id\": 3, "
                 "\"key\": \"" KEY32 "\"}, {\"id\": 3, \"key\": \"" KEY32 "\"}], "
                 "\"sources\": [\"198.18.2.2/32\"]}]}}", XP_CONF_E_RANGE,
                 "t.json:2:97: gateway.units.0.keys.1: key id 3 appears twice");
    expect_error(GW_HEAD " \"gateway\": {\"units\": [{\"id\": 1, \"keys\": [{\"id\": 3}], "
                 "\"sources\": [\"198.18.2.2/32\"]}]}}", XP_CONF_E_MISSING,
                 "t.json:2:43: gateway.units.0.keys.0: a key needs \"id\" and \"key\"");
    expect_error(GW_HEAD " \"gateway\": {\"units\": [{\"id\": 1, \"keys\": ["
                 "{\"id\": 0, \"key\": \"" KEY32 "\"}, {\"id\": 1, \"key\": \"" KEY32 "\"}, "
                 "{\"id\": 2, \"key\": \"" KEY32 "\"}, {\"id\": 3, \"key\": \"" KEY32 "\"}, "
                 "{\"id\": 4, \"key\": \"" KEY32 "\"}], \"sources\": [\"198.18.2.2/32\"]}]}}",
                 XP_CONF_E_RANGE, "t.json:2:34: gateway.units.0.keys: at most 4 keys");
    /* every proxy a unit may use has its own tunnel id: a gateway without one is refused */
    expect_error(GW_HEAD " \"gateway\": {\"units\": [{\"id\": 1, \"key\": \"" KEY32 "\", "
                 "\"sources\": [\"198.18.2.2/32\"]}]}}", XP_CONF_E_MISSING,
                 "t.json:2:2: gateway: gateway mode needs \"tunnel_id\" (1..65535, one per proxy)");
    if (xp_config_parse("t.json", GW_HEAD " \"gateway\": {\"tunnel_port\": 6000, \"tunnel_id\": 7, "
                        "\"units\": [{\"id\": 4000000000, \"key\": \"" KEY32 "\", \"sources\": "
                        "[\"198.18.2.2/32\", \"2001:2::/64\"]}, {\"id\": 9, \"keys\": [{\"id\": 200, "
                        "\"key\": \"" KEY32 "\"}, {\"id\": 1, \"key\": \"" KEY32 KEY32 "\"}], "
                        "\"sources\": [\"198.18.2.3/32\"]}]}}", &cfg, msg, sizeof(msg))) {
        CHECK_MSG(0, "valid gateway config refused: %s", msg);
        return;
    }
    CHECK_MSG(cfg.mode == XP_MODE_GATEWAY && cfg.gw.n_units == 2 && cfg.gw.tunnel_port == 6000 &&
          cfg.gw.capacity_pps == 1000000 && cfg.gw.tunnel_id == 7 && cfg.gw.mac_fail_pps == 100,
          "gateway fields");
    CHECK_MSG(cfg.gw.units[0].id == 4000000000u && cfg.gw.units[0].n_keys == 1 &&
          cfg.gw.units[0].keys[0].id == 0 && cfg.gw.units[0].keys[0].len == 16 &&
          cfg.gw.units[0].keys[0].key[1] == 0x11 && cfg.gw.units[0].n_sources == 2, "unit fields");
    CHECK_MSG(cfg.gw.units[1].n_keys == 2 && cfg.gw.units[1].keys[0].id == 200 &&
          cfg.gw.units[1].keys[1].id == 1 && cfg.gw.units[1].keys[1].len == 32,
          "a unit's keys, in order");
}

static void test_port_settings(void)
{
    struct xp_config cfg;
    char msg[512] = "";
    int ret;

    ret = xp_config_parse("t.json",
                          "{\"ports\": {\"access\": \"a\", \"core\": \"b\"}, \"busy_poll\": true,\n"
                          " \"port_settings\": {\"default\": {\"xdp_mode\": \"skb\"},\n"
                          "   \"core\": {\"xdp_mode\": \"native\", \"busy_poll\": false}}}",
                          &cfg, msg, sizeof(msg));
    CHECK_MSG(ret == 0, "port_settings: %s", msg);
    /* access: default block's skb, top-level busy_poll; core: its own block for both. */
    CHECK_MSG(cfg.port_xdp_skb[XP_PORT_ACCESS] == 1 && cfg.port_busy_poll[XP_PORT_ACCESS],
          "access resolves to default block then top level");
    CHECK_MSG(cfg.port_xdp_skb[XP_PORT_CORE] == 0 && !cfg.port_busy_poll[XP_PORT_CORE],
          "core's own block wins");
    ret = xp_config_parse("t.json", "{\"ports\": {\"access\": \"a\", \"core\": \"b\"}}", &cfg,
                          msg, sizeof(msg));
    CHECK_MSG(ret == 0 && cfg.port_xdp_skb[0] == 0 && cfg.port_xdp_skb[1] == 0 &&
          !cfg.port_busy_poll[0] && !cfg.port_busy_poll[1], "no blocks: top-level defaults");
    expect_error("{\"ports\": {\"access\": \"a\", \"core\": \"b\"},\n"
                 " \"port_settings\": {\"xpc\": {}}}",
                 XP_CONF_E_UNKNOWN_KEY,
                 "t.json:2:20: port_settings.xpc: unknown block (default, access, core)");
    expect_error("{\"ports\": {\"access\": \"a\", \"core\": \"b\"},\n"
                 " \"port_settings\": {\"core\": {\"queues\": 2}}}",
                 XP_CONF_E_UNKNOWN_KEY,
                 "t.json:2:29: port_settings.core.queues: unknown key (per port: xdp_mode, busy_poll)");
    expect_error("{\"ports\": {\"access\": \"a\", \"core\": \"b\"},\n"
                 " \"port_settings\": {\"access\": {\"busy_poll\": \"yes\"}}}",
                 XP_CONF_E_TYPE, "t.json:2:31: port_settings.access.busy_poll: expected true or false");
}

static void test_defaults_and_values(void)
{
    struct xp_config cfg;
    char msg[512] = "";
    int ret;

    ret = xp_config_parse("t.json", "{\"ports\": {\"access\": \"xpa\", \"core\": \"xpc\"}}", &cfg,
                          msg, sizeof(msg));
    CHECK_MSG(ret == 0, "minimal config: %s", msg);
    CHECK_MSG(strcmp(cfg.port_name[XP_PORT_ACCESS], "xpa") == 0, "access port");
    CHECK_MSG(strcmp(cfg.port_name[XP_PORT_CORE], "xpc") == 0, "core port");
    CHECK_MSG(cfg.queues == 1 && cfg.frames_per_queue == 8192 && cfg.ring_size == 2048,
          "defaults");
    CHECK_MSG(cfg.fail_mode_closed == 0 && cfg.n_cpus == 0 && cfg.stats_interval_ms == 1000,
          "defaults");
    CHECK_MSG(cfg.pol.dst_policy == XP_DST_DROP_ALL, "dst_policy defaults to drop_all");
    ret = xp_config_parse("t.json",
                          "{\"ports\": {\"access\": \"a\", \"core\": \"b\"},"
                          " \"policer\": {\"dst_policy\": \"fair_share\"}}",
                          &cfg, msg, sizeof(msg));
    CHECK_MSG(ret == 0 && cfg.pol.dst_policy == XP_DST_FAIR_SHARE, "dst_policy fair_share: %s", msg);
    {
        /* reloadable: a live switch between the policies is accepted */
        struct xp_config old;

        CHECK(xp_config_parse("t.json", "{\"ports\": {\"access\": \"a\", \"core\": \"b\"}}",
                              &old, msg, sizeof(msg)) == 0);
        CHECK_MSG(xp_config_reload_check(&old, &cfg, msg, sizeof(msg)) == 0,
                  "reload to fair_share refused: %s", msg);
    }

    ret = xp_config_parse("t.json",
                          "{\"ports\": {\"access\": \"a\", \"core\": \"b\"}, \"fail_mode\": \"closed\","
                          " \"cpus\": [1, 0], \"mgmt_prefixes\": [\"198.18.255.7/24\", \"2001:2::/48\"]}",
                          &cfg, msg, sizeof(msg));
    CHECK_MSG(ret == 0, "full config: %s", msg);
    CHECK_MSG(cfg.fail_mode_closed == 1, "fail_mode closed");
    CHECK_MSG(cfg.n_cpus == 2 && cfg.cpus[0] == 1 && cfg.cpus[1] == 0, "cpus");
    CHECK_MSG(cfg.n_mgmt == 2 && cfg.mgmt[0].prefix_len == 120 && cfg.mgmt[0].addr[15] == 0 &&
          cfg.mgmt[0].addr[14] == 255 && cfg.mgmt[0].addr[10] == 0xff, "v4 prefix masked and mapped");
    CHECK_MSG(cfg.mgmt[1].prefix_len == 48 && cfg.mgmt[1].addr[0] == 0x20 && cfg.mgmt[1].addr[3] == 2,
          "v6 prefix");
}

/* conf/README.md must hold exactly the table the parser prints. */
static void test_doc_table(void)
{
    char *doc = NULL, *table = NULL;
    size_t doc_len = 0, table_len = 0;
    FILE *f = fopen(XP_CONF_README, "r");
    FILE *mem = open_memstream(&table, &table_len);
    char line[1024];

    CHECK_MSG(f != NULL, "cannot open %s", XP_CONF_README);
    CHECK_MSG(mem != NULL, "open_memstream");
    if (!f || !mem)
        return;
    xp_config_print_keys(mem);
    fclose(mem);
    FILE *out = open_memstream(&doc, &doc_len);
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '|')
            fputs(line, out);
    }
    fclose(out);
    fclose(f);
    CHECK_MSG(strstr(doc, table) != NULL,
          "conf/README.md's key table differs from `xpro-proxy --config-keys`:\n%s", table);
    free(doc);
    free(table);
}

/* A copy of src with the given mode, in a private directory. */
static void copy_with_mode(const char *src, const char *dst, mode_t mode)
{
    char buf[65536];
    FILE *in = fopen(src, "r"), *out = fopen(dst, "w");
    size_t n;

    CHECK_MSG(in && out, "copy %s -> %s", src, dst);
    while (in && out && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        CHECK_MSG(fwrite(buf, 1, n, out) == n, "write %s", dst);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    chmod(dst, mode);
}

/*
 * The shipped examples must stay valid as keys come and go, installed as
 * they must be: the ones holding secrets (sync secret, tunnel keys) not
 * readable by others. Readable by everyone, they are refused with an error
 * that names the file, its mode and the fix.
 */
static void test_shipped_examples(void)
{
    static const struct {
        const char *name;
        bool secrets;
    } files[] = { { "xpro.json", true }, { "minimal.json", false }, { "gateway.json", true } };
    char dir[512], path[600], copy[600], msg[512], tmp[] = "/tmp/xp-conf-XXXXXX";
    struct xp_config cfg;
    char *slash;

    snprintf(dir, sizeof(dir), "%s", XP_CONF_README);
    slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    CHECK_MSG(mkdtemp(tmp) != NULL, "mkdtemp");
    for (unsigned i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
        snprintf(copy, sizeof(copy), "%s/%s", tmp, files[i].name);
        copy_with_mode(path, copy, 0640);
        CHECK_MSG(xp_config_load(copy, &cfg, msg, sizeof(msg)) == 0, "%s: %s", path, msg);
        xp_config_release(&cfg);
        copy_with_mode(path, copy, 0644);
        if (files[i].secrets) {
            CHECK_MSG(xp_config_load(copy, &cfg, msg, sizeof(msg)) == XP_CONF_E_RANGE,
                  "%s readable by everyone was accepted", path);
            CHECK_MSG(strstr(msg, "readable by everyone (mode 0644)") && strstr(msg, "chmod o-r"),
                  "the refusal says why and how: %s", msg);
        } else {
            CHECK_MSG(xp_config_load(copy, &cfg, msg, sizeof(msg)) == 0, "%s: %s", path, msg);
            xp_config_release(&cfg);
        }
        unlink(copy);
    }
    rmdir(tmp);
}

#define POL_HEAD "{\"ports\": {\"access\": \"a\", \"core\": \"b\"},\n \"policer\": {"

/* Policy groups: each bad input named, with its place. */
static void test_groups(void)
{
    struct xp_config cfg;
    char msg[512];

    expect_error(POL_HEAD "\"unit_groups\": [{\"name\": \"a\", \"prefixes\": [\"10.0.0.0/8\"]},\n"
                 "  {\"name\": \"a\", \"prefixes\": [\"10.1.0.0/16\"]}]}}",
                 XP_CONF_E_RANGE, "t.json:3:3: policer.unit_groups.1: group name \"a\" appears twice");
    expect_error(POL_HEAD "\"unit_groups\": [{\"name\": \"a\", \"prefixes\": [\"10.0.0.0/33\"]}]}}",
                 XP_CONF_E_RANGE, "t.json:2:57: policer.unit_groups.0.prefixes.0: \"10.0.0.0/33\" "
                 "is not an IPv4 or IPv6 prefix");
    expect_error(POL_HEAD "\"dst_groups\": [{\"name\": \"a\", \"prefixes\": [\"10.0.0.0/8\"]},\n"
                 "  {\"name\": \"b\", \"prefixes\": [\"10.0.0.0/8\"]}]}}",
                 XP_CONF_E_RANGE, "t.json:2:14: policer.dst_groups: 10.0.0.0/8 is in groups \"a\" "
                 "and \"b\"");
    expect_error(POL_HEAD "\"unit_groups\": [{\"prefixes\": [\"10.0.0.0/8\"]}]}}",
                 XP_CONF_E_MISSING, "t.json:2:30: policer.unit_groups.0: a group needs \"name\" and "
                 "\"prefixes\"");
    expect_error(POL_HEAD "\"unit_groups\": [{\"name\": \"default\", \"prefixes\": []}]}}",
                 XP_CONF_E_RANGE, "t.json:2:30: policer.unit_groups.0: \"default\" names the global "
                 "keys' group; choose another name");
    expect_error(POL_HEAD "\"unit_groups\": [{\"name\": \"a b\", \"prefixes\": []}]}}",
                 XP_CONF_E_RANGE, "t.json:2:30: policer.unit_groups.0: group name \"a b\": only "
                 "letters, digits, '_', '-' and '.'");
    expect_error(POL_HEAD "\"unit_groups\": [{\"name\": \"a\", \"prefixes\": [], \"t_f2_pps\": 5}]}}",
                 XP_CONF_E_UNKNOWN_KEY, "t.json:2:60: policer.unit_groups.0.t_f2_pps: unknown key");
    expect_error(POL_HEAD "\"dst_groups\": [{\"name\": \"a\", \"prefixes\": [], \"dst_policy\": "
                 "\"drop_some\"}]}}",
                 XP_CONF_E_RANGE, "t.json:2:59: policer.dst_groups.0.dst_policy: expected one of "
                 "\"drop_all\"");
    expect_error(POL_HEAD "\"v6_unit_prefix\": 64, \"unit_groups\": [{\"name\": \"a\", \"prefixes\": "
                 "[\"2001:2::/48\", \"2001:2::/80\"]}]}}",
                 XP_CONF_E_RANGE, "t.json:2:52: policer.unit_groups.0: prefixes.1 is longer than "
                 "policer.v6_unit_prefix (64 bits)");
    expect_error(POL_HEAD "\"r\": 2, \"t_t4_ms\": 4000, \"unit_groups\": [{\"name\": \"a\", "
                 "\"prefixes\": [], \"t_t2_ms\": 2000}]}}",
                 XP_CONF_E_RANGE, "t.json:2:55: policer.unit_groups.0: with r > 1, t_t4_ms / r must "
                 "exceed the group's t_t2_ms");

    /* Too many groups: the count is named. */
    {
        size_t cap = 64 * 1100, len = 0;
        char *text = malloc(cap);

        if (text) {
            len += (size_t)snprintf(text + len, cap - len, POL_HEAD "\"dst_groups\": [");
            for (unsigned i = 0; i <= XP_CONF_GROUPS_MAX; i++)
                len += (size_t)snprintf(text + len, cap - len,
                                        "%s{\"name\": \"g%u\", \"prefixes\": []}", i ? "," : "", i);
            snprintf(text + len, cap - len, "]}}");
            expect_error(text, XP_CONF_E_RANGE, "t.json:2:14: policer.dst_groups: at most 1024 groups");
            free(text);
        }
    }

    /* Valid: absent keys take the global values; the prefixes are the classifier's. */
    CHECK_EQ(xp_config_parse("t.json", POL_HEAD "\"t_f1_pps\": 700, \"t_t3_ms\": 300, "
                             "\"unit_groups\": [{\"name\": \"cams\", \"prefixes\": [\"10.0.0.0/8\"], "
                             "\"t_t2_ms\": 200, \"policed\": false}], \"dst_groups\": [{\"name\": "
                             "\"big\", \"prefixes\": [\"2001:2::/48\"], \"t_f2_pps\": 9000}]}}",
                             &cfg, msg, sizeof(msg)), 0);
    CHECK_EQ(cfg.pol.n_unit_groups, 1);
    CHECK_EQ(cfg.pol.unit_groups[0].t_f_pps, 700);
    CHECK_EQ(cfg.pol.unit_groups[0].t_t_ms, 200);
    CHECK(!cfg.pol.unit_groups[0].policed);
    CHECK_EQ(cfg.pol.dst_groups[0].t_f_pps, 9000);
    CHECK_EQ(cfg.pol.dst_groups[0].t_t_ms, 300);
    CHECK(cfg.pol.cls != NULL);
    xp_config_release(&cfg);
    CHECK(cfg.pol.cls == NULL && cfg.pol.unit_groups == NULL);
}

int main(void)
{
    test_errors();
    test_groups();
    test_gateway();
    test_defaults_and_values();
    test_port_settings();
    test_doc_table();
    test_shipped_examples();
    return xp_check_report("test_config");
}
