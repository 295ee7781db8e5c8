// SPDX-License-Identifier: MIT
/*
 * fuzz_boot.c - the kernel image loaders (boot/): the input is a kernel
 * image; the format detector picks bzImage or PVH ELF as ktvm does, and
 * the loader places it, a small initrd and the command line in guest RAM.
 * Checked: a loader that accepts put its boot parameters inside guest RAM;
 * one that refuses says why.
 */
#include "arch/x86_64/layout.h"
#include "arch/x86_64/memmap.h"
#include "boot/boot.h"
#include "tests/fuzz/fuzz.h"

#define GUEST_MEM MiB(128)

static struct guest_mem mem;
static struct e820_ent e820[E820_MAX];
static unsigned int ne820;
static uint8_t initrd[4096 + 17];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct mem_region r[GUEST_MEM_MAX_REGIONS];
	unsigned int n = arch_mem_layout(GUEST_MEM, r, ARRAY_SIZE(r));

	FUZZ_CHECK(gmem_init(&mem, GUEST_MEM, r, n) == 0);
	ne820 = x86_build_e820(&mem, e820, ARRAY_SIZE(e820));
	memset(initrd, 0x5a, sizeof(initrd));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy: the loader may read exactly [img, img + size), no more. */
	uint8_t *img = malloc(size ? size : 1);
	struct x86_boot_in in = {
		.kernel = img,
		.kernel_size = size,
		.initrd = initrd,
		.initrd_size = size & 1 ? sizeof(initrd) : 0,
		.cmdline = "console=ttyS0 quiet",
		.e820 = e820,
		.ne820 = ne820,
		.rsdp_gpa = 0xe0000,
	};
	struct x86_boot_out out;
	char err[256];
	int r = -1;

	FUZZ_CHECK(img);
	memcpy(img, data, size);
	switch (boot_detect_format(img, size)) {
	case KERNEL_BZIMAGE:
		r = bzimage_load(&mem, &in, &out, err, sizeof(err));
		break;
	case KERNEL_ELF_PVH:
	case KERNEL_ELF_NOPVH:
		r = pvh_load(&mem, &in, &out, err, sizeof(err));
		break;
	default:
		break;
	}
	if (r == 0) {
		FUZZ_CHECK(out.kernel_start <= out.kernel_end);
		FUZZ_CHECK(gmem_ptr(&mem, out.boot_param, 1));
	} else {
		FUZZ_CHECK(memchr(err, 0, sizeof(err)));
	}
	free(img);
	return 0;
}
