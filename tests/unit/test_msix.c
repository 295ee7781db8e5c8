// SPDX-License-Identifier: MIT
/*
 * test_msix.c - MSI-X: the capability, table accesses of every size, masking
 * (per vector and per function), enable, pending bits, routes programmed
 * with the entry's address and data, and pending interrupts delivered on
 * unmask exactly once.  The KVM calls and the main loop are wrapped
 * (test_msix.wrap); the test runs the "main loop" itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/pci_regs.h>

#include "devices/pci.h"

#define ECAM	  0xe0000000ULL
#define NVEC	  70
#define TABLE_OFF 0x0
#define PBA_OFF	  0x2000
#define GSI_BASE  100

static struct vm vm;

/* ---- wrapped KVM calls and main loop ----------------------------------------- */

struct loop_handler {
	int fd;
	loop_cb_fn cb;
	void *opaque;
	bool live;
};

static struct loop_handler handlers[4 * NVEC + 16];
static unsigned int nhandlers, nadds, ndels;
static bool gsi_exhausted;
static uint32_t next_gsi;

struct route {
	uint64_t addr;
	uint32_t data;
	unsigned int sets;
};
static struct route routes[GSI_BASE + NVEC];
static int bound_gsi[4096]; /* by fd: -1 = not an irqfd */
static unsigned int nassign, ndeassign;

struct msi {
	uint64_t addr;
	uint32_t data;
};
static struct msi signals[64];
static unsigned int nsignals;

uint32_t __wrap_vm_gsi_alloc(struct vm *v);
uint32_t __wrap_vm_gsi_alloc(struct vm *v)
{
	assert_ptr_equal(v, &vm);
	return gsi_exhausted ? VM_GSI_NONE : next_gsi++;
}

int __wrap_vm_msi_route_set(struct vm *v, uint32_t gsi, uint64_t addr, uint32_t data);
int __wrap_vm_msi_route_set(struct vm *v, uint32_t gsi, uint64_t addr, uint32_t data)
{
	assert_true(gsi >= GSI_BASE && gsi < GSI_BASE + NVEC);
	routes[gsi] = (struct route){addr, data, routes[gsi].sets + 1};
	return 0;
}

int __wrap_vm_msi_route_clear(struct vm *v, uint32_t gsi);
int __wrap_vm_msi_route_clear(struct vm *v, uint32_t gsi)
{
	return 0;
}

int __wrap_vm_irqfd(struct vm *v, int fd, uint32_t gsi, int resample_fd, bool assign);
int __wrap_vm_irqfd(struct vm *v, int fd, uint32_t gsi, int resample_fd, bool assign)
{
	assert_true(fd >= 0 && fd < (int)ARRAY_SIZE(bound_gsi));
	if (resample_fd >= 0)
		return 0; /* INTx */
	if (assign) {
		assert_int_equal(bound_gsi[fd], -1); /* never bound twice */
		/* KVM programs the irqfd with the route as it is now: it must be set. */
		assert_true(routes[gsi].sets > 0);
		bound_gsi[fd] = (int)gsi;
		nassign++;
	} else {
		assert_int_equal(bound_gsi[fd], (int)gsi);
		bound_gsi[fd] = -1;
		ndeassign++;
	}
	return 0;
}

int __wrap_vm_signal_msi(struct vm *v, uint64_t addr, uint32_t data);
int __wrap_vm_signal_msi(struct vm *v, uint64_t addr, uint32_t data)
{
	assert_true(nsignals < ARRAY_SIZE(signals));
	signals[nsignals++] = (struct msi){addr, data};
	return 0;
}

struct loop_handler *__wrap_vm_loop_add(struct vm *v, int fd, loop_cb_fn cb, void *opaque);
struct loop_handler *__wrap_vm_loop_add(struct vm *v, int fd, loop_cb_fn cb, void *opaque)
{
	struct loop_handler *h;

	assert_true(nhandlers < ARRAY_SIZE(handlers));
	for (unsigned int i = 0; i < nhandlers; i++)
		assert_false(handlers[i].live && handlers[i].fd == fd); /* watched once */
	h = &handlers[nhandlers++];
	*h = (struct loop_handler){fd, cb, opaque, true};
	nadds++;
	return h;
}

void __wrap_vm_loop_del(struct vm *v, struct loop_handler *h);
void __wrap_vm_loop_del(struct vm *v, struct loop_handler *h)
{
	assert_true(h->live);
	h->live = false;
	ndels++;
}

static bool watched(int fd)
{
	for (unsigned int i = 0; i < nhandlers; i++)
		if (handlers[i].live && handlers[i].fd == fd)
			return true;
	return false;
}

/* One pass of the main loop: every watched fd that is readable gets its callback. */
static void run_loop(void)
{
	for (unsigned int i = 0; i < nhandlers; i++) {
		struct pollfd p = {.fd = handlers[i].fd, .events = POLLIN};

		if (handlers[i].live && poll(&p, 1, 0) == 1)
			handlers[i].cb(handlers[i].opaque);
	}
}

/* ---- the device ---------------------------------------------------------------- */

static struct pci_dev dev;
static struct msix *m;
static int cap;

static uint32_t test_intx_gsi(unsigned int slot, unsigned int pin)
{
	return 16;
}

static void bar_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	if (off >= PBA_OFF)
		msix_pba_io(m, off - PBA_OFF, data, size, is_write);
	else
		msix_table_io(m, off - TABLE_OFF, data, size, is_write);
}

static void cfg_write16(unsigned int reg, uint16_t v)
{
	uint8_t data[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

	io_bus_access(&vm.mmio, ECAM + (1 << 15) + reg, data, 2, true);
}

static uint32_t cfg_read(unsigned int reg, uint32_t size)
{
	uint8_t data[4];

	io_bus_access(&vm.mmio, ECAM + (1 << 15) + reg, data, size, false);
	return (uint32_t)io_get(data, size);
}

static void tbl_write(unsigned int vec, unsigned int field, uint32_t v)
{
	uint8_t data[4];

	io_put(data, 4, v);
	msix_table_io(m, vec * 16 + field, data, 4, true);
}

static uint32_t tbl_read(unsigned int vec, unsigned int field)
{
	uint8_t data[4];

	msix_table_io(m, vec * 16 + field, data, 4, false);
	return (uint32_t)io_get(data, 4);
}

static uint64_t pba_read(unsigned int off, uint32_t size)
{
	uint8_t data[8];

	msix_pba_io(m, off, data, size, false);
	return io_get(data, size);
}

static void fire(unsigned int vec)
{
	uint64_t one = 1;

	assert_int_equal(write(msix_vector_fd(m, vec), &one, 8), 8);
}

static void program(unsigned int vec, uint64_t addr, uint32_t data)
{
	tbl_write(vec, PCI_MSIX_ENTRY_LOWER_ADDR, (uint32_t)addr);
	tbl_write(vec, PCI_MSIX_ENTRY_UPPER_ADDR, (uint32_t)(addr >> 32));
	tbl_write(vec, PCI_MSIX_ENTRY_DATA, data);
}

static void set_ctrl(uint16_t ctrl)
{
	cfg_write16(cap + PCI_MSIX_FLAGS, ctrl);
}

static bool is_bound(unsigned int vec)
{
	return bound_gsi[msix_vector_fd(m, vec)] >= 0;
}

static const struct pci_platform plat = {
	.ecam_base = ECAM,
	.ecam_size = MiB(1),
	.mmio32_base = 0xc0000000,
	.mmio32_size = 0x20000000,
	.mmio64_base = GiB(8),
	.mmio64_size = GiB(8),
	.intx_gsi = test_intx_gsi,
};

static int make_dev(bool no_gsi)
{
	memset(&vm, 0, sizeof(vm));
	io_bus_init(&vm.pio, "pio");
	io_bus_init(&vm.mmio, "mmio");
	nhandlers = nadds = ndels = nassign = ndeassign = nsignals = 0;
	memset(routes, 0, sizeof(routes));
	memset(bound_gsi, 0xff, sizeof(bound_gsi));
	next_gsi = GSI_BASE;
	gsi_exhausted = no_gsi;
	assert_int_equal(pci_init(&vm, &plat), 0);
	pci_dev_init(&dev, &vm, "msix-dev", 0x1af4, 0x1041, 0x020000, 0x1af4, 1);
	assert_int_equal(pci_dev_add_bar(&dev, 0, KiB(16), false, bar_io, NULL), 0);
	m = msix_init(&dev, NVEC, 0, TABLE_OFF, PBA_OFF);
	assert_non_null(m);
	assert_int_equal(pci_register(&vm, &dev), 0);
	cap = cfg_read(PCI_CAPABILITY_LIST, 1);
	return 0;
}

static int setup(void **state)
{
	return make_dev(false);
}

static int setup_no_gsi(void **state)
{
	return make_dev(true);
}

/* msix_destroy: every vector unbound, unwatched and its eventfd closed. */
static int teardown(void **state)
{
	int fds[NVEC];

	for (unsigned int i = 0; i < NVEC; i++)
		fds[i] = msix_vector_fd(m, i);
	msix_destroy(m);
	assert_null(dev.msix);
	m = NULL;
	for (unsigned int i = 0; i < NVEC; i++) {
		assert_int_equal(bound_gsi[fds[i]], -1);
		assert_false(watched(fds[i]));
	}
	assert_int_equal(nassign, ndeassign);
	msix_destroy(NULL);
	return 0;
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_capability(void **state)
{
	assert_ptr_equal(dev.msix, m);
	assert_int_equal(cap, 0x40);
	assert_true(cfg_read(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(cfg_read(cap, 1), PCI_CAP_ID_MSIX);
	assert_int_equal(cfg_read(cap + 1, 1), 0);
	assert_int_equal(cfg_read(cap + PCI_MSIX_FLAGS, 2), NVEC - 1);
	assert_int_equal(cfg_read(cap + PCI_MSIX_TABLE, 4), TABLE_OFF | 0);
	assert_int_equal(cfg_read(cap + PCI_MSIX_PBA, 4), PBA_OFF | 0);
	/* Only Enable and Function Mask are writable. */
	set_ctrl(0xffff);
	assert_int_equal(cfg_read(cap + PCI_MSIX_FLAGS, 2),
			 PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL | (NVEC - 1));
	assert_true(msix_enabled(m));
	set_ctrl(0);
	assert_false(msix_enabled(m));
	assert_int_equal(msix_num_vectors(m), NVEC);
	assert_int_equal(msix_vector_fd(m, NVEC), -1);
	assert_true(msix_vector_fd(m, NVEC - 1) >= 0);
	assert_true(msix_vector_fd(m, 0) != msix_vector_fd(m, 1));
}

static void test_initial_state(void **state)
{
	for (unsigned int i = 0; i < NVEC; i++) {
		assert_int_equal(tbl_read(i, PCI_MSIX_ENTRY_LOWER_ADDR), 0);
		assert_int_equal(tbl_read(i, PCI_MSIX_ENTRY_DATA), 0);
		assert_int_equal(tbl_read(i, PCI_MSIX_ENTRY_VECTOR_CTRL),
				 PCI_MSIX_ENTRY_CTRL_MASKBIT);
		assert_true(watched(msix_vector_fd(m, i)));
		assert_false(is_bound(i));
	}
	assert_int_equal(nadds, NVEC);
	assert_int_equal(nassign, 0);
	assert_int_equal(routes[GSI_BASE].sets, 0);
	assert_int_equal(pba_read(0, 8), 0);
}

static void test_unmask_programs_route(void **state)
{
	int fd0 = msix_vector_fd(m, 0);

	program(0, 0xfee01000, 0x4041);
	/* Masked, and MSI-X disabled: no route, no irqfd. */
	assert_int_equal(routes[GSI_BASE].sets, 0);
	set_ctrl(PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(routes[GSI_BASE].sets, 0);
	assert_false(is_bound(0));
	/* Unmask: route with the entry's address and data, then the irqfd. */
	tbl_write(0, PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	assert_int_equal(routes[GSI_BASE].sets, 1);
	assert_int_equal(routes[GSI_BASE].addr, 0xfee01000);
	assert_int_equal(routes[GSI_BASE].data, 0x4041);
	assert_true(is_bound(0));
	assert_int_equal(bound_gsi[fd0], GSI_BASE);
	assert_false(watched(fd0));
	assert_int_equal(nsignals, 0);
	/* Rewriting a live entry updates the route (no rebinding). */
	tbl_write(0, PCI_MSIX_ENTRY_DATA, 0x4042);
	assert_int_equal(routes[GSI_BASE].sets, 2);
	assert_int_equal(routes[GSI_BASE].data, 0x4042);
	assert_int_equal(nassign, 1);
	/* Mask: unbind, and the main loop watches. */
	tbl_write(0, PCI_MSIX_ENTRY_VECTOR_CTRL, 1);
	assert_false(is_bound(0));
	assert_true(watched(fd0));
	/* Reprogram while masked (what Linux does): no route until unmasked. */
	program(0, 0xfee02000ULL | (0x1ULL << 32), 0x4050);
	assert_int_equal(routes[GSI_BASE].sets, 2);
	tbl_write(0, PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	assert_int_equal(routes[GSI_BASE].sets, 3);
	assert_int_equal(routes[GSI_BASE].addr, 0x1fee02000ULL);
	assert_int_equal(routes[GSI_BASE].data, 0x4050);
	/* Mask and unmask without changes: no new route, only the irqfd. */
	tbl_write(0, PCI_MSIX_ENTRY_VECTOR_CTRL, 1);
	tbl_write(0, PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	assert_int_equal(routes[GSI_BASE].sets, 3);
	assert_true(is_bound(0));
	/* Other vectors were never touched. */
	assert_int_equal(routes[GSI_BASE + 1].sets, 0);
	assert_false(is_bound(1));
	/* Disable: every live vector unbinds. */
	set_ctrl(0);
	assert_false(is_bound(0));
	assert_true(watched(fd0));
}

static void test_pending_delivered_once(void **state)
{
	program(3, 0xfee00000, 0x4033);
	set_ctrl(PCI_MSIX_FLAGS_ENABLE);
	/* Masked vector fires (three times): one pending bit, no interrupt. */
	fire(3);
	fire(3);
	run_loop();
	fire(3);
	run_loop();
	assert_int_equal(nsignals, 0);
	assert_int_equal(pba_read(0, 4), 1u << 3);
	assert_int_equal(pba_read(0, 8), 1u << 3);
	/* The PBA is read-only. */
	{
		uint8_t z[4] = {0};

		msix_pba_io(m, 0, z, 4, true);
		assert_int_equal(pba_read(0, 4), 1u << 3);
	}
	/* Unmask: delivered exactly once with the entry's address and data, bit cleared. */
	tbl_write(3, PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	assert_int_equal(nsignals, 1);
	assert_int_equal(signals[0].addr, 0xfee00000);
	assert_int_equal(signals[0].data, 0x4033);
	assert_int_equal(pba_read(0, 4), 0);
	assert_true(is_bound(3));
	run_loop();
	assert_int_equal(nsignals, 1);
	/* Mask and unmask again with nothing pending: nothing delivered. */
	tbl_write(3, PCI_MSIX_ENTRY_VECTOR_CTRL, 1);
	tbl_write(3, PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	assert_int_equal(nsignals, 1);
}

static void test_pending_without_loop(void **state)
{
	/* The PBA is right even before the main loop got round to the eventfd. */
	program(65, 0xfee00000, 0x4065);
	set_ctrl(PCI_MSIX_FLAGS_ENABLE);
	fire(65);
	assert_int_equal(pba_read(8, 4), 1u << 1);
	assert_int_equal(pba_read(12, 4), 0);
	assert_int_equal(pba_read(8, 8), 1u << 1);
	assert_int_equal(pba_read(0, 8), 0);
	/* And an unmask right after a fire delivers it even if nobody looked. */
	fire(66);
	tbl_write(66, PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	assert_int_equal(nsignals, 1);
	tbl_write(65, PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	assert_int_equal(nsignals, 2);
	assert_int_equal(signals[1].data, 0x4065);
	assert_int_equal(pba_read(8, 8), 0);
	/* Past the PBA's last qword: zero. */
	assert_int_equal(pba_read(16, 8), 0);
	assert_int_equal(pba_read(0x1000, 4), 0);
}

static void test_function_mask(void **state)
{
	program(1, 0xfee00000, 0x4011);
	tbl_write(1, PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	set_ctrl(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	/* Function-masked: not live though the vector is unmasked. */
	assert_false(is_bound(1));
	assert_int_equal(routes[GSI_BASE + 1].sets, 0);
	fire(1);
	run_loop();
	assert_int_equal(pba_read(0, 4), 1u << 1);
	assert_int_equal(nsignals, 0);
	/* Function unmasked: route, irqfd, the pending one, once. */
	set_ctrl(PCI_MSIX_FLAGS_ENABLE);
	assert_true(is_bound(1));
	assert_int_equal(routes[GSI_BASE + 1].sets, 1);
	assert_int_equal(nsignals, 1);
	assert_int_equal(signals[0].data, 0x4011);
	assert_int_equal(pba_read(0, 4), 0);
	/* Vectors still masked stay unbound. */
	assert_false(is_bound(0));
	/* Function mask again: unbound. */
	set_ctrl(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	assert_false(is_bound(1));
	assert_int_equal(ndeassign, 1);
}

static void test_disabled(void **state)
{
	program(2, 0xfee00000, 0x4022);
	tbl_write(2, PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	/* MSI-X disabled: a device that signals anyway is ignored. */
	fire(2);
	run_loop();
	assert_int_equal(pba_read(0, 4), 0);
	set_ctrl(PCI_MSIX_FLAGS_ENABLE);
	assert_true(is_bound(2));
	assert_int_equal(nsignals, 0);
	/* Enabled, INTx is off limits. */
	pci_dev_enable_intx(&dev);
	pci_dev_intx_assert(&dev);
	assert_false(cfg_read(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	set_ctrl(0);
	pci_dev_intx_assert(&dev);
	assert_true(cfg_read(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
}

static void test_raced_bind(void **state)
{
	/*
	 * A write that lands while the irqfd is being bound is injected by KVM
	 * (it polls the eventfd on assign) but stays in the counter; the
	 * main loop, which may still see the fd, must not deliver it again.
	 */
	program(4, 0xfee00000, 0x4044);
	set_ctrl(PCI_MSIX_FLAGS_ENABLE);
	tbl_write(4, PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	assert_true(is_bound(4));
	fire(4);
	for (unsigned int i = 0; i < nhandlers; i++)
		if (handlers[i].fd == msix_vector_fd(m, 4))
			handlers[i].cb(handlers[i].opaque); /* a stale event after the del */
	assert_int_equal(nsignals, 0);
	assert_int_equal(pba_read(0, 4), 0);
}

static void test_table_access(void **state)
{
	uint8_t d[8];

	/* 8-byte accesses: address low+high, data+control. */
	io_put(d, 8, 0x00000001fee0100fULL);
	msix_table_io(m, 5 * 16, d, 8, true);
	assert_int_equal(tbl_read(5, PCI_MSIX_ENTRY_LOWER_ADDR), 0xfee0100c); /* dword aligned */
	assert_int_equal(tbl_read(5, PCI_MSIX_ENTRY_UPPER_ADDR), 1);
	io_put(d, 8, 0xfffffffe00004055ULL);
	msix_table_io(m, 5 * 16 + 8, d, 8, true);
	assert_int_equal(tbl_read(5, PCI_MSIX_ENTRY_DATA), 0x4055);
	assert_int_equal(tbl_read(5, PCI_MSIX_ENTRY_VECTOR_CTRL), 0); /* only bit 0 is kept */
	msix_table_io(m, 5 * 16, d, 8, false);
	assert_int_equal(io_get(d, 8), 0x00000001fee0100cULL);
	msix_table_io(m, 5 * 16 + 8, d, 8, false);
	assert_int_equal(io_get(d, 8), 0x4055);
	/* Other sizes and misaligned accesses are ignored; reads see all-ones. */
	io_put(d, 2, 0x1234);
	msix_table_io(m, 5 * 16 + 8, d, 2, true);
	msix_table_io(m, 5 * 16 + 8, d, 1, true);
	msix_table_io(m, 5 * 16 + 9, d, 4, true);
	msix_table_io(m, 5 * 16 + 4, d, 8, true);
	assert_int_equal(tbl_read(5, PCI_MSIX_ENTRY_DATA), 0x4055);
	msix_table_io(m, 5 * 16 + 8, d, 2, false);
	assert_int_equal(io_get(d, 2), 0xffff);
	msix_table_io(m, 5 * 16 + 2, d, 4, false);
	assert_int_equal(io_get(d, 4), 0xffffffff);
	/* Beyond the last entry: reads zero, writes ignored. */
	tbl_write(NVEC, PCI_MSIX_ENTRY_DATA, 0x1234);
	assert_int_equal(tbl_read(NVEC, PCI_MSIX_ENTRY_DATA), 0);
	tbl_write(1000, PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	assert_int_equal(tbl_read(NVEC + 100, 0), 0);
	/* The whole path through the BAR. */
	set_ctrl(0);
	cfg_write16(PCI_COMMAND, PCI_COMMAND_MEMORY);
	io_put(d, 4, 0xabcd);
	assert_true(io_bus_access(&vm.mmio, dev.bars[0].addr + 6 * 16 + 8, d, 4, true));
	assert_int_equal(tbl_read(6, PCI_MSIX_ENTRY_DATA), 0xabcd);
	assert_true(io_bus_access(&vm.mmio, dev.bars[0].addr + PBA_OFF, d, 8, false));
	assert_int_equal(io_get(d, 8), 0);
	/* PBA reads of other sizes: all-ones. */
	msix_pba_io(m, 0, d, 2, false);
	assert_int_equal(io_get(d, 2), 0xffff);
	msix_pba_io(m, 4, d, 8, false);
	assert_int_equal(io_get(d, 8), ~0ULL);
}

static void test_slow_path(void **state)
{
	/* No GSI for the vectors: the main loop injects every interrupt itself. */
	program(0, 0xfee00000, 0x4000);
	set_ctrl(PCI_MSIX_FLAGS_ENABLE);
	tbl_write(0, PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	assert_int_equal(nassign, 0);
	assert_true(watched(msix_vector_fd(m, 0)));
	fire(0);
	run_loop();
	assert_int_equal(nsignals, 1);
	assert_int_equal(signals[0].data, 0x4000);
	run_loop();
	assert_int_equal(nsignals, 1);
	/* Masked: pending as usual. */
	tbl_write(0, PCI_MSIX_ENTRY_VECTOR_CTRL, 1);
	fire(0);
	run_loop();
	assert_int_equal(pba_read(0, 4), 1);
	tbl_write(0, PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	assert_int_equal(nsignals, 2);
}

static void test_bad_layout(void **state)
{
	struct pci_dev d;
	struct msix *extra;

	pci_dev_init(&d, &vm, "bad", 0x1af4, 0x1041, 0, 0, 0);
	assert_int_equal(pci_dev_add_bar(&d, 0, KiB(4), false, bar_io, NULL), 0);
	assert_null(msix_init(&d, 0, 0, 0, 0x800));
	assert_null(msix_init(&d, 4, 1, 0, 0x800));   /* no such BAR */
	assert_null(msix_init(&d, 4, 0, 0, 0x20));    /* PBA inside the table */
	assert_null(msix_init(&d, 300, 0, 0, 0x800)); /* table past the BAR */
	assert_null(msix_init(&d, 4, 0, 4, 0x800));   /* misaligned */
	assert_null(msix_init(&d, 4, 0, 0, 0x1000));  /* PBA past the BAR */
	assert_null(msix_init(&d, 4096, 0, 0, 0x800));
	assert_null(d.msix);
	extra = msix_init(&d, 4, 0, 0x800, 0);
	assert_non_null(extra);
	assert_ptr_equal(d.msix, extra);
	msix_destroy(extra);
	assert_null(d.msix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_capability, setup, teardown),
		cmocka_unit_test_setup_teardown(test_initial_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmask_programs_route, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_delivered_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_without_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_function_mask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raced_bind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_path, setup_no_gsi, teardown),
		cmocka_unit_test_setup_teardown(test_bad_layout, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
