// SPDX-License-Identifier: MIT
/*
 * msix.c - MSI-X: the capability, the vector table and the pending bit
 * array, with each vector delivered through a KVM irqfd.
 *
 * Every vector has one eventfd for its whole life (msix_vector_fd): the
 * device writes it to raise the vector.  A vector is "live" while MSI-X is
 * enabled, the function is not masked and the vector is not masked.  Then
 * the eventfd is an irqfd on the vector's own GSI, whose MSI route carries
 * the entry's address and data: an interrupt costs no exit and no ioctl.
 * While not live the irqfd is unbound and the main loop watches the eventfd
 * instead: a write there sets the vector's PBA bit (or is dropped while
 * MSI-X is disabled).  Going live programs the route (only then: masked
 * entries may hold anything), rebinds the irqfd and delivers what is
 * pending, exactly once.
 *
 * Guest table writes arrive on vCPU threads, config writes (enable,
 * function mask) through pci.c, eventfd events on the main thread: all
 * under m->lock.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <linux/pci_regs.h>

#include "devices/pci.h"

#define MSIX_MAX_VECTORS 2048
#define MSIX_CAP_LEN	 12

struct msix_vec {
	struct msix *m;
	uint32_t addr_lo, addr_hi, data, ctrl; /* the table entry */
	int fd;
	uint32_t gsi; /* VM_GSI_NONE: no irqfd, the main loop injects */
	bool live;    /* enabled && !function-masked && !masked */
	bool bound;   /* irqfd assigned */
	bool routed;  /* route programmed with r_addr/r_data */
	uint64_t r_addr;
	uint32_t r_data;
	struct loop_handler *watch; /* while not live (or without a GSI) */
};

struct msix {
	struct pci_dev *d;
	struct vm *vm;
	pthread_mutex_t lock;
	unsigned int nvec;
	int bar;
	uint32_t table_off, pba_off;
	int cap;
	atomic_bool enabled;
	bool fmask;
	uint64_t *pba;
	struct msix_vec *v;
};

static uint64_t vec_addr(const struct msix_vec *v)
{
	return (uint64_t)v->addr_hi << 32 | v->addr_lo;
}

static bool pba_test(const struct msix *m, unsigned int i)
{
	return m->pba[i / 64] >> (i % 64) & 1;
}

static void pba_set(struct msix *m, unsigned int i, bool on)
{
	if (on)
		m->pba[i / 64] |= 1ULL << (i % 64);
	else
		m->pba[i / 64] &= ~(1ULL << (i % 64));
}

/* Read and clear the eventfd: did the device raise the vector since last time? */
static bool vec_drain(struct msix_vec *v)
{
	uint64_t n = 0;

	return read(v->fd, &n, sizeof(n)) == sizeof(n) && n;
}

static void vec_inject(struct msix *m, struct msix_vec *v)
{
	uint64_t one = 1;

	if (vm_signal_msi(m->vm, vec_addr(v), v->data) == 0)
		return;
	/* No KVM_SIGNAL_MSI: the bound irqfd takes the same route. */
	if (!v->bound || write(v->fd, &one, sizeof(one)) != sizeof(one))
		log_once(LOG_WARN, "msix", "%s: cannot inject an MSI", m->d->name);
}

/* Caller holds m->lock: program the route if the entry changed since. */
static int vec_route(struct msix *m, struct msix_vec *v)
{
	uint64_t addr = vec_addr(v);

	if (v->gsi == VM_GSI_NONE)
		return -1;
	if (v->routed && v->r_addr == addr && v->r_data == v->data)
		return 0;
	if (vm_msi_route_set(m->vm, v->gsi, addr, v->data)) {
		log_once(LOG_WARN, "msix", "%s: cannot set an MSI route", m->d->name);
		v->routed = false;
		return -1;
	}
	v->routed = true;
	v->r_addr = addr;
	v->r_data = v->data;
	return 0;
}

/* Main thread: the vector's eventfd was written while the main loop watched it. */
static void vec_event(void *opaque)
{
	struct msix_vec *v = opaque;
	struct msix *m = v->m;

	pthread_mutex_lock(&m->lock);
	if (vec_drain(v)) {
		if (!v->live) {
			/* Masked: pending.  MSI-X disabled: the device must not signal; drop. */
			if (atomic_load(&m->enabled))
				pba_set(m, (unsigned int)(v - m->v), true);
		} else if (!v->bound) {
			vec_inject(m, v); /* no irqfd for this vector */
		}
		/*
		 * Live and bound: a write raced with the irqfd's binding, which
		 * injected it already (KVM polls the eventfd when assigning).
		 */
	}
	pthread_mutex_unlock(&m->lock);
}

static void vec_watch(struct msix *m, struct msix_vec *v)
{
	if (v->watch)
		return;
	v->watch = vm_loop_add(m->vm, v->fd, vec_event, v);
	if (!v->watch)
		log_once(LOG_WARN, "msix", "%s: cannot watch a vector's eventfd", m->d->name);
}

static void vec_unwatch(struct msix *m, struct msix_vec *v)
{
	if (v->watch)
		vm_loop_del(m->vm, v->watch);
	v->watch = NULL;
}

/* Caller holds m->lock: bring the irqfd binding in line with the vector's state. */
static void vec_update(struct msix *m, struct msix_vec *v)
{
	unsigned int i = (unsigned int)(v - m->v);
	bool live =
		atomic_load(&m->enabled) && !m->fmask && !(v->ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
	bool pending;

	if (live == v->live) {
		/* Live entry rewritten (undefined by the spec, but keep up). */
		if (live && v->bound)
			vec_route(m, v);
		return;
	}
	v->live = live;
	if (!live) {
		if (v->bound && vm_irqfd(m->vm, v->fd, v->gsi, -1, false) == 0)
			v->bound = false;
		vec_watch(m, v);
		return;
	}
	pending = vec_drain(v) || pba_test(m, i);
	pba_set(m, i, false);
	if (vec_route(m, v) == 0 && vm_irqfd(m->vm, v->fd, v->gsi, -1, true) == 0) {
		v->bound = true;
		vec_unwatch(m, v);
	} else {
		vec_watch(m, v); /* slow path: the main loop injects */
	}
	if (pending)
		vec_inject(m, v);
}

struct msix *msix_init(struct pci_dev *d, unsigned int nvec, int bar, uint32_t table_off,
		       uint32_t pba_off)
{
	uint64_t bar_size = bar >= 0 && bar < PCI_NUM_BARS ? d->bars[bar].size : 0;
	uint64_t table_len = (uint64_t)nvec * PCI_MSIX_ENTRY_SIZE;
	uint64_t pba_len = ALIGN_UP(nvec, 64) / 8;
	uint8_t cap[MSIX_CAP_LEN] = {PCI_CAP_ID_MSIX};
	struct msix *m;
	int off;

	if (nvec == 0 || nvec > MSIX_MAX_VECTORS || !bar_size || table_off % 8 || pba_off % 8 ||
	    table_off > bar_size || table_len > bar_size - table_off || pba_off > bar_size ||
	    pba_len > bar_size - pba_off ||
	    (pba_off < table_off + table_len && table_off < pba_off + pba_len)) {
		log_err("msix", "%s: bad MSI-X layout (%u vectors, BAR %d)", d->name, nvec, bar);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->v = calloc(nvec, sizeof(*m->v));
	m->pba = calloc(pba_len / 8, sizeof(uint64_t));
	if (!m->v || !m->pba)
		goto fail;
	m->d = d;
	m->vm = d->vm;
	m->nvec = nvec;
	m->bar = bar;
	m->table_off = table_off;
	m->pba_off = pba_off;
	pthread_mutex_init(&m->lock, NULL);
	for (unsigned int i = 0; i < nvec; i++)
		m->v[i].fd = -1;
	for (unsigned int i = 0; i < nvec; i++) {
		struct msix_vec *v = &m->v[i];

		v->m = m;
		v->ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT;
		v->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (v->fd < 0) {
			log_err("msix", "%s: eventfd: %s", d->name, strerror(errno));
			goto fail;
		}
		v->gsi = vm_gsi_alloc(d->vm);
		if (v->gsi == VM_GSI_NONE)
			log_once(LOG_WARN, "msix",
				 "out of GSIs: some MSI-X vectors take the slow path");
		vec_watch(m, v);
	}

	cap[PCI_MSIX_FLAGS] = (uint8_t)(nvec - 1);
	cap[PCI_MSIX_FLAGS + 1] = (uint8_t)((nvec - 1) >> 8);
	for (int i = 0; i < 4; i++) {
		cap[PCI_MSIX_TABLE + i] = (uint8_t)((table_off | (uint32_t)bar) >> (8 * i));
		cap[PCI_MSIX_PBA + i] = (uint8_t)((pba_off | (uint32_t)bar) >> (8 * i));
	}
	off = pci_dev_add_cap(d, cap, sizeof(cap));
	if (off < 0)
		goto fail;
	m->cap = off;
	/* Enable and Function Mask are the only writable bits. */
	d->wmask[off + PCI_MSIX_FLAGS + 1] = (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8;
	d->msix = m;
	return m;
fail:
	for (unsigned int i = 0; m->v && i < nvec; i++) {
		vec_unwatch(m, &m->v[i]);
		if (m->v[i].fd >= 0)
			close(m->v[i].fd);
	}
	free(m->v);
	free(m->pba);
	free(m);
	return NULL;
}

int msix_vector_fd(struct msix *m, unsigned int vec)
{
	return m && vec < m->nvec ? m->v[vec].fd : -1;
}

unsigned int msix_num_vectors(const struct msix *m)
{
	return m ? m->nvec : 0;
}

bool msix_enabled(const struct msix *m)
{
	return m && atomic_load(&m->enabled);
}

void msix_cfg_written(struct msix *m)
{
	uint16_t ctrl;
	bool en, fm;

	pthread_mutex_lock(&m->d->lock);
	ctrl = (uint16_t)(m->d->cfg[m->cap + PCI_MSIX_FLAGS] |
			  m->d->cfg[m->cap + PCI_MSIX_FLAGS + 1] << 8);
	pthread_mutex_unlock(&m->d->lock);
	en = ctrl & PCI_MSIX_FLAGS_ENABLE;
	fm = ctrl & PCI_MSIX_FLAGS_MASKALL;

	pthread_mutex_lock(&m->lock);
	if (en != atomic_load(&m->enabled) || fm != m->fmask) {
		atomic_store(&m->enabled, en);
		m->fmask = fm;
		for (unsigned int i = 0; i < m->nvec; i++)
			vec_update(m, &m->v[i]);
	}
	pthread_mutex_unlock(&m->lock);
}

/* Caller holds m->lock: one aligned dword of the table. */
static void table_dword(struct msix *m, uint64_t off, uint32_t *val, bool is_write)
{
	struct msix_vec *v = &m->v[off / PCI_MSIX_ENTRY_SIZE];
	uint32_t *field;

	switch (off % PCI_MSIX_ENTRY_SIZE) {
	case PCI_MSIX_ENTRY_LOWER_ADDR:
		field = &v->addr_lo;
		break;
	case PCI_MSIX_ENTRY_UPPER_ADDR:
		field = &v->addr_hi;
		break;
	case PCI_MSIX_ENTRY_DATA:
		field = &v->data;
		break;
	default:
		field = &v->ctrl;
		break;
	}
	if (!is_write) {
		*val = *field;
		return;
	}
	if (field == &v->addr_lo)
		*val &= ~3u; /* dword-aligned message address */
	else if (field == &v->ctrl)
		*val &= PCI_MSIX_ENTRY_CTRL_MASKBIT;
	if (*field == *val)
		return;
	*field = *val;
	vec_update(m, v);
}

void msix_table_io(struct msix *m, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	if ((size != 4 && size != 8) || off % size) {
		log_once(LOG_WARN, "msix", "%s: ignored %u-byte table %s at %#llx", m->d->name,
			 size, is_write ? "write" : "read", (unsigned long long)off);
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	if (off >= (uint64_t)m->nvec * PCI_MSIX_ENTRY_SIZE) {
		log_once(LOG_WARN, "msix", "%s: table %s beyond the last entry", m->d->name,
			 is_write ? "write" : "read");
		if (!is_write)
			memset(data, 0, size);
		return;
	}
	pthread_mutex_lock(&m->lock);
	for (uint32_t i = 0; i < size; i += 4) {
		uint32_t val = (uint32_t)io_get(data + i, 4);

		table_dword(m, off + i, &val, is_write);
		if (!is_write)
			io_put(data + i, 4, val);
	}
	pthread_mutex_unlock(&m->lock);
}

void msix_pba_io(struct msix *m, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	uint64_t words = ALIGN_UP(m->nvec, 64) / 64;

	if (is_write) {
		log_once(LOG_WARN, "msix", "%s: ignored PBA write", m->d->name);
		return;
	}
	if ((size != 4 && size != 8) || off % size) {
		log_once(LOG_WARN, "msix", "%s: ignored %u-byte PBA read", m->d->name, size);
		memset(data, 0xff, size);
		return;
	}
	if (off / 8 >= words) {
		memset(data, 0, size);
		return;
	}
	pthread_mutex_lock(&m->lock);
	/* Fold in what masked vectors raised since the main loop last looked. */
	for (unsigned int i = (unsigned int)(off / 8) * 64; i < m->nvec && i < (off / 8 + 1) * 64;
	     i++) {
		struct msix_vec *v = &m->v[i];

		if (!v->live && atomic_load(&m->enabled) && vec_drain(v))
			pba_set(m, i, true);
	}
	io_put(data, size, m->pba[off / 8] >> (8 * (off % 8)));
	pthread_mutex_unlock(&m->lock);
}

void msix_destroy(struct msix *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	for (unsigned int i = 0; i < m->nvec; i++) {
		struct msix_vec *v = &m->v[i];

		if (v->bound)
			vm_irqfd(m->vm, v->fd, v->gsi, -1, false);
		v->bound = false;
		if (v->routed)
			vm_msi_route_clear(m->vm, v->gsi);
		v->routed = false;
		vec_unwatch(m, v);
		if (v->fd >= 0)
			close(v->fd);
		v->fd = -1;
	}
	pthread_mutex_unlock(&m->lock);
	if (m->d->msix == m)
		m->d->msix = NULL;
	pthread_mutex_destroy(&m->lock);
	free(m->v);
	free(m->pba);
	free(m);
}
