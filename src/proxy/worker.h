/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One worker thread per queue index. It owns its I/O queue (every port's
 * socket on that index), its burst arrays and its counters; nothing in its
 * loop takes a lock or writes memory another thread writes.
 *
 * Loop: for each port, rx burst -> pipeline -> tx on the other port; then
 * service the queue (kick TX, reap completions, refill); when nothing moved
 * for a while, sleep in the backend's wait() so that a worker sharing a core
 * with the receive softirq does not starve it.
 */
#ifndef XP_WORKER_H
#define XP_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "src/backend/backend.h"
#include "src/util/mailbox.h"

struct xp_pipeline;
struct xp_capture_tap;

struct xp_worker_stats {
    uint64_t loops;
    uint64_t sleeps;          /* times the worker blocked in wait() */
    uint64_t spin_yields;     /* spins cut short: another thread wanted the core */
    uint64_t work_ns;         /* time in turns that moved frames */
    uint64_t spin_ns;         /* time in empty turns (polling, within the spin budget) */
    uint64_t sleep_ns;        /* time blocked in wait() */
    uint64_t drop_tx_full[2]; /* frames for port p that its TX ring refused */
    uint64_t drop_policy[2];  /* frames received on port p that the worker dropped */
};

struct xp_worker {
    unsigned id;
    int cpu;                  /* -1: not pinned to a CPU */
    int numa_node;            /* -1: unknown; else run on this node when cpu is -1 */
    _Atomic uint64_t spin_ns; /* idle policy: keep polling this long after the last frame */
    unsigned n_ports;
    const struct xp_io_ops *io;
    void *queue;
    /*
     * Optional: run on the worker's own thread before its first burst and
     * after its last (DPDK registers the thread as an lcore there, so the
     * mempool caches work). thread_enter fails with -errno: the worker exits.
     */
    int (*thread_enter)(void *queue);
    void (*thread_leave)(void *queue);
    struct xp_pipeline *pipeline; /* NULL: forward everything (no policing) */
    unsigned police_port;         /* frames from this port go through the pipeline */
    struct xp_gw_queue *gw;       /* gateway mode: access frames are tunnel datagrams */
    /* A capture runs (xpro-ctl capture): policed bursts are offered to it. Set by mailbox. */
    struct xp_capture_tap *tap;
    pthread_t thread;
    bool started;
    atomic_bool stop;
    /* Other threads run a function on this worker (reload, sync, ctl); open while it runs. */
    struct xp_mailbox mb;
    struct xp_worker_stats st __attribute__((aligned(64)));
};

/* Start the thread. 0 or -errno. */
int xp_worker__start(struct xp_worker *w);
/* Ask the thread to stop and join it. Idempotent. */
void xp_worker__stop(struct xp_worker *w);
void xp_worker__stats(const struct xp_worker *w, struct xp_worker_stats *out);

/*
 * Run fn(w, arg) on the worker's own thread, between two bursts, and wait
 * for it: the way to touch anything the worker owns (its policer, its
 * pipeline's config). Runs fn directly when the thread is not running.
 * The worker looks at its mailbox once per loop and sleeps at most
 * XP_WORKER_SLEEP_MS, which bounds the wait. Not from the worker itself.
 */
void xp_worker__call(struct xp_worker *w, void (*fn)(struct xp_worker *w, void *arg), void *arg);

/* Prepare the mailbox; call once before start (and before any call). */
void xp_worker__init(struct xp_worker *w);

#endif /* XP_WORKER_H */
