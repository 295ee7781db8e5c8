// SPDX-License-Identifier: MIT
/*
 * fuzz_pci_cfg.c - PCI configuration space only (CF8/CFC, ECAM, BAR
 * reprogramming, MSI-X enable, the virtio PCI_CFG window); see
 * virtio_pci.inc.
 */
#define PCI_CFG_ONLY 1
#include "tests/fuzz/virtio_pci.inc"
