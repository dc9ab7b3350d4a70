// SPDX-License-Identifier: GPL-2.0-only
/*
 * Persistence of xpro-central, as a child process on 127.0.0.1: kill -9
 * loses at most one persist period, SIGTERM persists everything and exits
 * 0, a restarted central node sends its whole table to reconnecting
 * proxies (new epoch), and a corrupt or truncated state file is a clear
 * error (exit 1), not a crash. Bounded: about 5 s.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_sync_common.h"

static char dir[] = "/tmp/xp-persist-XXXXXX";
static char conf[256], state[256], ready[256], errlog[256];
static const uint8_t secret[16] = "0123456789abcdef";

static void write_conf(unsigned port)
{
    FILE *f = fopen(conf, "w");

    fprintf(f,
            "{\"listen\":\"127.0.0.1\",\"port\":%u,\"state_file\":\"%s\","
            "\"persist_period_ms\":200,\"log_level\":\"info\","
            /* rows must outlive the restarts below, however slow (default: 2 s) */
            "\"limits\":{\"row_ttl_ms\":600000},"
            "\"proxies\":{\"p1\":\"30313233343536373839616263646566\"}}\n",
            port, state);
    fclose(f);
    chmod(conf, 0600); /* it holds a secret: xpro-central refuses it readable by others */
}

static pid_t start_central(uint16_t *port)
{
    pid_t pid;

    unlink(ready);
    pid = fork();
    if (pid == 0) {
        int fd = open(errlog, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        dup2(fd, 2);
        execl(XP_CENTRAL_BIN, "xpro-central", "-c", conf, "--ready-file", ready, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 300; i++) {
        FILE *f = fopen(ready, "r");
        unsigned p = 0;
        int status;

        if (f) {
            int ok = fscanf(f, "%u", &p) == 1;

            fclose(f);
            if (ok && p) {
                *port = (uint16_t)p;
                return pid;
            }
        }
        if (waitpid(pid, &status, WNOHANG) == pid)
            return -WEXITSTATUS(status) - 1000;
        tsleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

struct seen {
    uint64_t c[64];
    unsigned n;
};

static void install(void *arg, const struct xp_sync_answer *a)
{
    struct seen *s = arg;
    unsigned u = a->key->unit[15];

    if (u < 64)
        s->c[u] = a->global.c;
    s->n++;
}

static struct xp_sync_client *client(uint16_t port)
{
    struct xp_sync_client_config cc = {.host = "127.0.0.1", .port = port, .proxy_id = "p1",
                                       .secret = secret, .secret_len = sizeof(secret),
                                       .backoff_min_ms = 10, .backoff_max_ms = 20};

    return xp_sync_client__create(&cc);
}

/* Push pairs u in [from, to) with c = dc = 5. */
static int push(struct xp_sync_client *cl, unsigned from, unsigned to)
{
    struct xp_pair_record recs[64];
    struct seen s = {0};
    uint64_t now = treal_ns();
    unsigned n = 0;

    for (unsigned u = from; u < to; u++, n++) {
        memset(&recs[n], 0, sizeof(recs[n]));
        recs[n].key = tkey(u, 1);
        recs[n].st = (struct xp_pair_state){.ts1 = now, .ts2 = now, .c = 5, .dc = 5};
    }
    int ret = xp_sync_client__exchange(cl, recs, n, NULL, install, &s);

    /* a failed exchange keeps its records: recover() finishes it (exactly once) */
    for (int i = 0; i < 50 && ret; i++) {
        tsleep_ms(20);
        ret = xp_sync_client__recover(cl, install, &s);
    }
    return ret;
}

static int pull(struct xp_sync_client *cl, struct seen *s)
{
    int ret = -EAGAIN;

    memset(s, 0, sizeof(*s));
    for (int i = 0; i < 50 && ret; i++) {
        ret = xp_sync_client__pending(cl) ? xp_sync_client__recover(cl, install, s)
                                          : xp_sync_client__exchange(cl, NULL, 0, NULL, install, s);
        if (ret)
            tsleep_ms(20);
    }
    return ret;
}

static bool log_has(const char *needle)
{
    char buf[8192] = "";
    FILE *f = fopen(errlog, "r");
    size_t n;

    if (!f)
        return false;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strstr(buf, needle) != NULL;
}

int main(void)
{
    struct xp_sync_client *cl, *old;
    struct seen s;
    uint16_t port;
    pid_t pid;
    int status;
    FILE *f;

    if (!mkdtemp(dir))
        return 1;
    snprintf(conf, sizeof(conf), "%s/central.json", dir);
    snprintf(state, sizeof(state), "%s/central.state", dir);
    snprintf(ready, sizeof(ready), "%s/port", dir);
    snprintf(errlog, sizeof(errlog), "%s/stderr", dir);
    write_conf(0);

    /* 1. sync 10 pairs, wait two periods, sync 5 more, kill -9 at once */
    pid = start_central(&port);
    CHECK(pid > 0);
    if (pid <= 0)
        return 1;
    /* restarts reuse the port so that an existing client finds the node again */
    write_conf(port);
    cl = client(port);
    CHECK_EQ(push(cl, 0, 10), 0);
    tsleep_ms(500);
    CHECK_EQ(push(cl, 10, 15), 0);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);

    /* 2. restart: the first 10 are back; the last 5 may be lost (one period) */
    pid = start_central(&port);
    CHECK(pid > 0);
    CHECK(log_has("loaded"));
    old = cl;
    cl = client(port);
    CHECK_EQ(pull(cl, &s), 0);
    for (unsigned u = 0; u < 10; u++)
        CHECK_EQ(s.c[u], 5);
    CHECK(s.n >= 10 && s.n <= 15);
    /* the old client (same instance) reconnects by itself and gets the whole table too */
    tsleep_ms(30);
    CHECK_EQ(pull(old, &s), 0);
    CHECK(s.n >= 10);
    xp_sync_client__destroy(old);

    /* 3. SIGTERM persists everything and exits 0 */
    CHECK_EQ(push(cl, 20, 23), 0);
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pid = start_central(&port);
    CHECK(pid > 0);
    xp_sync_client__destroy(cl);
    cl = client(port);
    CHECK_EQ(pull(cl, &s), 0);
    for (unsigned u = 20; u < 23; u++)
        CHECK_EQ(s.c[u], 5);
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    xp_sync_client__destroy(cl);

    /* 4. a corrupt file (one byte flipped) and a truncated one: exit 1, clear message */
    {
        int fd = open(state, O_RDWR);
        char b;
        struct stat st;

        pread(fd, &b, 1, 40);
        b ^= 1;
        pwrite(fd, &b, 1, 40);
        pid = start_central(&port);
        CHECK_EQ(pid, -1001);
        CHECK(log_has("checksum mismatch"));
        fstat(fd, &st);
        CHECK_EQ(ftruncate(fd, st.st_size - 10), 0);
        close(fd);
        pid = start_central(&port);
        CHECK_EQ(pid, -1001);
        CHECK(log_has("does not match"));
        f = fopen(state, "w");
        fputs("not a state file at all, but long enough to have a header............\n", f);
        fclose(f);
        pid = start_central(&port);
        CHECK_EQ(pid, -1001);
        CHECK(log_has("bad magic"));
    }
    {
        char cmd[300];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cleanup of %s failed\n", dir);
    }
    return xp_check_report("test_sync_persist");
}
