// SPDX-License-Identifier: MIT
/*
 * test_i8042.c - the PS/2 controller as a kernel probes it, and its reset
 * line.  vm_request_stop is wrapped (test_i8042.wrap).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices/i8042.h"

#define DATA 0x60
#define CMD  0x64

/* One bus per test: devices live as long as their bus (no leak reports). */
static struct io_bus buses[8];
static unsigned int nbuses;
#define bus (buses[nbuses - 1])
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

static uint8_t in8(uint16_t port)
{
	uint8_t v = 0;

	assert_true(io_bus_access(&bus, port, &v, 1, false));
	return v;
}

static void out8(uint16_t port, uint8_t v)
{
	assert_true(io_bus_access(&bus, port, &v, 1, true));
}

/* i8042_command() as Linux does it: wait IBF clear, write, poll OBF. */
static uint8_t command(uint8_t cmd)
{
	assert_int_equal(in8(CMD) & 0x02, 0);
	out8(CMD, cmd);
	assert_int_equal(in8(CMD) & 0x01, 1);
	return in8(DATA);
}

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	assert_true(nbuses < ARRAY_SIZE(buses));
	nbuses++;
	io_bus_init(&bus, "pio");
	stops = 0;
	stop_status = -1;
	stop_reason[0] = 0;
	assert_int_equal(i8042_create(&vm, &bus, DATA, CMD), 0);
	return 0;
}

static void test_probe(void **state)
{
	uint8_t ctr, ctr2, st;

	/* i8042_flush(): nothing buffered, status is not 0xff */
	st = in8(CMD);
	assert_int_not_equal(st, 0xff);
	assert_int_equal(st & 0x01, 0);

	assert_int_equal(command(0xaa), 0x55); /* self test */
	assert_true(in8(CMD) & 0x04);	       /* system flag */
	assert_int_equal(command(0xab), 0x00); /* keyboard interface test */
	assert_int_equal(command(0xa9), 0x00); /* mouse interface test */

	/* A stable command byte, writable */
	ctr = command(0x20);
	ctr2 = command(0x20);
	assert_int_equal(ctr, ctr2);
	out8(CMD, 0x60);
	out8(DATA, 0x47);
	assert_int_equal(command(0x20), 0x47);
	assert_int_equal(in8(CMD) & 0x01, 0); /* read clears OBF */

	/* Port enable/disable show in the command byte */
	out8(CMD, 0xa7);
	assert_true(command(0x20) & 0x20);
	out8(CMD, 0xa8);
	assert_false(command(0x20) & 0x20);
	out8(CMD, 0xad);
	assert_true(command(0x20) & 0x10);
	out8(CMD, 0xae);
	assert_false(command(0x20) & 0x10);

	/* Loopback writes: the byte comes back, AUX flag for the mouse */
	out8(CMD, 0xd3);
	out8(DATA, 0x5a);
	st = in8(CMD);
	assert_int_equal(st & 0x21, 0x21);
	assert_int_equal(in8(DATA), 0x5a);
	assert_int_equal(in8(CMD) & 0x21, 0);
	out8(CMD, 0xd2);
	out8(DATA, 0xa5);
	assert_int_equal(in8(CMD) & 0x21, 0x01);
	assert_int_equal(in8(DATA), 0xa5);

	/* Other RAM bytes */
	out8(CMD, 0x61);
	out8(DATA, 0x99);
	assert_int_equal(command(0x21), 0x99);

	/* Bytes for absent devices vanish; data reads repeat the last byte */
	out8(DATA, 0xff);
	out8(CMD, 0xd4);
	out8(DATA, 0xf4);
	assert_int_equal(in8(CMD) & 0x01, 0);
	assert_int_equal(in8(DATA), 0x99);

	/* Output port */
	assert_int_equal(command(0xd0) & 0x03, 0x03);
	out8(CMD, 0xd1);
	out8(DATA, 0x03); /* reset line not asserted: nothing happens */
	assert_int_equal(command(0xd0), 0x03);
	out8(CMD, 0xff); /* pulse nothing */
	assert_int_equal(stops, 0);
}

static void test_reset_command(void **state)
{
	out8(CMD, 0xfe);
	assert_int_equal(stops, 1);
	assert_int_equal(stop_status, 0);
	assert_string_equal(stop_reason, "guest reset through the i8042");
}

static void test_reset_output_port(void **state)
{
	out8(CMD, 0xd1);
	out8(DATA, 0x02);
	assert_int_equal(stops, 1);
	assert_int_equal(stop_status, 0);
}

static void test_malformed(void **state)
{
	uint8_t d[8];

	for (uint32_t size = 2; size <= 8; size *= 2) {
		memset(d, 0, sizeof(d));
		/* Wider than the 1-byte ports: reads all-ones, writes go nowhere */
		io_bus_access(&bus, CMD, d, size, false);
		for (uint32_t i = 0; i < size; i++)
			assert_int_equal(d[i], 0xff);
		d[0] = 0xfe;
		io_bus_access(&bus, CMD, d, size, true);
		io_bus_access(&bus, DATA, d, size, true);
	}
	assert_int_equal(stops, 0);
	/* Every command, with every kind of data after it: only resets stop */
	for (unsigned int c = 0; c < 256; c++) {
		if (c >= 0xf0 && !(c & 1))
			continue;
		out8(CMD, (uint8_t)c);
		if (c != 0xd1)
			out8(DATA, (uint8_t)c);
		in8(DATA);
		in8(CMD);
	}
	assert_int_equal(stops, 0);
	/* Data with no command pending is for the keyboard: ignored */
	for (unsigned int v = 0; v < 256; v++)
		out8(DATA, (uint8_t)v);
	assert_int_equal(stops, 0);
	assert_int_equal(i8042_create(&vm, &bus, DATA, CMD), -1); /* ports taken */
	assert_int_equal(bus.n, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_probe, setup),
		cmocka_unit_test_setup(test_reset_command, setup),
		cmocka_unit_test_setup(test_reset_output_port, setup),
		cmocka_unit_test_setup(test_malformed, setup),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
