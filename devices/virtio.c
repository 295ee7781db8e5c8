// SPDX-License-Identifier: MIT
/*
 * virtio.c - the device status and feature negotiation rules every transport
 * shares (virtio 1.2 sections 2.1, 2.2, 3.1.1).
 *
 * Decisions where the spec leaves room:
 *  - A status write that clears any bit (other than writing 0) is ignored.
 *  - DEVICE_NEEDS_RESET belongs to the device: the driver can neither set nor
 *    clear it (only a reset does), so read-modify-write drivers are fine.
 *  - FEATURES_OK is dropped from the write (the driver reads it back clear)
 *    unless the accepted features are a subset of the offered ones and
 *    include VERSION_1: ktvm is a modern-only device.
 *  - DRIVER_OK without FEATURES_OK is a driver bug: DRIVER_OK is not set and
 *    the device goes NEEDS_RESET, so the driver can see what happened.
 *  - FAILED stops the data path (ops->reset) but keeps the status as written.
 */
#include <string.h>

#include "devices/virtio.h"

#define S_FEATURES_OK VIRTIO_CONFIG_S_FEATURES_OK
#define S_DRIVER_OK   VIRTIO_CONFIG_S_DRIVER_OK
#define S_NEEDS_RESET VIRTIO_CONFIG_S_NEEDS_RESET
#define S_FAILED      VIRTIO_CONFIG_S_FAILED

int virtio_dev_init(struct virtio_dev *d, struct vm *vm)
{
	if (!d->ops || !d->ops->features || (d->num_queues && !d->vqs))
		return -1;
	if (pthread_mutex_init(&d->lock, NULL))
		return -1;
	d->vm = vm;
	d->device_features = d->ops->features(d) | (1ULL << VIRTIO_F_VERSION_1);
	d->driver_features = 0;
	d->status = 0;
	atomic_store(&d->config_generation, 0);
	d->activated = false;
	return 0;
}

static uint8_t status_load(const struct virtio_dev *d)
{
	return __atomic_load_n(&d->status, __ATOMIC_ACQUIRE);
}

/* Store the driver-owned bits, keeping NEEDS_RESET a device thread may set meanwhile. */
static void status_store_driver_bits(struct virtio_dev *d, uint8_t bits)
{
	uint8_t cur = status_load(d);

	bits &= (uint8_t)~S_NEEDS_RESET;
	while (!__atomic_compare_exchange_n(&d->status, &cur,
					    (uint8_t)(bits | (cur & S_NEEDS_RESET)), false,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
}

static void virtio_reset(struct virtio_dev *d)
{
	if (d->ops->reset)
		d->ops->reset(d);
	for (unsigned int i = 0; i < d->num_queues; i++)
		virtq_reset(&d->vqs[i]);
	d->driver_features = 0;
	d->activated = false;
	/* The data path is stopped, so nothing can set NEEDS_RESET behind us now. */
	__atomic_store_n(&d->status, 0, __ATOMIC_RELEASE);
}

static bool features_acceptable(const struct virtio_dev *d)
{
	return !(d->driver_features & ~d->device_features) &&
	       (d->driver_features & (1ULL << VIRTIO_F_VERSION_1));
}

static void virtio_activate(struct virtio_dev *d)
{
	bool event_idx = d->driver_features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	bool indirect = d->driver_features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);

	for (unsigned int i = 0; i < d->num_queues; i++) {
		struct virtq *q = &d->vqs[i];

		if (q->enabled) {
			q->event_idx = event_idx;
			q->indirect = indirect;
		}
	}
	if (d->ops->activate && d->ops->activate(d) < 0) {
		log_warn_rl("virtio", "%s: activation failed: device needs reset",
			    d->name ? d->name : "?");
		virtio_set_needs_reset(d);
		return;
	}
	d->activated = true;
}

void virtio_set_status(struct virtio_dev *d, uint8_t status)
{
	uint8_t old = status_load(d) & (uint8_t)~S_NEEDS_RESET;
	uint8_t added;

	if (status == 0) {
		virtio_reset(d);
		return;
	}
	status &= (uint8_t)~S_NEEDS_RESET;
	if (old & ~status) {
		log_once(LOG_WARN, "virtio",
			 "driver tried to clear status bits (0x%x -> 0x%x): ignored", old, status);
		return;
	}
	added = status & (uint8_t)~old;
	if ((added & S_FEATURES_OK) && !features_acceptable(d)) {
		log_once(LOG_WARN, "virtio",
			 "driver accepted features 0x%llx (offered 0x%llx, VERSION_1 required): "
			 "FEATURES_OK refused",
			 (unsigned long long)d->driver_features,
			 (unsigned long long)d->device_features);
		status &= (uint8_t)~S_FEATURES_OK;
		added &= (uint8_t)~S_FEATURES_OK;
	}
	if ((added & S_DRIVER_OK) && !(status & S_FEATURES_OK)) {
		log_once(LOG_WARN, "virtio", "DRIVER_OK without FEATURES_OK: device needs reset");
		status &= (uint8_t)~S_DRIVER_OK;
		status_store_driver_bits(d, status);
		virtio_set_needs_reset(d);
		return;
	}
	status_store_driver_bits(d, status);

	if (status & S_FAILED) {
		/* The driver gave up: stop the data path, keep the status for it to read. */
		if ((added & S_FAILED) && d->activated) {
			if (d->ops->reset)
				d->ops->reset(d);
			d->activated = false;
		}
		return;
	}
	if ((added & S_DRIVER_OK) && !(status_load(d) & S_NEEDS_RESET))
		virtio_activate(d);
}

void virtio_set_driver_features(struct virtio_dev *d, unsigned int select, uint32_t value)
{
	if (status_load(d) & S_FEATURES_OK) {
		log_once(LOG_WARN, "virtio", "driver features written after FEATURES_OK: ignored");
		return;
	}
	if (select == 0)
		d->driver_features = (d->driver_features & ~0xffffffffULL) | value;
	else if (select == 1)
		d->driver_features = (d->driver_features & 0xffffffffULL) | ((uint64_t)value << 32);
	else if (value)
		/* No feature bits exist above 63: a set bit there is a driver bug. */
		log_once(LOG_WARN, "virtio", "%s: driver feature word %u = 0x%x: ignored", d->name,
			 select, value);
}

void virtio_queue_enable(struct virtio_dev *d, struct virtq *q, uint32_t value)
{
	if (value != 1) {
		log_once(LOG_WARN, "virtio", "%s: queue enable written with %u: ignored", d->name,
			 value);
		return;
	}
	q->event_idx = d->driver_features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	q->indirect = d->driver_features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	if (virtq_enable(q)) {
		q->enabled = false;
		virtio_set_needs_reset(d);
	}
}

bool virtio_queue_config_allowed(const struct virtio_dev *d)
{
	uint8_t s = status_load(d);

	return (s & S_FEATURES_OK) && !(s & S_DRIVER_OK);
}

void virtio_set_needs_reset(struct virtio_dev *d)
{
	uint8_t old = __atomic_fetch_or(&d->status, S_NEEDS_RESET, __ATOMIC_ACQ_REL);

	/* Virtio 1.2 2.1.2: after DRIVER_OK, tell the driver with a config change. */
	if (!(old & S_NEEDS_RESET) && (old & S_DRIVER_OK))
		virtio_config_changed(d);
}

void virtio_notify_queue(struct virtio_dev *d, struct virtq *q)
{
	if (virtq_should_interrupt(q) && d->t && d->t->notify_queue)
		d->t->notify_queue(d, q);
}

void virtio_config_changed(struct virtio_dev *d)
{
	atomic_fetch_add(&d->config_generation, 1);
	if (d->t && d->t->notify_config)
		d->t->notify_config(d);
}

void virtio_detach(struct virtio_dev *d)
{
	if (d->t && d->t->detach)
		d->t->detach(d);
	d->t = NULL;
	d->t_priv = NULL;
}

int virtio_attach(struct vm *vm, struct virtio_dev *d, bool msix)
{
	return arch_virtio_attach(vm, d, msix);
}

void virtio_bus(struct vm *vm, struct virtio_bus_info *out)
{
	arch_virtio_bus(vm, out);
}
