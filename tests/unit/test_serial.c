// SPDX-License-Identifier: MIT
/*
 * test_serial.c - the 16550A through its I/O bus, as Linux's 8250 driver
 * drives it.  vm_irq_line, console_write and console_set_input are wrapped
 * (test_serial.wrap) so every call is observed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/serial.h"

#define BASE 0x3f8
#define GSI  4

enum { RX = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

static struct io_bus bus;
static struct vm vm;
static char fake_console; /* struct console is opaque: any distinct address */
#define CON ((struct console *)&fake_console)
static struct serial *uart;

/* vm_irq_line */
static int irq_level;
static unsigned int irq_calls, irq_redundant, irq_bad_args;

int __wrap_vm_irq_line(struct vm *v, uint32_t gsi, int level);
int __wrap_vm_irq_line(struct vm *v, uint32_t gsi, int level)
{
	if (v != &vm || gsi != GSI || (level != 0 && level != 1))
		irq_bad_args++;
	if (level == irq_level)
		irq_redundant++;
	irq_level = level;
	irq_calls++;
	return 0;
}

/* console_write */
static uint8_t out_buf[4096];
static size_t out_len;
static unsigned int out_calls;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

void __wrap_console_write(struct console *c, const uint8_t *buf, size_t len);
void __wrap_console_write(struct console *c, const uint8_t *buf, size_t len)
{
	assert_ptr_equal(c, CON);
	pthread_mutex_lock(&out_lock);
	for (size_t i = 0; i < len && out_len < sizeof(out_buf); i++)
		out_buf[out_len++] = buf[i];
	out_calls++;
	pthread_mutex_unlock(&out_lock);
}

/* console_tx_room, console_set_tx_ready: the console's buffer full or not */
static bool con_room = true;
static console_tx_ready_fn tx_ready_fn;
static void *tx_ready_opaque;

bool __wrap_console_tx_room(struct console *c);
bool __wrap_console_tx_room(struct console *c)
{
	assert_ptr_equal(c, CON);
	return con_room;
}

void __wrap_console_set_tx_ready(struct console *c, console_tx_ready_fn fn, void *opaque);
void __wrap_console_set_tx_ready(struct console *c, console_tx_ready_fn fn, void *opaque)
{
	assert_ptr_equal(c, CON);
	tx_ready_fn = fn;
	tx_ready_opaque = opaque;
}

/* console_set_input */
static console_input_fn input_fn;
static void *input_opaque;
static unsigned int set_input_calls;

void __wrap_console_set_input(struct console *c, console_input_fn fn, void *opaque);
void __wrap_console_set_input(struct console *c, console_input_fn fn, void *opaque)
{
	assert_ptr_equal(c, CON);
	input_fn = fn;
	input_opaque = opaque;
	set_input_calls++;
}

/* console_set_break */
static console_break_fn break_fn;
static void *break_opaque;

void __wrap_console_set_break(struct console *c, console_break_fn fn, void *opaque);
void __wrap_console_set_break(struct console *c, console_break_fn fn, void *opaque)
{
	assert_ptr_equal(c, CON);
	break_fn = fn;
	break_opaque = opaque;
}

static uint8_t in8(unsigned int off)
{
	uint8_t v = 0;

	assert_true(io_bus_access(&bus, BASE + off, &v, 1, false));
	return v;
}

static void out8(unsigned int off, uint8_t v)
{
	assert_true(io_bus_access(&bus, BASE + off, &v, 1, true));
}

static void type(const void *buf, size_t len)
{
	assert_non_null(input_fn);
	input_fn(input_opaque, buf, len);
}

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	io_bus_init(&bus, "pio");
	irq_level = 0;
	irq_calls = irq_redundant = irq_bad_args = 0;
	out_len = 0;
	out_calls = 0;
	con_room = true;
	input_fn = NULL;
	set_input_calls = 0;
	uart = serial_create(&vm, &bus, BASE, GSI, CON);
	assert_non_null(uart);
	assert_int_equal(set_input_calls, 1);
	assert_ptr_equal(input_fn, serial_rx_input);
	assert_ptr_equal(input_opaque, uart);
	assert_ptr_equal(break_fn, serial_send_break);
	assert_ptr_equal(break_opaque, uart);
	assert_ptr_equal(tx_ready_fn, serial_tx_ready);
	assert_ptr_equal(tx_ready_opaque, uart);
	return 0;
}

static int teardown(void **state)
{
	serial_destroy(uart);
	assert_null(input_fn); /* unregistered from the console */
	assert_null(break_fn);
	assert_null(tx_ready_fn);
	assert_int_equal(bus.n, 0);
	assert_int_equal(irq_redundant, 0);
	assert_int_equal(irq_bad_args, 0);
	return 0;
}

/* The IRQ line must always say whether IIR reports an interrupt. */
static void assert_irq_matches_iir(void)
{
	/* Peek without side effects: IIR only clears THRI, so look at IER too. */
	uint8_t ier = in8(IER);
	uint8_t iir;

	out8(IER, ier & ~0x02); /* mask THRI so the IIR read cannot clear it */
	iir = in8(IIR);
	assert_int_equal(irq_level, !(iir & 1));
	out8(IER, ier);
}

/*
 * Ctrl-A b: a break as Linux's 8250 driver sees one: the receiver line status
 * interrupt, LSR with BI and DR, a NUL in RBR; then ordinary input again
 * (the SysRq command key).
 */
static void test_break(void **state)
{
	uint8_t lsr;

	out8(FCR, 0x01);	/* FIFO on */
	out8(IER, 0x05);	/* RDI + RLSI, as the driver does */
	out8(MCR, 0x08);	/* OUT2 */
	break_fn(break_opaque);
	assert_int_equal(in8(IIR) & 0x0f, 0x06); /* receiver line status */
	assert_int_equal(irq_level, 1);
	lsr = in8(LSR);
	assert_true(lsr & 0x10); /* BI */
	assert_true(lsr & 0x01); /* DR */
	assert_int_equal(in8(RX), 0);
	assert_false(in8(LSR) & 0x10); /* cleared by the read */
	type("h", 1);
	assert_true(in8(LSR) & 0x01);
	assert_int_equal(in8(RX), 'h');
	assert_irq_matches_iir();
}

/*
 * The console's output buffer is full (its reader stopped draining): THR
 * stays busy, LSR.THRE/TEMT clear and no THRE interrupt, until the console
 * says there is room; then THRE and its interrupt come back, as on a real
 * UART held by flow control.
 */
static void test_transmit_waits_for_console(void **state)
{
	out8(IER, 0x02); /* ETBEI */
	assert_int_equal(in8(IIR) & 0x0f, 0x02);
	assert_int_equal(in8(LSR) & 0x60, 0x60);

	/* This byte fills the console's buffer. */
	con_room = false;
	out8(0, 'a');
	assert_int_equal(out_len, 1);
	assert_int_equal(in8(LSR) & 0x60, 0); /* THRE, TEMT clear */
	assert_int_equal(in8(IIR) & 0x0f, 0x01); /* no interrupt */
	assert_int_equal(irq_level, 0);
	/* Re-enabling ETBEI does not fake an empty THR either. */
	out8(IER, 0);
	out8(IER, 0x02);
	assert_int_equal(in8(IIR) & 0x0f, 0x01);
	assert_int_equal(irq_level, 0);

	/* The sink drained: the console calls tx-ready. */
	con_room = true;
	tx_ready_fn(tx_ready_opaque);
	assert_int_equal(irq_level, 1);
	assert_int_equal(in8(LSR) & 0x60, 0x60);
	assert_int_equal(in8(IIR) & 0x0f, 0x02);
	assert_int_equal(irq_level, 0); /* the IIR read took THRI */
	/* A spurious tx-ready (nothing was waiting) raises nothing. */
	tx_ready_fn(tx_ready_opaque);
	assert_int_equal(irq_level, 0);
	assert_irq_matches_iir();
}

/* THRE latched, then the console fills (other output): IIR must not report THRE. */
static void test_thre_latched_then_console_full(void **state)
{
	out8(IER, 0x02);
	assert_int_equal(irq_level, 1); /* THRE latched */
	con_room = false;
	assert_int_equal(in8(IIR) & 0x0f, 0x01);
	assert_int_equal(irq_level, 0);
	assert_int_equal(in8(LSR) & 0x60, 0);
	con_room = true;
	tx_ready_fn(tx_ready_opaque);
	assert_int_equal(in8(IIR) & 0x0f, 0x02);
	assert_irq_matches_iir();
}

/* serial8250 autoconfig(), step by step, as in drivers/tty/serial/8250/8250_port.c */
static void test_linux_autoconfig(void **state)
{
	uint8_t scratch, scratch2, scratch3, save_mcr, save_lcr, status1, status2, iersave;

	/* Existence test: IER bits 0-3 read back */
	scratch = in8(IER);
	out8(IER, 0);
	scratch2 = in8(IER) & 0x0f;
	out8(IER, 0x0f);
	scratch3 = in8(IER) & 0x0f;
	out8(IER, scratch);
	assert_int_equal(scratch2, 0);
	assert_int_equal(scratch3, 0x0f);

	/* Loopback test: MSR status bits follow MCR */
	save_mcr = in8(MCR);
	save_lcr = in8(LCR);
	out8(MCR, 0x10 | 0x08 | 0x02); /* LOOP | OUT2 | RTS */
	status1 = in8(MSR) & 0xf0;
	out8(MCR, save_mcr);
	assert_int_equal(status1, 0x80 | 0x10); /* DCD | CTS */

	/* FIFO type from IIR bits 6-7 */
	out8(LCR, 0xbf);
	out8(2, 0); /* EFR, if any */
	out8(LCR, 0);
	out8(FCR, 0x01);
	assert_int_equal(in8(IIR) >> 6, 3); /* 16550A */

	/* autoconfig_16550a(): no EFR with DLAB set or with LCR = 0xbf */
	out8(LCR, 0x80);
	assert_int_not_equal(in8(2), 0);
	out8(LCR, 0xbf);
	assert_int_not_equal(in8(2), 0);

	/* Not a National SuperIO: EXCR1 does not follow MCR.LOOP */
	out8(LCR, 0);
	status1 = in8(MCR);
	out8(LCR, 0xe0);
	status2 = in8(2);
	assert_int_equal((status2 ^ status1) & 0x10, 0);
	out8(LCR, 0);
	out8(MCR, status1 ^ 0x10);
	out8(LCR, 0xe0);
	status2 = in8(2);
	out8(LCR, 0);
	out8(MCR, status1);
	assert_int_equal((status2 ^ status1) & 0x10, 0);

	/* Not a TI16750: IIR bit 5 never set */
	out8(LCR, 0);
	out8(FCR, 0x01 | 0x20);
	status1 = in8(IIR) >> 5;
	out8(FCR, 0x01);
	out8(LCR, 0x80);
	out8(FCR, 0x01 | 0x20);
	status2 = in8(IIR) >> 5;
	out8(FCR, 0x01);
	out8(LCR, 0);
	assert_int_equal(status1, 6);
	assert_int_equal(status2, 6);

	/* Not an XScale: IER.UUE (bit 6) does not stick */
	iersave = in8(IER);
	out8(IER, iersave & ~0x40);
	assert_int_equal(in8(IER) & 0x40, 0);
	out8(IER, iersave | 0x40);
	assert_int_equal(in8(IER) & 0x40, 0);
	out8(IER, iersave);

	out8(LCR, save_lcr);
	out8(MCR, save_mcr);

	/* Scratch register (the 8250 vs 16450 test) */
	out8(SCR, 0xa5);
	assert_int_equal(in8(SCR), 0xa5);
	out8(SCR, 0x5a);
	assert_int_equal(in8(SCR), 0x5a);

	/* Divisor latch behind DLAB, IER untouched */
	out8(IER, 0x05);
	out8(LCR, 0x80 | 0x03);
	out8(0, 0x01);
	out8(1, 0x00);
	assert_int_equal(in8(0), 0x01);
	assert_int_equal(in8(1), 0x00);
	out8(LCR, 0x03);
	assert_int_equal(in8(IER), 0x05);
	assert_int_equal(in8(LCR), 0x03);

	/* serial8250_do_startup(): clear FIFOs, then LSR must not read 0xff */
	out8(FCR, 0x01);
	out8(FCR, 0x07);
	out8(FCR, 0x00);
	in8(LSR);
	in8(RX);
	in8(IIR);
	in8(MSR);
	assert_int_not_equal(in8(LSR), 0xff);
	assert_int_equal(in8(LSR), 0x60); /* THRE | TEMT */
	assert_int_equal(in8(IIR), 0x01); /* FIFOs off, nothing pending */
	assert_int_equal(out_len, 0);	  /* the probe printed nothing */
}

/* The UART_BUG_THRE and UART_BUG_TXEN probes of serial8250_do_startup() */
static void test_linux_thre_probes(void **state)
{
	uint8_t iir1, iir, lsr;

	out8(IER, 0x02);
	assert_int_equal(irq_level, 1);
	iir1 = in8(IIR);
	assert_int_equal(irq_level, 0); /* reading IIR cleared THRI */
	out8(IER, 0);
	out8(IER, 0x02);
	assert_int_equal(irq_level, 1); /* re-asserted */
	iir = in8(IIR);
	out8(IER, 0);
	assert_int_equal(iir1 & 0x0f, 0x02);
	assert_int_equal(iir & 0x0f, 0x02);
	/* no UART_BUG_THRE: */
	assert_false(!(iir1 & 1) && (iir & 1));

	out8(IER, 0x02);
	lsr = in8(LSR);
	iir = in8(IIR);
	out8(IER, 0);
	/* no UART_BUG_TXEN: */
	assert_false((lsr & 0x40) && (iir & 1));
	assert_int_equal(irq_level, 0);
}

static void test_transmit(void **state)
{
	const char *msg = "Hello, ktvm!\r\n";

	for (const char *p = msg; *p; p++) {
		assert_true(in8(LSR) & 0x20);
		out8(0, (uint8_t)*p);
	}
	assert_int_equal(out_len, strlen(msg));
	assert_memory_equal(out_buf, msg, strlen(msg));
	assert_int_equal(irq_calls, 0); /* THRI not enabled: no interrupt */

	/* Interrupt-driven: THRE interrupt, IIR read clears, THR write re-arms */
	out8(FCR, 0x01);
	out8(IER, 0x02);
	assert_int_equal(irq_level, 1);
	assert_int_equal(in8(IIR), 0xc2);
	assert_int_equal(irq_level, 0);
	assert_int_equal(in8(IIR), 0xc1);
	out8(0, 'a');
	out8(0, 'b');
	assert_int_equal(irq_level, 1);
	assert_int_equal(in8(IIR), 0xc2);
	assert_int_equal(irq_level, 0);
	/* stop_tx: THRI off, nothing pending */
	out8(0, 'c');
	assert_int_equal(irq_level, 1);
	out8(IER, 0);
	assert_int_equal(irq_level, 0);
	assert_int_equal(in8(IIR), 0xc1);
	assert_int_equal(out_len, strlen(msg) + 3);
	assert_memory_equal(out_buf + strlen(msg), "abc", 3);
	/* Writes with DLAB set go to the divisor, not the console */
	out8(LCR, 0x80);
	out8(0, 'X');
	out8(LCR, 0x03);
	assert_int_equal(out_len, strlen(msg) + 3);
}

static void test_rx_fifo(void **state)
{
	uint8_t buf[32];

	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)('A' + i);

	/* FIFO on, trigger level 14, receive interrupts on */
	out8(FCR, 0xc7);
	out8(IER, 0x01);
	assert_int_equal(in8(IIR), 0xc1);
	assert_int_equal(in8(LSR) & 1, 0);

	type(buf, 5);
	assert_int_equal(in8(LSR) & 1, 1);
	assert_int_equal(in8(IIR), 0xcc); /* below trigger: character timeout */
	assert_int_equal(irq_level, 1);
	type(buf + 5, 9);
	assert_int_equal(in8(IIR), 0xc4); /* 14 bytes: data available */
	assert_int_equal(irq_level, 1);

	for (unsigned int i = 0; i < 14; i++) {
		assert_int_equal(in8(LSR) & 1, 1);
		assert_int_equal(in8(RX), buf[i]);
	}
	assert_int_equal(in8(LSR), 0x60);
	assert_int_equal(in8(IIR), 0xc1);
	assert_int_equal(irq_level, 0);
	assert_int_equal(in8(RX), buf[13]); /* empty FIFO: stale byte, no harm */

	/* Trigger level 1: any byte is "data available" */
	out8(FCR, 0x01);
	type(buf, 1);
	assert_int_equal(in8(IIR), 0xc4);
	assert_int_equal(in8(RX), 'A');
	assert_int_equal(irq_level, 0);

	/* FIFO off: one byte at a time, more wait on the wire, in order */
	out8(FCR, 0x00);
	type(buf, 3);
	assert_int_equal(in8(IIR), 0x04);
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(in8(LSR) & 1, 1);
		assert_int_equal(in8(RX), buf[i]);
	}
	assert_int_equal(in8(LSR) & 1, 0);
	assert_int_equal(irq_level, 0);

	/* RX FIFO reset drops what the FIFO holds; the wire refills it */
	out8(FCR, 0x01);
	type(buf, 20);
	out8(FCR, 0x03);
	for (unsigned int i = 16; i < 20; i++)
		assert_int_equal(in8(RX), buf[i]);
	assert_int_equal(in8(LSR) & 1, 0);
	/* Switching FIFO mode resets the FIFO too */
	type(buf, 3);
	out8(FCR, 0x00);
	assert_int_equal(in8(LSR) & 1, 0);
	assert_int_equal(irq_level, 0);
	/* Receive interrupts off: data but no interrupt */
	out8(IER, 0);
	type(buf, 2);
	assert_int_equal(irq_level, 0);
	assert_int_equal(in8(IIR), 0x01);
	assert_int_equal(in8(LSR) & 1, 1);
}

static void test_rx_overflow(void **state)
{
	size_t total = 16 + SERIAL_BACKLOG_SIZE, n = total + 100, got = 0;
	uint8_t *buf = malloc(n);

	assert_non_null(buf);
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(i * 7);
	out8(FCR, 0x01);
	out8(IER, 0x05); /* data + line status */
	type(buf, n);
	/* The overrun is a line status interrupt, highest priority */
	assert_int_equal(in8(IIR), 0xc6);
	assert_int_equal(in8(LSR), 0x60 | 0x02 | 0x01); /* OE cleared by reading */
	assert_int_equal(in8(LSR), 0x60 | 0x01);
	assert_int_equal(in8(IIR), 0xc4);
	while (in8(LSR) & 1) {
		assert_int_equal(in8(RX), buf[got]);
		got++;
		assert_true(got <= total);
	}
	assert_int_equal(got, total);
	assert_int_equal(irq_level, 0);
	free(buf);
}

static void test_loopback(void **state)
{
	out8(FCR, 0x01);
	out8(IER, 0x01);
	out8(MCR, 0x10 | 0x0b); /* LOOP | OUT2 | RTS | DTR */
	assert_int_equal(in8(MSR) & 0xf0, 0x80 | 0x20 | 0x10);
	out8(0, 'x');
	out8(0, 'y');
	assert_int_equal(out_len, 0); /* not on the console */
	assert_int_equal(irq_level, 1);
	assert_int_equal(in8(RX), 'x');
	assert_int_equal(in8(RX), 'y');
	assert_int_equal(irq_level, 0);

	/* Console input waits while the input is looped back */
	type("zz", 2);
	assert_int_equal(in8(LSR) & 1, 0);

	/* Loopback overrun */
	for (unsigned int i = 0; i < 17; i++)
		out8(0, (uint8_t)i);
	assert_int_equal(in8(LSR) & 0x03, 0x03);
	for (unsigned int i = 0; i < 16; i++)
		assert_int_equal(in8(RX), i);
	out8(MCR, 0x08);
	assert_int_equal(in8(RX), 'z');
	assert_int_equal(in8(RX), 'z');
	assert_int_equal(in8(LSR) & 1, 0);
	assert_int_equal(out_len, 0);
}

static void test_modem_status(void **state)
{
	/* Outside loopback: DCD, DSR and CTS on, RI off, no deltas */
	assert_int_equal(in8(MSR), 0xb0);
	out8(IER, 0x08);
	assert_int_equal(irq_level, 0);
	out8(MCR, 0x10 | 0x04); /* LOOP | OUT1: all lines drop, RI rises */
	assert_int_equal(irq_level, 1);
	assert_int_equal(in8(IIR), 0x00);
	assert_int_equal(in8(MSR), 0x40 | 0x08 | 0x02 | 0x01);
	assert_int_equal(irq_level, 0);
	assert_int_equal(in8(MSR), 0x40);
	out8(MCR, 0x10); /* RI trailing edge */
	assert_int_equal(in8(MSR), 0x04);
	out8(MCR, 0);
	assert_int_equal(in8(MSR), 0xb0 | 0x08 | 0x02 | 0x01);
	assert_int_equal(in8(MSR), 0xb0);
	assert_int_equal(irq_level, 0);
	/* MSR/LSR writes are ignored */
	out8(MSR, 0x00);
	out8(LSR, 0xff);
	assert_int_equal(in8(MSR), 0xb0);
	assert_int_equal(in8(LSR), 0x60);
}

static void test_interrupt_priority(void **state)
{
	out8(FCR, 0x01);
	out8(IER, 0x0f);
	assert_int_equal(in8(IIR), 0xc2); /* THRI, cleared */
	type("a", 1);
	out8(MCR, 0x10); /* modem status deltas */
	out8(0, 'b');	 /* THRI again, and the FIFO holds "ab" */
	assert_int_equal(in8(IIR), 0xc4);
	in8(RX);
	in8(RX);
	assert_int_equal(in8(IIR), 0xc2); /* THRI read clears it */
	assert_int_equal(in8(IIR), 0xc0); /* then modem status */
	in8(MSR);
	assert_int_equal(in8(IIR), 0xc1);
	assert_int_equal(irq_level, 0);
	out8(MCR, 0);
	in8(MSR);
	assert_irq_matches_iir();
}

static void test_malformed_accesses(void **state)
{
	uint8_t d[8];
	unsigned int calls = irq_calls;

	out8(IER, 0x0f);
	calls = irq_calls;
	for (unsigned int off = 0; off < 8; off++) {
		for (uint32_t size = 2; size <= 8; size *= 2) {
			bool inside = off + size <= 8;

			memset(d, 0x5a, sizeof(d));
			assert_int_equal(io_bus_access(&bus, BASE + off, d, size, false), inside);
			for (uint32_t i = 0; i < size; i++)
				assert_int_equal(d[i], 0xff);
			memset(d, 0x00, sizeof(d));
			assert_int_equal(io_bus_access(&bus, BASE + off, d, size, true), inside);
		}
	}
	/* Nothing changed, nothing was sent */
	assert_int_equal(irq_calls, calls);
	assert_int_equal(in8(IER), 0x0f);
	assert_int_equal(out_len, 0);
	/* Outside the 8 registers: not the UART's */
	assert_false(io_bus_access(&bus, BASE + 8, d, 1, false));
	assert_false(io_bus_access(&bus, BASE - 1, d, 1, true));
	/* Every value of every register, then every read: no crash */
	for (unsigned int off = 0; off < 8; off++)
		for (unsigned int v = 0; v < 256; v++)
			out8(off, (uint8_t)v);
	for (unsigned int off = 0; off < 8; off++)
		in8(off);
	type(NULL, 0);
}

/* A random guest and a random typist: no crash, the line always matches IIR. */
static void test_fuzz(void **state)
{
	uint32_t seed = 12345;
	uint8_t bytes[64];

	for (unsigned int i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)i;
	for (unsigned int i = 0; i < 200000; i++) {
		unsigned int r;

		seed = seed * 1103515245 + 12345;
		r = seed >> 8;
		switch (r % 4) {
		case 0:
			out8((r >> 2) % 8, (uint8_t)(r >> 5));
			break;
		case 1:
		case 2:
			in8((r >> 2) % 8);
			break;
		default:
			if ((r >> 2) % 64 == 0)
				type(bytes, (r >> 8) % sizeof(bytes));
			break;
		}
		if (i % 1000 == 0) {
			out8(LCR, 0);
			assert_irq_matches_iir();
		}
	}
	assert_true(out_len > 0);
}

static void *hammer(void *arg)
{
	uint32_t seed = (uint32_t)(uintptr_t)arg;

	for (unsigned int i = 0; i < 50000; i++) {
		uint8_t v;

		seed = seed * 1103515245 + 12345;
		v = (uint8_t)(seed >> 16);
		if (seed & 0x100)
			io_bus_access(&bus, BASE + ((seed >> 9) % 8), &v, 1, true);
		else
			io_bus_access(&bus, BASE + ((seed >> 9) % 8), &v, 1, false);
	}
	return NULL;
}

/* Two vCPUs and the console thread at once (run under SANITIZE=1 too). */
static void test_concurrent(void **state)
{
	pthread_t t[2];
	uint8_t bytes[16] = "0123456789abcdef";

	for (uintptr_t i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, (void *)(i + 1)), 0);
	for (unsigned int i = 0; i < 20000; i++)
		type(bytes, 1 + i % 16);
	for (unsigned int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	out8(LCR, 0);
	assert_irq_matches_iir();
}

static void test_create_conflict(void **state)
{
	struct serial *other;

	/* Overlapping the first UART fails cleanly */
	other = serial_create(&vm, &bus, BASE + 4, 3, NULL);
	assert_null(other);
	/* No console: output dropped, nothing registered */
	other = serial_create(&vm, &bus, 0x2f8, 3, NULL);
	assert_non_null(other);
	assert_int_equal(set_input_calls, 1);
	{
		uint8_t v = 'q';

		assert_true(io_bus_access(&bus, 0x2f8, &v, 1, true));
	}
	assert_int_equal(out_len, 0);
	serial_destroy(other);
	serial_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_linux_autoconfig, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_thre_probes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transmit_waits_for_console, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_latched_then_console_full, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rx_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modem_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_priority, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_accesses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fuzz, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_break, setup, teardown),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
