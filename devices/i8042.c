// SPDX-License-Identifier: MIT
/*
 * i8042.c - a minimal 8042 keyboard controller with no keyboard or mouse.
 *
 * It answers the controller commands a kernel sends while probing (each
 * command that expects a reply gets one at once, so no probe waits for a
 * timeout): read/write of the command byte and the rest of the 32-byte
 * internal RAM (0x20-0x3f/0x60-0x7f), self test 0xaa -> 0x55, interface
 * tests 0xab/0xa9 -> 0x00, port enable/disable (0xa7/0xa8/0xad/0xae),
 * output port read/write (0xd0/0xd1), the loopback writes 0xd2/0xd3 (the byte
 * comes back as if from the keyboard/mouse), and pulsing the reset line:
 * 0xf0-0xfe with bit 0 clear, or writing the output port with bit 0 clear,
 * stops the VM with status 0 (a reboot ends ktvm).
 *
 * There is no interrupt line: bytes for the keyboard or the mouse (data
 * port writes, 0xd4) go nowhere, as if the device never answered.  The data
 * port returns the last response (0 at first) and clears the output-buffer
 * flag.  Note for a Linux guest: without IRQ 12 its AUX interrupt test waits
 * 250 ms, so boot it with i8042.noaux (or describe no 8042 in the FADT).
 */
#include <stdlib.h>

#include "devices/i8042.h"

#define STS_OBF	     0x01 /* output buffer full */
#define STS_SYS	     0x04 /* system flag (self test passed) */
#define STS_CMD	     0x08 /* last write was to the command port */
#define STS_UNLOCKED 0x10 /* keyboard not inhibited */
#define STS_AUXOBF   0x20 /* output buffer holds a mouse byte */

#define CTR_SYS	   0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20

#define OUTP_RESET 0x01 /* 0 = reset line asserted */
#define OUTP_A20   0x02

struct i8042 {
	pthread_mutex_t lock;
	struct vm *vm;
	uint8_t ram[32]; /* ram[0] is the command byte (CTR) */
	uint8_t status;
	uint8_t out;	 /* output buffer */
	uint8_t outp;	 /* output port */
	uint8_t pending; /* command waiting for its data byte, or 0 */
	struct io_bus *bus;
	uint64_t data_port, cmd_port;
};

static void respond(struct i8042 *k, uint8_t v, bool aux)
{
	k->out = v;
	k->status |= STS_OBF;
	if (aux)
		k->status |= STS_AUXOBF;
	else
		k->status &= (uint8_t)~STS_AUXOBF;
}

/* Returns true when the reset line was pulsed. */
static bool i8042_command(struct i8042 *k, uint8_t cmd)
{
	k->status |= STS_CMD;
	k->pending = 0;
	if (cmd >= 0x20 && cmd <= 0x3f) {
		respond(k, k->ram[cmd & 0x1f], false);
		return false;
	}
	if (cmd >= 0x60 && cmd <= 0x7f) {
		k->pending = cmd;
		return false;
	}
	if (cmd >= 0xf0) /* pulse output port bits 0-3 that are 0 in cmd */
		return !(cmd & 0x01);
	switch (cmd) {
	case 0xa7: /* disable mouse port */
		k->ram[0] |= CTR_AUXDIS;
		break;
	case 0xa8: /* enable mouse port */
		k->ram[0] &= (uint8_t)~CTR_AUXDIS;
		break;
	case 0xa9: /* mouse interface test: no error */
	case 0xab: /* keyboard interface test: no error */
		respond(k, 0x00, false);
		break;
	case 0xaa: /* controller self test */
		k->ram[0] |= CTR_SYS;
		respond(k, 0x55, false);
		break;
	case 0xad: /* disable keyboard */
		k->ram[0] |= CTR_KBDDIS;
		break;
	case 0xae: /* enable keyboard */
		k->ram[0] &= (uint8_t)~CTR_KBDDIS;
		break;
	case 0xd0: /* read output port */
		respond(k, k->outp, false);
		break;
	case 0xd1: /* write output port */
	case 0xd2: /* write keyboard output buffer */
	case 0xd3: /* write mouse output buffer */
	case 0xd4: /* write to the mouse */
		k->pending = cmd;
		break;
	default:
		log_once(LOG_INFO, "i8042", "unsupported command 0x%02x ignored", cmd);
		break;
	}
	return false;
}

/* Returns true when the reset line was pulsed. */
static bool i8042_data(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending;

	k->status &= (uint8_t)~STS_CMD;
	k->pending = 0;
	if (cmd >= 0x60 && cmd <= 0x7f) {
		k->ram[cmd & 0x1f] = v;
		return false;
	}
	switch (cmd) {
	case 0xd1:
		k->outp = v;
		return !(v & OUTP_RESET);
	case 0xd2:
		respond(k, v, false);
		break;
	case 0xd3:
		respond(k, v, true);
		break;
	default: /* 0xd4 or plain data: for a device that is not there */
		break;
	}
	return false;
}

static void i8042_io(struct i8042 *k, bool is_cmd, uint8_t *data, uint32_t size, bool is_write)
{
	bool reset = false;

	if (size != 1) {
		log_once(LOG_WARN, "i8042", "ignored %u-byte %s", size,
			 is_write ? "write" : "read");
		if (!is_write)
			for (uint32_t i = 0; i < size; i++)
				data[i] = 0xff;
		return;
	}
	pthread_mutex_lock(&k->lock);
	if (is_write && is_cmd) {
		reset = i8042_command(k, data[0]);
	} else if (is_write) {
		reset = i8042_data(k, data[0]);
	} else if (is_cmd) {
		data[0] = (uint8_t)(k->status | (k->ram[0] & CTR_SYS ? STS_SYS : 0));
	} else {
		data[0] = k->out;
		k->status &= (uint8_t) ~(STS_OBF | STS_AUXOBF);
	}
	pthread_mutex_unlock(&k->lock);
	if (reset)
		vm_request_stop(k->vm, 0, "guest reset through the i8042");
}

static void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size,
			  bool is_write)
{
	i8042_io(opaque, false, data, size, is_write);
}

static void i8042_cmd_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
	i8042_io(opaque, true, data, size, is_write);
}

struct i8042 *i8042_new(struct vm *vm, struct io_bus *bus, uint64_t data_port, uint64_t cmd_port)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (!k) {
		log_err("i8042", "out of memory");
		return NULL;
	}
	pthread_mutex_init(&k->lock, NULL);
	k->vm = vm;
	/* As firmware leaves it: translation on, both ports enabled, no interrupts. */
	k->ram[0] = 0x40 | CTR_SYS;
	k->status = STS_UNLOCKED;
	k->outp = OUTP_RESET | OUTP_A20;
	k->bus = bus;
	k->data_port = data_port;
	k->cmd_port = cmd_port;
	if (io_bus_register(bus, data_port, 1, i8042_data_io, k, "i8042-data"))
		goto fail;
	if (io_bus_register(bus, cmd_port, 1, i8042_cmd_io, k, "i8042-cmd")) {
		io_bus_unregister(bus, data_port);
		goto fail;
	}
	return k;
fail:
	log_err("i8042", "cannot register ports 0x%llx/0x%llx", (unsigned long long)data_port,
		(unsigned long long)cmd_port);
	pthread_mutex_destroy(&k->lock);
	free(k);
	return NULL;
}

void i8042_destroy(struct i8042 *k)
{
	if (!k)
		return;
	io_bus_unregister(k->bus, k->data_port);
	io_bus_unregister(k->bus, k->cmd_port);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

int i8042_create(struct vm *vm, struct io_bus *bus, uint64_t data_port, uint64_t cmd_port)
{
	return i8042_new(vm, bus, data_port, cmd_port) ? 0 : -1;
}
