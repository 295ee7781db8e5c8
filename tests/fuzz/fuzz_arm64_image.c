// SPDX-License-Identifier: MIT
/*
 * fuzz_arm64_image.c - the arm64 Image / Image.gz loader (boot/arm64_image.c,
 * #included here because the x86 core the fuzz library is built from does
 * not contain it; linked with zlib): header checks, gunzip, placement of
 * kernel, initrd and DTB slot.
 *
 * Input: one byte choosing the guest (bits 0-2: RAM of 2 MiB * (1 + n) at
 * 1 GiB; bit 3: an initrd; bit 4: a RAM base that is not 2 MiB aligned),
 * then the kernel image (Image, or Image.gz when it starts with the gzip
 * magic).  Checked: a loader that accepts placed the kernel, initrd and DTB
 * slot inside RAM, apart and as booting.rst wants them aligned, and the DTB
 * then fits; one that refuses says why.
 */
#include "boot/arm64_image.c" // NOLINT(bugprone-suspicious-include): not in the x86 core
#include "tests/fuzz/fuzz.h"

#define RAM_BASE 0x40000000ULL
#define NSIZES	 8

static struct guest_mem mem[NSIZES];
static uint8_t initrd[4096 + 17];
static uint8_t dtb[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	for (unsigned int i = 0; i < NSIZES; i++) {
		struct mem_region r = {.gpa = RAM_BASE, .size = MiB(2) * (i + 1)};

		FUZZ_CHECK(gmem_init(&mem[i], r.size, &r, 1) == 0);
	}
	memset(initrd, 0x5a, sizeof(initrd));
	memset(dtb, 0xd0, sizeof(dtb));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uint8_t sel = fz_u8(&in);
	struct guest_mem *m = &mem[sel % NSIZES];
	/* A private copy: the loader may read exactly [img, img + size), no more. */
	uint8_t *img = malloc(in.left ? in.left : 1);
	struct arm64_boot_in bi = {
		.kernel = img,
		.kernel_size = in.left,
		.initrd = sel & 8 ? initrd : NULL,
		.initrd_size = sel & 8 ? sizeof(initrd) : 0,
		.ram_base = RAM_BASE + (sel & 16 ? KiB(4) : 0),
		.ram_size = m->size,
	};
	uint64_t ram_end = RAM_BASE + m->size;
	struct arm64_boot_out out;
	char err[256];

	FUZZ_CHECK(img);
	memcpy(img, in.p, in.left);
	err[0] = 0;
	if (arm64_image_load(m, &bi, &out, err, sizeof(err)) == 0) {
		FUZZ_CHECK(!(sel & 16));
		FUZZ_CHECK(out.entry == out.kernel_start);
		FUZZ_CHECK(out.kernel_start >= RAM_BASE && out.kernel_start % KiB(4) == 0);
		FUZZ_CHECK(out.kernel_start < out.kernel_end && out.kernel_end <= ram_end);
		FUZZ_CHECK(out.info.image_size == out.kernel_end - out.kernel_start);
		if (sel & 8) {
			FUZZ_CHECK(out.initrd_start >= out.kernel_end);
			FUZZ_CHECK(out.initrd_end - out.initrd_start == sizeof(initrd));
			FUZZ_CHECK(out.initrd_end <= ram_end);
			FUZZ_CHECK(out.dtb_addr >= out.initrd_end);
		} else {
			FUZZ_CHECK(out.initrd_start == 0 && out.initrd_end == 0);
			FUZZ_CHECK(out.dtb_addr >= out.kernel_end);
		}
		FUZZ_CHECK(out.dtb_addr % ARM64_IMAGE_ALIGN == 0);
		FUZZ_CHECK(out.dtb_addr + ARM64_DTB_MAX <= ram_end);
		FUZZ_CHECK(arm64_place_dtb(m, &out, dtb, sizeof(dtb), err, sizeof(err)) == 0);
		FUZZ_CHECK(arm64_image_is_gzip(img, bi.kernel_size) == out.was_gzip);
	} else {
		FUZZ_CHECK(memchr(err, 0, sizeof(err)) && err[0]);
	}
	free(img);
	return 0;
}
