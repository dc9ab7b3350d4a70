/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NIC settings the pipeline depends on, and the NIC's own address.
 *
 * A (unit, destination) pair must reach one queue only, or its count would
 * split across workers. xpro asks the NIC to hash TCP and UDP on the IP
 * addresses alone (other protocols already hash on addresses), so every
 * packet of a pair lands on the same queue whatever its ports.
 */
#ifndef XP_NIC_H
#define XP_NIC_H

/*
 * Set RSS for TCP/UDP over IPv4/IPv6 to source + destination address.
 * 0, or -EOPNOTSUPP when the driver has no configurable RSS (veth: there
 * the sender's TX queue picks the receive queue), -EINVAL for a name of
 * IFNAMSIZ bytes or more (never cut: it would name another device), or
 * another -errno.
 */
int xp_nic_rss_on_addresses(const char *ifname);

#include <stdint.h>

/*
 * The interface's receive queues: RX-only plus combined channels
 * (ETHTOOL_GCHANNELS), and the most it could have. 0, or -errno
 * (-EOPNOTSUPP: the driver does not say).
 */
int xp_nic_rx_queues(const char *ifname, unsigned *count, unsigned *max);

/*
 * Give the interface n receive queues: n combined channels if it has
 * combined channels, else n RX channels (ETHTOOL_SCHANNELS). 0 or -errno.
 */
int xp_nic_set_rx_queues(const char *ifname, unsigned n);

/* The interface's Ethernet address. 0, or -errno (-EAFNOSUPPORT: not Ethernet). */
int xp_nic_mac(const char *ifname, uint8_t mac[6]);

#endif /* XP_NIC_H */
