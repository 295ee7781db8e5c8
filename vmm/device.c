// SPDX-License-Identifier: MIT
/*
 * device.c - the device registry (the types declared with
 * KTVM_DEVICE_TYPE, see vmm/ktvm.h) and the devices of one VM: a list in
 * creation order that the statistics walk and that vm_destroy() stops and
 * frees, the same on every architecture.  Devices are added during setup only (arch_vm_init, on the
 * main thread, before any vCPU, worker or control thread exists), so the
 * list is never written while another thread reads it: no lock.
 */
#include <string.h>

#include "vmm/ktvm.h"
#include "vmm/vm_internal.h"

/* Weak: a binary without any device type still links (the section is then absent). */
extern const struct ktvm_device_type *const __start_ktvm_devices[] __attribute__((weak));
extern const struct ktvm_device_type *const __stop_ktvm_devices[] __attribute__((weak));

static unsigned int type_slot(const struct ktvm_device_type *t)
{
	for (const struct ktvm_device_type *const *p = __start_ktvm_devices;
	     p < __stop_ktvm_devices; p++)
		if (*p == t)
			return (unsigned int)(p - __start_ktvm_devices);
	abort(); /* not a declared type: a programming error */
}

const struct ktvm_device_type *ktvm_device_type_next(const struct ktvm_device_type *prev)
{
	const struct ktvm_device_type *const *p = __start_ktvm_devices;

	if (prev)
		p += type_slot(prev) + 1;
	return p < __stop_ktvm_devices ? *p : NULL;
}

void *ktvm_device_config(struct vm_config *cfg, const struct ktvm_device_type *t)
{
	unsigned int i = type_slot(t);

	if (i >= KTVM_MAX_DEVICE_TYPES)
		abort(); /* more types than KTVM_MAX_DEVICE_TYPES: raise it */
	return cfg->devices[i].bytes;
}

const void *ktvm_device_config_c(const struct vm_config *cfg, const struct ktvm_device_type *t)
{
	return ktvm_device_config((struct vm_config *)cfg, t);
}

int vm_devices_create(struct vm *vm)
{
	ktvm_for_each_device_type(t)
		if (t->create && t->create(vm))
			return -1;
	return 0;
}

int vm_device_add(struct vm *vm, const struct ktvm_device_type *type, void *dev)
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
	vm->devices[vm->ndevices++] = (struct vm_device){.type = type, .dev = dev};
	return 0;
}

void vm_device_for_each(struct vm *vm, const struct ktvm_device_type *type,
			void (*fn)(void *dev, void *opaque), void *opaque)
{
	for (unsigned int i = 0; i < vm->ndevices; i++)
		if (!type || vm->devices[i].type == type)
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
		if (vm->devices[i].type->stop)
			vm->devices[i].type->stop(vm->devices[i].dev);
	for (unsigned int i = vm->ndevices; i-- > 0;)
		if (vm->devices[i].type->destroy)
			vm->devices[i].type->destroy(vm->devices[i].dev);
	free(vm->devices);
	vm->devices = NULL;
	vm->ndevices = vm->devices_cap = 0;
}
