// SPDX-License-Identifier: MIT
/*
 * gdb.c - the x86_64 side of the gdb stub (vmm/gdb.c): target.xml and the
 * register file (gdb's 64bit-core and 64bit-sse features, the segment bases
 * and the control registers), address translation (KVM_TRANSLATE, or a walk
 * of the guest's page tables), and guest debugging through DR0-DR3/DR7.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/gdb.h"
#include "arch/x86_64/gdb_x86.h"

/* clang-format off */
#define REG64(n) "<reg name=\"" n "\" bitsize=\"64\" type=\"int64\"/>"
#define REG32(n) "<reg name=\"" n "\" bitsize=\"32\" type=\"int32\"/>"
#define ST(n) "<reg name=\"st" n "\" bitsize=\"80\" type=\"i387_ext\"/>"
#define FP(n) "<reg name=\"" n "\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
#define XMM(n) "<reg name=\"xmm" n "\" bitsize=\"128\" type=\"vec128\"/>"
#define SYS(n) "<reg name=\"" n "\" bitsize=\"64\" type=\"int64\" group=\"system\"/>"

static const char target_xml[] =
	"<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
	"<target><architecture>i386:x86-64</architecture>"
	"<feature name=\"org.gnu.gdb.i386.core\">"
	"<flags id=\"i386_eflags\" size=\"4\">"
	"<field name=\"CF\" start=\"0\" end=\"0\"/><field name=\"\" start=\"1\" end=\"1\"/>"
	"<field name=\"PF\" start=\"2\" end=\"2\"/><field name=\"AF\" start=\"4\" end=\"4\"/>"
	"<field name=\"ZF\" start=\"6\" end=\"6\"/><field name=\"SF\" start=\"7\" end=\"7\"/>"
	"<field name=\"TF\" start=\"8\" end=\"8\"/><field name=\"IF\" start=\"9\" end=\"9\"/>"
	"<field name=\"DF\" start=\"10\" end=\"10\"/><field name=\"OF\" start=\"11\" end=\"11\"/>"
	"<field name=\"NT\" start=\"14\" end=\"14\"/><field name=\"RF\" start=\"16\" end=\"16\"/>"
	"<field name=\"VM\" start=\"17\" end=\"17\"/><field name=\"AC\" start=\"18\" end=\"18\"/>"
	"<field name=\"VIF\" start=\"19\" end=\"19\"/><field name=\"VIP\" start=\"20\" end=\"20\"/>"
	"<field name=\"ID\" start=\"21\" end=\"21\"/></flags>"
	REG64("rax") REG64("rbx") REG64("rcx") REG64("rdx") REG64("rsi") REG64("rdi")
	"<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\"/>"
	"<reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\"/>"
	REG64("r8") REG64("r9") REG64("r10") REG64("r11") REG64("r12") REG64("r13")
	REG64("r14") REG64("r15")
	"<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>"
	"<reg name=\"eflags\" bitsize=\"32\" type=\"i386_eflags\"/>"
	REG32("cs") REG32("ss") REG32("ds") REG32("es") REG32("fs") REG32("gs")
	ST("0") ST("1") ST("2") ST("3") ST("4") ST("5") ST("6") ST("7")
	FP("fctrl") FP("fstat") FP("ftag") FP("fiseg") FP("fioff") FP("foseg") FP("fooff")
	FP("fop")
	"</feature>"
	"<feature name=\"org.gnu.gdb.i386.sse\">"
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
	"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
	"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
	"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
	"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
	"<union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/>"
	"<field name=\"v2_double\" type=\"v2d\"/><field name=\"v16_int8\" type=\"v16i8\"/>"
	"<field name=\"v8_int16\" type=\"v8i16\"/><field name=\"v4_int32\" type=\"v4i32\"/>"
	"<field name=\"v2_int64\" type=\"v2i64\"/><field name=\"uint128\" type=\"uint128\"/>"
	"</union>"
	"<flags id=\"i386_mxcsr\" size=\"4\">"
	"<field name=\"IE\" start=\"0\" end=\"0\"/><field name=\"DE\" start=\"1\" end=\"1\"/>"
	"<field name=\"ZE\" start=\"2\" end=\"2\"/><field name=\"OE\" start=\"3\" end=\"3\"/>"
	"<field name=\"UE\" start=\"4\" end=\"4\"/><field name=\"PE\" start=\"5\" end=\"5\"/>"
	"<field name=\"DAZ\" start=\"6\" end=\"6\"/><field name=\"IM\" start=\"7\" end=\"7\"/>"
	"<field name=\"DM\" start=\"8\" end=\"8\"/><field name=\"ZM\" start=\"9\" end=\"9\"/>"
	"<field name=\"OM\" start=\"10\" end=\"10\"/><field name=\"UM\" start=\"11\" end=\"11\"/>"
	"<field name=\"PM\" start=\"12\" end=\"12\"/><field name=\"FZ\" start=\"15\" end=\"15\"/>"
	"</flags>"
	"<reg name=\"xmm0\" bitsize=\"128\" type=\"vec128\" regnum=\"40\"/>"
	XMM("1") XMM("2") XMM("3") XMM("4") XMM("5") XMM("6") XMM("7") XMM("8") XMM("9")
	XMM("10") XMM("11") XMM("12") XMM("13") XMM("14") XMM("15")
	"<reg name=\"mxcsr\" bitsize=\"32\" type=\"i386_mxcsr\" group=\"vector\"/>"
	"</feature>"
	"<feature name=\"org.gnu.gdb.i386.segments\">"
	"<reg name=\"fs_base\" bitsize=\"64\" type=\"int\"/>"
	"<reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/>"
	"</feature>"
	"<feature name=\"org.ktvm.gdb.x86.sys\">"
	SYS("cr0") SYS("cr2") SYS("cr3") SYS("cr4") SYS("cr8") SYS("efer")
	"</feature></target>";
/* clang-format on */

const char *arch_gdb_target_xml(void)
{
	return target_xml;
}

/* Offsets in the 'g' layout. */
/* clang-format off */
enum {
	OFF_GPR = 0,	  /* 16 x 8: rax rbx rcx rdx rsi rdi rbp rsp r8..r15 */
	OFF_RIP = 128,	  /* 8 */
	OFF_EFLAGS = 136, /* 4 */
	OFF_SEG = 140,	  /* 6 x 4: cs ss ds es fs gs */
	OFF_ST = 164,	  /* 8 x 10 */
	OFF_FPCTL = 244,  /* 8 x 4: fctrl fstat ftag fiseg fioff foseg fooff fop */
	OFF_XMM = 276,	  /* 16 x 16 */
	OFF_MXCSR = 532,  /* 4 */
	OFF_FSBASE = 536, /* 8, then gs_base */
	OFF_CR = 552,	  /* 6 x 8: cr0 cr2 cr3 cr4 cr8 efer */
};
/* clang-format on */

int arch_gdb_reg_span(unsigned int regno, size_t *off, size_t *size)
{
	if (regno < 16) {
		*off = OFF_GPR + 8 * regno, *size = 8;
	} else if (regno == 16) {
		*off = OFF_RIP, *size = 8;
	} else if (regno == 17) {
		*off = OFF_EFLAGS, *size = 4;
	} else if (regno < 24) {
		*off = OFF_SEG + 4 * (regno - 18), *size = 4;
	} else if (regno < 32) {
		*off = OFF_ST + 10 * (regno - 24), *size = 10;
	} else if (regno < 40) {
		*off = OFF_FPCTL + 4 * (regno - 32), *size = 4;
	} else if (regno < 56) {
		*off = OFF_XMM + 16 * (regno - 40), *size = 16;
	} else if (regno == 56) {
		*off = OFF_MXCSR, *size = 4;
	} else if (regno < 59) {
		*off = OFF_FSBASE + 8 * (regno - 57), *size = 8;
	} else if (regno < X86_GDB_NREGS) {
		*off = OFF_CR + 8 * (regno - 59), *size = 8;
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

/* KVM's FXSAVE-style abridged tag (1 bit: valid) and gdb's full tag word (2 bits: 3 = empty). */
static uint32_t full_tag(uint8_t ftwx)
{
	uint32_t tag = 0;

	for (int i = 0; i < 8; i++)
		tag |= (ftwx & (1u << i) ? 0u : 3u) << (2 * i);
	return tag;
}

static uint8_t abridged_tag(uint32_t tag)
{
	uint8_t ftwx = 0;

	for (int i = 0; i < 8; i++)
		if (((tag >> (2 * i)) & 3) != 3)
			ftwx |= (uint8_t)(1u << i);
	return ftwx;
}

void x86_gdb_pack(const struct kvm_regs *r, const struct kvm_sregs *s, const struct kvm_fpu *f,
		  uint8_t *buf)
{
	const uint64_t gpr[16] = {r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp, r->rsp,
				  r->r8,  r->r9,  r->r10, r->r11, r->r12, r->r13, r->r14, r->r15};
	const struct kvm_segment *seg[6] = {&s->cs, &s->ss, &s->ds, &s->es, &s->fs, &s->gs};
	const uint64_t cr[6] = {s->cr0, s->cr2, s->cr3, s->cr4, s->cr8, s->efer};

	memset(buf, 0, X86_GDB_REGS_SIZE);
	for (int i = 0; i < 16; i++)
		put(buf, OFF_GPR + 8 * i, gpr[i], 8);
	put(buf, OFF_RIP, r->rip, 8);
	put(buf, OFF_EFLAGS, r->rflags, 4);
	for (int i = 0; i < 6; i++)
		put(buf, OFF_SEG + 4 * i, seg[i]->selector, 4);
	for (int i = 0; i < 8; i++)
		memcpy(buf + OFF_ST + 10 * i, f->fpr[i], 10);
	put(buf, OFF_FPCTL + 0, f->fcw, 4);
	put(buf, OFF_FPCTL + 4, f->fsw, 4);
	put(buf, OFF_FPCTL + 8, full_tag(f->ftwx), 4);
	put(buf, OFF_FPCTL + 12, 0, 4); /* fiseg: 64-bit FXSAVE has none */
	put(buf, OFF_FPCTL + 16, f->last_ip, 4);
	put(buf, OFF_FPCTL + 20, 0, 4);
	put(buf, OFF_FPCTL + 24, f->last_dp, 4);
	put(buf, OFF_FPCTL + 28, f->last_opcode, 4);
	memcpy(buf + OFF_XMM, f->xmm, 256);
	put(buf, OFF_MXCSR, f->mxcsr, 4);
	put(buf, OFF_FSBASE, s->fs.base, 8);
	put(buf, OFF_FSBASE + 8, s->gs.base, 8);
	for (int i = 0; i < 6; i++)
		put(buf, OFF_CR + 8 * i, cr[i], 8);
}

void x86_gdb_unpack(const uint8_t *buf, struct kvm_regs *r, struct kvm_sregs *s, struct kvm_fpu *f)
{
	__u64 *gpr[16] = {&r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi, &r->rbp, &r->rsp,
			  &r->r8,  &r->r9,  &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15};
	struct kvm_segment *seg[6] = {&s->cs, &s->ss, &s->ds, &s->es, &s->fs, &s->gs};
	__u64 *cr[6] = {&s->cr0, &s->cr2, &s->cr3, &s->cr4, &s->cr8, &s->efer};

	for (int i = 0; i < 16; i++)
		*gpr[i] = get(buf, OFF_GPR + 8 * i, 8);
	r->rip = get(buf, OFF_RIP, 8);
	r->rflags = (r->rflags & ~0xffffffffull) | get(buf, OFF_EFLAGS, 4);
	for (int i = 0; i < 6; i++)
		seg[i]->selector = (uint16_t)get(buf, OFF_SEG + 4 * i, 4);
	for (int i = 0; i < 8; i++)
		memcpy(f->fpr[i], buf + OFF_ST + 10 * i, 10);
	f->fcw = (uint16_t)get(buf, OFF_FPCTL + 0, 4);
	f->fsw = (uint16_t)get(buf, OFF_FPCTL + 4, 4);
	f->ftwx = abridged_tag((uint32_t)get(buf, OFF_FPCTL + 8, 4));
	f->last_ip = (f->last_ip & ~0xffffffffull) | get(buf, OFF_FPCTL + 16, 4);
	f->last_dp = (f->last_dp & ~0xffffffffull) | get(buf, OFF_FPCTL + 24, 4);
	f->last_opcode = (uint16_t)get(buf, OFF_FPCTL + 28, 4);
	memcpy(f->xmm, buf + OFF_XMM, 256);
	f->mxcsr = (uint32_t)get(buf, OFF_MXCSR, 4);
	s->fs.base = get(buf, OFF_FSBASE, 8);
	s->gs.base = get(buf, OFF_FSBASE + 8, 8);
	for (int i = 0; i < 6; i++)
		*cr[i] = get(buf, OFF_CR + 8 * i, 8);
}

static int get_state(struct vcpu *v, struct kvm_regs *r, struct kvm_sregs *s, struct kvm_fpu *f)
{
	if (ioctl(v->fd, KVM_GET_REGS, r) || ioctl(v->fd, KVM_GET_SREGS, s) ||
	    ioctl(v->fd, KVM_GET_FPU, f))
		return -1;
	return 0;
}

int arch_gdb_read_regs(struct vcpu *v, uint8_t *buf, size_t max)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_fpu f;

	if (max < X86_GDB_REGS_SIZE || get_state(v, &r, &s, &f))
		return -1;
	x86_gdb_pack(&r, &s, &f, buf);
	return X86_GDB_REGS_SIZE;
}

int arch_gdb_write_regs(struct vcpu *v, const uint8_t *buf, size_t len)
{
	struct kvm_regs r, r0;
	struct kvm_sregs s, s0;
	struct kvm_fpu f, f0;

	if (len != X86_GDB_REGS_SIZE || get_state(v, &r, &s, &f))
		return -1;
	r0 = r;
	s0 = s;
	f0 = f;
	x86_gdb_unpack(buf, &r, &s, &f);
	if (memcmp(&r, &r0, sizeof(r)) && ioctl(v->fd, KVM_SET_REGS, &r))
		return -1;
	if (memcmp(&s, &s0, sizeof(s)) && ioctl(v->fd, KVM_SET_SREGS, &s))
		return -1;
	if (memcmp(&f, &f0, sizeof(f)) && ioctl(v->fd, KVM_SET_FPU, &f))
		return -1;
	return 0;
}

/* ---- address translation ------------------------------------------------- */

#define PTE_P	 (1ull << 0)
#define PTE_PS	 (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull
#define CR0_PG	 (1ull << 31)
#define CR4_PSE	 (1ull << 4)
#define CR4_PAE	 (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define EFER_LMA (1ull << 10)

static int read_pte(const struct guest_mem *m, uint64_t gpa, size_t size, uint64_t *e)
{
	uint8_t b[8];

	if (gmem_read(m, gpa, b, size))
		return -1;
	*e = get(b, 0, size);
	return 0;
}

int x86_gdb_walk(const struct guest_mem *m, uint64_t cr0, uint64_t cr3, uint64_t cr4, uint64_t efer,
		 uint64_t gva, uint64_t *gpa)
{
	uint64_t table, e;
	int level;

	if (!(cr0 & CR0_PG)) {
		*gpa = gva;
		return 0;
	}
	if (!(efer & EFER_LMA) && !(cr4 & CR4_PAE)) { /* 32-bit: 4K pages or 4M with PSE */
		gva &= 0xffffffffull;
		if (read_pte(m, (cr3 & 0xfffff000ull) + ((gva >> 22) << 2), 4, &e) || !(e & PTE_P))
			return -1;
		if ((cr4 & CR4_PSE) && (e & PTE_PS)) {
			*gpa = (e & 0xffc00000ull) | (gva & 0x3fffffull);
			return 0;
		}
		if (read_pte(m, (e & 0xfffff000ull) + (((gva >> 12) & 1023) << 2), 4, &e) ||
		    !(e & PTE_P))
			return -1;
		*gpa = (e & 0xfffff000ull) | (gva & 0xfffull);
		return 0;
	}
	if (efer & EFER_LMA) {
		level = cr4 & CR4_LA57 ? 5 : 4;
		table = cr3 & PTE_ADDR;
	} else { /* PAE: four PDPTEs at CR3 */
		gva &= 0xffffffffull;
		if (read_pte(m, (cr3 & 0xffffffe0ull) + ((gva >> 30) << 3), 8, &e) || !(e & PTE_P))
			return -1;
		level = 2;
		table = e & PTE_ADDR;
	}
	for (; level >= 1; level--) {
		unsigned int shift = 12 + 9 * (unsigned int)(level - 1);

		if (read_pte(m, table + (((gva >> shift) & 511) << 3), 8, &e) || !(e & PTE_P))
			return -1;
		if ((level == 2 || level == 3) && (e & PTE_PS)) {
			uint64_t size = 1ull << shift;

			*gpa = (e & PTE_ADDR & ~(size - 1)) | (gva & (size - 1));
			return 0;
		}
		table = e & PTE_ADDR;
	}
	*gpa = table | (gva & 0xfffull);
	return 0;
}

int arch_gdb_translate(struct vcpu *v, uint64_t gva, uint64_t *gpa)
{
	struct kvm_translation t = {.linear_address = gva};
	struct kvm_sregs s;

	if (!ioctl(v->fd, KVM_TRANSLATE, &t) && t.valid) {
		*gpa = t.physical_address;
		return 0;
	}
	if (ioctl(v->fd, KVM_GET_SREGS, &s))
		return -1;
	return x86_gdb_walk(&v->vm->mem, s.cr0, s.cr3, s.cr4, s.efer, gva, gpa);
}

/* ---- breakpoints and stepping -------------------------------------------- */

const uint8_t *arch_gdb_sw_bp(size_t *len)
{
	static const uint8_t int3 = 0xcc;

	*len = 1;
	return &int3;
}

bool arch_gdb_hw_bp_ok(enum gdb_bp_type type, uint64_t addr, unsigned int len)
{
	switch (type) {
	case GDB_BP_HW:
		return true;
	case GDB_WATCH_WRITE:
	case GDB_WATCH_ACCESS:
		return (len == 1 || len == 2 || len == 4 || len == 8) && !(addr & (len - 1));
	default:
		return false; /* no read-only watchpoints on x86 */
	}
}

int arch_gdb_set_debug(struct vcpu *v, bool enable, bool sw_bps, bool step,
		       const struct gdb_hw_bp *hw, unsigned int nhw)
{
	static int blockirq = -1;
	struct kvm_guest_debug d;

	memset(&d, 0, sizeof(d));
	if (blockirq < 0)
		blockirq = (vm_check_extension(v->vm, KVM_CAP_SET_GUEST_DEBUG2) &
			    KVM_GUESTDBG_BLOCKIRQ) != 0;
	if (enable) {
		d.control = KVM_GUESTDBG_ENABLE;
		if (sw_bps)
			d.control |= KVM_GUESTDBG_USE_SW_BP;
		if (step)
			d.control |=
				KVM_GUESTDBG_SINGLESTEP | (blockirq ? KVM_GUESTDBG_BLOCKIRQ : 0);
		d.arch.debugreg[7] = 0x600;
		for (unsigned int i = 0; i < nhw && i < 4; i++) {
			static const unsigned int lenbits[9] = {0, 0, 1, 0, 3, 0, 0, 0, 2};
			unsigned int rw, ln = 0;

			if (!hw[i].used)
				continue;
			rw = hw[i].type == GDB_WATCH_WRITE    ? 1
			     : hw[i].type == GDB_WATCH_ACCESS ? 3
							      : 0;
			if (rw && hw[i].len <= 8)
				ln = lenbits[hw[i].len];
			d.arch.debugreg[i] = hw[i].addr;
			d.arch.debugreg[7] |= (2ull << (2 * i)) | ((uint64_t)rw << (16 + 4 * i)) |
					      ((uint64_t)ln << (18 + 4 * i));
			d.control |= KVM_GUESTDBG_USE_HW_BP;
		}
	}
	return ioctl(v->fd, KVM_SET_GUEST_DEBUG, &d);
}

void arch_gdb_debug_exit(struct vcpu *v, struct gdb_debug_exit *out)
{
	const struct kvm_debug_exit_arch *a = &v->run->debug.arch;

	memset(out, 0, sizeof(*out));
	out->pc = a->pc;
	out->hw = -1;
	if (a->exception == 3) {
		out->sw_bp = true;
		return;
	}
	if (a->exception != 1)
		return;
	if (a->dr6 & (1u << 14))
		out->step = true;
	for (int i = 0; i < 4; i++) {
		if (a->dr6 & (1u << i)) {
			out->hw = i;
			break;
		}
	}
}

int arch_gdb_reinject(struct vcpu *v)
{
	struct kvm_vcpu_events ev;

	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev))
		return -1;
	ev.exception.injected = 1;
	ev.exception.nr = (uint8_t)v->run->debug.arch.exception;
	ev.exception.has_error_code = 0;
	ev.exception.error_code = 0;
	return ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev);
}
