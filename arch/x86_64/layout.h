/* SPDX-License-Identifier: MIT */
/*
 * layout.h - where ktvm puts things in an x86_64 guest's physical memory.
 *
 * Low memory (below 1 MiB) keeps the PC's traditional holes so that a
 * kernel's sanity checks (EBDA, VGA hole, BIOS ROM area) find what they
 * expect; the boot structures all live in the first 640 KiB.
 */
#ifndef KTVM_X86_LAYOUT_H
#define KTVM_X86_LAYOUT_H

#define X86_GDT_ADDR 0x0500ULL	    /* boot GDT (4 entries) */
#define X86_IDT_ADDR 0x0520ULL	    /* empty IDT */
#define X86_ZERO_PAGE_ADDR 0x7000ULL   /* boot_params (bzImage) */
#define X86_PVH_INFO_ADDR 0x6000ULL    /* hvm_start_info + memmap (PVH) */
#define X86_PML4_ADDR 0x9000ULL	    /* identity page tables: PML4 */
#define X86_PDPT_ADDR 0xA000ULL	    /* PDPT */
#define X86_PD_ADDR 0xB000ULL	    /* 4 PDs of 2 MiB pages: 0xB000-0xEFFF, first 4 GiB */
#define X86_CMDLINE_ADDR 0x20000ULL    /* kernel command line */
#define X86_CMDLINE_MAX 0x10000ULL     /* bytes reserved for it */
#define X86_BOOT_STACK_ADDR 0x8ff0ULL /* initial stack for PVH (below PML4) */
#define X86_EBDA_START 0x9fc00ULL	    /* reserved from here to 1 MiB */
#define X86_ACPI_ADDR 0xe0000ULL	    /* ACPI tables, RSDP first (16-byte aligned) */
#define X86_ACPI_MAX 0x10000ULL	    /* 64 KiB for them */
#define X86_RESET_VECTOR_ADDR 0xffff0ULL /* F000:FFF0, where a CPU reset starts */
#define X86_HIMEM_START 0x100000ULL   /* 1 MiB */

#define X86_MMIO_HOLE_START 0xC0000000ULL /* 3 GiB: PCI hole, LAPIC, IOAPIC below 4 GiB */
#define X86_MMIO_HOLE_END 0x100000000ULL
#define X86_IOAPIC_ADDR 0xFEC00000ULL
#define X86_LAPIC_ADDR 0xFEE00000ULL

/*
 * PCI: 32-bit BARs in [3 GiB, 3.5 GiB), ECAM (bus 0 only) right above,
 * 64-bit BARs in a window above the end of RAM (machine.c; 1 GiB aligned,
 * at least 4 GiB).  INTA..INTD of slot s go to IOAPIC pins 16..23 by the
 * usual swizzle: GSI 16 + (s + pin - 1) % 8, level-triggered.
 */
#define X86_PCI_MMIO32_BASE 0xC0000000ULL
#define X86_PCI_MMIO32_SIZE 0x20000000ULL
#define X86_PCI_ECAM_BASE 0xE0000000ULL
#define X86_PCI_ECAM_SIZE 0x100000ULL	    /* 1 MiB: bus 0 */
#define X86_PCI_MMIO64_ALIGN 0x40000000ULL  /* 1 GiB */
#define X86_PCI_MMIO64_SIZE 0x1000000000ULL /* 64 GiB, less if the CPU has few address bits */
#define X86_PCI_INTX_GSI_BASE 16
#define X86_PCI_INTX_NGSI 8

/* I/O ports of ktvm's platform devices */
#define X86_PORT_COM1 0x3f8
#define X86_IRQ_COM1 4
#define X86_PORT_I8042_DATA 0x60
#define X86_PORT_I8042_CMD 0x64
#define X86_PORT_RTC 0x70 /* index 0x70, data 0x71 */
#define X86_PORT_TEST_EXIT 0x501
#define X86_PORT_ACPI_SLEEP_CTL 0x600 /* HW-reduced ACPI sleep control (1 byte) */
#define X86_PORT_ACPI_SLEEP_STS 0x601 /* sleep status (1 byte) */
#define X86_PORT_ACPI_RESET 0x604     /* FADT reset register (1 byte) */
#define X86_ACPI_RESET_VALUE 0x01
#define X86_ACPI_S5_SLP_TYP 5	      /* the _S5 package's SLP_TYPa */

#endif
