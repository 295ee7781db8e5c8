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

#define LOAD	      0x100000u
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static char ktvm_bin[PATH_MAX], kernel[] = "/tmp/ktvm-td-XXXXXX";

/* A PVH ELF whose 32-bit entry spins: 1: jmp 1b. */
static int write_guest(int fd)
{
	static const uint8_t code[] = {0xeb, 0xfe};
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph[2];
		Elf64_Nhdr nh;
		char name[4];
		uint32_t entry;
	} h = {
		.eh = {.e_ident = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB,
				   EV_CURRENT},
		       .e_type = ET_EXEC,
		       .e_machine = EM_X86_64,
		       .e_version = EV_CURRENT,
		       .e_entry = LOAD,
		       .e_phoff = sizeof(Elf64_Ehdr),
		       .e_ehsize = sizeof(Elf64_Ehdr),
		       .e_phentsize = sizeof(Elf64_Phdr),
		       .e_phnum = 2},
		.ph = {{.p_type = PT_NOTE,
			.p_offset = offsetof(typeof(h), nh),
			.p_filesz = sizeof(Elf64_Nhdr) + 8,
			.p_align = 4},
		       {.p_type = PT_LOAD,
			.p_flags = PF_R | PF_X,
			.p_offset = 0x1000,
			.p_vaddr = LOAD,
			.p_paddr = LOAD,
			.p_filesz = sizeof(code),
			.p_memsz = sizeof(code),
			.p_align = 0x1000}},
		.nh = {.n_namesz = 4, .n_descsz = 4, .n_type = 18 /* XEN_ELFNOTE_PHYS32_ENTRY */},
		.name = "Xen",
		.entry = LOAD,
	};
	uint8_t page[0x1000] = {0};

	memcpy(page, &h, sizeof(h));
	return write(fd, page, sizeof(page)) == sizeof(page) &&
			       write(fd, code, sizeof(code)) == sizeof(code)
		       ? 0
		       : -1;
}

static int setup(void **state)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int fd;

	if (n <= 0)
		return -1;
	self[n] = 0;
	/* build/ARCH/tests/test_teardown_ktvm -> build/ARCH/ktvm-testhooks */
	snprintf(ktvm_bin, sizeof(ktvm_bin), "%s/../ktvm-testhooks", dirname(self));
	fd = mkstemp(kernel);
	if (fd < 0 || write_guest(fd))
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(kernel);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ktvm-testhooks run ... console [nets]: its wait status (-1 if it outlived 20 s), its stderr. */
static int run_ktvm(const char *console, bool nets, char *err, size_t errlen)
{
	char tap0[32], tap1[64];
	int64_t deadline = now_ms() + 20000;
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
	while (now_ms() < deadline) {
		struct pollfd pfd = {.fd = ep[0], .events = POLLIN};
		ssize_t n;

		if (poll(&pfd, 1, (int)(deadline - now_ms())) <= 0)
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
	if (now_ms() >= deadline)
		kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return now_ms() >= deadline ? -1 : st;
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
