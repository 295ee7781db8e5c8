// SPDX-License-Identifier: MIT
/*
 * test_gdb_x86.c - the x86_64 gdb hooks' pure parts: target.xml against the
 * register layout, register marshalling to and from kvm_regs/sregs/fpu, and
 * the page-table walk (KVM_TRANSLATE's fallback) on tables built in guest memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/gdb.h"

#ifdef __x86_64__
#include "arch/x86_64/gdb_x86.h"

static void test_xml_matches_layout(void **state UNUSED)
{
	const char *xml = arch_gdb_target_xml(), *p = xml;
	unsigned int nregs = 0, bits = 0;
	size_t off, size, expect = 0;

	assert_non_null(strstr(xml, "<architecture>i386:x86-64</architecture>"));
	assert_non_null(strstr(xml, "org.gnu.gdb.i386.core"));
	assert_non_null(strstr(xml, "org.gnu.gdb.i386.sse"));
	while ((p = strstr(p, "<reg name=\""))) {
		const char *b = strstr(p, "bitsize=\"");

		assert_non_null(b);
		bits = (unsigned int)strtoul(b + 9, NULL, 10);
		assert_int_equal(arch_gdb_reg_span(nregs, &off, &size), 0);
		assert_int_equal(off, expect);	  /* registers follow one another */
		assert_int_equal(size * 8, bits); /* and have the xml's size */
		expect += size;
		nregs++;
		p++;
	}
	assert_int_equal(nregs, X86_GDB_NREGS);
	assert_int_equal(expect, X86_GDB_REGS_SIZE);
	assert_int_equal(arch_gdb_reg_span(X86_GDB_NREGS, &off, &size), -1);
}

static uint64_t reg_at(const uint8_t *buf, unsigned int regno)
{
	size_t off, size;
	uint64_t v = 0;

	assert_int_equal(arch_gdb_reg_span(regno, &off, &size), 0);
	memcpy(&v, buf + off, size < 8 ? size : 8);
	return v;
}

static void test_pack_unpack(void **state UNUSED)
{
	struct kvm_regs r, r2;
	struct kvm_sregs s, s2;
	struct kvm_fpu f, f2;
	uint8_t buf[X86_GDB_REGS_SIZE];

	memset(&r, 0, sizeof(r));
	memset(&s, 0, sizeof(s));
	memset(&f, 0, sizeof(f));
	r.rax = 0x1111111111111111ull;
	r.rbx = 2;
	r.rbp = 0xbbbb;
	r.rsp = 0x5555;
	r.r15 = 0xf15;
	r.rip = 0xffffffff81000000ull;
	r.rflags = 0x246;
	s.cs.selector = 0x10;
	s.ss.selector = 0x18;
	s.gs.selector = 0x2b;
	s.fs.base = 0x7f0000001000ull;
	s.gs.base = 0xffff888000000000ull;
	s.cr0 = 0x80050033;
	s.cr2 = 0xdead;
	s.cr3 = 0x1234000;
	s.cr4 = 0x3406f0;
	s.cr8 = 1;
	s.efer = 0xd01;
	f.fcw = 0x37f;
	f.ftwx = 0x01; /* st0 valid, the rest empty */
	f.fpr[0][0] = 0x42;
	f.xmm[3][15] = 0x99;
	f.mxcsr = 0x1f80;

	x86_gdb_pack(&r, &s, &f, buf);
	assert_true(reg_at(buf, 0) == r.rax);
	assert_true(reg_at(buf, 1) == 2);
	assert_true(reg_at(buf, 6) == 0xbbbb); /* gdb: rbp before rsp */
	assert_true(reg_at(buf, 7) == 0x5555);
	assert_true(reg_at(buf, 15) == 0xf15);
	assert_true(reg_at(buf, 16) == r.rip);
	assert_true(reg_at(buf, 17) == 0x246);
	assert_true(reg_at(buf, 18) == 0x10);
	assert_true(reg_at(buf, 19) == 0x18);
	assert_true(reg_at(buf, 23) == 0x2b);
	assert_true(reg_at(buf, 24) == 0x42);
	assert_true(reg_at(buf, 32) == 0x37f);
	assert_true(reg_at(buf, 34) == 0xfffc); /* full tag word: st0 valid (00), 7 empty (11) */
	assert_int_equal(buf[276 + 3 * 16 + 15], 0x99);
	assert_true(reg_at(buf, 56) == 0x1f80);
	assert_true(reg_at(buf, 57) == s.fs.base);
	assert_true(reg_at(buf, 58) == s.gs.base);
	assert_true(reg_at(buf, 59) == s.cr0);
	assert_true(reg_at(buf, 60) == 0xdead);
	assert_true(reg_at(buf, 61) == s.cr3);
	assert_true(reg_at(buf, 62) == s.cr4);
	assert_true(reg_at(buf, 63) == 1);
	assert_true(reg_at(buf, 64) == 0xd01);

	/* Unchanged bytes give back the same structures. */
	r2 = r;
	s2 = s;
	f2 = f;
	x86_gdb_unpack(buf, &r2, &s2, &f2);
	assert_memory_equal(&r, &r2, sizeof(r));
	assert_memory_equal(&s, &s2, sizeof(s));
	assert_memory_equal(&f, &f2, sizeof(f));

	/* A changed register lands in its field, and only there. */
	buf[16 * 8] = 0x10;	     /* rip low byte */
	buf[552 + 2 * 8 + 1] = 0x55; /* cr3 byte 1 */
	x86_gdb_unpack(buf, &r2, &s2, &f2);
	assert_true(r2.rip == 0xffffffff81000010ull);
	assert_true(s2.cr3 == 0x1235500);
	r2.rip = r.rip;
	s2.cr3 = s.cr3;
	assert_memory_equal(&r, &r2, sizeof(r));
	assert_memory_equal(&s, &s2, sizeof(s));
}

/* ---- page walks: tables built in a 16 MiB guest --------------------------- */

static struct guest_mem mem;
static const struct mem_region layout[] = {{.gpa = 0, .size = MiB(16)}};

static int setup(void **state UNUSED)
{
	return gmem_init(&mem, MiB(16), layout, 1);
}

static int teardown(void **state UNUSED)
{
	gmem_destroy(&mem);
	return 0;
}

static void pte(uint64_t table, unsigned int idx, uint64_t val)
{
	assert_int_equal(gmem_write(&mem, table + 8 * idx, &val, 8), 0);
}

static void pte32(uint64_t table, unsigned int idx, uint32_t val)
{
	assert_int_equal(gmem_write(&mem, table + 4 * idx, &val, 4), 0);
}

#define P	 1ull
#define RW	 2ull
#define PS	 0x80ull
#define NX	 (1ull << 63)
#define CR0_PG	 0x80000001ull
#define EFER_LMA 0x500ull

static void test_walk_long_mode(void **state UNUSED)
{
	const uint64_t pml4 = 0x100000, pdpt = 0x101000, pd = 0x102000, pt = 0x103000;
	const uint64_t va = 0xffffffff81234567ull; /* pml4 511, pdpt 510, pd 9, pt 0x34 */
	uint64_t gpa;

	memset(mem.base, 0, MiB(16));
	pte(pml4, 511, pdpt | P | RW);
	pte(pdpt, 510, pd | P | RW);
	pte(pd, 9, pt | P | RW);
	pte(pt, 0x34, 0x456000 | P | NX); /* NX and other high bits are not address */
	assert_int_equal(x86_gdb_walk(&mem, CR0_PG, pml4, 0x20, EFER_LMA, va, &gpa), 0);
	assert_true(gpa == 0x456567);
	/* A 2 MiB page one entry further. */
	pte(pd, 10, 0x600000 | P | PS);
	assert_int_equal(x86_gdb_walk(&mem, CR0_PG, pml4, 0x20, EFER_LMA, va + MiB(2), &gpa), 0);
	assert_true(gpa == 0x600000 + 0x34567);
	/* A 1 GiB page: pml4 0, pdpt 1 -> gpa 1 GiB + offset (outside this guest, but translated). */
	pte(pml4, 0, pdpt | P);
	pte(pdpt, 1, GiB(1) | P | PS);
	assert_int_equal(x86_gdb_walk(&mem, CR0_PG, pml4, 0x20, EFER_LMA, GiB(1) + 0x1234, &gpa),
			 0);
	assert_true(gpa == GiB(1) + 0x1234);
	/* Not present at each level. */
	assert_int_equal(
		x86_gdb_walk(&mem, CR0_PG, pml4, 0x20, EFER_LMA, 0x0000700000000000ull, &gpa), -1);
	assert_int_equal(x86_gdb_walk(&mem, CR0_PG, pml4, 0x20, EFER_LMA, va + MiB(4), &gpa), -1);
	assert_int_equal(x86_gdb_walk(&mem, CR0_PG, pml4, 0x20, EFER_LMA, va + 0x1000, &gpa), -1);
	/* A table outside guest RAM fails cleanly. */
	pte(pml4, 1, GiB(64) | P);
	assert_int_equal(x86_gdb_walk(&mem, CR0_PG, pml4, 0x20, EFER_LMA, 0x8000000000ull, &gpa),
			 -1);
}

static void test_walk_other_modes(void **state UNUSED)
{
	const uint64_t pdpt = 0x200000, pd = 0x201000, pt = 0x202000;
	uint64_t gpa;

	memset(mem.base, 0, MiB(16));
	/* Paging off: identity. */
	assert_int_equal(x86_gdb_walk(&mem, 0x11, 0, 0, 0, 0x1000850, &gpa), 0);
	assert_true(gpa == 0x1000850);
	/* PAE: PDPTE 3, PDE 0 (4K) and PDE 1 (2M). */
	pte(pdpt, 3, pd | P);
	pte(pd, 0, pt | P);
	pte(pt, 5, 0x345000 | P);
	pte(pd, 1, 0xa00000 | P | PS);
	assert_int_equal(x86_gdb_walk(&mem, CR0_PG, pdpt, 0x20, 0, 0xc0005abcull, &gpa), 0);
	assert_true(gpa == 0x345abc);
	assert_int_equal(x86_gdb_walk(&mem, CR0_PG, pdpt, 0x20, 0, 0xc0212345ull, &gpa), 0);
	assert_true(gpa == 0xa12345);
	/* 32-bit: a 4K page, and a 4M page with PSE. */
	memset(mem.base, 0, MiB(16));
	pte32(pd, 0x300, (uint32_t)(pt | P));
	pte32(pt, 2, 0x777000 | P);
	pte32(pd, 0x301, 0x800000 | P | PS);
	assert_int_equal(x86_gdb_walk(&mem, CR0_PG, pd, 0, 0, 0xc0002123ull, &gpa), 0);
	assert_true(gpa == 0x777123);
	assert_int_equal(x86_gdb_walk(&mem, CR0_PG, pd, 0x10, 0, 0xc0512345ull, &gpa), 0);
	assert_true(gpa == 0x912345);
	assert_int_equal(x86_gdb_walk(&mem, CR0_PG, pd, 0x10, 0, 0x00001000ull, &gpa), -1);
}

static void test_hw_bp_ok(void **state UNUSED)
{
	assert_true(arch_gdb_hw_bp_ok(GDB_BP_HW, 0xffffffff81000001ull, 1));
	assert_true(arch_gdb_hw_bp_ok(GDB_WATCH_WRITE, 0x1000, 8));
	assert_true(arch_gdb_hw_bp_ok(GDB_WATCH_ACCESS, 0x1002, 2));
	assert_false(arch_gdb_hw_bp_ok(GDB_WATCH_WRITE, 0x1004, 8)); /* unaligned */
	assert_false(arch_gdb_hw_bp_ok(GDB_WATCH_WRITE, 0x1000, 3));
	assert_false(arch_gdb_hw_bp_ok(GDB_WATCH_READ, 0x1000, 4)); /* x86 has no read-only */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xml_matches_layout), cmocka_unit_test(test_pack_unpack),
		cmocka_unit_test(test_walk_long_mode),	   cmocka_unit_test(test_walk_other_modes),
		cmocka_unit_test(test_hw_bp_ok),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
#else
static void test_not_x86(void **state UNUSED)
{
	skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_not_x86)};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
