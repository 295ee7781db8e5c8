/* SPDX-License-Identifier: MIT */
/*
 * virtio_net.h - virtio-net (virtio 1.2 section 5.1) over a TAP device: one
 * or more queue pairs (pair p: RX = queue 2p, TX = queue 2p + 1; with
 * multiqueue the control queue is last), each served by its own worker
 * thread on its own TAP queue, moving frames between the TAP and guest
 * memory without copying.
 */
#ifndef KTVM_VIRTIO_NET_H
#define KTVM_VIRTIO_NET_H

#include "devices/virtio.h"
#include "vmm/net_config.h"

#define VIRTIO_NET_QUEUE_SIZE 256
#define VIRTIO_NET_RXQ	      0
#define VIRTIO_NET_TXQ	      1
#define VIRTIO_NET_RXQ_OF(p)  (2 * (p))
#define VIRTIO_NET_TXQ_OF(p)  (2 * (p) + 1)

/*
 * Per-queue counters, written by the worker only with relaxed atomic stores;
 * readers while it runs use __atomic_load_n(.., __ATOMIC_RELAXED) (vmm/stats.c).
 */
struct net_queue_stats {
	uint64_t packets, bytes; /* frames moved, bytes without the vnet header */
	uint64_t drop_oversize;	 /* RX: frame larger than the buffers offered */
	uint64_t drop_short;	 /* a frame or buffer shorter than the vnet header */
	uint64_t drop_error;	 /* the TAP refused the frame or failed */
	uint64_t kicks;		 /* driver notifications consumed */
	uint64_t interrupts;	 /* used-buffer interrupts sent */
	uint64_t irq_suppressed; /* used buffers published without one (EVENT_IDX, NO_INTERRUPT) */
	uint64_t eagain;	 /* the TAP was full (TX) or empty (RX) */
	uint64_t no_buffers;	 /* RX: waited for the guest to refill */
};

/*
 * A queue's ring state as ktvm sees it, for diagnosing a stalled queue
 * (stats "ring" object).  Read racily while the worker runs: each field is
 * true at some instant, not all at the same one.
 */
struct net_queue_state {
	bool enabled, broken;
	bool waiting;		   /* RX: no buffers, TAP not polled; TX: TAP full, waits EPOLLOUT */
	bool more;		   /* budget exhausted: the worker comes back without sleeping */
	uint16_t size;
	uint16_t avail_idx;	   /* guest's avail->idx */
	uint16_t last_avail;	   /* next avail entry ktvm consumes */
	uint16_t used_idx;	   /* used->idx as published */
	uint16_t signalled_used;   /* used idx at the last interrupt decision (EVENT_IDX) */
	uint16_t used_event;	   /* guest's used_event (EVENT_IDX) */
	uint16_t avail_event;	   /* ktvm's avail_event (EVENT_IDX) */
	uint16_t avail_flags, used_flags;
	uint16_t msix_vector;
	uint32_t tap_events;	   /* EPOLLIN/EPOLLOUT the pair's TAP fd is polled for */
};

/* Control queue counters, written by the control thread only. */
struct net_ctrl_stats {
	uint64_t ok, err;   /* commands answered VIRTIO_NET_OK / VIRTIO_NET_ERR */
	uint64_t malformed; /* no header, or too long */
	uint64_t no_status; /* no writable status byte: returned with length 0 */
	uint64_t pairs_set; /* successful VQ_PAIRS_SET */
};

struct virtio_net;

/*
 * How many queue pairs a NIC has: cfg->queue_pairs when it is more than one
 * and the transport carries MSI-X, else 1 (NetConfig: multiqueue needs
 * per-queue interrupts).
 */
unsigned int virtio_net_pairs_for(const struct net_config *cfg, bool transport_msix);

/*
 * Build NIC 'index' from cfg on any architecture: open or adopt the TAP,
 * create the device, attach it to the architecture's virtio bus
 * (virtio_attach) and add it to the VM's devices.  0, or -1 after logging
 * one clear line.
 */
int virtio_net_create(struct vm *vm, const struct net_config *cfg, unsigned int index);

/* The device type (devices/net_device.c): a NIC is a device of its VM, freed by vm_destroy(). */
extern const struct ktvm_device_type ktvm_device_net;

/*
 * The device without transport, on an open backend fd (a TAP, or in tests a
 * SOCK_SEQPACKET socket: anything that keeps frame boundaries and takes the
 * vnet header).  Its queues are initialised; d->t is left to the caller.
 */
struct virtio_net *virtio_net_new(struct vm *vm, const struct net_config *cfg, unsigned int index,
				  int fd, bool fd_is_tap);
/*
 * The same with one backend fd per queue pair: nfds must be
 * virtio_net_pairs_for(cfg, transport_msix).  With fd_is_tap and several
 * pairs, the fds are the queues of one IFF_MULTI_QUEUE TAP.
 */
struct virtio_net *virtio_net_new_mq(struct vm *vm, const struct net_config *cfg,
				     unsigned int index, const int *fds, unsigned int nfds,
				     bool fd_is_tap, bool transport_msix);
/* Stop the worker, free the transport and the device (the fd is closed only if owned). */
void virtio_net_destroy(struct virtio_net *n);
struct virtio_dev *virtio_net_vdev(struct virtio_net *n);
/* Counters of device queue 'queue' (2p: pair p's RX, 2p + 1: its TX), NULL past the pairs. */
const struct net_queue_stats *virtio_net_stats(const struct virtio_net *n, unsigned int queue);
/*
 * Snapshot queue 'queue's ring state (takes the device lock: not from a thread
 * holding it); false if there is no such data queue.
 */
bool virtio_net_queue_state(struct virtio_net *n, unsigned int queue,
			    struct net_queue_state *out);
const struct net_ctrl_stats *virtio_net_ctrl_stats(const struct virtio_net *n);
unsigned int virtio_net_max_pairs(const struct virtio_net *n);
/* Pairs the driver has made active (0 while the device is not running). */
unsigned int virtio_net_active_pairs(struct virtio_net *n);
bool virtio_net_pair_running(const struct virtio_net *n, unsigned int pair);
const char *virtio_net_name(const struct virtio_net *n);   /* "net0" */
const char *virtio_net_ifname(const struct virtio_net *n); /* the TAP's name, or "" */
void virtio_net_mac(struct virtio_net *n, uint8_t mac[6]); /* the MAC as the guest sees it */
struct net_pcap *virtio_net_pcap(const struct virtio_net *n); /* NULL without pcap= */
/* fn on every NIC of vm, in creation order (main thread: statistics). */
void virtio_net_for_each(struct vm *vm, void (*fn)(struct virtio_net *n, void *opaque),
			 void *opaque);

#endif
