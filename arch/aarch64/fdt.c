// SPDX-License-Identifier: MIT
/*
 * fdt.c - the arm64 guest's device tree, in the style of QEMU's "virt"
 * machine (which Debian's kernel knows well), built with libfdt's
 * sequential-write API:
 *
 *   / (linux,dummy-virt; #address-cells = #size-cells = 2)
 *     chosen       bootargs, linux,initrd-start/end, stdout-path,
 *                  kaslr-seed, rng-seed
 *     memory@...   the one RAM region
 *     cpus         cpu@N: arm,armv8, enable-method "psci", reg = MPIDR
 *     psci         arm,psci-1.0 / arm,psci-0.2, method "hvc" (KVM's PSCI)
 *     timer        arm,armv8-timer on PPIs 13, 14, 11, 10
 *     intc@...     arm,gic-v3 (distributor + redistributors) or
 *                  arm,cortex-a15-gic (GICv2: distributor + CPU interface)
 *     uart@...     ns16550a, byte registers, level SPI: console=ttyS0
 *     test-exit@.. ktvm,test-exit: no driver binds it; a byte write from
 *                  the guest (busybox: devmem ADDR 8 V) ends ktvm with V
 *     virtio_mmio@ virtio,mmio, one per device, edge SPI, dma-coherent
 */
#include <string.h>
#include <libfdt.h>

#include "arm64_fdt.h"

#define PHANDLE_GIC 1

uint64_t arm64_vcpu_mpidr(unsigned int id)
{
	/* KVM's reset_mpidr(): 16 CPUs per cluster (Aff0), then Aff1, Aff2. */
	return (uint64_t)(id & 0xf) | (uint64_t)((id >> 4) & 0xff) << 8 |
	       (uint64_t)((id >> 12) & 0xff) << 16;
}

/* reg = <addr size> with two cells each. */
static int prop_reg(void *fdt, uint64_t addr, uint64_t size)
{
	fdt64_t reg[2] = {cpu_to_fdt64(addr), cpu_to_fdt64(size)};

	return fdt_property(fdt, "reg", reg, sizeof(reg));
}

static int prop_irq(void *fdt, uint32_t type, uint32_t num, uint32_t flags)
{
	fdt32_t irq[3] = {cpu_to_fdt32(type), cpu_to_fdt32(num), cpu_to_fdt32(flags)};

	return fdt_property(fdt, "interrupts", irq, sizeof(irq));
}

static int node_chosen(void *fdt, const struct arm64_fdt_info *in)
{
	char path[64];
	int r = fdt_begin_node(fdt, "chosen");

	snprintf(path, sizeof(path), "/uart@%llx", (unsigned long long)ARM64_UART_BASE);
	if (!r)
		r = fdt_property_string(fdt, "bootargs", in->bootargs ? in->bootargs : "");
	if (!r)
		r = fdt_property_string(fdt, "stdout-path", path);
	if (!r && in->initrd_end > in->initrd_start) {
		r = fdt_property_u64(fdt, "linux,initrd-start", in->initrd_start);
		if (!r)
			r = fdt_property_u64(fdt, "linux,initrd-end", in->initrd_end);
	}
	if (!r)
		r = fdt_property_u64(fdt, "kaslr-seed", in->kaslr_seed);
	if (!r)
		r = fdt_property(fdt, "rng-seed", in->rng_seed, sizeof(in->rng_seed));
	return r ? r : fdt_end_node(fdt);
}

static int node_memory(void *fdt, const struct arm64_fdt_info *in)
{
	char name[32];
	int r;

	snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)in->mem_base);
	r = fdt_begin_node(fdt, name);
	if (!r)
		r = fdt_property_string(fdt, "device_type", "memory");
	if (!r)
		r = prop_reg(fdt, in->mem_base, in->mem_size);
	return r ? r : fdt_end_node(fdt);
}

static int node_cpus(void *fdt, const struct arm64_fdt_info *in)
{
	int r = fdt_begin_node(fdt, "cpus");

	if (!r)
		r = fdt_property_u32(fdt, "#address-cells", 1); /* MPIDR Aff2..0 */
	if (!r)
		r = fdt_property_u32(fdt, "#size-cells", 0);
	for (unsigned int i = 0; !r && i < in->ncpus; i++) {
		uint64_t mpidr = arm64_vcpu_mpidr(i);
		char name[32];

		snprintf(name, sizeof(name), "cpu@%llx", (unsigned long long)mpidr);
		r = fdt_begin_node(fdt, name);
		if (!r)
			r = fdt_property_string(fdt, "device_type", "cpu");
		if (!r)
			r = fdt_property_string(fdt, "compatible", "arm,armv8");
		if (!r)
			r = fdt_property_string(fdt, "enable-method", "psci");
		if (!r)
			r = fdt_property_u32(fdt, "reg", (uint32_t)mpidr);
		if (!r)
			r = fdt_end_node(fdt);
	}
	return r ? r : fdt_end_node(fdt);
}

static int node_psci(void *fdt)
{
	static const char compat[] = "arm,psci-1.0\0arm,psci-0.2";
	int r = fdt_begin_node(fdt, "psci");

	if (!r)
		r = fdt_property(fdt, "compatible", compat, sizeof(compat));
	if (!r)
		r = fdt_property_string(fdt, "method", "hvc");
	return r ? r : fdt_end_node(fdt);
}

static int node_timer(void *fdt, const struct arm64_fdt_info *in)
{
	static const uint32_t ppis[] = {ARM64_TIMER_PPI_SEC, ARM64_TIMER_PPI_PHYS,
					ARM64_TIMER_PPI_VIRT, ARM64_TIMER_PPI_HYP};
	uint32_t flags = ARM64_IRQ_LEVEL_HIGH;
	fdt32_t irqs[3 * ARRAY_SIZE(ppis)];
	int r;

	/* GICv2 PPI specifiers carry a CPU mask in bits 15:8. */
	if (in->gic_version == 2)
		flags |= ((1u << (in->ncpus > 8 ? 8 : in->ncpus)) - 1) << 8;
	for (unsigned int i = 0; i < ARRAY_SIZE(ppis); i++) {
		irqs[3 * i] = cpu_to_fdt32(ARM64_FDT_PPI);
		irqs[3 * i + 1] = cpu_to_fdt32(ppis[i]);
		irqs[3 * i + 2] = cpu_to_fdt32(flags);
	}
	r = fdt_begin_node(fdt, "timer");
	if (!r)
		r = fdt_property_string(fdt, "compatible", "arm,armv8-timer");
	if (!r)
		r = fdt_property(fdt, "interrupts", irqs, sizeof(irqs));
	if (!r)
		r = fdt_property(fdt, "always-on", NULL, 0);
	return r ? r : fdt_end_node(fdt);
}

static int node_gic(void *fdt, const struct arm64_fdt_info *in)
{
	fdt64_t reg[4] = {cpu_to_fdt64(ARM64_GIC_DIST_BASE), cpu_to_fdt64(ARM64_GIC_DIST_SIZE)};
	char name[32];
	int r;

	if (in->gic_version == 3) {
		reg[2] = cpu_to_fdt64(ARM64_GIC_REDIST_BASE);
		reg[3] = cpu_to_fdt64(ARM64_GIC_REDIST_STRIDE * in->ncpus);
	} else {
		reg[2] = cpu_to_fdt64(ARM64_GIC_CPU_BASE);
		reg[3] = cpu_to_fdt64(ARM64_GIC_CPU_SIZE);
	}
	snprintf(name, sizeof(name), "intc@%llx", (unsigned long long)ARM64_GIC_DIST_BASE);
	r = fdt_begin_node(fdt, name);
	if (!r)
		r = fdt_property_string(fdt, "compatible",
					in->gic_version == 3 ? "arm,gic-v3" : "arm,cortex-a15-gic");
	if (!r)
		r = fdt_property_u32(fdt, "#interrupt-cells", 3);
	if (!r)
		r = fdt_property(fdt, "interrupt-controller", NULL, 0);
	if (!r) /* no children: dtc wants it said */
		r = fdt_property_u32(fdt, "#address-cells", 0);
	if (!r)
		r = fdt_property(fdt, "reg", reg, sizeof(reg));
	if (!r && in->gic_version == 3)
		r = fdt_property_u32(fdt, "#redistributor-regions", 1);
	if (!r)
		r = fdt_property_u32(fdt, "phandle", PHANDLE_GIC);
	return r ? r : fdt_end_node(fdt);
}

static int node_uart(void *fdt)
{
	char name[32];
	int r;

	snprintf(name, sizeof(name), "uart@%llx", (unsigned long long)ARM64_UART_BASE);
	r = fdt_begin_node(fdt, name);
	if (!r)
		r = fdt_property_string(fdt, "compatible", "ns16550a");
	if (!r)
		r = prop_reg(fdt, ARM64_UART_BASE, ARM64_UART_SIZE);
	if (!r)
		r = prop_irq(fdt, ARM64_FDT_SPI, ARM64_UART_SPI, ARM64_IRQ_LEVEL_HIGH);
	if (!r)
		r = fdt_property_u32(fdt, "clock-frequency", ARM64_UART_CLOCK);
	if (!r)
		r = fdt_property_u32(fdt, "reg-shift", 0);
	if (!r)
		r = fdt_property_u32(fdt, "reg-io-width", 1);
	return r ? r : fdt_end_node(fdt);
}

static int node_test_exit(void *fdt)
{
	char name[32];
	int r;

	snprintf(name, sizeof(name), "test-exit@%llx", (unsigned long long)ARM64_TEST_EXIT_BASE);
	r = fdt_begin_node(fdt, name);
	if (!r)
		r = fdt_property_string(fdt, "compatible", "ktvm,test-exit");
	if (!r)
		r = prop_reg(fdt, ARM64_TEST_EXIT_BASE, ARM64_TEST_EXIT_SIZE);
	return r ? r : fdt_end_node(fdt);
}

static int node_virtio(void *fdt, const struct arm64_fdt_virtio *v)
{
	char name[40];
	int r;

	snprintf(name, sizeof(name), "virtio_mmio@%llx", (unsigned long long)v->base);
	r = fdt_begin_node(fdt, name);
	if (!r)
		r = fdt_property_string(fdt, "compatible", "virtio,mmio");
	if (!r)
		r = prop_reg(fdt, v->base, v->size);
	if (!r)
		r = prop_irq(fdt, ARM64_FDT_SPI, v->spi, ARM64_IRQ_EDGE_RISING);
	if (!r)
		r = fdt_property(fdt, "dma-coherent", NULL, 0);
	return r ? r : fdt_end_node(fdt);
}

int arm64_fdt_build(const struct arm64_fdt_info *in, void *buf, size_t size, char *err,
		    size_t errlen)
{
	int r;

	if (in->ncpus == 0 || (in->gic_version != 2 && in->gic_version != 3) ||
	    in->nvirtio > ARM64_VIRTIO_MMIO_MAX || size > INT32_MAX) {
		snprintf(err, errlen, "bad machine description");
		return -1;
	}
	r = fdt_create(buf, (int)size);
	if (!r)
		r = fdt_finish_reservemap(buf);
	if (!r)
		r = fdt_begin_node(buf, "");
	if (!r)
		r = fdt_property_string(buf, "compatible", "linux,dummy-virt");
	if (!r)
		r = fdt_property_string(buf, "model", "ktvm");
	if (!r)
		r = fdt_property_u32(buf, "#address-cells", 2);
	if (!r)
		r = fdt_property_u32(buf, "#size-cells", 2);
	if (!r)
		r = fdt_property_u32(buf, "interrupt-parent", PHANDLE_GIC);
	if (!r)
		r = node_chosen(buf, in);
	if (!r)
		r = node_memory(buf, in);
	if (!r)
		r = node_cpus(buf, in);
	if (!r)
		r = node_psci(buf);
	if (!r)
		r = node_timer(buf, in);
	if (!r)
		r = node_gic(buf, in);
	if (!r)
		r = node_uart(buf);
	if (!r)
		r = node_test_exit(buf);
	for (unsigned int i = 0; !r && i < in->nvirtio; i++)
		r = node_virtio(buf, &in->virtio[i]);
	if (!r)
		r = fdt_end_node(buf);
	if (!r)
		r = fdt_finish(buf);
	if (!r)
		r = fdt_pack(buf);
	if (r == -FDT_ERR_NOSPACE)
		return -2;
	if (r) {
		snprintf(err, errlen, "libfdt: %s", fdt_strerror(r));
		return -1;
	}
	return 0;
}
