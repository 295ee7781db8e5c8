// SPDX-License-Identifier: MIT
/*
 * test_boot.c - image detection, file reading, and the bzImage and PVH
 * loaders against synthetic images (valid and malformed, each malformation
 * its own test), plus the real Debian kernel when KTVM_TEST_KERNEL (bzImage)
 * and KTVM_TEST_VMLINUX (ELF vmlinux) point to one.
 */
#include <asm/bootparam.h>
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "arch/x86_64/layout.h"
#include "arch/x86_64/memmap.h"
#include "boot/boot.h"
#include "boot/pvh.h"
#include "vmm/ktvm.h"

#define GUEST_MEM MiB(512)
#define PAGE	  4096ULL

/* ---- fixtures -------------------------------------------------------- */

struct fx {
	struct guest_mem m;
	struct e820_ent e820[E820_MAX];
	struct x86_boot_in in;
	struct x86_boot_out out;
	char err[256];
	uint8_t *img;
	size_t img_size;
	uint8_t initrd[3 * PAGE + 123];
};

static int fx_setup_size(void **state, uint64_t size)
{
	struct mem_region r[GUEST_MEM_MAX_REGIONS];
	unsigned int n = arch_mem_layout(size, r, ARRAY_SIZE(r));
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || gmem_init(&f->m, size, r, n))
		return -1;
	f->in.ne820 = x86_build_e820(&f->m, f->e820, ARRAY_SIZE(f->e820));
	f->in.e820 = f->e820;
	f->in.cmdline = "console=ttyS0 quiet";
	f->in.rsdp_gpa = X86_ACPI_ADDR;
	for (size_t i = 0; i < sizeof(f->initrd); i++)
		f->initrd[i] = (uint8_t)(i * 7 + 3);
	*state = f;
	return 0;
}

static int fx_setup(void **state)
{
	return fx_setup_size(state, GUEST_MEM);
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	gmem_destroy(&f->m);
	free(f->img);
	free(f);
	return 0;
}

static void use_image(struct fx *f, uint8_t *img, size_t size)
{
	free(f->img);
	f->img = img;
	f->img_size = size;
	f->in.kernel = img;
	f->in.kernel_size = size;
}

static void use_initrd(struct fx *f)
{
	f->in.initrd = f->initrd;
	f->in.initrd_size = sizeof(f->initrd);
}

/* ---- synthetic bzImage ------------------------------------------------- */

#define BZ_SETUP_SECTS 4
#define BZ_PM_SIZE     (64 * 1024)
#define BZ_PREF	       MiB(16)
#define BZ_INIT_SIZE   MiB(8)

static uint8_t pm_byte(size_t i)
{
	return (uint8_t)(i * 13 + 5);
}

/* A minimal protocol-2.15 bzImage: boot sector + setup + a patterned protected-mode part. */
static void make_bzimage(struct fx *f)
{
	size_t setup = (BZ_SETUP_SECTS + 1) * 512, size = setup + BZ_PM_SIZE;
	uint8_t *img = calloc(1, size);
	struct setup_header h = {0};

	assert_non_null(img);
	h.setup_sects = BZ_SETUP_SECTS;
	h.boot_flag = 0xaa55;
	/* jmp short past the header: 0x202 + 0x66 = 0x268, the end of the 2.15 header */
	h.jump = 0xeb | (0x66 << 8);
	memcpy(&h.header, "HdrS", 4);
	h.version = 0x020f;
	h.loadflags = LOADED_HIGH;
	h.initrd_addr_max = 0x7fffffff;
	h.kernel_alignment = 0x200000;
	h.relocatable_kernel = 1;
	h.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h.cmdline_size = 2047;
	h.pref_address = BZ_PREF;
	h.init_size = BZ_INIT_SIZE;
	/* Loader-owned fields holding junk: the loader must not pass it on. */
	h.setup_data = 0xdeadbeef000ULL;
	h.hardware_subarch = 3;
	h.ramdisk_image = 0x1234000;
	h.ramdisk_size = 0x1000;
	memcpy(img + 0x1f1, &h, sizeof(h));
	for (size_t i = 0; i < BZ_PM_SIZE; i++)
		img[setup + i] = pm_byte(i);
	use_image(f, img, size);
}

static struct setup_header *bz_hdr(struct fx *f)
{
	return (struct setup_header *)(f->img + 0x1f1);
}

static const struct boot_params *zero_page(struct fx *f)
{
	const struct boot_params *bp = gmem_ptr(&f->m, X86_ZERO_PAGE_ADDR, sizeof(*bp));

	assert_non_null(bp);
	return bp;
}

static void bz_ok(struct fx *f)
{
	int r = bzimage_load(&f->m, &f->in, &f->out, f->err, sizeof(f->err));

	if (r)
		fail_msg("bzimage_load: %s", f->err);
}

static void bz_fails(struct fx *f, const char *why)
{
	f->err[0] = 0;
	assert_int_equal(bzimage_load(&f->m, &f->in, &f->out, f->err, sizeof(f->err)), -1);
	if (!strstr(f->err, why))
		fail_msg("error \"%s\" does not mention \"%s\"", f->err, why);
}

static void check_zero_page_common(struct fx *f)
{
	const struct boot_params *bp = zero_page(f);
	const char *cmd = gmem_ptr(&f->m, bp->hdr.cmd_line_ptr, strlen(f->in.cmdline) + 1);

	assert_int_equal(f->out.mode, X86_ENTRY_LINUX64);
	assert_int_equal(f->out.boot_param, X86_ZERO_PAGE_ADDR);
	assert_memory_equal(&bp->hdr.header, "HdrS", 4);
	assert_int_equal(bp->hdr.boot_flag, 0xaa55);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_true(bp->hdr.loadflags & LOADED_HIGH);
	assert_true(bp->hdr.loadflags & CAN_USE_HEAP);
	assert_int_not_equal(bp->hdr.heap_end_ptr, 0);
	assert_int_equal(bp->hdr.cmd_line_ptr, X86_CMDLINE_ADDR);
	assert_int_equal(bp->hdr.setup_data, 0);
	assert_int_equal(bp->hdr.hardware_subarch, 0);
	assert_int_equal(bp->ext_cmd_line_ptr, 0);
	assert_non_null(cmd);
	assert_string_equal(cmd, f->in.cmdline);
	assert_int_equal(bp->e820_entries, f->in.ne820);
	for (unsigned int i = 0; i < f->in.ne820; i++) {
		assert_int_equal(bp->e820_table[i].addr, f->e820[i].addr);
		assert_int_equal(bp->e820_table[i].size, f->e820[i].size);
		assert_int_equal(bp->e820_table[i].type, f->e820[i].type);
	}
}

static void check_initrd(struct fx *f, uint64_t kernel_end, uint64_t limit)
{
	const struct boot_params *bp = zero_page(f);
	uint64_t addr = bp->hdr.ramdisk_image | (uint64_t)bp->ext_ramdisk_image << 32;
	uint64_t size = bp->hdr.ramdisk_size | (uint64_t)bp->ext_ramdisk_size << 32;

	assert_int_equal(addr, f->out.initrd_start);
	assert_int_equal(size, sizeof(f->initrd));
	assert_int_equal(addr % PAGE, 0);
	assert_true(addr >= kernel_end);
	assert_true(addr + size <= limit);
	/* As high as possible: less than a page of slack below the limit. */
	assert_true(limit - (addr + size) < PAGE);
	assert_memory_equal(gmem_ptr(&f->m, addr, size), f->initrd, size);
}

static void check_pm_loaded(struct fx *f, uint64_t at)
{
	const uint8_t *k = gmem_ptr(&f->m, at, BZ_PM_SIZE);

	assert_non_null(k);
	for (size_t i = 0; i < BZ_PM_SIZE; i++)
		if (k[i] != pm_byte(i))
			fail_msg("kernel byte %zu differs", i);
}

static void test_bz_valid(void **state)
{
	struct fx *f = *state;
	const struct boot_params *bp;

	make_bzimage(f);
	use_initrd(f);
	assert_int_equal(boot_detect_format(f->img, f->img_size), KERNEL_BZIMAGE);
	bz_ok(f);
	check_zero_page_common(f);
	bp = zero_page(f);
	/* Relocatable and fits: at pref_address, entered at +0x200. */
	assert_int_equal(f->out.kernel_start, BZ_PREF);
	assert_int_equal(f->out.entry, BZ_PREF + 0x200);
	assert_int_equal(f->out.kernel_end, BZ_PREF + BZ_INIT_SIZE);
	check_pm_loaded(f, BZ_PREF);
	check_initrd(f, BZ_PREF + BZ_INIT_SIZE, GUEST_MEM);
	assert_int_equal(bp->acpi_rsdp_addr, X86_ACPI_ADDR);
	assert_int_equal(bp->hdr.setup_sects, BZ_SETUP_SECTS);
	assert_int_equal(bp->hdr.version, 0x020f);
	/* Nothing past the header was copied from the image. */
	assert_int_equal(bp->screen_info.orig_video_isVGA, 0);
}

static void test_bz_no_initrd(void **state)
{
	struct fx *f = *state;
	const struct boot_params *bp;

	make_bzimage(f);
	bz_ok(f);
	bp = zero_page(f);
	assert_int_equal(f->out.initrd_start, 0);
	assert_int_equal(bp->hdr.ramdisk_image, 0);
	assert_int_equal(bp->hdr.ramdisk_size, 0);
}

static void test_bz_initrd_addr_max(void **state)
{
	struct fx *f = *state;

	make_bzimage(f);
	use_initrd(f);
	bz_hdr(f)->initrd_addr_max = MiB(100) - 1;
	bz_ok(f);
	check_initrd(f, BZ_PREF + BZ_INIT_SIZE, MiB(100));
}

static void test_bz_initrd_high_guest(void **state)
{
	struct fx *f = *state;

	/* A 2 GiB guest: the initrd is capped by initrd_addr_max (2 GiB - 1) exactly. */
	make_bzimage(f);
	use_initrd(f);
	bz_ok(f);
	check_initrd(f, BZ_PREF + BZ_INIT_SIZE, GiB(2));
}

static void test_bz_not_relocatable(void **state)
{
	struct fx *f = *state;

	make_bzimage(f);
	bz_hdr(f)->relocatable_kernel = 0;
	bz_ok(f);
	assert_int_equal(f->out.kernel_start, X86_HIMEM_START);
	assert_int_equal(f->out.entry, X86_HIMEM_START + 0x200);
	/* It still runs (decompresses) at pref_address: init_size is counted from there. */
	assert_int_equal(f->out.kernel_end, BZ_PREF + BZ_INIT_SIZE);
	check_pm_loaded(f, X86_HIMEM_START);
}

static void test_bz_setup_sects_zero(void **state)
{
	struct fx *f = *state;

	/* setup_sects 0 means 4, which is what make_bzimage laid out. */
	make_bzimage(f);
	bz_hdr(f)->setup_sects = 0;
	bz_ok(f);
	check_pm_loaded(f, BZ_PREF);
}

static void test_bz_protocol_206(void **state)
{
	struct fx *f = *state;
	const struct boot_params *bp;

	/* 2.06: no pref_address/init_size/xloadflags/acpi_rsdp_addr; header ends at 0x23c. */
	make_bzimage(f);
	bz_hdr(f)->version = 0x0206;
	bz_hdr(f)->jump = 0xeb | ((0x23c - 0x202) << 8);
	bz_hdr(f)->xloadflags = 0;
	bz_ok(f);
	bp = zero_page(f);
	assert_int_equal(f->out.kernel_start, X86_HIMEM_START);
	assert_int_equal(f->out.kernel_end, X86_HIMEM_START + BZ_PM_SIZE);
	assert_int_equal(bp->acpi_rsdp_addr, 0);
	/* Fields past the 2.06 header are not copied from the image. */
	assert_int_equal(bp->hdr.pref_address, 0);
	assert_int_equal(bp->hdr.init_size, 0);
}

static void test_bz_cmdline_at_limit(void **state)
{
	struct fx *f = *state;
	char cmd[32];

	make_bzimage(f);
	bz_hdr(f)->cmdline_size = 16;
	memset(cmd, 'x', 16);
	cmd[16] = 0;
	f->in.cmdline = cmd;
	bz_ok(f);
	check_zero_page_common(f);
}

static void test_bz_no_e820(void **state)
{
	struct fx *f = *state;

	make_bzimage(f);
	f->in.ne820 = 0;
	bz_fails(f, "e820");
}

/* -- malformed bzImages -- */

static void test_bz_truncated(void **state)
{
	struct fx *f = *state;

	make_bzimage(f);
	f->in.kernel_size = 600; /* past the header, short of the setup code */
	bz_fails(f, "truncated");
	f->in.kernel_size = 0;
	bz_fails(f, "truncated");
}

static void test_bz_setup_past_eof(void **state)
{
	struct fx *f = *state;

	make_bzimage(f);
	bz_hdr(f)->setup_sects = 200; /* 100 KiB of setup in a 66 KiB file */
	bz_fails(f, "past the end");
	/* Exactly the file size: no protected-mode part at all. */
	make_bzimage(f);
	f->in.kernel_size = (BZ_SETUP_SECTS + 1) * 512;
	bz_fails(f, "past the end");
}

static void test_bz_protocol_too_old(void **state)
{
	struct fx *f = *state;

	make_bzimage(f);
	bz_hdr(f)->version = 0x0205;
	bz_fails(f, "too old");
}

static void test_bz_no_64bit(void **state)
{
	struct fx *f = *state;

	make_bzimage(f);
	bz_hdr(f)->xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
	bz_fails(f, "64-bit");
}

static void test_bz_not_hdrs(void **state)
{
	struct fx *f = *state;

	make_bzimage(f);
	f->img[0x202] = 'X';
	bz_fails(f, "HdrS");
	make_bzimage(f);
	bz_hdr(f)->boot_flag = 0;
	bz_fails(f, "HdrS");
}

static void test_bz_zimage(void **state)
{
	struct fx *f = *state;

	make_bzimage(f);
	bz_hdr(f)->loadflags = 0;
	bz_fails(f, "zImage");
}

static void test_bz_header_too_short(void **state)
{
	struct fx *f = *state;

	/* Claims 2.15 but its header ends before init_size. */
	make_bzimage(f);
	bz_hdr(f)->jump = 0xeb | (0x10 << 8);
	bz_fails(f, "too short");
}

static void test_bz_cmdline_too_long(void **state)
{
	struct fx *f = *state;
	char cmd[32];

	make_bzimage(f);
	bz_hdr(f)->cmdline_size = 16;
	memset(cmd, 'x', 17);
	cmd[17] = 0;
	f->in.cmdline = cmd;
	bz_fails(f, "command line");
}

static void test_bz_initrd_too_large(void **state)
{
	struct fx *f = *state;
	size_t big = GUEST_MEM - MiB(16); /* more than is left above the kernel */
	void *p = mmap(NULL, big, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	assert_true(p != MAP_FAILED);
	make_bzimage(f);
	f->in.initrd = p;
	f->in.initrd_size = big;
	bz_fails(f, "initrd");
	/* Below a low initrd_addr_max even a small one does not fit. */
	use_initrd(f);
	bz_hdr(f)->initrd_addr_max = BZ_PREF + BZ_INIT_SIZE + PAGE;
	bz_fails(f, "initrd");
	munmap(p, big);
}

static void test_bz_kernel_too_big(void **state)
{
	struct fx *f = *state;

	make_bzimage(f);
	bz_hdr(f)->init_size = 0xffffffff; /* 4 GiB in a 512 MiB guest */
	bz_fails(f, "low RAM ends");
	make_bzimage(f);
	bz_hdr(f)->pref_address = 0xffffffffffff0000ULL; /* hostile: must not wrap */
	bz_hdr(f)->relocatable_kernel = 0;
	bz_fails(f, "low RAM ends");
}

/* ---- synthetic ELF vmlinux ----------------------------------------------- */

#define ELF_PADDR    MiB(16)
#define ELF_FILESZ   0x2000
#define ELF_MEMSZ    0x3000
#define ELF_DATA_OFF 0x1000
#define ELF_NOTE_OFF 0x100
#define ELF_ENTRY    (ELF_PADDR + 0x100)

enum { PH_LOAD, PH_NOTE, PH_N };

struct note_hdr {
	Elf64_Nhdr nh;
	char name[4];
};

/*
 * An ELF64 x86_64 vmlinux: one PT_LOAD (with bss), one PT_NOTE holding a GNU
 * note and the PVH note.
 */
static void make_elf(struct fx *f, bool with_pvh, unsigned int desc_size)
{
	size_t size = ELF_DATA_OFF + ELF_FILESZ, off = ELF_NOTE_OFF;
	uint8_t *img = calloc(1, size);
	Elf64_Ehdr eh = {0};
	Elf64_Phdr ph[PH_N] = {0};
	struct note_hdr gnu = {{4, 8, NT_GNU_BUILD_ID}, "GNU"};
	struct note_hdr xen = {{4, desc_size, with_pvh ? XEN_ELFNOTE_PHYS32_ENTRY : 17}, "Xen"};
	uint64_t entry = ELF_ENTRY;

	assert_non_null(img);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = 0xffffffff81000000ULL;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = PH_N;

	memcpy(img + off, &gnu, sizeof(gnu));
	off += sizeof(gnu) + 8;
	memcpy(img + off, &xen, sizeof(xen));
	off += sizeof(xen);
	memcpy(img + off, &entry, desc_size); /* little-endian: 4 or 8 bytes */
	off += ALIGN_UP(desc_size, 4);

	ph[PH_LOAD] = (Elf64_Phdr){.p_type = PT_LOAD,
				   .p_offset = ELF_DATA_OFF,
				   .p_vaddr = 0xffffffff81000000ULL,
				   .p_paddr = ELF_PADDR,
				   .p_filesz = ELF_FILESZ,
				   .p_memsz = ELF_MEMSZ,
				   .p_align = 0x200000};
	ph[PH_NOTE] = (Elf64_Phdr){.p_type = PT_NOTE,
				   .p_offset = ELF_NOTE_OFF,
				   .p_filesz = off - ELF_NOTE_OFF,
				   .p_memsz = off - ELF_NOTE_OFF,
				   .p_align = 4};
	memcpy(img, &eh, sizeof(eh));
	memcpy(img + eh.e_phoff, ph, sizeof(ph));
	for (size_t i = 0; i < ELF_FILESZ; i++)
		img[ELF_DATA_OFF + i] = pm_byte(i);
	use_image(f, img, size);
}

static Elf64_Ehdr *elf_hdr(struct fx *f)
{
	return (Elf64_Ehdr *)f->img;
}

static Elf64_Phdr *elf_phdr(struct fx *f, unsigned int i)
{
	return (Elf64_Phdr *)(f->img + sizeof(Elf64_Ehdr)) + i;
}

/* The PVH note's header inside the image. */
static Elf64_Nhdr *xen_note(struct fx *f)
{
	return (Elf64_Nhdr *)(f->img + ELF_NOTE_OFF + sizeof(struct note_hdr) + 8);
}

static void pvh_ok(struct fx *f)
{
	if (pvh_load(&f->m, &f->in, &f->out, f->err, sizeof(f->err)))
		fail_msg("pvh_load: %s", f->err);
}

static void pvh_fails(struct fx *f, const char *why)
{
	f->err[0] = 0;
	assert_int_equal(pvh_load(&f->m, &f->in, &f->out, f->err, sizeof(f->err)), -1);
	if (!strstr(f->err, why))
		fail_msg("error \"%s\" does not mention \"%s\"", f->err, why);
}

static const struct hvm_start_info *start_info(struct fx *f)
{
	const struct hvm_start_info *si = gmem_ptr(&f->m, X86_PVH_INFO_ADDR, sizeof(*si));

	assert_non_null(si);
	assert_int_equal(si->magic, XEN_HVM_START_MAGIC_VALUE);
	assert_int_equal(si->version, 1);
	return si;
}

static void check_start_info(struct fx *f)
{
	const struct hvm_start_info *si = start_info(f);
	const struct hvm_memmap_table_entry *map;
	const char *cmd = gmem_ptr(&f->m, si->cmdline_paddr, strlen(f->in.cmdline) + 1);

	assert_int_equal(f->out.mode, X86_ENTRY_PVH32);
	assert_int_equal(f->out.boot_param, X86_PVH_INFO_ADDR);
	assert_non_null(cmd);
	assert_string_equal(cmd, f->in.cmdline);
	assert_int_equal(si->rsdp_paddr, f->in.rsdp_gpa);
	assert_int_equal(si->memmap_entries, f->in.ne820);
	map = gmem_ptr(&f->m, si->memmap_paddr, si->memmap_entries * sizeof(*map));
	assert_non_null(map);
	/* Everything we wrote stays within the info page, clear of the zero page and page tables. */
	assert_true(si->memmap_paddr + si->memmap_entries * sizeof(*map) <=
		    X86_PVH_INFO_ADDR + PAGE);
	for (unsigned int i = 0; i < f->in.ne820; i++) {
		assert_int_equal(map[i].addr, f->e820[i].addr);
		assert_int_equal(map[i].size, f->e820[i].size);
		assert_int_equal(map[i].type, f->e820[i].type);
	}
}

static void test_pvh_valid(void **state)
{
	struct fx *f = *state;
	const struct hvm_start_info *si;
	const struct hvm_modlist_entry *mod;
	const uint8_t *k;

	make_elf(f, true, 8);
	use_initrd(f);
	assert_int_equal(boot_detect_format(f->img, f->img_size), KERNEL_ELF_PVH);
	/* Garbage where the bss goes: the loader must zero it. */
	memset(gmem_ptr(&f->m, ELF_PADDR, ELF_MEMSZ), 0xa5, ELF_MEMSZ);
	pvh_ok(f);
	check_start_info(f);
	assert_int_equal(f->out.entry, ELF_ENTRY);
	assert_int_equal(f->out.kernel_start, ELF_PADDR);
	assert_int_equal(f->out.kernel_end, ELF_PADDR + ELF_MEMSZ);
	k = gmem_ptr(&f->m, ELF_PADDR, ELF_MEMSZ);
	for (size_t i = 0; i < ELF_FILESZ; i++)
		if (k[i] != pm_byte(i))
			fail_msg("segment byte %zu differs", i);
	for (size_t i = ELF_FILESZ; i < ELF_MEMSZ; i++)
		if (k[i] != 0)
			fail_msg("bss byte %zu not zeroed", i);

	si = start_info(f);
	assert_int_equal(si->nr_modules, 1);
	mod = gmem_ptr(&f->m, si->modlist_paddr, sizeof(*mod));
	assert_non_null(mod);
	assert_int_equal(mod->paddr, f->out.initrd_start);
	assert_int_equal(mod->size, sizeof(f->initrd));
	assert_int_equal(mod->paddr % PAGE, 0);
	assert_true(mod->paddr >= ELF_PADDR + ELF_MEMSZ);
	assert_true(mod->paddr + mod->size <= GUEST_MEM);
	assert_true(GUEST_MEM - (mod->paddr + mod->size) < PAGE);
	assert_memory_equal(gmem_ptr(&f->m, mod->paddr, mod->size), f->initrd, mod->size);
}

static void test_pvh_note_desc4(void **state)
{
	struct fx *f = *state;

	make_elf(f, true, 4);
	assert_int_equal(boot_detect_format(f->img, f->img_size), KERNEL_ELF_PVH);
	pvh_ok(f);
	assert_int_equal(f->out.entry, ELF_ENTRY);
	assert_int_equal(start_info(f)->nr_modules, 0);
	assert_int_equal(start_info(f)->modlist_paddr, 0);
	assert_int_equal(f->out.initrd_start, 0);
}

static void test_pvh_high_guest(void **state)
{
	struct fx *f = *state;

	/* 8 GiB: the initrd stays below 4 GiB, at the top of low RAM. */
	make_elf(f, true, 8);
	use_initrd(f);
	pvh_ok(f);
	check_start_info(f);
	assert_true(f->out.initrd_start + sizeof(f->initrd) <= X86_MMIO_HOLE_START);
	assert_true(X86_MMIO_HOLE_START - (f->out.initrd_start + sizeof(f->initrd)) < PAGE);
}

static void test_pvh_no_note(void **state)
{
	struct fx *f = *state;

	make_elf(f, false, 8);
	assert_int_equal(boot_detect_format(f->img, f->img_size), KERNEL_ELF_NOPVH);
	pvh_fails(f, "ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)");
	/* No PT_NOTE segment at all. */
	make_elf(f, true, 8);
	elf_phdr(f, PH_NOTE)->p_type = PT_NULL;
	assert_int_equal(boot_detect_format(f->img, f->img_size), KERNEL_ELF_NOPVH);
	pvh_fails(f, "no PVH entry note");
}

static void test_pvh_not_x86_64(void **state)
{
	struct fx *f = *state;

	make_elf(f, true, 8);
	elf_hdr(f)->e_machine = EM_AARCH64;
	assert_int_equal(boot_detect_format(f->img, f->img_size), KERNEL_ELF_NOPVH);
	pvh_fails(f, "not x86_64");
	make_elf(f, true, 8);
	f->img[EI_CLASS] = ELFCLASS32;
	pvh_fails(f, "64-bit");
}

static void test_pvh_truncated(void **state)
{
	struct fx *f = *state;

	make_elf(f, true, 8);
	f->in.kernel_size = sizeof(Elf64_Ehdr) - 1;
	pvh_fails(f, "not an ELF");
	f->in.kernel_size = sizeof(Elf64_Ehdr) + 10; /* program headers cut off */
	pvh_fails(f, "past the end");
}

static void test_pvh_phdr_past_eof(void **state)
{
	struct fx *f = *state;

	make_elf(f, true, 8);
	elf_hdr(f)->e_phoff = f->img_size - 8;
	assert_int_equal(boot_detect_format(f->img, f->img_size), KERNEL_ELF_NOPVH);
	pvh_fails(f, "past the end");
	make_elf(f, true, 8);
	elf_hdr(f)->e_phoff = UINT64_MAX - 16; /* must not wrap */
	pvh_fails(f, "past the end");
	make_elf(f, true, 8);
	elf_hdr(f)->e_phnum = 0xfffe;
	pvh_fails(f, "past the end");
	make_elf(f, true, 8);
	elf_hdr(f)->e_phentsize = 32;
	pvh_fails(f, "program header size");
}

static void test_pvh_load_outside_ram(void **state)
{
	struct fx *f = *state;

	make_elf(f, true, 8);
	elf_phdr(f, PH_LOAD)->p_paddr = GiB(2); /* past the end of a 512 MiB guest */
	pvh_fails(f, "does not fit");
	make_elf(f, true, 8);
	elf_phdr(f, PH_LOAD)->p_paddr = X86_MMIO_HOLE_START - 0x1000; /* runs into the hole */
	pvh_fails(f, "does not fit");
	make_elf(f, true, 8);
	elf_phdr(f, PH_LOAD)->p_paddr = UINT64_MAX - 0x1000; /* wraps */
	pvh_fails(f, "does not fit");
	make_elf(f, true, 8);
	elf_phdr(f, PH_LOAD)->p_paddr = 0x8000; /* over our boot structures */
	pvh_fails(f, "below 1 MiB");
}

static void test_pvh_filesz_gt_memsz(void **state)
{
	struct fx *f = *state;

	make_elf(f, true, 8);
	elf_phdr(f, PH_LOAD)->p_memsz = ELF_FILESZ - 1;
	pvh_fails(f, "exceeds memory size");
}

static void test_pvh_segment_past_eof(void **state)
{
	struct fx *f = *state;

	make_elf(f, true, 8);
	elf_phdr(f, PH_LOAD)->p_filesz = ELF_FILESZ + 1;
	pvh_fails(f, "past the end");
	make_elf(f, true, 8);
	elf_phdr(f, PH_LOAD)->p_offset = UINT64_MAX;
	pvh_fails(f, "past the end");
	make_elf(f, true, 8);
	elf_phdr(f, PH_NOTE)->p_offset = f->img_size - 4;
	pvh_fails(f, "past the end");
}

static void test_pvh_note_overflow(void **state)
{
	struct fx *f = *state;

	make_elf(f, true, 8);
	xen_note(f)->n_namesz = 0xffffffff;
	assert_int_equal(boot_detect_format(f->img, f->img_size), KERNEL_ELF_NOPVH);
	pvh_fails(f, "runs past the end of its segment");
	make_elf(f, true, 8);
	xen_note(f)->n_descsz = 0xfffffffc;
	pvh_fails(f, "runs past the end of its segment");
	make_elf(f, true, 8);
	xen_note(f)->n_descsz = 12; /* within the segment? no: only 8 bytes are there */
	pvh_fails(f, "runs past the end of its segment");
	make_elf(f, true, 8);
	elf_phdr(f, PH_NOTE)->p_filesz -= 4; /* cuts the value in half */
	pvh_fails(f, "runs past the end of its segment");
}

static void test_pvh_bad_entry(void **state)
{
	struct fx *f = *state;
	uint64_t big = 0x100000000ULL;

	make_elf(f, true, 8);
	memcpy((uint8_t *)xen_note(f) + sizeof(struct note_hdr), &big, 8);
	pvh_fails(f, "not a 32-bit address");
	make_elf(f, true, 8);
	elf_phdr(f, PH_LOAD)->p_paddr = ELF_PADDR + 0x10000; /* entry no longer inside */
	pvh_fails(f, "outside the loaded kernel");
}

static void test_pvh_no_load(void **state)
{
	struct fx *f = *state;

	make_elf(f, true, 8);
	elf_phdr(f, PH_LOAD)->p_type = PT_NULL;
	pvh_fails(f, "no loadable segment");
}

static void test_pvh_initrd_too_large(void **state)
{
	struct fx *f = *state;
	size_t big = GUEST_MEM - MiB(16);
	void *p = mmap(NULL, big, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	assert_true(p != MAP_FAILED);
	make_elf(f, true, 8);
	f->in.initrd = p;
	f->in.initrd_size = big;
	pvh_fails(f, "initrd");
	munmap(p, big);
}

static void test_pvh_cmdline_too_long(void **state)
{
	struct fx *f = *state;
	char *cmd = malloc(X86_CMDLINE_MAX + 1);

	assert_non_null(cmd);
	memset(cmd, 'y', X86_CMDLINE_MAX);
	cmd[X86_CMDLINE_MAX] = 0;
	make_elf(f, true, 8);
	f->in.cmdline = cmd;
	pvh_fails(f, "command line");
	free(cmd);
}

/* ---- mutation fuzzing: whatever the headers say, no crash, no stray access ---- */

static uint32_t rng_state = 0x12345678;

static uint32_t rng(void)
{
	/* xorshift32: deterministic, so a failure reproduces */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/*
 * Copy the image into an exactly-sized buffer (so ASan sees any read past
 * its end), flip a few bytes among the first 'hot' ones, maybe truncate.
 */
static void mutate(struct fx *f, const uint8_t *orig, size_t size, size_t hot)
{
	size_t n = size;
	uint8_t *img;

	if (rng() % 4 == 0)
		n = rng() % (size + 1);
	img = malloc(n ? n : 1);
	assert_non_null(img);
	memcpy(img, orig, n);
	for (unsigned int k = 1 + rng() % 4; k && n; k--) {
		size_t at = rng() % (hot < n ? hot : n);

		img[at] = rng() % 2 ? (uint8_t)rng() : (uint8_t)(rng() % 2 ? 0xff : 0);
	}
	use_image(f, img, n);
}

static void test_bz_fuzz(void **state)
{
	struct fx *f = *state;
	uint8_t *orig;
	size_t size;

	make_bzimage(f);
	size = f->img_size;
	orig = malloc(size);
	assert_non_null(orig);
	memcpy(orig, f->img, size);
	use_initrd(f);
	for (int i = 0; i < 20000; i++) {
		mutate(f, orig, size, 0x270);
		(void)boot_detect_format(f->img, f->img_size);
		f->err[0] = 0;
		if (bzimage_load(&f->m, &f->in, &f->out, f->err, sizeof(f->err)) == 0)
			assert_true(f->out.entry >= X86_HIMEM_START);
		else
			assert_true(f->err[0] != 0);
	}
	free(orig);
}

static void test_pvh_fuzz(void **state)
{
	struct fx *f = *state;
	uint8_t *orig;
	size_t size;

	make_elf(f, true, 8);
	size = f->img_size;
	orig = malloc(size);
	assert_non_null(orig);
	memcpy(orig, f->img, size);
	use_initrd(f);
	for (int i = 0; i < 20000; i++) {
		mutate(f, orig, size, ELF_NOTE_OFF + 0x40);
		(void)boot_detect_format(f->img, f->img_size);
		f->err[0] = 0;
		if (pvh_load(&f->m, &f->in, &f->out, f->err, sizeof(f->err)) == 0)
			assert_true(f->out.entry >= f->out.kernel_start &&
				    f->out.entry < f->out.kernel_end);
		else
			assert_true(f->err[0] != 0);
	}
	free(orig);
}

/* ---- detection and file reading ---------------------------------------- */

static void test_detect(void **state)
{
	uint8_t buf[0x400] = {0};

	assert_int_equal(boot_detect_format(NULL, 0), KERNEL_UNKNOWN);
	assert_int_equal(boot_detect_format(buf, 0), KERNEL_UNKNOWN);
	assert_int_equal(boot_detect_format(buf, sizeof(buf)), KERNEL_UNKNOWN);
	/* "HdrS" alone is not enough: the boot flag must be there too. */
	memcpy(buf + 0x202, "HdrS", 4);
	assert_int_equal(boot_detect_format(buf, sizeof(buf)), KERNEL_UNKNOWN);
	buf[0x1fe] = 0x55;
	buf[0x1ff] = 0xaa;
	assert_int_equal(boot_detect_format(buf, sizeof(buf)), KERNEL_BZIMAGE);
	assert_int_equal(boot_detect_format(buf, 0x205), KERNEL_UNKNOWN); /* magic cut off */
	memset(buf, 0, sizeof(buf));
	memcpy(buf + 0x38, "ARM\x64", 4);
	assert_int_equal(boot_detect_format(buf, sizeof(buf)), KERNEL_ARM64_IMAGE);
	assert_int_equal(boot_detect_format(buf, 0x3b), KERNEL_UNKNOWN);
	memcpy(buf, ELFMAG, SELFMAG); /* an ELF header with nothing after it */
	assert_int_equal(boot_detect_format(buf, SELFMAG), KERNEL_ELF_NOPVH);
}

static void test_format_names(void **state)
{
	assert_string_equal(boot_format_name(KERNEL_BZIMAGE), "bzImage");
	assert_non_null(strstr(boot_format_name(KERNEL_ELF_PVH), "PVH"));
	assert_non_null(strstr(boot_format_name(KERNEL_ELF_NOPVH), "PVH"));
	assert_non_null(strstr(boot_format_name(KERNEL_ARM64_IMAGE), "arm64"));
	assert_string_equal(boot_format_name(KERNEL_UNKNOWN), "unknown");
	assert_string_equal(boot_format_name((enum kernel_format)99), "unknown");
}

static void test_read_file(void **state)
{
	char path[] = "/tmp/ktvm-boot-XXXXXX", err[256];
	uint8_t *buf;
	size_t size;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello", 5), 5);
	close(fd);
	assert_int_equal(boot_read_file(path, 100, &buf, &size, err, sizeof(err)), 0);
	assert_int_equal(size, 5);
	assert_memory_equal(buf, "hello", 5);
	boot_release_file(buf, size);
	assert_int_equal(boot_read_file(path, 4, &buf, &size, err, sizeof(err)), -1);
	assert_null(buf);
	assert_non_null(strstr(err, "limit"));
	unlink(path);
	assert_int_equal(boot_read_file(path, 100, &buf, &size, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(boot_read_file("/tmp", 100, &buf, &size, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
}

/* ---- a file that shrinks while it is loaded -------------------------------- */

/*
 * Write buf to a file, map it as ktvm does (boot_map_file), then cut the
 * file to 'keep' bytes: the mapping still says the old size, and a page
 * past the new end raises SIGBUS when touched.  *path is the file's name.
 */
static uint8_t *map_then_shrink(const uint8_t *buf, size_t size, size_t keep, char *path)
{
	char err[256];
	uint8_t *map;
	size_t msize;
	int fd;

	strcpy(path, "/tmp/ktvm-shrink-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	if (boot_map_file(path, size, &map, &msize, err, sizeof(err)))
		fail_msg("boot_map_file: %s", err);
	assert_int_equal(msize, size);
	assert_int_equal(ftruncate(fd, (off_t)keep), 0);
	close(fd);
	return map;
}

static void shrunk_fails(struct fx *f, int r)
{
	assert_int_equal(r, -1);
	assert_non_null(strstr(f->err, "shrank while it was being loaded"));
}

/* A vmlinux cut after its headers were checked: an error, not a SIGBUS. */
static void test_pvh_file_shrinks(void **state)
{
	struct fx *f = *state;
	char path[32];
	uint8_t *map;

	make_elf(f, true, 8);
	map = map_then_shrink(f->img, f->img_size, PAGE, path);
	/* The headers (first page) are still there: the format is still seen. */
	assert_int_equal(boot_detect_format(map, f->img_size), KERNEL_ELF_PVH);
	f->in.kernel = map;
	shrunk_fails(f, pvh_load(&f->m, &f->in, &f->out, f->err, sizeof(f->err)));
	/* The guard is gone afterwards: the same loader works on a whole image. */
	f->in.kernel = f->img;
	pvh_ok(f);
	boot_release_file(map, f->img_size);
	unlink(path);
}

/* A bzImage cut in its protected-mode part. */
static void test_bz_file_shrinks(void **state)
{
	struct fx *f = *state;
	char path[32];
	uint8_t *map;

	make_bzimage(f);
	map = map_then_shrink(f->img, f->img_size, PAGE, path);
	f->in.kernel = map;
	shrunk_fails(f, bzimage_load(&f->m, &f->in, &f->out, f->err, sizeof(f->err)));
	boot_release_file(map, f->img_size);
	unlink(path);
}

/* An initrd emptied while it is copied, with either loader. */
static void test_initrd_file_shrinks(void **state)
{
	struct fx *f = *state;
	char path[32];
	uint8_t *map;

	map = map_then_shrink(f->initrd, sizeof(f->initrd), 0, path);
	f->in.initrd = map;
	f->in.initrd_size = sizeof(f->initrd);
	make_elf(f, true, 8);
	shrunk_fails(f, pvh_load(&f->m, &f->in, &f->out, f->err, sizeof(f->err)));
	make_bzimage(f);
	shrunk_fails(f, bzimage_load(&f->m, &f->in, &f->out, f->err, sizeof(f->err)));
	boot_release_file(map, sizeof(f->initrd));
	unlink(path);
}

/* A file cut to nothing before detection: no kernel, not a crash. */
static void test_detect_file_shrinks(void **state)
{
	struct fx *f = *state;
	char path[32];
	uint8_t *map;

	make_elf(f, true, 8);
	map = map_then_shrink(f->img, f->img_size, 0, path);
	assert_int_equal(boot_detect_format(map, f->img_size), KERNEL_UNKNOWN);
	boot_release_file(map, f->img_size);
	unlink(path);
}

/* ---- the real Debian kernel (optional) ------------------------------------ */

static void load_real(struct fx *f, const char *var, enum kernel_format want)
{
	const char *path = getenv(var);
	uint8_t *img;
	size_t size;
	uint8_t *mapped;

	if (!path || !*path) {
		skip();
		return;
	}
	if (boot_read_file(path, MiB(512), &mapped, &size, f->err, sizeof(f->err)))
		fail_msg("%s: %s", var, f->err);
	/* The fixture owns a malloc'd image; boot_read_file returns a mapping. */
	img = malloc(size);
	assert_non_null(img);
	memcpy(img, mapped, size);
	boot_release_file(mapped, size);
	use_image(f, img, size);
	use_initrd(f);
	assert_int_equal(boot_detect_format(img, size), want);
}

static void test_real_bzimage(void **state)
{
	struct fx *f = *state;
	const struct boot_params *bp;

	load_real(f, "KTVM_TEST_KERNEL", KERNEL_BZIMAGE);
	bz_ok(f);
	check_zero_page_common(f);
	bp = zero_page(f);
	assert_true(bp->hdr.version >= 0x020c);
	assert_true(bp->hdr.xloadflags & XLF_KERNEL_64);
	assert_int_equal(f->out.kernel_start, bp->hdr.pref_address);
	assert_int_equal(f->out.entry, bp->hdr.pref_address + 0x200);
	check_initrd(f, bp->hdr.pref_address + bp->hdr.init_size, GUEST_MEM);
}

static void test_real_vmlinux(void **state)
{
	struct fx *f = *state;

	load_real(f, "KTVM_TEST_VMLINUX", KERNEL_ELF_PVH);
	pvh_ok(f);
	check_start_info(f);
	assert_true(f->out.entry >= f->out.kernel_start && f->out.entry < f->out.kernel_end);
	assert_true(f->out.initrd_start >= f->out.kernel_end);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

static int fx_setup_2g(void **state)
{
	return fx_setup_size(state, GiB(2));
}

static int fx_setup_8g(void **state)
{
	return fx_setup_size(state, GiB(8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_bz_valid),
		T(test_bz_no_initrd),
		T(test_bz_initrd_addr_max),
		cmocka_unit_test_setup_teardown(test_bz_initrd_high_guest, fx_setup_2g,
						fx_teardown),
		T(test_bz_not_relocatable),
		T(test_bz_setup_sects_zero),
		T(test_bz_protocol_206),
		T(test_bz_cmdline_at_limit),
		T(test_bz_no_e820),
		T(test_bz_truncated),
		T(test_bz_setup_past_eof),
		T(test_bz_protocol_too_old),
		T(test_bz_no_64bit),
		T(test_bz_not_hdrs),
		T(test_bz_zimage),
		T(test_bz_header_too_short),
		T(test_bz_cmdline_too_long),
		T(test_bz_initrd_too_large),
		T(test_bz_kernel_too_big),
		T(test_pvh_valid),
		T(test_pvh_note_desc4),
		cmocka_unit_test_setup_teardown(test_pvh_high_guest, fx_setup_8g, fx_teardown),
		T(test_pvh_no_note),
		T(test_pvh_not_x86_64),
		T(test_pvh_truncated),
		T(test_pvh_phdr_past_eof),
		T(test_pvh_load_outside_ram),
		T(test_pvh_filesz_gt_memsz),
		T(test_pvh_segment_past_eof),
		T(test_pvh_note_overflow),
		T(test_pvh_bad_entry),
		T(test_pvh_no_load),
		T(test_pvh_initrd_too_large),
		T(test_pvh_cmdline_too_long),
		T(test_bz_fuzz),
		T(test_pvh_fuzz),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_format_names),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test_setup_teardown(test_pvh_file_shrinks, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bz_file_shrinks, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_initrd_file_shrinks, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_detect_file_shrinks, fx_setup, fx_teardown),
		T(test_real_bzimage),
		T(test_real_vmlinux),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
