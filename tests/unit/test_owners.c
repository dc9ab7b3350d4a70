// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pair ownership across workers (src/policer/owners.c and the hand-off in
 * policer.c): a pair whose packets reach several workers is held and
 * counted by exactly one of them, every packet once, and its verdicts come
 * as fast as if its packets had all reached one worker.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "src/policer/policer.h"
#include "test_policer_common.h"

#include "xp_check.h"

#define MAX_W 4

struct proxy {
    unsigned n;
    struct xp_dst_table *dst;
    struct xp_owners *own;
    struct xp_policer *pol[MAX_W];
};

static void proxy_init(struct proxy *px, unsigned n, uint32_t capacity,
                       const struct xp_policer_limits *lim)
{
    memset(px, 0, sizeof(*px));
    px->n = n;
    px->dst = xp_dst_table__create(1024, n);
    px->own = n > 1 ? xp_owners__create((uint64_t)capacity * n, n) : NULL;
    if (!px->dst || (n > 1 && !px->own)) {
        perror("create");
        exit(1);
    }
    for (unsigned w = 0; w < n; w++) {
        struct xp_policer_config cfg = {
            .limits = *lim,
            .capacity = capacity,
            .worker_id = w,
            .owners = px->own,
        };

        px->pol[w] = xp_policer__create(&cfg, px->dst);
        if (!px->pol[w]) {
            perror("xp_policer__create");
            exit(1);
        }
    }
}

static void proxy_fini(struct proxy *px)
{
    for (unsigned w = 0; w < px->n; w++)
        xp_policer__destroy(px->pol[w]);
    xp_owners__destroy(px->own);
    xp_dst_table__destroy(px->dst);
}

/* IPv6 unit 2001:2::/64 (host part h) -> 2001:2:ffff::d */
static struct xp_policer_key k6(unsigned h, unsigned d)
{
    uint8_t src[16] = {0x20, 0x01, 0x00, 0x02}, dst[16] = {0x20, 0x01, 0x00, 0x02, 0xff, 0xff};
    struct xp_policer_key k;

    src[14] = (uint8_t)(h >> 8);
    src[15] = (uint8_t)h;
    dst[15] = (uint8_t)d;
    xp_policer_key__build(&k, AF_INET6, src, dst, 64);
    return k;
}

/* Which workers hold key (bit mask), and the sum of their c. */
static unsigned holders(struct proxy *px, const struct xp_policer_key *k, uint64_t *c)
{
    unsigned mask = 0;

    *c = 0;
    for (unsigned w = 0; w < px->n; w++) {
        struct xp_pair_state s;

        if (xp_policer__lookup(px->pol[w], k, &s) == 0) {
            mask |= 1U << w;
            *c += s.c;
        }
    }
    return mask;
}

/* Every worker's loop turn: take hand-offs, publish blocks for the drops as the pipeline does. */
static unsigned turn(struct proxy *px, uint64_t t, uint64_t block_ns, enum xp_verdict *seen)
{
    struct xp_policer_handoff out[256];
    unsigned total = 0;

    for (unsigned w = 0; w < px->n; w++) {
        unsigned n = xp_policer__take_handoffs(px->pol[w], out, 256, NULL);

        for (unsigned i = 0; i < n; i++) {
            if (seen && *seen == XP_VERDICT_FORWARD)
                *seen = out[i].verdict;
            if (xp_verdict_drops(out[i].verdict))
                xp_policer__publish_block(px->pol[w], &out[i].key, t + block_ns,
                                          out[i].verdict);
        }
        total += n;
    }
    return total;
}

/*
 * A unit rotating over 64 addresses of its /64 at 4 x T_F1, its packets
 * spread round-robin over 4 workers: one worker holds the pair and counts
 * every packet; the unit test fires within one loop turn (1 ms here) of
 * the packet where it fires for the same trace on one worker; after the
 * owner's block the other workers drop the pair's packets themselves.
 */
static void test_rotating_unit_one_window(void)
{
    struct xp_policer_limits lim = test_limits();
    struct proxy one, four;
    uint64_t first_one = 0, first_four = 0, c;
    enum xp_verdict seen = XP_VERDICT_FORWARD;
    unsigned foreign_drops = 0;
    const unsigned N = 2000; /* 0.5 s at 4000 pps */

    proxy_init(&one, 1, 1024, &lim);
    proxy_init(&four, 4, 1024, &lim);
    for (unsigned i = 0; i < N; i++) {
        struct xp_policer_key k = k6(i % 64, 1);
        uint64_t t = T0 + (uint64_t)i * 250000; /* 4000 pps */
        enum xp_verdict v1 = xp_policer__packet(one.pol[0], &k, t, NULL);
        enum xp_verdict v4 = xp_policer__packet(four.pol[i % 4], &k, t, NULL);

        if (v1 == XP_VERDICT_DROP_UNIT && !first_one)
            first_one = t;
        if ((v4 == XP_VERDICT_DROP_UNIT || seen == XP_VERDICT_DROP_UNIT) && !first_four)
            first_four = t;
        if (v4 == XP_VERDICT_FOREIGN_DROP_UNIT)
            foreign_drops++;
        /* a loop turn every 1 ms */
        if (i % 4 == 3)
            turn(&four, t, 200 * MS, &seen);
    }
    turn(&four, T0 + (uint64_t)N * 250000, 200 * MS, NULL);
    CHECK(first_one != 0);
    CHECK(first_four != 0);
    CHECK(first_four >= first_one && first_four - first_one <= 1 * MS);
    CHECK(foreign_drops > N / 4);
    /* one holder, every packet counted once */
    {
        struct xp_policer_key k = k6(0, 1);

        CHECK_EQ(__builtin_popcount(holders(&four, &k, &c)), 1);
    }
    CHECK_EQ(c, N);
    CHECK_EQ(xp_owners__count(four.own), 1);
    {
        struct xp_policer_stats s;
        uint64_t handed = 0, counted = 0, lost = 0;

        for (unsigned w = 0; w < 4; w++) {
            xp_policer__stats(four.pol[w], &s);
            handed += s.foreign;
            counted += s.foreign_counted;
            lost += s.foreign_lost;
            CHECK_EQ(s.foreign_refused, 0);
        }
        CHECK_EQ(handed, N * 3 / 4);
        CHECK_EQ(counted, handed);
        CHECK_EQ(lost, 0);
    }
    proxy_fini(&one);
    proxy_fini(&four);
}

/* The worker that meets a pair first owns it; installs elsewhere are refused and routed. */
static void test_owner_and_installs(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_policer_key k = k4(1, 1), r = k4(2, 2);
    struct xp_pair_state fresh = {.ts1 = T0, .ts2 = T0 + 10 * MS, .c = 7};
    struct proxy px;
    uint64_t c;

    proxy_init(&px, 3, 64, &lim);
    CHECK_EQ(xp_owners__owner(px.own, &k), -1);
    CHECK_EQ(xp_policer__packet(px.pol[2], &k, T0, NULL), XP_VERDICT_FORWARD);
    CHECK_EQ(xp_owners__owner(px.own, &k), 2);
    CHECK_EQ(xp_policer__packet(px.pol[0], &k, T0 + MS, NULL), XP_VERDICT_FOREIGN);
    /* a sync answer for it at another worker is refused: no second copy */
    CHECK_EQ(xp_policer__install(px.pol[1], &k, NULL, &fresh), -EBUSY);
    CHECK_EQ(holders(&px, &k, &c), 1U << 2);
    /* a pair no worker holds is installed where it is sent, which then owns it */
    CHECK_EQ(xp_policer__install(px.pol[1], &r, NULL, &fresh), 0);
    CHECK_EQ(xp_owners__owner(px.own, &r), 1);
    CHECK_EQ(xp_policer__packet(px.pol[0], &r, T0 + 20 * MS, NULL), XP_VERDICT_FOREIGN);
    turn(&px, T0 + 20 * MS, 0, NULL);
    CHECK_EQ(holders(&px, &r, &c), 1U << 1);
    CHECK_EQ(c, 8);
    /* XDP drops accounted by a worker that no longer owns the pair go to the owner */
    CHECK_EQ(xp_policer__account(px.pol[0], &k, 5, T0 + 2 * MS), 0);
    turn(&px, T0 + 2 * MS, 0, NULL);
    CHECK_EQ(holders(&px, &k, &c), 1U << 2);
    CHECK_EQ(c, 7); /* 1 own + 1 handed + 5 accounted */
    proxy_fini(&px);
}

/*
 * Small tables under churn (evictions release, the next creator claims):
 * never two holders of one pair, and the directory holds exactly the pairs
 * in the tables.
 */
static void test_churn_directory_consistent(void)
{
    struct xp_policer_limits lim = test_limits();
    struct proxy px;
    uint64_t seed = 7;
    uint64_t t = T0;

    proxy_init(&px, 4, 32, &lim);
    for (unsigned i = 0; i < 200000; i++) {
        unsigned w, u;
        struct xp_policer_key k;

        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        w = (unsigned)(seed >> 33) % 4;
        u = (unsigned)(seed >> 40) % 300;
        k = k4(u, u % 7);
        t += 50000;
        (void)xp_policer__packet(px.pol[w], &k, t, NULL);
        if (i % 16 == 0)
            turn(&px, t, 0, NULL);
    }
    turn(&px, t, 0, NULL);
    {
        uint64_t in_tables = 0, c;
        struct xp_policer_stats s;

        for (unsigned w = 0; w < 4; w++) {
            xp_policer__stats(px.pol[w], &s);
            in_tables += s.pairs_in_use;
            CHECK(s.evict_idle + s.evict_oldest > 0);
        }
        CHECK_EQ(xp_owners__count(px.own), in_tables);
        for (unsigned u = 0; u < 300; u++) {
            struct xp_policer_key k = k4(u, u % 7);
            unsigned m = holders(&px, &k, &c);

            CHECK(__builtin_popcount(m) <= 1);
            if (m)
                CHECK_EQ(xp_owners__owner(px.own, &k), __builtin_ctz(m));
        }
    }
    proxy_fini(&px);
}

/*
 * Four threads, each one worker, police the same 512 pairs concurrently,
 * every thread every pair (the worst case: each pair's packets reach all
 * workers), taking hand-offs between bursts. At the end each pair is held
 * by one worker and its c is the number of packets sent for it, exactly:
 * claims race, hand-offs cross, and no packet is lost or counted twice.
 */
#define TH_KEYS 512
#define TH_ROUNDS 400

/*
 * How many rounds a thread may run ahead of the slowest one. Workers on
 * cores of their own drain their rings every loop turn; four threads on a
 * loaded two-core machine (meson runs tests in parallel, ASan slows them)
 * can leave one off its core for tens of ms while the others fill its
 * rings, which counts hand-offs as lost by design (a full ring never
 * blocks a worker). Bounding the lead keeps what waits in a ring under
 * (LEAD + 1) rounds of 512 records, far below its 65,536.
 */
#define TH_LEAD 8

struct th_arg {
    struct proxy *px;
    unsigned w;
    atomic_uint *done;
    atomic_uint *round; /* per thread: rounds finished */
};

/* The fewest rounds any thread has finished. */
static unsigned th_slowest(const struct th_arg *a)
{
    unsigned m = UINT32_MAX;

    for (unsigned w = 0; w < a->px->n; w++) {
        unsigned r = atomic_load(&a->round[w]);

        if (r < m)
            m = r;
    }
    return m;
}

static void *th_main(void *arg)
{
    struct th_arg *a = arg;
    struct xp_policer_handoff out[256];
    struct xp_policer_key keys[64];
    enum xp_verdict v[64];
    uint64_t seed = 1000 + a->w;

    for (unsigned r = 0; r < TH_ROUNDS; r++) {
        while (r > th_slowest(a) + TH_LEAD) {
            (void)xp_policer__take_handoffs(a->px->pol[a->w], out, 256, NULL);
            sched_yield();
        }
        for (unsigned b = 0; b < TH_KEYS / 64; b++) {
            unsigned rot;

            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            rot = (unsigned)(seed >> 58);
            /* each round sends every key once, rotated differently by each thread */
            for (unsigned i = 0; i < 64; i++)
                keys[i] = k4(b * 64 + (i + rot) % 64 + 1, 1);
            (void)xp_policer__packet_burst(a->px->pol[a->w], keys, 64, T0 + r * MS, v, NULL);
            while (xp_policer__take_handoffs(a->px->pol[a->w], out, 256, NULL) == 256)
                ;
            /*
             * Four threads share this machine's cores: let the others drain
             * their rings, as workers on cores of their own do every turn.
             */
            sched_yield();
        }
        atomic_store(&a->round[a->w], r + 1);
    }
    atomic_fetch_add(a->done, 1);
    /* keep taking until everyone is done, so no producer waits on a full ring for ever */
    while (atomic_load(a->done) < a->px->n)
        (void)xp_policer__take_handoffs(a->px->pol[a->w], out, 256, NULL);
    return NULL;
}

static void test_threads_exactly_once(void)
{
    struct xp_policer_limits lim = test_limits();
    struct th_arg args[4];
    pthread_t th[4];
    atomic_uint done = 0, round[4] = {0, 0, 0, 0};
    struct proxy px;
    uint64_t total = 0, lost = 0, sent_each[TH_KEYS + 1];

    lim.t_t1_ns = 3600 * SEC; /* no restarts: c counts every packet */
    lim.t_f1_pps = 1000000000;
    proxy_init(&px, 4, 4096, &lim);
    for (unsigned w = 0; w < 4; w++) {
        args[w] = (struct th_arg){.px = &px, .w = w, .done = &done, .round = round};
        if (pthread_create(&th[w], NULL, th_main, &args[w])) {
            perror("pthread_create");
            exit(1);
        }
    }
    for (unsigned w = 0; w < 4; w++)
        pthread_join(th[w], NULL);
    turn(&px, T0 + TH_ROUNDS * MS, 0, NULL);
    for (unsigned w = 0; w < 4; w++) {
        struct xp_policer_stats s;

        xp_policer__stats(px.pol[w], &s);
        lost += s.foreign_lost;
        CHECK_EQ(s.foreign_refused, 0);
    }
    for (unsigned u = 1; u <= TH_KEYS; u++) {
        struct xp_policer_key k = k4(u, 1);
        uint64_t c;
        unsigned m = holders(&px, &k, &c);

        sent_each[u] = c;
        CHECK_EQ(__builtin_popcount(m), 1);
        total += c;
    }
    CHECK_EQ(total + lost, 4ULL * TH_ROUNDS * TH_KEYS);
    CHECK_EQ(lost, 0);
    {
        unsigned wrong = 0;

        for (unsigned u = 1; u <= TH_KEYS; u++)
            wrong += sent_each[u] != 4 * TH_ROUNDS;
        CHECK_EQ(wrong, 0);
    }
    printf("threads: %llu packets counted, %llu hand-offs lost (ring full), %llu owners\n",
           (unsigned long long)total, (unsigned long long)lost,
           (unsigned long long)xp_owners__count(px.own));
    proxy_fini(&px);
}

/*
 * Policy groups across workers: a hand-off carries the groups its packets were classified
 * in, and the owner judges them with those groups' thresholds (global T_F1 1000; unit group
 * 1: 100000).
 */
static void test_handoff_groups(void)
{
    struct xp_policer_limits lim = test_limits();
    struct xp_policer_unit_group lenient = {.t_f1_pps = 100000, .t_t2_ns = 100 * MS};
    struct xp_policer_key keys[2] = {k4(1, 1), k4(2, 1)};
    uint32_t grp[2] = {XP_POLICER_GROUPS(1, 0), XP_POLICER_GROUPS(0, 0)};
    struct xp_policer_handoff out[16];
    enum xp_verdict v[2];
    unsigned drops[2] = {0, 0};
    struct proxy px;

    proxy_init(&px, 2, 64, &lim);
    for (unsigned w = 0; w < 2; w++)
        CHECK_EQ(xp_policer__set_groups(px.pol[w], &lenient, 1, NULL, 0), 0);
    /* worker 1 owns both pairs; worker 0 sees their packets at 5000 pps for 300 ms */
    xp_policer__packet_burst_groups(px.pol[1], keys, grp, 2, T0, v, NULL, NULL);
    for (unsigned i = 1; i <= 1500; i++) {
        uint64_t t = T0 + i * 200000ULL;
        unsigned n;

        xp_policer__packet_burst_groups(px.pol[0], keys, grp, 2, t, v, NULL, NULL);
        CHECK(v[0] == XP_VERDICT_FOREIGN || v[0] == XP_VERDICT_FOREIGN_DROP_UNIT);
        n = xp_policer__take_handoffs(px.pol[1], out, 16, NULL);
        for (unsigned k = 0; k < n; k++) {
            unsigned which = memcmp(&out[k].key, &keys[0], sizeof(keys[0])) == 0 ? 0 : 1;

            CHECK_EQ(out[k].grp, grp[which]);
            drops[which] += out[k].verdict == XP_VERDICT_DROP_UNIT;
        }
    }
    CHECK_MSG(drops[0] == 0 && drops[1] > 0, "owner's drops: lenient group %u, default %u",
              drops[0], drops[1]);
    /* set_groups refuses what the global limits would: T_F1 0 */
    lenient.t_f1_pps = 0;
    CHECK_EQ(xp_policer__set_groups(px.pol[0], &lenient, 1, NULL, 0), -EINVAL);
    proxy_fini(&px);
}

static void test_bad_args(void)
{
    CHECK(xp_owners__create(0, 2) == NULL);
    CHECK(xp_owners__create(16, 1) == NULL);
    CHECK(xp_owners__create(16, 257) == NULL);
    CHECK_EQ(xp_owners__owner(NULL, NULL), -1);
    CHECK_EQ(xp_owners__count(NULL), 0);
    xp_owners__destroy(NULL);
}

int main(void)
{
    test_rotating_unit_one_window();
    test_owner_and_installs();
    test_churn_directory_consistent();
    test_threads_exactly_once();
    test_handoff_groups();
    test_bad_args();
    return xp_check_report("test_owners");
}
