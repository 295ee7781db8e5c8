// SPDX-License-Identifier: MIT
/* test_console.c - the Ctrl-A escape: quit, literal Ctrl-A, split across reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/console_host.h"

static struct vm vm;
static struct console *con;

static int setup(void **state)
{
	struct vm_config cfg = { .console = CONSOLE_NONE };

	memset(&vm, 0, sizeof(vm));
	atomic_init(&vm.stop_status, -1);
	vm.stop_eventfd = -1;
	con = console_open(&vm, &cfg);
	return con ? 0 : -1;
}

static int teardown(void **state)
{
	console_close(con);
	return 0;
}

static void test_plain_bytes_pass(void **state)
{
	uint8_t b[] = "ls\r";

	assert_int_equal(console_filter_escapes(con, b, 3), 3);
	assert_memory_equal(b, "ls\r", 3);
	assert_false(vm_stopping(&vm));
}

static void test_ctrl_a_ctrl_a_sends_one(void **state)
{
	uint8_t b[] = { 'a', 0x01, 0x01, 'b' };

	assert_int_equal(console_filter_escapes(con, b, 4), 3);
	assert_int_equal(b[0], 'a');
	assert_int_equal(b[1], 0x01);
	assert_int_equal(b[2], 'b');
	assert_false(vm_stopping(&vm));
}

static void test_unknown_escape_swallowed(void **state)
{
	uint8_t b[] = { 0x01, 'q', 'z' };

	assert_int_equal(console_filter_escapes(con, b, 3), 1);
	assert_int_equal(b[0], 'z');
	assert_false(vm_stopping(&vm));
}

static void test_ctrl_a_x_quits_across_reads(void **state)
{
	uint8_t b1[] = { 'e', 0x01 };
	uint8_t b2[] = { 'x' };

	assert_int_equal(console_filter_escapes(con, b1, 2), 1);
	assert_false(vm_stopping(&vm));
	assert_int_equal(console_filter_escapes(con, b2, 1), 0);
	assert_true(vm_stopping(&vm));
	assert_int_equal(atomic_load(&vm.stop_status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_bytes_pass),
		cmocka_unit_test(test_ctrl_a_ctrl_a_sends_one),
		cmocka_unit_test(test_unknown_escape_swallowed),
		cmocka_unit_test(test_ctrl_a_x_quits_across_reads),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
