// SPDX-License-Identifier: GPL-2.0-only
/*
 * Longest-prefix match over a leaf-pushed multibit trie (see lpm.h).
 *
 * Cells. While building, every entry of every level lives in one array of
 * 32-bit cells: the IPv4 root at [0, 65536), the IPv6 root at [65536,
 * 131072), then levels of 256 cells. A cell with XP_LPM_CHILD set names its
 * child level by its offset / 256 (roots are multiples of 256 cells, so
 * every level starts at a multiple of 256); otherwise it is a class. The
 * finished table keeps the roots so and stores each other level as its runs
 * of equal cells in one cache line when it has at most 12 (lpm_compress).
 *
 * Building. Prefixes are painted in ascending length. A prefix paints the
 * cells of the level its length ends in (all 2^(level end - length) of them)
 * and, under each painted cell that already has a child, every cell below:
 * whatever painted them was at least as long, so a longer prefix of the
 * same layer cannot be there yet (same length and layer: disjoint or a
 * duplicate), and an entry's answer for this layer is the last paint. A
 * cell takes a child level when a longer prefix must end below it; the
 * child starts as 256 copies of the cell's class. Painting maps a cell's
 * class to the class with one layer changed: classes are interned, so equal
 * answers share one class.
 *
 * IPv4 in IPv6: a prefix inside ::ffff:0:0/96 at least 96 bits long is an
 * IPv4 prefix and goes to the IPv4 trie only; a shorter prefix that covers
 * ::ffff:0:0/96 (::/0, ::/64, ...) paints the whole IPv4 trie as well as the
 * IPv6 one (where the mapped range is never looked up).
 */
#include "src/util/lpm.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define XP_LPM_CHILD 0x80000000U
#define XP_LPM_ROOT_BITS 16
#define XP_LPM_ROOT_CELLS (1U << XP_LPM_ROOT_BITS)
#define XP_LPM_V4_ROOT 0U
#define XP_LPM_V6_ROOT XP_LPM_ROOT_CELLS
#define XP_LPM_LEVEL_CELLS 256U
/* Cells addressable by a child reference: 2^31 levels of 256 would overflow size_t math on 32-bit. */
#define XP_LPM_MAX_CELLS (1ULL << 31)
/* Levels, sparse or dense, a final cell can name. */
#define XP_LPM_MAX_LEVELS (XP_LPM_INDEX + 1ULL)
/* Addresses whose levels are fetched together by lookup_burst(). */
#define XP_LPM_BURST 64

/*
 * A level with at most XP_LPM_SPARSE_RUNS runs of equal cells, in one cache
 * line: the first byte of each run and the run's cell. The byte b falls in
 * the last run whose start is <= b: one SIMD compare of the starts against
 * b, a mask of the valid runs, a popcount.
 */
#define XP_LPM_SPARSE_RUNS 12
struct lpm_sparse {
    uint8_t start[XP_LPM_SPARSE_RUNS]; /* ascending, start[0] == 0 */
    uint16_t valid;                    /* bit i: run i exists */
    uint16_t pad;
    uint32_t cell[XP_LPM_SPARSE_RUNS];
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct lpm_sparse) == 64, "a sparse level is one cache line");

/*
 * Cells of the final table: XP_LPM_CHILD clear, a class; set, a level:
 * XP_LPM_DENSE set, dense[(cell & XP_LPM_INDEX) * 256 + byte]; clear,
 * sparse[cell & XP_LPM_INDEX].
 */
#define XP_LPM_DENSE 0x40000000U
#define XP_LPM_INDEX 0x3fffffffU

struct xp_lpm {
    uint32_t *root;    /* the two roots, as in the build's cells */
    struct lpm_sparse *sparse;
    uint32_t *dense;   /* n_dense levels of 256 cells */
    uint32_t *classes; /* n_classes * n_layers */
    size_t n_sparse, n_dense;
    unsigned n_classes;
    unsigned n_layers;
};

struct lpm_prefix {
    uint8_t addr[16]; /* masked */
    uint8_t len;
    uint8_t layer;
    uint32_t value;
};

struct xp_lpm_builder {
    unsigned n_layers;
    struct lpm_prefix *pfx;
    size_t n, cap;
    /* open addressing over pfx indices + 1 (0: free): duplicate detection */
    uint32_t *set;
    size_t set_mask;
};

/* ---- helpers ---- */

static uint64_t lpm_mix(uint64_t h, uint64_t w)
{
    h ^= w;
    h *= 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 29);
}

static void lpm_mask(uint8_t out[16], const uint8_t in[16], unsigned len)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned bits = i * 8;

        if (bits + 8 <= len)
            out[i] = in[i];
        else if (bits >= len)
            out[i] = 0;
        else
            out[i] = in[i] & (uint8_t)(0xff00U >> (len - bits));
    }
}

/* ::ffff:0.0.0.0, the IPv4-mapped range (16 bytes: lpm_mask reads a whole address) */
static const uint8_t lpm_v4_mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static inline bool lpm_is_v4(const uint8_t a[16])
{
    uint64_t w0;
    uint32_t w1;

    memcpy(&w0, a, 8);
    memcpy(&w1, a + 8, 4);
    return w0 == 0 && w1 == 0xffff0000U; /* bytes 0 0 ff ff, little-endian */
}

/* Does prefix (addr, len <= 96) cover all of ::ffff:0:0/96? */
static bool lpm_covers_v4(const uint8_t addr[16], unsigned len)
{
    uint8_t m[16];

    lpm_mask(m, lpm_v4_mapped, len);
    return memcmp(m, addr, 12) == 0;
}

/* ---- builder ---- */

struct xp_lpm_builder *xp_lpm_builder__new(unsigned n_layers)
{
    struct xp_lpm_builder *b;

    if (n_layers == 0 || n_layers > XP_LPM_LAYERS) {
        errno = EINVAL;
        return NULL;
    }
    b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->n_layers = n_layers;
    return b;
}

void xp_lpm_builder__free(struct xp_lpm_builder *b)
{
    if (!b)
        return;
    free(b->pfx);
    free(b->set);
    free(b);
}

static uint64_t lpm_prefix_hash(const struct lpm_prefix *p)
{
    uint64_t w[2];

    memcpy(w, p->addr, 16);
    return lpm_mix(lpm_mix(lpm_mix(0x2545f4914f6cdd1dULL, w[0]), w[1]),
                   (uint64_t)p->len << 8 | p->layer);
}

static bool lpm_same_prefix(const struct lpm_prefix *a, const struct lpm_prefix *b)
{
    return a->len == b->len && a->layer == b->layer && memcmp(a->addr, b->addr, 16) == 0;
}

/* Index of p's duplicate in b->pfx, or the free set slot for it (returned as ~slot). */
static size_t lpm_set_find(const struct xp_lpm_builder *b, const struct lpm_prefix *p,
                           bool *found)
{
    size_t i = (size_t)lpm_prefix_hash(p) & b->set_mask;

    for (;; i = (i + 1) & b->set_mask) {
        uint32_t v = b->set[i];

        if (v == 0) {
            *found = false;
            return i;
        }
        if (lpm_same_prefix(&b->pfx[v - 1], p)) {
            *found = true;
            return v - 1;
        }
    }
}

static int lpm_set_grow(struct xp_lpm_builder *b)
{
    size_t cap = b->set ? (b->set_mask + 1) * 2 : 1024;
    uint32_t *old = b->set;
    size_t old_cap = old ? b->set_mask + 1 : 0;

    b->set = calloc(cap, sizeof(*b->set));
    if (!b->set) {
        b->set = old;
        return -ENOMEM;
    }
    b->set_mask = cap - 1;
    for (size_t i = 0; i < old_cap; i++) {
        bool found;
        size_t s;

        if (!old[i])
            continue;
        s = lpm_set_find(b, &b->pfx[old[i] - 1], &found);
        b->set[s] = old[i];
    }
    free(old);
    return 0;
}

int xp_lpm_builder__add(struct xp_lpm_builder *b, unsigned layer, const uint8_t addr[16],
                        unsigned prefix_len, uint32_t value)
{
    struct lpm_prefix p;
    bool found;
    size_t s;

    if (!b || !addr || layer >= b->n_layers || prefix_len > 128 || value == XP_LPM_NONE)
        return -EINVAL;
    memset(&p, 0, sizeof(p));
    lpm_mask(p.addr, addr, prefix_len);
    p.len = (uint8_t)prefix_len;
    p.layer = (uint8_t)layer;
    p.value = value;
    if (b->n >= XP_LPM_MAX_PREFIXES)
        return -E2BIG;
    if ((b->n + 1) * 2 > (b->set ? b->set_mask + 1 : 0) && lpm_set_grow(b) < 0)
        return -ENOMEM;
    s = lpm_set_find(b, &p, &found);
    if (found)
        return b->pfx[s].value == value ? 0 : -EEXIST;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        struct lpm_prefix *n = realloc(b->pfx, cap * sizeof(*n));

        if (!n)
            return -ENOMEM;
        b->pfx = n;
        b->cap = cap;
    }
    b->pfx[b->n++] = p;
    b->set[s] = (uint32_t)b->n;
    return 0;
}

/* ---- build ---- */

struct lpm_build {
    unsigned n_layers;
    uint32_t *cells;
    size_t n_cells, cap_cells;
    uint32_t *classes;
    unsigned n_classes, cap_classes;
    uint32_t *cmap; /* interning: class id + 1, 0 free */
    size_t cmap_mask;
    /* the last class mapping painted (consecutive cells mostly share their class) */
    uint32_t memo_from, memo_to;
    int err;
};

static uint64_t lpm_class_hash(const uint32_t *v, unsigned n)
{
    uint64_t h = 0x6a09e667f3bcc908ULL;

    for (unsigned i = 0; i < n; i++)
        h = lpm_mix(h, v[i]);
    return h;
}

static size_t lpm_cmap_slot(const struct lpm_build *B, const uint32_t *v, bool *found)
{
    size_t i = (size_t)lpm_class_hash(v, B->n_layers) & B->cmap_mask;

    for (;; i = (i + 1) & B->cmap_mask) {
        uint32_t c = B->cmap[i];

        if (c == 0) {
            *found = false;
            return i;
        }
        if (memcmp(&B->classes[(size_t)(c - 1) * B->n_layers], v,
                   B->n_layers * sizeof(*v)) == 0) {
            *found = true;
            return i;
        }
    }
}

static int lpm_cmap_grow(struct lpm_build *B)
{
    size_t cap = (B->cmap_mask + 1) * 2;
    uint32_t *n = calloc(cap, sizeof(*n));

    if (!n)
        return -ENOMEM;
    free(B->cmap);
    B->cmap = n;
    B->cmap_mask = cap - 1;
    for (unsigned c = 0; c < B->n_classes; c++) {
        bool found;
        size_t s = lpm_cmap_slot(B, &B->classes[(size_t)c * B->n_layers], &found);

        B->cmap[s] = c + 1;
    }
    return 0;
}

/* The class with answers v (interned); XP_LPM_NONE on allocation failure (B->err set). */
static uint32_t lpm_intern(struct lpm_build *B, const uint32_t *v)
{
    bool found;
    size_t s;

    if ((size_t)(B->n_classes + 1) * 2 > B->cmap_mask + 1 && lpm_cmap_grow(B) < 0)
        goto nomem;
    s = lpm_cmap_slot(B, v, &found);
    if (found)
        return B->cmap[s] - 1;
    if (B->n_classes == B->cap_classes) {
        unsigned cap = B->cap_classes * 2;
        uint32_t *n = realloc(B->classes, (size_t)cap * B->n_layers * sizeof(*n));

        if (!n)
            goto nomem;
        B->classes = n;
        B->cap_classes = cap;
    }
    memcpy(&B->classes[(size_t)B->n_classes * B->n_layers], v, B->n_layers * sizeof(*v));
    B->cmap[s] = ++B->n_classes;
    return B->n_classes - 1;
nomem:
    B->err = -ENOMEM;
    return XP_LPM_NONE;
}

/* cls with layer's answer set to value. */
static uint32_t lpm_repaint(struct lpm_build *B, uint32_t cls, unsigned layer, uint32_t value)
{
    uint32_t v[XP_LPM_LAYERS];

    if (cls == B->memo_from)
        return B->memo_to;
    memcpy(v, &B->classes[(size_t)cls * B->n_layers], B->n_layers * sizeof(*v));
    v[layer] = value;
    B->memo_from = cls;
    B->memo_to = lpm_intern(B, v);
    return B->memo_to;
}

/* A new level of 256 copies of cell; its offset, or 0 on failure (B->err set). */
static size_t lpm_new_level(struct lpm_build *B, uint32_t cell)
{
    size_t off = B->n_cells;

    if (off + XP_LPM_LEVEL_CELLS > XP_LPM_MAX_CELLS) {
        B->err = -E2BIG;
        return 0;
    }
    if (off + XP_LPM_LEVEL_CELLS > B->cap_cells) {
        size_t cap = B->cap_cells * 2;
        uint32_t *n = realloc(B->cells, cap * sizeof(*n));

        if (!n) {
            B->err = -ENOMEM;
            return 0;
        }
        B->cells = n;
        B->cap_cells = cap;
    }
    for (unsigned i = 0; i < XP_LPM_LEVEL_CELLS; i++)
        B->cells[off + i] = cell;
    B->n_cells += XP_LPM_LEVEL_CELLS;
    return off;
}

/* Paint the cell at off and, if it has a child, everything below it. */
static void lpm_paint_cell(struct lpm_build *B, size_t off, unsigned layer, uint32_t value)
{
    uint32_t c = B->cells[off];

    if (c & XP_LPM_CHILD) {
        size_t child = (size_t)(c & ~XP_LPM_CHILD) * XP_LPM_LEVEL_CELLS;

        for (unsigned i = 0; i < XP_LPM_LEVEL_CELLS && !B->err; i++)
            lpm_paint_cell(B, child + i, layer, value);
        return;
    }
    c = lpm_repaint(B, c, layer, value);
    if (c != XP_LPM_NONE)
        B->cells[off] = c;
}

/*
 * Paint key/len (key: the address bytes this trie looks at, len in bits of
 * key) into the trie whose root starts at cell root.
 */
static void lpm_paint(struct lpm_build *B, size_t root, const uint8_t *key, unsigned len,
                      unsigned layer, uint32_t value)
{
    size_t level = root;
    unsigned bit = 0, stride = XP_LPM_ROOT_BITS, at = 0; /* at: next key byte */

    for (;;) {
        uint32_t idx = stride == XP_LPM_ROOT_BITS ? (uint32_t)key[0] << 8 | key[1] : key[at];

        at += stride / 8;
        if (len <= bit + stride) {
            uint32_t span = 1U << (bit + stride - len);

            idx &= ~(span - 1);
            for (uint32_t i = 0; i < span && !B->err; i++)
                lpm_paint_cell(B, level + idx + i, layer, value);
            return;
        }
        if (!(B->cells[level + idx] & XP_LPM_CHILD)) {
            size_t child = lpm_new_level(B, B->cells[level + idx]);

            if (B->err)
                return;
            B->cells[level + idx] = XP_LPM_CHILD | (uint32_t)(child / XP_LPM_LEVEL_CELLS);
        }
        level = (size_t)(B->cells[level + idx] & ~XP_LPM_CHILD) * XP_LPM_LEVEL_CELLS;
        bit += stride;
        stride = 8;
    }
}

static int lpm_prefix_cmp(const void *a, const void *b)
{
    const struct lpm_prefix *x = a, *y = b;

    return (int)x->len - (int)y->len;
}

/* Runs of equal cells in the 256-cell level at off (a child cell is a run of its own). */
static unsigned lpm_runs(const uint32_t *cells, size_t off)
{
    unsigned runs = 1;

    for (unsigned i = 1; i < XP_LPM_LEVEL_CELLS; i++)
        runs += cells[off + i] != cells[off + i - 1];
    return runs;
}

/*
 * The final form of the build's cells: roots as they are, every other level
 * sparse when it has few runs (most levels: one longer prefix below a
 * shorter one gives three), else dense. First the levels are numbered in
 * their new arrays, then written with their child cells renamed.
 */
static int lpm_compress(const struct lpm_build *B, struct xp_lpm *t)
{
    size_t n_levels = (B->n_cells - 2 * XP_LPM_ROOT_CELLS) / XP_LPM_LEVEL_CELLS;
    uint32_t *rename = malloc((n_levels ? n_levels : 1) * sizeof(*rename));
    size_t ns = 0, nd = 0;

    if (!rename)
        return -ENOMEM;
    /* build level k starts at cell (2 * 256 + k) * 256: its child cells say 512 + k */
    for (size_t k = 0; k < n_levels; k++) {
        size_t off = 2 * XP_LPM_ROOT_CELLS + k * XP_LPM_LEVEL_CELLS;

        if (lpm_runs(B->cells, off) <= XP_LPM_SPARSE_RUNS)
            rename[k] = XP_LPM_CHILD | (uint32_t)ns++;
        else
            rename[k] = XP_LPM_CHILD | XP_LPM_DENSE | (uint32_t)nd++;
    }
    if (ns > XP_LPM_MAX_LEVELS || nd > XP_LPM_MAX_LEVELS) {
        free(rename);
        return -E2BIG;
    }
    t->root = malloc(2 * XP_LPM_ROOT_CELLS * sizeof(*t->root));
    t->sparse = aligned_alloc(64, (ns ? ns : 1) * sizeof(*t->sparse));
    t->dense = malloc((nd ? nd : 1) * XP_LPM_LEVEL_CELLS * sizeof(*t->dense));
    if (!t->root || !t->sparse || !t->dense) {
        free(rename);
        return -ENOMEM;
    }
    t->n_sparse = ns;
    t->n_dense = nd;
#define LPM_FINAL(c)                                                                     \
    (((c) & XP_LPM_CHILD)                                                                \
         ? rename[((c) & ~XP_LPM_CHILD) - 2 * XP_LPM_ROOT_CELLS / XP_LPM_LEVEL_CELLS]     \
         : (c))
    for (size_t i = 0; i < 2 * XP_LPM_ROOT_CELLS; i++)
        t->root[i] = LPM_FINAL(B->cells[i]);
    for (size_t k = 0; k < n_levels; k++) {
        const uint32_t *c = &B->cells[2 * XP_LPM_ROOT_CELLS + k * XP_LPM_LEVEL_CELLS];
        uint32_t idx = rename[k] & XP_LPM_INDEX;

        if (rename[k] & XP_LPM_DENSE) {
            for (unsigned i = 0; i < XP_LPM_LEVEL_CELLS; i++)
                t->dense[(size_t)idx * XP_LPM_LEVEL_CELLS + i] = LPM_FINAL(c[i]);
        } else {
            struct lpm_sparse *sp = &t->sparse[idx];
            unsigned r = 0;

            memset(sp, 0, sizeof(*sp));
            for (unsigned i = 0; i < XP_LPM_LEVEL_CELLS; i++) {
                if (i && c[i] == c[i - 1])
                    continue;
                sp->start[r] = (uint8_t)i;
                sp->cell[r] = LPM_FINAL(c[i]);
                sp->valid |= (uint16_t)(1U << r);
                r++;
            }
        }
    }
#undef LPM_FINAL
    free(rename);
    return 0;
}

struct xp_lpm *xp_lpm_builder__build(const struct xp_lpm_builder *b)
{
    struct lpm_build B = {0};
    struct lpm_prefix *order = NULL;
    struct xp_lpm *t = NULL;
    uint32_t none[XP_LPM_LAYERS];
    int err = -ENOMEM;

    if (!b) {
        errno = EINVAL;
        return NULL;
    }
    B.n_layers = b->n_layers;
    B.cap_cells = 2 * XP_LPM_ROOT_CELLS + 64 * XP_LPM_LEVEL_CELLS;
    B.cells = malloc(B.cap_cells * sizeof(*B.cells));
    B.cap_classes = 64;
    B.classes = malloc((size_t)B.cap_classes * B.n_layers * sizeof(*B.classes));
    B.cmap_mask = 127;
    B.cmap = calloc(B.cmap_mask + 1, sizeof(*B.cmap));
    order = malloc((b->n ? b->n : 1) * sizeof(*order));
    if (!B.cells || !B.classes || !B.cmap || !order)
        goto out;
    B.memo_from = XP_LPM_NONE;
    for (unsigned l = 0; l < XP_LPM_LAYERS; l++)
        none[l] = XP_LPM_NONE;
    if (lpm_intern(&B, none) != 0) /* class 0: no layer matches */
        goto out;
    B.n_cells = 2 * XP_LPM_ROOT_CELLS;
    memset(B.cells, 0, B.n_cells * sizeof(*B.cells));

    if (b->n)
        memcpy(order, b->pfx, b->n * sizeof(*order));
    qsort(order, b->n, sizeof(*order), lpm_prefix_cmp);
    for (size_t i = 0; i < b->n && !B.err; i++) {
        const struct lpm_prefix *p = &order[i];

        /* a class mapping painted for another (layer, value) does not apply */
        B.memo_from = XP_LPM_NONE;
        if (p->len >= 96 && memcmp(p->addr, lpm_v4_mapped, 12) == 0) {
            lpm_paint(&B, XP_LPM_V4_ROOT, p->addr + 12, p->len - 96u, p->layer, p->value);
            continue;
        }
        if (lpm_covers_v4(p->addr, p->len))
            lpm_paint(&B, XP_LPM_V4_ROOT, p->addr + 12, 0, p->layer, p->value);
        if (!B.err)
            lpm_paint(&B, XP_LPM_V6_ROOT, p->addr, p->len, p->layer, p->value);
    }
    if (B.err) {
        err = B.err;
        goto out;
    }
    t = calloc(1, sizeof(*t));
    if (!t)
        goto out;
    t->n_layers = B.n_layers;
    t->n_classes = B.n_classes;
    err = lpm_compress(&B, t);
    if (err)
        goto out;
    t->classes = B.classes;
    B.classes = NULL;
    err = 0;
out:
    free(B.cells);
    free(B.classes);
    free(B.cmap);
    free(order);
    if (err) {
        xp_lpm__free(t);
        errno = -err;
        return NULL;
    }
    return t;
}

void xp_lpm__free(struct xp_lpm *t)
{
    if (!t)
        return;
    free(t->root);
    free(t->sparse);
    free(t->dense);
    free(t->classes);
    free(t);
}

/* ---- lookup ---- */

/* The run of sparse level sp that byte b falls in. */
static inline uint32_t lpm_sparse_cell(const struct lpm_sparse *sp, uint8_t b)
{
#ifdef __SSE2__
    __m128i starts = _mm_load_si128((const __m128i *)sp->start);
    __m128i bv = _mm_set1_epi8((char)b);
    /* start <= b, unsigned: max(start, b) == b */
    unsigned le = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(starts, bv), bv));

    return sp->cell[__builtin_popcount(le & sp->valid) - 1];
#else
    unsigned r = 0;

    while (r + 1 < XP_LPM_SPARSE_RUNS && (sp->valid >> (r + 1) & 1) && sp->start[r + 1] <= b)
        r++;
    return sp->cell[r];
#endif
}

/* Cell e's level, at byte b: the next cell. */
static inline uint32_t lpm_step(const struct xp_lpm *t, uint32_t e, uint8_t b)
{
    if (e & XP_LPM_DENSE)
        return t->dense[(size_t)(e & XP_LPM_INDEX) * XP_LPM_LEVEL_CELLS + b];
    return lpm_sparse_cell(&t->sparse[e & XP_LPM_INDEX], b);
}

static inline void lpm_prefetch(const struct xp_lpm *t, uint32_t e, uint8_t b)
{
    if (e & XP_LPM_DENSE)
        __builtin_prefetch(&t->dense[(size_t)(e & XP_LPM_INDEX) * XP_LPM_LEVEL_CELLS + b]);
    else
        __builtin_prefetch(&t->sparse[e & XP_LPM_INDEX]);
}

/* The root cell of a and the index of the first byte below the root. */
static inline uint32_t lpm_root(const uint8_t a[16], unsigned *at)
{
    if (lpm_is_v4(a)) {
        *at = 14;
        return XP_LPM_V4_ROOT + ((uint32_t)a[12] << 8 | a[13]);
    }
    *at = 2;
    return XP_LPM_V6_ROOT + ((uint32_t)a[0] << 8 | a[1]);
}

uint32_t xp_lpm__lookup(const struct xp_lpm *t, const uint8_t a[16])
{
    unsigned i;
    uint32_t e = t->root[lpm_root(a, &i)];

    /* a child exists only where a longer prefix ends below: never past the last byte */
    while ((e & XP_LPM_CHILD) && i < 16)
        e = lpm_step(t, e, a[i++]);
    return e;
}

void xp_lpm__lookup_burst(const struct xp_lpm *t, const uint8_t *const addr[], uint32_t *cls,
                          unsigned n)
{
    while (n) {
        unsigned m = n < XP_LPM_BURST ? n : XP_LPM_BURST, left = m;
        uint32_t cell[XP_LPM_BURST];
        uint8_t at[XP_LPM_BURST];

        for (unsigned k = 0; k < m; k++) {
            unsigned i;
            uint32_t r = lpm_root(addr[k], &i);

            at[k] = (uint8_t)i;
            __builtin_prefetch(&t->root[r]);
            cell[k] = r;
        }
        for (unsigned k = 0; k < m; k++) {
            cell[k] = t->root[cell[k]];
            if (cell[k] & XP_LPM_CHILD)
                lpm_prefetch(t, cell[k], addr[k][at[k]]);
        }
        /* one level of every unresolved address per pass: their misses overlap */
        while (left) {
            left = 0;
            for (unsigned k = 0; k < m; k++) {
                if (!(cell[k] & XP_LPM_CHILD) || at[k] >= 16)
                    continue;
                cell[k] = lpm_step(t, cell[k], addr[k][at[k]++]);
                if ((cell[k] & XP_LPM_CHILD) && at[k] < 16) {
                    lpm_prefetch(t, cell[k], addr[k][at[k]]);
                    left++;
                }
            }
        }
        memcpy(cls, cell, m * sizeof(*cls));
        addr += m;
        cls += m;
        n -= m;
    }
}

const uint32_t *xp_lpm__class(const struct xp_lpm *t, uint32_t cls)
{
    if (cls >= t->n_classes)
        cls = 0;
    return &t->classes[(size_t)cls * t->n_layers];
}

unsigned xp_lpm__n_layers(const struct xp_lpm *t)
{
    return t->n_layers;
}

unsigned xp_lpm__n_classes(const struct xp_lpm *t)
{
    return t->n_classes;
}

size_t xp_lpm__bytes(const struct xp_lpm *t)
{
    return sizeof(*t) + 2 * XP_LPM_ROOT_CELLS * sizeof(*t->root) +
           t->n_sparse * sizeof(*t->sparse) +
           t->n_dense * XP_LPM_LEVEL_CELLS * sizeof(*t->dense) +
           (size_t)t->n_classes * t->n_layers * sizeof(*t->classes);
}
