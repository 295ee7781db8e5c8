// SPDX-License-Identifier: MIT
/* dump.c - vCPU register dumps for the error and timeout paths. */
#include <string.h>
#include <sys/ioctl.h>

#include "x86.h"

void arch_vcpu_where(struct vcpu *v, char *buf, size_t len)
{
	struct kvm_regs regs;
	struct kvm_mp_state mp;
	const char *state = "";

	if (v->fd < 0 || ioctl(v->fd, KVM_GET_REGS, &regs) < 0) {
		snprintf(buf, len, "(registers unavailable)");
		return;
	}
	if (ioctl(v->fd, KVM_GET_MP_STATE, &mp) == 0) {
		if (mp.mp_state == KVM_MP_STATE_HALTED)
			state = ", halted";
		else if (mp.mp_state == KVM_MP_STATE_INIT_RECEIVED ||
			 mp.mp_state == KVM_MP_STATE_UNINITIALIZED)
			state = ", never started";
	}
	snprintf(buf, len, "RIP 0x%016llx RSP 0x%016llx%s", (unsigned long long)regs.rip,
		 (unsigned long long)regs.rsp, state);
}

static void dump_seg(FILE *out, const char *name, const struct kvm_segment *s)
{
	fprintf(out, "  %-3s sel 0x%04x base 0x%016llx limit 0x%08x type %u dpl %u p %u l %u db %u\n",
		name, s->selector, (unsigned long long)s->base, s->limit, s->type, s->dpl,
		s->present, s->l, s->db);
}

void arch_vcpu_dump(struct vcpu *v, FILE *out)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	fprintf(out, "ktvm: vCPU %u registers:\n", v->id);
	if (v->fd < 0 || ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		fprintf(out, "  (unavailable)\n");
		return;
	}
	fprintf(out,
		"  RIP 0x%016llx RFLAGS 0x%08llx\n"
		"  RAX 0x%016llx RBX 0x%016llx RCX 0x%016llx RDX 0x%016llx\n"
		"  RSI 0x%016llx RDI 0x%016llx RBP 0x%016llx RSP 0x%016llx\n"
		"  R8  0x%016llx R9  0x%016llx R10 0x%016llx R11 0x%016llx\n"
		"  R12 0x%016llx R13 0x%016llx R14 0x%016llx R15 0x%016llx\n"
		"  CR0 0x%016llx CR2 0x%016llx CR3 0x%016llx CR4 0x%016llx EFER 0x%llx\n",
		r.rip, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9,
		r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
	dump_seg(out, "CS", &s.cs);
	dump_seg(out, "SS", &s.ss);
	dump_seg(out, "DS", &s.ds);
	dump_seg(out, "TR", &s.tr);
	fprintf(out, "  GDT 0x%016llx/%u IDT 0x%016llx/%u\n", (unsigned long long)s.gdt.base,
		s.gdt.limit, (unsigned long long)s.idt.base, s.idt.limit);
}
