/* SPDX-License-Identifier: MIT */
/*
 * virtq.h - the split virtqueue (virtio 1.2 section 2.7), transport-agnostic:
 * virtio-pci and virtio-mmio both drive it, device models consume it.
 *
 * The guest is hostile.  Every index, length and address it controls is
 * validated here; any violation marks the queue broken (q->broken), logs one
 * line, and makes every later call a no-op, and the caller then puts its
 * device into NEEDS_RESET.  Nothing a guest writes can make these functions
 * loop forever, read or write outside guest RAM, or crash ktvm.
 *
 * Threading: one thread at a time per queue (the device's worker); the
 * transport configures the queue only while the device is not running.
 * Other threads (statistics) may look at a running queue only under the
 * device's lock, which virtq_enable() and virtq_reset() are called under
 * (it keeps the ring pointers and size still), and must load the fields
 * the worker changes (last_avail_idx, published_used, signalled_used,
 * broken) with atomic loads: the worker stores them atomically.
 */
#ifndef KTVM_VIRTQ_H
#define KTVM_VIRTQ_H

#include <sys/uio.h>
#include <linux/virtio_ring.h>

#include "vmm/ktvm.h"

#define VIRTQ_MAX_SIZE 1024 /* largest queue size ktvm offers (QueueNumMax) */
#define VIRTQ_MAX_CHAIN 1024 /* longest chain walked, direct + indirect (<= size anyway) */

struct virtq {
	/* Set by the transport from the driver's register writes. */
	uint16_t max_size;	/* offered QueueNumMax */
	uint16_t size;		/* QueueSize chosen by the driver */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool enabled;		/* QueueEnable / QueueReady, after virtq_enable() succeeded */
	bool event_idx;		/* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;		/* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	uint16_t msix_vector;	/* PCI transport's business; VIRTIO_MSI_NO_VECTOR if none */

	/* Notification plumbing, set by the transport. */
	int kick_fd;		/* eventfd the driver's notifications arrive on (ioeventfd) */
	int call_fd;		/* eventfd that interrupts the driver (see virtio_notify_queue) */

	/* Host view, valid while enabled. */
	const struct guest_mem *mem;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail_idx; /* next avail ring entry to consume */
	uint16_t used_idx;	/* next used ring entry to fill (published by virtq_flush) */
	uint16_t published_used; /* used->idx as last published */
	uint16_t signalled_used; /* used idx at the last interrupt (EVENT_IDX) */
	bool signalled_valid;
	bool broken;
};

/*
 * A descriptor chain, flattened: the device-readable buffers first
 * (iov[0..n_out)), then the device-writable ones (iov[n_out..n_out+n_in)).
 * The iovecs point straight into guest RAM (no copies).
 */
struct virtq_chain {
	uint16_t head;
	uint16_t n_out, n_in;
	uint32_t out_bytes, in_bytes;
	struct iovec iov[VIRTQ_MAX_CHAIN];
};

/* Zero the queue's state; keeps max_size, mem, kick_fd and call_fd. */
void virtq_reset(struct virtq *q);
void virtq_init(struct virtq *q, const struct guest_mem *mem, uint16_t max_size);
/*
 * Validate size (power of two, 1..max_size) and ring addresses (alignment
 * 16/2/4, whole rings inside guest RAM), resolve host pointers, and start at
 * the rings' current indices.  0, or -1 after logging (queue stays disabled).
 */
int virtq_enable(struct virtq *q);

/*
 * Take the next available chain.  1: 'c' is filled.  0: nothing available.
 * -1: the guest broke the rules (descriptor index >= size, a loop or chain
 * longer than the queue, a nested or oversized indirect table, a buffer
 * outside RAM or wrapping, a readable buffer after a writable one, avail idx
 * more than 'size' ahead): q->broken is set and one line logged.
 */
int virtq_pop(struct virtq *q, struct virtq_chain *c);
/* Give back the last n popped chains (e.g. an RX frame did not fit). */
void virtq_unpop(struct virtq *q, uint16_t n);
/* Record a used element: 'len' bytes were written into the chain's buffers. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);
/* Publish the used elements pushed so far (one release store of used->idx). */
void virtq_flush(struct virtq *q);
/* After virtq_flush: does the driver want an interrupt (EVENT_IDX / NO_INTERRUPT)? */
bool virtq_should_interrupt(struct virtq *q);
/* Is anything available? (cheap; acquire-load of avail->idx) */
bool virtq_has_avail(struct virtq *q);
/*
 * Driver-to-device notification suppression: disable while the worker is
 * draining the ring, re-enable before sleeping.  virtq_enable_kicks returns
 * true if buffers arrived in between (the caller must then drain again).
 */
void virtq_disable_kicks(struct virtq *q);
bool virtq_enable_kicks(struct virtq *q);

#endif
