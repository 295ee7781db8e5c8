// SPDX-License-Identifier: MIT
/*
 * guest_mem.c - guest RAM: one anonymous mapping, split into regions around
 * the architecture's holes, and the one checked accessor to it.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "vmm/ktvm.h"

int gmem_init(struct guest_mem *m, uint64_t size, const struct mem_region *layout, unsigned int n)
{
	uint64_t off = 0;

	memset(m, 0, sizeof(*m));
	if (n == 0 || n > GUEST_MEM_MAX_REGIONS)
		return -1;
	m->base = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->base == MAP_FAILED) {
		m->base = NULL;
		return -1;
	}
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
