/* SPDX-License-Identifier: MIT */
/*
 * test_exit.h - a one-byte port through which a guest ends ktvm with an exit
 * status of its choice (for tests run inside guests).
 */
#ifndef KTVM_DEVICES_TEST_EXIT_H
#define KTVM_DEVICES_TEST_EXIT_H

#include "vmm/ktvm.h"

/* What a read of the port returns: lets a guest check that ktvm is there. */
#define TEST_EXIT_SIGNATURE 0x4b /* 'K' */

/*
 * Register a one-byte port at 'port' on 'bus'.  A 1-byte write of V stops
 * the VM with exit status V (0-255; 0 is a success like a power-off).
 * Other access sizes are ignored.  Returns 0, or -1 after logging why.
 */
int test_exit_create(struct vm *vm, struct io_bus *bus, uint64_t port);

#endif
