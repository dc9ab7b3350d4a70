// SPDX-License-Identifier: GPL-2.0-only
/*
 * The operator blocks' list of record (src/proxy/op_blocks.h): matching (a pair's own
 * entry, the unit's every-destination one, expiry), the state file written and read back
 * (who, why, since, until), expired entries left out at load, a torn or foreign file
 * refused whole, the temporary file never left behind, and the operator's text made safe.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/parse/parse.h"
#include "src/proxy/op_blocks.h"

#include "xp_check.h"

static char dir[64], path[128];

static struct xp_op_block mk(const char *unit, const char *dst, const char *by, double expires)
{
    struct xp_op_block b = { 0 };
    struct xp_cidr c;

    CHECK_EQ(xp_cidr_parse(unit, &c), 0);
    memcpy(b.unit, c.addr, 16);
    snprintf(b.unit_text, sizeof(b.unit_text), "%s", unit);
    if (dst) {
        CHECK_EQ(xp_cidr_parse(dst, &c), 0);
        memcpy(b.dst, c.addr, 16);
        snprintf(b.dst_text, sizeof(b.dst_text), "%s", dst);
    } else {
        b.any_dst = true;
        snprintf(b.dst_text, sizeof(b.dst_text), "*");
    }
    snprintf(b.by, sizeof(b.by), "%s", by);
    snprintf(b.why, sizeof(b.why), "because %s", by);
    b.uid = 1000;
    b.since = 1000.5;
    b.expires = expires;
    return b;
}

static void addr(const char *text, uint8_t out[16])
{
    struct xp_cidr c;

    CHECK_EQ(xp_cidr_parse(text, &c), 0);
    memcpy(out, c.addr, 16);
}

static void test_match(void)
{
    struct xp_op_blocks *ob = xp_op_blocks__create(NULL);
    struct xp_op_block pair = mk("198.18.0.2", "198.18.0.254", "alice", 0);
    struct xp_op_block unit = mk("198.18.0.3", NULL, "bob", 2000);
    struct xp_op_block out;
    uint8_t u2[16], u3[16], d[16], d2[16];

    addr("198.18.0.2", u2);
    addr("198.18.0.3", u3);
    addr("198.18.0.254", d);
    addr("198.18.0.253", d2);
    CHECK_EQ(xp_op_blocks__set(ob, &pair), 0);
    CHECK_EQ(xp_op_blocks__set(ob, &unit), 0);
    CHECK_EQ(xp_op_blocks__count(ob), 2);
    CHECK(xp_op_blocks__has(ob, u2, d) && !xp_op_blocks__has(ob, u2, NULL));
    CHECK(xp_op_blocks__has(ob, u3, NULL) && !xp_op_blocks__has(ob, u3, d));
    CHECK(xp_op_blocks__match(ob, u2, d, 1500) != NULL);
    CHECK(xp_op_blocks__match(ob, u2, d2, 1500) == NULL);   /* a pair block is that pair only */
    CHECK(xp_op_blocks__match(ob, u3, d2, 1500) != NULL);   /* a unit block: every destination */
    CHECK(xp_op_blocks__match(ob, u3, d2, 2000) == NULL);   /* expired */
    /* Setting the same key again replaces it (a new reason, a new expiry). */
    pair.expires = 3000;
    CHECK_EQ(xp_op_blocks__set(ob, &pair), 0);
    CHECK_EQ(xp_op_blocks__count(ob), 2);
    CHECK(xp_op_blocks__take_expired(ob, 2500, &out));
    CHECK(strcmp(out.by, "bob") == 0);
    CHECK(!xp_op_blocks__take_expired(ob, 2500, &out));
    CHECK_EQ(xp_op_blocks__remove(ob, u2, NULL, &out), -ENOENT); /* not the unit-wide one */
    CHECK_EQ(xp_op_blocks__remove(ob, u2, d, &out), 0);
    CHECK_EQ(xp_op_blocks__count(ob), 0);
    xp_op_blocks__destroy(ob);
}

static void test_file(void)
{
    struct xp_op_blocks *ob = xp_op_blocks__create(path);
    struct xp_op_block a = mk("198.18.0.2", "198.18.0.254", "alice", 0);
    struct xp_op_block b = mk("2001:2::", NULL, "bob", 5000);
    struct xp_op_block c = mk("198.18.0.9", NULL, "carol", 1500);
    const struct xp_op_block *g;
    char err[256], tmp[160];
    struct stat st;
    FILE *f;

    CHECK_EQ(xp_op_blocks__load(ob, 1000, err, sizeof(err)), 0); /* no file: empty */
    CHECK_EQ(xp_op_blocks__count(ob), 0);
    CHECK_EQ(xp_op_blocks__set(ob, &a), 0);
    CHECK_EQ(xp_op_blocks__set(ob, &b), 0);
    CHECK_EQ(xp_op_blocks__set(ob, &c), 0);
    CHECK_EQ(xp_op_blocks__save(ob, err, sizeof(err)), 0);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    CHECK(stat(tmp, &st) != 0 && errno == ENOENT);
    CHECK_EQ(stat(path, &st), 0);
    CHECK_EQ(st.st_mode & 0007, 0);
    xp_op_blocks__destroy(ob);

    /* Read back at 2000: carol's block ended at 1500 and is left out. */
    ob = xp_op_blocks__create(path);
    CHECK_EQ(xp_op_blocks__load(ob, 2000, err, sizeof(err)), 0);
    CHECK_EQ(xp_op_blocks__count(ob), 2);
    g = xp_op_blocks__get(ob, 0);
    CHECK(g && strcmp(g->by, "alice") == 0 && strcmp(g->why, "because alice") == 0 &&
          g->uid == 1000 && g->since == 1000.5 && g->expires == 0 && !g->any_dst &&
          memcmp(g->unit, a.unit, 16) == 0 && memcmp(g->dst, a.dst, 16) == 0);
    g = xp_op_blocks__get(ob, 1);
    CHECK(g && strcmp(g->unit_text, "2001:2::") == 0 && g->any_dst && g->expires == 5000);
    xp_op_blocks__destroy(ob);

    /* A torn file, a foreign one, a bad entry: refused whole, with the file named. */
    static const char *const bad[] = {
        "{\"version\": 1, \"blocks\": [",
        "{\"version\": 2, \"blocks\": []}",
        "{\"version\": 1, \"blocks\": [{\"unit\": \"198.18.0.2/24\", \"dst\": \"*\", "
        "\"by\": \"a\", \"uid\": 0, \"why\": \"\", \"since\": 1}]}",
        "{\"version\": 1, \"blocks\": [{\"unit\": \"198.18.0.2\", \"dst\": \"*\", "
        "\"by\": \"a b\", \"uid\": 0, \"why\": \"\", \"since\": 1}]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        f = fopen(path, "w");
        CHECK(f != NULL);
        if (!f)
            return;
        fputs(bad[i], f);
        fclose(f);
        ob = xp_op_blocks__create(path);
        CHECK_MSG(xp_op_blocks__load(ob, 2000, err, sizeof(err)) == -EINVAL, "bad[%zu]", i);
        CHECK_MSG(strstr(err, path) != NULL, "bad[%zu]: %s", i, err);
        CHECK_EQ(xp_op_blocks__count(ob), 0);
        xp_op_blocks__destroy(ob);
    }
    unlink(path);

    /* A directory that cannot take the file: the error names the step. */
    ob = xp_op_blocks__create("/nonexistent-xpro-dir/x.blocks.json");
    CHECK(xp_op_blocks__save(ob, err, sizeof(err)) < 0);
    CHECK_MSG(strstr(err, "create") != NULL, "%s", err);
    xp_op_blocks__destroy(ob);
}

static void test_text(void)
{
    char out[XP_OPB_WHY_MAX + 1], big[XP_OPB_WHY_MAX + 2];

    CHECK_EQ(xp_op_blocks__sanitize("ticket 42\n\x1b[31mred\x7f", out, sizeof(out)), 0);
    CHECK(strcmp(out, "ticket 42  [31mred ") == 0);
    CHECK_EQ(xp_op_blocks__sanitize("caf\xc3\xa9", out, sizeof(out)), 0); /* UTF-8 stays */
    CHECK(strcmp(out, "caf\xc3\xa9") == 0);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK_EQ(xp_op_blocks__sanitize(big, out, sizeof(out)), -E2BIG);
    big[XP_OPB_WHY_MAX] = '\0';
    CHECK_EQ(xp_op_blocks__sanitize(big, out, sizeof(out)), 0);
    CHECK(xp_op_blocks__valid_name("ops.alice@noc-1"));
    CHECK(!xp_op_blocks__valid_name(""));
    CHECK(!xp_op_blocks__valid_name("a b"));
    CHECK(!xp_op_blocks__valid_name("a\nb"));
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/xp-test-opb.%d", (int)getpid());
    snprintf(path, sizeof(path), "%s/edge.blocks.json", dir);
    if (mkdir(dir, 0700) != 0) {
        perror(dir);
        return 1;
    }
    test_match();
    test_file();
    test_text();
    rmdir(dir);
    return xp_check_report("test_op_blocks");
}
