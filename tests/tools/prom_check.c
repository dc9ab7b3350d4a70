// SPDX-License-Identifier: GPL-2.0-only
/*
 * Checks of the Prometheus side against the metric table (prom_check.h). The exposition
 * parser here is written apart from src/prom/render.c on purpose: it reads the text as a
 * scraper would, so it can disagree with the renderer.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "src/prom/prom.h"
#include "tests/tools/prom_check.h"

static bool name_ok(const char *s, bool colon)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++) {
        bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                     (colon && *p == ':');

        if (!alpha && !(p > s && *p >= '0' && *p <= '9'))
            return false;
    }
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const struct xp_prom_metric *row(const char *name)
{
    for (size_t i = 0; i < xp_prom_n_metrics; i++) {
        if (strcmp(xp_prom_metrics[i].name, name) == 0)
            return &xp_prom_metrics[i];
    }
    return NULL;
}

/* Units Prometheus wants spelled in base units, and rates it wants computed by rate(). */
static const char *const bad_suffixes[] = {
    "_ms", "_us", "_ns", "_msec", "_usec", "_nsec", "_millis", "_minutes", "_hours",
    "_kb", "_mb", "_gb", "_kib", "_mib", "_bits", "_bps", "_kbps", "_mbps", "_gbps",
    "_pps", "_permille", "_percent", "_rate", "_s",
};

int xp_prom_check_table(FILE *err)
{
    int bad = 0;

    for (size_t i = 0; i < xp_prom_n_metrics; i++) {
        const struct xp_prom_metric *m = &xp_prom_metrics[i];
        char base[256], labels[256], *save = NULL;
        bool total = ends_with(m->name, "_total");

        if (!name_ok(m->name, false) || strncmp(m->name, "xpro_", 5) != 0) {
            fprintf(err, "table: bad name \"%s\"\n", m->name);
            bad++;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(xp_prom_metrics[j].name, m->name) == 0) {
                fprintf(err, "table: %s twice\n", m->name);
                bad++;
            }
        }
        if (m->type != XP_PROM_COUNTER && m->type != XP_PROM_GAUGE) {
            fprintf(err, "table: %s: no type\n", m->name);
            bad++;
        }
        if ((m->type == XP_PROM_COUNTER) != total) {
            fprintf(err, "table: %s: a %s %s in _total\n", m->name,
                    total ? "gauge" : "counter", total ? "ends" : "does not end");
            bad++;
        }
        snprintf(base, sizeof(base), "%.*s", (int)(strlen(m->name) - (total ? 6 : 0)),
                 m->name);
        if (m->unit[0]) {
            char suffix[64];

            snprintf(suffix, sizeof(suffix), "_%s", m->unit);
            if (!ends_with(base, suffix)) {
                fprintf(err, "table: %s: unit %s is not its suffix\n", m->name, m->unit);
                bad++;
            }
        }
        for (size_t s = 0; s < sizeof(bad_suffixes) / sizeof(bad_suffixes[0]); s++) {
            if (ends_with(base, bad_suffixes[s])) {
                fprintf(err, "table: %s: not a base unit (%s)\n", m->name, bad_suffixes[s]);
                bad++;
            }
        }
        if (!m->help || !m->help[0] || strchr(m->help, '\n')) {
            fprintf(err, "table: %s: help must be one non-empty line\n", m->name);
            bad++;
        }
        snprintf(labels, sizeof(labels), "%s", m->labels);
        for (char *l = strtok_r(labels, ",", &save); l; l = strtok_r(NULL, ",", &save)) {
            if (!name_ok(l, false) || strncmp(l, "__", 2) == 0) {
                fprintf(err, "table: %s: bad label name \"%s\"\n", m->name, l);
                bad++;
            }
        }
        if (ends_with(m->name, "_info") && m->type != XP_PROM_GAUGE) {
            fprintf(err, "table: %s: an _info family is a gauge\n", m->name);
            bad++;
        }
        if (!m->src || !m->src[0].path) {
            fprintf(err, "table: %s: fed by nothing\n", m->name);
            bad++;
        }
        for (const struct xp_prom_source *src = m->src; src && src->path; src++) {
            double scale = src->scale != 0 ? src->scale : 1, want = 1;

            /* A field in a non-base unit needs the scale that converts it. */
            if (ends_with(src->path, "_ns"))
                want = 1e-9;
            else if (ends_with(src->path, "_ms") || ends_with(src->path, "_permille"))
                want = 1e-3;
            else if (ends_with(src->path, "_mbps"))
                want = 1e6 / 8;
            if (scale != want) {
                fprintf(err, "table: %s: %s needs scale %g, has %g\n", m->name, src->path,
                        want, scale);
                bad++;
            }
            if ((strstr(src->path, "*") || src->states) && !src->key_label) {
                fprintf(err, "table: %s: %s needs key_label\n", m->name, src->path);
                bad++;
            }
        }
    }
    return bad;
}

/* Parse name{labels} value; label names go to names ("a,b"), the raw series to series. */
static int parse_sample(const char *line, char *name, size_t nlen, char *names, size_t lnlen,
                        char *series, size_t slen, double *value)
{
    const char *p = line, *end;
    size_t n = 0, ln = 0;

    while (*p && *p != '{' && *p != ' ' && n + 1 < nlen)
        name[n++] = *p++;
    name[n] = '\0';
    names[0] = '\0';
    if (*p == '{') {
        p++;
        while (*p != '}') {
            const char *ns = p;

            while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                   (*p >= '0' && *p <= '9'))
                p++;
            if (p == ns || p[0] != '=' || p[1] != '"')
                return -1;
            ln += (size_t)snprintf(names + ln, lnlen > ln ? lnlen - ln : 0, "%s%.*s",
                                   ln ? "," : "", (int)(p - ns), ns);
            for (p += 2; *p != '"'; p++) {
                if (!*p)
                    return -1;
                if (*p == '\\') {
                    p++;
                    if (*p != '\\' && *p != '"' && *p != 'n')
                        return -1;
                }
            }
            p++;
            if (*p == ',')
                p++;
            else if (*p != '}')
                return -1;
        }
        p++;
    }
    snprintf(series, slen, "%.*s", (int)(p - line), line);
    if (*p != ' ')
        return -1;
    *value = strtod(p + 1, (char **)&end);
    if (end == p + 1 || (*end && *end != '\n'))
        return -1;
    return 0;
}

int xp_prom_check_text(const char *text, FILE *err, const char *what)
{
    const struct xp_prom_metric *cur = NULL;
    char **series = NULL, **typed = NULL;
    size_t n_series = 0, n_typed = 0;
    char help_for[256] = "";
    int bad = 0;

    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char buf[2048];

        snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
        line = nl ? nl + 1 : NULL;
        if (strncmp(buf, "# HELP ", 7) == 0) {
            char *sp = strchr(buf + 7, ' ');

            if (!sp || !sp[1]) {
                fprintf(err, "%s: empty HELP: %s\n", what, buf);
                bad++;
                continue;
            }
            snprintf(help_for, sizeof(help_for), "%.*s", (int)(sp - (buf + 7)), buf + 7);
        } else if (strncmp(buf, "# TYPE ", 7) == 0) {
            char *sp = strchr(buf + 7, ' ');
            const char *want;

            if (!sp) {
                fprintf(err, "%s: bad TYPE line: %s\n", what, buf);
                bad++;
                continue;
            }
            *sp = '\0';
            cur = row(buf + 7);
            if (!cur) {
                fprintf(err, "%s: family %s is not in the metric table\n", what, buf + 7);
                bad++;
                continue;
            }
            want = cur->type == XP_PROM_COUNTER ? "counter" : "gauge";
            if (strcmp(sp + 1, want) != 0) {
                fprintf(err, "%s: %s is a %s, the table says %s\n", what, cur->name, sp + 1,
                        want);
                bad++;
            }
            if (strcmp(help_for, cur->name) != 0) {
                fprintf(err, "%s: %s has no HELP before its TYPE\n", what, cur->name);
                bad++;
            }
            for (size_t i = 0; i < n_typed; i++) {
                if (strcmp(typed[i], cur->name) == 0) {
                    fprintf(err, "%s: %s typed twice (samples not grouped)\n", what,
                            cur->name);
                    bad++;
                }
            }
            typed = realloc(typed, (n_typed + 1) * sizeof(*typed));
            typed[n_typed++] = strdup(cur->name);
        } else if (buf[0] == '#' || buf[0] == '\0') {
            fprintf(err, "%s: unexpected line \"%s\"\n", what, buf);
            bad++;
        } else {
            char name[256], names[512], s[2048];
            double v;

            if (parse_sample(buf, name, sizeof(name), names, sizeof(names), s, sizeof(s),
                             &v) < 0) {
                fprintf(err, "%s: unparsable sample: %s\n", what, buf);
                bad++;
                continue;
            }
            if (!cur || strcmp(name, cur->name) != 0) {
                fprintf(err, "%s: sample %s outside its family\n", what, name);
                bad++;
                continue;
            }
            if (strcmp(names, cur->labels) != 0) {
                fprintf(err, "%s: %s has labels (%s), the table says (%s)\n", what, s, names,
                        cur->labels);
                bad++;
            }
            if (ends_with(name, "_info") && v != 1) {
                fprintf(err, "%s: %s is %g, an _info sample is 1\n", what, s, v);
                bad++;
            }
            if (cur->type == XP_PROM_COUNTER && !(v >= 0)) {
                fprintf(err, "%s: counter %s is %g\n", what, s, v);
                bad++;
            }
            for (size_t i = 0; i < n_series; i++) {
                if (strcmp(series[i], s) == 0) {
                    fprintf(err, "%s: series %s twice\n", what, s);
                    bad++;
                }
            }
            series = realloc(series, (n_series + 1) * sizeof(*series));
            series[n_series++] = strdup(s);
        }
    }
    if (!row("xpro_build_info") || !strstr(text, "\nxpro_build_info{version=\"")) {
        fprintf(err, "%s: no xpro_build_info\n", what);
        bad++;
    }
    for (size_t i = 0; i < n_series; i++)
        free(series[i]);
    for (size_t i = 0; i < n_typed; i++)
        free(typed[i]);
    free(series);
    free(typed);
    return bad;
}

static int walk_fields(const json_t *v, const char *path, FILE *err, const char *what)
{
    int bad = 0;

    if (json_is_object(v)) {
        const char *key;
        json_t *m;

        json_object_foreach((json_t *)v, key, m) {
            char p[512];

            snprintf(p, sizeof(p), "%s%s%s", path, path[0] ? "." : "", key);
            bad += walk_fields(m, p, err, what);
        }
    } else if (json_is_array(v)) {
        char p[512];
        size_t i;
        json_t *el;

        snprintf(p, sizeof(p), "%s[]", path);
        json_array_foreach((json_t *)v, i, el) {
            /* The same path in every element: report it once. */
            bad += walk_fields(el, p, i == 0 ? err : NULL, what);
        }
    } else if (json_is_number(v) || json_is_boolean(v)) {
        if (xp_prom_field(path) == XP_PROM_FIELD_UNKNOWN) {
            if (err)
                fprintf(err, "%s: field %s is neither exported nor listed as not exported "
                             "(src/prom/metrics.c)\n", what, path);
            bad++;
        }
    }
    return bad;
}

int xp_prom_check_fields(const json_t *doc, FILE *err, const char *what)
{
    return walk_fields(doc, "", err, what);
}

double xp_prom_sample(const char *text, const char *name, const char *labels)
{
    char pat[1024];
    const char *p;

    snprintf(pat, sizeof(pat), "\n%s%s%s%s ", name, labels[0] ? "{" : "", labels,
             labels[0] ? "}" : "");
    p = strstr(text, pat);
    if (!p && strncmp(text, pat + 1, strlen(pat + 1)) == 0)
        p = text - 1;
    return p ? strtod(p + strlen(pat), NULL) : NAN;
}
