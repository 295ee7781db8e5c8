/* SPDX-License-Identifier: MIT */
/*
 * pvh.h - the Xen PVH boot ABI as Linux's pvh_start_xen consumes it.
 *
 * No uapi header carries these, so they are defined here with the layout of
 * xen/include/public/arch-x86/hvm/start_info.h (version 1 of the ABI): all
 * fields little-endian, naturally aligned, sizes checked below.
 */
#ifndef KTVM_BOOT_PVH_H
#define KTVM_BOOT_PVH_H

#include <stddef.h>
#include <stdint.h>

/* ELF note, owner "Xen": the 32-bit physical entry point. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define XEN_HVM_START_MAGIC_VALUE 0x336ec578

/* struct hvm_start_info (start_info.h), version 1 */
struct hvm_start_info {
	uint32_t magic;		/* XEN_HVM_START_MAGIC_VALUE */
	uint32_t version;	/* 1: memmap_* fields present */
	uint32_t flags;		/* SIF_xxx, 0 for us */
	uint32_t nr_modules;	/* entries at modlist_paddr */
	uint64_t modlist_paddr; /* struct hvm_modlist_entry[] */
	uint64_t cmdline_paddr; /* NUL-terminated */
	uint64_t rsdp_paddr;	/* ACPI RSDP, 0 if none */
	uint64_t memmap_paddr;	/* struct hvm_memmap_table_entry[] */
	uint32_t memmap_entries;
	uint32_t reserved;
};

/* struct hvm_modlist_entry (start_info.h): the first module is the initrd */
struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

/* struct hvm_memmap_table_entry (start_info.h); type values equal e820's */
struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info layout");
_Static_assert(offsetof(struct hvm_start_info, memmap_entries) == 48, "hvm_start_info layout");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry layout");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry layout");

/*
 * Find the PVH entry of an x86_64 ELF image: 0 and *entry, or -1 with the
 * reason in err.  Reads nothing outside [img, img + size).  Used by both the
 * detector and the loader so the two can never disagree.
 */
int pvh_find_entry(const uint8_t *img, size_t size, uint32_t *entry, char *err, size_t errlen);

#endif
