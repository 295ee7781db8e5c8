/* SPDX-License-Identifier: MIT */
/*
 * serial.h - a 16550A UART on any I/O bus.
 *
 * Eight byte-wide registers at base..base+7; transmitted bytes go to the
 * console, bytes typed on the console arrive in the receive FIFO.  The
 * interrupt line (a GSI of the in-kernel irqchip) is driven to the level
 * "an interrupt is pending", with vm_irq_line() called on every change only.
 */
#ifndef KTVM_DEVICES_SERIAL_H
#define KTVM_DEVICES_SERIAL_H

#include "vmm/ktvm.h"

/* Host-side input queue behind the 16-byte receive FIFO (see serial.c). */
#define SERIAL_BACKLOG_SIZE 65536

struct serial;

/*
 * Create a UART at [base, base + 8) on 'bus', raising 'gsi' on 'vm'.  'con'
 * may be NULL (output discarded, no input).  Returns NULL on failure (the
 * range is taken, or out of memory) after logging why.
 */
struct serial *serial_create(struct vm *vm, struct io_bus *bus, uint64_t base, uint32_t gsi,
			     struct console *con);
/* Unregister and free; no vCPU may be running.  NULL is fine. */
void serial_destroy(struct serial *s);

/* The console input callback (registered by serial_create; exposed for tests). */
void serial_rx_input(void *opaque, const uint8_t *buf, size_t len);
/* The console tx-ready callback: THR is empty again (exposed for tests). */
void serial_tx_ready(void *opaque);
/* The console break callback (Ctrl-A b): a NUL with LSR.BI (exposed for tests). */
void serial_send_break(void *opaque);

#endif
