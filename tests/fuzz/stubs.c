// SPDX-License-Identifier: MIT
/*
 * stubs.c - linked into every fuzz target: the KVM-facing core calls,
 * replaced through -Wl,--wrap (see FUZZ_WRAPS in the Makefile), so device
 * models run without /dev/kvm; and log_msg, which still formats every
 * message (format bugs are findings) but prints nothing (a hostile input
 * logs on every run).
 */
#include <stdarg.h>
#include <stdio.h>

#include "tests/fuzz/fuzz.h"

int __wrap_vm_ioeventfd(struct vm *vm, bool pio, uint64_t addr, uint32_t len, int fd,
			bool has_match, uint64_t match, bool assign);
int __wrap_vm_irqfd(struct vm *vm, int fd, uint32_t gsi, int resample_fd, bool assign);
uint32_t __wrap_vm_gsi_alloc(struct vm *vm);
int __wrap_vm_msi_route_set(struct vm *vm, uint32_t gsi, uint64_t addr, uint32_t data);
int __wrap_vm_msi_route_clear(struct vm *vm, uint32_t gsi);
int __wrap_vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data);
struct loop_handler *__wrap_vm_loop_add(struct vm *vm, int fd, loop_cb_fn cb, void *opaque);
void __wrap_vm_loop_del(struct vm *vm, struct loop_handler *h);
int __wrap_vm_irq_line(struct vm *vm, uint32_t gsi, int level);
void __wrap_vm_request_stop(struct vm *vm, int status, const char *fmt, ...);
int __wrap_vm_set_memory_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
			      void *hva);
int __wrap_vm_check_extension(struct vm *vm, long cap);
void __wrap_log_msg(enum log_level level, const char *subsys, const char *fmt, ...);
void __wrap_log_msg_ratelimited(struct log_ratelimit *rl, enum log_level level,
				const char *subsys, const char *fmt, ...);

int __wrap_vm_ioeventfd(struct vm *vm, bool pio, uint64_t addr, uint32_t len, int fd,
			bool has_match, uint64_t match, bool assign)
{
	return 0;
}

int __wrap_vm_irqfd(struct vm *vm, int fd, uint32_t gsi, int resample_fd, bool assign)
{
	return 0;
}

uint32_t __wrap_vm_gsi_alloc(struct vm *vm)
{
	return 40; /* a valid GSI: MSI-X vectors take the irqfd path */
}

int __wrap_vm_msi_route_set(struct vm *vm, uint32_t gsi, uint64_t addr, uint32_t data)
{
	return 0;
}

int __wrap_vm_msi_route_clear(struct vm *vm, uint32_t gsi)
{
	return 0;
}

int __wrap_vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	return 0;
}

struct loop_handler *__wrap_vm_loop_add(struct vm *vm, int fd, loop_cb_fn cb, void *opaque)
{
	static char handle[64]; /* opaque to devices */

	return (struct loop_handler *)(void *)handle;
}

void __wrap_vm_loop_del(struct vm *vm, struct loop_handler *h)
{
}

int __wrap_vm_irq_line(struct vm *vm, uint32_t gsi, int level)
{
	return 0;
}

unsigned int fuzz_stop_requests;
int fuzz_stop_status;

void __wrap_vm_request_stop(struct vm *vm, int status, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	fuzz_stop_requests++;
	fuzz_stop_status = status;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
}

int __wrap_vm_set_memory_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
			      void *hva)
{
	return 0;
}

int __wrap_vm_check_extension(struct vm *vm, long cap)
{
	return 0;
}

void __wrap_log_msg(enum log_level level, const char *subsys, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
}

void __wrap_log_msg_ratelimited(struct log_ratelimit *rl, enum log_level level,
				const char *subsys, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
}

void fuzz_vm_init(struct vm *vm, uint64_t size, const struct mem_region *layout, unsigned int n)
{
	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->loop_fd = vm->stop_eventfd = -1;
	atomic_init(&vm->stop_status, -1);
	io_bus_init(&vm->pio, "pio");
	io_bus_init(&vm->mmio, "mmio");
	if (gmem_init(&vm->mem, size, layout, n)) {
		perror("fuzz: gmem_init");
		abort();
	}
}

bool fuzz_in_guest(const struct guest_mem *m, const void *p, size_t len)
{
	const uint8_t *b = p;

	return b >= m->base && b <= m->base + m->size && len <= (size_t)(m->base + m->size - b);
}
