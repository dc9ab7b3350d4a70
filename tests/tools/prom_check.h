/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Checks of xpro's Prometheus side against its metric table (src/prom/prom.h), shared by
 * tests/unit/test_prom.c (on stored real documents) and tests/tools/xp_prom_lint (on live
 * scrapes in the netns tests). Each function prints one line per problem to err, prefixed
 * with what, and returns the number of problems. Test code: not hot, not thread-safe.
 */
#ifndef XP_PROM_CHECK_H
#define XP_PROM_CHECK_H

#include <jansson.h>
#include <stdio.h>

/*
 * The table itself: names unique and well formed; counters and only counters end in
 * _total; the unit is the name's last word; no non-base unit or rate in a name; label
 * names valid; every source path parses.
 */
int xp_prom_check_table(FILE *err);

/*
 * Exposition text against the table: every family is a table row, with its TYPE and a
 * HELP, once, before its samples; every sample's labels are the row's, in order; no
 * series twice; values are numbers; _info families are 1.
 */
int xp_prom_check_text(const char *text, FILE *err, const char *what);

/* Every numeric or boolean leaf of a stats document is exported or listed as not. */
int xp_prom_check_fields(const json_t *doc, FILE *err, const char *what);

/* The value of the sample name{labels} ("" for none) in text, or NAN if absent. */
double xp_prom_sample(const char *text, const char *name, const char *labels);

#endif /* XP_PROM_CHECK_H */
