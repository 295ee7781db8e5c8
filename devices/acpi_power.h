/* SPDX-License-Identifier: MIT */
/*
 * acpi_power.h - the hardware-reduced ACPI sleep control/status registers
 * and the FADT reset register: how a guest powers off and reboots.
 */
#ifndef KTVM_DEVICES_ACPI_POWER_H
#define KTVM_DEVICES_ACPI_POWER_H

#include "vmm/ktvm.h"

#define ACPI_SLEEP_CTL_SLP_EN	 0x20 /* bit 5 */
#define ACPI_SLEEP_CTL_TYP_SHIFT 2    /* SLP_TYP: bits 2-4 */
#define ACPI_SLEEP_CTL_TYP_MASK	 0x1c
#define ACPI_SLEEP_STS_WAK	 0x80 /* WAK_STS: bit 7, write 1 to clear */

/*
 * Three one-byte registers, each at its own port on 'bus' (sleep control and
 * status may not share a port).  Writing SLP_EN with SLP_TYP == s5_slp_typ
 * to the sleep control register stops the VM with status 0; SLP_EN with any
 * other type is refused: nothing sleeps and WAK_STS is set at once, so a
 * guest polling for its wake-up goes on.  Writing reset_value to the reset
 * register stops the VM with status 0.  Returns the device, or NULL after
 * logging why.
 */
struct acpi_power;
struct acpi_power *acpi_power_create(struct vm *vm, struct io_bus *bus, uint64_t sleep_ctl_port,
				     uint64_t sleep_sts_port, uint64_t reset_port,
				     uint8_t reset_value, uint8_t s5_slp_typ);
/* Take the registers off their bus and free a (NULL: no-op). */
void acpi_power_destroy(struct acpi_power *a);

#endif
