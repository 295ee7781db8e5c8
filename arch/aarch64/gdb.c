// SPDX-License-Identifier: MIT
/*
 * gdb.c - the arm64 side of the gdb stub (vmm/gdb.c): the register file
 * (org.gnu.gdb.aarch64.core + .fpu) through KVM_GET/SET_ONE_REG, address
 * translation by walking the guest's stage-1 tables (arm64 KVM has no
 * KVM_TRANSLATE), BRK #0 software breakpoints (KVM_GUESTDBG_USE_SW_BP),
 * single steps (KVM_GUESTDBG_SINGLESTEP), and hardware breakpoints and
 * watchpoints through kvm_guest_debug_arch's DBGBCR/DBGBVR and DBGWCR/DBGWVR
 * (KVM_GUESTDBG_USE_HW).  The pure parts are in gdb_arm64.c.
 *
 * With USE_SW_BP every BRK traps to ktvm, the guest's own too (BUG(), WARN()
 * and kprobes use BRK): one that is not gdb's is given back to the guest as
 * the synchronous exception it would have taken (arch_gdb_reinject()).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arm64.h"
#include "vmm/gdb.h"
#include "arch/aarch64/gdb_arm64.h"

#define CORE_REG(x) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(x))
#define CORE_REG128(x) \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U128 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(x))
#define CORE_REG32(x) \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U32 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(x))
#define REG_SCTLR_EL1	     ARM64_SYS_REG(3, 0, 1, 0, 0)
#define REG_TTBR0_EL1	     ARM64_SYS_REG(3, 0, 2, 0, 0)
#define REG_TTBR1_EL1	     ARM64_SYS_REG(3, 0, 2, 0, 1)
#define REG_TCR_EL1	     ARM64_SYS_REG(3, 0, 2, 0, 2)
#define REG_ESR_EL1	     ARM64_SYS_REG(3, 0, 5, 2, 0)
#define REG_VBAR_EL1	     ARM64_SYS_REG(3, 0, 12, 0, 0)
#define REG_ID_AA64MMFR1_EL1 ARM64_SYS_REG(3, 0, 0, 7, 1)

static int get_reg(int fd, uint64_t id, void *val)
{
	struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)val};

	return ioctl(fd, KVM_GET_ONE_REG, &r);
}

static int set_reg(int fd, uint64_t id, const void *val)
{
	struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)val};

	return ioctl(fd, KVM_SET_ONE_REG, &r);
}

const char *arch_gdb_target_xml(void)
{
	return arm64_gdb_target_xml();
}

int arch_gdb_reg_span(unsigned int regno, size_t *off, size_t *size)
{
	return arm64_gdb_reg_span(regno, off, size);
}

/* The registers as gdb sees them, plus the PSTATE they were read under. */
static int get_state(struct vcpu *v, struct arm64_gdb_regs *r, uint64_t *pstate)
{
	uint64_t sp0, sp1;

	memset(r, 0, sizeof(*r));
	for (unsigned int i = 0; i < 31; i++)
		if (get_reg(v->fd, CORE_REG(regs.regs[i]), &r->x[i]))
			return -1;
	if (get_reg(v->fd, CORE_REG(regs.pc), &r->pc) ||
	    get_reg(v->fd, CORE_REG(regs.pstate), pstate) ||
	    get_reg(v->fd, CORE_REG(regs.sp), &sp0) || get_reg(v->fd, CORE_REG(sp_el1), &sp1))
		return -1;
	r->sp = arm64_gdb_sp_el1(*pstate) ? sp1 : sp0;
	r->cpsr = (uint32_t)*pstate;
	/* FP/SIMD: absent with SVE (not enabled by ktvm); zeros then. */
	for (unsigned int i = 0; i < 32; i++)
		if (get_reg(v->fd, CORE_REG128(fp_regs.vregs[i]), r->v[i]))
			return 0;
	if (get_reg(v->fd, CORE_REG32(fp_regs.fpsr), &r->fpsr) ||
	    get_reg(v->fd, CORE_REG32(fp_regs.fpcr), &r->fpcr))
		r->fpsr = r->fpcr = 0;
	return 0;
}

int arch_gdb_read_regs(struct vcpu *v, uint8_t *buf, size_t max)
{
	struct arm64_gdb_regs r;
	uint64_t pstate;

	if (max < ARM64_GDB_REGS_SIZE || get_state(v, &r, &pstate))
		return -1;
	arm64_gdb_pack(&r, buf);
	return ARM64_GDB_REGS_SIZE;
}

int arch_gdb_write_regs(struct vcpu *v, const uint8_t *buf, size_t len)
{
	struct arm64_gdb_regs r0, r;
	uint64_t pstate;
	int fd = v->fd;

	if (len != ARM64_GDB_REGS_SIZE || get_state(v, &r0, &pstate))
		return -1;
	arm64_gdb_unpack(buf, &r);
	for (unsigned int i = 0; i < 31; i++)
		if (r.x[i] != r0.x[i] && set_reg(fd, CORE_REG(regs.regs[i]), &r.x[i]))
			return -1;
	if (r.pc != r0.pc && set_reg(fd, CORE_REG(regs.pc), &r.pc))
		return -1;
	/* sp is the stack pointer PSTATE selected when it was read. */
	if (r.sp != r0.sp &&
	    set_reg(fd, arm64_gdb_sp_el1(pstate) ? CORE_REG(sp_el1) : CORE_REG(regs.sp), &r.sp))
		return -1;
	if (r.cpsr != r0.cpsr) {
		uint64_t p = (pstate & ~0xffffffffull) | r.cpsr;

		if (set_reg(fd, CORE_REG(regs.pstate), &p))
			return -1;
	}
	for (unsigned int i = 0; i < 32; i++)
		if (memcmp(r.v[i], r0.v[i], 16) &&
		    set_reg(fd, CORE_REG128(fp_regs.vregs[i]), r.v[i]))
			return -1;
	if (r.fpsr != r0.fpsr && set_reg(fd, CORE_REG32(fp_regs.fpsr), &r.fpsr))
		return -1;
	if (r.fpcr != r0.fpcr && set_reg(fd, CORE_REG32(fp_regs.fpcr), &r.fpcr))
		return -1;
	return 0;
}

int arch_gdb_translate(struct vcpu *v, uint64_t gva, uint64_t *gpa)
{
	struct arm64_mmu mmu;

	if (get_reg(v->fd, REG_SCTLR_EL1, &mmu.sctlr) || get_reg(v->fd, REG_TCR_EL1, &mmu.tcr) ||
	    get_reg(v->fd, REG_TTBR0_EL1, &mmu.ttbr0) || get_reg(v->fd, REG_TTBR1_EL1, &mmu.ttbr1))
		return -1;
	return arm64_gdb_walk(&v->vm->mem, &mmu, gva, gpa);
}

/* Guest code is written through ktvm's mapping: make the guest's instruction fetches see it. */
void arch_gdb_code_written(struct vm *vm, uint64_t gpa, size_t len)
{
	uint8_t *p = gmem_ptr(&vm->mem, gpa, len);

	if (p)
		__builtin___clear_cache((char *)p, (char *)p + len);
}

/* ---- breakpoints and stepping -------------------------------------------- */

const uint8_t *arch_gdb_sw_bp(size_t *len)
{
	static const uint8_t brk0[4] = {0x00, 0x00, 0x20, 0xd4}; /* BRK #0 */

	*len = sizeof(brk0);
	return brk0;
}

bool arch_gdb_hw_bp_ok(enum gdb_bp_type type, uint64_t addr, unsigned int len)
{
	return arm64_gdb_hw_ok(type, addr, len);
}

/* The hardware breakpoints last armed (all vCPUs get the same), for arch_gdb_debug_exit(). */
static pthread_mutex_t armed_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gdb_hw_bp armed[GDB_MAX_HW_BPS];
static int armed_slot[GDB_MAX_HW_BPS];

int arch_gdb_set_debug(struct vcpu *v, bool enable, bool sw_bps, bool step,
		       const struct gdb_hw_bp *hw, unsigned int nhw)
{
	static int nbps = -1, nwps = -1;
	struct kvm_guest_debug d;
	struct arm64_debug_regs dr;
	int slot[GDB_MAX_HW_BPS];

	memset(&d, 0, sizeof(d));
	if (nbps < 0) {
		nbps = vm_check_extension(v->vm, KVM_CAP_GUEST_DEBUG_HW_BPS);
		nwps = vm_check_extension(v->vm, KVM_CAP_GUEST_DEBUG_HW_WPS);
	}
	if (nhw > GDB_MAX_HW_BPS)
		nhw = GDB_MAX_HW_BPS;
	if (enable) {
		d.control = KVM_GUESTDBG_ENABLE;
		if (sw_bps)
			d.control |= KVM_GUESTDBG_USE_SW_BP;
		if (step)
			d.control |= KVM_GUESTDBG_SINGLESTEP;
		if (arm64_gdb_encode_hw(hw, nhw, (unsigned int)(nbps > 0 ? nbps : 0),
					(unsigned int)(nwps > 0 ? nwps : 0), &dr, slot)) {
			d.control |= KVM_GUESTDBG_USE_HW;
			memcpy(d.arch.dbg_bcr, dr.bcr, sizeof(dr.bcr));
			memcpy(d.arch.dbg_bvr, dr.bvr, sizeof(dr.bvr));
			memcpy(d.arch.dbg_wcr, dr.wcr, sizeof(dr.wcr));
			memcpy(d.arch.dbg_wvr, dr.wvr, sizeof(dr.wvr));
		}
		pthread_mutex_lock(&armed_lock);
		memcpy(armed, hw, nhw * sizeof(*hw));
		memcpy(armed_slot, slot, nhw * sizeof(*slot));
		for (unsigned int i = 0; i < nhw; i++)
			if (armed_slot[i] < 0)
				armed[i].used = false; /* no register for it: never reported */
		pthread_mutex_unlock(&armed_lock);
	}
	return ioctl(v->fd, KVM_SET_GUEST_DEBUG, &d);
}

void arch_gdb_debug_exit(struct vcpu *v, struct gdb_debug_exit *out)
{
	const struct kvm_debug_exit_arch *a = &v->run->debug.arch;
	unsigned int ec = a->hsr >> 26;
	uint64_t pc = 0;

	memset(out, 0, sizeof(*out));
	out->hw = -1;
	if (get_reg(v->fd, CORE_REG(regs.pc), &pc))
		pc = 0;
	out->pc = pc; /* BRK: the BRK itself; a step: the next instruction */
	switch (ec) {
	case ARM64_EC_BRK64:
		out->sw_bp = true;
		break;
	case ARM64_EC_SSTEP:
		out->step = true;
		break;
	case ARM64_EC_HW_BP:
	case ARM64_EC_WATCH:
		pthread_mutex_lock(&armed_lock);
		out->hw = arm64_gdb_match_hw(armed, GDB_MAX_HW_BPS, ec == ARM64_EC_HW_BP,
					     ec == ARM64_EC_HW_BP ? pc : a->far);
		pthread_mutex_unlock(&armed_lock);
		break;
	}
}

/*
 * A debug exit that is not gdb's: a BRK of the guest's own becomes the
 * exception the guest would have taken (ELR_EL1, SPSR_EL1, ESR_EL1, then the
 * vector); a stale step or hardware hit is dropped.
 */
int arch_gdb_reinject(struct vcpu *v)
{
	uint64_t pc, pstate, sctlr, vbar, mmfr1 = 0, npc, npstate, esr = v->run->debug.arch.hsr;
	int fd = v->fd;

	if ((v->run->debug.arch.hsr >> 26) != ARM64_EC_BRK64)
		return 0;
	if (get_reg(fd, CORE_REG(regs.pc), &pc) || get_reg(fd, CORE_REG(regs.pstate), &pstate) ||
	    get_reg(fd, REG_SCTLR_EL1, &sctlr) || get_reg(fd, REG_VBAR_EL1, &vbar))
		return -1;
	if (get_reg(fd, REG_ID_AA64MMFR1_EL1, &mmfr1))
		mmfr1 = 0;
	if (arm64_gdb_exception_entry(pstate, sctlr, vbar, ((mmfr1 >> 20) & 0xf) != 0, &npc,
				      &npstate)) {
		errno = EINVAL;
		return -1;
	}
	if (set_reg(fd, CORE_REG(elr_el1), &pc) ||
	    set_reg(fd, CORE_REG(spsr[KVM_SPSR_EL1]), &pstate) || set_reg(fd, REG_ESR_EL1, &esr) ||
	    set_reg(fd, CORE_REG(regs.pstate), &npstate) || set_reg(fd, CORE_REG(regs.pc), &npc))
		return -1;
	return 0;
}
