// SPDX-License-Identifier: MIT
/*
 * fuzz_virtio_mmio.c - the virtio-mmio version 2 register file
 * (devices/virtio_mmio.c, the arm64 transport; #included here because the
 * x86 core the fuzz library is built from does not contain it): a fake
 * three-queue device at BASE on the MMIO bus, driven through the bus like a
 * guest does.
 *
 * Input: a guest RAM image (first byte: its length / 64), then ops of 8
 * bytes: kind, size/direction, offset (2), value (4).  Each input starts
 * from a reset device (Status 0, zeroed config space).  Checked: the queue
 * rings the device is activated with lie in guest RAM; reads of registers
 * that do not exist see 0; the identity registers never change.
 */
#include <linux/virtio_mmio.h>

#include "devices/virtio_mmio.c" // NOLINT(bugprone-suspicious-include): its statics too
#include "tests/fuzz/fuzz.h"

#define BASE	 0x0a000000ULL
#define GSI	 16
#define NQ	 3
#define QMAX	 256
#define CFG_SIZE 12

static struct vm vm;
static struct virtio_dev dev;
static struct virtq vqs[NQ];
static uint8_t *devcfg; /* heap, exactly CFG_SIZE: ASan sees any overrun */
static struct virtio_mmio *mm;
static const struct mem_region layout[] = {{.gpa = 0, .size = KiB(64)}};

static uint64_t fake_features(struct virtio_dev *d)
{
	return (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | 0x25;
}

static int fake_activate(struct virtio_dev *d)
{
	for (unsigned int i = 0; i < NQ; i++) {
		if (!vqs[i].enabled)
			continue;
		FUZZ_CHECK(vqs[i].size && vqs[i].size <= QMAX);
		FUZZ_CHECK(fuzz_in_guest(&vm.mem, vqs[i].desc, 16u * vqs[i].size));
		FUZZ_CHECK(fuzz_in_guest(&vm.mem, vqs[i].avail, 4u + 2u * vqs[i].size));
		FUZZ_CHECK(fuzz_in_guest(&vm.mem, vqs[i].used, 4u + 8u * vqs[i].size));
	}
	return 0;
}

static void fake_reset(struct virtio_dev *d)
{
}

static void fake_cfg_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t size)
{
	FUZZ_CHECK(off + size <= CFG_SIZE);
	memcpy(data, devcfg + off, size);
}

static void fake_cfg_write(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t size)
{
	FUZZ_CHECK(off + size <= CFG_SIZE);
	memcpy(devcfg + off, data, size);
}

static const struct virtio_dev_ops fake_ops = {
	.features = fake_features,
	.activate = fake_activate,
	.reset = fake_reset,
	.config_size = CFG_SIZE,
	.config_read = fake_cfg_read,
	.config_write = fake_cfg_write,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_vm_init(&vm, KiB(64), layout, ARRAY_SIZE(layout));
	devcfg = calloc(1, CFG_SIZE);
	FUZZ_CHECK(devcfg);
	for (int i = 0; i < NQ; i++)
		virtq_init(&vqs[i], &vm.mem, QMAX);
	dev.device_id = 1;
	dev.name = "fuzz0";
	dev.ops = &fake_ops;
	dev.num_queues = NQ;
	dev.vqs = vqs;
	FUZZ_CHECK(virtio_dev_init(&dev, &vm) == 0);
	mm = virtio_mmio_create(&vm, &dev, BASE, GSI);
	FUZZ_CHECK(mm);
	FUZZ_CHECK(virtio_mmio_connect_irq(mm) == 0);
	return 0;
}

static bool mmio_rw(uint64_t off, uint8_t *data, uint32_t size, bool w)
{
	return io_bus_access(&vm.mmio, BASE + off, data, size, w);
}

static uint32_t rd32(uint64_t off)
{
	uint8_t b[4] = {0};

	FUZZ_CHECK(mmio_rw(off, b, 4, false));
	return (uint32_t)io_get(b, 4);
}

static void drain(int fd)
{
	uint64_t v;

	if (fd >= 0)
		while (read(fd, &v, sizeof(v)) > 0)
			;
}

static const uint32_t sizes[] = {1, 2, 4, 8};

static void run_op(const uint8_t *op)
{
	uint8_t data[8];
	uint32_t size = sizes[(op[1] >> 1) % 4];
	bool w = op[1] & 1;
	uint32_t off = (uint32_t)(op[2] | op[3] << 8);
	uint32_t v;

	memcpy(data, op + 4, 4);
	memcpy(data + 4, op + 4, 4);
	v = (uint32_t)io_get(data, 4);
	switch (op[0] % 12) {
	case 0:
	case 1:
	case 2:
	case 3:
	case 4: /* a register, the way the spec says: 32-bit, aligned */
		off = off % VIRTIO_MMIO_CONFIG_OFF & ~3u;
		mmio_rw(off, data, 4, w);
		if (!w && reg_kind(off) == REG_NONE)
			FUZZ_CHECK(io_get(data, 4) == 0);
		break;
	case 5: /* anything in the window, any width */
		mmio_rw(off % VIRTIO_MMIO_WINDOW, data, size, w);
		break;
	case 6:
	case 7: /* the device's configuration space */
		mmio_rw(VIRTIO_MMIO_CONFIG_OFF + off % (CFG_SIZE + 8), data, size, w);
		break;
	case 8: /* the device side: a used buffer, a config change */
		if (v & 1)
			virtio_config_changed(&dev);
		else
			virtio_notify_queue(&dev, &vqs[v % NQ]);
		break;
	case 9: /* the queue rings at sensible places, then QueueReady */
		mmio_rw(VIRTIO_MMIO_QUEUE_SEL, data, 4, true);
		io_put(data, 4, (op[2] & 0x3f) * 64u);
		mmio_rw(VIRTIO_MMIO_QUEUE_DESC_LOW, data, 4, true);
		io_put(data, 4, KiB(16) + op[3] * 64u);
		mmio_rw(VIRTIO_MMIO_QUEUE_AVAIL_LOW, data, 4, true);
		io_put(data, 4, KiB(32) + op[3] * 64u);
		mmio_rw(VIRTIO_MMIO_QUEUE_USED_LOW, data, 4, true);
		io_put(data, 4, 1);
		mmio_rw(VIRTIO_MMIO_QUEUE_READY, data, 4, true);
		break;
	case 10: /* a notification that exits (no ioeventfd took it) */
		io_put(data, 4, v % (NQ + 1));
		mmio_rw(VIRTIO_MMIO_QUEUE_NOTIFY, data, 4, true);
		break;
	case 11: /* past the window: not ours */
		FUZZ_CHECK(!io_bus_access(&vm.mmio, BASE + VIRTIO_MMIO_WINDOW + off % 64, data,
					  size, w));
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uint8_t b[4] = {0};
	uint8_t op[8];

	/* Reset through the register file, as a driver does. */
	mmio_rw(VIRTIO_MMIO_STATUS, b, 4, true);
	memset(devcfg, 0, CFG_SIZE);
	fz_bytes(&in, vm.mem.base, fz_u8(&in) * 64u);
	while (in.left >= sizeof(op)) {
		fz_bytes(&in, op, sizeof(op));
		run_op(op);
	}
	FUZZ_CHECK(rd32(VIRTIO_MMIO_MAGIC_VALUE) == VIRTIO_MMIO_MAGIC);
	FUZZ_CHECK(rd32(VIRTIO_MMIO_VERSION) == VIRTIO_MMIO_VERSION_2);
	FUZZ_CHECK(rd32(VIRTIO_MMIO_DEVICE_ID) == 1);
	drain(mm->irq_fd);
	for (int i = 0; i < NQ; i++)
		drain(vqs[i].kick_fd);
	return 0;
}
