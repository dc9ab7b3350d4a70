/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * External stores for xpro-central's M_DB (docs/central.md): the Redis
 * Cluster store, on which any number of stateless front-ends serve the same
 * table. The interface they implement (struct xp_store) is the sync server's,
 * in src/sync/sync_internal.h; the embedded table is the server's own.
 *
 * One store per front-end process, used by its loop thread only: calls block
 * that thread for at most the configured timeouts per Redis round trip.
 */
#ifndef XP_STORE_H
#define XP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "src/sync/sync_internal.h"

#define XP_STORE_SEEDS_MAX 16
#define XP_STORE_BUCKETS_MAX 4096

struct xp_store_redis_config {
    /* "host:port" of some cluster nodes (numeric or names); any one answering is enough */
    char seeds[XP_STORE_SEEDS_MAX][128];
    unsigned n_seeds;
    char user[64];       /* ACL user; "" : the default user */
    char password[256];  /* "" : no AUTH */
    unsigned buckets;    /* hash-tag buckets, 1..XP_STORE_BUCKETS_MAX; 0: 64 */
    unsigned timeout_ms; /* connect and per-reply; 0: 1000 */
    unsigned retry_ms;   /* how long one operation keeps retrying a failing cluster; 0: 15000 */
    char prefix[32];     /* key prefix; "" : "xp" */
    /*
     * Replicas that must hold a bucket's commit before its answer goes out
     * (WAIT): 0 answers at once, and a master that dies may take its last
     * replication lag of merges with it; 1 loses none, at one more round trip.
     */
    unsigned wait_replicas;
    unsigned wait_ms; /* WAIT's timeout; 0: 200; fewer replicas by then fail the request */
};

/*
 * Create a Redis Cluster store: connects to a seed, reads the slot map and
 * loads the scripts. Returns NULL with errno (EINVAL: bad config; EHOSTUNREACH:
 * no seed answered; EACCES: authentication refused) and a reason in err.
 */
struct xp_store *xp_store_redis__create(const struct xp_store_redis_config *cfg, char *err,
                                        size_t err_len);

/* Parse "host:port,host:port" into cfg->seeds. 0 or -EINVAL (reason in err). */
int xp_store_redis__parse_seeds(struct xp_store_redis_config *cfg, const char *list, char *err,
                                size_t err_len);

/*
 * The store a configuration asks for (xpro-central's main, tests): *out is
 * NULL for the embedded table ("memory"), else a store to hand to the server
 * in xp_central_config.store and to destroy after it. The password is read
 * from its file here (src/util/secret_file.h). 0 or -errno, reason in err.
 */
int xp_store__open(const struct xp_central_store_conf *sc, struct xp_store **out, char *err,
                   size_t err_len);

/* Destroy a store from xp_store__open (NULL is fine). */
void xp_store__destroy(struct xp_store *s);

#endif /* XP_STORE_H */
