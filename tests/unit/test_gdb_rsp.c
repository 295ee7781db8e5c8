// SPDX-License-Identifier: MIT
/*
 * test_gdb_rsp.c - the gdb remote protocol framing: checksums, escapes, run
 * length, junk; --gdb address checks (loopback unless ",insecure"); the
 * stub's unix: socket is 0600 whatever the umask and refuses other users.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/common/other_user.h"
#include "vmm/gdb.h"
#include "vmm/vm_internal.h"

static struct rsp_parser parser;

/* Feed a string; return the last non-NONE event (and how many there were). */
static enum rsp_event feed(const char *s, size_t len, int *nevents)
{
	enum rsp_event last = RSP_NONE, e;

	*nevents = 0;
	for (size_t i = 0; i < len; i++) {
		e = rsp_feed(&parser, (uint8_t)s[i]);
		if (e != RSP_NONE) {
			last = e;
			(*nevents)++;
		}
	}
	return last;
}

static enum rsp_event feeds(const char *s)
{
	int n;

	return feed(s, strlen(s), &n);
}

static void test_simple_packet(void **state UNUSED)
{
	rsp_init(&parser);
	assert_int_equal(feeds("$g#67"), RSP_PACKET);
	assert_string_equal(parser.buf, "g");
	assert_int_equal(parser.len, 1);
	assert_int_equal(feeds("$qSupported:multiprocess+;swbreak+#1b"), RSP_PACKET);
	assert_string_equal(parser.buf, "qSupported:multiprocess+;swbreak+");
	/* Upper-case checksum digits are fine too. */
	assert_int_equal(feeds("$?#3F"), RSP_PACKET);
	assert_int_equal(feeds("$#00"), RSP_PACKET); /* empty packet */
	assert_int_equal(parser.len, 0);
}

static void test_bad_checksum(void **state UNUSED)
{
	rsp_init(&parser);
	assert_int_equal(feeds("$g#68"), RSP_BAD);
	assert_int_equal(feeds("$g#6z"), RSP_BAD);
	/* The parser recovers for the next packet. */
	assert_int_equal(feeds("$g#67"), RSP_PACKET);
}

static void test_acks_interrupt_noise(void **state UNUSED)
{
	int n;

	rsp_init(&parser);
	assert_int_equal(feeds("+"), RSP_ACK);
	assert_int_equal(feeds("-"), RSP_NACK);
	assert_int_equal(feeds("\x03"), RSP_INTERRUPT);
	assert_int_equal(feed("xyz\r\n", 5, &n), RSP_NONE);
	assert_int_equal(n, 0);
	/* 0x03 inside a packet is data, not an interrupt. */
	assert_int_equal(feeds("$\x03#03"), RSP_PACKET);
	assert_int_equal(parser.buf[0], 3);
	/* A '$' inside a packet restarts it (the first was cut short). */
	assert_int_equal(feeds("$abc$g#67"), RSP_PACKET);
	assert_string_equal(parser.buf, "g");
}

static void test_escape_roundtrip(void **state UNUSED)
{
	const uint8_t data[] = {'X', '#', '$', '}', '*', 0, 0xff, 'a'};
	char wire[64];
	size_t n = rsp_encode(data, sizeof(data), wire, sizeof(wire));
	int events;

	assert_true(n > 0);
	assert_int_equal(wire[0], '$');
	assert_int_equal(wire[n - 3], '#');
	/* Four escapes: 8 bytes become 12, plus "$", "#xx". */
	assert_int_equal(n, 1 + 12 + 3);
	rsp_init(&parser);
	assert_int_equal(feed(wire, n, &events), RSP_PACKET);
	assert_int_equal(events, 1);
	assert_int_equal(parser.len, sizeof(data));
	assert_memory_equal(parser.buf, data, sizeof(data));
}

static void test_encode_known(void **state UNUSED)
{
	char wire[16];

	assert_int_equal(rsp_encode("OK", 2, wire, sizeof(wire)), 6);
	assert_memory_equal(wire, "$OK#9a", 6);
	assert_int_equal(rsp_encode("", 0, wire, sizeof(wire)), 4);
	assert_memory_equal(wire, "$#00", 4);
	/* Too small: refused, not truncated. */
	assert_int_equal(rsp_encode("OKOK", 4, wire, 6), 0);
}

static void test_run_length(void **state UNUSED)
{
	/* "0* " is '0' followed by 32 - 29 = 3 more: "0000". */
	char pkt[32], wire[40];
	uint8_t sum = 0;

	strcpy(pkt, "G0* 1");
	for (size_t i = 0; i < strlen(pkt); i++)
		sum += (uint8_t)pkt[i];
	snprintf(wire, sizeof(wire), "$%s#%02x", pkt, sum);
	rsp_init(&parser);
	assert_int_equal(feeds(wire), RSP_PACKET);
	assert_string_equal(parser.buf, "G00001");
	/* A count below 29 is malformed. */
	strcpy(pkt, "0*\x10");
	sum = 0;
	for (size_t i = 0; i < strlen(pkt); i++)
		sum += (uint8_t)pkt[i];
	snprintf(wire, sizeof(wire), "$%s#%02x", pkt, sum);
	assert_int_equal(feeds(wire), RSP_BAD);
}

static void test_overlong(void **state UNUSED)
{
	int n;
	size_t i;
	static char big[GDB_PACKET_MAX + 16];

	rsp_init(&parser);
	big[0] = '$';
	for (i = 1; i < GDB_PACKET_MAX + 10; i++)
		big[i] = 'a';
	/* The checksum is right, the length is not: refused, never overflows. */
	uint8_t sum = (uint8_t)('a' * (GDB_PACKET_MAX + 9));
	snprintf(big + i, sizeof(big) - i, "#%02x", sum);
	assert_int_equal(feed(big, strlen(big), &n), RSP_BAD);
	assert_int_equal(feeds("$g#67"), RSP_PACKET);
}

static void test_hex(void **state UNUSED)
{
	uint8_t b[4];
	char out[9];
	uint64_t v;
	const char *end;

	rsp_bin2hex((const uint8_t[]){0xde, 0xad, 0x0b, 0x01}, 4, out);
	assert_string_equal(out, "dead0b01");
	assert_int_equal(rsp_hex2bin("DEad0b01", 4, b), 0);
	assert_memory_equal(b, ((const uint8_t[]){0xde, 0xad, 0x0b, 0x01}), 4);
	assert_int_equal(rsp_hex2bin("de0g", 2, b), -1);
	assert_int_equal(rsp_hex2bin("d", 1, b), -1);
	assert_int_equal(rsp_parse_hex("ffffffff81000000,4", &v, &end), 0);
	assert_true(v == 0xffffffff81000000ull);
	assert_int_equal(*end, ',');
	assert_int_equal(rsp_parse_hex(",4", &v, &end), -1);
	assert_int_equal(rsp_parse_hex("11112222333344445", &v, &end), -1); /* > 64 bits */
}

static void test_escape_bin_limits(void **state UNUSED)
{
	char out[4];

	assert_int_equal(rsp_escape_bin("ab", 2, out, sizeof(out)), 2);
	assert_int_equal(rsp_escape_bin("}}", 2, out, sizeof(out)), 4);
	assert_int_equal(rsp_escape_bin("}}}", 3, out, sizeof(out)), 0);
}

static void test_parse_addr(void **state UNUSED)
{
	char host[64];
	unsigned int port;
	const char *path;

	assert_int_equal(gdb_parse_addr("tcp::1234", host, sizeof(host), &port, &path), 0);
	assert_string_equal(host, "");
	assert_int_equal(port, 1234);
	assert_null(path);
	/* Off loopback only when asked for by name: the stub has no authentication. */
	assert_int_equal(gdb_parse_addr("tcp:0.0.0.0:9", host, sizeof(host), &port, &path), -2);
	assert_int_equal(gdb_parse_addr("tcp:10.0.0.1:9", host, sizeof(host), &port, &path), -2);
	assert_int_equal(gdb_parse_addr("tcp:[::]:9", host, sizeof(host), &port, &path), -2);
	assert_int_equal(gdb_parse_addr("tcp:example.org:9", host, sizeof(host), &port, &path), -2);
	assert_int_equal(gdb_parse_addr("tcp:0.0.0.0:9,insecure", host, sizeof(host), &port, &path),
			 0);
	assert_string_equal(host, "0.0.0.0");
	assert_int_equal(port, 9);
	assert_int_equal(gdb_parse_addr("tcp:127.1.2.3:9", host, sizeof(host), &port, &path), 0);
	assert_int_equal(gdb_parse_addr("tcp:localhost:9", host, sizeof(host), &port, &path), 0);
	assert_int_equal(
		gdb_parse_addr("tcp:[::ffff:127.0.0.1]:9", host, sizeof(host), &port, &path), 0);
	assert_int_equal(gdb_parse_addr("tcp::9,insecure", host, sizeof(host), &port, &path), 0);
	assert_int_equal(gdb_parse_addr("tcp::9,insecur", host, sizeof(host), &port, &path), -1);
	assert_int_equal(gdb_parse_addr("tcp::,insecure", host, sizeof(host), &port, &path), -1);
	assert_int_equal(gdb_parse_addr(",insecure", host, sizeof(host), &port, &path), -1);
	assert_non_null(strstr(gdb_addr_error(-2), ",insecure"));
	/* A unix: path is taken whole. */
	assert_int_equal(gdb_parse_addr("unix:/tmp/a,insecure", host, sizeof(host), &port, &path),
			 0);
	assert_string_equal(path, "/tmp/a,insecure");
	assert_int_equal(gdb_parse_addr("tcp:[::1]:77", host, sizeof(host), &port, &path), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 77);
	assert_int_equal(gdb_parse_addr("unix:/tmp/g.sock", host, sizeof(host), &port, &path), 0);
	assert_string_equal(path, "/tmp/g.sock");
	assert_int_equal(gdb_parse_addr("unix:", host, sizeof(host), &port, &path), -1);
	assert_int_equal(gdb_parse_addr("tcp:1234", host, sizeof(host), &port, &path), -1);
	assert_int_equal(gdb_parse_addr("tcp::99999", host, sizeof(host), &port, &path), -1);
	assert_int_equal(gdb_parse_addr("tcp::-1", host, sizeof(host), &port, &path), -1);
	assert_int_equal(gdb_parse_addr("tcp::", host, sizeof(host), &port, &path), -1);
}

/* The command line: a non-loopback HOST is one line and status 2, unless ",insecure". */
static void test_cli_insecure(void **state UNUSED)
{
	char *no[] = {"run", "--kernel", "/dev/null", "--gdb", "tcp:0.0.0.0:1234", NULL};
	char *yes[] = {"run", "--kernel", "/dev/null", "--gdb", "tcp:0.0.0.0:1234,insecure", NULL};
	char *lo[] = {"run", "--kernel", "/dev/null", "--gdb", "tcp::1234", NULL};
	char *errbuf = NULL;
	size_t errlen = 0;
	struct vm_config cfg;
	FILE *err = open_memstream(&errbuf, &errlen), *null = fopen("/dev/null", "w");

	assert_int_equal(config_parse_run(5, no, &cfg, null, err), KTVM_EXIT_USAGE);
	fclose(err);
	assert_non_null(strstr(errbuf, "not a loopback address"));
	assert_non_null(strstr(errbuf, ",insecure"));
	assert_true(strchr(errbuf, '\n') == errbuf + errlen - 1); /* one line */
	free(errbuf);
	assert_int_equal(config_parse_run(5, yes, &cfg, null, null), 0);
	assert_string_equal(cfg.gdb, "tcp:0.0.0.0:1234,insecure");
	assert_int_equal(config_parse_run(5, lo, &cfg, null, null), 0);
	fclose(null);
}

/*
 * The stub on unix:PATH (no vCPUs: a refused client never reaches them):
 * mode 0600 with umask 000; uid 65534 cannot connect; with the mode
 * loosened it is still refused by its uid, with one error packet.
 */
static void test_unix_socket_private(void **state UNUSED)
{
	char dir[] = "/tmp/ktvm-test-gdb-XXXXXX", spec[128], ans[256];
	struct vm_config cfg;
	struct vm vm;
	struct stat st;
	mode_t old;
	int r;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	memset(&cfg, 0, sizeof(cfg));
	memset(&vm, 0, sizeof(vm));
	snprintf(spec, sizeof(spec), "unix:%s/gdb.sock", dir);
	cfg.gdb = spec;
	vm.cfg = &cfg;
	vm.vm_fd = vm.kvm_fd = -1;
	vm.stop_eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	atomic_init(&vm.stop_status, -1);
	old = umask(0);
	r = gdb_start(&vm);
	umask(old);
	assert_int_equal(r, 0);
	assert_int_equal(stat(spec + 5, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	if (geteuid() == 0) {
		assert_int_equal(other_user_talk(spec + 5, "$?#3f", ans, sizeof(ans)), 0);
		assert_string_equal(ans, "connect: EACCES");
		assert_int_equal(chmod(spec + 5, 0666), 0);
		assert_int_equal(other_user_talk(spec + 5, "$?#3f", ans, sizeof(ans)), 0);
		assert_string_equal(ans, "$E01#a6");
	} else {
		print_message("skipped the other-user part: needs root\n");
	}
	gdb_stop(&vm);
	unlink(spec + 5);
	close(vm.stop_eventfd);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_packet),
		cmocka_unit_test(test_bad_checksum),
		cmocka_unit_test(test_acks_interrupt_noise),
		cmocka_unit_test(test_escape_roundtrip),
		cmocka_unit_test(test_encode_known),
		cmocka_unit_test(test_run_length),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_escape_bin_limits),
		cmocka_unit_test(test_parse_addr),
		cmocka_unit_test(test_cli_insecure),
		cmocka_unit_test(test_unix_socket_private),
	};

	log_set_level(LOG_ERROR);

	return cmocka_run_group_tests(tests, NULL, NULL);
}
