// SPDX-License-Identifier: MIT
/*
 * net_stress.c - virtio-net under everything at once, for ThreadSanitizer
 * (make tsan-stress builds it with clang -fsanitize=thread into build/tsan/).
 *
 * One two-pair NIC with a control queue, its "TAP" queues SOCK_SEQPACKET
 * socketpairs (as the unit tests), its real worker and control threads, and:
 *  - a guest thread (the vCPU): resets the device and brings it up again
 *    with varying features, posts TX frames and RX buffers, kicks, reaps,
 *    sends VQ_PAIRS_SET and then, without waiting for the answer, resets;
 *    now and then writes a hostile ring (avail idx far ahead, a head or
 *    next index out of range, a buffer outside RAM, a descriptor loop, a
 *    malformed control command), always published as a driver would;
 *  - a host thread: frames into every TAP queue, and reads what TX sent;
 *  - a statistics thread: what ktvm ctl stats / SIGUSR1 read (queue state,
 *    counters, active pairs), in a loop.
 * It runs for --seconds N (default 10) and exits 0; a crash, a hang (the
 * guest makes no progress for 10 s) or a TSan report fails it.
 *
 * Guest memory is written by the guest thread only in ways that are ordered
 * with the device (a buffer is reused only after its used entry was reaped,
 * rings are rewritten only after a reset joined the workers): a race TSan
 * reports is one between ktvm's own threads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <linux/virtio_net.h>

#include "devices/virtio_net.h"
#include "tests/common/virtio_driver.h"

#define BIT(n)	(1ULL << (n))
#define PAIRS	2
#define NQ	(2 * PAIRS + 1)
#define CTRLQ	(2 * PAIRS)
#define QSIZE	64
#define HDR	12
#define BUF	2048
#define BUF_GPA MiB(1) /* NQ * QSIZE buffers of BUF bytes from here */
#define RAM	MiB(4)

static const struct mem_region layout[] = {{.gpa = 0, .size = RAM}};
static struct vm vm;
static struct virtio_net *net;
static struct virtio_dev *vd;
static struct vdrv_queue dq[NQ];
static int sv[PAIRS][2];
static atomic_bool stop;
static atomic_ullong cycles, guest_ops, host_frames, stats_reads, interrupts;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "net_stress: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* xorshift: each thread its own state */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void t_notify_queue(struct virtio_dev *d, struct virtq *q)
{
	atomic_fetch_add(&interrupts, 1);
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

/* ---- the guest ---- */

static uint8_t *gp(uint64_t gpa, uint32_t len)
{
	uint8_t *p = gmem_ptr(&vm.mem, gpa, len);

	if (!p)
		die("gpa 0x%llx not in RAM", (unsigned long long)gpa);
	return p;
}

/* The buffer of queue qi's descriptor slot 'slot': reused only with the slot. */
static uint64_t slot_buf(int qi, uint16_t slot)
{
	return BUF_GPA + ((uint64_t)qi * QSIZE + slot) * BUF;
}

static unsigned int in_flight(const struct vdrv_queue *d)
{
	return (uint16_t)(d->avail_idx - d->used_seen);
}

static void reap(int qi)
{
	uint32_t id, len;

	while (vdrv_get_used(&dq[qi], &id, &len))
		;
}

/* Room for a chain of n descriptors, with every slot it may use reaped. */
static bool room(int qi, unsigned int n)
{
	/* Chains are posted in slot order and come back in order: half the ring stays free. */
	return in_flight(&dq[qi]) * 2 + n * 2 <= QSIZE;
}

static void post_tx(int qi, uint32_t *seed)
{
	uint16_t slot = dq[qi].next_desc % QSIZE;
	uint32_t len = 60 + rnd(seed) % 1400;
	uint64_t g[2] = {slot_buf(qi, slot), slot_buf(qi, (uint16_t)((slot + 1) % QSIZE))};
	uint32_t l[2] = {HDR, len};
	bool w[2] = {false, false};

	if (!room(qi, 2))
		return;
	memset(gp(g[0], HDR), 0, HDR);
	memset(gp(g[1], len), (int)(len & 0xff), len);
	vdrv_post_chain(&dq[qi], g, l, w, 2);
}

static void post_rx(int qi)
{
	uint16_t slot = dq[qi].next_desc % QSIZE;
	uint64_t g = slot_buf(qi, slot);
	uint32_t l = BUF;
	bool w = true;

	if (room(qi, 1))
		vdrv_post_chain(&dq[qi], &g, &l, &w, 1);
}

static void post_ctrl(uint8_t cls, uint8_t cmd, const uint8_t *data, uint32_t len)
{
	uint16_t slot = dq[CTRLQ].next_desc % QSIZE;
	uint64_t g[2] = {slot_buf(CTRLQ, slot), slot_buf(CTRLQ, (uint16_t)((slot + 1) % QSIZE))};
	uint32_t l[2] = {2 + len, 1};
	bool w[2] = {false, true};
	uint8_t *b;

	if (!room(CTRLQ, 2))
		return;
	b = gp(g[0], 2 + len);
	b[0] = cls;
	b[1] = cmd;
	memcpy(b + 2, data, len);
	*gp(g[1], 1) = 0xff;
	vdrv_post_chain(&dq[CTRLQ], g, l, w, 2);
	vdrv_kick(&dq[CTRLQ]);
}

/* Something no driver may write, published as a driver publishes. */
static void hostile(uint32_t *seed)
{
	int qi = (int)(rnd(seed) % NQ);
	struct vdrv_queue *d = &dq[qi];
	uint16_t slot = d->next_desc % QSIZE;

	if (!room(qi, 1))
		return;
	switch (rnd(seed) % 6) {
	case 0: /* avail idx far ahead */
		d->avail_idx = (uint16_t)(d->avail_idx + QSIZE + 1 + rnd(seed) % 1000);
		vdrv_publish(d);
		break;
	case 1: /* head index out of range */
		d->avail->ring[d->avail_idx % QSIZE] = (uint16_t)(QSIZE + rnd(seed) % 1000);
		d->avail_idx++;
		vdrv_publish(d);
		break;
	case 2: /* a buffer outside guest RAM */
		vdrv_post_one(d, slot, RAM - 16, 4096, qi % 2 == 0);
		d->next_desc++;
		vdrv_publish(d);
		break;
	case 3: /* a descriptor that is its own next */
		vdrv_post_one(d, slot, slot_buf(qi, slot), 64, false);
		d->desc[slot].flags |= VRING_DESC_F_NEXT;
		d->desc[slot].next = slot;
		d->next_desc++;
		vdrv_publish(d);
		break;
	case 4: /* a malformed control command */
		post_ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
			  (const uint8_t *)"\x07", 1);
		break;
	default: /* an indirect descriptor without INDIRECT_DESC */
		vdrv_post_one(d, slot, slot_buf(qi, slot), 16, false);
		d->desc[slot].flags |= VRING_DESC_F_INDIRECT;
		d->next_desc++;
		vdrv_publish(d);
		break;
	}
	vdrv_kick(d);
}

static void bring_up(uint32_t *seed)
{
	uint64_t f = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_MQ) |
		     BIT(VIRTIO_NET_F_CTRL_VQ);
	bool event_idx = rnd(seed) & 1;

	if (event_idx)
		f |= BIT(VIRTIO_RING_F_EVENT_IDX);
	if (rnd(seed) & 1)
		f |= BIT(VIRTIO_NET_F_MRG_RXBUF);
	pthread_mutex_lock(&vd->lock);
	virtio_set_status(vd, 0);
	if (vdrv_negotiate(vd, f))
		die("features refused");
	for (unsigned int i = 0; i < NQ; i++)
		if (vdrv_queue_setup(&dq[i], &vd->vqs[i], &vm.mem, i, QSIZE, event_idx))
			die("queue %u setup", i);
	if (vdrv_driver_ok(vd))
		die("DRIVER_OK refused");
	pthread_mutex_unlock(&vd->lock);
}

static void *guest(void *arg)
{
	uint32_t seed = 0x9e3779b9u;

	while (!atomic_load(&stop)) {
		unsigned int ops = rnd(&seed) % 300;

		bring_up(&seed);
		for (unsigned int i = 0; i < ops && !atomic_load(&stop); i++) {
			uint32_t r = rnd(&seed) % 100;
			int p = (int)(rnd(&seed) % PAIRS);

			if (r < 35) {
				post_tx(2 * p + 1, &seed);
				vdrv_kick_if_needed(&dq[2 * p + 1]);
			} else if (r < 70) {
				post_rx(2 * p);
				vdrv_kick_if_needed(&dq[2 * p]);
			} else if (r < 90) {
				for (int q = 0; q < NQ; q++)
					reap(q);
			} else if (r < 98) {
				uint8_t n[2] = {(uint8_t)(1 + rnd(&seed) % PAIRS), 0};

				post_ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, n,
					  2);
			} else {
				hostile(&seed);
			}
			atomic_fetch_add(&guest_ops, 1);
		}
		atomic_fetch_add(&cycles, 1);
	}
	return NULL;
}

/* ---- the host side of the TAP queues ---- */
static void *host(void *arg)
{
	uint8_t b[BUF];

	memset(b, 0, sizeof(b));
	while (!atomic_load(&stop)) {
		for (int p = 0; p < PAIRS; p++) {
			if (send(sv[p][1], b, HDR + 100 + (size_t)p, MSG_DONTWAIT) > 0)
				atomic_fetch_add(&host_frames, 1);
			while (recv(sv[p][1], b, sizeof(b), MSG_DONTWAIT) > 0)
				;
		}
	}
	return NULL;
}

/* ---- the statistics reader: what vm_stats_json() reads ---- */
static void *stats(void *arg)
{
	volatile uint64_t sink = 0;

	while (!atomic_load(&stop)) {
		for (unsigned int q = 0; q < 2 * PAIRS; q++) {
			struct net_queue_state s;
			const struct net_queue_stats *st = virtio_net_stats(net, q);

			if (!virtio_net_queue_state(net, q, &s))
				die("no state for queue %u", q);
			sink += s.avail_idx + s.used_idx + s.size + s.last_avail;
			sink += __atomic_load_n(&st->packets, __ATOMIC_RELAXED);
		}
		sink += __atomic_load_n(&virtio_net_ctrl_stats(net)->ok, __ATOMIC_RELAXED);
		sink += virtio_net_active_pairs(net);
		atomic_fetch_add(&stats_reads, 1);
	}
	(void)sink;
	return NULL;
}

int main(int argc, char **argv)
{
	struct net_config cfg = {
		.fd = -1, .mac = KTVM_DEFAULT_MAC, .queue_pairs = PAIRS, .msix = true};
	unsigned int seconds = 10;
	int fds[PAIRS];
	pthread_t g, h, s;
	uint64_t end, last_ops = 0, last_t;

	if (argc == 3 && !strcmp(argv[1], "--seconds"))
		seconds = (unsigned int)atoi(argv[2]);
	else if (argc != 1)
		die("usage: net_stress [--seconds N]");
	log_set_level(LOG_ERROR); /* the hostile guest's warnings are expected */
	memset(&vm, 0, sizeof(vm));
	vm.vm_fd = vm.kvm_fd = vm.loop_fd = -1;
	if (gmem_init(&vm.mem, RAM, layout, 1))
		die("gmem_init");
	for (int p = 0; p < PAIRS; p++) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv[p]))
			die("socketpair: %s", strerror(errno));
		fds[p] = sv[p][0];
	}
	net = virtio_net_new_mq(&vm, &cfg, 0, fds, PAIRS, false, true);
	if (!net)
		die("virtio_net_new_mq");
	vd = virtio_net_vdev(net);
	vd->t = &t_ops;
	for (int i = 0; i < NQ; i++)
		vd->vqs[i].kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	if (pthread_create(&g, NULL, guest, NULL) || pthread_create(&h, NULL, host, NULL) ||
	    pthread_create(&s, NULL, stats, NULL))
		die("pthread_create");
	end = now_ms() + seconds * 1000ull;
	last_t = now_ms();
	/* Watchdog: the guest must keep making progress (a hang is a failure too). */
	while (now_ms() < end) {
		struct timespec ts = {.tv_nsec = 100 * 1000000};
		uint64_t ops = atomic_load(&guest_ops) + atomic_load(&cycles);

		nanosleep(&ts, NULL);
		if (ops != last_ops) {
			last_ops = ops;
			last_t = now_ms();
		} else if (now_ms() - last_t > 10000) {
			die("the guest thread made no progress for 10 s");
		}
	}
	atomic_store(&stop, true);
	pthread_join(g, NULL);
	pthread_join(h, NULL);
	pthread_join(s, NULL);
	virtio_net_destroy(net);
	printf("net_stress: %llu reset cycles, %llu guest operations, %llu host frames, "
	       "%llu stats reads, %llu interrupts in %u s\n",
	       atomic_load(&cycles), atomic_load(&guest_ops), atomic_load(&host_frames),
	       atomic_load(&stats_reads), atomic_load(&interrupts), seconds);
	if (!atomic_load(&cycles) || !atomic_load(&stats_reads))
		die("nothing ran");
	return 0;
}
