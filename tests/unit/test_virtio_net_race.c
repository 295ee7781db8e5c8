// SPDX-License-Identifier: MIT
/*
 * test_virtio_net_race.c - the statistics reader (virtio_net_queue_state(),
 * the main thread's "ktvm ctl stats", SIGUSR1, Ctrl-A s) against a guest
 * that resets and re-activates its NIC in a loop on a vCPU thread.  The
 * reset zeroes the queues (ring pointers NULL, size 0) under the device
 * lock; a reader that looks at them without that lock dereferences NULL.
 * The loop runs for a bounded time (REPEAT_MS) and counts what both sides
 * did, so a run that did not race at all fails too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <linux/virtio_net.h>
#include <cmocka.h>

#include "devices/virtio_net.h"
#include "tests/common/virtio_driver.h"

#define BIT(n)	  (1ULL << (n))
#define QSIZE	  64
#define REPEAT_MS 700

static const struct mem_region layout[] = {{.gpa = 0, .size = MiB(4)}};
static struct vm vm;
static struct virtio_net *net;
static struct virtio_dev *vd;
static struct vdrv_queue dq[2];
static int sv[2] = {-1, -1};
static atomic_bool stop;
static atomic_uint cycles;

static void t_notify_queue(struct virtio_dev *d, struct virtq *q)
{
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

static const uint64_t feats = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MAC) |
			      BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_NET_F_MRG_RXBUF);

/* Under vd->lock, as a transport's register write: negotiate, lay out the rings, DRIVER_OK. */
static int bring_up(void)
{
	if (vdrv_negotiate(vd, feats))
		return -1;
	for (unsigned int i = 0; i < 2; i++)
		if (vdrv_queue_setup(&dq[i], &vd->vqs[i], &vm.mem, i, QSIZE, true))
			return -1;
	return vdrv_driver_ok(vd);
}

/* The guest's vCPU: status 0 (reset), then the whole bring-up again, forever. */
static void *guest(void *arg)
{
	while (!atomic_load(&stop)) {
		pthread_mutex_lock(&vd->lock);
		virtio_set_status(vd, 0);
		if (bring_up()) {
			pthread_mutex_unlock(&vd->lock);
			return (void *)1;
		}
		pthread_mutex_unlock(&vd->lock);
		atomic_fetch_add(&cycles, 1);
	}
	return NULL;
}

static int setup(void **state)
{
	struct net_config cfg = {.fd = -1, .mac = KTVM_DEFAULT_MAC, .queue_pairs = 1, .msix = true};

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
	assert_int_equal(bring_up(), 0);
	pthread_mutex_unlock(&vd->lock);
	return 0;
}

static int teardown(void **state)
{
	int fds[2] = {vd->vqs[0].kick_fd, vd->vqs[1].kick_fd};

	virtio_net_destroy(net);
	for (int i = 0; i < 2; i++)
		close(fds[i]);
	close(sv[0]);
	close(sv[1]);
	gmem_destroy(&vm.mem);
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void test_queue_state_vs_reset(void **state)
{
	pthread_t g;
	uint64_t end = now_ms() + REPEAT_MS, reads = 0, seen_enabled = 0;
	void *ret;

	atomic_store(&stop, false);
	atomic_store(&cycles, 0);
	assert_int_equal(pthread_create(&g, NULL, guest, NULL), 0);
	while (now_ms() < end) {
		for (unsigned int q = 0; q < 2; q++) {
			struct net_queue_state s;

			assert_true(virtio_net_queue_state(net, q, &s));
			/* A snapshot is of one queue at one time: enabled means a real ring. */
			if (s.enabled) {
				assert_int_equal(s.size, QSIZE);
				seen_enabled++;
			}
			reads++;
		}
	}
	atomic_store(&stop, true);
	assert_int_equal(pthread_join(g, &ret), 0);
	assert_null(ret);
	print_message("%llu reads (%llu of an enabled queue), %u reset cycles\n",
		      (unsigned long long)reads, (unsigned long long)seen_enabled,
		      atomic_load(&cycles));
	assert_true(atomic_load(&cycles) > 10);
	assert_true(seen_enabled > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queue_state_vs_reset, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
