// SPDX-License-Identifier: GPL-2.0-only
/*
 * Longest-prefix match (src/util/lpm.c) against a linear scan of the same
 * prefixes: random populations of IPv4 and IPv6 prefixes of every length
 * over several layers, at random addresses and at the first and last
 * address of every prefix and just outside it; single and burst lookups.
 * Plus the builder's contract (duplicates, bad input) and an empty table.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/util/lpm.h"
#include "xp_check.h"

struct ref_prefix {
    uint8_t addr[16];
    unsigned len;
    unsigned layer;
    uint32_t value;
};

static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

static void mask16(uint8_t a[16], unsigned len)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned bits = i * 8;

        if (bits >= len)
            a[i] = 0;
        else if (len - bits < 8)
            a[i] &= (uint8_t)(0xff00U >> (len - bits));
    }
}

static bool in_prefix(const struct ref_prefix *p, const uint8_t a[16])
{
    uint8_t m[16];

    memcpy(m, a, 16);
    mask16(m, p->len);
    return memcmp(m, p->addr, 16) == 0;
}

/* The reference: each layer's longest matching prefix by a scan. */
static void ref_lookup(const struct ref_prefix *p, size_t n, unsigned layers, const uint8_t a[16],
                       uint32_t *out)
{
    int best[XP_LPM_LAYERS];

    for (unsigned l = 0; l < layers; l++) {
        best[l] = -1;
        out[l] = XP_LPM_NONE;
    }
    for (size_t i = 0; i < n; i++) {
        if (!in_prefix(&p[i], a) || (int)p[i].len <= best[p[i].layer])
            continue;
        best[p[i].layer] = (int)p[i].len;
        out[p[i].layer] = p[i].value;
    }
}

static void v4_mapped(uint8_t a[16], uint32_t v4)
{
    memset(a, 0, 10);
    a[10] = a[11] = 0xff;
    a[12] = (uint8_t)(v4 >> 24);
    a[13] = (uint8_t)(v4 >> 16);
    a[14] = (uint8_t)(v4 >> 8);
    a[15] = (uint8_t)v4;
}

/* A random prefix: IPv4 mostly, some IPv6, some IPv6 short enough to cover IPv4. */
static void random_prefix(struct ref_prefix *p, unsigned layers, bool clustered)
{
    unsigned kind = (unsigned)(rnd() % 10);

    memset(p, 0, sizeof(*p));
    if (kind < 6) {
        /* clustered: inside 198.18.0.0/15 so that prefixes nest and share levels */
        uint32_t v4 = clustered ? 0xc6120000U | (uint32_t)(rnd() & 0x1ffff) : (uint32_t)rnd();
        unsigned len = (unsigned)(rnd() % 33);

        v4_mapped(p->addr, v4);
        p->len = 96 + len;
    } else if (kind < 9) {
        for (unsigned i = 0; i < 16; i++)
            p->addr[i] = (uint8_t)rnd();
        if (clustered) { /* 2001:2::/48 and around */
            p->addr[0] = 0x20;
            p->addr[1] = 0x01;
            p->addr[2] = 0x00;
            p->addr[3] = (uint8_t)(rnd() & 3);
        }
        p->len = (unsigned)(rnd() % 129);
    } else {
        /* ::/n for n <= 80: covers all of IPv4 */
        p->len = (unsigned)(rnd() % 81);
    }
    mask16(p->addr, p->len);
    p->layer = (unsigned)(rnd() % layers);
    p->value = (uint32_t)(rnd() % 1000);
}

static void check_addr(const struct xp_lpm *t, const struct ref_prefix *p, size_t n,
                       unsigned layers, const uint8_t a[16], unsigned *bad)
{
    uint32_t want[XP_LPM_LAYERS];
    const uint32_t *got = xp_lpm__class(t, xp_lpm__lookup(t, a));

    ref_lookup(p, n, layers, a, want);
    for (unsigned l = 0; l < layers; l++) {
        if (got[l] != want[l] && (*bad)++ < 5)
            CHECK_MSG(0, "layer %u: got %u, want %u", l, got[l], want[l]);
    }
    checks++;
}

/* Addresses to probe: random ones, and each prefix's edges (first, last, one below, one above). */
static size_t probe_addrs(const struct ref_prefix *p, size_t n, uint8_t (*out)[16], size_t max)
{
    size_t k = 0;

    for (size_t i = 0; i < n && k + 4 <= max; i++) {
        uint8_t last[16];
        unsigned len = p[i].len;

        memcpy(out[k++], p[i].addr, 16);
        memcpy(last, p[i].addr, 16);
        for (unsigned b = len; b < 128; b++)
            last[b / 8] |= (uint8_t)(0x80 >> (b % 8));
        memcpy(out[k++], last, 16);
        /* one below the first and one above the last, by 128-bit carry */
        memcpy(out[k], p[i].addr, 16);
        for (int j = 15; j >= 0 && out[k][j]-- == 0; j--)
            ;
        k++;
        memcpy(out[k], last, 16);
        for (int j = 15; j >= 0 && ++out[k][j] == 0; j--)
            ;
        k++;
    }
    while (k < max) {
        if (rnd() & 1) {
            v4_mapped(out[k], rnd() & 1 ? (uint32_t)rnd() : 0xc6120000U | (uint32_t)(rnd() & 0x1ffff));
        } else {
            for (unsigned i = 0; i < 16; i++)
                out[k][i] = (uint8_t)rnd();
            if (rnd() & 1) {
                out[k][0] = 0x20;
                out[k][1] = 0x01;
                out[k][2] = 0;
                out[k][3] = (uint8_t)(rnd() & 3);
            }
        }
        k++;
    }
    return k;
}

static void test_random_populations(void)
{
    static const size_t sizes[] = {1, 2, 10, 100, 1000, 3000};
    enum { PROBES = 16000 };
    uint8_t(*addrs)[16] = malloc(sizeof(*addrs) * PROBES);
    const uint8_t **ptrs = malloc(sizeof(*ptrs) * PROBES);
    uint32_t *cls = malloc(sizeof(*cls) * PROBES);

    CHECK(addrs && ptrs && cls);
    if (!addrs || !ptrs || !cls)
        goto out;
    for (unsigned round = 0; round < 2 * sizeof(sizes) / sizeof(sizes[0]); round++) {
        size_t n = sizes[round / 2];
        bool clustered = round % 2;
        unsigned layers = 1 + round % XP_LPM_LAYERS, bad = 0;
        struct ref_prefix *p = calloc(n, sizeof(*p));
        struct xp_lpm_builder *b = xp_lpm_builder__new(layers);
        struct xp_lpm *t;
        size_t kept = 0, k;

        CHECK(p && b);
        if (!p || !b) {
            free(p);
            xp_lpm_builder__free(b);
            break;
        }
        for (size_t i = 0; i < n; i++) {
            int ret;

            random_prefix(&p[kept], layers, clustered);
            ret = xp_lpm_builder__add(b, p[kept].layer, p[kept].addr, p[kept].len,
                                      p[kept].value);
            /* the same prefix twice in a layer: -EEXIST unless the same value; keep the first */
            CHECK(ret == 0 || ret == -EEXIST);
            if (ret == 0) {
                bool dup = false;

                for (size_t j = 0; j < kept && !dup; j++)
                    dup = p[j].len == p[kept].len && p[j].layer == p[kept].layer &&
                          !memcmp(p[j].addr, p[kept].addr, 16);
                if (!dup)
                    kept++;
            }
        }
        t = xp_lpm_builder__build(b);
        CHECK(t != NULL);
        if (t) {
            CHECK(xp_lpm__n_classes(t) <= kept + 1);
            CHECK_EQ(xp_lpm__n_layers(t), layers);
            k = probe_addrs(p, kept, addrs, PROBES);
            for (size_t i = 0; i < k; i++)
                check_addr(t, p, kept, layers, addrs[i], &bad);
            /* the burst gives the same classes as single lookups */
            for (size_t i = 0; i < k; i++)
                ptrs[i] = addrs[i];
            xp_lpm__lookup_burst(t, ptrs, cls, (unsigned)k);
            for (size_t i = 0; i < k; i++) {
                if (cls[i] != xp_lpm__lookup(t, addrs[i]) && bad++ < 5)
                    CHECK_MSG(0, "burst class %u != single %u at %zu", cls[i],
                              xp_lpm__lookup(t, addrs[i]), i);
            }
            CHECK_MSG(bad == 0, "%zu prefixes, %u layers, clustered %d: %u mismatches", kept,
                      layers, clustered, bad);
            xp_lpm__free(t);
        }
        xp_lpm_builder__free(b);
        free(p);
    }
out:
    free(addrs);
    free(ptrs);
    free(cls);
}

static void test_contract(void)
{
    struct xp_lpm_builder *b;
    struct xp_lpm *t;
    uint8_t a[16], host[16];
    const uint32_t *v;

    CHECK(xp_lpm_builder__new(0) == NULL);
    CHECK(xp_lpm_builder__new(XP_LPM_LAYERS + 1) == NULL);
    b = xp_lpm_builder__new(2);
    CHECK(b != NULL);
    if (!b)
        return;
    v4_mapped(a, 0x0a000000U); /* 10.0.0.0 */
    CHECK_EQ(xp_lpm_builder__add(b, 2, a, 104, 1), -EINVAL);
    CHECK_EQ(xp_lpm_builder__add(b, 0, a, 129, 1), -EINVAL);
    CHECK_EQ(xp_lpm_builder__add(b, 0, a, 104, XP_LPM_NONE), -EINVAL);
    CHECK_EQ(xp_lpm_builder__add(b, 0, a, 104, 7), 0);
    /* host bits below the prefix are ignored: 10.1.2.3/8 is 10.0.0.0/8 */
    v4_mapped(host, 0x0a010203U);
    CHECK_EQ(xp_lpm_builder__add(b, 0, host, 104, 7), 0);
    CHECK_EQ(xp_lpm_builder__add(b, 0, host, 104, 8), -EEXIST);
    /* the same prefix in another layer is another list */
    CHECK_EQ(xp_lpm_builder__add(b, 1, host, 104, 8), 0);
    t = xp_lpm_builder__build(b);
    CHECK(t != NULL);
    if (t) {
        v = xp_lpm__class(t, xp_lpm__lookup(t, host));
        CHECK_EQ(v[0], 7);
        CHECK_EQ(v[1], 8);
        v4_mapped(host, 0x0b000000U);
        v = xp_lpm__class(t, xp_lpm__lookup(t, host));
        CHECK_EQ(v[0], XP_LPM_NONE);
        CHECK_EQ(v[1], XP_LPM_NONE);
        /* an out-of-range class reads as "no match", never out of bounds */
        v = xp_lpm__class(t, 123456);
        CHECK_EQ(v[0], XP_LPM_NONE);
        CHECK(xp_lpm__bytes(t) >= 2 * 65536 * 4);
        xp_lpm__free(t);
    }
    xp_lpm_builder__free(b);

    /* an empty table: one class, no layer matches anywhere */
    b = xp_lpm_builder__new(1);
    t = b ? xp_lpm_builder__build(b) : NULL;
    CHECK(t != NULL);
    if (t) {
        CHECK_EQ(xp_lpm__n_classes(t), 1);
        memset(a, 0x20, 16);
        CHECK_EQ(xp_lpm__class(t, xp_lpm__lookup(t, a))[0], XP_LPM_NONE);
        xp_lpm__free(t);
    }
    xp_lpm_builder__free(b);
}

/* ::/0 matches IPv4 too; a /96 over ::ffff:0:0 is "all of IPv4"; /128 and /32 hosts. */
static void test_edges(void)
{
    struct xp_lpm_builder *b = xp_lpm_builder__new(1);
    struct xp_lpm *t;
    uint8_t zero[16] = {0}, a[16];

    CHECK(b != NULL);
    if (!b)
        return;
    CHECK_EQ(xp_lpm_builder__add(b, 0, zero, 0, 1), 0);
    v4_mapped(a, 0);
    CHECK_EQ(xp_lpm_builder__add(b, 0, a, 96, 2), 0);
    v4_mapped(a, 0xc6120001U);
    CHECK_EQ(xp_lpm_builder__add(b, 0, a, 128, 3), 0);
    memset(a, 0, 16);
    a[0] = 0x20, a[1] = 0x01, a[3] = 0x02, a[15] = 1;
    CHECK_EQ(xp_lpm_builder__add(b, 0, a, 128, 4), 0);
    t = xp_lpm_builder__build(b);
    CHECK(t != NULL);
    if (t) {
        CHECK_EQ(xp_lpm__class(t, xp_lpm__lookup(t, a))[0], 4);
        a[15] = 2;
        CHECK_EQ(xp_lpm__class(t, xp_lpm__lookup(t, a))[0], 1);
        v4_mapped(a, 0xc6120001U);
        CHECK_EQ(xp_lpm__class(t, xp_lpm__lookup(t, a))[0], 3);
        v4_mapped(a, 0xc6120002U);
        CHECK_EQ(xp_lpm__class(t, xp_lpm__lookup(t, a))[0], 2);
        /* ::fffe:c612:1 is not IPv4-mapped */
        v4_mapped(a, 0xc6120001U);
        a[11] = 0xfe;
        CHECK_EQ(xp_lpm__class(t, xp_lpm__lookup(t, a))[0], 1);
        xp_lpm__free(t);
    }
    xp_lpm_builder__free(b);
}

int main(void)
{
    test_contract();
    test_edges();
    test_random_populations();
    return xp_check_report("test_lpm");
}
