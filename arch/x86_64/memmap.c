// SPDX-License-Identifier: MIT
/*
 * memmap.c - the x86_64 guest's physical memory map.
 *
 * RAM fills guest-physical space from 0 up to the 32-bit MMIO hole (3 GiB),
 * and whatever does not fit below it continues at 4 GiB: the PC layout every
 * x86 kernel expects, leaving [3 GiB, 4 GiB) for the PCI window and ECAM,
 * the IOAPIC and the local APIC.
 */
#include "arch/x86_64/layout.h"
#include "arch/x86_64/memmap.h"

unsigned int arch_mem_layout(uint64_t size, struct mem_region *out, unsigned int max)
{
	uint64_t low = size < X86_MMIO_HOLE_START ? size : X86_MMIO_HOLE_START;
	unsigned int n = size > low ? 2 : 1;

	if (size == 0 || max < n)
		return 0;
	out[0] = (struct mem_region){.gpa = 0, .size = low};
	if (n == 2)
		out[1] = (struct mem_region){.gpa = X86_MMIO_HOLE_END, .size = size - low};
	return n;
}

uint64_t x86_low_ram_end(const struct guest_mem *m)
{
	for (unsigned int i = 0; i < m->nregions; i++)
		if (m->regions[i].gpa == 0)
			return m->regions[i].size;
	return 0;
}

static bool e820_add(struct e820_ent *out, unsigned int max, unsigned int *n, uint64_t addr,
		     uint64_t end, uint32_t type)
{
	if (end <= addr)
		return true; /* nothing to say: not an error */
	if (*n >= max)
		return false;
	out[(*n)++] = (struct e820_ent){.addr = addr, .size = end - addr, .type = type};
	return true;
}

unsigned int x86_build_e820(const struct guest_mem *m, struct e820_ent *out, unsigned int max)
{
	unsigned int n = 0;
	bool ok = true;

	for (unsigned int i = 0; i < m->nregions && ok; i++) {
		const struct mem_region *r = &m->regions[i];
		uint64_t end = r->gpa + r->size;

		if (r->gpa != 0) {
			ok = e820_add(out, max, &n, r->gpa, end, E820_RAM);
			continue;
		}
		/*
		 * Reserved rather than E820_ACPI for the ACPI tables: they share
		 * the BIOS area with the EBDA, and "reserved" is what real
		 * firmware reports there; Linux finds the tables through the
		 * RSDP pointer and maps them wherever they are.  The reserved
		 * range is clipped to RAM so a tiny guest gets no entry for
		 * memory it does not have.
		 */
		uint64_t ebda = end < X86_EBDA_START ? end : X86_EBDA_START;
		uint64_t himem = end < X86_HIMEM_START ? end : X86_HIMEM_START;

		ok = e820_add(out, max, &n, 0, ebda, E820_RAM) &&
		     e820_add(out, max, &n, ebda, himem, E820_RESERVED) &&
		     e820_add(out, max, &n, himem, end, E820_RAM);
		/*
		 * PCI ECAM, in the hole between low RAM and 4 GiB: Linux uses
		 * MMCONFIG only where the firmware reserved it.
		 */
		if (ok)
			ok = e820_add(out, max, &n, X86_PCI_ECAM_BASE,
				      X86_PCI_ECAM_BASE + X86_PCI_ECAM_SIZE, E820_RESERVED);
	}
	return ok ? n : 0;
}
