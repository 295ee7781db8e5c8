// SPDX-License-Identifier: MIT
/*
 * test_virtio_pci.c - the virtio-pci modern transport, driven through its
 * BAR handler and the real PCI bus (ECAM), with a fake device model.  The
 * KVM calls are wrapped (test_virtio_pci.wrap): ioeventfd registrations are
 * recorded, irqfds and GSIs are faked, the main loop is not used.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/pci_regs.h>
#include <linux/virtio_pci.h>

#include "devices/virtio_pci.h"

#define S_ACK	VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV	VIRTIO_CONFIG_S_DRIVER
#define S_FOK	VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK	VIRTIO_CONFIG_S_DRIVER_OK
#define S_NR	VIRTIO_CONFIG_S_NEEDS_RESET
#define BIT(n)	(1ULL << (n))
#define OFFERED (BIT(0) | BIT(5) | BIT(33) | BIT(VIRTIO_RING_F_EVENT_IDX))
#define NQ	3
#define QMAX	256
#define ECAM	0xe0000000ULL
#define NOVEC	VIRTIO_MSI_NO_VECTOR

/* ---- wraps ---- */
struct ioev {
	uint64_t addr;
	uint32_t len;
	int fd;
	bool match;
};
static struct ioev ioevs[16];
static unsigned int n_ioev, ioev_assigns, ioev_deassigns;

int __wrap_vm_ioeventfd(struct vm *vm, bool pio, uint64_t addr, uint32_t len, int fd,
			bool has_match, uint64_t match, bool assign);
int __wrap_vm_ioeventfd(struct vm *vm, bool pio, uint64_t addr, uint32_t len, int fd,
			bool has_match, uint64_t match, bool assign)
{
	assert_false(pio);
	if (assign) {
		ioev_assigns++;
		assert_true(n_ioev < ARRAY_SIZE(ioevs));
		ioevs[n_ioev++] = (struct ioev){addr, len, fd, has_match};
		return 0;
	}
	ioev_deassigns++;
	for (unsigned int i = 0; i < n_ioev; i++) {
		if (ioevs[i].addr == addr && ioevs[i].fd == fd && ioevs[i].len == len) {
			ioevs[i] = ioevs[--n_ioev];
			return 0;
		}
	}
	fail_msg("deassign of an ioeventfd never assigned: %#llx", (unsigned long long)addr);
	return -1;
}

int __wrap_vm_irqfd(struct vm *vm, int fd, uint32_t gsi, int resample_fd, bool assign);
int __wrap_vm_irqfd(struct vm *vm, int fd, uint32_t gsi, int resample_fd, bool assign)
{
	return 0;
}

uint32_t __wrap_vm_gsi_alloc(struct vm *vm);
uint32_t __wrap_vm_gsi_alloc(struct vm *vm)
{
	return VM_GSI_NONE; /* MSI-X vectors then stay on the (unused) main-loop path */
}

struct loop_handler *__wrap_vm_loop_add(struct vm *vm, int fd, loop_cb_fn cb, void *opaque);
struct loop_handler *__wrap_vm_loop_add(struct vm *vm, int fd, loop_cb_fn cb, void *opaque)
{
	static char handle[64]; /* opaque to devices, owned by the loop */

	return (struct loop_handler *)(void *)handle;
}

void __wrap_vm_loop_del(struct vm *vm, struct loop_handler *h);
void __wrap_vm_loop_del(struct vm *vm, struct loop_handler *h)
{
}

/* ---- the fake device ---- */
static struct vm vm;
static const struct mem_region layout[] = {{.gpa = 0, .size = MiB(1)}};

struct fake {
	struct virtio_dev d;
	struct virtq vqs[NQ];
	int activate_calls, reset_calls;
	bool reset_saw_enabled_queue; /* ops->reset ran before the queues were reset */
	uint8_t cfg[8];
};
static struct fake fk;
static struct virtio_pci *vp;
static struct pci_dev *pd;

static uint64_t fake_features(struct virtio_dev *d)
{
	return OFFERED;
}

static int fake_activate(struct virtio_dev *d)
{
	fk.activate_calls++;
	return 0;
}

static void fake_reset(struct virtio_dev *d)
{
	fk.reset_calls++;
	if (fk.vqs[0].enabled)
		fk.reset_saw_enabled_queue = true;
}

static void fake_cfg_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t size)
{
	memcpy(data, fk.cfg + off, size);
}

static const struct virtio_dev_ops fake_ops = {
	.features = fake_features,
	.activate = fake_activate,
	.reset = fake_reset,
	.config_size = sizeof(fk.cfg),
	.config_read = fake_cfg_read,
};

static uint32_t intx_gsi(unsigned int slot, unsigned int pin)
{
	return 16 + slot % 8;
}

static void setup_dev(bool msix)
{
	struct pci_platform plat = {
		.ecam_base = ECAM,
		.ecam_size = MiB(1),
		.mmio32_base = 0xc0000000ULL,
		.mmio32_size = MiB(256),
		.mmio64_base = GiB(64),
		.mmio64_size = GiB(1),
		.intx_gsi = intx_gsi,
	};

	memset(&vm, 0, sizeof(vm));
	vm.vm_fd = vm.kvm_fd = vm.loop_fd = -1;
	io_bus_init(&vm.pio, "pio");
	io_bus_init(&vm.mmio, "mmio");
	assert_int_equal(gmem_init(&vm.mem, MiB(1), layout, 1), 0);
	assert_int_equal(pci_init(&vm, &plat), 0);

	memset(&fk, 0, sizeof(fk));
	for (int i = 0; i < 8; i++)
		fk.cfg[i] = (uint8_t)(0xa0 + i);
	for (int i = 0; i < NQ; i++)
		virtq_init(&fk.vqs[i], &vm.mem, QMAX);
	fk.d.device_id = 1; /* net */
	fk.d.name = "fake0";
	fk.d.ops = &fake_ops;
	fk.d.priv = &fk;
	fk.d.num_queues = NQ;
	fk.d.vqs = fk.vqs;
	assert_int_equal(virtio_dev_init(&fk.d, &vm), 0);
	n_ioev = ioev_assigns = ioev_deassigns = 0;
	vp = virtio_pci_create(&vm, &fk.d, msix);
	assert_non_null(vp);
	pd = virtio_pci_pci_dev(vp);
	assert_int_equal(pd->slot, 1);
	assert_int_equal(n_ioev, 0); /* nothing until the guest enables decoding */
}

static int setup_msix(void **state)
{
	setup_dev(true);
	return 0;
}

static int setup_intx(void **state)
{
	setup_dev(false);
	return 0;
}

static int teardown(void **state)
{
	virtio_pci_destroy(vp); /* MSI-X included (msix_destroy) */
	assert_int_equal(n_ioev, 0);
	gmem_destroy(&vm.mem);
	return 0;
}

/* ---- accessors ---- */
static uint64_t rd(uint64_t off, uint32_t size)
{
	uint8_t b[8];

	memset(b, 0x5a, sizeof(b));
	virtio_pci_bar_io(vp, off, b, size, false);
	return io_get(b, size);
}

static void wr(uint64_t off, uint32_t size, uint64_t v)
{
	uint8_t b[8];

	io_put(b, size, v);
	virtio_pci_bar_io(vp, off, b, size, true);
}

#define C(field)     (VIRTIO_PCI_COMMON_OFF + offsetof(struct virtio_pci_common_cfg, field))
#define FSZ(field)   sizeof(((struct virtio_pci_common_cfg *)0)->field)
#define RD(field)    rd(C(field), FSZ(field))
#define WR(field, v) wr(C(field), FSZ(field), v)

static uint64_t cfg_rd(uint32_t reg, uint32_t size)
{
	uint8_t b[8] = {0};

	assert_true(io_bus_access(&vm.mmio, ECAM + (pd->slot << 15) + reg, b, size, false));
	return io_get(b, size);
}

static void cfg_wr(uint32_t reg, uint32_t size, uint64_t v)
{
	uint8_t b[8];

	io_put(b, size, v);
	assert_true(io_bus_access(&vm.mmio, ECAM + (pd->slot << 15) + reg, b, size, true));
}

/* Find the n-th vendor capability of cfg_type 'type'; 0 if none. */
static uint32_t find_vcap(uint8_t type)
{
	uint32_t off = cfg_rd(PCI_CAPABILITY_LIST, 1);

	for (int guard = 0; off && guard < 48; guard++) {
		if (cfg_rd(off, 1) == PCI_CAP_ID_VNDR && cfg_rd(off + 3, 1) == type)
			return off;
		off = cfg_rd(off + 1, 1);
	}
	return 0;
}

static uint32_t find_cap(uint8_t id)
{
	uint32_t off = cfg_rd(PCI_CAPABILITY_LIST, 1);

	for (int guard = 0; off && guard < 48; guard++) {
		if (cfg_rd(off, 1) == id)
			return off;
		off = cfg_rd(off + 1, 1);
	}
	return 0;
}

static void to_features_ok(void)
{
	WR(device_status, S_ACK | S_DRV);
	WR(guest_feature_select, 1);
	WR(guest_feature, 1); /* VERSION_1 */
	WR(guest_feature_select, 0);
	WR(guest_feature, BIT(0));
	WR(device_status, S_ACK | S_DRV | S_FOK);
	assert_int_equal(RD(device_status), S_ACK | S_DRV | S_FOK);
}

static void setup_queue(uint16_t sel, uint64_t base)
{
	WR(queue_select, sel);
	WR(queue_size, 128);
	WR(queue_desc_lo, base);
	WR(queue_desc_hi, 0);
	WR(queue_avail_lo, base + 0x1000);
	WR(queue_avail_hi, 0);
	WR(queue_used_lo, base + 0x2000);
	WR(queue_used_hi, 0);
}

/* ---- tests ---- */

static void test_identity_and_caps(void **state)
{
	assert_int_equal(cfg_rd(PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_rd(PCI_DEVICE_ID, 2), 0x1041);
	assert_int_equal(cfg_rd(PCI_REVISION_ID, 1), 1);
	assert_int_equal(cfg_rd(PCI_CLASS_REVISION, 4) >> 8, 0x020000);
	assert_int_equal(cfg_rd(PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	assert_true(cfg_rd(PCI_SUBSYSTEM_ID, 2) >= 0x40);
	assert_true(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(cfg_rd(PCI_BASE_ADDRESS_0, 4) & 0x7, PCI_BASE_ADDRESS_MEM_TYPE_64);
	assert_int_equal(cfg_rd(PCI_INTERRUPT_PIN, 1), 1);

	static const struct {
		uint8_t type;
		uint32_t off, len;
	} want[] = {
		{VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF, 0x38},
		{VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF, NQ * 4},
		{VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 4},
		{VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVCFG_OFF, 8},
		{VIRTIO_PCI_CAP_PCI_CFG, 0, 0},
	};
	for (unsigned int i = 0; i < ARRAY_SIZE(want); i++) {
		uint32_t c = find_vcap(want[i].type);

		assert_int_not_equal(c, 0);
		assert_int_equal(cfg_rd(c + 4, 1), 0); /* BAR 0 */
		assert_int_equal(cfg_rd(c + 8, 4), want[i].off);
		assert_int_equal(cfg_rd(c + 12, 4), want[i].len);
		if (want[i].type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
			assert_int_equal(cfg_rd(c + 2, 1), sizeof(struct virtio_pci_notify_cap));
			assert_int_equal(cfg_rd(c + 16, 4), 4);
		}
	}
	uint32_t mx = find_cap(PCI_CAP_ID_MSIX);

	assert_int_not_equal(mx, 0);
	assert_int_equal((cfg_rd(mx + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE) + 1, NQ + 1);
	/* Table and PBA in BAR 0, inside the BAR, after the notify region. */
	uint32_t t = cfg_rd(mx + PCI_MSIX_TABLE, 4), p = cfg_rd(mx + PCI_MSIX_PBA, 4);

	assert_int_equal(t & 7, 0);
	assert_int_equal(p & 7, 0);
	assert_true((t & ~7u) >= VIRTIO_PCI_NOTIFY_OFF + 4 * NQ);
	assert_true((p & ~7u) + 8 <= pd->bars[0].size);
	/* The notify offset of queue i is i. */
	for (uint16_t i = 0; i < NQ; i++) {
		WR(queue_select, i);
		assert_int_equal(RD(queue_notify_off), i);
	}
}

static void test_no_msix_cap(void **state)
{
	assert_int_equal(find_cap(PCI_CAP_ID_MSIX), 0);
	WR(msix_config, 0);
	assert_int_equal(RD(msix_config), NOVEC);
	to_features_ok();
	WR(queue_select, 0);
	WR(queue_msix_vector, 0);
	assert_int_equal(RD(queue_msix_vector), NOVEC);
}

static void test_feature_select(void **state)
{
	WR(device_feature_select, 0);
	assert_int_equal(RD(device_feature), (uint32_t)OFFERED);
	WR(device_feature_select, 1);
	assert_int_equal(RD(device_feature), (uint32_t)((OFFERED | BIT(32)) >> 32));
	assert_int_equal(RD(device_feature_select), 1);
	WR(device_feature_select, 2);
	assert_int_equal(RD(device_feature), 0);
	WR(device_feature_select, 0xffffffff);
	assert_int_equal(RD(device_feature), 0);

	WR(device_status, S_ACK | S_DRV);
	WR(guest_feature_select, 0);
	WR(guest_feature, 0x21);
	WR(guest_feature_select, 1);
	WR(guest_feature, 0x3);
	WR(guest_feature_select, 7);
	WR(guest_feature, 0xffffffff); /* no such word: ignored */
	assert_int_equal(RD(guest_feature), 0);
	assert_int_equal(fk.d.driver_features, 0x300000021ULL);
	WR(guest_feature_select, 0);
	assert_int_equal(RD(guest_feature), 0x21);
	WR(device_feature, 0); /* read-only */
	WR(device_feature_select, 0);
	assert_int_equal(RD(device_feature), (uint32_t)OFFERED);

	/* Only a subset with VERSION_1 gets FEATURES_OK; bit 33 is offered, bit 1 is not. */
	WR(device_status, S_ACK | S_DRV | S_FOK);
	assert_int_equal(RD(device_status), S_ACK | S_DRV | S_FOK);
	WR(guest_feature_select, 0);
	WR(guest_feature, 0x1); /* after FEATURES_OK: ignored */
	assert_int_equal(RD(guest_feature), 0x21);
}

static void test_queue_config_window(void **state)
{
	/* Before FEATURES_OK: queue registers are read-only. */
	WR(queue_select, 0);
	assert_int_equal(RD(queue_size), QMAX);
	assert_int_equal(RD(queue_enable), 0);
	assert_int_equal(RD(queue_msix_vector), NOVEC);
	WR(queue_size, 64);
	WR(queue_desc_lo, 0x10000);
	WR(queue_msix_vector, 1);
	WR(queue_enable, 1);
	assert_int_equal(RD(queue_size), QMAX);
	assert_int_equal(RD(queue_desc_lo), 0);
	assert_int_equal(RD(queue_msix_vector), NOVEC);
	assert_int_equal(RD(queue_enable), 0);
	assert_false(fk.vqs[0].enabled);

	to_features_ok();
	setup_queue(0, 0x10000);
	WR(queue_msix_vector, 1);
	assert_int_equal(RD(queue_size), 128);
	assert_int_equal(RD(queue_desc_lo), 0x10000);
	assert_int_equal(RD(queue_avail_lo), 0x11000);
	assert_int_equal(RD(queue_used_lo), 0x12000);
	assert_int_equal(RD(queue_msix_vector), 1);
	WR(queue_desc_hi, 0x1);
	assert_int_equal(RD(queue_desc_hi), 1);
	WR(queue_desc_hi, 0);
	WR(queue_enable, 1);
	assert_int_equal(RD(queue_enable), 1);
	assert_true(fk.vqs[0].enabled);
	/* An enabled queue's configuration is frozen. */
	WR(queue_size, 64);
	WR(queue_desc_lo, 0x20000);
	assert_int_equal(RD(queue_size), 128);
	assert_int_equal(RD(queue_desc_lo), 0x10000);

	/* Queue 1 with a bad size: enable fails, queue stays off, NEEDS_RESET. */
	setup_queue(1, 0x20000);
	WR(queue_size, 100);
	WR(queue_enable, 1);
	assert_int_equal(RD(queue_enable), 0);
	assert_false(fk.vqs[1].enabled);
	assert_true(RD(device_status) & S_NR);

	/* After DRIVER_OK: ignored (the Firecracker CVE-2026-5747 shape). */
	WR(device_status, S_ACK | S_DRV | S_FOK | S_DOK);
	WR(queue_select, 2);
	WR(queue_size, 64);
	WR(queue_desc_lo, 0x30000);
	WR(queue_enable, 1);
	assert_int_equal(RD(queue_size), QMAX);
	assert_int_equal(RD(queue_desc_lo), 0);
	assert_false(fk.vqs[2].enabled);

	/* Reset: the device stops before the queues are touched, everything reads default. */
	WR(device_status, 0);
	assert_int_equal(fk.reset_calls, 1);
	assert_true(fk.reset_saw_enabled_queue);
	assert_int_equal(RD(device_status), 0);
	WR(queue_select, 0);
	assert_int_equal(RD(queue_size), QMAX);
	assert_int_equal(RD(queue_enable), 0);
	assert_int_equal(RD(queue_desc_lo), 0);
	assert_int_equal(RD(queue_msix_vector), NOVEC);
	assert_int_equal(fk.d.driver_features, 0);
}

static void test_driver_ok_activates(void **state)
{
	to_features_ok();
	setup_queue(0, 0x10000);
	WR(queue_enable, 1);
	WR(device_status, S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(fk.activate_calls, 1);
	assert_int_equal(RD(device_status), S_ACK | S_DRV | S_FOK | S_DOK);
}

static void test_out_of_range_select(void **state)
{
	to_features_ok();
	for (unsigned int sel = NQ; sel <= 0xffff; sel += 0x7fff) {
		WR(queue_select, sel);
		assert_int_equal(RD(queue_select), sel);
		WR(queue_size, 64);
		WR(queue_desc_lo, 0x10000);
		WR(queue_msix_vector, 0);
		WR(queue_enable, 1);
		assert_int_equal(RD(queue_size), 0);
		assert_int_equal(RD(queue_enable), 0);
		assert_int_equal(RD(queue_msix_vector), 0);
		assert_int_equal(RD(queue_notify_off), 0);
		assert_int_equal(RD(queue_desc_lo), 0);
		assert_int_equal(RD(queue_used_hi), 0);
	}
	for (int i = 0; i < NQ; i++) {
		assert_false(fk.vqs[i].enabled);
		assert_int_equal(fk.vqs[i].desc_gpa, 0);
	}
	assert_int_equal(RD(num_queues), NQ);
	assert_false(RD(device_status) & S_NR);
}

static void test_wrong_width_and_offset(void **state)
{
	WR(device_feature_select, 0);
	/* Reads of the wrong width or misaligned: 0. */
	assert_int_equal(rd(C(device_feature), 2), 0);
	assert_int_equal(rd(C(device_feature), 1), 0);
	assert_int_equal(rd(C(device_feature), 8), 0);
	assert_int_equal(rd(C(device_feature) + 1, 4), 0);
	assert_int_equal(rd(C(num_queues), 4), 0);
	assert_int_equal(rd(C(device_status), 2), 0);
	assert_int_equal(rd(C(queue_desc_lo), 8), 0); /* 64-bit fields take two 32-bit accesses */
	assert_int_equal(rd(0x38, 4), 0);	      /* queue_notify_data: not offered */
	assert_int_equal(rd(0x100, 4), 0);
	assert_int_equal(rd(0xffc, 4), 0);
	/* Writes of the wrong width: ignored. */
	wr(C(device_feature_select), 2, 1);
	assert_int_equal(RD(device_feature_select), 0);
	wr(C(device_status), 4, S_ACK);
	assert_int_equal(RD(device_status), 0);
	wr(C(queue_select), 1, 1);
	assert_int_equal(RD(queue_select), 0);
	/* Read-only fields. */
	WR(num_queues, 99);
	assert_int_equal(RD(num_queues), NQ);
	WR(config_generation, 9);
	assert_int_equal(RD(config_generation), 0);
	WR(queue_notify_off, 5);
	assert_int_equal(RD(queue_notify_off), 0);
	/* Right width, right place, still works. */
	assert_int_equal(RD(device_feature), (uint32_t)OFFERED);
	/* Gaps and the end of the BAR read 0. */
	assert_int_equal(rd(0x1800, 4), 0);
	assert_int_equal(rd(pd->bars[0].size - 4, 4), 0);
}

static void test_device_config(void **state)
{
	assert_int_equal(rd(VIRTIO_PCI_DEVCFG_OFF, 1), 0xa0);
	assert_int_equal(rd(VIRTIO_PCI_DEVCFG_OFF + 6, 2), 0xa7a6);
	assert_int_equal(rd(VIRTIO_PCI_DEVCFG_OFF + 4, 4), 0xa7a6a5a4);
	assert_int_equal(rd(VIRTIO_PCI_DEVCFG_OFF, 8), 0xa7a6a5a4a3a2a1a0ULL);
	assert_int_equal(rd(VIRTIO_PCI_DEVCFG_OFF + 6, 4), 0); /* crosses the end */
	assert_int_equal(rd(VIRTIO_PCI_DEVCFG_OFF + 8, 1), 0);
	wr(VIRTIO_PCI_DEVCFG_OFF, 1, 0); /* no config_write: ignored */
	assert_int_equal(rd(VIRTIO_PCI_DEVCFG_OFF, 1), 0xa0);
	/* config_generation follows changes. */
	uint8_t g = (uint8_t)RD(config_generation);

	virtio_config_changed(&fk.d);
	assert_int_equal((uint8_t)RD(config_generation), (uint8_t)(g + 1));
}

static uint64_t eventfd_count(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static void test_isr_intx(void **state)
{
	assert_int_equal(rd(VIRTIO_PCI_ISR_OFF, 1), 0);
	fk.d.t->notify_queue(&fk.d, &fk.vqs[0]);
	assert_true(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_int_equal(eventfd_count(pd->intx_fd), 1);
	assert_int_equal(rd(VIRTIO_PCI_ISR_OFF, 1), 1);
	assert_false(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_int_equal(rd(VIRTIO_PCI_ISR_OFF, 1), 0); /* read-to-clear */

	fk.d.t->notify_config(&fk.d);
	fk.d.t->notify_queue(&fk.d, &fk.vqs[1]);
	wr(VIRTIO_PCI_ISR_OFF, 1, 0);			    /* writes ignored */
	assert_int_equal(rd(VIRTIO_PCI_ISR_OFF + 1, 1), 0); /* only byte 0 clears */
	assert_int_equal(rd(VIRTIO_PCI_ISR_OFF, 1), 3);
	assert_int_equal(rd(VIRTIO_PCI_ISR_OFF, 1), 0);
	/* NEEDS_RESET after DRIVER_OK raises a config interrupt. */
	to_features_ok();
	WR(device_status, S_ACK | S_DRV | S_FOK | S_DOK);
	virtio_set_needs_reset(&fk.d);
	assert_int_equal(rd(VIRTIO_PCI_ISR_OFF, 1), 2);
	assert_true(RD(device_status) & S_NR);
	assert_false(fk.d.t->has_msix(&fk.d));
}

static void test_msix_vectors(void **state)
{
	uint32_t mx = find_cap(PCI_CAP_ID_MSIX);

	assert_true(fk.d.t->has_msix(&fk.d));
	WR(msix_config, NQ);
	assert_int_equal(RD(msix_config), NQ);
	WR(msix_config, NQ + 1);
	assert_int_equal(RD(msix_config), NOVEC);
	to_features_ok();
	WR(queue_select, 1);
	WR(queue_msix_vector, 2);
	assert_int_equal(RD(queue_msix_vector), 2);
	WR(queue_msix_vector, NQ + 1);
	assert_int_equal(RD(queue_msix_vector), NOVEC);
	WR(queue_msix_vector, 0x8000);
	assert_int_equal(RD(queue_msix_vector), NOVEC);
	WR(queue_msix_vector, 2);
	WR(msix_config, 0);

	/* MSI-X disabled by the guest: INTx + ISR. */
	fk.d.t->notify_queue(&fk.d, &fk.vqs[1]);
	assert_int_equal(rd(VIRTIO_PCI_ISR_OFF, 1), 1);
	eventfd_count(pd->intx_fd);

	/* Enabled: the vector's eventfd, no ISR, no INTx. */
	cfg_wr(mx + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	assert_true(msix_enabled(pd->msix));
	eventfd_count(msix_vector_fd(pd->msix, 2));
	fk.d.t->notify_queue(&fk.d, &fk.vqs[1]);
	assert_int_equal(eventfd_count(msix_vector_fd(pd->msix, 2)), 1);
	assert_int_equal(rd(VIRTIO_PCI_ISR_OFF, 1), 0);
	assert_int_equal(eventfd_count(pd->intx_fd), 0);
	eventfd_count(msix_vector_fd(pd->msix, 0));
	fk.d.t->notify_config(&fk.d);
	assert_int_equal(eventfd_count(msix_vector_fd(pd->msix, 0)), 1);
	/* A queue without a vector gets no interrupt at all. */
	fk.d.t->notify_queue(&fk.d, &fk.vqs[0]);
	for (unsigned int v = 0; v <= NQ; v++)
		assert_int_equal(eventfd_count(msix_vector_fd(pd->msix, v)), 0);
	assert_int_equal(rd(VIRTIO_PCI_ISR_OFF, 1), 0);
	/* Reset: vectors back to NO_VECTOR. */
	WR(device_status, 0);
	assert_int_equal(RD(msix_config), NOVEC);
	WR(queue_select, 1);
	assert_int_equal(RD(queue_msix_vector), NOVEC);
}

/*
 * Linux's fallback when it cannot get one vector per queue: the config
 * interrupt on vector 0 and every queue sharing vector 1 (virtio_pci's
 * per_vq_vectors = false).  Each queue's notification must still arrive.
 */
static void test_msix_shared_vector_fallback(void **state)
{
	uint32_t mx = find_cap(PCI_CAP_ID_MSIX);

	to_features_ok();
	WR(msix_config, 0);
	for (unsigned int q = 0; q < NQ; q++) {
		WR(queue_select, q);
		WR(queue_msix_vector, 1);
		assert_int_equal(RD(queue_msix_vector), 1);
	}
	cfg_wr(mx + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	assert_true(msix_enabled(pd->msix));
	for (unsigned int v = 0; v <= NQ; v++)
		eventfd_count(msix_vector_fd(pd->msix, v));
	for (unsigned int q = 0; q < NQ; q++)
		fk.d.t->notify_queue(&fk.d, &fk.vqs[q]);
	/* eventfd counts add up: one write per queue on the shared vector. */
	assert_int_equal(eventfd_count(msix_vector_fd(pd->msix, 1)), NQ);
	assert_int_equal(eventfd_count(msix_vector_fd(pd->msix, 0)), 0);
	fk.d.t->notify_config(&fk.d);
	assert_int_equal(eventfd_count(msix_vector_fd(pd->msix, 0)), 1);
	assert_int_equal(eventfd_count(msix_vector_fd(pd->msix, 1)), 0);
	assert_int_equal(rd(VIRTIO_PCI_ISR_OFF, 1), 0);
}

static bool has_ioev(uint64_t addr, int fd)
{
	for (unsigned int i = 0; i < n_ioev; i++)
		if (ioevs[i].addr == addr && ioevs[i].fd == fd && ioevs[i].len == 2 &&
		    !ioevs[i].match)
			return true;
	return false;
}

static void test_ioeventfds_follow_bar(void **state)
{
	uint64_t bar = pd->bars[0].addr, bar2 = bar + 2 * pd->bars[0].size;

	assert_int_not_equal(bar, 0);
	/* Memory decoding on: one ioeventfd per queue on its notify address. */
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(n_ioev, NQ);
	for (unsigned int i = 0; i < NQ; i++)
		assert_true(has_ioev(bar + VIRTIO_PCI_NOTIFY_OFF + 4 * i, fk.vqs[i].kick_fd));
	/* A kick that still exits (other width) reaches the same eventfd. */
	uint8_t b[4] = {2, 0, 0, 0};

	assert_true(io_bus_access(&vm.mmio, bar + VIRTIO_PCI_NOTIFY_OFF + 8, b, 4, true));
	assert_int_equal(eventfd_count(fk.vqs[2].kick_fd), 1);
	assert_true(io_bus_access(&vm.mmio, bar + VIRTIO_PCI_NOTIFY_OFF + 4 * NQ, b, 2, true));
	for (unsigned int i = 0; i < NQ; i++)
		assert_int_equal(eventfd_count(fk.vqs[i].kick_fd), 0);
	/* The guest moves the BAR. */
	cfg_wr(PCI_COMMAND, 2, 0);
	assert_int_equal(n_ioev, 0);
	cfg_wr(PCI_BASE_ADDRESS_0, 4, (uint32_t)bar2 | PCI_BASE_ADDRESS_MEM_TYPE_64);
	cfg_wr(PCI_BASE_ADDRESS_1, 4, (uint32_t)(bar2 >> 32));
	assert_int_equal(n_ioev, 0);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(n_ioev, NQ);
	for (unsigned int i = 0; i < NQ; i++)
		assert_true(has_ioev(bar2 + VIRTIO_PCI_NOTIFY_OFF + 4 * i, fk.vqs[i].kick_fd));
	/* Through the bus at the new place. */
	uint8_t s[1] = {0};

	assert_true(
		io_bus_access(&vm.mmio, bar2 + VIRTIO_PCI_COMMON_OFF + C(num_queues), s, 1, false));
	assert_int_equal(s[0], 0); /* wrong width */
	uint8_t q[2];

	assert_true(io_bus_access(&vm.mmio, bar2 + C(num_queues), q, 2, false));
	assert_int_equal(io_get(q, 2), NQ);
	cfg_wr(PCI_COMMAND, 2, 0);
	assert_int_equal(n_ioev, 0);
	assert_int_equal(ioev_assigns, ioev_deassigns);
}

static void test_pci_cfg_window(void **state)
{
	uint32_t c = find_vcap(VIRTIO_PCI_CAP_PCI_CFG);
	uint8_t d[4];

	assert_int_not_equal(c, 0);
	assert_int_equal(cfg_rd(c + 2, 1), sizeof(struct virtio_pci_cfg_cap));
	/* Select device_feature_select (4 bytes) and write 1 through the window. */
	cfg_wr(c + 4, 1, 0);
	cfg_wr(c + 8, 4, C(device_feature_select));
	cfg_wr(c + 12, 4, 4);
	io_put(d, 4, 1);
	assert_true(virtio_pci_cfg_window(vp, c + 16, d, 4, true));
	assert_int_equal(RD(device_feature_select), 1);
	cfg_wr(c + 8, 4, C(device_feature));
	memset(d, 0, sizeof(d));
	assert_true(virtio_pci_cfg_window(vp, c + 16, d, 4, false));
	assert_int_equal(io_get(d, 4), (uint32_t)((OFFERED | BIT(32)) >> 32));
	/* Bad length or BAR: reads 0, writes ignored. */
	cfg_wr(c + 12, 4, 3);
	assert_true(virtio_pci_cfg_window(vp, c + 16, d, 4, false));
	assert_int_equal(io_get(d, 4), 0);
	cfg_wr(c + 12, 4, 4);
	cfg_wr(c + 4, 1, 2);
	assert_true(virtio_pci_cfg_window(vp, c + 16, d, 4, false));
	assert_int_equal(io_get(d, 4), 0);
	/* Not the window. */
	assert_false(virtio_pci_cfg_window(vp, c + 12, d, 4, false));
	assert_false(virtio_pci_cfg_window(vp, PCI_COMMAND, d, 2, false));
}

/* CF8/CFC: configuration mechanism #1, as a guest without ECAM reaches the window. */
static uint64_t cf8_rd(uint32_t reg, uint32_t size)
{
	uint8_t b[4] = {0}, a[4];

	io_put(a, 4, 0x80000000u | pd->slot << 11 | (reg & 0xfc));
	assert_true(io_bus_access(&vm.pio, 0xcf8, a, 4, true));
	assert_true(io_bus_access(&vm.pio, 0xcfc + (reg & 3), b, size, false));
	return io_get(b, size);
}

static void cf8_wr(uint32_t reg, uint32_t size, uint64_t v)
{
	uint8_t b[4], a[4];

	io_put(a, 4, 0x80000000u | pd->slot << 11 | (reg & 0xfc));
	assert_true(io_bus_access(&vm.pio, 0xcf8, a, 4, true));
	io_put(b, size, v);
	assert_true(io_bus_access(&vm.pio, 0xcfc + (reg & 3), b, size, true));
}

/* Point the window: cap.bar, cap.offset, cap.length. */
static void window_at(uint32_t c, uint8_t bar, uint32_t off, uint32_t len)
{
	cfg_wr(c + 4, 1, bar);
	cfg_wr(c + 8, 4, off);
	cfg_wr(c + 12, 4, len);
}

/*
 * The window as a guest reaches it, through the PCI bus: ECAM and CF8/CFC
 * accesses of pci_cfg_data become BAR accesses at cap.offset (virtio 1.2
 * 4.1.4.9); bad selections read 0 and change nothing.
 */
static void test_pci_cfg_window_through_bus(void **state)
{
	uint32_t c = find_vcap(VIRTIO_PCI_CAP_PCI_CFG);
	uint32_t data = c + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data);

	assert_int_not_equal(c, 0);
	/* ECAM: write device_feature_select = 1, read it and the feature word back. */
	window_at(c, VIRTIO_PCI_BAR, C(device_feature_select), 4);
	cfg_wr(data, 4, 1);
	assert_int_equal(RD(device_feature_select), 1);
	assert_int_equal(cfg_rd(data, 4), 1);
	window_at(c, VIRTIO_PCI_BAR, C(device_feature), 4);
	assert_int_equal(cfg_rd(data, 4), (uint32_t)((OFFERED | BIT(32)) >> 32));
	/* A 2-byte field: num_queues. */
	window_at(c, VIRTIO_PCI_BAR, C(num_queues), 2);
	assert_int_equal(cfg_rd(data, 4), NQ);
	assert_int_equal(cfg_rd(data, 2), NQ);
	/* A 1-byte field through CF8/CFC: device_status. */
	window_at(c, VIRTIO_PCI_BAR, C(device_status), 1);
	cf8_wr(data, 1, S_ACK);
	assert_int_equal(RD(device_status), S_ACK);
	assert_int_equal(cf8_rd(data, 1), S_ACK);
	/* CF8/CFC: queue_select = 2, then queue_size reads queue 2's. */
	window_at(c, VIRTIO_PCI_BAR, C(queue_select), 2);
	cf8_wr(data, 2, 2);
	assert_int_equal(RD(queue_select), 2);
	window_at(c, VIRTIO_PCI_BAR, C(queue_size), 2);
	assert_int_equal(cf8_rd(data, 2), QMAX);

	/* Ignored: length not 1/2/4, unaligned offset, past the BAR, another BAR. */
	WR(device_feature_select, 0);
	static const struct {
		uint8_t bar;
		uint32_t off, len;
	} bad[] = {
		{ VIRTIO_PCI_BAR, C(device_feature_select), 3 },
		{ VIRTIO_PCI_BAR, C(device_feature_select), 8 },
		{ VIRTIO_PCI_BAR, C(device_feature_select), 0 },
		{ VIRTIO_PCI_BAR, C(device_feature_select) + 1, 4 },
		{ VIRTIO_PCI_BAR, C(num_queues) + 1, 2 },
		{ VIRTIO_PCI_BAR, 0xfffffffc, 4 },
		{ VIRTIO_PCI_BAR, 0x80000000, 4 },
		{ VIRTIO_PCI_BAR + 1, C(device_feature_select), 4 },
		{ 0xff, C(device_feature_select), 4 },
	};
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		window_at(c, bad[i].bar, bad[i].off, bad[i].len);
		cfg_wr(data, 4, 7);
		cf8_wr(data, 4, 7);
		assert_int_equal(cfg_rd(data, 4), 0);
		assert_int_equal(cf8_rd(data, 4), 0);
		assert_int_equal(RD(device_feature_select), 0);
	}
	/* A 4-byte window and a 1-byte access of pci_cfg_data: ignored too. */
	window_at(c, VIRTIO_PCI_BAR, C(device_feature_select), 4);
	cfg_wr(data, 1, 5);
	assert_int_equal(RD(device_feature_select), 0);
	assert_int_equal(cfg_rd(data + 1, 1), 0);
	/* The fields around the window still read back as written. */
	assert_int_equal(cfg_rd(c + 8, 4), C(device_feature_select));
	assert_int_equal(cfg_rd(c + 12, 4), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_and_caps, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_no_msix_cap, setup_intx, teardown),
		cmocka_unit_test_setup_teardown(test_feature_select, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_queue_config_window, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_driver_ok_activates, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range_select, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_width_and_offset, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_device_config, setup_intx, teardown),
		cmocka_unit_test_setup_teardown(test_isr_intx, setup_intx, teardown),
		cmocka_unit_test_setup_teardown(test_msix_shared_vector_fallback, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_msix_vectors, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_ioeventfds_follow_bar, setup_msix, teardown),
		cmocka_unit_test_setup_teardown(test_pci_cfg_window, setup_intx, teardown),
		cmocka_unit_test_setup_teardown(test_pci_cfg_window_through_bus, setup_intx, teardown),
	};

	log_set_level(LOG_ERROR); /* the hostile-guest cases log on purpose */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
