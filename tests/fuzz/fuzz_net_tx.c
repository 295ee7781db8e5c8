// SPDX-License-Identifier: MIT
/*
 * fuzz_net_tx.c - virtio-net TX (guest -> TAP) with hostile rings and
 * buffers; see net.inc.  The fake TAP fills up (EAGAIN) and drains.
 */
#include "tests/fuzz/net.inc"

static void net_fuzz_one(struct fuzz_in *in)
{
	struct net_pair *p = &net->pairs[0];

	if (!load_ram_and_activate(in))
		return;
	for (int round = 0; round < 8; round++) {
		process_tx(p);
		if (p->tx_wait) {
			/* The TAP drained: the worker's EPOLLOUT. */
			drain(host_fd[0]);
			p->tx_wait = false;
			continue;
		}
		if (!p->tx_more)
			break;
	}
}
