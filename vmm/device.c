// SPDX-License-Identifier: MIT
/*
 * device.c - the devices of one VM: a list in creation order that the
 * statistics walk and that vm_destroy() stops and frees, the same on every
 * architecture.  Devices are added during setup only (arch_vm_init, on the
 * main thread, before any vCPU, worker or control thread exists), so the
 * list is never written while another thread reads it: no lock.
 */
#include <string.h>

#include "vmm/ktvm.h"
#include "vmm/vm_internal.h"

int vm_device_add(struct vm *vm, const struct vm_device_ops *ops, void *dev)
{
	struct vm_device *nd;

	if (vm->ndevices == vm->devices_cap) {
		unsigned int cap = vm->devices_cap ? 2 * vm->devices_cap : 8;

		nd = realloc(vm->devices, cap * sizeof(*nd));
		if (!nd)
			return -1;
		vm->devices = nd;
		vm->devices_cap = cap;
	}
	vm->devices[vm->ndevices++] = (struct vm_device){.ops = ops, .dev = dev};
	return 0;
}

void vm_device_for_each(struct vm *vm, const struct vm_device_ops *ops,
			void (*fn)(void *dev, void *opaque), void *opaque)
{
	for (unsigned int i = 0; i < vm->ndevices; i++)
		if (!ops || vm->devices[i].ops == ops)
			fn(vm->devices[i].dev, opaque);
}

/*
 * Every device's threads stop before any device is freed (a worker may
 * signal through a transport another device's teardown would touch), newest
 * first, while guest memory and the irqchip still exist; then each is freed,
 * newest first too, so a device never outlives one it was built on.
 */
void vm_devices_destroy(struct vm *vm)
{
	for (unsigned int i = vm->ndevices; i-- > 0;)
		if (vm->devices[i].ops->stop)
			vm->devices[i].ops->stop(vm->devices[i].dev);
	for (unsigned int i = vm->ndevices; i-- > 0;)
		vm->devices[i].ops->destroy(vm->devices[i].dev);
	free(vm->devices);
	vm->devices = NULL;
	vm->ndevices = vm->devices_cap = 0;
}
