// SPDX-License-Identifier: GPL-2.0-only
/*
 * The one-slot mailbox (mailbox.h has the states). The consumer never
 * blocks here and never takes the mutex: it runs what was posted and
 * publishes DONE; everything that waits is on the callers' side.
 */
#include "src/util/mailbox.h"

#include "src/util/clock.h"

/* A caller's pause between two looks at the slot: far below a worker's longest sleep. */
#define XP_MAILBOX_PAUSE_NS 100000

void xp_mailbox__init(struct xp_mailbox *mb)
{
    /* glibc's pthread_mutex_init() with default attributes only stores zeroes */
    pthread_mutex_init(&mb->lock, NULL);
    mb->fn = NULL;
    mb->arg = NULL;
    atomic_init(&mb->state, XP_MAILBOX_IDLE);
    atomic_init(&mb->open, false);
}

void xp_mailbox__destroy(struct xp_mailbox *mb)
{
    pthread_mutex_destroy(&mb->lock);
}

void xp_mailbox__open(struct xp_mailbox *mb)
{
    /* under the lock: a caller running fn itself (closed) finishes before the consumer starts */
    pthread_mutex_lock(&mb->lock);
    atomic_store(&mb->open, true);
    pthread_mutex_unlock(&mb->lock);
}

void xp_mailbox__serve(struct xp_mailbox *mb)
{
    int posted = XP_MAILBOX_POSTED;

    /* the consumer and a caller of a closed mailbox may both try: one claims it */
    if (atomic_compare_exchange_strong(&mb->state, &posted, XP_MAILBOX_RUNNING)) {
        mb->fn(mb->arg);
        atomic_store_explicit(&mb->state, XP_MAILBOX_DONE, memory_order_release);
    }
}

void xp_mailbox__close(struct xp_mailbox *mb)
{
    /* closed first: a request posted after our serve() is then run by its caller */
    atomic_store(&mb->open, false);
    xp_mailbox__serve(mb);
}

void xp_mailbox__call(struct xp_mailbox *mb, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&mb->lock);
    if (!atomic_load(&mb->open)) {
        fn(arg);
        pthread_mutex_unlock(&mb->lock);
        return;
    }
    mb->fn = fn;
    mb->arg = arg;
    atomic_store_explicit(&mb->state, XP_MAILBOX_POSTED, memory_order_release);
    while (atomic_load_explicit(&mb->state, memory_order_acquire) != XP_MAILBOX_DONE) {
        if (!atomic_load(&mb->open))
            xp_mailbox__serve(mb);
        else
            xp_sleep_ns(XP_MAILBOX_PAUSE_NS);
    }
    atomic_store_explicit(&mb->state, XP_MAILBOX_IDLE, memory_order_relaxed);
    pthread_mutex_unlock(&mb->lock);
}
