// SPDX-License-Identifier: GPL-2.0-only
#include "src/nic.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int xp_nic_rss_on_addresses(const char *ifname)
{
    static const unsigned flows[] = { TCP_V4_FLOW, UDP_V4_FLOW, TCP_V6_FLOW, UDP_V6_FLOW };
    struct ifreq ifr;
    int fd, ret = 0;

    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -errno;
    for (unsigned i = 0; i < sizeof(flows) / sizeof(flows[0]); i++) {
        struct ethtool_rxnfc nfc = {
            .cmd = ETHTOOL_SRXFH,
            .flow_type = flows[i],
            .data = RXH_IP_SRC | RXH_IP_DST,
        };

        memset(&ifr, 0, sizeof(ifr));
        strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
        ifr.ifr_data = (void *)&nfc;
        if (ioctl(fd, SIOCETHTOOL, &ifr) == -1) {
            ret = -errno;
            break;
        }
    }
    close(fd);
    return ret;
}
