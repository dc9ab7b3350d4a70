/* SPDX-License-Identifier: GPL-2.0-only */
/* Private to src/backend: the table each implementation fills. Not part of the API. */
#ifndef XP_BACKEND_INTERNAL_H
#define XP_BACKEND_INTERNAL_H

#include "src/backend/backend.h"

struct xp_backend_impl {
    const char *name;
    void (*undo_setup)(struct xp_backend *be, bool keep_program);
    void (*destroy)(struct xp_backend *be);
    int (*open_queue)(struct xp_backend *be, unsigned q, int numa_node,
                      struct xp_backend_queue *out);
    void (*close_queues)(struct xp_backend *be);
    void (*stop)(struct xp_backend *be);
    int (*numa_node)(const struct xp_backend *be);
    int (*ifindex)(const struct xp_backend *be, unsigned port);
    const struct xp_block_ops *(*blocks)(struct xp_backend *be, unsigned q, void **ctx);
    int (*manual_block)(struct xp_backend *be, const uint8_t unit[16], const uint8_t *dst,
                        uint64_t expires_ns); /* NULL: none */
    int (*manual_unblock)(struct xp_backend *be, const uint8_t unit[16], const uint8_t *dst);
    void (*queue_stats)(const struct xp_backend *be, unsigned port, unsigned q,
                        struct xp_backend_qstats *out);
    json_t *(*port_json)(const struct xp_backend *be, unsigned port);
    json_t *(*queue_json)(const struct xp_backend *be, unsigned port, unsigned q);
    json_t *(*frames_json)(const struct xp_backend *be);
};

/* The head of every implementation's object. */
struct xp_backend {
    const struct xp_backend_impl *impl;
    struct xp_backend_conf conf;
};

/* The implementations' constructors (NULL with errno, reason logged). */
struct xp_backend *xp_backend__create_afxdp(const struct xp_backend_conf *conf,
                                            enum xp_backend_fail *why);
struct xp_backend *xp_backend__create_dpdk(const struct xp_backend_conf *conf,
                                           enum xp_backend_fail *why);

#endif /* XP_BACKEND_INTERNAL_H */
