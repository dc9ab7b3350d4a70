/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A one-slot mailbox: another thread runs a function on a busy-polling
 * thread (the consumer: a worker) between two of its bursts, and waits for
 * it. The way to touch what the consumer owns (its tables, its config
 * pointer) without a lock in its loop.
 *
 * The slot's state, one atomic word:
 *
 *   IDLE ---call posts fn---> POSTED ---serve claims---> RUNNING ---fn returns---> DONE
 *     ^                                                                              |
 *     +------------------------ the caller sees DONE and resets ---------------------+
 *
 * Only POSTED -> RUNNING is contended (the consumer, or a caller once the
 * consumer has closed the mailbox): it is a compare-and-swap, so fn runs
 * exactly once. Callers take turns on a mutex that the consumer never
 * takes, so there is one request at a time and the consumer's side is one
 * load per loop turn when nothing is posted.
 *
 * Open or closed. A closed mailbox has no consumer serving it: call runs fn
 * itself, on the caller's thread (before the consumer starts, after it
 * stopped: nothing else touches its state then). The owner opens it just
 * before starting the consumer thread; the consumer closes it when it leaves
 * its loop, which also runs a request that was posted in the meantime.
 *
 * A caller waits without a timeout, polling every 100 us: fn may use the
 * caller's stack, so the caller cannot leave before fn ran. The consumer
 * must look at the mailbox at least once per loop turn and never block for
 * long, which bounds the wait.
 */
#ifndef XP_UTIL_MAILBOX_H
#define XP_UTIL_MAILBOX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

enum xp_mailbox_state {
    XP_MAILBOX_IDLE = 0, /* no request */
    XP_MAILBOX_POSTED,   /* fn and arg are set; nobody runs it yet */
    XP_MAILBOX_RUNNING,  /* claimed: fn is running (consumer, or caller when closed) */
    XP_MAILBOX_DONE,     /* fn returned; the caller has not yet taken note */
};

struct xp_mailbox {
    pthread_mutex_t lock;   /* callers take turns; never taken by the consumer */
    void (*fn)(void *arg);  /* the request, valid while POSTED or RUNNING */
    void *arg;
    atomic_int state;       /* enum xp_mailbox_state */
    atomic_bool open;       /* a consumer serves the mailbox */
};

/* A closed, idle mailbox. Cannot fail: a default mutex needs no resources on Linux. */
void xp_mailbox__init(struct xp_mailbox *mb);
/* No caller may be inside call. */
void xp_mailbox__destroy(struct xp_mailbox *mb);

/*
 * Owner, before starting the consumer thread: from now on calls wait for the
 * consumer. Waits for a call running fn on a caller's thread to finish.
 */
void xp_mailbox__open(struct xp_mailbox *mb);
/*
 * Consumer, when it leaves its loop (or the owner, if the consumer never
 * ran): from now on calls run fn themselves; a request already posted is run
 * here, now.
 */
void xp_mailbox__close(struct xp_mailbox *mb);

/* Consumer, hot path: true if a request waits. One acquire load. */
static inline bool xp_mailbox__pending(const struct xp_mailbox *mb)
{
    return atomic_load_explicit(&mb->state, memory_order_acquire) == XP_MAILBOX_POSTED;
}

/* Consumer: run the posted request, if any (call when pending() says so). */
void xp_mailbox__serve(struct xp_mailbox *mb);

/*
 * Any thread but the consumer: run fn(arg) on the consumer between two of its
 * bursts and return when it returned; on the caller's thread when the
 * mailbox is closed. Calls from several threads run one after the other.
 */
void xp_mailbox__call(struct xp_mailbox *mb, void (*fn)(void *arg), void *arg);

#endif /* XP_UTIL_MAILBOX_H */
