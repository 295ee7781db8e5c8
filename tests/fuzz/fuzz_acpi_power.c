// SPDX-License-Identifier: MIT
/*
 * fuzz_acpi_power.c - the HW-reduced ACPI sleep control, sleep status and
 * reset registers (devices/acpi_power.c) through the PIO bus.
 *
 * Input: the reset value and the S5 SLP_TYP the tables would give (2
 * bytes), then ops of 3 bytes (register, size/direction, value).  Each
 * input starts from a new device.  Checked: a stop is requested, with
 * status 0, exactly for SLP_EN with the S5 type in sleep control or the
 * reset value in the reset register, never for anything else; sleep
 * control and reset read 0; sleep status reads WAK_STS or 0, set by a
 * sleep request other than S5 and cleared by writing bit 7; accesses
 * wider than a byte change nothing.
 */
#include "devices/acpi_power.h"
#include "tests/fuzz/fuzz.h"

#define CTL 0x600
#define STS 0x601
#define RST 0x602

static struct vm vm;
static const struct mem_region layout[] = {{.gpa = 0, .size = KiB(4)}};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_vm_init(&vm, KiB(4), layout, ARRAY_SIZE(layout));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t port[3] = {CTL, STS, RST};
	struct fuzz_in in = {data, size};
	uint8_t reset_value = fz_u8(&in), s5 = fz_u8(&in) & 7, op[3];
	struct acpi_power *a = acpi_power_create(&vm, &vm.pio, CTL, STS, RST, reset_value, s5);
	bool wak = false;

	FUZZ_CHECK(a);
	while (in.left >= sizeof(op)) {
		unsigned int reg, stops = fuzz_stop_requests;
		uint8_t b[4];
		bool stop = false, w, wide;

		fz_bytes(&in, op, sizeof(op));
		reg = op[0] % 3;
		w = op[1] & 1;
		wide = op[1] & 2;
		b[0] = b[1] = b[2] = b[3] = op[2];
		if (wide) {
			/* A 1-byte register: the bus does not hand it a 2-byte access. */
			FUZZ_CHECK(!io_bus_access(&vm.pio, port[reg], b, 2, w));
			FUZZ_CHECK(fuzz_stop_requests == stops);
			continue;
		}
		FUZZ_CHECK(io_bus_access(&vm.pio, port[reg], b, 1, w));
		if (w && reg == 0 && (op[2] & ACPI_SLEEP_CTL_SLP_EN)) {
			if (((op[2] & ACPI_SLEEP_CTL_TYP_MASK) >> ACPI_SLEEP_CTL_TYP_SHIFT) == s5)
				stop = true;
			else
				wak = true;
		} else if (w && reg == 1 && (op[2] & ACPI_SLEEP_STS_WAK)) {
			wak = false;
		} else if (w && reg == 2 && op[2] == reset_value) {
			stop = true;
		} else if (!w) {
			FUZZ_CHECK(b[0] == (reg == 1 && wak ? ACPI_SLEEP_STS_WAK : 0));
		}
		FUZZ_CHECK(fuzz_stop_requests - stops == (stop ? 1u : 0u));
		if (stop)
			FUZZ_CHECK(fuzz_stop_status == 0);
	}
	acpi_power_destroy(a);
	FUZZ_CHECK(vm.pio.n == 0);
	return 0;
}
