/* SPDX-License-Identifier: MIT */
/*
 * arm64_fdt.h - the flattened device tree ktvm hands an arm64 guest (built with
 * libfdt; no KVM headers, so it is unit-tested on any host).
 */
#ifndef KTVM_ARM64_FDT_H
#define KTVM_ARM64_FDT_H

#include "vmm/ktvm.h"
#include "layout.h"

struct arm64_fdt_virtio {
	uint64_t base, size;
	uint32_t spi;
};

struct arm64_fdt_info {
	unsigned int ncpus;
	uint64_t mem_base, mem_size;
	unsigned int gic_version; /* 2 or 3 */
	const char *bootargs;
	uint64_t initrd_start, initrd_end; /* no initrd properties when equal */
	uint64_t kaslr_seed;
	uint8_t rng_seed[64];
	unsigned int nvirtio;
	struct arm64_fdt_virtio virtio[ARM64_VIRTIO_MMIO_MAX];
};

/* The MPIDR affinity KVM gives vCPU 'id' (what a cpu node's reg must say). */
uint64_t arm64_vcpu_mpidr(unsigned int id);

/*
 * Build the tree into buf (size bytes) and pack it.  0, or -1 with the
 * reason in err (-2 when only the buffer was too small: retry larger).
 */
int arm64_fdt_build(const struct arm64_fdt_info *info, void *buf, size_t size, char *err,
		    size_t errlen);

#endif
