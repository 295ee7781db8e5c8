// SPDX-License-Identifier: MIT
/*
 * test_exit.c - the test-exit port: "outb V, port" ends ktvm with status V.
 *
 * Unlike QEMU's isa-debug-exit the value is not transformed: V is the exit
 * status, 0 included.  Reads return TEST_EXIT_SIGNATURE ('K'), where an
 * empty port reads 0xff.  Only 1-byte accesses count; wider ones cannot
 * reach a 1-byte range, and are ignored (and logged once) if they do.
 */
#include "devices/test_exit.h"

static void test_exit_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
	struct vm *vm = opaque;

	if (size != 1 || offset != 0) {
		log_once(LOG_WARN, "test-exit", "ignored %u-byte %s", size,
			 is_write ? "write" : "read");
		if (!is_write)
			for (uint32_t i = 0; i < size; i++)
				data[i] = 0xff;
		return;
	}
	if (is_write)
		vm_request_stop(vm, data[0], "guest wrote %u to the test-exit port", data[0]);
	else
		data[0] = TEST_EXIT_SIGNATURE;
}

int test_exit_create(struct vm *vm, struct io_bus *bus, uint64_t port)
{
	if (io_bus_register(bus, port, 1, test_exit_io, vm, "test-exit")) {
		log_err("test-exit", "cannot register port 0x%llx", (unsigned long long)port);
		return -1;
	}
	return 0;
}
