// SPDX-License-Identifier: GPL-2.0-only
#include "src/worker.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "src/util/log.h"

/* Empty loops before sleeping: long enough to ride out gaps between bursts. */
#define XP_WORKER_SPIN 256
/* Upper bound of one sleep, so a stop request is seen quickly. */
#define XP_WORKER_SLEEP_MS 50

#define XP_STAT_ADD(field, n) \
    __atomic_store_n(&(field), (field) + (n), __ATOMIC_RELAXED)

/* Inline mode: everything from one port leaves by the other, unchanged. */
static void forward_burst(struct xp_worker *w, unsigned in_port, struct xp_pkt *pkts, unsigned n)
{
    unsigned out = in_port ^ 1;
    unsigned sent = w->io->tx_burst(w->queue, out, pkts, n);

    if (sent < n) {
        w->io->release(w->queue, pkts + sent, n - sent);
        XP_STAT_ADD(w->st.drop_tx_full[out], n - sent);
    }
}

static void *worker_main(void *arg)
{
    struct xp_worker *w = arg;
    struct xp_pkt pkts[XP_BURST_MAX];
    char name[16];
    unsigned idle = 0;

    snprintf(name, sizeof(name), "xp-q%u", w->id);
    xp_log_set_thread_name(name);
    pthread_setname_np(pthread_self(), name);

    while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
        unsigned work = 0;

        for (unsigned p = 0; p < w->n_ports; p++) {
            unsigned n = w->io->rx_burst(w->queue, p, pkts, XP_BURST_MAX);

            if (n) {
                forward_burst(w, p, pkts, n);
                work += n;
            }
        }
        w->io->service(w->queue);
        XP_STAT_ADD(w->st.loops, 1);
        if (work) {
            idle = 0;
            continue;
        }
        if (++idle < XP_WORKER_SPIN)
            continue;
        idle = 0;
        XP_STAT_ADD(w->st.sleeps, 1);
        w->io->wait(w->queue, XP_WORKER_SLEEP_MS);
    }
    return NULL;
}

int xp_worker__start(struct xp_worker *w)
{
    pthread_attr_t attr;
    int ret;

    atomic_store(&w->stop, false);
    ret = pthread_attr_init(&attr);
    if (ret)
        return -ret;
    if (w->cpu >= 0) {
        cpu_set_t set;

        CPU_ZERO(&set);
        CPU_SET(w->cpu, &set);
        ret = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
        if (ret) {
            pr_err("worker %u: pinning to CPU %d: %s", w->id, w->cpu, strerror(ret));
            goto out;
        }
    }
    ret = pthread_create(&w->thread, &attr, worker_main, w);
    if (ret) {
        pr_err("worker %u: pthread_create: %s", w->id, strerror(ret));
        goto out;
    }
    w->started = true;
out:
    pthread_attr_destroy(&attr);
    return -ret;
}

void xp_worker__stop(struct xp_worker *w)
{
    if (!w->started)
        return;
    atomic_store(&w->stop, true);
    pthread_join(w->thread, NULL);
    w->started = false;
}

void xp_worker__stats(const struct xp_worker *w, struct xp_worker_stats *out)
{
    out->loops = __atomic_load_n(&w->st.loops, __ATOMIC_RELAXED);
    out->sleeps = __atomic_load_n(&w->st.sleeps, __ATOMIC_RELAXED);
    for (int p = 0; p < 2; p++)
        out->drop_tx_full[p] = __atomic_load_n(&w->st.drop_tx_full[p], __ATOMIC_RELAXED);
}
