/* SPDX-License-Identifier: MIT */
/*
 * virtio_driver.h - a fake guest driver for tests and benchmarks: it lays
 * out split rings in guest memory, negotiates features with a device's
 * status rules (devices/virtio.c), and posts and reaps buffers the way a
 * guest driver does, so device code runs with its real worker threads and
 * no guest.  Used by the virtio-net unit tests and tests/bench/datapath.c.
 *
 * Everything returns errors instead of asserting, so cmocka tests and the
 * benchmark can each report them their own way.
 */
#ifndef KTVM_TESTS_VIRTIO_DRIVER_H
#define KTVM_TESTS_VIRTIO_DRIVER_H

#include <linux/virtio_ring.h>

#include "devices/virtio.h"

/* Queue i's rings: descriptors at VDRV_RING_GPA(i), avail +0x4000, used +0x8000. */
#define VDRV_RING_GPA(i) (0x10000ULL * ((uint64_t)(i) + 1))

struct vdrv_queue {
	struct virtq *q; /* the device's side of it */
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t next_desc; /* vdrv_post_chain: next descriptor slot */
	uint16_t avail_idx; /* published by vdrv_publish */
	uint16_t used_seen; /* used entries reaped */
	uint16_t kick_old;  /* avail idx at the last kick decision (EVENT_IDX) */
	bool event_idx;
};

/*
 * Lay queue q (device queue 'index') out in guest memory at VDRV_RING_GPA,
 * 'size' entries, rings zeroed, and enable it on the device side.  Call
 * between FEATURES_OK and DRIVER_OK with vd->lock held.  0 or -1.
 */
int vdrv_queue_setup(struct vdrv_queue *d, struct virtq *q, const struct guest_mem *mem,
		     unsigned int index, uint16_t size, bool event_idx);

/*
 * ACKNOWLEDGE, DRIVER, the features, FEATURES_OK (under vd->lock, which the
 * caller holds until vdrv_driver_ok).  0, or -1 if the device refused them.
 */
int vdrv_negotiate(struct virtio_dev *vd, uint64_t features);
/* DRIVER_OK: 0, or -1 if the device did not start (caller holds vd->lock). */
int vdrv_driver_ok(struct virtio_dev *vd);

/*
 * A chain of n buffers in consecutive descriptor slots (w[i]: device-
 * writable), put on the avail ring and published at once.  Returns the head.
 */
uint16_t vdrv_post_chain(struct vdrv_queue *d, const uint64_t *gpa, const uint32_t *len,
			 const bool *w, int n);
/* A one-descriptor chain in slot 'id' on the avail ring, not yet published. */
void vdrv_post_one(struct vdrv_queue *d, uint16_t id, uint64_t gpa, uint32_t len, bool writable);
/* Publish the avail idx (release). */
void vdrv_publish(struct vdrv_queue *d);
/* Write the queue's kick eventfd: 0 or -1. */
int vdrv_kick(struct vdrv_queue *d);
/*
 * After vdrv_publish: kick only if the device asked for it (EVENT_IDX
 * avail_event, or no NO_NOTIFY flag), as Linux's virtqueue_kick_prepare.
 * 1 kicked, 0 not needed, -1 error.
 */
int vdrv_kick_if_needed(struct vdrv_queue *d);

/* The device's used idx (acquire). */
uint16_t vdrv_used_idx(const struct vdrv_queue *d);
/* Reap the next used entry: true and *id, *len, or false if there is none. */
bool vdrv_get_used(struct vdrv_queue *d, uint32_t *id, uint32_t *len);
/*
 * EVENT_IDX: ask for the next interrupt 'ahead' entries past what was
 * reaped.  True if entries arrived meanwhile (reap them, do not sleep).
 */
bool vdrv_arm_interrupt(struct vdrv_queue *d, uint16_t ahead);

#endif
