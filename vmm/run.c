// SPDX-License-Identifier: MIT
/*
 * run.c - a VM's whole life: build it, start the vCPUs, run the event loop
 * (console input, signals, the timeout, stop requests) on the main thread,
 * stop everything and turn what happened into ktvm's exit status.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "vmm/console_host.h"
#include "vmm/vm_internal.h"

enum loop_src { SRC_STOP = 1, SRC_SIGNAL, SRC_TIMEOUT, SRC_CONSOLE, SRC_CONSOLE_OUT };

static int epoll_add(int ep, int fd, enum loop_src src)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = src };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

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

static void handle_signal(struct vm *vm, int sfd)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return;
	/* Like a shell: a VMM ended by signal N reports 128 + N. */
	vm_request_stop(vm, 128 + (int)si.ssi_signo, "stopped by signal %s",
			strsignal((int)si.ssi_signo));
}

/* The main thread's loop: returns once a stop has been requested. */
static void event_loop(struct vm *vm, sigset_t *sigs)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int sfd = signalfd(-1, sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	int tfd = make_timeout_fd(vm->cfg->timeout_s);
	int cfd = console_input_fd(vm->console);

	if (ep < 0 || sfd < 0 || epoll_add(ep, vm->stop_eventfd, SRC_STOP) ||
	    epoll_add(ep, sfd, SRC_SIGNAL)) {
		vm_request_stop(vm, KTVM_EXIT_ERROR, "event loop setup failed: %s", strerror(errno));
		goto out;
	}
	if (tfd >= 0)
		epoll_add(ep, tfd, SRC_TIMEOUT);
	if (console_output_fd(vm->console) >= 0)
		epoll_add(ep, console_output_fd(vm->console), SRC_CONSOLE_OUT);
	/* A regular file or /dev/null cannot be polled (EPERM): then there is no input. */
	if (cfd >= 0 && epoll_add(ep, cfd, SRC_CONSOLE) < 0)
		cfd = -1;

	while (!vm_stopping(vm)) {
		struct epoll_event evs[8];
		int n = epoll_wait(ep, evs, ARRAY_SIZE(evs), -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			vm_request_stop(vm, KTVM_EXIT_ERROR, "epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case SRC_STOP:
				break; /* the loop condition sees it */
			case SRC_SIGNAL:
				handle_signal(vm, sfd);
				break;
			case SRC_TIMEOUT:
				vm_request_stop(vm, KTVM_EXIT_TIMEOUT, "timeout of %u s expired",
						vm->cfg->timeout_s);
				break;
			case SRC_CONSOLE_OUT:
				console_flush(vm->console);
				break;
			case SRC_CONSOLE:
				if (console_handle_input(vm->console) < 0) {
					epoll_ctl(ep, EPOLL_CTL_DEL, cfd, NULL);
					cfd = -1;
				}
				break;
			}
		}
	}
out:
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
	if (ep >= 0)
		close(ep);
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
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	vcpu_install_kick_handler();
	signal(SIGPIPE, SIG_IGN);

	if (vm_create(&vm, cfg)) {
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
	console_close(vm.console);
	vm.console = NULL;
	report_stop(&vm, status);
out:
	console_close(vm.console);
	vm.console = NULL;
	vm_destroy(&vm);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return status;
}
