/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Operator blocks as the proxy remembers them (docs/operators.md "Operator
 * blocks"): who set each, why, since when and until when, kept in a state
 * file so that a restart applies them again. This is the list of record;
 * where packets are dropped (XDP's map, or the workers' xp_manual_blocks)
 * is ctl_ops.c's business, which applies what this list holds.
 *
 * The file is JSON, {"version": 1, "blocks": [...]}, written whole on every
 * change: a temporary file in the same directory, fsync, rename over the
 * old one, fsync of the directory, so a crash leaves the old list or the
 * new one, never a torn file. Times in it are wall-clock (CLOCK_REALTIME
 * seconds): the monotonic clock of the XDP map does not survive a reboot.
 *
 * Control thread only; nothing here is hot-path.
 */
#ifndef XP_OP_BLOCKS_H
#define XP_OP_BLOCKS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#define XP_OPB_MAX 4096          /* as XP_MANUAL_BLOCKS_MAX and the XDP map */
#define XP_OPB_WHY_MAX 200       /* bytes of an operator's reason */
#define XP_OPB_BY_MAX 64         /* bytes of an operator's name */
#define XP_OPB_ADDR_MAX 48

struct xp_op_block {
    uint8_t unit[16];            /* the unit's key (IPv6 masked to the unit prefix) */
    uint8_t dst[16];             /* all zero with any_dst */
    bool any_dst;
    char unit_text[XP_OPB_ADDR_MAX];
    char dst_text[XP_OPB_ADDR_MAX]; /* "*" with any_dst */
    char by[XP_OPB_BY_MAX];      /* --by NAME, else the client's account name */
    long long uid;               /* the client's uid (SO_PEERCRED); -1 unknown */
    char why[XP_OPB_WHY_MAX + 1];
    double since;                /* wall-clock seconds */
    double expires;              /* wall-clock seconds; 0: until unblocked */
};

struct xp_op_blocks;

/*
 * An empty list kept in path (NULL: not kept, in memory only). NULL with
 * errno (ENOMEM).
 */
struct xp_op_blocks *xp_op_blocks__create(const char *path);
void xp_op_blocks__destroy(struct xp_op_blocks *ob);

/*
 * Read the file: a missing file is an empty list; entries expired at now
 * (wall-clock s) are left out. Each entry's unit and dst are parsed back
 * from their text. 0, or a negative errno with a message in err (a file
 * that does not parse, or an entry that does not, is refused whole: the
 * proxy must not start with half an operator's list).
 */
int xp_op_blocks__load(struct xp_op_blocks *ob, double now, char *err, size_t errlen);

/* Write the file (see above). 0, or a negative errno with a message in err. */
int xp_op_blocks__save(const struct xp_op_blocks *ob, char *err, size_t errlen);

/* Set b (replacing the entry of the same unit and dst). 0 or -ENOSPC. */
int xp_op_blocks__set(struct xp_op_blocks *ob, const struct xp_op_block *b);

/* Remove the entry of unit and dst (NULL: the every-destination one) into *out. 0 or -ENOENT. */
int xp_op_blocks__remove(struct xp_op_blocks *ob, const uint8_t unit[16], const uint8_t *dst,
                         struct xp_op_block *out);

/* Whether the entry of exactly unit and dst (NULL: the every-destination one) is there. */
bool xp_op_blocks__has(const struct xp_op_blocks *ob, const uint8_t unit[16], const uint8_t *dst);

/* The entry covering (unit, dst) at now: the pair's own, else the unit's every-destination one. */
const struct xp_op_block *xp_op_blocks__match(const struct xp_op_blocks *ob,
                                              const uint8_t unit[16], const uint8_t dst[16],
                                              double now);

/* Take out one entry expired at now into *out: true if there was one. */
bool xp_op_blocks__take_expired(struct xp_op_blocks *ob, double now, struct xp_op_block *out);

unsigned xp_op_blocks__count(const struct xp_op_blocks *ob);
const struct xp_op_block *xp_op_blocks__get(const struct xp_op_blocks *ob, unsigned i);
const char *xp_op_blocks__path(const struct xp_op_blocks *ob);

/* One entry as a JSON object (new reference): unit, dst, by, uid, why, since, expires. */
json_t *xp_op_block__json(const struct xp_op_block *b);

/*
 * An operator's free text made safe for logs, events and the file: at most
 * XP_OPB_WHY_MAX bytes (longer is refused: -E2BIG), control characters
 * (newlines, escapes) replaced by spaces. in is UTF-8 (jansson's strings are).
 */
int xp_op_blocks__sanitize(const char *in, char *out, size_t outlen);

/* A name for --by: 1..63 of [A-Za-z0-9._@-]. */
bool xp_op_blocks__valid_name(const char *name);

#endif /* XP_OP_BLOCKS_H */
