// SPDX-License-Identifier: MIT
/*
 * test_seccomp_ktvm.c - the seccomp lists in ktvm itself, natively: the
 * thread classes a tiny guest reaches without a Linux guest (main, vcpu,
 * gdb) each try what a hijacked thread would do first (openat of
 * /proc/self/mem, ptrace, execve, socket, connect, mprotect(PROT_EXEC)),
 * and ktvm must end with status 1 and the line naming the class.
 *
 * ktvm-testhooks (make unit builds it) with KTVM_TEST_SECCOMP_VIOLATE=
 * CLASS:SYSCALL (vmm/seccomp.c: right after the class's filter is in) and
 * KTVM_TEST_SKIP_KVM_PROBE=1 (a KVM that cannot boot Linux still runs the
 * guest: a PVH ELF of a few bytes that spins).  The net classes need a
 * guest virtio driver: tests/unit/test_seccomp.c covers them with ktvm's
 * thread chain.  Skipped without /dev/kvm or ktvm-testhooks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/common/tiny_guest.h"

#include "tests/common/sanitized.h"

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

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static char ktvm_bin[PATH_MAX], kernel[] = "/tmp/ktvm-sc-XXXXXX",
				gdb_dir[] = "/tmp/ktvm-sc-gdb-XXXXXX";

/* The guest: its 32-bit entry spins (1: jmp 1b). */
static const uint8_t guest_code[] = {0xeb, 0xfe};

static int setup(void **state)
{
	int fd;

	if (tiny_guest_ktvm_testhooks(ktvm_bin, sizeof(ktvm_bin)))
		return -1;
	fd = mkstemp(kernel);
	if (fd < 0 || tiny_guest_write(fd, guest_code, sizeof(guest_code)) || !mkdtemp(gdb_dir))
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	char sock[PATH_MAX];

	snprintf(sock, sizeof(sock), "%s/gdb.sock", gdb_dir);
	unlink(sock);
	rmdir(gdb_dir);
	unlink(kernel);
	return 0;
}

/*
 * Run ktvm-testhooks with KTVM_TEST_SECCOMP_VIOLATE=violate: its wait
 * status (-1 if it outlived 20 s: then it is killed), its stderr into err.
 */
static int run_ktvm(const char *violate, const char *timeout, char *err, size_t errlen)
{
	char gdb[PATH_MAX + 8];
	int64_t deadline = tiny_guest_now_ms() + 20000;
	size_t len = 0;
	int ep[2], st = -1;
	pid_t pid;

	snprintf(gdb, sizeof(gdb), "unix:%s/gdb.sock", gdb_dir);
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
		setenv("KTVM_TEST_SECCOMP_VIOLATE", violate, 1);
		execl(ktvm_bin, ktvm_bin, "run", "--kernel", kernel, "--memory", "64M", "--console",
		      "none", "--timeout", timeout, "--gdb", gdb, (char *)NULL);
		_exit(127);
	}
	close(ep[1]);
	/* Its stderr until EOF (it exited), bounded. */
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
			len = 0; /* keep reading; only the end matters */
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
	int fd;

	if (KTVM_SANITIZED) {
		print_message("skipped: a sanitized ktvm breaks its own seccomp lists\n");
		return false;
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0 || access(ktvm_bin, X_OK) != 0) {
		if (fd >= 0)
			close(fd);
		print_message("skipped: needs /dev/kvm and %s\n", ktvm_bin);
		return false;
	}
	close(fd);
	return true;
}

/* Without a violation the guest spins until --timeout: ktvm itself is fine. */
static void test_no_violation_runs(void **state)
{
	char err[8192];
	int st;

	if (!runnable())
		skip();
	st = run_ktvm("none", "1", err, sizeof(err));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 124)
		fail_msg("status 0x%x, stderr: %s", st, err);
	assert_null(strstr(err, "seccomp: thread class"));
}

static void test_each_class_each_escape(void **state)
{
	static const char *const classes[] = {"main", "vcpu", "gdb"};
	static const struct {
		const char *what;
		long nr;
	} escapes[] = {
		{"openat", SYS_openat}, {"ptrace", SYS_ptrace},	  {"execve", SYS_execve},
		{"socket", SYS_socket}, {"connect", SYS_connect}, {"mprotect", SYS_mprotect},
	};
	char violate[32], want[128], err[8192];
	int st;

	if (!runnable())
		skip();
	for (unsigned int c = 0; c < ARRAY_SIZE(classes); c++) {
		for (unsigned int e = 0; e < ARRAY_SIZE(escapes); e++) {
			snprintf(violate, sizeof(violate), "%s:%s", classes[c], escapes[e].what);
			snprintf(want, sizeof(want),
				 "ktvm: seccomp: thread class %s made forbidden syscall %ld (%s)\n",
				 classes[c], escapes[e].nr, escapes[e].what);
			st = run_ktvm(violate, "10", err, sizeof(err));
			if (!strstr(err, want) || !WIFEXITED(st) || WEXITSTATUS(st) != 1)
				fail_msg("%s: status 0x%x, stderr: %s", violate, st, err);
		}
	}
}

/* Connect to a unix socket at path, waiting (bounded, 10 s) for it to appear: fd or -1. */
static int connect_when_up(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int64_t deadline = tiny_guest_now_ms() + 10000;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	while (tiny_guest_now_ms() < deadline) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		if (fd >= 0)
			close(fd);
		poll(NULL, 0, 20); /* polling for the socket file, bounded above */
	}
	return -1;
}

/* Send req, read until the answer holds 'until' (bounded, 10 s): the answer. */
static void ask(int fd, const char *req, const char *until, char *ans, size_t cap)
{
	size_t got = 0;
	int64_t deadline = tiny_guest_now_ms() + 10000;

	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	ans[0] = '\0';
	while (tiny_guest_now_ms() < deadline && got < cap - 1 && !strstr(ans, until)) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(fd, ans + got, cap - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		ans[got] = '\0';
	}
}

/*
 * The control socket and the gdb unix: socket are served under the main and
 * gdb classes' lists: a client's connection (the peer check) and a stats
 * request must not need a syscall those lists lack.  (The peer check called
 * geteuid() per connection: ktvm died on the first `ktvm ctl`.)
 */
static void test_sockets_served_under_seccomp(void **state)
{
	char api[PATH_MAX + 16], gdb[PATH_MAX + 16], gdb_arg[PATH_MAX + 24], ans[65536];
	int ep[2], st = -1, fd;
	pid_t pid;

	if (!runnable())
		skip();
	snprintf(api, sizeof(api), "%s/api.sock", gdb_dir);
	snprintf(gdb, sizeof(gdb), "%s/gdb.sock", gdb_dir);
	snprintf(gdb_arg, sizeof(gdb_arg), "unix:%s", gdb);
	unlink(api);
	unlink(gdb);
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
		execl(ktvm_bin, ktvm_bin, "run", "--kernel", kernel, "--memory", "64M", "--console",
		      "none", "--timeout", "20", "--api-sock", api, "--gdb", gdb_arg, (char *)NULL);
		_exit(127);
	}
	close(ep[1]);
	fd = connect_when_up(api);
	assert_true(fd >= 0);
	ask(fd, "stats\n", "\n", ans, sizeof(ans));
	close(fd);
	if (ans[0] != '{')
		fail_msg("the control socket answered '%.200s' to stats", ans);
	fd = connect_when_up(gdb);
	assert_true(fd >= 0);
	ask(fd, "$?#3f", "#", ans, sizeof(ans)); /* gdb's first question: why stopped */
	close(fd);
	if (!strchr(ans, '$'))
		fail_msg("the gdb stub answered '%.200s' to '?'", ans);
	fd = connect_when_up(api);
	assert_true(fd >= 0);
	ask(fd, "stop\n", "\n", ans, sizeof(ans));
	close(fd);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	{
		char err[8192];
		ssize_t n = read(ep[0], err, sizeof(err) - 1);

		err[n > 0 ? n : 0] = '\0';
		close(ep[0]);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail_msg("ktvm ended with status 0x%x after 'stop', stderr: %s", st, err);
	}
	unlink(api);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_violation_runs),
		cmocka_unit_test(test_each_class_each_escape),
		cmocka_unit_test(test_sockets_served_under_seccomp),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
