// SPDX-License-Identifier: MIT
/*
 * test_output_file.c - the files ktvm writes at a user-given path (console
 * file and log, --log-file, pcap=FILE, --dump-dtb): a symbolic link there
 * is refused at configuration time (status 2, one line) and at open
 * (O_NOFOLLOW, for a link planted later), the target left untouched; the
 * fds are close-on-exec; a capture file is created 0600.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/console_host.h"
#include "vmm/net_pcap.h"
#include "vmm/output_file.h"

static char dir[64], victim[128], link_path[128], plain[128];

/* A victim file with known contents, a symbolic link to it, a free name. */
static int setup(void **state UNUSED)
{
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/ktvm-test-out-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(link_path, sizeof(link_path), "%s/link", dir);
	snprintf(plain, sizeof(plain), "%s/plain", dir);
	f = fopen(victim, "w");
	if (!f || fputs("precious\n", f) < 0 || fclose(f))
		return -1;
	return symlink(victim, link_path);
}

static int teardown(void **state UNUSED)
{
	unlink(victim);
	unlink(link_path);
	unlink(plain);
	rmdir(dir);
	return 0;
}

static void assert_victim_intact(void)
{
	char buf[32] = "";
	FILE *f = fopen(victim, "r");

	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "precious\n");
}

/* The fd of this process open on 'path' (-1 if none). */
static int fd_open_on(const char *path)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int found = -1;

	while (d && (e = readdir(d))) {
		char p[300], target[300];
		ssize_t n;

		snprintf(p, sizeof(p), "/proc/self/fd/%s", e->d_name);
		n = readlink(p, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!strcmp(target, path) && atoi(e->d_name) != dirfd(d))
			found = atoi(e->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

static void test_open(void **state UNUSED)
{
	struct stat st;
	mode_t old;
	int fd;

	errno = 0;
	assert_int_equal(output_file_open(link_path, O_WRONLY | O_CREAT | O_TRUNC, 0644), -1);
	assert_int_equal(errno, ELOOP);
	assert_non_null(strstr(output_file_error(ELOOP), "symbolic link"));
	assert_victim_intact();
	old = umask(0);
	fd = output_file_open(plain, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	umask(old);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	close(fd);
	assert_int_equal(output_file_check(link_path), -1);
	assert_int_equal(output_file_check(plain), 0);
	assert_int_equal(output_file_check(victim), 0);
	assert_int_equal(output_file_check("/nonexistent/ktvm"), 0); /* open says why */
}

/* Configuration: each output option refuses a link with one line, status 2. */
static void test_cli_refuses_links(void **state UNUSED)
{
	char con[160], log_[160], net[200];
	char *errbuf = NULL;
	size_t errlen = 0;
	struct vm_config cfg;
	FILE *err, *out = fopen("/dev/null", "w");

	snprintf(con, sizeof(con), "file:%s", link_path);
	snprintf(log_, sizeof(log_), "stdio,log=%s", link_path);
	snprintf(net, sizeof(net), "tap=ktvmt0,pcap=%s", link_path);
	{
		char *cases[][3] = {
			{"--console", con, NULL},	 {"--console", log_, NULL},
			{"--log-file", link_path, NULL}, {"--net", net, NULL},
			{"--dump-dtb", link_path, NULL},
		};

		for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
			char *argv[] = {"run",	     "--kernel",  "/dev/null",
					cases[i][0], cases[i][1], NULL};

			err = open_memstream(&errbuf, &errlen);
			assert_int_equal(config_parse_run(5, argv, &cfg, out, err),
					 KTVM_EXIT_USAGE);
			fclose(err);
			if (!strstr(errbuf, "is a symbolic link") ||
			    strchr(errbuf, '\n') != errbuf + errlen - 1)
				fail_msg("%s %s: '%s'", cases[i][0], cases[i][1], errbuf);
			free(errbuf);
			errbuf = NULL;
		}
	}
	{
		char *argv[] = {"run", "--kernel", "/dev/null", "--log-file", plain, NULL};

		assert_int_equal(config_parse_run(5, argv, &cfg, out, out), 0);
	}
	fclose(out);
	assert_victim_intact();
}

/* A link planted after the check: the opens themselves refuse it. */
static void test_console_open_refuses_link(void **state UNUSED)
{
	struct vm_config cfg = {.console = CONSOLE_FILE, .console_path = link_path};
	struct vm vm;
	struct console *c;
	int fd;

	memset(&vm, 0, sizeof(vm));
	atomic_init(&vm.stop_status, -1);
	vm.stop_eventfd = -1;
	assert_null(console_open(&vm, &cfg));
	assert_victim_intact();
	cfg.console_path = plain;
	c = console_open(&vm, &cfg);
	assert_non_null(c);
	fd = fd_open_on(plain);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	console_close(c);
	cfg.console = CONSOLE_STDIO;
	cfg.console_path = NULL;
	cfg.console_log = link_path;
	assert_null(console_open(&vm, &cfg));
	assert_victim_intact();
}

static void test_pcap_open(void **state UNUSED)
{
	char err[256] = "";
	struct net_pcap *pc;
	struct stat st;
	int fd;

	assert_null(net_pcap_open(link_path, err, sizeof(err)));
	assert_non_null(strstr(err, "symbolic link"));
	assert_victim_intact();
	pc = net_pcap_open(plain, err, sizeof(err));
	assert_non_null(pc);
	fd = fd_open_on(plain);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(stat(plain, &st), 0);
	assert_int_equal(st.st_mode & 0077, 0); /* the guest's traffic: the owner's only */
	net_pcap_close(pc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cli_refuses_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_console_open_refuses_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pcap_open, setup, teardown),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
