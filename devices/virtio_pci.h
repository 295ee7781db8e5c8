/* SPDX-License-Identifier: MIT */
/*
 * virtio_pci.h - the virtio 1.2 PCI transport, modern interface only
 * (virtio 1.2 section 4.1): a non-transitional PCI function (device ID
 * 0x1040 + virtio device ID, revision 1) whose 64-bit memory BAR 0 holds the
 * common configuration, ISR, device configuration, notification and MSI-X
 * structures, described by vendor capabilities.
 */
#ifndef KTVM_VIRTIO_PCI_H
#define KTVM_VIRTIO_PCI_H

#include "devices/pci.h"
#include "devices/virtio.h"

/* BAR 0 layout (offsets within the BAR). */
#define VIRTIO_PCI_BAR	       0
#define VIRTIO_PCI_COMMON_OFF  0x0000u
#define VIRTIO_PCI_COMMON_LEN  0x38u /* struct virtio_pci_common_cfg (virtio 1.0 fields) */
#define VIRTIO_PCI_ISR_OFF     0x1000u
#define VIRTIO_PCI_ISR_LEN     4u
#define VIRTIO_PCI_DEVCFG_OFF  0x2000u
#define VIRTIO_PCI_DEVCFG_MAX  0x1000u
#define VIRTIO_PCI_NOTIFY_OFF  0x3000u
#define VIRTIO_PCI_NOTIFY_MULT 4u /* notify_off_multiplier: queue i at NOTIFY_OFF + 4 * i */
/* The MSI-X table follows the notify region, the PBA follows the table (4 KiB aligned). */

#define VIRTIO_PCI_VENDOR      0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define VIRTIO_PCI_SUBSYS_ID   0x0040

struct virtio_pci;

/*
 * Build the PCI function for d (whose queues, ops and features are set up,
 * virtio_dev_init done), one notification eventfd per queue, MSI-X with one
 * vector per queue plus one for configuration changes when use_msix, INTx
 * always (the fallback when the guest does not enable MSI-X), and register
 * it on the bus.  NULL after logging on failure.
 */
struct virtio_pci *virtio_pci_create(struct vm *vm, struct virtio_dev *d, bool use_msix);
/* Unregister the notification eventfds and free (the device must be stopped). */
void virtio_pci_destroy(struct virtio_pci *vp);
struct pci_dev *virtio_pci_pci_dev(struct virtio_pci *vp);

/* The BAR 0 handler (exposed for tests). */
void virtio_pci_bar_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write);
/*
 * The VIRTIO_PCI_CAP_PCI_CFG window: a config-space access at 'off' that
 * falls in [cap + 16, cap + 20) (pci_cfg_data) is turned into a BAR access
 * at cap.offset of cap.length bytes.  Returns true if the access was the
 * window's (the PCI core then must not touch cfg[] itself for it).
 */
bool virtio_pci_cfg_window(struct virtio_pci *vp, uint32_t off, uint8_t *data, uint32_t size,
			   bool is_write);

#endif
