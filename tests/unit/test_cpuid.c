// SPDX-License-Identifier: MIT
/* test_cpuid.c - the CPUID a vCPU sees: hypervisor bit, APIC IDs, consistent topology. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86_64/x86.h"

static struct kvm_cpuid2 *fake_supported(void)
{
	static const struct kvm_cpuid_entry2 ents[] = {
		{ .function = 0x0, .eax = 0x1f },
		{ .function = 0x1, .eax = 0xa10f11, .ebx = 0xff0800, .ecx = 0x01202000,
		  .edx = 0x178bfbff },
		{ .function = 0x4, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		  .eax = 0xfc004121 },
		{ .function = 0x6, .eax = 4, .ecx = 1 },
		{ .function = 0xb, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .edx = 7 },
		{ .function = 0xb, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .edx = 7 },
		{ .function = 0xb, .index = 2, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .edx = 7 },
		{ .function = 0x40000000, .eax = 0x40000001, .ebx = 0x4b4d564b },
		{ .function = 0x80000001, .ecx = 0x00400393 },
		{ .function = 0x80000008, .eax = 0x3030, .ecx = 0x7001 },
		{ .function = 0x8000001e, .eax = 9, .ebx = 0x100 },
	};
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + sizeof(ents));

	c->nent = ARRAY_SIZE(ents);
	memcpy(c->entries, ents, sizeof(ents));
	return c;
}

static void test_hypervisor_bit_and_apic_id(void **state)
{
	struct kvm_cpuid2 *s = fake_supported();
	struct kvm_cpuid2 *c = x86_cpuid_for_vcpu(s, 3, 4);
	struct kvm_cpuid_entry2 *e = x86_cpuid_find(c, 1, 0);

	assert_non_null(e);
	assert_true(e->ecx & (1u << 31));
	assert_int_equal(e->ebx >> 24, 3);
	assert_int_equal((e->ebx >> 16) & 0xff, 4);
	assert_int_equal(e->ebx & 0xffff, 0x0800); /* CLFLUSH size etc. kept */
	assert_true(e->edx & (1u << 28));	     /* HTT with several logical CPUs */
	free(c);
	free(s);
}

static void test_single_cpu_topology(void **state)
{
	struct kvm_cpuid2 *s = fake_supported();
	struct kvm_cpuid2 *c = x86_cpuid_for_vcpu(s, 0, 1);

	assert_false(x86_cpuid_find(c, 1, 0)->edx & (1u << 28));
	assert_int_equal(x86_cpuid_find(c, 0xb, 1)->ebx, 1);
	assert_int_equal(x86_cpuid_find(c, 0x80000008, 0)->ecx & 0xff, 0);
	assert_int_equal(x86_cpuid_find(c, 4, 0)->eax >> 26, 0);
	free(c);
	free(s);
}

static void test_extended_topology_leaf(void **state)
{
	struct kvm_cpuid2 *s = fake_supported();
	struct kvm_cpuid2 *c = x86_cpuid_for_vcpu(s, 5, 6);
	struct kvm_cpuid_entry2 *smt = x86_cpuid_find(c, 0xb, 0);
	struct kvm_cpuid_entry2 *core = x86_cpuid_find(c, 0xb, 1);
	struct kvm_cpuid_entry2 *end = x86_cpuid_find(c, 0xb, 2);

	assert_int_equal(smt->ebx, 1);
	assert_int_equal((smt->ecx >> 8) & 0xff, 1); /* SMT level */
	assert_int_equal(core->eax, 3);		     /* 6 CPUs need 3 bits of APIC ID */
	assert_int_equal(core->ebx, 6);
	assert_int_equal((core->ecx >> 8) & 0xff, 2); /* core level */
	assert_int_equal(end->ebx, 0);
	assert_int_equal((end->ecx >> 8) & 0xff, 0); /* invalid: enumeration ends */
	assert_int_equal(smt->edx, 5);
	assert_int_equal(core->edx, 5);
	assert_int_equal(end->edx, 5);
	free(c);
	free(s);
}

static void test_amd_core_count_and_topoext_hidden(void **state)
{
	struct kvm_cpuid2 *s = fake_supported();
	struct kvm_cpuid2 *c = x86_cpuid_for_vcpu(s, 0, 64);
	struct kvm_cpuid_entry2 *e8 = x86_cpuid_find(c, 0x80000008, 0);

	assert_int_equal(e8->ecx & 0xff, 63);
	assert_int_equal((e8->ecx >> 12) & 0xf, 6);
	assert_false(x86_cpuid_find(c, 0x80000001, 0)->ecx & (1u << 22));
	assert_int_equal(x86_cpuid_find(c, 0x8000001e, 0)->eax, 0);
	assert_int_equal(x86_cpuid_find(c, 4, 0)->eax >> 26, 63);
	assert_int_equal(x86_cpuid_find(c, 6, 0)->eax, 0);
	free(c);
	free(s);
}

static void test_many_cpus_legacy_count_saturates(void **state)
{
	struct kvm_cpuid2 *s = fake_supported();
	struct kvm_cpuid2 *c = x86_cpuid_for_vcpu(s, 254, 255);
	struct kvm_cpuid_entry2 *e = x86_cpuid_find(c, 1, 0);

	assert_int_equal(e->ebx >> 24, 254);
	assert_int_equal((e->ebx >> 16) & 0xff, 255);
	assert_int_equal(x86_cpuid_find(c, 0xb, 1)->ebx, 255);
	free(c);
	free(s);
}

static void test_unrelated_leaves_untouched(void **state)
{
	struct kvm_cpuid2 *s = fake_supported();
	struct kvm_cpuid2 *c = x86_cpuid_for_vcpu(s, 1, 2);

	assert_memory_equal(x86_cpuid_find(c, 0x40000000, 0), x86_cpuid_find(s, 0x40000000, 0),
			    sizeof(struct kvm_cpuid_entry2));
	assert_null(x86_cpuid_find(c, 0x12345, 0));
	free(c);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hypervisor_bit_and_apic_id),
		cmocka_unit_test(test_single_cpu_topology),
		cmocka_unit_test(test_extended_topology_leaf),
		cmocka_unit_test(test_amd_core_count_and_topoext_hidden),
		cmocka_unit_test(test_many_cpus_legacy_count_saturates),
		cmocka_unit_test(test_unrelated_leaves_untouched),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
