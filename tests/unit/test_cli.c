// SPDX-License-Identifier: MIT
/* test_cli.c - "ktvm run" option parsing: defaults, sizes, and every bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/ktvm.h"

static char errbuf[4096];

/* Parse argv (NULL-terminated) and return the status; errbuf gets stderr. */
static int parse(struct vm_config *cfg, const char *first, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	FILE *err = fmemopen(errbuf, sizeof(errbuf), "w");
	FILE *out = fopen("/dev/null", "w");

	argv[argc++] = (char *)"run";
	va_start(ap, first);
	for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	memset(errbuf, 0, sizeof(errbuf));
	int r = config_parse_run(argc, argv, cfg, out, err);
	fclose(err);
	fclose(out);
	return r;
}

/* One clear line: exactly one newline, at the end. */
static void assert_one_line(void)
{
	size_t n = strlen(errbuf);

	assert_true(n > 0);
	assert_int_equal(errbuf[n - 1], '\n');
	assert_null(memchr(errbuf, '\n', n - 1));
}

static void test_defaults(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, "--kernel", "/dev/null", NULL), 0);
	assert_string_equal(c.kernel, "/dev/null");
	assert_int_equal(c.cpus, 1);
	assert_int_equal(c.mem_bytes, MiB(512));
	assert_int_equal(c.console, CONSOLE_STDIO);
	assert_int_equal(c.timeout_s, 0);
	assert_null(c.initrd);
	assert_null(c.cmdline);
}

static void test_all_options(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, "-k", "/dev/null", "--initrd", "/dev/null", "--cmdline",
			       "quiet x=1", "--cpus", "4", "--memory", "2G", "--console",
			       "file:/tmp/x", "--timeout", "5", "--log-level", "debug", NULL),
			 0);
	assert_string_equal(c.initrd, "/dev/null");
	assert_string_equal(c.cmdline, "quiet x=1");
	assert_int_equal(c.cpus, 4);
	assert_int_equal(c.mem_bytes, GiB(2));
	assert_int_equal(c.console, CONSOLE_FILE);
	assert_string_equal(c.console_path, "/tmp/x");
	assert_int_equal(c.timeout_s, 5);
	assert_int_equal(c.log_level, LOG_DEBUG);
}

static void test_mem_sizes(void **state)
{
	uint64_t b;

	assert_int_equal(parse_mem_size("512M", &b), 0);
	assert_int_equal(b, MiB(512));
	assert_int_equal(parse_mem_size("2G", &b), 0);
	assert_int_equal(b, GiB(2));
	assert_int_equal(parse_mem_size("1024", &b), 0);
	assert_int_equal(b, MiB(1024));
	assert_int_equal(parse_mem_size("1GiB", &b), 0);
	assert_int_equal(b, GiB(1));
	assert_int_equal(parse_mem_size("65536K", &b), 0);
	assert_int_equal(b, MiB(64));
	assert_int_equal(parse_mem_size("", &b), -1);
	assert_int_equal(parse_mem_size("-1", &b), -1);
	assert_int_equal(parse_mem_size("12X", &b), -1);
	assert_int_equal(parse_mem_size("1G1", &b), -1);
	assert_int_equal(parse_mem_size("99999999999999999999", &b), -1);
	assert_int_equal(parse_mem_size("18446744073709551615G", &b), -1);
}

static void test_memory_too_small(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, "--kernel", "/dev/null", "--memory", "1", NULL), KTVM_EXIT_USAGE);
	assert_one_line();
	assert_non_null(strstr(errbuf, "too small"));
}

static void test_memory_garbage(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, "--kernel", "/dev/null", "--memory", "lots", NULL),
			 KTVM_EXIT_USAGE);
	assert_one_line();
}

static void test_cpus_zero(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, "--kernel", "/dev/null", "--cpus", "0", NULL), KTVM_EXIT_USAGE);
	assert_one_line();
	assert_non_null(strstr(errbuf, "--cpus"));
}

static void test_cpus_too_many(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, "--kernel", "/dev/null", "--cpus", "100000", NULL),
			 KTVM_EXIT_USAGE);
	assert_one_line();
	assert_int_equal(parse(&c, "--kernel", "/dev/null", "--cpus", "-3", NULL), KTVM_EXIT_USAGE);
	assert_int_equal(parse(&c, "--kernel", "/dev/null", "--cpus", "2x", NULL), KTVM_EXIT_USAGE);
}

static void test_missing_kernel_option(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, "--cpus", "1", NULL), KTVM_EXIT_USAGE);
	assert_one_line();
	assert_non_null(strstr(errbuf, "--kernel"));
}

static void test_missing_kernel_file(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, "--kernel", "/nonexistent/bzImage", NULL), KTVM_EXIT_USAGE);
	assert_one_line();
	assert_non_null(strstr(errbuf, "/nonexistent/bzImage"));
}

static void test_missing_initrd_file(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, "--kernel", "/dev/null", "--initrd", "/nonexistent/initrd", NULL),
			 KTVM_EXIT_USAGE);
	assert_one_line();
}

static void test_unknown_option(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, "--kernel", "/dev/null", "--frobnicate", NULL), KTVM_EXIT_USAGE);
	assert_one_line();
	assert_non_null(strstr(errbuf, "--frobnicate"));
}

static void test_option_without_value(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, "--kernel", NULL), KTVM_EXIT_USAGE);
	assert_one_line();
}

static void test_stray_argument(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, "--kernel", "/dev/null", "extra", NULL), KTVM_EXIT_USAGE);
	assert_one_line();
}

static void test_bad_console(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, "--kernel", "/dev/null", "--console", "tty", NULL),
			 KTVM_EXIT_USAGE);
	assert_one_line();
	assert_int_equal(parse(&c, "--kernel", "/dev/null", "--console", "file:", NULL),
			 KTVM_EXIT_USAGE);
	assert_int_equal(parse(&c, "--kernel", "/dev/null", "--console", "none", NULL), 0);
	assert_int_equal(c.console, CONSOLE_NONE);
}

static void test_bad_timeout_and_log_level(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, "--kernel", "/dev/null", "--timeout", "0", NULL), KTVM_EXIT_USAGE);
	assert_int_equal(parse(&c, "--kernel", "/dev/null", "--timeout", "soon", NULL),
			 KTVM_EXIT_USAGE);
	assert_int_equal(parse(&c, "--kernel", "/dev/null", "--log-level", "loud", NULL),
			 KTVM_EXIT_USAGE);
	assert_one_line();
}

/* --seccomp, --user, --gdb, --gdb-wait, --dump-dtb (shared with the JSON file's keys). */
static void test_seccomp_user_gdb_dump_dtb(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, "--kernel", "/dev/null", NULL), 0);
	assert_int_equal(c.seccomp, 0);
	assert_false(c.has_user);
	assert_null(c.gdb);
	assert_false(c.gdb_wait);
	assert_null(c.dump_dtb);
	assert_int_equal(parse(&c, "--kernel", "/dev/null", "--seccomp", "off", "--user", "0:3",
			       "--gdb", "unix:/tmp/g", "--gdb-wait", "--dump-dtb", "g.dtb", NULL),
			 0);
	assert_int_equal(c.seccomp, 2);
	assert_true(c.has_user);
	assert_int_equal(c.uid, 0);
	assert_int_equal(c.gid, 3);
	assert_string_equal(c.gdb, "unix:/tmp/g");
	assert_true(c.gdb_wait);
	assert_string_equal(c.dump_dtb, "g.dtb");
	assert_int_equal(parse(&c, "--kernel", "/dev/null", "--seccomp", "strict", NULL),
			 KTVM_EXIT_USAGE);
	assert_one_line();
	assert_non_null(strstr(errbuf, "--seccomp takes on, log or off, not 'strict'"));
	assert_int_equal(parse(&c, "--kernel", "/dev/null", "--user", "no-such-user-ktvm", NULL),
			 KTVM_EXIT_USAGE);
	assert_one_line();
	assert_non_null(strstr(errbuf, "--user takes UID[:GID] or NAME[:GROUP]"));
	assert_int_equal(parse(&c, "--kernel", "/dev/null", "--gdb", "tcp:host", NULL),
			 KTVM_EXIT_USAGE);
	assert_one_line();
	assert_non_null(strstr(errbuf, "--gdb takes tcp:[HOST]:PORT or unix:PATH"));
	assert_int_equal(parse(&c, "--kernel", "/dev/null", "--gdb-wait", NULL), KTVM_EXIT_USAGE);
	assert_one_line();
	assert_non_null(strstr(errbuf, "--gdb-wait needs --gdb"));
	/* An empty file name is refused (the JSON file's "dump_dtb" refuses it too). */
	assert_int_equal(parse(&c, "--kernel", "/dev/null", "--dump-dtb", "", NULL),
			 KTVM_EXIT_USAGE);
	assert_one_line();
	assert_non_null(strstr(errbuf, "--dump-dtb needs a file name"));
}

static void test_help(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, "--help", NULL), -1);
	assert_int_equal(errbuf[0], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_options),
		cmocka_unit_test(test_mem_sizes),
		cmocka_unit_test(test_memory_too_small),
		cmocka_unit_test(test_memory_garbage),
		cmocka_unit_test(test_cpus_zero),
		cmocka_unit_test(test_cpus_too_many),
		cmocka_unit_test(test_missing_kernel_option),
		cmocka_unit_test(test_missing_kernel_file),
		cmocka_unit_test(test_missing_initrd_file),
		cmocka_unit_test(test_unknown_option),
		cmocka_unit_test(test_option_without_value),
		cmocka_unit_test(test_stray_argument),
		cmocka_unit_test(test_bad_console),
		cmocka_unit_test(test_bad_timeout_and_log_level),
		cmocka_unit_test(test_seccomp_user_gdb_dump_dtb),
		cmocka_unit_test(test_help),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
