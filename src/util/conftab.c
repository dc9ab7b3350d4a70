// SPDX-License-Identifier: GPL-2.0-only
/*
 * The configuration key-table engine (conftab.h).
 *
 * Design: jansson parses the text into a tree once; the engine walks the
 * tree along a table, never the other way round, so a key that is in the
 * file but not in the table is found as an unknown key on the spot, and a
 * key in the table but not in the file keeps the default written from the
 * same row. The key path is a stack of pointers into the tree (and of index
 * strings for array elements); only an error turns it into text, and only
 * then is the text scanned again for the position jansson does not keep.
 */
#include "src/util/conftab.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A configuration is a few KiB; this bound only stops a wrong path from eating memory. */
#define XP_CONFTAB_FILE_MAX (1 << 24)

void xp_conftab__init(struct xp_conftab *ct, const char *name, const char *text, char *msg,
                      size_t msg_len)
{
    memset(ct, 0, sizeof(*ct));
    ct->name = name;
    ct->text = text;
    ct->msg = msg;
    ct->msg_len = msg_len;
}

static void store_uint(void *field, size_t size, unsigned long long v)
{
    switch (size) {
    case 1: {
        uint8_t x = (uint8_t)v;

        memcpy(field, &x, 1);
        break;
    }
    case 2: {
        uint16_t x = (uint16_t)v;

        memcpy(field, &x, 2);
        break;
    }
    case 4: {
        uint32_t x = (uint32_t)v;

        memcpy(field, &x, 4);
        break;
    }
    default: {
        uint64_t x = v;

        memcpy(field, &x, 8);
        break;
    }
    }
}

static unsigned long long scale_of(const struct xp_conftab_key *k)
{
    return k->scale ? k->scale : 1;
}

void xp_conftab__defaults(const struct xp_conftab_key *keys, size_t n, void *obj)
{
    for (size_t i = 0; i < n; i++) {
        const struct xp_conftab_key *k = &keys[i];
        char *field = (char *)obj + k->off;

        switch (k->type) {
        case XP_CT_STRING:
            snprintf(field, k->size, "%s", k->def_str ? k->def_str : "");
            break;
        case XP_CT_UINT:
            store_uint(field, k->size, (unsigned long long)k->def * scale_of(k));
            break;
        case XP_CT_BOOL:
            *(bool *)field = k->def != 0;
            break;
        case XP_CT_ENUM:
            *(int *)field = (int)k->def;
            break;
        case XP_CT_SECTION:
            xp_conftab__defaults(k->sub, k->n_sub, obj);
            break;
        case XP_CT_ARRAY:
            *(unsigned *)((char *)obj + k->count_off) = 0;
            break;
        case XP_CT_CALLBACK:
            break;
        }
    }
}

/* ---- positions ---- */

/*
 * jansson keeps no positions for values, so an error finds its key again:
 * a small scanner walks the JSON text along the key path. The text has
 * already been parsed, so the scanner may assume it is valid JSON.
 */
struct scan {
    const char *s;
    int line, col;
};

static void sc_adv(struct scan *sc)
{
    if (*sc->s == '\n') {
        sc->line++;
        sc->col = 1;
    } else {
        sc->col++;
    }
    sc->s++;
}

static void sc_ws(struct scan *sc)
{
    while (*sc->s == ' ' || *sc->s == '\t' || *sc->s == '\n' || *sc->s == '\r')
        sc_adv(sc);
}

/* Skip a string at sc (which points at '"'); copy up to len-1 bytes of it into out. */
static void sc_string(struct scan *sc, char *out, size_t len)
{
    size_t n = 0;

    sc_adv(sc);
    while (*sc->s && *sc->s != '"') {
        if (*sc->s == '\\' && sc->s[1])
            sc_adv(sc);
        if (out && n + 1 < len)
            out[n++] = *sc->s;
        sc_adv(sc);
    }
    if (*sc->s == '"')
        sc_adv(sc);
    if (out)
        out[n] = '\0';
}

static void sc_value(struct scan *sc)
{
    int depth = 0;

    sc_ws(sc);
    do {
        if (*sc->s == '"') {
            sc_string(sc, NULL, 0);
            continue;
        }
        if (*sc->s == '{' || *sc->s == '[')
            depth++;
        else if (*sc->s == '}' || *sc->s == ']')
            depth--;
        else if (depth == 0 && (*sc->s == ',' || *sc->s == ' ' || *sc->s == '\n'))
            break;
        if (*sc->s == '\0')
            break;
        sc_adv(sc);
    } while (depth > 0 || (*sc->s && *sc->s != ',' && *sc->s != '}' && *sc->s != ']' &&
                           *sc->s != ' ' && *sc->s != '\n' && *sc->s != '\r'));
}

/*
 * Position of path[0..depth) in text: the last key itself, or the array
 * element. A path that is not in the text stops where the search failed.
 */
static void locate(const char *text, const char *const *path, int depth, int *line, int *col)
{
    struct scan sc = { .s = text ? text : "", .line = 1, .col = 1 };
    char key[128];

    for (int d = 0; d < depth; d++) {
        sc_ws(&sc);
        if (*sc.s == '{') {
            bool found = false;

            sc_adv(&sc);
            for (;;) {
                struct scan at;

                sc_ws(&sc);
                if (*sc.s != '"')
                    goto out;
                at = sc;
                sc_string(&sc, key, sizeof(key));
                sc_ws(&sc);
                if (*sc.s != ':')
                    goto out;
                sc_adv(&sc);
                if (strcmp(key, path[d]) == 0) {
                    found = true;
                    if (d == depth - 1)
                        sc = at;
                    break;
                }
                sc_value(&sc);
                sc_ws(&sc);
                if (*sc.s != ',')
                    goto out;
                sc_adv(&sc);
            }
            if (!found)
                goto out;
        } else if (*sc.s == '[') {
            long idx = strtol(path[d], NULL, 10);

            sc_adv(&sc);
            for (long i = 0; i < idx; i++) {
                sc_value(&sc);
                sc_ws(&sc);
                if (*sc.s != ',')
                    goto out;
                sc_adv(&sc);
            }
            sc_ws(&sc);
        } else {
            goto out;
        }
    }
out:
    *line = sc.line;
    *col = sc.col;
}

/* ---- errors and the key path ---- */

__attribute__((format(printf, 3, 0)))
static int verror(struct xp_conftab *ct, int err, const char *fmt, va_list ap)
{
    char keypath[256] = "";
    size_t n = 0;
    int line, col;

    for (int i = 0; i < ct->depth; i++) {
        int w = snprintf(keypath + n, sizeof(keypath) - n, "%s%s", i ? "." : "", ct->path[i]);

        if (w < 0 || (size_t)w >= sizeof(keypath) - n)
            break;
        n += w;
    }
    locate(ct->text, ct->path, ct->depth, &line, &col);
    n = snprintf(ct->msg, ct->msg_len, "%s:%d:%d: %s: ", ct->name, line, col,
                 keypath[0] ? keypath : "(top)");
    if (n < ct->msg_len)
        vsnprintf(ct->msg + n, ct->msg_len - n, fmt, ap);
    return err;
}

int xp_conftab__error(struct xp_conftab *ct, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    err = verror(ct, err, fmt, ap);
    va_end(ap);
    return err;
}

int xp_conftab__error_at(struct xp_conftab *ct, int err, const char *path, const char *fmt, ...)
{
    va_list ap;
    char *p;

    snprintf(ct->at, sizeof(ct->at), "%s", path);
    ct->depth = 0;
    for (p = ct->at; *p && ct->depth < XP_CONFTAB_DEPTH;) {
        char *dot = strchr(p, '.');

        ct->path[ct->depth++] = p;
        if (!dot)
            break;
        *dot = '\0';
        p = dot + 1;
    }
    va_start(ap, fmt);
    err = verror(ct, err, fmt, ap);
    va_end(ap);
    return err;
}

int xp_conftab__push(struct xp_conftab *ct, const char *key)
{
    if (ct->depth >= XP_CONFTAB_DEPTH - 1)
        return xp_conftab__error(ct, XP_CONFTAB_E_TYPE, "nested too deeply");
    ct->path[ct->depth++] = key;
    return 0;
}

void xp_conftab__pop(struct xp_conftab *ct)
{
    if (ct->depth > 0)
        ct->depth--;
}

/* ---- values ---- */

int xp_conftab__enum(struct xp_conftab *ct, json_t *val, const char *const *names, int *out)
{
    char list[128] = "";
    size_t n = 0;

    if (json_is_string(val)) {
        for (int i = 0; names[i]; i++) {
            if (strcmp(json_string_value(val), names[i]) == 0) {
                *out = i;
                return 0;
            }
        }
    }
    for (int i = 0; names[i] && n < sizeof(list); i++)
        n += snprintf(list + n, sizeof(list) - n, "%s\"%s\"", i ? ", " : "", names[i]);
    return xp_conftab__error(ct, json_is_string(val) ? XP_CONFTAB_E_RANGE : XP_CONFTAB_E_TYPE,
                             "expected one of %s", list);
}

int xp_conftab__array(struct xp_conftab *ct, json_t *val, size_t max, const char *what,
                      const char *max_what, xp_conftab_elem_fn elem, void *elems)
{
    size_t i;
    json_t *v;

    if (!json_is_array(val))
        return xp_conftab__error(ct, XP_CONFTAB_E_TYPE, "expected an array of %s", what);
    if (json_array_size(val) > max)
        return xp_conftab__error(ct, XP_CONFTAB_E_RANGE, "at most %zu %s", max, max_what);
    if (ct->depth >= XP_CONFTAB_DEPTH - 1)
        return xp_conftab__error(ct, XP_CONFTAB_E_TYPE, "nested too deeply");
    json_array_foreach(val, i, v) {
        int ret;

        snprintf(ct->idx[ct->depth], sizeof(ct->idx[0]), "%zu", i);
        ct->path[ct->depth] = ct->idx[ct->depth];
        ct->depth++;
        ret = elem(ct, v, i, elems);
        if (ret)
            return ret;
        xp_conftab__pop(ct);
    }
    return 0;
}

static int parse_value(struct xp_conftab *ct, const struct xp_conftab_key *k, json_t *val,
                       void *obj)
{
    char *field = (char *)obj + k->off;
    int ret;

    switch (k->type) {
    case XP_CT_STRING: {
        size_t len;

        if (!json_is_string(val))
            return xp_conftab__error(ct, XP_CONFTAB_E_TYPE, "expected a string");
        len = json_string_length(val);
        if ((long long)len < k->min || len >= k->size)
            return xp_conftab__error(ct, XP_CONFTAB_E_RANGE, "length must be %lld..%zu",
                                     k->min, k->size - 1);
        memcpy(field, json_string_value(val), len + 1);
        return 0;
    }
    case XP_CT_UINT: {
        json_int_t v;

        if (!json_is_integer(val))
            return xp_conftab__error(ct, XP_CONFTAB_E_TYPE, "expected an integer");
        v = json_integer_value(val);
        if (v < k->min || v > k->max)
            return xp_conftab__error(ct, XP_CONFTAB_E_RANGE, "%lld is out of range %lld..%lld",
                                     (long long)v, k->min, k->max);
        store_uint(field, k->size, (unsigned long long)v * scale_of(k));
        return 0;
    }
    case XP_CT_BOOL:
        if (!json_is_boolean(val))
            return xp_conftab__error(ct, XP_CONFTAB_E_TYPE, "expected true or false");
        *(bool *)field = json_is_true(val);
        return 0;
    case XP_CT_ENUM:
        return xp_conftab__enum(ct, val, k->names, (int *)field);
    case XP_CT_SECTION:
        return xp_conftab__parse(ct, val, k->sub, k->n_sub, obj);
    case XP_CT_ARRAY:
        ret = xp_conftab__array(ct, val, (size_t)k->max, k->what, k->max_what, k->elem, field);
        if (!ret)
            *(unsigned *)((char *)obj + k->count_off) = (unsigned)json_array_size(val);
        return ret;
    case XP_CT_CALLBACK:
        return k->parse(ct, val, obj);
    }
    return xp_conftab__error(ct, XP_CONFTAB_E_TYPE, "internal: unknown key type");
}

int xp_conftab__object(struct xp_conftab *ct, json_t *val, const char *what,
                       xp_conftab_member_fn member, void *arg)
{
    const char *key;
    json_t *v;
    int ret;

    if (!json_is_object(val))
        return xp_conftab__error(ct, XP_CONFTAB_E_TYPE, "expected %s", what);
    json_object_foreach(val, key, v) {
        ret = xp_conftab__push(ct, key);
        if (!ret)
            ret = member(ct, key, v, arg);
        if (ret)
            return ret;
        xp_conftab__pop(ct);
    }
    return 0;
}

struct table_walk {
    const struct xp_conftab_key *keys;
    size_t n;
    void *obj;
};

static int table_member(struct xp_conftab *ct, const char *key, json_t *val, void *arg)
{
    const struct table_walk *w = arg;

    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->keys[i].name, key) == 0)
            return parse_value(ct, &w->keys[i], val, w->obj);
    return xp_conftab__error(ct, XP_CONFTAB_E_UNKNOWN_KEY, "unknown key");
}

int xp_conftab__parse(struct xp_conftab *ct, json_t *val, const struct xp_conftab_key *keys,
                      size_t n, void *obj)
{
    struct table_walk w = { .keys = keys, .n = n, .obj = obj };

    return xp_conftab__object(ct, val, "an object", table_member, &w);
}

/* ---- the table itself ---- */

static bool uint_in_range(const struct xp_conftab_key *k)
{
    return k->def >= k->min && k->def <= k->max;
}

static size_t n_names(const char *const *names)
{
    size_t n = 0;

    while (names && names[n])
        n++;
    return n;
}

/*
 * A row that contradicts itself (a default out of its own range, or given
 * both as a value and as a sentence) is a programming error; catching it at
 * every load makes the unit tests of each configuration catch it.
 */
static const char *row_error(const struct xp_conftab_key *k)
{
    if (!k->name || !k->doc)
        return "needs a name and a doc";
    switch (k->type) {
    case XP_CT_STRING: {
        bool has_def = k->def_str && k->def_str[0];

        if (k->size == 0 || (has_def && strlen(k->def_str) >= k->size))
            return "the default does not fit";
        if (has_def == (k->unset_doc != NULL))
            return "give a default or an unset_doc, one";
        return NULL;
    }
    case XP_CT_UINT:
        if (k->size != 1 && k->size != 2 && k->size != 4 && k->size != 8)
            return "integer fields are 1, 2, 4 or 8 bytes";
        if (k->min > k->max || k->min < 0)
            return "bad range";
        if (uint_in_range(k) == (k->unset_doc != NULL))
            return "give a default in range or an unset_doc, one";
        return NULL;
    case XP_CT_BOOL:
        return k->size != sizeof(bool) || k->unset_doc ? "a bool field with a default" : NULL;
    case XP_CT_ENUM:
        if (k->size != sizeof(int) || k->unset_doc || k->def < 0 ||
            (size_t)k->def >= n_names(k->names))
            return "an int field with a default among names";
        return NULL;
    case XP_CT_SECTION:
        return k->sub && !k->unset_doc ? NULL : "a section has sub keys and no unset_doc";
    case XP_CT_ARRAY:
        return k->elem && k->what && k->max_what && k->type_doc && k->max > 0 ?
               NULL : "an array needs elem, what, max_what, type_doc and max";
    case XP_CT_CALLBACK:
        return k->parse && k->type_doc && k->unset_doc ?
               NULL : "a callback needs parse, type_doc and unset_doc";
    }
    return "unknown type";
}

static const struct xp_conftab_key *bad_row(const struct xp_conftab_key *keys, size_t n,
                                            const char **why)
{
    for (size_t i = 0; i < n; i++) {
        *why = row_error(&keys[i]);
        if (*why)
            return &keys[i];
        if (keys[i].type == XP_CT_SECTION) {
            const struct xp_conftab_key *k = bad_row(keys[i].sub, keys[i].n_sub, why);

            if (k)
                return k;
        }
    }
    return NULL;
}

/* ---- whole files ---- */

int xp_conftab__read_file(const char *path, char **text, char *msg, size_t msg_len)
{
    FILE *f = fopen(path, "re");
    size_t len = 0, cap = 0;
    char *buf = NULL;
    int ret = 0, saved;

    *text = NULL;
    if (!f) {
        saved = errno;
        snprintf(msg, msg_len, "%s: %s", path, strerror(saved));
        errno = saved;
        return XP_CONFTAB_E_IO;
    }
    for (;;) {
        size_t got;

        if (len + 4096 + 1 > cap) {
            char *t;

            cap = cap ? cap * 2 : 8192;
            if (cap > XP_CONFTAB_FILE_MAX) {
                snprintf(msg, msg_len, "%s: larger than 16 MiB", path);
                errno = EFBIG;
                ret = XP_CONFTAB_E_IO;
                goto out;
            }
            t = realloc(buf, cap);
            if (!t) {
                snprintf(msg, msg_len, "%s: out of memory", path);
                errno = ENOMEM;
                ret = XP_CONFTAB_E_IO;
                goto out;
            }
            buf = t;
        }
        got = fread(buf + len, 1, 4096, f);
        len += got;
        if (got < 4096)
            break;
    }
    if (ferror(f)) {
        snprintf(msg, msg_len, "%s: read error", path);
        errno = EIO;
        ret = XP_CONFTAB_E_IO;
        goto out;
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        snprintf(msg, msg_len, "%s: contains a NUL byte", path);
        ret = XP_CONFTAB_E_SYNTAX;
        goto out;
    }
    *text = buf;
    buf = NULL;
out:
    free(buf);
    fclose(f);
    return ret;
}

int xp_conftab__load(struct xp_conftab *ct, const struct xp_conftab_key *keys, size_t n,
                     void *obj, json_t **root)
{
    const struct xp_conftab_key *bad;
    const char *why = NULL;
    json_error_t jerr;
    json_t *doc;
    int ret;

    if (root)
        *root = NULL;
    bad = bad_row(keys, n, &why);
    if (bad) {
        snprintf(ct->msg, ct->msg_len, "%s: internal: key table row \"%s\": %s", ct->name,
                 bad->name ? bad->name : "?", why);
        return XP_CONFTAB_E_UNSUPPORTED;
    }
    doc = json_loads(ct->text, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        snprintf(ct->msg, ct->msg_len, "%s:%d:%d: %s", ct->name, jerr.line, jerr.column,
                 jerr.text);
        return XP_CONFTAB_E_SYNTAX;
    }
    ct->depth = 0;
    if (!json_is_object(doc)) {
        ret = xp_conftab__error(ct, XP_CONFTAB_E_TYPE, "the configuration must be a JSON object");
        goto err_free_doc;
    }
    ret = xp_conftab__parse(ct, doc, keys, n, obj);
    if (ret)
        goto err_free_doc;
    ct->depth = 0;
    if (root)
        *root = doc;
    else
        json_decref(doc);
    return 0;

err_free_doc:
    json_decref(doc);
    return ret;
}

/* ---- reloads ---- */

static bool same_value(const struct xp_conftab_key *k, const void *a, const void *b)
{
    const char *fa = (const char *)a + k->off, *fb = (const char *)b + k->off;
    unsigned na, nb;

    switch (k->type) {
    case XP_CT_STRING:
        return strcmp(fa, fb) == 0;
    case XP_CT_UINT:
        return memcmp(fa, fb, k->size) == 0;
    case XP_CT_BOOL:
        return *(const bool *)fa == *(const bool *)fb;
    case XP_CT_ENUM:
        return *(const int *)fa == *(const int *)fb;
    case XP_CT_ARRAY:
        /* elements are whole fixed-size records written over a zeroed default */
        na = *(const unsigned *)((const char *)a + k->count_off);
        nb = *(const unsigned *)((const char *)b + k->count_off);
        return na == nb && memcmp(fa, fb, (size_t)na * k->size) == 0;
    case XP_CT_CALLBACK:
        /* without equal() the engine cannot tell: refusing the reload is the safe answer */
        return k->equal && k->equal(a, b);
    case XP_CT_SECTION:
        return true;
    }
    return false;
}

static int reload_check(const struct xp_conftab_key *keys, size_t n, const char *prefix,
                        const void *a, const void *b, char *msg, size_t msg_len)
{
    for (size_t i = 0; i < n; i++) {
        const struct xp_conftab_key *k = &keys[i];

        /* a section's own flag only sums up its keys for the reader: each key decides */
        if (k->type == XP_CT_SECTION) {
            char sub[64];
            int ret;

            snprintf(sub, sizeof(sub), "%s%s.", prefix, k->name);
            ret = reload_check(k->sub, k->n_sub, sub, a, b, msg, msg_len);
            if (ret)
                return ret;
            continue;
        }
        if (!k->reloadable && !same_value(k, a, b)) {
            snprintf(msg, msg_len, "%s%s cannot change without a restart", prefix, k->name);
            return XP_CONFTAB_E_UNSUPPORTED;
        }
    }
    return 0;
}

int xp_conftab__reload_check(const struct xp_conftab_key *keys, size_t n, const void *a,
                             const void *b, char *msg, size_t msg_len)
{
    return reload_check(keys, n, "", a, b, msg, msg_len);
}

/* ---- documentation ---- */

static const char *type_doc(const struct xp_conftab_key *k, char *buf, size_t len)
{
    size_t n = 0;

    if (k->type_doc)
        return k->type_doc;
    switch (k->type) {
    case XP_CT_STRING:
        return "string";
    case XP_CT_UINT:
        return "integer";
    case XP_CT_BOOL:
        return "boolean";
    case XP_CT_ENUM:
        buf[0] = '\0';
        for (int i = 0; k->names[i] && n < len; i++)
            n += snprintf(buf + n, len - n, "%s%s", i ? ", " : "", k->names[i]);
        return buf;
    case XP_CT_SECTION:
        return "object";
    case XP_CT_ARRAY:
    case XP_CT_CALLBACK:
        break;
    }
    return "?";
}

static const char *default_doc(const struct xp_conftab_key *k, char *buf, size_t len)
{
    if (k->unset_doc)
        return k->unset_doc;
    switch (k->type) {
    case XP_CT_STRING:
        snprintf(buf, len, "\"%s\"", k->def_str ? k->def_str : "");
        return buf;
    case XP_CT_UINT:
        snprintf(buf, len, "%lld", k->def);
        return buf;
    case XP_CT_BOOL:
        return k->def ? "true" : "false";
    case XP_CT_ENUM:
        snprintf(buf, len, "\"%s\"", k->names[k->def]);
        return buf;
    case XP_CT_SECTION:
        return "{}";
    case XP_CT_ARRAY:
        return "[]";
    case XP_CT_CALLBACK:
        break;
    }
    return "?";
}

static void print_rows(FILE *out, const char *prefix, const struct xp_conftab_key *keys,
                       size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct xp_conftab_key *k = &keys[i];
        char range[48] = "", tbuf[256], dbuf[256];

        if (k->type == XP_CT_UINT)
            snprintf(range, sizeof(range), "%lld..%lld", k->min, k->max);
        fprintf(out, "| `%s%s` | %s | %s | %s | %s | %s |\n", prefix, k->name,
                type_doc(k, tbuf, sizeof(tbuf)), default_doc(k, dbuf, sizeof(dbuf)), range,
                k->reloadable ? "yes" : "no", k->doc);
        if (k->type == XP_CT_SECTION) {
            char sub[64];

            snprintf(sub, sizeof(sub), "%s%s.", prefix, k->name);
            print_rows(out, sub, k->sub, k->n_sub);
        }
    }
}

void xp_conftab__print(FILE *out, const struct xp_conftab_key *keys, size_t n)
{
    fprintf(out, "| key | type | default | range | reload | meaning |\n");
    fprintf(out, "| --- | --- | --- | --- | --- | --- |\n");
    print_rows(out, "", keys, n);
}
