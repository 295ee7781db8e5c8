// SPDX-License-Identifier: MIT
/* vm.c - the KVM VM object: creation, memory slots, interrupts, stop requests. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "vmm/vm_internal.h"

void vm_request_stop(struct vm *vm, int status, const char *fmt, ...)
{
	int expected = -1;
	va_list ap;

	if (status < 0 || status > 255)
		status = KTVM_EXIT_ERROR;
	if (!atomic_compare_exchange_strong(&vm->stop_status, &expected, status))
		return; /* the first request wins */
	va_start(ap, fmt);
	vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	va_end(ap);
	if (vm->stop_eventfd >= 0) {
		uint64_t one = 1;
		ssize_t n = write(vm->stop_eventfd, &one, sizeof(one));
		(void)n; /* an eventfd write of 1 cannot fail short of overflow */
	}
}

int vm_irq_line(struct vm *vm, uint32_t gsi, int level)
{
	struct kvm_irq_level irq = { .irq = arch_irq_line_number(gsi), .level = level };

	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq);
}

int vm_set_memory_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

int vm_check_extension(struct vm *vm, long cap)
{
	int r = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, cap);

	if (r < 0)
		r = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	struct mem_region layout[GUEST_MEM_MAX_REGIONS];
	unsigned int n;
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->kvm_fd = -1;
	vm->vm_fd = -1;
	vm->loop_fd = -1;
	atomic_init(&vm->stop_status, -1);
	vm->stop_eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm_loop_init(vm)) {
		log_err("vm", "epoll_create: %s", strerror(errno));
		return -1;
	}
	io_bus_init(&vm->pio, "pio");
	io_bus_init(&vm->mmio, "mmio");

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		log_err("vm", "cannot open /dev/kvm: %s%s", strerror(errno),
			errno == ENOENT ? " (is the kvm module loaded?)" :
			errno == EACCES ? " (is this user in the kvm group?)" : "");
		return -1;
	}
	r = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION) {
		log_err("vm", "KVM API version %d, ktvm needs %d", r, KVM_API_VERSION);
		return -1;
	}
	do {
		vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	} while (vm->vm_fd < 0 && errno == EINTR);
	if (vm->vm_fd < 0) {
		log_err("vm", "KVM_CREATE_VM: %s", strerror(errno));
		return -1;
	}

	n = arch_mem_layout(cfg->mem_bytes, layout, ARRAY_SIZE(layout));
	if (gmem_init(&vm->mem, cfg->mem_bytes, layout, n)) {
		log_err("vm", "cannot map %llu MiB of guest memory: %s",
			(unsigned long long)(cfg->mem_bytes >> 20), strerror(errno));
		return -1;
	}
	for (unsigned int i = 0; i < vm->mem.nregions; i++) {
		const struct mem_region *mr = &vm->mem.regions[i];

		if (vm_set_memory_slot(vm, i, mr->gpa, mr->size, mr->hva)) {
			log_err("vm", "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

void vm_destroy(struct vm *vm)
{
	vm_devices_destroy(vm); /* before the platform (PCI bus, GIC) they sit on */
	if (vm->arch)
		arch_vm_destroy(vm);
	for (unsigned int i = 0; vm->vcpus && i < vm->ncpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm_irq_destroy(vm);
	vm_loop_destroy(vm);
	gmem_destroy(&vm->mem);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->stop_eventfd >= 0)
		close(vm->stop_eventfd);
}
