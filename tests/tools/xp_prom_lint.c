// SPDX-License-Identifier: GPL-2.0-only
/*
 * xp_prom_lint: xpro's Prometheus side against its metric table, for the netns tests and
 * the dashboard test (tests/tools/prom_check.h).
 *
 *   xp_prom_lint text FILE      a scrape (HTTP headers allowed) matches the table
 *   xp_prom_lint fields FILE    every numeric field of the stats documents in FILE (one per
 *                               line) is exported or listed as not
 *   xp_prom_lint render FILE    the Prometheus text of FILE's last stats document
 *   xp_prom_lint names          every family name in the table, one per line
 *   xp_prom_lint doc            the table as docs/stats.md's markdown (test_prom_doc.sh)
 *
 * Exit 0 if all is well, 1 with one line per problem on stderr, 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/prom/prom.h"
#include "tests/tools/prom_check.h"

static char *slurp(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    size_t len = 0, cap = 65536, n;
    char *buf = malloc(cap);

    if (!f || !buf) {
        perror(path);
        exit(1);
    }
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf)
                exit(1);
        }
    }
    buf[len] = '\0';
    if (f != stdin)
        fclose(f);
    return buf;
}

/* One row per family: name, type, labels, unit, meaning, the stats fields behind it. */
static void print_doc(void)
{
    printf("| metric | type | labels | unit | meaning | from the stats document |\n");
    printf("| --- | --- | --- | --- | --- | --- |\n");
    for (size_t i = 0; i < xp_prom_n_metrics; i++) {
        const struct xp_prom_metric *m = &xp_prom_metrics[i];
        const char *sep = "";

        printf("| `%s` | %s | ", m->name, m->type == XP_PROM_COUNTER ? "counter" : "gauge");
        for (const char *l = m->labels; *l; l++)
            fputs(*l == ',' ? ", " : (char[]){ *l, '\0' }, stdout);
        printf("%s | %s | %s | ", m->labels[0] ? "" : "-", m->unit[0] ? m->unit : "-", m->help);
        for (const struct xp_prom_source *src = m->src; src->path; src++) {
            printf("%s`%s`", sep, src->path[0] ? src->path : "(document)");
            if (src->info)
                printf(" (%s)", src->info[0] ? src->info : "build");
            else if (src->labels)
                printf(" (%s)", src->labels);
            if (src->scale != 0 && src->scale != 1)
                printf(" × %g", src->scale);
            sep = ", ";
        }
        printf(" |\n");
    }
    printf("\nNumbers of the stats document not exported, on purpose:\n\n");
    printf("| field | why |\n| --- | --- |\n");
    for (size_t i = 0; i < xp_prom_n_unexported; i++)
        printf("| `%s` | %s |\n", xp_prom_unexported[i].path, xp_prom_unexported[i].why);
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    int bad = 0;

    if (strcmp(cmd, "names") == 0 && argc == 2) {
        for (size_t i = 0; i < xp_prom_n_metrics; i++)
            printf("%s\n", xp_prom_metrics[i].name);
        return 0;
    }
    if (strcmp(cmd, "doc") == 0 && argc == 2) {
        print_doc();
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: xp_prom_lint text|fields|render FILE | names | doc\n");
        return 2;
    }
    if (strcmp(cmd, "text") == 0) {
        char *text = slurp(argv[2]), *body = strstr(text, "\r\n\r\n");

        bad = xp_prom_check_text(body ? body + 4 : text, stderr, argv[2]);
        free(text);
    } else if (strcmp(cmd, "fields") == 0 || strcmp(cmd, "render") == 0) {
        char *text = slurp(argv[2]), *save = NULL;
        json_t *last = NULL;
        unsigned docs = 0;

        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
            json_error_t je;
            json_t *doc = json_loads(l, 0, &je);

            if (!json_is_object(doc)) {
                fprintf(stderr, "%s: not a stats document: %s\n", argv[2], je.text);
                json_decref(doc);
                bad++;
                continue;
            }
            docs++;
            if (cmd[0] == 'f')
                bad += xp_prom_check_fields(doc, stderr, argv[2]) ? 1 : 0;
            json_decref(last);
            last = doc;
        }
        if (!docs) {
            fprintf(stderr, "%s: no stats document\n", argv[2]);
            bad++;
        } else if (cmd[0] == 'r') {
            char *out = xp_prom_render(last, NULL);

            if (!out) {
                perror("xp_prom_render");
                bad++;
            } else {
                fputs(out, stdout);
            }
            free(out);
        }
        json_decref(last);
        free(text);
    } else {
        fprintf(stderr, "xp_prom_lint: unknown command %s\n", cmd);
        return 2;
    }
    return bad ? 1 : 0;
}
