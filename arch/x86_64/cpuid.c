// SPDX-License-Identifier: MIT
/*
 * cpuid.c - the CPUID a vCPU sees: KVM's supported set (so no feature KVM
 * cannot virtualise leaks through), with the hypervisor bit, a topology of
 * 'ncpus' single-threaded cores in one package that agrees across leaves
 * 1, 4, 0xb/0x1f and 0x80000008, and this vCPU's APIC ID everywhere it appears.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "x86.h"

#define CPUID_MAX_ENTRIES 256

struct kvm_cpuid2 *x86_get_supported_cpuid(int kvm_fd)
{
	size_t sz = sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = calloc(1, sz);

	if (!c)
		return NULL;
	c->nent = CPUID_MAX_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		log_err("cpuid", "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		free(c);
		return NULL;
	}
	return c;
}

struct kvm_cpuid_entry2 *x86_cpuid_find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t index)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function != fn)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != index)
			continue;
		return e;
	}
	return NULL;
}

/* Smallest shift such that (1 << shift) >= n. */
static uint32_t order_of(uint32_t n)
{
	uint32_t s = 0;

	while ((1u << s) < n)
		s++;
	return s;
}

#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)
#define CPUID_80000001_ECX_CMP_LEGACY (1u << 1)
#define CPUID_80000001_ECX_TOPOEXT (1u << 22)

static void set_topology_leaf(struct kvm_cpuid_entry2 *e, uint32_t apic_id, uint32_t ncpus)
{
	/* Level 0: SMT, one thread per core.  Level 1: cores.  Above: invalid. */
	switch (e->index) {
	case 0:
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (1u << 8) | e->index;
		break;
	case 1:
		e->eax = order_of(ncpus);
		e->ebx = ncpus;
		e->ecx = (2u << 8) | e->index;
		break;
	default:
		e->eax = 0;
		e->ebx = 0;
		e->ecx = e->index;
		break;
	}
	e->edx = apic_id;
}

struct kvm_cpuid2 *x86_cpuid_for_vcpu(const struct kvm_cpuid2 *supported, unsigned int apic_id,
				      unsigned int ncpus)
{
	size_t sz = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);

	if (!c)
		return NULL;
	memcpy(c, supported, sz);
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 0x1:
			e->ebx = (e->ebx & 0x0000ffff) | (apic_id << 24) |
				 ((ncpus > 255 ? 255 : ncpus) << 16);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (ncpus > 1)
				e->edx |= CPUID_1_EDX_HTT;
			else
				e->edx &= ~CPUID_1_EDX_HTT;
			break;
		case 0x4:
			/* Deterministic cache parameters: cores per package - 1 in 31:26. */
			if (e->eax & 0x1f) {
				uint32_t cores = ncpus > 64 ? 64 : ncpus;

				e->eax = (e->eax & 0x03ffffff) | ((cores - 1) << 26);
			}
			break;
		case 0x6:
			/* No thermal or power management to offer a guest. */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 0xb:
		case 0x1f:
			set_topology_leaf(e, apic_id, ncpus);
			break;
		case 0x80000001:
			/* Leaf 0x8000001e would need a full AMD topology: hide it instead. */
			e->ecx &= ~CPUID_80000001_ECX_TOPOEXT;
			if (ncpus > 1)
				e->ecx |= CPUID_80000001_ECX_CMP_LEGACY;
			else
				e->ecx &= ~CPUID_80000001_ECX_CMP_LEGACY;
			break;
		case 0x80000008:
			/* NC (cores - 1) and ApicIdCoreIdSize for AMD's core enumeration. */
			e->ecx = (e->ecx & ~0xf0ffu) | ((ncpus - 1) & 0xff) |
				 (order_of(ncpus) << 12);
			break;
		case 0x8000001e:
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		}
	}
	return c;
}
