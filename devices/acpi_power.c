// SPDX-License-Identifier: MIT
/*
 * acpi_power.c - HW-reduced ACPI sleep control/status and reset registers.
 *
 * Sleep control (write-only, reads 0): SLP_EN | SLP_TYP == S5 powers off.
 * Other sleep states are not supported: the request is logged once and
 * answered by setting WAK_STS, as if the guest had woken up immediately
 * (Linux's acpi_hw_extended_sleep() polls WAK_STS after the write).
 * Sleep status: reads WAK_STS (bit 7) or 0; writing bit 7 clears it.
 * Reset (reads 0): reset_value reboots, i.e. ends ktvm with status 0;
 * other values are ignored.  Only 1-byte accesses count; others are
 * ignored (reads all-ones) and logged once.
 */
#include <stdlib.h>

#include "devices/acpi_power.h"

enum acpi_reg { ACPI_SLEEP_CTL, ACPI_SLEEP_STS, ACPI_RESET, ACPI_NREGS };

struct acpi_power;

struct acpi_port {
	struct acpi_power *dev;
	enum acpi_reg reg;
};

struct acpi_power {
	struct vm *vm;
	struct io_bus *bus;
	uint64_t port_addr[ACPI_NREGS]; /* for acpi_power_destroy */
	uint8_t reset_value, s5_slp_typ;
	atomic_uint wak_sts; /* the sleep status register */
	struct acpi_port ports[ACPI_NREGS];
};

static void sleep_ctl_write(struct acpi_power *a, uint8_t v)
{
	unsigned int typ = (v & ACPI_SLEEP_CTL_TYP_MASK) >> ACPI_SLEEP_CTL_TYP_SHIFT;

	if (!(v & ACPI_SLEEP_CTL_SLP_EN))
		return; /* SLP_TYP alone does nothing until SLP_EN */
	if (typ == a->s5_slp_typ) {
		vm_request_stop(a->vm, 0, "guest powered off (ACPI S5)");
		return;
	}
	log_once(LOG_WARN, "acpi",
		 "guest asked for sleep type %u: not supported, waking it at once", typ);
	atomic_store(&a->wak_sts, ACPI_SLEEP_STS_WAK);
}

static void acpi_power_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size,
			  bool is_write)
{
	struct acpi_port *p = opaque;
	struct acpi_power *a = p->dev;

	if (size != 1 || offset != 0) {
		log_once(LOG_WARN, "acpi", "ignored %u-byte %s of a 1-byte register", size,
			 is_write ? "write" : "read");
		if (!is_write)
			for (uint32_t i = 0; i < size; i++)
				data[i] = 0xff;
		return;
	}
	if (!is_write) {
		data[0] = p->reg == ACPI_SLEEP_STS ? (uint8_t)atomic_load(&a->wak_sts) : 0;
		return;
	}
	switch (p->reg) {
	case ACPI_SLEEP_CTL:
		sleep_ctl_write(a, data[0]);
		break;
	case ACPI_SLEEP_STS:
		if (data[0] & ACPI_SLEEP_STS_WAK)
			atomic_store(&a->wak_sts, 0);
		break;
	case ACPI_RESET:
		if (data[0] == a->reset_value)
			vm_request_stop(a->vm, 0, "guest reboot (ACPI reset)");
		else
			log_once(LOG_WARN, "acpi", "reset register: value 0x%02x ignored", data[0]);
		break;
	default:
		break;
	}
}

struct acpi_power *acpi_power_create(struct vm *vm, struct io_bus *bus, uint64_t sleep_ctl_port,
				     uint64_t sleep_sts_port, uint64_t reset_port,
				     uint8_t reset_value, uint8_t s5_slp_typ)
{
	static const char *const names[ACPI_NREGS] = {"acpi-sleep-ctl", "acpi-sleep-sts",
						      "acpi-reset"};
	const uint64_t port[ACPI_NREGS] = {sleep_ctl_port, sleep_sts_port, reset_port};
	struct acpi_power *a = calloc(1, sizeof(*a));
	int i;

	if (!a) {
		log_err("acpi", "out of memory");
		return NULL;
	}
	a->vm = vm;
	a->bus = bus;
	a->reset_value = reset_value;
	a->s5_slp_typ = s5_slp_typ;
	for (i = 0; i < ACPI_NREGS; i++) {
		a->ports[i] = (struct acpi_port){a, (enum acpi_reg)i};
		a->port_addr[i] = port[i];
		if (io_bus_register(bus, port[i], 1, acpi_power_io, &a->ports[i], names[i])) {
			log_err("acpi", "cannot register port 0x%llx (%s)",
				(unsigned long long)port[i], names[i]);
			while (--i >= 0)
				io_bus_unregister(bus, port[i]);
			free(a);
			return NULL;
		}
	}
	return a;
}

void acpi_power_destroy(struct acpi_power *a)
{
	if (!a)
		return;
	for (int i = 0; i < ACPI_NREGS; i++)
		io_bus_unregister(a->bus, a->port_addr[i]);
	free(a);
}
