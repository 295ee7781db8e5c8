// SPDX-License-Identifier: MIT
/*
 * arm64_image.c - load an arm64 Linux Image (or Image.gz) per
 * Documentation/arch/arm64/booting.rst.
 *
 * Header (64 bytes, little-endian):
 *   0x00 code0, 0x04 code1, 0x08 text_offset, 0x10 image_size, 0x18 flags,
 *   0x20..0x37 reserved, 0x38 magic "ARM\x64", 0x3c PE header offset.
 *
 * Placement in guest RAM (one region at ram_base, 2 MiB aligned):
 *   ram_base + text_offset   the Image; it runs from its first byte, and
 *                            image_size bytes (bss included) are its own
 *   next 2 MiB boundary      the initrd
 *   next 2 MiB boundary      a 2 MiB region for the DTB alone (booting.rst:
 *                            the DTB is mapped with 2 MiB blocks, so nothing
 *                            needing other attributes may share them)
 * Flags bit 3 clear asks for the kernel "as close as possible to the base
 * of DRAM": ram_base is exactly that.  Big-endian Images are refused (ktvm
 * runs little-endian guests only); the page size is logged, KVM decides.
 */
#include <string.h>
#include <zlib.h>

#include "boot/arm64_image.h"
#include "boot/boot.h"

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int arm64_image_parse(const uint8_t *img, size_t size, struct arm64_image_info *info, char *err,
		      size_t errlen)
{
	static const unsigned int page_kb[] = {0, 4, 16, 64};
	uint64_t flags;

	if (!img || size < ARM64_IMAGE_HDR_SIZE)
		return boot_err(err, errlen, "%zu bytes: too short for an arm64 Image header",
				size);
	if (le32(img + 0x38) != ARM64_IMAGE_MAGIC)
		return boot_err(err, errlen, "no arm64 Image magic (\"ARM\\x64\" at offset 0x38)");
	info->text_offset = le64(img + 0x08);
	info->image_size = le64(img + 0x10);
	info->flags = flags = le64(img + 0x18);
	info->page_kb = page_kb[(flags & ARM64_FLAG_PAGE_MASK) >> ARM64_FLAG_PAGE_SHIFT];
	if (info->image_size == 0)
		return boot_err(
			err, errlen,
			"image_size is 0: a kernel older than 3.17, which ktvm does not boot");
	if (flags & ARM64_FLAG_BE)
		return boot_err(err, errlen,
				"big-endian Image: ktvm runs little-endian guests only");
	if (flags >> 4)
		return boot_err(err, errlen, "unknown header flags 0x%llx",
				(unsigned long long)flags);
	if (info->text_offset >= ARM64_IMAGE_ALIGN || info->text_offset % 4096)
		return boot_err(err, errlen,
				"text_offset 0x%llx is not a 4 KiB multiple below 2 MiB",
				(unsigned long long)info->text_offset);
	if (info->image_size < size)
		return boot_err(err, errlen, "image_size %llu is smaller than the file (%zu bytes)",
				(unsigned long long)info->image_size, size);
	if (info->image_size > ARM64_IMAGE_MAX)
		return boot_err(err, errlen, "image_size %llu is more than %llu MiB",
				(unsigned long long)info->image_size,
				(unsigned long long)(ARM64_IMAGE_MAX >> 20));
	return 0;
}

bool arm64_image_is_gzip(const uint8_t *img, size_t size)
{
	return img && size >= 2 && img[0] == 0x1f && img[1] == 0x8b;
}

int arm64_gunzip(const uint8_t *in, size_t in_size, size_t limit, uint8_t **out, size_t *out_size,
		 char *err, size_t errlen)
{
	z_stream zs;
	size_t cap = in_size * 4 > limit ? limit : in_size * 4;
	uint8_t *buf;
	int r;

	*out = NULL;
	*out_size = 0;
	if (cap < 4096)
		cap = limit < 4096 ? limit : 4096;
	buf = malloc(cap);
	if (!buf)
		return boot_err(err, errlen, "out of memory");
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) { /* gzip wrapper only */
		free(buf);
		return boot_err(err, errlen, "zlib: cannot initialise");
	}
	zs.next_in = (Bytef *)(uintptr_t)in;
	for (;;) {
		/* zlib's counters are 32-bit: feed at most 1 GiB at a time. */
		size_t left_in = in_size - (size_t)((const uint8_t *)zs.next_in - in);

		zs.avail_in = left_in > GiB(1) ? (uInt)GiB(1) : (uInt)left_in;
		if (zs.total_out >= cap) {
			uint8_t *nb;

			if (cap >= limit) {
				r = Z_BUF_ERROR;
				break;
			}
			cap = cap * 2 > limit ? limit : cap * 2;
			nb = realloc(buf, cap);
			if (!nb) {
				r = Z_MEM_ERROR;
				break;
			}
			buf = nb;
		}
		zs.next_out = buf + zs.total_out;
		zs.avail_out = (uInt)(cap - zs.total_out > GiB(1) ? GiB(1) : cap - zs.total_out);
		r = inflate(&zs, Z_NO_FLUSH);
		if (r == Z_STREAM_END)
			break;
		if (r != Z_OK && !(r == Z_BUF_ERROR && zs.avail_out == 0))
			break;
		if (r == Z_BUF_ERROR && zs.avail_in == 0 && zs.avail_out != 0)
			break; /* truncated input */
	}
	*out_size = zs.total_out;
	inflateEnd(&zs);
	if (r != Z_STREAM_END) {
		free(buf);
		*out_size = 0;
		if (r == Z_BUF_ERROR && cap >= limit)
			return boot_err(err, errlen, "gzip: decompresses to more than %zu bytes",
					limit);
		if (r == Z_BUF_ERROR)
			return boot_err(err, errlen, "gzip: truncated stream");
		return boot_err(err, errlen, "gzip: corrupt stream (zlib error %d)", r);
	}
	*out = buf;
	return 0;
}

struct load_args {
	struct guest_mem *m;
	const struct arm64_boot_in *in;
	struct arm64_boot_out *out;
	char *err;
	size_t errlen;
	uint8_t *unzipped;
};

static int load(void *opaque)
{
	struct load_args *a = opaque;
	struct guest_mem *m = a->m;
	const struct arm64_boot_in *in = a->in;
	struct arm64_boot_out *out = a->out;
	char *err = a->err;
	size_t errlen = a->errlen;
	const uint8_t *img = in->kernel;
	size_t size = in->kernel_size;
	uint8_t *unzipped = NULL, *kdst;
	uint64_t ram_end = in->ram_base + in->ram_size, next;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (in->ram_base % ARM64_IMAGE_ALIGN || in->ram_size == 0 || ram_end < in->ram_base)
		return boot_err(err, errlen, "RAM at 0x%llx is not 2 MiB aligned",
				(unsigned long long)in->ram_base);
	if (arm64_image_is_gzip(img, size)) {
		if (arm64_gunzip(img, size, ARM64_IMAGE_MAX, &unzipped, &size, err, errlen) ||
		    !unzipped) /* (never: for the analyzer, which cannot see boot_err()) */
			return -1;
		a->unzipped = unzipped; /* freed by the caller even after a SIGBUS */
		img = unzipped;
		out->was_gzip = true;
	}
	if (arm64_image_parse(img, size, &out->info, err, errlen))
		goto done;
	out->entry = out->kernel_start = in->ram_base + out->info.text_offset;
	out->kernel_end = out->kernel_start + out->info.image_size;
	if (out->kernel_end > ram_end) {
		boot_err(err, errlen, "the kernel needs %llu MiB, more than the guest's RAM",
			 (unsigned long long)((out->info.image_size + MiB(1) - 1) >> 20));
		goto done;
	}
	/*
	 * The whole image_size is the kernel's: copy the file, zero the rest (bss;
	 * image_size >= size, checked by the parser).  One pointer for the whole
	 * range: the bss may be empty and end exactly at the end of RAM.
	 */
	kdst = gmem_ptr(m, out->kernel_start, out->info.image_size);
	if (!kdst) {
		boot_err(err, errlen, "cannot place the kernel at 0x%llx",
			 (unsigned long long)out->kernel_start);
		goto done;
	}
	memcpy(kdst, img, size);
	memset(kdst + size, 0, out->info.image_size - size);

	next = ALIGN_UP(out->kernel_end, ARM64_IMAGE_ALIGN);
	if (in->initrd) {
		uint64_t window_end = ALIGN_DOWN(out->kernel_start, GiB(1)) + ARM64_INITRD_WINDOW;

		if (in->initrd_size > ram_end - next ||
		    in->initrd_size > ram_end - next - ARM64_DTB_MAX ||
		    next + in->initrd_size > window_end) {
			boot_err(err, errlen,
				 "the initrd (%zu bytes) does not fit in RAM after the kernel",
				 in->initrd_size);
			goto done;
		}
		if (gmem_write(m, next, in->initrd, in->initrd_size)) {
			boot_err(err, errlen, "cannot place the initrd at 0x%llx",
				 (unsigned long long)next);
			goto done;
		}
		out->initrd_start = next;
		out->initrd_end = next + in->initrd_size;
		next = ALIGN_UP(out->initrd_end, ARM64_IMAGE_ALIGN);
	}
	if (next > ram_end || ram_end - next < ARM64_DTB_MAX ||
	    next + ARM64_DTB_MAX > in->ram_base + ARM64_DTB_WINDOW) {
		boot_err(err, errlen, "no room for the device tree after the kernel%s",
			 in->initrd ? " and initrd" : "");
		goto done;
	}
	out->dtb_addr = next;
	ret = 0;
done:
	return ret;
}

/* The header is parsed once (into out->info) and only that copy is used. */
int arm64_image_load(struct guest_mem *m, const struct arm64_boot_in *in,
		     struct arm64_boot_out *out, char *err, size_t errlen)
{
	struct load_args a = { .m = m, .in = in, .out = out, .err = err, .errlen = errlen };
	int r = boot_guarded(load, &a, err, errlen);

	free(a.unzipped);
	return r;
}

int arm64_place_dtb(struct guest_mem *m, const struct arm64_boot_out *out, const void *dtb,
		    size_t size, char *err, size_t errlen)
{
	if (size > ARM64_DTB_MAX)
		return boot_err(err, errlen, "device tree of %zu bytes: more than 2 MiB", size);
	if (out->dtb_addr % 8 || gmem_write(m, out->dtb_addr, dtb, size))
		return boot_err(err, errlen, "cannot place the device tree at 0x%llx",
				(unsigned long long)out->dtb_addr);
	return 0;
}
