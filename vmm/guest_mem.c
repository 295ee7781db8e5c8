// SPDX-License-Identifier: MIT
/*
 * guest_mem.c - guest RAM: one anonymous mapping, split into regions around
 * the architecture's holes, and the one checked accessor to it.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "vmm/ktvm.h"

#define GMEM_ALIGN (2ULL << 20)

int gmem_init(struct guest_mem *m, uint64_t size, const struct mem_region *layout, unsigned int n)
{
	uint64_t off = 0;
	uint8_t *raw;

	memset(m, 0, sizeof(*m));
	if (n == 0 || n > GUEST_MEM_MAX_REGIONS)
		return -1;
	/*
	 * 2 MiB-aligned (older kernels do not align large anonymous mappings):
	 * only then can a huge page back guest-physical 2 MiB blocks, and KVM
	 * map them with 2 MiB stage-2 entries.  Unaligned, every 4 KiB page
	 * the guest touches first is a nested page fault; in the nested venue
	 * that made the guest kernel's own boot ~1.5x slower than under QEMU.
	 */
	raw = mmap(NULL, size + GMEM_ALIGN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return -1;
	m->base = raw + (ALIGN_UP((uintptr_t)raw, GMEM_ALIGN) - (uintptr_t)raw);
	if (m->base > raw)
		munmap(raw, (size_t)(m->base - raw));
	munmap(m->base + size, (size_t)(raw + GMEM_ALIGN - m->base));
	/* Guest RAM is the bulk of a VM: let the host back it with huge pages. */
	madvise(m->base, size, MADV_HUGEPAGE);
	/*
	 * Named in /proc/PID/smaps ("[anon:ktvm guest ram]"), so ktvm's own
	 * memory can be told from the guest's.  Kernels without
	 * CONFIG_ANON_VMA_NAME refuse: harmless.
	 */
	prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)m->base, size,
	      (unsigned long)"ktvm guest ram");
	m->size = size;
	for (unsigned int i = 0; i < n; i++) {
		if (layout[i].size > size - off)
			goto fail;
		m->regions[i].gpa = layout[i].gpa;
		m->regions[i].size = layout[i].size;
		m->regions[i].hva = m->base + off;
		off += layout[i].size;
	}
	m->nregions = n;
	if (off != size)
		goto fail;
	return 0;
fail:
	gmem_destroy(m);
	errno = EINVAL;
	return -1;
}

void gmem_destroy(struct guest_mem *m)
{
	if (m->base)
		munmap(m->base, m->size);
	memset(m, 0, sizeof(*m));
}

void *gmem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < m->nregions; i++) {
		const struct mem_region *r = &m->regions[i];

		/* Written so that no sum can wrap: gpa - r->gpa only after gpa >= r->gpa. */
		if (gpa < r->gpa)
			continue;
		uint64_t off = gpa - r->gpa;
		if (off >= r->size || len > r->size - off)
			continue;
		return r->hva + off;
	}
	return NULL;
}

int gmem_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len)
{
	void *p = gmem_ptr(m, gpa, len);

	if (!p)
		return -1;
	memcpy(dst, p, len);
	return 0;
}

int gmem_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = gmem_ptr(m, gpa, len);

	if (!p)
		return -1;
	memcpy(p, src, len);
	return 0;
}

int gmem_zero(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t psz = page > 0 ? (uint64_t)page : 4096;
	uint8_t *p = gmem_ptr(m, gpa, len);
	uint64_t head, tail;

	if (!p)
		return -1;
	/* Page boundaries in host addresses (regions start page-aligned in the mapping). */
	head = ALIGN_UP((uintptr_t)p, psz) - (uintptr_t)p;
	if (head >= len || len - head < psz ||
	    madvise(p + head, ALIGN_DOWN(len - head, psz), MADV_DONTNEED)) {
		memset(p, 0, len);
		return 0;
	}
	tail = head + ALIGN_DOWN(len - head, psz);
	memset(p, 0, head);
	memset(p + tail, 0, len - tail);
	return 0;
}
