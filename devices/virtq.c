// SPDX-License-Identifier: MIT
/*
 * virtq.c - the split virtqueue (virtio 1.2 section 2.7) against a hostile
 * driver.
 *
 * Rules this file keeps:
 *  - Every guest-controlled value is read once into a local (descriptors are
 *    copied, ring entries loaded with one atomic load) and validated before
 *    use, so the guest cannot change it between check and use.
 *  - Every buffer goes through gmem_ptr(): a buffer must lie inside one RAM
 *    region (one spanning two regions is rejected, which no real driver does
 *    because it allocates buffers from contiguous guest-physical memory).
 *  - Every loop is bounded by the table size and VIRTQ_MAX_CHAIN.
 *  - Zero-length descriptors are legal but contribute no iovec, and their
 *    address is not checked (nothing is ever accessed through it).
 *  - The ring indices start from used->idx as found at virtq_enable (0 after
 *    a reset, where the driver also starts its avail idx), which keeps a
 *    driver that re-enables a queue without resetting it consistent.
 *  - Kick suppression with EVENT_IDX is vhost's: avail_event is written only
 *    by virtq_enable() and virtq_enable_kicks(), so while kicks are disabled
 *    it goes stale and the driver stops kicking.  A worker must therefore
 *    follow the disable / drain / enable / re-check loop (see virtq.h).
 *
 * Byte order: virtio 1.x rings are little-endian; the leXXtoh() calls cost
 * nothing on the little-endian hosts ktvm runs on.
 */
#include <endian.h>
#include <string.h>
#include <linux/virtio_pci.h>

#include "devices/virtq.h"

/* Stop the compiler from re-reading guest memory it already copied. */
#define barrier() __asm__ __volatile__("" ::: "memory")

/*
 * A field the statistics reader looks at while the worker runs (see
 * virtq.h, "Threading"): one relaxed store, a plain mov, never torn.
 */
#define publish(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* Each rule logs once per ktvm (a guest can break queues forever), then breaks the queue. */
#define vq_fail(q, ...)                                                                 \
	({                                                                              \
		log_once(LOG_WARN, "virtq", "queue broken by the guest: " __VA_ARGS__); \
		publish(&(q)->broken, true);                                            \
		-1;                                                                     \
	})

static inline uint16_t load16_acquire(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

static inline uint16_t load16(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static inline void store16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
}

/* used_event: after the avail ring; avail_event: after the used ring. */
static inline uint16_t *used_event_ptr(struct virtq *q)
{
	return &q->avail->ring[q->size];
}

static inline uint16_t *avail_event_ptr(struct virtq *q)
{
	return (uint16_t *)&q->used->ring[q->size];
}

void virtq_reset(struct virtq *q)
{
	const struct guest_mem *mem = q->mem;
	uint16_t max_size = q->max_size;
	int kick_fd = q->kick_fd, call_fd = q->call_fd;

	memset(q, 0, sizeof(*q));
	q->mem = mem;
	q->max_size = max_size;
	/* After reset the queue size register reads the maximum (virtio 1.2 4.1.4.3). */
	q->size = max_size;
	q->kick_fd = kick_fd;
	q->call_fd = call_fd;
	q->msix_vector = VIRTIO_MSI_NO_VECTOR;
}

void virtq_init(struct virtq *q, const struct guest_mem *mem, uint16_t max_size)
{
	q->mem = mem;
	q->max_size = max_size;
	q->kick_fd = -1;
	q->call_fd = -1;
	virtq_reset(q);
}

static void *map_ring(struct virtq *q, const char *what, uint64_t gpa, uint64_t align, uint64_t len)
{
	void *p;

	if (gpa & (align - 1)) {
		log_once(LOG_WARN, "virtq", "%s ring at 0x%llx is not %llu-byte aligned", what,
			 (unsigned long long)gpa, (unsigned long long)align);
		return NULL;
	}
	p = gmem_ptr(q->mem, gpa, len);
	if (!p)
		log_once(LOG_WARN, "virtq", "%s ring [0x%llx, +%llu) is not in guest RAM", what,
			 (unsigned long long)gpa, (unsigned long long)len);
	return p;
}

int virtq_enable(struct virtq *q)
{
	uint16_t size = q->size;
	void *desc, *avail, *used;

	q->enabled = false;
	if (q->broken || !q->mem)
		return -1;
	if (size == 0 || (size & (size - 1)) || size > q->max_size || size > VIRTQ_MAX_SIZE) {
		log_once(LOG_WARN, "virtq", "queue size %u is not a power of two in [1, %u]", size,
			 q->max_size);
		return -1;
	}
	/* Whole rings, including the event idx fields (virtio 1.2 2.7). */
	desc = map_ring(q, "descriptor", q->desc_gpa, 16, 16ULL * size);
	avail = map_ring(q, "available", q->avail_gpa, 2, 6 + 2ULL * size);
	used = map_ring(q, "used", q->used_gpa, 4, 6 + 8ULL * size);
	if (!desc || !avail || !used)
		return -1;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	q->last_avail_idx = q->used_idx = q->published_used = load16(&q->used->idx);
	q->signalled_valid = false;
	/* The device owns these: start with kicks wanted. */
	store16(&q->used->flags, 0);
	store16(avail_event_ptr(q), q->last_avail_idx);
	q->enabled = true;
	return 0;
}

static bool vq_live(const struct virtq *q)
{
	return q->enabled && !q->broken;
}

/* Guest-visible count of buffers not yet popped; more than size is a violation. */
static int vq_pending(struct virtq *q)
{
	uint16_t n = (uint16_t)(load16_acquire(&q->avail->idx) - q->last_avail_idx);

	if (n > q->size)
		return vq_fail(q, "avail idx is %u entries ahead of a %u-entry ring", n, q->size);
	return n;
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	const struct vring_desc *table;
	uint32_t table_size, walked = 0, nbufs = 0;
	uint64_t out_bytes = 0, in_bytes = 0;
	uint16_t idx, n_out = 0, n_in = 0;
	bool in_indirect = false;
	int pending;

	if (q->broken)
		return -1;
	if (!q->enabled)
		return 0;
	pending = vq_pending(q);
	if (pending <= 0)
		return pending;

	/* The acquire load of avail->idx above orders this read after it. */
	idx = load16(&q->avail->ring[q->last_avail_idx & (q->size - 1)]);
	if (idx >= q->size)
		return vq_fail(q, "head descriptor index %u >= queue size %u", idx, q->size);
	c->head = idx;
	table = q->desc;
	table_size = q->size;

	for (;;) {
		struct vring_desc d;
		uint64_t addr;
		uint32_t len;
		uint16_t flags;
		void *p;

		/* A chain can visit each descriptor of its table at most once: this ends loops. */
		if (++walked > table_size)
			return vq_fail(q, "descriptor chain loops or is longer than its table (%u)",
				       table_size);
		memcpy(&d, &table[idx], sizeof(d));
		barrier();
		addr = le64toh(d.addr);
		len = le32toh(d.len);
		flags = le16toh(d.flags);

		if (flags & VRING_DESC_F_INDIRECT) {
			if (!q->indirect)
				return vq_fail(q, "indirect descriptor without INDIRECT_DESC");
			if (in_indirect)
				return vq_fail(q, "indirect descriptor inside an indirect table");
			if (flags & VRING_DESC_F_NEXT)
				return vq_fail(q, "indirect descriptor with NEXT set");
			if (len == 0 || len % sizeof(d) || len / sizeof(d) > q->size ||
			    len / sizeof(d) > VIRTQ_MAX_CHAIN)
				return vq_fail(q, "indirect table of %u bytes (queue size %u)", len,
					       q->size);
			p = gmem_ptr(q->mem, addr, len);
			if (!p)
				return vq_fail(q, "indirect table [0x%llx, +%u) not in guest RAM",
					       (unsigned long long)addr, len);
			table = p;
			table_size = len / sizeof(d);
			walked = 0;
			idx = 0;
			in_indirect = true;
			continue;
		}

		if (flags & VRING_DESC_F_WRITE) {
			in_bytes += len;
		} else {
			if (n_in)
				return vq_fail(q,
					       "device-readable descriptor after a writable one");
			out_bytes += len;
		}
		if (out_bytes > UINT32_MAX || in_bytes > UINT32_MAX)
			return vq_fail(q, "descriptor chain longer than 4 GiB");
		if (len) {
			if (nbufs >= VIRTQ_MAX_CHAIN)
				return vq_fail(q, "chain of more than %u buffers", VIRTQ_MAX_CHAIN);
			p = gmem_ptr(q->mem, addr, len);
			if (!p)
				return vq_fail(q, "buffer [0x%llx, +%u) not in guest RAM",
					       (unsigned long long)addr, len);
			c->iov[nbufs].iov_base = p;
			c->iov[nbufs].iov_len = len;
			nbufs++;
			if (flags & VRING_DESC_F_WRITE)
				n_in++;
			else
				n_out++;
		}
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		idx = le16toh(d.next);
		if (idx >= table_size)
			return vq_fail(q, "next descriptor index %u >= table size %u", idx,
				       table_size);
	}
	c->n_out = n_out;
	c->n_in = n_in;
	c->out_bytes = (uint32_t)out_bytes;
	c->in_bytes = (uint32_t)in_bytes;
	publish(&q->last_avail_idx, (uint16_t)(q->last_avail_idx + 1));
	return 1;
}

void virtq_unpop(struct virtq *q, uint16_t n)
{
	if (vq_live(q))
		publish(&q->last_avail_idx, (uint16_t)(q->last_avail_idx - n));
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e;

	if (!vq_live(q))
		return;
	e = &q->used->ring[q->used_idx & (q->size - 1)];
	e->id = htole32(head);
	e->len = htole32(len);
	q->used_idx++;
}

void virtq_flush(struct virtq *q)
{
	if (!vq_live(q) || q->published_used == q->used_idx)
		return;
	/* Release: the driver that sees the new idx sees the elements written before it. */
	__atomic_store_n(&q->used->idx, htole16(q->used_idx), __ATOMIC_RELEASE);
	publish(&q->published_used, q->used_idx);
}

bool virtq_should_interrupt(struct virtq *q)
{
	uint16_t old, new;
	bool valid;

	if (!vq_live(q))
		return false;
	/* Our used->idx store must be visible before we read the driver's wishes. */
	atomic_thread_fence(memory_order_seq_cst);
	if (!q->event_idx)
		return !(load16(&q->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	old = q->signalled_used;
	new = q->published_used;
	valid = q->signalled_valid;
	publish(&q->signalled_used, new);
	q->signalled_valid = true;
	/* First time after enable we have no reference point: interrupt to be safe. */
	if (!valid)
		return true;
	return vring_need_event(load16(used_event_ptr(q)), new, old);
}

bool virtq_has_avail(struct virtq *q)
{
	if (!vq_live(q))
		return false;
	return load16_acquire(&q->avail->idx) != q->last_avail_idx;
}

void virtq_disable_kicks(struct virtq *q)
{
	if (!vq_live(q))
		return;
	/* With EVENT_IDX, leaving avail_event stale suppresses kicks (see the top). */
	if (!q->event_idx)
		store16(&q->used->flags, VRING_USED_F_NO_NOTIFY);
}

bool virtq_enable_kicks(struct virtq *q)
{
	if (!vq_live(q))
		return false;
	if (q->event_idx)
		store16(avail_event_ptr(q), q->last_avail_idx);
	else
		store16(&q->used->flags, 0);
	/* The driver checks our flag after publishing; we check its idx after ours. */
	atomic_thread_fence(memory_order_seq_cst);
	return virtq_has_avail(q);
}
