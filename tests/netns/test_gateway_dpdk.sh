#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Gateway mode on the DPDK backend: test_gateway.sh's checks, unchanged, with the proxies on
# net_af_packet vdevs (see test_gateway.sh for what differs in the topology, and why).
XP_TEST_NAME=test_gateway_dpdk XP_GW_BACKEND=dpdk exec bash "$(dirname "$0")/test_gateway.sh" "$@"
