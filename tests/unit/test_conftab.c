// SPDX-License-Identifier: GPL-2.0-only
/*
 * The configuration key-table engine on its own (src/util/conftab.h), with
 * a small made-up configuration: types, ranges, defaults, nested sections,
 * arrays, callbacks, unknown keys, error positions, reloads and the
 * documentation printer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/util/conftab.h"
#include "xp_check.h"

#define CHECK_STR(a, b)                                                                   \
    do {                                                                                  \
        if (strcmp((a), (b)) != 0) {                                                      \
            fprintf(stderr, "%s:%d: %s:\n  got:  %s\n  want: %s\n", __FILE__, __LINE__,    \
                    __func__, (a), (b));                                                  \
            failures++;                                                                   \
        }                                                                                 \
    } while (0)

struct demo {
    char name[8];
    char path[16];
    unsigned count;
    uint16_t port;
    uint64_t period_ns;
    bool fast;
    int colour;
    struct {
        unsigned depth;
        bool deep;
    } inner;
    unsigned n_ids;
    unsigned ids[3];
    char roles[2][8];
};

static const char *const colours[] = { "red", "green", "blue", NULL };

static int id_elem(struct xp_conftab *ct, json_t *v, size_t i, void *elems)
{
    unsigned *ids = elems;

    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 9)
        return xp_conftab__error(ct, XP_CONFTAB_E_RANGE, "expected an id 1..9");
    ids[i] = (unsigned)json_integer_value(v);
    return 0;
}

static int role_member(struct xp_conftab *ct, const char *key, json_t *v, void *obj)
{
    static const char *const roles[] = { "in", "out", NULL };
    struct demo *d = obj;

    for (int r = 0; roles[r]; r++) {
        if (strcmp(key, roles[r]) != 0)
            continue;
        if (!json_is_string(v))
            return xp_conftab__error(ct, XP_CONFTAB_E_TYPE, "expected a name");
        snprintf(d->roles[r], sizeof(d->roles[r]), "%s", json_string_value(v));
        return 0;
    }
    return xp_conftab__error(ct, XP_CONFTAB_E_UNKNOWN_KEY, "unknown role (in, out)");
}

/* {"in": NAME, "out": NAME}: a callback that reads its own object's members. */
static int parse_roles(struct xp_conftab *ct, json_t *val, void *obj)
{
    return xp_conftab__object(ct, val, "an object {\"in\": NAME, \"out\": NAME}", role_member,
                              obj);
}

static bool roles_equal(const void *a, const void *b)
{
    return memcmp(((const struct demo *)a)->roles, ((const struct demo *)b)->roles,
                  sizeof(((const struct demo *)a)->roles)) == 0;
}

static const struct xp_conftab_key inner_keys[] = {
    { .name = "depth", .type = XP_CT_UINT, XP_CT_FIELD(struct demo, inner.depth), .min = 1,
      .max = 5, .def = 2, .reloadable = true, .doc = "How deep." },
    { .name = "deep", .type = XP_CT_BOOL, XP_CT_FIELD(struct demo, inner.deep), .def = true,
      .doc = "Whether deep." },
};

static const struct xp_conftab_key demo_keys[] = {
    { .name = "name", .type = XP_CT_STRING, XP_CT_FIELD(struct demo, name), .min = 1,
      .def_str = "demo", .doc = "A name." },
    { .name = "path", .type = XP_CT_STRING, XP_CT_FIELD(struct demo, path),
      .type_doc = "string (path)", .unset_doc = "none", .reloadable = true, .doc = "A path." },
    { .name = "count", .type = XP_CT_UINT, XP_CT_FIELD(struct demo, count), .min = 1, .max = 64,
      .def = 4, .doc = "A count." },
    { .name = "port", .type = XP_CT_UINT, XP_CT_FIELD(struct demo, port), .min = 0,
      .max = 65535, .def = 7420, .doc = "A port." },
    { .name = "period_ms", .type = XP_CT_UINT, XP_CT_FIELD(struct demo, period_ns), .min = 0,
      .max = 3600000, .def = 1500, .scale = 1000000, .type_doc = "integer (ms)",
      .reloadable = true, .doc = "Stored in ns." },
    { .name = "fast", .type = XP_CT_BOOL, XP_CT_FIELD(struct demo, fast), .doc = "Fast." },
    { .name = "colour", .type = XP_CT_ENUM, XP_CT_FIELD(struct demo, colour), .names = colours,
      .def = 1, .doc = "A colour." },
    { .name = "inner", .type = XP_CT_SECTION, XP_CT_SECTION_OF(inner_keys), .reloadable = true,
      .doc = "The keys below." },
    { .name = "ids", .type = XP_CT_ARRAY, XP_CT_ARRAY_FIELD(struct demo, ids, n_ids), .max = 3,
      .elem = id_elem, .what = "ids", .max_what = "ids", .type_doc = "array of integers",
      .doc = "Some ids." },
    { .name = "roles", .type = XP_CT_CALLBACK, .parse = parse_roles, .equal = roles_equal,
      .type_doc = "object", .unset_doc = "required", .doc = "Who is who." },
};

#define N_DEMO (sizeof(demo_keys) / sizeof(demo_keys[0]))

static int load(const char *text, struct demo *d, char *msg, size_t len)
{
    struct xp_conftab ct;

    memset(d, 0, sizeof(*d));
    xp_conftab__defaults(demo_keys, N_DEMO, d);
    xp_conftab__init(&ct, "d.json", text, msg, len);
    return xp_conftab__load(&ct, demo_keys, N_DEMO, d, NULL);
}

static void expect(const char *text, int err, const char *want)
{
    char msg[512] = "";
    struct demo d;
    int ret = load(text, &d, msg, sizeof(msg));

    if (ret != err)
        fprintf(stderr, "%s: got %d, want %d (%s)\n", text, ret, err, msg);
    CHECK_EQ(ret, err);
    CHECK_STR(msg, want);
}

static void test_defaults(void)
{
    struct demo d;

    memset(&d, 0xa5, sizeof(d));
    xp_conftab__defaults(demo_keys, N_DEMO, &d);
    CHECK_STR(d.name, "demo");
    CHECK_STR(d.path, "");
    CHECK_EQ(d.count, 4);
    CHECK_EQ(d.port, 7420);
    CHECK_EQ(d.period_ns, 1500ULL * 1000000);
    CHECK(!d.fast);
    CHECK_EQ(d.colour, 1);
    CHECK_EQ(d.inner.depth, 2);
    CHECK(d.inner.deep);
    CHECK_EQ(d.n_ids, 0);
}

static void test_values(void)
{
    char msg[512] = "";
    struct demo d;

    CHECK_EQ(load("{\"name\": \"x\", \"path\": \"/tmp/p\", \"count\": 64, \"port\": 0,\n"
                  " \"period_ms\": 3600000, \"fast\": true, \"colour\": \"blue\",\n"
                  " \"inner\": {\"depth\": 5, \"deep\": false}, \"ids\": [3, 9],\n"
                  " \"roles\": {\"in\": \"eth0\", \"out\": \"eth1\"}}",
                  &d, msg, sizeof(msg)), 0);
    CHECK_STR(msg, "");
    CHECK_STR(d.name, "x");
    CHECK_STR(d.path, "/tmp/p");
    CHECK_EQ(d.count, 64);
    CHECK_EQ(d.port, 0);
    CHECK_EQ(d.period_ns, 3600000ULL * 1000000);
    CHECK(d.fast);
    CHECK_EQ(d.colour, 2);
    CHECK_EQ(d.inner.depth, 5);
    CHECK(!d.inner.deep);
    CHECK_EQ(d.n_ids, 2);
    CHECK_EQ(d.ids[0], 3);
    CHECK_EQ(d.ids[1], 9);
    CHECK_STR(d.roles[0], "eth0");
    CHECK_STR(d.roles[1], "eth1");
    /* absent keys keep the defaults */
    CHECK_EQ(load("{}", &d, msg, sizeof(msg)), 0);
    CHECK_EQ(d.count, 4);
    CHECK_STR(d.name, "demo");
    /* the edges of ranges and lengths are in */
    CHECK_EQ(load("{\"count\": 1, \"name\": \"1234567\", \"path\": \"\"}", &d, msg, sizeof(msg)),
             0);
    CHECK_STR(d.name, "1234567");
}

static void test_errors(void)
{
    /* types */
    expect("{\"count\": \"4\"}", XP_CONFTAB_E_TYPE, "d.json:1:2: count: expected an integer");
    expect("{\"count\": 4.0}", XP_CONFTAB_E_TYPE, "d.json:1:2: count: expected an integer");
    expect("{\"name\": 1}", XP_CONFTAB_E_TYPE, "d.json:1:2: name: expected a string");
    expect("{\n  \"fast\": 1}", XP_CONFTAB_E_TYPE, "d.json:2:3: fast: expected true or false");
    expect("{\"colour\": 2}", XP_CONFTAB_E_TYPE,
           "d.json:1:2: colour: expected one of \"red\", \"green\", \"blue\"");
    expect("{\"inner\": []}", XP_CONFTAB_E_TYPE, "d.json:1:2: inner: expected an object");
    expect("{\"ids\": 3}", XP_CONFTAB_E_TYPE, "d.json:1:2: ids: expected an array of ids");
    expect("[1]", XP_CONFTAB_E_TYPE,
           "d.json:1:1: (top): the configuration must be a JSON object");
    /* ranges */
    expect("{\"count\": 0}", XP_CONFTAB_E_RANGE, "d.json:1:2: count: 0 is out of range 1..64");
    expect("{\"count\": 65}", XP_CONFTAB_E_RANGE, "d.json:1:2: count: 65 is out of range 1..64");
    expect("{\"port\": -1}", XP_CONFTAB_E_RANGE,
           "d.json:1:2: port: -1 is out of range 0..65535");
    expect("{\"name\": \"\"}", XP_CONFTAB_E_RANGE, "d.json:1:2: name: length must be 1..7");
    expect("{\"name\": \"12345678\"}", XP_CONFTAB_E_RANGE,
           "d.json:1:2: name: length must be 1..7");
    expect("{\"colour\": \"pink\"}", XP_CONFTAB_E_RANGE,
           "d.json:1:2: colour: expected one of \"red\", \"green\", \"blue\"");
    expect("{\"ids\": [1, 2, 3, 4]}", XP_CONFTAB_E_RANGE, "d.json:1:2: ids: at most 3 ids");
    /* nested keys and array elements are located where they are */
    expect("{\"count\": 2,\n \"inner\": {\"deep\": true,\n    \"depth\": 9}}", XP_CONFTAB_E_RANGE,
           "d.json:3:5: inner.depth: 9 is out of range 1..5");
    expect("{\"ids\": [1,\n  2, \"x\"]}", XP_CONFTAB_E_RANGE,
           "d.json:2:6: ids.2: expected an id 1..9");
    expect("{\"roles\": {\"in\": \"a\", \"up\": \"b\"}}", XP_CONFTAB_E_UNKNOWN_KEY,
           "d.json:1:23: roles.up: unknown role (in, out)");
    expect("{\"roles\": {\"in\": \"a\",\n \"out\": 2}}", XP_CONFTAB_E_TYPE,
           "d.json:2:2: roles.out: expected a name");
    expect("{\"roles\": [\"in\"]}", XP_CONFTAB_E_TYPE,
           "d.json:1:2: roles: expected an object {\"in\": NAME, \"out\": NAME}");
    /* a key named in a string value earlier does not mislead the locator */
    expect("{\"name\": \"depth\", \"inner\": {\"depth\": 0}}", XP_CONFTAB_E_RANGE,
           "d.json:1:29: inner.depth: 0 is out of range 1..5");
    /* unknown keys, at the top and nested */
    expect("{\"count\": 2,\n  \"cuont\": 3}", XP_CONFTAB_E_UNKNOWN_KEY,
           "d.json:2:3: cuont: unknown key");
    expect("{\"inner\": {\"dept\": 3}}", XP_CONFTAB_E_UNKNOWN_KEY,
           "d.json:1:12: inner.dept: unknown key");
    /* syntax, from jansson */
    expect("{\"count\": 2,}", XP_CONFTAB_E_SYNTAX,
           "d.json:1:13: string or '}' expected near '}'");
    expect("{\"count\": 2, \"count\": 3}", XP_CONFTAB_E_SYNTAX,
           "d.json:1:20: duplicate object key near '\"count\"'");
}

/* Errors raised after the parse, at a path given as text. */
static void test_error_at(void)
{
    const char *text = "{\"count\": 2,\n \"inner\": {\"depth\": 3},\n \"ids\": [1, 2]}";
    struct xp_conftab ct;
    char msg[256];

    xp_conftab__init(&ct, "d.json", text, msg, sizeof(msg));
    CHECK_EQ(xp_conftab__error_at(&ct, XP_CONFTAB_E_RANGE, "inner.depth", "too deep for %d", 2),
             XP_CONFTAB_E_RANGE);
    CHECK_STR(msg, "d.json:2:12: inner.depth: too deep for 2");
    xp_conftab__error_at(&ct, XP_CONFTAB_E_RANGE, "ids.1", "bad");
    CHECK_STR(msg, "d.json:3:13: ids.1: bad");
    xp_conftab__error_at(&ct, XP_CONFTAB_E_MISSING, "", "missing required key \"roles\"");
    CHECK_STR(msg, "d.json:1:1: (top): missing required key \"roles\"");
    /* a key not in the file: where the search stopped (the end of its object) */
    xp_conftab__error_at(&ct, XP_CONFTAB_E_MISSING, "inner.deep", "absent");
    CHECK_STR(msg, "d.json:2:22: inner.deep: absent");
}

static void test_nesting(void)
{
    static const struct xp_conftab_key leaf[] = {
        { .name = "x", .type = XP_CT_BOOL, XP_CT_FIELD(struct demo, fast), .doc = "x" },
    };
    char text[512] = "", msg[256];
    struct xp_conftab ct;
    struct demo d;
    int ret;

    /* a callback that enters itself: the path stack has a bound */
    for (int i = 0; i < XP_CONFTAB_DEPTH + 2; i++)
        strcat(text, "{\"a\": ");
    strcat(text, "1");
    for (int i = 0; i < XP_CONFTAB_DEPTH + 2; i++)
        strcat(text, "}");
    xp_conftab__init(&ct, "d.json", text, msg, sizeof(msg));
    for (int i = 0; i < XP_CONFTAB_DEPTH; i++) {
        ret = xp_conftab__push(&ct, "a");
        if (ret)
            break;
    }
    CHECK_EQ(ret, XP_CONFTAB_E_TYPE);
    CHECK(strstr(msg, "nested too deeply") != NULL);
    CHECK_EQ(ct.depth, XP_CONFTAB_DEPTH - 1);
    xp_conftab__init(&ct, "d.json", "{\"x\": true}", msg, sizeof(msg));
    CHECK_EQ(xp_conftab__load(&ct, leaf, 1, &d, NULL), 0);
    CHECK(d.fast);
}

static void test_root(void)
{
    struct xp_conftab ct;
    char msg[256];
    struct demo d;
    json_t *root = NULL;

    memset(&d, 0, sizeof(d));
    xp_conftab__defaults(demo_keys, N_DEMO, &d);
    xp_conftab__init(&ct, "d.json", "{\"inner\": {}}", msg, sizeof(msg));
    CHECK_EQ(xp_conftab__load(&ct, demo_keys, N_DEMO, &d, &root), 0);
    CHECK(root != NULL && json_object_get(root, "inner") != NULL);
    json_decref(root);
}

static void test_reload(void)
{
    char msg[256] = "";
    struct demo a, b;

    CHECK_EQ(load("{\"ids\": [1, 2], \"roles\": {\"in\": \"a\"}}", &a, msg, sizeof(msg)), 0);
    /* reloadable keys may change */
    CHECK_EQ(load("{\"ids\": [1, 2], \"roles\": {\"in\": \"a\"}, \"period_ms\": 7, "
                  "\"path\": \"/p\", \"inner\": {\"depth\": 1}}", &b, msg, sizeof(msg)), 0);
    CHECK_EQ(xp_conftab__reload_check(demo_keys, N_DEMO, &a, &b, msg, sizeof(msg)), 0);
    /* the others may not: typed, nested, arrays and callbacks */
    CHECK_EQ(load("{\"ids\": [1, 2], \"roles\": {\"in\": \"a\"}, \"port\": 1}", &b, msg,
                  sizeof(msg)), 0);
    CHECK_EQ(xp_conftab__reload_check(demo_keys, N_DEMO, &a, &b, msg, sizeof(msg)),
             XP_CONFTAB_E_UNSUPPORTED);
    CHECK_STR(msg, "port cannot change without a restart");
    CHECK_EQ(load("{\"ids\": [1, 2], \"roles\": {\"in\": \"a\"}, \"inner\": {\"deep\": false}}",
                  &b, msg, sizeof(msg)), 0);
    CHECK_EQ(xp_conftab__reload_check(demo_keys, N_DEMO, &a, &b, msg, sizeof(msg)),
             XP_CONFTAB_E_UNSUPPORTED);
    CHECK_STR(msg, "inner.deep cannot change without a restart");
    CHECK_EQ(load("{\"ids\": [1, 3], \"roles\": {\"in\": \"a\"}}", &b, msg, sizeof(msg)), 0);
    CHECK_EQ(xp_conftab__reload_check(demo_keys, N_DEMO, &a, &b, msg, sizeof(msg)),
             XP_CONFTAB_E_UNSUPPORTED);
    CHECK_STR(msg, "ids cannot change without a restart");
    CHECK_EQ(load("{\"ids\": [1], \"roles\": {\"in\": \"a\"}}", &b, msg, sizeof(msg)), 0);
    CHECK_EQ(xp_conftab__reload_check(demo_keys, N_DEMO, &a, &b, msg, sizeof(msg)),
             XP_CONFTAB_E_UNSUPPORTED);
    CHECK_EQ(load("{\"ids\": [1, 2], \"roles\": {\"in\": \"b\"}}", &b, msg, sizeof(msg)), 0);
    CHECK_EQ(xp_conftab__reload_check(demo_keys, N_DEMO, &a, &b, msg, sizeof(msg)),
             XP_CONFTAB_E_UNSUPPORTED);
    CHECK_STR(msg, "roles cannot change without a restart");
}

static void test_print(void)
{
    char *doc = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&doc, &len);

    CHECK(f != NULL);
    if (!f)
        return;
    xp_conftab__print(f, demo_keys, N_DEMO);
    fclose(f);
    CHECK_STR(doc,
              "| key | type | default | range | reload | meaning |\n"
              "| --- | --- | --- | --- | --- | --- |\n"
              "| `name` | string | \"demo\" |  | no | A name. |\n"
              "| `path` | string (path) | none |  | yes | A path. |\n"
              "| `count` | integer | 4 | 1..64 | no | A count. |\n"
              "| `port` | integer | 7420 | 0..65535 | no | A port. |\n"
              "| `period_ms` | integer (ms) | 1500 | 0..3600000 | yes | Stored in ns. |\n"
              "| `fast` | boolean | false |  | no | Fast. |\n"
              "| `colour` | red, green, blue | \"green\" |  | no | A colour. |\n"
              "| `inner` | object | {} |  | yes | The keys below. |\n"
              "| `inner.depth` | integer | 2 | 1..5 | yes | How deep. |\n"
              "| `inner.deep` | boolean | true |  | no | Whether deep. |\n"
              "| `ids` | array of integers | [] |  | no | Some ids. |\n"
              "| `roles` | object | required |  | no | Who is who. |\n");
    free(doc);
}

/* A row that contradicts itself is refused at load, before any file is read. */
static void test_bad_table(void)
{
    static const struct xp_conftab_key out_of_range[] = {
        { .name = "count", .type = XP_CT_UINT, XP_CT_FIELD(struct demo, count), .min = 1,
          .max = 64, .def = 0, .doc = "A count." },
    };
    static const struct xp_conftab_key twice[] = {
        { .name = "name", .type = XP_CT_STRING, XP_CT_FIELD(struct demo, name),
          .def_str = "x", .unset_doc = "\"x\"", .doc = "A name." },
    };
    static const struct xp_conftab_key wide_bool[] = {
        { .name = "count", .type = XP_CT_BOOL, XP_CT_FIELD(struct demo, count), .doc = "No." },
    };
    static const struct xp_conftab_key nested_bad[] = {
        { .name = "inner", .type = XP_CT_SECTION, XP_CT_SECTION_OF(out_of_range), .doc = "In." },
    };
    struct xp_conftab ct;
    char msg[256];
    struct demo d;

    xp_conftab__init(&ct, "d.json", "{}", msg, sizeof(msg));
    CHECK_EQ(xp_conftab__load(&ct, out_of_range, 1, &d, NULL), XP_CONFTAB_E_UNSUPPORTED);
    CHECK(strstr(msg, "internal: key table row \"count\"") != NULL);
    CHECK_EQ(xp_conftab__load(&ct, twice, 1, &d, NULL), XP_CONFTAB_E_UNSUPPORTED);
    CHECK_EQ(xp_conftab__load(&ct, wide_bool, 1, &d, NULL), XP_CONFTAB_E_UNSUPPORTED);
    CHECK_EQ(xp_conftab__load(&ct, nested_bad, 1, &d, NULL), XP_CONFTAB_E_UNSUPPORTED);
    CHECK(strstr(msg, "\"count\"") != NULL);
}

static void test_read_file(void)
{
    char dir[] = "/tmp/xp-conftab-XXXXXX", path[128], msg[256], *text = NULL;
    FILE *f;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/c.json", dir);
    errno = 0;
    CHECK_EQ(xp_conftab__read_file(path, &text, msg, sizeof(msg)), XP_CONFTAB_E_IO);
    CHECK_EQ(errno, ENOENT);
    CHECK(text == NULL && strstr(msg, "No such file") != NULL);
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    for (int i = 0; i < 3000; i++)
        fputs("{\"count\": 2}\n", f); /* larger than one read */
    fclose(f);
    CHECK_EQ(xp_conftab__read_file(path, &text, msg, sizeof(msg)), 0);
    CHECK(text != NULL && strlen(text) == 3000 * 13);
    free(text);
    f = fopen(path, "w");
    fwrite("{\"a\"\0: 1}", 1, 9, f);
    fclose(f);
    CHECK_EQ(xp_conftab__read_file(path, &text, msg, sizeof(msg)), XP_CONFTAB_E_SYNTAX);
    CHECK(strstr(msg, "contains a NUL byte") != NULL);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    test_defaults();
    test_values();
    test_errors();
    test_error_at();
    test_nesting();
    test_root();
    test_reload();
    test_print();
    test_bad_table();
    test_read_file();
    return xp_check_report("test_conftab");
}
