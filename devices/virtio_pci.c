// SPDX-License-Identifier: MIT
/*
 * virtio_pci.c - the virtio 1.2 PCI modern transport (section 4.1).
 *
 * BAR 0 (64-bit memory):
 *   0x0000  common configuration (struct virtio_pci_common_cfg)
 *   0x1000  ISR status (read-to-clear)
 *   0x2000  device-specific configuration (the device model's ops)
 *   0x3000  notifications: queue i at 0x3000 + 4 * i, one KVM ioeventfd each
 *   then    MSI-X table and PBA (devices/msix.c), 4 KiB aligned
 *
 * The register file is protected by the virtio device's lock (vCPU threads
 * race on it).  The guest is hostile: every access of the wrong width or at
 * an offset that is no field is ignored (reads see 0) and logged once; queue
 * configuration is accepted only between FEATURES_OK and DRIVER_OK and only
 * while the selected queue is disabled.  Interrupts are raised lock-free from
 * device threads: an MSI-X vector's eventfd, or ISR + INTx.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "devices/virtio_pci.h"

struct virtio_pci {
	struct pci_dev pci;
	struct virtio_dev *vdev;
	struct vm *vm;
	bool use_msix;
	unsigned int nvec; /* MSI-X vectors: num_queues + 1, or 0 */
	struct msix *msix;
	uint32_t notify_len, table_off, table_len, pba_off, pba_len;
	uint64_t bar_size;
	uint8_t cfg_cap; /* config-space offset of the PCI_CFG capability */

	/* Register file: under vdev->lock. */
	uint32_t dfselect, gfselect;
	_Atomic uint16_t msix_config; /* also read lock-free by notify_config */
	uint16_t queue_select;

	atomic_uint isr; /* ISR_QUEUE | ISR_CONFIG */
	struct loop_handler *resample;

	/* Notification ioeventfds: where they are registered (0 = nowhere). */
	pthread_mutex_t io_lock;
	uint64_t io_addr;
	bool io_ok;
};

#define QUEUE_MSIX_NONE VIRTIO_MSI_NO_VECTOR
#define ISR_QUEUE	0x1u /* used-buffer notification */
#define ISR_CONFIG	0x2u /* configuration change */

static void signal_fd(int fd)
{
	uint64_t one = 1;
	ssize_t n;

	if (fd < 0)
		return;
	do {
		n = write(fd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
	/* EAGAIN: the counter is saturated, an interrupt is pending anyway. */
}

/* ------------------------------------------------------------------ */
/* Interrupts (device threads; lock-free)                              */
/* ------------------------------------------------------------------ */

static bool msix_on(struct virtio_pci *vp)
{
	return vp->msix && msix_enabled(vp->msix);
}

static void raise_intx(struct virtio_pci *vp, unsigned int bit)
{
	atomic_fetch_or(&vp->isr, bit);
	pci_dev_intx_assert(&vp->pci);
}

static void vp_notify_queue(struct virtio_dev *d, struct virtq *q)
{
	struct virtio_pci *vp = d->t_priv;

	if (msix_on(vp)) {
		uint16_t vec = q->msix_vector;

		if (vec != QUEUE_MSIX_NONE)
			signal_fd(msix_vector_fd(vp->msix, vec));
		return;
	}
	raise_intx(vp, ISR_QUEUE);
}

static void vp_notify_config(struct virtio_dev *d)
{
	struct virtio_pci *vp = d->t_priv;

	if (msix_on(vp)) {
		uint16_t vec = atomic_load(&vp->msix_config);

		if (vec != QUEUE_MSIX_NONE)
			signal_fd(msix_vector_fd(vp->msix, vec));
		return;
	}
	raise_intx(vp, ISR_CONFIG);
}

static bool vp_has_msix(struct virtio_dev *d)
{
	struct virtio_pci *vp = d->t_priv;

	return vp->use_msix;
}

static void vp_detach(struct virtio_dev *d)
{
	virtio_pci_destroy(d->t_priv);
}

static const struct virtio_transport_ops vp_transport_ops = {
	.notify_queue = vp_notify_queue,
	.notify_config = vp_notify_config,
	.has_msix = vp_has_msix,
	.detach = vp_detach,
};

/* Main loop: the guest EOI'd our INTx; raise it again if the ISR is still set. */
static void vp_resample(void *opaque)
{
	struct virtio_pci *vp = opaque;
	uint64_t v;

	if (read(vp->pci.intx_resample_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	if (atomic_load(&vp->isr))
		pci_dev_intx_assert(&vp->pci);
}

/* ------------------------------------------------------------------ */
/* Notification ioeventfds                                             */
/* ------------------------------------------------------------------ */

/* Caller holds io_lock. */
static void kicks_unregister(struct virtio_pci *vp)
{
	struct virtio_dev *d = vp->vdev;

	if (!vp->io_addr)
		return;
	for (unsigned int i = 0; i < d->num_queues; i++)
		vm_ioeventfd(vp->vm, false, vp->io_addr + VIRTIO_PCI_NOTIFY_OFF + 4 * i, 2,
			     d->vqs[i].kick_fd, false, 0, false);
	vp->io_addr = 0;
}

/* Caller holds io_lock.  On failure the MMIO exit path still delivers kicks. */
static void kicks_register(struct virtio_pci *vp, uint64_t bar_addr)
{
	struct virtio_dev *d = vp->vdev;
	unsigned int i;

	for (i = 0; i < d->num_queues; i++)
		if (vm_ioeventfd(vp->vm, false, bar_addr + VIRTIO_PCI_NOTIFY_OFF + 4 * i, 2,
				 d->vqs[i].kick_fd, false, 0, true))
			break;
	if (i == d->num_queues) {
		vp->io_addr = bar_addr;
		return;
	}
	log_once(LOG_WARN, "virtio-pci",
		 "%s: no ioeventfd for queue notifications: every kick exits", d->name);
	while (i--)
		vm_ioeventfd(vp->vm, false, bar_addr + VIRTIO_PCI_NOTIFY_OFF + 4 * i, 2,
			     d->vqs[i].kick_fd, false, 0, false);
}

static void vp_bar_moved(struct pci_dev *pd, int bar, uint64_t old_addr, uint64_t new_addr)
{
	struct virtio_pci *vp = pd->priv;

	if (bar != VIRTIO_PCI_BAR)
		return;
	pthread_mutex_lock(&vp->io_lock);
	kicks_unregister(vp);
	if (new_addr)
		kicks_register(vp, new_addr);
	pthread_mutex_unlock(&vp->io_lock);
}

/* ------------------------------------------------------------------ */
/* Common configuration                                                */
/* ------------------------------------------------------------------ */

/* Width of the field that starts at 'off', 0 if no field starts there. */
static uint32_t common_field_width(uint64_t off)
{
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
	case VIRTIO_PCI_COMMON_DF:
	case VIRTIO_PCI_COMMON_GFSELECT:
	case VIRTIO_PCI_COMMON_GF:
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
	case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		return 4;
	case VIRTIO_PCI_COMMON_MSIX:
	case VIRTIO_PCI_COMMON_NUMQ:
	case VIRTIO_PCI_COMMON_Q_SELECT:
	case VIRTIO_PCI_COMMON_Q_SIZE:
	case VIRTIO_PCI_COMMON_Q_MSIX:
	case VIRTIO_PCI_COMMON_Q_ENABLE:
	case VIRTIO_PCI_COMMON_Q_NOFF:
		return 2;
	case VIRTIO_PCI_COMMON_STATUS:
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return 1;
	default:
		return 0;
	}
}

static struct virtq *selected_queue(struct virtio_pci *vp)
{
	struct virtio_dev *d = vp->vdev;

	return vp->queue_select < d->num_queues ? &d->vqs[vp->queue_select] : NULL;
}

static uint16_t valid_vector(struct virtio_pci *vp, uint16_t vec)
{
	if (!vp->msix || vec >= vp->nvec)
		return QUEUE_MSIX_NONE; /* "could not map": the driver reads this back */
	return vec;
}

/* Caller holds d->lock. */
static uint64_t common_read(struct virtio_pci *vp, uint64_t off)
{
	struct virtio_dev *d = vp->vdev;
	struct virtq *q = selected_queue(vp);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		return vp->dfselect;
	case VIRTIO_PCI_COMMON_DF:
		return vp->dfselect < 2 ? (uint32_t)(d->device_features >> (32 * vp->dfselect)) : 0;
	case VIRTIO_PCI_COMMON_GFSELECT:
		return vp->gfselect;
	case VIRTIO_PCI_COMMON_GF:
		return vp->gfselect < 2 ? (uint32_t)(d->driver_features >> (32 * vp->gfselect)) : 0;
	case VIRTIO_PCI_COMMON_MSIX:
		return atomic_load(&vp->msix_config);
	case VIRTIO_PCI_COMMON_NUMQ:
		return d->num_queues;
	case VIRTIO_PCI_COMMON_STATUS:
		return __atomic_load_n(&d->status, __ATOMIC_ACQUIRE);
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return (uint8_t)atomic_load(&d->config_generation);
	case VIRTIO_PCI_COMMON_Q_SELECT:
		return vp->queue_select;
	}
	if (!q)
		return 0; /* out-of-range queue_select: queue_size 0 = "not available" */
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		return q->size;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		return q->msix_vector;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		return q->enabled;
	case VIRTIO_PCI_COMMON_Q_NOFF:
		return vp->queue_select;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
		return (uint32_t)q->desc_gpa;
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		return (uint32_t)(q->desc_gpa >> 32);
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
		return (uint32_t)q->avail_gpa;
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		return (uint32_t)(q->avail_gpa >> 32);
	case VIRTIO_PCI_COMMON_Q_USEDLO:
		return (uint32_t)q->used_gpa;
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		return (uint32_t)(q->used_gpa >> 32);
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

/* The transport's share of a device reset (the core reset the device and queues). */
static void transport_reset(struct virtio_pci *vp)
{
	struct virtio_dev *d = vp->vdev;

	vp->dfselect = vp->gfselect = 0;
	vp->queue_select = 0;
	atomic_store(&vp->msix_config, QUEUE_MSIX_NONE);
	for (unsigned int i = 0; i < d->num_queues; i++) {
		struct virtq *q = &d->vqs[i];

		q->msix_vector = QUEUE_MSIX_NONE;
		q->call_fd = -1;
		q->size = q->max_size; /* queue_size reads the maximum after reset */
		q->desc_gpa = q->avail_gpa = q->used_gpa = 0;
	}
	if (atomic_exchange(&vp->isr, 0))
		pci_dev_intx_deassert(&vp->pci);
}

/* Queue registers: only in the configuration window, only for a disabled queue. Holds d->lock. */
static void queue_write(struct virtio_pci *vp, uint64_t off, uint32_t v)
{
	struct virtio_dev *d = vp->vdev;
	struct virtq *q = selected_queue(vp);

	if (!q) {
		log_once(LOG_WARN, "virtio-pci",
			 "%s: queue register write with queue_select %u out of range (ignored)",
			 d->name, vp->queue_select);
		return;
	}
	if (!virtio_queue_config_allowed(d)) {
		log_once(
			LOG_WARN, "virtio-pci",
			"%s: queue configuration written outside FEATURES_OK..DRIVER_OK (status 0x%02x): ignored",
			d->name, d->status);
		return;
	}
	if (q->enabled) {
		log_once(LOG_WARN, "virtio-pci",
			 "%s: configuration of enabled queue %u written: ignored", d->name,
			 vp->queue_select);
		return;
	}
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		q->size = (uint16_t)v; /* checked by virtq_enable */
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		q->msix_vector = valid_vector(vp, (uint16_t)v);
		q->call_fd = q->msix_vector != QUEUE_MSIX_NONE
				     ? msix_vector_fd(vp->msix, q->msix_vector)
				     : -1;
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		virtio_queue_enable(d, q, v);
		break;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
		set_lo(&q->desc_gpa, v);
		break;
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		set_hi(&q->desc_gpa, v);
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
		set_lo(&q->avail_gpa, v);
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		set_hi(&q->avail_gpa, v);
		break;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
		set_lo(&q->used_gpa, v);
		break;
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		set_hi(&q->used_gpa, v);
		break;
	}
}

/* Caller holds d->lock. */
static void common_write(struct virtio_pci *vp, uint64_t off, uint32_t v)
{
	struct virtio_dev *d = vp->vdev;

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		vp->dfselect = v;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT:
		vp->gfselect = v;
		break;
	case VIRTIO_PCI_COMMON_GF:
		virtio_set_driver_features(d, vp->gfselect, v);
		break;
	case VIRTIO_PCI_COMMON_MSIX:
		atomic_store(&vp->msix_config, valid_vector(vp, (uint16_t)v));
		break;
	case VIRTIO_PCI_COMMON_STATUS:
		virtio_set_status(d, (uint8_t)v);
		if (!v)
			transport_reset(vp);
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		vp->queue_select = (uint16_t)v; /* out of range: reads 0, writes ignored */
		break;
	case VIRTIO_PCI_COMMON_Q_SIZE:
	case VIRTIO_PCI_COMMON_Q_MSIX:
	case VIRTIO_PCI_COMMON_Q_ENABLE:
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
	case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		queue_write(vp, off, v);
		break;
	default: /* device_feature, num_queues, config_generation, queue_notify_off */
		log_once(LOG_WARN, "virtio-pci",
			 "%s: write to read-only common config field 0x%x: ignored", d->name,
			 (unsigned int)off);
		break;
	}
}

static void common_io(struct virtio_pci *vp, uint64_t off, uint8_t *data, uint32_t size,
		      bool is_write)
{
	struct virtio_dev *d = vp->vdev;

	if (common_field_width(off) != size) {
		log_once(LOG_WARN, "virtio-pci",
			 "%s: %u-byte %s at common config offset 0x%llx: ignored", d->name, size,
			 is_write ? "write" : "read", (unsigned long long)off);
		if (!is_write)
			memset(data, 0, size);
		return;
	}
	pthread_mutex_lock(&d->lock);
	if (is_write)
		common_write(vp, off, (uint32_t)io_get(data, size));
	else
		io_put(data, size, common_read(vp, off));
	pthread_mutex_unlock(&d->lock);
}

/* ------------------------------------------------------------------ */
/* BAR 0                                                               */
/* ------------------------------------------------------------------ */

static void isr_io(struct virtio_pci *vp, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	if (is_write) {
		log_once(LOG_WARN, "virtio-pci", "%s: write to the ISR: ignored", vp->vdev->name);
		return;
	}
	memset(data, 0, size);
	if (off != 0)
		return;
	/* Read-to-clear; the line drops at the guest's EOI (see pci.h). */
	unsigned int v = atomic_exchange(&vp->isr, 0);

	if (v)
		pci_dev_intx_deassert(&vp->pci);
	data[0] = (uint8_t)v;
}

static void devcfg_io(struct virtio_pci *vp, uint64_t off, uint8_t *data, uint32_t size,
		      bool is_write)
{
	struct virtio_dev *d = vp->vdev;
	const struct virtio_dev_ops *ops = d->ops;

	if (off + size > ops->config_size || (size != 1 && size != 2 && size != 4 && size != 8)) {
		log_once(LOG_WARN, "virtio-pci",
			 "%s: %u-byte %s at device config offset 0x%llx: ignored", d->name, size,
			 is_write ? "write" : "read", (unsigned long long)off);
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

/* Only reached when the ioeventfd is missing or the width is not 2: deliver the kick anyway. */
static void notify_io(struct virtio_pci *vp, uint64_t off, uint8_t *data, uint32_t size,
		      bool is_write)
{
	struct virtio_dev *d = vp->vdev;
	uint64_t qi = off / VIRTIO_PCI_NOTIFY_MULT;

	if (!is_write) {
		memset(data, 0, size);
		return;
	}
	if (qi >= d->num_queues) {
		log_once(LOG_WARN, "virtio-pci", "%s: notification for queue %llu of %u: ignored",
			 d->name, (unsigned long long)qi, d->num_queues);
		return;
	}
	signal_fd(d->vqs[qi].kick_fd);
}

void virtio_pci_bar_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct virtio_pci *vp = opaque;

	if (off < VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_LEN) /* COMMON_OFF is 0 */
		common_io(vp, off - VIRTIO_PCI_COMMON_OFF, data, size, is_write);
	else if (off >= VIRTIO_PCI_ISR_OFF && off < VIRTIO_PCI_ISR_OFF + VIRTIO_PCI_ISR_LEN)
		isr_io(vp, off - VIRTIO_PCI_ISR_OFF, data, size, is_write);
	else if (off >= VIRTIO_PCI_DEVCFG_OFF &&
		 off < VIRTIO_PCI_DEVCFG_OFF + VIRTIO_PCI_DEVCFG_MAX)
		devcfg_io(vp, off - VIRTIO_PCI_DEVCFG_OFF, data, size, is_write);
	else if (off >= VIRTIO_PCI_NOTIFY_OFF && off < VIRTIO_PCI_NOTIFY_OFF + vp->notify_len)
		notify_io(vp, off - VIRTIO_PCI_NOTIFY_OFF, data, size, is_write);
	else if (vp->msix && off >= vp->table_off && off < vp->table_off + vp->table_len)
		msix_table_io(vp->msix, off - vp->table_off, data, size, is_write);
	else if (vp->msix && off >= vp->pba_off && off < vp->pba_off + vp->pba_len)
		msix_pba_io(vp->msix, off - vp->pba_off, data, size, is_write);
	else if (!is_write)
		memset(data, 0, size);
}

/* ------------------------------------------------------------------ */
/* VIRTIO_PCI_CAP_PCI_CFG: BAR access through configuration space       */
/* ------------------------------------------------------------------ */

bool virtio_pci_cfg_window(struct virtio_pci *vp, uint32_t off, uint8_t *data, uint32_t size,
			   bool is_write)
{
	uint32_t base = vp->cfg_cap + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data);
	uint8_t cap[sizeof(struct virtio_pci_cfg_cap)];
	uint32_t bar_off, len;

	if (!vp->cfg_cap || off < base || off >= base + 4)
		return false;
	/* bar, offset, length: a snapshot, as another vCPU may be rewriting them. */
	pthread_mutex_lock(&vp->pci.lock);
	memcpy(cap, &vp->pci.cfg[vp->cfg_cap], sizeof(cap));
	pthread_mutex_unlock(&vp->pci.lock);
	bar_off = cap[8] | cap[9] << 8 | cap[10] << 16 | (uint32_t)cap[11] << 24;
	len = cap[12] | cap[13] << 8 | cap[14] << 16 | (uint32_t)cap[15] << 24;
	if (!is_write)
		memset(data, 0, size);
	/*
	 * virtio 1.2 4.1.4.9: cap.bar selects the BAR, cap.offset (aligned to
	 * cap.length) the place in it, cap.length (1, 2 or 4) the width, and an
	 * access to pci_cfg_data is done there.  Anything else (another BAR, a
	 * bad length, an unaligned offset, a range past the BAR, an access not
	 * starting at pci_cfg_data or narrower than cap.length) is ignored:
	 * reads 0, never reaches the BAR.
	 */
	if (off != base || size < len || cap[4] != VIRTIO_PCI_BAR ||
	    (len != 1 && len != 2 && len != 4) || bar_off % len || bar_off >= vp->bar_size ||
	    len > vp->bar_size - bar_off) {
		log_once(LOG_DEBUG, "virtio-pci", "%s: PCI_CFG window access ignored (bar %u, "
			 "offset %#x, length %u)", vp->vdev->name, cap[4], bar_off, len);
		return true;
	}
	virtio_pci_bar_io(vp, bar_off, data, len, is_write);
	return true;
}

static bool vp_cfg_hook(struct pci_dev *pd, uint32_t reg, uint8_t *data, uint32_t size,
			bool is_write)
{
	return virtio_pci_cfg_window(pd->priv, reg, data, size, is_write);
}

/* ------------------------------------------------------------------ */
/* Construction                                                        */
/* ------------------------------------------------------------------ */

static uint32_t class_of(uint32_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_NET:
		return 0x020000; /* network controller, ethernet */
	case VIRTIO_ID_BLOCK:
		return 0x018000; /* mass storage, other */
	case VIRTIO_ID_CONSOLE:
		return 0x078000; /* communication, other */
	default:
		return 0xff0000; /* unassigned class */
	}
}

static int add_vcap(struct pci_dev *pd, uint8_t type, uint32_t off, uint32_t len)
{
	struct virtio_pci_cap c = {
		.cap_vndr = PCI_CAP_ID_VNDR,
		.cap_len = sizeof(c),
		.cfg_type = type,
		.bar = VIRTIO_PCI_BAR,
		.offset = off,
		.length = len,
	};

	return pci_dev_add_cap(pd, &c, sizeof(c));
}

static uint64_t pow2_roundup(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

struct virtio_pci *virtio_pci_create(struct vm *vm, struct virtio_dev *d, bool use_msix)
{
	struct virtio_pci *vp = calloc(1, sizeof(*vp));
	struct pci_dev *pd;
	uint32_t end;
	int r;

	if (!vp)
		return NULL;
	if (d->ops->config_size > VIRTIO_PCI_DEVCFG_MAX || !d->num_queues ||
	    d->num_queues > 0x7fff) {
		log_err("virtio-pci", "%s: unsupported layout", d->name);
		free(vp);
		return NULL;
	}
	vp->vm = vm;
	vp->vdev = d;
	vp->use_msix = use_msix;
	vp->nvec = use_msix ? d->num_queues + 1 : 0;
	pthread_mutex_init(&vp->io_lock, NULL);
	atomic_init(&vp->isr, 0);
	vp->notify_len = (uint32_t)ALIGN_UP(d->num_queues * VIRTIO_PCI_NOTIFY_MULT, 4096);
	end = VIRTIO_PCI_NOTIFY_OFF + vp->notify_len;
	if (use_msix) {
		vp->table_off = end;
		vp->table_len = (uint32_t)ALIGN_UP(vp->nvec * 16, 4096);
		vp->pba_off = vp->table_off + vp->table_len;
		vp->pba_len = (uint32_t)ALIGN_UP(ALIGN_UP(vp->nvec, 64) / 8, 4096);
		end = vp->pba_off + vp->pba_len;
	}
	vp->bar_size = pow2_roundup(end);

	d->t = &vp_transport_ops;
	d->t_priv = vp;
	for (unsigned int i = 0; i < d->num_queues; i++)
		d->vqs[i].kick_fd = -1;
	for (unsigned int i = 0; i < d->num_queues; i++) {
		struct virtq *q = &d->vqs[i];

		q->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		q->call_fd = -1;
		if (q->kick_fd < 0) {
			log_err("virtio-pci", "%s: eventfd: %s", d->name, strerror(errno));
			goto fail;
		}
	}
	transport_reset(vp);

	pd = &vp->pci;
	pci_dev_init(pd, vm, d->name, VIRTIO_PCI_VENDOR,
		     (uint16_t)(VIRTIO_PCI_DEVICE_BASE + d->device_id), class_of(d->device_id),
		     VIRTIO_PCI_VENDOR, VIRTIO_PCI_SUBSYS_ID);
	pd->cfg[PCI_REVISION_ID] = 1; /* non-transitional: revision >= 1 */
	pd->priv = vp;
	pd->bar_moved = vp_bar_moved;
	pd->cfg_hook = vp_cfg_hook;
	if (pci_dev_add_bar(pd, VIRTIO_PCI_BAR, vp->bar_size, true, virtio_pci_bar_io, vp))
		goto fail;
	if (use_msix) {
		vp->msix = msix_init(pd, vp->nvec, VIRTIO_PCI_BAR, vp->table_off, vp->pba_off);
		if (!vp->msix)
			goto fail;
	}
	if (add_vcap(pd, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_LEN) <
		    0 ||
	    add_vcap(pd, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, VIRTIO_PCI_ISR_LEN) < 0 ||
	    (d->ops->config_size && add_vcap(pd, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVCFG_OFF,
					     d->ops->config_size) < 0))
		goto fail;
	struct virtio_pci_notify_cap nc = {
		.cap = {.cap_vndr = PCI_CAP_ID_VNDR,
			.cap_len = sizeof(nc),
			.cfg_type = VIRTIO_PCI_CAP_NOTIFY_CFG,
			.bar = VIRTIO_PCI_BAR,
			.offset = VIRTIO_PCI_NOTIFY_OFF,
			.length = d->num_queues * VIRTIO_PCI_NOTIFY_MULT},
		.notify_off_multiplier = VIRTIO_PCI_NOTIFY_MULT,
	};
	if (pci_dev_add_cap(pd, &nc, sizeof(nc)) < 0)
		goto fail;
	struct virtio_pci_cfg_cap cc = {
		.cap = {.cap_vndr = PCI_CAP_ID_VNDR,
			.cap_len = sizeof(cc),
			.cfg_type = VIRTIO_PCI_CAP_PCI_CFG},
	};
	r = pci_dev_add_cap(pd, &cc, sizeof(cc));
	if (r < 0)
		goto fail;
	vp->cfg_cap = (uint8_t)r;
	/* Writable: bar, offset, length, pci_cfg_data. */
	pd->wmask[r + 4] = 0xff;
	memset(&pd->wmask[r + 8], 0xff, 12);

	if (pci_dev_enable_intx(pd))
		goto fail;
	if (pci_register(vm, pd))
		goto fail;
	if (pd->intx_resample_fd >= 0) {
		vp->resample = vm_loop_add(vm, pd->intx_resample_fd, vp_resample, vp);
		if (!vp->resample)
			log_warn("virtio-pci", "%s: cannot watch the INTx resample eventfd",
				 d->name);
	}
	log_info("virtio-pci", "%s: 00:%02x.0, %u queues, %s", d->name, pd->slot, d->num_queues,
		 use_msix ? "MSI-X" : "INTx only");
	return vp;
fail:
	log_err("virtio-pci", "%s: cannot create the PCI function", d->name);
	for (unsigned int i = 0; i < d->num_queues; i++) {
		if (d->vqs[i].kick_fd >= 0)
			close(d->vqs[i].kick_fd);
		d->vqs[i].kick_fd = -1;
	}
	msix_destroy(vp->msix);
	d->t = NULL;
	d->t_priv = NULL;
	pthread_mutex_destroy(&vp->io_lock);
	free(vp);
	return NULL;
}

struct pci_dev *virtio_pci_pci_dev(struct virtio_pci *vp)
{
	return &vp->pci;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	struct virtio_dev *d;

	if (!vp)
		return;
	d = vp->vdev;
	pthread_mutex_lock(&vp->io_lock);
	kicks_unregister(vp);
	pthread_mutex_unlock(&vp->io_lock);
	/* Loop handles belong to the VM's table: delete, never free. */
	vm_loop_del(vp->vm, vp->resample);
	vp->resample = NULL;
	for (unsigned int i = 0; i < d->num_queues; i++) {
		if (d->vqs[i].kick_fd >= 0)
			close(d->vqs[i].kick_fd);
		d->vqs[i].kick_fd = -1;
		d->vqs[i].call_fd = -1; /* an MSI-X vector's eventfd, closed below */
	}
	msix_destroy(vp->msix);
	vp->msix = NULL;
	pthread_mutex_destroy(&vp->io_lock);
	free(vp);
}
