// SPDX-License-Identifier: MIT
/*
 * virtio_bus.c - where a virtio device sits on aarch64: the next free
 * virtio-mmio window (layout.h) with its own SPI.  The window's irqfd is
 * bound once the GIC is initialised (gic.c: arm64_gic_finalize) and its
 * device-tree node written from the same table (machine.c: fill_fdt_info).
 * virtio-mmio has one interrupt line: no MSI-X, whatever the device asks.
 */
#include "arm64.h"
#include "devices/virtio.h"
#include "devices/virtio_mmio.h"

void arch_virtio_bus(struct vm *vm UNUSED, struct virtio_bus_info *out)
{
	*out = (struct virtio_bus_info){.name = "virtio-mmio", .msix = false};
}

int arch_virtio_attach(struct vm *vm, struct virtio_dev *d, bool msix UNUSED)
{
	struct arch_vm *a = vm->arch;
	unsigned int i = a->nmmio;
	struct virtio_mmio *m;

	if (i >= ARM64_VIRTIO_MMIO_MAX) {
		log_err("virtio-mmio", "%s: all %u windows are taken", d->name,
			ARM64_VIRTIO_MMIO_MAX);
		return -1;
	}
	m = virtio_mmio_create(vm, d, ARM64_VIRTIO_MMIO_BASE + i * ARM64_VIRTIO_MMIO_SIZE,
			       ARM64_VIRTIO_SPI_BASE + i);
	if (!m)
		return -1;
	/*
	 * The device owns its transport (virtio_detach frees it); the table
	 * only says which windows the guest is told about.  A device that
	 * fails after this point fails the whole VM's setup, so no window
	 * is ever connected or described after its device went.
	 */
	a->mmio[a->nmmio++] = m;
	return 0;
}
