/* SPDX-License-Identifier: MIT */
/*
 * virtio.h - a virtio device as its transport sees it, and the device
 * status rules every transport shares (virtio 1.2 sections 2.1-2.4, 3.1).
 *
 * A device model (virtio-net) fills a struct virtio_dev with its ops and
 * queues; a transport (virtio-pci on x86_64, virtio-mmio on aarch64, chosen
 * by the architecture: virtio_attach() below) exposes it to the guest and
 * calls the virtio_*() helpers below for the generic rules, so both
 * transports behave identically.
 */
#ifndef KTVM_VIRTIO_H
#define KTVM_VIRTIO_H

#include <linux/virtio_config.h>

#include "devices/virtq.h"

struct virtio_dev;

struct virtio_dev_ops {
	/* Feature bits the device offers (VIRTIO_F_VERSION_1 is added by the core). */
	uint64_t (*features)(struct virtio_dev *d);
	/*
	 * DRIVER_OK was set: d->driver_features and the enabled queues are final;
	 * start the data path.  Return -1 to put the device into NEEDS_RESET.
	 */
	int (*activate)(struct virtio_dev *d);
	/* The driver reset the device (status 0), or ktvm is stopping: stop the data path. */
	void (*reset)(struct virtio_dev *d);
	/* Device-specific configuration space, config_size bytes. */
	uint32_t config_size;
	void (*config_read)(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t size);
	void (*config_write)(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t size);
};

/* What a device may ask of whichever transport carries it. */
struct virtio_transport_ops {
	/* Interrupt the driver for a used-buffer notification on queue q (lock-free). */
	void (*notify_queue)(struct virtio_dev *d, struct virtq *q);
	/* Interrupt the driver for a configuration change. */
	void (*notify_config)(struct virtio_dev *d);
	/* Does this transport give each queue its own interrupt (MSI-X)? */
	bool (*has_msix)(struct virtio_dev *d);
	/* Take the transport away and free it (the device's threads are stopped). */
	void (*detach)(struct virtio_dev *d);
};

struct virtio_dev {
	uint32_t device_id;	/* VIRTIO_ID_NET, ... */
	const char *name;	/* "net0": for logs and thread names */
	const struct virtio_dev_ops *ops;
	void *priv;		/* the device model's state */
	struct vm *vm;
	unsigned int num_queues;
	struct virtq *vqs;	/* num_queues of them, allocated by the device model */

	/* Common state, driven by the transport through the helpers below. */
	pthread_mutex_t lock;	/* register file vs. device threads */
	uint64_t device_features; /* ops->features() | VIRTIO_F_VERSION_1, fixed at init */
	uint64_t driver_features;
	uint8_t status;
	atomic_uint config_generation;
	bool activated;

	const struct virtio_transport_ops *t;
	void *t_priv;
};

/* Fill in the common part; the device model sets ops/priv/queues first. */
int virtio_dev_init(struct virtio_dev *d, struct vm *vm);
/* Free d's transport, if it has one that can be taken away (d->t is NULL after). */
void virtio_detach(struct virtio_dev *d);

/*
 * The bus-neutral attach.  A device model never names a transport: it asks
 * the architecture, which knows its bus (x86_64: a PCI function with MSI-X,
 * or INTx with msix off; aarch64: the next virtio-mmio window with its SPI,
 * irqfd and device-tree node).  The transport is freed by virtio_detach().
 */
struct virtio_bus_info {
	const char *name; /* "virtio-pci", "virtio-mmio": for log lines */
	bool msix;	  /* can a transport here give each queue its own interrupt? */
};

/* Give d (virtio_dev_init done) a transport; msix: asked for, if the bus has it.  0 or -1. */
int virtio_attach(struct vm *vm, struct virtio_dev *d, bool msix);
/* What the architecture's virtio bus offers (before building a device's queues). */
void virtio_bus(struct vm *vm, struct virtio_bus_info *out);

/* Architecture hooks behind the two above: arch/ARCH/virtio_bus.c. */
int arch_virtio_attach(struct vm *vm, struct virtio_dev *d, bool msix);
void arch_virtio_bus(struct vm *vm, struct virtio_bus_info *out);

/*
 * A driver write of the device status register, with the spec's rules:
 * 0 resets; bits are only ever added; FEATURES_OK sticks only if the
 * accepted features are a subset of the offered ones and include
 * VERSION_1; DRIVER_OK activates the device.  Caller holds d->lock.
 */
void virtio_set_status(struct virtio_dev *d, uint8_t status);
/* Driver feature word writes (32-bit halves); ignored after FEATURES_OK. Caller holds d->lock. */
void virtio_set_driver_features(struct virtio_dev *d, unsigned int select, uint32_t value);
/*
 * The driver enabled queue q (QueueEnable / QueueReady written with 'value'):
 * only 1 means anything; the rings are validated and a bad layout puts the
 * device into NEEDS_RESET.  Caller holds d->lock and has checked
 * virtio_queue_config_allowed().
 */
void virtio_queue_enable(struct virtio_dev *d, struct virtq *q, uint32_t value);
/* May the driver change queue configuration now (FEATURES_OK set, DRIVER_OK not)? */
bool virtio_queue_config_allowed(const struct virtio_dev *d);
/* Something went wrong that only a reset can fix: NEEDS_RESET + config interrupt. */
void virtio_set_needs_reset(struct virtio_dev *d);
/* A device thread tells the driver about used buffers on q (if it wants to know). */
void virtio_notify_queue(struct virtio_dev *d, struct virtq *q);
/* The device's config space changed (link status, ...): bump generation, interrupt. */
void virtio_config_changed(struct virtio_dev *d);

#endif
