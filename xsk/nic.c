// SPDX-License-Identifier: GPL-2.0-only
#include "xsk/nic.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <net/if_arp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int xp_nic_ethtool(const char *ifname, void *cmd)
{
    struct ifreq ifr = { 0 };
    int fd, ret = 0;

    if (strlen(ifname) >= sizeof(ifr.ifr_name))
        return -EINVAL;
    memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
    ifr.ifr_data = cmd;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
        ret = -errno;
    close(fd);
    return ret;
}

int xp_nic_rss_on_addresses(const char *ifname)
{
    static const unsigned flows[] = { TCP_V4_FLOW, UDP_V4_FLOW, TCP_V6_FLOW, UDP_V6_FLOW };

    for (unsigned i = 0; i < sizeof(flows) / sizeof(flows[0]); i++) {
        struct ethtool_rxnfc nfc = {
            .cmd = ETHTOOL_SRXFH,
            .flow_type = flows[i],
            .data = RXH_IP_SRC | RXH_IP_DST,
        };
        int ret = xp_nic_ethtool(ifname, &nfc);

        if (ret)
            return ret;
    }
    return 0;
}

int xp_nic_rx_queues(const char *ifname, unsigned *count, unsigned *max)
{
    struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
    int ret = xp_nic_ethtool(ifname, &ch);

    if (ret)
        return ret;
    *count = ch.rx_count + ch.combined_count;
    *max = ch.max_rx + ch.max_combined;
    return 0;
}

int xp_nic_set_rx_queues(const char *ifname, unsigned n)
{
    struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
    int ret = xp_nic_ethtool(ifname, &ch);

    if (ret)
        return ret;
    ch.cmd = ETHTOOL_SCHANNELS;
    if (ch.max_combined) {
        ch.combined_count = n;
        ch.rx_count = 0;
    } else {
        ch.rx_count = n;
    }
    return xp_nic_ethtool(ifname, &ch);
}

int xp_nic_mac(const char *ifname, uint8_t mac[6])
{
    struct ifreq ifr = { 0 };
    int fd, ret = 0;

    if (strlen(ifname) >= sizeof(ifr.ifr_name))
        return -EINVAL;
    memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
        ret = -errno;
    else if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
        ret = -EAFNOSUPPORT;
    else
        memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    close(fd);
    return ret;
}
