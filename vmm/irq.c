// SPDX-License-Identifier: MIT
/*
 * irq.c - GSI routing, irqfd, ioeventfd and direct MSI injection.
 *
 * KVM_SET_GSI_ROUTING replaces the VM's whole routing table, so ktvm keeps
 * its own copy: the irqchip's default pin routes (arch_default_gsi_routes)
 * followed by the MSI routes devices program (one per MSI-X vector).
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "vmm/vm_internal.h"

#define MAX_ROUTES 1024

struct vm_irq_routes {
	pthread_mutex_t lock;
	unsigned int nfixed;	/* irqchip pin routes at the start of 'e' */
	unsigned int n;
	uint32_t next_gsi;	/* first GSI above the irqchip's pins */
	struct kvm_irq_routing_entry e[MAX_ROUTES];
};

static struct vm_irq_routes *routes(struct vm *vm)
{
	if (!vm->irq) {
		struct vm_irq_routes *r = calloc(1, sizeof(*r));

		if (!r)
			return NULL;
		pthread_mutex_init(&r->lock, NULL);
		r->nfixed = r->n = arch_default_gsi_routes(r->e, MAX_ROUTES);
		for (unsigned int i = 0; i < r->n; i++)
			if (r->e[i].gsi + 1 > r->next_gsi)
				r->next_gsi = r->e[i].gsi + 1;
		vm->irq = r;
	}
	return vm->irq;
}

/* Caller holds the lock. */
static int commit_routes(struct vm *vm, struct vm_irq_routes *r)
{
	size_t sz = sizeof(struct kvm_irq_routing) + r->n * sizeof(r->e[0]);
	struct kvm_irq_routing *t = calloc(1, sz);
	int ret;

	if (!t)
		return -1;
	t->nr = r->n;
	memcpy(t->entries, r->e, r->n * sizeof(r->e[0]));
	ret = ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, t);
	if (ret < 0)
		log_err("irq", "KVM_SET_GSI_ROUTING: %s", strerror(errno));
	free(t);
	return ret;
}

uint32_t vm_gsi_alloc(struct vm *vm)
{
	struct vm_irq_routes *r = routes(vm);
	uint32_t gsi = VM_GSI_NONE;

	if (!r)
		return VM_GSI_NONE;
	pthread_mutex_lock(&r->lock);
	if (r->next_gsi < (uint32_t)vm_check_extension(vm, KVM_CAP_IRQ_ROUTING))
		gsi = r->next_gsi++;
	pthread_mutex_unlock(&r->lock);
	return gsi;
}

static struct kvm_irq_routing_entry *find_msi(struct vm_irq_routes *r, uint32_t gsi)
{
	for (unsigned int i = r->nfixed; i < r->n; i++)
		if (r->e[i].gsi == gsi)
			return &r->e[i];
	return NULL;
}

int vm_msi_route_set(struct vm *vm, uint32_t gsi, uint64_t addr, uint32_t data)
{
	struct vm_irq_routes *r = routes(vm);
	struct kvm_irq_routing_entry *e;
	int ret = -1;

	if (!r)
		return -1;
	pthread_mutex_lock(&r->lock);
	e = find_msi(r, gsi);
	if (!e && r->n < MAX_ROUTES)
		e = &r->e[r->n++];
	if (e) {
		memset(e, 0, sizeof(*e));
		e->gsi = gsi;
		e->type = KVM_IRQ_ROUTING_MSI;
		e->u.msi.address_lo = (uint32_t)addr;
		e->u.msi.address_hi = (uint32_t)(addr >> 32);
		e->u.msi.data = data;
		ret = commit_routes(vm, r);
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int vm_msi_route_clear(struct vm *vm, uint32_t gsi)
{
	struct vm_irq_routes *r = routes(vm);
	struct kvm_irq_routing_entry *e;
	int ret = 0;

	if (!r)
		return -1;
	pthread_mutex_lock(&r->lock);
	e = find_msi(r, gsi);
	if (e) {
		*e = r->e[--r->n];
		ret = commit_routes(vm, r);
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int vm_irqfd(struct vm *vm, int fd, uint32_t gsi, int resample_fd, bool assign)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)fd, .gsi = gsi };

	if (!assign)
		irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
	else if (resample_fd >= 0) {
		irqfd.flags = KVM_IRQFD_FLAG_RESAMPLE;
		irqfd.resamplefd = (uint32_t)resample_fd;
	}
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		log_err("irq", "KVM_IRQFD %s gsi %u: %s", assign ? "assign" : "deassign", gsi,
			strerror(errno));
		return -1;
	}
	return 0;
}

int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = { .address_lo = (uint32_t)addr,
			       .address_hi = (uint32_t)(addr >> 32),
			       .data = data };

	return ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -1 : 0;
}

int vm_ioeventfd(struct vm *vm, bool pio, uint64_t addr, uint32_t len, int fd, bool has_match,
		 uint64_t match, bool assign)
{
	struct kvm_ioeventfd io = { .addr = addr, .len = len, .fd = fd, .datamatch = match };

	if (pio)
		io.flags |= KVM_IOEVENTFD_FLAG_PIO;
	if (has_match)
		io.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
	if (!assign)
		io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0) {
		log_err("irq", "KVM_IOEVENTFD %s 0x%llx: %s", assign ? "assign" : "deassign",
			(unsigned long long)addr, strerror(errno));
		return -1;
	}
	return 0;
}

void vm_irq_destroy(struct vm *vm)
{
	if (vm->irq) {
		pthread_mutex_destroy(&vm->irq->lock);
		free(vm->irq);
		vm->irq = NULL;
	}
}
