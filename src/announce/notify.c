// SPDX-License-Identifier: GPL-2.0-only
/*
 * The notify hook (announce.h): the operator's script once per event, like FastNetMon's
 * notify_script_path, but never in the way of the event stream.
 *
 * A run is started with posix_spawn (no fork of our heap; vfork-speed) in a session of its
 * own, so that the timeout kills the script and whatever it started (kill of the process
 * group). Its stdout goes to our stderr: our stdout is ExaBGP's command pipe, and a script's
 * chatter there would be read as routes. The event goes in as arguments, as environment and
 * as the JSON line on its stdin (one write into an empty pipe, shorter than PIPE_BUF: it
 * cannot block). At most max_running runs at once; the events beyond wait in a bounded
 * FIFO, and beyond that they are dropped and counted: a script slower than the events
 * loses events, the stream does not slow down.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/announce/announce.h"
#include "src/util/clock.h"
#include "src/util/log.h"

extern char **environ;

#define NOTIFY_LINE_MAX 2048 /* < PIPE_BUF: the stdin write is atomic into an empty pipe */

struct job {
    char line[NOTIFY_LINE_MAX];
    char event[16], unit[64], dst[64], reason[32], proxy_id[128], queue[16];
};

struct run {
    pid_t pid; /* 0: a free slot */
    uint64_t deadline_ns;
    bool killed;
};

struct xp_notify {
    struct xp_notify_conf conf;
    struct run *runs;
    struct job *queue; /* ring of max_queued */
    unsigned q_head, q_len;
    struct xp_notify_stats st;
};

struct xp_notify *xp_notify__create(const struct xp_notify_conf *conf)
{
    struct xp_notify *n;

    if (!conf->script || conf->script[0] != '/' || !conf->timeout_ms || !conf->max_running ||
        !conf->max_queued) {
        errno = EINVAL;
        return NULL;
    }
    n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->conf = *conf;
    n->runs = calloc(conf->max_running, sizeof(*n->runs));
    n->queue = calloc(conf->max_queued, sizeof(*n->queue));
    if (!n->runs || !n->queue) {
        xp_notify__destroy(n);
        errno = ENOMEM;
        return NULL;
    }
    return n;
}

void xp_notify__destroy(struct xp_notify *n)
{
    if (!n)
        return;
    for (unsigned i = 0; n->runs && i < n->conf.max_running; i++) {
        if (n->runs[i].pid > 0) {
            kill(-n->runs[i].pid, SIGKILL);
            waitpid(n->runs[i].pid, NULL, 0);
        }
    }
    free(n->runs);
    free(n->queue);
    free(n);
}

static void copy_field(char *out, size_t len, const json_t *ev, const char *key, const char *dflt)
{
    const json_t *v = json_object_get(ev, key);

    if (json_is_string(v))
        snprintf(out, len, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, len, "%lld", (long long)json_integer_value(v));
    else
        snprintf(out, len, "%s", dflt);
}

/* Start job in a free slot. 0, or a negative errno (counted by the caller). */
static int spawn(struct xp_notify *n, struct run *slot, const struct job *j, uint64_t now_ns)
{
    char *argv[] = { (char *)n->conf.script, (char *)j->event,  (char *)j->unit,
                     (char *)j->dst,         (char *)j->reason, NULL };
    char e_event[48], e_unit[80], e_dst[80], e_reason[64], e_proxy[160], e_queue[48];
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    char **envp;
    size_t envc = 0;
    int fds[2], ret;
    sigset_t none, dfl;
    pid_t pid;

    snprintf(e_event, sizeof(e_event), "XPRO_EVENT=%s", j->event);
    snprintf(e_unit, sizeof(e_unit), "XPRO_UNIT=%s", j->unit);
    snprintf(e_dst, sizeof(e_dst), "XPRO_DST=%s", j->dst);
    snprintf(e_reason, sizeof(e_reason), "XPRO_REASON=%s", j->reason);
    snprintf(e_proxy, sizeof(e_proxy), "XPRO_PROXY_ID=%s", j->proxy_id);
    snprintf(e_queue, sizeof(e_queue), "XPRO_QUEUE=%s", j->queue);
    while (environ && environ[envc])
        envc++;
    envp = calloc(envc + 7, sizeof(*envp));
    if (!envp)
        return -ENOMEM;
    for (size_t i = 0; i < envc; i++)
        envp[i] = environ[i];
    envp[envc] = e_event;
    envp[envc + 1] = e_unit;
    envp[envc + 2] = e_dst;
    envp[envc + 3] = e_reason;
    envp[envc + 4] = e_proxy;
    envp[envc + 5] = e_queue;
    if (pipe2(fds, O_CLOEXEC) != 0) {
        ret = -errno;
        free(envp);
        return ret;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
    posix_spawnattr_init(&attr);
    sigemptyset(&none);
    /* our blocked signals (SIGCHLD, SIGTERM for the signalfd) are not the script's business */
    posix_spawnattr_setsigmask(&attr, &none);
    /* we ignore SIGPIPE (a closed ExaBGP pipe is an error code to us); a script must not */
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &dfl);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    ret = -posix_spawn(&pid, n->conf.script, &fa, &attr, argv, envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    free(envp);
    close(fds[0]);
    if (ret == 0) {
        size_t len = strlen(j->line);
        /* into an empty pipe, len + 1 < PIPE_BUF: all or nothing, never blocks */
        if (write(fds[1], j->line, len) != (ssize_t)len || write(fds[1], "\n", 1) != 1)
            pr_debug("notify: the script's stdin: %s", strerror(errno));
        slot->pid = pid;
        slot->deadline_ns = now_ns + (uint64_t)n->conf.timeout_ms * 1000000ULL;
        slot->killed = false;
        n->st.started++;
        n->st.running++;
    }
    close(fds[1]);
    return ret;
}

static struct run *free_slot(struct xp_notify *n)
{
    for (unsigned i = 0; i < n->conf.max_running; i++)
        if (n->runs[i].pid == 0)
            return &n->runs[i];
    return NULL;
}

static void start(struct xp_notify *n, const struct job *j, struct run *slot, uint64_t now_ns)
{
    int ret = spawn(n, slot, j, now_ns);

    if (ret) {
        n->st.spawn_errors++;
        pr_warn("notify: cannot run %s: %s", n->conf.script, strerror(-ret));
    }
}

void xp_notify__event(struct xp_notify *n, const json_t *ev, const char *line, uint64_t now_ns)
{
    struct run *slot;
    struct job *j;

    if (strlen(line) >= NOTIFY_LINE_MAX) {
        n->st.dropped++;
        return;
    }
    if (n->st.queued >= n->conf.max_queued) {
        n->st.dropped++;
        return;
    }
    j = &n->queue[(n->q_head + n->q_len) % n->conf.max_queued];
    snprintf(j->line, sizeof(j->line), "%s", line);
    copy_field(j->event, sizeof(j->event), ev, "event", "-");
    copy_field(j->unit, sizeof(j->unit), ev, "unit", "-");
    copy_field(j->dst, sizeof(j->dst), ev, "dst", "-");
    copy_field(j->reason, sizeof(j->reason), ev, "reason", "-");
    copy_field(j->proxy_id, sizeof(j->proxy_id), ev, "proxy_id", "-");
    copy_field(j->queue, sizeof(j->queue), ev, "queue", "-");
    n->q_len++;
    n->st.queued = n->q_len;
    /* start it at once if a slot is free (service() starts the rest as runs end) */
    slot = free_slot(n);
    if (slot && n->q_len == 1) {
        n->q_len = 0;
        n->st.queued = 0;
        start(n, j, slot, now_ns);
    }
}

uint64_t xp_notify__service(struct xp_notify *n, uint64_t now_ns)
{
    uint64_t next = 0;
    struct run *slot;

    for (unsigned i = 0; i < n->conf.max_running; i++) {
        struct run *r = &n->runs[i];
        int status;
        pid_t got;

        if (r->pid <= 0)
            continue;
        got = waitpid(r->pid, &status, WNOHANG);
        if (got == r->pid || (got < 0 && errno == ECHILD)) {
            if (r->killed)
                n->st.killed++;
            else if (got == r->pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
                n->st.ok++;
            else
                n->st.failed++;
            r->pid = 0;
            n->st.running--;
            continue;
        }
        if (!r->killed && now_ns >= r->deadline_ns) {
            /* the whole session: a shell script's children go too */
            kill(-r->pid, SIGKILL);
            r->killed = true;
            pr_warn("notify: %s still running after %u ms: killed", n->conf.script,
                    n->conf.timeout_ms);
        }
        /* a killed run is reaped at the next SIGCHLD; until then poll it every 100 ms */
        {
            uint64_t t = r->killed ? now_ns + 100000000ULL : r->deadline_ns;

            if (!next || t < next)
                next = t;
        }
    }
    while (n->q_len && (slot = free_slot(n))) {
        struct job *j = &n->queue[n->q_head];

        n->q_head = (n->q_head + 1) % n->conf.max_queued;
        n->q_len--;
        n->st.queued = n->q_len;
        start(n, j, slot, now_ns);
        if (slot->pid && (!next || slot->deadline_ns < next))
            next = slot->deadline_ns;
    }
    return next;
}

void xp_notify__stats(const struct xp_notify *n, struct xp_notify_stats *st)
{
    *st = n->st;
}

json_t *xp_notify__stats_json(const struct xp_notify *n)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:i}", "started", (json_int_t)n->st.started,
                     "ok", (json_int_t)n->st.ok, "failed", (json_int_t)n->st.failed, "killed",
                     (json_int_t)n->st.killed, "dropped", (json_int_t)n->st.dropped, "spawn_errors",
                     (json_int_t)n->st.spawn_errors, "running", (int)n->st.running, "queued",
                     (int)n->st.queued);
}
