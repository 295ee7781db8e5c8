// SPDX-License-Identifier: MIT
/* test_net_config.c - --net parsing: every key, defaults, each malformed case, the CLI checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/net_config.h"

static char err[256];

static int parse(const char *spec, struct net_config *c)
{
	memset(err, 0, sizeof(err));
	return net_config_parse(spec, c, err, sizeof(err));
}

static void assert_fails(const char *spec, const char *needle)
{
	struct net_config c;

	assert_int_equal(parse(spec, &c), -1);
	assert_non_null(strstr(err, needle));
	assert_null(strchr(err, '\n'));
}

static void test_defaults(void **state)
{
	struct net_config c;
	const uint8_t def[6] = {0x02, 0, 0, 0, 0, 0x01};

	assert_int_equal(parse("tap=tap0", &c), 0);
	assert_string_equal(c.tap, "tap0");
	assert_int_equal(c.fd, -1);
	assert_memory_equal(c.mac, def, 6);
	assert_int_equal(c.mtu, 0);
	assert_int_equal(c.queue_pairs, 1);
	assert_true(c.msix);
}

static void test_all_keys(void **state)
{
	struct net_config c;
	const uint8_t mac[6] = {0x52, 0x54, 0x00, 0xab, 0xCD, 0xef};

	assert_int_equal(
		parse("tap=ktvm-tap-15ch,mac=52:54:00:ab:CD:ef,mtu=9000,queue_pairs=4,msix=off",
		      &c),
		0);
	assert_string_equal(c.tap, "ktvm-tap-15ch");
	assert_memory_equal(c.mac, mac, 6);
	assert_int_equal(c.mtu, 9000);
	assert_int_equal(c.queue_pairs, 4);
	assert_false(c.msix);
	assert_int_equal(parse("fd=7,msix=on,mtu=68", &c), 0);
	assert_null(c.tap);
	assert_int_equal(c.fd, 7);
	assert_true(c.msix);
	assert_int_equal(c.mtu, 68);
	assert_int_equal(parse("mac=02:00:00:00:00:02,fd=0", &c), 0); /* any order */
	assert_int_equal(c.fd, 0);
	assert_int_equal(c.mac[5], 2);
	assert_int_equal(parse("tap=t,mtu=65535", &c), 0);
	assert_int_equal(c.mtu, 65535);
}

static void test_queue_pairs_clamp(void **state)
{
	static const struct {
		const char *v;
		unsigned int want;
	} cases[] = {
		{"0", 1},
		{"1", 1},
		{"2", 2},
		{"256", 256},
		{"257", 256},
		{"65535", 256},
		{"4294967295", 256},
	};
	struct net_config c;
	char spec[64];

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(spec, sizeof(spec), "tap=t,queue_pairs=%s", cases[i].v);
		assert_int_equal(parse(spec, &c), 0);
		assert_int_equal(c.queue_pairs, cases[i].want);
	}
	assert_fails("tap=t,queue_pairs=4294967296", "queue_pairs");
	assert_fails("tap=t,queue_pairs=-1", "queue_pairs");
	assert_fails("tap=t,queue_pairs=two", "queue_pairs");
	assert_fails("tap=t,queue_pairs=", "queue_pairs");
}

static void test_malformed(void **state)
{
	assert_fails("", "empty");
	assert_fails("tap=t,colour=blue", "unknown key 'colour'");
	assert_fails("tap", "key=value");
	assert_fails("tap=t,", "empty item");
	assert_fails(",tap=t", "empty item");
	assert_fails("tap=a,,mtu=1500", "empty item");
	assert_fails("tap=a,tap=b", "twice");
	assert_fails("tap=0123456789abcdef", "15 characters");
	assert_fails("tap=", "empty");
	assert_fails("tap=a/b", "'/'");
	assert_fails("tap=a b", "blanks");
	assert_fails("tap=..", "not a valid");
	assert_fails("tap=t,fd=3", "not both");
	assert_fails("mac=02:00:00:00:00:05", "tap=NAME or fd=N");
	assert_fails("fd=", "fd");
	assert_fails("fd=-3", "fd");
	assert_fails("fd=3x", "fd");
	assert_fails("fd=99999999999", "fd");
	assert_fails("tap=t,mac=02:00:00:00:00", "mac");
	assert_fails("tap=t,mac=02:00:00:00:00:0g", "mac");
	assert_fails("tap=t,mac=02-00-00-00-00-01", "mac");
	assert_fails("tap=t,mac=02:00:00:00:00:01:", "mac");
	assert_fails("tap=t,mac=2:0:0:0:0:1", "mac");
	assert_fails("tap=t,mac=01:00:5e:00:00:01", "multicast");
	assert_fails("tap=t,mac=00:00:00:00:00:00", "not a valid");
	assert_fails("tap=t,mtu=67", "mtu");
	assert_fails("tap=t,mtu=65536", "mtu");
	assert_fails("tap=t,mtu=1500b", "mtu");
	assert_fails("tap=t,mtu=+1500", "mtu");
	assert_fails("tap=t,msix=yes", "msix");
	assert_fails("tap=t,MAC=02:00:00:00:00:01", "unknown key");
}

/* Through "ktvm run": status 2 and one line for each bad case; several NICs. */
static char errbuf[1024];

static int run_parse(struct vm_config *cfg, const char *const *args)
{
	char *argv[40];
	int argc = 0;
	FILE *e = fmemopen(errbuf, sizeof(errbuf), "w");
	FILE *o = fopen("/dev/null", "w");

	argv[argc++] = (char *)"run";
	argv[argc++] = (char *)"--kernel";
	argv[argc++] = (char *)"/dev/null";
	for (; *args && argc < 39; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	memset(errbuf, 0, sizeof(errbuf));
	int r = config_parse_run(argc, argv, cfg, o, e);
	fclose(e);
	fclose(o);
	return r;
}

static void assert_one_line(const char *needle)
{
	size_t n = strlen(errbuf);

	assert_true(n > 0);
	assert_int_equal(errbuf[n - 1], '\n');
	assert_null(memchr(errbuf, '\n', n - 1));
	assert_non_null(strstr(errbuf, needle));
}

static void test_cli(void **state)
{
	struct vm_config c;

	assert_int_equal(run_parse(&c, (const char *const[]){NULL}), 0);
	assert_int_equal(net_configs(&c)->n, 0);
	assert_int_equal(run_parse(&c, (const char *const[]){"--net", "tap=a", "--net",
							     "tap=b,mac=02:00:00:00:00:02", NULL}),
			 0);
	assert_int_equal(net_configs(&c)->n, 2);
	assert_string_equal(net_configs(&c)->nets[0].tap, "a");
	assert_string_equal(net_configs(&c)->nets[1].tap, "b");
	assert_int_equal(net_configs(&c)->nets[1].mac[5], 2);

	/* Same MAC (both defaults). */
	assert_int_equal(
		run_parse(&c, (const char *const[]){"--net", "tap=a", "--net", "tap=b", NULL}),
		KTVM_EXIT_USAGE);
	assert_one_line("both have MAC 02:00:00:00:00:01");
	assert_int_equal(run_parse(&c, (const char *const[]){"--net", "tap=a", "--net",
							     "tap=a,mac=02:00:00:00:00:02", NULL}),
			 KTVM_EXIT_USAGE);
	assert_one_line("both use TAP 'a'");
	assert_int_equal(run_parse(&c, (const char *const[]){"--net", "tap=a,speed=9", NULL}),
			 KTVM_EXIT_USAGE);
	assert_one_line("unknown key 'speed'");
	assert_int_equal(
		run_parse(&c, (const char *const[]){"--net", "tap=0123456789abcdef", NULL}),
		KTVM_EXIT_USAGE);
	assert_one_line("15 characters");
	assert_int_equal(run_parse(&c, (const char *const[]){"--net", NULL}), KTVM_EXIT_USAGE);
	assert_one_line("needs a value");

	/* fd= must be open; 1000 is not (the test runner has a few fds). */
	assert_int_equal(run_parse(&c, (const char *const[]){"--net", "fd=1000", NULL}),
			 KTVM_EXIT_USAGE);
	assert_one_line("not an open file descriptor");
	assert_int_equal(run_parse(&c, (const char *const[]){"--net", "fd=2", NULL}), 0);
	assert_int_equal(net_configs(&c)->nets[0].fd, 2);

	/* At most KTVM_MAX_NICS. */
	const char *many[2 * (KTVM_MAX_NICS + 1) + 1];
	char specs[KTVM_MAX_NICS + 1][64];

	for (unsigned int i = 0; i <= KTVM_MAX_NICS; i++) {
		snprintf(specs[i], sizeof(specs[i]), "tap=t%u,mac=02:00:00:00:01:%02x", i, i);
		many[2 * i] = "--net";
		many[2 * i + 1] = specs[i];
	}
	many[2 * KTVM_MAX_NICS] = NULL;
	assert_int_equal(run_parse(&c, many), 0);
	assert_int_equal(net_configs(&c)->n, KTVM_MAX_NICS);
	many[2 * KTVM_MAX_NICS] = "--net";
	many[2 * KTVM_MAX_NICS + 2] = NULL;
	assert_int_equal(run_parse(&c, many), KTVM_EXIT_USAGE);
	assert_one_line("at most 8");
}

static void test_help_mentions_net(void **state)
{
	char buf[8192] = "";
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	config_print_run_help(f);
	fclose(f);
	assert_non_null(strstr(buf, "--net SPEC"));
	assert_non_null(strstr(buf, "tap=NAME"));
	assert_non_null(strstr(buf, "fd=N"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_queue_pairs_clamp),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_help_mentions_net),
	};

	log_set_level(LOG_ERROR); /* the clamp warnings are expected */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
