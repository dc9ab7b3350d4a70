// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the Prometheus view (src/prom): the metric table keeps the naming rules;
 * real stats lines of every mode (inline, gateway, DPDK, with a central node; args, from
 * tests/unit/data/) have every numeric field exported or listed as not, and every value in
 * the text under the table's name, type, labels and base unit; label escaping; the HTTP
 * endpoint's answers (200, 404, 400, 405, 431, 503, timeout, loopback only).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "src/prom/prom.h"
#include "tests/tools/prom_check.h"
#include "xp_build_config.h"
#include "src/util/line_server.h"

#include "xp_check.h"

#define CHECK_STR(s, sub)                                                                 \
    do {                                                                                  \
        const char *s_ = (s);                                                             \
        if (!s_ || !strstr(s_, (sub))) {                                                  \
            fprintf(stderr, "%s:%d: %s: text does not contain \"%s\"\n", __FILE__,         \
                    __LINE__, __func__, (sub));                                           \
            failures++;                                                                   \
        }                                                                                 \
    } while (0)

/* ---- the renderer against the metric table ------------------------------------------ */

/*
 * The test's own statement of where a sample comes from (prom.h): walk a source's path in
 * the document, labelling array elements by port and role (ports) or queue (queues,
 * workers), and check every value it reaches against the text, in base units. Returns the
 * samples it expected.
 */
struct expect {
    const char *text;
    const struct xp_prom_metric *m;
    const struct xp_prom_source *src;
    const char *what;
};

static void add_label(char *dst, size_t cap, const char *name, const char *value)
{
    size_t len = strlen(dst);

    snprintf(dst + len, cap - len, "%s%s=\"%s\"", len ? "," : "", name, value);
}

static unsigned expect_walk(struct expect *e, const json_t *node, const char *path,
                            const char *labels)
{
    const char *dot = strchr(path, '.');
    char seg[128], lab[512];
    unsigned n = 0;

    snprintf(seg, sizeof(seg), "%.*s", dot ? (int)(dot - path) : (int)strlen(path), path);
    if (!json_is_object(node))
        return 0;
    if (strcmp(seg, "*") == 0) {
        const char *key;
        json_t *v;

        json_object_foreach((json_t *)node, key, v) {
            snprintf(lab, sizeof(lab), "%s", labels);
            add_label(lab, sizeof(lab), e->src->key_label, key);
            n += expect_walk(e, json_pack("{s:O}", "*", v), "*leaf", lab);
        }
        return n;
    }
    if (strcmp(seg, "*leaf") == 0) {
        const json_t *v = json_object_get(node, "*");
        double want, got, scale = e->src->scale ? e->src->scale : 1;

        snprintf(lab, sizeof(lab), "%s", labels);
        if (e->src->labels) {
            size_t len = strlen(lab);

            snprintf(lab + len, sizeof(lab) - len, "%s%s", len ? "," : "", e->src->labels);
        }
        want = json_is_boolean(v) ? json_is_true(v) : json_number_value(v) * scale;
        got = xp_prom_sample(e->text, e->m->name, lab);
        CHECK_MSG(fabs(got - want) <= 1e-12 * fabs(want), "%s: %s{%s} is %.17g, the document "
                  "says %.17g (%s)", e->what, e->m->name, lab, got, want, e->src->path);
        json_decref((json_t *)node);
        return 1;
    }
    if (strlen(seg) > 2 && strcmp(seg + strlen(seg) - 2, "[]") == 0) {
        size_t i;
        json_t *el;

        seg[strlen(seg) - 2] = '\0';
        json_array_foreach(json_object_get(node, seg), i, el) {
            snprintf(lab, sizeof(lab), "%s", labels);
            if (strcmp(seg, "ports") == 0) {
                add_label(lab, sizeof(lab), "port", json_string_value(json_object_get(el, "name")));
                add_label(lab, sizeof(lab), "role", json_string_value(json_object_get(el, "role")));
            } else {
                char q[24];

                snprintf(q, sizeof(q), "%lld",
                         (long long)json_integer_value(json_object_get(el, "queue")));
                add_label(lab, sizeof(lab), "queue", q);
            }
            n += expect_walk(e, el, dot + 1, lab);
        }
        return n;
    }
    if (!dot) {
        json_t *v = json_object_get(node, seg);

        if (!json_is_number(v) && !json_is_boolean(v))
            return 0;
        return expect_walk(e, json_pack("{s:O}", "*", v), "*leaf", labels);
    }
    return expect_walk(e, json_object_get(node, seg), dot + 1, labels);
}

static unsigned count_samples(const char *text, const char *family)
{
    size_t fl = family ? strlen(family) : 0;
    unsigned n = 0;

    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (*p == '#' || *p == '\n' || !*p)
            continue;
        if (!family || (strncmp(p, family, fl) == 0 && (p[fl] == '{' || p[fl] == ' ')))
            n++;
    }
    return n;
}

static json_t *load_doc(const char *path)
{
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_DISABLE_EOF_CHECK, &je);

    CHECK_MSG(json_is_object(doc), "%s: %s", path, je.text);
    return doc;
}

/* A real stats line of one mode: every field accounted for, every value where it belongs. */
static void test_document(const char *path)
{
    json_t *doc = load_doc(path);
    unsigned expected = 0, special = 0;
    char *text;

    if (!doc)
        return;
    CHECK_MSG(xp_prom_check_fields(doc, stderr, path) == 0,
              "%s: fields of the document missing from the metric table", path);
    text = xp_prom_render(doc, NULL);
    CHECK(text != NULL);
    if (!text) {
        json_decref(doc);
        return;
    }
    if (getenv("XP_PROM_PRINT"))
        fputs(text, stdout);
    CHECK_MSG(xp_prom_check_text(text, stderr, path) == 0, "%s: text against the table", path);
    for (size_t i = 0; i < xp_prom_n_metrics; i++) {
        const struct xp_prom_metric *m = &xp_prom_metrics[i];

        for (const struct xp_prom_source *src = m->src; src->path; src++) {
            struct expect e = { text, m, src, path };

            if (src->info || src->states)
                special += count_samples(text, m->name);
            else
                expected += expect_walk(&e, doc, src->path, "");
        }
    }
    /* Nothing else: every sample is one of the document's values or an info/state sample. */
    CHECK_MSG(count_samples(text, NULL) == expected + special, "%s: %u samples, %u expected",
              path, count_samples(text, NULL), expected + special);
    CHECK(expected > 100);
    CHECK_STR(text, "\nxpro_build_info{version=\"" XP_VERSION "\"} 1\n");
    {
        char id[256];

        snprintf(id, sizeof(id), "proxy_id=\"%s\",backend=\"%s\"",
                 json_string_value(json_object_get(doc, "proxy_id")),
                 json_string_value(json_object_get(doc, "backend")));
        CHECK_MSG(xp_prom_sample(text, "xpro_info", id) == 1, "%s: no xpro_info{%s} 1", path, id);
    }
    /* Gone for good: pre-computed rates, the timestamp, the final flag, totals. */
    CHECK(!strstr(text, "_pps") && !strstr(text, "_gbps") && !strstr(text, "xpro_ts") &&
          !strstr(text, "xpro_final") && !strstr(text, "xpro_totals"));
    free(text);
    json_decref(doc);
}

/* Mode by mode: what must be there, and what must not. */
static void test_modes(const char *inline_doc, const char *gateway_doc, const char *dpdk_doc,
                       const char *sync_doc)
{
    json_t *doc;
    char *text;

    doc = load_doc(inline_doc);
    text = doc ? xp_prom_render(doc, NULL) : NULL;
    CHECK_STR(text, "\n# TYPE xpro_xdp_dropped_packets_total counter\n");
    CHECK_STR(text, "\nxpro_xdp_dropped_packets_total{port=\"xpa\",role=\"access\","
                    "reason=\"manual\"} ");
    CHECK_STR(text, "\n# TYPE xpro_frames gauge\n");
    CHECK_STR(text, "\nxpro_frames{state=\"leaked\"} 0\n");
    CHECK_STR(text, "\nxpro_pipeline_malformed_packets_total{reason=\"bad_ihl\"} 0\n");
    CHECK_STR(text, "\nxpro_sync_state{state=\"off\"} 1\n");
    CHECK_STR(text, "\nxpro_port_info{port=\"xpa\",role=\"access\",ifindex=\"");
    CHECK(text && !strstr(text, "xpro_gateway_") && !strstr(text, "xpro_dpdk_"));
    free(text);
    json_decref(doc);

    doc = load_doc(gateway_doc);
    text = doc ? xp_prom_render(doc, NULL) : NULL;
    CHECK_STR(text, "\n# TYPE xpro_gateway_units gauge\n");
    CHECK_STR(text, "\n# TYPE xpro_gateway_load_ratio gauge\n");
    CHECK_STR(text, "\nxpro_gateway_tunnel_dropped_packets_total{reason=\"bad_tag\"} ");
    CHECK_STR(text, "\nxpro_gateway_dropped_packets_total{reason=\"tunnel\"} ");
    CHECK_STR(text, "\nxpro_gateway_info{tunnel_id=\"1\"} 1\n");
    CHECK(doc && xp_prom_sample(text, "xpro_gateway_load_ratio", "") * 1e3 ==
                     (double)json_integer_value(json_object_get(json_object_get(doc, "gateway"),
                                                                "w_permille")));
    free(text);
    json_decref(doc);

    doc = load_doc(dpdk_doc);
    text = doc ? xp_prom_render(doc, NULL) : NULL;
    CHECK_STR(text, "\n# TYPE xpro_dpdk_link_speed_bytes gauge\n");
    CHECK_STR(text, "\nxpro_dpdk_link_speed_bytes{port=\"xpa\",role=\"access\"} 1250000000\n");
    CHECK_STR(text, "\nxpro_dpdk_port_info{port=\"xpa\",role=\"access\",device=\"net_af_packet0\","
                    "port_id=\"0\",rss=\"false\"} 1\n");
    CHECK_STR(text, "\nxpro_info{proxy_id=\"");
    CHECK_STR(text, ",backend=\"dpdk\"} 1\n");
    CHECK(text && !strstr(text, "xpro_xdp_") && !strstr(text, "xpro_xsk_") &&
          !strstr(text, "xpro_port_info"));
    free(text);
    json_decref(doc);

    doc = load_doc(sync_doc);
    text = doc ? xp_prom_render(doc, NULL) : NULL;
    CHECK_STR(text, "\nxpro_sync_state{state=\"synced\"} 1\n");
    /* Base units, from the document's own: ms and ns to seconds, permille to a ratio. */
    CHECK(doc && fabs(xp_prom_sample(text, "xpro_sync_rtt_seconds", "") * 1e3 -
                      json_number_value(json_object_get(json_object_get(doc, "sync"),
                                                        "rtt_ms"))) < 1e-9);
    CHECK(doc && fabs(xp_prom_sample(text, "xpro_worker_seconds_total",
                                     "queue=\"0\",state=\"spin\"") * 1e9 -
                      (double)json_integer_value(json_object_get(
                          json_array_get(json_object_get(doc, "workers"), 0), "spin_ns"))) < 1);
    CHECK_STR(text, "\nxpro_sync_state{state=\"degraded\"} 0\n");
    CHECK_STR(text, "\n# TYPE xpro_sync_rtt_seconds gauge\n");
    CHECK_STR(text, "\n# TYPE xpro_sync_requests_total counter\n");
    free(text);
    json_decref(doc);
}

/* A field added to the document without a row in the table is caught, not lost. */
static void test_new_field_caught(const char *path)
{
    json_t *doc = load_doc(path);
    FILE *devnull = fopen("/dev/null", "w");

    if (!doc || !devnull)
        return;
    CHECK(xp_prom_check_fields(doc, devnull, path) == 0);
    json_object_set_new(json_object_get(doc, "pipeline"), "drop_new_reason", json_integer(1));
    CHECK(xp_prom_check_fields(doc, devnull, path) == 1);
    json_object_del(json_object_get(doc, "pipeline"), "drop_new_reason");
    json_object_set_new(json_object_get(json_array_get(json_object_get(doc, "ports"), 1), "xdp"),
                        "pass_new", json_true());
    CHECK(xp_prom_check_fields(doc, devnull, path) == 1);
    /* Reasons under a "*" row are new label values, not new fields. */
    json_object_del(json_object_get(json_array_get(json_object_get(doc, "ports"), 1), "xdp"),
                    "pass_new");
    json_object_set_new(json_object_get(json_object_get(doc, "pipeline"), "malformed"),
                        "bad_new", json_integer(3));
    CHECK(xp_prom_check_fields(doc, devnull, path) == 0);
    CHECK_EQ(xp_prom_field("pipeline.malformed.bad_new"), XP_PROM_FIELD_EXPORTED);
    CHECK_EQ(xp_prom_field("totals.rx_pps"), XP_PROM_FIELD_UNEXPORTED);
    CHECK_EQ(xp_prom_field("ports[].queues[].queue"), XP_PROM_FIELD_EXPORTED);
    CHECK_EQ(xp_prom_field("ports[].ifindex"), XP_PROM_FIELD_EXPORTED);
    CHECK_EQ(xp_prom_field("ports[].nothing"), XP_PROM_FIELD_UNKNOWN);
    fclose(devnull);
    json_decref(doc);
}

static void test_table(void)
{
    CHECK(xp_prom_check_table(stderr) == 0);
    CHECK(xp_prom_n_metrics > 100);
}

/* The checker itself fails on what promtool and the table forbid. */
static void test_checker_catches(void)
{
    FILE *devnull = fopen("/dev/null", "w");
    static const char build[] = "# HELP xpro_build_info b\n# TYPE xpro_build_info gauge\n"
                                "xpro_build_info{version=\"1\"} 1\n";
    static const char *const bad[] = {
        /* a gauge exported as a counter */
        "# HELP xpro_frames f\n# TYPE xpro_frames counter\nxpro_frames{state=\"free\"} 1\n",
        /* a family not in the table (the old naming) */
        "# HELP xpro_frames_total f\n# TYPE xpro_frames_total gauge\nxpro_frames_total 8\n",
        /* labels other than declared */
        "# HELP xpro_frames f\n# TYPE xpro_frames gauge\nxpro_frames{kind=\"free\"} 1\n",
        /* no HELP */
        "# TYPE xpro_frames gauge\nxpro_frames{state=\"free\"} 1\n",
        /* a series twice */
        "# HELP xpro_frames f\n# TYPE xpro_frames gauge\nxpro_frames{state=\"free\"} 1\n"
        "xpro_frames{state=\"free\"} 2\n",
        /* a sample outside its family */
        "# HELP xpro_frames f\n# TYPE xpro_frames gauge\nxpro_frames_capacity 1\n",
    };
    char buf[1024];

    if (!devnull)
        return;
    snprintf(buf, sizeof(buf), "%s", build);
    CHECK(xp_prom_check_text(buf, devnull, "good") == 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(buf, sizeof(buf), "%s%s", build, bad[i]);
        CHECK_MSG(xp_prom_check_text(buf, devnull, "bad") > 0, "bad text %zu passed", i);
    }
    fclose(devnull);
}

static void test_escaping_and_edges(void)
{
    json_t *doc = json_pack("{s:s,s:s,s:[{s:s,s:s,s:[{s:i,s:i},{s:i}]},{s:s,s:[{s:i,s:i}]}]}",
                            "proxy_id", "a\"b\\c\nd", "backend", "af_xdp",
                            "ports", "name", "we\"ird\\", "role", "x", "queues",
                            "queue", 3, "rx_packets", 1, "rx_packets", 2,
                            "name", "norole", "queues", "queue", 0, "rx_packets", 5);
    char *text = xp_prom_render(doc, NULL);

    CHECK(text != NULL);
    CHECK_STR(text, "\nxpro_info{proxy_id=\"a\\\"b\\\\c\\nd\",backend=\"af_xdp\"} 1\n");
    CHECK_STR(text, "\nxpro_port_rx_packets_total{port=\"we\\\"ird\\\\\",role=\"x\","
                    "queue=\"3\"} 1\n");
    /* Elements without their labelling member would merge series: left out. */
    CHECK_EQ(count_samples(text, "xpro_port_rx_packets_total"), 1);
    free(text);
    json_decref(doc);

    doc = json_array();
    errno = 0;
    CHECK(xp_prom_render(doc, NULL) == NULL && errno == EINVAL);
    json_decref(doc);

    /* An empty document: only the build. */
    doc = json_object();
    text = xp_prom_render(doc, NULL);
    CHECK(text && count_samples(text, NULL) == 1);
    CHECK_STR(text, "xpro_build_info{version=\"");
    free(text);
    json_decref(doc);
}

/* ---- the HTTP endpoint ---------------------------------------------------------------- */

struct test_server {
    struct xp_prom_server *srv;
    pthread_t thread;
    atomic_bool stop;
};

static void *server_main(void *arg)
{
    struct test_server *ts = arg;

    while (!atomic_load(&ts->stop))
        xp_line_server__poll(xp_prom_server__lines(ts->srv), 10);
    return NULL;
}

/* Send req, read the whole response (the server closes). Returns malloc'd text or NULL. */
static char *http(uint16_t port, const char *req, size_t reqlen)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct timeval tv = { .tv_sec = 5 };
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ssize_t n;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (!buf || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        (reqlen && send(fd, req, reqlen, MSG_NOSIGNAL) != (ssize_t)reqlen)) {
        close(fd);
        free(buf);
        return NULL;
    }
    while ((n = recv(fd, buf + len, cap - len - 1, 0)) > 0) {
        len += (size_t)n;
        if (len + 1 == cap) {
            char *p = realloc(buf, cap * 2);

            if (!p)
                break;
            buf = p;
            cap *= 2;
        }
    }
    buf[len] = '\0';
    close(fd);
    return buf;
}

#define REQ(s) s, sizeof(s) - 1

static void test_http(const char *sample)
{
    struct xp_prom_server_conf conf = { .addr = "127.0.0.1", .port = 0, .timeout_ms = 300 };
    struct xp_prom_server_stats st;
    struct test_server ts = { 0 };
    json_t *doc = load_doc(sample);
    char *r, *expect, *big;
    uint16_t port;
    size_t elen;

    errno = 0;
    conf.addr = "192.0.2.1";
    CHECK(xp_prom_server__create(&conf) == NULL && errno == EADDRNOTAVAIL);
    conf.addr = "localhost";
    CHECK(xp_prom_server__create(&conf) == NULL && errno == EINVAL);
    conf.addr = "127.0.0.1";
    ts.srv = xp_prom_server__create(&conf);
    CHECK(ts.srv != NULL);
    if (!ts.srv) {
        json_decref(doc);
        return;
    }
    port = xp_prom_server__port(ts.srv);
    CHECK(port != 0);
    pthread_create(&ts.thread, NULL, server_main, &ts);

    /* Before the first stats document: 503. */
    r = http(port, REQ("GET /metrics HTTP/1.0\r\n\r\n"));
    CHECK_STR(r, "HTTP/1.0 503 ");
    free(r);
    atomic_store(&ts.stop, true);
    pthread_join(ts.thread, NULL);
    xp_prom_server__set_stats(ts.srv, doc);
    atomic_store(&ts.stop, false);
    pthread_create(&ts.thread, NULL, server_main, &ts);

    expect = xp_prom_render(doc, &elen);
    r = http(port, REQ("GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n"));
    CHECK_STR(r, "HTTP/1.0 200 OK\r\n");
    CHECK_STR(r, "Content-Type: text/plain; version=0.0.4");
    if (r && expect) {
        char *body = strstr(r, "\r\n\r\n");

        CHECK(body && strcmp(body + 4, expect) == 0);
    }
    free(r);
    r = http(port, REQ("GET /metrics?name[]=x HTTP/1.0\n\n"));
    CHECK_STR(r, "HTTP/1.0 200 OK\r\n");
    free(r);
    r = http(port, REQ("HEAD /metrics HTTP/1.0\r\n\r\n"));
    CHECK_STR(r, "HTTP/1.0 200 OK\r\n");
    CHECK(r && strstr(r, "\r\n\r\n") && strstr(r, "\r\n\r\n")[4] == '\0');
    free(r);
    r = http(port, REQ("GET / HTTP/1.0\r\n\r\n"));
    CHECK_STR(r, "HTTP/1.0 404 ");
    free(r);
    r = http(port, REQ("GET /metricsx HTTP/1.0\r\n\r\n"));
    CHECK_STR(r, "HTTP/1.0 404 ");
    free(r);
    r = http(port, REQ("POST /metrics HTTP/1.0\r\n\r\n"));
    CHECK_STR(r, "HTTP/1.0 405 ");
    free(r);
    r = http(port, REQ("hello\r\n\r\n"));
    CHECK_STR(r, "HTTP/1.0 400 ");
    free(r);
    r = http(port, REQ("GET /metrics\r\n\r\n"));
    CHECK_STR(r, "HTTP/1.0 400 ");
    free(r);
    big = malloc(XP_PROM_MAX_REQUEST + 100);
    memcpy(big, "GET /metrics HTTP/1.0\r\nX: ", 26);
    memset(big + 26, 'a', XP_PROM_MAX_REQUEST + 74);
    r = http(port, big, XP_PROM_MAX_REQUEST + 100);
    CHECK_STR(r, "HTTP/1.0 431 ");
    free(r);
    free(big);
    /* A client that never completes its request is told so and closed after timeout_ms. */
    r = http(port, REQ("GET /metrics HTTP/1.0\r\n"));
    CHECK_STR(r, "HTTP/1.0 408 ");
    free(r);
    /* A broken request line is answered at its end, not at the (never coming) header end. */
    {
        struct timespec t0, t1;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        r = http(port, REQ("GET /\n"));
        clock_gettime(CLOCK_MONOTONIC, &t1);
        CHECK_STR(r, "HTTP/1.0 400 ");
        CHECK((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 200);
        free(r);
        r = http(port, REQ("GET /metrics HTTP/1.0 extra\r\n"));
        CHECK_STR(r, "HTTP/1.0 400 ");
        free(r);
    }

    atomic_store(&ts.stop, true);
    pthread_join(ts.thread, NULL);
    xp_prom_server__stats(ts.srv, &st);
    CHECK(st.ok == 3);
    CHECK(st.not_found == 2);
    CHECK(st.bad_request == 6);
    CHECK(st.unavailable == 1);
    CHECK(st.timeouts == 1);
    xp_prom_server__destroy(ts.srv);
    free(expect);
    json_decref(doc);
}

/*
 * Eight clients that reconnect as soon as they are dropped (and one that connects and
 * never sends) while a scraper scrapes: every scrape succeeds, because the oldest
 * unfinished connection makes room and a request that comes with its connection is
 * answered at once.
 */
static atomic_bool flood_stop;
static uint16_t flood_port;

static void *flood_main(void *arg)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(flood_port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

    (void)arg;
    while (!atomic_load(&flood_stop)) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            char c;
            struct timeval tv = { .tv_usec = 100000 };

            /* hold the slot until dropped (or 100 ms), then come back */
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
            if (recv(fd, &c, 1, 0) < 0)
                c = 0;
        }
        if (fd >= 0)
            close(fd);
    }
    return NULL;
}

static void test_flood(const char *sample)
{
    struct xp_prom_server_conf conf = { .addr = "127.0.0.1", .port = 0, .timeout_ms = 2000,
                                        .max_clients = 8 };
    struct xp_prom_server_stats st;
    struct test_server ts = { 0 };
    json_t *doc = load_doc(sample);
    pthread_t flood[8];
    unsigned ok = 0, tries = 0;

    ts.srv = xp_prom_server__create(&conf);
    CHECK(ts.srv != NULL);
    if (!ts.srv)
        return;
    xp_prom_server__set_stats(ts.srv, doc);
    flood_port = xp_prom_server__port(ts.srv);
    pthread_create(&ts.thread, NULL, server_main, &ts);
    atomic_store(&flood_stop, false);
    for (int i = 0; i < 8; i++)
        pthread_create(&flood[i], NULL, flood_main, NULL);
    usleep(100000);
    for (; tries < 29; tries++) {
        char *r = http(flood_port, REQ("GET /metrics HTTP/1.0\r\n\r\n"));

        ok += r && strstr(r, "HTTP/1.0 200 OK\r\n") != NULL;
        free(r);
        usleep(300000); /* 29 scrapes over about 10 s, as in the report */
    }
    atomic_store(&flood_stop, true);
    for (int i = 0; i < 8; i++)
        pthread_join(flood[i], NULL);
    atomic_store(&ts.stop, true);
    pthread_join(ts.thread, NULL);
    xp_prom_server__stats(ts.srv, &st);
    fprintf(stderr, "under a reconnect flood of 8 clients: %u of %u scrapes answered 200 "
            "(%llu connections evicted)\n", ok, tries, (unsigned long long)st.evicted);
    CHECK_EQ(ok, tries);
    CHECK(st.evicted > 0);
    xp_prom_server__destroy(ts.srv);
    json_decref(doc);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: test_prom INLINE.json GATEWAY.json DPDK.json SYNC.json\n");
        return 2;
    }
    test_table();
    for (int i = 1; i < argc; i++)
        test_document(argv[i]);
    test_modes(argv[1], argv[2], argv[3], argv[4]);
    test_new_field_caught(argv[1]);
    test_checker_catches();
    test_escaping_and_edges();
    test_http(argv[1]);
    test_flood(argv[1]);
    return xp_check_report("test_prom");
}
