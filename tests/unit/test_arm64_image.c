// SPDX-License-Identifier: MIT
/*
 * test_arm64_image.c - the arm64 Image loader (boot/arm64_image.c): header
 * checks against synthetic and malformed images (one test each), gzip'd
 * images, placement of kernel, initrd and DTB, and Debian's real arm64 Image
 * when KTVM_TEST_ARM64_IMAGE names it (tests/e2e/arm64/prepare.sh fetches it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "boot/arm64_image.h"
#include "boot/boot.h"

#define RAM_BASE 0x40000000ULL
#define RAM_SIZE MiB(64)
#define IMG_SIZE 8192

static struct guest_mem mem;
static uint8_t img[IMG_SIZE];
static char err[256];

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A minimal valid Image: text_offset 0, image_size 64 KiB (bss after the file), 4K, anywhere. */
static void make_image(void)
{
	memset(img, 0xaa, sizeof(img));
	put64(img + 0x08, 0);
	put64(img + 0x10, KiB(64));
	put64(img + 0x18, ARM64_FLAG_PHYS_ANY | 1u << ARM64_FLAG_PAGE_SHIFT);
	memset(img + 0x20, 0, 0x18);
	memcpy(img + 0x38, "ARM\x64", 4);
}

static int setup(void **state)
{
	struct mem_region r = {.gpa = RAM_BASE, .size = RAM_SIZE};

	(void)state;
	make_image();
	err[0] = 0;
	return gmem_init(&mem, RAM_SIZE, &r, 1);
}

static int teardown(void **state)
{
	(void)state;
	gmem_destroy(&mem);
	return 0;
}

static int parse(void)
{
	struct arm64_image_info info;

	return arm64_image_parse(img, sizeof(img), &info, err, sizeof(err));
}

static int load(const uint8_t *k, size_t ksize, const uint8_t *initrd, size_t isize,
		struct arm64_boot_out *out)
{
	struct arm64_boot_in in = {.kernel = k,
				   .kernel_size = ksize,
				   .initrd = initrd,
				   .initrd_size = isize,
				   .ram_base = RAM_BASE,
				   .ram_size = RAM_SIZE};

	return arm64_image_load(&mem, &in, out, err, sizeof(err));
}

static void test_valid_placement(void **state)
{
	static uint8_t initrd[100000];
	struct arm64_boot_out out;
	uint8_t *bss;

	(void)state;
	memset(initrd, 0x5a, sizeof(initrd));
	/* Dirty the bss area first: the loader must zero it. */
	memset(gmem_ptr(&mem, RAM_BASE, KiB(64)), 0xff, KiB(64));
	assert_int_equal(load(img, sizeof(img), initrd, sizeof(initrd), &out), 0);
	assert_int_equal(out.entry, RAM_BASE);
	assert_int_equal(out.kernel_end, RAM_BASE + KiB(64));
	assert_memory_equal(gmem_ptr(&mem, RAM_BASE, IMG_SIZE), img, IMG_SIZE);
	bss = gmem_ptr(&mem, RAM_BASE + IMG_SIZE, KiB(64) - IMG_SIZE);
	for (size_t i = 0; i < KiB(64) - IMG_SIZE; i++)
		assert_int_equal(bss[i], 0);
	assert_int_equal(out.initrd_start, RAM_BASE + MiB(2));
	assert_int_equal(out.initrd_end, out.initrd_start + sizeof(initrd));
	assert_memory_equal(gmem_ptr(&mem, out.initrd_start, sizeof(initrd)), initrd,
			    sizeof(initrd));
	assert_int_equal(out.dtb_addr, RAM_BASE + MiB(4));
	assert_int_equal(out.dtb_addr % MiB(2), 0);
	assert_int_equal(arm64_place_dtb(&mem, &out, "dtb!", 4, err, sizeof(err)), 0);
	assert_memory_equal(gmem_ptr(&mem, out.dtb_addr, 4), "dtb!", 4);
	assert_false(out.was_gzip);
}

static void test_text_offset(void **state)
{
	struct arm64_boot_out out;

	(void)state;
	put64(img + 0x08, 0x80000);
	assert_int_equal(load(img, sizeof(img), NULL, 0, &out), 0);
	assert_int_equal(out.entry, RAM_BASE + 0x80000);
	assert_int_equal(out.initrd_start, 0);
	assert_int_equal(out.dtb_addr, RAM_BASE + MiB(2));
}

static void test_gzip(void **state)
{
	uLongf zlen = compressBound(IMG_SIZE) + 64;
	uint8_t *z = malloc(zlen);
	struct arm64_boot_out out;
	z_stream zs = {0};

	(void)state;
	assert_non_null(z);
	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
			 Z_OK);
	zs.next_in = img;
	zs.avail_in = IMG_SIZE;
	zs.next_out = z;
	zs.avail_out = (uInt)zlen;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	zlen = zs.total_out;
	deflateEnd(&zs);
	assert_true(arm64_image_is_gzip(z, zlen));
	assert_int_equal(load(z, zlen, NULL, 0, &out), 0);
	assert_true(out.was_gzip);
	assert_memory_equal(gmem_ptr(&mem, RAM_BASE, IMG_SIZE), img, IMG_SIZE);
	/* Truncated stream */
	assert_int_equal(load(z, zlen / 2, NULL, 0, &out), -1);
	assert_non_null(strstr(err, "truncated"));
	/* Corrupt stream */
	memset(z + 10, 0xff, 16);
	assert_int_equal(load(z, zlen, NULL, 0, &out), -1);
	assert_non_null(strstr(err, "gzip"));
	free(z);
}

static void test_bad_too_short(void **state)
{
	struct arm64_image_info info;

	(void)state;
	assert_int_equal(arm64_image_parse(img, 63, &info, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too short"));
}

static void test_bad_magic(void **state)
{
	(void)state;
	img[0x3b] = 0x65;
	assert_int_equal(parse(), -1);
	assert_non_null(strstr(err, "magic"));
}

static void test_bad_big_endian(void **state)
{
	(void)state;
	put64(img + 0x18, ARM64_FLAG_BE);
	assert_int_equal(parse(), -1);
	assert_non_null(strstr(err, "big-endian"));
}

static void test_bad_image_size_zero(void **state)
{
	(void)state;
	put64(img + 0x10, 0);
	assert_int_equal(parse(), -1);
	assert_non_null(strstr(err, "3.17"));
}

static void test_bad_image_size_small(void **state)
{
	(void)state;
	put64(img + 0x10, IMG_SIZE - 1);
	assert_int_equal(parse(), -1);
	assert_non_null(strstr(err, "smaller than the file"));
}

static void test_bad_image_size_huge(void **state)
{
	(void)state;
	put64(img + 0x10, UINT64_MAX);
	assert_int_equal(parse(), -1);
}

static void test_bad_text_offset_unaligned(void **state)
{
	(void)state;
	put64(img + 0x08, 0x80001);
	assert_int_equal(parse(), -1);
	assert_non_null(strstr(err, "text_offset"));
}

static void test_bad_text_offset_large(void **state)
{
	(void)state;
	put64(img + 0x08, MiB(2));
	assert_int_equal(parse(), -1);
}

static void test_bad_flags(void **state)
{
	(void)state;
	put64(img + 0x18, 1u << 4);
	assert_int_equal(parse(), -1);
	assert_non_null(strstr(err, "flags"));
}

static void test_bad_kernel_larger_than_ram(void **state)
{
	struct arm64_boot_out out;

	(void)state;
	put64(img + 0x10, RAM_SIZE + 4096);
	assert_int_equal(load(img, sizeof(img), NULL, 0, &out), -1);
	assert_non_null(strstr(err, "RAM"));
}

static void test_bad_initrd_too_big(void **state)
{
	struct arm64_boot_out out;
	size_t n = RAM_SIZE - MiB(3);
	uint8_t *big = calloc(1, n);

	(void)state;
	assert_non_null(big);
	/* Kernel 2 MiB + initrd + a 2 MiB DTB slot > 64 MiB */
	assert_int_equal(load(img, sizeof(img), big, n, &out), -1);
	assert_non_null(strstr(err, "initrd"));
	free(big);
}

static void test_bad_no_room_for_dtb(void **state)
{
	struct arm64_boot_out out;

	(void)state;
	put64(img + 0x10, RAM_SIZE - MiB(1));
	assert_int_equal(load(img, sizeof(img), NULL, 0, &out), -1);
	assert_non_null(strstr(err, "device tree"));
}

/*
 * Bug (found writing the arm64_image fuzz target, reproduced with it; seed
 * tests/fuzz/corpus/arm64_image/fills-ram-gz): a kernel with no bss
 * (image_size == file size) ending exactly at the end of RAM made the loader
 * memset(NULL, 0, 0) - gmem_ptr() of the empty range past RAM - undefined
 * behaviour that UBSan reports.  It must fail cleanly: no room for the DTB.
 */
static void test_image_ends_at_ram_end_no_bss(void **state)
{
	struct arm64_boot_out out;
	uint8_t *big = calloc(1, RAM_SIZE);

	(void)state;
	assert_non_null(big);
	memcpy(big, img, ARM64_IMAGE_HDR_SIZE);
	put64(big + 0x10, RAM_SIZE);
	assert_int_equal(load(big, RAM_SIZE, NULL, 0, &out), -1);
	assert_non_null(strstr(err, "device tree"));
	/* Mid-RAM, without bss: loads, nothing zeroed past the file. */
	put64(big + 0x10, MiB(4));
	assert_int_equal(load(big, MiB(4), NULL, 0, &out), 0);
	assert_int_equal(out.kernel_end, RAM_BASE + MiB(4));
	free(big);
}

static void test_bad_dtb_too_big(void **state)
{
	struct arm64_boot_out out;

	(void)state;
	assert_int_equal(load(img, sizeof(img), NULL, 0, &out), 0);
	assert_int_equal(arm64_place_dtb(&mem, &out, img, MiB(2) + 1, err, sizeof(err)), -1);
}

/* Write buf to a file, map it (boot_read_file, as ktvm), then cut the file to 'keep' bytes. */
static uint8_t *map_then_shrink(const uint8_t *buf, size_t size, size_t keep, char *path)
{
	uint8_t *map;
	size_t msize;
	int fd;

	strcpy(path, "/tmp/ktvm-shrink-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	if (boot_read_file(path, size, &map, &msize, err, sizeof(err)))
		fail_msg("boot_read_file: %s", err);
	assert_int_equal(ftruncate(fd, (off_t)keep), 0);
	close(fd);
	return map;
}

/* An Image or initrd file cut while it is loaded: an error, not a SIGBUS. */
static void test_file_shrinks(void **state)
{
	struct arm64_boot_out out;
	char path[32], ipath[32];
	uint8_t initrd[8192];
	uint8_t *map, *imap;

	(void)state;
	map = map_then_shrink(img, sizeof(img), 4096, path);
	assert_int_equal(load(map, sizeof(img), NULL, 0, &out), -1);
	assert_non_null(strstr(err, "shrank while it was being loaded"));
	boot_release_file(map, sizeof(img));
	unlink(path);

	memset(initrd, 0x5a, sizeof(initrd));
	imap = map_then_shrink(initrd, sizeof(initrd), 0, ipath);
	err[0] = 0;
	assert_int_equal(load(img, sizeof(img), imap, sizeof(initrd), &out), -1);
	assert_non_null(strstr(err, "shrank while it was being loaded"));
	boot_release_file(imap, sizeof(initrd));
	unlink(ipath);
	/* And the loader works again afterwards. */
	assert_int_equal(load(img, sizeof(img), NULL, 0, &out), 0);
}

static void test_real_image(void **state)
{
	const char *path = getenv("KTVM_TEST_ARM64_IMAGE");
	struct arm64_image_info info;
	struct arm64_boot_out out;
	uint8_t *k;
	size_t n;

	(void)state;
	if (!path || !*path)
		skip();
	assert_int_equal(boot_read_file(path, ARM64_IMAGE_MAX, &k, &n, err, sizeof(err)), 0);
	assert_int_equal(boot_detect_format(k, n), KERNEL_ARM64_IMAGE);
	assert_int_equal(arm64_image_parse(k, n, &info, err, sizeof(err)), 0);
	assert_int_equal(info.page_kb, 4);
	assert_true(info.flags & ARM64_FLAG_PHYS_ANY);
	assert_true(info.image_size >= n);
	gmem_destroy(&mem);
	{
		struct mem_region r = {.gpa = RAM_BASE, .size = MiB(256)};
		struct arm64_boot_in in = {
			.kernel = k, .kernel_size = n, .ram_base = RAM_BASE, .ram_size = MiB(256)};

		assert_int_equal(gmem_init(&mem, MiB(256), &r, 1), 0);
		assert_int_equal(arm64_image_load(&mem, &in, &out, err, sizeof(err)), 0);
	}
	assert_int_equal(out.entry, RAM_BASE + info.text_offset);
	assert_true(out.dtb_addr >= out.kernel_end);
	assert_memory_equal(gmem_ptr(&mem, out.entry, 4096), k, 4096);
	boot_release_file(k, n);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_valid_placement),
		T(test_text_offset),
		T(test_gzip),
		T(test_file_shrinks),
		T(test_bad_too_short),
		T(test_bad_magic),
		T(test_bad_big_endian),
		T(test_bad_image_size_zero),
		T(test_bad_image_size_small),
		T(test_bad_image_size_huge),
		T(test_bad_text_offset_unaligned),
		T(test_bad_text_offset_large),
		T(test_bad_flags),
		T(test_bad_kernel_larger_than_ram),
		T(test_bad_initrd_too_big),
		T(test_bad_no_room_for_dtb),
		T(test_bad_dtb_too_big),
		T(test_image_ends_at_ram_end_no_bss),
		T(test_real_image),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
