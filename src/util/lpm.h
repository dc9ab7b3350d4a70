/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Longest-prefix match of 16-byte addresses (IPv6, IPv4 as ::ffff:a.b.c.d)
 * against several prefix lists at once.
 *
 * Why several lists in one table: the pipeline asks the same address more
 * than one question (is the source a unit? allowlisted? in which group?),
 * each answered by the longest matching prefix of its own list. A table is
 * built from up to XP_LPM_LAYERS lists ("layers"); one lookup returns a
 * class, and the class holds each layer's answer (the value of that layer's
 * longest matching prefix, or XP_LPM_NONE). The number of classes is small
 * (at most the number of prefixes plus one), so the per-address state is one
 * 32-bit word whatever the number of layers.
 *
 * How: a leaf-pushed multibit trie. IPv4 addresses go through a 65,536-entry
 * root (the first 16 bits) and at most two 8-bit levels; other IPv6
 * addresses through their own 65,536-entry root and up to fourteen 8-bit
 * levels. An entry is either a class (final) or a child level, so a lookup
 * is 1 to 3 dependent loads for IPv4 (1 when no prefix is longer than /16
 * under the address's /16) and no comparison against any prefix. A level
 * with few distinct runs of entries (nearly all: a longer prefix below a
 * shorter one makes three) is stored as its runs in one cache line and
 * searched with one SIMD compare; others as 256 entries. The roots are
 * 256 KiB each; 100,000 prefixes scattered over the address space take
 * ~15 MiB (bench/lpm.sh). Building paints full 1 KiB levels first: it needs
 * about 1.7 KiB per IPv4 prefix longer than /16 and up to 14 KiB per IPv6
 * prefix while it runs.
 *
 * A table is immutable once built: build a new one and swap the pointer to
 * reload (readers keep using the old one until they are done with it).
 */
#ifndef XP_UTIL_LPM_H
#define XP_UTIL_LPM_H

#include <stddef.h>
#include <stdint.h>

#define XP_LPM_LAYERS 4
#define XP_LPM_NONE UINT32_MAX /* a layer's answer when none of its prefixes matches */
/* Prefixes per table (all layers together). */
#define XP_LPM_MAX_PREFIXES (1U << 20)

struct xp_lpm;
struct xp_lpm_builder;

/* A builder for a table of n_layers (1..XP_LPM_LAYERS) lists; NULL on bad n or no memory. */
struct xp_lpm_builder *xp_lpm_builder__new(unsigned n_layers);
void xp_lpm_builder__free(struct xp_lpm_builder *b);

/*
 * Add addr/prefix_len (prefix_len 0..128 in the 16-byte space: IPv4 a.b.c.d/n
 * is ::ffff:a.b.c.d/(96 + n)) to a layer with value (not XP_LPM_NONE); bits of
 * addr beyond the prefix are ignored. 0, or -EINVAL (bad layer, length or
 * value), -EEXIST (the same prefix already in this layer with another value;
 * the same value again is accepted), -E2BIG (XP_LPM_MAX_PREFIXES reached),
 * -ENOMEM.
 */
int xp_lpm_builder__add(struct xp_lpm_builder *b, unsigned layer, const uint8_t addr[16],
                        unsigned prefix_len, uint32_t value);

/* The table of everything added so far; the builder stays usable. NULL with errno set. */
struct xp_lpm *xp_lpm_builder__build(const struct xp_lpm_builder *b);

void xp_lpm__free(struct xp_lpm *t);

/* The class of addr: an index for xp_lpm__class(). */
uint32_t xp_lpm__lookup(const struct xp_lpm *t, const uint8_t addr[16]);

/*
 * The classes of n addresses, the same as n lookups: the levels of all n are
 * fetched a stage at a time so that their cache misses overlap.
 */
void xp_lpm__lookup_burst(const struct xp_lpm *t, const uint8_t *const addr[], uint32_t *cls,
                          unsigned n);

/* Class cls's answers: n_layers values, XP_LPM_NONE where no prefix of that layer matched. */
const uint32_t *xp_lpm__class(const struct xp_lpm *t, uint32_t cls);

unsigned xp_lpm__n_layers(const struct xp_lpm *t);
unsigned xp_lpm__n_classes(const struct xp_lpm *t);
/* Bytes held by the table (roots, levels, classes). */
size_t xp_lpm__bytes(const struct xp_lpm *t);

#endif /* XP_UTIL_LPM_H */
