// SPDX-License-Identifier: GPL-2.0-only
/*
 * tx-csum-off: switches off DEV's TX checksum offload (ethtool -K DEV tx off, without
 * ethtool): on veth the kernel leaves UDP/TCP checksums to an offload that an AF_XDP
 * forwarder does not perform.
 */
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "src/util/exit_codes.h"
#include "src/util/log.h"
#include "tools/gen/gen.h"

struct tx_csum_off_opts {
    const char *ifname;
};

static const struct tx_csum_off_opts defaults_tx_csum_off = {
    .ifname = NULL,
};

#define TX_CSUM_OFF_REQ(...) XP_GEN_OPT_REQUIRED(struct tx_csum_off_opts, __VA_ARGS__)

static const struct xp_gen_opt tx_csum_off_table[] = {
    TX_CSUM_OFF_REQ("ifname", "DEV", ifname, "the interface"),
    { NULL },
};

static int cmd_tx_csum_off(const void *opts)
{
    const char *ifname = ((const struct tx_csum_off_opts *)opts)->ifname;
    struct ethtool_value ev = {.cmd = ETHTOOL_STXCSUM, .data = 0};
    struct ifreq ifr;
    int fd, rc = EXIT_OK;

    if (!xp_gen_ifindex(ifname))
        return EXIT_FAIL_IFACE;
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd == -1) {
        pr_err("socket: %s", strerror(errno));
        return EXIT_FAIL;
    }
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    ifr.ifr_data = (void *)&ev;
    if (ioctl(fd, SIOCETHTOOL, &ifr) == -1) {
        pr_err("%s: ETHTOOL_STXCSUM: %s", ifname, strerror(errno));
        rc = EXIT_FAIL;
    }
    close(fd);
    return rc;
}

XP_GEN_DEFINE_CMD(tx_csum_off, "tx-csum-off", false,
                  "Switches off DEV's TX checksum offload (ethtool -K DEV tx off).");
