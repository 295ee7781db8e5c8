// SPDX-License-Identifier: MIT
/*
 * test_virtio_net_pcap.c - pcap= captures exactly the TX bytes that went to
 * the TAP, even when the guest rewrites its buffer right after the device
 * sent it.  writev is wrapped (test_virtio_net_pcap.wrap): on the fake
 * TAP's fd, the wrapper records what was written, then scribbles over the
 * guest's TX buffers (what a hostile guest's vCPU can do at that instant),
 * deterministically.  The capture must equal the recorded bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/virtio_net.h>
#include <cmocka.h>
#include <pcap/pcap.h>

#include "devices/virtio_net.h"
#include "vmm/net_pcap.h"
#include "tests/common/virtio_driver.h"

#define BIT(n)	(1ULL << (n))
#define HDR	12
#define NFRAMES 8

static const struct mem_region layout[] = {{.gpa = 0, .size = MiB(4)}};
static struct vm vm;
static int sv[2] = {-1, -1};

/* ---- writev on the fake TAP: record, then let the "guest" scribble ---- */
static uint8_t *guest_tx; /* the guest's TX buffers (host view) */
static size_t guest_tx_len;
static uint8_t sent[NFRAMES][2048]; /* frame bytes as written (after the header) */
static size_t sent_len[NFRAMES];
static atomic_int nsent;

ssize_t __real_writev(int fd, const struct iovec *iov, int n);
ssize_t __wrap_writev(int fd, const struct iovec *iov, int n);
ssize_t __wrap_writev(int fd, const struct iovec *iov, int n)
{
	ssize_t w = __real_writev(fd, iov, n);
	int k = atomic_load(&nsent);

	if (fd != sv[0] || w <= 0 || k >= NFRAMES)
		return w;
	/* What the TAP got: the bytes past the vnet header. */
	size_t off = 0, got = 0;

	for (int i = 0; i < n; i++) {
		for (size_t j = 0; j < iov[i].iov_len; j++, off++)
			if (off >= HDR && got < sizeof(sent[k]))
				sent[k][got++] = ((const uint8_t *)iov[i].iov_base)[j];
	}
	sent_len[k] = got;
	atomic_store(&nsent, k + 1);
	/* The guest rewrites its buffers before the device is done with the chain. */
	memset(guest_tx, 0xee, guest_tx_len);
	return w;
}

static void t_notify_queue(struct virtio_dev *d, struct virtq *q)
{
}

static const struct virtio_transport_ops t_ops = {.notify_queue = t_notify_queue};

static void test_pcap_tx_is_what_was_written(void **state)
{
	char path[] = "/tmp/ktvm-test-pcap-XXXXXX";
	int tmp = mkstemp(path);
	struct net_config cfg = {
		.fd = -1, .mac = KTVM_DEFAULT_MAC, .queue_pairs = 1, .msix = true, .pcap = path};
	struct vdrv_queue dq[2];
	struct virtio_net *net;
	struct virtio_dev *vd;
	uint64_t f = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MAC);
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *pc;
	int frames = 0;

	assert_true(tmp >= 0);
	close(tmp);
	memset(&vm, 0, sizeof(vm));
	vm.vm_fd = vm.kvm_fd = vm.loop_fd = -1;
	assert_int_equal(gmem_init(&vm.mem, MiB(4), layout, 1), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv),
			 0);
	net = virtio_net_new(&vm, &cfg, 0, sv[0], false);
	assert_non_null(net);
	vd = virtio_net_vdev(net);
	vd->t = &t_ops;
	for (int i = 0; i < 2; i++)
		vd->vqs[i].kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_lock(&vd->lock);
	assert_int_equal(vdrv_negotiate(vd, f), 0);
	for (unsigned int i = 0; i < 2; i++)
		assert_int_equal(vdrv_queue_setup(&dq[i], &vd->vqs[i], &vm.mem, i, 64, false), 0);
	assert_int_equal(vdrv_driver_ok(vd), 0);
	pthread_mutex_unlock(&vd->lock);

	/* NFRAMES frames, each a header and a payload in two descriptors. */
	guest_tx_len = NFRAMES * 1024;
	guest_tx = gmem_ptr(&vm.mem, MiB(1), guest_tx_len);
	assert_non_null(guest_tx);
	for (int k = 0; k < NFRAMES; k++) {
		uint64_t g[2] = {MiB(1) + k * 1024u, MiB(1) + k * 1024u + 64};
		uint32_t l[2] = {HDR, 60 + 10 * (uint32_t)k};
		bool w[2] = {false, false};

		memset(guest_tx + k * 1024, 0, HDR);
		for (uint32_t j = 0; j < l[1]; j++)
			guest_tx[k * 1024 + 64 + j] = (uint8_t)(k * 31 + j);
		vdrv_post_chain(&dq[VIRTIO_NET_TXQ], g, l, w, 2);
	}
	assert_int_equal(vdrv_kick(&dq[VIRTIO_NET_TXQ]), 0);
	for (int ms = 0; ms < 5000 && vdrv_used_idx(&dq[VIRTIO_NET_TXQ]) != NFRAMES; ms++)
		usleep(1000);
	assert_int_equal(vdrv_used_idx(&dq[VIRTIO_NET_TXQ]), NFRAMES);
	assert_int_equal(atomic_load(&nsent), NFRAMES);
	int kick_fds[2] = {vd->vqs[0].kick_fd, vd->vqs[1].kick_fd};

	virtio_net_destroy(net); /* flushes and closes the capture */

	pc = pcap_open_offline(path, err);
	assert_non_null(pc);
	while (pcap_next_ex(pc, &h, &data) == 1) {
		assert_true(frames < NFRAMES);
		assert_int_equal(h->caplen, sent_len[frames]);
		assert_int_equal(h->caplen, 60 + 10 * frames);
		assert_memory_equal(data, sent[frames], h->caplen);
		frames++;
	}
	pcap_close(pc);
	assert_int_equal(frames, NFRAMES);
	unlink(path);
	for (int i = 0; i < 2; i++)
		close(kick_fds[i]);
	close(sv[0]);
	close(sv[1]);
	gmem_destroy(&vm.mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcap_tx_is_what_was_written),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
