// SPDX-License-Identifier: MIT
/*
 * test_config_json.c - "ktvm run --config vm.json" and "ktvm config --print":
 * the round trip, CLI overrides, the MAC as a string or serde's array, and
 * every bad file (errors name the key and its path, status 2); the keys of
 * --seccomp, --user, --gdb, --gdb-wait and --dump-dtb; NetConfig's
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
	assert_int_equal(net_configs(&c)->n, 3);
	assert_string_equal(net_configs(&c)->nets[0].tap, "tap0");
	assert_int_equal(net_configs(&c)->nets[0].mac[5], 10);
	assert_int_equal(net_configs(&c)->nets[0].queue_pairs, 4);
	assert_true(net_configs(&c)->nets[0].msix);
	assert_int_equal(net_configs(&c)->nets[0].fd, -1);
	assert_int_equal(net_configs(&c)->nets[1].mac[5], 11);
	assert_int_equal(net_configs(&c)->nets[1].mtu, 9000);
	assert_false(net_configs(&c)->nets[1].msix);
	assert_int_equal(net_configs(&c)->nets[1].queue_pairs, 1);
	assert_null(net_configs(&c)->nets[2].tap);
	assert_int_equal(net_configs(&c)->nets[2].fd, 0);
	/* Memory as a plain number is MiB, like the CLI. */
	assert_int_equal(load("{\"memory\": 1024}", &c), 0);
	assert_int_equal(c.mem_bytes, GiB(1));
	assert_int_equal(load("{}", &c), 0);
	assert_int_equal(c.cpus, 1);
	assert_int_equal(net_configs(&c)->n, 0);
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
	assert_int_equal(net_configs(&c2)->n, 2);
	assert_memory_equal(&net_configs(&c2)->nets[0].mac, &net_configs(&c1)->nets[0].mac, 6);
	assert_int_equal(net_configs(&c2)->nets[0].queue_pairs, 8);
	assert_int_equal(net_configs(&c2)->nets[0].mtu, 1400);
	assert_false(net_configs(&c2)->nets[1].msix);
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
	assert_int_equal(net_configs(&c)->n, 2);
	/* Any --net replaces the file's list. */
	assert_int_equal(parse(&c, "--config", path, "--kernel", "/dev/null", "--net",
			       "tap=z,queue_pairs=2", NULL),
			 0);
	assert_int_equal(net_configs(&c)->n, 1);
	assert_string_equal(net_configs(&c)->nets[0].tap, "z");
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

/*
 * print -> load -> print of the configuration 'text' loads to: the same
 * text both times, and it holds 'want' (a "key": value pair) or, when want
 * starts with '!', not that key at all.
 */
static void assert_round_trip(const char *text, const char *want)
{
	static char a[8192], b[8192];
	struct vm_config c1, c2;

	assert_int_equal(load(text, &c1), 0);
	print_to(&c1, a, sizeof(a));
	if (*want == '!' && strstr(a, want + 1))
		fail_msg("printed %s although not set:\n%s", want + 1, a);
	if (*want != '!' && !strstr(a, want))
		fail_msg("wanted %s in\n%s", want, a);
	assert_int_equal(load(a, &c2), 0);
	print_to(&c2, b, sizeof(b));
	assert_string_equal(a, b);
}

static void test_key_seccomp(void **state)
{
	struct vm_config c;

	assert_int_equal(load("{\"seccomp\": \"log\"}", &c), 0);
	assert_int_equal(c.seccomp, 1); /* KTVM_SECCOMP_LOG */
	assert_int_equal(load("{\"seccomp\": \"off\"}", &c), 0);
	assert_int_equal(c.seccomp, 2); /* KTVM_SECCOMP_OFF */
	assert_int_equal(load("{\"seccomp\": \"on\"}", &c), 0);
	assert_int_equal(c.seccomp, 0);
	assert_bad("{\"seccomp\": \"strict\"}",
		   "seccomp: expected on, log or off, not 'strict'");
	assert_bad("{\"seccomp\": false}", "seccomp: expected a string");
	assert_round_trip("{\"seccomp\": \"log\"}", "\"seccomp\": \"log\"");
	assert_round_trip("{\"seccomp\": \"off\"}", "\"seccomp\": \"off\"");
	assert_round_trip("{\"seccomp\": \"on\"}", "!\"seccomp\""); /* the default */
}

static void test_key_user(void **state)
{
	struct vm_config c;

	assert_int_equal(load("{\"user\": \"0:7\"}", &c), 0);
	assert_true(c.has_user);
	assert_int_equal(c.uid, 0);
	assert_int_equal(c.gid, 7);
	assert_int_equal(load("{\"user\": \"root\"}", &c), 0); /* names: the CLI's lookup */
	assert_true(c.has_user);
	assert_int_equal(c.uid, 0);
	assert_int_equal(c.gid, 0);
	assert_int_equal(load("{\"user\": \"3999999\"}", &c), 0); /* no passwd entry: gid = uid */
	assert_int_equal(c.uid, 3999999);
	assert_int_equal(c.gid, 3999999);
	assert_int_equal(load("{}", &c), 0);
	assert_false(c.has_user);
	assert_bad("{\"user\": \"no-such-user-ktvm\"}",
		   "user: expected UID[:GID] or NAME[:GROUP], not 'no-such-user-ktvm'");
	assert_bad("{\"user\": \"0:no-such-group-ktvm\"}",
		   "user: expected UID[:GID] or NAME[:GROUP], not '0:no-such-group-ktvm'");
	assert_bad("{\"user\": \"\"}", "user: expected UID[:GID] or NAME[:GROUP], not ''");
	assert_bad("{\"user\": 1000}", "user: expected a string");
	/* Printed as numbers (what --user resolved to), which read back the same. */
	assert_round_trip("{\"user\": \"root\"}", "\"user\": \"0:0\"");
	assert_round_trip("{\"user\": \"54321:99\"}", "\"user\": \"54321:99\"");
	assert_round_trip("{}", "!\"user\"");
}

static void test_key_gdb(void **state)
{
	struct vm_config c;

	assert_int_equal(load("{\"gdb\": \"tcp::1234\"}", &c), 0);
	assert_string_equal(c.gdb, "tcp::1234");
	assert_false(c.gdb_wait);
	assert_int_equal(load("{\"gdb\": \"unix:/tmp/ktvm-gdb.sock\"}", &c), 0);
	assert_string_equal(c.gdb, "unix:/tmp/ktvm-gdb.sock");
	assert_bad("{\"gdb\": \"tcp:localhost\"}",
		   "gdb: expected tcp:[HOST]:PORT or unix:PATH, not 'tcp:localhost'");
	assert_bad("{\"gdb\": \"tcp::65536\"}",
		   "gdb: expected tcp:[HOST]:PORT or unix:PATH, not 'tcp::65536'");
	assert_bad("{\"gdb\": \"unix:\"}", "gdb: expected tcp:[HOST]:PORT or unix:PATH");
	assert_bad("{\"gdb\": 1234}", "gdb: expected a string");
	assert_round_trip("{\"gdb\": \"tcp:[::1]:1234\"}", "\"gdb\": \"tcp:[::1]:1234\"");
	assert_round_trip("{\"gdb\": \"unix:/tmp/g.sock\"}", "\"gdb\": \"unix:/tmp/g.sock\"");
	assert_round_trip("{}", "!\"gdb\"");
}

static void test_key_gdb_wait(void **state)
{
	struct vm_config c;

	assert_int_equal(load("{\"gdb_wait\": true, \"gdb\": \"tcp::1234\"}", &c), 0);
	assert_true(c.gdb_wait); /* "gdb" may come after it */
	assert_int_equal(load("{\"gdb_wait\": false}", &c), 0);
	assert_false(c.gdb_wait);
	assert_bad("{\"gdb_wait\": true}", "gdb_wait: needs \"gdb\"");
	assert_bad("{\"gdb\": \"tcp::1\", \"gdb_wait\": \"yes\"}",
		   "gdb_wait: expected true or false");
	/* The file must stand alone: a --gdb flag does not make its gdb_wait valid. */
	write_file("{\"gdb_wait\": true}");
	assert_int_equal(parse(&c, "--config", path, "--gdb", "tcp::1", NULL), KTVM_EXIT_USAGE);
	assert_non_null(strstr(errbuf, "gdb_wait: needs"));
	unlink(path);
	assert_round_trip("{\"gdb\": \"tcp::1234\", \"gdb_wait\": true}",
			  "\"gdb_wait\": true");
	assert_round_trip("{\"gdb\": \"tcp::1234\", \"gdb_wait\": false}", "!\"gdb_wait\"");
}

static void test_key_dump_dtb(void **state)
{
	struct vm_config c;

	assert_int_equal(load("{\"dump_dtb\": \"/tmp/guest.dtb\"}", &c), 0);
	assert_string_equal(c.dump_dtb, "/tmp/guest.dtb");
	assert_int_equal(load("{}", &c), 0);
	assert_null(c.dump_dtb);
	assert_bad("{\"dump_dtb\": \"\"}", "dump_dtb: expected a file name");
	assert_bad("{\"dump_dtb\": true}", "dump_dtb: expected a string");
	assert_round_trip("{\"dump_dtb\": \"out dir/g \\\"1\\\".dtb\"}",
			  "\"dump_dtb\": \"out dir/g \\\"1\\\".dtb\"");
	assert_round_trip("{}", "!\"dump_dtb\"");
}

/* All five from flags, printed, read back and printed again: the same. */
static void test_new_keys_round_trip_from_flags(void **state)
{
	static char a[8192], b[8192];
	struct vm_config c1, c2;

	assert_int_equal(parse(&c1, "--seccomp", "log", "--user", "0:5", "--gdb",
			       "tcp:127.0.0.1:2345", "--gdb-wait", "--dump-dtb", "/tmp/x.dtb", NULL),
			 0);
	print_to(&c1, a, sizeof(a));
	assert_int_equal(load(a, &c2), 0);
	print_to(&c2, b, sizeof(b));
	assert_string_equal(a, b);
	assert_int_equal(c2.seccomp, c1.seccomp);
	assert_true(c2.has_user);
	assert_int_equal(c2.uid, 0);
	assert_int_equal(c2.gid, 5);
	assert_string_equal(c2.gdb, "tcp:127.0.0.1:2345");
	assert_true(c2.gdb_wait);
	assert_string_equal(c2.dump_dtb, "/tmp/x.dtb");
}

/* Flags override the file's values wherever they stand, as for the other keys. */
static void test_new_keys_cli_overrides(void **state)
{
	struct vm_config c;

	write_file("{\"seccomp\": \"off\", \"user\": \"0:1\", \"gdb\": \"tcp::1\","
		   " \"dump_dtb\": \"file.dtb\"}");
	assert_int_equal(parse(&c, "--seccomp", "log", "--config", path, "--user", "0:2", "--gdb",
			       "unix:/tmp/s", "--dump-dtb", "flag.dtb", NULL),
			 0);
	assert_int_equal(c.seccomp, 1);
	assert_int_equal(c.gid, 2);
	assert_string_equal(c.gdb, "unix:/tmp/s");
	assert_string_equal(c.dump_dtb, "flag.dtb");
	assert_false(c.gdb_wait);
	/* Without flags, the file's; the file's gdb lets --gdb-wait through. */
	assert_int_equal(parse(&c, "--config", path, "--gdb-wait", NULL), 0);
	assert_int_equal(c.seccomp, 2);
	assert_true(c.has_user);
	assert_int_equal(c.gid, 1);
	assert_string_equal(c.gdb, "tcp::1");
	assert_true(c.gdb_wait);
	assert_string_equal(c.dump_dtb, "file.dtb");
	/* A bad flag is still the flag's error. */
	assert_int_equal(parse(&c, "--config", path, "--gdb", "nope", NULL), KTVM_EXIT_USAGE);
	assert_non_null(strstr(errbuf, "--gdb takes"));
	unlink(path);
	/* Without "gdb" anywhere, --gdb-wait is refused as before. */
	write_file("{\"seccomp\": \"log\"}");
	assert_int_equal(parse(&c, "--config", path, "--gdb-wait", NULL), KTVM_EXIT_USAGE);
	assert_non_null(strstr(errbuf, "--gdb-wait needs --gdb"));
	unlink(path);
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
	assert_int_equal(net_configs(&c)->nets[0].queue_pairs, 1);
	assert_int_equal(load("{\"nets\": [{\"tap\": \"t\", \"queue_pairs\": 65535}]}", &c), 0);
	assert_int_equal(net_configs(&c)->nets[0].queue_pairs, 256);
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
		cmocka_unit_test(test_key_seccomp),
		cmocka_unit_test(test_key_user),
		cmocka_unit_test(test_key_gdb),
		cmocka_unit_test(test_key_gdb_wait),
		cmocka_unit_test(test_key_dump_dtb),
		cmocka_unit_test(test_new_keys_round_trip_from_flags),
		cmocka_unit_test(test_new_keys_cli_overrides),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
