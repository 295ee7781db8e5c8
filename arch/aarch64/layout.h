/* SPDX-License-Identifier: MIT */
/*
 * layout.h - the aarch64 guest's physical address map (no KVM headers: the
 * FDT builder and its unit tests use it on any host).
 *
 *   0x0800_0000  GIC distributor (64 KiB)
 *   0x0801_0000  GICv2 CPU interface (8 KiB; GICv2 fallback only)
 *   0x0900_0000  UART: ns16550a, byte registers, SPI 1, console=ttyS0
 *   0x0901_0000  test exit: a byte write of V ends ktvm with status V
 *   0x0a00_0000  virtio-mmio devices, 0x200 apart, SPI 16 + n
 *   0x0c00_0000  GICv3 redistributors, 128 KiB per vCPU (up to 512)
 *   0x4000_0000  RAM (1 GiB aligned, as the initrd's 32 GiB window wants)
 */
#ifndef KTVM_ARM64_LAYOUT_H
#define KTVM_ARM64_LAYOUT_H

#define ARM64_GIC_DIST_BASE	0x08000000ULL
#define ARM64_GIC_DIST_SIZE	0x10000ULL
#define ARM64_GIC_CPU_BASE	0x08010000ULL
#define ARM64_GIC_CPU_SIZE	0x2000ULL
#define ARM64_GIC_REDIST_BASE	0x0c000000ULL
#define ARM64_GIC_REDIST_STRIDE 0x20000ULL /* RD_base + SGI_base frames */
#define ARM64_GIC_REDIST_MAX	0x04000000ULL
#define ARM64_GIC_NR_IRQS	128 /* 32 private + 96 SPIs */
#define ARM64_GICV2_MAX_CPUS	8

#define ARM64_UART_BASE	 0x09000000ULL
#define ARM64_UART_SIZE	 0x1000ULL
#define ARM64_UART_SPI	 1
#define ARM64_UART_CLOCK 1843200

#define ARM64_TEST_EXIT_BASE 0x09010000ULL
#define ARM64_TEST_EXIT_SIZE 1

#define ARM64_VIRTIO_MMIO_BASE 0x0a000000ULL
#define ARM64_VIRTIO_MMIO_SIZE 0x200ULL
#define ARM64_VIRTIO_MMIO_MAX  32
#define ARM64_VIRTIO_SPI_BASE  16

#define ARM64_RAM_BASE 0x40000000ULL

/* GIC interrupt specifier cells (dt-bindings/interrupt-controller/arm-gic.h) */
#define ARM64_FDT_SPI	      0
#define ARM64_FDT_PPI	      1
#define ARM64_IRQ_EDGE_RISING 1
#define ARM64_IRQ_LEVEL_HIGH  4
/* The architected timer's PPIs: secure phys, non-secure phys, virtual, hypervisor. */
#define ARM64_TIMER_PPI_SEC  13
#define ARM64_TIMER_PPI_PHYS 14
#define ARM64_TIMER_PPI_VIRT 11
#define ARM64_TIMER_PPI_HYP  10

#endif
