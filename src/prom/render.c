// SPDX-License-Identifier: GPL-2.0-only
/*
 * The stats document as Prometheus text, through the metric table (metrics.c).
 *
 * Families are printed in table order, each with its # HELP and # TYPE once and then all
 * its samples (every port, queue and reason together, as the text format wants); a family
 * none of whose fields is in this document (gateway metrics inline, DPDK metrics on AF_XDP)
 * is left out entirely rather than printed empty.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/prom/prom.h"

#define LABELS_MAX_LEN 1024
#define SEG_MAX 16

/*
 * How the elements of an array are told apart: the labels its elements carry and the
 * member each is read from. An array key not listed here labels nothing; no table row
 * iterates one.
 */
static const struct {
    const char *array, *label, *member;
} array_labels[] = {
    { "ports", "port", "name" },
    { "ports", "role", "role" },
    { "queues", "queue", "queue" },
    { "workers", "queue", "queue" },
    { "unit_groups", "group", "group" },
    { "dst_groups", "group", "group" },
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct sbuf {
    char *p;
    size_t len, cap;
};

static void sb_vprintf(struct sbuf *b, int *err, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void sb_vprintf(struct sbuf *b, int *err, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    if (*err)
        return;
    va_copy(ap2, ap);
    n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        *err = EINVAL;
        return;
    }
    if (!b->p || b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;

        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        p = realloc(b->p, cap);
        if (!p) {
            *err = ENOMEM;
            return;
        }
        b->p = p;
        b->cap = cap;
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    }
    b->len += (size_t)n;
}

static void sb_printf(struct sbuf *b, int *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void sb_printf(struct sbuf *b, int *err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sb_vprintf(b, err, fmt, ap);
    va_end(ap);
}

/* Label values escape backslash, double quote and newline (exposition format 0.0.4). */
static void append_label(char *dst, size_t cap, const char *name, const char *value)
{
    size_t len = strlen(dst);

    len += (size_t)snprintf(dst + len, cap > len ? cap - len : 0, "%s%s=\"",
                            len ? "," : "", name);
    for (const char *v = value; *v && len + 3 < cap; v++) {
        if (*v == '\\' || *v == '"') {
            dst[len++] = '\\';
            dst[len++] = *v;
        } else if (*v == '\n') {
            dst[len++] = '\\';
            dst[len++] = 'n';
        } else {
            dst[len++] = *v;
        }
    }
    if (len + 1 < cap)
        dst[len++] = '"';
    dst[len < cap ? len : cap - 1] = '\0';
}

/* The shortest of %.15g..%.17g that reads back as the same double: exact, and readable. */
static const char *real_str(double d, char *buf, size_t len)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return buf;
}

/* A label value from a JSON scalar; false when it is not one. */
static bool scalar_str(const json_t *v, char *buf, size_t len)
{
    if (json_is_string(v))
        snprintf(buf, len, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        real_str(json_real_value(v), buf, len);
    else if (json_is_boolean(v))
        snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
    else
        return false;
    return true;
}

/* Split path at '.' into at most SEG_MAX segments (in buf); "" has none. */
static int split_path(const char *path, char *buf, size_t len, char **seg)
{
    int n = 0;

    snprintf(buf, len, "%s", path);
    if (!buf[0])
        return 0;
    for (char *s = buf; s; n++) {
        if (n == SEG_MAX)
            return -1;
        seg[n] = s;
        s = strchr(s, '.');
        if (s)
            *s++ = '\0';
    }
    return n;
}

struct family_out {
    const struct xp_prom_metric *m;
    const struct xp_prom_source *src;
    struct sbuf *samples;
    int *err;
};

static void sample(struct family_out *fo, const char *labels, const char *value)
{
    sb_printf(fo->samples, fo->err, "%s%s%s%s %s\n", fo->m->name, labels[0] ? "{" : "",
              labels, labels[0] ? "}" : "", value);
}

/* Append a source's constant labels (already in exposition syntax). */
static void with_const(char *dst, size_t cap, const char *more)
{
    size_t len = strlen(dst);

    if (more && more[0] && len < cap)
        snprintf(dst + len, cap - len, "%s%s", len ? "," : "", more);
}

/* The value at a leaf, in base units. */
static bool value_str(const struct xp_prom_source *src, const json_t *v, char *buf, size_t len)
{
    double scale = src->scale != 0 ? src->scale : 1;

    if (json_is_boolean(v)) {
        snprintf(buf, len, "%d", json_is_true(v) ? 1 : 0);
    } else if (json_is_integer(v) && scale == 1) {
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    } else if (json_is_number(v)) {
        /*
         * Dividing by an exact power of ten keeps 2474105420 ns at 2.47410542 s, where
         * multiplying by the inexact 1e-9 would print 2.4741054200000003.
         */
        double x = json_number_value(v);

        real_str(scale < 1 ? x / nearbyint(1 / scale) : x * scale, buf, len);
    } else {
        return false;
    }
    return true;
}

static void leaf(struct family_out *fo, const json_t *v, const char *labels)
{
    const struct xp_prom_source *src = fo->src;
    char lab[LABELS_MAX_LEN], val[256];

    snprintf(lab, sizeof(lab), "%s", labels);
    if (src->info) {
        char names[256], *save = NULL;

        if (!json_is_object(v))
            return;
        with_const(lab, sizeof(lab), src->labels);
        snprintf(names, sizeof(names), "%s", src->info);
        for (char *n = strtok_r(names, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
            if (!scalar_str(json_object_get(v, n), val, sizeof(val)))
                return; /* not this backend's or mode's object */
            append_label(lab, sizeof(lab), n, val);
        }
        sample(fo, lab, "1");
    } else if (src->states) {
        char states[256], *save = NULL;

        if (!json_is_string(v))
            return;
        snprintf(states, sizeof(states), "%s", src->states);
        for (char *s = strtok_r(states, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
            snprintf(lab, sizeof(lab), "%s", labels);
            with_const(lab, sizeof(lab), src->labels);
            append_label(lab, sizeof(lab), src->key_label, s);
            sample(fo, lab, strcmp(json_string_value(v), s) == 0 ? "1" : "0");
        }
    } else if (value_str(src, v, val, sizeof(val))) {
        with_const(lab, sizeof(lab), src->labels);
        sample(fo, lab, val);
    }
}

static void resolve(struct family_out *fo, const json_t *node, char **seg, int n,
                    const char *labels)
{
    size_t kl;

    if (n == 0) {
        leaf(fo, node, labels);
        return;
    }
    if (!json_is_object(node))
        return;
    if (n == 1 && strcmp(seg[0], "*") == 0) {
        const char *key;
        json_t *v;

        json_object_foreach((json_t *)node, key, v) {
            char lab[LABELS_MAX_LEN];

            if (!json_is_number(v) && !json_is_boolean(v))
                continue;
            snprintf(lab, sizeof(lab), "%s", labels);
            append_label(lab, sizeof(lab), fo->src->key_label, key);
            leaf(fo, v, lab);
        }
        return;
    }
    kl = strlen(seg[0]);
    if (kl > 2 && strcmp(seg[0] + kl - 2, "[]") == 0) {
        char key[128];
        const json_t *arr;
        size_t i;
        json_t *el;

        snprintf(key, sizeof(key), "%.*s", (int)(kl - 2), seg[0]);
        arr = json_object_get(node, key);
        json_array_foreach((json_t *)arr, i, el) {
            char lab[LABELS_MAX_LEN], val[256];
            bool ok = true;

            snprintf(lab, sizeof(lab), "%s", labels);
            for (size_t a = 0; a < ARRAY_LEN(array_labels); a++) {
                if (strcmp(array_labels[a].array, key) != 0)
                    continue;
                ok = ok && scalar_str(json_object_get(el, array_labels[a].member), val,
                                      sizeof(val));
                if (ok)
                    append_label(lab, sizeof(lab), array_labels[a].label, val);
            }
            /* An element that cannot be told apart would merge series: left out. */
            if (ok)
                resolve(fo, el, seg + 1, n - 1, lab);
        }
        return;
    }
    resolve(fo, json_object_get(node, seg[0]), seg + 1, n - 1, labels);
}

/* Help text escapes backslash and newline (exposition format 0.0.4). */
static void help_line(struct sbuf *out, int *err, const struct xp_prom_metric *m)
{
    sb_printf(out, err, "# HELP %s ", m->name);
    for (const char *h = m->help; *h; h++) {
        if (*h == '\\')
            sb_printf(out, err, "\\\\");
        else if (*h == '\n')
            sb_printf(out, err, "\\n");
        else
            sb_printf(out, err, "%c", *h);
    }
    sb_printf(out, err, "\n# TYPE %s %s\n", m->name,
              m->type == XP_PROM_COUNTER ? "counter" : "gauge");
}

char *xp_prom_render(const json_t *stats, size_t *len)
{
    struct sbuf out = { 0 }, fam = { 0 };
    int err = 0;

    if (!json_is_object(stats)) {
        errno = EINVAL;
        return NULL;
    }
    for (size_t i = 0; i < xp_prom_n_metrics && !err; i++) {
        const struct xp_prom_metric *m = &xp_prom_metrics[i];

        fam.len = 0;
        for (const struct xp_prom_source *src = m->src; src->path; src++) {
            struct family_out fo = { m, src, &fam, &err };
            char buf[256], *seg[SEG_MAX];
            int n = split_path(src->path, buf, sizeof(buf), seg);

            if (n >= 0)
                resolve(&fo, stats, seg, n, "");
        }
        if (fam.len) {
            help_line(&out, &err, m);
            sb_printf(&out, &err, "%s", fam.p);
        }
    }
    free(fam.p);
    if (err) {
        free(out.p);
        errno = err;
        return NULL;
    }
    if (!out.p) /* not reached: xpro_build_info is always there */
        sb_printf(&out, &err, "%s", "");
    if (len)
        *len = out.len;
    return out.p;
}

/* Does field (split) match pattern (split), '*' matching one segment? */
static bool path_match(char **pat, int np, char **seg, int ns)
{
    if (np != ns)
        return false;
    for (int i = 0; i < np; i++) {
        if (strcmp(pat[i], "*") != 0 && strcmp(pat[i], seg[i]) != 0)
            return false;
    }
    return true;
}

static bool info_member(const struct xp_prom_source *src, char **seg, int ns)
{
    char pbuf[256], names[256], *pseg[SEG_MAX], *save = NULL;
    int np = split_path(src->path, pbuf, sizeof(pbuf), pseg);

    if (np < 0 || ns != np + 1 || !path_match(pseg, np, seg, np))
        return false;
    snprintf(names, sizeof(names), "%s", src->info);
    for (char *n = strtok_r(names, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
        if (strcmp(n, seg[np]) == 0)
            return true;
    }
    return false;
}

enum xp_prom_field xp_prom_field(const char *path)
{
    char buf[256], pbuf[256], *seg[SEG_MAX], *pseg[SEG_MAX];
    int ns = split_path(path, buf, sizeof(buf), seg), np;

    if (ns <= 0)
        return XP_PROM_FIELD_UNKNOWN;
    for (size_t i = 0; i < xp_prom_n_metrics; i++) {
        for (const struct xp_prom_source *src = xp_prom_metrics[i].src; src->path; src++) {
            if (src->info) {
                if (info_member(src, seg, ns))
                    return XP_PROM_FIELD_EXPORTED;
                continue;
            }
            np = split_path(src->path, pbuf, sizeof(pbuf), pseg);
            if (!src->states && np > 0 && path_match(pseg, np, seg, ns))
                return XP_PROM_FIELD_EXPORTED;
        }
    }
    /* The members that label an array's elements. */
    if (ns >= 2) {
        size_t kl = strlen(seg[ns - 2]);

        for (size_t a = 0; a < ARRAY_LEN(array_labels); a++) {
            if (kl == strlen(array_labels[a].array) + 2 &&
                strncmp(seg[ns - 2], array_labels[a].array, kl - 2) == 0 &&
                strcmp(seg[ns - 1], array_labels[a].member) == 0)
                return XP_PROM_FIELD_EXPORTED;
        }
    }
    for (size_t i = 0; i < xp_prom_n_unexported; i++) {
        np = split_path(xp_prom_unexported[i].path, pbuf, sizeof(pbuf), pseg);
        if (np > 0 && path_match(pseg, np, seg, ns))
            return XP_PROM_FIELD_UNEXPORTED;
    }
    return XP_PROM_FIELD_UNKNOWN;
}
