// SPDX-License-Identifier: MIT
/*
 * test_virtio_net_mq.c - virtio-net multiqueue (NetConfig's contract): the
 * single-pair device is byte-identical whatever queue_pairs says when there
 * is no MSI-X; the control queue answers every command, good or malformed;
 * VQ_PAIRS_SET starts/stops pair workers and attaches/detaches TAP queues.
 *
 * The "TAP" is one SOCK_SEQPACKET socketpair per queue pair; TUNSETQUEUE and
 * TUNSETOFFLOAD are wrapped (tests/unit/test_virtio_net_mq.wrap) so the
 * device's requests are recorded; a real multi-queue TAP is used too when
 * /dev/net/tun is usable.  The driver's ring handling is
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
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <cmocka.h>

#include "devices/tap.h"
#include "devices/virtio_net.h"
#include "vmm/net_config.h"
#include "tests/common/virtio_driver.h"

#define BIT(n) (1ULL << (n))
#define QSIZE  64
#define HDR    12
#define MAXP   4
#define MAXQ   (2 * MAXP + 1)
#define S_ACK  VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV  VIRTIO_CONFIG_S_DRIVER
#define S_FOK  VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK  VIRTIO_CONFIG_S_DRIVER_OK
#define S_NR   VIRTIO_CONFIG_S_NEEDS_RESET
#define MQ_FEATS                                                                        \
	(BIT(VIRTIO_NET_F_MQ) | BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_CTRL_RX) | \
	 BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) | BIT(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) |      \
	 BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_GUEST_CSUM) |                   \
	 BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_MAC))

static const struct mem_region layout[] = {{.gpa = 0, .size = MiB(8)}};
static struct vm vm;
static struct virtio_net *net;
static struct virtio_dev *vd;
static int sv[MAXP][2]; /* [p][0]: pair p's "TAP queue", [p][1]: the host side */
static unsigned int npairs;
static atomic_int notified[MAXQ];

/* ---- the wrapped TAP ioctls ---- */
static int attached[MAXP]; /* -1 unknown, 0 detached, 1 attached */
static int offload_calls;
static unsigned int last_offload;

int __real_tap_set_queue(int fd, bool attach);
int __real_tap_set_offload(int fd, unsigned int flags);

static int fake_pair(int fd)
{
	for (unsigned int p = 0; p < npairs; p++)
		if (sv[p][0] == fd)
			return (int)p;
	return -1;
}

int __wrap_tap_set_queue(int fd, bool attach);
int __wrap_tap_set_queue(int fd, bool attach)
{
	int p = fake_pair(fd);

	if (p < 0)
		return __real_tap_set_queue(fd, attach);
	if (attached[p] == (int)attach) {
		errno = EINVAL; /* what tun says for a no-op */
		return -1;
	}
	attached[p] = attach;
	return 0;
}

int __wrap_tap_set_offload(int fd, unsigned int flags);
int __wrap_tap_set_offload(int fd, unsigned int flags)
{
	if (fake_pair(fd) < 0)
		return __real_tap_set_offload(fd, flags);
	offload_calls++;
	last_offload = flags;
	return 0;
}

/* ---- the transport ---- */
static void t_notify_queue(struct virtio_dev *d, struct virtq *q)
{
	atomic_fetch_add(&notified[q - d->vqs], 1);
}

static void t_notify_config(struct virtio_dev *d)
{
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

/* ---- the test driver (tests/common/virtio_driver.c) ---- */
static struct vdrv_queue dq[MAXQ];
static uint64_t buf_next;

static void *gp(uint64_t gpa, uint32_t len)
{
	void *p = gmem_ptr(&vm.mem, gpa, len);

	assert_non_null(p);
	return p;
}

static uint64_t alloc_buf(uint32_t len)
{
	uint64_t g = buf_next;

	buf_next = ALIGN_UP(buf_next + len, 64);
	assert_true(buf_next < MiB(8));
	return g;
}

static uint16_t post(int qi, const uint64_t *gpa, const uint32_t *len, const bool *w, int n)
{
	return vdrv_post_chain(&dq[qi], gpa, len, w, n);
}

static void kick(int qi)
{
	assert_int_equal(vdrv_kick(&dq[qi]), 0);
}

static uint16_t used_idx(int qi)
{
	return vdrv_used_idx(&dq[qi]);
}

static bool get_used(int qi, uint32_t *id, uint32_t *len)
{
	return vdrv_get_used(&dq[qi], id, len);
}

#define WAIT_FOR(cond)                          \
	do {                                    \
		int ms_ = 0;                    \
		while (!(cond) && ms_++ < 5000) \
			usleep(1000);           \
		assert_true(cond);              \
	} while (0)

static struct net_config mq_cfg(unsigned int qp, bool msix)
{
	struct net_config c;

	net_config_defaults(&c);
	c.queue_pairs = qp;
	c.msix = msix;
	return c;
}

/* A device with 'pairs' socketpair "TAP queues"; not started. */
static void new_device(unsigned int qp, bool msix)
{
	struct net_config cfg = mq_cfg(qp, msix);
	int fds[MAXP];

	npairs = virtio_net_pairs_for(&cfg, msix);
	assert_true(npairs <= MAXP);
	for (unsigned int p = 0; p < npairs; p++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
					    0, sv[p]),
				 0);
		fds[p] = sv[p][0];
		attached[p] = 1; /* a freshly opened TAP queue is attached */
	}
	net = virtio_net_new_mq(&vm, &cfg, 0, fds, npairs, true, msix);
	assert_non_null(net);
	vd = virtio_net_vdev(net);
	vd->t = &t_ops;
	for (unsigned int i = 0; i < vd->num_queues; i++)
		vd->vqs[i].kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

/* Negotiate 'features', enable every queue, DRIVER_OK. */
static void start_device(unsigned int qp, uint64_t features)
{
	new_device(qp, true);
	features |= BIT(VIRTIO_F_VERSION_1);
	assert_int_equal(features & ~vd->device_features, 0);
	pthread_mutex_lock(&vd->lock);
	assert_int_equal(vdrv_negotiate(vd, features), 0);
	for (unsigned int i = 0; i < vd->num_queues; i++)
		assert_int_equal(vdrv_queue_setup(&dq[i], &vd->vqs[i], &vm.mem, i, QSIZE, false),
				 0);
	assert_int_equal(vdrv_driver_ok(vd), 0);
	pthread_mutex_unlock(&vd->lock);
}

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	vm.vm_fd = vm.kvm_fd = vm.loop_fd = -1;
	assert_int_equal(gmem_init(&vm.mem, MiB(8), layout, 1), 0);
	buf_next = MiB(2);
	for (int i = 0; i < MAXQ; i++)
		atomic_store(&notified[i], 0);
	for (int p = 0; p < MAXP; p++)
		sv[p][0] = sv[p][1] = -1;
	npairs = 0;
	offload_calls = 0;
	net = NULL;
	return 0;
}

static void destroy_device(void)
{
	int fds[MAXQ];
	unsigned int nq = vd->num_queues;

	for (unsigned int i = 0; i < nq; i++)
		fds[i] = vd->vqs[i].kick_fd;
	virtio_net_destroy(net);
	net = NULL;
	for (unsigned int i = 0; i < nq; i++)
		close(fds[i]);
}

static int teardown(void **state)
{
	if (net)
		destroy_device();
	for (int p = 0; p < MAXP; p++)
		for (int k = 0; k < 2; k++)
			if (sv[p][k] >= 0)
				close(sv[p][k]);
	gmem_destroy(&vm.mem);
	return 0;
}

/* Threads of this process whose name starts with 'prefix'. */
static int threads_counted(const char *prefix)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d))) {
		char path[300], comm[32] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, prefix, strlen(prefix)))
			n++;
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

/*
 * The same, once it is 'want' or after 5 s: a new thread names itself
 * (seccomp: naming another thread opens /proc/self/task/TID/comm), so its
 * name can come a moment after pthread_create() returned.
 */
static int threads_named(const char *prefix, int want)
{
	struct timespec t0, now, tick = {0, 1000000};
	int n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((n = threads_counted(prefix)) != want) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= 5)
			break;
		nanosleep(&tick, NULL);
	}
	return n;
}

/* ---- control commands ---- */
static int ctrlq(void)
{
	return 2 * (int)npairs;
}

/*
 * Post a command laid out as the pieces given (readable first, then the
 * writable ones), kick, wait for it to come back.  Returns the status byte
 * (or -1 when there was none), *used_len the used length.
 */
static int ctrl_raw(int qi, const uint8_t *cmd, size_t cmdlen, const uint32_t *split, int nsplit,
		    const uint32_t *wlens, int nw, uint32_t *used_len)
{
	uint64_t g[16];
	uint32_t l[16];
	bool w[16];
	int n = 0;
	size_t off = 0;
	uint64_t status_gpa = 0;
	uint32_t id, len;
	uint16_t head, before = used_idx(qi);

	for (int i = 0; i < nsplit; i++) {
		g[n] = alloc_buf(split[i] ? split[i] : 1);
		l[n] = split[i];
		w[n] = false;
		if (split[i])
			memcpy(gp(g[n], split[i]), cmd + off, split[i]);
		off += split[i];
		n++;
	}
	assert_int_equal(off, cmdlen);
	for (int i = 0; i < nw; i++) {
		g[n] = alloc_buf(wlens[i] ? wlens[i] : 1);
		l[n] = wlens[i];
		w[n] = true;
		memset(gp(g[n], wlens[i] ? wlens[i] : 1), 0xaa, wlens[i] ? wlens[i] : 1);
		if (wlens[i] && !status_gpa)
			status_gpa = g[n];
		n++;
	}
	head = post(qi, g, l, w, n);
	kick(qi);
	WAIT_FOR(used_idx(qi) == (uint16_t)(before + 1));
	assert_true(get_used(qi, &id, &len));
	assert_int_equal(id, head);
	*used_len = len;
	return status_gpa ? *(uint8_t *)gp(status_gpa, 1) : -1;
}

/* The ordinary layout: [class, cmd][data][status]. */
static int ctrl_q(int qi, uint8_t cls, uint8_t cmd, const void *data, uint32_t len)
{
	uint8_t b[512];
	uint32_t split[2] = {2, len}, one = 1, ul;
	int r;

	b[0] = cls;
	b[1] = cmd;
	if (len)
		memcpy(b + 2, data, len);
	r = ctrl_raw(qi, b, 2 + len, split, len ? 2 : 1, &one, 1, &ul);
	assert_int_equal(ul, 1);
	return r;
}

static int ctrl(uint8_t cls, uint8_t cmd, const void *data, uint32_t len)
{
	return ctrl_q(ctrlq(), cls, cmd, data, len);
}

static int pairs_set(unsigned int n)
{
	uint8_t v[2] = {(uint8_t)n, (uint8_t)(n >> 8)};

	return ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, v, 2);
}

/* ---- tests ---- */

/* NetConfig: without MSI-X, any queue_pairs gives the queue_pairs=1 device, byte for byte. */
static void test_single_pair_byte_identical(void **state)
{
	static const struct {
		unsigned int qp;
		bool msix;
	} cases[] = {{1, false}, {4, false}, {2, false}, {256, false}, {1, true}};
	uint8_t ref_cfg[64], cfgb[64];
	uint64_t ref_feat;
	unsigned int ref_nq, ref_size;

	new_device(1, true);
	ref_feat = vd->device_features;
	ref_nq = vd->num_queues;
	ref_size = vd->ops->config_size;
	memset(ref_cfg, 0x55, sizeof(ref_cfg));
	vd->ops->config_read(vd, 0, ref_cfg, ref_size);
	assert_int_equal(ref_nq, 2);
	assert_false(ref_feat & BIT(VIRTIO_NET_F_MQ));
	assert_false(ref_feat & BIT(VIRTIO_NET_F_CTRL_VQ));
	assert_int_equal(ref_cfg[8] | ref_cfg[9] << 8, 0);
	destroy_device();
	teardown(state);

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		setup(state);
		new_device(cases[i].qp, cases[i].msix);
		assert_int_equal(vd->device_features, ref_feat);
		assert_int_equal(vd->num_queues, ref_nq);
		assert_int_equal(vd->ops->config_size, ref_size);
		memset(cfgb, 0x55, sizeof(cfgb));
		vd->ops->config_read(vd, 0, cfgb, ref_size);
		assert_memory_equal(cfgb, ref_cfg, sizeof(cfgb));
		destroy_device();
		teardown(state);
	}
	/* The single-fd constructor is the same device. */
	setup(state);
	struct net_config c = mq_cfg(4, true);

	npairs = 1;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv[0]), 0);
	net = virtio_net_new(&vm, &c, 0, sv[0][0], true);
	assert_non_null(net);
	vd = virtio_net_vdev(net);
	assert_int_equal(vd->device_features, ref_feat);
	assert_int_equal(vd->num_queues, 2);
	for (unsigned int i = 0; i < vd->num_queues; i++)
		vd->vqs[i].kick_fd = eventfd(0, EFD_CLOEXEC);
}

static void test_mq_offered(void **state)
{
	uint8_t b[12];

	new_device(4, true);
	assert_true(vd->device_features & BIT(VIRTIO_NET_F_MQ));
	assert_true(vd->device_features & BIT(VIRTIO_NET_F_CTRL_VQ));
	assert_true(vd->device_features & BIT(VIRTIO_NET_F_CTRL_RX));
	assert_true(vd->device_features & BIT(VIRTIO_NET_F_CTRL_MAC_ADDR));
	assert_true(vd->device_features & BIT(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS));
	assert_false(vd->device_features & BIT(VIRTIO_NET_F_GUEST_ANNOUNCE));
	assert_false(vd->device_features & BIT(VIRTIO_NET_F_CTRL_VLAN));
	assert_false(vd->device_features & BIT(VIRTIO_NET_F_RSS));
	assert_int_equal(vd->num_queues, 9); /* rx0 tx0 .. rx3 tx3, control last */
	assert_int_equal(virtio_net_max_pairs(net), 4);
	vd->ops->config_read(vd, 0, b, sizeof(b));
	assert_int_equal(b[8] | b[9] << 8, 4);
	assert_int_equal(virtio_net_pairs_for(&(struct net_config){.queue_pairs = 256}, true), 256);
	assert_int_equal(virtio_net_pairs_for(&(struct net_config){.queue_pairs = 256}, false), 1);
}

/* Activation: pair 0 only, other TAP queues detached; VQ_PAIRS_SET switches. */
static void test_pairs_switch(void **state)
{
	uint32_t id, len;

	start_device(4, MQ_FEATS);
	assert_int_equal(virtio_net_active_pairs(net), 1);
	assert_true(virtio_net_pair_running(net, 0));
	assert_false(virtio_net_pair_running(net, 1));
	assert_int_equal(attached[0], 1);
	for (int p = 1; p < 4; p++)
		assert_int_equal(attached[p], 0);
	assert_int_equal(threads_named("ktvm-net0-q", 1), 1);
	assert_int_equal(threads_named("ktvm-net0-ctl", 1), 1);

	assert_int_equal(pairs_set(3), VIRTIO_NET_OK);
	assert_int_equal(virtio_net_active_pairs(net), 3);
	for (int p = 0; p < 4; p++) {
		assert_int_equal(virtio_net_pair_running(net, (unsigned int)p), p < 3);
		assert_int_equal(attached[p], p < 3);
	}
	assert_int_equal(threads_named("ktvm-net0-q2", 1), 1);
	assert_int_equal(threads_named("ktvm-net0-q", 3), 3);

	/* Pair 2 carries traffic both ways on its own TAP queue, and interrupts its own queues. */
	uint64_t rb = alloc_buf(2048);
	bool wr = true;
	uint32_t rl = 2048;

	post(VIRTIO_NET_RXQ_OF(2), &rb, &rl, &wr, 1);
	kick(VIRTIO_NET_RXQ_OF(2));
	uint8_t frame[HDR + 100] = {0};

	memset(frame + HDR, 0x42, 100);
	assert_int_equal(send(sv[2][1], frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	WAIT_FOR(used_idx(VIRTIO_NET_RXQ_OF(2)) == 1);
	assert_true(get_used(VIRTIO_NET_RXQ_OF(2), &id, &len));
	assert_int_equal(len, sizeof(frame));
	WAIT_FOR(atomic_load(&notified[VIRTIO_NET_RXQ_OF(2)]) == 1);
	assert_int_equal(atomic_load(&notified[VIRTIO_NET_RXQ_OF(0)]), 0);

	uint64_t tb = alloc_buf(HDR + 60);
	uint32_t tl = HDR + 60;
	bool ww = false;
	uint8_t got[256];

	memset(gp(tb, tl), 0, tl);
	post(VIRTIO_NET_TXQ_OF(2), &tb, &tl, &ww, 1);
	kick(VIRTIO_NET_TXQ_OF(2));
	struct pollfd pf = {.fd = sv[2][1], .events = POLLIN};

	assert_int_equal(poll(&pf, 1, 2000), 1);
	assert_int_equal(recv(sv[2][1], got, sizeof(got), 0), HDR + 60);
	assert_int_equal(recv(sv[0][1], got, sizeof(got), MSG_DONTWAIT), -1);
	WAIT_FOR(virtio_net_stats(net, VIRTIO_NET_TXQ_OF(2))->packets == 1);
	assert_int_equal(virtio_net_stats(net, VIRTIO_NET_TXQ_OF(0))->packets, 0);

	/* Out of range: refused, nothing changes. */
	assert_int_equal(pairs_set(0), VIRTIO_NET_ERR);
	assert_int_equal(pairs_set(5), VIRTIO_NET_ERR);
	assert_int_equal(pairs_set(0x8000), VIRTIO_NET_ERR);
	assert_int_equal(virtio_net_active_pairs(net), 3);
	/* A two-byte argument the wrong length is refused too. */
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, "\x02", 1),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_RSS_CONFIG, "\x02\x00", 2),
			 VIRTIO_NET_ERR);

	/* Down to 1: workers joined, queues detached. */
	assert_int_equal(pairs_set(1), VIRTIO_NET_OK);
	assert_int_equal(virtio_net_active_pairs(net), 1);
	for (int p = 0; p < 4; p++) {
		assert_int_equal(virtio_net_pair_running(net, (unsigned int)p), p == 0);
		assert_int_equal(attached[p], p == 0);
	}
	assert_int_equal(threads_named("ktvm-net0-q", 1), 1);
	/* Up to all, and the same again (no-op). */
	assert_int_equal(pairs_set(4), VIRTIO_NET_OK);
	assert_int_equal(pairs_set(4), VIRTIO_NET_OK);
	assert_int_equal(threads_named("ktvm-net0-q", 4), 4);
	for (int p = 0; p < 4; p++)
		assert_int_equal(attached[p], 1);
	assert_int_equal(virtio_net_ctrl_stats(net)->pairs_set, 4);

	/* Reset stops everything. */
	pthread_mutex_lock(&vd->lock);
	virtio_set_status(vd, 0);
	pthread_mutex_unlock(&vd->lock);
	assert_int_equal(threads_named("ktvm-net0-", 0), 0);
	assert_int_equal(virtio_net_active_pairs(net), 0);
}

static void test_ctrl_rx_mac_announce(void **state)
{
	uint8_t one = 1, two[2] = {1, 1};
	uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55}, b[6];

	start_device(2, MQ_FEATS);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &one, 1),
			 VIRTIO_NET_OK);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &one, 1),
			 VIRTIO_NET_OK);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, two, 2),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, NULL, 0),
			 VIRTIO_NET_ERR);
	/* The RX_EXTRA commands were not offered. */
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOUNI, &one, 1),
			 VIRTIO_NET_ERR);

	/* MAC tables: 1 unicast + 2 multicast entries; then malformed ones. */
	uint8_t t[4 + 6 + 4 + 12] = {1, 0, 0, 0};

	t[10] = 2;
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, t, sizeof(t)),
			 VIRTIO_NET_OK);
	uint8_t empty[8] = {0};

	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, empty, 8),
			 VIRTIO_NET_OK);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, t, sizeof(t) - 1),
			 VIRTIO_NET_ERR);
	uint8_t huge[8] = {0xff, 0xff, 0xff, 0xff};

	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, huge, 8),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, empty, 4),
			 VIRTIO_NET_ERR);

	/* ADDR_SET changes the MAC config space shows. */
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 6),
			 VIRTIO_NET_OK);
	vd->ops->config_read(vd, 0, b, 6);
	assert_memory_equal(b, mac, 6);
	uint8_t mcast[6] = {0x03, 0, 0, 0, 0, 1};

	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mcast, 6),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 5),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, 7, mac, 6), VIRTIO_NET_ERR);

	assert_int_equal(ctrl(VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0),
			 VIRTIO_NET_OK);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_ANNOUNCE, 1, NULL, 0), VIRTIO_NET_ERR);
	/* Unknown class and command, VLAN (not offered): ERR. */
	assert_int_equal(ctrl(99, 0, NULL, 0), VIRTIO_NET_ERR);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_ADD, "\x01\x00", 2),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_NOTF_COAL, 0, NULL, 0), VIRTIO_NET_ERR);
	assert_true(virtio_net_ctrl_stats(net)->ok >= 6);
}

static void put_le64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static void test_ctrl_guest_offloads(void **state)
{
	uint8_t v[8] = {0};

	start_device(2, MQ_FEATS);
	int before = offload_calls;

	/* Everything off, then checksum + TSO4 back on: TUNSETOFFLOAD each time. */
	assert_int_equal(
		ctrl(VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, v, 8),
		VIRTIO_NET_OK);
	assert_int_equal(offload_calls, before + 1);
	assert_int_equal(last_offload, 0);
	put_le64(v, BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_GUEST_TSO4));
	assert_int_equal(
		ctrl(VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, v, 8),
		VIRTIO_NET_OK);
	assert_int_equal(last_offload, TUN_F_CSUM | TUN_F_TSO4);
	/* TSO6 was not negotiated; a host-side bit is not an offload: refused, not applied. */
	put_le64(v, BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_GUEST_TSO6));
	assert_int_equal(
		ctrl(VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, v, 8),
		VIRTIO_NET_ERR);
	put_le64(v, BIT(VIRTIO_NET_F_HOST_TSO4));
	assert_int_equal(
		ctrl(VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, v, 8),
		VIRTIO_NET_ERR);
	assert_int_equal(
		ctrl(VIRTIO_NET_CTRL_GUEST_OFFLOADS, VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, v, 4),
		VIRTIO_NET_ERR);
	assert_int_equal(last_offload, TUN_F_CSUM | TUN_F_TSO4);
}

/* A driver that takes CTRL_VQ without MQ: the control queue is queue 2 (virtio 1.2 5.1.2). */
static void test_ctrl_vq_without_mq(void **state)
{
	start_device(2, MQ_FEATS & ~BIT(VIRTIO_NET_F_MQ));
	assert_int_equal(ctrl_q(2, VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0),
			 VIRTIO_NET_OK);
	assert_int_equal(
		ctrl_q(2, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, "\x02\x00", 2),
		VIRTIO_NET_ERR);
	assert_int_equal(virtio_net_active_pairs(net), 1);
}

/* Malformed commands, each its own test: always answered, never a crash or a hang. */
static void test_ctrl_header_split(void **state)
{
	const uint8_t cmd[4] = {VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2, 0};
	uint32_t split[4] = {1, 1, 1, 1}, one = 1, ul;

	start_device(2, MQ_FEATS);
	assert_int_equal(ctrl_raw(ctrlq(), cmd, 4, split, 4, &one, 1, &ul), VIRTIO_NET_OK);
	assert_int_equal(ul, 1);
	assert_int_equal(virtio_net_active_pairs(net), 2);
	uint32_t split2[2] = {1, 3};

	assert_int_equal(ctrl_raw(ctrlq(), cmd, 4, split2, 2, &one, 1, &ul), VIRTIO_NET_OK);
	/* A zero-length readable piece in the middle is fine too. */
	uint32_t split3[3] = {2, 0, 2};

	assert_int_equal(ctrl_raw(ctrlq(), cmd, 4, split3, 3, &one, 1, &ul), VIRTIO_NET_OK);
}

static void test_ctrl_no_status_byte(void **state)
{
	const uint8_t cmd[4] = {VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2, 0};
	uint32_t split[1] = {4}, ul = 99;

	start_device(2, MQ_FEATS);
	/* Returned with length 0, and not carried out. */
	assert_int_equal(ctrl_raw(ctrlq(), cmd, 4, split, 1, NULL, 0, &ul), -1);
	assert_int_equal(ul, 0);
	assert_int_equal(virtio_net_active_pairs(net), 1);
	assert_int_equal(virtio_net_ctrl_stats(net)->no_status, 1);
	/* Twice, and the queue still answers the next good one. */
	assert_int_equal(ctrl_raw(ctrlq(), cmd, 4, split, 1, NULL, 0, &ul), -1);
	assert_int_equal(pairs_set(2), VIRTIO_NET_OK);
}

static void test_ctrl_status_buffer_empty(void **state)
{
	const uint8_t cmd[4] = {VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2, 0};
	uint32_t split[1] = {4}, zero = 0, ul = 99;

	start_device(2, MQ_FEATS);
	assert_int_equal(ctrl_raw(ctrlq(), cmd, 4, split, 1, &zero, 1, &ul), -1);
	assert_int_equal(ul, 0);
	assert_int_equal(virtio_net_active_pairs(net), 1);
	/* A zero-length writable piece before a real one: the status goes in the real one. */
	uint32_t w2[2] = {0, 1};

	assert_int_equal(ctrl_raw(ctrlq(), cmd, 4, split, 1, w2, 2, &ul), VIRTIO_NET_OK);
	assert_int_equal(ul, 1);
	/* A large status buffer: one byte written. */
	uint32_t big = 64;

	assert_int_equal(ctrl_raw(ctrlq(), cmd, 4, split, 1, &big, 1, &ul), VIRTIO_NET_OK);
	assert_int_equal(ul, 1);
}

static void test_ctrl_short_header(void **state)
{
	const uint8_t cmd[1] = {VIRTIO_NET_CTRL_MQ};
	uint32_t split[1] = {1}, one = 1, ul;

	start_device(2, MQ_FEATS);
	assert_int_equal(ctrl_raw(ctrlq(), cmd, 1, split, 1, &one, 1, &ul), VIRTIO_NET_ERR);
	assert_int_equal(ul, 1);
	assert_int_equal(virtio_net_ctrl_stats(net)->malformed, 1);
}

static void test_ctrl_status_only(void **state)
{
	uint32_t one = 1, ul;

	start_device(2, MQ_FEATS);
	assert_int_equal(ctrl_raw(ctrlq(), NULL, 0, NULL, 0, &one, 1, &ul), VIRTIO_NET_ERR);
	assert_int_equal(ul, 1);
}

static void test_ctrl_too_long(void **state)
{
	static uint8_t cmd[70000];
	uint32_t split[2] = {35000, 35000}, one = 1, ul;

	start_device(2, MQ_FEATS);
	memset(cmd, 0, sizeof(cmd));
	cmd[0] = VIRTIO_NET_CTRL_MAC;
	cmd[1] = VIRTIO_NET_CTRL_MAC_TABLE_SET;
	assert_int_equal(ctrl_raw(ctrlq(), cmd, sizeof(cmd), split, 2, &one, 1, &ul),
			 VIRTIO_NET_ERR);
	assert_int_equal(pairs_set(2), VIRTIO_NET_OK);
}

static void test_ctrl_corrupt_ring(void **state)
{
	struct vring_avail *a;

	start_device(2, MQ_FEATS);
	a = dq[ctrlq()].avail;
	a->ring[0] = 999; /* no such descriptor */
	__atomic_store_n(&a->idx, 1, __ATOMIC_RELEASE);
	kick(ctrlq());
	WAIT_FOR(__atomic_load_n(&vd->status, __ATOMIC_ACQUIRE) & S_NR);
	/* The data path is untouched; reset recovers. */
	assert_true(virtio_net_pair_running(net, 0));
	pthread_mutex_lock(&vd->lock);
	virtio_set_status(vd, 0);
	pthread_mutex_unlock(&vd->lock);
	assert_int_equal(threads_named("ktvm-net0-", 0), 0);
}

/* A real multi-queue TAP: TUNSETQUEUE detaches and re-attaches a queue. */
static void test_real_mq_tap(void **state)
{
	char name[IFNAMSIZ], err[256];
	int fd[2];

	snprintf(name, sizeof(name), "ktvmq%d", (int)getpid() % 100000);
	fd[0] = tap_open(name, true, NULL, err, sizeof(err));
	if (fd[0] < 0) {
		print_message("skipping the real TAP test: %s\n", err);
		skip();
	}
	fd[1] = tap_open(name, true, NULL, err, sizeof(err));
	assert_true(fd[1] >= 0);
	assert_int_equal(tap_set_queue(fd[1], false), 0);
	assert_int_equal(tap_set_queue(fd[1], false), -1); /* already detached */
	assert_int_equal(tap_set_queue(fd[1], true), 0);
	/* A single-pair NIC attaches to a multi-queue TAP as one more queue. */
	int one = tap_open(name, false, NULL, err, sizeof(err));
	assert_true(one >= 0);
	close(one);
	close(fd[1]);
	close(fd[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_single_pair_byte_identical, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mq_offered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pairs_switch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_rx_mac_announce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_guest_offloads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_vq_without_mq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_header_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_no_status_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_status_buffer_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_short_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_status_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_corrupt_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_mq_tap, setup, teardown),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
