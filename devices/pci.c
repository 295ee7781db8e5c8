// SPDX-License-Identifier: MIT
/*
 * pci.c - PCI bus 0: a host bridge at 00:00.0, configuration mechanism #1
 * (ports 0xCF8/0xCFC) and ECAM, per-device configuration space with a write
 * mask, capabilities, memory BARs and INTx.
 *
 * Every configuration access, from either mechanism, is serialised by the
 * bus lock: they are rare, and BAR moves (unregister, register, then the
 * device's bar_moved hook) must not interleave.  d->lock protects the
 * bytes of d->cfg that the device itself touches (the INTx status bit)
 * against device threads.  Lock order: bus lock, then d->lock, then the
 * io_bus locks; bar_moved and the MSI-X hook run with the bus lock only.
 *
 * Only function 0 of each slot exists; other functions, other buses and
 * empty slots read all-ones and ignore writes.  Any offset and size a guest
 * can produce is safe: bytes beyond the 4 KiB space read 0xff.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <linux/pci_regs.h>

#include "devices/pci.h"

#define CF8_ENABLE	0x80000000u
#define CF8_MASK	0x80fffffcu /* enable, bus, device, function, register */
#define PCI_PORT_CF8	0xcf8
#define PCI_CAP_START	0x40
#define PCI_STD_CFG_END 0x100
#define PCI_BAR_LO_TYPE 0xfu /* memory BAR: space, type, prefetchable bits */
#define PCI_SLOT_UNSET	PCI_MAX_SLOTS

/* Status bits the guest clears by writing 1 (parity, SERR, aborts). */
#define PCI_STATUS_W1C                                                                            \
	(PCI_STATUS_DETECTED_PARITY | PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_REC_MASTER_ABORT | \
	 PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_PARITY)
#define PCI_COMMAND_WMASK \
	(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE)

struct pci_bus {
	struct vm *vm;
	struct pci_platform plat;
	pthread_mutex_t lock;
	uint32_t cf8;
	struct pci_dev *devs[PCI_MAX_SLOTS];
	struct pci_dev host;
	uint64_t next32, next64; /* BAR placement cursors */
	struct pci_bus *next;
};

/* One bus per VM; a list so that unit tests may build several VMs. */
static pthread_mutex_t buses_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pci_bus *buses;

static struct pci_bus *bus_of(struct vm *vm)
{
	struct pci_bus *b;

	pthread_mutex_lock(&buses_lock);
	for (b = buses; b && b->vm != vm; b = b->next)
		;
	pthread_mutex_unlock(&buses_lock);
	return b;
}

const struct pci_platform *pci_get_platform(struct vm *vm)
{
	struct pci_bus *b = bus_of(vm);

	return b ? &b->plat : NULL;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* ---- device construction ------------------------------------------ */

void pci_dev_init(struct pci_dev *d, struct vm *vm, const char *name, uint16_t vendor,
		  uint16_t device, uint32_t class_code, uint16_t subsys_vendor, uint16_t subsys_id)
{
	memset(d, 0, sizeof(*d));
	d->vm = vm;
	d->name = name;
	d->slot = PCI_SLOT_UNSET;
	pthread_mutex_init(&d->lock, NULL);
	d->intx_fd = d->intx_resample_fd = -1;
	d->intx_gsi = VM_GSI_NONE;
	put16(d->cfg + PCI_VENDOR_ID, vendor);
	put16(d->cfg + PCI_DEVICE_ID, device);
	/* Revision 0, then the 24-bit class code (base, sub, interface). */
	put32(d->cfg + PCI_CLASS_REVISION, class_code << 8);
	d->cfg[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	put16(d->cfg + PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor);
	put16(d->cfg + PCI_SUBSYSTEM_ID, subsys_id);
	put16(d->wmask + PCI_COMMAND, PCI_COMMAND_WMASK);
	d->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	d->wmask[PCI_LATENCY_TIMER] = 0xff;
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

int pci_dev_add_bar(struct pci_dev *d, int bar, uint64_t size, bool mem64, io_handler_fn fn,
		    void *opaque)
{
	uint64_t mask = ~(size - 1);
	int reg = PCI_BASE_ADDRESS_0 + 4 * bar;

	if (bar < 0 || bar >= PCI_NUM_BARS || (mem64 && bar == PCI_NUM_BARS - 1) || size < KiB(4) ||
	    (size & (size - 1)) || (!mem64 && size > GiB(2)) || !fn || d->bars[bar].size ||
	    (mem64 && d->bars[bar + 1].size) || (bar > 0 && d->bars[bar - 1].mem64)) {
		log_err("pci", "%s: bad BAR %d (size %#llx)", d->name, bar,
			(unsigned long long)size);
		return -1;
	}
	d->bars[bar] = (struct pci_bar){.size = size, .mem64 = mem64, .fn = fn, .opaque = opaque};
	put32(d->cfg + reg, mem64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0);
	put32(d->wmask + reg, (uint32_t)mask & ~PCI_BAR_LO_TYPE);
	if (mem64)
		put32(d->wmask + reg + 4, (uint32_t)(mask >> 32));
	return 0;
}

int pci_dev_add_cap(struct pci_dev *d, const void *cap, uint8_t len)
{
	unsigned int off = PCI_CAP_START;

	if (len < 2 || !cap)
		return -1;
	if (d->last_cap)
		off = ALIGN_UP(d->cap_end, 4);
	if (off + len > PCI_STD_CFG_END) {
		log_err("pci", "%s: no room for capability %#x", d->name,
			((const uint8_t *)cap)[0]);
		return -1;
	}
	memcpy(d->cfg + off, cap, len);
	d->cfg[off + 1] = 0;
	if (d->last_cap)
		d->cfg[d->last_cap + 1] = (uint8_t)off;
	else
		d->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
	d->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	d->last_cap = (uint8_t)off;
	d->cap_end = (uint16_t)(off + len);
	return (int)off;
}

/* ---- INTx ------------------------------------------------------------ */

static uint16_t cmd_of(const struct pci_dev *d)
{
	return get16(d->cfg + PCI_COMMAND);
}

/* Caller holds d->lock. */
static void intx_fire(struct pci_dev *d)
{
	uint64_t one = 1;

	if (write(d->intx_fd, &one, sizeof(one)) != sizeof(one))
		log_once(LOG_WARN, "pci", "%s: INTx eventfd write: %s", d->name, strerror(errno));
}

/* Caller holds d->lock: bind the irqfd (assign) or unbind it. */
static int intx_bind(struct pci_dev *d, bool assign)
{
	if (d->intx_gsi == VM_GSI_NONE || d->intx_fd < 0)
		return 0;
	return vm_irqfd(d->vm, d->intx_fd, d->intx_gsi, d->intx_resample_fd, assign);
}

int pci_dev_enable_intx(struct pci_dev *d)
{
	const struct pci_platform *plat;
	int ret = 0;

	pthread_mutex_lock(&d->lock);
	if (d->intx_pin) {
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	d->intx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->intx_resample_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->intx_fd < 0 || d->intx_resample_fd < 0) {
		log_err("pci", "%s: eventfd: %s", d->name, strerror(errno));
		if (d->intx_fd >= 0)
			close(d->intx_fd);
		if (d->intx_resample_fd >= 0)
			close(d->intx_resample_fd);
		d->intx_fd = d->intx_resample_fd = -1;
		pthread_mutex_unlock(&d->lock);
		return -1;
	}
	d->intx_pin = 1;
	d->cfg[PCI_INTERRUPT_PIN] = 1;
	/* Already on the bus: wire it now (pci_register does it otherwise). */
	plat = d->slot < PCI_MAX_SLOTS ? pci_get_platform(d->vm) : NULL;
	if (plat && plat->intx_gsi) {
		d->intx_gsi = plat->intx_gsi(d->slot, d->intx_pin);
		d->cfg[PCI_INTERRUPT_LINE] = d->intx_gsi < 0xff ? (uint8_t)d->intx_gsi : 0xff;
		if (!(cmd_of(d) & PCI_COMMAND_INTX_DISABLE))
			ret = intx_bind(d, true);
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

void pci_dev_intx_assert(struct pci_dev *d)
{
	pthread_mutex_lock(&d->lock);
	/* With MSI-X enabled a function must not use INTx. */
	if (d->intx_pin && !(d->msix && msix_enabled(d->msix))) {
		d->cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
		if (d->intx_gsi != VM_GSI_NONE && !(cmd_of(d) & PCI_COMMAND_INTX_DISABLE))
			intx_fire(d);
	}
	pthread_mutex_unlock(&d->lock);
}

void pci_dev_intx_deassert(struct pci_dev *d)
{
	pthread_mutex_lock(&d->lock);
	d->cfg[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
	pthread_mutex_unlock(&d->lock);
}

/* Caller holds d->lock: the guest flipped INTx Disable. */
static void intx_disable_changed(struct pci_dev *d, bool disabled)
{
	if (!d->intx_pin || d->intx_gsi == VM_GSI_NONE)
		return;
	/* Unbinding a resample irqfd lowers the line; rebinding re-raises a pending one. */
	if (intx_bind(d, !disabled))
		return;
	if (!disabled && (d->cfg[PCI_STATUS] & PCI_STATUS_INTERRUPT))
		intx_fire(d);
}

/* ---- BARs ------------------------------------------------------------- */

struct bar_move {
	int bar;
	uint64_t old_addr, new_addr;
};

static uint64_t bar_programmed(const struct pci_dev *d, int i)
{
	const uint8_t *p = d->cfg + PCI_BASE_ADDRESS_0 + 4 * i;
	uint64_t a = get32(p) & ~(uint64_t)PCI_BAR_LO_TYPE;

	if (d->bars[i].mem64)
		a |= (uint64_t)get32(p + 4) << 32;
	return a;
}

/* May a BAR decode at [addr, addr + size)?  Not at 0, not wrapping, not over RAM. */
static bool bar_addr_ok(const struct vm *vm, uint64_t addr, uint64_t size)
{
	if (addr == 0 || addr + size - 1 < addr)
		return false;
	for (unsigned int i = 0; i < vm->mem.nregions; i++) {
		const struct mem_region *r = &vm->mem.regions[i];

		if (addr <= r->gpa + r->size - 1 && r->gpa <= addr + size - 1)
			return false;
	}
	return true;
}

/*
 * Caller holds d->lock (and the bus lock): make every BAR's MMIO registration
 * match the command register and the BAR registers.  Unregisters first and
 * registers afterwards, so two BARs may trade places.  Returns the moves.
 */
static unsigned int bars_update(struct pci_dev *d, struct bar_move *moves)
{
	bool decode = cmd_of(d) & PCI_COMMAND_MEMORY;
	uint64_t want[PCI_NUM_BARS], old[PCI_NUM_BARS];
	struct io_bus *mmio = &d->vm->mmio;
	unsigned int n = 0;

	for (int i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &d->bars[i];

		old[i] = b->mapped ? b->addr : 0;
		want[i] = 0;
		if (!b->size)
			continue;
		if (decode) {
			want[i] = bar_programmed(d, i);
			if (!bar_addr_ok(d->vm, want[i], b->size)) {
				if (want[i])
					log_once(
						LOG_WARN, "pci",
						"%s: BAR %d at %#llx overlaps RAM or wraps: not mapped",
						d->name, i, (unsigned long long)want[i]);
				want[i] = 0;
			}
		}
		if (b->mapped && want[i] != b->addr) {
			io_bus_unregister(mmio, b->addr);
			b->mapped = false;
		}
	}
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &d->bars[i];

		if (!b->size)
			continue;
		if (want[i] && !b->mapped) {
			if (io_bus_register(mmio, want[i], b->size, b->fn, b->opaque, d->name) ==
			    0) {
				b->mapped = true;
			} else {
				log_once(LOG_WARN, "pci",
					 "%s: BAR %d at %#llx overlaps another device: not mapped",
					 d->name, i, (unsigned long long)want[i]);
				want[i] = 0;
			}
		}
		b->addr = b->mapped ? want[i] : bar_programmed(d, i);
		if (old[i] != want[i])
			moves[n++] = (struct bar_move){i, old[i], want[i]};
	}
	return n;
}

/* ---- configuration space ---------------------------------------------- */

static void cfg_read(struct pci_dev *d, uint32_t reg, uint8_t *data, uint32_t size)
{
	pthread_mutex_lock(&d->lock);
	for (uint32_t i = 0; i < size; i++)
		data[i] = reg + i < PCI_CFG_SIZE ? d->cfg[reg + i] : 0xff;
	pthread_mutex_unlock(&d->lock);
}

static bool touches(uint32_t reg, uint32_t size, uint32_t start, uint32_t end)
{
	return reg < end && start < reg + size;
}

/* Caller holds the bus lock. */
static void cfg_write(struct pci_dev *d, uint32_t reg, const uint8_t *data, uint32_t size)
{
	struct bar_move moves[PCI_NUM_BARS];
	unsigned int nmoves = 0;
	uint16_t old_cmd, new_cmd;

	pthread_mutex_lock(&d->lock);
	old_cmd = cmd_of(d);
	for (uint32_t i = 0; i < size && reg + i < PCI_CFG_SIZE; i++) {
		uint32_t off = reg + i;
		uint8_t v = data[i];

		if (off == PCI_STATUS || off == PCI_STATUS + 1)
			d->cfg[off] &= (uint8_t) ~(
				v & (uint8_t)(PCI_STATUS_W1C >> (8 * (off - PCI_STATUS))));
		d->cfg[off] = (uint8_t)((d->cfg[off] & ~d->wmask[off]) | (v & d->wmask[off]));
	}
	new_cmd = cmd_of(d);
	if (touches(reg, size, PCI_COMMAND, PCI_COMMAND + 2) ||
	    touches(reg, size, PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_5 + 4))
		nmoves = bars_update(d, moves);
	if ((old_cmd ^ new_cmd) & PCI_COMMAND_INTX_DISABLE)
		intx_disable_changed(d, new_cmd & PCI_COMMAND_INTX_DISABLE);
	pthread_mutex_unlock(&d->lock);

	for (unsigned int i = 0; i < nmoves; i++) {
		log_debug_rl("pci", "%s: BAR %d %#llx -> %#llx", d->name, moves[i].bar,
			     (unsigned long long)moves[i].old_addr,
			     (unsigned long long)moves[i].new_addr);
		if (d->bar_moved)
			d->bar_moved(d, moves[i].bar, moves[i].old_addr, moves[i].new_addr);
	}
	if (d->msix)
		msix_cfg_written(d->msix);
}

/* Caller holds the bus lock.  Absent functions read all-ones and ignore writes. */
static void cfg_access(struct pci_bus *b, unsigned int slot, unsigned int fn, uint32_t reg,
		       uint8_t *data, uint32_t size, bool is_write)
{
	struct pci_dev *d = fn == 0 && slot < PCI_MAX_SLOTS ? b->devs[slot] : NULL;

	if (size > 8)
		size = 8;
	if (!d) {
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	if (d->cfg_hook && d->cfg_hook(d, reg, data, size, is_write))
		return;
	if (is_write)
		cfg_write(d, reg, data, size);
	else
		cfg_read(d, reg, data, size);
}

/* 0xCF8: the 32-bit address register; 0xCFC-0xCFF: the data window. */
static void cf8_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct pci_bus *b = opaque;

	pthread_mutex_lock(&b->lock);
	if (off < 4) {
		/* Only whole-dword accesses reach the address register (0xCF9 is not ours). */
		if (off == 0 && size == 4) {
			if (is_write)
				b->cf8 = (uint32_t)io_get(data, 4) & CF8_MASK;
			else
				io_put(data, 4, b->cf8);
		} else if (!is_write) {
			memset(data, 0xff, size);
		}
	} else {
		uint32_t a = b->cf8;

		if (!(a & CF8_ENABLE) || ((a >> 16) & 0xff) != 0) {
			if (!is_write)
				memset(data, 0xff, size);
		} else {
			cfg_access(b, (a >> 11) & 31, (a >> 8) & 7,
				   (a & 0xfc) + (uint32_t)(off - 4), data, size, is_write);
		}
	}
	pthread_mutex_unlock(&b->lock);
}

/* ECAM: bus 0 only, 4 KiB per function. */
static void ecam_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct pci_bus *b = opaque;

	pthread_mutex_lock(&b->lock);
	if (off >> 20) {
		if (!is_write)
			memset(data, 0xff, size);
	} else {
		cfg_access(b, (off >> 15) & 31, (off >> 12) & 7, off & 0xfff, data, size, is_write);
	}
	pthread_mutex_unlock(&b->lock);
}

/* ---- the bus ------------------------------------------------------------ */

int pci_init(struct vm *vm, const struct pci_platform *plat)
{
	struct pci_bus *b, **pp;

	if (!plat || plat->ecam_size < MiB(1) || !plat->mmio32_size || !plat->intx_gsi) {
		log_err("pci", "bad platform description");
		return -1;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return -1;
	b->vm = vm;
	b->plat = *plat;
	b->plat.ecam_size = MiB(1); /* bus 0 only */
	b->next32 = plat->mmio32_base;
	b->next64 = plat->mmio64_base;
	pthread_mutex_init(&b->lock, NULL);
	pci_dev_init(&b->host, vm, "host-bridge", 0x1b36, 0x0008, 0x060000, 0x1af4, 0x1100);
	b->host.slot = 0;
	b->devs[0] = &b->host;

	if (io_bus_register(&vm->pio, PCI_PORT_CF8, 8, cf8_io, b, "pci-cf8") ||
	    io_bus_register(&vm->mmio, b->plat.ecam_base, b->plat.ecam_size, ecam_io, b,
			    "pci-ecam")) {
		log_err("pci", "cannot register the configuration mechanisms");
		io_bus_unregister(&vm->pio, PCI_PORT_CF8);
		free(b);
		return -1;
	}
	pthread_mutex_lock(&buses_lock);
	/* A VM re-initialised in place (unit tests) replaces its old bus. */
	for (pp = &buses; *pp; pp = &(*pp)->next) {
		if ((*pp)->vm == vm) {
			struct pci_bus *old = *pp;

			*pp = old->next;
			free(old);
			break;
		}
	}
	b->next = buses;
	buses = b;
	pthread_mutex_unlock(&buses_lock);
	log_debug("pci", "ECAM at %#llx, windows %#llx+%#llx and %#llx+%#llx",
		  (unsigned long long)b->plat.ecam_base, (unsigned long long)plat->mmio32_base,
		  (unsigned long long)plat->mmio32_size, (unsigned long long)plat->mmio64_base,
		  (unsigned long long)plat->mmio64_size);
	return 0;
}

/* Caller holds the bus lock: a naturally aligned place for every BAR, or -1. */
static int place_bars(struct pci_bus *b, struct pci_dev *d)
{
	uint64_t n32 = b->next32, n64 = b->next64;
	uint64_t addr[PCI_NUM_BARS] = {0};

	for (int i = 0; i < PCI_NUM_BARS; i++) {
		const struct pci_bar *bar = &d->bars[i];
		uint64_t *next = bar->mem64 ? &n64 : &n32;
		uint64_t end = bar->mem64 ? b->plat.mmio64_base + b->plat.mmio64_size
					  : b->plat.mmio32_base + b->plat.mmio32_size;

		if (!bar->size)
			continue;
		addr[i] = ALIGN_UP(*next, bar->size);
		if (addr[i] < *next || addr[i] > end || bar->size > end - addr[i]) {
			log_err("pci", "%s: no room for BAR %d (%#llx bytes) in the %s window",
				d->name, i, (unsigned long long)bar->size,
				bar->mem64 ? "64-bit" : "32-bit");
			return -1;
		}
		*next = addr[i] + bar->size;
	}
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		uint8_t *p = d->cfg + PCI_BASE_ADDRESS_0 + 4 * i;

		if (!d->bars[i].size)
			continue;
		put32(p, (get32(p) & PCI_BAR_LO_TYPE) | (uint32_t)addr[i]);
		if (d->bars[i].mem64)
			put32(p + 4, (uint32_t)(addr[i] >> 32));
		d->bars[i].addr = addr[i];
	}
	b->next32 = n32;
	b->next64 = n64;
	return 0;
}

int pci_register(struct vm *vm, struct pci_dev *d)
{
	struct pci_bus *b = bus_of(vm);
	unsigned int slot;
	int ret = -1;

	if (!b) {
		log_err("pci", "%s: no PCI bus", d->name);
		return -1;
	}
	pthread_mutex_lock(&b->lock);
	for (slot = 1; slot < PCI_MAX_SLOTS && b->devs[slot]; slot++)
		;
	if (slot == PCI_MAX_SLOTS) {
		log_err("pci", "%s: bus 0 is full", d->name);
		goto out;
	}
	if (place_bars(b, d))
		goto out;
	pthread_mutex_lock(&d->lock);
	d->slot = slot;
	if (d->intx_pin) {
		d->intx_gsi = b->plat.intx_gsi(slot, d->intx_pin);
		d->cfg[PCI_INTERRUPT_LINE] = d->intx_gsi < 0xff ? (uint8_t)d->intx_gsi : 0xff;
		if (intx_bind(d, true)) {
			d->intx_gsi = VM_GSI_NONE;
			d->slot = PCI_SLOT_UNSET;
			pthread_mutex_unlock(&d->lock);
			goto out;
		}
	}
	pthread_mutex_unlock(&d->lock);
	b->devs[slot] = d;
	log_info("pci", "00:%02x.0 %s [%04x:%04x]", slot, d->name, get16(d->cfg + PCI_VENDOR_ID),
		 get16(d->cfg + PCI_DEVICE_ID));
	ret = 0;
out:
	pthread_mutex_unlock(&b->lock);
	return ret;
}
