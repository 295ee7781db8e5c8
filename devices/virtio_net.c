// SPDX-License-Identifier: MIT
/*
 * virtio_net.c - virtio-net with one queue pair over a TAP device.
 *
 * The data path is one worker thread per queue pair ("ktvm-net0-q0"),
 * started at DRIVER_OK and stopped (joined) at reset.  It sleeps in epoll on
 * the TAP fd and the two queues' kick eventfds (KVM ioeventfds: a guest kick
 * never exits to userspace) and moves frames without copying them:
 *
 *  TX  pop a chain, writev its device-readable buffers (12-byte vnet header
 *      + frame, straight from guest RAM) to the TAP, push it with length 0.
 *      EAGAIN from the TAP: give the chain back, stop draining, wait for
 *      EPOLLOUT on the TAP.
 *  RX  pop chains until they hold the largest frame the guest may receive
 *      (with MRG_RXBUF; one chain without), readv the next frame straight
 *      into their writable buffers, push the ones filled, give back the
 *      rest.  A trailing host scratch buffer catches frames that are larger
 *      than what the guest offered: those are dropped and counted, never
 *      truncated.  No buffers: stop polling the TAP for input until the
 *      guest kicks the RX queue (no busy loop, and no stall when both the
 *      TAP queue and the ring are full, cf. CVE-2020-16843).
 *
 * Used-ring updates and interrupts are batched per wake-up and suppressed
 * as the driver asks (EVENT_IDX or NO_INTERRUPT); kicks are suppressed while
 * the worker is draining.  A queue the guest corrupts (virtq_pop() == -1)
 * puts the device into NEEDS_RESET and the worker leaves it alone until the
 * driver resets it.
 *
 * Locking: the worker never takes d->lock (reset holds it while joining the
 * worker); everything it calls on the transport is lock-free.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "devices/tap.h"
#include "devices/virtio_net.h"
#include "devices/virtio_pci.h"
#include "vmm/net_config.h"

#define HDR_LEN	      TAP_VNET_HDR_LEN /* struct virtio_net_hdr_v1: VERSION_1 always */
#define MAX_GSO_FRAME 65550u	       /* 64 KiB IP packet + Ethernet header + VLAN */
#define RX_MAX_FRAME  (HDR_LEN + MAX_GSO_FRAME)
#define RX_MAX_IOV    (UIO_MAXIOV - 1) /* one more for the overflow catcher */
#define TX_BUDGET     256	       /* chains per wake-up before looking at other work */
#define RX_BUDGET     256	       /* frames per wake-up */

#define F(bit) (1ULL << (bit))

enum { EV_STOP, EV_TAP, EV_RX_KICK, EV_TX_KICK };

struct virtio_net {
	struct virtio_dev vdev;
	struct virtq vqs[2];
	struct vm *vm;
	struct virtio_pci *vp;
	char name[16]; /* "net0" */
	unsigned int index;
	int tap_fd;
	bool own_fd;
	bool is_tap;
	bool ufo; /* the TAP takes TUN_F_UFO */
	char ifname[IFNAMSIZ];
	struct virtio_net_config config;

	/* Worker (one queue pair).  Fields below are the worker's while it runs. */
	pthread_t thread;
	bool running;
	int stop_fd, epfd;
	bool mrg;	       /* MRG_RXBUF negotiated */
	uint32_t rx_want;      /* gather at least this much buffer space per frame (with MRG) */
	bool broken;	       /* a queue violation: leave the device alone until reset */
	bool tap_failed;       /* the TAP returned a hard error: stop polling it */
	bool rx_wait;	       /* no RX buffers: TAP input not polled until an RX kick */
	bool tx_wait;	       /* the TAP was full: TX waits for EPOLLOUT */
	bool rx_more, tx_more; /* budget exhausted: come back without sleeping */
	uint32_t tap_events;   /* what the TAP is registered for in epfd (0 = not at all) */

	/* Scratch, allocated once. */
	struct virtq_chain *chain;
	struct iovec *rx_iov; /* RX_MAX_IOV + 1 */
	uint16_t *rx_heads;   /* VIRTQ_MAX_SIZE */
	uint32_t *rx_space;
	uint8_t *overflow; /* RX_MAX_FRAME */

	struct net_queue_stats stats[2];
	struct virtio_net *next; /* all NICs, for virtio_net_stop_all */
};

static pthread_mutex_t nics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct virtio_net *nics;

static struct virtio_net *to_net(struct virtio_dev *d)
{
	return d->priv;
}

/* ------------------------------------------------------------------ */
/* Features and configuration space                                    */
/* ------------------------------------------------------------------ */

static uint64_t net_features(struct virtio_dev *d)
{
	struct virtio_net *n = to_net(d);
	uint64_t f =
		F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_CSUM) |
		F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) |
		F(VIRTIO_NET_F_HOST_ECN) | F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) |
		F(VIRTIO_NET_F_GUEST_ECN) | F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_RING_F_EVENT_IDX) |
		F(VIRTIO_RING_F_INDIRECT_DESC) | F(VIRTIO_F_VERSION_1);

	if (n->config.mtu)
		f |= F(VIRTIO_NET_F_MTU);
	if (n->ufo)
		f |= F(VIRTIO_NET_F_HOST_UFO) | F(VIRTIO_NET_F_GUEST_UFO);
	return f;
}

/* mac, status, max_virtqueue_pairs, mtu: what a single-pair device without SPEED_DUPLEX has. */
#define NET_CONFIG_SIZE (offsetof(struct virtio_net_config, mtu) + sizeof(uint16_t))

static void net_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t size)
{
	struct virtio_net *n = to_net(d);
	const uint8_t *c = (const uint8_t *)&n->config;

	for (uint32_t i = 0; i < size; i++)
		data[i] = off + i < NET_CONFIG_SIZE ? c[off + i] : 0;
}

static void net_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t size)
{
	/* All fields are read-only for a VERSION_1 driver (the MAC is writable only in legacy). */
	log_once(LOG_WARN, "virtio-net", "%s: config space write at %u: ignored", d->name, off);
}

/* ------------------------------------------------------------------ */
/* Worker helpers                                                      */
/* ------------------------------------------------------------------ */

static void drain_eventfd(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

/* Register the TAP for exactly the events the state asks for. */
static void tap_update_events(struct virtio_net *n)
{
	struct epoll_event ev = {.data.u32 = EV_TAP};
	uint32_t want = 0;

	if (!n->broken && !n->tap_failed) {
		if (!n->rx_wait && n->vqs[VIRTIO_NET_RXQ].enabled)
			want |= EPOLLIN;
		if (n->tx_wait)
			want |= EPOLLOUT;
	}
	if (want == n->tap_events)
		return;
	ev.events = want;
	/* Deregistered rather than registered for nothing: EPOLLERR/HUP would still wake us. */
	if (!want)
		epoll_ctl(n->epfd, EPOLL_CTL_DEL, n->tap_fd, NULL);
	else if (epoll_ctl(n->epfd, n->tap_events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, n->tap_fd, &ev))
		log_once(LOG_ERROR, "virtio-net", "%s: epoll_ctl on the TAP: %s", n->name,
			 strerror(errno));
	n->tap_events = want;
}

/* A queue violation: NEEDS_RESET, and nothing more until the driver resets us. */
static void net_broken(struct virtio_net *n)
{
	if (n->broken)
		return;
	n->broken = true;
	log_warn("virtio-net", "%s: the driver corrupted a queue: device needs reset", n->name);
	epoll_ctl(n->epfd, EPOLL_CTL_DEL, n->vqs[VIRTIO_NET_RXQ].kick_fd, NULL);
	epoll_ctl(n->epfd, EPOLL_CTL_DEL, n->vqs[VIRTIO_NET_TXQ].kick_fd, NULL);
	tap_update_events(n);
	virtio_set_needs_reset(&n->vdev);
}

static void tap_hard_error(struct virtio_net *n, const char *op, int err)
{
	log_err("virtio-net", "%s: %s on the TAP: %s; the link is dead", n->name, op,
		strerror(err));
	n->tap_failed = true;
	/* TX drains (dropping) instead of waiting for an EPOLLOUT that never comes. */
	n->tx_wait = false;
	n->tx_more = true;
	tap_update_events(n);
}

static void notify(struct virtio_net *n, struct virtq *q, struct net_queue_stats *st)
{
	virtq_flush(q);
	if (virtq_should_interrupt(q)) {
		st->interrupts++;
		n->vdev.t->notify_queue(&n->vdev, q);
	}
}

/* ------------------------------------------------------------------ */
/* TX: guest -> TAP                                                    */
/* ------------------------------------------------------------------ */

static void process_tx(struct virtio_net *n)
{
	struct virtq *q = &n->vqs[VIRTIO_NET_TXQ];
	struct net_queue_stats *st = &n->stats[VIRTIO_NET_TXQ];
	struct virtq_chain *c = n->chain;
	unsigned int done = 0, pushed = 0;

	n->tx_more = false;
	if (!q->enabled || n->broken || n->tx_wait)
		return;
	virtq_disable_kicks(q);
	for (;;) {
		while (done < TX_BUDGET) {
			int r = virtq_pop(q, c);
			ssize_t w;

			if (r < 0) {
				net_broken(n);
				goto out;
			}
			if (r == 0)
				break;
			done++;
			if (c->out_bytes < HDR_LEN) {
				st->drop_short++;
				log_once(LOG_WARN, "virtio-net",
					 "%s: TX chain of %u bytes, shorter than the header",
					 n->name, c->out_bytes);
				virtq_push(q, c->head, 0);
				pushed++;
				continue;
			}
			if (n->tap_failed) {
				st->drop_error++;
				virtq_push(q, c->head, 0);
				pushed++;
				continue;
			}
			do {
				w = writev(n->tap_fd, c->iov, c->n_out);
			} while (w < 0 && errno == EINTR);
			if (w < 0 &&
			    (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
				/* The TAP is full: keep the chain for when it drains. */
				virtq_unpop(q, 1);
				st->eagain++;
				n->tx_wait = true;
				tap_update_events(n);
				goto out;
			}
			if (w < 0) {
				st->drop_error++;
				log_once(LOG_WARN, "virtio-net",
					 "%s: TAP refused a %u-byte frame: %s", n->name,
					 c->out_bytes - HDR_LEN, strerror(errno));
				if (errno == EBADFD || errno == EIO || errno == EBADF)
					tap_hard_error(n, "write", errno);
			} else {
				st->packets++;
				st->bytes += c->out_bytes - HDR_LEN;
			}
			virtq_push(q, c->head, 0);
			pushed++;
		}
		if (done >= TX_BUDGET) {
			n->tx_more = true; /* kicks stay off: we come back without being asked */
			break;
		}
		/* Sleep with kicks on, unless the driver queued more in between. */
		if (!virtq_enable_kicks(q))
			break;
		virtq_disable_kicks(q);
	}
out:
	if (pushed)
		notify(n, q, st);
}

/* ------------------------------------------------------------------ */
/* RX: TAP -> guest                                                    */
/* ------------------------------------------------------------------ */

/* Write 'len' bytes at byte offset 'off' of an iovec array (the header may be split). */
static void iov_write_at(const struct iovec *iov, unsigned int niov, size_t off, const void *src,
			 size_t len)
{
	const uint8_t *s = src;

	for (unsigned int i = 0; i < niov && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t k = iov[i].iov_len - off;

		if (k > len)
			k = len;
		memcpy((uint8_t *)iov[i].iov_base + off, s, k);
		s += k;
		len -= k;
		off = 0;
	}
}

/*
 * Gather RX buffers for one frame.  Returns the number of chains taken
 * (their heads, space and writable iovecs in n->rx_*), 0 if the ring is
 * empty, -1 on a queue violation.
 */
static int rx_gather(struct virtio_net *n, struct virtq *q, unsigned int *niov_out,
		     uint64_t *space_out, unsigned int *pushed)
{
	struct net_queue_stats *st = &n->stats[VIRTIO_NET_RXQ];
	struct virtq_chain *c = n->chain;
	unsigned int nch = 0, niov = 0;
	uint64_t space = 0;

	while (nch < VIRTQ_MAX_SIZE && (nch == 0 || (n->mrg && space < n->rx_want))) {
		int r = virtq_pop(q, c);

		if (r < 0)
			return -1;
		if (r == 0)
			break;
		if (c->in_bytes < HDR_LEN || c->n_in > RX_MAX_IOV) {
			if (nch) {
				/* Keep the order unpop relies on: this one goes first next time. */
				virtq_unpop(q, 1);
				break;
			}
			st->drop_short++;
			log_once(LOG_WARN, "virtio-net",
				 "%s: unusable RX buffer (%u bytes in %u pieces)", n->name,
				 c->in_bytes, c->n_in);
			virtq_push(q, c->head, 0);
			(*pushed)++;
			continue;
		}
		if (niov + c->n_in > RX_MAX_IOV) {
			virtq_unpop(q, 1);
			break;
		}
		memcpy(&n->rx_iov[niov], &c->iov[c->n_out], c->n_in * sizeof(struct iovec));
		niov += c->n_in;
		n->rx_heads[nch] = c->head;
		n->rx_space[nch] = c->in_bytes;
		space += c->in_bytes;
		nch++;
	}
	*niov_out = niov;
	*space_out = space;
	return (int)nch;
}

static void process_rx(struct virtio_net *n)
{
	struct virtq *q = &n->vqs[VIRTIO_NET_RXQ];
	struct net_queue_stats *st = &n->stats[VIRTIO_NET_RXQ];
	unsigned int frames = 0, pushed = 0;

	n->rx_more = false;
	if (!q->enabled || n->broken || n->rx_wait || n->tap_failed)
		return;
	virtq_disable_kicks(q);
	while (frames < RX_BUDGET) {
		unsigned int niov, k;
		uint64_t space, left;
		ssize_t r;
		int nch = rx_gather(n, q, &niov, &space, &pushed);

		if (nch < 0) {
			net_broken(n);
			break;
		}
		if (nch == 0) {
			/* No buffers: sleep on the RX kick, not on the TAP. */
			if (virtq_enable_kicks(q)) {
				virtq_disable_kicks(q);
				continue;
			}
			st->no_buffers++;
			n->rx_wait = true;
			tap_update_events(n);
			break;
		}
		n->rx_iov[niov].iov_base = n->overflow;
		n->rx_iov[niov].iov_len = RX_MAX_FRAME;
		do {
			r = readv(n->tap_fd, n->rx_iov, (int)niov + 1);
		} while (r < 0 && errno == EINTR);
		if (r <= 0) {
			virtq_unpop(q, (uint16_t)nch);
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				st->eagain++;
			} else {
				st->drop_error++;
				tap_hard_error(n, "read", r < 0 ? errno : EPIPE);
			}
			break;
		}
		frames++;
		if ((uint64_t)r > space) {
			/* Larger than the buffers offered: never truncate, drop. */
			st->drop_oversize++;
			log_once(
				LOG_WARN, "virtio-net",
				"%s: a %zd-byte frame did not fit the %llu bytes of RX buffers offered: dropped",
				n->name, r, (unsigned long long)space);
			virtq_unpop(q, (uint16_t)nch);
			continue;
		}
		if (r < HDR_LEN) {
			st->drop_short++;
			virtq_unpop(q, (uint16_t)nch);
			continue;
		}
		left = (uint64_t)r;
		for (k = 0; left; k++) {
			uint32_t len = left < n->rx_space[k] ? (uint32_t)left : n->rx_space[k];

			virtq_push(q, n->rx_heads[k], len);
			left -= len;
		}
		uint16_t nb = (uint16_t)k; /* little-endian guest-visible field */
		uint8_t nb_le[2] = {(uint8_t)nb, (uint8_t)(nb >> 8)};

		iov_write_at(n->rx_iov, niov, offsetof(struct virtio_net_hdr_v1, num_buffers),
			     nb_le, sizeof(nb_le));
		if ((unsigned int)nch > k)
			virtq_unpop(q, (uint16_t)(nch - (int)k));
		pushed += k;
		st->packets++;
		st->bytes += (uint64_t)r - HDR_LEN;
	}
	if (frames >= RX_BUDGET)
		n->rx_more = true;
	if (pushed)
		notify(n, q, st);
}

/* ------------------------------------------------------------------ */
/* The worker                                                          */
/* ------------------------------------------------------------------ */

static void *net_worker(void *opaque)
{
	struct virtio_net *n = opaque;
	struct epoll_event evs[8];

	/* Kicks that arrived before DRIVER_OK are still counted in the eventfds. */
	process_tx(n);
	process_rx(n);
	for (;;) {
		bool do_tx = n->tx_more, do_rx = n->rx_more;
		int k = epoll_wait(n->epfd, evs, ARRAY_SIZE(evs), do_tx || do_rx ? 0 : -1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			log_err("virtio-net", "%s: epoll_wait: %s", n->name, strerror(errno));
			break;
		}
		for (int i = 0; i < k; i++) {
			switch (evs[i].data.u32) {
			case EV_STOP:
				return NULL;
			case EV_TX_KICK:
				drain_eventfd(n->vqs[VIRTIO_NET_TXQ].kick_fd);
				n->stats[VIRTIO_NET_TXQ].kicks++;
				do_tx = true;
				break;
			case EV_RX_KICK:
				drain_eventfd(n->vqs[VIRTIO_NET_RXQ].kick_fd);
				n->stats[VIRTIO_NET_RXQ].kicks++;
				if (n->rx_wait) {
					n->rx_wait = false;
					tap_update_events(n);
				}
				do_rx = true;
				break;
			case EV_TAP:
				if ((evs[i].events & EPOLLOUT) && n->tx_wait) {
					n->tx_wait = false;
					tap_update_events(n);
					do_tx = true;
				}
				if (evs[i].events & EPOLLIN)
					do_rx = true;
				/* Reported even when not asked for: must not spin on it. */
				if ((evs[i].events & (EPOLLERR | EPOLLHUP)) &&
				    !(evs[i].events & EPOLLIN) && !n->tap_failed)
					tap_hard_error(n, "poll", EIO);
				break;
			}
		}
		if (n->broken)
			continue;
		if (do_tx)
			process_tx(n);
		if (do_rx)
			process_rx(n);
	}
	return NULL;
}

static int epoll_add(int epfd, int fd, uint32_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* TUN_F_* for what the guest said it can receive: never more. */
static unsigned int offload_flags(uint64_t f)
{
	unsigned int t = 0;

	if (!(f & F(VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	t |= TUN_F_CSUM;
	if (f & F(VIRTIO_NET_F_GUEST_TSO4))
		t |= TUN_F_TSO4;
	if (f & F(VIRTIO_NET_F_GUEST_TSO6))
		t |= TUN_F_TSO6;
	if ((f & F(VIRTIO_NET_F_GUEST_ECN)) && (t & (TUN_F_TSO4 | TUN_F_TSO6)))
		t |= TUN_F_TSO_ECN;
	if (f & F(VIRTIO_NET_F_GUEST_UFO))
		t |= TUN_F_UFO;
	return t;
}

/*
 * The largest frame (with header) the TAP can hand us: 64 KiB with guest GSO,
 * else one frame of the interface's MTU (+ Ethernet header and VLAN tag).
 * With MRG_RXBUF the worker gathers this much buffer space per frame.
 */
static uint32_t rx_frame_max(struct virtio_net *n, unsigned int offloads)
{
	struct ifreq ifr;
	uint32_t mtu = n->config.mtu > 1500 ? n->config.mtu : 1500;
	int s;

	if ((offloads & (TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_UFO)) || !n->is_tap || !n->ifname[0])
		return RX_MAX_FRAME;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return RX_MAX_FRAME;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", n->ifname);
	if (ioctl(s, SIOCGIFMTU, &ifr) < 0) {
		close(s);
		return RX_MAX_FRAME;
	}
	close(s);
	if ((uint32_t)ifr.ifr_mtu > mtu)
		mtu = (uint32_t)ifr.ifr_mtu;
	return mtu + HDR_LEN + 14 + 4 > RX_MAX_FRAME ? RX_MAX_FRAME : mtu + HDR_LEN + 14 + 4;
}

/* DRIVER_OK, under d->lock. */
static int net_activate(struct virtio_dev *d)
{
	struct virtio_net *n = to_net(d);
	uint64_t f = d->driver_features;
	unsigned int off = offload_flags(f);
	char tname[16];

	if (n->running)
		return 0;
	if (n->is_tap && tap_set_offload(n->tap_fd, off))
		/* Not fatal: the guest then simply gets fully checksummed, unsegmented frames. */
		log_warn("virtio-net", "%s: TUNSETOFFLOAD 0x%x: %s", n->name, off, strerror(errno));
	n->mrg = f & F(VIRTIO_NET_F_MRG_RXBUF);
	n->rx_want = rx_frame_max(n, off);
	n->broken = n->tap_failed = false;
	n->rx_wait = n->tx_wait = false;
	n->rx_more = n->tx_more = false;
	n->tap_events = 0;

	n->epfd = epoll_create1(EPOLL_CLOEXEC);
	n->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->epfd < 0 || n->stop_fd < 0 || epoll_add(n->epfd, n->stop_fd, EV_STOP) ||
	    (n->vqs[VIRTIO_NET_RXQ].enabled &&
	     epoll_add(n->epfd, n->vqs[VIRTIO_NET_RXQ].kick_fd, EV_RX_KICK)) ||
	    (n->vqs[VIRTIO_NET_TXQ].enabled &&
	     epoll_add(n->epfd, n->vqs[VIRTIO_NET_TXQ].kick_fd, EV_TX_KICK))) {
		log_err("virtio-net", "%s: worker setup: %s", n->name, strerror(errno));
		goto fail;
	}
	tap_update_events(n);
	if (pthread_create(&n->thread, NULL, net_worker, n)) {
		log_err("virtio-net", "%s: cannot start the worker thread", n->name);
		goto fail;
	}
	snprintf(tname, sizeof(tname), "ktvm-net%u-q0", n->index % 1000);
	pthread_setname_np(n->thread, tname);
	n->running = true;
	log_info("virtio-net", "%s: up (features 0x%llx, offloads 0x%x%s)", n->name,
		 (unsigned long long)f, off, n->mrg ? ", mergeable RX buffers" : "");
	return 0;
fail:
	if (n->epfd >= 0)
		close(n->epfd);
	if (n->stop_fd >= 0)
		close(n->stop_fd);
	n->epfd = n->stop_fd = -1;
	return -1;
}

/* Reset (status 0, FAILED) or teardown: stop and join the worker; the TAP stays open. */
static void net_reset(struct virtio_dev *d)
{
	struct virtio_net *n = to_net(d);
	uint64_t one = 1;

	if (!n->running)
		return;
	if (write(n->stop_fd, &one, sizeof(one)) < 0)
		log_err("virtio-net", "%s: cannot stop the worker: %s", n->name, strerror(errno));
	pthread_join(n->thread, NULL);
	n->running = false;
	close(n->epfd);
	close(n->stop_fd);
	n->epfd = n->stop_fd = -1;
	if (n->is_tap)
		tap_set_offload(n->tap_fd, 0);
}

static const struct virtio_dev_ops net_ops = {
	.features = net_features,
	.activate = net_activate,
	.reset = net_reset,
	.config_size = NET_CONFIG_SIZE,
	.config_read = net_config_read,
	.config_write = net_config_write,
};

/* ------------------------------------------------------------------ */
/* Construction                                                        */
/* ------------------------------------------------------------------ */

struct virtio_net *virtio_net_new(struct vm *vm, const struct net_config *cfg, unsigned int index,
				  int fd, bool fd_is_tap)
{
	struct virtio_net *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->vm = vm;
	n->tap_fd = fd;
	n->is_tap = fd_is_tap;
	n->epfd = n->stop_fd = -1;
	n->index = index;
	snprintf(n->name, sizeof(n->name), "net%u", index);
	n->chain = malloc(sizeof(*n->chain));
	n->rx_iov = calloc(RX_MAX_IOV + 1, sizeof(*n->rx_iov));
	n->rx_heads = calloc(VIRTQ_MAX_SIZE, sizeof(*n->rx_heads));
	n->rx_space = calloc(VIRTQ_MAX_SIZE, sizeof(*n->rx_space));
	n->overflow = malloc(RX_MAX_FRAME);
	if (!n->chain || !n->rx_iov || !n->rx_heads || !n->rx_space || !n->overflow)
		goto fail;
	n->ufo = fd_is_tap && tap_probe_ufo(fd);

	memcpy(n->config.mac, cfg->mac, sizeof(n->config.mac));
	n->config.status = VIRTIO_NET_S_LINK_UP;
	n->config.max_virtqueue_pairs = 0; /* single pair: no VIRTIO_NET_F_MQ */
	n->config.mtu = (uint16_t)cfg->mtu;

	for (unsigned int i = 0; i < 2; i++)
		virtq_init(&n->vqs[i], &vm->mem, VIRTIO_NET_QUEUE_SIZE);
	n->vdev.device_id = VIRTIO_ID_NET;
	n->vdev.name = n->name;
	n->vdev.ops = &net_ops;
	n->vdev.priv = n;
	n->vdev.num_queues = 2;
	n->vdev.vqs = n->vqs;
	if (virtio_dev_init(&n->vdev, vm))
		goto fail;
	return n;
fail:
	free(n->chain);
	free(n->rx_iov);
	free(n->rx_heads);
	free(n->rx_space);
	free(n->overflow);
	free(n);
	return NULL;
}

void virtio_net_destroy(struct virtio_net *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->vdev.lock);
	net_reset(&n->vdev);
	pthread_mutex_unlock(&n->vdev.lock);
	virtio_pci_destroy(n->vp);
	if (n->own_fd && n->tap_fd >= 0)
		close(n->tap_fd);
	pthread_mutex_destroy(&n->vdev.lock);
	free(n->chain);
	free(n->rx_iov);
	free(n->rx_heads);
	free(n->rx_space);
	free(n->overflow);
	free(n);
}

void virtio_net_stop_all(struct vm *vm)
{
	pthread_mutex_lock(&nics_lock);
	for (struct virtio_net *n = nics; n; n = n->next) {
		if (n->vm != vm)
			continue;
		pthread_mutex_lock(&n->vdev.lock);
		net_reset(&n->vdev);
		pthread_mutex_unlock(&n->vdev.lock);
	}
	pthread_mutex_unlock(&nics_lock);
}

struct virtio_dev *virtio_net_vdev(struct virtio_net *n)
{
	return &n->vdev;
}

const struct net_queue_stats *virtio_net_stats(const struct virtio_net *n, unsigned int queue)
{
	return queue < 2 ? &n->stats[queue] : NULL;
}

int virtio_net_create(struct vm *vm, const struct net_config *cfg, unsigned int index)
{
	char err[256], ifname[IFNAMSIZ] = "", mac[18];
	struct virtio_net *n;
	int fd;

	if (cfg->tap)
		fd = tap_open(cfg->tap, false, ifname, err, sizeof(err));
	else
		fd = tap_adopt(cfg->fd, ifname, err, sizeof(err));
	if (fd < 0) {
		if (cfg->tap)
			fprintf(stderr, "ktvm: --net tap=%s: %s\n", cfg->tap, err);
		else
			fprintf(stderr, "ktvm: --net fd=%d: %s\n", cfg->fd, err);
		return -1;
	}
	n = virtio_net_new(vm, cfg, index, fd, true);
	if (!n) {
		if (cfg->tap)
			close(fd);
		return -1;
	}
	n->own_fd = cfg->tap != NULL;
	snprintf(n->ifname, sizeof(n->ifname), "%s", ifname);
	if (cfg->queue_pairs > 1)
		log_warn("virtio-net",
			 "%s: queue_pairs=%u: multiqueue is not implemented yet, using 1", n->name,
			 cfg->queue_pairs);
	n->vp = virtio_pci_create(vm, &n->vdev, cfg->msix);
	if (!n->vp) {
		virtio_net_destroy(n);
		return -1;
	}
	/* The device lives as long as the VM (no hot-unplug). */
	pthread_mutex_lock(&nics_lock);
	n->next = nics;
	nics = n;
	pthread_mutex_unlock(&nics_lock);
	log_info("virtio-net", "%s: TAP %s, MAC %s%s%s", n->name, n->ifname,
		 net_mac_str(cfg->mac, mac, sizeof(mac)), n->ufo ? ", UFO" : "",
		 cfg->msix ? "" : ", no MSI-X");
	return 0;
}
