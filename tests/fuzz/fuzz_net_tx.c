// SPDX-License-Identifier: MIT
/*
 * fuzz_net_tx.c - virtio-net TX (guest -> TAP) with hostile rings and
 * buffers; see net.inc.  The fake TAP fills up (EAGAIN) and is read.
 */
#define NET_KINDS K_POST_TX, K_POST_TX, K_RUN_TX, K_HOST_READ, K_HOSTILE
#include "tests/fuzz/net.inc"
