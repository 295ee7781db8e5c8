// SPDX-License-Identifier: MIT
/*
 * test_api.c - the control socket (vmm/api.c): the line protocol on its
 * own, then over a real unix socket served by the real event loop (on a
 * thread here), with 'ktvm ctl's client: sequential clients, malformed and
 * oversized input, stop ending the loop, the socket removed at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "tests/common/other_user.h"
#include "vmm/api.h"
#include "vmm/vm_internal.h"

static struct vm vm;

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	vm.vm_fd = vm.kvm_fd = -1;
	vm.stop_eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	atomic_init(&vm.stop_status, -1);
	assert_int_equal(vm_loop_init(&vm), 0);
	return 0;
}

static int teardown(void **state)
{
	vm_loop_destroy(&vm);
	close(vm.stop_eventfd);
	return 0;
}

static void on_stop(void *opaque)
{
}

static void expect(struct api_server *a, const char *line, const char *want_prefix)
{
	char *r = api_handle_line(a, line);

	assert_non_null(r);
	assert_true(strlen(r) > 0 && r[strlen(r) - 1] == '\n');
	if (strncmp(r, want_prefix, strlen(want_prefix)))
		fail_msg("'%s' answered '%s', want '%s...'", line, r, want_prefix);
	free(r);
}

static void test_protocol(void **state)
{
	struct api_server *a = api_new_detached(&vm);
	char *r, big[600];

	assert_non_null(a);
	expect(a, "pause", "ok\n");
	expect(a, "pause", "ok\n"); /* idempotent: one pause held */
	expect(a, "resume", "ok\n");
	expect(a, "resume", "ok\n");
	expect(a, "help", "ok: pause resume stats stop help");
	expect(a, "", "error: ");
	expect(a, "   ", "error: ");
	expect(a, "bogus", "error: unknown command");
	expect(a, "PAUSE", "error: ");
	expect(a, "stats x", "error: ");
	expect(a, "st\x01ts", "error: ");
	expect(a, "\xff\xfe", "error: ");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect(a, big, "error: ");
	/* stats: one line of JSON with the NIC list. */
	r = api_handle_line(a, " stats\r");
	assert_non_null(r);
	assert_int_equal(strchr(r, '\n') - r, (long)strlen(r) - 1);
	json_object *o = json_tokener_parse(r);

	assert_non_null(o);
	json_object *nics;

	assert_true(json_object_object_get_ex(o, "nics", &nics));
	assert_true(json_object_is_type(nics, json_type_array));
	/* Guest RAM's size, never its host address (it would defeat ASLR). */
	json_object *ram, *bytes;

	assert_true(json_object_object_get_ex(o, "guest_ram", &ram));
	assert_true(json_object_object_get_ex(ram, "bytes", &bytes));
	assert_false(json_object_object_get_ex(ram, "hva", NULL));
	assert_null(strstr(r, "hva"));
	json_object_put(o);
	free(r);
	assert_false(vm_stopping(&vm));
	expect(a, "stop", "ok\n");
	assert_true(vm_stopping(&vm));
	assert_int_equal(atomic_load(&vm.stop_status), KTVM_EXIT_OK);
	api_close(a);
}

static void *loop_thread(void *arg)
{
	vm_loop_run(arg);
	return NULL;
}

/* Send raw bytes, read until EOF or the first newline. */
static void raw(const char *path, const void *buf, size_t len, char *ans, size_t cap, bool to_eof)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	size_t got = 0;

	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* The server may hang up before taking it all (a line too long). */
	if (write(fd, buf, len) != (ssize_t)len)
		assert_true(to_eof);
	if (to_eof)
		shutdown(fd, SHUT_WR); /* the server sees EOF: it answers and hangs up */
	while (got < cap - 1) {
		ssize_t n = read(fd, ans + got, cap - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
		if (!to_eof && memchr(ans, '\n', got))
			break;
	}
	ans[got] = '\0';
	close(fd);
}

static void test_socket(void **state)
{
	char dir[] = "/tmp/ktvm-test-api-XXXXXX", path[128], ans[4096], big[2000];
	struct api_server *a;
	pthread_t t;
	struct stat st;
	FILE *out, *err;
	char *obuf = NULL, *ebuf = NULL;
	size_t olen = 0, elen = 0;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/api.sock", dir);
	/* A regular file in the way is not replaced. */
	close(open(path, O_CREAT | O_WRONLY, 0600));
	assert_null(api_open(&vm, path));
	unlink(path);
	a = api_open(&vm, path);
	assert_non_null(a);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	/* As run.c does: a stop request wakes the loop. */
	assert_non_null(vm_loop_add(&vm, vm.stop_eventfd, on_stop, NULL));
	assert_int_equal(pthread_create(&t, NULL, loop_thread, &vm), 0);

	/* Sequential clients through 'ktvm ctl'. */
	for (int i = 0; i < 3; i++) {
		out = open_memstream(&obuf, &olen);
		err = open_memstream(&ebuf, &elen);
		assert_int_equal(api_client(path, "stats", out, err), 0);
		fclose(out);
		fclose(err);
		assert_true(olen > 2 && obuf[0] == '{' && obuf[olen - 1] == '\n');
		free(obuf);
		free(ebuf);
	}
	out = open_memstream(&obuf, &olen);
	err = open_memstream(&ebuf, &elen);
	assert_int_equal(api_client(path, "frobnicate", out, err), KTVM_EXIT_ERROR);
	fclose(out);
	fclose(err);
	assert_true(!strncmp(obuf, "error: ", 7));
	free(obuf);
	free(ebuf);
	/* Several commands in one write, then a blank line. */
	raw(path, "pause\nresume\nhelp\n", 18, ans, sizeof(ans), false);
	assert_true(!strncmp(ans, "ok\n", 3));
	/* A line too long: an error, then the server hangs up. */
	memset(big, 'x', sizeof(big));
	raw(path, big, sizeof(big), ans, sizeof(ans), true);
	assert_true(!strncmp(ans, "error: command line too long", 28));
	/* A NUL in a command. */
	raw(path, "sta\0ts\n", 7, ans, sizeof(ans), false);
	assert_true(!strncmp(ans, "error: ", 7));
	/* A client that connects and leaves without a word. */
	raw(path, "", 0, ans, sizeof(ans), true);
	assert_string_equal(ans, "");

	out = open_memstream(&obuf, &olen);
	err = open_memstream(&ebuf, &elen);
	assert_int_equal(api_client(path, "stop", out, err), 0);
	fclose(out);
	fclose(err);
	assert_string_equal(obuf, "ok\n");
	free(obuf);
	free(ebuf);
	pthread_join(t, NULL);
	assert_true(vm_stopping(&vm));
	api_close(a);
	assert_int_equal(stat(path, &st), -1); /* removed */
	/* No server: the client says so. */
	out = open_memstream(&obuf, &olen);
	err = open_memstream(&ebuf, &elen);
	assert_int_equal(api_client(path, "stats", out, err), KTVM_EXIT_ERROR);
	fclose(out);
	fclose(err);
	assert_non_null(strstr(ebuf, "cannot connect"));
	free(obuf);
	free(ebuf);
	rmdir(dir);
}

/* A server on its own loop thread in a fresh directory others may enter. */
struct served {
	char dir[64], path[128];
	struct api_server *a;
	pthread_t t;
};

static void serve(struct served *sv)
{
	snprintf(sv->dir, sizeof(sv->dir), "/tmp/ktvm-test-api-XXXXXX");
	assert_non_null(mkdtemp(sv->dir));
	assert_int_equal(chmod(sv->dir, 0755), 0);
	snprintf(sv->path, sizeof(sv->path), "%s/api.sock", sv->dir);
	sv->a = api_open(&vm, sv->path);
	assert_non_null(sv->a);
	assert_non_null(vm_loop_add(&vm, vm.stop_eventfd, on_stop, NULL));
	assert_int_equal(pthread_create(&sv->t, NULL, loop_thread, &vm), 0);
}

static void unserve(struct served *sv)
{
	FILE *out, *err;
	char *obuf = NULL, *ebuf = NULL;
	size_t olen = 0, elen = 0;

	out = open_memstream(&obuf, &olen);
	err = open_memstream(&ebuf, &elen);
	assert_int_equal(api_client(sv->path, "stop", out, err), 0);
	fclose(out);
	fclose(err);
	free(obuf);
	free(ebuf);
	pthread_join(sv->t, NULL);
	api_close(sv->a);
	rmdir(sv->dir);
}

/* umask 000 must not make the socket anyone's: 0600, and another user cannot connect. */
static void test_socket_private(void **state)
{
	struct served sv;
	struct stat st;
	mode_t old = umask(0);
	char ans[600];

	serve(&sv);
	umask(old);
	assert_int_equal(stat(sv.path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	if (geteuid() == 0) {
		assert_int_equal(other_user_talk(sv.path, "stop\n", ans, sizeof(ans)), 0);
		assert_string_equal(ans, "connect: EACCES");
		assert_false(vm_stopping(&vm));
	}
	unserve(&sv);
}

/*
 * The peer check, behind the mode: with the node's mode loosened (by
 * anyone who owns it, or a directory of another owner), uid 65534 still
 * gets one error line and a hang-up, and its "stop" is not obeyed.
 */
static void test_other_uid_refused(void **state)
{
	struct served sv;
	char ans[600];

	if (geteuid() != 0) {
		print_message("skipped: needs root (fork + setresuid(65534) plays another user)\n");
		skip();
	}
	serve(&sv);
	assert_int_equal(chmod(sv.path, 0666), 0);
	assert_int_equal(other_user_talk(sv.path, "stop\n", ans, sizeof(ans)), 0);
	if (strncmp(ans, "error: permission denied", 24))
		fail_msg("uid 65534 was answered '%s'", ans);
	if (strchr(ans, '\n') - ans != (long)strlen(ans) - 1)
		fail_msg("not one line, then EOF: '%s'", ans);
	assert_false(vm_stopping(&vm));
	/* Root (and ktvm's own user) still get through. */
	unserve(&sv);
	assert_true(vm_stopping(&vm));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_private, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_uid_refused, setup, teardown),
	};

	log_set_level(LOG_ERROR);
	signal(SIGPIPE, SIG_IGN); /* as ktvm does */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
