// SPDX-License-Identifier: MIT
/*
 * pvh.c - load an x86_64 ELF vmlinux and start it through its PVH entry.
 *
 * The PVH entry (XEN_ELFNOTE_PHYS32_ENTRY) is a 32-bit, paging-off entry
 * that takes everything from one struct hvm_start_info; Linux has it when
 * built with CONFIG_PVH, which is how an uncompressed vmlinux can be booted
 * without the bzImage's setup code.  The image may be hostile: every offset
 * and size it holds is checked against the file before use, with no sum
 * that could wrap, and guest memory is written only through gmem_*().
 * The ELF and program headers are copied out of the image once, checked,
 * and only that copy is used afterwards: the image is a mapping of a file
 * that may change under ktvm, so a second read could see other values.
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/layout.h"
#include "boot/boot.h"
#include "boot/pvh.h"

#define PAGE_SIZE 4096ULL

/* Is [off, off + len) inside a file of 'size' bytes?  Never wraps. */
static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* Check the ELF header and the program header table's place in the file. */
static int check_ehdr(const uint8_t *img, size_t size, Elf64_Ehdr *eh, char *err, size_t errlen)
{
	if (size < sizeof(*eh) || memcmp(img, ELFMAG, SELFMAG) != 0) {
		/* (-1 spelled out: the analyzer cannot see that boot_err() never returns 0.) */
		boot_err(err, errlen, "not an ELF file");
		return -1;
	}
	memcpy(eh, img, sizeof(*eh)); /* the image need not be aligned */
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return boot_err(err, errlen, "ELF kernel is not 64-bit little-endian");
	if (eh->e_machine != EM_X86_64)
		return boot_err(err, errlen, "ELF kernel is for machine %u, not x86_64 (%u)",
				eh->e_machine, EM_X86_64);
	if (eh->e_type != ET_EXEC)
		return boot_err(err, errlen, "ELF kernel is not an executable (e_type %u)",
				eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return boot_err(err, errlen, "ELF program header size %u, expected %zu",
				eh->e_phentsize, sizeof(Elf64_Phdr));
	if (eh->e_phnum == 0 || eh->e_phnum == PN_XNUM)
		return boot_err(err, errlen, "ELF kernel has no usable program headers");
	if (!in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), size))
		return boot_err(
			err, errlen,
			"ELF program headers (offset %#llx, %u entries) lie past the end of the %zu-byte file",
			(unsigned long long)eh->e_phoff, eh->e_phnum, size);
	return 0;
}

/* The ELF header and the program header table, copied once and checked. */
struct elf_view {
	Elf64_Ehdr eh;
	Elf64_Phdr *ph; /* eh.e_phnum entries; free() it */
};

static int read_elf(const uint8_t *img, size_t size, struct elf_view *v, char *err,
		    size_t errlen)
{
	v->ph = NULL;
	if (check_ehdr(img, size, &v->eh, err, errlen))
		return -1;
	v->ph = malloc((size_t)v->eh.e_phnum * sizeof(*v->ph));
	if (!v->ph)
		return boot_err(err, errlen, "out of memory for %u ELF program headers",
				v->eh.e_phnum);
	memcpy(v->ph, img + v->eh.e_phoff, (size_t)v->eh.e_phnum * sizeof(*v->ph));
	return 0;
}

/*
 * Walk the notes of one PT_NOTE segment [p, p + len).  Returns 1 and *entry
 * when the PVH note is there, 0 when it is not, -1 on a malformed note.
 */
static int scan_notes(const uint8_t *p, uint64_t len, uint64_t align, uint32_t *entry, char *err,
		      size_t errlen)
{
	uint64_t off = 0;

	while (len - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;

		memcpy(&nh, p + off, sizeof(nh));
		/* n_namesz, n_descsz are 32-bit: these 64-bit sums cannot wrap. */
		uint64_t name = off + sizeof(nh);
		uint64_t desc = ALIGN_UP(name + ALIGN_UP((uint64_t)nh.n_namesz, 4), align);
		uint64_t next = ALIGN_UP(desc + nh.n_descsz, align);

		if (desc > len || nh.n_descsz > len - desc)
			return boot_err(
				err, errlen,
				"ELF note (name size %u, desc size %u) runs past the end of its segment",
				nh.n_namesz, nh.n_descsz);
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    memcmp(p + name, "Xen", 4) == 0) {
			uint64_t v;

			/* Linux emits it with _ASM_PTR: 8 bytes on x86_64, 4 elsewhere. */
			if (nh.n_descsz == 4) {
				uint32_t v32;

				memcpy(&v32, p + desc, 4);
				v = v32;
			} else if (nh.n_descsz == 8) {
				memcpy(&v, p + desc, 8);
			} else {
				return boot_err(err, errlen, "PVH entry note has a %u-byte value",
						nh.n_descsz);
			}
			if (v > UINT32_MAX)
				return boot_err(err, errlen,
						"PVH entry %#llx is not a 32-bit address",
						(unsigned long long)v);
			*entry = (uint32_t)v;
			return 1;
		}
		if (next >= len)
			break;
		off = next;
	}
	return 0;
}

static int find_entry(const uint8_t *img, size_t size, const struct elf_view *v, uint32_t *entry,
		      char *err, size_t errlen)
{
	for (unsigned int i = 0; i < v->eh.e_phnum; i++) {
		const Elf64_Phdr *ph = &v->ph[i];
		int r;

		if (ph->p_type != PT_NOTE)
			continue;
		if (!in_file(ph->p_offset, ph->p_filesz, size))
			return boot_err(err, errlen,
					"ELF note segment %u lies past the end of the file", i);
		r = scan_notes(img + ph->p_offset, ph->p_filesz, ph->p_align == 8 ? 8 : 4, entry,
			       err, errlen);
		if (r)
			return r < 0 ? -1 : 0;
	}
	return boot_err(err, errlen, "ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)");
}

int pvh_find_entry(const uint8_t *img, size_t size, uint32_t *entry, char *err, size_t errlen)
{
	struct elf_view v;
	int r = read_elf(img, size, &v, err, errlen) ? -1 : find_entry(img, size, &v, entry, err,
								       errlen);

	free(v.ph);
	return r;
}

/* Copy the PT_LOAD segments to their physical addresses, zeroing the bss parts. */
static int load_segments(struct guest_mem *m, const uint8_t *img, size_t size,
			 const struct elf_view *v, uint64_t *start, uint64_t *end, char *err,
			 size_t errlen)
{
	*start = UINT64_MAX;
	*end = 0;
	for (unsigned int i = 0; i < v->eh.e_phnum; i++) {
		Elf64_Phdr ph = v->ph[i];
		uint8_t *dst;

		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz)
			return boot_err(err, errlen,
					"ELF segment %u: file size %#llx exceeds memory size %#llx",
					i, (unsigned long long)ph.p_filesz,
					(unsigned long long)ph.p_memsz);
		if (!in_file(ph.p_offset, ph.p_filesz, size))
			return boot_err(err, errlen, "ELF segment %u lies past the end of the file",
					i);
		/* Below 1 MiB are ktvm's boot structures, page tables and the ACPI tables. */
		if (ph.p_paddr < X86_HIMEM_START)
			return boot_err(
				err, errlen,
				"ELF segment %u at %#llx overlaps the boot area below 1 MiB", i,
				(unsigned long long)ph.p_paddr);
		dst = gmem_ptr(m, ph.p_paddr, ph.p_memsz);
		if (!dst)
			return boot_err(err, errlen,
					"ELF segment %u [%#llx, +%#llx) does not fit in guest RAM",
					i, (unsigned long long)ph.p_paddr,
					(unsigned long long)ph.p_memsz);
		memcpy(dst, img + ph.p_offset, ph.p_filesz);
		/* bss: fresh RAM need not be cleared (and so faulted in) by hand */
		if (ph.p_memsz > ph.p_filesz &&
		    gmem_zero(m, ph.p_paddr + ph.p_filesz, ph.p_memsz - ph.p_filesz))
			return boot_err(err, errlen, "ELF segment %u: cannot clear its bss", i);
		if (ph.p_paddr < *start)
			*start = ph.p_paddr;
		if (ph.p_paddr + ph.p_memsz > *end) /* gmem_ptr succeeded: no wrap */
			*end = ph.p_paddr + ph.p_memsz;
	}
	if (*end == 0)
		return boot_err(err, errlen, "ELF kernel has no loadable segment");
	return 0;
}

/* End of the RAM region at guest-physical 0 (0 if none). */
static uint64_t low_ram_end(const struct guest_mem *m)
{
	for (unsigned int i = 0; i < m->nregions; i++)
		if (m->regions[i].gpa == 0)
			return m->regions[i].size;
	return 0;
}

/* The initrd goes as high as possible in low RAM (below 4 GiB), above the kernel. */
static int place_initrd(struct guest_mem *m, const struct x86_boot_in *in, uint64_t kernel_end,
			uint64_t *addr, char *err, size_t errlen)
{
	uint64_t low_end = low_ram_end(m);
	uint64_t floor = ALIGN_UP(kernel_end, PAGE_SIZE);

	if (low_end > X86_MMIO_HOLE_END)
		low_end = X86_MMIO_HOLE_END;
	if (low_end < floor || in->initrd_size > low_end - floor)
		return boot_err(
			err, errlen,
			"initrd (%zu bytes) does not fit in guest RAM between the kernel end %#llx and %#llx",
			in->initrd_size, (unsigned long long)floor, (unsigned long long)low_end);
	*addr = ALIGN_DOWN(low_end - in->initrd_size, PAGE_SIZE);
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
	struct elf_view v;
};

static int load(void *opaque)
{
	struct load_args *a = opaque;
	struct guest_mem *m = a->m;
	const struct x86_boot_in *in = a->in;
	struct x86_boot_out *out = a->out;
	char *err = a->err;
	size_t errlen = a->errlen;
	/* hvm_start_info, then the module list, then the memory map: one page. */
	struct {
		struct hvm_start_info si;
		struct hvm_modlist_entry mod;
		struct hvm_memmap_table_entry map[(PAGE_SIZE - sizeof(struct hvm_start_info) -
						   sizeof(struct hvm_modlist_entry)) /
						  sizeof(struct hvm_memmap_table_entry)];
	} info;
	const uint64_t info_gpa = X86_PVH_INFO_ADDR;
	uint64_t kstart, kend, initrd = 0;
	uint32_t entry = 0; /* for the analyzer: boot_err is variadic */
	size_t cmdlen;

	_Static_assert(sizeof(info) <= PAGE_SIZE, "PVH info fits in one page");
	/* Validated once; only this copy is used from here on. */
	if (read_elf(in->kernel, in->kernel_size, &a->v, err, errlen) ||
	    find_entry(in->kernel, in->kernel_size, &a->v, &entry, err, errlen))
		return -1;
	if (in->ne820 == 0 || in->ne820 > ARRAY_SIZE(info.map))
		return boot_err(err, errlen, "e820 map has %u entries (1..%zu supported)",
				in->ne820, ARRAY_SIZE(info.map));
	cmdlen = in->cmdline ? strlen(in->cmdline) : 0;
	if (cmdlen >= X86_CMDLINE_MAX)
		return boot_err(err, errlen, "command line is %zu bytes, the limit is %llu", cmdlen,
				X86_CMDLINE_MAX - 1);

	if (load_segments(m, in->kernel, in->kernel_size, &a->v, &kstart, &kend, err, errlen))
		return -1;
	if (entry < kstart || entry >= kend)
		return boot_err(err, errlen,
				"PVH entry %#x lies outside the loaded kernel [%#llx, %#llx)",
				entry, (unsigned long long)kstart, (unsigned long long)kend);
	if (in->initrd && place_initrd(m, in, kend, &initrd, err, errlen))
		return -1;
	if (gmem_write(m, X86_CMDLINE_ADDR, cmdlen ? in->cmdline : "", cmdlen + 1))
		return boot_err(err, errlen, "cannot write the command line to guest memory");

	memset(&info, 0, sizeof(info));
	info.si.magic = XEN_HVM_START_MAGIC_VALUE;
	info.si.version = 1;
	info.si.cmdline_paddr = X86_CMDLINE_ADDR;
	info.si.rsdp_paddr = in->rsdp_gpa;
	if (in->initrd) {
		info.si.nr_modules = 1;
		info.si.modlist_paddr = info_gpa + offsetof(typeof(info), mod);
		info.mod.paddr = initrd;
		info.mod.size = in->initrd_size;
	}
	info.si.memmap_paddr = info_gpa + offsetof(typeof(info), map);
	info.si.memmap_entries = in->ne820;
	for (unsigned int i = 0; i < in->ne820; i++) {
		/* The Xen memmap types were chosen equal to e820's. */
		info.map[i].addr = in->e820[i].addr;
		info.map[i].size = in->e820[i].size;
		info.map[i].type = in->e820[i].type;
	}
	if (gmem_write(m, info_gpa, &info, sizeof(info)))
		return boot_err(err, errlen, "cannot write hvm_start_info to guest memory");

	*out = (struct x86_boot_out){
		.mode = X86_ENTRY_PVH32,
		.entry = entry,
		.boot_param = info_gpa,
		.kernel_start = kstart,
		.kernel_end = kend,
		.initrd_start = initrd,
	};
	return 0;
}

int pvh_load(struct guest_mem *m, const struct x86_boot_in *in, struct x86_boot_out *out, char *err,
	     size_t errlen)
{
	struct load_args a = { .m = m, .in = in, .out = out, .err = err, .errlen = errlen };
	int r = boot_guarded(load, &a, err, errlen);

	free(a.v.ph);
	return r;
}
