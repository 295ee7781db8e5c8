// SPDX-License-Identifier: MIT
/* test_io_bus.c - the trap table: registration, overlap, dispatch, straddling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/ktvm.h"

struct hit {
	int count;
	uint64_t offset;
	uint32_t size;
	bool is_write;
	uint64_t value;
};

static void handler(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
	struct hit *h = opaque;

	h->count++;
	h->offset = offset;
	h->size = size;
	h->is_write = is_write;
	if (is_write)
		h->value = io_get(data, size);
	else
		io_put(data, size, 0x1122334455667788ULL);
}

static void test_dispatch(void **state)
{
	struct io_bus bus;
	struct hit a = { 0 }, b = { 0 };
	uint8_t d[8] = { 0x34, 0x12 };

	io_bus_init(&bus, "t");
	assert_int_equal(io_bus_register(&bus, 0x3f8, 8, handler, &a, "a"), 0);
	assert_int_equal(io_bus_register(&bus, 0x60, 1, handler, &b, "b"), 0);
	assert_true(io_bus_access(&bus, 0x3fa, d, 2, true));
	assert_int_equal(a.count, 1);
	assert_int_equal(a.offset, 2);
	assert_int_equal(a.value, 0x1234);
	assert_true(io_bus_access(&bus, 0x60, d, 1, false));
	assert_int_equal(b.count, 1);
	assert_int_equal(d[0], 0x88);
}

static void test_overlap_refused(void **state)
{
	struct io_bus bus;
	struct hit a = { 0 };

	io_bus_init(&bus, "t");
	assert_int_equal(io_bus_register(&bus, 0x100, 0x10, handler, &a, "a"), 0);
	assert_int_equal(io_bus_register(&bus, 0x10f, 1, handler, &a, "b"), -1);
	assert_int_equal(io_bus_register(&bus, 0xf0, 0x11, handler, &a, "c"), -1);
	assert_int_equal(io_bus_register(&bus, 0x110, 1, handler, &a, "d"), 0);
	assert_int_equal(io_bus_register(&bus, 0, 0, handler, &a, "empty"), -1);
	assert_int_equal(io_bus_register(&bus, UINT64_MAX, 2, handler, &a, "wrap"), -1);
}

static void test_unhandled_reads_all_ones(void **state)
{
	struct io_bus bus;
	uint8_t d[4] = { 0 };

	io_bus_init(&bus, "t");
	assert_false(io_bus_access(&bus, 0xcfc, d, 4, false));
	assert_int_equal(io_get(d, 4), 0xffffffff);
}

static void test_straddling_access_hits_nothing(void **state)
{
	struct io_bus bus;
	struct hit a = { 0 };
	uint8_t d[4];

	io_bus_init(&bus, "t");
	assert_int_equal(io_bus_register(&bus, 0x70, 2, handler, &a, "rtc"), 0);
	assert_false(io_bus_access(&bus, 0x71, d, 4, false));
	assert_int_equal(a.count, 0);
}

static void test_unregister(void **state)
{
	struct io_bus bus;
	struct hit a = { 0 };
	uint8_t d[1];

	io_bus_init(&bus, "t");
	assert_int_equal(io_bus_register(&bus, 0x70, 2, handler, &a, "rtc"), 0);
	assert_int_equal(io_bus_unregister(&bus, 0x70), 0);
	assert_false(io_bus_access(&bus, 0x70, d, 1, false));
	assert_int_equal(io_bus_unregister(&bus, 0x70), -1);
}

static void test_many_sorted(void **state)
{
	struct io_bus bus;
	struct hit h[IO_BUS_MAX_RANGES];
	uint8_t d[1];

	memset(h, 0, sizeof(h));
	io_bus_init(&bus, "t");
	/* Register in descending order; lookups must still find each. */
	for (int i = IO_BUS_MAX_RANGES - 1; i >= 0; i--)
		assert_int_equal(io_bus_register(&bus, 0x1000 + 0x10 * i, 0x10, handler, &h[i], "x"),
				 0);
	assert_int_equal(io_bus_register(&bus, 0x9000, 1, handler, &h[0], "full"), -1);
	for (int i = 0; i < IO_BUS_MAX_RANGES; i++) {
		assert_true(io_bus_access(&bus, 0x1000 + 0x10 * i + 5, d, 1, true));
		assert_int_equal(h[i].count, 1);
		assert_int_equal(h[i].offset, 5);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_overlap_refused),
		cmocka_unit_test(test_unhandled_reads_all_ones),
		cmocka_unit_test(test_straddling_access_hits_nothing),
		cmocka_unit_test(test_unregister),
		cmocka_unit_test(test_many_sorted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
