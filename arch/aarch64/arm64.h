/* SPDX-License-Identifier: MIT */
/* arm64.h - what the aarch64 backend's files share (private to arch/aarch64/). */
#ifndef KTVM_ARM64_H
#define KTVM_ARM64_H

#include <linux/kvm.h>

#include "boot/arm64_image.h"
#include "vmm/ktvm.h"
#include "arm64_fdt.h"
#include "layout.h"

struct serial;
struct virtio_mmio;

struct arch_vm {
	struct kvm_vcpu_init target; /* KVM_ARM_PREFERRED_TARGET */
	int gic_fd;
	unsigned int gic_version; /* 3, or 2 as the fallback */
	struct arm64_boot_out boot;
	struct serial *uart;
	/* The virtio-mmio windows in use, in order: owned by their devices (vm->devices). */
	unsigned int nmmio;
	struct virtio_mmio *mmio[ARM64_VIRTIO_MMIO_MAX];
};

/* gic.c */
int arm64_gic_create(struct vm *vm);
int arm64_gic_finalize(struct vm *vm); /* after every vCPU exists */

#endif
