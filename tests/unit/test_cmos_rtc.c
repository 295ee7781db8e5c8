// SPDX-License-Identifier: MIT
/*
 * test_cmos_rtc.c - the MC146818 RTC and CMOS RAM on a fake wall clock:
 * clock_gettime is wrapped (test_cmos_rtc.wrap) so CLOCK_REALTIME reads
 * whatever the test says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "devices/cmos_rtc.h"

#define PORT 0x70
#define NS   1000000000LL

static struct io_bus buses[16];
static unsigned int nbuses;
#define bus (buses[nbuses - 1])
static struct vm vm;

/* The fake wall clock, in ns since the epoch; advanced by 'tick' per read */
static int64_t fake_ns;
static int64_t tick_ns;

int __real_clock_gettime(clockid_t id, struct timespec *ts);
int __wrap_clock_gettime(clockid_t id, struct timespec *ts);
int __wrap_clock_gettime(clockid_t id, struct timespec *ts)
{
	if (id != CLOCK_REALTIME)
		return __real_clock_gettime(id, ts);
	ts->tv_sec = (time_t)(fake_ns / NS);
	ts->tv_nsec = (long)(fake_ns % NS);
	fake_ns += tick_ns;
	return 0;
}

static int64_t utc(int y, int mon, int d, int h, int m, int s)
{
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mon - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = m,
			.tm_sec = s};

	return (int64_t)timegm(&tm);
}

static uint8_t rd(uint8_t idx)
{
	uint8_t v = idx;

	assert_true(io_bus_access(&bus, PORT, &v, 1, true));
	assert_true(io_bus_access(&bus, PORT + 1, &v, 1, false));
	return v;
}

static void wr(uint8_t idx, uint8_t val)
{
	assert_true(io_bus_access(&bus, PORT, &idx, 1, true));
	assert_true(io_bus_access(&bus, PORT + 1, &val, 1, true));
}

static int make(uint64_t below, uint64_t above)
{
	assert_true(nbuses < ARRAY_SIZE(buses));
	nbuses++;
	io_bus_init(&bus, "pio");
	return cmos_rtc_create(&vm, &bus, PORT, below, above);
}

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	tick_ns = 0;
	/* Thursday 2024-02-29 13:45:56.5 UTC */
	fake_ns = utc(2024, 2, 29, 13, 45, 56) * NS + NS / 2;
	assert_int_equal(make(MiB(512), GiB(1)), 0);
	return 0;
}

static void test_bcd_24h(void **state)
{
	assert_int_equal(rd(0x0b) & 0x06, 0x02); /* BCD, 24 hour */
	assert_int_equal(rd(0x00), 0x56);
	assert_int_equal(rd(0x02), 0x45);
	assert_int_equal(rd(0x04), 0x13);
	assert_int_equal(rd(0x06), 0x05); /* Thursday; Sunday = 1 */
	assert_int_equal(rd(0x07), 0x29);
	assert_int_equal(rd(0x08), 0x02);
	assert_int_equal(rd(0x09), 0x24);
	assert_int_equal(rd(CMOS_CENTURY), 0x20);
	fake_ns += 4 * NS; /* 13:46:00.5 */
	assert_int_equal(rd(0x00), 0x00);
	assert_int_equal(rd(0x02), 0x46);
}

static void test_binary_and_12h(void **state)
{
	wr(0x0b, 0x06); /* binary, 24 hour */
	assert_int_equal(rd(0x00), 56);
	assert_int_equal(rd(0x04), 13);
	assert_int_equal(rd(0x07), 29);
	assert_int_equal(rd(0x09), 24);
	assert_int_equal(rd(CMOS_CENTURY), 20);
	wr(0x0b, 0x04); /* binary, 12 hour */
	assert_int_equal(rd(0x04), 0x80 | 1);
	wr(0x0b, 0x00); /* BCD, 12 hour */
	assert_int_equal(rd(0x04), 0x81);
	fake_ns = utc(2024, 1, 1, 0, 30, 0) * NS;
	assert_int_equal(rd(0x04), 0x12); /* 12 AM */
	fake_ns = utc(2024, 1, 1, 12, 30, 0) * NS;
	assert_int_equal(rd(0x04), 0x92); /* 12 PM */
	fake_ns = utc(2024, 1, 1, 23, 30, 0) * NS;
	assert_int_equal(rd(0x04), 0x91);
	/* Writing a 12-hour value: 7 PM */
	wr(0x04, 0x87);
	wr(0x0b, 0x02);
	assert_int_equal(rd(0x04), 0x19);
	assert_int_equal(rd(0x02), 0x30);
}

static void test_uip(void **state)
{
	int64_t sec = fake_ns / NS * NS;

	fake_ns = sec + NS / 2;
	assert_int_equal(rd(0x0a), 0x26);
	fake_ns = sec + NS - 244000; /* the last 244 us of the second */
	assert_int_equal(rd(0x0a), 0xa6);
	fake_ns = sec + NS - 1;
	assert_int_equal(rd(0x0a), 0xa6);
	fake_ns = sec + NS - 244001;
	assert_int_equal(rd(0x0a), 0x26);
	fake_ns = sec + NS;
	assert_int_equal(rd(0x0a), 0x26);
	/* UIP cannot be written */
	wr(0x0a, 0xa6);
	assert_int_equal(rd(0x0a), 0x26);
	/* Divider held in reset: no updates, no UIP */
	wr(0x0a, 0x76);
	fake_ns = sec + NS - 1000;
	assert_int_equal(rd(0x0a), 0x76);
	wr(0x0a, 0x26);
	assert_int_equal(rd(0x0a), 0xa6);
}

/* Linux's mc146818_avoid_UIP() with a clock that moves 1 us per read. */
static void test_linux_avoid_uip(void **state)
{
	unsigned int loops = 0;
	uint8_t seconds;

	fake_ns = fake_ns / NS * NS + NS - 200000; /* inside the UIP window */
	tick_ns = 1000;
	for (;;) {
		assert_true(++loops < 1000);
		seconds = rd(0x00);
		if (rd(0x0a) & 0x80) {
			fake_ns += 100000; /* udelay(UIP_RECHECK_DELAY) */
			continue;
		}
		if (seconds != rd(0x00))
			continue;
		if (rd(0x0a) & 0x80)
			continue;
		if (seconds != rd(0x00))
			continue;
		break;
	}
	assert_true(loops <= 5);
	assert_int_equal(seconds, 0x57);
}

static void test_register_c_d(void **state)
{
	assert_int_equal(rd(0x0d), 0x80);
	wr(0x0d, 0x00);
	assert_int_equal(rd(0x0d), 0x80);
	assert_int_equal(rd(0x0c), 0x00);
	wr(0x0b, 0x02 | 0x70); /* PIE, AIE, UIE: no interrupts, flags stay clear */
	fake_ns += 3 * NS;
	assert_int_equal(rd(0x0c), 0x00);
	assert_int_equal(rd(0x0b), 0x72);
}

static void test_guest_sets_time(void **state)
{
	/* As Linux's mc146818_set_time(): SET, divider reset, write, restore */
	wr(0x0b, 0x82);
	wr(0x0a, 0x66);
	wr(0x00, 0x06);
	wr(0x02, 0x05);
	wr(0x04, 0x04);
	wr(0x07, 0x03);
	wr(0x08, 0x02);
	wr(0x09, 0x01);
	wr(CMOS_CENTURY, 0x20);
	fake_ns += 10 * NS + NS / 3; /* frozen while SET is on */
	assert_int_equal(rd(0x00), 0x06);
	assert_int_equal(rd(0x09), 0x01);
	fake_ns = fake_ns / NS * NS + NS - 1000;
	assert_int_equal(rd(0x0a) & 0x80, 0); /* no UIP while SET */
	wr(0x0b, 0x02);
	wr(0x0a, 0x26);
	assert_int_equal(rd(0x00), 0x06);
	assert_int_equal(rd(0x06), 0x07); /* 2001-02-03 was a Saturday */
	fake_ns += NS - 1;
	assert_int_equal(rd(0x00), 0x06);
	assert_int_equal(rd(0x0a), 0xa6); /* the first update is a second after SET */
	fake_ns += 1;
	assert_int_equal(rd(0x00), 0x07);
	assert_int_equal(rd(0x02), 0x05);
	assert_int_equal(rd(0x04), 0x04);
	assert_int_equal(rd(0x07), 0x03);
	assert_int_equal(rd(0x08), 0x02);
	assert_int_equal(rd(0x09), 0x01);
	assert_int_equal(rd(CMOS_CENTURY), 0x20);

	/* Writing a register while the clock runs moves the clock */
	wr(0x02, 0x59);
	assert_int_equal(rd(0x02), 0x59);
	assert_int_equal(rd(0x00), 0x07);

	/* Century rollover */
	wr(0x0b, 0x86);
	wr(0x00, 59);
	wr(0x02, 59);
	wr(0x04, 23);
	wr(0x07, 31);
	wr(0x08, 12);
	wr(0x09, 99);
	wr(CMOS_CENTURY, 20);
	wr(0x0b, 0x06);
	fake_ns += NS;
	assert_int_equal(rd(0x09), 0);
	assert_int_equal(rd(CMOS_CENTURY), 21);
	assert_int_equal(rd(0x08), 1);
	assert_int_equal(rd(0x07), 1);
	assert_int_equal(rd(0x04), 0);
}

/* Set to the last second of 9999, the clock stops there (found by fuzz_cmos_rtc). */
static void test_clock_stops_at_9999(void **state)
{
	wr(0x0b, 0x86); /* SET, binary, 24 h */
	wr(0x00, 59);
	wr(0x02, 59);
	wr(0x04, 23);
	wr(0x07, 31);
	wr(0x08, 12);
	wr(0x09, 99);
	wr(CMOS_CENTURY, 99);
	wr(0x0b, 0x06);
	fake_ns += 10 * NS;
	assert_int_equal(rd(CMOS_CENTURY), 99);
	assert_int_equal(rd(0x09), 99);
	assert_int_equal(rd(0x08), 12);
	assert_int_equal(rd(0x07), 31);
	assert_int_equal(rd(0x00), 59);
	/* A century past the range is clamped when written, and stays clamped. */
	wr(CMOS_CENTURY, 0xff);
	fake_ns += 10 * NS;
	assert_int_equal(rd(CMOS_CENTURY), 99);
}

static void test_cmos_memory(void **state)
{
	/* 512 MiB below 4 GiB, 1 GiB above */
	assert_int_equal(rd(0x15) | rd(0x16) << 8, 640);
	assert_int_equal(rd(0x17) | rd(0x18) << 8, 0xffff);
	assert_int_equal(rd(0x30) | rd(0x31) << 8, 0xffff);
	assert_int_equal(rd(0x34) | rd(0x35) << 8, (512 - 16) * 16);
	assert_int_equal(rd(0x5b) | rd(0x5c) << 8 | rd(0x5d) << 16, 16384);

	assert_int_equal(make(MiB(32), 0), 0);
	assert_int_equal(rd(0x17) | rd(0x18) << 8, 31 * 1024);
	assert_int_equal(rd(0x34) | rd(0x35) << 8, 16 * 16);
	assert_int_equal(rd(0x5b) | rd(0x5c) << 8 | rd(0x5d) << 16, 0);
	assert_int_equal(make(KiB(512), GiB(4096)), 0);
	assert_int_equal(rd(0x15) | rd(0x16) << 8, 512);
	assert_int_equal(rd(0x17) | rd(0x18) << 8, 0);
	assert_int_equal(rd(0x5b) | rd(0x5c) << 8 | rd(0x5d) << 16, 0xffffff);

	/* Plain RAM; bit 7 of the index is the NMI mask, not part of it */
	wr(0x40, 0xab);
	assert_int_equal(rd(0x40), 0xab);
	assert_int_equal(rd(0x80 | 0x40), 0xab);
	wr(0xff, 0x12);
	assert_int_equal(rd(0x7f), 0x12);
	{
		uint8_t v = 0;

		assert_true(io_bus_access(&bus, PORT, &v, 1, false));
		assert_int_equal(v, 0xff); /* the index port is write-only */
	}
}

static void test_malformed(void **state)
{
	uint8_t d[8];

	for (uint32_t size = 2; size <= 8; size *= 2) {
		memset(d, 0x00, sizeof(d));
		io_bus_access(&bus, PORT, d, size, true);
		io_bus_access(&bus, PORT, d, size, false);
		for (uint32_t i = 0; i < size; i++)
			assert_int_equal(d[i], 0xff);
	}
	assert_false(io_bus_access(&bus, PORT + 2, d, 1, false));
	/* Garbage in every register, in every mode: never a crash */
	for (unsigned int b = 0; b < 256; b += 0x11) {
		for (unsigned int idx = 0; idx < 128; idx++) {
			if (idx == 0x0b)
				continue;
			for (unsigned int v = 0; v < 256; v += 7) {
				wr(0x0b, (uint8_t)b);
				wr((uint8_t)idx, (uint8_t)v);
				rd((uint8_t)idx);
			}
		}
	}
	/* The clock still runs within 1900-9999 */
	wr(0x0b, 0x06);
	assert_true(rd(CMOS_CENTURY) >= 19 && rd(CMOS_CENTURY) <= 99);
	assert_int_equal(rd(0x0d), 0x80);
	/* Extremes */
	wr(0x0b, 0x86);
	wr(CMOS_CENTURY, 255);
	wr(0x09, 255);
	wr(0x0b, 0x06);
	assert_int_equal(rd(CMOS_CENTURY), 99);
	assert_int_equal(rd(0x09), 99);
	wr(0x0b, 0x86);
	wr(CMOS_CENTURY, 0);
	wr(0x0b, 0x06);
	assert_int_equal(rd(CMOS_CENTURY), 19);
	assert_int_equal(cmos_rtc_create(&vm, &bus, PORT + 1, 0, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_bcd_24h, setup),
		cmocka_unit_test_setup(test_binary_and_12h, setup),
		cmocka_unit_test_setup(test_uip, setup),
		cmocka_unit_test_setup(test_linux_avoid_uip, setup),
		cmocka_unit_test_setup(test_register_c_d, setup),
		cmocka_unit_test_setup(test_guest_sets_time, setup),
		cmocka_unit_test_setup(test_clock_stops_at_9999, setup),
		cmocka_unit_test_setup(test_cmos_memory, setup),
		cmocka_unit_test_setup(test_malformed, setup),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
