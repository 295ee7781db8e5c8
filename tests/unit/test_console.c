// SPDX-License-Identifier: MIT
/*
 * test_console.c - the Ctrl-A escape: quit, literal Ctrl-A, split across
 * reads; output into a pipe nobody reads never blocks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "vmm/console_host.h"

static struct vm vm;
static struct console *con;

static int setup(void **state)
{
	struct vm_config cfg = { .console = CONSOLE_NONE };

	memset(&vm, 0, sizeof(vm));
	atomic_init(&vm.stop_status, -1);
	vm.stop_eventfd = -1;
	con = console_open(&vm, &cfg);
	return con ? 0 : -1;
}

static int teardown(void **state)
{
	console_close(con);
	return 0;
}

static void test_plain_bytes_pass(void **state)
{
	uint8_t b[] = "ls\r";

	assert_int_equal(console_filter_escapes(con, b, 3), 3);
	assert_memory_equal(b, "ls\r", 3);
	assert_false(vm_stopping(&vm));
}

static void test_ctrl_a_ctrl_a_sends_one(void **state)
{
	uint8_t b[] = { 'a', 0x01, 0x01, 'b' };

	assert_int_equal(console_filter_escapes(con, b, 4), 3);
	assert_int_equal(b[0], 'a');
	assert_int_equal(b[1], 0x01);
	assert_int_equal(b[2], 'b');
	assert_false(vm_stopping(&vm));
}

static void test_unknown_escape_swallowed(void **state)
{
	uint8_t b[] = { 0x01, 'q', 'z' };

	assert_int_equal(console_filter_escapes(con, b, 3), 1);
	assert_int_equal(b[0], 'z');
	assert_false(vm_stopping(&vm));
}

static void test_ctrl_a_x_quits_across_reads(void **state)
{
	uint8_t b1[] = { 'e', 0x01 };
	uint8_t b2[] = { 'x' };

	assert_int_equal(console_filter_escapes(con, b1, 2), 1);
	assert_false(vm_stopping(&vm));
	assert_int_equal(console_filter_escapes(con, b2, 1), 0);
	assert_true(vm_stopping(&vm));
	assert_int_equal(atomic_load(&vm.stop_status), 0);
}

/* The guest's side and the main loop's side, run in a thread so a hang is seen. */
struct pump {
	struct console *c;
	size_t bytes;
	bool close_too;
};

static void *pump_output(void *opaque)
{
	struct pump *p = opaque;
	uint8_t chunk[4096];

	memset(chunk, 'x', sizeof(chunk));
	for (size_t done = 0; done < p->bytes; done += sizeof(chunk)) {
		console_write(p->c, chunk, sizeof(chunk));
		console_flush(p->c);
	}
	if (p->close_too)
		console_close(p->c);
	return NULL;
}

/* Run pump_output; fails the test if it does not return within 'ms'. */
static void pump_bounded(struct pump *p, int ms)
{
	pthread_t t;
	struct timespec until;

	assert_int_equal(pthread_create(&t, NULL, pump_output, p), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	if (pthread_timedjoin_np(t, NULL, &until) != 0)
		fail_msg("console output blocked on a sink that is not draining");
}

static unsigned int tx_ready_calls;

static void count_tx_ready(void *opaque)
{
	tx_ready_calls++;
}

static size_t drain_some(int fd, size_t max)
{
	uint8_t buf[4096];
	size_t got = 0;

	while (got < max) {
		ssize_t n = read(fd, buf, sizeof(buf) < max - got ? sizeof(buf) : max - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

/*
 * --console stdio into a pipe whose reader stopped reading (ktvm | less):
 * neither the guest's writes nor the main loop's flush may block; what
 * does not fit is dropped and counted, the UART is told "full" and then
 * "room again", the main loop's fd wakes it when the pipe drains, and
 * stdout's shared file description is never made non-blocking.
 */
static void test_undrained_stdout_never_blocks(void **state)
{
	struct vm_config cfg = { .console = CONSOLE_STDIO };
	int pfd[2], saved_out = dup(STDOUT_FILENO), saved_in = dup(STDIN_FILENO);
	int null = open("/dev/null", O_RDONLY);
	struct epoll_event ev;
	struct pump p = { .bytes = 1 << 20 };
	struct console *c;

	assert_true(saved_out >= 0 && saved_in >= 0 && null >= 0);
	assert_int_equal(pipe(pfd), 0);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK); /* the test's own reads only */
	assert_true(dup2(pfd[1], STDOUT_FILENO) >= 0);
	assert_true(dup2(null, STDIN_FILENO) >= 0);
	c = console_open(&vm, &cfg);
	assert_non_null(c);
	console_set_tx_ready(c, count_tx_ready, NULL);
	tx_ready_calls = 0;

	p.c = c;
	pump_bounded(&p, 3000);
	assert_true(console_dropped(c) > 0);
	assert_false(console_tx_room(c));
	/* The shared description (the terminal's, the pipeline's) is untouched. */
	assert_false(fcntl(STDOUT_FILENO, F_GETFL) & O_NONBLOCK);
	/* Nothing to do until the reader reads: the main loop sleeps. */
	assert_int_equal(epoll_wait(console_output_fd(c), &ev, 1, 0), 0);

	/* The reader reads again: the loop wakes, output flows, the UART hears of it. */
	assert_true(drain_some(pfd[0], 1 << 20) >= 4096);
	assert_int_equal(epoll_wait(console_output_fd(c), &ev, 1, 1000), 1);
	console_flush(c);
	assert_int_equal(tx_ready_calls, 1);
	assert_true(console_tx_room(c));

	/* Fill it again and close: the exit path does not wait for the reader either. */
	p.close_too = true;
	pump_bounded(&p, 3000);

	assert_true(dup2(saved_out, STDOUT_FILENO) >= 0);
	assert_true(dup2(saved_in, STDIN_FILENO) >= 0);
	close(saved_out);
	close(saved_in);
	close(null);
	close(pfd[0]);
	close(pfd[1]);
}

/* Output that the sink takes arrives whole and in order. */
static void test_drained_output_arrives(void **state)
{
	struct vm_config cfg = { .console = CONSOLE_STDIO };
	int pfd[2], saved_out = dup(STDOUT_FILENO), saved_in = dup(STDIN_FILENO);
	int null = open("/dev/null", O_RDONLY);
	char got[64] = { 0 };
	struct console *c;

	assert_int_equal(pipe(pfd), 0);
	assert_true(dup2(pfd[1], STDOUT_FILENO) >= 0);
	assert_true(dup2(null, STDIN_FILENO) >= 0);
	c = console_open(&vm, &cfg);
	assert_non_null(c);
	console_write(c, (const uint8_t *)"hello, ", 7);
	console_write(c, (const uint8_t *)"world", 5);
	console_flush(c);
	console_close(c);
	assert_int_equal(read(pfd[0], got, sizeof(got)), 12);
	assert_string_equal(got, "hello, world");
	assert_true(dup2(saved_out, STDOUT_FILENO) >= 0);
	assert_true(dup2(saved_in, STDIN_FILENO) >= 0);
	close(saved_out);
	close(saved_in);
	close(null);
	close(pfd[0]);
	close(pfd[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_bytes_pass),
		cmocka_unit_test(test_ctrl_a_ctrl_a_sends_one),
		cmocka_unit_test(test_unknown_escape_swallowed),
		cmocka_unit_test(test_ctrl_a_x_quits_across_reads),
		cmocka_unit_test(test_undrained_stdout_never_blocks),
		cmocka_unit_test(test_drained_output_arrives),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
