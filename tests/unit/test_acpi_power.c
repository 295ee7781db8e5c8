// SPDX-License-Identifier: MIT
/*
 * test_acpi_power.c - S5 power-off, the reset register, and every other
 * value a guest can write there.  vm_request_stop is wrapped
 * (test_acpi_power.wrap).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices/acpi_power.h"

#define CTL	    0x600
#define STS	    0x601
#define RST	    0x604
#define RESET_VALUE 0x01
#define S5	    5

static struct io_bus buses[8];
static unsigned int nbuses;
#define bus (buses[nbuses - 1])
static struct vm vm;
static struct acpi_power *dev;
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

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	assert_true(nbuses < ARRAY_SIZE(buses));
	nbuses++;
	io_bus_init(&bus, "pio");
	stops = 0;
	stop_status = -1;
	stop_reason[0] = 0;
	dev = acpi_power_create(&vm, &bus, CTL, STS, RST, RESET_VALUE, S5);
	assert_non_null(dev);
	return 0;
}

static int teardown(void **state)
{
	acpi_power_destroy(dev);
	dev = NULL;
	/* Every register is off the bus again. */
	assert_int_equal(bus.n, 0);
	assert_false(io_bus_access(&bus, CTL, &(uint8_t){0}, 1, false));
	return 0;
}

static void test_s5(void **state)
{
	/* Linux's acpi_hw_extended_sleep(): clear WAK_STS, then SLP_TYP | SLP_EN */
	assert_int_equal(in8(STS), 0);
	out8(STS, 0x80);
	out8(CTL, (S5 << 2)); /* type alone: nothing */
	assert_int_equal(stops, 0);
	out8(CTL, (S5 << 2) | 0x20);
	assert_int_equal(stops, 1);
	assert_int_equal(stop_status, 0);
	assert_string_equal(stop_reason, "guest powered off (ACPI S5)");
	/* Reserved bits do not matter */
	out8(CTL, 0xc3 | (S5 << 2) | 0x20);
	assert_int_equal(stops, 2);
}

static void test_other_sleep_types(void **state)
{
	for (unsigned int typ = 0; typ < 8; typ++) {
		if (typ == S5)
			continue;
		out8(STS, 0x80);
		assert_int_equal(in8(STS), 0);
		out8(CTL, (uint8_t)(typ << 2 | 0x20));
		assert_int_equal(stops, 0);
		/* Refused: the guest "wakes" at once instead of polling forever */
		assert_int_equal(in8(STS), 0x80);
		out8(STS, 0x01); /* only bit 7 clears it */
		assert_int_equal(in8(STS), 0x80);
	}
	assert_int_equal(in8(CTL), 0);
}

static void test_reset(void **state)
{
	for (unsigned int v = 0; v < 256; v++) {
		if (v != RESET_VALUE)
			out8(RST, (uint8_t)v);
	}
	assert_int_equal(stops, 0);
	assert_int_equal(in8(RST), 0);
	out8(RST, RESET_VALUE);
	assert_int_equal(stops, 1);
	assert_int_equal(stop_status, 0);
	assert_string_equal(stop_reason, "guest reboot (ACPI reset)");
}

static void test_malformed(void **state)
{
	uint8_t d[8];

	for (uint32_t size = 2; size <= 8; size *= 2) {
		memset(d, 0xff, sizeof(d)); /* SLP_EN | S5 and the reset value in every byte */
		d[0] = (S5 << 2) | 0x20;
		io_bus_access(&bus, CTL, d, size, true);
		d[0] = RESET_VALUE;
		io_bus_access(&bus, RST, d, size, true);
		memset(d, 0, sizeof(d));
		io_bus_access(&bus, STS, d, size, false);
		for (uint32_t i = 0; i < size; i++)
			assert_int_equal(d[i], 0xff);
	}
	assert_int_equal(stops, 0);
	/* Ports between the registers are not ours */
	assert_false(io_bus_access(&bus, 0x602, d, 1, true));
	/* Registration fails cleanly when a port is taken, leaving nothing behind */
	assert_null(acpi_power_create(&vm, &bus, 0x700, 0x701, RST, 1, S5));
	assert_int_equal(bus.n, 3);
	/* Every value to the control register: only SLP_EN | S5 stops */
	for (unsigned int v = 0; v < 256; v++)
		out8(CTL, (uint8_t)v);
	assert_int_equal(stops, 16); /* SLP_EN, type 5, any reserved bits 0-1, 6-7 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_s5, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_sleep_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
