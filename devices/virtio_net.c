// SPDX-License-Identifier: MIT
/*
 * virtio-net.c - virtio-net over a TAP device, one or more queue pairs.
 *
 * Queue layout (virtio 1.2 5.1.2): rx0, tx0, rx1, tx1, ..., and with
 * multiqueue the control queue last (index 2N).  Multiqueue is offered only
 * when the configuration asks for more than one pair AND the transport
 * carries MSI-X (NetConfig's contract): otherwise the device is exactly a
 * single-pair device (no VIRTIO_NET_F_MQ, no control queue,
 * max_virtqueue_pairs 0), byte for byte.
 *
 * The data path is one worker thread per queue pair ("ktvm-net0-q3"), each
 * with its own TAP queue fd (IFF_MULTI_QUEUE), started when its pair becomes
 * active and stopped (joined) when it stops being so or at reset.  A worker
 * sleeps in epoll on its TAP queue fd and its two queues' kick eventfds (KVM
 * ioeventfds: a guest kick never exits to userspace), signals through its
 * queues' own MSI-X vectors, shares no lock with any other pair, and moves
 * frames without copying them:
 *
 *  TX  pop a chain, writev its device-readable buffers (12-byte vnet header
 *      + frame, straight from guest RAM) to the TAP, push it with length 0.
 *      With pcap= the frame is first copied once into a host buffer, which
 *      is what goes to both the TAP and the capture: the guest may rewrite
 *      its buffer at any time, and the capture must be what was sent.
 *      EAGAIN from the TAP: give the chain back, stop draining, wait for
 *      EPOLLOUT on the TAP.
 *  RX  pop chains until they hold the frame size expected next (with
 *      MRG_RXBUF: an EWMA of the frame lengths seen, 1.5x, at most the
 *      largest frame the guest may receive; one chain without), readv the
 *      next frame straight into their writable buffers, push the ones
 *      filled, keep the rest for the next frame.  A trailing host scratch
 *      buffer catches what did not fit: with MRG_RXBUF more chains are
 *      popped and that tail copied into them (the one copy, only for a
 *      frame larger than expected); a frame the ring has no room for is
 *      dropped and counted, never truncated.  No buffers: stop polling the
 *      TAP for input until the guest kicks the RX queue (no busy loop, and
 *      no stall when both the TAP queue and the ring are full, cf.
 *      CVE-2020-16843).
 *
 * The control queue has a thread of its own ("ktvm-net0-ctl"), never a data
 * path worker, so a command is always answered: Linux busy-waits for the
 * reply.  VQ_PAIRS_SET attaches/detaches TAP queues (TUNSETQUEUE) and
 * starts/stops pair workers; RX mode and MAC filter commands are acked (a
 * TAP delivers everything: ktvm behaves as promiscuous, which the spec
 * allows); GUEST_OFFLOADS_SET reprograms TUNSETOFFLOAD; anything unknown or
 * malformed gets VIRTIO_NET_ERR, and a chain with no writable byte for the
 * status is still returned (length 0) so the driver never spins.
 *
 * Used-ring updates and interrupts are batched per wake-up and suppressed
 * as the driver asks (EVENT_IDX or NO_INTERRUPT); kicks are suppressed while
 * a worker is draining.  A queue the guest corrupts (virtq_pop() == -1)
 * puts the device into NEEDS_RESET and the worker leaves it alone until the
 * driver resets it.
 *
 * Locking: workers and the control thread never take d->lock (reset holds
 * it while joining them); everything they call on the transport is
 * lock-free.  While the control thread runs, only it starts and stops pair
 * workers; reset joins it first.  The MAC in config space (ADDR_SET) is
 * under cfg_lock.  The statistics reader (main thread) takes d->lock to
 * look at queues a vCPU may be resetting, and loads what the workers change
 * with atomic loads (they store it with PUBLISH).
 */
#include <endian.h>
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
#include "vmm/net_config.h"
#include "vmm/net_pcap.h"
#include "vmm/seccomp.h"

#define HDR_LEN	      TAP_VNET_HDR_LEN /* struct virtio_net_hdr_v1: VERSION_1 always */
#define MAX_GSO_FRAME 65550u	       /* 64 KiB IP packet + Ethernet header + VLAN */
#define RX_MAX_FRAME  (HDR_LEN + MAX_GSO_FRAME)
#define RX_MAX_IOV    (UIO_MAXIOV - 1) /* one more for the overflow catcher */
#define TX_BUDGET     256	       /* chains per wake-up before looking at other work */
#define RX_BUDGET     256	       /* frames per wake-up */
#define CTRL_MAX_CMD  65536	       /* readable bytes of one control command */

#define F(bit) (1ULL << (bit))

/*
 * Counters have one writer (the queue's worker) and racy readers (the stats
 * reporter): relaxed atomic loads and stores, which cost a plain mov.
 */
#define STAT_ADD(field, v) \
	__atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (v), __ATOMIC_RELAXED)
#define STAT_INC(field) STAT_ADD(field, 1)

/*
 * Worker state the statistics reader shows (broken, waiting, more, TAP
 * events): one writer at a time, stored with a relaxed atomic store so a
 * reader on another thread sees a whole value (see virtio_net_queue_state).
 */
#define PUBLISH(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)
#define PEEK(field)	  __atomic_load_n(&(field), __ATOMIC_RELAXED)

enum { EV_STOP, EV_TAP, EV_RX_KICK, EV_TX_KICK, EV_CTRL_KICK };

/* One queue pair: its queues, its TAP queue fd and its worker. */
struct net_pair {
	struct virtio_net *n;
	unsigned int idx;
	struct virtq *rxq, *txq;
	int tap_fd;
	bool attached; /* the TAP queue is attached (multi-queue TAP only) */
	char name[24]; /* "net0", or "net0.q3" with several pairs */

	/* Worker.  Fields below are the worker's while it runs. */
	pthread_t thread;
	bool running;
	int stop_fd, epfd;
	bool broken;	       /* a queue violation: leave the pair alone until reset */
	bool tap_failed;       /* the TAP returned a hard error: stop polling it */
	bool rx_wait;	       /* no RX buffers: TAP input not polled until an RX kick */
	bool tx_wait;	       /* the TAP was full: TX waits for EPOLLOUT */
	bool rx_more, tx_more; /* budget exhausted: come back without sleeping */
	uint32_t tap_events;   /* what the TAP is registered for in epfd (0 = not at all) */

	/* Scratch, allocated when the pair first runs. */
	struct virtq_chain *chain;
	struct iovec tx_bounce; /* with pcap=: the TX frame copied into overflow */
	struct iovec *rx_iov;	/* RX_MAX_IOV + 1 */
	uint16_t *rx_heads;   /* VIRTQ_MAX_SIZE */
	uint32_t *rx_space;
	uint16_t *rx_iovn;    /* VIRTQ_MAX_SIZE: writable iovecs of each gathered chain */
	/*
	 * RX chains popped but not yet filled (the worker's, within one
	 * process_rx): rx_nch chains, rx_niov iovecs, rx_have bytes, at the
	 * front of rx_heads/rx_space/rx_iovn/rx_iov.  Kept from frame to frame
	 * so each buffer is popped once, and given back (unpopped) when
	 * process_rx returns.
	 */
	unsigned int rx_nch, rx_niov;
	uint64_t rx_have;
	/*
	 * With MRG_RXBUF: a moving average of the frame lengths received
	 * (header included), which sizes the gather.  It follows a larger
	 * frame at once and a smaller one by 1/16 of the difference: a frame
	 * larger than gathered costs a copy of its tail, a gather larger than
	 * the frame only a few iovecs more in readv.
	 */
	uint32_t rx_ewma;
	/*
	 * RX_MAX_FRAME bytes: RX's catcher for what did not fit the buffers,
	 * and, between RX passes, TX's bounce buffer when capturing.
	 */
	uint8_t *overflow;

	struct net_queue_stats stats[2]; /* [VIRTIO_NET_RXQ], [VIRTIO_NET_TXQ] */
};

struct virtio_net {
	struct virtio_dev vdev;
	struct virtq *vqs; /* 2 * npairs (+ 1 control queue with mq) */
	unsigned int npairs;
	bool mq; /* VIRTIO_NET_F_MQ + CTRL_VQ offered */
	struct net_pair *pairs;
	struct vm *vm;
	char name[16]; /* "net0" */
	unsigned int index;
	bool own_fd;
	bool is_tap;
	bool ufo; /* the TAP takes TUN_F_UFO */
	char ifname[IFNAMSIZ];
	int mtu_sock; /* SIOCGIFMTU at activation: opened at setup, no socket() under seccomp */
	pthread_mutex_t cfg_lock; /* config.mac: config reads vs. MAC_ADDR_SET */
	struct virtio_net_config config;

	/* Set at activation, before any worker starts; read-only while they run. */
	bool mrg;	  /* MRG_RXBUF negotiated */
	uint32_t rx_want; /* the largest frame (with header): the most gathered per frame (MRG) */

	/* The control thread (owns the fields below while it runs). */
	struct virtq *ctrlq; /* NULL unless CTRL_VQ was negotiated */
	pthread_t ctl_thread;
	bool ctl_running, ctl_broken;
	int ctl_stop_fd, ctl_epfd;
	struct virtq_chain *ctl_chain;
	uint8_t *ctl_buf; /* CTRL_MAX_CMD */
	atomic_uint active_pairs;
	uint64_t guest_offloads; /* current VIRTIO_NET_F_GUEST_* offloads */
	bool promisc, allmulti;
	struct net_ctrl_stats ctl_stats;
	struct net_pcap *pcap; /* pcap=FILE, or NULL: the data path tests it, nothing more */
};

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
	/* Only with multiqueue: a single-pair device stays exactly what it was. */
	if (n->mq)
		f |= F(VIRTIO_NET_F_MQ) | F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) |
		     F(VIRTIO_NET_F_CTRL_MAC_ADDR) | F(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS);
	return f;
}

/* mac, status, max_virtqueue_pairs, mtu: what a device without SPEED_DUPLEX has. */
#define NET_CONFIG_SIZE (offsetof(struct virtio_net_config, mtu) + sizeof(uint16_t))

static void net_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t size)
{
	struct virtio_net *n = to_net(d);
	const uint8_t *c = (const uint8_t *)&n->config;

	pthread_mutex_lock(&n->cfg_lock);
	for (uint32_t i = 0; i < size; i++)
		data[i] = off + i < NET_CONFIG_SIZE ? c[off + i] : 0;
	pthread_mutex_unlock(&n->cfg_lock);
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
static void tap_update_events(struct net_pair *p)
{
	struct epoll_event ev = {.data.u32 = EV_TAP};
	uint32_t want = 0;

	if (!p->broken && !p->tap_failed) {
		if (!p->rx_wait && p->rxq->enabled)
			want |= EPOLLIN;
		if (p->tx_wait)
			want |= EPOLLOUT;
	}
	if (want == p->tap_events)
		return;
	ev.events = want;
	/* Deregistered rather than registered for nothing: EPOLLERR/HUP would still wake us. */
	if (!want)
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->tap_fd, NULL);
	else if (epoll_ctl(p->epfd, p->tap_events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, p->tap_fd, &ev))
		log_once(LOG_ERROR, "virtio-net", "%s: epoll_ctl on the TAP: %s", p->name,
			 strerror(errno));
	PUBLISH(p->tap_events, want);
}

/* A queue violation: NEEDS_RESET, and nothing more until the driver resets us. */
static void net_broken(struct net_pair *p)
{
	if (p->broken)
		return;
	PUBLISH(p->broken, true);
	log_warn_rl("virtio-net", "%s: the driver corrupted a queue: device needs reset", p->name);
	epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->rxq->kick_fd, NULL);
	epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->txq->kick_fd, NULL);
	tap_update_events(p);
	virtio_set_needs_reset(&p->n->vdev);
}

/*
 * The TAP is gone (deleted on the host, or failing): tell the driver the
 * link is down (VIRTIO_NET_S_LINK_UP cleared, configuration interrupt), once
 * per NIC whichever pair sees it first.  It stays down: a deleted TAP does
 * not come back to this fd.
 */
static void link_down(struct virtio_net *n)
{
	bool was_up;

	pthread_mutex_lock(&n->cfg_lock);
	was_up = n->config.status & VIRTIO_NET_S_LINK_UP;
	n->config.status &= (uint16_t)~VIRTIO_NET_S_LINK_UP;
	pthread_mutex_unlock(&n->cfg_lock);
	if (was_up) {
		log_warn("virtio-net", "%s: link down", n->name);
		virtio_config_changed(&n->vdev);
	}
}

static void tap_hard_error(struct net_pair *p, const char *op, int err)
{
	log_err_rl("virtio-net", "%s: %s on the TAP: %s; the link is dead", p->name, op,
		   strerror(err));
	p->tap_failed = true;
	/* TX drains (dropping) instead of waiting for an EPOLLOUT that never comes. */
	PUBLISH(p->tx_wait, false);
	PUBLISH(p->tx_more, true);
	tap_update_events(p);
	link_down(p->n);
}

static void notify(struct net_pair *p, struct virtq *q, struct net_queue_stats *st)
{
	virtq_flush(q);
	if (virtq_should_interrupt(q)) {
		STAT_INC(st->interrupts);
		p->n->vdev.t->notify_queue(&p->n->vdev, q);
	} else {
		STAT_INC(st->irq_suppressed);
	}
}

/* ------------------------------------------------------------------ */
/* TX: guest -> TAP                                                    */
/* ------------------------------------------------------------------ */

/*
 * With pcap=: the chain's readable bytes, once, into p->overflow, described
 * by p->tx_bounce.  false: more than any TAP takes (a 64 KiB GSO frame and
 * its header); the frame is dropped rather than captured unlike what went.
 */
static bool tx_bounce(struct net_pair *p, const struct virtq_chain *c)
{
	size_t off = 0;

	if (c->out_bytes > RX_MAX_FRAME) {
		log_warn_rl("virtio-net",
			    "%s: TX chain of %u bytes: larger than any frame, dropped", p->name,
			    c->out_bytes);
		return false;
	}
	for (unsigned int i = 0; i < c->n_out; i++) {
		memcpy(p->overflow + off, c->iov[i].iov_base, c->iov[i].iov_len);
		off += c->iov[i].iov_len;
	}
	p->tx_bounce.iov_base = p->overflow;
	p->tx_bounce.iov_len = off;
	return true;
}

static void process_tx(struct net_pair *p)
{
	struct virtq *q = p->txq;
	struct net_queue_stats *st = &p->stats[VIRTIO_NET_TXQ];
	struct virtq_chain *c = p->chain;
	unsigned int done = 0, pushed = 0;

	PUBLISH(p->tx_more, false);
	if (!q->enabled || p->broken || p->tx_wait)
		return;
	virtq_disable_kicks(q);
	for (;;) {
		while (done < TX_BUDGET) {
			int r = virtq_pop(q, c);
			ssize_t w;

			if (r < 0) {
				net_broken(p);
				goto out;
			}
			if (r == 0)
				break;
			done++;
			if (c->out_bytes < HDR_LEN) {
				STAT_INC(st->drop_short);
				log_once(LOG_WARN, "virtio-net",
					 "%s: TX chain of %u bytes, shorter than the header",
					 p->name, c->out_bytes);
				virtq_push(q, c->head, 0);
				pushed++;
				continue;
			}
			if (p->tap_failed) {
				STAT_INC(st->drop_error);
				virtq_push(q, c->head, 0);
				pushed++;
				continue;
			}
			if (p->n->pcap && !tx_bounce(p, c)) {
				STAT_INC(st->drop_error);
				virtq_push(q, c->head, 0);
				pushed++;
				continue;
			}
			do {
				w = writev(p->tap_fd, p->n->pcap ? &p->tx_bounce : c->iov,
					   p->n->pcap ? 1 : c->n_out);
			} while (w < 0 && errno == EINTR);
			if (w < 0 &&
			    (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
				/* The TAP is full: keep the chain for when it drains. */
				virtq_unpop(q, 1);
				STAT_INC(st->eagain);
				PUBLISH(p->tx_wait, true);
				tap_update_events(p);
				goto out;
			}
			if (w < 0) {
				STAT_INC(st->drop_error);
				log_once(LOG_WARN, "virtio-net",
					 "%s: TAP refused a %u-byte frame: %s", p->name,
					 c->out_bytes - HDR_LEN, strerror(errno));
				/*
				 * EBADFD: the TAP was deleted (this fd is detached
				 * for good).  EIO is not fatal: tun returns it while
				 * the interface is down, and it may come up later.
				 */
				if (errno == EBADFD || errno == EBADF)
					tap_hard_error(p, "write", errno);
			} else {
				STAT_INC(st->packets);
				STAT_ADD(st->bytes, c->out_bytes - HDR_LEN);
				if (p->n->pcap)
					net_pcap_write(p->n->pcap, &p->tx_bounce, 1, HDR_LEN,
						       c->out_bytes - HDR_LEN);
			}
			virtq_push(q, c->head, 0);
			pushed++;
		}
		if (done >= TX_BUDGET) {
			PUBLISH(p->tx_more, true); /* kicks stay off: we come back without being asked */
			break;
		}
		/* Sleep with kicks on, unless the driver queued more in between. */
		if (!virtq_enable_kicks(q))
			break;
		virtq_disable_kicks(q);
	}
out:
	if (pushed)
		notify(p, q, st);
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
 * Gather RX buffers: add chains to the stash until it holds at least 'want'
 * bytes (with MRG_RXBUF; one chain without), the ring is empty, or a limit
 * (VIRTQ_MAX_SIZE chains, RX_MAX_IOV iovecs, an unusable chain after the
 * first) is reached.  Returns the number of chains stashed (their heads,
 * space and writable iovecs in p->rx_*), 0 if the ring is empty, -1 on a
 * queue violation.  The stash stays the last rx_nch chains popped.
 */
static int rx_gather(struct net_pair *p, struct virtq *q, uint64_t want, unsigned int *niov_out,
		     uint64_t *space_out, unsigned int *pushed)
{
	struct net_queue_stats *st = &p->stats[VIRTIO_NET_RXQ];
	struct virtq_chain *c = p->chain;
	unsigned int nch = p->rx_nch, niov = p->rx_niov;
	uint64_t space = p->rx_have;

	while (nch < VIRTQ_MAX_SIZE && (nch == 0 || (p->n->mrg && space < want))) {
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
			STAT_INC(st->drop_short);
			log_once(LOG_WARN, "virtio-net",
				 "%s: unusable RX buffer (%u bytes in %u pieces)", p->name,
				 c->in_bytes, c->n_in);
			virtq_push(q, c->head, 0);
			(*pushed)++;
			continue;
		}
		if (niov + c->n_in > RX_MAX_IOV) {
			virtq_unpop(q, 1);
			break;
		}
		memcpy(&p->rx_iov[niov], &c->iov[c->n_out], c->n_in * sizeof(struct iovec));
		niov += c->n_in;
		p->rx_heads[nch] = c->head;
		p->rx_space[nch] = c->in_bytes;
		p->rx_iovn[nch] = c->n_in;
		space += c->in_bytes;
		nch++;
	}
	p->rx_nch = nch;
	p->rx_niov = niov;
	p->rx_have = space;
	*niov_out = niov;
	*space_out = space;
	return (int)nch;
}

/* How much buffer space to gather for the next frame (with MRG_RXBUF). */
static uint64_t rx_target(const struct net_pair *p)
{
	uint64_t t = (uint64_t)p->rx_ewma + p->rx_ewma / 2;

	return t < p->n->rx_want ? t : p->n->rx_want;
}

static void rx_ewma_add(struct net_pair *p, uint64_t r)
{
	uint32_t len = r < RX_MAX_FRAME ? (uint32_t)r : RX_MAX_FRAME;

	if (len >= p->rx_ewma)
		p->rx_ewma = len;
	else
		p->rx_ewma -= (p->rx_ewma - len) / 16;
}

/*
 * A frame of r bytes was larger than the 'space' bytes gathered: its last
 * r - space bytes are in p->overflow.  Gather more chains for them and copy
 * them in.  true: the frame is whole in the stash's first *niov iovecs
 * (*niov, *space updated); false: the ring has no room for it (the stash
 * keeps whatever was gathered) or the queue is broken (*broken).
 */
static bool rx_complete(struct net_pair *p, struct virtq *q, uint64_t r, unsigned int *niov,
			uint64_t *space, unsigned int *pushed, bool *broken)
{
	unsigned int from = *niov;
	uint64_t had = *space;

	if (!p->n->mrg || r <= had || r - had > RX_MAX_FRAME)
		return false;
	if (rx_gather(p, q, r, niov, space, pushed) < 0) {
		*broken = true;
		return false;
	}
	if (*space < r)
		return false;
	/* The chains gathered before are full: the tail goes from the first new iovec on. */
	iov_write_at(p->rx_iov + from, *niov - from, 0, p->overflow, (size_t)(r - had));
	return true;
}

/* The first k gathered chains were filled: drop them from the front of the stash. */
static void rx_consume(struct net_pair *p, unsigned int k)
{
	unsigned int iovs = 0;
	uint64_t bytes = 0;

	for (unsigned int i = 0; i < k; i++) {
		iovs += p->rx_iovn[i];
		bytes += p->rx_space[i];
	}
	p->rx_nch -= k;
	p->rx_niov -= iovs;
	p->rx_have -= bytes;
	memmove(p->rx_heads, p->rx_heads + k, p->rx_nch * sizeof(*p->rx_heads));
	memmove(p->rx_space, p->rx_space + k, p->rx_nch * sizeof(*p->rx_space));
	memmove(p->rx_iovn, p->rx_iovn + k, p->rx_nch * sizeof(*p->rx_iovn));
	memmove(p->rx_iov, p->rx_iov + iovs, p->rx_niov * sizeof(*p->rx_iov));
}

/* Give the stash back to the ring (it is the last rx_nch chains popped). */
static void rx_unstash(struct net_pair *p, struct virtq *q)
{
	if (p->rx_nch)
		virtq_unpop(q, (uint16_t)p->rx_nch);
	p->rx_nch = p->rx_niov = 0;
	p->rx_have = 0;
}

static void process_rx(struct net_pair *p)
{
	struct virtq *q = p->rxq;
	struct net_queue_stats *st = &p->stats[VIRTIO_NET_RXQ];
	unsigned int frames = 0, pushed = 0;

	PUBLISH(p->rx_more, false);
	if (!q->enabled || p->broken || p->rx_wait || p->tap_failed)
		return;
	virtq_disable_kicks(q);
	while (frames < RX_BUDGET) {
		unsigned int niov, k;
		uint64_t space, left;
		ssize_t r;
		int nch = rx_gather(p, q, rx_target(p), &niov, &space, &pushed);
		bool broken = false;

		if (nch < 0) {
			net_broken(p);
			break;
		}
		if (nch == 0) {
			/* No buffers: sleep on the RX kick, not on the TAP. */
			if (virtq_enable_kicks(q)) {
				virtq_disable_kicks(q);
				continue;
			}
			STAT_INC(st->no_buffers);
			PUBLISH(p->rx_wait, true);
			tap_update_events(p);
			break;
		}
		p->rx_iov[niov].iov_base = p->overflow;
		p->rx_iov[niov].iov_len = RX_MAX_FRAME;
		do {
			r = readv(p->tap_fd, p->rx_iov, (int)niov + 1);
		} while (r < 0 && errno == EINTR);
		if (r <= 0) {
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				STAT_INC(st->eagain);
			} else {
				STAT_INC(st->drop_error);
				tap_hard_error(p, "read", r < 0 ? errno : EPIPE);
			}
			break;
		}
		frames++;
		if (p->n->mrg)
			rx_ewma_add(p, (uint64_t)r);
		if ((uint64_t)r > space &&
		    !rx_complete(p, q, (uint64_t)r, &niov, &space, &pushed, &broken)) {
			if (broken) {
				net_broken(p);
				break;
			}
			/* Larger than the buffers offered: never truncate, drop. */
			STAT_INC(st->drop_oversize);
			log_once(
				LOG_WARN, "virtio-net",
				"%s: a %zd-byte frame did not fit the %llu bytes of RX buffers offered: dropped",
				p->name, r, (unsigned long long)space);
			continue; /* the buffers stay stashed for the next frame */
		}
		if (r < HDR_LEN) {
			STAT_INC(st->drop_short);
			continue;
		}
		if (p->n->pcap)
			net_pcap_write(p->n->pcap, p->rx_iov, niov, HDR_LEN, (size_t)r - HDR_LEN);
		left = (uint64_t)r;
		for (k = 0; left; k++) {
			uint32_t len = left < p->rx_space[k] ? (uint32_t)left : p->rx_space[k];

			virtq_push(q, p->rx_heads[k], len);
			left -= len;
		}
		uint16_t nb = (uint16_t)k; /* little-endian guest-visible field */
		uint8_t nb_le[2] = {(uint8_t)nb, (uint8_t)(nb >> 8)};

		iov_write_at(p->rx_iov, niov, offsetof(struct virtio_net_hdr_v1, num_buffers),
			     nb_le, sizeof(nb_le));
		rx_consume(p, k);
		pushed += k;
		STAT_INC(st->packets);
		STAT_ADD(st->bytes, (uint64_t)r - HDR_LEN);
	}
	rx_unstash(p, q);
	if (frames >= RX_BUDGET)
		PUBLISH(p->rx_more, true);
	if (pushed)
		notify(p, q, st);
}

/* ------------------------------------------------------------------ */
/* The worker                                                          */
/* ------------------------------------------------------------------ */

static void *net_worker(void *opaque)
{
	struct net_pair *p = opaque;
	struct epoll_event evs[8];
	char tname[16];

	/* Named by itself (prctl): naming another thread opens /proc/.../comm. */
	snprintf(tname, sizeof(tname), "ktvm-net%u-q%u", p->n->index % 100, p->idx % 1000);
	pthread_setname_np(pthread_self(), tname);
	if (ktvm_seccomp_enter(KTVM_THREAD_NET_WORKER))
		return NULL;
	/* Kicks that arrived before DRIVER_OK are still counted in the eventfds. */
	process_tx(p);
	process_rx(p);
	for (;;) {
		bool do_tx = p->tx_more, do_rx = p->rx_more;
		int k = epoll_wait(p->epfd, evs, ARRAY_SIZE(evs), do_tx || do_rx ? 0 : -1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			log_err("virtio-net", "%s: epoll_wait: %s", p->name, strerror(errno));
			break;
		}
		for (int i = 0; i < k; i++) {
			switch (evs[i].data.u32) {
			case EV_STOP:
				return NULL;
			case EV_TX_KICK:
				drain_eventfd(p->txq->kick_fd);
				STAT_INC(p->stats[VIRTIO_NET_TXQ].kicks);
				do_tx = true;
				break;
			case EV_RX_KICK:
				drain_eventfd(p->rxq->kick_fd);
				STAT_INC(p->stats[VIRTIO_NET_RXQ].kicks);
				if (p->rx_wait) {
					PUBLISH(p->rx_wait, false);
					tap_update_events(p);
				}
				do_rx = true;
				break;
			case EV_TAP:
				if ((evs[i].events & EPOLLOUT) && p->tx_wait) {
					PUBLISH(p->tx_wait, false);
					tap_update_events(p);
					do_tx = true;
				}
				if (evs[i].events & EPOLLIN)
					do_rx = true;
				/* Reported even when not asked for: must not spin on it. */
				if ((evs[i].events & (EPOLLERR | EPOLLHUP)) &&
				    !(evs[i].events & EPOLLIN) && !p->tap_failed)
					tap_hard_error(p, "poll", EIO);
				break;
			}
		}
		if (p->broken)
			continue;
		if (do_tx)
			process_tx(p);
		if (do_rx)
			process_rx(p);
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

#define GUEST_OFFLOAD_BITS                                                                      \
	(F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) | \
	 F(VIRTIO_NET_F_GUEST_ECN) | F(VIRTIO_NET_F_GUEST_UFO))

/*
 * The largest frame (with header) the TAP can hand us: 64 KiB with guest GSO,
 * else one frame of the interface's MTU (+ Ethernet header and VLAN tag).
 * With MRG_RXBUF the worker gathers at most this much buffer space before
 * a read (more only to complete a frame that turns out larger).
 */
static uint32_t rx_frame_max(struct virtio_net *n, unsigned int offloads)
{
	struct ifreq ifr;
	uint32_t mtu = n->config.mtu > 1500 ? n->config.mtu : 1500;
	int s;

	if ((offloads & (TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_UFO)) || !n->is_tap || !n->ifname[0])
		return RX_MAX_FRAME;
	s = n->mtu_sock;
	if (s < 0)
		return RX_MAX_FRAME;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", n->ifname);
	if (ioctl(s, SIOCGIFMTU, &ifr) < 0)
		return RX_MAX_FRAME;
	if ((uint32_t)ifr.ifr_mtu > mtu)
		mtu = (uint32_t)ifr.ifr_mtu;
	return mtu + HDR_LEN + 14 + 4 > RX_MAX_FRAME ? RX_MAX_FRAME : mtu + HDR_LEN + 14 + 4;
}

/* ------------------------------------------------------------------ */
/* Pair workers and TAP queues                                         */
/* ------------------------------------------------------------------ */

/* Attach or detach a pair's TAP queue (multi-queue TAPs only). 0 or -1. */
static int pair_attach(struct net_pair *p, bool attach)
{
	struct virtio_net *n = p->n;

	if (!n->is_tap || n->npairs < 2 || p->attached == attach)
		return 0;
	if (tap_set_queue(p->tap_fd, attach)) {
		log_warn_rl("virtio-net", "%s: TUNSETQUEUE %s: %s", p->name,
			    attach ? "attach" : "detach", strerror(errno));
		return -1;
	}
	p->attached = attach;
	return 0;
}

static int pair_alloc_scratch(struct net_pair *p)
{
	if (p->chain)
		return 0;
	p->chain = malloc(sizeof(*p->chain));
	p->rx_iov = calloc(RX_MAX_IOV + 1, sizeof(*p->rx_iov));
	p->rx_heads = calloc(VIRTQ_MAX_SIZE, sizeof(*p->rx_heads));
	p->rx_space = calloc(VIRTQ_MAX_SIZE, sizeof(*p->rx_space));
	p->rx_iovn = calloc(VIRTQ_MAX_SIZE, sizeof(*p->rx_iovn));
	p->overflow = malloc(RX_MAX_FRAME);
	if (p->chain && p->rx_iov && p->rx_heads && p->rx_space && p->rx_iovn && p->overflow)
		return 0;
	free(p->rx_iovn);
	p->rx_iovn = NULL;
	free(p->chain);
	free(p->rx_iov);
	free(p->rx_heads);
	free(p->rx_space);
	free(p->overflow);
	p->chain = NULL;
	p->rx_iov = NULL;
	p->rx_heads = NULL;
	p->rx_space = NULL;
	p->overflow = NULL;
	return -1;
}

static void pair_free_scratch(struct net_pair *p)
{
	free(p->rx_iovn);
	free(p->chain);
	free(p->rx_iov);
	free(p->rx_heads);
	free(p->rx_space);
	free(p->overflow);
}

static int pair_start(struct net_pair *p)
{

	if (p->running)
		return 0;
	/* Published: VQ_PAIRS_SET restarts a pair while the statistics may look at it. */
	PUBLISH(p->broken, false);
	p->tap_failed = false;
	PUBLISH(p->rx_wait, false);
	PUBLISH(p->tx_wait, false);
	PUBLISH(p->rx_more, false);
	PUBLISH(p->tx_more, false);
	PUBLISH(p->tap_events, 0);
	p->rx_ewma = HDR_LEN + 1514; /* until frames say otherwise: one of the usual MTU */
	if (pair_alloc_scratch(p)) {
		log_err_rl("virtio-net", "%s: out of memory", p->name);
		return -1;
	}
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	p->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->epfd < 0 || p->stop_fd < 0 || epoll_add(p->epfd, p->stop_fd, EV_STOP) ||
	    (p->rxq->enabled && epoll_add(p->epfd, p->rxq->kick_fd, EV_RX_KICK)) ||
	    (p->txq->enabled && epoll_add(p->epfd, p->txq->kick_fd, EV_TX_KICK))) {
		log_err_rl("virtio-net", "%s: worker setup: %s", p->name, strerror(errno));
		goto fail;
	}
	tap_update_events(p);
	if (pthread_create(&p->thread, NULL, net_worker, p)) {
		log_err_rl("virtio-net", "%s: cannot start the worker thread", p->name);
		goto fail;
	}
	PUBLISH(p->running, true);
	return 0;
fail:
	if (p->epfd >= 0)
		close(p->epfd);
	if (p->stop_fd >= 0)
		close(p->stop_fd);
	p->epfd = p->stop_fd = -1;
	return -1;
}

static void stop_thread(pthread_t thread, int stop_fd, const char *name)
{
	uint64_t one = 1;

	if (write(stop_fd, &one, sizeof(one)) < 0)
		log_err_rl("virtio-net", "%s: cannot stop a thread: %s", name, strerror(errno));
	pthread_join(thread, NULL);
}

static void pair_stop(struct net_pair *p)
{
	if (!p->running)
		return;
	stop_thread(p->thread, p->stop_fd, p->name);
	PUBLISH(p->running, false);
	close(p->epfd);
	close(p->stop_fd);
	p->epfd = p->stop_fd = -1;
}

/*
 * Make exactly pairs [0, want) active: stop the workers of the pairs that
 * go and detach their TAP queues, attach and start the ones that come.
 * Control thread or activation only.  0, or -1 (then as many as could be).
 */
static int set_active_pairs(struct virtio_net *n, unsigned int want)
{
	unsigned int cur = atomic_load(&n->active_pairs);

	for (unsigned int i = want; i < cur; i++) {
		pair_stop(&n->pairs[i]);
		pair_attach(&n->pairs[i], false);
	}
	for (unsigned int i = cur; i < want; i++) {
		if (pair_attach(&n->pairs[i], true) || pair_start(&n->pairs[i])) {
			pair_attach(&n->pairs[i], false);
			atomic_store(&n->active_pairs, i);
			return -1;
		}
	}
	atomic_store(&n->active_pairs, want);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The control queue                                                   */
/* ------------------------------------------------------------------ */

static uint32_t get_le32(const uint8_t *b)
{
	return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

/* VIRTIO_NET_CTRL_MAC_TABLE_SET: two tables, each a le32 count and that many MACs. */
static bool mac_tables_valid(const uint8_t *d, size_t len)
{
	for (int t = 0; t < 2; t++) {
		uint64_t entries;

		if (len < 4)
			return false;
		entries = get_le32(d);
		d += 4;
		len -= 4;
		if (entries * 6 > len)
			return false;
		d += entries * 6;
		len -= entries * 6;
	}
	return len == 0;
}

/* One command: VIRTIO_NET_OK or VIRTIO_NET_ERR. */
static uint8_t ctrl_command(struct virtio_net *n, uint8_t cls, uint8_t cmd, const uint8_t *d,
			    size_t len)
{
	uint64_t f = n->vdev.driver_features;

	switch (cls) {
	case VIRTIO_NET_CTRL_RX:
		if (!(f & F(VIRTIO_NET_F_CTRL_RX)) || len != 1)
			return VIRTIO_NET_ERR;
		/* A TAP delivers every frame: promiscuous either way, which the spec allows. */
		if (cmd == VIRTIO_NET_CTRL_RX_PROMISC)
			n->promisc = d[0];
		else if (cmd == VIRTIO_NET_CTRL_RX_ALLMULTI)
			n->allmulti = d[0];
		else
			return VIRTIO_NET_ERR; /* ALLUNI..NOBCAST need CTRL_RX_EXTRA */
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_MAC:
		if (cmd == VIRTIO_NET_CTRL_MAC_TABLE_SET) {
			if (!(f & F(VIRTIO_NET_F_CTRL_RX)) || !mac_tables_valid(d, len))
				return VIRTIO_NET_ERR;
			return VIRTIO_NET_OK; /* no filtering: the table is accepted as is */
		}
		if (cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET) {
			if (!(f & F(VIRTIO_NET_F_CTRL_MAC_ADDR)) || len != 6 || (d[0] & 1))
				return VIRTIO_NET_ERR;
			pthread_mutex_lock(&n->cfg_lock);
			memcpy(n->config.mac, d, 6);
			pthread_mutex_unlock(&n->cfg_lock);
			return VIRTIO_NET_OK;
		}
		return VIRTIO_NET_ERR;
	case VIRTIO_NET_CTRL_ANNOUNCE:
		/* ktvm never asks for an announcement (no migration): an ack is a no-op. */
		return cmd == VIRTIO_NET_CTRL_ANNOUNCE_ACK && len == 0 ? VIRTIO_NET_OK
								       : VIRTIO_NET_ERR;
	case VIRTIO_NET_CTRL_MQ: {
		unsigned int want;

		if (cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || !(f & F(VIRTIO_NET_F_MQ)) || len != 2)
			return VIRTIO_NET_ERR;
		want = d[0] | d[1] << 8;
		if (want < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || want > n->npairs) {
			log_once(LOG_WARN, "virtio-net",
				 "%s: the driver asked for %u queue pairs of %u: refused", n->name,
				 want, n->npairs);
			return VIRTIO_NET_ERR;
		}
		if (set_active_pairs(n, want))
			return VIRTIO_NET_ERR;
		STAT_INC(n->ctl_stats.pairs_set);
		log_info_rl("virtio-net", "%s: %u of %u queue pairs active", n->name, want,
			    n->npairs);
		return VIRTIO_NET_OK;
	}
	case VIRTIO_NET_CTRL_GUEST_OFFLOADS: {
		uint64_t want = 0;

		if (cmd != VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET ||
		    !(f & F(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS)) || len != 8)
			return VIRTIO_NET_ERR;
		for (int i = 7; i >= 0; i--)
			want = want << 8 | d[i];
		/* Only offloads negotiated at feature time may be turned (back) on. */
		if (want & ~(f & GUEST_OFFLOAD_BITS))
			return VIRTIO_NET_ERR;
		if (n->is_tap && tap_set_offload(n->pairs[0].tap_fd, offload_flags(want))) {
			log_warn_rl("virtio-net", "%s: TUNSETOFFLOAD 0x%x: %s", n->name,
				    offload_flags(want), strerror(errno));
			return VIRTIO_NET_ERR;
		}
		n->guest_offloads = want;
		return VIRTIO_NET_OK;
	}
	default:
		return VIRTIO_NET_ERR;
	}
}

/* The first device-writable byte of a chain, or NULL. */
static uint8_t *status_byte(struct virtq_chain *c)
{
	for (unsigned int i = c->n_out; i < (unsigned int)c->n_out + c->n_in; i++)
		if (c->iov[i].iov_len)
			return c->iov[i].iov_base;
	return NULL;
}

/* Answer one command chain; returns the used length (1, or 0 with no status byte). */
static uint32_t ctrl_one(struct virtio_net *n, struct virtq_chain *c)
{
	uint8_t *status = status_byte(c);
	uint8_t ack = VIRTIO_NET_ERR;
	size_t len = 0;

	if (c->out_bytes < sizeof(struct virtio_net_ctrl_hdr)) {
		STAT_INC(n->ctl_stats.malformed);
		log_once(LOG_WARN, "virtio-net", "%s: control command of %u bytes: no header",
			 n->name, c->out_bytes);
	} else if (c->out_bytes > CTRL_MAX_CMD) {
		STAT_INC(n->ctl_stats.malformed);
		log_once(LOG_WARN, "virtio-net", "%s: control command of %u bytes: too long",
			 n->name, c->out_bytes);
	} else {
		/* Gather: the header and data may be split across descriptors any way. */
		for (unsigned int i = 0; i < c->n_out; i++) {
			if (!c->iov[i].iov_len)
				continue;
			memcpy(n->ctl_buf + len, c->iov[i].iov_base, c->iov[i].iov_len);
			len += c->iov[i].iov_len;
		}
		if (status)
			ack = ctrl_command(n, n->ctl_buf[0], n->ctl_buf[1], n->ctl_buf + 2,
					   len - 2);
	}
	if (!status) {
		STAT_INC(n->ctl_stats.no_status);
		log_once(LOG_WARN, "virtio-net",
			 "%s: control command without a writable status byte: returned unanswered",
			 n->name);
		return 0;
	}
	*status = ack;
	if (ack == VIRTIO_NET_OK)
		STAT_INC(n->ctl_stats.ok);
	else
		STAT_INC(n->ctl_stats.err);
	return 1;
}

static void process_ctrl(struct virtio_net *n)
{
	struct virtq *q = n->ctrlq;
	unsigned int pushed = 0;

	if (!q || !q->enabled || n->ctl_broken)
		return;
	virtq_disable_kicks(q);
	for (;;) {
		int r = virtq_pop(q, n->ctl_chain);

		if (r < 0) {
			n->ctl_broken = true;
			log_warn_rl("virtio-net", "%s: the driver corrupted the control queue",
				    n->name);
			epoll_ctl(n->ctl_epfd, EPOLL_CTL_DEL, q->kick_fd, NULL);
			virtio_set_needs_reset(&n->vdev);
			break;
		}
		if (r == 0) {
			if (!virtq_enable_kicks(q))
				break;
			virtq_disable_kicks(q);
			continue;
		}
		virtq_push(q, n->ctl_chain->head, ctrl_one(n, n->ctl_chain));
		/* Publish each answer at once: the driver is spinning on it. */
		virtq_flush(q);
		pushed++;
	}
	if (pushed && virtq_should_interrupt(q))
		n->vdev.t->notify_queue(&n->vdev, q);
}

static void *ctl_worker(void *opaque)
{
	struct virtio_net *n = opaque;
	struct epoll_event evs[2];
	char tname[16];

	snprintf(tname, sizeof(tname), "ktvm-net%u-ctl", n->index % 100);
	pthread_setname_np(pthread_self(), tname);
	if (ktvm_seccomp_enter(KTVM_THREAD_NET_CTL))
		return NULL;
	process_ctrl(n);
	for (;;) {
		int k = epoll_wait(n->ctl_epfd, evs, ARRAY_SIZE(evs), -1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			log_err("virtio-net", "%s: epoll_wait: %s", n->name, strerror(errno));
			break;
		}
		for (int i = 0; i < k; i++) {
			if (evs[i].data.u32 == EV_STOP)
				return NULL;
			drain_eventfd(n->ctrlq->kick_fd);
		}
		process_ctrl(n);
	}
	return NULL;
}

static int ctl_start(struct virtio_net *n)
{
	n->ctl_broken = false;
	n->ctl_epfd = epoll_create1(EPOLL_CLOEXEC);
	n->ctl_stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->ctl_epfd < 0 || n->ctl_stop_fd < 0 ||
	    epoll_add(n->ctl_epfd, n->ctl_stop_fd, EV_STOP) ||
	    epoll_add(n->ctl_epfd, n->ctrlq->kick_fd, EV_CTRL_KICK) ||
	    pthread_create(&n->ctl_thread, NULL, ctl_worker, n)) {
		log_err_rl("virtio-net", "%s: cannot start the control thread: %s", n->name,
			   strerror(errno));
		if (n->ctl_epfd >= 0)
			close(n->ctl_epfd);
		if (n->ctl_stop_fd >= 0)
			close(n->ctl_stop_fd);
		n->ctl_epfd = n->ctl_stop_fd = -1;
		return -1;
	}
	n->ctl_running = true;
	return 0;
}

static void ctl_stop(struct virtio_net *n)
{
	if (!n->ctl_running)
		return;
	stop_thread(n->ctl_thread, n->ctl_stop_fd, n->name);
	n->ctl_running = false;
	close(n->ctl_epfd);
	close(n->ctl_stop_fd);
	n->ctl_epfd = n->ctl_stop_fd = -1;
}

/* ------------------------------------------------------------------ */
/* Activation and reset                                                */
/* ------------------------------------------------------------------ */

static void net_reset(struct virtio_dev *d);

/* DRIVER_OK, under d->lock. */
static int net_activate(struct virtio_dev *d)
{
	struct virtio_net *n = to_net(d);
	uint64_t f = d->driver_features;
	unsigned int off = offload_flags(f);

	if (n->pairs[0].running)
		return 0;
	if (n->is_tap && tap_set_offload(n->pairs[0].tap_fd, off))
		/* Not fatal: the guest then simply gets fully checksummed, unsegmented frames. */
		log_warn_rl("virtio-net", "%s: TUNSETOFFLOAD 0x%x: %s", n->name, off,
			    strerror(errno));
	n->guest_offloads = f & GUEST_OFFLOAD_BITS;
	n->mrg = f & F(VIRTIO_NET_F_MRG_RXBUF);
	/* An upper bound for any later GUEST_OFFLOADS_SET (a subset of these). */
	n->rx_want = rx_frame_max(n, off);
	n->promisc = n->allmulti = false;

	/* Only pair 0 until the driver says otherwise (virtio 1.2 5.1.6.5.5). */
	for (unsigned int i = 1; i < n->npairs; i++)
		pair_attach(&n->pairs[i], false);
	if (pair_attach(&n->pairs[0], true) || pair_start(&n->pairs[0]))
		return -1;
	atomic_store(&n->active_pairs, 1);

	/* The control queue is 2N with MQ negotiated, 2 without (5.1.2). */
	n->ctrlq = NULL;
	if (n->mq && (f & F(VIRTIO_NET_F_CTRL_VQ))) {
		struct virtq *q = &n->vqs[(f & F(VIRTIO_NET_F_MQ)) ? 2 * n->npairs : 2];

		if (q->enabled) {
			n->ctrlq = q;
			if (ctl_start(n)) {
				net_reset(d);
				return -1;
			}
		}
	}
	log_info_rl("virtio-net", "%s: up (features 0x%llx, offloads 0x%x%s, %u queue pair%s%s)",
		    n->name, (unsigned long long)f, off, n->mrg ? ", mergeable RX buffers" : "",
		    n->npairs, n->npairs == 1 ? "" : "s", n->ctrlq ? ", control queue" : "");
	return 0;
}

/* Reset (status 0, FAILED) or teardown: stop and join every thread; the TAP stays open. */
static void net_reset(struct virtio_dev *d)
{
	struct virtio_net *n = to_net(d);
	bool was = false;

	ctl_stop(n);
	n->ctrlq = NULL;
	for (unsigned int i = 0; i < n->npairs; i++) {
		was |= n->pairs[i].running;
		pair_stop(&n->pairs[i]);
	}
	atomic_store(&n->active_pairs, 0);
	if (was && n->is_tap)
		tap_set_offload(n->pairs[0].tap_fd, 0);
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

unsigned int virtio_net_pairs_for(const struct net_config *cfg, bool transport_msix)
{
	return cfg->queue_pairs > 1 && transport_msix ? cfg->queue_pairs : 1;
}

static void net_free(struct virtio_net *n)
{
	if (n->pairs)
		for (unsigned int i = 0; i < n->npairs; i++)
			pair_free_scratch(&n->pairs[i]);
	free(n->pairs);
	free(n->vqs);
	free(n->ctl_chain);
	free(n->ctl_buf);
	net_pcap_close(n->pcap); /* the workers are stopped: flushes the capture */
	if (n->mtu_sock >= 0)
		close(n->mtu_sock);
	free(n);
}

struct virtio_net *virtio_net_new_mq(struct vm *vm, const struct net_config *cfg,
				     unsigned int index, const int *fds, unsigned int nfds,
				     bool fd_is_tap, bool transport_msix)
{
	unsigned int npairs = virtio_net_pairs_for(cfg, transport_msix);
	struct virtio_net *n;
	unsigned int nq;

	if (!nfds || nfds != npairs || npairs > NET_MAX_QUEUE_PAIRS) {
		log_err("virtio-net", "net%u: %u backend fds for %u queue pairs", index, nfds,
			npairs);
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->vm = vm;
	n->npairs = npairs;
	n->mq = npairs > 1;
	nq = 2 * npairs + (n->mq ? 1 : 0);
	n->is_tap = fd_is_tap;
	n->mtu_sock = fd_is_tap ? socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0) : -1;
	n->ctl_epfd = n->ctl_stop_fd = -1;
	n->index = index;
	snprintf(n->name, sizeof(n->name), "net%u", index);
	n->vqs = calloc(nq, sizeof(*n->vqs));
	n->pairs = calloc(npairs, sizeof(*n->pairs));
	if (n->mq) {
		n->ctl_chain = malloc(sizeof(*n->ctl_chain));
		n->ctl_buf = malloc(CTRL_MAX_CMD);
	}
	if (!n->vqs || !n->pairs || (n->mq && (!n->ctl_chain || !n->ctl_buf)))
		goto fail;
	for (unsigned int i = 0; i < npairs; i++) {
		struct net_pair *p = &n->pairs[i];

		p->n = n;
		p->idx = i;
		p->rxq = &n->vqs[2 * i];
		p->txq = &n->vqs[2 * i + 1];
		p->tap_fd = fds[i];
		/* A freshly opened queue is attached; activation detaches all but pair 0. */
		p->attached = true;
		p->epfd = p->stop_fd = -1;
		if (npairs == 1)
			snprintf(p->name, sizeof(p->name), "%s", n->name);
		else
			snprintf(p->name, sizeof(p->name), "%s.q%u", n->name, i);
	}
	n->ufo = fd_is_tap && tap_probe_ufo(fds[0]);
	if (cfg->pcap) {
		char err[256];

		n->pcap = net_pcap_open(cfg->pcap, err, sizeof(err));
		if (!n->pcap) {
			fprintf(stderr, "ktvm: --net pcap=%s: %s\n", cfg->pcap, err);
			goto fail;
		}
	}

	pthread_mutex_init(&n->cfg_lock, NULL);
	memcpy(n->config.mac, cfg->mac, sizeof(n->config.mac));
	n->config.status = VIRTIO_NET_S_LINK_UP;
	/* Single pair: 0 and no VIRTIO_NET_F_MQ, byte-identical to queue_pairs=1. */
	n->config.max_virtqueue_pairs = n->mq ? (uint16_t)npairs : 0;
	n->config.mtu = (uint16_t)cfg->mtu;

	for (unsigned int i = 0; i < nq; i++)
		virtq_init(&n->vqs[i], &vm->mem, VIRTIO_NET_QUEUE_SIZE);
	n->vdev.device_id = VIRTIO_ID_NET;
	n->vdev.name = n->name;
	n->vdev.ops = &net_ops;
	n->vdev.priv = n;
	n->vdev.num_queues = nq;
	n->vdev.vqs = n->vqs;
	if (virtio_dev_init(&n->vdev, vm)) {
		pthread_mutex_destroy(&n->cfg_lock);
		goto fail;
	}
	return n;
fail:
	net_free(n);
	return NULL;
}

struct virtio_net *virtio_net_new(struct vm *vm, const struct net_config *cfg, unsigned int index,
				  int fd, bool fd_is_tap)
{
	return virtio_net_new_mq(vm, cfg, index, &fd, 1, fd_is_tap, false);
}

void virtio_net_destroy(struct virtio_net *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->vdev.lock);
	net_reset(&n->vdev);
	pthread_mutex_unlock(&n->vdev.lock);
	virtio_detach(&n->vdev);
	if (n->own_fd)
		for (unsigned int i = 0; i < n->npairs; i++)
			if (n->pairs[i].tap_fd >= 0)
				close(n->pairs[i].tap_fd);
	pthread_mutex_destroy(&n->vdev.lock);
	pthread_mutex_destroy(&n->cfg_lock);
	net_free(n);
}

struct virtio_dev *virtio_net_vdev(struct virtio_net *n)
{
	return &n->vdev;
}

const struct net_queue_stats *virtio_net_stats(const struct virtio_net *n, unsigned int queue)
{
	return queue < 2 * n->npairs ? &n->pairs[queue / 2].stats[queue % 2] : NULL;
}

/*
 * Main thread (statistics), while a vCPU may be resetting the device: under
 * the device lock, which virtio_set_status() (reset zeroes the queues) and
 * queue enabling run under, so the ring pointers and size are one queue's
 * at one time; what the worker changes meanwhile is loaded atomically.
 */
bool virtio_net_queue_state(struct virtio_net *n, unsigned int queue, struct net_queue_state *out)
{
	const struct net_pair *p;
	const struct virtq *q;
	bool rx = queue % 2 == VIRTIO_NET_RXQ;

	if (queue >= 2 * n->npairs)
		return false;
	p = &n->pairs[queue / 2];
	q = rx ? p->rxq : p->txq;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&n->vdev.lock);
	out->enabled = q->enabled;
	out->broken = PEEK(q->broken) || PEEK(p->broken);
	out->waiting = rx ? PEEK(p->rx_wait) : PEEK(p->tx_wait);
	out->more = rx ? PEEK(p->rx_more) : PEEK(p->tx_more);
	out->size = q->size;
	out->last_avail = PEEK(q->last_avail_idx);
	out->used_idx = PEEK(q->published_used);
	out->signalled_used = PEEK(q->signalled_used);
	out->msix_vector = q->msix_vector;
	out->tap_events = PEEK(p->tap_events);
	if (q->enabled && q->avail && q->used) {
		/* Guest RAM: the guest writes it at any time, so each field is one load. */
		out->avail_idx = le16toh(PEEK(q->avail->idx));
		out->avail_flags = le16toh(PEEK(q->avail->flags));
		out->used_flags = le16toh(PEEK(q->used->flags));
		out->used_event = le16toh(PEEK(q->avail->ring[q->size]));
		out->avail_event = le16toh(PEEK(*(const uint16_t *)&q->used->ring[q->size]));
	}
	pthread_mutex_unlock(&n->vdev.lock);
	return true;
}

unsigned int virtio_net_max_pairs(const struct virtio_net *n)
{
	return n->npairs;
}

unsigned int virtio_net_active_pairs(struct virtio_net *n)
{
	return atomic_load(&n->active_pairs);
}

bool virtio_net_pair_running(const struct virtio_net *n, unsigned int pair)
{
	return pair < n->npairs && PEEK(n->pairs[pair].running);
}

const struct net_ctrl_stats *virtio_net_ctrl_stats(const struct virtio_net *n)
{
	return &n->ctl_stats;
}

const char *virtio_net_name(const struct virtio_net *n)
{
	return n->name;
}

const char *virtio_net_ifname(const struct virtio_net *n)
{
	return n->ifname;
}

struct net_pcap *virtio_net_pcap(const struct virtio_net *n)
{
	return n->pcap;
}

void virtio_net_mac(struct virtio_net *n, uint8_t mac[6])
{
	pthread_mutex_lock(&n->cfg_lock);
	memcpy(mac, n->config.mac, 6);
	pthread_mutex_unlock(&n->cfg_lock);
}

struct for_each_ctx {
	void (*fn)(struct virtio_net *n, void *opaque);
	void *opaque;
};

static void for_each_one(void *dev, void *opaque)
{
	struct for_each_ctx *c = opaque;

	c->fn(dev, c->opaque);
}

void virtio_net_for_each(struct vm *vm, void (*fn)(struct virtio_net *n, void *opaque),
			 void *opaque)
{
	struct for_each_ctx c = {.fn = fn, .opaque = opaque};

	vm_device_for_each(vm, &ktvm_device_net, for_each_one, &c);
}

/*
 * The one NIC construction path, on every architecture: open (tap=) or adopt
 * (fd=) the TAP, one queue per pair, build the device, and let the
 * architecture's bus carry it (virtio_attach).  Multiqueue needs MSI-X
 * (NetConfig): on a bus without it a NIC has one pair whatever it asks.
 */
int virtio_net_create(struct vm *vm, const struct net_config *cfg, unsigned int index)
{
	char err[256], ifname[IFNAMSIZ] = "", mac[18];
	struct virtio_bus_info bus;
	unsigned int npairs, opened = 0;
	struct virtio_net *n;
	bool msix;
	int *fds;

	virtio_bus(vm, &bus);
	msix = cfg->msix && bus.msix;
	npairs = virtio_net_pairs_for(cfg, msix);
	if (!bus.msix && cfg->queue_pairs > 1)
		log_info("virtio-net", "net%u: %s has no MSI-X: queue_pairs=%u ignored, one queue pair",
			 index, bus.name, cfg->queue_pairs);
	if (cfg->fd >= 0 && npairs > 1) {
		log_warn("virtio-net",
			 "net%u: fd=%d is one TAP queue: queue_pairs=%u ignored, one pair", index,
			 cfg->fd, cfg->queue_pairs);
		npairs = 1;
	}
	if (bus.msix && cfg->queue_pairs > 1 && !cfg->msix)
		log_info("virtio-net",
			 "net%u: msix=off: single queue pair (multiqueue needs MSI-X)", index);
	fds = calloc(npairs, sizeof(*fds));
	if (!fds)
		return -1;
	for (opened = 0; opened < npairs; opened++) {
		if (cfg->tap)
			fds[opened] = tap_open(cfg->tap, npairs > 1, ifname, err, sizeof(err));
		else
			fds[opened] = tap_adopt(cfg->fd, ifname, err, sizeof(err));
		if (fds[opened] < 0) {
			if (cfg->tap)
				fprintf(stderr, "ktvm: --net tap=%s: %s\n", cfg->tap, err);
			else
				fprintf(stderr, "ktvm: --net fd=%d: %s\n", cfg->fd, err);
			goto fail;
		}
	}
	if (cfg->fd >= 0) {
		struct net_config one = *cfg;

		one.queue_pairs = 1;
		n = virtio_net_new_mq(vm, &one, index, fds, npairs, true, msix);
	} else {
		n = virtio_net_new_mq(vm, cfg, index, fds, npairs, true, msix);
	}
	if (!n)
		goto fail;
	free(fds);
	n->own_fd = cfg->tap != NULL;
	snprintf(n->ifname, sizeof(n->ifname), "%s", ifname);
	if (virtio_attach(vm, &n->vdev, cfg->msix)) {
		virtio_net_destroy(n);
		return -1;
	}
	/* The decision above must be the transport's own (NetConfig: MQ needs MSI-X). */
	if (n->mq && !(n->vdev.t->has_msix && n->vdev.t->has_msix(&n->vdev))) {
		log_err("virtio-net", "%s: multiqueue on a transport without MSI-X", n->name);
		virtio_net_destroy(n);
		return -1;
	}
	/* The device lives as long as the VM (no hot-unplug): vm_destroy() frees it. */
	if (vm_device_add(vm, &ktvm_device_net, n)) {
		virtio_net_destroy(n);
		return -1;
	}
	if (bus.msix)
		log_info("virtio-net", "%s: TAP %s, MAC %s, %u queue pair%s%s%s", n->name,
			 n->ifname, net_mac_str(cfg->mac, mac, sizeof(mac)), n->npairs,
			 n->npairs == 1 ? "" : "s", n->ufo ? ", UFO" : "",
			 cfg->msix ? "" : ", no MSI-X");
	else
		log_info("virtio-net", "%s: TAP %s on %s, one queue pair", n->name, n->ifname,
			 bus.name);
	return 0;
fail:
	if (cfg->tap)
		for (unsigned int i = 0; i < opened; i++)
			close(fds[i]);
	free(fds);
	return -1;
}
