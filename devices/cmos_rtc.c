// SPDX-License-Identifier: MIT
/*
 * cmos_rtc.c - an MC146818 real-time clock and its CMOS RAM.
 *
 * There is no timer and no ticking state: every read of a time register
 * computes the guest's time as the host's UTC wall clock plus an offset, in
 * the format register B asks for (BCD or binary, 24 or 12 hour).  A guest
 * that sets the clock (SET bit, or writing a time register directly) only
 * changes that offset.  While SET is on, the time registers hold a frozen
 * copy the guest edits; clearing SET starts the clock from it, at the
 * start of that second.
 *
 * Register A's UIP bit is set for the last 244 us of every second, as on
 * real hardware, so code that waits for UIP to clear (Linux's
 * mc146818_avoid_UIP) does not spin, and a time read within 244 us of
 * seeing UIP clear is consistent.  UIP stays clear while SET is on or the
 * divider is not running normally (DV != 010).  Register C's interrupt
 * flags stay clear (no IRQ 8), register D always reports VRT (valid RAM).
 * The clock range is kept within years 1900-9999.
 */
#include <stdlib.h>
#include <time.h>

#include "devices/cmos_rtc.h"

#define RTC_SECONDS	 0x00
#define RTC_MINUTES	 0x02
#define RTC_HOURS	 0x04
#define RTC_DAY_OF_WEEK	 0x06
#define RTC_DAY_OF_MONTH 0x07
#define RTC_MONTH	 0x08
#define RTC_YEAR	 0x09
#define RTC_REG_A	 0x0a
#define RTC_REG_B	 0x0b
#define RTC_REG_C	 0x0c
#define RTC_REG_D	 0x0d

#define REG_A_UIP	0x80
#define REG_A_DV_MASK	0x70
#define REG_A_DV_NORMAL 0x20
#define REG_B_SET	0x80
#define REG_B_DM	0x04 /* 1 = binary */
#define REG_B_24H	0x02
#define REG_D_VRT	0x80
#define HOUR_PM		0x80

#define NSEC_PER_SEC 1000000000L
#define UIP_NS	     244000L

#define RTC_MIN_TIME (-2208988800LL) /* 1900-01-01 00:00:00 UTC */
#define RTC_MAX_TIME 253402300799LL  /* 9999-12-31 23:59:59 UTC */

/* Broken-down time, plain binary: mon 1-12, wday 1-7 (Sunday = 1), full year */
struct rtc_time {
	int sec, min, hour, wday, mday, mon, year;
};

struct cmos_rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t ram[128]; /* registers A-D and the CMOS RAM; time bytes unused */
	int64_t off_s;	  /* guest time = host time + off_s + off_ns */
	long off_ns;	  /* 0 <= off_ns < NSEC_PER_SEC */
	bool frozen;	  /* SET is on: 'held' is the time */
	struct rtc_time held;
	struct io_bus *bus;
	uint64_t base;
};

static void guest_now(const struct cmos_rtc *r, int64_t *sec, long *nsec)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*sec = (int64_t)ts.tv_sec + r->off_s;
	*nsec = ts.tv_nsec + r->off_ns;
	if (*nsec >= NSEC_PER_SEC) {
		*sec += 1;
		*nsec -= NSEC_PER_SEC;
	}
	/*
	 * Setting the clock clamps it to 1900-9999, but a clock set near the
	 * end keeps running: it stops at 9999-12-31 23:59:59 instead of going
	 * on into year 10000 (century 100, which no register can hold).
	 */
	if (*sec > RTC_MAX_TIME)
		*sec = RTC_MAX_TIME;
	else if (*sec < RTC_MIN_TIME)
		*sec = RTC_MIN_TIME;
}

static void rtc_time_from(int64_t t, struct rtc_time *out)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	*out = (struct rtc_time){tm.tm_sec,  tm.tm_min,	    tm.tm_hour,	      tm.tm_wday + 1,
				 tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900};
}

/* Seconds since the epoch for any fields a guest wrote, clamped to the range. */
static int64_t rtc_time_to(const struct rtc_time *t)
{
	struct tm tm = {
		.tm_sec = t->sec,
		.tm_min = t->min,
		.tm_hour = t->hour,
		.tm_mday = t->mday,
		.tm_mon = t->mon - 1,
		.tm_year = t->year - 1900,
	};
	int64_t v = (int64_t)timegm(&tm);

	if (v < RTC_MIN_TIME)
		return RTC_MIN_TIME;
	if (v > RTC_MAX_TIME)
		return RTC_MAX_TIME;
	return v;
}

static void current_time(const struct cmos_rtc *r, struct rtc_time *t)
{
	int64_t s;
	long ns;

	if (r->frozen) {
		*t = r->held;
		return;
	}
	guest_now(r, &s, &ns);
	rtc_time_from(s, t);
}

static bool binary_mode(const struct cmos_rtc *r)
{
	return r->ram[RTC_REG_B] & REG_B_DM;
}

static uint8_t to_reg(const struct cmos_rtc *r, int v)
{
	v %= 100;
	if (v < 0)
		v += 100;
	return binary_mode(r) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | (v % 10));
}

static int from_reg(const struct cmos_rtc *r, uint8_t v)
{
	return binary_mode(r) ? v : (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t hour_to_reg(const struct cmos_rtc *r, int h)
{
	if (r->ram[RTC_REG_B] & REG_B_24H)
		return to_reg(r, h);
	return to_reg(r, h % 12 ? h % 12 : 12) | (h >= 12 ? HOUR_PM : 0);
}

static int hour_from_reg(const struct cmos_rtc *r, uint8_t v)
{
	if (r->ram[RTC_REG_B] & REG_B_24H)
		return from_reg(r, v);
	return from_reg(r, v & (uint8_t)~HOUR_PM) % 12 + (v & HOUR_PM ? 12 : 0);
}

static bool is_time_reg(uint8_t idx)
{
	switch (idx) {
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_DAY_OF_WEEK:
	case RTC_DAY_OF_MONTH:
	case RTC_MONTH:
	case RTC_YEAR:
	case CMOS_CENTURY:
		return true;
	}
	return false;
}

static uint8_t read_time_reg(const struct cmos_rtc *r, uint8_t idx)
{
	struct rtc_time t;

	current_time(r, &t);
	switch (idx) {
	case RTC_SECONDS:
		return to_reg(r, t.sec);
	case RTC_MINUTES:
		return to_reg(r, t.min);
	case RTC_HOURS:
		return hour_to_reg(r, t.hour);
	case RTC_DAY_OF_WEEK:
		return to_reg(r, t.wday);
	case RTC_DAY_OF_MONTH:
		return to_reg(r, t.mday);
	case RTC_MONTH:
		return to_reg(r, t.mon);
	case RTC_YEAR:
		return to_reg(r, t.year % 100);
	default: /* CMOS_CENTURY */
		return to_reg(r, t.year / 100);
	}
}

static void write_time_reg(struct cmos_rtc *r, uint8_t idx, uint8_t v)
{
	struct rtc_time t;
	int64_t now_s = 0;
	long now_ns;

	if (r->frozen) {
		t = r->held;
	} else {
		guest_now(r, &now_s, &now_ns);
		rtc_time_from(now_s, &t);
	}
	switch (idx) {
	case RTC_SECONDS:
		t.sec = from_reg(r, v);
		break;
	case RTC_MINUTES:
		t.min = from_reg(r, v);
		break;
	case RTC_HOURS:
		t.hour = hour_from_reg(r, v);
		break;
	case RTC_DAY_OF_WEEK:
		t.wday = from_reg(r, v); /* kept while SET is on, else recomputed */
		break;
	case RTC_DAY_OF_MONTH:
		t.mday = from_reg(r, v);
		break;
	case RTC_MONTH:
		t.mon = from_reg(r, v);
		break;
	case RTC_YEAR:
		t.year = t.year / 100 * 100 + from_reg(r, v);
		break;
	default: /* CMOS_CENTURY */
		t.year = from_reg(r, v) * 100 + t.year % 100;
		break;
	}
	if (r->frozen) {
		r->held = t;
		return;
	}
	/* Running: move the clock, keeping the fraction of the second. */
	r->off_s += rtc_time_to(&t) - now_s;
}

static void set_reg_b(struct cmos_rtc *r, uint8_t v)
{
	bool set = v & REG_B_SET;

	if (set && !r->frozen) {
		current_time(r, &r->held);
		r->frozen = true;
	} else if (!set && r->frozen) {
		struct timespec ts;
		int64_t t = rtc_time_to(&r->held);

		/* The clock starts at the beginning of the second it was set to. */
		clock_gettime(CLOCK_REALTIME, &ts);
		r->off_s = t - (int64_t)ts.tv_sec;
		r->off_ns = 0;
		if (ts.tv_nsec) {
			r->off_s -= 1;
			r->off_ns = NSEC_PER_SEC - ts.tv_nsec;
		}
		r->frozen = false;
	}
	r->ram[RTC_REG_B] = v;
}

static uint8_t read_reg_a(const struct cmos_rtc *r)
{
	uint8_t a = r->ram[RTC_REG_A] & (uint8_t)~REG_A_UIP;
	int64_t s;
	long ns;

	if (r->frozen || (a & REG_A_DV_MASK) != REG_A_DV_NORMAL)
		return a;
	guest_now(r, &s, &ns);
	return ns >= NSEC_PER_SEC - UIP_NS ? a | REG_A_UIP : a;
}

static uint8_t rtc_read(struct cmos_rtc *r)
{
	uint8_t idx = r->index;

	if (is_time_reg(idx))
		return read_time_reg(r, idx);
	switch (idx) {
	case RTC_REG_A:
		return read_reg_a(r);
	case RTC_REG_C:
		return 0; /* no interrupt flags: nothing pending, ever */
	case RTC_REG_D:
		return REG_D_VRT;
	default:
		return r->ram[idx];
	}
}

static void rtc_write(struct cmos_rtc *r, uint8_t v)
{
	uint8_t idx = r->index;

	if (is_time_reg(idx)) {
		write_time_reg(r, idx, v);
		return;
	}
	switch (idx) {
	case RTC_REG_A:
		r->ram[RTC_REG_A] = v & (uint8_t)~REG_A_UIP;
		break;
	case RTC_REG_B:
		set_reg_b(r, v);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break; /* read-only */
	default:
		r->ram[idx] = v;
		break;
	}
}

static void cmos_rtc_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
	struct cmos_rtc *r = opaque;

	if (size != 1 || offset > 1) {
		log_once(LOG_WARN, "rtc", "ignored %u-byte %s at offset %llu", size,
			 is_write ? "write" : "read", (unsigned long long)offset);
		if (!is_write)
			for (uint32_t i = 0; i < size; i++)
				data[i] = 0xff;
		return;
	}
	pthread_mutex_lock(&r->lock);
	if (offset == 0 && is_write)
		r->index = data[0] & 0x7f; /* bit 7 masks NMIs: nothing to mask here */
	else if (offset == 0)
		data[0] = 0xff; /* the index register is write-only */
	else if (is_write)
		rtc_write(r, data[0]);
	else
		data[0] = rtc_read(r);
	pthread_mutex_unlock(&r->lock);
}

static void set_word(uint8_t *ram, unsigned int idx, uint64_t v, uint64_t max)
{
	if (v > max)
		v = max;
	ram[idx] = (uint8_t)v;
	ram[idx + 1] = (uint8_t)(v >> 8);
}

struct cmos_rtc *cmos_rtc_new(struct vm *vm, struct io_bus *bus, uint64_t base,
			      uint64_t ram_below_4g, uint64_t ram_above_4g)
{
	struct cmos_rtc *r = calloc(1, sizeof(*r));
	uint64_t v;

	if (!r) {
		log_err("rtc", "out of memory");
		return NULL;
	}
	r->bus = bus;
	r->base = base;
	pthread_mutex_init(&r->lock, NULL);
	r->ram[RTC_REG_A] = REG_A_DV_NORMAL | 0x06; /* 32.768 kHz, 1024 Hz rate */
	r->ram[RTC_REG_B] = REG_B_24H;		    /* BCD, 24 hour */

	/* Memory sizes as QEMU's PC firmware interface has them */
	set_word(r->ram, CMOS_BASE_MEM_LO, ram_below_4g / KiB(1), 640);
	v = ram_below_4g > MiB(1) ? (ram_below_4g - MiB(1)) / KiB(1) : 0;
	set_word(r->ram, CMOS_EXT_MEM_LO, v, 0xffff);
	set_word(r->ram, CMOS_EXT_MEM2_LO, v, 0xffff);
	v = ram_below_4g > MiB(16) ? (ram_below_4g - MiB(16)) / KiB(64) : 0;
	set_word(r->ram, CMOS_MEM_16M_LO, v, 0xffff);
	v = ram_above_4g / KiB(64);
	if (v > 0xffffff)
		v = 0xffffff;
	r->ram[CMOS_MEM_4G_LO] = (uint8_t)v;
	r->ram[CMOS_MEM_4G_LO + 1] = (uint8_t)(v >> 8);
	r->ram[CMOS_MEM_4G_LO + 2] = (uint8_t)(v >> 16);

	if (io_bus_register(bus, base, 2, cmos_rtc_io, r, "cmos-rtc")) {
		log_err("rtc", "cannot register ports 0x%llx-0x%llx", (unsigned long long)base,
			(unsigned long long)base + 1);
		pthread_mutex_destroy(&r->lock);
		free(r);
		return NULL;
	}
	return r;
}

void cmos_rtc_destroy(struct cmos_rtc *r)
{
	if (!r)
		return;
	io_bus_unregister(r->bus, r->base);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int cmos_rtc_create(struct vm *vm, struct io_bus *bus, uint64_t base, uint64_t ram_below_4g,
		    uint64_t ram_above_4g)
{
	return cmos_rtc_new(vm, bus, base, ram_below_4g, ram_above_4g) ? 0 : -1;
}
