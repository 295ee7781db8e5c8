/* SPDX-License-Identifier: MIT */
/*
 * virtio_net.h - virtio-net (virtio 1.2 section 5.1) over a TAP device: one
 * queue pair (RX = queue 0, TX = queue 1), served by one worker thread that
 * moves frames between the TAP and guest memory without copying.
 */
#ifndef KTVM_VIRTIO_NET_H
#define KTVM_VIRTIO_NET_H

#include "devices/virtio.h"

#define VIRTIO_NET_QUEUE_SIZE 256
#define VIRTIO_NET_RXQ	      0
#define VIRTIO_NET_TXQ	      1

/* Per-queue counters, written by the worker only (read them when it is stopped, or as hints). */
struct net_queue_stats {
	uint64_t packets, bytes; /* frames moved, bytes without the vnet header */
	uint64_t drop_oversize;	 /* RX: frame larger than the buffers offered */
	uint64_t drop_short;	 /* a frame or buffer shorter than the vnet header */
	uint64_t drop_error;	 /* the TAP refused the frame or failed */
	uint64_t kicks;		 /* driver notifications consumed */
	uint64_t interrupts;	 /* used-buffer interrupts sent */
	uint64_t eagain;	 /* the TAP was full (TX) or empty (RX) */
	uint64_t no_buffers;	 /* RX: waited for the guest to refill */
};

struct virtio_net;

/*
 * Build NIC 'index' from cfg: open or adopt the TAP, create the device and
 * its virtio-pci function.  0, or -1 after logging one clear line.
 */
int virtio_net_create(struct vm *vm, const struct net_config *cfg, unsigned int index);

/* ktvm is stopping (vCPUs joined, guest memory still mapped): stop every NIC's worker. */
void virtio_net_stop_all(struct vm *vm);

/*
 * The device without transport, on an open backend fd (a TAP, or in tests a
 * SOCK_SEQPACKET socket: anything that keeps frame boundaries and takes the
 * vnet header).  Its queues are initialised; d->t is left to the caller.
 */
struct virtio_net *virtio_net_new(struct vm *vm, const struct net_config *cfg, unsigned int index,
				  int fd, bool fd_is_tap);
/* Stop the worker and free (the fd is closed only if the device opened it). */
void virtio_net_destroy(struct virtio_net *n);
struct virtio_dev *virtio_net_vdev(struct virtio_net *n);
const struct net_queue_stats *virtio_net_stats(const struct virtio_net *n, unsigned int queue);

#endif
