// SPDX-License-Identifier: MIT
/*
 * test_virtio_mmio.c - the virtio-mmio version 2 transport, driven through
 * the MMIO bus with a fake device model: the register state machine, the
 * malformed accesses it must ignore, interrupts and notifications.  KVM
 * calls are wrapped (test_virtio_mmio.wrap): ioeventfds and irqfds recorded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/virtio_mmio.h>

#include "devices/virtio_mmio.h"

#define BASE	0x0a000000ULL
#define GSI	16
#define NQ	2
#define QMAX	256
#define BIT(n)	(1ULL << (n))
#define OFFERED (BIT(0) | BIT(5) | BIT(33) | BIT(VIRTIO_RING_F_EVENT_IDX))
#define DEVF	(OFFERED | BIT(VIRTIO_F_VERSION_1))
#define S_ACK	VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV	VIRTIO_CONFIG_S_DRIVER
#define S_FOK	VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK	VIRTIO_CONFIG_S_DRIVER_OK
#define S_NR	VIRTIO_CONFIG_S_NEEDS_RESET

/* ---- wraps ---- */
static unsigned int n_ioev, n_irqfd;
static uint64_t ioev_match[8];

int __wrap_vm_ioeventfd(struct vm *vm, bool pio, uint64_t addr, uint32_t len, int fd,
			bool has_match, uint64_t match, bool assign);
int __wrap_vm_ioeventfd(struct vm *vm, bool pio, uint64_t addr, uint32_t len, int fd,
			bool has_match, uint64_t match, bool assign)
{
	assert_false(pio);
	assert_int_equal(addr, BASE + VIRTIO_MMIO_QUEUE_NOTIFY);
	assert_int_equal(len, 4);
	assert_true(has_match);
	assert_true(fd >= 0);
	if (assign) {
		ioev_match[n_ioev++] = match;
	} else {
		assert_true(n_ioev > 0);
		n_ioev--;
	}
	return 0;
}

int __wrap_vm_irqfd(struct vm *vm, int fd, uint32_t gsi, int resample_fd, bool assign);
int __wrap_vm_irqfd(struct vm *vm, int fd, uint32_t gsi, int resample_fd, bool assign)
{
	assert_int_equal(gsi, GSI);
	assert_int_equal(resample_fd, -1);
	n_irqfd += assign ? 1 : -1;
	return 0;
}

/* ---- fake device ---- */
static struct vm vm;
static struct virtio_dev dev;
static struct virtq vqs[NQ];
static struct virtio_mmio *m;
static unsigned int activations, resets;
static uint8_t cfgspace[8] = {1, 2, 3, 4, 5, 6, 7, 8};

static uint64_t fake_features(struct virtio_dev *d)
{
	return OFFERED;
}
static int fake_activate(struct virtio_dev *d)
{
	activations++;
	return 0;
}
static void fake_reset(struct virtio_dev *d)
{
	resets++;
}
static void fake_cfg_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t size)
{
	memcpy(data, cfgspace + off, size);
}
static const struct virtio_dev_ops fake_ops = {
	.features = fake_features,
	.activate = fake_activate,
	.reset = fake_reset,
	.config_size = sizeof(cfgspace),
	.config_read = fake_cfg_read,
};

static uint32_t rd(uint64_t off)
{
	uint8_t b[4] = {0};

	assert_true(io_bus_access(&vm.mmio, BASE + off, b, 4, false));
	return (uint32_t)io_get(b, 4);
}

static void wr(uint64_t off, uint32_t v)
{
	uint8_t b[4];

	io_put(b, 4, v);
	assert_true(io_bus_access(&vm.mmio, BASE + off, b, 4, true));
}

static int setup(void **state)
{
	struct mem_region r = {.gpa = 0, .size = MiB(1)};

	(void)state;
	memset(&vm, 0, sizeof(vm));
	memset(&dev, 0, sizeof(dev));
	io_bus_init(&vm.mmio, "mmio");
	assert_int_equal(gmem_init(&vm.mem, MiB(1), &r, 1), 0);
	for (int i = 0; i < NQ; i++)
		virtq_init(&vqs[i], &vm.mem, QMAX);
	dev.device_id = 1;
	dev.name = "fake0";
	dev.ops = &fake_ops;
	dev.num_queues = NQ;
	dev.vqs = vqs;
	assert_int_equal(virtio_dev_init(&dev, &vm), 0);
	n_ioev = n_irqfd = activations = resets = 0;
	m = virtio_mmio_create(&vm, &dev, BASE, GSI);
	assert_non_null(m);
	assert_int_equal(virtio_mmio_connect_irq(m), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	virtio_mmio_destroy(m);
	assert_int_equal(n_ioev, 0);
	assert_int_equal(n_irqfd, 0);
	gmem_destroy(&vm.mem);
	return 0;
}

/* Driver init up to FEATURES_OK. */
static void negotiate(void)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)OFFERED);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(DEVF >> 32));
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK);
}

static void setup_queue(uint32_t q, uint32_t num, uint64_t desc)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, q);
	wr(VIRTIO_MMIO_QUEUE_NUM, num);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)desc + 0x4000);
	wr(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)desc + 0x8000);
	wr(VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

static void test_identity(void **state)
{
	(void)state;
	assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_ID), 1);
	assert_int_equal(rd(VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)OFFERED);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)(DEVF >> 32));
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	assert_int_equal(rd(VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	/* One ioeventfd per queue, matching the queue index. */
	assert_int_equal(n_ioev, NQ);
	assert_int_equal(ioev_match[0], 0);
	assert_int_equal(ioev_match[1], 1);
	assert_int_equal(n_irqfd, 1);
}

static void test_full_init(void **state)
{
	(void)state;
	negotiate();
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), QMAX);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	setup_queue(0, 128, 0x10000);
	setup_queue(1, 256, 0x20000);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	assert_int_equal(vqs[0].size, 128);
	assert_int_equal(vqs[0].desc_gpa, 0x10000);
	assert_int_equal(vqs[0].avail_gpa, 0x14000);
	assert_int_equal(vqs[0].used_gpa, 0x18000);
	assert_true(vqs[0].event_idx);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(activations, 1);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
	/* Reset: everything back, data path stopped. */
	wr(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
	assert_true(resets >= 1);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_false(vqs[1].enabled);
}

static void test_queue_config_outside_window(void **state)
{
	(void)state;
	/* Before FEATURES_OK: ignored. */
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	setup_queue(0, 128, 0x10000);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(vqs[0].desc_gpa, 0);
	/* After DRIVER_OK: ignored. */
	wr(VIRTIO_MMIO_STATUS, 0);
	negotiate();
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	setup_queue(1, 128, 0x20000);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(vqs[1].desc_gpa, 0);
}

static void test_ready_queue_locked(void **state)
{
	(void)state;
	negotiate();
	setup_queue(0, 128, 0x10000);
	wr(VIRTIO_MMIO_QUEUE_NUM, 64);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x30000);
	assert_int_equal(vqs[0].size, 128);
	assert_int_equal(vqs[0].desc_gpa, 0x10000);
	wr(VIRTIO_MMIO_QUEUE_READY, 0); /* not a way to disable: ignored */
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 1);
}

static void test_bad_queue_needs_reset(void **state)
{
	(void)state;
	negotiate();
	setup_queue(0, 100, 0x10000); /* not a power of two */
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(rd(VIRTIO_MMIO_STATUS) & S_NR);
	wr(VIRTIO_MMIO_STATUS, 0);
	negotiate();
	setup_queue(1, 128, 0x10001); /* misaligned descriptor table */
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(rd(VIRTIO_MMIO_STATUS) & S_NR);
	wr(VIRTIO_MMIO_STATUS, 0);
	negotiate();
	setup_queue(0, 128, MiB(1) - 0x100); /* rings outside RAM */
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
}

static void test_queue_sel_out_of_range(void **state)
{
	(void)state;
	negotiate();
	wr(VIRTIO_MMIO_QUEUE_SEL, NQ);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	setup_queue(NQ, 128, 0x10000);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0xffffffff);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
}

static void test_features_without_version1(void **state)
{
	(void)state;
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	/* Features not offered: refused too. */
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1 | 4); /* VERSION_1 and bit 34 */
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
}

static void test_malformed_accesses(void **state)
{
	uint8_t b[8];

	(void)state;
	/* Narrow and misaligned register accesses: ignored, reads see 0. */
	memset(b, 0xee, sizeof(b));
	assert_true(io_bus_access(&vm.mmio, BASE + VIRTIO_MMIO_MAGIC_VALUE, b, 2, false));
	assert_int_equal(b[0], 0);
	assert_int_equal(b[1], 0);
	assert_true(io_bus_access(&vm.mmio, BASE + VIRTIO_MMIO_MAGIC_VALUE, b, 8, false));
	assert_int_equal(io_get(b, 8), 0);
	assert_true(io_bus_access(&vm.mmio, BASE + VIRTIO_MMIO_VERSION + 1, b, 4, false));
	assert_int_equal(io_get(b, 4), 0);
	io_put(b, 1, S_ACK);
	assert_true(io_bus_access(&vm.mmio, BASE + VIRTIO_MMIO_STATUS, b, 1, true));
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
	/* Writes to read-only registers, reads of write-only ones, holes. */
	wr(VIRTIO_MMIO_MAGIC_VALUE, 0);
	assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_SEL), 0);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM), 0);
	assert_int_equal(rd(0x0c0), 0);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_PFN), 0); /* legacy register: absent */
	wr(VIRTIO_MMIO_GUEST_PAGE_SIZE, 4096);
	/* Config space: inside, any aligned width; outside or misaligned, ignored. */
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG + 4), 0x08070605);
	assert_true(io_bus_access(&vm.mmio, BASE + VIRTIO_MMIO_CONFIG + 1, b, 1, false));
	assert_int_equal(b[0], 2);
	assert_true(io_bus_access(&vm.mmio, BASE + VIRTIO_MMIO_CONFIG, b, 8, false));
	assert_int_equal(io_get(b, 8), 0x0807060504030201ULL);
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG + 8), 0);
	assert_true(io_bus_access(&vm.mmio, BASE + VIRTIO_MMIO_CONFIG + 1, b, 2, false));
	assert_int_equal(io_get(b, 2), 0);
	assert_true(io_bus_access(&vm.mmio, BASE + VIRTIO_MMIO_CONFIG + 6, b, 4, false));
	assert_int_equal(io_get(b, 4), 0);
	/* Past the window: nothing there. */
	assert_false(io_bus_access(&vm.mmio, BASE + VIRTIO_MMIO_WINDOW, b, 4, false));
}

static void test_interrupts_and_generation(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	dev.t->notify_queue(&dev, &vqs[0]); /* what virtio_notify_queue calls */
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG_GENERATION), 0);
	virtio_config_changed(&dev);
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG_GENERATION), 1);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	wr(VIRTIO_MMIO_INTERRUPT_STATUS, 3); /* read-only */
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* A notify that exits (no ioeventfd) still reaches the queue's kick eventfd. */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(read(vqs[1].kick_fd, &v, sizeof(v)), sizeof(v));
	assert_int_equal(v, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, NQ); /* no such queue: ignored */
}

/*
 * Status is 32-bit (4.2.2): a write with bits above 7 is not a 0 write.
 * 0x100 used to be truncated to 0: the core reset, the transport's ISR and
 * select registers did not.  Now it is refused with NEEDS_RESET; a real 0
 * write resets core and transport both.
 */
static void test_status_high_bits(void **state)
{
	static const uint32_t bad[] = { 0x100, 0x1ff, 0x80000000, 0xffffff00 };
	uint8_t ok = S_ACK | S_DRV | S_FOK;

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		unsigned int resets_before;

		wr(VIRTIO_MMIO_STATUS, 0);
		negotiate();
		wr(VIRTIO_MMIO_QUEUE_SEL, 1);
		wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
		dev.t->notify_queue(&dev, &vqs[0]);
		resets_before = resets;

		wr(VIRTIO_MMIO_STATUS, bad[i]);
		assert_int_equal(rd(VIRTIO_MMIO_STATUS), ok | S_NR);
		assert_int_equal(resets, resets_before);
		assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
		assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)(DEVF >> 32));

		/* The reset the device asked for: everything goes, transport included. */
		wr(VIRTIO_MMIO_STATUS, 0);
		assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
		assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
		assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)OFFERED);
		wr(VIRTIO_MMIO_QUEUE_SEL, 0);
		assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), QMAX);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_identity),
		T(test_full_init),
		T(test_queue_config_outside_window),
		T(test_ready_queue_locked),
		T(test_bad_queue_needs_reset),
		T(test_queue_sel_out_of_range),
		T(test_features_without_version1),
		T(test_malformed_accesses),
		T(test_interrupts_and_generation),
		T(test_status_high_bits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
