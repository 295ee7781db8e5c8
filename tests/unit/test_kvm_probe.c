// SPDX-License-Identifier: MIT
/*
 * test_kvm_probe.c - when the KVM probe's scratch VM may be skipped: only with
 * vmx/svm in /proc/cpuinfo, the matching KVM module loaded and no kvm_pvm.
 * Each case builds a fake root (proc/cpuinfo, sys/module/NAME/) in a temp dir.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "arch/x86_64/x86.h"

struct root {
	char dir[64];
};

static int root_setup(void **state)
{
	struct root *r = calloc(1, sizeof(*r));
	char p[128];

	strcpy(r->dir, "/tmp/ktvm-test-probe.XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(p, sizeof(p), "%s/proc", r->dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/sys", r->dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/sys/module", r->dir);
	assert_int_equal(mkdir(p, 0700), 0);
	*state = r;
	return 0;
}

static int root_teardown(void **state)
{
	struct root *r = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
	assert_int_equal(system(cmd), 0);
	free(r);
	return 0;
}

static void cpuinfo(struct root *r, const char *text)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/proc/cpuinfo", r->dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void module(struct root *r, const char *name)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/sys/module/%s", r->dir, name);
	assert_int_equal(mkdir(p, 0700), 0);
}

#define AMD                                                                                  \
	"processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu vme de pse svm npt lbrv\n\n" \
	"processor\t: 1\nflags\t\t: fpu vme de pse svm npt lbrv\n"
#define INTEL  "processor\t: 0\nflags\t\t: fpu vme vmx ept tpr_shadow\nbugs\t\t: spectre_v1\n"
#define NOVIRT "processor\t: 0\nflags\t\t: fpu vme de pse hypervisor\n"

static void test_svm_kvm_amd_skips(void **state)
{
	cpuinfo(*state, AMD);
	module(*state, "kvm");
	module(*state, "kvm_amd");
	assert_false(x86_kvm_probe_needed(((struct root *)*state)->dir));
}

static void test_vmx_kvm_intel_skips(void **state)
{
	cpuinfo(*state, INTEL);
	module(*state, "kvm");
	module(*state, "kvm_intel");
	assert_false(x86_kvm_probe_needed(((struct root *)*state)->dir));
}

/* This host: a paravirtual KVM without vmx/svm must still be probed (and refused). */
static void test_kvm_pvm_probes(void **state)
{
	cpuinfo(*state, NOVIRT);
	module(*state, "kvm");
	module(*state, "kvm_pvm");
	assert_true(x86_kvm_probe_needed(((struct root *)*state)->dir));
}

/* kvm_pvm beside a hardware KVM module: which one /dev/kvm is cannot be told, so probe. */
static void test_kvm_pvm_with_svm_probes(void **state)
{
	cpuinfo(*state, AMD);
	module(*state, "kvm_amd");
	module(*state, "kvm_pvm");
	assert_true(x86_kvm_probe_needed(((struct root *)*state)->dir));
}

/* The flag without its module (e.g. VMX off in the firmware, or the wrong vendor's module). */
static void test_flag_without_module_probes(void **state)
{
	cpuinfo(*state, INTEL);
	module(*state, "kvm");
	module(*state, "kvm_amd");
	assert_true(x86_kvm_probe_needed(((struct root *)*state)->dir));
}

/* Whole words only, and only on the flags line. */
static void test_flag_must_be_a_word_on_the_flags_line(void **state)
{
	cpuinfo(*state,
		"processor\t: 0\nmodel name\t: svm vmx\nflags\t\t: fpu xsvm vmxe svm_lock\n");
	module(*state, "kvm_amd");
	module(*state, "kvm_intel");
	assert_true(x86_kvm_probe_needed(((struct root *)*state)->dir));
}

static void test_flag_last_on_the_line_counts(void **state)
{
	cpuinfo(*state, "flags\t\t: fpu svm\n");
	module(*state, "kvm_amd");
	assert_false(x86_kvm_probe_needed(((struct root *)*state)->dir));
}

static void test_no_cpuinfo_probes(void **state)
{
	module(*state, "kvm_amd");
	assert_true(x86_kvm_probe_needed(((struct root *)*state)->dir));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_svm_kvm_amd_skips, root_setup, root_teardown),
		cmocka_unit_test_setup_teardown(test_vmx_kvm_intel_skips, root_setup,
						root_teardown),
		cmocka_unit_test_setup_teardown(test_kvm_pvm_probes, root_setup, root_teardown),
		cmocka_unit_test_setup_teardown(test_kvm_pvm_with_svm_probes, root_setup,
						root_teardown),
		cmocka_unit_test_setup_teardown(test_flag_without_module_probes, root_setup,
						root_teardown),
		cmocka_unit_test_setup_teardown(test_flag_must_be_a_word_on_the_flags_line,
						root_setup, root_teardown),
		cmocka_unit_test_setup_teardown(test_flag_last_on_the_line_counts, root_setup,
						root_teardown),
		cmocka_unit_test_setup_teardown(test_no_cpuinfo_probes, root_setup, root_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
