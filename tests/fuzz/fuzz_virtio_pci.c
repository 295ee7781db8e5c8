// SPDX-License-Identifier: MIT
/*
 * fuzz_virtio_pci.c - virtio-pci register writes (common config, ISR,
 * device config, notify), MSI-X table/PBA and configuration space; see
 * virtio_pci.inc.
 */
#include "tests/fuzz/virtio_pci.inc"
