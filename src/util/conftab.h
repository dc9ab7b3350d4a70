/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Configuration key tables: one engine for every xpro configuration file.
 *
 * A program describes its JSON configuration as a table of keys bound by
 * offsetof() to its own struct: name, type, range, default, whether a
 * reload may change it, and its documentation. The same table
 *   - writes the defaults into the struct (xp_conftab__defaults),
 *   - parses and validates a file (xp_conftab__load / __parse),
 *   - refuses a reload that changes a key not marked reloadable
 *     (xp_conftab__reload_check),
 *   - prints the reference table of conf/README.md (xp_conftab__print).
 * So a default is written once, in the table, and the documentation cannot
 * drift from the code.
 *
 * Strict: unknown keys, wrong types and out-of-range values are errors;
 * nothing falls back to a default. Errors are positive XP_CONFTAB_E_* codes
 * with a message "FILE:LINE:COL: path.to.key: message" (jansson keeps no
 * positions, so the engine finds the key again in the text).
 *
 * Keys the types cannot describe (an object of interface names, a list of
 * unit credentials) are XP_CT_CALLBACK keys: their parse function uses the
 * helpers below (error, push/pop, array, enum) so that their errors have the
 * same form. Any thread; a struct xp_conftab is used by one thread.
 */
#ifndef XP_CONFTAB_H
#define XP_CONFTAB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Parse results. Positive so that they can be exit-code-sized; 0 is success. */
enum xp_conftab_err {
    XP_CONFTAB_OK = 0,
    XP_CONFTAB_E_IO = 1,          /* cannot read the file (errno tells why) */
    XP_CONFTAB_E_SYNTAX = 2,      /* not JSON */
    XP_CONFTAB_E_UNKNOWN_KEY = 3,
    XP_CONFTAB_E_TYPE = 4,
    XP_CONFTAB_E_RANGE = 5,
    XP_CONFTAB_E_MISSING = 6,
    XP_CONFTAB_E_UNSUPPORTED = 7,
};

enum xp_conftab_type {
    XP_CT_STRING = 0, /* char[size], length min..size-1 */
    XP_CT_UINT,       /* unsigned integer field of 1, 2, 4 or 8 bytes; min..max; stored x scale */
    XP_CT_BOOL,       /* bool */
    XP_CT_ENUM,       /* int: the index of the value in names[] */
    XP_CT_SECTION,    /* an object whose keys are sub[] (offsets stay those of the whole struct) */
    XP_CT_ARRAY,      /* elements parsed by elem() into an array at off, count at count_off */
    XP_CT_CALLBACK,   /* parsed by parse() */
};

struct xp_conftab;

/* Parse one value into obj (the whole struct). 0 or a positive code from xp_conftab__error(). */
typedef int (*xp_conftab_parse_fn)(struct xp_conftab *ct, json_t *val, void *obj);
/* Parse element i of an array; elems is the array's first element. */
typedef int (*xp_conftab_elem_fn)(struct xp_conftab *ct, json_t *val, size_t i, void *elems);
/* One member of an object, its key already on the path. 0 or a positive code. */
typedef int (*xp_conftab_member_fn)(struct xp_conftab *ct, const char *key, json_t *val,
                                    void *arg);
/* Whether a callback key has the same value in a and b (whole structs). */
typedef bool (*xp_conftab_equal_fn)(const void *a, const void *b);

struct xp_conftab_key {
    const char *name;
    enum xp_conftab_type type;
    size_t off;  /* of the field (array: of its first element) in the struct */
    size_t size; /* of the field (array: of one element) */
    /*
     * XP_CT_UINT: range in the file's unit, and the default (the stored value
     * is value x scale, scale 0 meaning 1). XP_CT_STRING: min is the shortest
     * length. XP_CT_ARRAY: max is the most elements. XP_CT_BOOL, XP_CT_ENUM:
     * def is 0/1, or the index in names[].
     */
    long long min, max, def;
    unsigned long long scale;
    const char *def_str;           /* XP_CT_STRING: the default; NULL is "" */
    const char *const *names;      /* XP_CT_ENUM: NULL-terminated */
    size_t count_off;              /* XP_CT_ARRAY: unsigned element count */
    xp_conftab_elem_fn elem;       /* XP_CT_ARRAY */
    const char *what;              /* XP_CT_ARRAY: "CIDR strings" in "expected an array of ..." */
    const char *max_what;          /* XP_CT_ARRAY: "prefixes" in "at most N ..." */
    xp_conftab_parse_fn parse;     /* XP_CT_CALLBACK */
    xp_conftab_equal_fn equal;     /* XP_CT_CALLBACK; NULL: any reload counts as a change */
    const struct xp_conftab_key *sub; /* XP_CT_SECTION */
    size_t n_sub;
    bool reloadable;
    /* Documentation. type_doc NULL: from the type ("integer", the enum's names...). */
    const char *type_doc;
    /*
     * What absence means, for a key whose absence is not a value (a path
     * left empty, a required key, a callback): printed instead of the
     * default. NULL for the others: the default column comes from def/def_str.
     */
    const char *unset_doc;
    const char *doc;
};

/* offsetof and sizeof of a field, for table rows: XP_CT_FIELD(struct xp_config, queues). */
#define XP_CT_FIELD(type, field) .off = offsetof(type, field), .size = sizeof(((type *)0)->field)
#define XP_CT_ARRAY_FIELD(type, field, count)                                          \
    .off = offsetof(type, field), .size = sizeof(((type *)0)->field[0]),               \
    .count_off = offsetof(type, count)
#define XP_CT_SECTION_OF(table) .sub = (table), .n_sub = sizeof(table) / sizeof((table)[0])

#define XP_CONFTAB_DEPTH 12

/* One parse: where messages go and the key path being parsed. */
struct xp_conftab {
    const char *name; /* the file, in messages */
    const char *text; /* its text, to locate keys */
    char *msg;
    size_t msg_len;
    int depth;
    const char *path[XP_CONFTAB_DEPTH];
    char idx[XP_CONFTAB_DEPTH][24];   /* array indexes on the path */
    char at[128];                     /* xp_conftab__error_at()'s path */
};

/* Start a parse of text (name in messages). */
void xp_conftab__init(struct xp_conftab *ct, const char *name, const char *text, char *msg,
                      size_t msg_len);

/* Write every key's default into obj; fields not in the table are left alone. */
void xp_conftab__defaults(const struct xp_conftab_key *keys, size_t n, void *obj);

/*
 * Read a whole file into *text (malloc'd, NUL-terminated; free it). 0,
 * XP_CONFTAB_E_IO (errno set) or XP_CONFTAB_E_SYNTAX (a NUL byte), with
 * "FILE: reason" in msg.
 */
int xp_conftab__read_file(const char *path, char **text, char *msg, size_t msg_len);

/*
 * Parse ct->text as a JSON object against keys into obj, which the caller
 * has filled with the defaults. On success *root (if not NULL) receives the
 * document for checks across keys (json_decref() it). Returns 0 or a
 * positive code with the message in ct->msg.
 */
int xp_conftab__load(struct xp_conftab *ct, const struct xp_conftab_key *keys, size_t n,
                     void *obj, json_t **root);

/* Parse one object against keys (callbacks, for nested tables). 0 or a positive code. */
int xp_conftab__parse(struct xp_conftab *ct, json_t *val, const struct xp_conftab_key *keys,
                      size_t n, void *obj);

/*
 * Format "FILE:LINE:COL: path: message" for the current path (the position
 * of its last key, or of the array element) into ct->msg; returns err.
 */
int xp_conftab__error(struct xp_conftab *ct, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same at a dotted path from the top ("sync.central"; "" for the top). */
int xp_conftab__error_at(struct xp_conftab *ct, int err, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Enter key (0, or XP_CONFTAB_E_TYPE when nested too deeply) and leave it again. */
int xp_conftab__push(struct xp_conftab *ct, const char *key);
void xp_conftab__pop(struct xp_conftab *ct);

/*
 * An array of at most max elements, each parsed by elem() with its index
 * on the path ("key.N"). Does not store the count.
 */
int xp_conftab__array(struct xp_conftab *ct, json_t *val, size_t max, const char *what,
                      const char *max_what, xp_conftab_elem_fn elem, void *elems);

/*
 * An object whose members a callback reads itself: "expected WHAT"
 * (XP_CONFTAB_E_TYPE) unless val is an object, then member() for each key
 * in the file's order, with the key on the path.
 */
int xp_conftab__object(struct xp_conftab *ct, json_t *val, const char *what,
                       xp_conftab_member_fn member, void *arg);

/* A string that must be one of names (NULL-terminated); *out is its index. */
int xp_conftab__enum(struct xp_conftab *ct, json_t *val, const char *const *names, int *out);

/*
 * 0 if b differs from a only in reloadable keys, else XP_CONFTAB_E_UNSUPPORTED
 * with "path cannot change without a restart" in msg.
 */
int xp_conftab__reload_check(const struct xp_conftab_key *keys, size_t n, const void *a,
                             const void *b, char *msg, size_t msg_len);

/* The Markdown reference: header, then one row per key (sections followed by their keys). */
void xp_conftab__print(FILE *out, const struct xp_conftab_key *keys, size_t n);

#endif /* XP_CONFTAB_H */
