/* SPDX-License-Identifier: MIT */
/*
 * boot.h - kernel image loaders.  A loader validates an image held in host
 * memory, places it (and the initrd and command line) in guest memory
 * through the checked accessor, and says how the boot CPU must start.
 */
#ifndef KTVM_BOOT_H
#define KTVM_BOOT_H

#include "../vmm/ktvm.h"

enum kernel_format {
	KERNEL_UNKNOWN = 0,
	KERNEL_BZIMAGE,	  /* Linux x86 boot protocol (setup header "HdrS") */
	KERNEL_ELF_PVH,	  /* x86_64 ELF vmlinux with XEN_ELFNOTE_PHYS32_ENTRY */
	KERNEL_ELF_NOPVH, /* an ELF without the PVH note: rejected with a clear reason */
	KERNEL_ARM64_IMAGE,
};

enum kernel_format boot_detect_format(const uint8_t *img, size_t size);
const char *boot_format_name(enum kernel_format f);

/* The x86 e820 map the loaders hand to the kernel. */
#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3
struct e820_ent {
	uint64_t addr, size;
	uint32_t type;
};
#define E820_MAX 16

struct x86_boot_in {
	const uint8_t *kernel;
	size_t kernel_size;
	const uint8_t *initrd; /* NULL when none */
	size_t initrd_size;
	const char *cmdline; /* full command line, NUL-terminated */
	const struct e820_ent *e820;
	unsigned int ne820;
	uint64_t rsdp_gpa; /* ACPI RSDP, passed along where the protocol has a field */
};

enum x86_entry_mode {
	X86_ENTRY_LINUX64, /* 64-bit long mode, RSI = zero page, RIP = entry */
	X86_ENTRY_PVH32,   /* 32-bit flat protected mode, paging off, EBX = start_info */
};

struct x86_boot_out {
	enum x86_entry_mode mode;
	uint64_t entry;	     /* guest-physical RIP */
	uint64_t boot_param; /* zero page (LINUX64) or hvm_start_info (PVH32) */
	/*
	 * Where the image landed: [kernel_start, kernel_end) covers all the
	 * memory the kernel uses while it boots (bzImage: from the load address
	 * to the end of init_size at the address it runs from; ELF: the PT_LOAD
	 * segments including bss).
	 */
	uint64_t kernel_start, kernel_end;
	uint64_t initrd_start; /* 0 when none */
};

/*
 * Each returns 0, or -1 with a one-line reason (no trailing newline) in err.
 * They read nothing outside [kernel, kernel + kernel_size) whatever the
 * image says, and write guest memory only through gmem_*().
 */
int bzimage_load(struct guest_mem *m, const struct x86_boot_in *in, struct x86_boot_out *out,
		 char *err, size_t errlen);
/*
 * pvh_load() takes any ELF and says precisely why one cannot boot (not
 * x86_64, no PVH note, a malformed header), so KERNEL_ELF_NOPVH images can
 * be handed to it for the error message.
 */
int pvh_load(struct guest_mem *m, const struct x86_boot_in *in, struct x86_boot_out *out,
	     char *err, size_t errlen);

/* Map a whole file read-only (max 'limit' bytes); -1 + err on failure.  Release with boot_release_file. */
int boot_read_file(const char *path, size_t limit, uint8_t **buf, size_t *size, char *err,
		   size_t errlen);
/*
 * The same, but pages are read only when touched (no MAP_POPULATE): a PVH
 * vmlinux is ~60 MB, of which the loader copies only the PT_LOAD parts.
 */
int boot_map_file(const char *path, size_t limit, uint8_t **buf, size_t *size, char *err,
		  size_t errlen);
void boot_release_file(uint8_t *buf, size_t size);

/*
 * Run fn(arg) with a SIGBUS turned into an error: the kernel or initrd
 * file was truncated after it was mapped (boot_map_file), and a page past
 * its new end was touched.  Returns fn's result, or -1 with a one-line
 * reason in err.  Main thread, during setup (one guard at a time); what fn
 * allocated before the fault is not freed (ktvm exits right after).
 */
int boot_guarded(int (*fn)(void *arg), void *arg, char *err, size_t errlen);

/* Format a loader's one-line reason into err (if any); always returns -1. */
int boot_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
