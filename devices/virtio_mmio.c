// SPDX-License-Identifier: MIT
/*
 * virtio_mmio.c - the virtio-mmio transport, version 2 only (virtio 1.2
 * section 4.2.2; the legacy version 1 registers GuestPageSize, QueueAlign
 * and QueuePFN do not exist here).
 *
 * The rules are virtio-pci's (devices/virtio_pci.c), through the same core
 * helpers: status and features go through virtio_set_status() and
 * virtio_set_driver_features(); queue registers are accepted only between
 * FEATURES_OK and DRIVER_OK and only while the selected queue is not ready;
 * QueueReady = 1 validates the queue with virtq_enable() (failure: the queue
 * stays off and the device goes NEEDS_RESET).  Every access of the wrong
 * width or alignment, to a register that does not exist, or in the wrong
 * direction is ignored (reads see 0) and logged once.  Control registers
 * are 32-bit only (4.2.2.2: "MUST only use 32 bit wide and aligned");
 * the configuration space takes 1, 2, 4 and 8-byte accesses inside it.
 *
 * Notifications: a KVM ioeventfd on QueueNotify per queue, matching the
 * queue index as the written value; a notify that still exits (no
 * ioeventfd) is delivered by hand.  Interrupts: InterruptStatus bits are set
 * lock-free by device threads, then the device's one irqfd eventfd is
 * written (an edge on its SPI); the driver clears bits with InterruptACK.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_pci.h> /* VIRTIO_MSI_NO_VECTOR */
#include <linux/virtio_ring.h>

#include "devices/virtio_mmio.h"

struct virtio_mmio {
	struct vm *vm;
	struct virtio_dev *vdev;
	uint64_t base;
	uint32_t gsi;
	int irq_fd; /* irqfd eventfd on gsi */
	bool irqfd_ok;
	bool kicks_ok;	 /* ioeventfds registered */
	bool registered; /* on the MMIO bus */

	/* Register file: under vdev->lock. */
	uint32_t dfselect, gfselect, queue_select;
	atomic_uint isr; /* VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG */
};

static void signal_fd(int fd)
{
	uint64_t one = 1;
	ssize_t n;

	if (fd < 0)
		return;
	do {
		n = write(fd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
}

/* ------------------------------------------------------------------ */
/* Interrupts (device threads; lock-free)                              */
/* ------------------------------------------------------------------ */

static void raise_irq(struct virtio_mmio *m, unsigned int bit)
{
	atomic_fetch_or(&m->isr, bit);
	signal_fd(m->irq_fd);
}

static void vm_notify_queue(struct virtio_dev *d, struct virtq *q UNUSED)
{
	raise_irq(d->t_priv, VIRTIO_MMIO_INT_VRING);
}

static void vm_notify_config(struct virtio_dev *d)
{
	raise_irq(d->t_priv, VIRTIO_MMIO_INT_CONFIG);
}

static bool vm_has_msix(struct virtio_dev *d UNUSED)
{
	return false; /* one interrupt line: NetConfig then gives a NIC one queue pair */
}

static void vm_detach(struct virtio_dev *d)
{
	virtio_mmio_destroy(d->t_priv);
}

static const struct virtio_transport_ops mmio_transport_ops = {
	.notify_queue = vm_notify_queue,
	.notify_config = vm_notify_config,
	.has_msix = vm_has_msix,
	.detach = vm_detach,
};

/* ------------------------------------------------------------------ */
/* Registers                                                           */
/* ------------------------------------------------------------------ */

static struct virtq *selected_queue(struct virtio_mmio *m)
{
	struct virtio_dev *d = m->vdev;

	return m->queue_select < d->num_queues ? &d->vqs[m->queue_select] : NULL;
}

enum reg_access { REG_NONE = 0, REG_R = 1, REG_W = 2, REG_RW = 3 };

static enum reg_access reg_kind(uint64_t off)
{
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
	case VIRTIO_MMIO_VERSION:
	case VIRTIO_MMIO_DEVICE_ID:
	case VIRTIO_MMIO_VENDOR_ID:
	case VIRTIO_MMIO_DEVICE_FEATURES:
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
	case VIRTIO_MMIO_INTERRUPT_STATUS:
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return REG_R;
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
	case VIRTIO_MMIO_DRIVER_FEATURES:
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
	case VIRTIO_MMIO_QUEUE_SEL:
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_NOTIFY:
	case VIRTIO_MMIO_INTERRUPT_ACK:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
	case VIRTIO_MMIO_SHM_SEL:
		return REG_W;
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_STATUS:
		return REG_RW;
	default:
		return REG_NONE;
	}
}

/* Caller holds d->lock. */
static uint32_t reg_read(struct virtio_mmio *m, uint64_t off)
{
	struct virtio_dev *d = m->vdev;
	struct virtq *q = selected_queue(m);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_VERSION_2;
	case VIRTIO_MMIO_DEVICE_ID:
		return d->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return m->dfselect < 2 ? (uint32_t)(d->device_features >> (32 * m->dfselect)) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? q->max_size : 0; /* 0: no such queue */
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->enabled : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return atomic_load(&m->isr);
	case VIRTIO_MMIO_STATUS:
		return __atomic_load_n(&d->status, __ATOMIC_ACQUIRE);
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffffu; /* no shared memory regions */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return atomic_load(&d->config_generation);
	}
	return 0;
}

static void set_lo(uint64_t *r, uint32_t v)
{
	*r = (*r & ~0xffffffffull) | v;
}

static void set_hi(uint64_t *r, uint32_t v)
{
	*r = (*r & 0xffffffffull) | (uint64_t)v << 32;
}

/* The transport's share of a reset (the core reset the device and its queues). */
static void transport_reset(struct virtio_mmio *m)
{
	struct virtio_dev *d = m->vdev;

	m->dfselect = m->gfselect = m->queue_select = 0;
	for (unsigned int i = 0; i < d->num_queues; i++) {
		struct virtq *q = &d->vqs[i];

		q->size = q->max_size;
		q->desc_gpa = q->avail_gpa = q->used_gpa = 0;
		q->msix_vector = VIRTIO_MSI_NO_VECTOR;
		q->call_fd = -1;
	}
	atomic_store(&m->isr, 0);
}

/* Queue registers: only in the configuration window, only for a queue not ready. */
static void queue_write(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
	struct virtio_dev *d = m->vdev;
	struct virtq *q = selected_queue(m);

	if (!q) {
		log_once(LOG_WARN, "virtio-mmio",
			 "%s: queue register write with QueueSel %u out of range (ignored)",
			 d->name, m->queue_select);
		return;
	}
	if (!virtio_queue_config_allowed(d)) {
		log_once(LOG_WARN, "virtio-mmio",
			 "%s: queue configuration written outside FEATURES_OK..DRIVER_OK "
			 "(status 0x%02x): ignored",
			 d->name, d->status);
		return;
	}
	if (q->enabled) {
		log_once(LOG_WARN, "virtio-mmio",
			 "%s: configuration of ready queue %u written: ignored", d->name,
			 m->queue_select);
		return;
	}
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		q->size = (uint16_t)(v > 0xffff ? 0 : v); /* checked by virtq_enable */
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		virtio_queue_enable(d, q, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		set_lo(&q->desc_gpa, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_hi(&q->desc_gpa, v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		set_lo(&q->avail_gpa, v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		set_hi(&q->avail_gpa, v);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		set_lo(&q->used_gpa, v);
		break;
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		set_hi(&q->used_gpa, v);
		break;
	}
}

/* Caller holds d->lock. */
static void reg_write(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
	struct virtio_dev *d = m->vdev;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		m->dfselect = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		m->gfselect = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		virtio_set_driver_features(d, m->gfselect, v);
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		m->queue_select = v; /* out of range: QueueNumMax reads 0, writes ignored */
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* Only reached without an ioeventfd (or for a bad index). */
		if (v < d->num_queues)
			signal_fd(d->vqs[v].kick_fd);
		else
			log_once(LOG_WARN, "virtio-mmio",
				 "%s: notification for queue %u of %u: ignored", d->name, v,
				 d->num_queues);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		atomic_fetch_and(&m->isr, ~v);
		break;
	case VIRTIO_MMIO_STATUS:
		/*
		 * 4.2.2: Status is a 32-bit register; only its low 8 bits (the
		 * device status byte) are defined, and writing 0 resets.  A
		 * write with a bit above 7 set is not a 0 write, and not a
		 * status either: taking its low byte made 0x100 reset the core
		 * but not the transport (ISR and the selects survived).  It is
		 * refused, status unchanged, and the device asks the driver to
		 * reset it (NEEDS_RESET), as for any write it cannot apply.
		 */
		if (v > 0xff) {
			log_once(LOG_WARN, "virtio-mmio", "%s: Status 0x%x has bits above 7",
				 d->name, v);
			virtio_set_needs_reset(d);
			break;
		}
		virtio_set_status(d, (uint8_t)v);
		if (!v)
			transport_reset(m);
		break;
	case VIRTIO_MMIO_SHM_SEL:
		break; /* no regions: every selection reads length ~0 */
	default:       /* QueueNum, QueueReady, the ring addresses */
		queue_write(m, off, v);
		break;
	}
}

static void config_io(struct virtio_mmio *m, uint64_t off, uint8_t *data, uint32_t size,
		      bool is_write)
{
	struct virtio_dev *d = m->vdev;
	const struct virtio_dev_ops *ops = d->ops;

	if (off + size > ops->config_size || (size != 1 && size != 2 && size != 4 && size != 8) ||
	    off % size) {
		log_once(LOG_WARN, "virtio-mmio", "%s: %u-byte %s at config offset 0x%llx: ignored",
			 d->name, size, is_write ? "write" : "read", (unsigned long long)off);
		if (!is_write)
			memset(data, 0, size);
		return;
	}
	pthread_mutex_lock(&d->lock);
	if (!is_write)
		ops->config_read(d, (uint32_t)off, data, size);
	else if (ops->config_write)
		ops->config_write(d, (uint32_t)off, data, size);
	pthread_mutex_unlock(&d->lock);
}

void virtio_mmio_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct virtio_mmio *m = opaque;
	struct virtio_dev *d = m->vdev;
	enum reg_access kind;

	if (off >= VIRTIO_MMIO_CONFIG_OFF) {
		config_io(m, off - VIRTIO_MMIO_CONFIG_OFF, data, size, is_write);
		return;
	}
	kind = reg_kind(off);
	if (size != 4 || off % 4 || !(kind & (is_write ? REG_W : REG_R))) {
		log_once(LOG_WARN, "virtio-mmio", "%s: %u-byte %s of register 0x%03llx: ignored",
			 d->name, size, is_write ? "write" : "read", (unsigned long long)off);
		if (!is_write)
			memset(data, 0, size);
		return;
	}
	pthread_mutex_lock(&d->lock);
	if (is_write)
		reg_write(m, off, (uint32_t)io_get(data, 4));
	else
		io_put(data, 4, reg_read(m, off));
	pthread_mutex_unlock(&d->lock);
}

/* ------------------------------------------------------------------ */
/* Construction                                                        */
/* ------------------------------------------------------------------ */

static void kicks_unregister(struct virtio_mmio *m, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		vm_ioeventfd(m->vm, false, m->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4,
			     m->vdev->vqs[i].kick_fd, true, i, false);
}

static void close_fds(struct virtio_mmio *m)
{
	struct virtio_dev *d = m->vdev;

	for (unsigned int i = 0; i < d->num_queues; i++) {
		if (d->vqs[i].kick_fd >= 0)
			close(d->vqs[i].kick_fd);
		d->vqs[i].kick_fd = -1;
	}
	if (m->irq_fd >= 0)
		close(m->irq_fd);
	m->irq_fd = -1;
}

struct virtio_mmio *virtio_mmio_create(struct vm *vm, struct virtio_dev *d, uint64_t base,
				       uint32_t gsi)
{
	struct virtio_mmio *m;
	unsigned int i;

	if (d->ops->config_size > VIRTIO_MMIO_CONFIG_MAX || !d->num_queues) {
		log_err("virtio-mmio", "%s: unsupported layout", d->name);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->vm = vm;
	m->vdev = d;
	m->base = base;
	m->gsi = gsi;
	atomic_init(&m->isr, 0);
	for (i = 0; i < d->num_queues; i++)
		d->vqs[i].kick_fd = -1;
	m->irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (m->irq_fd < 0)
		goto fail;
	for (i = 0; i < d->num_queues; i++) {
		d->vqs[i].kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (d->vqs[i].kick_fd < 0)
			goto fail;
	}
	d->t = &mmio_transport_ops;
	d->t_priv = m;
	transport_reset(m);
	for (i = 0; i < d->num_queues; i++)
		if (vm_ioeventfd(vm, false, base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, d->vqs[i].kick_fd,
				 true, i, true))
			break;
	if (i == d->num_queues) {
		m->kicks_ok = true;
	} else {
		log_once(LOG_WARN, "virtio-mmio",
			 "%s: no ioeventfd for queue notifications: every kick exits", d->name);
		kicks_unregister(m, i);
	}
	if (io_bus_register(&vm->mmio, base, VIRTIO_MMIO_WINDOW, virtio_mmio_io, m, d->name)) {
		log_err("virtio-mmio", "%s: cannot register [0x%llx, +0x%x)", d->name,
			(unsigned long long)base, VIRTIO_MMIO_WINDOW);
		goto fail;
	}
	m->registered = true;
	log_info("virtio-mmio", "%s: at 0x%llx, GSI %u, %u queues", d->name,
		 (unsigned long long)base, gsi, d->num_queues);
	return m;
fail:
	log_err("virtio-mmio", "%s: setup failed: %s", d->name, strerror(errno));
	virtio_mmio_destroy(m);
	return NULL;
}

int virtio_mmio_connect_irq(struct virtio_mmio *m)
{
	if (m->irqfd_ok)
		return 0;
	if (vm_irqfd(m->vm, m->irq_fd, m->gsi, -1, true))
		return -1;
	m->irqfd_ok = true;
	return 0;
}

void virtio_mmio_destroy(struct virtio_mmio *m)
{
	if (!m)
		return;
	if (m->registered)
		io_bus_unregister(&m->vm->mmio, m->base);
	if (m->kicks_ok)
		kicks_unregister(m, m->vdev->num_queues);
	if (m->irqfd_ok)
		vm_irqfd(m->vm, m->irq_fd, m->gsi, -1, false);
	close_fds(m);
	m->vdev->t = NULL;
	m->vdev->t_priv = NULL;
	free(m);
}
