// SPDX-License-Identifier: MIT
/*
 * io_bus.c - the trap table: a sorted array of disjoint ranges per bus
 * (port I/O, MMIO).  Lookups take a read lock so vCPUs dispatch in
 * parallel; registration (rare: setup, BAR moves) takes the write lock.
 */
#include <string.h>

#include "vmm/ktvm.h"

void io_bus_init(struct io_bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	pthread_rwlock_init(&bus->lock, NULL);
}

int io_bus_register(struct io_bus *bus, uint64_t base, uint64_t len, io_handler_fn fn,
		    void *opaque, const char *name)
{
	unsigned int i;
	int ret = -1;

	if (len == 0 || base + len - 1 < base)
		return -1;
	pthread_rwlock_wrlock(&bus->lock);
	if (bus->n == IO_BUS_MAX_RANGES)
		goto out;
	for (i = 0; i < bus->n; i++) {
		const struct io_range *r = &bus->ranges[i];

		if (base <= r->base + r->len - 1 && r->base <= base + len - 1)
			goto out; /* overlap */
		if (r->base > base)
			break;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i], (bus->n - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct io_range){ base, len, fn, opaque, name };
	bus->n++;
	ret = 0;
out:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int io_bus_unregister(struct io_bus *bus, uint64_t base)
{
	int ret = -1;

	pthread_rwlock_wrlock(&bus->lock);
	for (unsigned int i = 0; i < bus->n; i++) {
		if (bus->ranges[i].base != base)
			continue;
		memmove(&bus->ranges[i], &bus->ranges[i + 1],
			(bus->n - i - 1) * sizeof(bus->ranges[0]));
		bus->n--;
		ret = 0;
		break;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

static const struct io_range *io_bus_find(const struct io_bus *bus, uint64_t addr)
{
	unsigned int lo = 0, hi = bus->n;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		const struct io_range *r = &bus->ranges[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

bool io_bus_access(struct io_bus *bus, uint64_t addr, uint8_t *data, uint32_t size, bool is_write)
{
	const struct io_range *r;
	struct io_range hit;
	bool found = false;

	pthread_rwlock_rdlock(&bus->lock);
	r = io_bus_find(bus, addr);
	/* An access must lie wholly inside one range; a straddling one hits nothing. */
	if (r && size <= r->len - (addr - r->base)) {
		hit = *r;
		found = true;
	}
	pthread_rwlock_unlock(&bus->lock);
	/*
	 * The handler runs without the bus lock: it may (un)register ranges
	 * itself (a PCI config write that moves a BAR).  Ranges are never
	 * freed while vCPUs run, so the copied handler stays valid.
	 */
	if (found)
		hit.fn(hit.opaque, addr - hit.base, data, size, is_write);
	else if (!is_write)
		memset(data, 0xff, size);
	return found;
}
