// SPDX-License-Identifier: GPL-2.0-only
#include "src/proxy/monitor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/util/exit_codes.h"
#include "src/util/log.h"

/*
 * What a supervisor or an operator sends the proxy: passed on to the child.
 * SIGABRT is systemd's watchdog signal: the proxy that starved the watchdog
 * is the one to abort (its core shows where it hung), and the monitor
 * outlives it to undo the set-up.
 */
static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGABRT };

static int wait_child(pid_t child, const sigset_t *set)
{
    int status;

    for (;;) {
        siginfo_t si;
        pid_t r;
        int sig = sigwaitinfo(set, &si);

        if (sig < 0) {
            if (errno == EINTR)
                continue;
            /* cannot wait for signals: wait for the child alone */
            while ((r = waitpid(child, &status, 0)) < 0 && errno == EINTR)
                ;
            return r == child ? status : -1;
        }
        if (sig != SIGCHLD) {
            kill(child, sig);
            continue;
        }
        r = waitpid(child, &status, WNOHANG);
        if (r == child)
            return status;
    }
}

static void monitor(pid_t child, void (*cleanup)(void *arg), void *arg)
{
    sigset_t set;
    int status, code;

    /* Nothing of the proxy's stays open here: sockets, maps and UMEM are the child's. */
    close_range(3, ~0U, 0);
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
        sigaddset(&set, forwarded[i]);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    status = wait_child(child, &set);
    if (status >= 0 && WIFEXITED(status)) {
        code = WEXITSTATUS(status);
        if (code)
            pr_warn("monitor: the proxy (pid %d) exited with %d", (int)child, code);
    } else {
        code = EXIT_FAIL;
        pr_err("monitor: the proxy (pid %d) was killed by signal %d", (int)child,
               status >= 0 && WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }
    cleanup(arg);
    exit(code);
}

int xp_monitor__split(void (*cleanup)(void *arg), void *arg)
{
    pid_t parent = getpid(), child;

    fflush(NULL); /* nothing buffered may be written twice */
    child = fork();
    if (child < 0)
        return -errno;
    if (child > 0)
        monitor(child, cleanup, arg);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) || getppid() != parent) {
        pr_err("monitor gone before the proxy started");
        _exit(EXIT_FAIL);
    }
    return 0;
}
