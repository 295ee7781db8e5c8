// SPDX-License-Identifier: MIT
/*
 * gdb.c - the arm64 side of the gdb stub (vmm/gdb.c).
 *
 * TODO: not implemented yet.  What it needs: target.xml with
 * org.gnu.gdb.aarch64.core (x0-x30, sp, pc, cpsr) and .fpu; registers through
 * KVM_GET/SET_ONE_REG (KVM_REG_ARM_CORE); translation with KVM_TRANSLATE
 * (not supported on arm64: walk TTBR0/TTBR1 per TCR_EL1 instead); BRK #0
 * (0xd4200000) software breakpoints with KVM_GUESTDBG_USE_SW_BP, hardware
 * ones through DBGBVR/DBGBCR and DBGWVR/DBGWCR in kvm_guest_debug_arch, and
 * KVM_GUESTDBG_SINGLESTEP.  Until then --gdb connects but every register and
 * memory request fails.
 */
#include <errno.h>
#include <linux/kvm.h>

#include "vmm/gdb.h"

const char *arch_gdb_target_xml(void)
{
	return "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
	       "<target><architecture>aarch64</architecture></target>";
}

int arch_gdb_read_regs(struct vcpu *v UNUSED, uint8_t *buf UNUSED, size_t max UNUSED)
{
	errno = ENOSYS;
	return -1;
}

int arch_gdb_write_regs(struct vcpu *v UNUSED, const uint8_t *buf UNUSED, size_t len UNUSED)
{
	errno = ENOSYS;
	return -1;
}

int arch_gdb_reg_span(unsigned int regno UNUSED, size_t *off UNUSED, size_t *size UNUSED)
{
	return -1;
}

int arch_gdb_translate(struct vcpu *v UNUSED, uint64_t gva UNUSED, uint64_t *gpa UNUSED)
{
	return -1;
}

const uint8_t *arch_gdb_sw_bp(size_t *len)
{
	static const uint8_t brk0[4] = {0x00, 0x00, 0x20, 0xd4};

	*len = sizeof(brk0);
	return brk0;
}

bool arch_gdb_hw_bp_ok(enum gdb_bp_type type UNUSED, uint64_t addr UNUSED, unsigned int len UNUSED)
{
	return false;
}

int arch_gdb_set_debug(struct vcpu *v UNUSED, bool enable UNUSED, bool sw_bps UNUSED,
		       bool step UNUSED, const struct gdb_hw_bp *hw UNUSED, unsigned int nhw UNUSED)
{
	return 0;
}

void arch_gdb_debug_exit(struct vcpu *v, struct gdb_debug_exit *out)
{
	out->pc = v->run->debug.arch.far;
	out->sw_bp = false;
	out->step = false;
	out->hw = -1;
}

int arch_gdb_reinject(struct vcpu *v UNUSED)
{
	errno = ENOSYS;
	return -1;
}
