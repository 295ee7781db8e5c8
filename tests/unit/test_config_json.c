// SPDX-License-Identifier: MIT
/*
 * test_config_json.c - "ktvm run --config vm.json" and "ktvm config --print":
 * the round trip, CLI overrides, the MAC as a string or serde's array, and
 * every bad file (errors name the key and its path, status 2); NetConfig's
 * queue_pairs clamp with exactly one warning line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/config_json.h"
#include "vmm/ktvm.h"
#include "vmm/net_config.h"

static char errbuf[4096];
static char path[64];

static void write_file(const char *text)
{
	int fd;
	FILE *f;

	strcpy(path, "/tmp/ktvm-test-XXXXXX.json");
	fd = mkstemps(path, 5);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
}

/* Parse argv (NULL-terminated) like 'ktvm config --print'; errbuf gets stderr. */
static int parse(struct vm_config *cfg, const char *first, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	FILE *err = fmemopen(errbuf, sizeof(errbuf), "w");
	FILE *out = fopen("/dev/null", "w");

	argv[argc++] = (char *)"--print";
	va_start(ap, first);
	for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	memset(errbuf, 0, sizeof(errbuf));
	int r = config_parse_args(argc, argv, cfg, false, out, err);
	fclose(err);
	fclose(out);
	return r;
}

static int load(const char *text, struct vm_config *cfg)
{
	int r;

	write_file(text);
	r = parse(cfg, "--config", path, NULL);
	unlink(path);
	return r;
}

/* Fails with status 2 and one line "ktvm: FILE: WHAT..." */
static void assert_bad(const char *text, const char *what)
{
	struct vm_config c;
	char want[256];

	assert_int_equal(load(text, &c), KTVM_EXIT_USAGE);
	snprintf(want, sizeof(want), "ktvm: %s: %s", path, what);
	if (strncmp(errbuf, want, strlen(want)))
		fail_msg("for %s\nwanted \"%s...\"\ngot    \"%s\"", text, want, errbuf);
	assert_non_null(strchr(errbuf, '\n'));
	assert_null(strchr(errbuf, '\n') + 1 == errbuf + strlen(errbuf) ? NULL : "two lines");
}

static void print_to(const struct vm_config *cfg, char *buf, size_t len)
{
	FILE *f = fmemopen(buf, len, "w");

	memset(buf, 0, len);
	assert_int_equal(config_json_print(cfg, f), 0);
	fclose(f);
}

static void test_full_file(void **state)
{
	struct vm_config c;

	assert_int_equal(
		load("{\"kernel\": \"/dev/null\", \"initrd\": \"/dev/null\", \"cmdline\": \"quiet\","
		     " \"cpus\": 4, \"memory\": \"2G\", \"console\": \"file:/tmp/c\","
		     " \"timeout\": 60, \"log_level\": \"info\", \"nets\": ["
		     "  {\"tap\": \"tap0\", \"mac\": \"02:00:00:00:00:0a\", \"queue_pairs\": 4},"
		     "  {\"tap\": \"tap1\", \"mac\": [2, 0, 0, 0, 0, 11], \"mtu\": 9000, \"msix\": false},"
		     "  {\"fd\": 0, \"mac\": [2, 0, 0, 0, 0, 12]}]}",
		     &c),
		0);
	assert_string_equal(c.kernel, "/dev/null");
	assert_string_equal(c.initrd, "/dev/null");
	assert_string_equal(c.cmdline, "quiet");
	assert_int_equal(c.cpus, 4);
	assert_int_equal(c.mem_bytes, GiB(2));
	assert_int_equal(c.console, CONSOLE_FILE);
	assert_string_equal(c.console_path, "/tmp/c");
	assert_int_equal(c.timeout_s, 60);
	assert_int_equal(c.log_level, LOG_INFO);
	assert_int_equal(c.nnets, 3);
	assert_string_equal(c.nets[0].tap, "tap0");
	assert_int_equal(c.nets[0].mac[5], 10);
	assert_int_equal(c.nets[0].queue_pairs, 4);
	assert_true(c.nets[0].msix);
	assert_int_equal(c.nets[0].fd, -1);
	assert_int_equal(c.nets[1].mac[5], 11);
	assert_int_equal(c.nets[1].mtu, 9000);
	assert_false(c.nets[1].msix);
	assert_int_equal(c.nets[1].queue_pairs, 1);
	assert_null(c.nets[2].tap);
	assert_int_equal(c.nets[2].fd, 0);
	/* Memory as a plain number is MiB, like the CLI. */
	assert_int_equal(load("{\"memory\": 1024}", &c), 0);
	assert_int_equal(c.mem_bytes, GiB(1));
	assert_int_equal(load("{}", &c), 0);
	assert_int_equal(c.cpus, 1);
	assert_int_equal(c.nnets, 0);
}

/* print -> file -> --config -> print: the same text, the same configuration. */
static void test_round_trip(void **state)
{
	static char a[8192], b[8192];
	struct vm_config c1, c2;

	assert_int_equal(parse(&c1, "--kernel", "/dev/null", "--initrd", "/dev/null", "--cmdline",
			       "console=ttyS0 \"quoted\" back\\slash/", "-c", "3", "-m", "768M",
			       "--console", "none", "--timeout", "9", "--log-level", "debug",
			       "--net", "tap=tap0,queue_pairs=8,mtu=1400", "--net",
			       "tap=tap1,mac=02:00:00:00:00:02,msix=off", NULL),
			 0);
	print_to(&c1, a, sizeof(a));
	assert_int_equal(load(a, &c2), 0);
	print_to(&c2, b, sizeof(b));
	assert_string_equal(a, b);
	assert_string_equal(c2.cmdline, c1.cmdline);
	assert_int_equal(c2.mem_bytes, MiB(768));
	assert_int_equal(c2.console, CONSOLE_NONE);
	assert_int_equal(c2.nnets, 2);
	assert_memory_equal(&c2.nets[0].mac, &c1.nets[0].mac, 6);
	assert_int_equal(c2.nets[0].queue_pairs, 8);
	assert_int_equal(c2.nets[0].mtu, 1400);
	assert_false(c2.nets[1].msix);
	/* Defaults round-trip too (no kernel for --print). */
	assert_int_equal(parse(&c1, NULL), 0);
	print_to(&c1, a, sizeof(a));
	assert_int_equal(load(a, &c2), 0);
	print_to(&c2, b, sizeof(b));
	assert_string_equal(a, b);
}

static void test_cli_overrides(void **state)
{
	struct vm_config c;

	write_file(
		"{\"kernel\": \"/nonexistent\", \"cpus\": 4, \"memory\": \"1G\","
		" \"nets\": [{\"tap\": \"a\"}, {\"tap\": \"b\", \"mac\": \"02:00:00:00:00:02\"}]}");
	assert_int_equal(parse(&c, "--cpus", "2", "--config", path, "--kernel", "/dev/null", NULL),
			 0);
	assert_int_equal(c.cpus, 2); /* the flag wins wherever it stands */
	assert_int_equal(c.mem_bytes, GiB(1));
	assert_string_equal(c.kernel, "/dev/null");
	assert_int_equal(c.nnets, 2);
	/* Any --net replaces the file's list. */
	assert_int_equal(parse(&c, "--config", path, "--kernel", "/dev/null", "--net",
			       "tap=z,queue_pairs=2", NULL),
			 0);
	assert_int_equal(c.nnets, 1);
	assert_string_equal(c.nets[0].tap, "z");
	/* The file's kernel is checked like a flag's. */
	assert_int_equal(parse(&c, "--config", path, NULL), KTVM_EXIT_USAGE);
	assert_non_null(strstr(errbuf, "/nonexistent"));
	unlink(path);
	/* 'run' needs a kernel; from the file is enough. */
	write_file("{\"kernel\": \"/dev/null\"}");
	char *argv[] = {(char *)"run", (char *)"--config", path, NULL};
	FILE *devnull = fopen("/dev/null", "w");

	assert_int_equal(config_parse_run(3, argv, &c, devnull, devnull), 0);
	unlink(path);
	write_file("{}");
	assert_int_equal(config_parse_run(3, argv, &c, devnull, devnull), KTVM_EXIT_USAGE);
	fclose(devnull);
	unlink(path);
}

static void test_duplicate_macs_refused(void **state)
{
	struct vm_config c;

	assert_int_equal(load("{\"nets\": [{\"tap\": \"a\"}, {\"tap\": \"b\"}]}", &c),
			 KTVM_EXIT_USAGE);
	assert_non_null(strstr(errbuf, "both have MAC 02:00:00:00:00:01"));
}

static void test_bad_unknown_key(void **state)
{
	assert_bad("{\"cpus\": 1, \"colour\": \"blue\"}", "colour: unknown key");
	assert_bad("{\"nets\": [{\"tap\": \"t\", \"queues\": 2}]}", "nets[0].queues: unknown key");
}

static void test_bad_wrong_type(void **state)
{
	assert_bad("{\"cpus\": \"4\"}", "cpus: expected an integer");
	assert_bad("{\"cpus\": 4.5}", "cpus: expected an integer");
	assert_bad("{\"cpus\": 0}", "cpus: expected an integer from 1 to 255");
	assert_bad("{\"kernel\": 7}", "kernel: expected a string");
	assert_bad("{\"memory\": true}", "memory: expected a size");
	assert_bad("{\"memory\": \"lots\"}", "memory: expected a size like 512M");
	assert_bad("{\"console\": \"tty\"}", "console: expected stdio, none or file:PATH");
	assert_bad("{\"log_level\": \"loud\"}", "log_level: expected error, warn");
	assert_bad("{\"timeout\": -1}", "timeout: expected an integer from 0");
	assert_bad("{\"nets\": {\"tap\": \"t\"}}", "nets: expected an array");
	assert_bad("{\"nets\": [\"tap=t\"]}", "nets[0]: expected an object");
	assert_bad("{\"nets\": [{\"tap\": \"t\", \"msix\": \"on\"}]}",
		   "nets[0].msix: expected true or false");
	assert_bad("{\"nets\": [{\"tap\": \"t\", \"mtu\": 10}]}",
		   "nets[0].mtu: expected an integer from 68 to 65535");
	assert_bad("[1, 2]", "expected a JSON object");
}

static void test_bad_nested_path(void **state)
{
	assert_bad("{\"nets\": [{\"tap\": \"t0\"}, {\"tap\": \"t1\", \"queue_pairs\": \"4\"}]}",
		   "nets[1].queue_pairs: expected an integer");
	assert_bad("{\"nets\": [{\"tap\": \"t0\"}, {\"tap\": \"t1\", \"queue_pairs\": -2}]}",
		   "nets[1].queue_pairs: expected an integer from 0");
	assert_bad("{\"nets\": [{\"tap\": \"t0\"}, {\"mac\": \"02:00:00:00:00:02\"}]}",
		   "nets[1]: needs a backend");
	assert_bad("{\"nets\": [{\"tap\": \"t0\", \"fd\": 3}]}", "nets[0]: give either");
	assert_bad("{\"nets\": [{\"tap\": \"a/b\"}]}", "nets[0].tap: tap name 'a/b'");
	assert_bad("{\"nets\": [{\"tap\": \"waytoolongname16\"}]}", "nets[0].tap: tap name");
}

static void test_bad_mac_string(void **state)
{
	assert_bad("{\"nets\": [{\"tap\": \"t\", \"mac\": \"02:00:00:00:00\"}]}",
		   "nets[0].mac: expected six hex pairs");
	assert_bad("{\"nets\": [{\"tap\": \"t\", \"mac\": \"02-00-00-00-00-01\"}]}",
		   "nets[0].mac: expected six hex pairs");
	assert_bad("{\"nets\": [{\"tap\": \"t\", \"mac\": \"01:00:5e:00:00:01\"}]}",
		   "nets[0].mac: 01:00:5e:00:00:01 is a multicast address");
	assert_bad("{\"nets\": [{\"tap\": \"t\", \"mac\": 2}]}", "nets[0].mac: expected a string");
}

static void test_bad_mac_array(void **state)
{
	assert_bad("{\"nets\": [{\"tap\": \"t\", \"mac\": [2, 0, 0, 0, 0]}]}",
		   "nets[0].mac: expected an array of six numbers");
	assert_bad("{\"nets\": [{\"tap\": \"t\", \"mac\": [2, 0, 0, 0, 0, 256]}]}",
		   "nets[0].mac[5]: expected an integer from 0 to 255");
	assert_bad("{\"nets\": [{\"tap\": \"t\", \"mac\": [2, 0, 0, 0, \"0\", 1]}]}",
		   "nets[0].mac[4]: expected an integer");
	assert_bad("{\"nets\": [{\"tap\": \"t\", \"mac\": [0, 0, 0, 0, 0, 0]}]}",
		   "nets[0].mac: 00:00:00:00:00:00 is not a valid address");
}

static void test_bad_json_and_file(void **state)
{
	struct vm_config c;

	assert_bad("{\"cpus\": 2,\n", "not valid JSON");
	assert_bad("{\"cpus\": 2} trailing", "not valid JSON");
	assert_int_equal(parse(&c, "--config", "/nonexistent/vm.json", NULL), KTVM_EXIT_USAGE);
	assert_non_null(strstr(errbuf, "cannot read config file '/nonexistent/vm.json'"));
}

/* Count the lines written to stderr (fd 2) while f runs. */
static int stderr_lines(unsigned int (*f)(unsigned long long), unsigned long long v,
			unsigned int *out)
{
	char buf[1024] = "";
	int saved = dup(2), n = 0;
	FILE *tmp = tmpfile();

	fflush(stderr);
	dup2(fileno(tmp), 2);
	*out = f(v);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	while (fgets(buf, sizeof(buf), tmp))
		n++;
	fclose(tmp);
	return n;
}

/* NetConfig: [1, 256], one warning line when clamped, none otherwise; from JSON too. */
static void test_queue_pairs_clamp_warns_once(void **state)
{
	static const struct {
		unsigned long long v;
		unsigned int want;
		int lines;
	} cases[] = {{0, 1, 1},	    {1, 1, 0},	   {2, 2, 0},
		     {256, 256, 0}, {257, 256, 1}, {65535, 256, 1}};
	struct vm_config c;

	log_set_level(LOG_WARN);
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned int got;

		assert_int_equal(stderr_lines(net_clamp_queue_pairs, cases[i].v, &got),
				 cases[i].lines);
		assert_int_equal(got, cases[i].want);
	}
	log_set_level(LOG_ERROR);
	assert_int_equal(load("{\"nets\": [{\"tap\": \"t\", \"queue_pairs\": 0}]}", &c), 0);
	assert_int_equal(c.nets[0].queue_pairs, 1);
	assert_int_equal(load("{\"nets\": [{\"tap\": \"t\", \"queue_pairs\": 65535}]}", &c), 0);
	assert_int_equal(c.nets[0].queue_pairs, 256);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_cli_overrides),
		cmocka_unit_test(test_duplicate_macs_refused),
		cmocka_unit_test(test_bad_unknown_key),
		cmocka_unit_test(test_bad_wrong_type),
		cmocka_unit_test(test_bad_nested_path),
		cmocka_unit_test(test_bad_mac_string),
		cmocka_unit_test(test_bad_mac_array),
		cmocka_unit_test(test_bad_json_and_file),
		cmocka_unit_test(test_queue_pairs_clamp_warns_once),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
