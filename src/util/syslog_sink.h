/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Events to syslog: RFC 3164 datagrams on a Unix socket (/dev/log by
 * default), written directly rather than through syslog(3) so the socket
 * path is configurable and a full or absent log daemon never blocks the
 * control thread: sends are non-blocking and failures are counted.
 */
#ifndef XP_SYSLOG_SINK_H
#define XP_SYSLOG_SINK_H

#include <stdint.h>

struct xp_syslog;

/* NULL with errno. ident is copied. */
struct xp_syslog *xp_syslog__open(const char *path, const char *ident);
void xp_syslog__close(struct xp_syslog *s);
/* severity: LOG_* from <syslog.h>; facility is LOG_DAEMON. 0 or -errno (counted). */
int xp_syslog__send(struct xp_syslog *s, int severity, const char *msg);
uint64_t xp_syslog__failures(const struct xp_syslog *s);

#endif /* XP_SYSLOG_SINK_H */
