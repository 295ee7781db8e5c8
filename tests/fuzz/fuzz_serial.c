// SPDX-License-Identifier: MIT
/*
 * fuzz_serial.c - the 16550A (devices/serial.c, #included for its state),
 * driven through the PIO bus like a guest, with console input, breaks and
 * a real console (vmm/console.c into /dev/null) whose buffer the input can
 * fill and drain, so the THR-busy path (LSR.THRE clear, tx-ready) is
 * reached too.
 *
 * Input: ops of 3 bytes (kind, arg, value).  Each input starts from a new
 * UART and an empty console.  Checked after every op: the IRQ line is the
 * level "IIR reports an interrupt"; the FIFO and backlog counts stay in
 * range and the backlog is only used while the FIFO is full; reads return
 * only the bits the chip defines: IER bits 0-3, MCR bits 0-4, IIR bits 4-5
 * clear with bits 6-7 saying whether the FIFO is on and an ID the chip
 * has; LSR.DR says whether the FIFO held a byte, THRE = TEMT = "THR can
 * take a byte", errors only those latched; MSR's lines are DCD|DSR|CTS out
 * of loopback; RBR pops the FIFO's head; an IIR "THRE" is only reported
 * while THR is empty.  Malformed accesses read all-ones.
 */
#include "devices/serial.c" // NOLINT(bugprone-suspicious-include): its statics too
#include "tests/fuzz/fuzz.h"
#include "vmm/console_host.h"

#define BASE 0x3f8
#define GSI  4

static struct vm vm;
static struct console *con;
static const struct mem_region layout[] = {{.gpa = 0, .size = KiB(4)}};
static uint8_t junk[64 * 1024];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct vm_config cfg = {.console = CONSOLE_FILE, .console_path = "/dev/null"};

	fuzz_vm_init(&vm, KiB(4), layout, ARRAY_SIZE(layout));
	con = console_open(&vm, &cfg);
	FUZZ_CHECK(con);
	memset(junk, 'j', sizeof(junk));
	return 0;
}

static void check_state(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	FUZZ_CHECK(s->irq_level == (iir_id(s) != IIR_NO_INT));
	FUZZ_CHECK(s->rx_count <= rx_capacity(s));
	FUZZ_CHECK(s->rx_head < SERIAL_FIFO_SIZE);
	FUZZ_CHECK(s->bl_count <= SERIAL_BACKLOG_SIZE && s->bl_head < SERIAL_BACKLOG_SIZE);
	/* Bytes "on the wire" wait only while the FIFO is full (or loopback holds them). */
	if (s->bl_count && !(s->mcr & MCR_LOOP))
		FUZZ_CHECK(s->rx_count == rx_capacity(s));
	FUZZ_CHECK((s->ier & ~IER_MASK) == 0 && (s->mcr & ~MCR_MASK) == 0);
	FUZZ_CHECK(s->trigger == 1 || s->trigger == 4 || s->trigger == 8 || s->trigger == 14);
	pthread_mutex_unlock(&s->lock);
}

static uint8_t in8(unsigned int reg)
{
	uint8_t v = 0;

	FUZZ_CHECK(io_bus_access(&vm.pio, BASE + reg, &v, 1, false));
	return v;
}

static void out8(unsigned int reg, uint8_t v)
{
	FUZZ_CHECK(io_bus_access(&vm.pio, BASE + reg, &v, 1, true));
}

/* A read, checked against the state just before it. */
static void checked_read(struct serial *s, unsigned int reg)
{
	bool dlab = s->lcr & LCR_DLAB, loop = s->mcr & MCR_LOOP, fifo = s->fifo_enabled;
	unsigned int count = s->rx_count;
	uint8_t head = s->rx[s->rx_head], err = s->lsr_err, id;
	bool room = console_tx_room(con);
	uint8_t v = in8(reg);

	switch (reg) {
	case UART_RX:
		if (!dlab && count)
			FUZZ_CHECK(v == head);
		break;
	case UART_IER:
		if (!dlab)
			FUZZ_CHECK((v & 0xf0) == 0);
		break;
	case UART_IIR:
		id = v & 0x0f;
		FUZZ_CHECK((v & 0x30) == 0);
		FUZZ_CHECK((v & 0xc0) == (fifo ? 0xc0 : 0));
		FUZZ_CHECK(id == IIR_NO_INT || id == IIR_MSI || id == IIR_THRI || id == IIR_RDI ||
			   id == IIR_RLSI || id == IIR_CTI);
		if (id == IIR_RDI || id == IIR_CTI)
			FUZZ_CHECK(count && (s->ier & IER_ERBFI));
		if (id == IIR_CTI)
			FUZZ_CHECK(fifo);
		if (id == IIR_RLSI)
			FUZZ_CHECK(err && (s->ier & IER_ELSI));
		if (id == IIR_THRI)
			FUZZ_CHECK((loop || room) && (s->ier & IER_ETBEI) && !s->thr_ipending);
		break;
	case UART_MCR:
		FUZZ_CHECK((v & 0xe0) == 0);
		break;
	case UART_LSR:
		FUZZ_CHECK((v & 0x80) == 0);
		FUZZ_CHECK(!!(v & LSR_DR) == (count > 0));
		FUZZ_CHECK(!!(v & LSR_THRE) == !!(v & LSR_TEMT));
		FUZZ_CHECK(!!(v & LSR_THRE) == (loop || room));
		FUZZ_CHECK((v & LSR_ERRORS) == err);
		FUZZ_CHECK(s->lsr_err == 0);
		break;
	case UART_MSR:
		if (!loop)
			FUZZ_CHECK((v & 0xf0) == (MSR_DCD | MSR_DSR | MSR_CTS));
		break;
	}
}

static void run_op(struct serial *s, const uint8_t *op)
{
	unsigned int reg = op[1] % SERIAL_NREGS;
	uint8_t typed[32], b[4];

	switch (op[0] % 10) {
	case 0:
	case 1:
	case 2:
		out8(reg, op[2]);
		break;
	case 3:
	case 4:
	case 5:
		checked_read(s, reg);
		break;
	case 6: /* console input */
		for (unsigned int i = 0; i < sizeof(typed); i++)
			typed[i] = (uint8_t)(op[2] + i);
		serial_rx_input(s, typed, op[1] % (sizeof(typed) + 1));
		break;
	case 7:
		serial_send_break(s);
		break;
	case 8: /* the console's side: the sink drains, or other output fills it */
		if (op[1] & 1)
			console_flush(con);
		else
			console_write(con, junk, (op[2] + 1u) * 256u);
		break;
	case 9: /* malformed: wider than a byte (inside the 8 ports) */
		memset(b, 0, sizeof(b));
		FUZZ_CHECK(io_bus_access(&vm.pio, BASE + (op[2] & 1 ? reg & 6 : reg & 4), b,
					 op[2] & 1 ? 2 : 4, false));
		FUZZ_CHECK(b[0] == 0xff && b[1] == 0xff);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct serial *s;
	uint8_t op[3];

	console_flush(con); /* (a /dev/null sink: empties the buffer) */
	FUZZ_CHECK(console_tx_room(con));
	s = serial_create(&vm, &vm.pio, BASE, GSI, con);
	FUZZ_CHECK(s);
	check_state(s);
	while (in.left >= sizeof(op)) {
		fz_bytes(&in, op, sizeof(op));
		run_op(s, op);
		check_state(s);
	}
	serial_destroy(s);
	return 0;
}
