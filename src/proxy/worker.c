// SPDX-License-Identifier: GPL-2.0-only
#include "src/proxy/worker.h"

#include <errno.h>
#include <numa.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "src/capture/capture.h"
#include "src/gateway/gateway.h"
#include "src/pipeline/pipeline.h"
#include "src/util/clock.h"
#include "src/util/counters.h"
#include "src/util/log.h"

/* Upper bound of one sleep, so a stop request is seen quickly. */
#define XP_WORKER_SLEEP_MS 50
/*
 * The bound while other workers hand us packets of pairs we own: their
 * counts (and so the blocks they lead to) wait at most this long.
 */
#define XP_WORKER_HANDOFF_SLEEP_MS 1

/*
 * A sched_yield() that returns later than this let another thread run on the
 * worker's core (see the loop for what the worker makes of it).
 */
#define XP_WORKER_SHARED_CORE_NS 20000ULL
/* Two such yields followed by frames within this window: the core is shared (see the loop) ... */
#define XP_WORKER_SHARED_WINDOW_NS 10000000ULL
/* ... and the worker sleeps as soon as its rings are empty for this long, then spins again. */
#define XP_WORKER_NO_SPIN_NS 50000000ULL

/* Period of the pipeline's housekeeping (XDP block accounting). */
#define XP_WORKER_TICK_NS 100000000ULL

/* Send a burst out of port; what the TX ring has no room for is given back and counted. */
static void transmit(struct xp_worker *w, unsigned port, struct xp_pkt *pkts, unsigned n)
{
    unsigned sent = w->io->tx_burst(w->queue, port, pkts, n);

    if (sent < n) {
        w->io->release(w->queue, pkts + sent, n - sent);
        XP_STAT_ADD(w->st.drop_tx_full[port], n - sent);
    }
}

/* Inline mode: everything from one port leaves by the other, unchanged. */
static void forward_burst(struct xp_worker *w, unsigned in_port, struct xp_pkt *pkts, unsigned n)
{
    transmit(w, in_port ^ 1, pkts, n);
}

/* Police a burst from the access port, then forward what survived. */
static void police_burst(struct xp_worker *w, unsigned in_port, struct xp_pkt *pkts, unsigned n)
{
    struct xp_pkt drops[XP_BURST_MAX];
    uint8_t drop[XP_BURST_MAX];
    unsigned keep = 0, nd = 0;
    uint64_t now_rt, now_mono;

    if (in_port != w->police_port) {
        forward_burst(w, in_port, pkts, n);
        return;
    }
    now_rt = xp_real_ns();
    now_mono = xp_mono_ns();
    xp_pipeline__police(w->pipeline, pkts, n, drop, now_rt, now_mono);
    /* after the verdicts, before the frames move on: one test per burst when no capture runs */
    if (w->tap)
        xp_capture_tap__offer(w->tap, pkts, n, drop, in_port, now_rt, now_mono);
    for (unsigned i = 0; i < n; i++) {
        if (drop[i])
            drops[nd++] = pkts[i];
        else
            pkts[keep++] = pkts[i];
    }
    if (nd) {
        w->io->release(w->queue, drops, nd);
        XP_STAT_ADD(w->st.drop_policy[in_port], nd);
    }
    if (keep)
        forward_burst(w, in_port, pkts, keep);
}

/*
 * Gateway mode: tunnel datagrams from the access port become inner packets
 * for the core port or keepalive answers for the access port. The XDP
 * program hands the core port's traffic to the kernel, so nothing should
 * arrive there; what does is given back.
 */
static void gateway_burst(struct xp_worker *w, unsigned in_port, struct xp_pkt *pkts, unsigned n)
{
    struct xp_pkt out[2][XP_BURST_MAX], drops[XP_BURST_MAX];
    uint8_t fate[XP_BURST_MAX];
    unsigned nout[2] = { 0, 0 }, nd = 0;

    if (in_port != w->police_port) {
        w->io->release(w->queue, pkts, n);
        XP_STAT_ADD(w->st.drop_policy[in_port], n);
        return;
    }
    xp_gw_queue__process(w->gw, pkts, n, fate, xp_real_ns(), xp_mono_ns());
    for (unsigned i = 0; i < n; i++) {
        if (fate[i] == XP_GW_FATE_CORE)
            out[XP_PORT_CORE][nout[XP_PORT_CORE]++] = pkts[i];
        else if (fate[i] == XP_GW_FATE_ACCESS)
            out[XP_PORT_ACCESS][nout[XP_PORT_ACCESS]++] = pkts[i];
        else
            drops[nd++] = pkts[i];
    }
    if (nd) {
        w->io->release(w->queue, drops, nd);
        XP_STAT_ADD(w->st.drop_policy[in_port], nd);
    }
    for (unsigned p = 0; p < 2; p++)
        if (nout[p])
            transmit(w, p, out[p], nout[p]);
}

static void *worker_main(void *arg)
{
    struct xp_worker *w = arg;
    struct xp_pkt pkts[XP_BURST_MAX];
    char name[16];
    void (*process)(struct xp_worker *, unsigned, struct xp_pkt *, unsigned);
    uint64_t next_tick = 0, t_mark, last_work, no_spin_until = 0;
    uint64_t fed_window = 0;
    bool yielded_long = false;

    /* Chosen once: the loop itself has no mode test. */
    process = w->gw ? gateway_burst : w->pipeline ? police_burst : forward_burst;
    /* Without an explicit CPU, stay on the NIC's node, next to the UMEM. */
    if (w->cpu < 0 && w->numa_node >= 0 && numa_available() >= 0 &&
        numa_run_on_node(w->numa_node))
        pr_warn("worker %u: cannot run on NUMA node %d: %s", w->id, w->numa_node,
                strerror(errno));
    snprintf(name, sizeof(name), "xp-q%u", w->id);
    xp_log_set_thread_name(name);
    pthread_setname_np(pthread_self(), name);
    if (w->thread_enter) {
        int ret = w->thread_enter(w->queue);

        if (ret) {
            pr_err("worker %u: backend thread setup: %s", w->id, strerror(-ret));
            atomic_store(&w->stop, true);
        }
    }

    /*
     * Idle policy: after the last frame the worker keeps polling for
     * spin_ns (a time budget, not a count of turns: a turn's cost varies
     * with the backend and the ports), then sleeps in wait(). A sleeping
     * worker pays a thread wake-up on the next frame, tens to hundreds of
     * microseconds on a VM: that is what a request/response exchange feels
     * (bench/README.md, "Idle policy"). Time is accounted per turn: working
     * (a turn that moved frames), spinning (an empty turn), asleep.
     */
    t_mark = last_work = xp_mono_ns();
    while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
        unsigned work = 0;
        uint64_t now;

        for (unsigned p = 0; p < w->n_ports; p++) {
            unsigned n = w->io->rx_burst(w->queue, p, pkts, XP_BURST_MAX);

            if (n) {
                process(w, p, pkts, n);
                work += n;
            }
        }
        w->io->service(w->queue);
        if (xp_mailbox__pending(&w->mb))
            xp_mailbox__serve(&w->mb);
        now = xp_mono_ns();
        if (w->pipeline) {
            xp_pipeline__sweep(w->pipeline, now);
            if (now >= next_tick) {
                xp_pipeline__tick(w->pipeline, xp_real_ns(), now);
                next_tick = now + XP_WORKER_TICK_NS;
            }
        }
        XP_STAT_ADD(w->st.loops, 1);
        if (work) {
            XP_STAT_ADD(w->st.work_ns, now - t_mark);
            t_mark = last_work = now;
            /* frames right after another thread ran here: it feeds us (see below) */
            if (yielded_long && now - fed_window < XP_WORKER_SHARED_WINDOW_NS) {
                no_spin_until = now + XP_WORKER_NO_SPIN_NS;
                XP_STAT_ADD(w->st.spin_yields, 1);
            } else if (yielded_long) {
                fed_window = now;
            }
            yielded_long = false;
            continue;
        }
        yielded_long = false;
        XP_STAT_ADD(w->st.spin_ns, now - t_mark);
        t_mark = now;
        if (now - last_work < atomic_load_explicit(&w->spin_ns, memory_order_relaxed) &&
            now >= no_spin_until) {
            /*
             * Spin only while what shares this core does not feed us. When the
             * thread that fills our rings runs here (threaded NAPI on the
             * worker's core), spinning starved it for a scheduler slice at a time
             * (0.17 against 0.47 Mpps sleep-only; bench/README.md, "Idle policy"),
             * and yielding at each turn still cost 15-20 %. So yield; a yield that
             * took long let another thread run. If frames are there right after,
             * twice within XP_WORKER_SHARED_WINDOW_NS, that thread feeds us:
             * behave as sleep-only for a while, then look again. Other threads
             * (the proxy's own, kernel workers, the hypervisor) bring no frames
             * and leave the spin alone.
             */
            sched_yield();
            yielded_long = xp_mono_ns() - now >= XP_WORKER_SHARED_CORE_NS;
            continue;
        }
        XP_STAT_ADD(w->st.sleeps, 1);
        /*
         * Other workers' hand-offs do not wake us: while they come, sleep
         * briefly. A sleep that ends without frames does not restart the spin
         * budget (last_work stays): an idle worker goes straight back to sleep.
         */
        w->io->wait(w->queue, w->pipeline && xp_pipeline__takes_handoffs(w->pipeline, now)
                                  ? XP_WORKER_HANDOFF_SLEEP_MS
                                  : XP_WORKER_SLEEP_MS);
        now = xp_mono_ns();
        XP_STAT_ADD(w->st.sleep_ns, now - t_mark);
        t_mark = now;
    }
    /* from here on, requests run on their callers' threads */
    xp_mailbox__close(&w->mb);
    if (w->thread_leave)
        w->thread_leave(w->queue);
    return NULL;
}

void xp_worker__init(struct xp_worker *w)
{
    xp_mailbox__init(&w->mb);
}

/* A worker request, on the caller's stack for as long as the call waits. */
struct worker_call {
    struct xp_worker *w;
    void (*fn)(struct xp_worker *w, void *arg);
    void *arg;
};

static void worker_call_run(void *arg)
{
    struct worker_call *c = arg;

    c->fn(c->w, c->arg);
}

void xp_worker__call(struct xp_worker *w, void (*fn)(struct xp_worker *w, void *arg), void *arg)
{
    struct worker_call c = { .w = w, .fn = fn, .arg = arg };

    /* A worker never blocks for longer than one sleep: this returns within milliseconds. */
    xp_mailbox__call(&w->mb, worker_call_run, &c);
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
    /* open before the thread runs: a request from now on waits for it, not runs beside it */
    xp_mailbox__open(&w->mb);
    ret = pthread_create(&w->thread, &attr, worker_main, w);
    if (ret) {
        pr_err("worker %u: pthread_create: %s", w->id, strerror(ret));
        xp_mailbox__close(&w->mb);
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
    /* the thread closed its mailbox on its way out: requests now run on their callers */
    pthread_join(w->thread, NULL);
    w->started = false;
}

void xp_worker__stats(const struct xp_worker *w, struct xp_worker_stats *out)
{
    out->loops = XP_STAT_GET(w->st.loops);
    out->sleeps = XP_STAT_GET(w->st.sleeps);
    out->spin_yields = XP_STAT_GET(w->st.spin_yields);
    out->work_ns = XP_STAT_GET(w->st.work_ns);
    out->spin_ns = XP_STAT_GET(w->st.spin_ns);
    out->sleep_ns = XP_STAT_GET(w->st.sleep_ns);
    for (int p = 0; p < 2; p++) {
        out->drop_tx_full[p] = XP_STAT_GET(w->st.drop_tx_full[p]);
        out->drop_policy[p] = XP_STAT_GET(w->st.drop_policy[p]);
    }
}
