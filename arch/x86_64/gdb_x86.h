/* SPDX-License-Identifier: MIT */
/* gdb_x86.h - the x86_64 gdb hooks' pure parts, for the unit tests. */
#ifndef KTVM_GDB_X86_H
#define KTVM_GDB_X86_H

#include <stdint.h>
#include <linux/kvm.h>

#include "vmm/ktvm.h"

/* The 'g' layout: 64bit-core + 64bit-sse + segments (fs_base, gs_base) + cr0..efer. */
#define X86_GDB_NREGS	  65
#define X86_GDB_REGS_SIZE 600

void x86_gdb_pack(const struct kvm_regs *r, const struct kvm_sregs *s, const struct kvm_fpu *f,
		  uint8_t *buf);
/* Update the three from buf (selectors only, not descriptors, for segments). */
void x86_gdb_unpack(const uint8_t *buf, struct kvm_regs *r, struct kvm_sregs *s, struct kvm_fpu *f);
/* Walk the guest's page tables in guest memory: 0 and *gpa, or -1 if not mapped. */
int x86_gdb_walk(const struct guest_mem *m, uint64_t cr0, uint64_t cr3, uint64_t cr4, uint64_t efer,
		 uint64_t gva, uint64_t *gpa);

#endif
