/* SPDX-License-Identifier: MIT */
/*
 * memmap.h - the x86_64 guest's physical memory map: the RAM split around the
 * 32-bit MMIO hole (arch_mem_layout() in ktvm.h) and the e820 table the boot
 * loaders hand to the kernel.
 */
#ifndef KTVM_X86_MEMMAP_H
#define KTVM_X86_MEMMAP_H

#include "boot/boot.h"
#include "vmm/ktvm.h"

/*
 * The e820 map for guest memory 'm': RAM below the EBDA, one reserved range
 * from the EBDA to 1 MiB (EBDA, VGA hole, option ROMs, BIOS area and the
 * ACPI tables at X86_ACPI_ADDR), RAM from 1 MiB to the end of low RAM, the
 * PCI ECAM area (reserved), and RAM above 4 GiB.  Returns the number of entries, 0 if 'max' is too small.
 */
unsigned int x86_build_e820(const struct guest_mem *m, struct e820_ent *out, unsigned int max);

/* End (exclusive) of the RAM region that starts at guest-physical 0; 0 if none. */
uint64_t x86_low_ram_end(const struct guest_mem *m);

#endif
