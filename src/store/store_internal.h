/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to src/store/ (and its tests): the Redis Cluster client.
 *
 * Debian 12's hiredis (0.14) has no cluster support, so the routing is done
 * here: the key's hash slot (CRC16/XMODEM of the key or of its {hash tag},
 * mod 16384), the slot map from CLUSTER SLOTS, MOVED (the slot lives
 * elsewhere now: remember it and re-read the map), ASK (one command for a
 * slot being migrated: ASKING then the command, at the target), and
 * reconnects with backoff until the operation's deadline. One thread.
 */
#ifndef XP_STORE_INTERNAL_H
#define XP_STORE_INTERNAL_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define XP_RC_SLOTS 16384

struct xp_rc;

struct xp_rc_stats {
    uint64_t commands;
    uint64_t moved;      /* MOVED answers followed */
    uint64_t ask;        /* ASK answers followed */
    uint64_t reconnects; /* connections (re)opened after the first */
    uint64_t refreshes;  /* slot maps read */
    uint64_t retries;    /* a node down, CLUSTERDOWN, TRYAGAIN...: waited and tried again */
    uint64_t failures;   /* operations given up at their deadline */
    unsigned nodes;      /* masters in the slot map */
};

/* The hash slot of key (with Redis's {tag} rule). */
unsigned xp_rc__slot(const char *key, size_t len);

/* Connect to a seed and read the slot map. NULL with errno and a reason in err. */
struct xp_rc *xp_rc__create(const struct xp_store_redis_config *cfg, char *err, size_t err_len);
void xp_rc__destroy(struct xp_rc *rc);

/*
 * Run one command on the master of slot, following MOVED and ASK and
 * retrying a failing cluster until cfg.retry_ms. Returns the reply (the
 * caller frees it with freeReplyObject; it may be an error reply other than
 * the redirections) or NULL with errno (ETIMEDOUT: gave up; ENOMEM).
 * A command whose reply was lost may have run: commands sent here must be
 * idempotent or checked by the caller (the store's scripts are).
 */
redisReply *xp_rc__command(struct xp_rc *rc, unsigned slot, int argc, const char **argv,
                           const size_t *lens);

/* Re-read the slot map now. 0 or -errno. */
int xp_rc__refresh(struct xp_rc *rc);

/* "host:port" of slot's master as the map says ("" if unknown). */
const char *xp_rc__node_of(const struct xp_rc *rc, unsigned slot);

void xp_rc__stats(const struct xp_rc *rc, struct xp_rc_stats *out);

#endif /* XP_STORE_INTERNAL_H */
