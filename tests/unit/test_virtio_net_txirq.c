// SPDX-License-Identifier: MIT
/*
 * test_virtio_net_txirq.c - TX completions reach the driver while the
 * worker is still writing the batch (issue 12): with EVENT_IDX, an
 * interrupt the driver asked for (used_event crossed) is sent right after
 * that chain's push, not once after the last writev() of the wake-up; and
 * no interrupt goes out that the driver did not ask for.  writev is wrapped
 * (test_virtio_net_txirq.wrap) to see how many TX interrupts had been sent
 * when each frame was written.
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
#include <linux/virtio_ring.h>
#include <cmocka.h>

#include "devices/virtio_net.h"
#include "tests/common/virtio_driver.h"

#define BIT(n)	(1ULL << (n))
#define HDR	12
#define NFRAMES 8

static const struct mem_region layout[] = {{.gpa = 0, .size = MiB(4)}};
static struct vm vm;
static int sv[2] = {-1, -1};
static atomic_int tx_irqs, nwritten;
static int irqs_at_write[NFRAMES]; /* TX interrupts sent when frame k was written */

ssize_t __real_writev(int fd, const struct iovec *iov, int n);
ssize_t __wrap_writev(int fd, const struct iovec *iov, int n);
ssize_t __wrap_writev(int fd, const struct iovec *iov, int n)
{
	int k = atomic_load(&nwritten);

	if (fd == sv[0] && k < NFRAMES) {
		irqs_at_write[k] = atomic_load(&tx_irqs);
		atomic_store(&nwritten, k + 1);
	}
	return __real_writev(fd, iov, n);
}

static void t_notify_queue(struct virtio_dev *d, struct virtq *q)
{
	if (q == &d->vqs[VIRTIO_NET_TXQ])
		atomic_fetch_add(&tx_irqs, 1);
}

static const struct virtio_transport_ops t_ops = {.notify_queue = t_notify_queue};

/* One NIC, EVENT_IDX, NFRAMES TX frames in one kick; used_event 'ahead' past the start. */
static void run_batch(uint16_t ahead)
{
	struct net_config cfg = {.fd = -1, .mac = KTVM_DEFAULT_MAC, .queue_pairs = 1, .msix = true};
	struct vdrv_queue dq[2];
	struct virtio_net *net;
	struct virtio_dev *vd;
	uint64_t f = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_RING_F_EVENT_IDX);
	uint8_t *tx;

	atomic_store(&tx_irqs, 0);
	atomic_store(&nwritten, 0);
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
		assert_int_equal(vdrv_queue_setup(&dq[i], &vd->vqs[i], &vm.mem, i, 64, true), 0);
	assert_int_equal(vdrv_driver_ok(vd), 0);
	pthread_mutex_unlock(&vd->lock);

	tx = gmem_ptr(&vm.mem, MiB(1), NFRAMES * 1024);
	assert_non_null(tx);
	vdrv_arm_interrupt(&dq[VIRTIO_NET_TXQ], ahead);
	for (int k = 0; k < NFRAMES; k++) {
		uint64_t g = MiB(1) + k * 1024u;
		uint32_t l = HDR + 60;
		bool w = false;

		memset(tx + k * 1024, 0, l);
		vdrv_post_chain(&dq[VIRTIO_NET_TXQ], &g, &l, &w, 1);
	}
	assert_int_equal(vdrv_kick(&dq[VIRTIO_NET_TXQ]), 0);
	for (int ms = 0; ms < 5000 && vdrv_used_idx(&dq[VIRTIO_NET_TXQ]) != NFRAMES; ms++)
		usleep(1000); /* polling the used ring, bounded (5 s) */
	assert_int_equal(vdrv_used_idx(&dq[VIRTIO_NET_TXQ]), NFRAMES);
	int kick_fds[2] = {vd->vqs[0].kick_fd, vd->vqs[1].kick_fd};

	virtio_net_destroy(net); /* joins the worker: every interrupt is counted */
	for (int i = 0; i < 2; i++)
		close(kick_fds[i]);
	close(sv[0]);
	close(sv[1]);
	gmem_destroy(&vm.mem);
	assert_int_equal(atomic_load(&nwritten), NFRAMES);
}

/*
 * used_event 4: an interrupt once the used index passes 4, i.e. at the 5th
 * completion.  The first completion of the queue's life always interrupts
 * (no reference point yet).  Both go out before the next frame is written.
 */
static void test_completion_sent_within_the_batch(void **state)
{
	run_batch(4);
	/* Frame 1's completion went out before frame 2 was written. */
	if (irqs_at_write[1] != 1)
		fail_msg("%d TX interrupts when frame 2 was written, want 1 (frame 1's)",
			 irqs_at_write[1]);
	/* The 5th completion's before frame 6's writev, and nothing between. */
	assert_int_equal(irqs_at_write[4], 1);
	assert_int_equal(irqs_at_write[5], 2);
	assert_int_equal(irqs_at_write[NFRAMES - 1], 2);
	assert_int_equal(atomic_load(&tx_irqs), 2);
}

/* used_event beyond the batch: only the first completion interrupts. */
static void test_no_interrupt_not_asked_for(void **state)
{
	run_batch(40);
	assert_int_equal(atomic_load(&tx_irqs), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_completion_sent_within_the_batch),
		cmocka_unit_test(test_no_interrupt_not_asked_for),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
