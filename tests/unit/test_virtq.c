// SPDX-License-Identifier: MIT
/*
 * test_virtq.c - the split virtqueue against a well-behaved and a hostile
 * driver.  A tiny "driver" below lays rings and descriptors out in guest
 * memory; every malformed case is its own test and must break the queue.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "devices/virtq.h"

/* Low RAM, a hole, and RAM at 4 GiB: like x86 around the PCI hole. */
static const struct mem_region layout[] = {
	{.gpa = 0, .size = MiB(1)},
	{.gpa = GiB(4), .size = MiB(1)},
};
static struct guest_mem mem;

#define MAX_SIZE  256
#define DESC_GPA  0x10000ULL
#define AVAIL_GPA 0x20000ULL
#define USED_GPA  0x30000ULL
#define BUF_GPA	  0x40000ULL /* data buffers */
#define IND_GPA	  0x80000ULL /* indirect tables */
#define HIGH_GPA  GiB(4)

static struct virtq_chain chain;

/* ---- the test driver ---- */
struct drv {
	struct virtq q;
	uint16_t size;
	uint16_t avail_idx;
};

static void *gp(uint64_t gpa, uint64_t len)
{
	void *p = gmem_ptr(&mem, gpa, len);

	assert_non_null(p);
	return p;
}

static struct vring_avail *avail(void)
{
	return gp(AVAIL_GPA, 4);
}

static struct vring_used *used(void)
{
	return gp(USED_GPA, 4);
}

static uint16_t *used_event(struct drv *d)
{
	return &avail()->ring[d->size];
}

static uint16_t *avail_event(struct drv *d)
{
	return (uint16_t *)&used()->ring[d->size];
}

static void set_desc(uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	struct vring_desc *t = gp(table + 16ULL * i, 16);

	t->addr = addr;
	t->len = len;
	t->flags = flags;
	t->next = next;
}

static void avail_put(struct drv *d, uint16_t head)
{
	avail()->ring[d->avail_idx & (d->size - 1)] = head;
	d->avail_idx++;
	avail()->idx = d->avail_idx;
}

/* Rings zeroed, both indices at 'start', queue enabled with the given features. */
static void drv_start(struct drv *d, uint16_t size, uint16_t start, bool indirect, bool event_idx)
{
	memset(gp(DESC_GPA, 16 * MAX_SIZE), 0, 16 * MAX_SIZE);
	memset(gp(AVAIL_GPA, 6 + 2 * MAX_SIZE), 0, 6 + 2 * MAX_SIZE);
	memset(gp(USED_GPA, 6 + 8 * MAX_SIZE), 0, 6 + 8 * MAX_SIZE);
	d->size = size;
	d->avail_idx = start;
	avail()->idx = start;
	used()->idx = start;
	virtq_init(&d->q, &mem, MAX_SIZE);
	d->q.size = size;
	d->q.desc_gpa = DESC_GPA;
	d->q.avail_gpa = AVAIL_GPA;
	d->q.used_gpa = USED_GPA;
	assert_int_equal(virtq_enable(&d->q), 0);
	assert_true(d->q.enabled);
	d->q.indirect = indirect;
	d->q.event_idx = event_idx;
}

static void expect_broken(struct drv *d)
{
	assert_int_equal(virtq_pop(&d->q, &chain), -1);
	assert_true(d->q.broken);
	assert_int_equal(virtq_pop(&d->q, &chain), -1);
}

/* One descriptor 0 at 'addr'/'len' with 'flags' as head; expect the queue to break. */
static void expect_broken_single(uint64_t addr, uint32_t len, uint16_t flags, bool indirect)
{
	struct drv d;

	drv_start(&d, 8, 0, indirect, false);
	set_desc(DESC_GPA, 0, addr, len, flags, 0);
	avail_put(&d, 0);
	expect_broken(&d);
}

/* ---- good cases ---- */
static void test_empty(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, false, false);
	assert_false(virtq_has_avail(&d.q));
	assert_int_equal(virtq_pop(&d.q, &chain), 0);
}

static void test_single_buffer(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, false, false);
	set_desc(DESC_GPA, 3, BUF_GPA, 100, 0, 0);
	avail_put(&d, 3);
	assert_true(virtq_has_avail(&d.q));
	assert_int_equal(virtq_pop(&d.q, &chain), 1);
	assert_int_equal(chain.head, 3);
	assert_int_equal(chain.n_out, 1);
	assert_int_equal(chain.n_in, 0);
	assert_int_equal(chain.out_bytes, 100);
	assert_ptr_equal(chain.iov[0].iov_base, mem.base + BUF_GPA);
	assert_int_equal(chain.iov[0].iov_len, 100);
	assert_int_equal(virtq_pop(&d.q, &chain), 0);
}

static void test_chain_out_in(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, false, false);
	set_desc(DESC_GPA, 0, BUF_GPA, 10, VRING_DESC_F_NEXT, 5);
	set_desc(DESC_GPA, 5, BUF_GPA + 0x100, 20, VRING_DESC_F_NEXT, 2);
	set_desc(DESC_GPA, 2, HIGH_GPA, 30, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 7);
	set_desc(DESC_GPA, 7, HIGH_GPA + 0x100, 40, VRING_DESC_F_WRITE, 0);
	avail_put(&d, 0);
	assert_int_equal(virtq_pop(&d.q, &chain), 1);
	assert_int_equal(chain.head, 0);
	assert_int_equal(chain.n_out, 2);
	assert_int_equal(chain.n_in, 2);
	assert_int_equal(chain.out_bytes, 30);
	assert_int_equal(chain.in_bytes, 70);
	assert_ptr_equal(chain.iov[1].iov_base, mem.base + BUF_GPA + 0x100);
	assert_ptr_equal(chain.iov[2].iov_base, mem.base + MiB(1));
	assert_int_equal(chain.iov[3].iov_len, 40);
}

/* A chain may use every descriptor of the queue once. */
static void test_chain_of_queue_size(void **state)
{
	struct drv d;

	drv_start(&d, 16, 0, false, false);
	for (uint16_t i = 0; i < 16; i++)
		set_desc(DESC_GPA, i, BUF_GPA + i, 1, i < 15 ? VRING_DESC_F_NEXT : 0, i + 1);
	avail_put(&d, 0);
	assert_int_equal(virtq_pop(&d.q, &chain), 1);
	assert_int_equal(chain.n_out, 16);
}

/* Zero-length descriptors are legal, give no iovec, and their address is not looked at. */
static void test_zero_length_descriptor(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, false, false);
	set_desc(DESC_GPA, 0, UINT64_MAX, 0, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, BUF_GPA, 8, VRING_DESC_F_WRITE, 0);
	avail_put(&d, 0);
	assert_int_equal(virtq_pop(&d.q, &chain), 1);
	assert_int_equal(chain.n_out, 0);
	assert_int_equal(chain.n_in, 1);
	assert_int_equal(chain.in_bytes, 8);
}

static void test_buffer_at_ram_edges(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, false, false);
	set_desc(DESC_GPA, 0, MiB(1) - 16, 16, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, HIGH_GPA + MiB(1) - 16, 16, VRING_DESC_F_WRITE, 0);
	avail_put(&d, 0);
	assert_int_equal(virtq_pop(&d.q, &chain), 1);
	assert_ptr_equal(chain.iov[1].iov_base, mem.base + MiB(2) - 16);
}

static void test_indirect_table(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, true, false);
	set_desc(IND_GPA, 0, BUF_GPA, 12, VRING_DESC_F_NEXT, 2);
	set_desc(IND_GPA, 2, BUF_GPA + 0x1000, 1500, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(IND_GPA, 1, HIGH_GPA, 64, VRING_DESC_F_WRITE, 0);
	set_desc(DESC_GPA, 4, IND_GPA, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	avail_put(&d, 4);
	assert_int_equal(virtq_pop(&d.q, &chain), 1);
	assert_int_equal(chain.head, 4);
	assert_int_equal(chain.n_out, 1);
	assert_int_equal(chain.n_in, 2);
	assert_int_equal(chain.out_bytes, 12);
	assert_int_equal(chain.in_bytes, 1564);
}

/* Direct descriptors followed by an indirect one (the chain's last). */
static void test_indirect_after_direct(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, true, false);
	set_desc(DESC_GPA, 0, BUF_GPA, 10, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, IND_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(IND_GPA, 0, BUF_GPA + 0x100, 20, VRING_DESC_F_WRITE, 0);
	avail_put(&d, 0);
	assert_int_equal(virtq_pop(&d.q, &chain), 1);
	assert_int_equal(chain.n_out, 1);
	assert_int_equal(chain.n_in, 1);
}

/* The largest indirect table allowed: queue size entries, each used once. */
static void test_indirect_full_table(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, true, false);
	for (uint16_t i = 0; i < 8; i++)
		set_desc(IND_GPA, i, BUF_GPA, 1, i < 7 ? VRING_DESC_F_NEXT : 0, i + 1);
	set_desc(DESC_GPA, 0, IND_GPA, 8 * 16, VRING_DESC_F_INDIRECT, 0);
	avail_put(&d, 0);
	assert_int_equal(virtq_pop(&d.q, &chain), 1);
	assert_int_equal(chain.n_out, 8);
}

static void test_used_ring_push_flush(void **state)
{
	struct drv d;

	drv_start(&d, 4, 0, false, false);
	set_desc(DESC_GPA, 1, BUF_GPA, 64, VRING_DESC_F_WRITE, 0);
	set_desc(DESC_GPA, 2, BUF_GPA, 64, VRING_DESC_F_WRITE, 0);
	avail_put(&d, 1);
	avail_put(&d, 2);
	assert_int_equal(virtq_pop(&d.q, &chain), 1);
	virtq_push(&d.q, chain.head, 42);
	assert_int_equal(virtq_pop(&d.q, &chain), 1);
	virtq_push(&d.q, chain.head, 7);
	/* Nothing visible before the flush. */
	assert_int_equal(used()->idx, 0);
	virtq_flush(&d.q);
	assert_int_equal(used()->idx, 2);
	assert_int_equal(used()->ring[0].id, 1);
	assert_int_equal(used()->ring[0].len, 42);
	assert_int_equal(used()->ring[1].id, 2);
	assert_int_equal(used()->ring[1].len, 7);
}

/* Indices are free-running 16-bit counters: cross 65535 -> 0. */
static void test_wraparound(void **state)
{
	struct drv d;

	drv_start(&d, 4, 65533, false, false);
	assert_int_equal(d.q.last_avail_idx, 65533);
	for (int round = 0; round < 6; round++) {
		uint16_t head = (uint16_t)(round % 4);

		set_desc(DESC_GPA, head, BUF_GPA, 16, VRING_DESC_F_WRITE, 0);
		avail_put(&d, head);
		assert_int_equal(virtq_pop(&d.q, &chain), 1);
		assert_int_equal(chain.head, head);
		virtq_push(&d.q, chain.head, 16);
		virtq_flush(&d.q);
		assert_int_equal(used()->idx, (uint16_t)(65534 + round));
		assert_int_equal(used()->ring[(65533 + round) & 3].id, head);
	}
	assert_int_equal(used()->idx, 3);
	assert_int_equal(virtq_pop(&d.q, &chain), 0);
}

static void test_unpop(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, false, false);
	set_desc(DESC_GPA, 0, BUF_GPA, 16, VRING_DESC_F_WRITE, 0);
	set_desc(DESC_GPA, 1, BUF_GPA, 16, VRING_DESC_F_WRITE, 0);
	avail_put(&d, 0);
	avail_put(&d, 1);
	assert_int_equal(virtq_pop(&d.q, &chain), 1);
	assert_int_equal(virtq_pop(&d.q, &chain), 1);
	virtq_unpop(&d.q, 2);
	assert_int_equal(virtq_pop(&d.q, &chain), 1);
	assert_int_equal(chain.head, 0);
	virtq_unpop(&d.q, 1);
	assert_int_equal(virtq_pop(&d.q, &chain), 1);
	assert_int_equal(chain.head, 0);
	assert_int_equal(virtq_pop(&d.q, &chain), 1);
	assert_int_equal(chain.head, 1);
	assert_int_equal(virtq_pop(&d.q, &chain), 0);
}

/* A full ring (avail idx exactly 'size' ahead) is legal. */
static void test_avail_idx_full_ring(void **state)
{
	struct drv d;

	drv_start(&d, 4, 0, false, false);
	for (uint16_t i = 0; i < 4; i++) {
		set_desc(DESC_GPA, i, BUF_GPA, 16, 0, 0);
		avail_put(&d, i);
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(virtq_pop(&d.q, &chain), 1);
	assert_int_equal(virtq_pop(&d.q, &chain), 0);
}

/* Push + flush n used elements; return the interrupt decision. */
static bool complete(struct drv *d, int n)
{
	for (int i = 0; i < n; i++) {
		set_desc(DESC_GPA, 0, BUF_GPA, 16, VRING_DESC_F_WRITE, 0);
		avail_put(d, 0);
		assert_int_equal(virtq_pop(&d->q, &chain), 1);
		virtq_push(&d->q, chain.head, 0);
	}
	virtq_flush(&d->q);
	return virtq_should_interrupt(&d->q);
}

static void test_no_interrupt_flag(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, false, false);
	assert_true(complete(&d, 1));
	avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;
	assert_false(complete(&d, 1));
	avail()->flags = 0;
	assert_true(complete(&d, 1));
}

static void test_event_idx_interrupt(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, false, true);
	/* First decision after enable: always interrupt. */
	assert_true(complete(&d, 1)); /* used idx 1 */
	/* Driver wants to hear when used idx passes 3 (used_event = 3). */
	*used_event(&d) = 3;
	assert_false(complete(&d, 1)); /* 2 */
	assert_false(complete(&d, 1)); /* 3 */
	assert_true(complete(&d, 1));  /* 4: crossed used_event + 1 */
	assert_false(complete(&d, 1)); /* 5: event is behind, already signalled */
	/* A batch that jumps over the event still interrupts. */
	*used_event(&d) = 6;
	assert_true(complete(&d, 3)); /* 5 -> 8 */
	/* Nothing new published: no interrupt. */
	virtq_flush(&d.q);
	assert_false(virtq_should_interrupt(&d.q));
	/* NO_INTERRUPT is ignored with EVENT_IDX. */
	avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;
	*used_event(&d) = 8;
	assert_true(complete(&d, 1));
}

static void test_event_idx_interrupt_wraparound(void **state)
{
	struct drv d;

	drv_start(&d, 8, 65534, false, true);
	assert_true(complete(&d, 1)); /* 65535 */
	*used_event(&d) = 65535;
	assert_true(complete(&d, 1)); /* 0 */
	*used_event(&d) = 1;
	assert_false(complete(&d, 1)); /* 1 */
	assert_true(complete(&d, 1));  /* 2 */
}

static void test_kick_suppression_no_notify(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, false, false);
	assert_int_equal(used()->flags, 0);
	virtq_disable_kicks(&d.q);
	assert_int_equal(used()->flags, VRING_USED_F_NO_NOTIFY);
	assert_false(virtq_enable_kicks(&d.q));
	assert_int_equal(used()->flags, 0);
}

static void test_kick_suppression_event_idx(void **state)
{
	struct drv d;

	drv_start(&d, 8, 10, false, true);
	/* Enabled at start: kick me when you add entry 10. */
	assert_int_equal(*avail_event(&d), 10);
	virtq_disable_kicks(&d.q);
	assert_int_equal(used()->flags, 0); /* flags unused with EVENT_IDX */
	set_desc(DESC_GPA, 0, BUF_GPA, 16, 0, 0);
	avail_put(&d, 0);
	avail_put(&d, 0);
	assert_int_equal(virtq_pop(&d.q, &chain), 1);
	assert_int_equal(virtq_pop(&d.q, &chain), 1);
	/* While disabled, avail_event is stale: the driver (at 12) will not kick. */
	assert_int_equal(*avail_event(&d), 10);
	assert_false(vring_need_event(*avail_event(&d), 13, 12));
	assert_false(virtq_enable_kicks(&d.q));
	assert_int_equal(*avail_event(&d), 12);
	assert_true(vring_need_event(*avail_event(&d), 13, 12));
}

/* Buffers added between the last pop and re-enabling kicks must be reported. */
static void test_enable_kicks_race(void **state)
{
	for (int ev = 0; ev < 2; ev++) {
		struct drv d;

		drv_start(&d, 8, 0, false, ev);
		set_desc(DESC_GPA, 0, BUF_GPA, 16, 0, 0);
		virtq_disable_kicks(&d.q);
		assert_int_equal(virtq_pop(&d.q, &chain), 0);
		avail_put(&d, 0); /* the driver saw kicks disabled: no kick */
		assert_true(virtq_enable_kicks(&d.q));
		assert_int_equal(virtq_pop(&d.q, &chain), 1);
		assert_false(virtq_enable_kicks(&d.q));
	}
}

/* ---- virtq_enable validation ---- */
static void expect_enable_fails(uint16_t size, uint64_t desc, uint64_t avail_gpa, uint64_t used_gpa)
{
	struct virtq q;

	virtq_init(&q, &mem, MAX_SIZE);
	q.size = size;
	q.desc_gpa = desc;
	q.avail_gpa = avail_gpa;
	q.used_gpa = used_gpa;
	assert_int_equal(virtq_enable(&q), -1);
	assert_false(q.enabled);
	assert_int_equal(virtq_pop(&q, &chain), 0);
	assert_false(virtq_has_avail(&q));
}

static void test_enable_size_not_power_of_two(void **state)
{
	expect_enable_fails(3, DESC_GPA, AVAIL_GPA, USED_GPA);
	expect_enable_fails(MAX_SIZE - 1, DESC_GPA, AVAIL_GPA, USED_GPA);
}

static void test_enable_size_zero(void **state)
{
	expect_enable_fails(0, DESC_GPA, AVAIL_GPA, USED_GPA);
}

static void test_enable_size_above_max(void **state)
{
	expect_enable_fails(MAX_SIZE * 2, DESC_GPA, AVAIL_GPA, USED_GPA);
	expect_enable_fails(32768, DESC_GPA, AVAIL_GPA, USED_GPA);
}

static void test_enable_misaligned_rings(void **state)
{
	expect_enable_fails(8, DESC_GPA + 8, AVAIL_GPA, USED_GPA);
	expect_enable_fails(8, DESC_GPA, AVAIL_GPA + 1, USED_GPA);
	expect_enable_fails(8, DESC_GPA, AVAIL_GPA, USED_GPA + 2);
}

static void test_enable_ring_outside_ram(void **state)
{
	/* Between the regions, straddling the end of low RAM, and off the top. */
	expect_enable_fails(8, MiB(2), AVAIL_GPA, USED_GPA);
	expect_enable_fails(8, MiB(1) - 64, AVAIL_GPA, USED_GPA);
	expect_enable_fails(8, UINT64_MAX - 15, AVAIL_GPA, USED_GPA);
	/* The event idx fields are part of the rings: used_event / avail_event just outside. */
	expect_enable_fails(8, DESC_GPA, MiB(1) - (4 + 2 * 8), USED_GPA);
	expect_enable_fails(8, DESC_GPA, AVAIL_GPA, HIGH_GPA + MiB(1) - (4 + 8 * 8));
}

static void test_enable_ring_at_ram_end(void **state)
{
	struct virtq q;

	virtq_init(&q, &mem, MAX_SIZE);
	q.size = 8;
	q.desc_gpa = HIGH_GPA + MiB(1) - 16 * 8;
	q.avail_gpa = MiB(1) - (6 + 2 * 8);
	q.used_gpa = HIGH_GPA + MiB(1) - 512; /* 4-aligned, room for 6 + 8 * 8 */
	assert_int_equal(virtq_enable(&q), 0);
}

/* ---- a hostile driver: each rule its own test ---- */
static void test_desc_index_out_of_range(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, false, false);
	avail_put(&d, 8);
	expect_broken(&d);
}

static void test_next_index_out_of_range(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, false, false);
	set_desc(DESC_GPA, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 8);
	avail_put(&d, 0);
	expect_broken(&d);
}

static void test_chain_loop(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, false, false);
	set_desc(DESC_GPA, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 0);
	avail_put(&d, 0);
	expect_broken(&d);
}

static void test_chain_longer_than_queue(void **state)
{
	struct drv d;

	/* 0 -> 1 -> 2 -> 3 -> 0: five descriptors in a chain on a 4-entry queue. */
	drv_start(&d, 4, 0, false, false);
	for (uint16_t i = 0; i < 4; i++)
		set_desc(DESC_GPA, i, BUF_GPA, 16, VRING_DESC_F_NEXT, (i + 1) % 4);
	avail_put(&d, 0);
	expect_broken(&d);
}

static void test_indirect_chain_loop(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, true, false);
	set_desc(IND_GPA, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(IND_GPA, 1, BUF_GPA, 16, VRING_DESC_F_NEXT, 0);
	set_desc(DESC_GPA, 0, IND_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	avail_put(&d, 0);
	expect_broken(&d);
}

static void test_indirect_next_out_of_table(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, true, false);
	set_desc(IND_GPA, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 2); /* table has 2 entries */
	set_desc(DESC_GPA, 0, IND_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	avail_put(&d, 0);
	expect_broken(&d);
}

static void test_indirect_nested(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, true, false);
	set_desc(IND_GPA, 0, IND_GPA + 0x100, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(IND_GPA + 0x100, 0, BUF_GPA, 16, 0, 0);
	set_desc(DESC_GPA, 0, IND_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	avail_put(&d, 0);
	expect_broken(&d);
}

static void test_indirect_len_not_multiple_of_16(void **state)
{
	set_desc(IND_GPA, 0, BUF_GPA, 16, 0, 0);
	expect_broken_single(IND_GPA, 24, VRING_DESC_F_INDIRECT, true);
}

static void test_indirect_len_zero(void **state)
{
	expect_broken_single(IND_GPA, 0, VRING_DESC_F_INDIRECT, true);
}

static void test_indirect_too_large(void **state)
{
	/* Queue size 8: a 9-entry table is one too many. */
	expect_broken_single(IND_GPA, 9 * 16, VRING_DESC_F_INDIRECT, true);
}

static void test_indirect_not_negotiated(void **state)
{
	set_desc(IND_GPA, 0, BUF_GPA, 16, 0, 0);
	expect_broken_single(IND_GPA, 16, VRING_DESC_F_INDIRECT, false);
}

static void test_indirect_with_next_flag(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, true, false);
	set_desc(IND_GPA, 0, BUF_GPA, 16, 0, 0);
	set_desc(DESC_GPA, 0, IND_GPA, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, BUF_GPA, 16, 0, 0);
	avail_put(&d, 0);
	expect_broken(&d);
}

static void test_indirect_table_outside_ram(void **state)
{
	expect_broken_single(MiB(1) - 16, 32, VRING_DESC_F_INDIRECT, true);
}

static void test_buffer_outside_ram(void **state)
{
	expect_broken_single(MiB(2), 16, 0, false);
}

static void test_buffer_addr_len_overflow(void **state)
{
	expect_broken_single(UINT64_MAX - 7, 16, VRING_DESC_F_WRITE, false);
}

static void test_buffer_spans_hole(void **state)
{
	expect_broken_single(MiB(1) - 8, 16, 0, false);
}

static void test_buffer_past_high_ram(void **state)
{
	expect_broken_single(HIGH_GPA + MiB(1) - 8, 16, VRING_DESC_F_WRITE, false);
}

static void test_readable_after_writable(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, false, false);
	set_desc(DESC_GPA, 0, BUF_GPA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, BUF_GPA, 16, 0, 0);
	avail_put(&d, 0);
	expect_broken(&d);
}

static void test_avail_idx_too_far_ahead(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, false, false);
	set_desc(DESC_GPA, 0, BUF_GPA, 16, 0, 0);
	avail()->idx = 9;
	expect_broken(&d);
}

static void test_broken_queue_stays_broken(void **state)
{
	struct drv d;

	drv_start(&d, 8, 0, false, false);
	avail_put(&d, 8);
	expect_broken(&d);
	/* Repairing the ring does not help: only a reset does. */
	avail()->ring[0] = 0;
	set_desc(DESC_GPA, 0, BUF_GPA, 16, VRING_DESC_F_WRITE, 0);
	assert_int_equal(virtq_pop(&d.q, &chain), -1);
	assert_false(virtq_has_avail(&d.q));
	virtq_push(&d.q, 0, 16);
	virtq_flush(&d.q);
	assert_int_equal(used()->idx, 0);
	assert_false(virtq_should_interrupt(&d.q));
	assert_false(virtq_enable_kicks(&d.q));
	assert_int_equal(virtq_enable(&d.q), -1);

	virtq_reset(&d.q);
	assert_false(d.q.broken);
	assert_false(d.q.enabled);
	assert_int_equal(d.q.size, MAX_SIZE); /* reads back the maximum after reset */
	d.q.size = 8;
	d.q.desc_gpa = DESC_GPA;
	d.q.avail_gpa = AVAIL_GPA;
	d.q.used_gpa = USED_GPA;
	assert_int_equal(virtq_enable(&d.q), 0);
	assert_int_equal(virtq_pop(&d.q, &chain), 1);
}

static void test_reset_keeps_fds(void **state)
{
	struct virtq q;

	virtq_init(&q, &mem, MAX_SIZE);
	assert_int_equal(q.kick_fd, -1);
	q.kick_fd = 5;
	q.call_fd = 6;
	q.msix_vector = 3;
	virtq_reset(&q);
	assert_int_equal(q.kick_fd, 5);
	assert_int_equal(q.call_fd, 6);
	assert_int_equal(q.max_size, MAX_SIZE);
	assert_ptr_equal(q.mem, &mem);
	assert_int_equal(q.msix_vector, 0xffff);
}

/* ---- randomized: garbage rings never crash or escape guest RAM ---- */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t rnd_addr(void)
{
	switch (rnd() % 6) {
	case 0:
		return rnd();
	case 1:
		return MiB(1) - rnd() % 64;
	case 2:
		return HIGH_GPA + MiB(1) - rnd() % 64;
	case 3:
		return IND_GPA + 16 * (rnd() % 4);
	case 4:
		return HIGH_GPA + rnd() % MiB(1);
	default:
		return BUF_GPA + rnd() % 0x1000;
	}
}

static uint32_t rnd_len(void)
{
	switch (rnd() % 5) {
	case 0:
		return (uint32_t)rnd();
	case 1:
		return 0;
	case 2:
		return 16 * (uint32_t)(rnd() % 20);
	default:
		return (uint32_t)(rnd() % 128);
	}
}

static void rnd_desc(uint64_t table, uint16_t i, uint16_t size)
{
	set_desc(table, i, rnd_addr(), rnd_len(), (uint16_t)(rnd() % 8),
		 (uint16_t)(rnd() % (size + 2)));
}

static void check_chain_in_ram(const struct virtq_chain *c)
{
	uint64_t out = 0, in = 0;

	assert_true(c->n_out + c->n_in <= VIRTQ_MAX_CHAIN);
	for (unsigned int i = 0; i < c->n_out + c->n_in; i++) {
		const uint8_t *p = c->iov[i].iov_base;
		size_t len = c->iov[i].iov_len;
		bool inside = false;

		assert_true(len > 0);
		for (unsigned int r = 0; r < mem.nregions; r++) {
			const struct mem_region *mr = &mem.regions[r];

			if (p >= mr->hva && p < mr->hva + mr->size &&
			    len <= (size_t)(mr->hva + mr->size - p))
				inside = true;
		}
		assert_true(inside);
		if (i < c->n_out)
			out += len;
		else
			in += len;
	}
	assert_int_equal(out, c->out_bytes);
	assert_int_equal(in, c->in_bytes);
}

static void test_random_rings(void **state)
{
	unsigned int ok = 0, broken = 0;

	for (int iter = 0; iter < 100000; iter++) {
		uint16_t size = (uint16_t)(1u << (rnd() % 5));
		uint16_t start = (uint16_t)rnd();
		struct drv d;

		drv_start(&d, size, start, rnd() & 1, rnd() & 1);
		for (uint16_t i = 0; i < size; i++) {
			rnd_desc(DESC_GPA, i, size);
			avail()->ring[i] = (uint16_t)(rnd() % (size + 1));
		}
		for (uint16_t i = 0; i < 4 * 20; i++)
			rnd_desc(IND_GPA, i, size);
		avail()->idx = (uint16_t)(start + rnd() % (size + 2));
		for (int n = 0; n < size + 2; n++) {
			int r = virtq_pop(&d.q, &chain);

			if (r == 1) {
				ok++;
				check_chain_in_ram(&chain);
				virtq_push(&d.q, chain.head, chain.in_bytes);
				continue;
			}
			if (r < 0) {
				broken++;
				assert_true(d.q.broken);
			}
			break;
		}
		virtq_flush(&d.q);
	}
	/* The generator must exercise both outcomes. */
	assert_true(ok > 1000);
	assert_true(broken > 1000);
}

/*
 * A guest vCPU rewriting descriptors while the device walks them: values must
 * be read once, so whatever is used was validated (no TOCTOU).
 */
static atomic_bool stop_mutator;

static void *mutator(void *arg)
{
	uint64_t s = 0x243f6a8885a308d3ULL;
	struct vring_desc *table = (struct vring_desc *)(mem.base + DESC_GPA);

	while (!atomic_load(&stop_mutator)) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		struct vring_desc *t = &table[s % 16];
		bool bad = (s >> 8) & 1;

		__atomic_store_n(&t->addr, bad ? s : BUF_GPA + (s >> 20) % 0x1000,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&t->len, bad ? (uint32_t)(s >> 32) : (uint32_t)(s >> 40) % 512,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&t->flags, (uint16_t)((s >> 16) % 8), __ATOMIC_RELAXED);
		__atomic_store_n(&t->next, (uint16_t)((s >> 24) % 18), __ATOMIC_RELAXED);
	}
	return NULL;
}

static void test_concurrent_descriptor_rewrites(void **state)
{
	pthread_t th;

	atomic_store(&stop_mutator, false);
	assert_int_equal(pthread_create(&th, NULL, mutator, NULL), 0);
	for (int iter = 0; iter < 20000; iter++) {
		struct drv d;

		drv_start(&d, 16, (uint16_t)rnd(), true, false);
		for (uint16_t i = 0; i < 16; i++)
			avail()->ring[i] = (uint16_t)(rnd() % 16);
		avail()->idx = (uint16_t)(d.avail_idx + 16);
		while (virtq_pop(&d.q, &chain) == 1)
			check_chain_in_ram(&chain);
	}
	atomic_store(&stop_mutator, true);
	pthread_join(th, NULL);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_single_buffer),
		cmocka_unit_test(test_chain_out_in),
		cmocka_unit_test(test_chain_of_queue_size),
		cmocka_unit_test(test_zero_length_descriptor),
		cmocka_unit_test(test_buffer_at_ram_edges),
		cmocka_unit_test(test_indirect_table),
		cmocka_unit_test(test_indirect_after_direct),
		cmocka_unit_test(test_indirect_full_table),
		cmocka_unit_test(test_used_ring_push_flush),
		cmocka_unit_test(test_wraparound),
		cmocka_unit_test(test_unpop),
		cmocka_unit_test(test_avail_idx_full_ring),
		cmocka_unit_test(test_no_interrupt_flag),
		cmocka_unit_test(test_event_idx_interrupt),
		cmocka_unit_test(test_event_idx_interrupt_wraparound),
		cmocka_unit_test(test_kick_suppression_no_notify),
		cmocka_unit_test(test_kick_suppression_event_idx),
		cmocka_unit_test(test_enable_kicks_race),
		cmocka_unit_test(test_enable_size_not_power_of_two),
		cmocka_unit_test(test_enable_size_zero),
		cmocka_unit_test(test_enable_size_above_max),
		cmocka_unit_test(test_enable_misaligned_rings),
		cmocka_unit_test(test_enable_ring_outside_ram),
		cmocka_unit_test(test_enable_ring_at_ram_end),
		cmocka_unit_test(test_desc_index_out_of_range),
		cmocka_unit_test(test_next_index_out_of_range),
		cmocka_unit_test(test_chain_loop),
		cmocka_unit_test(test_chain_longer_than_queue),
		cmocka_unit_test(test_indirect_chain_loop),
		cmocka_unit_test(test_indirect_next_out_of_table),
		cmocka_unit_test(test_indirect_nested),
		cmocka_unit_test(test_indirect_len_not_multiple_of_16),
		cmocka_unit_test(test_indirect_len_zero),
		cmocka_unit_test(test_indirect_too_large),
		cmocka_unit_test(test_indirect_not_negotiated),
		cmocka_unit_test(test_indirect_with_next_flag),
		cmocka_unit_test(test_indirect_table_outside_ram),
		cmocka_unit_test(test_buffer_outside_ram),
		cmocka_unit_test(test_buffer_addr_len_overflow),
		cmocka_unit_test(test_buffer_spans_hole),
		cmocka_unit_test(test_buffer_past_high_ram),
		cmocka_unit_test(test_readable_after_writable),
		cmocka_unit_test(test_avail_idx_too_far_ahead),
		cmocka_unit_test(test_broken_queue_stays_broken),
		cmocka_unit_test(test_reset_keeps_fds),
		cmocka_unit_test(test_random_rings),
		cmocka_unit_test(test_concurrent_descriptor_rewrites),
	};

	if (gmem_init(&mem, MiB(2), layout, ARRAY_SIZE(layout)))
		return 1;
	/* The violations are the point here: keep their one-line logs out of the output. */
	log_set_level(LOG_ERROR);
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	gmem_destroy(&mem);
	return rc;
}
