// SPDX-License-Identifier: MIT
/*
 * vcpu.c - one thread per vCPU running KVM_RUN, and the generic exit
 * dispatch: port I/O and MMIO go to the buses, everything else that ends the
 * guest is turned into a stop request, the rest goes to the arch hook.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "vmm/gdb.h"
#include "vmm/pause.h"
#include "vmm/seccomp.h"
#include "vmm/vm_internal.h"

static void kick_handler(int sig UNUSED)
{
	/* Nothing to do: the signal's only job is to make KVM_RUN return EINTR. */
}

void vcpu_install_kick_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL); /* no SA_RESTART: ioctl must return */
}

int vcpu_create(struct vm *vm, struct vcpu *v, unsigned int id)
{
	int size;

	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		log_err("vcpu", "KVM_CREATE_VCPU %u: %s", id, strerror(errno));
		return -1;
	}
	size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run)) {
		log_err("vcpu", "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -1;
	}
	v->run_size = (size_t)size;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		log_err("vcpu", "mmap of kvm_run for vCPU %u: %s", id, strerror(errno));
		return -1;
	}
	return arch_vcpu_init(v);
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->fd > 0)
		close(v->fd);
	free(v->arch);
	v->arch = NULL;
	v->run = NULL;
	v->fd = -1;
}

static void vcpu_handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	/* data_offset and count come from KVM, not the guest, but stay inside the page. */
	if (run->io.data_offset + (uint64_t)run->io.size * run->io.count > v->run_size)
		return;
	for (uint32_t i = 0; i < run->io.count; i++) {
		if (!io_bus_access(&v->vm->pio, run->io.port, data, run->io.size, is_write))
			log_debug_rl("pio", "unhandled %s port 0x%x size %u",
				     is_write ? "out" : "in", run->io.port, run->io.size);
		data += run->io.size;
	}
}

static void vcpu_handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len;

	if (len > sizeof(run->mmio.data))
		return;
	if (!io_bus_access(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len,
			   run->mmio.is_write))
		log_debug_rl("mmio", "unhandled %s 0x%llx size %u",
			     run->mmio.is_write ? "write" : "read",
			     (unsigned long long)run->mmio.phys_addr, len);
}

/* Returns true when the vCPU must stop. */
static bool vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct vm *vm = v->vm;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(v);
		return false;
	case KVM_EXIT_MMIO:
		vcpu_handle_mmio(v);
		return false;
	case KVM_EXIT_INTR:
		return false;
	case KVM_EXIT_DEBUG: /* a breakpoint or single step of the gdb stub */
		return gdb_vcpu_debug_exit(v) != 0;
	case KVM_EXIT_SHUTDOWN:
		vm_request_stop(vm, KTVM_EXIT_ERROR, "vCPU %u: triple fault (KVM_EXIT_SHUTDOWN)", v->id);
		return true;
	case KVM_EXIT_FAIL_ENTRY:
		vm_request_stop(vm, KTVM_EXIT_ERROR,
				"vCPU %u: KVM could not enter the guest (hardware reason 0x%llx)", v->id,
				(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return true;
	case KVM_EXIT_INTERNAL_ERROR:
		vm_request_stop(vm, KTVM_EXIT_ERROR, "vCPU %u: KVM internal error, suberror %u%s",
				v->id, run->internal.suberror,
				run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
					" (instruction emulation failed)" : "");
		return true;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm_request_stop(vm, KTVM_EXIT_OK, "guest powered off");
			return true;
		case KVM_SYSTEM_EVENT_RESET:
			vm_request_stop(vm, KTVM_EXIT_OK, "guest reset");
			return true;
		case KVM_SYSTEM_EVENT_CRASH:
			vm_request_stop(vm, KTVM_EXIT_PANIC, "guest crashed");
			return true;
		}
		break;
	}
	return arch_vcpu_exit(v) != 0;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	char name[16];
	sigset_t set;

	snprintf(name, sizeof(name), "ktvm-vcpu%u", v->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (ktvm_seccomp_enter(KTVM_THREAD_VCPU)) {
		vm_request_stop(vm, KTVM_EXIT_ERROR, "vCPU %u: cannot install its seccomp filter", v->id);
		return NULL;
	}

	if (v->id == 0)
		log_info("boot", "first KVM_RUN");
	while (!vm_stopping(vm)) {
		vcpu_pause_point(v); /* parks here while the VM is paused (vmm/pause.c) */
		if (vm_stopping(vm))
			break;
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			vm_request_stop(vm, KTVM_EXIT_ERROR, "vCPU %u: KVM_RUN: %s", v->id,
					strerror(errno));
			break;
		}
		if (vcpu_handle_exit(v))
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	sigset_t all, old;
	int r;

	/* Threads inherit the mask: start fully blocked, the thread unblocks its kick. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&v->thread, NULL, vcpu_thread, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		log_err("vcpu", "cannot start vCPU %u thread: %s", v->id, strerror(r));
		return -1;
	}
	v->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (!v->started)
		return;
	/* immediate_exit closes the window between the loop's check and KVM_RUN. */
	v->run->immediate_exit = 1;
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *v)
{
	if (v->started) {
		pthread_join(v->thread, NULL);
		v->started = false;
	}
}
