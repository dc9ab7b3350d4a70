// SPDX-License-Identifier: GPL-2.0-only
/*
 * The stats document as Prometheus text.
 *
 * The mapping is mechanical on purpose: a counter added to the stats document shows up here
 * with no code change, under a name derived from its documented JSON path, so the JSON line,
 * `xpro-ctl stats` and Prometheus can never disagree about what a number is called. The one
 * judgement the JSON does not carry, counter or gauge, lives in gauge_paths[] below.
 *
 * The text format wants every sample of one family together under one # HELP/# TYPE, but
 * the same family appears once per array element (ports, queues) during the walk, so
 * samples are collected per family first and printed in order of first appearance.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/prom/prom.h"

/*
 * Integers at these dotted paths (array keys included, no indices) are gauges: snapshots
 * that may go down. Every other integer is a counter and must never go backwards
 * (docs/stats.md). Reals and booleans are always gauges.
 */
static const char *const gauge_paths[] = {
    "*.clients",             /* connections now (ctl) */
    "*.connected",           /* sync state, 0/1 */
    "*.followers",
    "*_bps",                 /* rates */
    "*_ms",                  /* ages and round-trip times */
    "*_pps",
    "*_seconds",
    "frames.*",              /* UMEM frames by state now */
    "pipeline.blocked_pairs",
    "policer.capacity",
    "policer.destinations",
    "policer.pairs",
    "ports.ifindex",
    "workers.cpu",           /* the CPU a worker is pinned to */
};

#define NAME_MAX_LEN 256
#define LABELS_MAX_LEN 1024

struct sbuf {
    char *p;
    size_t len, cap;
};

struct family {
    char *name;
    char *path;
    bool gauge;
    struct sbuf samples;
};

struct render {
    struct family *fam;
    size_t n, cap;
    int err;
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

/* Metric and label names: [a-zA-Z_][a-zA-Z0-9_]*; anything else becomes '_'. */
static void append_name(char *dst, size_t cap, const char *sep, const char *key)
{
    size_t len = strlen(dst);

    for (const char *s = sep; *s && len + 1 < cap; s++)
        dst[len++] = *s;
    for (const char *k = key; *k && len + 1 < cap; k++) {
        char ch = *k;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
                  (ch >= '0' && ch <= '9' && len > 0);

        dst[len++] = ok ? ch : '_';
    }
    dst[len] = '\0';
}

/* Label values escape backslash, double quote and newline (exposition format 0.0.4). */
static void append_label(char *dst, size_t cap, const char *name, const char *value)
{
    size_t len = strlen(dst);
    char lname[NAME_MAX_LEN] = "";

    append_name(lname, sizeof(lname), "", name);
    len += (size_t)snprintf(dst + len, cap > len ? cap - len : 0, "%s%s=\"",
                            len ? "," : "", lname);
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

static bool is_gauge(const char *path)
{
    for (size_t i = 0; i < sizeof(gauge_paths) / sizeof(gauge_paths[0]); i++) {
        if (fnmatch(gauge_paths[i], path, 0) == 0)
            return true;
    }
    return false;
}

static struct family *family_get(struct render *r, const char *name, const char *path,
                                 bool gauge)
{
    struct family *f;

    /* A hundred-odd families: a linear scan from the end (the likely hit) is enough. */
    for (size_t i = r->n; i-- > 0;) {
        if (strcmp(r->fam[i].name, name) == 0)
            return &r->fam[i];
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct family *p = realloc(r->fam, cap * sizeof(*p));

        if (!p) {
            r->err = ENOMEM;
            return NULL;
        }
        r->fam = p;
        r->cap = cap;
    }
    f = &r->fam[r->n];
    memset(f, 0, sizeof(*f));
    f->name = strdup(name);
    f->path = strdup(path);
    f->gauge = gauge;
    if (!f->name || !f->path) {
        free(f->name);
        free(f->path);
        r->err = ENOMEM;
        return NULL;
    }
    r->n++;
    return f;
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

static void emit(struct render *r, const char *name, const char *path, const char *labels,
                 const json_t *v)
{
    bool gauge = !json_is_integer(v) || is_gauge(path);
    char fname[NAME_MAX_LEN + 8], num[32];
    size_t nl = strlen(name);
    struct family *f;

    if (!gauge && !(nl >= 6 && strcmp(name + nl - 6, "_total") == 0))
        snprintf(fname, sizeof(fname), "%s_total", name);
    else
        snprintf(fname, sizeof(fname), "%s", name);
    f = family_get(r, fname, path, gauge);
    if (!f)
        return;
    sb_printf(&f->samples, &r->err, "%s%s%s%s ", fname, labels[0] ? "{" : "", labels,
              labels[0] ? "}" : "");
    if (json_is_integer(v))
        sb_printf(&f->samples, &r->err, "%lld\n", (long long)json_integer_value(v));
    else if (json_is_real(v))
        sb_printf(&f->samples, &r->err, "%s\n", real_str(json_real_value(v), num, sizeof(num)));
    else
        sb_printf(&f->samples, &r->err, "%d\n", json_is_true(v) ? 1 : 0);
}

static bool is_label_int(const char *key)
{
    return strcmp(key, "queue") == 0 || strcmp(key, "id") == 0;
}

static void walk_object(struct render *r, const json_t *obj, const char *name,
                        const char *path, const char *labels, bool element);

static void walk_array(struct render *r, const json_t *arr, const char *key, const char *name,
                       const char *path, const char *labels)
{
    char singular[NAME_MAX_LEN] = "";
    size_t sl;

    snprintf(singular, sizeof(singular), "%s", key);
    sl = strlen(singular);
    if (sl > 1 && singular[sl - 1] == 's')
        singular[sl - 1] = '\0';
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *el = json_array_get(arr, i);
        char el_labels[LABELS_MAX_LEN], idx[24];
        bool identified = false;
        const char *k;
        json_t *m;

        snprintf(el_labels, sizeof(el_labels), "%s", labels);
        if (json_is_object(el)) {
            json_object_foreach((json_t *)el, k, m) {
                if (json_is_string(m)) {
                    append_label(el_labels, sizeof(el_labels),
                                 strcmp(k, "name") == 0 ? singular : k, json_string_value(m));
                    identified = true;
                } else if (json_is_integer(m) && is_label_int(k)) {
                    snprintf(idx, sizeof(idx), "%lld", (long long)json_integer_value(m));
                    append_label(el_labels, sizeof(el_labels), k, idx);
                    identified = true;
                }
            }
        }
        /* Without an identifying member the position keeps the series apart. */
        if (!identified) {
            snprintf(idx, sizeof(idx), "%zu", i);
            append_label(el_labels, sizeof(el_labels), "index", idx);
        }
        if (json_is_object(el))
            walk_object(r, el, name, path, el_labels, true);
        else if (json_is_number(el) || json_is_boolean(el))
            emit(r, name, path, el_labels, el);
    }
}

static void walk_object(struct render *r, const json_t *obj, const char *name,
                        const char *path, const char *labels, bool element)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)obj, key, v) {
        char cname[NAME_MAX_LEN], cpath[NAME_MAX_LEN];

        if (element && (json_is_string(v) || (json_is_integer(v) && is_label_int(key))))
            continue; /* already a label */
        snprintf(cname, sizeof(cname), "%s", name);
        append_name(cname, sizeof(cname), "_", key);
        snprintf(cpath, sizeof(cpath), "%s%s%s", path, path[0] ? "." : "", key);
        if (json_is_object(v))
            walk_object(r, v, cname, cpath, labels, false);
        else if (json_is_array(v))
            walk_array(r, v, key, cname, cpath, labels);
        else if (json_is_number(v) || json_is_boolean(v))
            emit(r, cname, cpath, labels, v);
    }
}

char *xp_prom_render(const json_t *stats, size_t *len)
{
    struct render r = { 0 };
    struct sbuf out = { 0 };
    char info[LABELS_MAX_LEN] = "";
    const char *key;
    json_t *v;

    if (!json_is_object(stats)) {
        errno = EINVAL;
        return NULL;
    }
    /* Top-level strings (proxy_id, ...) identify the process: the usual _info idiom. */
    json_object_foreach((json_t *)stats, key, v) {
        if (json_is_string(v))
            append_label(info, sizeof(info), key, json_string_value(v));
    }
    sb_printf(&out, &r.err, "# HELP xpro_info identity of this xpro process\n"
                            "# TYPE xpro_info gauge\nxpro_info%s%s%s 1\n",
              info[0] ? "{" : "", info, info[0] ? "}" : "");
    walk_object(&r, stats, "xpro", "", "", false);
    for (size_t i = 0; i < r.n; i++) {
        struct family *f = &r.fam[i];

        sb_printf(&out, &r.err, "# HELP %s stats document: %s\n# TYPE %s %s\n%s", f->name,
                  f->path, f->name, f->gauge ? "gauge" : "counter",
                  f->samples.p ? f->samples.p : "");
        free(f->name);
        free(f->path);
        free(f->samples.p);
    }
    free(r.fam);
    if (r.err) {
        free(out.p);
        errno = r.err;
        return NULL;
    }
    if (len)
        *len = out.len;
    return out.p;
}
