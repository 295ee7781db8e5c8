// SPDX-License-Identifier: MIT
/*
 * kvm_probe.c - can this KVM run an unmodified kernel?
 *
 * Some KVMs (the paravirtual kvm_pvm among them) create VMs and vCPUs and
 * run simple code, but cannot execute instructions every x86_64 kernel
 * uses; a guest then dies minutes later with an emulation failure.  Rather
 * than guess from a module name, ask KVM: run a few instructions a kernel
 * needs early (cmpxchg16b, an SSE move, a CR4 write) in a scratch VM in 64-bit
 * mode and see whether KVM gets through them to a port write.  Costs about a
 * millisecond on a KVM that works on bare metal, but 0.13-0.19 s under nested
 * KVM (a scratch VM's creation and teardown are emulated there), so it is
 * skipped when the host says plainly that KVM runs on hardware
 * virtualisation: see x86_kvm_probe_needed().
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "x86.h"

#define PROBE_MEM_SIZE MiB(2)
#define PROBE_CODE_ADDR 0x1000ULL
#define PROBE_DATA_ADDR 0x2000ULL
#define PROBE_PORT 0x5fe
#define PROBE_DONE 0x42
#define PROBE_TIMEOUT_US 2000000

/*
 * The probe, in 64-bit mode, RDI = PROBE_DATA_ADDR:
 *   xor eax,eax; xor edx,edx; xor ebx,ebx; xor ecx,ecx
 *   lock cmpxchg16b [rdi]         ; a kernel's this_cpu_cmpxchg_double
 *   mov rax,cr4; or eax,0x600; mov cr4,rax   ; enable SSE, as a kernel does
 *   movdqu xmm0,[rdi]             ; SSE state in use
 *   mov al,0x42; mov dx,0x5fe; out dx,al
 *   hlt
 */
static const uint8_t probe_code[] = {
	0x31, 0xc0, 0x31, 0xd2, 0x31, 0xdb, 0x31, 0xc9,
	0xf0, 0x48, 0x0f, 0xc7, 0x0f,
	0x0f, 0x20, 0xe0, 0x0d, 0x00, 0x06, 0x00, 0x00, 0x0f, 0x22, 0xe0,
	0xf3, 0x0f, 0x6f, 0x07,
	0xb0, PROBE_DONE, 0x66, 0xba, PROBE_PORT & 0xff, PROBE_PORT >> 8, 0xee,
	0xf4,
};

/* Which probe instruction starts at or before code offset 'off'. */
static const char *probe_insn_at(uint64_t off)
{
	static const struct {
		uint64_t off;
		const char *name;
	} insns[] = {
		{ 0, "xor" }, { 8, "cmpxchg16b" }, { 13, "mov from cr4" }, { 16, "or" },
		{ 21, "mov to cr4" }, { 24, "movdqu" }, { 28, "out" },
	};
	const char *name = "?";

	for (unsigned int i = 0; i < ARRAY_SIZE(insns); i++)
		if (off >= insns[i].off)
			name = insns[i].name;
	return name;
}

static void probe_alarm(int sig UNUSED)
{
}

/* Returns NULL when the probe passed, else why it failed. */
static const char *run_probe(struct vm *vm, char *why, size_t whylen)
{
	struct mem_region layout = { .gpa = 0, .size = PROBE_MEM_SIZE };
	struct guest_mem mem;
	struct kvm_userspace_memory_region slot;
	struct kvm_run *run = MAP_FAILED;
	struct kvm_regs regs;
	struct sigaction sa, old_sa;
	struct itimerval timer = { .it_value = { .tv_usec = PROBE_TIMEOUT_US % 1000000,
						 .tv_sec = PROBE_TIMEOUT_US / 1000000 } };
	struct itimerval no_timer = { 0 };
	sigset_t alrm, old_mask;
	int vmfd = -1, vcpufd = -1, size, r;
	const char *ret = why;

	if (gmem_init(&mem, PROBE_MEM_SIZE, &layout, 1)) {
		snprintf(why, whylen, "cannot map probe memory");
		return why;
	}
	vmfd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vmfd < 0) {
		snprintf(why, whylen, "KVM_CREATE_VM: %s", strerror(errno));
		goto out;
	}
	slot = (struct kvm_userspace_memory_region){ .memory_size = PROBE_MEM_SIZE,
						     .userspace_addr = (uintptr_t)mem.base };
	vcpufd = -1;
	if (ioctl(vmfd, KVM_SET_USER_MEMORY_REGION, &slot) < 0 ||
	    (vcpufd = ioctl(vmfd, KVM_CREATE_VCPU, 0)) < 0) {
		snprintf(why, whylen, "scratch VM setup: %s", strerror(errno));
		goto out;
	}
	size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size > 0)
		run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpufd, 0);
	if (run == MAP_FAILED) {
		snprintf(why, whylen, "mmap kvm_run: %s", strerror(errno));
		goto out;
	}
	struct kvm_cpuid2 *cpuid = x86_cpuid_for_vcpu(vm->arch->supported_cpuid, 0, 1);
	if (cpuid) {
		ioctl(vcpufd, KVM_SET_CPUID2, cpuid);
		free(cpuid);
	}
	if (x86_write_boot_tables(&mem, X86_ENTRY_LINUX64) ||
	    gmem_write(&mem, PROBE_CODE_ADDR, probe_code, sizeof(probe_code)) ||
	    x86_set_boot_sregs(vcpufd, X86_ENTRY_LINUX64)) {
		snprintf(why, whylen, "cannot enter 64-bit mode: %s", strerror(errno));
		goto out;
	}
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 2;
	regs.rip = PROBE_CODE_ADDR;
	regs.rdi = PROBE_DATA_ADDR;
	regs.rsp = PROBE_DATA_ADDR + 0x800;
	if (ioctl(vcpufd, KVM_SET_REGS, &regs) < 0) {
		snprintf(why, whylen, "KVM_SET_REGS: %s", strerror(errno));
		goto out;
	}

	/* A KVM that loops in the probe must not hang ktvm: a SIGALRM ends KVM_RUN. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = probe_alarm;
	sigaction(SIGALRM, &sa, &old_sa);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &alrm, &old_mask);
	setitimer(ITIMER_REAL, &timer, NULL);
	for (;;) {
		r = ioctl(vcpufd, KVM_RUN, 0);
		if (r < 0 && errno == EINTR) {
			snprintf(why, whylen, "the probe did not finish in %d ms",
				 PROBE_TIMEOUT_US / 1000);
			break;
		}
		if (r < 0) {
			snprintf(why, whylen, "KVM_RUN: %s", strerror(errno));
			break;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == PROBE_PORT &&
		    run->io.direction == KVM_EXIT_IO_OUT &&
		    *((uint8_t *)run + run->io.data_offset) == PROBE_DONE) {
			ret = NULL;
			break;
		}
		if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
			struct kvm_regs now;
			uint64_t off = ioctl(vcpufd, KVM_GET_REGS, &now) == 0 ?
					       now.rip - PROBE_CODE_ADDR : ~0ULL;

			snprintf(why, whylen, "KVM failed to execute %s in a 64-bit test guest "
					      "(internal error %u%s)",
				 probe_insn_at(off), run->internal.suberror,
				 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
					 ", emulation failure" : "");
			break;
		}
		if (run->exit_reason != KVM_EXIT_INTR) {
			snprintf(why, whylen, "unexpected exit %u in a 64-bit probe", run->exit_reason);
			break;
		}
	}
	setitimer(ITIMER_REAL, &no_timer, NULL);
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGALRM, &old_sa, NULL);
out:
	if (run != MAP_FAILED)
		munmap(run, (size_t)size);
	if (vcpufd >= 0)
		close(vcpufd);
	if (vmfd >= 0)
		close(vmfd);
	gmem_destroy(&mem);
	return ret;
}

/* Does the first "flags" line of ROOT/proc/cpuinfo have the word 'flag'? */
static bool cpu_has_flag(const char *root, const char *flag)
{
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0, n = strlen(flag);
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc/cpuinfo", root);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (getline(&line, &cap, f) >= 0) {
		char *colon;

		if (strncmp(line, "flags", 5) != 0 || !(colon = strchr(line, ':')))
			continue;
		/* Whole words only: "svm" must not match inside another flag. */
		for (char *p = colon + 1; (p = strstr(p, flag)); p += n)
			if ((p[-1] == ' ' || p[-1] == '\t' || p[-1] == ':') &&
			    (p[n] == ' ' || p[n] == '\n' || p[n] == '\0')) {
				found = true;
				break;
			}
		break; /* every CPU has the same flags: the first line decides */
	}
	free(line);
	fclose(f);
	return found;
}

static bool module_loaded(const char *root, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/sys/module/%s", root, name);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * Can the probe's scratch VM be skipped?  Only when the host shows that KVM
 * runs on hardware virtualisation: the CPU has vmx (svm) and kvm_intel
 * (kvm_amd) is loaded, and kvm_pvm, which has neither and must be refused
 * by the probe, is not.  Anything unclear (no cpuinfo, a flag without its
 * module) probes.  'root' prefixes the paths ("" for the real ones).
 */
bool x86_kvm_probe_needed(const char *root)
{
	if (module_loaded(root, "kvm_pvm"))
		return true;
	if (cpu_has_flag(root, "vmx") && module_loaded(root, "kvm_intel"))
		return false;
	if (cpu_has_flag(root, "svm") && module_loaded(root, "kvm_amd"))
		return false;
	return true;
}

int arch_check_kvm(struct vm *vm)
{
	char why[200];
	const char *fail;

#ifdef KTVM_TEST_HOOKS
	/*
	 * Test builds only (ktvm-testhooks): tiny test guests (real-mode or
	 * flat 32-bit loops, tests/unit/test_console_wedge.c) run even on a
	 * KVM that cannot run Linux, such as kvm_pvm.
	 */
	if (getenv("KTVM_TEST_SKIP_KVM_PROBE"))
		return 0;
#endif
	if (!x86_kvm_probe_needed("")) {
		log_debug("x86",
			  "KVM probe skipped: the CPU has vmx/svm and KVM is kvm_intel/kvm_amd");
		return 0;
	}
	fail = run_probe(vm, why, sizeof(why));

	if (!fail) {
		log_debug("x86", "KVM probe passed");
		return 0;
	}
	fprintf(stderr, "ktvm: this KVM cannot run an unmodified x86_64 kernel: %s; it looks like "
			"a paravirtual KVM (such as kvm_pvm) without hardware virtualisation\n", fail);
	return -1;
}
