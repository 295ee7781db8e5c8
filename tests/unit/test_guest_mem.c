// SPDX-License-Identifier: MIT
/* test_guest_mem.c - the one checked accessor: bounds, holes, overflow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/ktvm.h"

/* Two regions with a hole between them, like x86 RAM around the PCI hole. */
static const struct mem_region layout[] = {
	{ .gpa = 0, .size = MiB(2) },
	{ .gpa = GiB(4), .size = MiB(1) },
};

static int setup(void **state)
{
	static struct guest_mem m;

	if (gmem_init(&m, MiB(3), layout, 2))
		return -1;
	*state = &m;
	return 0;
}

static int teardown(void **state)
{
	gmem_destroy(*state);
	return 0;
}

static void test_inside(void **state)
{
	struct guest_mem *m = *state;

	assert_ptr_equal(gmem_ptr(m, 0, 1), m->base);
	assert_ptr_equal(gmem_ptr(m, MiB(2) - 1, 1), m->base + MiB(2) - 1);
	assert_ptr_equal(gmem_ptr(m, 0, MiB(2)), m->base);
	assert_ptr_equal(gmem_ptr(m, GiB(4), MiB(1)), m->base + MiB(2));
}

static void test_end_of_region(void **state)
{
	struct guest_mem *m = *state;

	assert_null(gmem_ptr(m, MiB(2), 1));
	assert_null(gmem_ptr(m, MiB(2) - 1, 2));
	assert_null(gmem_ptr(m, GiB(4) + MiB(1), 1));
}

static void test_hole(void **state)
{
	struct guest_mem *m = *state;

	assert_null(gmem_ptr(m, GiB(3), 4));
	assert_null(gmem_ptr(m, GiB(4) - 1, 2)); /* straddles the hole's end */
}

static void test_overflow(void **state)
{
	struct guest_mem *m = *state;

	assert_null(gmem_ptr(m, UINT64_MAX, 1));
	assert_null(gmem_ptr(m, UINT64_MAX - 1, 16));
	assert_null(gmem_ptr(m, 16, UINT64_MAX));
	assert_null(gmem_ptr(m, 16, UINT64_MAX - 15));
	assert_null(gmem_ptr(m, GiB(4) + 8, UINT64_MAX - 7));
}

static void test_read_write(void **state)
{
	struct guest_mem *m = *state;
	uint8_t buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, back[8];

	assert_int_equal(gmem_write(m, GiB(4) + 100, buf, 8), 0);
	assert_int_equal(gmem_read(m, GiB(4) + 100, back, 8), 0);
	assert_memory_equal(buf, back, 8);
	assert_int_equal(gmem_write(m, MiB(2) - 4, buf, 8), -1);
	assert_int_equal(gmem_read(m, UINT64_MAX - 3, back, 8), -1);
}

static void test_bad_layout(void **state)
{
	struct guest_mem m;
	const struct mem_region too_big[] = { { .gpa = 0, .size = MiB(4) } };

	assert_int_equal(gmem_init(&m, MiB(2), too_big, 1), -1);
	assert_int_equal(gmem_init(&m, MiB(2), layout, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inside),	 cmocka_unit_test(test_end_of_region),
		cmocka_unit_test(test_hole),	 cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_read_write), cmocka_unit_test(test_bad_layout),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
