// SPDX-License-Identifier: MIT
/*
 * pvpanic.c - the pvpanic PCI device.  Linux's pvpanic-pci driver reads
 * the supported events from byte 0 of BAR 0 and, from its panic notifier,
 * writes the event there; ktvm then stops with status 3.
 */
#include "devices/pvpanic.h"
#include "devices/pci.h"

struct pvpanic {
	struct pci_dev pci;
	struct vm *vm;
};

static void pvpanic_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
	struct pvpanic *p = opaque;
	uint8_t ev;

	if (!is_write) {
		io_put(data, size, offset == 0 ? PVPANIC_EVENTS : 0);
		return;
	}
	if (offset != 0)
		return;
	ev = data[0];
	if (ev & PVPANIC_PANICKED)
		vm_request_stop(p->vm, KTVM_EXIT_PANIC, "guest kernel panicked (pvpanic)");
	else if (ev & PVPANIC_CRASH_LOADED)
		log_info_rl("pvpanic", "guest kernel crashed; its crash kernel is loaded");
	else if (ev)
		log_once(LOG_WARN, "pvpanic", "unknown event %#x", ev);
}

int pvpanic_create(struct vm *vm)
{
	struct pvpanic *p = calloc(1, sizeof(*p));

	if (!p)
		return -1;
	p->vm = vm;
	pci_dev_init(&p->pci, vm, "pvpanic", PVPANIC_VENDOR, PVPANIC_DEVICE, PVPANIC_CLASS, 0x1af4,
		     0x1100);
	p->pci.priv = p;
	if (pci_dev_add_bar(&p->pci, 0, PVPANIC_BAR_SIZE, false, pvpanic_io, p) ||
	    pci_register(vm, &p->pci)) {
		free(p);
		return -1;
	}
	return 0;
}
