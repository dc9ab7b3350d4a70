// SPDX-License-Identifier: GPL-2.0-only
/*
 * Classification of a packet's addresses against the policer section's
 * prefix lists (pipeline.h). Two multi-layer LPM tables (src/util/lpm.h):
 * sources with the layers unit_prefixes, allow_src and the unit groups,
 * destinations with allow_dst and the destination groups. Each table's
 * classes are few (at most one per prefix, plus one), so the class of a
 * lookup is turned into the pipeline's answer by one more load from a
 * per-class word computed here, at build time, off the packet path.
 */
#include "src/pipeline/pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "src/util/hexaddr.h"
#include "src/util/lpm.h"

enum {
    SRC_UNITS = 0,
    SRC_ALLOW,
    SRC_GROUPS,
    SRC_LAYERS,
};

enum {
    DST_ALLOW = 0,
    DST_GROUPS,
    DST_LAYERS,
};

struct xp_classifier {
    struct xp_lpm *src, *dst; /* NULL: no prefix in that table */
    uint32_t *src_word;       /* per class of src */
    uint32_t *dst_word;
};

void xp_conf_policer__release(struct xp_conf_policer *pc)
{
    if (!pc)
        return;
    free(pc->units);
    free(pc->allow_src);
    free(pc->allow_dst);
    pc->units = pc->allow_src = pc->allow_dst = NULL;
    pc->n_units = pc->n_allow_src = pc->n_allow_dst = 0;
    for (unsigned i = 0; pc->unit_groups && i < pc->n_unit_groups; i++)
        free(pc->unit_groups[i].prefixes);
    for (unsigned i = 0; pc->dst_groups && i < pc->n_dst_groups; i++)
        free(pc->dst_groups[i].prefixes);
    free(pc->unit_groups);
    free(pc->dst_groups);
    pc->unit_groups = pc->dst_groups = NULL;
    pc->n_unit_groups = pc->n_dst_groups = 0;
    xp_classifier__free(pc->cls);
    pc->cls = NULL;
}

static int add_list(struct xp_lpm_builder *b, unsigned layer, const struct xp_cidr *list,
                    unsigned n, uint32_t value)
{
    for (unsigned i = 0; i < n; i++) {
        int ret = xp_lpm_builder__add(b, layer, list[i].addr, list[i].prefix_len, value);

        if (ret)
            return ret;
    }
    return 0;
}

static void cidr_text(const struct xp_cidr *c, char *buf, size_t len)
{
    char a[64];

    xp_addr__format(c->addr, a, sizeof(a));
    snprintf(buf, len, "%s/%u", a, c->family == 4 ? c->prefix_len - 96U : c->prefix_len);
}

/*
 * The groups of one kind as layer `layer` (value: group index + 1). A prefix in
 * two groups has no answer: refused, naming both.
 */
static int add_groups(struct xp_lpm_builder *b, unsigned layer, const struct xp_conf_group *g,
                      unsigned n, const char *kind, char *err, size_t err_len)
{
    for (unsigned i = 0; i < n; i++) {
        for (unsigned k = 0; k < g[i].n_prefixes; k++) {
            const struct xp_cidr *c = &g[i].prefixes[k];
            int ret = xp_lpm_builder__add(b, layer, c->addr, c->prefix_len, i + 1);
            char text[80];

            if (ret == -EEXIST) {
                unsigned j = 0;

                /* the first group that holds it: the error path may search */
                for (; j < i; j++) {
                    bool found = false;

                    for (unsigned m = 0; m < g[j].n_prefixes && !found; m++)
                        found = g[j].prefixes[m].prefix_len == c->prefix_len &&
                                memcmp(g[j].prefixes[m].addr, c->addr, 16) == 0;
                    if (found)
                        break;
                }
                cidr_text(c, text, sizeof(text));
                snprintf(err, err_len, "%s: %s is in groups \"%s\" and \"%s\"", kind, text,
                         j < i ? g[j].name : "?", g[i].name);
                return ret;
            }
            if (ret)
                return ret;
        }
    }
    return 0;
}

/* The table and its per-class words; NULL (and no error) when the layers hold no prefix. */
static int finish(struct xp_lpm_builder *b, bool empty, struct xp_lpm **t, uint32_t **words,
                  uint32_t (*word_of)(const uint32_t *v, const struct xp_conf_policer *pc),
                  const struct xp_conf_policer *pc)
{
    unsigned n;

    if (empty)
        return 0;
    *t = xp_lpm_builder__build(b);
    if (!*t)
        return -errno;
    n = xp_lpm__n_classes(*t);
    *words = malloc((size_t)n * sizeof(**words));
    if (!*words)
        return -ENOMEM;
    for (unsigned c = 0; c < n; c++)
        (*words)[c] = word_of(xp_lpm__class(*t, c), pc);
    return 0;
}

static uint32_t src_word(const uint32_t *v, const struct xp_conf_policer *pc)
{
    uint32_t w = 0;

    if (v[SRC_UNITS] != XP_LPM_NONE)
        w |= XP_CLS_UNIT;
    if (v[SRC_ALLOW] != XP_LPM_NONE)
        w |= XP_CLS_ALLOW;
    if (v[SRC_GROUPS] != XP_LPM_NONE) {
        w |= v[SRC_GROUPS];
        if (!pc->unit_groups[v[SRC_GROUPS] - 1].policed)
            w |= XP_CLS_UNPOLICED;
    }
    return w;
}

static uint32_t dst_word(const uint32_t *v, const struct xp_conf_policer *pc)
{
    uint32_t w = 0;

    (void)pc;
    if (v[DST_ALLOW] != XP_LPM_NONE)
        w |= XP_CLS_ALLOW;
    if (v[DST_GROUPS] != XP_LPM_NONE)
        w |= v[DST_GROUPS];
    return w;
}

static unsigned group_prefixes(const struct xp_conf_group *g, unsigned n)
{
    unsigned total = 0;

    for (unsigned i = 0; i < n; i++)
        total += g[i].n_prefixes;
    return total;
}

struct xp_classifier *xp_classifier__build(const struct xp_conf_policer *pc, char *err,
                                           size_t err_len)
{
    struct xp_lpm_builder *sb = xp_lpm_builder__new(SRC_LAYERS);
    struct xp_lpm_builder *db = xp_lpm_builder__new(DST_LAYERS);
    struct xp_classifier *cls = calloc(1, sizeof(*cls));
    int ret = -ENOMEM;

    if (err_len)
        err[0] = '\0';
    if (!sb || !db || !cls)
        goto fail;
    if (pc->n_unit_groups > XP_CONF_GROUPS_MAX || pc->n_dst_groups > XP_CONF_GROUPS_MAX) {
        ret = -E2BIG;
        goto fail;
    }
    ret = add_list(sb, SRC_UNITS, pc->units, pc->n_units, 0);
    if (!ret)
        ret = add_list(sb, SRC_ALLOW, pc->allow_src, pc->n_allow_src, 0);
    if (!ret)
        ret = add_groups(sb, SRC_GROUPS, pc->unit_groups, pc->n_unit_groups, "unit_groups", err,
                         err_len);
    if (!ret)
        ret = add_list(db, DST_ALLOW, pc->allow_dst, pc->n_allow_dst, 0);
    if (!ret)
        ret = add_groups(db, DST_GROUPS, pc->dst_groups, pc->n_dst_groups, "dst_groups", err,
                         err_len);
    if (!ret)
        ret = finish(sb, pc->n_units + pc->n_allow_src +
                             group_prefixes(pc->unit_groups, pc->n_unit_groups) == 0,
                     &cls->src, &cls->src_word, src_word, pc);
    if (!ret)
        ret = finish(db, pc->n_allow_dst + group_prefixes(pc->dst_groups, pc->n_dst_groups) == 0,
                     &cls->dst, &cls->dst_word, dst_word, pc);
    if (ret)
        goto fail;
    xp_lpm_builder__free(sb);
    xp_lpm_builder__free(db);
    return cls;

fail:
    if (err_len && !err[0])
        snprintf(err, err_len, "cannot build the prefix tables: %s", strerror(-ret));
    xp_lpm_builder__free(sb);
    xp_lpm_builder__free(db);
    xp_classifier__free(cls);
    errno = -ret;
    return NULL;
}

void xp_classifier__free(struct xp_classifier *cls)
{
    if (!cls)
        return;
    xp_lpm__free(cls->src);
    xp_lpm__free(cls->dst);
    free(cls->src_word);
    free(cls->dst_word);
    free(cls);
}

static void burst(const struct xp_lpm *t, const uint32_t *words, const uint8_t *const addr[],
                  uint32_t *out, unsigned n)
{
    if (!t) {
        memset(out, 0, n * sizeof(*out));
        return;
    }
    xp_lpm__lookup_burst(t, addr, out, n);
    for (unsigned i = 0; i < n; i++)
        out[i] = words[out[i]];
}

void xp_classifier__src_burst(const struct xp_classifier *cls, const uint8_t *const addr[],
                              uint32_t *out, unsigned n)
{
    if (cls)
        burst(cls->src, cls->src_word, addr, out, n);
    else
        memset(out, 0, n * sizeof(*out));
}

void xp_classifier__dst_burst(const struct xp_classifier *cls, const uint8_t *const addr[],
                              uint32_t *out, unsigned n)
{
    if (cls)
        burst(cls->dst, cls->dst_word, addr, out, n);
    else
        memset(out, 0, n * sizeof(*out));
}

uint32_t xp_classifier__src(const struct xp_classifier *cls, const uint8_t addr[16])
{
    return cls && cls->src ? cls->src_word[xp_lpm__lookup(cls->src, addr)] : 0;
}

uint32_t xp_classifier__dst(const struct xp_classifier *cls, const uint8_t addr[16])
{
    return cls && cls->dst ? cls->dst_word[xp_lpm__lookup(cls->dst, addr)] : 0;
}

size_t xp_classifier__bytes(const struct xp_classifier *cls)
{
    size_t b = 0;

    if (!cls)
        return 0;
    if (cls->src)
        b += xp_lpm__bytes(cls->src) + xp_lpm__n_classes(cls->src) * sizeof(uint32_t);
    if (cls->dst)
        b += xp_lpm__bytes(cls->dst) + xp_lpm__n_classes(cls->dst) * sizeof(uint32_t);
    return b;
}
