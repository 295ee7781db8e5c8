/* SPDX-License-Identifier: MIT */
/* x86.h - what the x86_64 backend's files share (private to arch/x86_64/). */
#ifndef KTVM_X86_H
#define KTVM_X86_H

#include <stdlib.h>
#include <linux/kvm.h>

#include "boot/boot.h"
#include "vmm/ktvm.h"
#include "layout.h"

struct serial;
struct i8042;
struct cmos_rtc;

struct arch_vm {
	struct kvm_cpuid2 *supported_cpuid; /* KVM_GET_SUPPORTED_CPUID, fetched once */
	struct x86_boot_out boot;	    /* how the boot CPU starts */
	struct serial *com1;
	struct acpi_power *acpi;
	struct i8042 *i8042;
	struct cmos_rtc *rtc;
};

/* cpuid.c: the CPUID table one vCPU sees (malloc'd), from KVM's supported set. */
struct kvm_cpuid2 *x86_cpuid_for_vcpu(const struct kvm_cpuid2 *supported, unsigned int apic_id,
				      unsigned int ncpus);
struct kvm_cpuid2 *x86_get_supported_cpuid(int kvm_fd);
struct kvm_cpuid_entry2 *x86_cpuid_find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t index);
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)

/* cpu.c: boot-time CPU state. */
int x86_write_boot_tables(struct guest_mem *m, enum x86_entry_mode mode);
int x86_set_boot_sregs(int vcpu_fd, enum x86_entry_mode mode);
int x86_vcpu_setup_msrs(int vcpu_fd);
int x86_vcpu_setup_fpu(int vcpu_fd);
int x86_vcpu_setup_lapic(int vcpu_fd);

/*
 * kvm_probe.c: false when the probe's scratch VM can be skipped (vmx/svm in
 * ROOT/proc/cpuinfo with kvm_intel/kvm_amd loaded, no kvm_pvm); ROOT is "" on
 * a real host, a fake tree in tests.
 */
bool x86_kvm_probe_needed(const char *root);

#endif
