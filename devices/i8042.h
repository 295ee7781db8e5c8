/* SPDX-License-Identifier: MIT */
/*
 * i8042.h - a minimal PS/2 controller with nothing plugged in: enough for
 * a kernel to probe it, and for "reboot" through its reset line.
 */
#ifndef KTVM_DEVICES_I8042_H
#define KTVM_DEVICES_I8042_H

#include "vmm/ktvm.h"

/*
 * Register the data port and the command/status port (one byte each) on
 * 'bus'.  Pulsing the reset line stops the VM with status 0.  Returns 0, or
 * -1 after logging why.
 */
int i8042_create(struct vm *vm, struct io_bus *bus, uint64_t data_port, uint64_t cmd_port);

#endif
