/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xpro-central's configuration file (conf/central.json; the keys are in
 * docs/protocol.md "Limits and timeouts" and `xpro-central --config-keys`).
 *
 * The file fills struct xp_central_config, which is the sync server's own
 * input (src/sync/sync_internal.h): the server takes a struct and knows
 * nothing of files, and this module knows the file, so the dependency points
 * from central/ down to sync/. Strict like the proxy's configuration and on
 * the same engine (src/util/conftab.h): unknown keys, wrong types and
 * out-of-range values are errors located as FILE:LINE:COL: key.path, never
 * replaced by defaults. Called from main() (and tests) only.
 */
#ifndef XP_CENTRAL_CONFIG_H
#define XP_CENTRAL_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "src/sync/sync_internal.h"

/* Defaults for every key (no proxies). */
void xp_central_config__init(struct xp_central_config *cfg);

/*
 * Fill cfg with the defaults, then load a JSON config file strictly. On
 * error returns -EINVAL (bad content, "FILE:LINE:COL: key.path: message" in
 * err) or -errno (cannot read, out of memory); cfg then holds no proxies.
 */
int xp_central_config__load(struct xp_central_config *cfg, const char *path, char *err,
                            size_t err_len);

/* Free the proxies (cfg stays usable, with none). */
void xp_central_config__release(struct xp_central_config *cfg);

/* Add a proxy (tests, and the loader). Returns 0 or -EINVAL, -EEXIST, -ENOMEM. */
int xp_central_config__add_proxy(struct xp_central_config *cfg, const char *id,
                                 const uint8_t *secret, size_t len);

/*
 * Whether next may replace running on SIGHUP: -EINVAL with "key cannot
 * change without a restart" in err when a key not marked reloadable
 * (listen, port, max_line_bytes, max_pairs, max_table_pairs: the socket,
 * what connected sessions were promised, the table's size) differs.
 */
int xp_central_config__reload_check(const struct xp_central_config *running,
                                    const struct xp_central_config *next, char *err,
                                    size_t err_len);

/* Print the key table as Markdown rows (name, type, default, range, reload, doc). */
void xp_central_config__print_keys(FILE *out);

#endif /* XP_CENTRAL_CONFIG_H */
