// SPDX-License-Identifier: GPL-2.0-only
/*
 * systemd integration in src/util: the sd_notify protocol (sd_notify.h)
 * against real AF_UNIX datagram sockets (a path and an abstract name), the
 * watchdog's period and its $WATCHDOG_PID check, and the log's "<N>"
 * priority prefix when stderr is (and is not) the journal's stream.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "src/util/log.h"
#include "src/util/sd_notify.h"
#include "src/util/statedir.h"
#include "xp_check.h"

/* A datagram socket bound to name ("/path" or "@abstract"). */
static int bind_dgram(const char *name)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    memcpy(sa.sun_path, name, len);
    if (name[0] == '@')
        sa.sun_path[0] = '\0';
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa,
                       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0) {
        perror("bind");
        exit(1);
    }
    return fd;
}

/* The next datagram, or "" after 1 s. */
static void recv_msg(int fd, char *buf, size_t len)
{
    struct timeval tv = {.tv_sec = 1};
    ssize_t n;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    n = recv(fd, buf, len - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void test_notify_path_and_abstract(const char *dir)
{
    char path[256], abstract[64], buf[256], pid[32];
    int fd;

    /* a path */
    snprintf(path, sizeof(path), "%s/notify", dir);
    fd = bind_dgram(path);
    setenv("NOTIFY_SOCKET", path, 1);
    unsetenv("WATCHDOG_USEC");
    xp_sd__init();
    CHECK(xp_sd__enabled());
    CHECK(getenv("NOTIFY_SOCKET") == NULL); /* no child of ours speaks for us */
    CHECK_EQ(xp_sd__notify("READY=1\nSTATUS=serving"), 0);
    recv_msg(fd, buf, sizeof(buf));
    CHECK_MSG(strcmp(buf, "READY=1\nSTATUS=serving") == 0, "got \"%s\"", buf);
    CHECK_EQ(xp_sd__notifyf("STATUS=%u pairs", 7u), 0);
    recv_msg(fd, buf, sizeof(buf));
    CHECK_MSG(strcmp(buf, "STATUS=7 pairs") == 0, "got \"%s\"", buf);
    CHECK_EQ(xp_sd__watchdog_usec(), 0);
    CHECK(!xp_sd__watchdog_tick());
    close(fd);
    unlink(path);

    /* an abstract name, with a watchdog of 200 ms for this process */
    snprintf(abstract, sizeof(abstract), "@xpro-test-sd-%d", (int)getpid());
    fd = bind_dgram(abstract);
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    setenv("NOTIFY_SOCKET", abstract, 1);
    setenv("WATCHDOG_USEC", "200000", 1);
    setenv("WATCHDOG_PID", pid, 1);
    xp_sd__init();
    CHECK(xp_sd__enabled());
    CHECK_EQ(xp_sd__watchdog_usec(), 200000);
    CHECK(getenv("WATCHDOG_USEC") == NULL && getenv("WATCHDOG_PID") == NULL);
    CHECK(!xp_sd__watchdog_tick()); /* not half a period yet */
    sleep_ms(120);
    CHECK(xp_sd__watchdog_due());
    CHECK(xp_sd__watchdog_tick());
    recv_msg(fd, buf, sizeof(buf));
    CHECK_MSG(strcmp(buf, "WATCHDOG=1") == 0, "got \"%s\"", buf);
    CHECK(!xp_sd__watchdog_tick()); /* just sent */

    /* a watchdog meant for another process is not ours */
    setenv("NOTIFY_SOCKET", abstract, 1);
    setenv("WATCHDOG_USEC", "200000", 1);
    setenv("WATCHDOG_PID", "1", 1);
    xp_sd__init();
    CHECK_EQ(xp_sd__watchdog_usec(), 0);
    setenv("NOTIFY_SOCKET", abstract, 1);
    setenv("WATCHDOG_USEC", "soon", 1);
    xp_sd__init();
    CHECK_EQ(xp_sd__watchdog_usec(), 0);
    close(fd);

    /* nobody listening: the send fails and says so */
    setenv("NOTIFY_SOCKET", abstract, 1);
    xp_sd__init();
    CHECK(xp_sd__notify("READY=1") < 0);

    /* not a socket name systemd would give: off, calls are no-ops */
    setenv("NOTIFY_SOCKET", "relative/notify", 1);
    xp_sd__init();
    CHECK(!xp_sd__enabled());
    CHECK_EQ(xp_sd__notify("READY=1"), 0);
    /* no manager at all */
    xp_sd__init();
    CHECK(!xp_sd__enabled());
    CHECK_EQ(xp_sd__notify("READY=1"), 0);
}

/* Log three lines with stderr on a file; return the file's text. */
static void log_into(const char *file, const char *journal_env, bool expect_journal, char *out,
                     size_t len)
{
    int saved = dup(STDERR_FILENO), fd = open(file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    struct stat st;
    char env[64];
    ssize_t n;

    fstat(fd, &st);
    if (journal_env && strcmp(journal_env, "match") == 0) {
        snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
                 (unsigned long long)st.st_ino);
        setenv("JOURNAL_STREAM", env, 1);
    } else if (journal_env) {
        setenv("JOURNAL_STREAM", journal_env, 1);
    } else {
        unsetenv("JOURNAL_STREAM");
    }
    fflush(stderr);
    dup2(fd, STDERR_FILENO);
    CHECK(xp_log_detect_journal() == expect_journal);
    pr_err("broken %d", 1);
    pr_warn("odd");
    pr_info("fine");
    pr_debug("hidden at info");
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    n = pread(fd, out, len - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
}

static void test_log_prefix(const char *dir)
{
    char file[256], text[2048], env[64];

    xp_log_set_thread_name("test");
    xp_log_set_level(XP_LOG_INFO);
    snprintf(file, sizeof(file), "%s/stderr", dir);

    log_into(file, NULL, false, text, sizeof(text));
    CHECK_MSG(strcmp(text, "err [test] log_into: broken 1\n"
                           "warn [test] log_into: odd\n"
                           "info [test] log_into: fine\n") == 0,
              "not the journal: \"%s\"", text);

    log_into(file, "match", true, text, sizeof(text));
    CHECK_MSG(strcmp(text, "<3>err [test] log_into: broken 1\n"
                           "<4>warn [test] log_into: odd\n"
                           "<6>info [test] log_into: fine\n") == 0,
              "the journal: \"%s\"", text);

    /* the variable describes another stream (stderr redirected by hand under a unit) */
    log_into(file, "1:2", false, text, sizeof(text));
    CHECK_MSG(strncmp(text, "err [", 5) == 0, "another stream: \"%s\"", text);
    snprintf(env, sizeof(env), "garbage");
    log_into(file, env, false, text, sizeof(text));
    CHECK_MSG(strncmp(text, "err [", 5) == 0, "bad variable: \"%s\"", text);
    unsetenv("JOURNAL_STREAM");
    xp_log_detect_journal();
}

/* The state file's directory: created (0700, every missing level), or a clear error. */
static void test_statedir(const char *dir)
{
    char file[256], sub[256], why[512] = "";
    struct stat st;
    int fd;

    snprintf(file, sizeof(file), "%s/state/a/b/central.state", dir);
    CHECK_EQ(xp_statedir__ensure_parent(file, 0700, why, sizeof(why)), 0);
    snprintf(sub, sizeof(sub), "%s/state/a/b", dir);
    CHECK(stat(sub, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
    snprintf(sub, sizeof(sub), "%s/state", dir);
    CHECK(stat(sub, &st) == 0 && (st.st_mode & 0777) == 0700);
    /* there already: nothing to do; a bare name is in the working directory */
    CHECK_EQ(xp_statedir__ensure_parent(file, 0700, why, sizeof(why)), 0);
    CHECK_EQ(xp_statedir__ensure_parent("central.state", 0700, why, sizeof(why)), 0);
    CHECK_EQ(xp_statedir__ensure_parent("/central.state", 0700, why, sizeof(why)), 0);
    /* a file where a directory should be */
    snprintf(sub, sizeof(sub), "%s/state/plain", dir);
    fd = open(sub, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    close(fd);
    snprintf(file, sizeof(file), "%s/state/plain/x/central.state", dir);
    CHECK_EQ(xp_statedir__ensure_parent(file, 0700, why, sizeof(why)), -ENOTDIR);
    CHECK_MSG(strstr(why, "plain") != NULL, "why: %s", why);
    snprintf(file, sizeof(file), "%s/state/plain/central.state", dir);
    CHECK_EQ(xp_statedir__ensure_parent(file, 0700, why, sizeof(why)), -ENOTDIR);
    CHECK_MSG(strstr(why, "is not a directory") != NULL, "why: %s", why);
    unlink(sub);
    rmdir(strcat(strcpy(sub, dir), "/state/a/b"));
    rmdir(strcat(strcpy(sub, dir), "/state/a"));
    rmdir(strcat(strcpy(sub, dir), "/state"));
}

int main(void)
{
    char dir[] = "/tmp/xp-test-sd-XXXXXX";

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_notify_path_and_abstract(dir);
    test_log_prefix(dir);
    test_statedir(dir);
    {
        char f[300];

        snprintf(f, sizeof(f), "%s/stderr", dir);
        unlink(f);
        rmdir(dir);
    }
    return xp_check_report("sd");
}
