// SPDX-License-Identifier: MIT
/*
 * fuzz_net_ctrl.c - the virtio-net control queue: any command chains (MQ
 * VQ_PAIRS_SET starting and stopping pair 1, RX mode, MAC tables, MAC
 * address, guest offloads, announce, garbage); see net.inc.  Then the
 * pairs' data paths run once with whatever state the commands left.
 */
#include "tests/fuzz/net.inc"

static void net_fuzz_one(struct fuzz_in *in)
{
	if (!load_ram_and_activate(in))
		return;
	process_ctrl(net);
	for (unsigned int i = 0; i < NET_PAIRS; i++) {
		if (!net->pairs[i].running)
			continue;
		process_tx(&net->pairs[i]);
		process_rx(&net->pairs[i]);
	}
	/* A config read after MAC_ADDR_SET. */
	uint8_t cfg[NET_CONFIG_SIZE];

	net_config_read(&net->vdev, 0, cfg, sizeof(cfg));
}
