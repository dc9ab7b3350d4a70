// SPDX-License-Identifier: GPL-2.0-only
/*
 * The operator blocks' list of record and its state file (op_blocks.h). A
 * plain array: operators set a handful of blocks, never thousands per
 * second, and every change rewrites the file anyway.
 */
#include "src/proxy/op_blocks.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/parse/parse.h"
#include "src/util/statedir.h"

#define XP_OPB_FORMAT 1

struct xp_op_blocks {
    char *path;
    unsigned n;
    struct xp_op_block *b; /* XP_OPB_MAX entries */
};

struct xp_op_blocks *xp_op_blocks__create(const char *path)
{
    struct xp_op_blocks *ob = calloc(1, sizeof(*ob));

    if (!ob)
        return NULL;
    ob->b = calloc(XP_OPB_MAX, sizeof(*ob->b));
    ob->path = path ? strdup(path) : NULL;
    if (!ob->b || (path && !ob->path)) {
        xp_op_blocks__destroy(ob);
        errno = ENOMEM;
        return NULL;
    }
    return ob;
}

void xp_op_blocks__destroy(struct xp_op_blocks *ob)
{
    if (!ob)
        return;
    free(ob->b);
    free(ob->path);
    free(ob);
}

unsigned xp_op_blocks__count(const struct xp_op_blocks *ob)
{
    return ob ? ob->n : 0;
}

const struct xp_op_block *xp_op_blocks__get(const struct xp_op_blocks *ob, unsigned i)
{
    return ob && i < ob->n ? &ob->b[i] : NULL;
}

const char *xp_op_blocks__path(const struct xp_op_blocks *ob)
{
    return ob ? ob->path : NULL;
}

static bool same_key(const struct xp_op_block *b, const uint8_t unit[16], const uint8_t *dst)
{
    if (memcmp(b->unit, unit, 16) != 0)
        return false;
    return dst ? !b->any_dst && memcmp(b->dst, dst, 16) == 0 : b->any_dst;
}

static long find(const struct xp_op_blocks *ob, const uint8_t unit[16], const uint8_t *dst)
{
    for (unsigned i = 0; i < ob->n; i++)
        if (same_key(&ob->b[i], unit, dst))
            return i;
    return -1;
}

bool xp_op_blocks__has(const struct xp_op_blocks *ob, const uint8_t unit[16], const uint8_t *dst)
{
    return ob && find(ob, unit, dst) >= 0;
}

int xp_op_blocks__set(struct xp_op_blocks *ob, const struct xp_op_block *b)
{
    long i = find(ob, b->unit, b->any_dst ? NULL : b->dst);

    if (i < 0) {
        if (ob->n >= XP_OPB_MAX)
            return -ENOSPC;
        i = ob->n++;
    }
    ob->b[i] = *b;
    return 0;
}

static void remove_at(struct xp_op_blocks *ob, unsigned i, struct xp_op_block *out)
{
    if (out)
        *out = ob->b[i];
    memmove(&ob->b[i], &ob->b[i + 1], (ob->n - i - 1) * sizeof(ob->b[0]));
    ob->n--;
}

int xp_op_blocks__remove(struct xp_op_blocks *ob, const uint8_t unit[16], const uint8_t *dst,
                         struct xp_op_block *out)
{
    long i = find(ob, unit, dst);

    if (i < 0)
        return -ENOENT;
    remove_at(ob, (unsigned)i, out);
    return 0;
}

static bool live(const struct xp_op_block *b, double now)
{
    return b->expires == 0 || now < b->expires;
}

const struct xp_op_block *xp_op_blocks__match(const struct xp_op_blocks *ob,
                                              const uint8_t unit[16], const uint8_t dst[16],
                                              double now)
{
    long i;

    if (!ob || !ob->n)
        return NULL;
    i = find(ob, unit, dst);
    if (i >= 0 && live(&ob->b[i], now))
        return &ob->b[i];
    i = find(ob, unit, NULL);
    return i >= 0 && live(&ob->b[i], now) ? &ob->b[i] : NULL;
}

bool xp_op_blocks__take_expired(struct xp_op_blocks *ob, double now, struct xp_op_block *out)
{
    for (unsigned i = 0; ob && i < ob->n; i++) {
        if (!live(&ob->b[i], now)) {
            remove_at(ob, i, out);
            return true;
        }
    }
    return false;
}

int xp_op_blocks__sanitize(const char *in, char *out, size_t outlen)
{
    size_t n = strlen(in);

    if (n > XP_OPB_WHY_MAX)
        return -E2BIG;
    if (n >= outlen)
        return -ENOSPC;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)in[i];

        /* a newline or an escape sequence in a log line or a terminal is someone's exploit */
        out[i] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
    }
    out[n] = '\0';
    return 0;
}

bool xp_op_blocks__valid_name(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n >= XP_OPB_BY_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '@' || ch == '-'))
            return false;
    }
    return true;
}

json_t *xp_op_block__json(const struct xp_op_block *b)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:s,s:f}", "unit", b->unit_text, "dst", b->dst_text,
                          "by", b->by, "uid", (json_int_t)b->uid, "why", b->why, "since",
                          b->since);

    if (o && b->expires)
        json_object_set_new(o, "expires", json_real(b->expires));
    return o;
}

/* ---- the file ------------------------------------------------------------------------- */

/* An address as written in the file (no prefix length: the key is the address itself). */
static int parse_addr(const char *text, uint8_t out[16])
{
    struct xp_cidr c;

    if (!text || strchr(text, '/') || xp_cidr_parse(text, &c))
        return -EINVAL;
    memcpy(out, c.addr, 16);
    return 0;
}

static int entry_from_json(json_t *e, struct xp_op_block *b, char *err, size_t errlen,
                           unsigned idx)
{
    const char *unit = json_string_value(json_object_get(e, "unit"));
    const char *dst = json_string_value(json_object_get(e, "dst"));
    const char *by = json_string_value(json_object_get(e, "by"));
    const char *why = json_string_value(json_object_get(e, "why"));
    json_t *uid = json_object_get(e, "uid"), *since = json_object_get(e, "since");
    json_t *expires = json_object_get(e, "expires");

    memset(b, 0, sizeof(*b));
    if (!json_is_object(e) || parse_addr(unit, b->unit) || !dst ||
        (strcmp(dst, "*") != 0 && parse_addr(dst, b->dst)) || !by ||
        !xp_op_blocks__valid_name(by) || !why ||
        xp_op_blocks__sanitize(why, b->why, sizeof(b->why)) || !json_is_integer(uid) ||
        !json_is_number(since) || (expires && !json_is_number(expires))) {
        snprintf(err, errlen, "blocks[%u]: expected {unit, dst (address or \"*\"), by, uid, "
                 "why, since, expires?}", idx);
        return -EINVAL;
    }
    b->any_dst = strcmp(dst, "*") == 0;
    snprintf(b->unit_text, sizeof(b->unit_text), "%s", unit);
    snprintf(b->dst_text, sizeof(b->dst_text), "%s", dst);
    snprintf(b->by, sizeof(b->by), "%s", by);
    b->uid = json_integer_value(uid);
    b->since = json_number_value(since);
    b->expires = expires ? json_number_value(expires) : 0;
    return 0;
}

int xp_op_blocks__load(struct xp_op_blocks *ob, double now, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root, *arr, *e;
    size_t i;
    int ret = 0;

    ob->n = 0;
    if (!ob->path)
        return 0;
    if (access(ob->path, F_OK) != 0 && errno == ENOENT)
        return 0;
    root = json_load_file(ob->path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, errlen, "%s:%d:%d: %s", ob->path, jerr.line, jerr.column, jerr.text);
        return -EINVAL;
    }
    arr = json_object_get(root, "blocks");
    if (json_integer_value(json_object_get(root, "version")) != XP_OPB_FORMAT ||
        !json_is_array(arr) || json_array_size(arr) > XP_OPB_MAX) {
        snprintf(err, errlen, "%s: expected {\"version\": %d, \"blocks\": [at most %d]}",
                 ob->path, XP_OPB_FORMAT, XP_OPB_MAX);
        ret = -EINVAL;
        goto out;
    }
    json_array_foreach(arr, i, e) {
        struct xp_op_block b;
        char why[160];

        ret = entry_from_json(e, &b, why, sizeof(why), (unsigned)i);
        if (ret) {
            snprintf(err, errlen, "%s: %s", ob->path, why);
            ob->n = 0;
            goto out;
        }
        if (live(&b, now))
            xp_op_blocks__set(ob, &b);
    }
out:
    json_decref(root);
    return ret;
}

int xp_op_blocks__save(const struct xp_op_blocks *ob, char *err, size_t errlen)
{
    json_t *root = json_pack("{s:i,s:[]}", "version", XP_OPB_FORMAT, "blocks");
    json_t *arr = json_object_get(root, "blocks");
    char tmp[PATH_MAX], *text = NULL;
    size_t len, off = 0;
    int fd = -1, ret = 0;
    const char *step = "write";

    if (!ob->path) {
        json_decref(root);
        return 0;
    }
    for (unsigned i = 0; arr && i < ob->n; i++)
        json_array_append_new(arr, xp_op_block__json(&ob->b[i]));
    text = arr ? json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(root);
    if (!text) {
        snprintf(err, errlen, "%s: out of memory", ob->path);
        return -ENOMEM;
    }
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", ob->path) >= (int)sizeof(tmp)) {
        free(text);
        snprintf(err, errlen, "%s: path too long", ob->path);
        return -ENAMETOOLONG;
    }
    len = strlen(text);
    text[len++] = '\n'; /* json_dumps' NUL becomes the file's last newline */
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) {
        ret = -errno;
        step = "create";
        goto out;
    }
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = -errno;
            goto err_unlink;
        }
        off += (size_t)n;
    }
    if (fsync(fd) < 0) {
        ret = -errno;
        step = "fsync";
        goto err_unlink;
    }
    if (close(fd) < 0) {
        fd = -1;
        ret = -errno;
        step = "close";
        goto err_unlink;
    }
    fd = -1;
    if (rename(tmp, ob->path) < 0) {
        ret = -errno;
        step = "rename";
        goto err_unlink;
    }
    ret = xp_statedir__fsync_parent(ob->path);
    step = "fsync of its directory";
    goto out;

err_unlink:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
out:
    if (ret)
        snprintf(err, errlen, "%s: %s: %s", ob->path, step, strerror(-ret));
    free(text);
    return ret;
}
