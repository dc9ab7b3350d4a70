// SPDX-License-Identifier: GPL-2.0-only
/*
 * xp_dgram_sink [--help | --version] PATH SECONDS: a stand-in for a syslog daemon in tests. Binds a
 * Unix datagram socket at PATH and prints every datagram it receives as one
 * line, for at most SECONDS. Removes PATH at exit.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "xp_build_config.h"

int main(int argc, char **argv)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    struct timespec start, now;
    char buf[4096];
    static const struct option long_opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    double limit;
    int fd, c;

    while ((c = getopt_long(argc, argv, "hV", long_opts, NULL)) != -1) {
        if (c == 'h') {
            printf("usage: xp_dgram_sink PATH SECONDS\n");
            return 0;
        }
        if (c == 'V') {
            printf("xp_dgram_sink %s\n", XP_VERSION);
            return 0;
        }
        fprintf(stderr, "usage: xp_dgram_sink PATH SECONDS\n");
        return 2;
    }
    argv += optind - 1;
    argc -= optind - 1;
    if (argc != 3 || strlen(argv[1]) >= sizeof(addr.sun_path) || (limit = atof(argv[2])) <= 0) {
        fprintf(stderr, "usage: xp_dgram_sink PATH SECONDS\n");
        return 2;
    }
    memcpy(addr.sun_path, argv[1], strlen(argv[1]) + 1);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    unlink(argv[1]);
    if (fd == -1 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1) {
        fprintf(stderr, "xp_dgram_sink: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    fprintf(stderr, "ready\n");
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        ssize_t n;

        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec + (now.tv_nsec - start.tv_nsec) / 1e9 >= limit)
            break;
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        n = recv(fd, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        printf("%s\n", buf);
        fflush(stdout);
    }
    close(fd);
    unlink(argv[1]);
    return 0;
}
