// SPDX-License-Identifier: MIT
/*
 * test_ctl.c - `ktvm ctl` for people (vmm/ctl.c, vmm/stats_table.c): the
 * statistics JSON as a table (columns, totals, rates, large numbers),
 * input that is not ktvm's statistics, the client's usage errors, and the
 * client against a real control socket served by the real event loop:
 * the table, --json, and --watch refreshing until SIGINT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/api.h"
#include "vmm/ctl.h"
#include "vmm/stats.h"
#include "vmm/vm_internal.h"

static const char *sample =
	"{\"ktvm\":\"0.9\",\"cpus\":2,\"paused\":false,\"guest_ram\":{\"bytes\":536870912},"
	"\"nics\":[{\"name\":\"net0\",\"tap\":\"ktvm0\",\"mac\":\"02:00:00:00:00:01\","
	"\"queue_pairs\":2,\"active_pairs\":1,"
	"\"rx\":{\"packets\":15,\"bytes\":1500,\"drops\":{\"total\":2},\"kicks\":3,\"interrupts\":14},"
	"\"tx\":{\"packets\":12345678,\"bytes\":18000000000,\"drops\":{\"total\":0},\"kicks\":99,"
	"\"interrupts\":40},"
	"\"queues\":["
	"{\"queue\":0,\"dir\":\"rx\",\"packets\":10,\"bytes\":1000,\"drops\":{\"total\":2},\"kicks\":1,"
	"\"interrupts\":9,\"rate\":{\"packets_per_s\":5.0,\"bits_per_s\":4000.0}},"
	"{\"queue\":1,\"dir\":\"tx\",\"packets\":12345678,\"bytes\":18000000000,\"drops\":{\"total\":0},"
	"\"kicks\":99,\"interrupts\":40,\"rate\":{\"packets_per_s\":1000.0,\"bits_per_s\":12000000.0}},"
	"{\"queue\":2,\"dir\":\"rx\",\"packets\":5,\"bytes\":500,\"drops\":{\"total\":0},\"kicks\":2,"
	"\"interrupts\":5,\"rate\":{\"packets_per_s\":2.0,\"bits_per_s\":1000.0}},"
	"{\"queue\":3,\"dir\":\"tx\",\"packets\":0,\"bytes\":0,\"drops\":{\"total\":0},\"kicks\":0,"
	"\"interrupts\":0}]}]}";

static char *table_of(const char *json, int *ret)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	*ret = stats_table_write(f, json);
	fclose(f);
	return buf;
}

/* The line of 'table' that starts with 'prefix' (after spaces), split into words. */
static int words_of(const char *table, const char *prefix, char words[12][24])
{
	const char *p = table;

	while (p && *p) {
		const char *s = p + strspn(p, " "), *nl = strchr(p, '\n');

		if (!strncmp(s, prefix, strlen(prefix))) {
			char line[256];
			int n = 0;

			snprintf(line, sizeof(line), "%.*s", (int)(nl ? nl - s : (long)strlen(s)), s);
			for (char *w = strtok(line, " "); w && n < 12; w = strtok(NULL, " "))
				snprintf(words[n++], 24, "%s", w);
			return n;
		}
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

static void test_table_columns_totals_rates(void **state)
{
	int ret;
	char *t = table_of(sample, &ret);
	char w[12][24];

	assert_int_equal(ret, 0);
	assert_non_null(strstr(t, "ktvm 0.9, 2 vCPUs, 512 MiB guest RAM, 1 NIC\n"));
	assert_non_null(strstr(t, "net0: tap ktvm0, mac 02:00:00:00:00:01, 1 of 2 queue pairs active\n"));
	assert_int_equal(words_of(t, "queue ", w), 9);
	assert_string_equal(w[2], "packets");
	assert_string_equal(w[7], "pkt/s");
	assert_string_equal(w[8], "Mbit/s");
	/* Queue 0: rx, counts as they are, 5 pkt/s, 0.004 Mbit/s. */
	assert_int_equal(words_of(t, "0 ", w), 9);
	assert_string_equal(w[1], "rx");
	assert_string_equal(w[2], "10");
	assert_string_equal(w[3], "1000");
	assert_string_equal(w[4], "2");
	assert_string_equal(w[5], "1");
	assert_string_equal(w[6], "9");
	assert_string_equal(w[7], "5");
	assert_string_equal(w[8], "0.00");
	/* Queue 1: large numbers stay narrow. */
	assert_int_equal(words_of(t, "1 ", w), 9);
	assert_string_equal(w[2], "12.3M");
	assert_string_equal(w[3], "18.0G");
	assert_string_equal(w[8], "12.00");
	/* Queue 3 has no rate yet: "-". */
	assert_int_equal(words_of(t, "3 ", w), 9);
	assert_string_equal(w[7], "-");
	/* Totals: the NIC's own sums, rates summed over the direction's queues. */
	assert_int_equal(words_of(t, "total  rx", w), 9);
	assert_string_equal(w[2], "15");
	assert_string_equal(w[4], "2");
	assert_string_equal(w[7], "7");
	assert_int_equal(words_of(t, "total  tx", w), 9);
	assert_string_equal(w[2], "12.3M");
	assert_string_equal(w[7], "1000");
	free(t);
}

static void test_table_not_stats(void **state)
{
	static const char *bad[] = { "", "garbage", "[]", "{}", "{\"nics\":3}", "error: unknown command\n" };
	int ret;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		free(table_of(bad[i], &ret));
		if (ret != -1)
			fail_msg("'%s' was taken as statistics", bad[i]);
	}
	/* No NICs is still statistics. */
	char *t = table_of("{\"ktvm\":\"x\",\"cpus\":1,\"paused\":true,\"nics\":[]}", &ret);

	assert_int_equal(ret, 0);
	assert_string_equal(t, "ktvm x, 1 vCPU, paused, 0 NICs\n");
	free(t);
}

static int ctl(const char **args, int n, char **out_s, char **err_s)
{
	size_t ol = 0, el = 0;
	FILE *o = open_memstream(out_s, &ol), *e = open_memstream(err_s, &el);
	int st = ctl_main(n, (char **)args, o, e);

	fclose(o);
	fclose(e);
	return st;
}

static void test_ctl_usage(void **state)
{
	static const char *cases[][5] = {
		{ "ctl" },
		{ "ctl", "/tmp/s" },
		{ "ctl", "/tmp/s", "stats", "--frob" },
		{ "ctl", "/tmp/s", "pause", "--json" },
		{ "ctl", "/tmp/s", "stop", "--watch" },
	};
	static const int argc[] = { 1, 2, 4, 4, 4 };
	char *o, *e;

	for (size_t i = 0; i < sizeof(argc) / sizeof(argc[0]); i++) {
		assert_int_equal(ctl(cases[i], argc[i], &o, &e), KTVM_EXIT_USAGE);
		/* One clear line. */
		assert_true(strlen(e) > 0 && strchr(e, '\n') == e + strlen(e) - 1);
		free(o);
		free(e);
	}
	const char *help[] = { "ctl", "--help" };

	assert_int_equal(ctl(help, 2, &o, &e), 0);
	assert_non_null(strstr(o, "--watch"));
	free(o);
	free(e);
}

/* ---- against a real socket ---- */
static struct vm vm;
static char dir[64], path[128];
static struct api_server *srv;
static pthread_t loop_t;

static void on_stop(void *opaque)
{
}

static void *loop_thread(void *arg)
{
	vm_loop_run(arg);
	return NULL;
}

static int server_up(void **state)
{
	memset(&vm, 0, sizeof(vm));
	vm.vm_fd = vm.kvm_fd = -1;
	vm.ncpus = 1;
	vm.stop_eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	atomic_init(&vm.stop_status, -1);
	assert_int_equal(vm_loop_init(&vm), 0);
	snprintf(dir, sizeof(dir), "/tmp/ktvm-test-ctl-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/api.sock", dir);
	srv = api_open(&vm, path);
	assert_non_null(srv);
	assert_non_null(vm_loop_add(&vm, vm.stop_eventfd, on_stop, NULL));
	/* No NICs: the rate sampler starts nothing and rates nothing. */
	assert_int_equal(stats_rate_start(&vm), 0);
	assert_int_equal(pthread_create(&loop_t, NULL, loop_thread, &vm), 0);
	return 0;
}

static int server_down(void **state)
{
	const char *stop[] = { "ctl", path, "stop" };
	char *o, *e;

	assert_int_equal(ctl(stop, 3, &o, &e), 0);
	free(o);
	free(e);
	pthread_join(loop_t, NULL);
	stats_rate_stop();
	api_close(srv);
	vm_loop_destroy(&vm);
	close(vm.stop_eventfd);
	rmdir(dir);
	return 0;
}

static void test_ctl_table_and_json(void **state)
{
	const char *table[] = { "ctl", path, "stats" }, *json[] = { "ctl", path, "stats", "--json" };
	char *o, *e;

	assert_int_equal(ctl(table, 3, &o, &e), 0);
	assert_string_equal(o, "ktvm " KTVM_VERSION ", 1 vCPU, 0 bytes guest RAM, 0 NICs\n");
	free(o);
	free(e);
	assert_int_equal(ctl(json, 4, &o, &e), 0);
	assert_true(o[0] == '{' && strstr(o, "\"nics\":[]") && o[strlen(o) - 1] == '\n');
	free(o);
	free(e);
}

static void test_ctl_watch_until_sigint(void **state)
{
	int p[2], status = -1, tables = 0;
	char buf[4096];
	size_t got = 0;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *args[] = { "ctl", path, "stats", "--watch" };
		FILE *o = fdopen(p[1], "w");

		close(p[0]);
		_exit(ctl_main(4, (char **)args, o, stderr));
	}
	close(p[1]);
	/* Two tables, a second apart: bounded by 10 s. */
	for (int i = 0; i < 100 && tables < 2; i++) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		ssize_t n;

		if (poll(&pf, 1, 100) != 1)
			continue;
		n = read(p[0], buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		tables = 0;
		for (const char *s = buf; (s = strstr(s, "ktvm ")); s++)
			tables++;
	}
	assert_int_equal(tables, 2);
	assert_int_equal(kill(pid, SIGINT), 0);
	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		poll(NULL, 0, 50);
	}
	close(p[0]);
	if (!WIFEXITED(status)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("ctl --watch did not end on SIGINT");
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_columns_totals_rates),
		cmocka_unit_test(test_table_not_stats),
		cmocka_unit_test(test_ctl_usage),
		cmocka_unit_test_setup_teardown(test_ctl_table_and_json, server_up, server_down),
		cmocka_unit_test_setup_teardown(test_ctl_watch_until_sigint, server_up, server_down),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
