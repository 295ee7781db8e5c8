// SPDX-License-Identifier: MIT
/* tiny_guest.c - see tiny_guest.h. */
#include <elf.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/common/tiny_guest.h"

#define LOAD 0x100000u

int tiny_guest_write(int fd, const uint8_t *code, size_t len)
{
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph[2];
		Elf64_Nhdr nh;
		char name[4];
		uint32_t entry;
	} h = {
		.eh = {.e_ident = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB,
				   EV_CURRENT},
		       .e_type = ET_EXEC,
		       .e_machine = EM_X86_64,
		       .e_version = EV_CURRENT,
		       .e_entry = LOAD,
		       .e_phoff = sizeof(Elf64_Ehdr),
		       .e_ehsize = sizeof(Elf64_Ehdr),
		       .e_phentsize = sizeof(Elf64_Phdr),
		       .e_phnum = 2},
		.ph = {{.p_type = PT_NOTE,
			.p_offset = offsetof(typeof(h), nh),
			.p_filesz = sizeof(Elf64_Nhdr) + 8,
			.p_align = 4},
		       {.p_type = PT_LOAD,
			.p_flags = PF_R | PF_X,
			.p_offset = 0x1000,
			.p_vaddr = LOAD,
			.p_paddr = LOAD,
			.p_filesz = len,
			.p_memsz = len,
			.p_align = 0x1000}},
		.nh = {.n_namesz = 4, .n_descsz = 4, .n_type = 18 /* XEN_ELFNOTE_PHYS32_ENTRY */},
		.name = "Xen",
		.entry = LOAD,
	};
	uint8_t page[0x1000] = {0};

	memcpy(page, &h, sizeof(h));
	return write(fd, page, sizeof(page)) == (ssize_t)sizeof(page) &&
			       write(fd, code, len) == (ssize_t)len
		       ? 0
		       : -1;
}

int tiny_guest_ktvm_testhooks(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return -1;
	self[n] = 0;
	return snprintf(buf, len, "%s/../ktvm-testhooks", dirname(self)) < (int)len ? 0 : -1;
}

int64_t tiny_guest_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
