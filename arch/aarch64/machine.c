// SPDX-License-Identifier: MIT
/*
 * machine.c - the aarch64 machine (see layout.h for the address map): RAM
 * at 1 GiB, the in-kernel GIC (gic.c), an ns16550a UART on the MMIO bus
 * (console=ttyS0; PL011 would need a second UART model for nothing: Debian's
 * kernel has both drivers built in), the test-exit byte, one virtio-mmio
 * window per NIC, the kernel Image (boot/arm64_image.c) and the device tree
 * (fdt.c) that describes all of it.
 *
 * NICs: virtio-mmio has no MSI-X, so per NetConfig a NIC is single-pair
 * whatever queue_pairs says (no MQ, no control queue, max_virtqueue_pairs
 * 0), with one worker thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>
#include <libfdt.h>

#include "arm64.h"
#include "boot/boot.h"
#include "devices/serial.h"
#include "devices/test_exit.h"
#include "vmm/output_file.h"

#define FDT_INITIAL_SIZE KiB(64)

const char *arch_default_cmdline(void)
{
	return "console=ttyS0";
}

unsigned int arch_mem_layout(uint64_t size, struct mem_region *out, unsigned int max)
{
	if (size == 0 || max < 1)
		return 0;
	out[0] = (struct mem_region){.gpa = ARM64_RAM_BASE, .size = size};
	return 1;
}

int arch_vm_init(struct vm *vm)
{
	struct arch_vm *a;

	a = vm->arch = calloc(1, sizeof(*vm->arch));
	if (!a)
		return -1;
	a->gic_fd = -1;
	if (ioctl(vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &a->target) < 0) {
		log_err("arm64", "KVM_ARM_PREFERRED_TARGET: %s", strerror(errno));
		return -1;
	}
	if (arm64_gic_create(vm))
		return -1;
	a->uart = serial_create(vm, &vm->mmio, ARM64_UART_BASE, ARM64_UART_SPI, vm->console);
	if (!a->uart || test_exit_create(vm, &vm->mmio, ARM64_TEST_EXIT_BASE))
		return -1;
	return vm_devices_create(vm); /* the declared device types, on virtio-mmio */
}

void arch_vm_destroy(struct vm *vm)
{
	struct arch_vm *a = vm->arch;

	/* The NICs and their windows are gone already (vm_destroy: devices first). */
	if (a->uart)
		serial_destroy(a->uart);
	if (a->gic_fd >= 0)
		close(a->gic_fd);
	free(a);
	vm->arch = NULL;
}

static char *build_cmdline(const char *user)
{
	const char *def = arch_default_cmdline();
	size_t n = strlen(def) + (user ? strlen(user) + 1 : 0) + 1;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s%s%s", def, user ? " " : "", user ? user : "");
	return s;
}

static void fill_fdt_info(struct vm *vm, struct arm64_fdt_info *fi, const char *cmdline)
{
	const struct arch_vm *a = vm->arch;

	memset(fi, 0, sizeof(*fi));
	fi->ncpus = vm->cfg->cpus;
	fi->mem_base = ARM64_RAM_BASE;
	fi->mem_size = vm->mem.size;
	fi->gic_version = a->gic_version;
	fi->bootargs = cmdline;
	fi->initrd_start = a->boot.initrd_start;
	fi->initrd_end = a->boot.initrd_end;
	/* Seeds for KASLR and the guest's CRNG; zeros if the host has none to give. */
	if (getrandom(&fi->kaslr_seed, sizeof(fi->kaslr_seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(fi->kaslr_seed))
		fi->kaslr_seed = 0;
	if (getrandom(fi->rng_seed, sizeof(fi->rng_seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(fi->rng_seed))
		memset(fi->rng_seed, 0, sizeof(fi->rng_seed));
	fi->nvirtio = a->nmmio;
	for (unsigned int i = 0; i < a->nmmio; i++)
		fi->virtio[i] = (struct arm64_fdt_virtio){
			.base = ARM64_VIRTIO_MMIO_BASE + i * ARM64_VIRTIO_MMIO_SIZE,
			.size = ARM64_VIRTIO_MMIO_SIZE,
			.spi = ARM64_VIRTIO_SPI_BASE + i,
		};
}

/* The finished tree (malloc'd) in *out, or -1 after saying why. */
static int build_fdt(struct vm *vm, const char *cmdline, void **out, size_t *size)
{
	struct arm64_fdt_info fi;
	char err[128];
	size_t cap = FDT_INITIAL_SIZE;
	void *buf = NULL;
	int r;

	fill_fdt_info(vm, &fi, cmdline);
	for (;;) {
		void *nb = realloc(buf, cap);

		if (!nb) {
			free(buf);
			return -1;
		}
		buf = nb;
		r = arm64_fdt_build(&fi, buf, cap, err, sizeof(err));
		if (r != -2 || cap >= ARM64_DTB_MAX)
			break;
		cap *= 2;
	}
	if (r) {
		fprintf(stderr, "ktvm: device tree: %s\n", r == -2 ? "more than 2 MiB" : err);
		free(buf);
		return -1;
	}
	*out = buf;
	*size = fdt_totalsize(buf);
	return 0;
}

static int write_file(const char *path, const void *buf, size_t size)
{
	int fd = output_file_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	const uint8_t *p = buf;

	if (fd < 0)
		return -1;
	while (size) {
		ssize_t n = write(fd, p, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		p += n;
		size -= (size_t)n;
	}
	return close(fd);
}

/* Returns 0, or an exit status: 2 for a bad image or configuration, 1 otherwise. */
int arch_load_kernel(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct arm64_boot_in in = {0};
	uint8_t *kernel = NULL, *initrd = NULL;
	size_t kernel_size = 0, initrd_size = 0, dtb_size = 0;
	void *dtb = NULL;
	char err[256], *cmdline = NULL;
	int ret = KTVM_EXIT_USAGE;
	enum kernel_format fmt;

	if (boot_read_file(cfg->kernel, ARM64_IMAGE_MAX, &kernel, &kernel_size, err, sizeof(err))) {
		fprintf(stderr, "ktvm: kernel '%s': %s\n", cfg->kernel, err);
		goto out;
	}
	fmt = boot_detect_format(kernel, kernel_size);
	if (fmt != KERNEL_ARM64_IMAGE && !arm64_image_is_gzip(kernel, kernel_size)) {
		fprintf(stderr, "ktvm: kernel '%s' %s\n", cfg->kernel,
			fmt == KERNEL_UNKNOWN
				? "is not a kernel image (expected an arm64 Image or Image.gz)"
				: "is an x86 kernel; this ktvm runs arm64 guests");
		goto out;
	}
	if (cfg->initrd &&
	    boot_read_file(cfg->initrd, cfg->mem_bytes, &initrd, &initrd_size, err, sizeof(err))) {
		fprintf(stderr, "ktvm: initrd '%s': %s\n", cfg->initrd, err);
		goto out;
	}
	in.kernel = kernel;
	in.kernel_size = kernel_size;
	in.initrd = initrd;
	in.initrd_size = initrd_size;
	in.ram_base = ARM64_RAM_BASE;
	in.ram_size = vm->mem.size;
	if (arm64_image_load(&vm->mem, &in, &vm->arch->boot, err, sizeof(err))) {
		fprintf(stderr, "ktvm: kernel '%s': %s\n", cfg->kernel, err);
		goto out;
	}
	cmdline = build_cmdline(cfg->cmdline);
	ret = KTVM_EXIT_ERROR;
	if (!cmdline || build_fdt(vm, cmdline, &dtb, &dtb_size))
		goto out;
	if (cfg->dump_dtb && write_file(cfg->dump_dtb, dtb, dtb_size)) {
		fprintf(stderr, "ktvm: --dump-dtb %s: %s\n", cfg->dump_dtb, output_file_error(errno));
		ret = KTVM_EXIT_USAGE;
		goto out;
	}
	if (cfg->dump_dtb) /* like QEMU's dumpdtb: write it and stop before the guest runs */
		vm_request_stop(vm, KTVM_EXIT_OK, "device tree written to %s", cfg->dump_dtb);
	if (arm64_place_dtb(&vm->mem, &vm->arch->boot, dtb, dtb_size, err, sizeof(err))) {
		fprintf(stderr, "ktvm: %s\n", err);
		goto out;
	}
	log_info("boot",
		 "arm64 Image%s at 0x%llx (%llu KiB), DTB at 0x%llx (%zu bytes), "
		 "command line \"%s\"",
		 vm->arch->boot.was_gzip ? ".gz" : "", (unsigned long long)vm->arch->boot.entry,
		 (unsigned long long)(vm->arch->boot.info.image_size >> 10),
		 (unsigned long long)vm->arch->boot.dtb_addr, dtb_size, cmdline);
	ret = 0;
out:
	boot_release_file(kernel, kernel_size);
	boot_release_file(initrd, initrd_size);
	free(cmdline);
	free(dtb);
	return ret;
}
