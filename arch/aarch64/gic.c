// SPDX-License-Identifier: MIT
/*
 * gic.c - the in-kernel interrupt controller: a GICv3 (distributor +
 * one redistributor region for all vCPUs) through KVM_CREATE_DEVICE, or a
 * GICv2 (distributor + CPU interface, at most 8 vCPUs) when the host has no
 * GICv3 support.  The architected timer comes with it (its PPIs are wired
 * by KVM).  KVM_DEV_ARM_VGIC_CTRL_INIT must follow the creation of every
 * vCPU: arm64_gic_finalize(), called once the last vCPU is set up.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arm64.h"
#include "devices/virtio_mmio.h"

static int set_attr(int fd, uint32_t group, uint64_t attr, const void *val)
{
	struct kvm_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = (uint64_t)(uintptr_t)val,
	};

	return ioctl(fd, KVM_SET_DEVICE_ATTR, &a);
}

static int create(struct vm *vm, uint32_t type)
{
	struct kvm_create_device cd = {.type = type};

	if (ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &cd) < 0)
		return -1;
	return (int)cd.fd;
}

int arm64_gic_create(struct vm *vm)
{
	struct arch_vm *a = vm->arch;
	unsigned int ncpus = vm->cfg->cpus;
	uint64_t dist = ARM64_GIC_DIST_BASE, redist = ARM64_GIC_REDIST_BASE;
	uint64_t cpu = ARM64_GIC_CPU_BASE;
	uint32_t nr_irqs = ARM64_GIC_NR_IRQS;
	const char *what;

	if ((uint64_t)ncpus * ARM64_GIC_REDIST_STRIDE > ARM64_GIC_REDIST_MAX) {
		log_err("gic", "%u vCPUs do not fit the redistributor region", ncpus);
		return -1;
	}
	a->gic_fd = create(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
	if (a->gic_fd >= 0) {
		a->gic_version = 3;
		what = "distributor";
		if (set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST,
			     &dist))
			goto fail;
		what = "redistributors";
		if (set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST,
			     &redist))
			goto fail;
	} else {
		log_info("gic", "no GICv3 (%s): trying GICv2", strerror(errno));
		a->gic_fd = create(vm, KVM_DEV_TYPE_ARM_VGIC_V2);
		if (a->gic_fd < 0) {
			log_err("gic", "KVM_CREATE_DEVICE: neither GICv3 nor GICv2: %s",
				strerror(errno));
			return -1;
		}
		a->gic_version = 2;
		if (ncpus > ARM64_GICV2_MAX_CPUS) {
			log_err("gic", "GICv2 only: at most %u vCPUs, not %u", ARM64_GICV2_MAX_CPUS,
				ncpus);
			return -1;
		}
		what = "distributor";
		if (set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_DIST,
			     &dist))
			goto fail;
		what = "CPU interface";
		if (set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_CPU, &cpu))
			goto fail;
	}
	what = "number of interrupts";
	if (set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs))
		goto fail;
	log_info("gic", "GICv%u, %u interrupts", a->gic_version, nr_irqs);
	return 0;
fail:
	log_err("gic", "GICv%u %s: %s", a->gic_version, what, strerror(errno));
	return -1;
}

int arm64_gic_finalize(struct vm *vm)
{
	struct arch_vm *a = vm->arch;

	if (set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL)) {
		log_err("gic", "KVM_DEV_ARM_VGIC_CTRL_INIT: %s", strerror(errno));
		return -1;
	}
	/* KVM takes irqfds only from now on (EAGAIN before). */
	for (unsigned int i = 0; i < a->nmmio; i++)
		if (virtio_mmio_connect_irq(a->mmio[i]))
			return -1;
	return 0;
}

uint32_t arch_irq_line_number(uint32_t gsi)
{
	/* KVM_IRQ_LINE on arm64: type SPI, INTID = 32 + SPI number. */
	return (uint32_t)KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT | (gsi + 32);
}

/*
 * KVM's default routing on arm64: GSI n is SPI n (INTID 32 + n) of the
 * in-kernel GIC; irqfds use it.  Kept in every KVM_SET_GSI_ROUTING table.
 */
unsigned int arch_default_gsi_routes(void *entries, unsigned int max)
{
	struct kvm_irq_routing_entry *e = entries;
	unsigned int n = 0;

	for (uint32_t gsi = 0; gsi < ARM64_GIC_NR_IRQS - 32 && n < max; gsi++)
		e[n++] = (struct kvm_irq_routing_entry){
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = {.irqchip = 0, .pin = gsi},
		};
	return n;
}
