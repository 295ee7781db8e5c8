// SPDX-License-Identifier: MIT
/*
 * fuzz_net_ctrl.c - the virtio-net control queue: any command chains (MQ
 * VQ_PAIRS_SET starting and stopping pair 1, RX mode, MAC tables, MAC
 * address, guest offloads, announce, garbage), interleaved with both
 * pairs' data paths in whatever state the commands leave, and config
 * space reads; see net.inc.
 */
#define NET_KINDS                                                                       \
	K_POST_CTRL, K_POST_CTRL, K_RUN_CTRL, K_POST_TX, K_POST_RX, K_RUN_TX, K_RUN_RX, \
		K_HOST_SEND, K_HOST_READ, K_RX_KICK, K_CFG_READ, K_HOSTILE
#include "tests/fuzz/net.inc"
