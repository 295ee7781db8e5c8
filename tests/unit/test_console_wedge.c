// SPDX-License-Identifier: MIT
/*
 * test_console_wedge.c - ktvm itself, running a real guest on /dev/kvm,
 * with --console stdio into a pipe nobody reads (`ktvm run | less` left
 * paused): --timeout and SIGTERM must still end it (124 and 143), in time.
 *
 * The guest is a tiny PVH ELF built here: flat 32-bit code that writes 'A'
 * to the UART's THR (port 0x3f8) forever, never looking at LSR.  Tiny code
 * runs even on a KVM that cannot boot Linux (kvm_pvm), so the probe for
 * that is skipped: ktvm-testhooks with KTVM_TEST_SKIP_KVM_PROBE=1
 * (vmm/seccomp.c's list still applies).  Skipped without /dev/kvm or
 * without build/ARCH/ktvm-testhooks (make unit builds it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/common/tiny_guest.h"

#include "tests/common/sanitized.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


static char ktvm_bin[PATH_MAX];
static pid_t child = -1; /* killed by kill_child if a test fails */
static char kernel[] = "/tmp/ktvm-wedge-XXXXXX";

/* The guest: mov dx,0x3f8; mov al,'A'; 1: out dx,al; jmp 1b. */
static const uint8_t guest_code[] = {0x66, 0xba, 0xf8, 0x03, 0xb0, 0x41, 0xee, 0xeb, 0xfd};

static int setup(void **state)
{
	int fd;

	if (tiny_guest_ktvm_testhooks(ktvm_bin, sizeof(ktvm_bin)))
		return -1;
	fd = mkstemp(kernel);
	if (fd < 0 || tiny_guest_write(fd, guest_code, sizeof(guest_code)))
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(kernel);
	return 0;
}

static void skip_unless_runnable(void)
{
	int fd;

	if (KTVM_SANITIZED) {
		fprintf(stderr, "skipped: a sanitized ktvm breaks its own seccomp lists\n");
		skip();
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0 || access(ktvm_bin, X_OK) != 0) {
		if (fd >= 0)
			close(fd);
		fprintf(stderr, "skipped: needs /dev/kvm and %s\n", ktvm_bin);
		skip();
	}
	close(fd);
}

/* ktvm run ... with stdout = out (never read), stderr = err (or /dev/null if -1). */
static pid_t spawn(int out, int err, const char *timeout)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, STDIN_FILENO);
		dup2(out, STDOUT_FILENO);
		if (err >= 0)
			dup2(err, STDERR_FILENO);
		else if (!getenv("KTVM_TEST_VERBOSE"))
			dup2(null, STDERR_FILENO);
		setenv("KTVM_TEST_SKIP_KVM_PROBE", "1", 1);
		execl(ktvm_bin, ktvm_bin, "run", "--kernel", kernel, "--memory", "64M", "--timeout",
		      timeout, (char *)NULL);
		_exit(127);
	}
	child = pid;
	return pid;
}

static int kill_child(void **state)
{
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	child = -1;
	return 0;
}

/* Wait up to ms for pid; its wait status, or -1 (then it is killed). */
static int wait_bounded(pid_t pid, int ms)
{
	int64_t deadline = tiny_guest_now_ms() + ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid) {
			child = -1;
			return st;
		}
		if (tiny_guest_now_ms() > deadline)
			break;
		/* A bounded wait for the child's exit, polled every 10 ms. */
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	return -1; /* kill_child ends it */
}

/*
 * Until ktvm's stderr says its console buffer is full ("not draining"):
 * the pipe took all it could and the guest still writes (before the fix,
 * the main thread was then stuck in write()).
 */
static void wait_for_stderr(int fd, const char *what, int ms)
{
	int64_t deadline = tiny_guest_now_ms() + ms;
	char buf[4096];
	size_t len = 0;

	while (tiny_guest_now_ms() < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, (int)(deadline - tiny_guest_now_ms())) <= 0)
			continue;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = 0;
		if (strstr(buf, what))
			return;
		if (len > sizeof(buf) / 2) { /* keep the tail */
			memmove(buf, buf + len - 256, 256);
			len = 256;
		}
	}
	fail_msg("ktvm never said \"%s\" on stderr", what);
}

static void test_timeout_with_wedged_stdout(void **state)
{
	int p[2], st;
	int64_t t0;
	pid_t pid;

	skip_unless_runnable();
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	t0 = tiny_guest_now_ms();
	pid = spawn(p[1], -1, "5");
	close(p[1]);
	st = wait_bounded(pid, 8000);
	if (st < 0)
		fail_msg("ktvm --timeout 5 still running after 8 s with its stdout not read");
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 124);
	assert_true(tiny_guest_now_ms() - t0 < 6000);
	close(p[0]);
}

static void test_sigterm_with_wedged_stdout(void **state)
{
	int p[2], e[2], st;
	int64_t t0;
	pid_t pid;

	skip_unless_runnable();
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(pipe2(e, O_CLOEXEC), 0);
	pid = spawn(p[1], e[1], "60");
	close(p[1]);
	close(e[1]);
	wait_for_stderr(e[0], "not draining", 10000);
	t0 = tiny_guest_now_ms();
	kill(pid, SIGTERM);
	st = wait_bounded(pid, 3000);
	if (st < 0)
		fail_msg("ktvm ignored SIGTERM for 3 s with its stdout not read");
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 143);
	assert_true(tiny_guest_now_ms() - t0 < 2000);
	close(p[0]);
	close(e[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_timeout_with_wedged_stdout, kill_child),
		cmocka_unit_test_teardown(test_sigterm_with_wedged_stdout, kill_child),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
