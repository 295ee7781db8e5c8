/* SPDX-License-Identifier: MIT */
/*
 * net_pcap.h - a NIC's frames, both directions, to a pcap file (libpcap,
 * LINKTYPE_ETHERNET, snaplen 65535), as they are on the wire: the virtio-net
 * header is not part of them.  Several queue pair workers may write one
 * capture: a mutex per capture keeps the records whole and in timestamp
 * order.  It is taken only when a capture is on (pcap=FILE).
 */
#ifndef KTVM_NET_PCAP_H
#define KTVM_NET_PCAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define NET_PCAP_SNAPLEN 65535

struct net_pcap;

/* Create (truncate) 'path' and write the file header.  NULL with a sentence in err. */
struct net_pcap *net_pcap_open(const char *path, char *err, size_t errlen);
/*
 * One frame: 'len' bytes starting 'skip' bytes into iov[0..niov) (the
 * virtio-net header is skipped this way).  Stamped with the time of the call.
 */
void net_pcap_write(struct net_pcap *pc, const struct iovec *iov, unsigned int niov, size_t skip,
		    size_t len);
/* Push what is buffered to the file (stats requests, exit). */
void net_pcap_flush(struct net_pcap *pc);
/* Flush and close; NULL is fine. */
void net_pcap_close(struct net_pcap *pc);
/* Frames written so far. */
uint64_t net_pcap_frames(struct net_pcap *pc);

#endif
