// SPDX-License-Identifier: MIT
/*
 * test_pvpanic.c - the pvpanic PCI device: its identity, its BAR, the
 * supported-events byte, and what each event written there does.
 * vm_request_stop is wrapped (test_pvpanic.wrap).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <linux/pci_regs.h>

#include "devices/pci.h"
#include "devices/pvpanic.h"

#define ECAM 0xe0000000ULL

/* A fresh VM per test; the old ones stay reachable for LeakSanitizer. */
static struct vm vms[8];
static unsigned int nvms;
#define cur_vm (vms[nvms - 1])
static unsigned int stops;
static int stop_status;
static char stop_reason[128];

void __wrap_vm_request_stop(struct vm *v, int status, const char *fmt, ...);
void __wrap_vm_request_stop(struct vm *v, int status, const char *fmt, ...)
{
	va_list ap;

	assert_ptr_equal(v, &cur_vm);
	va_start(ap, fmt);
	vsnprintf(stop_reason, sizeof(stop_reason), fmt, ap);
	va_end(ap);
	stop_status = status;
	stops++;
}

static uint32_t test_intx_gsi(unsigned int slot, unsigned int pin)
{
	return 16;
}

static const struct pci_platform plat = {
	.ecam_base = ECAM,
	.ecam_size = MiB(1),
	.mmio32_base = 0xc0000000,
	.mmio32_size = 0x20000000,
	.intx_gsi = test_intx_gsi,
};

static uint32_t cfg_read(unsigned int reg, uint32_t size)
{
	uint8_t data[4];

	io_bus_access(&cur_vm.mmio, ECAM + (1 << 15) + reg, data, size, false);
	return (uint32_t)io_get(data, size);
}

static void cfg_write(unsigned int reg, uint32_t size, uint32_t v)
{
	uint8_t data[4];

	io_put(data, size, v);
	io_bus_access(&cur_vm.mmio, ECAM + (1 << 15) + reg, data, size, true);
}

static uint64_t bar;

static int setup(void **state)
{
	assert_true(nvms < ARRAY_SIZE(vms));
	nvms++;
	io_bus_init(&cur_vm.pio, "pio");
	io_bus_init(&cur_vm.mmio, "mmio");
	stops = 0;
	stop_status = -1;
	stop_reason[0] = 0;
	assert_int_equal(pci_init(&cur_vm, &plat), 0);
	assert_int_equal(pvpanic_create(&cur_vm), 0);
	bar = cfg_read(PCI_BASE_ADDRESS_0, 4);
	cfg_write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	return 0;
}

static uint64_t rd(uint64_t off, uint32_t size)
{
	uint8_t data[8];

	assert_true(io_bus_access(&cur_vm.mmio, bar + off, data, size, false));
	return io_get(data, size);
}

static void wr(uint64_t off, uint32_t size, uint64_t v)
{
	uint8_t data[8];

	io_put(data, size, v);
	assert_true(io_bus_access(&cur_vm.mmio, bar + off, data, size, true));
}

static void test_identity(void **state)
{
	assert_int_equal(cfg_read(PCI_VENDOR_ID, 4), 0x00111b36);
	assert_int_equal(cfg_read(PCI_CLASS_REVISION, 4) >> 8, 0x088000);
	assert_int_equal(bar & 0xf, 0); /* 32-bit memory BAR */
	assert_true(bar >= 0xc0000000 && bar < 0xe0000000);
	cfg_write(PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	assert_int_equal(cfg_read(PCI_BASE_ADDRESS_0, 4), 0xfffff000);
	cfg_write(PCI_BASE_ADDRESS_0, 4, (uint32_t)bar);
	assert_int_equal(cfg_read(PCI_INTERRUPT_PIN, 1), 0);
}

static void test_events(void **state)
{
	assert_int_equal(rd(0, 1), PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
	assert_int_equal(rd(0, 4), 3);
	assert_int_equal(rd(1, 1), 0);
	assert_int_equal(rd(0xffc, 4), 0);
}

static void test_crash_loaded(void **state)
{
	wr(0, 1, PVPANIC_CRASH_LOADED);
	assert_int_equal(stops, 0);
	wr(0, 1, 0);
	wr(0, 1, 0x80);		    /* unknown: ignored */
	wr(1, 1, PVPANIC_PANICKED); /* not the event register */
	assert_int_equal(stops, 0);
}

static void test_panicked(void **state)
{
	wr(0, 1, PVPANIC_PANICKED);
	assert_int_equal(stops, 1);
	assert_int_equal(stop_status, KTVM_EXIT_PANIC);
	assert_int_equal(stop_status, 3);
	assert_string_equal(stop_reason, "guest kernel panicked (pvpanic)");
	wr(0, 4, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
	assert_int_equal(stops, 2); /* vm_request_stop itself keeps the first */
}

static void test_decode_off(void **state)
{
	uint8_t v = PVPANIC_PANICKED;

	cfg_write(PCI_COMMAND, 2, 0);
	assert_false(io_bus_access(&cur_vm.mmio, bar, &v, 1, true));
	assert_int_equal(stops, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_identity, setup),
		cmocka_unit_test_setup(test_events, setup),
		cmocka_unit_test_setup(test_crash_loaded, setup),
		cmocka_unit_test_setup(test_panicked, setup),
		cmocka_unit_test_setup(test_decode_off, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
