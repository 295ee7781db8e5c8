// SPDX-License-Identifier: MIT
/*
 * fuzz_cmos_rtc.c - the MC146818 RTC and CMOS RAM (devices/cmos_rtc.c,
 * #included for its state) through ports 0x70/0x71 like a guest.
 *
 * Input: the guest's RAM sizes (2 bytes: MiB below 4 GiB / 16, GiB above),
 * then ops of 2 bytes (kind, value).  Each input starts from a new RTC.
 * Checked after every op: the index register stays below 128 and reads
 * 0xff (write-only); register C reads 0 and D reads VRT; A reads back what
 * was written with UIP only while the clock runs normally (SET clear, DV =
 * 010); B reads back; plain CMOS RAM reads back what was written (or what
 * ktvm put there); while the clock runs, every time register holds a valid
 * value in the format register B asks for (BCD digits 0-9, seconds and
 * minutes < 60, hours 0-23 or 1-12 with the PM bit, day of week 1-7, day
 * 1-31, month 1-12, century 19-99: the clock stays in 1900-9999) whatever
 * the guest wrote; wider accesses read all-ones.
 */
#include "devices/cmos_rtc.c" // NOLINT(bugprone-suspicious-include): its statics too
#include "tests/fuzz/fuzz.h"

#define PORT 0x70

static struct vm vm;
static const struct mem_region layout[] = {{.gpa = 0, .size = KiB(4)}};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_vm_init(&vm, KiB(4), layout, ARRAY_SIZE(layout));
	return 0;
}

static struct cmos_rtc *find_dev(void)
{
	for (unsigned int i = 0; i < vm.pio.n; i++)
		if (vm.pio.ranges[i].base == PORT)
			return vm.pio.ranges[i].opaque;
	return NULL;
}

static void out8(unsigned int port, uint8_t v)
{
	FUZZ_CHECK(io_bus_access(&vm.pio, port, &v, 1, true));
}

static uint8_t in8(unsigned int port)
{
	uint8_t v = 0;

	FUZZ_CHECK(io_bus_access(&vm.pio, port, &v, 1, false));
	return v;
}

static bool bcd_ok(uint8_t v)
{
	return (v & 0x0f) <= 9 && (v >> 4) <= 9;
}

/* A time register's value as a number, checking the format; -1 if malformed. */
static int decode(uint8_t b_reg, uint8_t v)
{
	if (b_reg & REG_B_DM)
		return v;
	return bcd_ok(v) ? (v >> 4) * 10 + (v & 0x0f) : -1;
}

static void check_time_reg(uint8_t b_reg, uint8_t idx, uint8_t v)
{
	int n;

	if (idx == RTC_HOURS && !(b_reg & REG_B_24H)) {
		n = decode(b_reg, v & 0x7f);
		FUZZ_CHECK(n >= 1 && n <= 12);
		return;
	}
	n = decode(b_reg, v);
	FUZZ_CHECK(n >= 0);
	switch (idx) {
	case RTC_SECONDS:
	case RTC_MINUTES:
		FUZZ_CHECK(n < 60);
		break;
	case RTC_HOURS:
		FUZZ_CHECK(n < 24);
		break;
	case RTC_DAY_OF_WEEK:
		FUZZ_CHECK(n >= 1 && n <= 7);
		break;
	case RTC_DAY_OF_MONTH:
		FUZZ_CHECK(n >= 1 && n <= 31);
		break;
	case RTC_MONTH:
		FUZZ_CHECK(n >= 1 && n <= 12);
		break;
	case RTC_YEAR:
		FUZZ_CHECK(n <= 99);
		break;
	case CMOS_CENTURY:
		FUZZ_CHECK(n >= 19 && n <= 99);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct cmos_rtc *r = find_dev();
	uint8_t shadow[128], op[2], b[2], index = 0;
	uint64_t below = (fz_u8(&in) + 1ULL) * MiB(16), above = fz_u8(&in) * GiB(1ULL);

	if (r) {
		io_bus_unregister(&vm.pio, PORT);
		pthread_mutex_destroy(&r->lock);
		free(r);
	}
	FUZZ_CHECK(cmos_rtc_create(&vm, &vm.pio, PORT, below, above) == 0);
	r = find_dev();
	FUZZ_CHECK(r);
	memcpy(shadow, r->ram, sizeof(shadow));
	while (in.left >= sizeof(op)) {
		uint8_t v;

		fz_bytes(&in, op, sizeof(op));
		switch (op[0] % 6) {
		case 0: /* select, NMI mask bit included */
			out8(PORT, op[1]);
			index = op[1] & 0x7f;
			break;
		case 1:
			out8(PORT + 1, op[1]);
			if (!is_time_reg(index) && index != RTC_REG_C && index != RTC_REG_D)
				shadow[index] = index == RTC_REG_A ? op[1] & 0x7f : op[1];
			break;
		case 2:
		case 3:
			v = in8(PORT + 1);
			if (is_time_reg(index)) {
				if (!(shadow[RTC_REG_B] & REG_B_SET))
					check_time_reg(shadow[RTC_REG_B], index, v);
			} else if (index == RTC_REG_A) {
				FUZZ_CHECK((v & 0x7f) == shadow[RTC_REG_A]);
				if ((shadow[RTC_REG_B] & REG_B_SET) ||
				    (shadow[RTC_REG_A] & REG_A_DV_MASK) != REG_A_DV_NORMAL)
					FUZZ_CHECK(!(v & REG_A_UIP));
			} else if (index == RTC_REG_C) {
				FUZZ_CHECK(v == 0);
			} else if (index == RTC_REG_D) {
				FUZZ_CHECK(v == REG_D_VRT);
			} else {
				FUZZ_CHECK(v == shadow[index]);
			}
			break;
		case 4:
			FUZZ_CHECK(in8(PORT) == 0xff);
			break;
		case 5: /* wider than a byte */
			memset(b, 0, sizeof(b));
			if (io_bus_access(&vm.pio, PORT, b, 2, op[1] & 1))
				FUZZ_CHECK((op[1] & 1) || (b[0] == 0xff && b[1] == 0xff));
			break;
		}
		FUZZ_CHECK(r->index < 128 && r->index == index);
		FUZZ_CHECK(r->frozen == !!(r->ram[RTC_REG_B] & REG_B_SET));
		FUZZ_CHECK(r->off_ns >= 0 && r->off_ns < NSEC_PER_SEC);
	}
	return 0;
}
