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
/* The same, for an owner that frees it: the device, or NULL after logging why. */
struct i8042;
struct i8042 *i8042_new(struct vm *vm, struct io_bus *bus, uint64_t data_port, uint64_t cmd_port);
/* Unregister the ports and free (the vCPUs are joined). */
void i8042_destroy(struct i8042 *k);

#endif
