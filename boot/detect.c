// SPDX-License-Identifier: MIT
/*
 * detect.c - tell kernel image formats apart by their magic numbers, and read
 * image files into memory.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/pvh.h"

/* Offsets in the first sector of a Linux x86 boot image (boot protocol). */
#define BZ_BOOT_FLAG_OFF 0x1fe /* 0xAA55 */
#define BZ_MAGIC_OFF	 0x202 /* "HdrS" */
/* The arm64 Image header (Documentation/arm64/booting.rst) */
#define ARM64_MAGIC_OFF 0x38

int boot_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/*
 * The files are mapped, not read (see map_file): a file truncated while
 * ktvm loads it raises SIGBUS on the first page past its new end.  That is
 * the user's file, not the guest's, but it still deserves one clear line
 * and status 2 rather than a crash; hence a SIGBUS handler and a
 * sigsetjmp around each phase that reads a mapping.  (Reading the files
 * instead would cost a staging copy of a ~60 MB vmlinux; checking st_size
 * before and after cannot catch a truncation during the copy.)
 */
static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_armed;

static void bus_handler(int sig)
{
	if (bus_armed) {
		bus_armed = 0;
		siglongjmp(bus_jmp, 1);
	}
	signal(sig, SIG_DFL); /* not ours: die of it, as without the guard */
	raise(sig);
}

int boot_guarded(int (*fn)(void *arg), void *arg, char *err, size_t errlen)
{
	struct sigaction sa, old;
	volatile int r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bus_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &old) < 0)
		return fn(arg);
	if (sigsetjmp(bus_jmp, 1)) {
		sigaction(SIGBUS, &old, NULL);
		return boot_err(err, errlen,
				"a kernel or initrd file shrank while it was being loaded (SIGBUS "
				"reading it); they must not change while ktvm starts");
	}
	bus_armed = 1;
	r = fn(arg);
	bus_armed = 0;
	sigaction(SIGBUS, &old, NULL);
	return r;
}

struct detect_args {
	const uint8_t *img;
	size_t size;
	enum kernel_format fmt;
};

static int detect(void *opaque)
{
	struct detect_args *a = opaque;
	const uint8_t *img = a->img;
	size_t size = a->size;
	uint32_t entry;

	a->fmt = KERNEL_UNKNOWN;
	if (size >= BZ_MAGIC_OFF + 4 && img[BZ_BOOT_FLAG_OFF] == 0x55 &&
	    img[BZ_BOOT_FLAG_OFF + 1] == 0xaa && memcmp(img + BZ_MAGIC_OFF, "HdrS", 4) == 0)
		a->fmt = KERNEL_BZIMAGE;
	else if (size >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0)
		/* Any ELF without a usable PVH entry: pvh_load() says exactly why. */
		a->fmt = pvh_find_entry(img, size, &entry, NULL, 0) ? KERNEL_ELF_NOPVH
								    : KERNEL_ELF_PVH;
	else if (size >= ARM64_MAGIC_OFF + 4 && memcmp(img + ARM64_MAGIC_OFF, "ARM\x64", 4) == 0)
		a->fmt = KERNEL_ARM64_IMAGE;
	return 0;
}

/* A file that shrinks under the detection reads as no kernel at all. */
enum kernel_format boot_detect_format(const uint8_t *img, size_t size)
{
	struct detect_args a = { .img = img, .size = size, .fmt = KERNEL_UNKNOWN };

	if (!img || boot_guarded(detect, &a, NULL, 0))
		return KERNEL_UNKNOWN;
	return a.fmt;
}

const char *boot_format_name(enum kernel_format f)
{
	switch (f) {
	case KERNEL_BZIMAGE:
		return "bzImage";
	case KERNEL_ELF_PVH:
		return "ELF vmlinux (PVH)";
	case KERNEL_ELF_NOPVH:
		return "ELF without PVH entry";
	case KERNEL_ARM64_IMAGE:
		return "arm64 Image";
	case KERNEL_UNKNOWN:
		break;
	}
	return "unknown";
}

/*
 * The file is mapped, not read: a kernel (an uncompressed vmlinux is ~60 MB)
 * is then copied once, from the page cache into guest RAM, with no staging
 * buffer to fault in.  Measured in the nested venue: 0.74 s -> see the
 * closing note of the foundation issue.  Truncating the file while ktvm
 * starts raises SIGBUS: the loaders run under boot_guarded(), which turns
 * it into an error.
 * boot_map_file() does not populate: of a PVH vmlinux only the PT_LOAD
 * parts are read (docs/performance.md, "Boot").
 */
static int map_file(const char *path, size_t limit, bool populate, uint8_t **buf, size_t *size,
		    char *err, size_t errlen)
{
	struct stat st;
	void *p;
	size_t len;
	int fd;

	*buf = NULL;
	*size = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return boot_err(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		boot_err(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		boot_err(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if ((uint64_t)st.st_size > limit) {
		boot_err(err, errlen, "%s: %lld bytes, more than the %zu-byte limit", path,
			 (long long)st.st_size, limit);
		goto fail;
	}
	len = (size_t)st.st_size;
	if (len == 0) {
		/* mmap refuses empty files; an empty image is rejected by the loaders. */
		p = malloc(1);
	} else {
		p = mmap(NULL, len, PROT_READ, MAP_PRIVATE | (populate ? MAP_POPULATE : 0), fd, 0);
		if (p == MAP_FAILED)
			p = NULL;
	}
	if (!p) {
		boot_err(err, errlen, "%s: cannot map %zu bytes: %s", path, len, strerror(errno));
		goto fail;
	}
	close(fd);
	*buf = p;
	*size = len;
	return 0;
fail:
	close(fd);
	return -1;
}

int boot_read_file(const char *path, size_t limit, uint8_t **buf, size_t *size, char *err,
		   size_t errlen)
{
	return map_file(path, limit, true, buf, size, err, errlen);
}

int boot_map_file(const char *path, size_t limit, uint8_t **buf, size_t *size, char *err,
		  size_t errlen)
{
	return map_file(path, limit, false, buf, size, err, errlen);
}

void boot_release_file(uint8_t *buf, size_t size)
{
	if (!buf)
		return;
	if (size == 0)
		free(buf);
	else
		munmap(buf, size);
}
