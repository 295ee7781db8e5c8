// SPDX-License-Identifier: MIT
/*
 * bzimage.c - load a Linux x86 bzImage per the boot protocol
 * (Documentation/arch/x86/boot.rst) and enter it at its 64-bit entry.
 *
 * We skip the real-mode setup code entirely: the protected-mode kernel goes
 * to its load address, a zero page (struct boot_params) built from the
 * image's setup header says where everything is, and the vCPU starts in
 * long mode at load address + 0x200.  The image may be hostile: every field
 * used is checked against the file size and against guest RAM first.
 */
#include <asm/bootparam.h>
#include <stddef.h>
#include <string.h>

#include "arch/x86_64/layout.h"
#include "arch/x86_64/memmap.h"
#include "boot/boot.h"

#define PAGE_SIZE	       4096ULL
#define BZ_HDR_OFF	       0x1f1 /* the setup header's place in the image and the zero page */
#define BZ_JUMP_OFF	       0x200 /* "jmp short": its offset byte tells where the header ends */
#define BZ_MIN_SIZE	       1024  /* boot sector + at least one setup sector */
#define BZ_ENTRY64_OFF	       0x200 /* 64-bit entry, from the protected-mode load address */
#define BZ_DEFAULT_SETUP_SECTS 4     /* what setup_sects 0 means */
#define BZ_TYPE_OF_LOADER      0xff  /* "undefined" boot loader */
/*
 * End of the setup heap as an offset from the real-mode segment, minus
 * 0x200: the customary value for a 64 KiB real-mode segment.  We never run
 * the setup code, but a kernel that looks finds a sane value.
 */
#define BZ_HEAP_END_PTR 0xfe00

#define PROTO(maj, min) (((maj) << 8) | (min))
/* Offset just past a setup_header field, in the image and the zero page. */
#define HDR_END_OF(f) \
	(BZ_HDR_OFF + offsetof(struct setup_header, f) + sizeof(((struct setup_header *)0)->f))

_Static_assert(offsetof(struct boot_params, hdr) == BZ_HDR_OFF, "setup header in zero page");
_Static_assert(sizeof(struct boot_params) == PAGE_SIZE, "zero page is one page");

/* Copy the setup header into a fresh zero page, and check what the loader relies on. */
static int read_header(const struct x86_boot_in *in, struct boot_params *bp, char *err,
		       size_t errlen)
{
	const uint8_t *k = in->kernel;
	size_t end;

	if (in->kernel_size < BZ_MIN_SIZE)
		return boot_err(err, errlen, "bzImage is truncated (%zu bytes)", in->kernel_size);
	if (k[0x1fe] != 0x55 || k[0x1ff] != 0xaa || memcmp(k + 0x202, "HdrS", 4) != 0)
		return boot_err(err, errlen, "not a bzImage (no \"HdrS\" setup header)");

	/*
	 * The header runs to 0x202 + the jump's offset byte: copy just that
	 * much (older kernels have setup code where newer ones have fields),
	 * at most our struct's worth; the rest of the zero page stays 0.
	 */
	end = BZ_JUMP_OFF + 2 + k[BZ_JUMP_OFF + 1];
	if (end > BZ_HDR_OFF + sizeof(bp->hdr))
		end = BZ_HDR_OFF + sizeof(bp->hdr);
	memset(bp, 0, sizeof(*bp));
	memcpy((uint8_t *)bp + BZ_HDR_OFF, k + BZ_HDR_OFF, end - BZ_HDR_OFF);

	if (bp->hdr.version < PROTO(2, 6))
		return boot_err(err, errlen,
				"boot protocol %u.%02u is too old (2.06 or later needed)",
				bp->hdr.version >> 8, bp->hdr.version & 0xff);
	if (end < HDR_END_OF(cmdline_size) ||
	    (bp->hdr.version >= PROTO(2, 10) && end < HDR_END_OF(init_size)))
		return boot_err(err, errlen,
				"setup header (%zu bytes) too short for protocol %u.%02u",
				end - BZ_HDR_OFF, bp->hdr.version >> 8, bp->hdr.version & 0xff);
	if (!(bp->hdr.loadflags & LOADED_HIGH))
		return boot_err(err, errlen, "zImage (loaded low) kernels are not supported");
	if (bp->hdr.version >= PROTO(2, 12) && !(bp->hdr.xloadflags & XLF_KERNEL_64))
		return boot_err(err, errlen,
				"kernel has no 64-bit entry point (XLF_KERNEL_64 not set)");
	return 0;
}

/* The initrd goes page-aligned as high as the kernel allows, above the kernel. */
static int place_initrd(struct guest_mem *m, const struct x86_boot_in *in,
			const struct setup_header *h, uint64_t kernel_end, uint64_t low_end,
			uint64_t *addr, char *err, size_t errlen)
{
	uint64_t limit = (uint64_t)h->initrd_addr_max + 1; /* the field is the last byte */
	uint64_t floor = ALIGN_UP(kernel_end, PAGE_SIZE);

	if (limit > low_end)
		limit = low_end;
	if (limit < floor || in->initrd_size > limit - floor)
		return boot_err(
			err, errlen,
			"initrd (%zu bytes) does not fit between the kernel end %#llx and %#llx",
			in->initrd_size, (unsigned long long)floor, (unsigned long long)limit);
	*addr = ALIGN_DOWN(limit - in->initrd_size, PAGE_SIZE);
	if (gmem_write(m, *addr, in->initrd, in->initrd_size))
		return boot_err(err, errlen, "initrd: cannot write guest memory at %#llx",
				(unsigned long long)*addr);
	return 0;
}

struct load_args {
	struct guest_mem *m;
	const struct x86_boot_in *in;
	struct x86_boot_out *out;
	char *err;
	size_t errlen;
};

static int load(void *opaque)
{
	const struct load_args *a = opaque;
	struct guest_mem *m = a->m;
	const struct x86_boot_in *in = a->in;
	struct x86_boot_out *out = a->out;
	char *err = a->err;
	size_t errlen = a->errlen;
	struct boot_params bp = {0}; /* for the analyzer: boot_err is variadic */
	struct setup_header *h = &bp.hdr;
	uint64_t low_end = x86_low_ram_end(m);
	uint64_t setup_size, pm_size, need, load, run, initrd = 0;
	uint64_t pref = 0, cmdmax;
	size_t cmdlen;

	if (read_header(in, &bp, err, errlen))
		return -1;

	setup_size =
		((uint64_t)(h->setup_sects ? h->setup_sects : BZ_DEFAULT_SETUP_SECTS) + 1) * 512;
	if (setup_size >= in->kernel_size)
		return boot_err(
			err, errlen,
			"setup code (%llu bytes) runs to or past the end of the %zu-byte image",
			(unsigned long long)setup_size, in->kernel_size);
	pm_size = in->kernel_size - setup_size;

	cmdlen = in->cmdline ? strlen(in->cmdline) : 0;
	cmdmax = h->cmdline_size < X86_CMDLINE_MAX - 1 ? h->cmdline_size : X86_CMDLINE_MAX - 1;
	if (cmdlen > cmdmax)
		return boot_err(err, errlen,
				"command line is %zu bytes, the kernel takes at most %llu", cmdlen,
				(unsigned long long)cmdmax);
	if (in->ne820 == 0 || in->ne820 > E820_MAX_ENTRIES_ZEROPAGE)
		return boot_err(err, errlen, "e820 map has %u entries (1..%d supported)", in->ne820,
				E820_MAX_ENTRIES_ZEROPAGE);

	/*
	 * Memory the kernel needs from where it runs: init_size (2.10+) covers
	 * decompression and bss; it can be no less than the image itself.
	 */
	need = pm_size;
	if (h->version >= PROTO(2, 10)) {
		pref = h->pref_address;
		if (h->init_size > need)
			need = h->init_size;
	}
	if (h->relocatable_kernel && pref >= X86_HIMEM_START && pref <= low_end &&
	    need <= low_end - pref)
		load = pref;
	else
		load = X86_HIMEM_START;
	/*
	 * A kernel loaded below its preferred address still decompresses
	 * there (LOAD_PHYSICAL_ADDR): check the footprint where it will run.
	 */
	run = pref > load ? pref : load;
	if (run > low_end || need > low_end - run)
		return boot_err(err, errlen,
				"kernel needs %#llx bytes at %#llx but guest low RAM ends at %#llx",
				(unsigned long long)need, (unsigned long long)run,
				(unsigned long long)low_end);
	if (gmem_write(m, load, in->kernel + setup_size, pm_size))
		return boot_err(err, errlen, "cannot write the kernel to guest memory at %#llx",
				(unsigned long long)load);

	if (in->initrd && place_initrd(m, in, h, run + need, low_end, &initrd, err, errlen))
		return -1;
	if (gmem_write(m, X86_CMDLINE_ADDR, cmdlen ? in->cmdline : "", cmdlen + 1))
		return boot_err(err, errlen, "cannot write the command line to guest memory");

	/*
	 * Fields the loader owns, whatever the image held there: setup_data
	 * is a pointer the kernel would follow, the subarch selects a platform.
	 */
	h->setup_data = 0;
	h->hardware_subarch = 0; /* X86_SUBARCH_PC */
	h->hardware_subarch_data = 0;
	h->ext_loader_ver = 0;
	h->ext_loader_type = 0;
	h->ramdisk_image = 0;
	h->ramdisk_size = 0;
	h->type_of_loader = BZ_TYPE_OF_LOADER;
	/*
	 * KEEP_SEGMENTS only matters to the 32-bit entry, which we do not use
	 * (and Linux 6.x ignores it): leave it clear.
	 */
	h->loadflags |= CAN_USE_HEAP;
	h->heap_end_ptr = BZ_HEAP_END_PTR;
	h->cmd_line_ptr = (uint32_t)X86_CMDLINE_ADDR;
	if (in->initrd) {
		h->ramdisk_image = (uint32_t)initrd;
		h->ramdisk_size = (uint32_t)in->initrd_size;
		bp.ext_ramdisk_image = (uint32_t)(initrd >> 32);
		bp.ext_ramdisk_size = (uint32_t)((uint64_t)in->initrd_size >> 32);
	}
	if (h->version >= PROTO(2, 14))
		bp.acpi_rsdp_addr = in->rsdp_gpa;
	bp.e820_entries = (uint8_t)in->ne820;
	for (unsigned int i = 0; i < in->ne820; i++) {
		bp.e820_table[i].addr = in->e820[i].addr;
		bp.e820_table[i].size = in->e820[i].size;
		bp.e820_table[i].type = in->e820[i].type;
	}
	if (gmem_write(m, X86_ZERO_PAGE_ADDR, &bp, sizeof(bp)))
		return boot_err(err, errlen, "cannot write the zero page to guest memory");

	*out = (struct x86_boot_out){
		.mode = X86_ENTRY_LINUX64,
		.entry = load + BZ_ENTRY64_OFF,
		.boot_param = X86_ZERO_PAGE_ADDR,
		.kernel_start = load,
		.kernel_end = run + need,
		.initrd_start = initrd,
	};
	return 0;
}

/* The header is copied into the zero page once and only that copy is used. */
int bzimage_load(struct guest_mem *m, const struct x86_boot_in *in, struct x86_boot_out *out,
		 char *err, size_t errlen)
{
	struct load_args a = { .m = m, .in = in, .out = out, .err = err, .errlen = errlen };

	return boot_guarded(load, &a, err, errlen);
}
