// SPDX-License-Identifier: MIT
/*
 * cpu.c - arm64 vCPUs: KVM_ARM_VCPU_INIT with the preferred target and
 * PSCI 0.2+ (KVM implements PSCI itself: CPU_ON starts a secondary,
 * SYSTEM_OFF / SYSTEM_RESET come back as KVM_EXIT_SYSTEM_EVENT, which the
 * generic loop turns into status 0).  Secondaries start powered off; the
 * boot CPU starts at the Image's first byte with x0 = the DTB, x1..x3 = 0,
 * in EL1h with D, A, I and F masked (booting.rst).  Plus the register dumps.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arm64.h"

#define CORE_REG(x) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(x))
#define REG_ESR_EL1 ARM64_SYS_REG(3, 0, 5, 2, 0)
#define REG_FAR_EL1 ARM64_SYS_REG(3, 0, 6, 0, 0)

#define PSR_MODE_EL1H 0x5
#define PSR_F	      (1u << 6)
#define PSR_I	      (1u << 7)
#define PSR_A	      (1u << 8)
#define PSR_D	      (1u << 9)
#define BOOT_PSTATE   (PSR_MODE_EL1H | PSR_F | PSR_I | PSR_A | PSR_D)

static int set_reg(int fd, uint64_t id, uint64_t val)
{
	struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)&val};

	return ioctl(fd, KVM_SET_ONE_REG, &r);
}

static int get_reg(int fd, uint64_t id, uint64_t *val)
{
	struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)val};

	return ioctl(fd, KVM_GET_ONE_REG, &r);
}

int arch_check_kvm(struct vm *vm)
{
	static const struct {
		long cap;
		const char *name;
	} need[] = {
		{KVM_CAP_ONE_REG, "ONE_REG"},
		{KVM_CAP_ARM_PSCI_0_2, "PSCI 0.2"},
		{KVM_CAP_IRQFD, "irqfd"},
		{KVM_CAP_IOEVENTFD, "ioeventfd"},
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(need); i++) {
		if (!vm_check_extension(vm, need[i].cap)) {
			log_err("arm64", "this KVM lacks %s, which ktvm needs", need[i].name);
			return -1;
		}
	}
	return 0;
}

int arch_vcpu_init(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct kvm_vcpu_init init = vm->arch->target;

	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (v->id != 0)
		init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
	if (ioctl(v->fd, KVM_ARM_VCPU_INIT, &init) < 0) {
		log_err("arm64", "KVM_ARM_VCPU_INIT on vCPU %u: %s", v->id, strerror(errno));
		return -1;
	}
	if (v->id == 0 && (set_reg(v->fd, CORE_REG(regs.pc), vm->arch->boot.entry) ||
			   set_reg(v->fd, CORE_REG(regs.regs[0]), vm->arch->boot.dtb_addr) ||
			   set_reg(v->fd, CORE_REG(regs.pstate), BOOT_PSTATE))) {
		log_err("arm64", "boot CPU registers: %s", strerror(errno));
		return -1;
	}
	/* The GIC is initialised once, after the last vCPU exists; then irqfds work. */
	if (v->id == vm->cfg->cpus - 1)
		return arm64_gic_finalize(vm);
	return 0;
}

int arch_vcpu_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_ARM_NISV:
		vm_request_stop(v->vm, KTVM_EXIT_ERROR,
				"vCPU %u: MMIO access to 0x%llx without syndrome (ESR 0x%llx)",
				v->id, (unsigned long long)run->arm_nisv.fault_ipa,
				(unsigned long long)run->arm_nisv.esr_iss);
		return 1;
	default:
		vm_request_stop(v->vm, KTVM_EXIT_ERROR, "vCPU %u: unexpected KVM exit reason %u",
				v->id, run->exit_reason);
		return 1;
	}
}

void arch_vcpu_where(struct vcpu *v, char *buf, size_t len)
{
	struct kvm_mp_state mp;
	uint64_t pc, sp;
	const char *state = "";

	if (v->fd < 0 || get_reg(v->fd, CORE_REG(regs.pc), &pc) ||
	    get_reg(v->fd, CORE_REG(sp_el1), &sp)) {
		snprintf(buf, len, "(registers unavailable)");
		return;
	}
	if (ioctl(v->fd, KVM_GET_MP_STATE, &mp) == 0 && mp.mp_state == KVM_MP_STATE_STOPPED)
		state = ", powered off";
	snprintf(buf, len, "PC 0x%016llx SP_EL1 0x%016llx%s", (unsigned long long)pc,
		 (unsigned long long)sp, state);
}

void arch_vcpu_dump(struct vcpu *v, FILE *out)
{
	uint64_t x[31], pc, pstate, sp0, sp1, elr, esr = 0, far = 0;
	bool sys;

	fprintf(out, "ktvm: vCPU %u registers:\n", v->id);
	for (unsigned int i = 0; i < 31; i++)
		if (v->fd < 0 || get_reg(v->fd, CORE_REG(regs.regs[i]), &x[i])) {
			fprintf(out, "  (unavailable)\n");
			return;
		}
	if (get_reg(v->fd, CORE_REG(regs.pc), &pc) ||
	    get_reg(v->fd, CORE_REG(regs.pstate), &pstate) ||
	    get_reg(v->fd, CORE_REG(regs.sp), &sp0) || get_reg(v->fd, CORE_REG(sp_el1), &sp1) ||
	    get_reg(v->fd, CORE_REG(elr_el1), &elr)) {
		fprintf(out, "  (unavailable)\n");
		return;
	}
	sys = !get_reg(v->fd, REG_ESR_EL1, &esr) && !get_reg(v->fd, REG_FAR_EL1, &far);
	fprintf(out, "  PC  0x%016llx PSTATE 0x%08llx SP_EL0 0x%016llx SP_EL1 0x%016llx\n",
		(unsigned long long)pc, (unsigned long long)pstate, (unsigned long long)sp0,
		(unsigned long long)sp1);
	if (sys)
		fprintf(out, "  ELR_EL1 0x%016llx ESR_EL1 0x%08llx FAR_EL1 0x%016llx\n",
			(unsigned long long)elr, (unsigned long long)esr, (unsigned long long)far);
	else
		fprintf(out, "  ELR_EL1 0x%016llx (ESR/FAR unavailable)\n",
			(unsigned long long)elr);
	for (unsigned int i = 0; i < 31; i += 4) {
		fprintf(out, " ");
		for (unsigned int j = i; j < i + 4 && j < 31; j++)
			fprintf(out, " X%-2u 0x%016llx", j, (unsigned long long)x[j]);
		fprintf(out, "\n");
	}
}
