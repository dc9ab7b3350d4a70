/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One logging module for every xpro program.
 *
 * Lines go to stderr as "LEVEL [thread] func: message"; when stderr is the
 * journal's stream (systemd's $JOURNAL_STREAM names its device and inode)
 * each line starts with the sd-daemon priority "<N>" (sd-daemon(3)), so the
 * journal files it at that priority and `journalctl -p err` finds errors.
 * libbpf and libxdp
 * output is routed here one level lower than they ask for, so their chatter
 * only shows at debug level and our own actionable message comes first.
 */
#ifndef XP_LOG_H
#define XP_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum xp_log_level {
    XP_LOG_ERR = 0,
    XP_LOG_WARN = 1,
    XP_LOG_INFO = 2,
    XP_LOG_DEBUG = 3,
};

/* Set the threshold; messages above it are discarded. Thread-safe. */
void xp_log_set_level(enum xp_log_level level);
enum xp_log_level xp_log_get_level(void);

/* Parse "err", "warn", "info" or "debug"; returns 0 or -EINVAL. */
int xp_log_level_parse(const char *name, enum xp_log_level *level);

/* Name the calling thread in log lines (at most 15 characters kept). */
void xp_log_set_thread_name(const char *name);

/*
 * Check again whether stderr is the journal's stream ($JOURNAL_STREAM
 * "DEV:INODE" equal to fstat(2)'s st_dev:st_ino); returns the answer. The
 * first log line checks once by itself; call this after redirecting stderr.
 * Not concurrently with logging.
 */
bool xp_log_detect_journal(void);

/* Route libbpf's and libxdp's print callbacks through this module. */
void xp_log_hook_libraries(void);

void xp_log(enum xp_log_level level, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void xp_vlog(enum xp_log_level level, const char *func, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define pr_err(...) xp_log(XP_LOG_ERR, __func__, __VA_ARGS__)
#define pr_warn(...) xp_log(XP_LOG_WARN, __func__, __VA_ARGS__)
#define pr_info(...) xp_log(XP_LOG_INFO, __func__, __VA_ARGS__)
#define pr_debug(...) xp_log(XP_LOG_DEBUG, __func__, __VA_ARGS__)

#endif /* XP_LOG_H */
