// SPDX-License-Identifier: MIT
/*
 * fuzz_i8042.c - the 8042 keyboard controller (devices/i8042.c, #included
 * for its state) through its two ports, against a model of what the
 * controller documents (the command list in i8042.c's header).
 *
 * Input: ops of 2 bytes (kind, value).  Each input starts from a new
 * controller.  Checked: a reset (vm_request_stop, status 0) is requested
 * exactly for a pulse of output port bit 0 (commands 0xf0-0xfe with bit 0
 * clear) or an output port write (0xd1) with bit 0 clear, never otherwise;
 * the status register has only the bits the model has (no IBF, timeout
 * or parity error, AUXOBF only with OBF), OBF and SYS as the model says,
 * CMD after a command write; data reads return the model's response and
 * clear OBF; the internal RAM reads back what was written; the status
 * read has no side effect; wider accesses read all-ones.
 */
#include "devices/i8042.c" // NOLINT(bugprone-suspicious-include): its statics too
#include "tests/fuzz/fuzz.h"

#define DATA 0x60
#define CMD  0x64

static struct vm vm;
static const struct mem_region layout[] = {{.gpa = 0, .size = KiB(4)}};

/* What the controller should hold. */
struct model {
	uint8_t ram[32];
	uint8_t pending, outp, out;
	bool obf, aux, cmd_last;
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_vm_init(&vm, KiB(4), layout, ARRAY_SIZE(layout));
	return 0;
}

static struct i8042 *find_dev(void)
{
	for (unsigned int i = 0; i < vm.pio.n; i++)
		if (vm.pio.ranges[i].base == DATA)
			return vm.pio.ranges[i].opaque;
	return NULL;
}

static void model_respond(struct model *m, uint8_t v, bool aux)
{
	m->out = v;
	m->obf = true;
	m->aux = aux;
}

/* A command write: returns whether it pulses the reset line. */
static bool model_cmd(struct model *m, uint8_t c)
{
	m->cmd_last = true;
	m->pending = 0;
	if (c >= 0x20 && c <= 0x3f)
		model_respond(m, m->ram[c & 0x1f], false);
	else if ((c >= 0x60 && c <= 0x7f) || (c >= 0xd1 && c <= 0xd4))
		m->pending = c;
	else if (c >= 0xf0)
		return !(c & 1);
	else if (c == 0xa7)
		m->ram[0] |= 0x20;
	else if (c == 0xa8)
		m->ram[0] &= (uint8_t)~0x20;
	else if (c == 0xa9 || c == 0xab)
		model_respond(m, 0, false);
	else if (c == 0xaa) {
		m->ram[0] |= 0x04;
		model_respond(m, 0x55, false);
	} else if (c == 0xad)
		m->ram[0] |= 0x10;
	else if (c == 0xae)
		m->ram[0] &= (uint8_t)~0x10;
	else if (c == 0xd0)
		model_respond(m, m->outp, false);
	return false;
}

static bool model_data(struct model *m, uint8_t v)
{
	uint8_t p = m->pending;

	m->cmd_last = false;
	m->pending = 0;
	if (p >= 0x60 && p <= 0x7f)
		m->ram[p & 0x1f] = v;
	else if (p == 0xd1) {
		m->outp = v;
		return !(v & 1);
	} else if (p == 0xd2 || p == 0xd3)
		model_respond(m, v, p == 0xd3);
	return false;
}

static uint8_t rd(uint64_t port)
{
	uint8_t v = 0;

	FUZZ_CHECK(io_bus_access(&vm.pio, port, &v, 1, false));
	return v;
}

static void check_status(const struct model *m)
{
	uint8_t st = rd(CMD);

	FUZZ_CHECK((st & 0xc2) == 0); /* no timeout, parity error or IBF */
	FUZZ_CHECK(st & 0x10);	      /* not inhibited */
	FUZZ_CHECK(!!(st & 0x01) == m->obf);
	FUZZ_CHECK(!(st & 0x20) || (st & 0x01));
	if (m->obf)
		FUZZ_CHECK(!!(st & 0x20) == m->aux);
	FUZZ_CHECK(!!(st & 0x04) == !!(m->ram[0] & 0x04));
	FUZZ_CHECK(!!(st & 0x08) == m->cmd_last);
	FUZZ_CHECK(rd(CMD) == st); /* reading status changes nothing */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct i8042 *k = find_dev();
	struct model m = {0};
	uint8_t op[2], b[4];

	if (k) {
		io_bus_unregister(&vm.pio, DATA);
		io_bus_unregister(&vm.pio, CMD);
		pthread_mutex_destroy(&k->lock);
		free(k);
	}
	FUZZ_CHECK(i8042_create(&vm, &vm.pio, DATA, CMD) == 0);
	k = find_dev();
	FUZZ_CHECK(k);
	memcpy(m.ram, k->ram, sizeof(m.ram));
	m.outp = k->outp;
	while (in.left >= sizeof(op)) {
		unsigned int stops = fuzz_stop_requests;
		bool reset = false;

		fz_bytes(&in, op, sizeof(op));
		switch (op[0] % 6) {
		case 0:
		case 1:
			reset = model_cmd(&m, op[1]);
			FUZZ_CHECK(io_bus_access(&vm.pio, CMD, &op[1], 1, true));
			break;
		case 2:
			reset = model_data(&m, op[1]);
			FUZZ_CHECK(io_bus_access(&vm.pio, DATA, &op[1], 1, true));
			break;
		case 3:
			check_status(&m);
			break;
		case 4:
			FUZZ_CHECK(rd(DATA) == m.out);
			m.obf = false;
			break;
		case 5: /* wider than a byte: the device ignores it, reads all-ones */
			memset(b, 0, sizeof(b));
			i8042_io(k, op[1] & 1, b, 2, op[1] & 2);
			if (!(op[1] & 2))
				FUZZ_CHECK(b[0] == 0xff && b[1] == 0xff);
			break;
		}
		FUZZ_CHECK(fuzz_stop_requests - stops == (reset ? 1u : 0u));
		if (reset)
			FUZZ_CHECK(fuzz_stop_status == 0);
		FUZZ_CHECK(memcmp(k->ram, m.ram, sizeof(m.ram)) == 0);
		FUZZ_CHECK(k->pending == m.pending && k->outp == m.outp);
	}
	check_status(&m);
	return 0;
}
