/* SPDX-License-Identifier: MIT */
/*
 * pvpanic.h - QEMU's pvpanic PCI device (1b36:0011): a guest kernel that
 * panics tells ktvm, which then exits with KTVM_EXIT_PANIC.
 */
#ifndef KTVM_DEVICES_PVPANIC_H
#define KTVM_DEVICES_PVPANIC_H

#include "vmm/ktvm.h"

#define PVPANIC_PANICKED     (1u << 0) /* the guest kernel panicked */
#define PVPANIC_CRASH_LOADED (1u << 1) /* it is going to run its kdump kernel */
#define PVPANIC_EVENTS	     (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED)

#define PVPANIC_VENDOR	 0x1b36
#define PVPANIC_DEVICE	 0x0011
#define PVPANIC_CLASS	 0x088000 /* system peripheral, other */
#define PVPANIC_BAR_SIZE 4096

/*
 * One 4 KiB memory BAR (BAR 0): byte 0 reads the supported events; writing
 * PVPANIC_PANICKED there stops the VM with KTVM_EXIT_PANIC (the first stop
 * request wins), PVPANIC_CRASH_LOADED is only logged.  Returns 0 or -1.
 */
int pvpanic_create(struct vm *vm);

#endif
