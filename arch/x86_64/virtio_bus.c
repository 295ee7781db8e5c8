// SPDX-License-Identifier: MIT
/*
 * virtio_bus.c - where a virtio device sits on x86_64: a function of the PCI
 * bus (machine.c's create_pci), with MSI-X, or INTx when the device asks
 * for none (--net msix=off).
 */
#include "devices/virtio.h"
#include "devices/virtio_pci.h"

void arch_virtio_bus(struct vm *vm UNUSED, struct virtio_bus_info *out)
{
	*out = (struct virtio_bus_info){.name = "virtio-pci", .msix = true};
}

int arch_virtio_attach(struct vm *vm, struct virtio_dev *d, bool msix)
{
	return virtio_pci_create(vm, d, msix) ? 0 : -1;
}
