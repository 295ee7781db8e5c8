/* SPDX-License-Identifier: MIT */
/*
 * cmos_rtc.h - an MC146818 real-time clock with its 128 bytes of CMOS RAM.
 */
#ifndef KTVM_DEVICES_CMOS_RTC_H
#define KTVM_DEVICES_CMOS_RTC_H

#include "vmm/ktvm.h"

/* CMOS RAM bytes set at creation (QEMU's layout) */
#define CMOS_BASE_MEM_LO 0x15 /* KiB below 640 KiB */
#define CMOS_EXT_MEM_LO	 0x17 /* KiB from 1 MiB, max 65535 (also at 0x30) */
#define CMOS_EXT_MEM2_LO 0x30
#define CMOS_CENTURY	 0x32 /* in the format of register B (BCD by default) */
#define CMOS_MEM_16M_LO	 0x34 /* 64 KiB units from 16 MiB to 4 GiB, max 65535 */
#define CMOS_MEM_4G_LO	 0x5b /* 64 KiB units above 4 GiB (3 bytes) */

/*
 * Register the index port 'base' (bit 7: NMI mask, ignored) and the data
 * port 'base + 1' on 'bus'.  The clock runs on the host's UTC wall clock
 * plus an offset the guest sets by writing the time.  No interrupts: the
 * flags in register C stay clear.  Returns 0, or -1 after logging why.
 */
int cmos_rtc_create(struct vm *vm, struct io_bus *bus, uint64_t base, uint64_t ram_below_4g,
		    uint64_t ram_above_4g);
/* The same, for an owner that frees it: the device, or NULL after logging why. */
struct cmos_rtc;
struct cmos_rtc *cmos_rtc_new(struct vm *vm, struct io_bus *bus, uint64_t base,
			      uint64_t ram_below_4g, uint64_t ram_above_4g);
/* Unregister the ports and free (the vCPUs are joined). */
void cmos_rtc_destroy(struct cmos_rtc *r);

#endif
