// SPDX-License-Identifier: MIT
/* virtio_driver.c - the fake guest driver of tests and benchmarks (see virtio_driver.h). */
#include <string.h>
#include <unistd.h>

#include "tests/common/virtio_driver.h"

int vdrv_queue_setup(struct vdrv_queue *d, struct virtq *q, const struct guest_mem *mem,
		     unsigned int index, uint16_t size, bool event_idx)
{
	uint64_t base = VDRV_RING_GPA(index);
	void *rings = gmem_ptr(mem, base, 0x8000 + 6 + 8ULL * size + 2);

	memset(d, 0, sizeof(*d));
	if (!rings || size > 0x400)
		return -1;
	memset(rings, 0, 0x8000 + 6 + 8ULL * size + 2);
	d->q = q;
	d->size = size;
	d->event_idx = event_idx;
	d->desc_gpa = base;
	d->avail_gpa = base + 0x4000;
	d->used_gpa = base + 0x8000;
	d->desc = gmem_ptr(mem, d->desc_gpa, 16ULL * size);
	d->avail = gmem_ptr(mem, d->avail_gpa, 6 + 2ULL * size);
	d->used = gmem_ptr(mem, d->used_gpa, 6 + 8ULL * size);
	q->size = size;
	q->desc_gpa = d->desc_gpa;
	q->avail_gpa = d->avail_gpa;
	q->used_gpa = d->used_gpa;
	/* What the transport sets from the negotiated features. */
	q->event_idx = event_idx;
	return virtq_enable(q);
}

int vdrv_negotiate(struct virtio_dev *vd, uint64_t features)
{
	virtio_set_status(vd, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	virtio_set_driver_features(vd, 0, (uint32_t)features);
	virtio_set_driver_features(vd, 1, (uint32_t)(features >> 32));
	virtio_set_status(vd, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				      VIRTIO_CONFIG_S_FEATURES_OK);
	return virtio_queue_config_allowed(vd) ? 0 : -1;
}

int vdrv_driver_ok(struct virtio_dev *vd)
{
	uint8_t want = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;

	virtio_set_status(vd, want);
	return vd->status == want ? 0 : -1;
}

uint16_t vdrv_post_chain(struct vdrv_queue *d, const uint64_t *gpa, const uint32_t *len,
			 const bool *w, int n)
{
	uint16_t head = d->next_desc % d->size;

	for (int i = 0; i < n; i++) {
		uint16_t k = (uint16_t)((head + i) % d->size);

		d->desc[k].addr = gpa[i];
		d->desc[k].len = len[i];
		d->desc[k].flags = (uint16_t)((i < n - 1 ? VRING_DESC_F_NEXT : 0) |
					      (w[i] ? VRING_DESC_F_WRITE : 0));
		d->desc[k].next = (uint16_t)((k + 1) % d->size);
	}
	d->next_desc = (uint16_t)(d->next_desc + n);
	d->avail->ring[d->avail_idx % d->size] = head;
	d->avail_idx++;
	vdrv_publish(d);
	return head;
}

void vdrv_post_one(struct vdrv_queue *d, uint16_t id, uint64_t gpa, uint32_t len, bool writable)
{
	d->desc[id].addr = gpa;
	d->desc[id].len = len;
	d->desc[id].flags = writable ? VRING_DESC_F_WRITE : 0;
	d->desc[id].next = 0;
	d->avail->ring[d->avail_idx % d->size] = id;
	d->avail_idx++;
}

void vdrv_publish(struct vdrv_queue *d)
{
	__atomic_store_n(&d->avail->idx, d->avail_idx, __ATOMIC_RELEASE);
}

int vdrv_kick(struct vdrv_queue *d)
{
	uint64_t one = 1;

	return write(d->q->kick_fd, &one, sizeof(one)) == sizeof(one) ? 0 : -1;
}

int vdrv_kick_if_needed(struct vdrv_queue *d)
{
	uint16_t old = d->kick_old;
	bool need;

	d->kick_old = d->avail_idx;
	/* Our avail idx store before the device's suppression state: its mirror image. */
	atomic_thread_fence(memory_order_seq_cst);
	if (d->event_idx)
		need = vring_need_event(
			__atomic_load_n((uint16_t *)&d->used->ring[d->size], __ATOMIC_RELAXED),
			d->avail_idx, old);
	else
		need = !(__atomic_load_n(&d->used->flags, __ATOMIC_RELAXED) &
			 VRING_USED_F_NO_NOTIFY);
	if (!need)
		return 0;
	return vdrv_kick(d) ? -1 : 1;
}

uint16_t vdrv_used_idx(const struct vdrv_queue *d)
{
	return __atomic_load_n(&d->used->idx, __ATOMIC_ACQUIRE);
}

bool vdrv_get_used(struct vdrv_queue *d, uint32_t *id, uint32_t *len)
{
	const struct vring_used_elem *e;

	if (vdrv_used_idx(d) == d->used_seen)
		return false;
	e = &d->used->ring[d->used_seen % d->size];
	*id = e->id;
	*len = e->len;
	d->used_seen++;
	return true;
}

bool vdrv_arm_interrupt(struct vdrv_queue *d, uint16_t ahead)
{
	__atomic_store_n(&d->avail->ring[d->size], (uint16_t)(d->used_seen + ahead),
			 __ATOMIC_RELAXED);
	atomic_thread_fence(memory_order_seq_cst);
	return vdrv_used_idx(d) != d->used_seen;
}
