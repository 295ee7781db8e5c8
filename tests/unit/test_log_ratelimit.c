// SPDX-License-Identifier: MIT
/*
 * test_log_ratelimit.c - log_ratelimited(): a few lines per second per call
 * site, then one "N more suppressed" line; from several threads at once;
 * and the line a guest triggers by breaking its NIC's queue, resetting it
 * and setting DRIVER_OK again, 2000 times in a row (one WARN line per cycle
 * before: 2001 lines).
 *
 * clock_gettime is wrapped (test_log_ratelimit.wrap): the test moves
 * CLOCK_MONOTONIC forward instead of sleeping through a window.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/virtio_net.h>
#include <cmocka.h>
#include <fcntl.h>

#include "devices/virtio_net.h"
#include "tests/common/virtio_driver.h"

#define BIT(n) (1ULL << (n))

/*
 * ---- the clock: the real one plus what the test skipped; or, frozen, only
 * what it skipped (a burst of calls then fits in one window however slowly
 * a loaded machine runs the threads: once the real time crossed a window) ----
 */
static atomic_llong skipped_ns;
static atomic_bool frozen;
static struct timespec frozen_at;

int __real_clock_gettime(clockid_t clk, struct timespec *ts);
int __wrap_clock_gettime(clockid_t clk, struct timespec *ts);
int __wrap_clock_gettime(clockid_t clk, struct timespec *ts)
{
	int r = __real_clock_gettime(clk, ts);

	if (clk == CLOCK_MONOTONIC && atomic_load(&frozen))
		*ts = frozen_at;
	long long ns = (long long)ts->tv_nsec + atomic_load(&skipped_ns);

	ts->tv_sec += ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
	return r;
}

static void skip_ms(long long ms)
{
	atomic_fetch_add(&skipped_ns, ms * 1000000);
}

/* ---- the log, captured in a memfd ---- */
static int log_fd = -1;

static int setup_log(void **state)
{
	log_fd = memfd_create("log", MFD_CLOEXEC);
	assert_true(log_fd >= 0);
	/* As stderr on a terminal or an O_APPEND log file: lines from several threads append. */
	assert_int_equal(fcntl(log_fd, F_SETFL, O_APPEND), 0);
	log_set_fd(log_fd);
	log_set_level(LOG_WARN);
	return 0;
}

static int teardown_log(void **state)
{
	log_set_fd(-1);
	close(log_fd);
	return 0;
}

/* Lines containing 'needle' in the log so far. */
static unsigned int lines_with(const char *needle)
{
	static char buf[1 << 20];
	ssize_t n = pread(log_fd, buf, sizeof(buf) - 1, 0);
	unsigned int k = 0;

	assert_true(n >= 0);
	buf[n] = 0;
	for (char *l = buf; *l;) {
		char *e = strchr(l, '\n');

		if (e)
			*e = 0;
		if (strstr(l, needle))
			k++;
		if (!e)
			break;
		*e = '\n';
		l = e + 1;
	}
	return k;
}

/* ---- the macro itself ---- */
static void say(unsigned int i)
{
	log_warn_rl("test", "event %u", i);
}

static void *sayer(void *arg)
{
	for (unsigned int i = 0; i < 2000; i++)
		say(i);
	return NULL;
}

static void test_burst_then_suppressed(void **state)
{
	pthread_t t[4];

	__real_clock_gettime(CLOCK_MONOTONIC, &frozen_at);
	atomic_store(&frozen, true);

	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, sayer, NULL), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	/* 8000 calls from four threads in (far) less than a window: the burst. */
	if (lines_with("test: event") != LOG_RATELIMIT_BURST) {
		static char buf[8192];
		ssize_t n = pread(log_fd, buf, sizeof(buf) - 1, 0);

		buf[n > 0 ? n : 0] = 0;
		fail_msg("want %d lines, log:\n%s", LOG_RATELIMIT_BURST, buf);
	}
	assert_int_equal(lines_with("suppressed"), 0);
	/* The next window: first the count of what was dropped, then the line. */
	skip_ms(LOG_RATELIMIT_INTERVAL_MS);
	say(9999);
	assert_int_equal(lines_with("test: 7995 more suppressed like: event %u"), 1);
	assert_int_equal(lines_with("test: event 9999"), 1);
	/* A quiet call site has nothing to report. */
	skip_ms(LOG_RATELIMIT_INTERVAL_MS);
	say(10000);
	assert_int_equal(lines_with("suppressed"), 1);
	assert_int_equal(lines_with("test: event"), LOG_RATELIMIT_BURST + 2);
	atomic_store(&frozen, false);
}

static void dbg(int i)
{
	log_debug_rl("test", "debug %d", i);
}

/* Calls below the log level are not lines: they use up no burst and are not "suppressed". */
static void test_below_level_counts_nothing(void **state)
{
	for (int i = 0; i < 100; i++)
		dbg(i);
	log_set_level(LOG_DEBUG);
	dbg(100);
	log_set_level(LOG_WARN);
	assert_int_equal(lines_with("test: debug 100"), 1);
	assert_int_equal(lines_with("debug"), 1);
	assert_int_equal(lines_with("suppressed"), 0);
}

/* ---- a guest breaking its NIC 2000 times ---- */
static const struct mem_region layout[] = {{.gpa = 0, .size = MiB(4)}};
static struct vm vm;
static struct vdrv_queue dq[2];
static const struct virtio_transport_ops t_ops;

static void bring_up(struct virtio_dev *vd)
{
	uint64_t f = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MAC);

	assert_int_equal(vdrv_negotiate(vd, f), 0);
	for (unsigned int i = 0; i < 2; i++)
		assert_int_equal(vdrv_queue_setup(&dq[i], &vd->vqs[i], &vm.mem, i, 64, false), 0);
	assert_int_equal(vdrv_driver_ok(vd), 0);
}

static void test_net_break_reset_cycles(void **state)
{
	struct net_config cfg = {.fd = -1, .mac = KTVM_DEFAULT_MAC, .queue_pairs = 1, .msix = true};
	struct virtio_net *net;
	struct virtio_dev *vd;
	int sv[2];

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
	skip_ms(LOG_RATELIMIT_INTERVAL_MS); /* a fresh window */
	struct timespec start, end;

	__real_clock_gettime(CLOCK_MONOTONIC, &start);
	for (int cycle = 0; cycle < 2000; cycle++) {
		struct timespec t0, t;

		pthread_mutex_lock(&vd->lock);
		virtio_set_status(vd, 0);
		bring_up(vd);
		pthread_mutex_unlock(&vd->lock);
		/* avail idx 1000 entries ahead of a 64-entry ring: the worker breaks the queue. */
		__atomic_store_n(&dq[VIRTIO_NET_TXQ].avail->idx, 1000, __ATOMIC_RELEASE);
		assert_int_equal(vdrv_kick(&dq[VIRTIO_NET_TXQ]), 0);
		__real_clock_gettime(CLOCK_MONOTONIC, &t0);
		while (!(__atomic_load_n(&vd->status, __ATOMIC_ACQUIRE) &
			 VIRTIO_CONFIG_S_NEEDS_RESET)) {
			__real_clock_gettime(CLOCK_MONOTONIC, &t);
			assert_true(t.tv_sec - t0.tv_sec < 5); /* the worker never noticed */
			sched_yield();
		}
	}
	/*
	 * 2000 cycles in well under a window on a quiet machine; on a loaded one
	 * (a sanitizer build, parallel tests) a few windows: BURST lines each.
	 */
	__real_clock_gettime(CLOCK_MONOTONIC, &end);
	long long ms =
		(end.tv_sec - start.tv_sec) * 1000LL + (end.tv_nsec - start.tv_nsec) / 1000000;
	unsigned int windows = (unsigned int)(ms / LOG_RATELIMIT_INTERVAL_MS) + 1;
	unsigned int n = lines_with("net0: the driver corrupted a queue");

	print_message("%u lines for 2000 cycles in %lld ms\n", n, ms);
	assert_true(windows * LOG_RATELIMIT_BURST < 200); /* else the machine is too slow to tell */
	assert_true(n >= LOG_RATELIMIT_BURST);
	assert_true(n <= windows * LOG_RATELIMIT_BURST);
	unsigned int suppressed_lines =
		lines_with("more suppressed like: %s: the driver corrupted");

	assert_true(suppressed_lines <= windows);
	/* The next cycle in a later window says how many were dropped. */
	skip_ms(LOG_RATELIMIT_INTERVAL_MS);
	pthread_mutex_lock(&vd->lock);
	virtio_set_status(vd, 0);
	bring_up(vd);
	pthread_mutex_unlock(&vd->lock);
	__atomic_store_n(&dq[VIRTIO_NET_TXQ].avail->idx, 1000, __ATOMIC_RELEASE);
	assert_int_equal(vdrv_kick(&dq[VIRTIO_NET_TXQ]), 0);
	for (int t = 0; t < 5000 && lines_with("more suppressed like: %s: the driver corrupted") ==
					    suppressed_lines;
	     t++)
		usleep(1000);
	assert_int_equal(lines_with("more suppressed like: %s: the driver corrupted"),
			 suppressed_lines + 1);

	int kick_fds[2] = {vd->vqs[0].kick_fd, vd->vqs[1].kick_fd};

	virtio_net_destroy(net);
	for (int i = 0; i < 2; i++)
		close(kick_fds[i]);
	close(sv[0]);
	close(sv[1]);
	gmem_destroy(&vm.mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_burst_then_suppressed, setup_log,
						teardown_log),
		cmocka_unit_test_setup_teardown(test_below_level_counts_nothing, setup_log,
						teardown_log),
		cmocka_unit_test_setup_teardown(test_net_break_reset_cycles, setup_log,
						teardown_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
