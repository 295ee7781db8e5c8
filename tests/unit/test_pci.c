// SPDX-License-Identifier: MIT
/*
 * test_pci.c - the PCI bus: configuration mechanism #1 and ECAM decoding,
 * absent devices, read-only and write-1-to-clear fields, BAR sizing, BAR
 * moves and decoding, overlaps, the capability list, INTx, and a long run
 * of random configuration accesses.  vm_irqfd is wrapped (test_pci.wrap).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/pci_regs.h>

#include "devices/pci.h"

#define ECAM	  0xe0000000ULL
#define MMIO32	  0xc0000000ULL
#define MMIO32_SZ 0x20000000ULL
#define MMIO64	  GiB(8)
#define MMIO64_SZ GiB(64)
#define CF8	  0xcf8
#define CFC	  0xcfc

static struct vm vm;

/* ---- wrapped KVM calls ------------------------------------------------ */

struct irqfd_call {
	int fd;
	uint32_t gsi;
	int resample_fd;
	bool assign;
};
static struct irqfd_call irqfd_calls[64];
static unsigned int nirqfd;

int __wrap_vm_irqfd(struct vm *v, int fd, uint32_t gsi, int resample_fd, bool assign);
int __wrap_vm_irqfd(struct vm *v, int fd, uint32_t gsi, int resample_fd, bool assign)
{
	assert_ptr_equal(v, &vm);
	if (nirqfd < ARRAY_SIZE(irqfd_calls))
		irqfd_calls[nirqfd++] = (struct irqfd_call){fd, gsi, resample_fd, assign};
	return 0;
}

/* ---- a test device ------------------------------------------------------- */

struct move {
	int bar;
	uint64_t old_addr, new_addr;
};

struct tdev {
	struct pci_dev pci;
	struct move moves[64];
	unsigned int nmoves;
	uint64_t last_off;
	unsigned int accesses;
	int last_bar;
};

static void tdev_bar0(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct tdev *t = opaque;

	t->last_off = off;
	t->last_bar = 0;
	t->accesses++;
	if (!is_write)
		io_put(data, size, 0x11223344);
}

static void tdev_bar2(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct tdev *t = opaque;

	t->last_off = off;
	t->last_bar = 2;
	t->accesses++;
	if (!is_write)
		io_put(data, size, 0x55667788);
}

static void tdev_moved(struct pci_dev *d, int bar, uint64_t old_addr, uint64_t new_addr)
{
	struct tdev *t = d->priv;

	if (t->nmoves == ARRAY_SIZE(t->moves))
		t->nmoves = 0; /* the fuzz test makes many */
	t->moves[t->nmoves++] = (struct move){bar, old_addr, new_addr};
}

static void tdev_init(struct tdev *t, uint16_t devid)
{
	memset(t, 0, sizeof(*t));
	pci_dev_init(&t->pci, &vm, "tdev", 0x1234, devid, 0x020000, 0x1af4, 0x0042);
	t->pci.priv = t;
	t->pci.bar_moved = tdev_moved;
	assert_int_equal(pci_dev_add_bar(&t->pci, 0, KiB(4), false, tdev_bar0, t), 0);
	assert_int_equal(pci_dev_add_bar(&t->pci, 2, KiB(16), true, tdev_bar2, t), 0);
}

/* ---- access helpers ------------------------------------------------------ */

static uint32_t test_intx_gsi(unsigned int slot, unsigned int pin)
{
	return 16 + (slot + pin - 1) % 8;
}

static const struct pci_platform plat = {
	.ecam_base = ECAM,
	.ecam_size = MiB(1),
	.mmio32_base = MMIO32,
	.mmio32_size = MMIO32_SZ,
	.mmio64_base = MMIO64,
	.mmio64_size = MMIO64_SZ,
	.intx_gsi = test_intx_gsi,
};

static void pio(uint16_t port, uint32_t size, uint32_t *v, bool is_write)
{
	uint8_t data[4];

	io_put(data, size, *v);
	io_bus_access(&vm.pio, port, data, size, is_write);
	if (!is_write)
		*v = (uint32_t)io_get(data, size);
}

static void out32(uint16_t port, uint32_t v)
{
	pio(port, 4, &v, true);
}

static uint32_t in(uint16_t port, uint32_t size)
{
	uint32_t v = 0;

	pio(port, size, &v, false);
	return v;
}

static uint32_t cf8_addr(unsigned int slot, unsigned int fn, unsigned int reg)
{
	return 0x80000000u | slot << 11 | fn << 8 | (reg & 0xfc);
}

static uint32_t cfg1_read(unsigned int slot, unsigned int reg, uint32_t size)
{
	out32(CF8, cf8_addr(slot, 0, reg));
	return in(CFC + (reg & 3), size);
}

static void cfg1_write(unsigned int slot, unsigned int reg, uint32_t size, uint32_t v)
{
	out32(CF8, cf8_addr(slot, 0, reg));
	pio(CFC + (reg & 3), size, &v, true);
}

static uint64_t ecam_read(unsigned int slot, unsigned int fn, unsigned int reg, uint32_t size)
{
	uint8_t data[8];

	io_bus_access(&vm.mmio, ECAM + (slot << 15 | fn << 12 | reg), data, size, false);
	return io_get(data, size);
}

static void ecam_write(unsigned int slot, unsigned int fn, unsigned int reg, uint32_t size,
		       uint64_t v)
{
	uint8_t data[8];

	io_put(data, size, v);
	io_bus_access(&vm.mmio, ECAM + (slot << 15 | fn << 12 | reg), data, size, true);
}

static bool mmio_hits(uint64_t addr, uint32_t *v)
{
	uint8_t data[4];
	bool hit = io_bus_access(&vm.mmio, addr, data, 4, false);

	*v = (uint32_t)io_get(data, 4);
	return hit;
}

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	io_bus_init(&vm.pio, "pio");
	io_bus_init(&vm.mmio, "mmio");
	/* RAM below 3 GiB and above 4 GiB (never touched: only the layout matters). */
	vm.mem.nregions = 2;
	vm.mem.regions[0] = (struct mem_region){.gpa = 0, .size = GiB(3)};
	vm.mem.regions[1] = (struct mem_region){.gpa = GiB(4), .size = GiB(2)};
	nirqfd = 0;
	assert_int_equal(pci_init(&vm, &plat), 0);
	return 0;
}

/* ---- tests ----------------------------------------------------------------- */

static void test_host_bridge(void **state)
{
	assert_non_null(pci_get_platform(&vm));
	assert_int_equal(pci_get_platform(&vm)->ecam_base, ECAM);
	assert_int_equal(cfg1_read(0, PCI_VENDOR_ID, 4), 0x00081b36);
	assert_int_equal(cfg1_read(0, PCI_CLASS_REVISION, 4) >> 8, 0x060000);
	assert_int_equal(cfg1_read(0, PCI_HEADER_TYPE, 1), 0);
	/* Byte and word reads land at the right offset of the data window. */
	assert_int_equal(cfg1_read(0, 0, 1), 0x36);
	assert_int_equal(cfg1_read(0, 1, 1), 0x1b);
	assert_int_equal(cfg1_read(0, 2, 2), 0x0008);
	assert_int_equal(cfg1_read(0, 3, 1), 0x00);
	assert_int_equal(cfg1_read(0, 1, 2), 0x081b); /* unaligned word: bytes 1-2 */
	assert_int_equal(cfg1_read(0, 0x0b, 1), 0x06);
	/* The same through ECAM, and ECAM reaches the extended space. */
	assert_int_equal(ecam_read(0, 0, 0, 4), 0x00081b36);
	assert_int_equal(ecam_read(0, 0, 2, 2), 0x0008);
	assert_int_equal(ecam_read(0, 0, 0x100, 4), 0);
	assert_int_equal(ecam_read(0, 0, 0, 8), 0x0000000000081b36ULL);
}

static void test_cf8_register(void **state)
{
	out32(CF8, 0x80000000);
	assert_int_equal(in(CF8, 4), 0x80000000);
	/* Reserved bits and the low two bits do not stick. */
	out32(CF8, 0xffffffff);
	assert_int_equal(in(CF8, 4), 0x80fffffc);
	/* Narrow accesses to 0xCF8-0xCFB are not the address register. */
	out32(CF8, 0x80000000);
	pio(0xcfb, 1, &(uint32_t){0x01}, true);
	assert_int_equal(in(CF8, 4), 0x80000000);
	assert_int_equal(in(0xcf9, 1), 0xff);
	assert_int_equal(in(CF8, 2), 0xffff);
	/* Enable bit clear: the data window reads all-ones, writes go nowhere. */
	out32(CF8, 0x00000000);
	assert_int_equal(in(CFC, 4), 0xffffffff);
	pio(CFC, 4, &(uint32_t){0x2}, true);
	assert_int_equal(cfg1_read(0, PCI_COMMAND, 2), 0);
	/* A dword at 0xCFE straddles the end of the window: nothing there. */
	out32(CF8, cf8_addr(0, 0, 0));
	assert_int_equal(in(0xcfe, 4), 0xffffffff);
}

static void test_absent(void **state)
{
	struct tdev t;

	tdev_init(&t, 1);
	assert_int_equal(pci_register(&vm, &t.pci), 0);
	assert_int_equal(t.pci.slot, 1);
	for (unsigned int slot = 2; slot < 32; slot++) {
		assert_int_equal(cfg1_read(slot, 0, 4), 0xffffffff);
		assert_int_equal(ecam_read(slot, 0, 0, 4), 0xffffffff);
		assert_int_equal(ecam_read(slot, 0, 0xffc, 4), 0xffffffff);
	}
	/* Only function 0 exists. */
	for (unsigned int fn = 1; fn < 8; fn++) {
		out32(CF8, cf8_addr(1, fn, 0));
		assert_int_equal(in(CFC, 4), 0xffffffff);
		assert_int_equal(ecam_read(1, fn, 0, 4), 0xffffffff);
		ecam_write(1, fn, PCI_COMMAND, 2, 0xffff);
	}
	assert_int_equal(cfg1_read(1, PCI_COMMAND, 2), 0);
	/* Other buses. */
	out32(CF8, 0x80010000);
	assert_int_equal(in(CFC, 4), 0xffffffff);
	assert_int_equal(in(CFC + 2, 2), 0xffff);
	assert_int_equal(in(CFC + 3, 1), 0xff);
	/* Writes to an empty slot do nothing (and do not crash). */
	cfg1_write(5, PCI_COMMAND, 2, 0xffff);
	assert_int_equal(cfg1_read(5, PCI_COMMAND, 2), 0xffff);
}

static void test_read_only(void **state)
{
	struct tdev t;
	uint8_t before[64];

	tdev_init(&t, 2);
	assert_int_equal(pci_register(&vm, &t.pci), 0);
	memcpy(before, t.pci.cfg, sizeof(before));
	cfg1_write(1, PCI_VENDOR_ID, 4, 0xffffffff);
	cfg1_write(1, PCI_CLASS_REVISION, 4, 0xffffffff);
	cfg1_write(1, PCI_HEADER_TYPE, 1, 0xff);
	cfg1_write(1, PCI_SUBSYSTEM_VENDOR_ID, 4, 0xffffffff);
	cfg1_write(1, PCI_CAPABILITY_LIST, 1, 0xff);
	cfg1_write(1, PCI_INTERRUPT_PIN, 1, 0xff);
	cfg1_write(1, PCI_ROM_ADDRESS, 4, 0xffffffff);
	assert_int_equal(cfg1_read(1, PCI_VENDOR_ID, 4), 0x00021234);
	assert_int_equal(cfg1_read(1, PCI_CLASS_REVISION, 4), 0x02000000);
	assert_int_equal(cfg1_read(1, PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(cfg1_read(1, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x00421af4);
	assert_int_equal(cfg1_read(1, PCI_CAPABILITY_LIST, 1), 0);
	assert_int_equal(cfg1_read(1, PCI_INTERRUPT_PIN, 1), 0);
	assert_int_equal(cfg1_read(1, PCI_ROM_ADDRESS, 4), 0); /* no expansion ROM */
	/* Writable: interrupt line, cache line size, latency timer. */
	cfg1_write(1, PCI_INTERRUPT_LINE, 1, 0x0b);
	assert_int_equal(cfg1_read(1, PCI_INTERRUPT_LINE, 1), 0x0b);
	cfg1_write(1, PCI_CACHE_LINE_SIZE, 1, 0x10);
	assert_int_equal(cfg1_read(1, PCI_CACHE_LINE_SIZE, 1), 0x10);
	/* Command: only IO, MEM, bus master and INTx disable. */
	cfg1_write(1, PCI_COMMAND, 2, 0xffff);
	assert_int_equal(cfg1_read(1, PCI_COMMAND, 2), PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
							       PCI_COMMAND_MASTER |
							       PCI_COMMAND_INTX_DISABLE);
	cfg1_write(1, PCI_COMMAND, 2, 0);
	/* Status: read-only, except the error bits that a 1 clears. */
	t.pci.cfg[PCI_STATUS + 1] |=
		(PCI_STATUS_DETECTED_PARITY | PCI_STATUS_REC_MASTER_ABORT) >> 8;
	t.pci.cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	cfg1_write(1, PCI_STATUS, 2,
		   PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_CAP_LIST | PCI_STATUS_INTERRUPT);
	assert_int_equal(cfg1_read(1, PCI_STATUS, 2),
			 PCI_STATUS_DETECTED_PARITY | PCI_STATUS_INTERRUPT);
	cfg1_write(1, PCI_STATUS, 2, 0xffff);
	assert_int_equal(cfg1_read(1, PCI_STATUS, 2), PCI_STATUS_INTERRUPT);
	/* A dword write at 0x04 touches command and status together. */
	cfg1_write(1, PCI_COMMAND, 4, 0xffff0004);
	assert_int_equal(cfg1_read(1, PCI_COMMAND, 4), (uint32_t)PCI_STATUS_INTERRUPT << 16 | 4);
}

static void test_bar_sizing(void **state)
{
	struct tdev t;
	uint32_t lo, hi;

	tdev_init(&t, 3);
	assert_int_equal(pci_register(&vm, &t.pci), 0);
	/* Placement: naturally aligned inside the windows. */
	lo = cfg1_read(1, PCI_BASE_ADDRESS_0, 4);
	assert_int_equal(lo & 0xf, 0);
	assert_true(lo >= MMIO32 && lo + KiB(4) <= MMIO32 + MMIO32_SZ);
	assert_int_equal(lo % KiB(4), 0);
	lo = cfg1_read(1, PCI_BASE_ADDRESS_2, 4);
	hi = cfg1_read(1, PCI_BASE_ADDRESS_3, 4);
	assert_int_equal(lo & 0xf, PCI_BASE_ADDRESS_MEM_TYPE_64);
	assert_int_equal(((uint64_t)hi << 32 | (lo & ~0xfu)), MMIO64);
	assert_int_equal(t.pci.bars[2].addr, MMIO64);
	/* Unused BARs are read-only zero. */
	for (int reg = PCI_BASE_ADDRESS_1; reg <= PCI_BASE_ADDRESS_5; reg += 4) {
		if (reg == PCI_BASE_ADDRESS_2 || reg == PCI_BASE_ADDRESS_3)
			continue;
		cfg1_write(1, reg, 4, 0xffffffff);
		assert_int_equal(cfg1_read(1, reg, 4), 0);
	}
	/* Size probe, 32-bit: all-ones reads back the size mask. */
	lo = cfg1_read(1, PCI_BASE_ADDRESS_0, 4);
	cfg1_write(1, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	assert_int_equal(cfg1_read(1, PCI_BASE_ADDRESS_0, 4), 0xfffff000);
	cfg1_write(1, PCI_BASE_ADDRESS_0, 4, lo);
	assert_int_equal(cfg1_read(1, PCI_BASE_ADDRESS_0, 4), lo);
	/* 64-bit: both dwords. */
	cfg1_write(1, PCI_BASE_ADDRESS_2, 4, 0xffffffff);
	cfg1_write(1, PCI_BASE_ADDRESS_3, 4, 0xffffffff);
	assert_int_equal(cfg1_read(1, PCI_BASE_ADDRESS_2, 4), 0xffffc004);
	assert_int_equal(cfg1_read(1, PCI_BASE_ADDRESS_3, 4), 0xffffffff);
	/* Decoding was off all along: nothing moved. */
	assert_int_equal(t.nmoves, 0);
	/* Byte writes into a BAR respect the mask too. */
	cfg1_write(1, PCI_BASE_ADDRESS_0, 1, 0xff);
	assert_int_equal(cfg1_read(1, PCI_BASE_ADDRESS_0, 1), 0x00);
}

static void test_bar_big(void **state)
{
	struct tdev t;

	memset(&t, 0, sizeof(t));
	pci_dev_init(&t.pci, &vm, "big", 0x1234, 9, 0, 0, 0);
	/* Bad BARs: too small, not a power of two, 64-bit in BAR 5, overlapping a 64-bit pair. */
	assert_int_equal(pci_dev_add_bar(&t.pci, 0, 2048, false, tdev_bar0, &t), -1);
	assert_int_equal(pci_dev_add_bar(&t.pci, 0, KiB(12), false, tdev_bar0, &t), -1);
	assert_int_equal(pci_dev_add_bar(&t.pci, 5, KiB(4), true, tdev_bar0, &t), -1);
	assert_int_equal(pci_dev_add_bar(&t.pci, 6, KiB(4), false, tdev_bar0, &t), -1);
	assert_int_equal(pci_dev_add_bar(&t.pci, -1, KiB(4), false, tdev_bar0, &t), -1);
	assert_int_equal(pci_dev_add_bar(&t.pci, 0, GiB(4), false, tdev_bar0, &t), -1);
	assert_int_equal(pci_dev_add_bar(&t.pci, 0, GiB(8), true, tdev_bar0, &t), 0);
	assert_int_equal(pci_dev_add_bar(&t.pci, 1, KiB(4), false, tdev_bar0, &t), -1);
	assert_int_equal(pci_dev_add_bar(&t.pci, 2, MiB(256), false, tdev_bar0, &t), 0);
	assert_int_equal(pci_register(&vm, &t.pci), 0);
	/* A BAR over 4 GiB: the high dword holds the size too. */
	ecam_write(1, 0, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	ecam_write(1, 0, PCI_BASE_ADDRESS_1, 4, 0xffffffff);
	assert_int_equal(ecam_read(1, 0, PCI_BASE_ADDRESS_0, 4), 0x00000004);
	assert_int_equal(ecam_read(1, 0, PCI_BASE_ADDRESS_1, 4), 0xfffffffe);
	assert_int_equal(t.pci.bars[2].addr, MMIO32);
	/* A second 256 MiB BAR still fits in the 512 MiB window, a third does not. */
	{
		struct tdev u, w;

		memset(&u, 0, sizeof(u));
		pci_dev_init(&u.pci, &vm, "u", 0x1234, 10, 0, 0, 0);
		assert_int_equal(pci_dev_add_bar(&u.pci, 0, MiB(256), false, tdev_bar0, &u), 0);
		assert_int_equal(pci_register(&vm, &u.pci), 0);
		assert_int_equal(u.pci.bars[0].addr, MMIO32 + MiB(256));
		memset(&w, 0, sizeof(w));
		pci_dev_init(&w.pci, &vm, "w", 0x1234, 11, 0, 0, 0);
		assert_int_equal(pci_dev_add_bar(&w.pci, 0, KiB(4), false, tdev_bar0, &w), 0);
		assert_int_equal(pci_register(&vm, &w.pci), -1);
		assert_int_equal(cfg1_read(3, 0, 4), 0xffffffff);
	}
}

static void test_bar_mapping(void **state)
{
	struct tdev t;
	uint64_t a0, a2, n0 = MMIO32 + MiB(16);
	uint32_t v;

	tdev_init(&t, 4);
	assert_int_equal(pci_register(&vm, &t.pci), 0);
	a0 = t.pci.bars[0].addr;
	a2 = t.pci.bars[2].addr;
	/* Decoding off: nothing answers. */
	assert_false(mmio_hits(a0, &v));
	assert_false(t.pci.bars[0].mapped);
	/* MEM on: both BARs map, bar_moved says so. */
	cfg1_write(1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(t.nmoves, 2);
	assert_int_equal(t.moves[0].bar, 0);
	assert_int_equal(t.moves[0].old_addr, 0);
	assert_int_equal(t.moves[0].new_addr, a0);
	assert_int_equal(t.moves[1].bar, 2);
	assert_int_equal(t.moves[1].new_addr, a2);
	assert_true(mmio_hits(a0 + 0x10, &v));
	assert_int_equal(v, 0x11223344);
	assert_int_equal(t.last_off, 0x10);
	assert_true(mmio_hits(a2 + KiB(16) - 4, &v));
	assert_int_equal(v, 0x55667788);
	assert_int_equal(t.last_off, KiB(16) - 4);
	assert_false(mmio_hits(a2 + KiB(16), &v));
	/* Rewriting the same command: no moves. */
	cfg1_write(1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(t.nmoves, 2);
	/* The guest moves BAR 0 while decoding. */
	cfg1_write(1, PCI_BASE_ADDRESS_0, 4, (uint32_t)n0);
	assert_int_equal(t.nmoves, 3);
	assert_int_equal(t.moves[2].bar, 0);
	assert_int_equal(t.moves[2].old_addr, a0);
	assert_int_equal(t.moves[2].new_addr, n0);
	assert_false(mmio_hits(a0, &v));
	assert_true(mmio_hits(n0, &v));
	assert_int_equal(t.pci.bars[0].addr, n0);
	/* A 64-bit move, low dword then high dword. */
	cfg1_write(1, PCI_BASE_ADDRESS_2, 4, 0x40000000);
	cfg1_write(1, PCI_BASE_ADDRESS_3, 4, 0x3);
	assert_true(mmio_hits(0x340000000ULL, &v));
	assert_int_equal(v, 0x55667788);
	assert_int_equal(t.moves[t.nmoves - 1].new_addr, 0x340000000ULL);
	/* MEM off: everything unmaps. */
	t.nmoves = 0;
	cfg1_write(1, PCI_COMMAND, 2, 0);
	assert_int_equal(t.nmoves, 2);
	assert_int_equal(t.moves[0].old_addr, n0);
	assert_int_equal(t.moves[0].new_addr, 0);
	assert_int_equal(t.moves[1].old_addr, 0x340000000ULL);
	assert_int_equal(t.moves[1].new_addr, 0);
	assert_false(mmio_hits(n0, &v));
	assert_false(mmio_hits(0x340000000ULL, &v));
	/* Sizing with decoding off is invisible; turning it on maps the restored value. */
	cfg1_write(1, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	cfg1_write(1, PCI_BASE_ADDRESS_0, 4, (uint32_t)a0);
	assert_int_equal(t.nmoves, 2);
	/* Through ECAM this time: a config write from an MMIO handler maps a BAR. */
	ecam_write(1, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_true(mmio_hits(a0, &v));
	assert_int_equal(t.moves[2].new_addr, a0);
}

static void test_bar_overlap(void **state)
{
	struct tdev t, u;
	uint64_t a, b;
	uint32_t v;

	tdev_init(&t, 5);
	tdev_init(&u, 6);
	assert_int_equal(pci_register(&vm, &t.pci), 0);
	assert_int_equal(pci_register(&vm, &u.pci), 0);
	assert_int_equal(u.pci.slot, 2);
	a = t.pci.bars[0].addr;
	b = u.pci.bars[0].addr;
	assert_true(a != b);
	cfg1_write(1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cfg1_write(2, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	/* u's BAR 0 onto t's: refused, u's BAR 0 stays unmapped, t keeps working. */
	u.nmoves = 0;
	cfg1_write(2, PCI_BASE_ADDRESS_0, 4, (uint32_t)a);
	assert_false(u.pci.bars[0].mapped);
	assert_int_equal(u.nmoves, 1);
	assert_int_equal(u.moves[0].old_addr, b);
	assert_int_equal(u.moves[0].new_addr, 0);
	t.accesses = u.accesses = 0;
	assert_true(mmio_hits(a, &v));
	assert_int_equal(t.accesses, 1);
	assert_int_equal(u.accesses, 0);
	/* Onto RAM, onto the ECAM area, and at 0: refused as well. */
	cfg1_write(2, PCI_BASE_ADDRESS_0, 4, 0x00100000);
	assert_false(u.pci.bars[0].mapped);
	cfg1_write(2, PCI_BASE_ADDRESS_0, 4, (uint32_t)ECAM);
	assert_false(u.pci.bars[0].mapped);
	assert_int_equal(ecam_read(0, 0, 0, 4), 0x00081b36);
	cfg1_write(2, PCI_BASE_ADDRESS_0, 4, 0);
	assert_false(u.pci.bars[0].mapped);
	/* The top 16 KiB of the 64-bit space end at 2^64 - 1 exactly: allowed. */
	cfg1_write(2, PCI_BASE_ADDRESS_3, 4, 0xffffffff);
	cfg1_write(2, PCI_BASE_ADDRESS_2, 4, 0xffffc000);
	assert_true(u.pci.bars[2].mapped);
	assert_int_equal(u.pci.bars[2].addr, 0xffffffffffffc000ULL);
	cfg1_write(2, PCI_BASE_ADDRESS_3, 4, 0x1);
	assert_true(u.pci.bars[2].mapped); /* 0x1_ffffc000: free */
	cfg1_write(2, PCI_BASE_ADDRESS_2, 4, 0x40000000);
	assert_false(u.pci.bars[2].mapped); /* 0x1_40000000: RAM (4 GiB..6 GiB) */
	assert_int_equal(u.moves[u.nmoves - 1].new_addr, 0);
	/* Back to a free place: mapped again. */
	cfg1_write(2, PCI_BASE_ADDRESS_0, 4, (uint32_t)b);
	assert_true(u.pci.bars[0].mapped);
	assert_int_equal(u.moves[u.nmoves - 1].old_addr, 0);
	assert_int_equal(u.moves[u.nmoves - 1].new_addr, b);
	assert_true(mmio_hits(b, &v));
	assert_int_equal(u.accesses, 1);
	/* Two BARs of one device trade places. */
	{
		struct tdev w;
		uint64_t x, y;

		memset(&w, 0, sizeof(w));
		pci_dev_init(&w.pci, &vm, "swap", 0x1234, 7, 0, 0, 0);
		w.pci.priv = &w;
		w.pci.bar_moved = tdev_moved;
		assert_int_equal(pci_dev_add_bar(&w.pci, 0, KiB(4), false, tdev_bar0, &w), 0);
		assert_int_equal(pci_dev_add_bar(&w.pci, 1, KiB(4), false, tdev_bar2, &w), 0);
		assert_int_equal(pci_register(&vm, &w.pci), 0);
		x = w.pci.bars[0].addr;
		y = w.pci.bars[1].addr;
		cfg1_write(3, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
		ecam_write(3, 0, PCI_BASE_ADDRESS_0, 8, y | x << 32);
		assert_true(w.pci.bars[0].mapped && w.pci.bars[1].mapped);
		assert_true(mmio_hits(x, &v));
		assert_int_equal(v, 0x55667788);
		assert_true(mmio_hits(y, &v));
		assert_int_equal(v, 0x11223344);
	}
}

static void test_caps(void **state)
{
	struct tdev t;
	const uint8_t c1[] = {0x09, 0xaa, 1, 2, 3}; /* vendor-specific, 5 bytes */
	const uint8_t c2[] = {0x05, 0xaa, 0, 0, 0, 0, 0, 0};
	int o1, o2;

	tdev_init(&t, 8);
	assert_int_equal(pci_dev_add_cap(&t.pci, c1, 1), -1);
	o1 = pci_dev_add_cap(&t.pci, c1, sizeof(c1));
	o2 = pci_dev_add_cap(&t.pci, c2, sizeof(c2));
	assert_int_equal(o1, 0x40);
	assert_int_equal(o2, 0x48); /* dword aligned after the first */
	assert_int_equal(pci_register(&vm, &t.pci), 0);
	assert_true(cfg1_read(1, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(cfg1_read(1, PCI_CAPABILITY_LIST, 1), o1);
	assert_int_equal(cfg1_read(1, o1, 2), 0x09 | o2 << 8);
	assert_int_equal(cfg1_read(1, o1 + 2, 2), 0x0201);
	assert_int_equal(cfg1_read(1, o2, 2), 0x0005);
	/* Read-only: the chain cannot be rewritten by the guest. */
	cfg1_write(1, o1, 4, 0xffffffff);
	assert_int_equal(cfg1_read(1, o1, 2), 0x09 | o2 << 8);
	/* The capability area ends at 0x100. */
	{
		uint8_t big[0xb4] = {0x09};

		assert_int_equal(pci_dev_add_cap(&t.pci, big, sizeof(big)), -1);
	}
}

static void test_intx(void **state)
{
	struct tdev t;
	uint64_t n;

	tdev_init(&t, 12);
	assert_int_equal(pci_dev_enable_intx(&t.pci), 0);
	assert_true(t.pci.intx_fd >= 0 && t.pci.intx_resample_fd >= 0);
	assert_int_equal(nirqfd, 0); /* not wired before it has a slot */
	assert_int_equal(pci_register(&vm, &t.pci), 0);
	assert_int_equal(t.pci.slot, 1);
	assert_int_equal(nirqfd, 1);
	assert_int_equal(irqfd_calls[0].fd, t.pci.intx_fd);
	assert_int_equal(irqfd_calls[0].gsi, 17);
	assert_int_equal(irqfd_calls[0].resample_fd, t.pci.intx_resample_fd);
	assert_true(irqfd_calls[0].assign);
	assert_int_equal(cfg1_read(1, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(cfg1_read(1, PCI_INTERRUPT_LINE, 1), 17);

	pci_dev_intx_assert(&t.pci);
	assert_true(cfg1_read(1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_int_equal(read(t.pci.intx_fd, &n, 8), 8);
	assert_int_equal(n, 1);
	pci_dev_intx_deassert(&t.pci);
	assert_false(cfg1_read(1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);

	/* INTx Disable: the irqfd is unbound (lowering the line) ... */
	cfg1_write(1, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(nirqfd, 2);
	assert_false(irqfd_calls[1].assign);
	/* ... asserting only sets the status bit ... */
	pci_dev_intx_assert(&t.pci);
	assert_true(cfg1_read(1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_int_equal(read(t.pci.intx_fd, &n, 8), -1);
	/* ... and enabling again rebinds and delivers the pending interrupt. */
	cfg1_write(1, PCI_COMMAND, 2, 0);
	assert_int_equal(nirqfd, 3);
	assert_true(irqfd_calls[2].assign);
	assert_int_equal(irqfd_calls[2].resample_fd, t.pci.intx_resample_fd);
	assert_int_equal(read(t.pci.intx_fd, &n, 8), 8);
	/* Unchanged bit: no irqfd traffic. */
	cfg1_write(1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(nirqfd, 3);

	/* A device enabling INTx after registration is wired at once. */
	{
		struct tdev u;

		tdev_init(&u, 13);
		assert_int_equal(pci_register(&vm, &u.pci), 0);
		assert_int_equal(pci_dev_enable_intx(&u.pci), 0);
		assert_int_equal(nirqfd, 4);
		assert_int_equal(irqfd_calls[3].gsi, 18);
		assert_int_equal(cfg1_read(2, PCI_INTERRUPT_PIN, 1), 1);
	}
	/* No INTx: assert does nothing. */
	{
		struct tdev w;

		tdev_init(&w, 14);
		assert_int_equal(pci_register(&vm, &w.pci), 0);
		pci_dev_intx_assert(&w.pci);
		assert_false(cfg1_read(3, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	}
}

static void test_full_bus(void **state)
{
	static struct tdev t[32];
	unsigned int i;

	for (i = 0; i < 31; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		pci_dev_init(&t[i].pci, &vm, "n", 0x1234, (uint16_t)i, 0, 0, 0);
		assert_int_equal(pci_register(&vm, &t[i].pci), 0);
		assert_int_equal(t[i].pci.slot, i + 1);
	}
	pci_dev_init(&t[31].pci, &vm, "n", 0x1234, 99, 0, 0, 0);
	assert_int_equal(pci_register(&vm, &t[31].pci), -1);
	assert_int_equal(cfg1_read(31, PCI_DEVICE_ID, 2), 30);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_fuzz(void **state)
{
	static const uint32_t sizes[] = {1, 2, 4, 8, 3};
	struct tdev t;
	uint8_t data[8];

	tdev_init(&t, 0x77);
	assert_int_equal(pci_dev_enable_intx(&t.pci), 0);
	assert_int_equal(pci_register(&vm, &t.pci), 0);
	for (unsigned int i = 0; i < 100000; i++) {
		uint64_t r = rng();
		bool is_write = r & 1;
		uint32_t size = sizes[(r >> 1) % ARRAY_SIZE(sizes)];
		uint64_t val = rng();

		io_put(data, 8, val);
		switch ((r >> 4) % 4) {
		case 0: { /* ECAM, mostly the device, any offset, any size */
			uint64_t off = (r >> 8) % MiB(1);

			if ((r >> 30) & 1)
				off = (1u << 15) | ((r >> 8) & 0x1ff);
			io_bus_access(&vm.mmio, ECAM + off, data, size, is_write);
			break;
		}
		case 1: /* CF8 address, sometimes pointing at the device */
			if ((r >> 8) & 1)
				io_put(data, 4, 0x80000800u | (uint32_t)(val & 0xfc));
			io_bus_access(&vm.pio, CF8 + ((r >> 9) & 7), data, size > 4 ? 4 : size,
				      is_write);
			break;
		case 2: /* CFC data window */
			io_bus_access(&vm.pio, CFC + ((r >> 8) & 3), data, size > 4 ? 4 : size,
				      is_write);
			break;
		default: /* the device's BARs, wherever they are */
			io_bus_access(&vm.mmio,
				      t.pci.bars[(r >> 8) & 1 ? 2 : 0].addr + ((r >> 9) & 0xfff),
				      data, size, is_write);
			break;
		}
	}
	/* The identity never changed, and mappings agree with the registers. */
	assert_int_equal(ecam_read(1, 0, 0, 4), 0x00771234);
	assert_int_equal(ecam_read(1, 0, PCI_CLASS_REVISION, 4), 0x02000000);
	assert_int_equal(ecam_read(1, 0, PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(ecam_read(1, 0, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(ecam_read(0, 0, 0, 4), 0x00081b36);
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		uint32_t v;

		if (!t.pci.bars[i].mapped)
			continue;
		assert_true(ecam_read(1, 0, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY);
		assert_true(mmio_hits(t.pci.bars[i].addr, &v));
	}
	/* Turning decoding off always leaves nothing behind. */
	ecam_write(1, 0, PCI_COMMAND, 2, 0);
	for (int i = 0; i < PCI_NUM_BARS; i++)
		assert_false(t.pci.bars[i].mapped);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_host_bridge, setup),
		cmocka_unit_test_setup(test_cf8_register, setup),
		cmocka_unit_test_setup(test_absent, setup),
		cmocka_unit_test_setup(test_read_only, setup),
		cmocka_unit_test_setup(test_bar_sizing, setup),
		cmocka_unit_test_setup(test_bar_big, setup),
		cmocka_unit_test_setup(test_bar_mapping, setup),
		cmocka_unit_test_setup(test_bar_overlap, setup),
		cmocka_unit_test_setup(test_caps, setup),
		cmocka_unit_test_setup(test_intx, setup),
		cmocka_unit_test_setup(test_full_bus, setup),
		cmocka_unit_test_setup(test_fuzz, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
