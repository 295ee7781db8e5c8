// SPDX-License-Identifier: MIT
/*
 * test_arm64_fdt.c - the arm64 guest's device tree (arch/aarch64/fdt.c),
 * built and parsed back with libfdt: every node and property ktvm writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <libfdt.h>

#include "arch/aarch64/arm64_fdt.h"

static uint8_t buf[65536];
static char err[128];

static void base_info(struct arm64_fdt_info *fi, unsigned int ncpus, unsigned int gic)
{
	memset(fi, 0, sizeof(*fi));
	fi->ncpus = ncpus;
	fi->mem_base = ARM64_RAM_BASE;
	fi->mem_size = MiB(512);
	fi->gic_version = gic;
	fi->bootargs = "console=ttyS0 quiet";
	fi->initrd_start = 0x42400000;
	fi->initrd_end = 0x42500000;
	fi->kaslr_seed = 0x1122334455667788ULL;
	memset(fi->rng_seed, 0x42, sizeof(fi->rng_seed));
	fi->nvirtio = 2;
	for (unsigned int i = 0; i < 2; i++)
		fi->virtio[i] = (struct arm64_fdt_virtio){ARM64_VIRTIO_MMIO_BASE + 0x200 * i, 0x200,
							  ARM64_VIRTIO_SPI_BASE + i};
}

static int node(const char *path)
{
	int off = fdt_path_offset(buf, path);

	if (off < 0)
		fail_msg("no node %s: %s", path, fdt_strerror(off));
	return off;
}

static const void *prop(const char *path, const char *name, int *len)
{
	const void *p = fdt_getprop(buf, node(path), name, len);

	if (!p)
		fail_msg("no %s in %s", name, path);
	return p;
}

static void assert_str(const char *path, const char *name, const char *want)
{
	int len;
	const char *s = prop(path, name, &len);

	assert_int_equal(len, strlen(want) + 1);
	assert_string_equal(s, want);
}

static uint32_t u32_at(const char *path, const char *name, int idx)
{
	int len;
	const fdt32_t *p = prop(path, name, &len);

	assert_true((idx + 1) * 4 <= len);
	return fdt32_ld(&p[idx]);
}

static uint64_t u64_at(const char *path, const char *name, int idx)
{
	int len;
	const uint8_t *p = prop(path, name, &len);

	assert_true((idx + 1) * 8 <= len);
	/* FDT properties are only 4-byte aligned: fdt64_ld reads unaligned. */
	return fdt64_ld((const fdt64_t *)(const void *)(p + 8 * idx));
}

static void test_gicv3_tree(void **state)
{
	struct arm64_fdt_info fi;
	char path[64];
	int len, count = 0, off;
	const uint8_t *seed;

	(void)state;
	base_info(&fi, 20, 3);
	assert_int_equal(arm64_fdt_build(&fi, buf, sizeof(buf), err, sizeof(err)), 0);
	assert_int_equal(fdt_check_header(buf), 0);
	assert_true(fdt_totalsize(buf) <= sizeof(buf));

	assert_str("/", "compatible", "linux,dummy-virt");
	assert_int_equal(u32_at("/", "#address-cells", 0), 2);
	assert_int_equal(u32_at("/", "#size-cells", 0), 2);
	assert_int_equal(u32_at("/", "interrupt-parent", 0), u32_at("/intc@8000000", "phandle", 0));

	/* chosen */
	assert_str("/chosen", "bootargs", "console=ttyS0 quiet");
	assert_str("/chosen", "stdout-path", "/uart@9000000");
	assert_int_equal(u64_at("/chosen", "linux,initrd-start", 0), 0x42400000);
	assert_int_equal(u64_at("/chosen", "linux,initrd-end", 0), 0x42500000);
	assert_int_equal(u64_at("/chosen", "kaslr-seed", 0), 0x1122334455667788ULL);
	seed = prop("/chosen", "rng-seed", &len);
	assert_int_equal(len, 64);
	assert_int_equal(seed[0], 0x42);

	/* memory */
	assert_str("/memory@40000000", "device_type", "memory");
	assert_int_equal(u64_at("/memory@40000000", "reg", 0), ARM64_RAM_BASE);
	assert_int_equal(u64_at("/memory@40000000", "reg", 1), MiB(512));

	/* cpus: MPIDR affinity as KVM assigns it (16 per Aff0 cluster) */
	assert_int_equal(u32_at("/cpus", "#address-cells", 0), 1);
	assert_int_equal(u32_at("/cpus", "#size-cells", 0), 0);
	fdt_for_each_subnode(off, buf, node("/cpus")) count++;
	assert_int_equal(count, 20);
	assert_str("/cpus/cpu@0", "enable-method", "psci");
	assert_str("/cpus/cpu@0", "device_type", "cpu");
	assert_int_equal(u32_at("/cpus/cpu@f", "reg", 0), 0xf);
	assert_int_equal(u32_at("/cpus/cpu@103", "reg", 0), 0x103); /* vCPU 19 */
	assert_int_equal(arm64_vcpu_mpidr(19), 0x103);

	/* psci */
	{
		const char *c = prop("/psci", "compatible", &len);

		assert_int_equal(len, sizeof("arm,psci-1.0\0arm,psci-0.2"));
		assert_int_equal(
			fdt_stringlist_search(buf, node("/psci"), "compatible", "arm,psci-0.2"), 1);
		assert_string_equal(c, "arm,psci-1.0");
	}
	assert_str("/psci", "method", "hvc");

	/* timer: 4 PPIs, level high, no CPU mask on GICv3 */
	assert_str("/timer", "compatible", "arm,armv8-timer");
	prop("/timer", "interrupts", &len);
	assert_int_equal(len, 4 * 12);
	assert_int_equal(u32_at("/timer", "interrupts", 0), 1);
	assert_int_equal(u32_at("/timer", "interrupts", 1), 13);
	assert_int_equal(u32_at("/timer", "interrupts", 2), 4);
	assert_int_equal(u32_at("/timer", "interrupts", 7), 11);
	prop("/timer", "always-on", &len);

	/* GICv3: distributor + redistributors for 20 vCPUs */
	assert_str("/intc@8000000", "compatible", "arm,gic-v3");
	assert_int_equal(u32_at("/intc@8000000", "#interrupt-cells", 0), 3);
	prop("/intc@8000000", "interrupt-controller", &len);
	assert_int_equal(len, 0);
	assert_int_equal(u64_at("/intc@8000000", "reg", 0), ARM64_GIC_DIST_BASE);
	assert_int_equal(u64_at("/intc@8000000", "reg", 1), ARM64_GIC_DIST_SIZE);
	assert_int_equal(u64_at("/intc@8000000", "reg", 2), ARM64_GIC_REDIST_BASE);
	assert_int_equal(u64_at("/intc@8000000", "reg", 3), 20 * ARM64_GIC_REDIST_STRIDE);

	/* UART */
	assert_str("/uart@9000000", "compatible", "ns16550a");
	assert_int_equal(u64_at("/uart@9000000", "reg", 0), ARM64_UART_BASE);
	assert_int_equal(u32_at("/uart@9000000", "interrupts", 0), 0);
	assert_int_equal(u32_at("/uart@9000000", "interrupts", 1), ARM64_UART_SPI);
	assert_int_equal(u32_at("/uart@9000000", "interrupts", 2), 4);
	assert_int_equal(u32_at("/uart@9000000", "clock-frequency", 0), ARM64_UART_CLOCK);
	assert_int_equal(u32_at("/uart@9000000", "reg-io-width", 0), 1);

	/* test exit */
	assert_str("/test-exit@9010000", "compatible", "ktvm,test-exit");
	assert_int_equal(u64_at("/test-exit@9010000", "reg", 0), ARM64_TEST_EXIT_BASE);
	assert_int_equal(u64_at("/test-exit@9010000", "reg", 1), 1);

	/* virtio-mmio, edge SPIs 16, 17 */
	for (unsigned int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "/virtio_mmio@%llx",
			 (unsigned long long)(ARM64_VIRTIO_MMIO_BASE + 0x200 * i));
		assert_str(path, "compatible", "virtio,mmio");
		assert_int_equal(u64_at(path, "reg", 0), ARM64_VIRTIO_MMIO_BASE + 0x200 * i);
		assert_int_equal(u64_at(path, "reg", 1), 0x200);
		assert_int_equal(u32_at(path, "interrupts", 0), 0);
		assert_int_equal(u32_at(path, "interrupts", 1), 16 + i);
		assert_int_equal(u32_at(path, "interrupts", 2), 1);
		prop(path, "dma-coherent", &len);
	}
	assert_true(fdt_path_offset(buf, "/virtio_mmio@a000400") < 0);
}

static void test_gicv2_tree(void **state)
{
	struct arm64_fdt_info fi;

	(void)state;
	base_info(&fi, 4, 2);
	fi.nvirtio = 0;
	fi.initrd_start = fi.initrd_end = 0;
	assert_int_equal(arm64_fdt_build(&fi, buf, sizeof(buf), err, sizeof(err)), 0);
	assert_str("/intc@8000000", "compatible", "arm,cortex-a15-gic");
	assert_int_equal(u64_at("/intc@8000000", "reg", 2), ARM64_GIC_CPU_BASE);
	assert_int_equal(u64_at("/intc@8000000", "reg", 3), ARM64_GIC_CPU_SIZE);
	/* PPI CPU mask for 4 CPUs in bits 15:8 */
	assert_int_equal(u32_at("/timer", "interrupts", 2), 0xf04);
	assert_null(fdt_getprop(buf, node("/chosen"), "linux,initrd-start", NULL));
	assert_true(fdt_path_offset(buf, "/virtio_mmio@a000000") < 0);
}

static void test_too_small_buffer(void **state)
{
	struct arm64_fdt_info fi;

	(void)state;
	base_info(&fi, 1, 3);
	assert_int_equal(arm64_fdt_build(&fi, buf, 256, err, sizeof(err)), -2);
}

static void test_bad_description(void **state)
{
	struct arm64_fdt_info fi;

	(void)state;
	base_info(&fi, 0, 3);
	assert_int_equal(arm64_fdt_build(&fi, buf, sizeof(buf), err, sizeof(err)), -1);
	base_info(&fi, 1, 4);
	assert_int_equal(arm64_fdt_build(&fi, buf, sizeof(buf), err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gicv3_tree),
		cmocka_unit_test(test_gicv2_tree),
		cmocka_unit_test(test_too_small_buffer),
		cmocka_unit_test(test_bad_description),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
