// SPDX-License-Identifier: MIT
/*
 * run.c - a VM's whole life: build it, start the vCPUs, run the event loop
 * (console input, signals, the timeout, stop requests) on the main thread,
 * stop everything and turn what happened into ktvm's exit status.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "vmm/api.h"
#include "vmm/console_host.h"
#include "vmm/gdb.h"
#include "vmm/pause.h"
#include "vmm/seccomp.h"
#include "vmm/stats.h"
#include "vmm/vm_internal.h"

struct loop_state {
	struct vm *vm;
	int sfd, tfd, cfd;
	struct loop_handler *console_in;
	struct api_server *api; /* --api-sock */
};

static int make_timeout_fd(unsigned int seconds)
{
	struct itimerspec its = { .it_value = { .tv_sec = seconds } };
	int fd;

	if (!seconds)
		return -1;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd >= 0 && timerfd_settime(fd, 0, &its, NULL) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void on_stop(void *opaque UNUSED)
{
	/* Nothing: the loop sees vm_stopping() after this batch. */
}

static void on_signal(void *opaque)
{
	struct loop_state *ls = opaque;
	struct signalfd_siginfo si;

	if (read(ls->sfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGUSR1) {
		/* kill -USR1: the statistics as one JSON line on stderr; the guest goes on. */
		vm_stats_print(ls->vm, STDERR_FILENO);
		return;
	}
	/* Like a shell: a VMM ended by signal N reports 128 + N. */
	vm_request_stop(ls->vm, 128 + (int)si.ssi_signo, "stopped by signal %s",
			strsignal((int)si.ssi_signo));
}

static void on_timeout(void *opaque)
{
	struct loop_state *ls = opaque;

	vm_request_stop(ls->vm, KTVM_EXIT_TIMEOUT, "timeout of %u s expired", ls->vm->cfg->timeout_s);
}

static void on_console_out(void *opaque)
{
	struct loop_state *ls = opaque;

	console_flush(ls->vm->console);
}

static void on_console_in(void *opaque)
{
	struct loop_state *ls = opaque;

	if (console_handle_input(ls->vm->console) < 0) {
		/* EOF or error: stop watching (a closed stdin is not a reason to stop). */
		vm_loop_del(ls->vm, ls->console_in);
	}
}

/* The main thread's loop: returns once a stop has been requested. */
/* The executable's code, from the linker (GNU ld's default script defines both). */
extern char __executable_start[], etext[];

/*
 * Setup is done: give back what only setup needed (issue 8's memory
 * target).  The heap's free tail (JSON, tables, the loaders' scratch) goes
 * back to the kernel, and the code pages are unmapped from ktvm, not from
 * the page cache: most of ktvm's code (option and JSON parsing, kernel
 * loaders, ACPI tables, libseccomp's filter compiler) never runs again,
 * and what does run (exit handlers, the data path) faults straight back
 * in from the page cache.  Measured in the venue: ~1 MiB of RSS.
 */
static void trim_startup_memory(void)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)__executable_start, end = (uintptr_t)etext;
	uintptr_t skip = (page - start % page) % page; /* to the first whole page */
	uintptr_t last = end - end % page;

	malloc_trim(0);
	if (last > start + skip)
		madvise(__executable_start + skip, last - start - skip, MADV_DONTNEED);
}

static void event_loop(struct vm *vm, sigset_t *sigs)
{
	struct loop_state ls = { .vm = vm, .sfd = -1, .tfd = -1, .cfd = -1 };
	struct loop_handler *hs[5] = { NULL };

	ls.sfd = signalfd(-1, sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	ls.tfd = make_timeout_fd(vm->cfg->timeout_s);
	ls.cfd = console_input_fd(vm->console);
	hs[0] = vm_loop_add(vm, vm->stop_eventfd, on_stop, &ls);
	hs[1] = ls.sfd >= 0 ? vm_loop_add(vm, ls.sfd, on_signal, &ls) : NULL;
	if (!hs[0] || !hs[1]) {
		vm_request_stop(vm, KTVM_EXIT_ERROR, "event loop setup failed: %s", strerror(errno));
		goto out;
	}
	if (ls.tfd >= 0)
		hs[2] = vm_loop_add(vm, ls.tfd, on_timeout, &ls);
	if (console_output_fd(vm->console) >= 0)
		hs[3] = vm_loop_add(vm, console_output_fd(vm->console), on_console_out, &ls);
	/* A regular file or /dev/null cannot be polled (EPERM): then there is no input. */
	if (ls.cfd >= 0)
		hs[4] = ls.console_in = vm_loop_add(vm, ls.cfd, on_console_in, &ls);

	/* The control socket: created as the user ktvm runs as, before the filter. */
	if (vm->cfg->api_sock) {
		ls.api = api_open(vm, vm->cfg->api_sock);
		if (!ls.api) {
			vm_request_stop(vm, KTVM_EXIT_ERROR, "cannot create the control socket");
			goto out;
		}
	}
	vm_stats_prepare();
	/* The 1 Hz sampler behind the statistics' rates: its timerfd before the filter. */
	if (stats_rate_start(vm))
		log_msg(LOG_WARN, "stats", "no per-second rates in the statistics: %s", strerror(errno));
	trim_startup_memory();
	/* After the vCPU threads exist (they must not inherit this filter). */
	if (ktvm_seccomp_enter(KTVM_THREAD_MAIN)) {
		vm_request_stop(vm, KTVM_EXIT_ERROR, "cannot install the main thread's seccomp filter");
		goto out;
	}
	vm_loop_run(vm);
out:
	stats_rate_stop();
	api_close(ls.api);
	for (unsigned int i = 0; i < ARRAY_SIZE(hs); i++)
		vm_loop_del(vm, hs[i]);
	if (ls.tfd >= 0)
		close(ls.tfd);
	if (ls.sfd >= 0)
		close(ls.sfd);
}

static void report_stop(struct vm *vm, int status)
{
	char where[160];

	if (status == KTVM_EXIT_TIMEOUT) {
		log_msg(LOG_ERROR, "vm", "%s", vm->stop_reason);
		for (unsigned int i = 0; i < vm->ncpus; i++) {
			arch_vcpu_where(&vm->vcpus[i], where, sizeof(where));
			fprintf(stderr, "ktvm: vCPU %u was at %s\n", i, where);
		}
	} else if (status == KTVM_EXIT_ERROR) {
		log_msg(LOG_ERROR, "vm", "%s", vm->stop_reason);
		for (unsigned int i = 0; i < vm->ncpus; i++)
			arch_vcpu_dump(&vm->vcpus[i], stderr);
	} else {
		log_info("vm", "%s (exit status %d)", vm->stop_reason, status);
	}
}

/*
 * Every thread ktvm starts (vCPUs, net workers, control, gdb) gets a
 * THREAD_STACK-byte stack instead of glibc's 8 MiB default.  Not for
 * address space: with transparent huge pages "always", an 8 MiB stack is
 * backed by a 2 MiB huge page as soon as it is touched, 2 MiB of RSS per
 * thread (measured in the venue: 3.8 of ktvm's 5.8 MiB).  The deepest
 * frame in ktvm is vm_run's, about 6 KiB (gcc -fstack-usage).
 */
#define THREAD_STACK (256 * 1024)

static void set_thread_stacks(void)
{
	pthread_attr_t a;

	if (pthread_attr_init(&a))
		return;
	if (pthread_attr_setstacksize(&a, THREAD_STACK) == 0)
		pthread_setattr_default_np(&a);
	pthread_attr_destroy(&a);
}

int vm_run(const struct vm_config *cfg)
{
	struct vm vm;
	sigset_t sigs, old;
	int status, r;

	/* Signals the event loop owns: blocked here, before any thread inherits a mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1); /* statistics (the vCPU kick is a real-time signal) */
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	vcpu_install_kick_handler();
	signal(SIGPIPE, SIG_IGN);
	set_thread_stacks();

	if (vm_create(&vm, cfg) || vm_pause_init(&vm)) {
		status = KTVM_EXIT_ERROR;
		goto out;
	}
	vm.console = console_open(&vm, cfg);
	if (!vm.console) {
		status = KTVM_EXIT_USAGE;
		goto out;
	}
	if (arch_vm_init(&vm)) {
		status = KTVM_EXIT_ERROR;
		goto out;
	}
	r = arch_load_kernel(&vm);
	if (r) {
		status = r;
		goto out;
	}
	if (arch_check_kvm(&vm)) {
		status = KTVM_EXIT_ERROR;
		goto out;
	}
	log_info("boot", "setup: kernel loaded, KVM checked");
	int max_cpus = vm_check_extension(&vm, KVM_CAP_MAX_VCPUS);
	if (max_cpus <= 0)
		max_cpus = vm_check_extension(&vm, KVM_CAP_NR_VCPUS);
	if (max_cpus > 0 && cfg->cpus > (unsigned int)max_cpus) {
		fprintf(stderr, "ktvm: --cpus %u is more than this KVM supports (%d)\n", cfg->cpus,
			max_cpus);
		status = KTVM_EXIT_USAGE;
		goto out;
	}
	vm.vcpus = calloc(cfg->cpus, sizeof(*vm.vcpus));
	if (!vm.vcpus) {
		status = KTVM_EXIT_ERROR;
		goto out;
	}
	for (unsigned int i = 0; i < cfg->cpus; i++) {
		vm.ncpus = i + 1;
		if (vcpu_create(&vm, &vm.vcpus[i], i)) {
			status = KTVM_EXIT_ERROR;
			goto out;
		}
	}
	/* Setup is done: no privileges from here on, filters ready (see vmm/seccomp.c). */
	if (ktvm_drop_privileges(cfg->has_user, cfg->uid, cfg->gid) ||
	    ktvm_seccomp_setup((enum ktvm_seccomp_mode)cfg->seccomp)) {
		status = KTVM_EXIT_ERROR;
		goto out;
	}
	/* The gdb stub's thread: before the vCPUs (--gdb-wait parks them from the start). */
	if (gdb_start(&vm)) {
		status = KTVM_EXIT_ERROR;
		goto out;
	}
	log_info("vm", "starting %u vCPU(s), %llu MiB", vm.ncpus,
		 (unsigned long long)(cfg->mem_bytes >> 20));
	for (unsigned int i = 0; i < vm.ncpus; i++) {
		if (vcpu_start(&vm.vcpus[i])) {
			vm_request_stop(&vm, KTVM_EXIT_ERROR, "cannot start vCPU threads");
			break;
		}
	}

	event_loop(&vm, &sigs);

	for (unsigned int i = 0; i < vm.ncpus; i++)
		vcpu_kick(&vm.vcpus[i]);
	for (unsigned int i = 0; i < vm.ncpus; i++)
		vcpu_join(&vm.vcpus[i]);
	status = atomic_load(&vm.stop_status);
	/* The terminal first, so the report is readable. */
	console_finish(vm.console);
	report_stop(&vm, status);
	if (cfg->stats)
		vm_stats_print(&vm, STDERR_FILENO); /* the devices still exist */
out:
	console_finish(vm.console);
	gdb_stop(&vm); /* after the vCPUs are joined */
	vm_pause_destroy(&vm);
	vm_destroy(&vm);
	/* Freed last: the UART unhooks from it when the VM is destroyed. */
	console_close(vm.console);
	vm.console = NULL;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return status;
}
