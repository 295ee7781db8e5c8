/* SPDX-License-Identifier: MIT */
/*
 * tap.h - the TAP backend of virtio-net: a /dev/net/tun file descriptor in
 * TAP mode with a virtio-net header in front of every frame (IFF_VNET_HDR),
 * non-blocking.  Multiqueue: IFF_MULTI_QUEUE, one fd per queue pair, each
 * from another tap_open() of the same name, attached to or detached from the
 * interface with tap_set_queue() as the guest changes its active pairs.
 */
#ifndef KTVM_TAP_H
#define KTVM_TAP_H

#include <stdbool.h>
#include <stddef.h>

#define TAP_VNET_HDR_LEN 12 /* struct virtio_net_hdr_v1 / _mrg_rxbuf: VERSION_1 */

/*
 * Create or attach TAP 'name' (<= 15 characters).  Returns the fd (O_NONBLOCK,
 * O_CLOEXEC, vnet header size TAP_VNET_HDR_LEN, offloads off), or -1 with one
 * sentence in err.  ifname (IFNAMSIZ bytes, may be NULL) gets the kernel's name.
 */
int tap_open(const char *name, bool multi_queue, char *ifname, char *err, size_t errlen);
/*
 * Adopt an already-open TAP fd: check it is a TAP with IFF_VNET_HDR and no
 * packet information, make it non-blocking, set the vnet header size.
 * Returns fd or -1 with one sentence in err.
 */
int tap_adopt(int fd, char *ifname, char *err, size_t errlen);
/* TUNSETOFFLOAD with TUN_F_* flags: 0 or -1 (errno set). */
int tap_set_offload(int fd, unsigned int tun_flags);
/*
 * TUNSETQUEUE: attach (IFF_ATTACH_QUEUE) or detach (IFF_DETACH_QUEUE) this
 * queue of a multi-queue TAP; the kernel steers frames only to attached
 * queues.  0 or -1 (errno set).
 */
int tap_set_queue(int fd, bool attach);
/* Does this TAP accept TUN_F_UFO?  (Leaves offloads off.) */
bool tap_probe_ufo(int fd);

#endif
