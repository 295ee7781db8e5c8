// SPDX-License-Identifier: MIT
/*
 * fuzz_net_rx.c - virtio-net RX (TAP -> guest): frames of any size from the
 * fake TAP into hostile rings and buffers (mergeable or not); see net.inc.
 * Part: nframes (1) | nframes x (length (2), bytes).
 */
#include "tests/fuzz/net.inc"

static void net_fuzz_one(struct fuzz_in *in)
{
	struct net_pair *p = &net->pairs[0];
	uint8_t nframes = fz_u8(in) % 16;

	for (int i = 0; i < nframes; i++) {
		uint16_t len = fz_u16(in);
		size_t k;

		/* Oversized frames (> the input) are zero-padded: the drop path wants them. */
		k = fz_bytes(in, frame_buf, len);
		if (k < len && len > 2048)
			len = (uint16_t)(k + (len & 0x3fff));
		if (send(host_fd[0], frame_buf, len, MSG_DONTWAIT) < 0)
			break;
	}
	if (!load_ram_and_activate(in))
		return;
	for (int round = 0; round < 4; round++) {
		process_rx(p);
		if (p->rx_wait)
			p->rx_wait = false; /* the driver kicked RX */
		else if (!p->rx_more)
			break;
	}
}
