// SPDX-License-Identifier: MIT
/*
 * serial.c - a 16550A UART, enough for Linux's 8250 driver to identify it as
 * a 16550A and to run it interrupt-driven in both directions.
 *
 * Model:
 *  - Transmission is instantaneous: a byte written to THR goes straight to
 *    the console (or, in loopback mode, to the receive FIFO), so THR and the
 *    transmitter are empty (LSR.THRE = LSR.TEMT = 1) and a THRE interrupt is
 *    latched after every THR write.  No batching, no latency.  Except when
 *    the console's output buffer is full (its reader stopped draining):
 *    then THR stays "full" (THRE = TEMT = 0, no THRE interrupt) until the
 *    console says there is room again, as a real UART whose line is held
 *    by flow control.  A driver that waits for THRE (Linux's does) loses
 *    nothing; a byte written anyway is dropped and counted by the console.
 *  - The THRE interrupt source is latched (thr_ipending): set when THR
 *    becomes empty and when IER.ETBEI goes 0 -> 1; cleared by a THR write
 *    and by an IIR read that reports it (16550 datasheet), so Linux's
 *    UART_BUG_THRE and UART_BUG_TXEN probes see a real 16550A.
 *  - Receive: a 16-byte FIFO (1 byte when FCR.FE = 0) fed from a host-side
 *    backlog of SERIAL_BACKLOG_SIZE bytes, which stands for bytes still "on
 *    the wire": whenever the FIFO has room (the guest read RBR, reset the
 *    FIFO) it is refilled at once.  Console input that does not fit in the
 *    backlog is dropped and reported to the guest as an overrun (LSR.OE), as
 *    is a loopback byte that finds the FIFO full.  In loopback mode the
 *    backlog is held (the serial input is disconnected) until loopback ends.
 *  - There is no timer: the character timeout interrupt (IIR 0x0C) is
 *    reported as soon as the FIFO holds fewer bytes than the trigger level,
 *    i.e. the four character times are taken to have elapsed already.
 *  - The modem lines are fixed at DCD, DSR and CTS asserted (RI clear); in
 *    loopback they follow MCR (CTS=RTS, DSR=DTR, RI=OUT1, DCD=OUT2) with the
 *    delta bits a real chip reports.
 *  - The interrupt line is the level "an interrupt is pending" (IIR bit 0
 *    clear), not gated by MCR.OUT2 (like QEMU); vm_irq_line() is called on
 *    changes only, under the device lock so that the last level set is the
 *    current one.
 *  - Only 1-byte accesses are valid: others read all-ones, are ignored, and
 *    are logged once.
 */
#include <stdlib.h>
#include <string.h>

#include "devices/serial.h"

#define SERIAL_NREGS	 8
#define SERIAL_FIFO_SIZE 16

/* Register offsets */
#define UART_RX	 0 /* in: receive buffer (DLAB = 0) */
#define UART_TX	 0 /* out: transmit holding (DLAB = 0) */
#define UART_DLL 0 /* divisor latch low (DLAB = 1) */
#define UART_IER 1 /* interrupt enable (DLAB = 0) */
#define UART_DLM 1 /* divisor latch high (DLAB = 1) */
#define UART_IIR 2 /* in: interrupt identification */
#define UART_FCR 2 /* out: FIFO control */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* transmitter holding register empty */
#define IER_ELSI  0x04 /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */
#define IER_MASK  0x0f

#define IIR_NO_INT 0x01
#define IIR_MSI	   0x00
#define IIR_THRI   0x02
#define IIR_RDI	   0x04
#define IIR_RLSI   0x06
#define IIR_CTI	   0x0c
#define IIR_FIFOS  0xc0

#define FCR_FE	     0x01
#define FCR_RX_RESET 0x02
#define FCR_TX_RESET 0x04

#define LCR_DLAB 0x80

#define MCR_DTR	 0x01
#define MCR_RTS	 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR	   0x01
#define LSR_OE	   0x02
#define LSR_PE	   0x04
#define LSR_FE	   0x08
#define LSR_BI	   0x10
#define LSR_THRE   0x20
#define LSR_TEMT   0x40
#define LSR_ERRORS (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS   0x01
#define MSR_DDSR   0x02
#define MSR_TERI   0x04
#define MSR_DDCD   0x08
#define MSR_DELTAS 0x0f
#define MSR_CTS	   0x10
#define MSR_DSR	   0x20
#define MSR_RI	   0x40
#define MSR_DCD	   0x80

static const unsigned int fifo_trigger[4] = {1, 4, 8, 14};

struct serial {
	pthread_mutex_t lock;
	struct vm *vm;
	struct io_bus *bus;
	uint64_t base;
	uint32_t gsi;
	struct console *con;

	uint8_t ier, lcr, mcr, lsr_err, msr_delta, scr, dll, dlm;
	uint8_t rbr; /* last byte read from the FIFO */
	bool fifo_enabled;
	uint8_t trigger;   /* bytes for the RDI interrupt */
	bool thr_ipending; /* THRE interrupt source latched */
	bool tx_waiting;   /* THR "full": waiting for the console's tx-ready */
	int irq_level;	   /* last level given to vm_irq_line() */

	/* Receive FIFO: a ring of SERIAL_FIFO_SIZE */
	uint8_t rx[SERIAL_FIFO_SIZE];
	unsigned int rx_head, rx_count;

	/* Host-side backlog feeding the FIFO: a ring of SERIAL_BACKLOG_SIZE */
	uint8_t *backlog;
	size_t bl_head, bl_count;
	uint64_t dropped;
};

static unsigned int rx_capacity(const struct serial *s)
{
	return s->fifo_enabled ? SERIAL_FIFO_SIZE : 1;
}

static bool rx_push(struct serial *s, uint8_t b)
{
	if (s->rx_count >= rx_capacity(s))
		return false;
	s->rx[(s->rx_head + s->rx_count) % SERIAL_FIFO_SIZE] = b;
	s->rx_count++;
	return true;
}

static void rx_reset(struct serial *s)
{
	s->rx_head = 0;
	s->rx_count = 0;
}

/*
 * Is THR empty?  In loopback always (the byte went to the FIFO); else when
 * the console has room.  When it has not, tx-ready will latch THRE later.
 */
static bool thr_empty(struct serial *s)
{
	if ((s->mcr & MCR_LOOP) || console_tx_room(s->con))
		return true;
	s->tx_waiting = true;
	s->thr_ipending = false; /* a busy THR has no THRE interrupt to report */
	return false;
}

/* The modem status lines (MSR bits 4-7) as the guest sees them now. */
static uint8_t msr_lines(const struct serial *s)
{
	uint8_t m = 0;

	if (!(s->mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	if (s->mcr & MCR_RTS)
		m |= MSR_CTS;
	if (s->mcr & MCR_DTR)
		m |= MSR_DSR;
	if (s->mcr & MCR_OUT1)
		m |= MSR_RI;
	if (s->mcr & MCR_OUT2)
		m |= MSR_DCD;
	return m;
}

/* Move bytes "on the wire" into the FIFO while there is room. */
static void rx_refill(struct serial *s)
{
	if (s->mcr & MCR_LOOP)
		return;
	while (s->bl_count && s->rx_count < rx_capacity(s)) {
		rx_push(s, s->backlog[s->bl_head]);
		s->bl_head = (s->bl_head + 1) % SERIAL_BACKLOG_SIZE;
		s->bl_count--;
	}
}

/* IIR bits 0-3 for the highest-priority pending interrupt. */
static uint8_t iir_id(const struct serial *s)
{
	if ((s->ier & IER_ELSI) && (s->lsr_err & LSR_ERRORS))
		return IIR_RLSI;
	if ((s->ier & IER_ERBFI) && s->rx_count) {
		if (!s->fifo_enabled || s->rx_count >= s->trigger)
			return IIR_RDI;
		return IIR_CTI;
	}
	if ((s->ier & IER_ETBEI) && s->thr_ipending)
		return IIR_THRI;
	if ((s->ier & IER_EDSSI) && (s->msr_delta & MSR_DELTAS))
		return IIR_MSI;
	return IIR_NO_INT;
}

static void update_irq(struct serial *s)
{
	int level = iir_id(s) != IIR_NO_INT;

	if (level != s->irq_level) {
		s->irq_level = level;
		vm_irq_line(s->vm, s->gsi, level);
	}
}

static void set_mcr(struct serial *s, uint8_t val)
{
	uint8_t before = msr_lines(s), after, changed;

	s->mcr = val & MCR_MASK;
	after = msr_lines(s);
	changed = before ^ after;
	if (changed & MSR_CTS)
		s->msr_delta |= MSR_DCTS;
	if (changed & MSR_DSR)
		s->msr_delta |= MSR_DDSR;
	if ((before & MSR_RI) && !(after & MSR_RI))
		s->msr_delta |= MSR_TERI;
	if (changed & MSR_DCD)
		s->msr_delta |= MSR_DDCD;
	rx_refill(s); /* loopback may have ended */
}

static void set_fcr(struct serial *s, uint8_t val)
{
	bool fe = val & FCR_FE;

	if (fe != s->fifo_enabled) {
		/* Changing FIFO mode resets both FIFOs. */
		s->fifo_enabled = fe;
		rx_reset(s);
	}
	if (fe) {
		/* The other bits are only programmed with FE set. */
		if (val & FCR_RX_RESET)
			rx_reset(s);
		s->trigger = (uint8_t)fifo_trigger[val >> 6];
	}
	rx_refill(s);
}

/* Returns true if 'out' must go to the console (after the lock is dropped). */
static bool serial_write(struct serial *s, unsigned int reg, uint8_t val)
{
	bool dlab = s->lcr & LCR_DLAB;
	bool emit = false;

	switch (reg) {
	case UART_TX:
		if (dlab) {
			s->dll = val;
			break;
		}
		if (s->mcr & MCR_LOOP) {
			if (!rx_push(s, val))
				s->lsr_err |= LSR_OE;
		} else {
			emit = true;
		}
		/*
		 * Sent at once: THR is empty again, unless this byte fills the
		 * console's buffer (checked after it is written, in serial_io).
		 */
		s->thr_ipending = true;
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = val;
			break;
		}
		val &= IER_MASK;
		if ((val & IER_ETBEI) && !(s->ier & IER_ETBEI) && thr_empty(s))
			s->thr_ipending = true;
		s->ier = val;
		break;
	case UART_FCR:
		set_fcr(s, val);
		break;
	case UART_LCR:
		s->lcr = val;
		break;
	case UART_MCR:
		set_mcr(s, val);
		break;
	case UART_SCR:
		s->scr = val;
		break;
	default: /* LSR, MSR: read-only (factory test) */
		log_once(LOG_DEBUG, "serial", "write 0x%02x to read-only register %u ignored", val,
			 reg);
		break;
	}
	update_irq(s);
	return emit;
}

static uint8_t serial_read(struct serial *s, unsigned int reg)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t v = 0, id;

	switch (reg) {
	case UART_RX:
		if (dlab) {
			v = s->dll;
			break;
		}
		if (s->rx_count) {
			s->rbr = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_SIZE;
			s->rx_count--;
			rx_refill(s);
		}
		v = s->rbr; /* an empty FIFO reads the last byte again */
		break;
	case UART_IER:
		v = dlab ? s->dlm : s->ier;
		break;
	case UART_IIR:
		id = iir_id(s);
		if (id == IIR_THRI && !thr_empty(s))
			id = iir_id(s); /* the console filled up since THRE was latched */
		v = id | (s->fifo_enabled ? IIR_FIFOS : 0);
		if (id == IIR_THRI)
			s->thr_ipending = false;
		break;
	case UART_LCR:
		v = s->lcr;
		break;
	case UART_MCR:
		v = s->mcr;
		break;
	case UART_LSR:
		v = (thr_empty(s) ? LSR_THRE | LSR_TEMT : 0) | s->lsr_err |
		    (s->rx_count ? LSR_DR : 0);
		s->lsr_err = 0;
		break;
	case UART_MSR:
		v = msr_lines(s) | s->msr_delta;
		s->msr_delta = 0;
		break;
	case UART_SCR:
		v = s->scr;
		break;
	}
	update_irq(s);
	return v;
}

static void serial_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
	struct serial *s = opaque;
	bool emit = false;
	uint8_t b = 0;

	if (size != 1 || offset >= SERIAL_NREGS) {
		log_once(LOG_WARN, "serial", "ignored %u-byte %s at offset %llu", size,
			 is_write ? "write" : "read", (unsigned long long)offset);
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (is_write) {
		b = data[0];
		emit = serial_write(s, (unsigned int)offset, b);
	} else {
		data[0] = serial_read(s, (unsigned int)offset);
	}
	pthread_mutex_unlock(&s->lock);
	/*
	 * Outside the lock, so console input is never held up behind output.
	 * Ordering is kept: a vCPU's next THR write waits for this one's exit.
	 */
	if (emit && s->con) {
		console_write(s->con, &b, 1);
		if (!console_tx_room(s->con)) {
			/* That byte filled the buffer: THR is "busy" until tx-ready. */
			pthread_mutex_lock(&s->lock);
			if (!console_tx_room(s->con)) {
				s->tx_waiting = true;
				s->thr_ipending = false;
				update_irq(s);
			}
			pthread_mutex_unlock(&s->lock);
		}
	}
}

/* The console has room again: THR is empty, latch the THRE interrupt. */
void serial_tx_ready(void *opaque)
{
	struct serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	if (s->tx_waiting) {
		s->tx_waiting = false;
		s->thr_ipending = true;
		update_irq(s);
	}
	pthread_mutex_unlock(&s->lock);
}

void serial_rx_input(void *opaque, const uint8_t *buf, size_t len)
{
	struct serial *s = opaque;
	size_t dropped = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < len; i++) {
		/* Straight into the FIFO unless older bytes are still waiting. */
		if (!s->bl_count && !(s->mcr & MCR_LOOP) && rx_push(s, buf[i]))
			continue;
		if (s->bl_count == SERIAL_BACKLOG_SIZE) {
			dropped = len - i;
			break;
		}
		s->backlog[(s->bl_head + s->bl_count) % SERIAL_BACKLOG_SIZE] = buf[i];
		s->bl_count++;
	}
	if (dropped) {
		s->dropped += dropped;
		s->lsr_err |= LSR_OE;
		log_once(LOG_WARN, "serial", "guest is not reading its console: input dropped");
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

/*
 * A break on the line (Ctrl-A b): what a 16550 reports for one, a NUL
 * character in the FIFO with LSR.BI (and the receiver line status
 * interrupt).  Linux's 8250 driver turns it into a SysRq prefix: the next
 * character within 5 s is a SysRq command.
 */
void serial_send_break(void *opaque)
{
	struct serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	if (!(s->mcr & MCR_LOOP) && !s->bl_count && rx_push(s, 0)) {
		s->lsr_err |= LSR_BI;
		update_irq(s);
	} else {
		log_once(LOG_WARN, "serial", "break not sent: the receive FIFO is busy");
	}
	pthread_mutex_unlock(&s->lock);
}

struct serial *serial_create(struct vm *vm, struct io_bus *bus, uint64_t base, uint32_t gsi,
			     struct console *con)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s || !(s->backlog = malloc(SERIAL_BACKLOG_SIZE))) {
		log_err("serial", "out of memory");
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->vm = vm;
	s->bus = bus;
	s->base = base;
	s->gsi = gsi;
	s->con = con;
	s->trigger = 1;
	s->dll = 0x0c; /* 9600 baud */
	s->thr_ipending = true;
	if (io_bus_register(bus, base, SERIAL_NREGS, serial_io, s, "serial")) {
		log_err("serial", "cannot register ports 0x%llx-0x%llx on %s",
			(unsigned long long)base, (unsigned long long)(base + SERIAL_NREGS - 1),
			bus->name ? bus->name : "bus");
		pthread_mutex_destroy(&s->lock);
		free(s->backlog);
		free(s);
		return NULL;
	}
	if (con) {
		console_set_input(con, serial_rx_input, s);
		console_set_break(con, serial_send_break, s);
		console_set_tx_ready(con, serial_tx_ready, s);
	}
	return s;
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	if (s->con) {
		console_set_input(s->con, NULL, NULL);
		console_set_break(s->con, NULL, NULL);
		console_set_tx_ready(s->con, NULL, NULL);
	}
	io_bus_unregister(s->bus, s->base);
	pthread_mutex_destroy(&s->lock);
	free(s->backlog);
	free(s);
}
