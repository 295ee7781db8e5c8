/* SPDX-License-Identifier: MIT */
/*
 * arm64_image.h - the arm64 Linux boot protocol (Documentation/arch/arm64/
 * booting.rst): the Image header, where the kernel, the initrd and the DTB
 * go in guest RAM.  Pure: no KVM, so it is unit-tested on any host.
 */
#ifndef KTVM_BOOT_ARM64_IMAGE_H
#define KTVM_BOOT_ARM64_IMAGE_H

#include "vmm/ktvm.h"

#define ARM64_IMAGE_MAGIC    0x644d5241u /* "ARM\x64" at offset 0x38 */
#define ARM64_IMAGE_HDR_SIZE 64
#define ARM64_IMAGE_ALIGN    MiB(2)   /* the kernel's base: 2 MiB aligned */
#define ARM64_DTB_MAX	     MiB(2)   /* booting.rst: the DTB must not exceed 2 MiB */
#define ARM64_DTB_WINDOW     GiB(512) /* ... and lie in the first 512 GiB of RAM */
#define ARM64_INITRD_WINDOW  GiB(32)  /* initrd: in a 1 GiB aligned 32 GiB window with the kernel */
#define ARM64_IMAGE_MAX	     MiB(512) /* a decompressed Image larger than this is refused */

/* Header flags (booting.rst) */
#define ARM64_FLAG_BE	      (1u << 0)
#define ARM64_FLAG_PAGE_SHIFT 1
#define ARM64_FLAG_PAGE_MASK  (3u << ARM64_FLAG_PAGE_SHIFT)
#define ARM64_FLAG_PHYS_ANY   (1u << 3) /* 2 MiB aligned base anywhere in RAM */

struct arm64_image_info {
	uint64_t text_offset; /* from the 2 MiB aligned base */
	uint64_t image_size;  /* bytes the kernel occupies from its load address, bss included */
	uint64_t flags;
	unsigned int page_kb; /* 4, 16, 64, or 0 = unspecified */
};

/*
 * Check an uncompressed Image's header: size, magic, little-endian,
 * image_size set (kernels since 3.17) and not smaller than the file,
 * text_offset below 2 MiB and 4 KiB aligned.  0, or -1 with the reason.
 */
int arm64_image_parse(const uint8_t *img, size_t size, struct arm64_image_info *info, char *err,
		      size_t errlen);

/* gzip magic: an Image.gz, which the loader inflates first. */
bool arm64_image_is_gzip(const uint8_t *img, size_t size);
/* Inflate a gzip stream into a malloc'd buffer of at most 'limit' bytes: 0 or -1 + reason. */
int arm64_gunzip(const uint8_t *in, size_t in_size, size_t limit, uint8_t **out, size_t *out_size,
		 char *err, size_t errlen);

struct arm64_boot_in {
	const uint8_t *kernel; /* Image or Image.gz */
	size_t kernel_size;
	const uint8_t *initrd; /* NULL when none */
	size_t initrd_size;
	uint64_t ram_base, ram_size; /* the one RAM region (ram_base 2 MiB aligned) */
};

struct arm64_boot_out {
	uint64_t entry;			   /* PC: the first byte of the Image as loaded */
	uint64_t kernel_start, kernel_end; /* [entry, entry + image_size) */
	uint64_t initrd_start, initrd_end; /* 0, 0 when none */
	uint64_t dtb_addr;		   /* x0: a 2 MiB slot of its own, for arm64_place_dtb */
	struct arm64_image_info info;
	bool was_gzip;
};

/*
 * Place the kernel at ram_base + text_offset, the initrd at the next 2 MiB
 * boundary after image_size, and reserve a 2 MiB region for the DTB after
 * that: everything in RAM, the initrd in the kernel's 32 GiB window, the DTB
 * in the first 512 GiB.  Writes only through gmem_*.  0, or -1 + reason.
 */
int arm64_image_load(struct guest_mem *m, const struct arm64_boot_in *in,
		     struct arm64_boot_out *out, char *err, size_t errlen);
/* Copy a finished DTB (at most ARM64_DTB_MAX bytes) to out->dtb_addr. */
int arm64_place_dtb(struct guest_mem *m, const struct arm64_boot_out *out, const void *dtb,
		    size_t size, char *err, size_t errlen);

#endif
