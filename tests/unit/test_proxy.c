// SPDX-License-Identifier: GPL-2.0-only
/*
 * xpro-proxy as a library (src/proxy/proxy.h), without root, a NIC or a
 * namespace: the real set-up on the DPDK backend with two net_null ports
 * and two queues (EAL with --no-huge --no-shconf), then
 *
 *   - the stats document: its shape for both ports and queues, totals that
 *     add up, the backend's own objects merged in, the policer's sections;
 *   - the control operations through the handler the socket calls: stats,
 *     flows (pairs the pipelines policed), operator blocks kept by the
 *     workers (no XDP map on DPDK: frames of a blocked unit are dropped as
 *     drop_manual), unblock, bad requests, reload (taken, and refused for a
 *     key that needs a restart);
 *   - the sync thread's install path: an in-process central node, another
 *     proxy (a sync client) that saw the same pair, and the answer
 *     installed into the pipeline of the worker that owns the pair, and
 *     only there.
 *
 * The workers are not started: the control thread's mailbox calls run in
 * the caller, serialised per worker, as they do once a worker stopped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "src/central/config.h"
#include "src/pipeline/pipeline.h"
#include "src/proxy/proxy.h"
#include "src/proxy/sync_thread.h"
#include "src/sync/sync.h"
#include "src/sync/sync_internal.h"
#include "src/util/log.h"
#include "xp_build_config.h"
#include "xp_check.h"

#define SECRET_A "a1a2a3a4a5a6a7a8a9aaabacadaeafb0"
#define SECRET_B "b1b2b3b4b5b6b7b8b9babbbcbdbebfc0"

static char g_dir[64], g_conf[128];
static struct proxy g_px;

static uint64_t real_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* The configuration: t_f1_pps and queues vary to exercise reload. */
static void write_conf(unsigned t_f1, unsigned queues, uint16_t central_port)
{
    FILE *f = fopen(g_conf, "w");

    if (!f) {
        perror(g_conf);
        exit(1);
    }
    fprintf(f,
            "{ \"proxy_id\": \"pA\", \"backend\": \"dpdk\", \"queues\": %u,\n"
            "  \"ports\": { \"access\": \"a\", \"core\": \"b\" },\n"
            "  \"ctl_socket\": \"%s/ctl.sock\",\n"
            "  \"dpdk\": { \"eal_args\": [\"--no-huge\", \"-m\", \"128\", \"--no-pci\",\n"
            "      \"--no-telemetry\", \"--no-shconf\", \"--file-prefix\", \"xp-unit-%d\",\n"
            "      \"--vdev\", \"net_null0\", \"--vdev\", \"net_null1\"],\n"
            "    \"access_port\": 0, \"core_port\": 1, \"mbufs_per_queue\": 1023 },\n"
            "  \"policer\": { \"unit_prefixes\": [\"198.18.0.0/16\"], \"t_f1_pps\": %u,\n"
            "    \"t_f2_pps\": 1000000, \"t_t1_ms\": 5000, \"t_t2_ms\": 1000, \"t_t3_ms\": 1000,\n"
            "    \"t_t4_ms\": 60000, \"max_pairs\": 4096, \"max_dsts\": 1024 },\n"
            "  \"sync\": { \"central\": \"127.0.0.1:%u\", \"secret\": \"" SECRET_A "\",\n"
            "    \"period_ms\": 100 } }\n",
            queues, g_dir, (int)getpid(), t_f1, central_port);
    fclose(f);
}

/* A 64-byte Ethernet/IPv4/UDP frame from src to dst. */
static void frame4(uint8_t *f, const char *src, const char *dst)
{
    memset(f, 0, 64);
    f[12] = 0x08;
    f[14] = 0x45;
    f[17] = 28;
    f[22] = 64;
    f[23] = 17;
    inet_pton(AF_INET, src, f + 26);
    inet_pton(AF_INET, dst, f + 30);
    f[34] = 0x13;
    f[35] = 0x88;
    f[36] = 0x16;
    f[37] = 0x33;
    f[39] = 8;
}

struct police_arg {
    const char *src, *dst;
    unsigned n;
    uint64_t t0, step;
    unsigned dropped;
};

/* n frames from src to dst, step ns apart, through the worker's pipeline (on the worker). */
static void police_on_worker(struct xp_worker *w, void *arg)
{
    struct police_arg *a = arg;
    uint8_t f[64];

    frame4(f, a->src, a->dst);
    for (unsigned i = 0; i < a->n; i++) {
        struct xp_pkt pkt = { .data = f, .len = 64, .port = XP_PORT_ACCESS };
        uint64_t t = a->t0 + i * a->step;
        uint8_t drop;

        xp_pipeline__police(w->pipeline, &pkt, 1, &drop, t, t);
        a->dropped += drop != 0; /* a fate: non-zero is a drop */
    }
}

static unsigned police_every(unsigned q, const char *src, const char *dst, unsigned n,
                             uint64_t t0, uint64_t step)
{
    struct police_arg a = { .src = src, .dst = dst, .n = n, .t0 = t0, .step = step };

    xp_worker__call(&g_px.workers[q], police_on_worker, &a);
    return a.dropped;
}

/* 1 ms apart: 1000 pps */
static unsigned police(unsigned q, const char *src, const char *dst, unsigned n, uint64_t t0)
{
    struct police_arg a = { .src = src, .dst = dst, .n = n, .t0 = t0, .step = 1000000ULL };

    xp_worker__call(&g_px.workers[q], police_on_worker, &a);
    return a.dropped;
}

static json_t *ctl(const char *op, const char *req_text, char *err, size_t errlen)
{
    json_t *req = req_text ? json_loads(req_text, 0, NULL) : json_object();
    json_t *res;

    err[0] = '\0';
    res = xp_proxy__ctl_handler(&g_px, op, req, err, errlen);
    json_decref(req);
    return res;
}

static json_int_t jint(json_t *o, const char *path)
{
    char buf[128], *save = NULL, *k;

    snprintf(buf, sizeof(buf), "%s", path);
    for (k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
        o = json_object_get(o, k);
    return json_integer_value(o);
}

static void test_stats_document(void)
{
    uint64_t rx = 1, tx = 1;
    json_t *doc = xp_proxy__stats_document(&g_px, false, &rx, &tx), *ports, *port;
    size_t i;

    CHECK(doc != NULL);
    if (!doc)
        return;
    CHECK(strcmp(json_string_value(json_object_get(doc, "backend")), "dpdk") == 0);
    CHECK(strcmp(json_string_value(json_object_get(doc, "proxy_id")), "pA") == 0);
    CHECK(json_is_false(json_object_get(doc, "final")));
    ports = json_object_get(doc, "ports");
    CHECK_EQ(json_array_size(ports), 2);
    json_array_foreach(ports, i, port) {
        json_t *queues = json_object_get(port, "queues");

        CHECK(strcmp(json_string_value(json_object_get(port, "role")),
                     i == 0 ? "access" : "core") == 0);
        CHECK(strcmp(json_string_value(json_object_get(port, "name")), i == 0 ? "a" : "b") == 0);
        /* the backend's own fields, merged into the common shape */
        CHECK(strcmp(json_string_value(json_object_get(port, "device")),
                     i == 0 ? "net_null0" : "net_null1") == 0);
        CHECK_EQ(jint(port, "port_id"), (json_int_t)i);
        CHECK_EQ(json_array_size(queues), 2);
        for (size_t q = 0; q < json_array_size(queues); q++) {
            json_t *qo = json_array_get(queues, q);

            CHECK_EQ(jint(qo, "queue"), (json_int_t)q);
            CHECK(json_is_integer(json_object_get(qo, "rx_packets")));
            CHECK(json_is_integer(json_object_get(qo, "drop_policy")));
            CHECK(json_is_integer(json_object_get(qo, "drop_multiseg")));
            CHECK(json_is_object(json_object_get(qo, "dpdk")));
        }
    }
    /* nothing moved: the totals are zero and say so the same way */
    CHECK_EQ(rx, 0);
    CHECK_EQ(tx, 0);
    CHECK_EQ(jint(doc, "totals.rx_packets"), 0);
    CHECK_EQ(jint(doc, "totals.drop_packets"), 0);
    CHECK(strcmp(json_string_value(json_object_get(json_object_get(doc, "frames"), "kind")),
                 "mbuf") == 0);
    CHECK(jint(doc, "frames.total") > 0);
    CHECK(json_is_object(json_object_get(doc, "pipeline")));
    CHECK_EQ(jint(doc, "policer.capacity"), 2 * 4096);
    CHECK(json_is_object(json_object_get(json_object_get(doc, "policer"), "owners")));
    CHECK(json_is_object(json_object_get(doc, "ctl")));
    CHECK(strcmp(json_string_value(json_object_get(json_object_get(doc, "sync"), "state")),
                 "off") == 0);
    json_decref(doc);
}

static void test_flows_and_blocks(void)
{
    char err[256];
    uint64_t t0 = real_ns();
    json_t *res, *flows;

    /* 200 frames of one pair at 1000 pps on queue 0, 50 of another at 250 pps on queue 1 */
    CHECK_EQ(police(0, "198.18.0.2", "198.18.1.1", 200, t0), 0);
    CHECK_EQ(police_every(1, "198.18.0.3", "198.18.1.2", 50, t0, 4000000ULL), 0);
    res = ctl("flows", "{\"top\": 5}", err, sizeof(err));
    flows = json_object_get(res, "flows");
    CHECK_EQ(json_array_size(flows), 2);
    if (json_array_size(flows) == 2) {
        json_t *f0 = json_array_get(flows, 0);

        /* heaviest first, with its worker and its window */
        CHECK(strcmp(json_string_value(json_object_get(f0, "unit")), "198.18.0.2") == 0);
        CHECK(strcmp(json_string_value(json_object_get(f0, "dst")), "198.18.1.1") == 0);
        CHECK_EQ(jint(f0, "queue"), 0);
        CHECK_EQ(jint(f0, "count"), 200);
        CHECK(strcmp(json_string_value(json_object_get(f0, "verdict")), "forward") == 0);
        CHECK_EQ(jint(json_array_get(flows, 1), "queue"), 1);
    }
    json_decref(res);
    CHECK(ctl("flows", "{\"top\": 0}", err, sizeof(err)) == NULL);
    CHECK(strstr(err, "top") != NULL);

    /* an operator block the workers keep: every frame of the unit dropped, not counted */
    res = ctl("block", "{\"unit\": \"198.18.0.2\"}", err, sizeof(err));
    CHECK(res != NULL);
    CHECK(json_is_true(json_object_get(res, "blocked")));
    json_decref(res);
    CHECK_EQ(police(0, "198.18.0.2", "198.18.1.1", 30, t0 + 1000000000ULL), 30);
    CHECK_EQ(police(1, "198.18.0.2", "198.18.1.9", 10, t0 + 1000000000ULL), 10);
    CHECK_EQ(police(1, "198.18.0.3", "198.18.1.2", 10, t0 + 1000000000ULL), 0);
    {
        uint64_t rx, tx;
        json_t *doc = xp_proxy__stats_document(&g_px, false, &rx, &tx);

        CHECK_EQ(jint(doc, "pipeline.drop_manual"), 40);
        CHECK_EQ(jint(doc, "pipeline.manual_blocks"), 1);
        json_decref(doc);
    }
    res = ctl("unblock", "{\"unit\": \"198.18.0.2\"}", err, sizeof(err));
    CHECK(res != NULL);
    json_decref(res);
    CHECK_EQ(police(0, "198.18.0.2", "198.18.1.1", 5, t0 + 2000000000ULL), 0);
    /* bad requests are errors with a reason, never crashes */
    CHECK(ctl("unblock", "{\"unit\": \"198.18.0.2\"}", err, sizeof(err)) == NULL);
    CHECK(strcmp(err, "no such block") == 0);
    CHECK(ctl("block", "{\"unit\": \"198.18.0.300\"}", err, sizeof(err)) == NULL);
    CHECK(strstr(err, "unit:") != NULL);
    CHECK(ctl("block", "{\"unit\": \"198.18.0.2\", \"seconds\": -1}", err, sizeof(err)) == NULL);
    CHECK(strstr(err, "seconds") != NULL);
    CHECK(ctl("nonsense", NULL, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "unknown op") != NULL);
    res = ctl("stats", NULL, err, sizeof(err));
    CHECK(res && json_is_object(json_object_get(res, "totals")));
    json_decref(res);
}

static void test_reload(uint16_t central_port)
{
    char err[512];
    json_t *res;

    write_conf(777, 2, central_port);
    res = ctl("reload", NULL, err, sizeof(err));
    CHECK(res != NULL);
    json_decref(res);
    CHECK_EQ(g_px.cfg->pol.t_f1_pps, 777);
    /* queues cannot change live: refused, the running configuration stays */
    write_conf(555, 1, central_port);
    CHECK(ctl("reload", NULL, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "queues") != NULL);
    CHECK_EQ(g_px.cfg->pol.t_f1_pps, 777);
    write_conf(1000, 2, central_port);
}

struct central_run {
    struct xp_central *c;
    pthread_t th;
};

static void *central_main(void *arg)
{
    xp_central__run(arg);
    return NULL;
}

struct pair_arg {
    struct xp_policer_key key;
    struct xp_pair_state st;
    bool found;
};

static void find_on_worker(struct xp_worker *w, void *arg)
{
    struct pair_arg *a = arg;
    struct xp_pair_record rec[256];
    uint32_t cursor = 0;

    while (cursor < xp_pipeline__capacity(w->pipeline)) {
        unsigned n = xp_pipeline__scan(w->pipeline, &cursor, 65536, rec, 256);

        for (unsigned i = 0; i < n; i++) {
            if (memcmp(&rec[i].key, &a->key, sizeof(a->key)) == 0) {
                a->st = rec[i].st;
                a->found = true;
            }
        }
    }
}

static void ignore_answer(void *arg, const struct xp_sync_answer *ans)
{
    (void)arg;
    (void)ans;
}

/*
 * Proxy B (a sync client) saw 500 packets of the pair (198.18.0.7, 198.18.1.7);
 * our worker 1 saw 100 and owns it. The central node's answer to our sync
 * thread carries B's share; it must land in worker 1's table, not worker 0's.
 */
static void test_sync_install(uint16_t central_port)
{
    uint8_t secret_b[16];
    struct xp_sync_client_config bc = {
        .host = "127.0.0.1", .port = central_port, .proxy_id = "pB",
        .secret = secret_b, .secret_len = sizeof(secret_b),
    };
    struct xp_sync_client *b;
    struct xp_pair_record rec;
    struct pair_arg on0 = { 0 }, on1 = { 0 };
    uint64_t now = real_ns();
    int ret;

    CHECK_EQ(xp_sync_secret__parse(SECRET_B, secret_b, sizeof(secret_b)), 16);
    b = xp_sync_client__create(&bc);
    CHECK(b != NULL);
    if (!b)
        return;
    memset(&rec, 0, sizeof(rec));
    inet_pton(AF_INET, "198.18.0.7", rec.key.unit + 12);
    rec.key.unit[10] = rec.key.unit[11] = 0xff;
    inet_pton(AF_INET, "198.18.1.7", rec.key.dst + 12);
    rec.key.dst[10] = rec.key.dst[11] = 0xff;
    rec.st = (struct xp_pair_state){ .ts1 = now - 400000000ULL, .ts2 = now, .c = 500, .dc = 500 };
    ret = xp_sync_client__exchange(b, &rec, 1, &(struct xp_sync_report){ 0 }, ignore_answer,
                                   NULL);
    CHECK_EQ(ret, 0);
    on0.key = on1.key = rec.key;

    CHECK_EQ(police(1, "198.18.0.7", "198.18.1.7", 100, now - 100000000ULL), 0);
    CHECK_EQ(xp_proxy__start_sync(&g_px), 0);
    for (int i = 0; i < 50; i++) {
        sleep_ms(100);
        on1.found = false;
        xp_worker__call(&g_px.workers[1], find_on_worker, &on1);
        if (on1.found && on1.st.c >= 600)
            break;
    }
    xp_worker__call(&g_px.workers[0], find_on_worker, &on0);
    CHECK(on1.found);
    CHECK_EQ(on1.st.c, 600);  /* ours and B's: exactly once each */
    CHECK_EQ(on1.st.dc, 0);   /* our 100 were shipped; nothing local since */
    CHECK(!on0.found);        /* not installed on a worker that does not own the pair */
    {
        uint64_t rx, tx;
        json_t *doc = xp_proxy__stats_document(&g_px, false, &rx, &tx);

        CHECK(strcmp(json_string_value(json_object_get(json_object_get(doc, "sync"), "state")),
                     "synced") == 0);
        CHECK_EQ(jint(doc, "policer.owners.install_elsewhere"), 0);
        json_decref(doc);
    }
    xp_sync_client__destroy(b);
}

int main(void)
{
    struct xp_central_config cc;
    struct central_run cr;
    enum xp_proxy_fail why;
    uint8_t sa[16], sb[16];
    char msg[512];
    uint16_t central_port;
    int ret;

    xp_log_set_level(getenv("XP_VERBOSE") ? XP_LOG_DEBUG : XP_LOG_ERR);
#ifndef XP_HAVE_DPDK
    printf("test_proxy: this build has no DPDK backend\n");
    return 77;
#endif
    snprintf(g_dir, sizeof(g_dir), "/tmp/xp-test-proxy.%d", (int)getpid());
    snprintf(g_conf, sizeof(g_conf), "%s/proxy.json", g_dir);
    if (mkdir(g_dir, 0700)) {
        perror(g_dir);
        return 1;
    }
    umask(077);

    /* the central node, in this process, on a loopback port of its choosing */
    xp_central_config__init(&cc);
    snprintf(cc.listen, sizeof(cc.listen), "127.0.0.1");
    cc.port = 0;
    xp_sync_secret__parse(SECRET_A, sa, sizeof(sa));
    xp_sync_secret__parse(SECRET_B, sb, sizeof(sb));
    xp_central_config__add_proxy(&cc, "pA", sa, sizeof(sa));
    xp_central_config__add_proxy(&cc, "pB", sb, sizeof(sb));
    cr.c = xp_central__create(&cc);
    if (!cr.c) {
        perror("xp_central__create");
        return 1;
    }
    central_port = xp_central__port(cr.c);
    pthread_create(&cr.th, NULL, central_main, cr.c);

    write_conf(1000, 2, central_port);
    g_px.cfg = calloc(1, sizeof(*g_px.cfg));
    g_px.config_path = g_conf;
    if (!g_px.cfg || xp_config_load(g_conf, g_px.cfg, msg, sizeof(msg))) {
        fprintf(stderr, "config: %s\n", msg);
        return 1;
    }
    ret = xp_proxy__setup(&g_px, &why);
    if (ret) {
        fprintf(stderr, "setup: %s (%d)\n", strerror(-ret), (int)why);
        return 1;
    }
    test_stats_document();
    test_flows_and_blocks();
    test_reload(central_port);
    test_sync_install(central_port);
    xp_proxy__shutdown(&g_px, false);
    xp_config_release(g_px.cfg);
    free(g_px.cfg);

    xp_central__stop(cr.c);
    pthread_join(cr.th, NULL);
    xp_central__destroy(cr.c);
    xp_central_config__release(&cc);
    unlink(g_conf);
    rmdir(g_dir);
    return xp_check_report("test_proxy");
}
