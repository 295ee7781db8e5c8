/* SPDX-License-Identifier: MIT */
/*
 * virtio_mmio.h - the virtio-mmio transport, version 2 (virtio 1.2 section
 * 4.2.2): a 0x200-byte register window on the MMIO bus, one edge-triggered
 * interrupt line (an irqfd on a GSI), queue notifications through KVM
 * ioeventfds with datamatch on the queue index.  No MSI-X: one interrupt for
 * everything, told apart by InterruptStatus.
 */
#ifndef KTVM_VIRTIO_MMIO_H
#define KTVM_VIRTIO_MMIO_H

#include "devices/virtio.h"

#define VIRTIO_MMIO_WINDOW     0x200u
#define VIRTIO_MMIO_MAGIC      0x74726976u /* "virt" */
#define VIRTIO_MMIO_VERSION_2  2u
#define VIRTIO_MMIO_VENDOR     0x4d56544bu /* "KTVM" */
#define VIRTIO_MMIO_CONFIG_OFF 0x100u
#define VIRTIO_MMIO_CONFIG_MAX (VIRTIO_MMIO_WINDOW - VIRTIO_MMIO_CONFIG_OFF)

struct virtio_mmio;

/*
 * Expose d (ops, queues, virtio_dev_init done) at [base, base + 0x200) of
 * vm->mmio, interrupting through 'gsi' (on arm64: the SPI number).  NULL
 * after logging on failure.
 */
struct virtio_mmio *virtio_mmio_create(struct vm *vm, struct virtio_dev *d, uint64_t base,
				       uint32_t gsi);
/*
 * Bind the interrupt eventfd to the GSI (KVM_IRQFD).  Separate because arm64
 * KVM refuses irqfds (EAGAIN) until its GIC is initialised, after the vCPUs.
 */
int virtio_mmio_connect_irq(struct virtio_mmio *m);
/* Unregister and free (the device's data path must be stopped). */
void virtio_mmio_destroy(struct virtio_mmio *vm_);

/* The register window's handler (exposed for tests). */
void virtio_mmio_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write);

#endif
