// SPDX-License-Identifier: MIT
/*
 * test_teardown_ktvm.c - a whole 'ktvm run' of a tiny guest (a PVH ELF
 * whose entry spins, run natively by ktvm-testhooks with
 * KTVM_TEST_SKIP_KVM_PROBE=1) ends with --timeout's status and nothing
 * else: the teardown touches no freed memory.  It used to: the console was
 * freed before the VM was destroyed, and the UART then unhooked itself from
 * the freed console.  Under 'make SANITIZE=1 unit' (ASan in ktvm-testhooks
 * too) that was a heap-use-after-free and exit status 1; a plain build
 * cannot see it.  seccomp is off: ASan's own syscalls (sigaltstack) are in
 * no thread's allow-list.
 */
#include <elf.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/common/tiny_guest.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static char ktvm_bin[PATH_MAX], kernel[] = "/tmp/ktvm-td-XXXXXX";

/* The guest: its 32-bit entry spins (1: jmp 1b). */
static const uint8_t guest_code[] = {0xeb, 0xfe};

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

/* ktvm-testhooks run ... console [nets]: its wait status (-1 if it outlived 20 s), its stderr. */
static int run_ktvm(const char *console, bool nets, char *err, size_t errlen)
{
	char tap0[32], tap1[64];
	int64_t deadline = tiny_guest_now_ms() + 20000;
	size_t len = 0;
	int ep[2], st = -1;
	pid_t pid;

	assert_int_equal(pipe(ep), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(ep[1], STDERR_FILENO);
		setenv("KTVM_TEST_SKIP_KVM_PROBE", "1", 1);
		snprintf(tap0, sizeof(tap0), "tap=ktvmtd%da", (int)getpid() % 10000);
		snprintf(tap1, sizeof(tap1), "tap=ktvmtd%db,mac=02:00:00:00:00:02,queue_pairs=2",
			 (int)getpid() % 10000);
		if (nets)
			execl(ktvm_bin, ktvm_bin, "run", "--kernel", kernel, "--memory", "64M",
			      "--console", console, "--timeout", "1", "--seccomp", "off", "--stats",
			      "--net", tap0, "--net", tap1, (char *)NULL);
		else
			execl(ktvm_bin, ktvm_bin, "run", "--kernel", kernel, "--memory", "64M",
			      "--console", console, "--timeout", "1", "--seccomp", "off", "--stats",
			      (char *)NULL);
		_exit(127);
	}
	close(ep[1]);
	while (tiny_guest_now_ms() < deadline) {
		struct pollfd pfd = {.fd = ep[0], .events = POLLIN};
		ssize_t n;

		if (poll(&pfd, 1, (int)(deadline - tiny_guest_now_ms())) <= 0)
			continue;
		n = read(ep[0], err + len, errlen - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == errlen - 1)
			break; /* enough to judge by */
	}
	err[len] = '\0';
	close(ep[0]);
	if (tiny_guest_now_ms() >= deadline)
		kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return tiny_guest_now_ms() >= deadline ? -1 : st;
}

static bool runnable(void)
{
#ifndef __x86_64__
	print_message("skipped: the test guest is x86 code\n");
	return false;
#endif
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0 || access(ktvm_bin, X_OK) != 0) {
		if (fd >= 0)
			close(fd);
		print_message("skipped: needs /dev/kvm and %s\n", ktvm_bin);
		return false;
	}
	close(fd);
	return true;
}

static void check_run(const char *console, bool nets)
{
	char err[32768];
	int st;

	if (!runnable()) {
		skip();
		return;
	}
	st = run_ktvm(console, nets, err, sizeof(err));
	if (strstr(err, "Sanitizer") || !WIFEXITED(st) || WEXITSTATUS(st) != 124)
		fail_msg("--console %s: wait status 0x%x, stderr:\n%s", console, st, err);
	/* --stats, printed before the teardown */
	if (nets)
		assert_non_null(strstr(err, "\"name\":\"net1\""));
	else
		assert_non_null(strstr(err, "\"nics\":[]"));
}

static bool have_tun(void)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return geteuid() == 0;
}

/* The UART hooks into the console for input, breaks and tx-ready: with each kind of console. */
static void test_run_to_timeout_none(void **state)
{
	check_run("none", false);
}

static void test_run_to_timeout_stdio(void **state)
{
	check_run("stdio", false);
}

/* Two NICs (one multiqueue): their workers stopped, devices, transports and TAPs freed. */
static void test_run_to_timeout_two_nics(void **state)
{
	if (!have_tun()) {
		print_message("skipped: needs /dev/net/tun and root\n");
		skip();
		return;
	}
	check_run("none", true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_to_timeout_none),
		cmocka_unit_test(test_run_to_timeout_stdio),
		cmocka_unit_test(test_run_to_timeout_two_nics),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
