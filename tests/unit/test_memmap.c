// SPDX-License-Identifier: MIT
/* test_memmap.c - the x86_64 RAM layout around the MMIO hole and the e820 map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86_64/layout.h"
#include "arch/x86_64/memmap.h"
#include "vmm/ktvm.h"

static void test_layout_small(void **state)
{
	struct mem_region r[GUEST_MEM_MAX_REGIONS];

	assert_int_equal(arch_mem_layout(MiB(512), r, ARRAY_SIZE(r)), 1);
	assert_int_equal(r[0].gpa, 0);
	assert_int_equal(r[0].size, MiB(512));
}

static void test_layout_3g(void **state)
{
	struct mem_region r[GUEST_MEM_MAX_REGIONS];

	/* Exactly up to the hole: nothing spills above 4 GiB. */
	assert_int_equal(arch_mem_layout(GiB(3), r, ARRAY_SIZE(r)), 1);
	assert_int_equal(r[0].gpa, 0);
	assert_int_equal(r[0].size, GiB(3));
}

static void test_layout_4g(void **state)
{
	struct mem_region r[GUEST_MEM_MAX_REGIONS];

	assert_int_equal(arch_mem_layout(GiB(4), r, ARRAY_SIZE(r)), 2);
	assert_int_equal(r[0].gpa, 0);
	assert_int_equal(r[0].size, X86_MMIO_HOLE_START);
	assert_int_equal(r[1].gpa, X86_MMIO_HOLE_END);
	assert_int_equal(r[1].size, GiB(1));
}

static void test_layout_8g(void **state)
{
	struct mem_region r[GUEST_MEM_MAX_REGIONS];

	assert_int_equal(arch_mem_layout(GiB(8), r, ARRAY_SIZE(r)), 2);
	assert_int_equal(r[0].size, GiB(3));
	assert_int_equal(r[1].gpa, GiB(4));
	assert_int_equal(r[1].size, GiB(5));
}

static void test_layout_bad_args(void **state)
{
	struct mem_region r[GUEST_MEM_MAX_REGIONS];

	assert_int_equal(arch_mem_layout(0, r, ARRAY_SIZE(r)), 0);
	assert_int_equal(arch_mem_layout(GiB(8), r, 1), 0); /* needs two */
	assert_int_equal(arch_mem_layout(MiB(512), r, 0), 0);
}

/* Build guest memory of 'size' and its e820 map; returns the entry count. */
static unsigned int e820_for(uint64_t size, struct guest_mem *m, struct e820_ent *e,
			     unsigned int max)
{
	struct mem_region r[GUEST_MEM_MAX_REGIONS];
	unsigned int n = arch_mem_layout(size, r, ARRAY_SIZE(r));

	assert_true(n > 0);
	assert_int_equal(gmem_init(m, size, r, n), 0);
	return x86_build_e820(m, e, max);
}

/*
 * Sorted, disjoint, and the RAM entries add up to the guest's RAM minus the
 * reserved part in low memory; the ECAM area is reserved on top.
 */
static void check_e820_sane(const struct e820_ent *e, unsigned int n, uint64_t size)
{
	uint64_t ram = 0, reserved = 0;

	for (unsigned int i = 0; i < n; i++) {
		assert_true(e[i].size > 0);
		if (i)
			assert_true(e[i].addr >= e[i - 1].addr + e[i - 1].size);
		if (e[i].type == E820_RAM)
			ram += e[i].size;
		else
			reserved += e[i].size;
	}
	assert_int_equal(ram + reserved, size + X86_PCI_ECAM_SIZE);
}

static bool covered(const struct e820_ent *e, unsigned int n, uint64_t addr, uint64_t len,
		    uint32_t type)
{
	for (unsigned int i = 0; i < n; i++)
		if (addr >= e[i].addr && addr + len <= e[i].addr + e[i].size)
			return e[i].type == type;
	return false;
}

static void check_low(const struct e820_ent *e, unsigned int n)
{
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, X86_EBDA_START);
	assert_int_equal(e[0].type, E820_RAM);
	assert_int_equal(e[1].addr, X86_EBDA_START);
	assert_int_equal(e[1].size, X86_HIMEM_START - X86_EBDA_START);
	assert_int_equal(e[1].type, E820_RESERVED);
	/* The boot structures are in RAM, the ACPI tables are not. */
	assert_true(covered(e, n, X86_ZERO_PAGE_ADDR, 4096, E820_RAM));
	assert_true(covered(e, n, X86_PVH_INFO_ADDR, 4096, E820_RAM));
	assert_true(covered(e, n, X86_CMDLINE_ADDR, X86_CMDLINE_MAX, E820_RAM));
	assert_true(covered(e, n, X86_PML4_ADDR, 0x6000, E820_RAM));
	assert_true(covered(e, n, X86_ACPI_ADDR, X86_ACPI_MAX, E820_RESERVED));
	assert_int_equal(e[2].addr, X86_HIMEM_START);
	assert_int_equal(e[2].type, E820_RAM);
	/* PCI ECAM: reserved, right after low RAM. */
	assert_int_equal(e[3].addr, X86_PCI_ECAM_BASE);
	assert_int_equal(e[3].size, X86_PCI_ECAM_SIZE);
	assert_int_equal(e[3].type, E820_RESERVED);
	assert_true(covered(e, n, X86_PCI_ECAM_BASE, X86_PCI_ECAM_SIZE, E820_RESERVED));
	assert_false(covered(e, n, X86_PCI_MMIO32_BASE, 1, E820_RAM));
}

static void test_e820_512m(void **state)
{
	struct e820_ent e[E820_MAX];
	struct guest_mem m;
	unsigned int n = e820_for(MiB(512), &m, e, ARRAY_SIZE(e));

	assert_int_equal(n, 4);
	check_low(e, n);
	assert_int_equal(e[2].size, MiB(512) - X86_HIMEM_START);
	check_e820_sane(e, n, MiB(512));
	gmem_destroy(&m);
}

static void test_e820_3g(void **state)
{
	struct e820_ent e[E820_MAX];
	struct guest_mem m;
	unsigned int n = e820_for(GiB(3), &m, e, ARRAY_SIZE(e));

	assert_int_equal(n, 4);
	check_low(e, n);
	assert_int_equal(e[2].addr + e[2].size, X86_MMIO_HOLE_START);
	check_e820_sane(e, n, GiB(3));
	gmem_destroy(&m);
}

static void test_e820_4g(void **state)
{
	struct e820_ent e[E820_MAX];
	struct guest_mem m;
	unsigned int n = e820_for(GiB(4), &m, e, ARRAY_SIZE(e));

	assert_int_equal(n, 5);
	check_low(e, n);
	assert_int_equal(e[2].addr + e[2].size, X86_MMIO_HOLE_START);
	assert_int_equal(e[4].addr, GiB(4));
	assert_int_equal(e[4].size, GiB(1));
	assert_int_equal(e[4].type, E820_RAM);
	/* Nothing claims the MMIO hole. */
	assert_false(covered(e, n, X86_IOAPIC_ADDR, 1, E820_RAM));
	assert_false(covered(e, n, X86_LAPIC_ADDR, 1, E820_RAM));
	check_e820_sane(e, n, GiB(4));
	gmem_destroy(&m);
}

static void test_e820_8g(void **state)
{
	struct e820_ent e[E820_MAX];
	struct guest_mem m;
	unsigned int n = e820_for(GiB(8), &m, e, ARRAY_SIZE(e));

	assert_int_equal(n, 5);
	check_low(e, n);
	assert_int_equal(e[4].addr, GiB(4));
	assert_int_equal(e[4].size, GiB(5));
	check_e820_sane(e, n, GiB(8));
	assert_int_equal(x86_low_ram_end(&m), GiB(3));
	gmem_destroy(&m);
}

static void test_e820_too_small(void **state)
{
	struct e820_ent e[E820_MAX];
	struct guest_mem m;

	/* A table that cannot hold the map yields nothing rather than a partial map. */
	assert_int_equal(e820_for(GiB(8), &m, e, 3), 0);
	gmem_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_small),	cmocka_unit_test(test_layout_3g),
		cmocka_unit_test(test_layout_4g),	cmocka_unit_test(test_layout_8g),
		cmocka_unit_test(test_layout_bad_args), cmocka_unit_test(test_e820_512m),
		cmocka_unit_test(test_e820_3g),		cmocka_unit_test(test_e820_4g),
		cmocka_unit_test(test_e820_8g),		cmocka_unit_test(test_e820_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
