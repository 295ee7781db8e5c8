// SPDX-License-Identifier: MIT
/*
 * test_test_exit.c - the test-exit port: status V for a write of V.
 * vm_request_stop is wrapped (test_test_exit.wrap).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices/test_exit.h"

#define PORT 0x501

static struct io_bus bus;
static struct vm vm;
static unsigned int stops;
static int stop_status;
static char stop_reason[128];

void __wrap_vm_request_stop(struct vm *v, int status, const char *fmt, ...);
void __wrap_vm_request_stop(struct vm *v, int status, const char *fmt, ...)
{
	va_list ap;

	assert_ptr_equal(v, &vm);
	va_start(ap, fmt);
	vsnprintf(stop_reason, sizeof(stop_reason), fmt, ap);
	va_end(ap);
	stop_status = status;
	stops++;
}

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	io_bus_init(&bus, "pio");
	stops = 0;
	stop_status = -1;
	assert_int_equal(test_exit_create(&vm, &bus, PORT), 0);
	return 0;
}

static void test_values(void **state)
{
	char want[128];

	for (unsigned int v = 0; v < 256; v++) {
		uint8_t d = (uint8_t)v;

		assert_true(io_bus_access(&bus, PORT, &d, 1, true));
		assert_int_equal(stops, v + 1);
		assert_int_equal(stop_status, v);
		snprintf(want, sizeof(want), "guest wrote %u to the test-exit port", v);
		assert_string_equal(stop_reason, want);
	}
}

static void test_read_signature(void **state)
{
	uint8_t d = 0;

	assert_true(io_bus_access(&bus, PORT, &d, 1, false));
	assert_int_equal(d, TEST_EXIT_SIGNATURE);
	assert_int_equal(stops, 0);
}

static void test_malformed(void **state)
{
	uint8_t d[8] = {7, 7, 7, 7, 7, 7, 7, 7};

	/* Wider accesses do not fit the 1-byte port: nothing happens */
	for (uint32_t size = 2; size <= 8; size *= 2) {
		io_bus_access(&bus, PORT, d, size, true);
		io_bus_access(&bus, PORT - 1, d, size, true);
	}
	assert_false(io_bus_access(&bus, PORT + 1, d, 1, true));
	assert_int_equal(stops, 0);
	assert_int_equal(test_exit_create(&vm, &bus, PORT), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_values, setup),
		cmocka_unit_test_setup(test_read_signature, setup),
		cmocka_unit_test_setup(test_malformed, setup),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
