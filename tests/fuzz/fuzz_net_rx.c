// SPDX-License-Identifier: MIT
/*
 * fuzz_net_rx.c - virtio-net RX (TAP -> guest): frames of any size from the
 * fake TAP into hostile rings and buffers (mergeable or not); see net.inc.
 */
#define NET_KINDS K_POST_RX, K_POST_RX, K_HOST_SEND, K_HOST_SEND, K_RUN_RX, K_RX_KICK, K_HOSTILE
#include "tests/fuzz/net.inc"
