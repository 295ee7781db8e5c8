// SPDX-License-Identifier: MIT
/*
 * test_gdb_arm64.c - the arm64 gdb hooks' pure parts (arch/aarch64/gdb_arm64.c,
 * built on any host): target.xml against the register layout, register
 * marshalling, which SP gdb's sp is, the stage-1 walk (arm64 KVM has no
 * KVM_TRANSLATE) on tables built in guest memory for the 4, 16 and 64 KiB
 * granules, the debug-register encoding of hardware breakpoints and
 * watchpoints, and the exception entry that gives the guest its own BRK back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "arch/aarch64/gdb_arm64.h"

static void test_xml_matches_layout(void **state UNUSED)
{
	const char *xml = arm64_gdb_target_xml(), *p = xml;
	unsigned int nregs = 0, bits;
	size_t off, size, expect = 0;

	assert_non_null(strstr(xml, "<architecture>aarch64</architecture>"));
	assert_non_null(strstr(xml, "org.gnu.gdb.aarch64.core"));
	assert_non_null(strstr(xml, "org.gnu.gdb.aarch64.fpu"));
	while ((p = strstr(p, "<reg name=\""))) {
		const char *b = strstr(p, "bitsize=\"");

		assert_non_null(b);
		bits = (unsigned int)strtoul(b + 9, NULL, 10);
		assert_int_equal(arm64_gdb_reg_span(nregs, &off, &size), 0);
		assert_int_equal(off, expect);
		assert_int_equal(size * 8, bits);
		expect += size;
		nregs++;
		p++;
	}
	assert_int_equal(nregs, ARM64_GDB_NREGS);
	assert_int_equal(expect, ARM64_GDB_REGS_SIZE);
	assert_int_equal(arm64_gdb_reg_span(ARM64_GDB_NREGS, &off, &size), -1);
	/* gdb's numbering: sp 31, pc 32, cpsr 33, v0 34, fpsr 66, fpcr 67 */
	assert_int_equal(arm64_gdb_reg_span(31, &off, &size), 0);
	assert_int_equal(off, 248);
	assert_int_equal(arm64_gdb_reg_span(32, &off, &size), 0);
	assert_int_equal(off, 256);
	assert_int_equal(arm64_gdb_reg_span(33, &off, &size), 0);
	assert_int_equal(off, 264);
	assert_int_equal(size, 4);
	assert_int_equal(arm64_gdb_reg_span(34, &off, &size), 0);
	assert_int_equal(off, 268);
	assert_int_equal(size, 16);
	assert_int_equal(arm64_gdb_reg_span(67, &off, &size), 0);
	assert_int_equal(off, 784);
	assert_non_null(
		strstr(xml, "<reg name=\"v0\" bitsize=\"128\" type=\"aarch64v\" regnum=\"34\"/>"));
}

static uint64_t reg_at(const uint8_t *buf, unsigned int regno)
{
	size_t off, size;
	uint64_t v = 0;

	assert_int_equal(arm64_gdb_reg_span(regno, &off, &size), 0);
	for (size_t i = 0; i < size && i < 8; i++)
		v |= (uint64_t)buf[off + i] << (8 * i);
	return v;
}

static void test_pack_unpack(void **state UNUSED)
{
	struct arm64_gdb_regs r, r2;
	uint8_t buf[ARM64_GDB_REGS_SIZE];

	memset(&r, 0, sizeof(r));
	for (int i = 0; i < 31; i++)
		r.x[i] = 0x1000000000000000ull * (uint64_t)(i % 15) + (uint64_t)i;
	r.sp = 0xffff800008003f00ull;
	r.pc = 0xffff800008010000ull;
	r.cpsr = 0x600003c5;
	r.v[0][0] = 0x11;
	r.v[31][15] = 0xff;
	r.fpsr = 0x8000010;
	r.fpcr = 0x3000000;
	memset(buf, 0xaa, sizeof(buf));
	arm64_gdb_pack(&r, buf);
	for (unsigned int i = 0; i < 31; i++)
		assert_true(reg_at(buf, i) == r.x[i]);
	assert_true(reg_at(buf, 31) == r.sp);
	assert_true(reg_at(buf, 32) == r.pc);
	assert_true(reg_at(buf, 33) == 0x600003c5);
	assert_int_equal(buf[268], 0x11);
	assert_int_equal(buf[268 + 31 * 16 + 15], 0xff);
	assert_true(reg_at(buf, 66) == 0x8000010);
	assert_true(reg_at(buf, 67) == 0x3000000);
	memset(&r2, 0, sizeof(r2)); /* the struct's tail padding is compared too */
	arm64_gdb_unpack(buf, &r2);
	assert_memory_equal(&r, &r2, sizeof(r));
	buf[256] = 0x04; /* pc low byte */
	arm64_gdb_unpack(buf, &r2);
	assert_true(r2.pc == 0xffff800008010004ull);
}

static void test_sp_select(void **state UNUSED)
{
	assert_true(arm64_gdb_sp_el1(0x3c5));  /* EL1h */
	assert_false(arm64_gdb_sp_el1(0x3c4)); /* EL1t: SP_EL0 */
	assert_false(arm64_gdb_sp_el1(0x0));   /* EL0 */
	assert_false(arm64_gdb_sp_el1(0x1d3)); /* AArch32 SVC */
}

/* ---- the walk: tables in a 16 MiB guest at 0x40000000 ----------------------- */

#define RAM 0x40000000ull
static struct guest_mem mem;
static const struct mem_region layout[] = {{.gpa = RAM, .size = MiB(16)}};

static int setup(void **state UNUSED)
{
	return gmem_init(&mem, MiB(16), layout, 1);
}

static int teardown(void **state UNUSED)
{
	gmem_destroy(&mem);
	return 0;
}

static void desc(uint64_t table, unsigned int idx, uint64_t val)
{
	assert_int_equal(gmem_write(&mem, table + 8 * idx, &val, 8), 0);
}

#define TABLE 3ull
#define PAGE  3ull
#define BLOCK 1ull
#define AF    (1ull << 10)
/* TCR_EL1 like Linux's with 4 KiB pages and 48-bit VAs: T0SZ = T1SZ = 16, TG0 4K, TG1 4K. */
#define TCR_4K48 (16ull | 16ull << 16 | 0ull << 14 | 2ull << 30)

static uint64_t walk(const struct arm64_mmu *m, uint64_t va)
{
	uint64_t gpa = 0xdead;

	assert_int_equal(arm64_gdb_walk(&mem, m, va, &gpa), 0);
	return gpa;
}

static void no_walk(const struct arm64_mmu *m, uint64_t va)
{
	uint64_t gpa;

	assert_int_equal(arm64_gdb_walk(&mem, m, va, &gpa), -1);
}

static void test_walk_4k(void **state UNUSED)
{
	const uint64_t l0 = RAM + 0x100000, l1 = RAM + 0x101000, l2 = RAM + 0x102000,
		       l3 = RAM + 0x103000, u0 = RAM + 0x104000, u1 = RAM + 0x105000;
	/* va: L0 256, L1 2, L2 3, L3 4, offset 0x567 */
	const uint64_t va = 0xffff800000000000ull | 2ull << 30 | 3ull << 21 | 4ull << 12 | 0x567;
	struct arm64_mmu m = {.sctlr = 1, .tcr = TCR_4K48, .ttbr0 = u0, .ttbr1 = l0};

	memset(mem.base, 0, MiB(16));
	desc(l0, 256, l1 | TABLE);
	desc(l1, 2, l2 | TABLE);
	desc(l2, 3, l3 | TABLE);
	desc(l3, 4, (RAM + 0x7000) | PAGE | AF | (1ull << 54) /* UXN: upper attrs ignored */);
	assert_true(walk(&m, va) == RAM + 0x7567);
	/* ASID in TTBR1[63:48] and CnP (bit 0) do not disturb the base. */
	m.ttbr1 = l0 | 0x0005000000000001ull;
	assert_true(walk(&m, va) == RAM + 0x7567);
	/* An invalid L3 entry next door, a missing L2 entry. */
	no_walk(&m, va + 0x1000);
	no_walk(&m, va + (1ull << 21));
	/* A 2 MiB block at L2 and a 1 GiB block at L1. */
	desc(l2, 5, (RAM + 0x200000) | BLOCK | AF);
	assert_true(walk(&m, (va & ~0x3fffffffull) | 5ull << 21 | 0x12345) == RAM + 0x212345);
	desc(l1, 1, RAM | BLOCK | AF);
	assert_true(walk(&m, 0xffff800000000000ull | 1ull << 30 | 0x3456789) == RAM + 0x3456789);
	/* No blocks at L0; a block descriptor at L3 is invalid. */
	desc(l0, 257, RAM | BLOCK);
	no_walk(&m, 0xffff808000000000ull);
	desc(l3, 6, (RAM + 0x8000) | BLOCK);
	no_walk(&m, (va & ~0x1fffffull) | 6ull << 12);
	/* Lower half: TTBR0; addresses above 48 bits that are not all ones/zeros fault. */
	desc(u0, 0, u1 | TABLE);
	desc(u1, 0, RAM | BLOCK | AF);
	assert_true(walk(&m, 0x1234) == RAM + 0x1234);
	no_walk(&m, 0x0001000000001234ull);
	no_walk(&m, 0xfeff800000000000ull | 1ull << 30);
	/* TBI0: a tag in the top byte is ignored (only for TTBR0 here). */
	no_walk(&m, 0x5a00000000001234ull);
	m.tcr |= 1ull << 37;
	assert_true(walk(&m, 0x5a00000000001234ull) == RAM + 0x1234);
	/* EPD0 / EPD1 turn a half off. */
	m.tcr |= 1ull << 7;
	no_walk(&m, 0x1234);
	m.tcr |= 1ull << 23;
	no_walk(&m, va);
	/* MMU off: identity. */
	m.sctlr = 0;
	assert_true(walk(&m, 0x40080000) == 0x40080000);
	/* A table pointing outside guest RAM. */
	m = (struct arm64_mmu){.sctlr = 1, .tcr = TCR_4K48, .ttbr1 = 0x1000};
	no_walk(&m, va);
}

static void test_walk_39bit(void **state UNUSED)
{
	/* T1SZ = 25: 39-bit VAs, three levels from L1 (512 entries at L1). */
	const uint64_t l1 = RAM + 0x200000, l2 = RAM + 0x201000, l3 = RAM + 0x202000;
	const uint64_t va = 0xffffff8000000000ull | 511ull << 30 | 7ull << 21 | 9ull << 12 | 0xabc;
	struct arm64_mmu m = {.sctlr = 1, .tcr = 25ull << 16 | 2ull << 30 | 25, .ttbr1 = l1};

	memset(mem.base, 0, MiB(16));
	desc(l1, 511, l2 | TABLE);
	desc(l2, 7, l3 | TABLE);
	desc(l3, 9, (RAM + 0x9000) | PAGE | AF);
	assert_true(walk(&m, va) == RAM + 0x9abc);
	no_walk(&m, 0xffff000000000000ull); /* above 39 bits: not all ones */
}

static void test_walk_64k_16k(void **state UNUSED)
{
	/* 64 KiB granule, 42-bit VAs (T0SZ 22): two levels, L2 has 8192 entries. */
	const uint64_t l2 = RAM + 0x400000, l3 = RAM + 0x410000;
	const uint64_t va = 5ull << 29 | 3ull << 16 | 0x1234;
	struct arm64_mmu m = {.sctlr = 1, .tcr = 22 | 1ull << 14 | 1ull << 23, .ttbr0 = l2};

	memset(mem.base, 0, MiB(16));
	desc(l2, 5, l3 | TABLE);
	desc(l3, 3, (RAM + 0x30000) | PAGE | AF);
	assert_true(walk(&m, va) == RAM + 0x31234);
	/* A 512 MiB block at L2 (RAM is only 16 MiB, but the walk does not care). */
	desc(l2, 6, (RAM + 0x20000000) | BLOCK | AF);
	assert_true(walk(&m, 6ull << 29 | 0x123456) == RAM + 0x20123456);

	/* 16 KiB granule for TTBR1 (TG1 = 1), 47-bit VAs (T1SZ 17): L1 (2 entries), L2, L3. */
	const uint64_t a1 = RAM + 0x500000, a2 = RAM + 0x504000, a3 = RAM + 0x508000;
	const uint64_t vb = 0xffff800000000000ull | 1ull << 36 | 17ull << 25 | 33ull << 14 | 0x3210;

	m = (struct arm64_mmu){
		.sctlr = 1, .tcr = 17ull << 16 | 1ull << 30 | 1ull << 7, .ttbr1 = a1};
	desc(a1, 1, a2 | TABLE);
	desc(a2, 17, a3 | TABLE);
	desc(a3, 33, (RAM + 0x600000) | PAGE | AF);
	assert_true(walk(&m, vb) == RAM + 0x603210);
	/* TG1 = 0 is reserved. */
	m.tcr &= ~(3ull << 30);
	no_walk(&m, vb);
}

static void test_hw_encode(void **state UNUSED)
{
	struct gdb_hw_bp hw[GDB_MAX_HW_BPS] = {
		{.used = true, .type = GDB_BP_HW, .addr = 0xffff800008010004ull, .len = 4},
		{.used = true, .type = GDB_WATCH_WRITE, .addr = 0x40001004, .len = 4},
		{.used = false},
		{.used = true, .type = GDB_WATCH_READ, .addr = 0x40002007, .len = 1},
	};
	struct arm64_debug_regs d;
	int slot[GDB_MAX_HW_BPS];

	assert_true(arm64_gdb_hw_ok(GDB_BP_HW, 0x1000, 4));
	assert_false(arm64_gdb_hw_ok(GDB_BP_HW, 0x1002, 4));
	assert_true(arm64_gdb_hw_ok(GDB_WATCH_ACCESS, 0x1000, 8));
	assert_true(arm64_gdb_hw_ok(GDB_WATCH_READ, 0x1006, 2));
	assert_false(arm64_gdb_hw_ok(GDB_WATCH_WRITE, 0x1006, 4)); /* crosses a doubleword */
	assert_false(arm64_gdb_hw_ok(GDB_WATCH_WRITE, 0x1000, 16));
	assert_false(arm64_gdb_hw_ok(GDB_WATCH_WRITE, 0x1000, 0));

	assert_int_equal(arm64_gdb_encode_hw(hw, GDB_MAX_HW_BPS, 6, 4, &d, slot), 3);
	assert_int_equal(slot[0], 0);
	assert_int_equal(slot[1], 0);
	assert_int_equal(slot[2], -1);
	assert_int_equal(slot[3], 1);
	assert_true(d.bvr[0] == 0xffff800008010004ull);
	assert_true(d.bcr[0] == 0x1e7); /* E, PMC EL0+EL1, BAS 0b1111 */
	assert_true(d.bcr[1] == 0);
	assert_true(d.wvr[0] == 0x40001000);
	assert_true(d.wcr[0] == (1 | 3 << 1 | 2 << 3 | 0xf0 << 5)); /* store, bytes 4..7 */
	assert_true(d.wvr[1] == 0x40002000);
	assert_true(d.wcr[1] == (1 | 3 << 1 | 1 << 3 | 0x80 << 5)); /* load, byte 7 */

	/* One watchpoint register only: the second watchpoint gets none. */
	assert_int_equal(arm64_gdb_encode_hw(hw, GDB_MAX_HW_BPS, 6, 1, &d, slot), 2);
	assert_int_equal(slot[3], -1);
	assert_true(d.wcr[1] == 0);

	assert_int_equal(arm64_gdb_match_hw(hw, GDB_MAX_HW_BPS, true, 0xffff800008010004ull), 0);
	assert_int_equal(arm64_gdb_match_hw(hw, GDB_MAX_HW_BPS, true, 0xffff800008010008ull), -1);
	assert_int_equal(arm64_gdb_match_hw(hw, GDB_MAX_HW_BPS, false, 0x40001006), 1);
	assert_int_equal(arm64_gdb_match_hw(hw, GDB_MAX_HW_BPS, false, 0x40002000), 3);
	assert_int_equal(arm64_gdb_match_hw(hw, GDB_MAX_HW_BPS, false, 0x40003000), -1);
}

static void test_exception_entry(void **state UNUSED)
{
	const uint64_t vbar = 0xffff800008011000ull;
	uint64_t pc, ps;

	assert_int_equal(arm64_gdb_exception_entry(0x600003c5, 0, vbar, true, &pc, &ps), 0);
	assert_true(pc == vbar + 0x200);	 /* current EL with SP_EL1 */
	assert_true(ps == (0x3c5 | 1ull << 22)); /* SPAN = 0: PAN set */
	assert_int_equal(arm64_gdb_exception_entry(0x3c4, 1ull << 23, vbar, true, &pc, &ps), 0);
	assert_true(pc == vbar);  /* current EL with SP_EL0 */
	assert_true(ps == 0x3c5); /* SPAN = 1, PAN was clear: stays clear */
	assert_int_equal(arm64_gdb_exception_entry(0x80000000, 1ull << 44, vbar, false, &pc, &ps),
			 0);
	assert_true(pc == vbar + 0x400);	 /* from EL0 */
	assert_true(ps == (0x3c5 | 1ull << 12)); /* DSSBS; no PAN without the feature */
	assert_int_equal(arm64_gdb_exception_entry(0x1d3, 0, vbar, true, &pc, &ps), -1);
	assert_int_equal(arm64_gdb_exception_entry(0x3c9, 0, vbar, true, &pc, &ps), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xml_matches_layout), cmocka_unit_test(test_pack_unpack),
		cmocka_unit_test(test_sp_select),	   cmocka_unit_test(test_walk_4k),
		cmocka_unit_test(test_walk_39bit),	   cmocka_unit_test(test_walk_64k_16k),
		cmocka_unit_test(test_hw_encode),	   cmocka_unit_test(test_exception_entry),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
