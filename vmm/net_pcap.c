// SPDX-License-Identifier: MIT
/*
 * net_pcap.c - pcap capture of a NIC's frames through libpcap
 * (pcap_open_dead + pcap_dump_open + pcap_dump).  See net_pcap.h.
 *
 * The frame is gathered from the guest's buffers into a scratch buffer of
 * the capture (under its lock: the buffer is shared by the NIC's workers),
 * then handed to pcap_dump, which only appends to a stdio buffer: the file
 * sees a write(2) per 4 KiB or so, never a call the worker's seccomp list
 * lacks (the stream's buffer is allocated by the header write at open).
 */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "vmm/net_pcap.h"
#include "vmm/output_file.h"

struct net_pcap {
	pthread_mutex_t lock;
	pcap_t *dead;
	pcap_dumper_t *dumper;
	uint64_t frames;
	uint8_t buf[NET_PCAP_SNAPLEN];
};

struct net_pcap *net_pcap_open(const char *path, char *err, size_t errlen)
{
	struct net_pcap *pc = calloc(1, sizeof(*pc));
	FILE *f;
	int fd;

	if (!pc) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pc->dead = pcap_open_dead(DLT_EN10MB, NET_PCAP_SNAPLEN);
	if (!pc->dead) {
		snprintf(err, errlen, "pcap_open_dead failed");
		free(pc);
		return NULL;
	}
	/*
	 * Opened by ktvm (no symlink, close-on-exec, 0600: it holds the guest's
	 * traffic), then handed to libpcap as a stream.
	 */
	fd = output_file_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	f = fd >= 0 ? fdopen(fd, "wb") : NULL;
	pc->dumper = f ? pcap_dump_fopen(pc->dead, f) : NULL;
	if (!pc->dumper) {
		const char *why = fd < 0 ? output_file_error(errno) : strerror(errno);

		/*
		 * pcap_dump_fopen() fails only writing the header (Ethernet is
		 * always a savefile type), and then it has closed f itself.
		 */
		if (f)
			why = pcap_geterr(pc->dead);
		else if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "cannot create capture file '%s': %s", path, why);
		pcap_close(pc->dead);
		free(pc);
		return NULL;
	}
	/* The header now, so the stream's buffer exists before any worker writes. */
	pcap_dump_flush(pc->dumper);
	pthread_mutex_init(&pc->lock, NULL);
	return pc;
}

void net_pcap_write(struct net_pcap *pc, const struct iovec *iov, unsigned int niov, size_t skip,
		    size_t len)
{
	struct pcap_pkthdr h;
	size_t cap = len < NET_PCAP_SNAPLEN ? len : NET_PCAP_SNAPLEN, got = 0;

	pthread_mutex_lock(&pc->lock);
	for (unsigned int i = 0; i < niov && got < cap; i++) {
		size_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > cap - got)
			l = cap - got;
		memcpy(pc->buf + got, (const uint8_t *)iov[i].iov_base + skip, l);
		got += l;
		skip = 0;
	}
	/* Stamped under the lock: records are in time order across workers. */
	gettimeofday(&h.ts, NULL);
	h.caplen = (uint32_t)got;
	h.len = (uint32_t)(len > got ? len : got);
	pcap_dump((u_char *)pc->dumper, &h, pc->buf);
	pc->frames++;
	pthread_mutex_unlock(&pc->lock);
}

void net_pcap_flush(struct net_pcap *pc)
{
	if (!pc)
		return;
	pthread_mutex_lock(&pc->lock);
	pcap_dump_flush(pc->dumper);
	pthread_mutex_unlock(&pc->lock);
}

uint64_t net_pcap_frames(struct net_pcap *pc)
{
	uint64_t n;

	pthread_mutex_lock(&pc->lock);
	n = pc->frames;
	pthread_mutex_unlock(&pc->lock);
	return n;
}

void net_pcap_close(struct net_pcap *pc)
{
	if (!pc)
		return;
	pcap_dump_close(pc->dumper); /* flushes */
	pcap_close(pc->dead);
	pthread_mutex_destroy(&pc->lock);
	free(pc);
}
