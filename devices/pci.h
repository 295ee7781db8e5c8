/* SPDX-License-Identifier: MIT */
/*
 * pci.h - a PCI bus 0 with a host bridge, configuration through ports
 * 0xCF8/0xCFC and ECAM, BAR placement and guest reprogramming, capabilities,
 * MSI-X and INTx.
 */
#ifndef KTVM_PCI_H
#define KTVM_PCI_H

#include "vmm/ktvm.h"

#define PCI_CFG_SIZE 4096 /* extended configuration space per function */
#define PCI_MAX_SLOTS 32
#define PCI_NUM_BARS 6

/* Where the platform puts things (the arch fills it, ACPI describes it). */
struct pci_platform {
	uint64_t ecam_base, ecam_size;	   /* 1 MiB per bus; bus 0 only */
	uint64_t mmio32_base, mmio32_size; /* window for 32-bit memory BARs */
	uint64_t mmio64_base, mmio64_size; /* window for 64-bit memory BARs */
	/* The GSI a slot's INTx pin (1 = INTA .. 4 = INTD) is wired to (level, active high). */
	uint32_t (*intx_gsi)(unsigned int slot, unsigned int pin);
};

struct pci_dev;

struct pci_bar {
	uint64_t size;	   /* power of two, >= 4 KiB; 0 = unused */
	bool mem64;	   /* 64-bit memory BAR (takes this BAR and the next) */
	uint64_t addr;	   /* current guest-physical address */
	bool mapped;	   /* decoding enabled and registered on the MMIO bus */
	io_handler_fn fn;  /* accesses, offset relative to the BAR */
	void *opaque;
};

struct pci_dev {
	struct vm *vm;
	const char *name;
	unsigned int slot; /* device number on bus 0, assigned by pci_register() */
	pthread_mutex_t lock;
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE]; /* bits the guest may write */
	struct pci_bar bars[PCI_NUM_BARS];
	uint8_t last_cap;	     /* offset of the last capability, for chaining */
	uint16_t cap_end;	     /* first byte after the last capability */

	/*
	 * Called (without d->lock) after a BAR moved or its decoding changed:
	 * the device moves whatever it keyed to the address (ioeventfds).
	 * old_addr/new_addr are 0 when unmapped.
	 */
	void (*bar_moved)(struct pci_dev *d, int bar, uint64_t old_addr, uint64_t new_addr);
	/*
	 * Optional: config-space accesses the device serves itself, such as
	 * virtio's VIRTIO_PCI_CAP_PCI_CFG window onto a BAR.  Called for every
	 * access (CF8/CFC and ECAM) with the bus lock held, d->lock not held;
	 * returns true if it handled the access (cfg[] is then not touched).
	 */
	bool (*cfg_hook)(struct pci_dev *d, uint32_t reg, uint8_t *data, uint32_t size,
			 bool is_write);

	struct msix *msix; /* NULL without MSI-X */
	/* INTx, when the device uses it (no MSI-X, or MSI-X disabled by the guest). */
	uint8_t intx_pin;  /* 0 = none, 1 = INTA */
	uint32_t intx_gsi;
	int intx_fd, intx_resample_fd; /* irqfd with resample: level-triggered INTx */
	void *priv;
};

/* Bus setup: host bridge at 00:00.0, CF8/CFC on vm->pio, ECAM on vm->mmio. */
int pci_init(struct vm *vm, const struct pci_platform *plat);
const struct pci_platform *pci_get_platform(struct vm *vm);

/* Device construction, before pci_register(). */
void pci_dev_init(struct pci_dev *d, struct vm *vm, const char *name, uint16_t vendor,
		  uint16_t device, uint32_t class_code, uint16_t subsys_vendor, uint16_t subsys_id);
int pci_dev_add_bar(struct pci_dev *d, int bar, uint64_t size, bool mem64, io_handler_fn fn,
		    void *opaque);
/* Append a capability (cap[0] = ID; the next pointer at cap[1] is filled in). Returns its offset. */
int pci_dev_add_cap(struct pci_dev *d, const void *cap, uint8_t len);
/* Use INTx pin INTA: creates the irqfd + resample eventfd pair. */
int pci_dev_enable_intx(struct pci_dev *d);
/*
 * INTx is level-triggered, carried by a KVM irqfd with a resample eventfd:
 *
 *   - pci_dev_intx_assert() sets the status register's Interrupt Status
 *     bit and writes d->intx_fd: KVM raises the GSI and keeps it raised
 *     until the guest EOIs it (not while the command register's INTx
 *     Disable bit is set, nor while MSI-X is enabled: then only the status
 *     bit is set, and clearing INTx Disable delivers it).
 *   - On that EOI KVM lowers the line and signals d->intx_resample_fd.  The
 *     device watches that fd on the main loop (vm_loop_add), reads it, and
 *     if its interrupt condition still holds (virtio: ISR != 0) calls
 *     pci_dev_intx_assert() again; otherwise it leaves the line low.
 *   - When the condition goes away (virtio: the driver's ISR read clears
 *     it) the device calls pci_dev_intx_deassert(): that clears the status
 *     bit.  The line itself stays up until the EOI that follows (an irqfd
 *     cannot lower a line), which is what a driver that reads the ISR in
 *     its handler expects; the resample then finds the ISR clear.
 * Both may be called from any thread.
 */
void pci_dev_intx_assert(struct pci_dev *d);
void pci_dev_intx_deassert(struct pci_dev *d);

/* Slot assignment, BAR placement in the windows, and mapping. */
int pci_register(struct vm *vm, struct pci_dev *d);

/*
 * MSI-X (devices/msix.c): table and PBA inside one of the device's BARs.
 * Each vector has a persistent eventfd (msix_vector_fd) that the device
 * writes to raise it.  While the vector is unmasked and MSI-X is enabled
 * that eventfd is a KVM irqfd on the vector's GSI route (no exit, no
 * ioctl); while masked, ktvm's main loop watches it instead and sets the
 * vector's PBA bit, and unmasking delivers the pending interrupt.
 */
struct msix;
struct msix *msix_init(struct pci_dev *d, unsigned int nvec, int bar, uint32_t table_off,
		       uint32_t pba_off);
/*
 * Unbind and close every vector's eventfd, clear its route, stop watching
 * it and free m (d->msix becomes NULL).  The device's interrupt sources
 * must be stopped; NULL is a no-op.
 */
void msix_destroy(struct msix *m);
int msix_vector_fd(struct msix *m, unsigned int vec); /* -1 if vec is out of range */
unsigned int msix_num_vectors(const struct msix *m);
bool msix_enabled(const struct msix *m);
/* The BAR accessor for the table and PBA (offset relative to the table/PBA start). */
void msix_table_io(struct msix *m, uint64_t off, uint8_t *data, uint32_t size, bool is_write);
void msix_pba_io(struct msix *m, uint64_t off, uint8_t *data, uint32_t size, bool is_write);
/* pci.c -> msix.c: the guest wrote the device's config space (Message Control may have changed). */
void msix_cfg_written(struct msix *m);

#endif
