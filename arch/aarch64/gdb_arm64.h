/* SPDX-License-Identifier: MIT */
/*
 * gdb_arm64.h - the arm64 gdb hooks' pure parts (no KVM headers: the unit
 * tests build them on any host): target.xml and the 'g' layout, register
 * marshalling, the stage-1 page-table walk and the debug-register encoding.
 */
#ifndef KTVM_GDB_ARM64_H
#define KTVM_GDB_ARM64_H

#include <stdint.h>

#include "vmm/gdb.h"

/*
 * The 'g' layout (gdb's aarch64 numbering): x0..x30 (0-30), sp (31), pc (32),
 * cpsr (33, 32 bits), v0..v31 (34-65, 128 bits), fpsr (66), fpcr (67).
 */
#define ARM64_GDB_NREGS	    68
#define ARM64_GDB_REGS_SIZE 788

struct arm64_gdb_regs {
	uint64_t x[31];
	uint64_t sp; /* the current SP: SP_EL0 or SP_EL1 per PSTATE (arm64_gdb_sp_el1()) */
	uint64_t pc;
	uint32_t cpsr;
	uint8_t v[32][16]; /* little-endian, as KVM's fp_regs.vregs */
	uint32_t fpsr, fpcr;
};

const char *arm64_gdb_target_xml(void);
int arm64_gdb_reg_span(unsigned int regno, size_t *off, size_t *size);
void arm64_gdb_pack(const struct arm64_gdb_regs *r, uint8_t *buf);
void arm64_gdb_unpack(const uint8_t *buf, struct arm64_gdb_regs *r);
/* Does PSTATE select SP_EL1 (EL1 with SPSel = 1, "EL1h") rather than SP_EL0? */
bool arm64_gdb_sp_el1(uint64_t pstate);

/* The EL1 translation regime's registers. */
struct arm64_mmu {
	uint64_t sctlr, tcr, ttbr0, ttbr1;
};
/*
 * Guest virtual to guest physical through the stage-1 tables in guest memory
 * (TTBR0 or TTBR1 per bit 55 and TCR_EL1's T0SZ/T1SZ, TG0/TG1: 4, 16 or 64
 * KiB granules, TBI; identity when SCTLR_EL1.M is clear): 0, or -1 if unmapped.
 */
int arm64_gdb_walk(const struct guest_mem *m, const struct arm64_mmu *mmu, uint64_t gva,
		   uint64_t *gpa);

/*
 * gdb's hardware breakpoints and watchpoints as DBGBCR/DBGBVR and
 * DBGWCR/DBGWVR values (EL0 and EL1, unlinked address match).  slot[i] is the
 * index in bvr/wvr hw[i] got, or -1 (not used, or no register left).
 * Returns the number of registers armed.
 */
struct arm64_debug_regs {
	uint64_t bcr[16], bvr[16], wcr[16], wvr[16];
};
unsigned int arm64_gdb_encode_hw(const struct gdb_hw_bp *hw, unsigned int nhw, unsigned int nbps,
				 unsigned int nwps, struct arm64_debug_regs *d, int *slot);
/* Can one DBGBVR or DBGWVR/DBGWCR pair take it? */
bool arm64_gdb_hw_ok(enum gdb_bp_type type, uint64_t addr, unsigned int len);
/* Which hw[] entry a hardware breakpoint at pc (bp) or a watchpoint hit at far (!bp) is: or -1. */
int arm64_gdb_match_hw(const struct gdb_hw_bp *hw, unsigned int nhw, bool bp, uint64_t addr);

/*
 * A synchronous exception taken to EL1 (to give the guest back a BRK of its
 * own): the vector address (VBAR_EL1 + 0x000 / 0x200 / 0x400 for EL1t,
 * EL1h, EL0) and the new PSTATE.  -1 for AArch32 or EL2 state.
 */
int arm64_gdb_exception_entry(uint64_t pstate, uint64_t sctlr, uint64_t vbar, bool have_pan,
			      uint64_t *pc, uint64_t *new_pstate);

/* ESR exception classes of a KVM_EXIT_DEBUG (run->debug.arch.hsr >> 26). */
#define ARM64_EC_HW_BP 0x30
#define ARM64_EC_SSTEP 0x32
#define ARM64_EC_WATCH 0x34
#define ARM64_EC_BRK64 0x3c

#endif
