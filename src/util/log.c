// SPDX-License-Identifier: GPL-2.0-only
#include "log.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <xdp/libxdp.h>

static _Atomic int log_level = XP_LOG_INFO;
static _Thread_local char thread_name[16] = "main";

/* sd-daemon(3) priorities, which are syslog's: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const char *const journal_prefix[] = {
    [XP_LOG_ERR] = "<3>",
    [XP_LOG_WARN] = "<4>",
    [XP_LOG_INFO] = "<6>",
    [XP_LOG_DEBUG] = "<7>",
};

static _Atomic bool to_journal;
static pthread_once_t journal_once = PTHREAD_ONCE_INIT;

bool xp_log_detect_journal(void)
{
    const char *env = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    bool yes = false;
    int end = 0;

    /* "DEV:INODE" in decimal; the check the journal documents (systemd.exec(5)) */
    if (env && sscanf(env, "%llu:%llu%n", &dev, &ino, &end) == 2 && env[end] == '\0' &&
        fstat(STDERR_FILENO, &st) == 0)
        yes = (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
    atomic_store(&to_journal, yes);
    return yes;
}

static void detect_once(void)
{
    xp_log_detect_journal();
}

static const char *const level_names[] = {
    [XP_LOG_ERR] = "err",
    [XP_LOG_WARN] = "warn",
    [XP_LOG_INFO] = "info",
    [XP_LOG_DEBUG] = "debug",
};

void xp_log_set_level(enum xp_log_level level)
{
    atomic_store_explicit(&log_level, level, memory_order_relaxed);
}

enum xp_log_level xp_log_get_level(void)
{
    return atomic_load_explicit(&log_level, memory_order_relaxed);
}

int xp_log_level_parse(const char *name, enum xp_log_level *level)
{
    for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *level = i;
            return 0;
        }
    }
    return -EINVAL;
}

void xp_log_set_thread_name(const char *name)
{
    snprintf(thread_name, sizeof(thread_name), "%s", name);
}

void xp_vlog(enum xp_log_level level, const char *func, const char *fmt, va_list ap)
{
    char line[1024];
    int n;

    if ((int)level > atomic_load_explicit(&log_level, memory_order_relaxed))
        return;
    pthread_once(&journal_once, detect_once);
    /* Format into one buffer so lines from several threads never interleave. */
    n = snprintf(line, sizeof(line), "%s%s [%s] %s: ",
                 atomic_load_explicit(&to_journal, memory_order_relaxed) ? journal_prefix[level]
                                                                           : "",
                 level_names[level], thread_name, func);
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    n = strlen(line);
    if (n > 0 && line[n - 1] != '\n' && (size_t)n + 1 < sizeof(line)) {
        line[n++] = '\n';
        line[n] = '\0';
    }
    fputs(line, stderr);
}

void xp_log(enum xp_log_level level, const char *func, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    xp_vlog(level, func, fmt, ap);
    va_end(ap);
}

/*
 * Library output only shows at debug level: libxdp warns on every expected
 * fallback (no dispatcher here), and our callers print the actionable error.
 */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    (void)level;
    xp_vlog(XP_LOG_DEBUG, "libbpf", fmt, ap);
    return 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
    (void)level;
    xp_vlog(XP_LOG_DEBUG, "libxdp", fmt, ap);
    return 0;
}

void xp_log_hook_libraries(void)
{
    libbpf_set_print(libbpf_print);
    libxdp_set_print(libxdp_print);
}
