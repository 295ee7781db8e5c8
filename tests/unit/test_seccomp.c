// SPDX-License-Identifier: MIT
/*
 * test_seccomp.c - least privilege: every thread class gets its filter (read
 * from /proc/PID/task/TID/status of a child that starts threads the way ktvm
 * does: main creates a vCPU thread, which creates the net control thread,
 * which creates a pair worker), a forbidden syscall from any class kills the
 * process with a line naming the class, --seccomp log only logs, CapEff is 0
 * and no_new_privs is set after ktvm_drop_privileges(), --user parsing.
 * Each case runs in a forked child: filters cannot be removed.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/ktvm.h"
#include "vmm/seccomp.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* ------------------------------------------------------------------ */
/* The child: a chain of threads like ktvm's                            */
/* ------------------------------------------------------------------ */
struct chain {
	enum ktvm_seccomp_mode mode;
	enum ktvm_thread_class violator; /* KTVM_THREAD_NONE: nobody */
	const char *what;		 /* the violator's syscall (ktvm_seccomp_violate) */
	int ready_fd;			 /* write one byte per thread once filtered */
	int hold_fd;			 /* read: EOF when the parent is done */
};

static struct chain ch;

#define NTHREADS 5 /* main, vcpu, net-ctl, net-worker, gdb */

static void settle(enum ktvm_thread_class cls)
{
	char c = 'x';

	if (ktvm_seccomp_enter(cls))
		_exit(20);
	if (ch.violator == cls) {
		if (ktvm_seccomp_violate(ch.what)) /* in no class's list */
			_exit(25);
		if (write(ch.ready_fd, "L", 1) != 1) /* log mode: still alive */
			_exit(21);
	}
	if (write(ch.ready_fd, &c, 1) != 1)
		_exit(22);
}

static void hold(void)
{
	char c;

	while (read(ch.hold_fd, &c, 1) > 0)
		;
}

/*
 * Threads name themselves, as ktvm's do (under their creator's filter):
 * naming another thread opens /proc/self/task/TID/comm, which no class may.
 */
static void *worker_fn(void *arg UNUSED)
{
	pthread_setname_np(pthread_self(), "t-net-worker");
	settle(KTVM_THREAD_NET_WORKER);
	hold();
	return NULL;
}

static void *ctl_fn(void *arg UNUSED)
{
	pthread_t t;

	pthread_setname_np(pthread_self(), "t-net-ctl");
	settle(KTVM_THREAD_NET_CTL);
	/* Created by a filtered thread, as VQ_PAIRS_SET does: clone3 -> ENOSYS -> clone. */
	if (pthread_create(&t, NULL, worker_fn, NULL))
		_exit(23);
	hold();
	pthread_join(t, NULL);
	return NULL;
}

static void *vcpu_fn(void *arg UNUSED)
{
	pthread_t t;

	settle(KTVM_THREAD_VCPU);
	/* DRIVER_OK on a vCPU thread starts the net threads. */
	if (pthread_create(&t, NULL, ctl_fn, NULL))
		_exit(24);
	hold();
	pthread_join(t, NULL);
	return NULL;
}

/* The gdb stub's thread: created by main after the drop, before main's filter. */
static void *gdb_fn(void *arg UNUSED)
{
	pthread_setname_np(pthread_self(), "t-gdb");
	settle(KTVM_THREAD_GDB);
	hold();
	return NULL;
}

static void child(enum ktvm_seccomp_mode mode, enum ktvm_thread_class violator, const char *what,
		  int ready_fd, int hold_fd)
{
	pthread_t t, tg;

	ch.mode = mode;
	ch.violator = violator;
	ch.what = what;
	ch.ready_fd = ready_fd;
	ch.hold_fd = hold_fd;
	if (ktvm_drop_privileges(false, 0, 0) || ktvm_seccomp_setup(mode))
		_exit(10);
	if (pthread_create(&t, NULL, vcpu_fn, NULL))
		_exit(11);
	pthread_setname_np(t, "t-vcpu");
	if (pthread_create(&tg, NULL, gdb_fn, NULL))
		_exit(12);
	pthread_setname_np(pthread_self(), "t-main");
	settle(KTVM_THREAD_MAIN);
	hold();
	pthread_join(t, NULL);
	pthread_join(tg, NULL);
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* The parent                                                          */
/* ------------------------------------------------------------------ */
struct run {
	pid_t pid;
	int ready_rd, hold_wr, err_rd;
};

static void start(struct run *r, enum ktvm_seccomp_mode mode, enum ktvm_thread_class violator,
		  const char *what)
{
	int ready[2], holdp[2], errp[2];

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(holdp), 0);
	assert_int_equal(pipe(errp), 0);
	fflush(NULL);
	r->pid = fork();
	assert_true(r->pid >= 0);
	if (r->pid == 0) {
		close(ready[0]);
		close(holdp[1]);
		close(errp[0]);
		dup2(errp[1], STDERR_FILENO);
		child(mode, violator, what, ready[1], holdp[0]);
	}
	close(ready[1]);
	close(holdp[0]);
	close(errp[1]);
	r->ready_rd = ready[0];
	r->hold_wr = holdp[1];
	r->err_rd = errp[0];
}

/* Read n readiness bytes (fewer if the child died); returns how many. */
static int wait_ready(struct run *r, int n, char *got)
{
	int k = 0;

	while (k < n && read(r->ready_rd, &got[k], 1) == 1)
		k++;
	return k;
}

static int finish(struct run *r, char *err, size_t errlen)
{
	int status;
	ssize_t n, total = 0;

	close(r->hold_wr);
	while ((n = read(r->err_rd, err + total, errlen - 1 - (size_t)total)) > 0)
		total += n;
	err[total] = '\0';
	assert_int_equal(waitpid(r->pid, &status, 0), r->pid);
	close(r->ready_rd);
	close(r->err_rd);
	return status;
}

/* The value of "Key:" in /proc/PID/task/TID/status (or /proc/PID/status: tid 0). */
static long status_field(pid_t pid, pid_t tid, const char *key, int base)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			v = strtol(line + kl + 1, NULL, base);
	fclose(f);
	return v;
}

static void thread_name(pid_t pid, pid_t tid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, (int)tid);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, (int)len, f));
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static void test_every_class_filtered(void **state UNUSED)
{
	static const struct {
		const char *name;
		long filters; /* own + inherited along the creation chain */
	} want[] = {
		{"t-main", 1}, {"t-vcpu", 1}, {"t-net-ctl", 2}, {"t-net-worker", 3}, {"t-gdb", 1},
	};
	struct run r;
	char got[8], err[4096], name[32];
	unsigned int seen = 0;
	pid_t tids[8];
	int nt = 0;
	char path[64];
	FILE *ls;

	if (UNDER_ASAN)
		skip();
	start(&r, KTVM_SECCOMP_ON, KTVM_THREAD_NONE, NULL);
	assert_int_equal(wait_ready(&r, NTHREADS, got), NTHREADS);

	snprintf(path, sizeof(path), "ls /proc/%d/task", (int)r.pid);
	ls = popen(path, "r");
	assert_non_null(ls);
	while (nt < 8 && fscanf(ls, "%d", &tids[nt]) == 1)
		nt++;
	pclose(ls);
	assert_int_equal(nt, NTHREADS);
	for (int i = 0; i < nt; i++) {
		thread_name(r.pid, tids[i], name, sizeof(name));
		assert_int_equal(status_field(r.pid, tids[i], "Seccomp", 10), 2); /* filter mode */
		assert_int_equal(status_field(r.pid, tids[i], "NoNewPrivs", 10), 1);
		assert_int_equal(status_field(r.pid, tids[i], "CapEff", 16), 0);
		for (unsigned int j = 0; j < ARRAY_SIZE(want); j++) {
			if (strcmp(name, want[j].name))
				continue;
			seen |= 1u << j;
			assert_int_equal(status_field(r.pid, tids[i], "Seccomp_filters", 10),
					 want[j].filters);
		}
	}
	assert_int_equal(seen, (1u << NTHREADS) - 1);
	/* Capabilities: none in any set, process-wide. */
	assert_int_equal(status_field(r.pid, 0, "CapEff", 16), 0);
	assert_int_equal(status_field(r.pid, 0, "CapPrm", 16), 0);
	assert_int_equal(status_field(r.pid, 0, "CapInh", 16), 0);
	assert_int_equal(status_field(r.pid, 0, "CapAmb", 16), 0);
	if (geteuid() == 0)
		assert_int_equal(status_field(r.pid, 0, "CapBnd", 16), 0);

	int st = finish(&r, err, sizeof(err));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fprintf(stderr, "child: %s\n", err);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void check_violation(enum ktvm_thread_class cls, const char *what, long nr)
{
	struct run r;
	char got[8], err[4096], want[128];
	int st;

	start(&r, KTVM_SECCOMP_ON, cls, what);
	wait_ready(&r, NTHREADS, got); /* ends early: the child dies */
	st = finish(&r, err, sizeof(err));
	snprintf(want, sizeof(want),
		 "ktvm: seccomp: thread class %s made forbidden syscall %ld (%s)\n",
		 ktvm_thread_class_name(cls), nr, what);
	if (!strstr(err, want) || !WIFEXITED(st) || WEXITSTATUS(st) != KTVM_EXIT_ERROR)
		fprintf(stderr, "%s %s: status 0x%x, stderr was: %s\n", ktvm_thread_class_name(cls),
			what, st, err);
	assert_non_null(strstr(err, want));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), KTVM_EXIT_ERROR);
}

static const enum ktvm_thread_class all_classes[] = {
	KTVM_THREAD_MAIN,	KTVM_THREAD_VCPU, KTVM_THREAD_NET_CTL,
	KTVM_THREAD_NET_WORKER, KTVM_THREAD_GDB,
};

static void test_forbidden_kills(void **state UNUSED)
{
	if (UNDER_ASAN)
		skip();
	for (unsigned int i = 0; i < ARRAY_SIZE(all_classes); i++)
		check_violation(all_classes[i], "getppid", SYS_getppid);
}

/*
 * What a hijacked thread would do first, from every class: open any file
 * (/proc/self/mem read-write: issue 13 found O_RDWR opens allowed, with
 * O_TRUNC and O_APPEND, on any path), ptrace, execve, a socket (AF_INET was
 * allowed for the TAP's MTU), connect, executable memory.
 */
static void test_escapes_kill(void **state UNUSED)
{
	static const struct {
		const char *what;
		long nr;
	} escapes[] = {
		{"openat", SYS_openat}, {"ptrace", SYS_ptrace},	  {"execve", SYS_execve},
		{"socket", SYS_socket}, {"connect", SYS_connect}, {"mprotect", SYS_mprotect},
	};

	if (UNDER_ASAN)
		skip();
	for (unsigned int i = 0; i < ARRAY_SIZE(all_classes); i++)
		for (unsigned int j = 0; j < ARRAY_SIZE(escapes); j++)
			check_violation(all_classes[i], escapes[j].what, escapes[j].nr);
	assert_int_equal(ktvm_seccomp_violate("no-such-syscall"), -1);
}

static void test_log_mode_survives(void **state UNUSED)
{
	struct run r;
	char got[8], err[4096];
	int st;

	if (UNDER_ASAN)
		skip();
	start(&r, KTVM_SECCOMP_LOG, KTVM_THREAD_VCPU, "getppid");
	assert_int_equal(wait_ready(&r, NTHREADS + 1, got), NTHREADS + 1); /* + the vCPU's "L" */
	assert_non_null(memchr(got, 'L', NTHREADS + 1));
	st = finish(&r, err, sizeof(err));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Without setup (unit tests, fuzzers, --seccomp off) entering is a no-op. */
static void test_enter_without_setup(void **state UNUSED)
{
	ktvm_seccomp_reset_for_tests();
	assert_int_equal(ktvm_seccomp_enter(KTVM_THREAD_NET_WORKER), 0);
	assert_int_equal(status_field(getpid(), 0, "Seccomp", 10), 0);
	assert_int_equal(ktvm_seccomp_setup(KTVM_SECCOMP_OFF), 0);
	assert_int_equal(ktvm_seccomp_enter(KTVM_THREAD_VCPU), 0);
	assert_int_equal(status_field(getpid(), 0, "Seccomp", 10), 0);
}

static void test_parse(void **state UNUSED)
{
	enum ktvm_seccomp_mode m;
	uid_t u;
	gid_t g;

	assert_int_equal(ktvm_seccomp_parse_mode("on", &m), 0);
	assert_int_equal(m, KTVM_SECCOMP_ON);
	assert_int_equal(ktvm_seccomp_parse_mode("log", &m), 0);
	assert_int_equal(m, KTVM_SECCOMP_LOG);
	assert_int_equal(ktvm_seccomp_parse_mode("off", &m), 0);
	assert_int_equal(m, KTVM_SECCOMP_OFF);
	assert_int_equal(ktvm_seccomp_parse_mode("yes", &m), -1);
	assert_int_equal(ktvm_seccomp_parse_mode("", &m), -1);

	assert_int_equal(ktvm_parse_user("1234:567", &u, &g), 0);
	assert_int_equal(u, 1234);
	assert_int_equal(g, 567);
	assert_int_equal(ktvm_parse_user("0", &u, &g), 0);
	assert_int_equal(u, 0);
	assert_int_equal(g, 0); /* root's primary group */
	assert_int_equal(ktvm_parse_user("root:0", &u, &g), 0);
	assert_int_equal(u, 0);
	assert_int_equal(ktvm_parse_user("", &u, &g), -1);
	assert_int_equal(ktvm_parse_user(":5", &u, &g), -1);
	assert_int_equal(ktvm_parse_user("5:", &u, &g), -1);
	assert_int_equal(ktvm_parse_user("-1", &u, &g), -1);
	assert_int_equal(ktvm_parse_user("4294967295", &u, &g), -1);
	assert_int_equal(ktvm_parse_user("no-such-user-ktvm", &u, &g), -1);
	assert_int_equal(ktvm_parse_user("1:no-such-group-ktvm", &u, &g), -1);
}

static void test_cli(void **state UNUSED)
{
	char *ok[] = {"run", "--kernel", "/dev/null", "--seccomp", "log", "--user", "42:43", NULL};
	char *bad[] = {"run", "--kernel", "/dev/null", "--seccomp", "maybe", NULL};
	char *badu[] = {"run", "--kernel", "/dev/null", "--user", "x:y:z", NULL};
	struct vm_config cfg;
	FILE *null = fopen("/dev/null", "w");

	assert_int_equal(config_parse_run(7, ok, &cfg, null, null), 0);
	assert_int_equal(cfg.seccomp, KTVM_SECCOMP_LOG);
	assert_true(cfg.has_user);
	assert_int_equal(cfg.uid, 42);
	assert_int_equal(cfg.gid, 43);
	assert_int_equal(config_parse_run(3, ok, &cfg, null, null), 0);
	assert_int_equal(cfg.seccomp, KTVM_SECCOMP_ON); /* the default */
	assert_false(cfg.has_user);
	assert_int_equal(config_parse_run(5, bad, &cfg, null, null), KTVM_EXIT_USAGE);
	assert_int_equal(config_parse_run(5, badu, &cfg, null, null), KTVM_EXIT_USAGE);
	fclose(null);
}

/* Root without --user keeps uid 0: one warning line says so, at warn level. */
static void test_root_without_user_warns(void **state UNUSED)
{
	int errp[2], st;
	char err[4096];
	ssize_t n, total = 0;
	pid_t pid;
	const char *hit;

	assert_int_equal(pipe(errp), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(errp[0]);
		dup2(errp[1], STDERR_FILENO);
		log_set_level(LOG_WARN);
		_exit(ktvm_drop_privileges(false, 0, 0) || ktvm_drop_privileges(false, 0, 0) ? 1
											     : 0);
	}
	close(errp[1]);
	while ((n = read(errp[0], err + total, sizeof(err) - 1 - (size_t)total)) > 0)
		total += n;
	err[total] = '\0';
	close(errp[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	hit = strstr(err, "started as root without --user: still uid 0");
	if (geteuid() != 0) {
		assert_null(hit);
		return;
	}
	assert_non_null(hit);
	assert_non_null(strstr(err, " warn: caps: "));
	assert_null(strstr(hit + 1, "started as root without --user")); /* once */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_enter_without_setup),
		cmocka_unit_test(test_every_class_filtered),
		cmocka_unit_test(test_forbidden_kills),
		cmocka_unit_test(test_escapes_kill),
		cmocka_unit_test(test_log_mode_survives),
		cmocka_unit_test(test_root_without_user_warns),
	};

	log_set_level(LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
