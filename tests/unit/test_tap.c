// SPDX-License-Identifier: MIT
/* test_tap.c - TAP attach rules that need a real /dev/net/tun (skipped without one). */
#include <fcntl.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/tap.h"

static bool have_tun(void)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return geteuid() == 0;
}

/* A single-pair NIC must attach to a TAP that was made multi_queue. */
static void test_single_queue_attaches_to_multi_queue_tap(void **state)
{
	char err[256], name[IFNAMSIZ];
	int mq, sq;

	if (!have_tun()) {
		skip();
		return;
	}
	snprintf(name, sizeof(name), "ktvmt%d", (int)getpid() % 100000);
	mq = tap_open(name, true, NULL, err, sizeof(err));
	assert_true(mq >= 0);
	sq = tap_open(name, false, NULL, err, sizeof(err));
	if (sq < 0)
		fail_msg("single-queue attach to a multi_queue TAP: %s", err);
	close(sq);
	close(mq);
}

static void test_name_too_long(void **state)
{
	char err[256];

	assert_true(tap_open("averyveryverylongname", false, NULL, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "1 to 15 characters"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_queue_attaches_to_multi_queue_tap),
		cmocka_unit_test(test_name_too_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
