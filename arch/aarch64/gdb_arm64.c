// SPDX-License-Identifier: MIT
/*
 * gdb_arm64.c - the arm64 gdb hooks' pure parts (see gdb_arm64.h): the
 * register file gdb knows as org.gnu.gdb.aarch64.core + .fpu, the stage-1
 * walk that stands in for KVM_TRANSLATE (which arm64 KVM lacks), the
 * debug-register encoding of gdb's hardware breakpoints and watchpoints, and
 * the exception entry that gives a guest its own BRK back.
 */
#include <string.h>

#include "arch/aarch64/gdb_arm64.h"

/* clang-format off */
#define X(n) "<reg name=\"x" n "\" bitsize=\"64\"/>"
#define V(n) "<reg name=\"v" n "\" bitsize=\"128\" type=\"aarch64v\"/>"

static const char target_xml[] =
	"<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
	"<target><architecture>aarch64</architecture>"
	"<feature name=\"org.gnu.gdb.aarch64.core\">"
	X("0") X("1") X("2") X("3") X("4") X("5") X("6") X("7") X("8") X("9")
	X("10") X("11") X("12") X("13") X("14") X("15") X("16") X("17") X("18") X("19")
	X("20") X("21") X("22") X("23") X("24") X("25") X("26") X("27") X("28") X("29")
	X("30")
	"<reg name=\"sp\" bitsize=\"64\" type=\"data_ptr\"/>"
	"<reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\"/>"
	"<flags id=\"cpsr_flags\" size=\"4\">"
	"<field name=\"SP\" start=\"0\" end=\"0\"/><field name=\"EL\" start=\"2\" end=\"3\"/>"
	"<field name=\"nRW\" start=\"4\" end=\"4\"/><field name=\"F\" start=\"6\" end=\"6\"/>"
	"<field name=\"I\" start=\"7\" end=\"7\"/><field name=\"A\" start=\"8\" end=\"8\"/>"
	"<field name=\"D\" start=\"9\" end=\"9\"/><field name=\"SSBS\" start=\"12\" end=\"12\"/>"
	"<field name=\"IL\" start=\"20\" end=\"20\"/><field name=\"SS\" start=\"21\" end=\"21\"/>"
	"<field name=\"PAN\" start=\"22\" end=\"22\"/><field name=\"UAO\" start=\"23\" end=\"23\"/>"
	"<field name=\"V\" start=\"28\" end=\"28\"/><field name=\"C\" start=\"29\" end=\"29\"/>"
	"<field name=\"Z\" start=\"30\" end=\"30\"/><field name=\"N\" start=\"31\" end=\"31\"/>"
	"</flags>"
	"<reg name=\"cpsr\" bitsize=\"32\" type=\"cpsr_flags\"/>"
	"</feature>"
	"<feature name=\"org.gnu.gdb.aarch64.fpu\">"
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
	"<vector id=\"v2u\" type=\"uint64\" count=\"2\"/>"
	"<vector id=\"v2i\" type=\"int64\" count=\"2\"/>"
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
	"<vector id=\"v4u\" type=\"uint32\" count=\"4\"/>"
	"<vector id=\"v4i\" type=\"int32\" count=\"4\"/>"
	"<vector id=\"v8u\" type=\"uint16\" count=\"8\"/>"
	"<vector id=\"v8i\" type=\"int16\" count=\"8\"/>"
	"<vector id=\"v16u\" type=\"uint8\" count=\"16\"/>"
	"<vector id=\"v16i\" type=\"int8\" count=\"16\"/>"
	"<vector id=\"v1u\" type=\"uint128\" count=\"1\"/>"
	"<union id=\"vnd\"><field name=\"f\" type=\"v2d\"/><field name=\"u\" type=\"v2u\"/>"
	"<field name=\"s\" type=\"v2i\"/></union>"
	"<union id=\"vns\"><field name=\"f\" type=\"v4f\"/><field name=\"u\" type=\"v4u\"/>"
	"<field name=\"s\" type=\"v4i\"/></union>"
	"<union id=\"vnh\"><field name=\"u\" type=\"v8u\"/><field name=\"s\" type=\"v8i\"/></union>"
	"<union id=\"vnb\"><field name=\"u\" type=\"v16u\"/><field name=\"s\" type=\"v16i\"/></union>"
	"<union id=\"vnq\"><field name=\"u\" type=\"v1u\"/></union>"
	"<union id=\"aarch64v\"><field name=\"d\" type=\"vnd\"/><field name=\"s\" type=\"vns\"/>"
	"<field name=\"h\" type=\"vnh\"/><field name=\"b\" type=\"vnb\"/>"
	"<field name=\"q\" type=\"vnq\"/></union>"
	"<reg name=\"v0\" bitsize=\"128\" type=\"aarch64v\" regnum=\"34\"/>"
	V("1") V("2") V("3") V("4") V("5") V("6") V("7") V("8") V("9") V("10") V("11")
	V("12") V("13") V("14") V("15") V("16") V("17") V("18") V("19") V("20") V("21")
	V("22") V("23") V("24") V("25") V("26") V("27") V("28") V("29") V("30") V("31")
	"<reg name=\"fpsr\" bitsize=\"32\"/>"
	"<reg name=\"fpcr\" bitsize=\"32\"/>"
	"</feature></target>";
/* clang-format on */

const char *arm64_gdb_target_xml(void)
{
	return target_xml;
}

/* clang-format off */
enum {
	OFF_X = 0,	/* 31 x 8 */
	OFF_SP = 248,	/* 8 */
	OFF_PC = 256,	/* 8 */
	OFF_CPSR = 264, /* 4 */
	OFF_V = 268,	/* 32 x 16 */
	OFF_FPSR = 780, /* 4, then fpcr */
};
/* clang-format on */

int arm64_gdb_reg_span(unsigned int regno, size_t *off, size_t *size)
{
	if (regno < 31) {
		*off = OFF_X + 8 * regno, *size = 8;
	} else if (regno == 31) {
		*off = OFF_SP, *size = 8;
	} else if (regno == 32) {
		*off = OFF_PC, *size = 8;
	} else if (regno == 33) {
		*off = OFF_CPSR, *size = 4;
	} else if (regno < 66) {
		*off = OFF_V + 16 * (regno - 34), *size = 16;
	} else if (regno < ARM64_GDB_NREGS) {
		*off = OFF_FPSR + 4 * (regno - 66), *size = 4;
	} else {
		return -1;
	}
	return 0;
}

static void put(uint8_t *buf, size_t off, uint64_t v, size_t size)
{
	for (size_t i = 0; i < size; i++)
		buf[off + i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *buf, size_t off, size_t size)
{
	uint64_t v = 0;

	for (size_t i = 0; i < size; i++)
		v |= (uint64_t)buf[off + i] << (8 * i);
	return v;
}

void arm64_gdb_pack(const struct arm64_gdb_regs *r, uint8_t *buf)
{
	for (int i = 0; i < 31; i++)
		put(buf, OFF_X + 8 * i, r->x[i], 8);
	put(buf, OFF_SP, r->sp, 8);
	put(buf, OFF_PC, r->pc, 8);
	put(buf, OFF_CPSR, r->cpsr, 4);
	memcpy(buf + OFF_V, r->v, sizeof(r->v));
	put(buf, OFF_FPSR, r->fpsr, 4);
	put(buf, OFF_FPSR + 4, r->fpcr, 4);
}

void arm64_gdb_unpack(const uint8_t *buf, struct arm64_gdb_regs *r)
{
	for (int i = 0; i < 31; i++)
		r->x[i] = get(buf, OFF_X + 8 * i, 8);
	r->sp = get(buf, OFF_SP, 8);
	r->pc = get(buf, OFF_PC, 8);
	r->cpsr = (uint32_t)get(buf, OFF_CPSR, 4);
	memcpy(r->v, buf + OFF_V, sizeof(r->v));
	r->fpsr = (uint32_t)get(buf, OFF_FPSR, 4);
	r->fpcr = (uint32_t)get(buf, OFF_FPSR + 4, 4);
}

bool arm64_gdb_sp_el1(uint64_t pstate)
{
	/* AArch64 (M[4] = 0), EL1 or above (M[3:2]), SPSel (M[0]). */
	return !(pstate & 0x10) && ((pstate >> 2) & 3) >= 1 && (pstate & 1);
}

/* ---- the stage-1 walk ----------------------------------------------------- */

#define TCR_EPD0 (1ull << 7)
#define TCR_EPD1 (1ull << 23)
#define TCR_TBI0 (1ull << 37)
#define TCR_TBI1 (1ull << 38)
#define OA_MASK	 0x0000ffffffffffffull /* 48-bit output addresses */

int arm64_gdb_walk(const struct guest_mem *m, const struct arm64_mmu *mmu, uint64_t gva,
		   uint64_t *gpa)
{
	bool hi = (gva >> 55) & 1;
	unsigned int tsz, tg, gshift, ia, stride, levels, top;
	uint64_t table, mask, oa_mask;
	bool tbi;
	int start;

	if (!(mmu->sctlr & 1)) { /* SCTLR_EL1.M: the MMU is off */
		*gpa = gva;
		return 0;
	}
	if (!hi) {
		tsz = mmu->tcr & 63;
		tg = (mmu->tcr >> 14) & 3;
		gshift = tg == 0 ? 12 : tg == 1 ? 16 : tg == 2 ? 14 : 0;
		tbi = mmu->tcr & TCR_TBI0;
		table = mmu->ttbr0;
		if (mmu->tcr & TCR_EPD0)
			return -1;
	} else {
		tsz = (mmu->tcr >> 16) & 63;
		tg = (mmu->tcr >> 30) & 3;
		gshift = tg == 2 ? 12 : tg == 3 ? 16 : tg == 1 ? 14 : 0;
		tbi = mmu->tcr & TCR_TBI1;
		table = mmu->ttbr1;
		if (mmu->tcr & TCR_EPD1)
			return -1;
	}
	if (!gshift || tsz < 12 || tsz > 48)
		return -1;
	ia = 64 - tsz;
	/* The bits above the input size must all be copies of bit 55 (but the top byte with TBI). */
	top = tbi ? 56 : 64;
	if (ia < top) {
		mask = (top == 64 ? ~0ull : (1ull << top) - 1) & ~((1ull << ia) - 1);
		if ((gva & mask) != (hi ? mask : 0))
			return -1;
	}
	stride = gshift - 3;
	levels = (ia - gshift + stride - 1) / stride;
	start = 4 - (int)levels;
	oa_mask = OA_MASK & ~((1ull << gshift) - 1);
	table &= OA_MASK & ~1ull; /* BADDR; bit 0 is CnP */
	for (int level = start; level <= 3; level++) {
		unsigned int shift = gshift + (unsigned int)(3 - level) * stride;
		unsigned int bits = level == start ? ia - shift : stride;
		uint64_t idx = (gva >> shift) & ((1ull << bits) - 1), d;
		uint8_t b[8];

		if (level == start) /* the top table is aligned to its size (at least 64 bytes) */
			table &= ~((bits + 3 > 6 ? 1ull << (bits + 3) : 64) - 1);
		if (gmem_read(m, table + 8 * idx, b, 8))
			return -1;
		d = get(b, 0, 8);
		if (!(d & 1))
			return -1;
		if (level == 3) {
			if ((d & 3) != 3)
				return -1;
			*gpa = (d & oa_mask) | (gva & ((1ull << gshift) - 1));
			return 0;
		}
		if ((d & 3) == 1) { /* a block */
			uint64_t bmask = (1ull << shift) - 1;

			if (level < 1)
				return -1;
			*gpa = (d & OA_MASK & ~bmask) | (gva & bmask);
			return 0;
		}
		table = d & oa_mask;
	}
	return -1;
}

/* ---- hardware breakpoints and watchpoints ---------------------------------- */

/* DBGBCR: E, PMC = EL1 + EL0, BAS = all four bytes.  DBGWCR: E, PAC = EL1 + EL0. */
#define BCR_EXEC   (1ull | 3ull << 1 | 0xfull << 5)
#define WCR_BASE   (1ull | 3ull << 1)
#define WCR_LSC(x) ((uint64_t)(x) << 3) /* 1 load, 2 store, 3 both */
#define WCR_BAS(x) ((uint64_t)(x) << 5)

unsigned int arm64_gdb_encode_hw(const struct gdb_hw_bp *hw, unsigned int nhw, unsigned int nbps,
				 unsigned int nwps, struct arm64_debug_regs *d, int *slot)
{
	unsigned int nb = 0, nw = 0;

	memset(d, 0, sizeof(*d));
	if (nbps > 16)
		nbps = 16;
	if (nwps > 16)
		nwps = 16;
	for (unsigned int i = 0; i < nhw; i++) {
		const struct gdb_hw_bp *b = &hw[i];
		unsigned int lsc;

		slot[i] = -1;
		if (!b->used)
			continue;
		if (b->type == GDB_BP_HW) {
			if (nb >= nbps)
				continue;
			d->bvr[nb] = b->addr & ~3ull;
			d->bcr[nb] = BCR_EXEC;
			slot[i] = (int)nb++;
			continue;
		}
		if (nw >= nwps || !arm64_gdb_hw_ok(b->type, b->addr, b->len))
			continue;
		lsc = b->type == GDB_WATCH_READ ? 1 : b->type == GDB_WATCH_WRITE ? 2 : 3;
		d->wvr[nw] = b->addr & ~7ull;
		d->wcr[nw] =
			WCR_BASE | WCR_LSC(lsc) | WCR_BAS(((1u << b->len) - 1) << (b->addr & 7));
		slot[i] = (int)nw++;
	}
	return nb + nw;
}

bool arm64_gdb_hw_ok(enum gdb_bp_type type, uint64_t addr, unsigned int len)
{
	switch (type) {
	case GDB_BP_HW:
		return !(addr & 3);
	case GDB_WATCH_WRITE:
	case GDB_WATCH_READ:
	case GDB_WATCH_ACCESS:
		/* One doubleword-aligned DBGWVR, BAS selects the bytes. */
		return len >= 1 && len <= 8 && (addr & 7) + len <= 8;
	default:
		return false;
	}
}

int arm64_gdb_match_hw(const struct gdb_hw_bp *hw, unsigned int nhw, bool bp, uint64_t addr)
{
	for (unsigned int i = 0; i < nhw; i++) {
		const struct gdb_hw_bp *b = &hw[i];

		if (!b->used || (b->type == GDB_BP_HW) != bp)
			continue;
		if (bp ? (b->addr & ~3ull) == (addr & ~3ull) : (b->addr & ~7ull) == (addr & ~7ull))
			return (int)i;
	}
	return -1;
}

/* ---- exception entry -------------------------------------------------------- */

#define PSR_PAN	    (1ull << 22)
#define PSR_SSBS    (1ull << 12)
#define SCTLR_SPAN  (1ull << 23)
#define SCTLR_DSSBS (1ull << 44)

int arm64_gdb_exception_entry(uint64_t pstate, uint64_t sctlr, uint64_t vbar, bool have_pan,
			      uint64_t *pc, uint64_t *new_pstate)
{
	unsigned int el = (pstate >> 2) & 3;
	uint64_t off;

	if ((pstate & 0x10) || el > 1) /* AArch32, or not a guest EL */
		return -1;
	off = el == 0 ? 0x400 : (pstate & 1) ? 0x200 : 0x000; /* synchronous: lower EL, SPx, SP0 */
	*pc = vbar + off;
	/* EL1h with D, A, I, F masked; PAN per SCTLR_EL1.SPAN; SSBS from DSSBS. */
	*new_pstate = 0x3c5;
	if (have_pan)
		*new_pstate |= !(sctlr & SCTLR_SPAN) ? PSR_PAN : (pstate & PSR_PAN);
	if (sctlr & SCTLR_DSSBS)
		*new_pstate |= PSR_SSBS;
	return 0;
}
