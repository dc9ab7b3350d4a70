/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Privilege separation for xpro-proxy (docs/operators.md "Privileges").
 *
 * Attaching XDP, setting a port's channels and undoing both at exit need
 * root; forwarding, policing, the control socket, Prometheus and the sync
 * channel do not. xp_monitor__split() forks once the root-only set-up is
 * done: the child goes on with the proxy; the parent (the monitor) keeps
 * root, closes every file it holds, and only forwards signals to the child
 * and waits. When the child ends, however it ends (clean stop, crash,
 * SIGKILL), the monitor runs the clean-up and exits with the child's
 * status. It reads nothing from the network and nothing from the child.
 *
 * The child must itself call xp_priv__drop() once its own set-up is done
 * (it creates the AF_XDP sockets: their UMEM must belong to the process
 * that uses it, so they cannot be made before the fork).
 */
#ifndef XP_MONITOR_H
#define XP_MONITOR_H

/*
 * Fork. In the child: returns 0, with PR_SET_PDEATHSIG(SIGKILL) set (a
 * killed monitor takes the proxy with it, so a supervisor's SIGKILL of the
 * main PID still stops everything). In the monitor: never returns;
 * cleanup(arg) runs after the child ended, then the process exits with the
 * child's exit code (1 if it died of a signal). -errno if fork failed
 * (nothing changed).
 */
int xp_monitor__split(void (*cleanup)(void *arg), void *arg);

#endif /* XP_MONITOR_H */
