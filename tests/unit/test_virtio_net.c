// SPDX-License-Identifier: MIT
/*
 * test_virtio_net.c - the virtio-net data path against a fake TAP (a
 * SOCK_SEQPACKET socketpair: frames keep their boundaries) and a test
 * driver that lays out split rings in guest memory, plus a real TAP when
 * /dev/net/tun is usable.  The device runs its real worker thread; the test
 * waits (bounded) for what it expects.  The driver's ring handling is
 * tests/common/virtio_driver.c, shared with the datapath benchmark.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <cmocka.h>
#include <pcap/pcap.h>

#include "devices/tap.h"
#include "devices/virtio_net.h"
#include "tests/common/virtio_driver.h"

#define BIT(n) (1ULL << (n))
#define QSIZE  256
#define HDR    12
#define S_ACK  VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV  VIRTIO_CONFIG_S_DRIVER
#define S_FOK  VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK  VIRTIO_CONFIG_S_DRIVER_OK
#define S_NR   VIRTIO_CONFIG_S_NEEDS_RESET

static const struct mem_region layout[] = {{.gpa = 0, .size = MiB(8)}};
static struct vm vm;
static struct virtio_net *net;
static struct virtio_dev *vd;
static int sv[2] = {-1, -1}; /* sv[0]: the device's "TAP", sv[1]: the host side */
static atomic_int notified[2], config_notified;
static const char *pcap_path; /* start_device(): pcap=, NULL = none */

static void t_notify_queue(struct virtio_dev *d, struct virtq *q)
{
	atomic_fetch_add(&notified[q - d->vqs], 1);
}

static void t_notify_config(struct virtio_dev *d)
{
	atomic_fetch_add(&config_notified, 1);
}

static bool t_has_msix(struct virtio_dev *d)
{
	return true;
}

static const struct virtio_transport_ops t_ops = {
	.notify_queue = t_notify_queue,
	.notify_config = t_notify_config,
	.has_msix = t_has_msix,
};

/* ---- the test driver: split rings in guest memory (tests/common/virtio_driver.c) ---- */
static struct vdrv_queue dq[2];
static uint64_t buf_next;

static uint64_t alloc_buf(uint32_t len)
{
	uint64_t g = buf_next;

	buf_next = ALIGN_UP(buf_next + len, 64);
	assert_true(buf_next < MiB(8));
	return g;
}

static void *gp(uint64_t gpa, uint32_t len)
{
	void *p = gmem_ptr(&vm.mem, gpa, len);

	assert_non_null(p);
	return p;
}

/* Post a chain of n buffers; w[i]: device-writable. Returns the head. */
static uint16_t post(int qi, const uint64_t *gpa, const uint32_t *len, const bool *w, int n)
{
	return vdrv_post_chain(&dq[qi], gpa, len, w, n);
}

static uint16_t post_rx(uint64_t gpa, uint32_t len)
{
	bool w = true;

	return post(VIRTIO_NET_RXQ, &gpa, &len, &w, 1);
}

static void kick(int qi)
{
	assert_int_equal(vdrv_kick(&dq[qi]), 0);
}

static bool get_used(int qi, uint32_t *id, uint32_t *len)
{
	return vdrv_get_used(&dq[qi], id, len);
}

static uint16_t used_idx(int qi)
{
	return vdrv_used_idx(&dq[qi]);
}

#define WAIT_FOR(cond)                          \
	do {                                    \
		int ms_ = 0;                    \
		while (!(cond) && ms_++ < 5000) \
			usleep(1000);           \
		assert_true(cond);              \
	} while (0)

static void start_device(uint64_t features, int fd, bool is_tap)
{
	struct net_config cfg = {.fd = -1, .mac = KTVM_DEFAULT_MAC, .queue_pairs = 1, .msix = true,
				 .pcap = pcap_path};

	net = virtio_net_new(&vm, &cfg, 0, fd, is_tap);
	assert_non_null(net);
	vd = virtio_net_vdev(net);
	vd->t = &t_ops;
	for (int i = 0; i < 2; i++)
		vd->vqs[i].kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(vd->device_features & BIT(VIRTIO_NET_F_MRG_RXBUF));
	assert_false(vd->device_features & BIT(VIRTIO_NET_F_MTU));
	assert_false(vd->device_features & BIT(VIRTIO_NET_F_MQ));
	features |= BIT(VIRTIO_F_VERSION_1);
	assert_int_equal(features & ~vd->device_features, 0);
	pthread_mutex_lock(&vd->lock);
	assert_int_equal(vdrv_negotiate(vd, features), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(vdrv_queue_setup(&dq[i], &vd->vqs[i], &vm.mem, (unsigned int)i,
						  QSIZE, features & BIT(VIRTIO_RING_F_EVENT_IDX)),
				 0);
	assert_int_equal(vdrv_driver_ok(vd), 0);
	pthread_mutex_unlock(&vd->lock);
}

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	vm.vm_fd = vm.kvm_fd = vm.loop_fd = -1;
	assert_int_equal(gmem_init(&vm.mem, MiB(8), layout, 1), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv),
			 0);
	buf_next = MiB(1);
	atomic_store(&notified[0], 0);
	atomic_store(&notified[1], 0);
	atomic_store(&config_notified, 0);
	net = NULL;
	pcap_path = NULL;
	return 0;
}

static void stop_device(void)
{
	int fds[2] = {vd->vqs[0].kick_fd, vd->vqs[1].kick_fd};

	virtio_net_destroy(net); /* stops the worker first */
	net = NULL;
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static int teardown(void **state)
{
	if (net)
		stop_device();
	close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	gmem_destroy(&vm.mem);
	return 0;
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/* A host frame: 12-byte vnet header + payload of n bytes. */
static void host_send(size_t payload, uint8_t seed)
{
	static uint8_t b[70000];

	memset(b, 0, HDR);
	b[0] = VIRTIO_NET_HDR_F_DATA_VALID;
	fill(b + HDR, payload, seed);
	assert_int_equal(send(sv[1], b, HDR + payload, 0), (ssize_t)(HDR + payload));
}

/* ---- tests ---- */

static void test_tx_frame(void **state)
{
	uint8_t frame[60];
	uint64_t g[2];
	uint32_t l[2] = {HDR, sizeof(frame)};
	bool w[2] = {false, false};
	uint8_t got[200];
	uint32_t id, len;

	start_device(BIT(VIRTIO_NET_F_MAC), sv[0], false);
	g[0] = alloc_buf(HDR);
	g[1] = alloc_buf(sizeof(frame));
	memset(gp(g[0], HDR), 0, HDR);
	((uint8_t *)gp(g[0], HDR))[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	fill(frame, sizeof(frame), 3);
	memcpy(gp(g[1], sizeof(frame)), frame, sizeof(frame));
	uint16_t head = post(VIRTIO_NET_TXQ, g, l, w, 2);

	kick(VIRTIO_NET_TXQ);
	WAIT_FOR(used_idx(VIRTIO_NET_TXQ) == 1);
	assert_true(get_used(VIRTIO_NET_TXQ, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
	struct pollfd p = {.fd = sv[1], .events = POLLIN};

	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(recv(sv[1], got, sizeof(got), 0), HDR + sizeof(frame));
	assert_int_equal(got[0], VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_memory_equal(got + HDR, frame, sizeof(frame));
	WAIT_FOR(atomic_load(&notified[VIRTIO_NET_TXQ]) == 1);
	const struct net_queue_stats *st = virtio_net_stats(net, VIRTIO_NET_TXQ);

	WAIT_FOR(st->packets == 1);
	assert_int_equal(st->bytes, sizeof(frame));
	/* A worker that starts after the kick sends the frame first, counts the kick after. */
	WAIT_FOR(__atomic_load_n(&st->kicks, __ATOMIC_RELAXED) == 1);

	/* A header-only chain split oddly: still one frame (12 + 0 bytes). */
	uint64_t g2[3] = {alloc_buf(5), alloc_buf(7), alloc_buf(20)};
	uint32_t l2[3] = {5, 7, 20};
	bool w2[3] = {false, false, false};

	post(VIRTIO_NET_TXQ, g2, l2, w2, 3);
	kick(VIRTIO_NET_TXQ);
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(recv(sv[1], got, sizeof(got), 0), 32);
	/* Too short for a header: consumed, counted, not sent. */
	uint64_t g3 = alloc_buf(4);
	uint32_t l3 = 4;

	post(VIRTIO_NET_TXQ, &g3, &l3, w2, 1);
	kick(VIRTIO_NET_TXQ);
	WAIT_FOR(used_idx(VIRTIO_NET_TXQ) == 3);
	WAIT_FOR(st->drop_short == 1);
	assert_int_equal(recv(sv[1], got, sizeof(got), MSG_DONTWAIT), -1);
}

static void test_rx_mergeable(void **state)
{
	uint64_t b[3];
	uint16_t heads[3];
	uint32_t id, len;
	uint8_t want[2500];

	start_device(BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_GUEST_CSUM), sv[0], false);
	for (int i = 0; i < 3; i++) {
		b[i] = alloc_buf(1000);
		memset(gp(b[i], 1000), 0xee, 1000);
		heads[i] = post_rx(b[i], 1000);
	}
	kick(VIRTIO_NET_RXQ);
	host_send(2500 - HDR, 9);
	WAIT_FOR(used_idx(VIRTIO_NET_RXQ) == 3);
	static const uint32_t lens[3] = {1000, 1000, 500};

	for (int i = 0; i < 3; i++) {
		assert_true(get_used(VIRTIO_NET_RXQ, &id, &len));
		assert_int_equal(id, heads[i]);
		assert_int_equal(len, lens[i]);
	}
	const uint8_t *h = gp(b[0], HDR);

	assert_int_equal(h[0], VIRTIO_NET_HDR_F_DATA_VALID);
	assert_int_equal(h[10] | h[11] << 8, 3); /* num_buffers */
	fill(want, sizeof(want) - HDR, 9);
	assert_memory_equal((uint8_t *)gp(b[0], 1000) + HDR, want, 1000 - HDR);
	assert_memory_equal(gp(b[1], 1000), want + 1000 - HDR, 1000);
	assert_memory_equal(gp(b[2], 500), want + 2000 - HDR, 500 - HDR);
	WAIT_FOR(atomic_load(&notified[VIRTIO_NET_RXQ]) >= 1);

	/* A small frame takes one buffer; the unused ones stay available. */
	uint64_t c[4];

	for (int i = 0; i < 4; i++)
		post_rx(c[i] = alloc_buf(2048), 2048);
	kick(VIRTIO_NET_RXQ);
	host_send(100, 1);
	host_send(3000, 2);
	WAIT_FOR(used_idx(VIRTIO_NET_RXQ) == 6); /* 3 + 1 + 2 */
	assert_true(get_used(VIRTIO_NET_RXQ, &id, &len));
	assert_int_equal(len, HDR + 100);
	h = gp(c[0], HDR);
	assert_int_equal(h[10] | h[11] << 8, 1);
	assert_true(get_used(VIRTIO_NET_RXQ, &id, &len));
	assert_int_equal(len, 2048);
	assert_true(get_used(VIRTIO_NET_RXQ, &id, &len));
	assert_int_equal(len, HDR + 3000 - 2048);
	h = gp(c[1], HDR);
	assert_int_equal(h[10] | h[11] << 8, 2);
	const struct net_queue_stats *st = virtio_net_stats(net, VIRTIO_NET_RXQ);

	WAIT_FOR(st->packets == 3);
	assert_int_equal(st->bytes, 2500 - HDR + 100 + 3000);
	assert_int_equal(st->drop_oversize, 0);
}

/*
 * pcap=FILE: a TX frame (header and frame split across descriptors) and an
 * RX frame (spread over mergeable buffers) through the real worker, then the
 * file read back with libpcap: Ethernet, both frames whole, without the
 * vnet header, in order, with timestamps.
 */
static void test_pcap_capture(void **state)
{
	char path[] = "/tmp/ktvm-test-pcap-XXXXXX";
	uint8_t frame[90], want_rx[1500], got[2000];
	uint64_t g[3], b[2];
	uint32_t l[3] = {HDR, 40, sizeof(frame) - 40};
	bool w[3] = {false, false, false};
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	struct pollfd p = {.fd = sv[1], .events = POLLIN};
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	pcap_path = path;
	start_device(BIT(VIRTIO_NET_F_MRG_RXBUF), sv[0], false);
	/* TX: header, then the frame in two pieces. */
	for (int i = 0; i < 3; i++)
		g[i] = alloc_buf(l[i]);
	memset(gp(g[0], HDR), 0, HDR);
	fill(frame, sizeof(frame), 5);
	memcpy(gp(g[1], l[1]), frame, l[1]);
	memcpy(gp(g[2], l[2]), frame + l[1], l[2]);
	post(VIRTIO_NET_TXQ, g, l, w, 3);
	kick(VIRTIO_NET_TXQ);
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(recv(sv[1], got, sizeof(got), 0), HDR + sizeof(frame));
	/* RX: 1500 bytes over two 1000-byte buffers. */
	for (int i = 0; i < 2; i++)
		post_rx(b[i] = alloc_buf(1000), 1000);
	kick(VIRTIO_NET_RXQ);
	host_send(sizeof(want_rx) - HDR, 11);
	WAIT_FOR(used_idx(VIRTIO_NET_RXQ) == 2);
	fill(want_rx, sizeof(want_rx) - HDR, 11);
	stop_device(); /* closes and flushes the capture */

	pcap_t *pc = pcap_open_offline(path, errbuf);

	assert_non_null(pc);
	assert_int_equal(pcap_datalink(pc), DLT_EN10MB);
	assert_int_equal(pcap_next_ex(pc, &h, &data), 1);
	assert_int_equal(h->caplen, sizeof(frame));
	assert_int_equal(h->len, sizeof(frame));
	assert_memory_equal(data, frame, sizeof(frame));
	assert_true(h->ts.tv_sec > 0);
	assert_int_equal(pcap_next_ex(pc, &h, &data), 1);
	assert_int_equal(h->caplen, sizeof(want_rx) - HDR);
	assert_memory_equal(data, want_rx, sizeof(want_rx) - HDR);
	assert_int_equal(pcap_next_ex(pc, &h, &data), PCAP_ERROR_BREAK); /* nothing more */
	pcap_close(pc);
	unlink(path);
}

/* Every counter the statistics report, incl. interrupts suppressed by NO_INTERRUPT. */
static void test_stats_counters(void **state)
{
	uint64_t g = alloc_buf(HDR + 20);
	uint32_t l = HDR + 20;
	bool w = false;
	uint8_t got[100];
	struct pollfd p = {.fd = sv[1], .events = POLLIN};
	const struct net_queue_stats *st;

	start_device(0, sv[0], false);
	memset(gp(g, l), 0, l);
	dq[VIRTIO_NET_TXQ].avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	post(VIRTIO_NET_TXQ, &g, &l, &w, 1);
	kick(VIRTIO_NET_TXQ);
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(recv(sv[1], got, sizeof(got), 0), HDR + 20);
	st = virtio_net_stats(net, VIRTIO_NET_TXQ);
	WAIT_FOR(__atomic_load_n(&st->irq_suppressed, __ATOMIC_RELAXED) == 1);
	assert_int_equal(st->interrupts, 0);
	assert_int_equal(st->packets, 1);
	/* A worker that starts after the kick sends the frame first, counts the kick after. */
	WAIT_FOR(__atomic_load_n(&st->kicks, __ATOMIC_RELAXED) == 1);
	assert_string_equal(virtio_net_name(net), "net0");
}

static void test_rx_oversize_without_mrg(void **state)
{
	uint64_t b = alloc_buf(1000);
	uint32_t id, len;
	uint16_t head;

	start_device(0, sv[0], false);
	memset(gp(b, 1000), 0xee, 1000);
	head = post_rx(b, 1000);
	kick(VIRTIO_NET_RXQ);
	host_send(1500, 4); /* does not fit one 1000-byte chain */
	const struct net_queue_stats *st = virtio_net_stats(net, VIRTIO_NET_RXQ);

	WAIT_FOR(st->drop_oversize == 1);
	assert_int_equal(used_idx(VIRTIO_NET_RXQ), 0); /* not truncated into the buffer */
	host_send(500, 5);
	WAIT_FOR(used_idx(VIRTIO_NET_RXQ) == 1);
	assert_true(get_used(VIRTIO_NET_RXQ, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, HDR + 500);
	const uint8_t *h = gp(b, HDR);

	assert_int_equal(h[10] | h[11] << 8, 1); /* num_buffers is 1 without MRG_RXBUF */
	uint8_t want[500];

	fill(want, sizeof(want), 5);
	assert_memory_equal((uint8_t *)gp(b, 1000) + HDR, want, sizeof(want));
	/* Exactly fitting is fine too. */
	post_rx(b, 1000);
	kick(VIRTIO_NET_RXQ);
	host_send(1000 - HDR, 6);
	WAIT_FOR(used_idx(VIRTIO_NET_RXQ) == 2);
	assert_true(get_used(VIRTIO_NET_RXQ, &id, &len));
	assert_int_equal(len, 1000);
	assert_int_equal(st->drop_oversize, 1);
}

/*
 * RX buffers for the gather-sizing tests: 'count' chains of 'n' descriptors
 * each (len[i] bytes apiece), remembered by head so a frame spread over
 * mergeable buffers can be put back together from the used ring.
 */
struct rx_buf {
	uint64_t gpa[2];
	uint32_t len[2];
	int n;
};
static struct rx_buf rxb[QSIZE];

static void post_rx_bufs(int count, const uint32_t *len, int n)
{
	for (int i = 0; i < count; i++) {
		uint64_t g[2];
		bool w[2] = {true, true};
		uint16_t head;

		for (int j = 0; j < n; j++) {
			g[j] = alloc_buf(len[j]);
			memset(gp(g[j], len[j]), 0xee, len[j]);
		}
		head = post(VIRTIO_NET_RXQ, g, len, w, n);
		assert_true(head < QSIZE);
		rxb[head].n = n;
		for (int j = 0; j < n; j++) {
			rxb[head].gpa[j] = g[j];
			rxb[head].len[j] = len[j];
		}
	}
	kick(VIRTIO_NET_RXQ);
}

static uint32_t rx_buf_bytes(uint32_t head)
{
	assert_true(head < QSIZE);
	return rxb[head].n == 2 ? rxb[head].len[0] + rxb[head].len[1] : rxb[head].len[0];
}

/* Copy up to 'len' bytes of the chain 'head' to out. */
static void rx_buf_read(uint32_t head, uint8_t *out, uint32_t len)
{
	for (int j = 0; j < rxb[head].n && len; j++) {
		uint32_t k = len < rxb[head].len[j] ? len : rxb[head].len[j];

		memcpy(out, gp(rxb[head].gpa[j], k), k);
		out += k;
		len -= k;
	}
}

/*
 * Reap one received frame (waiting for it) and check it: 'payload' bytes
 * made by fill(seed), every buffer but the last full, num_buffers right.
 * Returns num_buffers.
 */
static int rx_expect(size_t payload, uint8_t seed)
{
	static uint8_t got[HDR + 65550], want[65550];
	uint32_t id, len, total = 0;
	int nb;

	WAIT_FOR(used_idx(VIRTIO_NET_RXQ) != dq[VIRTIO_NET_RXQ].used_seen);
	assert_true(get_used(VIRTIO_NET_RXQ, &id, &len));
	assert_true(len >= HDR && len <= rx_buf_bytes(id));
	rx_buf_read(id, got, len);
	nb = got[10] | got[11] << 8;
	assert_true(nb >= 1);
	total = len;
	for (int i = 1; i < nb; i++) {
		assert_int_equal(len, rx_buf_bytes(id)); /* the previous one is full */
		WAIT_FOR(used_idx(VIRTIO_NET_RXQ) != dq[VIRTIO_NET_RXQ].used_seen);
		assert_true(get_used(VIRTIO_NET_RXQ, &id, &len));
		assert_true(len >= 1 && len <= rx_buf_bytes(id));
		assert_true(total + len <= sizeof(got));
		rx_buf_read(id, got + total, len);
		total += len;
	}
	assert_int_equal(total, HDR + payload);
	assert_int_equal(got[0], VIRTIO_NET_HDR_F_DATA_VALID);
	fill(want, payload, seed);
	assert_memory_equal(got + HDR, want, payload);
	return nb;
}

/* The number of 'buf'-byte mergeable buffers a frame of 'payload' bytes takes. */
static int nbufs(size_t payload, uint32_t buf)
{
	return (int)((HDR + payload + buf - 1) / buf);
}

/*
 * A run of small frames makes the device gather one buffer per frame; a
 * large frame then overflows what was gathered, and the device completes
 * it from more buffers (the tail copied from its scratch buffer): whole,
 * in order, num_buffers right.  Small frames after it still arrive.
 */
static void test_rx_large_after_small(void **state)
{
	static const uint32_t l1536 = 1536;
	const struct net_queue_stats *st;

	start_device(BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_GUEST_CSUM), sv[0], false);
	st = virtio_net_stats(net, VIRTIO_NET_RXQ);
	post_rx_bufs(200, &l1536, 1);
	for (int i = 0; i < 64; i++) {
		host_send(60 + (size_t)i, (uint8_t)i);
		assert_int_equal(rx_expect(60 + (size_t)i, (uint8_t)i), 1);
	}
	host_send(5000, 0x51);
	assert_int_equal(rx_expect(5000, 0x51), nbufs(5000, 1536));
	host_send(100, 0x52);
	assert_int_equal(rx_expect(100, 0x52), 1);
	/* Small again for a while, then a 64 KiB one (RX_MAX_FRAME exactly). */
	for (int i = 0; i < 64; i++) {
		host_send(90, (uint8_t)i);
		assert_int_equal(rx_expect(90, (uint8_t)i), 1);
	}
	host_send(65550, 0x53);
	assert_int_equal(rx_expect(65550, 0x53), nbufs(65550, 1536));
	host_send(1400, 0x54);
	assert_int_equal(rx_expect(1400, 0x54), 1);
	WAIT_FOR(st->packets == 132);
	assert_int_equal(st->drop_oversize + st->drop_short + st->drop_error, 0);
}

/*
 * A large frame when the ring holds too few buffers for it: dropped and
 * counted, never truncated, nothing pushed; the buffers it was read into
 * serve the next frames, in ring order, and once the guest posts enough,
 * the same large frame goes through.
 */
static void test_rx_large_too_few_buffers(void **state)
{
	static const uint32_t l1536 = 1536;
	const struct net_queue_stats *st;
	uint32_t id, len;

	start_device(BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_GUEST_CSUM), sv[0], false);
	st = virtio_net_stats(net, VIRTIO_NET_RXQ);
	post_rx_bufs(5, &l1536, 1); /* heads 0..4, 7680 bytes */
	host_send(10000, 0x61);
	WAIT_FOR(st->drop_oversize == 1);
	usleep(20 * 1000);
	assert_int_equal(used_idx(VIRTIO_NET_RXQ), 0);
	/* The next frame takes the first buffer of the ring. */
	host_send(300, 0x62);
	WAIT_FOR(used_idx(VIRTIO_NET_RXQ) == 1);
	assert_int_equal(dq[VIRTIO_NET_RXQ].used->ring[0].id, 0);
	assert_int_equal(rx_expect(300, 0x62), 1);
	/* A frame that needs all four left (6144 bytes) but one byte more: dropped too. */
	host_send(4 * 1536 - HDR + 1, 0x63);
	WAIT_FOR(st->drop_oversize == 2);
	/* Exactly the four: heads 1..4, in order. */
	host_send(4 * 1536 - HDR, 0x64);
	WAIT_FOR(used_idx(VIRTIO_NET_RXQ) == 5);
	for (uint32_t h = 1; h <= 4; h++)
		assert_int_equal(dq[VIRTIO_NET_RXQ].used->ring[h].id, h);
	assert_int_equal(rx_expect(4 * 1536 - HDR, 0x64), 4);
	/* No buffers at all now; the guest posts enough and the large frame fits. */
	post_rx_bufs(10, &l1536, 1);
	host_send(10000, 0x65);
	assert_int_equal(rx_expect(10000, 0x65), nbufs(10000, 1536));
	host_send(50, 0x66);
	assert_int_equal(rx_expect(50, 0x66), 1);
	assert_false(get_used(VIRTIO_NET_RXQ, &id, &len));
	assert_int_equal(st->packets, 4);
	assert_int_equal(st->drop_oversize, 2);
	assert_int_equal(st->drop_short + st->drop_error, 0);
	assert_false(__atomic_load_n(&vd->status, __ATOMIC_ACQUIRE) & S_NR);
}

/*
 * Sizes that keep changing, over chains of two descriptors (700 + 836
 * bytes: the copied tail crosses descriptor boundaries), up to RX_MAX_FRAME.
 */
static void test_rx_alternating_sizes(void **state)
{
	static const uint32_t l2[2] = {700, 836};
	static const size_t sizes[] = {60,    65550, 100, 1400, 30000, 60,  3000, 1524,
				       1525,  20,    9000, 64,  65000, 1500, 4000, 1};
	const struct net_queue_stats *st;
	int want_bufs = 0;

	start_device(BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_GUEST_CSUM), sv[0], false);
	st = virtio_net_stats(net, VIRTIO_NET_RXQ);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		want_bufs += nbufs(sizes[i], 1536);
	assert_true(want_bufs <= QSIZE / 2);
	post_rx_bufs(want_bufs, l2, 2);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		host_send(sizes[i], (uint8_t)(i * 3));
		assert_int_equal(rx_expect(sizes[i], (uint8_t)(i * 3)), nbufs(sizes[i], 1536));
	}
	WAIT_FOR(st->packets == ARRAY_SIZE(sizes));
	assert_int_equal(st->drop_oversize + st->drop_short + st->drop_error, 0);
}

/* CPU time of the worker thread, from /proc (ns), or -1. */
static long long worker_runtime_ns(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	long long ns = -1;

	while (d && (e = readdir(d))) {
		char path[300], comm[32] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		if (strncmp(comm, "ktvm-net0-q0", 12))
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat", e->d_name);
		f = fopen(path, "r");
		if (f) {
			if (fscanf(f, "%lld", &ns) != 1)
				ns = -1;
			fclose(f);
		}
	}
	if (d)
		closedir(d);
	return ns;
}

static void test_rx_no_buffers_no_busy_loop(void **state)
{
	uint32_t id, len;
	const struct net_queue_stats *st;

	start_device(BIT(VIRTIO_NET_F_MRG_RXBUF), sv[0], false);
	st = virtio_net_stats(net, VIRTIO_NET_RXQ);
	for (int i = 0; i < 3; i++)
		host_send(200 + (size_t)i, (uint8_t)i);
	WAIT_FOR(st->no_buffers >= 1);
	long long t0 = worker_runtime_ns();

	usleep(300 * 1000);
	long long t1 = worker_runtime_ns();

	assert_true(t0 >= 0 || worker_runtime_ns() < 0); /* schedstat may be missing */
	if (t0 >= 0)
		assert_true(t1 - t0 < 30 * 1000 * 1000); /* asleep, not spinning */
	assert_int_equal(st->no_buffers, 1);
	assert_int_equal(used_idx(VIRTIO_NET_RXQ), 0);

	/* The guest refills and kicks: the queued frames arrive, in order. */
	uint64_t b[3];

	for (int i = 0; i < 3; i++)
		post_rx(b[i] = alloc_buf(1024), 1024);
	kick(VIRTIO_NET_RXQ);
	WAIT_FOR(used_idx(VIRTIO_NET_RXQ) == 3);
	for (int i = 0; i < 3; i++) {
		uint8_t want[210];

		assert_true(get_used(VIRTIO_NET_RXQ, &id, &len));
		assert_int_equal(len, HDR + 200 + i);
		fill(want, 200 + (size_t)i, (uint8_t)i);
		assert_memory_equal((uint8_t *)gp(b[i], 1024) + HDR, want, 200 + (size_t)i);
	}
	/* Ring empty again, TAP queue full of frames: no stall once buffers come back. */
	for (int i = 0; i < 20; i++)
		host_send(100, (uint8_t)i);
	usleep(50 * 1000);
	for (int i = 0; i < 20; i++)
		post_rx(alloc_buf(256), 256);
	kick(VIRTIO_NET_RXQ);
	WAIT_FOR(used_idx(VIRTIO_NET_RXQ) == 23);
	assert_int_equal(st->drop_oversize + st->drop_error, 0);
}

static void test_tx_eagain_resumes(void **state)
{
	int sndbuf = 4096;
	enum { N = 64, FLEN = 1400 };
	uint8_t got[2048];
	const struct net_queue_stats *st;

	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	start_device(0, sv[0], false);
	st = virtio_net_stats(net, VIRTIO_NET_TXQ);
	for (int i = 0; i < N; i++) {
		uint64_t g = alloc_buf(HDR + FLEN);
		uint32_t l = HDR + FLEN;
		bool w = false;
		uint8_t *p = gp(g, l);

		memset(p, 0, HDR);
		fill(p + HDR, FLEN, (uint8_t)i);
		post(VIRTIO_NET_TXQ, &g, &l, &w, 1);
	}
	kick(VIRTIO_NET_TXQ);
	WAIT_FOR(st->eagain >= 1);
	uint16_t stuck = used_idx(VIRTIO_NET_TXQ);

	assert_true(stuck < N);
	usleep(20 * 1000);
	assert_int_equal(used_idx(VIRTIO_NET_TXQ), stuck); /* waits, does not spin or drop */
	/* The host drains the socket: the device resumes on EPOLLOUT, no kick needed. */
	for (int i = 0; i < N; i++) {
		struct pollfd p = {.fd = sv[1], .events = POLLIN};
		uint8_t want[FLEN];

		assert_int_equal(poll(&p, 1, 3000), 1);
		assert_int_equal(recv(sv[1], got, sizeof(got), 0), HDR + FLEN);
		fill(want, FLEN, (uint8_t)i);
		assert_memory_equal(got + HDR, want, FLEN);
	}
	WAIT_FOR(used_idx(VIRTIO_NET_TXQ) == N);
	assert_int_equal(st->packets, N);
	assert_int_equal(st->drop_error, 0);
}

static void test_queue_violation_needs_reset(void **state)
{
	start_device(0, sv[0], false);
	/* An avail entry naming descriptor 999 of a 256-entry table. */
	struct vdrv_queue *d = &dq[VIRTIO_NET_TXQ];

	d->avail->ring[0] = 999;
	__atomic_store_n(&d->avail->idx, 1, __ATOMIC_RELEASE);
	kick(VIRTIO_NET_TXQ);
	WAIT_FOR(__atomic_load_n(&vd->status, __ATOMIC_ACQUIRE) & S_NR);
	WAIT_FOR(atomic_load(&config_notified) == 1);
	/* The device leaves the queues alone now: RX frames are not taken. */
	post_rx(alloc_buf(2048), 2048);
	kick(VIRTIO_NET_RXQ);
	host_send(100, 1);
	usleep(50 * 1000);
	assert_int_equal(used_idx(VIRTIO_NET_RXQ), 0);
	/* Reset recovers: worker joined, the fd stays open. */
	pthread_mutex_lock(&vd->lock);
	virtio_set_status(vd, 0);
	pthread_mutex_unlock(&vd->lock);
	assert_int_equal(vd->status, 0);
	assert_true(worker_runtime_ns() < 0);
	assert_true(fcntl(sv[0], F_GETFD) >= 0);
}

static void test_config_space(void **state)
{
	struct net_config cfg = {
		.fd = -1, .mac = {0x02, 1, 2, 3, 4, 5}, .mtu = 9000, .queue_pairs = 1};
	uint8_t b[12];

	net = virtio_net_new(&vm, &cfg, 0, sv[0], false);
	assert_non_null(net);
	vd = virtio_net_vdev(net);
	for (int i = 0; i < 2; i++)
		vd->vqs[i].kick_fd = eventfd(0, EFD_CLOEXEC);
	assert_true(vd->device_features & BIT(VIRTIO_NET_F_MTU));
	assert_true(vd->device_features & BIT(VIRTIO_NET_F_STATUS));
	assert_true(vd->device_features & BIT(VIRTIO_RING_F_EVENT_IDX));
	assert_true(vd->device_features & BIT(VIRTIO_RING_F_INDIRECT_DESC));
	assert_false(vd->device_features & BIT(VIRTIO_NET_F_GUEST_UFO)); /* not a TAP: no probe */
	assert_false(vd->device_features & BIT(VIRTIO_NET_F_CTRL_VQ));
	assert_int_equal(vd->ops->config_size, 12);
	vd->ops->config_read(vd, 0, b, 12);
	assert_memory_equal(b, cfg.mac, 6);
	assert_int_equal(b[6] | b[7] << 8, VIRTIO_NET_S_LINK_UP);
	assert_int_equal(b[8] | b[9] << 8, 0); /* max_virtqueue_pairs: single pair */
	assert_int_equal(b[10] | b[11] << 8, 9000);
	uint8_t z = 0x77;

	vd->ops->config_write(vd, 0, &z, 1); /* read-only */
	vd->ops->config_read(vd, 0, b, 1);
	assert_int_equal(b[0], 0x02);
}

/* EVENT_IDX: interrupts only when the driver's used_event asks for them. */
static void test_event_idx_suppression(void **state)
{
	start_device(BIT(VIRTIO_RING_F_EVENT_IDX), sv[0], false);
	uint16_t *used_event = (uint16_t *)&dq[VIRTIO_NET_RXQ].avail->ring[QSIZE];

	*used_event = 5; /* interrupt when used idx passes 5 */
	for (int i = 0; i < 8; i++)
		post_rx(alloc_buf(512), 512);
	kick(VIRTIO_NET_RXQ);
	host_send(10, 0);
	WAIT_FOR(used_idx(VIRTIO_NET_RXQ) == 1);
	usleep(20 * 1000);
	int first = atomic_load(&notified[VIRTIO_NET_RXQ]); /* the first one may interrupt */

	assert_true(first <= 1);
	for (int i = 1; i < 5; i++)
		host_send(10, (uint8_t)i);
	WAIT_FOR(used_idx(VIRTIO_NET_RXQ) == 5);
	usleep(20 * 1000);
	assert_int_equal(atomic_load(&notified[VIRTIO_NET_RXQ]), first);
	host_send(10, 9);
	WAIT_FOR(used_idx(VIRTIO_NET_RXQ) == 6);
	WAIT_FOR(atomic_load(&notified[VIRTIO_NET_RXQ]) == first + 1);
}

/* The backend goes away (peer closed) while TX waits for room and RX has no buffers. */
static void test_backend_gone_no_spin(void **state)
{
	start_device(0, sv[0], false);
	const struct net_queue_stats *rx = virtio_net_stats(net, VIRTIO_NET_RXQ);

	host_send(10, 1);
	WAIT_FOR(rx->no_buffers == 1);
	close(sv[1]);
	sv[1] = -1;
	usleep(50 * 1000);
	long long t0 = worker_runtime_ns();

	usleep(200 * 1000);
	if (t0 >= 0)
		assert_true(worker_runtime_ns() - t0 < 20 * 1000 * 1000);
	/* TX still completes (frames dropped and counted): the guest is not stuck. */
	uint64_t g = alloc_buf(HDR + 60);
	uint32_t l = HDR + 60;
	bool w = false;

	post(VIRTIO_NET_TXQ, &g, &l, &w, 1);
	kick(VIRTIO_NET_TXQ);
	WAIT_FOR(used_idx(VIRTIO_NET_TXQ) == 1);
	assert_int_equal(virtio_net_stats(net, VIRTIO_NET_TXQ)->drop_error, 1);
}

/* ---- a real TAP (root, /dev/net/tun) ---- */
static char tapname[IFNAMSIZ];

static int if_up(const char *name, bool up)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	int r;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	r = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (!r) {
		if (up)
			ifr.ifr_flags |= IFF_UP;
		else
			ifr.ifr_flags &= ~IFF_UP;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	return r;
}

static void test_real_tap(void **state)
{
	char err[256], ifname[IFNAMSIZ], path[128];
	uint8_t frame[64], buf[2048];
	uint32_t id, len;
	int fd, ps;
	FILE *f;

	snprintf(tapname, sizeof(tapname), "ktvmt%d", (int)getpid() % 100000);
	fd = tap_open(tapname, false, ifname, err, sizeof(err));
	if (fd < 0) {
		print_message("skipping the real TAP test: %s\n", err);
		skip();
	}
	assert_string_equal(ifname, tapname);
	/* No IPv6 chatter (router solicitations, MLD) on the test link. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", tapname);
	f = fopen(path, "w");
	if (f) {
		fputs("1", f);
		fclose(f);
	}
	assert_int_equal(if_up(tapname, true), 0);
	ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	assert_true(ps >= 0);
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = (int)if_nametoindex(tapname)};

	assert_int_equal(bind(ps, (struct sockaddr *)&sll, sizeof(sll)), 0);

	start_device(BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_GUEST_CSUM) |
			     BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_CSUM),
		     fd, true);
	/* A frame of a made-up EtherType, guest -> host. */
	memset(frame, 0, sizeof(frame));
	memset(frame, 0xff, 6);				     /* broadcast */
	memcpy(frame + 6, (uint8_t[]){2, 0, 0, 0, 0, 1}, 6); /* the guest's MAC */
	frame[12] = 0x88;
	frame[13] = 0xb5; /* local experimental EtherType */
	fill(frame + 14, sizeof(frame) - 14, 42);
	uint64_t g = alloc_buf(HDR + sizeof(frame));
	uint32_t l = HDR + sizeof(frame);
	bool w = false;

	memset(gp(g, l), 0, HDR);
	memcpy((uint8_t *)gp(g, l) + HDR, frame, sizeof(frame));
	post(VIRTIO_NET_TXQ, &g, &l, &w, 1);
	kick(VIRTIO_NET_TXQ);
	bool seen = false;

	for (int tries = 0; tries < 50 && !seen; tries++) {
		struct pollfd p = {.fd = ps, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 100) != 1)
			continue;
		n = recv(ps, buf, sizeof(buf), 0);
		seen = n == (ssize_t)sizeof(frame) && !memcmp(buf, frame, sizeof(frame));
	}
	assert_true(seen);
	WAIT_FOR(used_idx(VIRTIO_NET_TXQ) == 1);

	/* Host -> guest: inject on the interface, it comes out of the TAP into guest buffers. */
	uint64_t rb[4];

	for (int i = 0; i < 4; i++)
		post_rx(rb[i] = alloc_buf(4096), 4096);
	kick(VIRTIO_NET_RXQ);
	memcpy(frame, (uint8_t[]){2, 0, 0, 0, 0, 1}, 6);
	memcpy(frame + 6, (uint8_t[]){2, 0, 0, 0, 0, 0x99}, 6);
	fill(frame + 14, sizeof(frame) - 14, 77);
	assert_int_equal(send(ps, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	seen = false;
	for (int tries = 0; tries < 4 && !seen; tries++) {
		WAIT_FOR(used_idx(VIRTIO_NET_RXQ) > dq[VIRTIO_NET_RXQ].used_seen);
		assert_true(get_used(VIRTIO_NET_RXQ, &id, &len));
		const uint8_t *p = gp(rb[tries], 4096);

		seen = len == HDR + sizeof(frame) && !memcmp(p + HDR, frame, sizeof(frame));
		if (seen)
			assert_int_equal(p[10] | p[11] << 8, 1);
	}
	assert_true(seen);
	close(ps);
	if_up(tapname, false);
	/* teardown closes sv[], not the TAP: close it here (after the worker stops). */
	stop_device();
	close(fd);
}

/* The link status the driver reads (config offset 6). */
static unsigned int link_status(void)
{
	uint8_t b[2];

	vd->ops->config_read(vd, 6, b, 2);
	return b[0] | b[1] << 8;
}

/* Guest TX of one 64-byte frame of a made-up EtherType; waits until it is used. */
static void tx_one(uint8_t tag)
{
	unsigned int before = used_idx(VIRTIO_NET_TXQ);
	uint8_t frame[64];
	uint64_t g = alloc_buf(HDR + sizeof(frame));
	uint32_t l = HDR + sizeof(frame);
	bool w = false;

	memset(frame, 0xff, 6);
	memcpy(frame + 6, (uint8_t[]){2, 0, 0, 0, 0, 1}, 6);
	frame[12] = 0x88;
	frame[13] = 0xb5;
	fill(frame + 14, sizeof(frame) - 14, tag);
	memset(gp(g, l), 0, HDR);
	memcpy((uint8_t *)gp(g, l) + HDR, frame, sizeof(frame));
	post(VIRTIO_NET_TXQ, &g, &l, &w, 1);
	kick(VIRTIO_NET_TXQ);
	WAIT_FOR(used_idx(VIRTIO_NET_TXQ) == before + 1);
}

/*
 * A TAP whose interface is down refuses writes with EIO: frames are dropped
 * and counted, but the link stays up and the device keeps going, so the
 * frames flow once the interface comes up (the harness may bring it up
 * after ktvm started).
 */
static void test_real_tap_down_is_not_dead(void **state)
{
	char err[256], ifname[IFNAMSIZ];
	int fd;

	snprintf(tapname, sizeof(tapname), "ktvmd%d", (int)getpid() % 100000);
	fd = tap_open(tapname, false, ifname, err, sizeof(err));
	if (fd < 0) {
		print_message("skipping the real TAP test: %s\n", err);
		skip();
	}
	start_device(0, fd, true);
	tx_one(1); /* interface down: EIO */
	assert_int_equal(virtio_net_stats(net, VIRTIO_NET_TXQ)->drop_error, 1);
	assert_int_equal(link_status(), VIRTIO_NET_S_LINK_UP);
	assert_int_equal(atomic_load(&config_notified), 0);
	assert_int_equal(if_up(tapname, true), 0);
	tx_one(2);
	assert_int_equal(virtio_net_stats(net, VIRTIO_NET_TXQ)->drop_error, 1);
	assert_int_equal(virtio_net_stats(net, VIRTIO_NET_TXQ)->packets, 1);
	if_up(tapname, false);
	stop_device();
	close(fd);
}

/* The TAP deleted under the device: the link goes down, with a config interrupt, once. */
static void test_real_tap_deleted_link_down(void **state)
{
	char err[256], ifname[IFNAMSIZ], cmd[64];
	int fd;

	snprintf(tapname, sizeof(tapname), "ktvmx%d", (int)getpid() % 100000);
	fd = tap_open(tapname, false, ifname, err, sizeof(err));
	if (fd < 0) {
		print_message("skipping the real TAP test: %s\n", err);
		skip();
	}
	assert_int_equal(if_up(tapname, true), 0);
	start_device(0, fd, true);
	assert_int_equal(link_status(), VIRTIO_NET_S_LINK_UP);
	/* Deleted on the host: this fd is detached for good (EBADFD, EPOLLERR). */
	snprintf(cmd, sizeof(cmd), "ip link del %s 2>/dev/null", tapname);
	if (system(cmd) != 0) {
		stop_device();
		close(fd);
		print_message("skipping: cannot delete the TAP with ip(8)\n");
		skip();
	}
	tx_one(3);
	WAIT_FOR(atomic_load(&config_notified) == 1);
	assert_int_equal(link_status(), 0);
	tx_one(4); /* dropped, no second interrupt */
	assert_int_equal(atomic_load(&config_notified), 1);
	stop_device();
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tx_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mergeable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_oversize_without_mrg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_large_after_small, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_large_too_few_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_alternating_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_no_buffers_no_busy_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_eagain_resumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_violation_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx_suppression, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_gone_no_spin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_tap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_tap_down_is_not_dead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_tap_deleted_link_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pcap_capture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_counters, setup, teardown),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
