// SPDX-License-Identifier: MIT
/*
 * datapath.c - the virtio-net device datapath against a real TAP, no guest
 * and no KVM (issue 8): a fake guest driver drives ktvm's real virtqueue and
 * net device code (its real worker threads), and the same frames go through
 * the same TAP by a plain write()/read() loop for the physical limit.
 *
 * What is measured, and why so:
 *
 *  TX  (guest -> TAP) The driver keeps the TX ring full of frames; the
 *      device's worker writev()s them to its TAP queue.  tun delivers a
 *      written frame synchronously (netif_receive_skb in the writer's
 *      context), so the write itself is the cost; nothing downstream has to
 *      keep up.  Frames/s = used entries returned.  Limit: one thread per
 *      TAP queue write()ing the same 12-byte vnet header + frame in a loop.
 *      An AF_PACKET socket bound to the TAP counts (PACKET_STATISTICS, never
 *      read, so its cost is the same tiny one for both) that the frames did
 *      come out of the TAP.
 *  RX  (TAP -> guest) A producer on 2 cores would steal the CPU of the
 *      consumer it is measuring, so each round first queues N frames in the
 *      TAP (an AF_PACKET socket writes them to the interface; txqueuelen is
 *      raised so none is dropped) while the consumer holds off (the driver
 *      posts no RX buffers: the worker stops polling the TAP), then times
 *      only the drain: the driver posts buffers and kicks, and refills as
 *      used entries come back.  Limit: the same N frames drained by a plain
 *      read() loop.  Rounds repeat until --seconds of drain time.
 *
 * The driver does what Linux's virtio_net does: VERSION_1, EVENT_IDX (kicks
 * only when avail_event asks, used_event set ahead so interrupts are rare),
 * MRG_RXBUF with 1536-byte buffers (1526-byte frames rounded to a cache
 * line, the EWMA's floor) and 4096-byte ones for 64 KiB (the EWMA's
 * ceiling, a page), guest checksum/TSO offloads negotiated, and 64 KiB
 * frames as TSO (gso_type TCPV4, gso_size 1448) both ways, never as big
 * non-GSO frames.  A TX frame is one descriptor (vnet header pushed in
 * front of a linear skb, Linux's "can_push").  One driver thread serves all
 * queues, waiting on the "interrupt" (an eventfd the transport writes, as
 * KVM's irqfd would be) with a bounded timeout.
 *
 * Frames: 64 B and 1500 B (UDP; the sizes), 65214 B (a TCP
 * TSO super-frame of 45 x 1448-byte segments, as Linux builds them); sizes
 * and Gbit/s count Ethernet frame bytes without the vnet header.  Both
 * sides touch the same memory: the limit loops cycle through as many
 * buffers as the driver's ring has.  ktvm and limit runs alternate in
 * slices, and each figure comes with the CPU time per frame of all threads
 * (for ktvm including the fake driver, i.e. what would be guest time): the
 * CPU ratio stays meaningful when something else loads the machine, the
 * frames/s ratio does not.  Everything runs in a network namespace of its
 * own: the TAP has no address and no route, and nothing leaves the machine.
 *
 * Needs root and /dev/net/tun; otherwise prints one line and exits 77.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <json-c/json.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <net/if.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "devices/tap.h"
#include "devices/virtio_net.h"
#include "vmm/net_config.h"
#include "tests/common/virtio_driver.h"

#define BIT(n)	  (1ULL << (n))
#define HDR	  TAP_VNET_HDR_LEN
#define QSIZE	  VIRTIO_NET_QUEUE_SIZE
#define MAXP	  2
#define MAXQ	  (2 * MAXP + 1)
#define GMEM_SIZE MiB(96)
#define BUF_BASE  MiB(1)
#define MAX_FRAME 65536
#define GSO_MSS	  1448
#define STALL_NS  2000000000LL /* no progress this long: give up on a run */
#define EXIT_SKIP 77

static const uint8_t guest_mac[6] = KTVM_DEFAULT_MAC;
/* Not the TAP's MAC: frames the guest sends are PACKET_OTHERHOST, dropped by IP at once. */
static const uint8_t peer_mac[6] = {0x02, 0, 0, 0, 0, 0x99};

static struct {
	double seconds;
	const char *json;
	const char *dir;    /* "tx", "rx" or NULL: both */
	uint32_t size;	    /* 0: all sizes */
	unsigned int pairs; /* 0: 1 and 2 */
	bool ktvm_only;	    /* skip the limit runs (for profiling the device) */
	bool verbose;	    /* the device's queue counters after each run, on stderr */
} opt = {.seconds = 1.5};

static struct vm vm;
static char ifname[IFNAMSIZ];
static int ifindex;
static int tapfd[MAXP] = {-1, -1};
static bool tap_attached[MAXP];
static bool steering; /* the TAP steers RX frames by source MAC (TUNSETSTEERINGEBPF) */
static int inj_sock = -1;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* CPU time of every thread of this process (device workers, driver, limit loops). */
static long long cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* CPU time of the device's worker threads ("ktvm-net0-q*"), from schedstat: ns. */
static long long dev_cpu_ns(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	long long sum = 0;

	while (d && (e = readdir(d))) {
		char path[300], comm[32] = "";
		long long ns;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		if (strncmp(comm, "ktvm-net0-q", 11))
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat", e->d_name);
		f = fopen(path, "r");
		if (f) {
			if (fscanf(f, "%lld", &ns) == 1)
				sum += ns;
			fclose(f);
		}
	}
	if (d)
		closedir(d);
	return sum;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("datapath: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* ------------------------------------------------------------------ */
/* Frames                                                              */
/* ------------------------------------------------------------------ */

static uint16_t ip_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/*
 * 12-byte vnet header + an Ethernet/IPv4 frame of 'len' bytes: UDP up to
 * 1514 bytes, a TCP TSO super-frame above (NEEDS_CSUM + GSO, as Linux sends
 * and receives 64 KiB).  'queue' goes in the source MAC's last byte, which
 * the TAP's steering program reads to pick the RX queue.
 */
static void build_frame(uint8_t *b, uint32_t len, bool to_guest, unsigned int queue)
{
	struct virtio_net_hdr_v1 *h = (struct virtio_net_hdr_v1 *)b;
	uint8_t *f = b + HDR, *ip = f + 14, *l4 = ip + 20;
	bool gso = len > 1514;
	uint16_t tot = (uint16_t)(len - 14);

	memset(b, 0, HDR + len);
	if (gso) {
		h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		h->hdr_len = 14 + 20 + 20;
		h->gso_size = GSO_MSS;
		h->csum_start = 14 + 20;
		h->csum_offset = 16;
	}
	memcpy(f, to_guest ? guest_mac : peer_mac, 6);
	memcpy(f + 6, to_guest ? peer_mac : guest_mac, 6);
	f[11] = (uint8_t)queue;
	f[12] = 0x08; /* IPv4 */
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = gso ? IPPROTO_TCP : IPPROTO_UDP;
	/* 198.18.0.0/15: the benchmarking range (RFC 2544); nothing routes it here. */
	memcpy(ip + 12, (uint8_t[]){198, 18, 0, to_guest ? 2 : 1}, 4);
	memcpy(ip + 16, (uint8_t[]){198, 18, 0, to_guest ? 1 : 2}, 4);
	uint16_t c = ip_csum(ip, 20);

	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	l4[0] = 0x9c;
	l4[1] = (uint8_t)(0x40 + queue); /* source port */
	l4[2] = 0x13;
	l4[3] = 0x89; /* destination port 5001 */
	if (gso) {
		l4[12] = 5 << 4; /* data offset */
		l4[13] = 0x10;	 /* ACK */
		l4[14] = 0xff;	 /* window */
	} else {
		l4[4] = (uint8_t)((tot - 20) >> 8);
		l4[5] = (uint8_t)(tot - 20);
	}
	for (uint32_t i = (gso ? 54 : 42); i < len; i++)
		f[i] = (uint8_t)(i * 7);
}

/* ------------------------------------------------------------------ */
/* The TAP, in a namespace of its own                                  */
/* ------------------------------------------------------------------ */

static int ifreq_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r;

	if (s < 0)
		return -1;
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", ifname);
	r = ioctl(s, req, ifr);
	close(s);
	return r;
}

static void write_sysctl(const char *fmt, const char *val)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), fmt, ifname);
	f = fopen(path, "w");
	if (f) {
		fputs(val, f);
		fclose(f);
	}
}

/*
 * Steering: queue = the frame's byte 11 (source MAC, last byte) % queues,
 * so each RX round puts exactly N frames on each queue.  Without it (a
 * kernel without TUNSETSTEERINGEBPF) the 2-pair RX runs are skipped.
 */
static bool load_steering(int fd)
{
	struct bpf_insn prog[] = {
		/* r6 = ctx (LD_ABS needs it), r0 = skb->data[11], exit */
		{.code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_6, .src_reg = BPF_REG_1},
		{.code = BPF_LD | BPF_ABS | BPF_B, .imm = 11},
		{.code = BPF_JMP | BPF_EXIT},
	};
	union bpf_attr a;
	int pfd;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (uintptr_t)prog;
	a.insn_cnt = ARRAY_SIZE(prog);
	a.license = (uintptr_t) "MIT";
	pfd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	if (pfd < 0)
		return false;
	if (ioctl(fd, TUNSETSTEERINGEBPF, &pfd) < 0) {
		close(pfd);
		return false;
	}
	close(pfd); /* tun holds its own reference */
	return true;
}

/* Attach exactly the first 'n' TAP queues (tun steers only to attached ones). */
static void tap_queues(unsigned int n)
{
	for (unsigned int i = 0; i < MAXP; i++) {
		bool want = i < n;

		if (tap_attached[i] == want)
			continue;
		if (tap_set_queue(tapfd[i], want))
			die("TUNSETQUEUE %s queue %u: %s", want ? "attach" : "detach", i,
			    strerror(errno));
		tap_attached[i] = want;
	}
}

static void set_txqueuelen(unsigned int n)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_qlen = (int)n;
	if (ifreq_ioctl(SIOCSIFTXQLEN, &ifr))
		die("SIOCSIFTXQLEN %u: %s", n, strerror(errno));
}

/* 0, or EXIT_SKIP after one line saying why this machine cannot run it. */
static int net_setup(void)
{
	char err[256];
	struct ifreq ifr;
	int one = 1;

	if (geteuid() != 0) {
		printf("datapath: skipped: needs root (a TAP and a network namespace)\n");
		return EXIT_SKIP;
	}
	if (access("/dev/net/tun", R_OK | W_OK)) {
		printf("datapath: skipped: /dev/net/tun: %s\n", strerror(errno));
		return EXIT_SKIP;
	}
	/* Its own namespace: the TAP is alone there, and nothing it carries can go anywhere. */
	if (unshare(CLONE_NEWNET)) {
		printf("datapath: skipped: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return EXIT_SKIP;
	}
	snprintf(ifname, sizeof(ifname), "ktvmb%d", (int)getpid() % 100000);
	for (int i = 0; i < MAXP; i++) {
		tapfd[i] = tap_open(ifname, true, NULL, err, sizeof(err));
		if (tapfd[i] < 0) {
			printf("datapath: skipped: %s\n", err);
			return EXIT_SKIP;
		}
		tap_attached[i] = true;
	}
	ifindex = (int)if_nametoindex(ifname);
	/* No IPv6 chatter (router solicitations, MLD) to count or to drain. */
	write_sysctl("/proc/sys/net/ipv6/conf/%s/disable_ipv6", "1");
	memset(&ifr, 0, sizeof(ifr));
	if (ifreq_ioctl(SIOCGIFFLAGS, &ifr))
		die("SIOCGIFFLAGS %s: %s", ifname, strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	if (ifreq_ioctl(SIOCSIFFLAGS, &ifr))
		die("SIOCSIFFLAGS %s: %s", ifname, strerror(errno));
	steering = load_steering(tapfd[0]);

	/*
	 * The host side: an AF_PACKET socket that writes frames onto the
	 * interface (they come out of the TAP fd: device RX), with a vnet header
	 * so 64 KiB TSO frames pass, and bypassing the qdisc (straight into
	 * tun's queue, as a bridge would hand them over).
	 */
	inj_sock = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (inj_sock < 0)
		die("AF_PACKET socket: %s", strerror(errno));
	if (setsockopt(inj_sock, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) ||
	    setsockopt(inj_sock, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)))
		die("AF_PACKET options: %s", strerror(errno));
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = ifindex};

	if (bind(inj_sock, (struct sockaddr *)&sll, sizeof(sll)))
		die("bind AF_PACKET to %s: %s", ifname, strerror(errno));
	return 0;
}

/*
 * Queue 'n' frames of 'len' bytes for each of the first 'pairs' TAP queues
 * (the consumer is holding off); queued[q]: how many queue q took.  tun
 * drops what does not fit its queue (ENOBUFS here), which only happens if
 * something was left over: the round then just expects fewer.
 */
static void inject(uint32_t len, unsigned int pairs, unsigned int n, unsigned int *queued)
{
	static uint8_t b[MAXP][HDR + MAX_FRAME];
	const size_t vh = sizeof(struct virtio_net_hdr); /* AF_PACKET's: v1 less num_buffers */

	for (unsigned int q = 0; q < pairs; q++) {
		build_frame(b[q], len, true, q);
		memmove(b[q] + HDR - vh, b[q], vh); /* the header right before the frame */
		queued[q] = 0;
	}
	for (unsigned int i = 0; i < n; i++) {
		for (unsigned int q = 0; q < pairs; q++) {
			if (send(inj_sock, b[q] + HDR - vh, vh + len, 0) >= 0)
				queued[q]++;
			else if (errno != ENOBUFS)
				die("inject a %u-byte frame: %s", len, strerror(errno));
		}
	}
}

/* Throw away whatever an earlier, incomplete run left queued in the TAP. */
static void tap_drain(unsigned int pairs)
{
	static uint8_t b[HDR + MAX_FRAME + 64];

	for (unsigned int q = 0; q < pairs; q++)
		while (read(tapfd[q], b, sizeof(b)) > 0)
			;
}

/* Frames that came out of the TAP towards the host: an AF_PACKET counter, never read. */
static int count_sock_open(void)
{
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_IP));
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_ifindex = ifindex};
	int small = 4096;

	if (s < 0 || bind(s, (struct sockaddr *)&sll, sizeof(sll)))
		die("AF_PACKET counter: %s", strerror(errno));
	/* Full at once: later frames are counted as drops, early in packet_rcv, without a copy. */
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	return s;
}

static uint64_t count_sock_take(int s)
{
	struct tpacket_stats st;
	socklen_t l = sizeof(st);

	if (getsockopt(s, SOL_PACKET, PACKET_STATISTICS, &st, &l))
		return 0;
	return st.tp_packets; /* includes tp_drops; the counters reset on reading */
}

/* ------------------------------------------------------------------ */
/* The fake guest driver                                               */
/* ------------------------------------------------------------------ */

static int irq_fd = -1; /* the "interrupt": written by the transport, read by the driver */

static void t_notify_queue(struct virtio_dev *d, struct virtq *q)
{
	uint64_t one = 1;

	if (write(irq_fd, &one, sizeof(one)) < 0)
		die("interrupt eventfd: %s", strerror(errno));
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

/*
 * One queue as the driver sees it (rings: tests/common/virtio_driver.c);
 * descriptor i always points at buffer i.
 */
struct drv_q {
	struct vdrv_queue v;
	uint16_t outstanding; /* posted, not yet returned */
	uint64_t buf_gpa;
	uint8_t *buf;
	uint32_t buf_len;
	uint16_t free_ids[QSIZE];
	unsigned int nfree;
	/* RX: where the frame being returned stands */
	unsigned int frame_left;
	uint64_t frames, bytes, kicks;
};

static struct drv_q dq[MAXQ];
static struct virtio_net *net;
static struct virtio_dev *vd;
static unsigned int dev_pairs;
static uint64_t gbuf_next;

static void *gpa_ptr(uint64_t gpa, uint64_t len)
{
	void *p = gmem_ptr(&vm.mem, gpa, len);

	if (!p)
		die("guest address 0x%llx+%llu is not in guest memory", (unsigned long long)gpa,
		    (unsigned long long)len);
	return p;
}

static uint64_t gbuf_alloc(uint64_t len)
{
	uint64_t g = gbuf_next;

	gbuf_next = ALIGN_UP(gbuf_next + len, 4096);
	if (gbuf_next > GMEM_SIZE)
		die("guest memory exhausted (%llu bytes asked)", (unsigned long long)len);
	return g;
}

/* Put descriptor 'id' on the avail ring (published by drv_publish). */
static void drv_post(struct drv_q *d, uint16_t id, uint32_t len, bool writable)
{
	vdrv_post_one(&d->v, id, d->buf_gpa + (uint64_t)id * d->buf_len, len, writable);
	d->outstanding++;
}

/* Publish the avail idx and kick if the device asked for it (virtqueue_kick_prepare). */
static void drv_publish(struct drv_q *d)
{
	int r;

	vdrv_publish(&d->v);
	r = vdrv_kick_if_needed(&d->v);
	if (r < 0)
		die("kick: %s", strerror(errno));
	d->kicks += (uint64_t)r;
}

/* Take returned entries: TX buffers go back to be sent again, RX ones are counted. */
static unsigned int drv_harvest(struct drv_q *d, bool rx)
{
	unsigned int n = 0;
	uint32_t id, len;

	while (vdrv_get_used(&d->v, &id, &len)) {
		if (id >= QSIZE)
			die("the device returned descriptor %u", id);
		if (rx) {
			if (!d->frame_left) {
				const uint8_t *h = d->buf + (size_t)id * d->buf_len;

				d->frame_left = h[10] | h[11] << 8; /* num_buffers */
				if (!d->frame_left)
					die("RX frame with num_buffers 0");
				d->frames++;
				d->bytes -= HDR;
			}
			d->frame_left--;
		} else {
			d->frames++;
		}
		d->bytes += len;
		d->free_ids[d->nfree++] = (uint16_t)id;
		d->outstanding--;
		n++;
	}
	return n;
}

/*
 * Ask for the next interrupt 'ahead' entries from now (Linux:
 * virtqueue_enable_cb_delayed for TX, 3/4 of what is outstanding).  True if
 * entries came back meanwhile (do not sleep).
 */
static bool drv_arm(struct drv_q *d, uint16_t ahead)
{
	return vdrv_arm_interrupt(&d->v, ahead);
}

/* Wait for the interrupt, at most 'ms'. */
static void drv_wait(int ms)
{
	struct pollfd p = {.fd = irq_fd, .events = POLLIN};
	uint64_t v;

	if (poll(&p, 1, ms) == 1 && read(irq_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		die("interrupt eventfd: %s", strerror(errno));
}

static void drv_wait_used(struct drv_q *d, uint16_t want, const char *what)
{
	long long t0 = now_ns();

	while (vdrv_used_idx(&d->v) != want) {
		if (now_ns() - t0 > STALL_NS)
			die("%s: no answer from the device in 2 s", what);
		drv_wait(10);
	}
}

/* VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET n on the control queue (the driver busy-waits, as Linux). */
static void drv_pairs_set(unsigned int n)
{
	struct drv_q *d = &dq[2 * dev_pairs];
	uint8_t *b = d->buf;
	uint64_t gpa[2] = {d->buf_gpa, d->buf_gpa + 64};
	uint32_t len[2] = {4, 1}, id, ul;
	bool w[2] = {false, true};
	uint16_t want = (uint16_t)(d->v.used_seen + 1);

	b[0] = VIRTIO_NET_CTRL_MQ;
	b[1] = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
	b[2] = (uint8_t)n;
	b[3] = (uint8_t)(n >> 8);
	b[64] = 0xff;
	vdrv_post_chain(&d->v, gpa, len, w, 2);
	if (vdrv_kick(&d->v))
		die("kick: %s", strerror(errno));
	drv_wait_used(d, want, "VQ_PAIRS_SET");
	vdrv_get_used(&d->v, &id, &ul);
	if (b[64] != VIRTIO_NET_OK)
		die("VQ_PAIRS_SET %u refused", n);
}

/*
 * A fresh device on the first 'pairs' TAP queues, negotiated as Linux would,
 * every queue laid out in guest memory, no buffers posted.  'buf_len' per
 * descriptor on the data queues.
 */
static void dev_start(unsigned int pairs, uint32_t rx_buf_len, uint32_t tx_buf_len)
{
	struct net_config cfg;
	uint64_t want = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_CSUM) |
			BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4) |
			BIT(VIRTIO_NET_F_HOST_TSO6) | BIT(VIRTIO_NET_F_HOST_ECN) |
			BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6) |
			BIT(VIRTIO_NET_F_GUEST_ECN) | BIT(VIRTIO_NET_F_MRG_RXBUF) |
			BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_RING_F_EVENT_IDX) |
			BIT(VIRTIO_NET_F_MQ) | BIT(VIRTIO_NET_F_CTRL_VQ);
	uint64_t f;

	net_config_defaults(&cfg);
	cfg.queue_pairs = pairs;
	cfg.msix = true;
	tap_queues(pairs); /* a new device takes its TAP queues attached */
	net = virtio_net_new_mq(&vm, &cfg, 0, tapfd, pairs, true, true);
	if (!net)
		die("virtio_net_new_mq failed");
	dev_pairs = pairs;
	vd = virtio_net_vdev(net);
	vd->t = &t_ops;
	f = vd->device_features & want;
	gbuf_next = BUF_BASE;
	pthread_mutex_lock(&vd->lock);
	if (vdrv_negotiate(vd, f))
		die("features 0x%llx refused", (unsigned long long)f);
	for (unsigned int i = 0; i < vd->num_queues; i++) {
		struct virtq *q = &vd->vqs[i];
		struct drv_q *d = &dq[i];
		bool ctrl = i == 2 * pairs;
		uint32_t bl = ctrl ? 4096 : i % 2 == VIRTIO_NET_RXQ ? rx_buf_len : tx_buf_len;

		memset(d, 0, sizeof(*d));
		q->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (q->kick_fd < 0)
			die("eventfd: %s", strerror(errno));
		if (vdrv_queue_setup(&d->v, q, &vm.mem, i, QSIZE, f & BIT(VIRTIO_RING_F_EVENT_IDX)))
			die("queue %u: the device refused its rings", i);
		d->buf_len = bl;
		d->buf_gpa = gbuf_alloc((uint64_t)bl * (ctrl ? 1 : QSIZE));
		d->buf = gpa_ptr(d->buf_gpa, (uint64_t)bl * (ctrl ? 1 : QSIZE));
		/* Fault the pages in now, not inside a timed window (the limit's are too). */
		memset(d->buf, 0, (size_t)bl * (ctrl ? 1 : QSIZE));
		for (unsigned int k = 0; k < QSIZE; k++)
			d->free_ids[k] = (uint16_t)(QSIZE - 1 - k);
		d->nfree = QSIZE;
	}
	if (vdrv_driver_ok(vd))
		die("the device did not start (status 0x%x)", vd->status);
	pthread_mutex_unlock(&vd->lock);
	if (pairs > 1)
		drv_pairs_set(pairs);
	if (virtio_net_active_pairs(net) != pairs)
		die("%u queue pairs active, %u wanted", virtio_net_active_pairs(net), pairs);
}

static void dev_print_stats(void)
{
	for (unsigned int i = 0; opt.verbose && i < 2 * dev_pairs; i++) {
		const struct net_queue_stats *s = virtio_net_stats(net, i);

		fprintf(stderr,
			"  q%u %s: packets %llu kicks %llu interrupts %llu suppressed %llu "
			"eagain %llu no_buffers %llu drops %llu; driver kicks %llu\n",
			i, i % 2 ? "tx" : "rx", (unsigned long long)s->packets,
			(unsigned long long)s->kicks, (unsigned long long)s->interrupts,
			(unsigned long long)s->irq_suppressed, (unsigned long long)s->eagain,
			(unsigned long long)s->no_buffers,
			(unsigned long long)(s->drop_oversize + s->drop_short + s->drop_error),
			(unsigned long long)dq[i].kicks);
	}
}

static void dev_stop(void)
{
	int fds[MAXQ];
	unsigned int nq = vd->num_queues;

	dev_print_stats();
	for (unsigned int i = 0; i < nq; i++)
		fds[i] = vd->vqs[i].kick_fd;
	virtio_net_destroy(net); /* joins the workers; our TAP fds stay open */
	net = NULL;
	for (unsigned int i = 0; i < nq; i++)
		close(fds[i]);
	/* Reset leaves the TAP queues attached as they were: all 'dev_pairs' of them. */
}

/* Device counters worth a warning (drops): summed over the data queues. */
static uint64_t dev_drops(void)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < 2 * dev_pairs; i++) {
		const struct net_queue_stats *s = virtio_net_stats(net, i);

		n += s->drop_oversize + s->drop_short + s->drop_error;
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* Measurements                                                        */
/* ------------------------------------------------------------------ */

/*
 * Each point alternates ktvm and limit runs in SLICES slices of
 * --seconds / SLICES each, so that load from anything else on the machine
 * (a 2-core box is easily disturbed) falls on both sides alike.
 */
#define SLICES	  4
#define WARMUP_NS 50000000LL /* TX: run this long before counting */
static long long slice_ns;

/*
 * Besides frames/s, the CPU time all of this process's threads spent in the
 * timed windows, per frame: what a frame costs whatever else the machine
 * runs (for ktvm it includes the fake driver, i.e. what would be guest time).
 */
struct result {
	double fps, gbps, cpu_per_frame, dev_per_frame;
	uint64_t frames;
	long long ns, cpu, dev_cpu;
	char note[96];
};

/* dev_cpu: the device workers' share of cpu (ktvm only). */
static void result_add(struct result *r, uint64_t frames, long long ns, long long cpu,
		       long long dev_cpu)
{
	r->frames += frames;
	r->ns += ns;
	r->cpu += cpu;
	r->dev_cpu += dev_cpu;
}

static void result_finish(struct result *r, uint32_t len)
{
	r->fps = r->ns > 0 ? (double)r->frames * 1e9 / (double)r->ns : 0;
	r->gbps = r->fps * len * 8 / 1e9;
	r->cpu_per_frame = r->frames ? (double)r->cpu / (double)r->frames : 0;
	r->dev_per_frame = r->frames ? (double)r->dev_cpu / (double)r->frames : 0;
}

static uint32_t tx_buf_len(uint32_t len)
{
	return (uint32_t)ALIGN_UP(HDR + len, 64);
}

static uint32_t rx_buf_len(uint32_t len)
{
	return len > 1514 ? 4096 : 1536;
}

/* ktvm TX: keep every TX ring full for the time given, count what comes back. */
static void run_tx_ktvm(uint32_t len, unsigned int pairs, struct result *r)
{
	long long t0, t_end, last_progress, cpu0 = 0, dev0 = 0;
	uint64_t frames0 = 0, frames = 0, seen;
	int cs;

	dev_start(pairs, 1536, tx_buf_len(len));
	for (unsigned int p = 0; p < pairs; p++) {
		struct drv_q *d = &dq[VIRTIO_NET_TXQ_OF(p)];

		for (unsigned int k = 0; k < QSIZE; k++)
			build_frame(d->buf + (size_t)k * d->buf_len, len, false, p);
	}
	cs = count_sock_open();
	t0 = now_ns();
	t_end = t0 + WARMUP_NS + slice_ns;
	last_progress = t0;
	bool counting = false;
	long long t_start = 0;

	for (;;) {
		long long t = now_ns();
		bool busy = false;

		if (!counting && t - t0 >= WARMUP_NS) {
			counting = true;
			t_start = t;
			cpu0 = cpu_ns();
			dev0 = dev_cpu_ns();
			frames0 = 0;
			for (unsigned int p = 0; p < pairs; p++)
				frames0 += dq[VIRTIO_NET_TXQ_OF(p)].frames;
			count_sock_take(cs);
		}
		if (t >= t_end)
			break;
		for (unsigned int p = 0; p < pairs; p++) {
			struct drv_q *d = &dq[VIRTIO_NET_TXQ_OF(p)];

			if (drv_harvest(d, false))
				busy = true;
			if (d->nfree) {
				while (d->nfree)
					drv_post(d, d->free_ids[--d->nfree], HDR + len, false);
				drv_publish(d);
			}
		}
		if (busy) {
			last_progress = t;
			continue;
		}
		if (t - last_progress > STALL_NS)
			die("TX %u B, %u pair(s): the device stopped returning buffers", len,
			    pairs);
		/* Interrupt when 3/4 of what is in flight came back (Linux's TX napi). */
		bool any = false;

		for (unsigned int p = 0; p < pairs; p++) {
			struct drv_q *d = &dq[VIRTIO_NET_TXQ_OF(p)];

			any |= drv_arm(d, (uint16_t)(d->outstanding * 3 / 4));
		}
		if (!any)
			drv_wait(20);
	}
	long long t_stop = now_ns(), cpu1 = cpu_ns(), dev1 = dev_cpu_ns();

	for (unsigned int p = 0; p < pairs; p++)
		frames += dq[VIRTIO_NET_TXQ_OF(p)].frames;
	frames -= frames0;
	seen = count_sock_take(cs);
	result_add(r, frames, t_stop - t_start, cpu1 - cpu0, dev1 - dev0);
	if (seen + pairs * QSIZE < frames)
		snprintf(r->note, sizeof(r->note), "only %llu of %llu frames seen on the TAP",
			 (unsigned long long)seen, (unsigned long long)frames);
	if (dev_drops())
		snprintf(r->note, sizeof(r->note), "%llu frames dropped by the device",
			 (unsigned long long)dev_drops());
	close(cs);
	dev_stop();
}

struct limit_thr {
	pthread_t th;
	int fd;
	uint32_t len;
	uint8_t *buf; /* 'slots' buffers 'stride' apart, built and touched before timing */
	uint32_t stride;
	unsigned int slots;
	long long t_end;
	uint64_t target; /* RX: frames to read */
	uint64_t frames;
	long long t_last;
	bool stalled;
};

/*
 * The limit loops cycle through buffers laid out as the driver's (the same
 * stride, as much memory as its ring), so both sides touch the same amount
 * of memory per frame: a single hot buffer would flatter the limit.  They
 * are made (and their pages faulted in) before any timing starts.
 */
static uint8_t *limit_bufs(uint32_t stride, unsigned int slots)
{
	size_t n = ALIGN_UP((uint64_t)stride * slots, 4096);
	uint8_t *b = aligned_alloc(4096, n);

	if (!b)
		die("out of memory");
	memset(b, 0, n);
	return b;
}

static void *tx_limit_thread(void *opaque)
{
	struct limit_thr *l = opaque;
	unsigned int k = 0;

	while (now_ns() < l->t_end) {
		/* Read the clock every 64 writes: the loop stays plain. */
		for (int i = 0; i < 64; i++) {
			ssize_t w = write(l->fd, l->buf + (size_t)k * l->stride, HDR + l->len);

			if (w == (ssize_t)(HDR + l->len)) {
				l->frames++;
				k = (k + 1) % l->slots;
			} else if (w < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
				struct pollfd p = {.fd = l->fd, .events = POLLOUT};

				poll(&p, 1, 10);
			} else {
				die("write to the TAP: %s", w < 0 ? strerror(errno) : "short");
			}
		}
	}
	l->t_last = now_ns();
	return NULL;
}

static void run_tx_limit(uint32_t len, unsigned int pairs, struct result *r)
{
	struct limit_thr l[MAXP];
	long long t0, cpu0 = 0;
	uint64_t frames = 0, seen;
	uint32_t stride = tx_buf_len(len);
	uint8_t *buf[MAXP];
	int cs;

	for (unsigned int p = 0; p < pairs; p++) {
		buf[p] = limit_bufs(stride, QSIZE);
		for (unsigned int i = 0; i < QSIZE; i++)
			build_frame(buf[p] + (size_t)i * stride, len, false, p);
	}
	tap_queues(pairs);
	cs = count_sock_open();
	/* Warm up as long, then count. */
	for (int phase = 0; phase < 2; phase++) {
		t0 = now_ns();
		cpu0 = cpu_ns();
		for (unsigned int p = 0; p < pairs; p++) {
			l[p] = (struct limit_thr){.fd = tapfd[p],
						  .len = len,
						  .buf = buf[p],
						  .stride = stride,
						  .slots = QSIZE};
			l[p].t_end = t0 + (phase ? slice_ns : WARMUP_NS);
			if (pthread_create(&l[p].th, NULL, tx_limit_thread, &l[p]))
				die("pthread_create");
		}
		for (unsigned int p = 0; p < pairs; p++)
			pthread_join(l[p].th, NULL);
		if (!phase)
			count_sock_take(cs);
	}
	long long t_stop = 0;

	for (unsigned int p = 0; p < pairs; p++) {
		frames += l[p].frames;
		if (l[p].t_last > t_stop)
			t_stop = l[p].t_last;
	}
	seen = count_sock_take(cs);
	result_add(r, frames, t_stop - t0, cpu_ns() - cpu0, 0);
	if (seen < frames)
		snprintf(r->note, sizeof(r->note), "only %llu of %llu frames seen on the TAP",
			 (unsigned long long)seen, (unsigned long long)frames);
	close(cs);
	for (unsigned int p = 0; p < pairs; p++)
		free(buf[p]);
}

/* Frames per TAP queue per RX round: what fits in tun's queue (txqueuelen). */
static unsigned int rx_round(uint32_t len)
{
	return len > 1514 ? 1024 : 8192;
}

/*
 * ktvm RX: rounds of "queue N frames per TAP queue, then time the drain".
 * The driver posts only as many buffers as the frames still to come need,
 * so that at the end of a round the ring is empty again and the worker holds
 * off while the next round is queued.
 */
static void run_rx_ktvm(uint32_t len, unsigned int pairs, struct result *r)
{
	uint32_t bl = rx_buf_len(len);
	unsigned int n = rx_round(len);
	/* Buffers one frame takes (num_buffers): the header and frame over bl-byte buffers. */
	unsigned int per = (HDR + len + bl - 1) / bl;
	uint64_t total = 0;
	long long busy_ns = 0, busy_cpu = 0, busy_dev = 0;

	tap_queues(pairs);
	tap_drain(pairs);
	dev_start(pairs, bl, 64);
	while (busy_ns < slice_ns) {
		uint64_t got = 0, want = 0, base[MAXP];
		unsigned int queued[MAXP];
		long long t0, t_last, last_progress, cpu0, dev0;

		inject(len, pairs, n, queued);
		for (unsigned int p = 0; p < pairs; p++)
			want += queued[p];
		if (!want) {
			snprintf(r->note, sizeof(r->note), "the TAP took no frame");
			break;
		}
		for (unsigned int p = 0; p < pairs; p++)
			base[p] = dq[VIRTIO_NET_RXQ_OF(p)].frames;
		/* /proc is read outside the CPU window (it costs more than a frame). */
		dev0 = dev_cpu_ns();
		cpu0 = cpu_ns();
		t0 = t_last = last_progress = now_ns();
		for (;;) {
			bool busy = false, any = false;

			got = 0;
			for (unsigned int p = 0; p < pairs; p++) {
				struct drv_q *d = &dq[VIRTIO_NET_RXQ_OF(p)];
				uint64_t done;
				int64_t need;

				if (drv_harvest(d, true))
					busy = true;
				done = d->frames - base[p];
				got += done;
				/* Buffers still needed for this round, less those already posted. */
				need = ((int64_t)queued[p] - (int64_t)done) * per - d->outstanding;
				if (need > 0 && d->nfree) {
					while (need-- > 0 && d->nfree)
						drv_post(d, d->free_ids[--d->nfree], bl, true);
					drv_publish(d);
				}
			}
			long long t = now_ns();

			if (busy)
				t_last = last_progress = t;
			if (got >= want)
				break;
			if (busy)
				continue;
			if (t - last_progress > STALL_NS) {
				snprintf(r->note, sizeof(r->note),
					 "round incomplete (%llu of %llu frames; %llu dropped)",
					 (unsigned long long)got, (unsigned long long)want,
					 (unsigned long long)dev_drops());
				break;
			}
			for (unsigned int p = 0; p < pairs; p++) {
				struct drv_q *d = &dq[VIRTIO_NET_RXQ_OF(p)];

				/* Interrupt after a quarter ring: the device keeps the rest. */
				any |= drv_arm(d, QSIZE / 4 < d->outstanding ? QSIZE / 4
									     : d->outstanding);
			}
			if (!any)
				drv_wait(20);
		}
		total += got;
		busy_ns += t_last - t0;
		busy_cpu += cpu_ns() - cpu0;
		busy_dev += dev_cpu_ns() - dev0;
		if (r->note[0])
			break;
	}
	result_add(r, total, busy_ns, busy_cpu, busy_dev);
	if (!r->note[0] && dev_drops())
		snprintf(r->note, sizeof(r->note), "%llu frames dropped by the device",
			 (unsigned long long)dev_drops());
	dev_stop();
}

static void *rx_limit_thread(void *opaque)
{
	struct limit_thr *l = opaque;
	long long last = now_ns();
	unsigned int k = 0;

	while (l->frames < l->target) {
		ssize_t n = read(l->fd, l->buf + (size_t)k * l->stride, l->stride);

		if (n > 0) {
			l->frames++;
			k = (k + 1) % l->slots;
			continue;
		}
		if (n < 0 && errno != EAGAIN)
			die("read from the TAP: %s", strerror(errno));
		if (now_ns() - last > STALL_NS) {
			l->stalled = true;
			break;
		}
		struct pollfd p = {.fd = l->fd, .events = POLLIN};

		poll(&p, 1, 10);
		if (p.revents)
			last = now_ns();
	}
	l->t_last = now_ns();
	return NULL;
}

static void run_rx_limit(uint32_t len, unsigned int pairs, struct result *r)
{
	unsigned int n = rx_round(len);
	uint64_t total = 0;
	long long busy_ns = 0, busy_cpu = 0;
	uint32_t stride = (uint32_t)ALIGN_UP(HDR + len, 64);
	/* As many slots as fit in the memory of the driver's RX buffers (the same footprint). */
	unsigned int slots = (unsigned int)((uint64_t)QSIZE * rx_buf_len(len) / stride);
	uint8_t *buf[MAXP];

	if (slots > QSIZE)
		slots = QSIZE;
	if (!slots)
		slots = 1;
	for (unsigned int p = 0; p < pairs; p++)
		buf[p] = limit_bufs(stride, slots);

	tap_queues(pairs);
	tap_drain(pairs);
	/* The offloads the device sets for a Linux driver (GUEST_CSUM, TSO4/6, ECN). */
	if (tap_set_offload(tapfd[0], TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN))
		die("TUNSETOFFLOAD: %s", strerror(errno));
	while (busy_ns < slice_ns) {
		struct limit_thr l[MAXP];
		long long t0, cpu0;
		uint64_t got = 0;
		bool stalled = false;
		unsigned int queued[MAXP];

		inject(len, pairs, n, queued);
		if (!queued[0] || (pairs > 1 && !queued[1])) {
			snprintf(r->note, sizeof(r->note), "the TAP took no frame");
			break;
		}
		t0 = now_ns();
		cpu0 = cpu_ns();
		for (unsigned int p = 0; p < pairs; p++) {
			l[p] = (struct limit_thr){.fd = tapfd[p],
						  .len = len,
						  .buf = buf[p],
						  .stride = stride,
						  .slots = slots,
						  .target = queued[p]};
			if (pthread_create(&l[p].th, NULL, rx_limit_thread, &l[p]))
				die("pthread_create");
		}
		long long t_last = t0;

		for (unsigned int p = 0; p < pairs; p++) {
			pthread_join(l[p].th, NULL);
			got += l[p].frames;
			stalled |= l[p].stalled;
			if (l[p].t_last > t_last)
				t_last = l[p].t_last;
		}
		total += got;
		busy_ns += t_last - t0;
		busy_cpu += cpu_ns() - cpu0;
		if (stalled) {
			snprintf(r->note, sizeof(r->note), "round incomplete (%llu of %u frames)",
				 (unsigned long long)got, n * pairs);
			tap_drain(pairs);
			break;
		}
	}
	tap_set_offload(tapfd[0], 0);
	result_add(r, total, busy_ns, busy_cpu, 0);
	for (unsigned int p = 0; p < pairs; p++)
		free(buf[p]);
}

/* ------------------------------------------------------------------ */
/* Main                                                                */
/* ------------------------------------------------------------------ */

/*
 * 64 KiB: a Linux TSO super-frame of 45 full 1448-byte segments (65214
 * bytes).  A GSO skb of 64 KiB or more is above the interface's
 * gso_max_size: the stack would segment it in software before the TAP.
 */
#define TSO_FRAME (14 + 20 + 20 + 45 * GSO_MSS)
static const uint32_t sizes[] = {64, 1500, TSO_FRAME};

struct point {
	const char *dir;
	uint32_t len;
	unsigned int pairs;
	struct result ktvm, limit;
	double ratio;	  /* ktvm / limit, frames/s */
	double cpu_ratio; /* limit / ktvm, CPU per frame (1 = ktvm costs what the plain loop does) */
	double others;	  /* share of the machine's CPU other processes used meanwhile */
	bool skipped;
};

/*
 * CPU time used on the whole machine (/proc/stat, ns) and by this process:
 * their difference over a point says whether something else was running.
 * On a 2-core machine another busy process halves what is measured.
 */
struct cpu_sample {
	long long t, all, self;
};

static void cpu_sample(struct cpu_sample *c)
{
	unsigned long long v[8] = {0};
	struct rusage ru;
	FILE *f = fopen("/proc/stat", "r");
	long hz = sysconf(_SC_CLK_TCK);

	c->t = now_ns();
	c->all = 0;
	if (f) {
		if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
			   &v[3], &v[4], &v[5], &v[6], &v[7]) == 8)
			/* user nice system [idle iowait] irq softirq steal */
			c->all = (long long)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) *
				 (1000000000LL / (hz > 0 ? hz : 100));
		fclose(f);
	}
	getrusage(RUSAGE_SELF, &ru);
	c->self = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
		  (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

static double cpu_others(const struct cpu_sample *a, const struct cpu_sample *b, long cpus)
{
	double wall = (double)(b->t - a->t) * (cpus > 0 ? cpus : 1);
	double o = (double)((b->all - a->all) - (b->self - a->self));

	return wall > 0 && o > 0 ? o / wall : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: datapath [--seconds S] [--json FILE] [--dir tx|rx] [--size BYTES]\n"
		"                [--pairs 1|2] [--ktvm-only] [--verbose]\n"
		"  the virtio-net device datapath against a real TAP, and the raw TAP limit\n"
		"  (needs root and /dev/net/tun; exits 77 when it cannot run)\n"
		"  sizes: 64, 1500, %u (a 64 KiB TSO frame)\n",
		(unsigned int)TSO_FRAME);
}

static void print_row(const struct point *pt)
{
	char k[64], l[64], ratio[32];

	if (pt->skipped) {
		printf("%-3s %6u %5u  %s\n", pt->dir, pt->len, pt->pairs,
		       "skipped: the TAP cannot steer RX frames to a queue (TUNSETSTEERINGEBPF)");
		return;
	}
	snprintf(k, sizeof(k), "%10.0f %7.2f %6.0f %5.0f", pt->ktvm.fps, pt->ktvm.gbps,
		 pt->ktvm.cpu_per_frame, pt->ktvm.dev_per_frame);
	snprintf(l, sizeof(l), "%10.0f %7.2f %6.0f", pt->limit.fps, pt->limit.gbps,
		 pt->limit.cpu_per_frame);
	snprintf(ratio, sizeof(ratio), "%5.2f %5.2f", pt->ratio, pt->cpu_ratio);
	printf("%-3s %6u %5u  %s  %s  %s%s%s%s%s", pt->dir, pt->len, pt->pairs, k, l, ratio,
	       pt->ktvm.note[0] ? "  ktvm: " : "", pt->ktvm.note,
	       pt->limit.note[0] ? "  limit: " : "", pt->limit.note);
	if (pt->others > 0.05)
		printf("  (BUSY: other processes used %.0f%% of the CPUs)", pt->others * 100);
	printf("\n");
	fflush(stdout);
}

static json_object *result_json(const struct result *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "frames_per_s", json_object_new_double(r->fps));
	json_object_object_add(o, "gbit_per_s", json_object_new_double(r->gbps));
	json_object_object_add(o, "frames", json_object_new_int64((int64_t)r->frames));
	json_object_object_add(o, "cpu_ns_per_frame", json_object_new_double(r->cpu_per_frame));
	if (r->dev_cpu)
		json_object_object_add(o, "device_cpu_ns_per_frame",
				       json_object_new_double(r->dev_per_frame));
	if (r->note[0])
		json_object_object_add(o, "note", json_object_new_string(r->note));
	return o;
}

static int write_json(const char *path, const struct point *pts, unsigned int n, long cpus)
{
	json_object *root = json_object_new_object(), *arr = json_object_new_array();
	struct utsname u;
	int rc;

	uname(&u);
	json_object_object_add(root, "benchmark", json_object_new_string("device-datapath"));
	json_object_object_add(root, "kernel", json_object_new_string(u.release));
	json_object_object_add(root, "cpus", json_object_new_int((int)cpus));
	json_object_object_add(root, "seconds_per_point", json_object_new_double(opt.seconds));
	json_object_object_add(root, "queue_size", json_object_new_int(QSIZE));
	for (unsigned int i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "direction", json_object_new_string(pts[i].dir));
		/* The same, lower case, as tests/bench/report.py reads it. */
		json_object_object_add(o, "dir",
				       json_object_new_string(pts[i].dir[0] == 'T' ? "tx" : "rx"));
		json_object_object_add(o, "frame_bytes", json_object_new_int((int)pts[i].len));
		json_object_object_add(o, "pairs", json_object_new_int((int)pts[i].pairs));
		if (pts[i].skipped) {
			json_object_object_add(o, "skipped", json_object_new_boolean(1));
		} else {
			json_object_object_add(o, "ktvm", result_json(&pts[i].ktvm));
			json_object_object_add(o, "limit", result_json(&pts[i].limit));
			json_object_object_add(o, "ratio", json_object_new_double(pts[i].ratio));
			json_object_object_add(o, "cpu_ratio",
					       json_object_new_double(pts[i].cpu_ratio));
			json_object_object_add(o, "others_cpu_share",
					       json_object_new_double(pts[i].others));
		}
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "results", arr);
	rc = json_object_to_file_ext(path, root, JSON_C_TO_STRING_PRETTY);
	json_object_put(root);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"seconds", required_argument, NULL, 's'},
					   {"json", required_argument, NULL, 'j'},
					   {"dir", required_argument, NULL, 'd'},
					   {"size", required_argument, NULL, 'z'},
					   {"pairs", required_argument, NULL, 'p'},
					   {"ktvm-only", no_argument, NULL, 'k'},
					   {"verbose", no_argument, NULL, 'v'},
					   {"help", no_argument, NULL, 'h'},
					   {NULL, 0, NULL, 0}};
	static const struct mem_region layout[] = {{.gpa = 0, .size = GMEM_SIZE}};
	struct point pts[2 * ARRAY_SIZE(sizes) * MAXP];
	unsigned int npts = 0;
	struct cpu_sample c0, c1;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int c, rc;

	while ((c = getopt_long(argc, argv, "s:j:d:z:p:kvh", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			opt.seconds = atof(optarg);
			if (opt.seconds < 0.05 || opt.seconds > 60) {
				fprintf(stderr, "datapath: --seconds must be 0.05 to 60\n");
				return 2;
			}
			break;
		case 'j':
			opt.json = optarg;
			break;
		case 'd':
			opt.dir = optarg;
			if (strcmp(optarg, "tx") && strcmp(optarg, "rx")) {
				fprintf(stderr, "datapath: --dir is tx or rx\n");
				return 2;
			}
			break;
		case 'z':
			opt.size = (uint32_t)atoi(optarg);
			break;
		case 'p':
			opt.pairs = (unsigned int)atoi(optarg);
			if (opt.pairs < 1 || opt.pairs > MAXP) {
				fprintf(stderr, "datapath: --pairs is 1 or 2\n");
				return 2;
			}
			break;
		case 'k':
			opt.ktvm_only = true;
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	slice_ns = (long long)(opt.seconds * 1e9 / SLICES);
	log_set_level(LOG_ERROR);
	rc = net_setup();
	if (rc)
		return rc;
	memset(&vm, 0, sizeof(vm));
	vm.vm_fd = vm.kvm_fd = vm.loop_fd = -1;
	if (gmem_init(&vm.mem, GMEM_SIZE, layout, 1))
		die("cannot map %llu MiB of guest memory", (unsigned long long)(GMEM_SIZE >> 20));
	irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (irq_fd < 0)
		die("eventfd: %s", strerror(errno));
	/* Room for a whole RX round in tun's queue, so the producer never drops. */
	set_txqueuelen(rx_round(64) + 64);

	printf("ktvm device datapath (no guest): fake Linux-like driver on ktvm's virtqueue and\n"
	       "virtio-net code vs. plain write()/read() on the same TAP; %.1f s per point\n",
	       opt.seconds);
	printf("machine: %ld CPU%s, kernel ", cpus, cpus == 1 ? "" : "s");
	{
		struct utsname u;

		uname(&u);
		printf("%s", u.release);
	}
	if (cpus <= 2)
		printf("  (only %ld cores: driver thread, device workers and the kernel share them,\n"
		       "  so 2-pair figures show contention more than scaling)",
		       cpus);
	printf("\n\n%-3s %6s %5s  %10s %7s %6s %5s  %10s %7s %6s  %5s %5s\n", "dir", "frame",
	       "pairs", "ktvm fr/s", "Gbit/s", "ns/fr", "dev", "limit fr/s", "Gbit/s", "ns/fr",
	       "ratio", "cpu");
	for (unsigned int pairs = 1; pairs <= MAXP; pairs++) {
		for (int dir = 0; dir < 2; dir++) {
			for (unsigned int s = 0; s < ARRAY_SIZE(sizes); s++) {
				if ((opt.pairs && pairs != opt.pairs) ||
				    (opt.size && sizes[s] != opt.size) ||
				    (opt.dir && strcmp(opt.dir, dir ? "rx" : "tx")))
					continue;
				struct point *pt = &pts[npts++];

				memset(pt, 0, sizeof(*pt));
				pt->dir = dir ? "RX" : "TX";
				pt->len = sizes[s];
				pt->pairs = pairs;
				cpu_sample(&c0);
				if (dir && pairs > 1 && !steering) {
					pt->skipped = true;
				} else {
					if (dir)
						set_txqueuelen(rx_round(pt->len) + 64);
					for (int k = 0; k < SLICES; k++) {
						if (dir)
							run_rx_ktvm(pt->len, pairs, &pt->ktvm);
						else
							run_tx_ktvm(pt->len, pairs, &pt->ktvm);
						if (opt.ktvm_only)
							continue;
						if (dir)
							run_rx_limit(pt->len, pairs, &pt->limit);
						else
							run_tx_limit(pt->len, pairs, &pt->limit);
					}
					result_finish(&pt->ktvm, pt->len);
					result_finish(&pt->limit, pt->len);
				}
				cpu_sample(&c1);
				pt->others = cpu_others(&c0, &c1, cpus);
				if (pt->limit.fps > 0)
					pt->ratio = pt->ktvm.fps / pt->limit.fps;
				if (pt->ktvm.cpu_per_frame > 0)
					pt->cpu_ratio =
						pt->limit.cpu_per_frame / pt->ktvm.cpu_per_frame;
				print_row(pt);
			}
		}
	}
	printf("\nratio = ktvm / limit, frames/s; target (issue 8): 1500-byte TX and RX >= 0.90.\n"
	       "ns/fr = CPU time of all threads per frame (ktvm's includes the fake driver);\n"
	       "dev = the device worker threads' part of it;\n"
	       "cpu = limit ns/fr / ktvm ns/fr, which holds up when the machine is busy.\n");
	if (opt.json && write_json(opt.json, pts, npts, cpus)) {
		fprintf(stderr, "datapath: cannot write %s\n", opt.json);
		return 1;
	}
	gmem_destroy(&vm.mem);
	for (int i = 0; i < MAXP; i++)
		close(tapfd[i]);
	close(inj_sock);
	return 0;
}
