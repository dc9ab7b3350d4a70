// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the Prometheus view (src/prom): every numeric value of a real stats line
 * appears in the text under its documented name, labels and type; label escaping; the HTTP
 * endpoint's answers (200, 404, 400, 405, 431, 503, timeout, loopback only).
 */
#include <arpa/inet.h>
#include <errno.h>
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

/* One stats line of xpro-proxy (inline topology, policer on, 3000 frames sent). */
static const char sample[] =
    "{\"ts\":1795631182.44,\"proxy_id\":\"edge-1\",\"final\":false,\"totals\":{\"rx_packets\":3000,\"tx_pa"
    "ckets\":3000,\"drop_packets\":0,\"rx_pps\":289.005512343,\"tx_pps\":289.005512343},\"ports\":[{\"n"
    "ame\":\"xpa\",\"role\":\"access\",\"ifindex\":2,\"xdp\":{\"rx\":3002,\"redirect\":3000,\"pass_non_ip\":0,"
    "\"pass_arp_nd\":2,\"pass_mgmt\":0,\"pass_no_socket\":0,\"drop_no_socket\":0,\"pass_foreign\":0,\"dr"
    "op_blocked\":0},\"queues\":[{\"queue\":0,\"zero_copy\":false,\"rx_packets\":3000,\"rx_bytes\":19200"
    "0,\"tx_packets\":0,\"tx_bytes\":0,\"drop_tx_ring_full\":0,\"tx_kicks\":0,\"xsk\":{\"rx_dropped\":0,\""
    "rx_invalid_descs\":0,\"tx_invalid_descs\":0,\"rx_ring_full\":0,\"rx_fill_ring_empty_descs\":0,\""
    "tx_ring_empty_descs\":5269}}]},{\"name\":\"xpc\",\"role\":\"core\",\"ifindex\":3,\"xdp\":{\"rx\":4,\"red"
    "irect\":0,\"pass_non_ip\":0,\"pass_arp_nd\":4,\"pass_mgmt\":0,\"pass_no_socket\":0,\"drop_no_socke"
    "t\":0,\"pass_foreign\":0,\"drop_blocked\":0},\"queues\":[{\"queue\":0,\"zero_copy\":false,\"rx_packe"
    "ts\":0,\"rx_bytes\":0,\"tx_packets\":3000,\"tx_bytes\":192000,\"drop_tx_ring_full\":0,\"tx_kicks\":"
    "2622,\"xsk\":{\"rx_dropped\":0,\"rx_invalid_descs\":0,\"tx_invalid_descs\":0,\"rx_ring_full\":0,\"r"
    "x_fill_ring_empty_descs\":0,\"tx_ring_empty_descs\":7891}}]}],\"frames\":{\"total\":8192,\"free\""
    ":4096,\"in_fill\":4096,\"in_tx\":0,\"held\":0,\"leaked\":0},\"pipeline\":{\"policed\":3000,\"forward\""
    ":3000,\"drop_unit_rate\":0,\"drop_dst_rate\":0,\"drop_table_full\":0,\"drop_malformed\":0,\"pass_"
    "malformed\":0,\"not_ip\":0,\"allowlisted\":0,\"unpoliced\":0,\"xdp_dropped_accounted\":0,\"blocks\""
    ":0,\"block_renewals\":0,\"unblocks\":0,\"block_errors\":0,\"block_set_full\":0,\"events_lost\":0,\""
    "malformed\":{\"truncated_eth\":0,\"truncated_vlan\":0,\"too_many_vlans\":0,\"truncated_ipv4\":0,\""
    "bad_ipv4_version\":0,\"bad_ihl\":0,\"ipv4_len_mismatch\":0,\"truncated_ipv6\":0,\"bad_ipv6_versi"
    "on\":0,\"ipv6_len_mismatch\":0,\"ext_hdr_chain_too_long\":0,\"truncated_ext_hdr\":0,\"misplaced_"
    "hop_by_hop\":0,\"truncated_l4\":0,\"bad_tcp_doff\":0},\"blocked_pairs\":0},\"policer\":{\"pairs\":1"
    ",\"capacity\":1048576,\"inserts\":1,\"restarts\":0,\"shrinks\":0,\"evict_idle\":0,\"evict_oldest\":0"
    ",\"refused_pass\":0,\"refused_drop\":0,\"warnings\":0,\"clock_backsteps\":0,\"destinations\":1,\"de"
    "stination_failures\":0,\"events_written\":0}}";

/*
 * The test's own statement of the naming rule (docs/operators.md), written independently of
 * render.c: xpro_ + keys joined by '_', array elements labelled by name (singular of the
 * array's key), role, queue.
 */
struct leaf_ctx {
    const char *text;
    unsigned leaves;
};

static const char *find_sample(const char *text, const char *name, const char *labels)
{
    char pat[512];
    const char *p;

    snprintf(pat, sizeof(pat), "\n%s%s%s%s ", name, labels[0] ? "{" : "", labels,
             labels[0] ? "}" : "");
    p = strstr(text, pat);
    return p ? p + strlen(pat) : NULL;
}

static void check_leaf(struct leaf_ctx *lc, const char *name, const char *labels,
                       const json_t *v)
{
    char total[300];
    const char *val;

    snprintf(total, sizeof(total), "%s_total", name);
    val = find_sample(lc->text, total, labels);
    if (!val)
        val = find_sample(lc->text, name, labels);
    lc->leaves++;
    if (!val) {
        fprintf(stderr, "test_prom: no sample %s{%s}\n", name, labels);
        failures++;
        return;
    }
    if (json_is_integer(v)) {
        CHECK(strtoll(val, NULL, 10) == json_integer_value(v));
    } else if (json_is_real(v)) {
        CHECK(strtod(val, NULL) == json_real_value(v));
    } else {
        CHECK(strtol(val, NULL, 10) == (json_is_true(v) ? 1 : 0));
    }
}

static void walk(struct leaf_ctx *lc, const json_t *o, const char *name, const char *labels)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)o, key, v) {
        char child[256];

        snprintf(child, sizeof(child), "%s_%s", name, key);
        if (json_is_object(v)) {
            walk(lc, v, child, labels);
        } else if (json_is_array(v)) {
            size_t i;
            json_t *el;

            json_array_foreach(v, i, el) {
                char l[512];

                if (strcmp(key, "ports") == 0)
                    snprintf(l, sizeof(l), "%s%sport=\"%s\",role=\"%s\"", labels,
                             labels[0] ? "," : "",
                             json_string_value(json_object_get(el, "name")),
                             json_string_value(json_object_get(el, "role")));
                else
                    snprintf(l, sizeof(l), "%s%squeue=\"%lld\"", labels, labels[0] ? "," : "",
                             (long long)json_integer_value(json_object_get(el, "queue")));
                json_t *copy = json_deep_copy(el);

                json_object_del(copy, "name");
                json_object_del(copy, "role");
                json_object_del(copy, "queue");
                walk(lc, copy, child, l);
                json_decref(copy);
            }
        } else if (json_is_number(v) || json_is_boolean(v)) {
            check_leaf(lc, child, labels, v);
        }
    }
}

static unsigned count_samples(const char *text)
{
    unsigned n = 0;

    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (*p && *p != '#')
            n++;
    }
    return n;
}

static void check_type(const char *text, const char *family, const char *type)
{
    char pat[256];
    const char *first;

    snprintf(pat, sizeof(pat), "# TYPE %s %s\n", family, type);
    first = strstr(text, pat);
    CHECK_STR(text, pat);
    /* One family, one TYPE line: samples of all ports and queues are grouped. */
    snprintf(pat, sizeof(pat), "# TYPE %s ", family);
    if (first)
        CHECK(strstr(strstr(text, pat) + 1, pat) == NULL);
}

static void test_sample_document(void)
{
    json_t *doc = json_loads(sample, 0, NULL);
    struct leaf_ctx lc = { 0 };
    size_t len = 0;
    char *text;

    CHECK(doc != NULL);
    text = xp_prom_render(doc, &len);
    CHECK(text != NULL);
    if (!text) {
        json_decref(doc);
        return;
    }
    CHECK(len == strlen(text));
    if (getenv("XP_PROM_PRINT"))
        fputs(text, stdout);
    /* Look-ups start with "\n": pretend the text starts on a new line. */
    {
        char *t = malloc(len + 2);

        t[0] = '\n';
        memcpy(t + 1, text, len + 1);
        lc.text = t;
        walk(&lc, doc, "xpro", "");
        free(t);
    }
    /* Nothing else: every sample is a leaf of the document, plus xpro_info. */
    CHECK(count_samples(text) == lc.leaves + 1);
    CHECK(lc.leaves > 100);
    CHECK_STR(text, "xpro_info{proxy_id=\"edge-1\"} 1\n");
    CHECK_STR(text, "xpro_ports_queues_rx_packets_total{port=\"xpa\",role=\"access\","
                    "queue=\"0\"} 3000\n");
    CHECK_STR(text, "xpro_ports_queues_xsk_tx_ring_empty_descs_total{port=\"xpc\","
                    "role=\"core\",queue=\"0\"} 7891\n");
    CHECK_STR(text, "xpro_ports_xdp_pass_arp_nd_total{port=\"xpc\",role=\"core\"} 4\n");
    CHECK_STR(text, "xpro_pipeline_malformed_bad_ihl_total 0\n");
    CHECK_STR(text, "xpro_totals_rx_pps 289.005512343\n");
    check_type(text, "xpro_ports_queues_rx_packets_total", "counter");
    check_type(text, "xpro_ports_queues_zero_copy", "gauge");
    check_type(text, "xpro_ports_ifindex", "gauge");
    check_type(text, "xpro_frames_free", "gauge");
    check_type(text, "xpro_frames_leaked", "gauge");
    check_type(text, "xpro_policer_pairs", "gauge");
    check_type(text, "xpro_policer_capacity", "gauge");
    check_type(text, "xpro_policer_evict_idle_total", "counter");
    check_type(text, "xpro_pipeline_blocked_pairs", "gauge");
    check_type(text, "xpro_pipeline_forward_total", "counter");
    check_type(text, "xpro_totals_rx_pps", "gauge");
    check_type(text, "xpro_ts", "gauge");
    CHECK_STR(text, "# HELP xpro_ports_queues_rx_packets_total ");
    free(text);
    json_decref(doc);
}

static void test_escaping_and_edges(void)
{
    json_t *doc = json_pack("{s:s,s:[{s:s,s:s,s:[{s:i,s:i}]}],s:{s:i},s:[i,i],s:[{s:i}],s:i}",
                            "proxy_id", "a\"b\\c\nd",
                            "ports", "name", "we\"ird\\", "role", "x", "queues",
                            "queue", 3, "rx_packets", 1,
                            "odd-key.x", "a b", 5,
                            "list", 7, 8,
                            "anon", "v", 9,
                            "already_total", 4);
    char *text = xp_prom_render(doc, NULL);

    CHECK(text != NULL);
    CHECK_STR(text, "xpro_info{proxy_id=\"a\\\"b\\\\c\\nd\"} 1\n");
    CHECK_STR(text, "xpro_ports_queues_rx_packets_total{port=\"we\\\"ird\\\\\",role=\"x\","
                    "queue=\"3\"} 1\n");
    CHECK_STR(text, "xpro_odd_key_x_a_b_total 5\n");
    CHECK_STR(text, "xpro_list_total{index=\"1\"} 8\n");
    CHECK_STR(text, "xpro_anon_v_total{index=\"0\"} 9\n");
    CHECK_STR(text, "xpro_already_total 4\n");
    CHECK_STR(text, "# TYPE xpro_already_total counter\n");
    free(text);
    json_decref(doc);

    doc = json_array();
    errno = 0;
    CHECK(xp_prom_render(doc, NULL) == NULL && errno == EINVAL);
    json_decref(doc);

    doc = json_object();
    text = xp_prom_render(doc, NULL);
    CHECK_STR(text, "xpro_info 1\n");
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

static void test_http(void)
{
    struct xp_prom_server_conf conf = { .addr = "127.0.0.1", .port = 0, .timeout_ms = 300 };
    struct xp_prom_server_stats st;
    struct test_server ts = { 0 };
    json_t *doc = json_loads(sample, 0, NULL);
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

static void test_flood(void)
{
    struct xp_prom_server_conf conf = { .addr = "127.0.0.1", .port = 0, .timeout_ms = 2000,
                                        .max_clients = 8 };
    struct xp_prom_server_stats st;
    struct test_server ts = { 0 };
    json_t *doc = json_loads(sample, 0, NULL);
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

int main(void)
{
    test_sample_document();
    test_escaping_and_edges();
    test_http();
    test_flood();
    return xp_check_report("test_prom");
}
