// SPDX-License-Identifier: MIT
/*
 * cpu.c - the CPU state a kernel expects at its entry point, with no BIOS:
 * flat segments from a small GDT, and either 64-bit long mode on identity
 * page tables (Linux boot protocol 64-bit entry) or 32-bit protected mode
 * with paging off (PVH).  Plus the MSR, FPU and LAPIC state firmware
 * would otherwise have set.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "x86.h"

#define CR0_PE (1ULL << 0)
#define CR0_ET (1ULL << 4)
#define CR0_NE (1ULL << 5)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_PS (1ULL << 7)

#define SEL_CODE 0x10
#define SEL_DATA 0x18
#define SEL_TSS 0x20

/* GDT descriptor: flags (G, D/B, L, AVL) in 55:52, access byte in 47:40. */
static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000) << 32) | ((uint64_t)(flags & 0xf0ff) << 40) |
	       ((uint64_t)(limit & 0x000f0000) << 32) | ((uint64_t)(base & 0x00ffffff) << 16) |
	       (uint64_t)(limit & 0x0000ffff);
}

static const uint16_t CODE64_FLAGS = 0xa09b; /* G, L, present, code exec/read, accessed */
static const uint16_t CODE32_FLAGS = 0xc09b; /* G, D */
static const uint16_t DATA_FLAGS = 0xc093;   /* G, B, present, data read/write, accessed */
static const uint16_t TSS_FLAGS = 0x008b;    /* present, busy 32/64-bit TSS */

int x86_write_boot_tables(struct guest_mem *m, enum x86_entry_mode mode)
{
	uint64_t gdt[4] = {
		0,
		0,
		gdt_entry(mode == X86_ENTRY_PVH32 ? CODE32_FLAGS : CODE64_FLAGS, 0, 0xfffff),
		gdt_entry(DATA_FLAGS, 0, 0xfffff),
	};
	uint64_t idt = 0;

	if (gmem_write(m, X86_GDT_ADDR, gdt, sizeof(gdt)) ||
	    gmem_write(m, X86_IDT_ADDR, &idt, sizeof(idt)))
		return -1;
	if (mode == X86_ENTRY_PVH32)
		return 0; /* paging is off at the PVH entry */

	/* Identity-map the first 4 GiB with 2 MiB pages: kernel, zero page, cmdline, initrd. */
	uint64_t *pml4 = gmem_ptr(m, X86_PML4_ADDR, 4096);
	uint64_t *pdpt = gmem_ptr(m, X86_PDPT_ADDR, 4096);
	uint64_t *pd = gmem_ptr(m, X86_PD_ADDR, 4 * 4096);

	if (!pml4 || !pdpt || !pd)
		return -1;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = X86_PDPT_ADDR | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (X86_PD_ADDR + i * 4096) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
	return 0;
}

static void set_segment(struct kvm_segment *s, uint16_t sel, uint16_t flags)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = 0;
	s->limit = (flags & 0x8000) ? 0xffffffff : 0xfffff;
	s->type = flags & 0xf;
	s->s = (flags >> 4) & 1;
	s->dpl = (flags >> 5) & 3;
	s->present = (flags >> 7) & 1;
	s->avl = (flags >> 12) & 1;
	s->l = (flags >> 13) & 1;
	s->db = (flags >> 14) & 1;
	s->g = (flags >> 15) & 1;
}

int x86_set_boot_sregs(int vcpu_fd, enum x86_entry_mode mode)
{
	struct kvm_sregs sregs;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -1;
	set_segment(&sregs.cs, SEL_CODE, mode == X86_ENTRY_PVH32 ? CODE32_FLAGS : CODE64_FLAGS);
	set_segment(&sregs.ds, SEL_DATA, DATA_FLAGS);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	set_segment(&sregs.tr, SEL_TSS, TSS_FLAGS);
	sregs.tr.limit = 0x67;
	sregs.gdt.base = X86_GDT_ADDR;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.idt.base = X86_IDT_ADDR;
	sregs.idt.limit = 0;
	if (mode == X86_ENTRY_PVH32) {
		sregs.cr0 = CR0_PE | CR0_ET;
		sregs.cr3 = 0;
		sregs.cr4 = 0;
		sregs.efer = 0;
	} else {
		sregs.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
		sregs.cr3 = X86_PML4_ADDR;
		sregs.cr4 = CR4_PAE;
		sregs.efer = EFER_LME | EFER_LMA;
	}
	return ioctl(vcpu_fd, KVM_SET_SREGS, &sregs);
}

#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_IA32_TSC 0x10
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MISC_ENABLE_FAST_STRING 1ULL
/* MTRRs on, default type write-back: without it all of RAM is uncached. */
#define MTRR_DEF_TYPE_WB_ENABLED ((1ULL << 11) | 6ULL)

int x86_vcpu_setup_msrs(int vcpu_fd)
{
	static const struct {
		uint32_t index;
		uint64_t data;
	} boot_msrs[] = {
		{ MSR_IA32_SYSENTER_CS, 0 },	{ MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 },	{ MSR_STAR, 0 },
		{ MSR_CSTAR, 0 },		{ MSR_KERNEL_GS_BASE, 0 },
		{ MSR_SYSCALL_MASK, 0 },	{ MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 },		{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
		{ MSR_MTRR_DEF_TYPE, MTRR_DEF_TYPE_WB_ENABLED },
	};
	struct kvm_msrs *msrs =
		calloc(1, sizeof(*msrs) + ARRAY_SIZE(boot_msrs) * sizeof(msrs->entries[0]));
	int n;

	if (!msrs)
		return -1;
	for (unsigned int i = 0; i < ARRAY_SIZE(boot_msrs); i++) {
		msrs->entries[i].index = boot_msrs[i].index;
		msrs->entries[i].data = boot_msrs[i].data;
	}
	msrs->nmsrs = ARRAY_SIZE(boot_msrs);
	n = ioctl(vcpu_fd, KVM_SET_MSRS, msrs);
	free(msrs);
	if (n < 0)
		return -1;
	if ((unsigned int)n != ARRAY_SIZE(boot_msrs))
		log_debug("cpu", "KVM accepted %d of %zu boot MSRs (MSR 0x%x refused)", n,
			  ARRAY_SIZE(boot_msrs), boot_msrs[n].index);
	return 0;
}

int x86_vcpu_setup_fpu(int vcpu_fd)
{
	struct kvm_fpu fpu;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;    /* x87 reset state: all exceptions masked, extended precision */
	fpu.mxcsr = 0x1f80; /* SSE reset state */
	return ioctl(vcpu_fd, KVM_SET_FPU, &fpu);
}

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_EXTINT 0x7
#define APIC_MODE_NMI 0x4

static uint32_t *lapic_reg(struct kvm_lapic_state *s, unsigned int off)
{
	return (uint32_t *)(void *)&s->regs[off];
}

int x86_vcpu_setup_lapic(int vcpu_fd)
{
	struct kvm_lapic_state lapic;
	uint32_t *lvt0, *lvt1;

	if (ioctl(vcpu_fd, KVM_GET_LAPIC, &lapic) < 0)
		return -1;
	/* As a PC's firmware leaves it: LINT0 takes the PIC's ExtINT, LINT1 is the NMI pin. */
	lvt0 = lapic_reg(&lapic, APIC_LVT0);
	lvt1 = lapic_reg(&lapic, APIC_LVT1);
	*lvt0 = (*lvt0 & ~0x700u) | (APIC_MODE_EXTINT << 8);
	*lvt1 = (*lvt1 & ~0x700u) | (APIC_MODE_NMI << 8);
	return ioctl(vcpu_fd, KVM_SET_LAPIC, &lapic);
}
