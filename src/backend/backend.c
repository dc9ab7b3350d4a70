// SPDX-License-Identifier: GPL-2.0-only
/* The one place that knows there are two backends: pick one, then call through its table. */
#include <errno.h>

#include "src/backend/backend_internal.h"
#include "src/util/log.h"
#include "xp_build_config.h"

struct xp_backend *xp_backend__create(const struct xp_backend_conf *conf,
                                      enum xp_backend_fail *why)
{
    *why = XP_BACKEND_FAIL_NONE;
    switch (conf->kind) {
    case XP_BACKEND_KIND_AF_XDP:
        return xp_backend__create_afxdp(conf, why);
    case XP_BACKEND_KIND_DPDK:
#ifdef XP_HAVE_DPDK
        return xp_backend__create_dpdk(conf, why);
#else
        pr_err("this build has no DPDK backend");
        *why = XP_BACKEND_FAIL_CONFIG;
        errno = ENOTSUP;
        return NULL;
#endif
    }
    *why = XP_BACKEND_FAIL_CONFIG;
    errno = EINVAL;
    return NULL;
}

void xp_backend__undo_setup(struct xp_backend *be, bool keep_program)
{
    if (be && be->impl->undo_setup)
        be->impl->undo_setup(be, keep_program);
}

void xp_backend__destroy(struct xp_backend *be)
{
    if (be)
        be->impl->destroy(be);
}

const char *xp_backend__name(const struct xp_backend *be)
{
    return be->impl->name;
}

int xp_backend__open_queue(struct xp_backend *be, unsigned q, int numa_node,
                           struct xp_backend_queue *out)
{
    if (q >= be->conf.n_queues)
        return -EINVAL;
    return be->impl->open_queue(be, q, numa_node, out);
}

void xp_backend__close_queues(struct xp_backend *be)
{
    if (be)
        be->impl->close_queues(be);
}

void xp_backend__stop(struct xp_backend *be)
{
    if (be && be->impl->stop)
        be->impl->stop(be);
}

int xp_backend__numa_node(const struct xp_backend *be)
{
    return be->impl->numa_node(be);
}

int xp_backend__ifindex(const struct xp_backend *be, unsigned port)
{
    return port < XP_MAX_PORTS ? be->impl->ifindex(be, port) : 0;
}

const struct xp_block_ops *xp_backend__blocks(struct xp_backend *be, unsigned q, void **ctx)
{
    *ctx = NULL;
    return be->impl->blocks ? be->impl->blocks(be, q, ctx) : NULL;
}

int xp_backend__manual_block(struct xp_backend *be, const uint8_t unit[16], const uint8_t *dst,
                             uint64_t expires_ns)
{
    return be->impl->manual_block ? be->impl->manual_block(be, unit, dst, expires_ns)
                                  : -EOPNOTSUPP;
}

int xp_backend__manual_unblock(struct xp_backend *be, const uint8_t unit[16],
                               const uint8_t *dst)
{
    return be->impl->manual_unblock ? be->impl->manual_unblock(be, unit, dst) : -EOPNOTSUPP;
}

void xp_backend__queue_stats(const struct xp_backend *be, unsigned port, unsigned q,
                             struct xp_backend_qstats *out)
{
    be->impl->queue_stats(be, port, q, out);
}

json_t *xp_backend__port_json(const struct xp_backend *be, unsigned port)
{
    return be->impl->port_json(be, port);
}

json_t *xp_backend__queue_json(const struct xp_backend *be, unsigned port, unsigned q)
{
    return be->impl->queue_json(be, port, q);
}

json_t *xp_backend__frames_json(const struct xp_backend *be)
{
    return be->impl->frames_json(be);
}
