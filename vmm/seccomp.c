// SPDX-License-Identifier: MIT
/*
 * seccomp.c - per-thread-class syscall allow-lists with libseccomp.
 *
 * Every ktvm thread that runs while the guest runs belongs to a class, and
 * installs its class's filter on itself (only: no TSYNC) as the first thing
 * in its thread function, before it touches anything the guest controls:
 *
 *   main        vm_run(): after all setup and after the vCPU threads are
 *               created, right before the event loop (run.c event_loop()).
 *   vcpu        vcpu_thread(), before the first KVM_RUN.
 *   net-ctl     virtio-net's control queue thread, at its start.
 *   net-worker  each virtio-net queue pair worker, at its start.
 *
 * Filters stack: a thread keeps the filters of the thread that created it
 * and adds its own, and a syscall must pass all of them.  The main thread
 * creates the vCPU threads before it installs its own filter, so a vCPU
 * thread has exactly the vcpu list.  Net threads are created at DRIVER_OK
 * by a vCPU thread (a register write), and pair workers also by the control
 * thread (VQ_PAIRS_SET), so they inherit those filters.  For every class to
 * get exactly its own list, the lists are nested along the creation chain:
 * a class's filter also allows what the classes it creates need
 * (net-worker ⊆ net-ctl ⊆ vcpu; see 'spawns' below), so the intersection a
 * net thread ends up with is its own list.
 *
 * The filters are compiled once, in ktvm_seccomp_setup() on the main thread
 * before any thread exists (libseccomp allocates and probes the kernel), and
 * kept as BPF; ktvm_seccomp_enter() only issues seccomp(2), which is why
 * the creating classes allow seccomp(SECCOMP_SET_MODE_FILTER) (adding a
 * filter can only take rights away).  no_new_privs is set process-wide by
 * ktvm_drop_privileges() before that, so no capability is needed.
 *
 * A syscall outside the list: SCMP_ACT_TRAP.  The SIGSYS handler writes
 * "ktvm: seccomp: thread class C made forbidden syscall N (name)" with
 * write(2) alone (names are resolved at setup) and ends the process with
 * _exit(1) (KTVM_EXIT_ERROR).  TRAP rather than KILL_PROCESS, because KILL
 * says nothing on ktvm's stderr and leaves a terminal in raw mode; the
 * handler restores it (tcsetattr is async-signal-safe and allowed).  If
 * SIGSYS is blocked or the handler itself faults, the kernel kills the
 * process with SIGSYS: KILL_PROCESS semantics either way.  Every class
 * unblocks SIGSYS when it enters.  clone3 gets ENOSYS (its flags are in
 * memory, out of a filter's reach: glibc then falls back to clone, which is
 * allowed only with CLONE_THREAD, i.e. no fork).  mmap/mprotect are allowed
 * without PROT_EXEC only.  --seccomp log makes the default action
 * SCMP_ACT_LOG (the kernel logs "type=1326 audit ... syscall=N"): the way to
 * find a missing syscall.
 *
 * The lists were derived by running ktvm under strace -ff in the venue (boot
 * + poweroff, reboot, timeout, test exit, panic, console on a tty, network
 * traffic with one and several queue pairs), classifying each thread's
 * syscalls after its install point, and checked by running every e2e case
 * with --seccomp log (dmesg "type=1326" lines name the thread and syscall).
 * That found one surprise: glibc reads /etc/localtime on the first time
 * conversion, gmtime_r()/timegm() included (the CMOS RTC, on a vCPU
 * thread); setup calls tzset() so no thread opens files later.
 *
 * No class may open a file, create a socket, connect, exec, ptrace or map
 * executable memory: whatever a thread needs is opened before the filters
 * (TAP queues, all of them, for TUNSETQUEUE re-attach; the socket for the
 * TAP's MTU, SIOCGIFMTU; log, console and pcap files), and new threads name
 * themselves (prctl) instead of being named through /proc/self/task/TID/comm.
 * ioctl is allowed per class and per request number (the low 32 bits of
 * argument 1, the width of the kernel's own 'unsigned int cmd').
 * tests/unit/test_seccomp.c makes each class try each of these and checks
 * that ktvm ends with the line naming the class (test_seccomp_ktvm.c: in
 * ktvm itself, for the classes a tiny guest reaches).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "vmm/ktvm.h"
#include "vmm/seccomp.h"

#define M   (1u << KTVM_THREAD_MAIN)
#define V   (1u << KTVM_THREAD_VCPU)
#define C   (1u << KTVM_THREAD_NET_CTL)
#define W   (1u << KTVM_THREAD_NET_WORKER)
#define G   (1u << KTVM_THREAD_GDB)
#define ALL (M | V | C | W | G)

static const char *const class_names[KTVM_THREAD_NCLASSES] = {
	[KTVM_THREAD_NONE] = "none",
	[KTVM_THREAD_MAIN] = "main",
	[KTVM_THREAD_VCPU] = "vcpu",
	[KTVM_THREAD_NET_CTL] = "net-ctl",
	[KTVM_THREAD_NET_WORKER] = "net-worker",
	[KTVM_THREAD_GDB] = "gdb",
};

/* Which classes a class's threads create (their lists are folded into its own). */
static const unsigned int spawns[KTVM_THREAD_NCLASSES] = {
	[KTVM_THREAD_VCPU] = C | W,
	[KTVM_THREAD_NET_CTL] = W,
};

/* Plain syscalls, no argument checks. */
static const struct {
	const char *name;
	unsigned int classes;
} plain[] = {
	/* Everyone: I/O on fds it already has, logging, memory, locks, time, dying. */
	{"read", ALL},
	{"write", ALL},
	{"futex", ALL},
	{"brk", ALL},
	{"munmap", ALL},
	{"madvise", ALL},
	{"mremap", ALL},
	{"rt_sigreturn", ALL},
	{"rt_sigprocmask", ALL},
	{"rt_sigaction", ALL}, /* console.c's fatal-signal handler: signal(SIG_DFL) */
	{"tgkill", ALL},       /* raise(), pthread_kill() (vCPU kicks) */
	{"getpid", ALL},
	{"gettid", ALL},
	{"clock_gettime", ALL},
	{"gettimeofday", ALL},
	{"clock_nanosleep", ALL},
	{"nanosleep", ALL},
	{"sched_yield", ALL},
	{"restart_syscall", ALL},
	{"exit", ALL},
	{"exit_group", ALL},
	/* Waiting for events. */
	{"epoll_wait", M | C | W},
	{"epoll_pwait", M | C | W},
	{"epoll_ctl", M | V | C | W}, /* the loop registry; TAP EPOLLOUT */
	/* Creating and closing fds (device activation and reset). */
	{"epoll_create1", V | C},
	{"eventfd2", V | C},
	{"close", M | V | C},
	/* Guest frames to and from the TAP. */
	{"readv", W},
	{"writev", M | W},
	/* Thread start-up in glibc (runs under the creator's filter). */
	{"set_robust_list", V | C},
	{"rseq", V | C},
	/* The control socket (vmm/api.c, main loop): connections; its removal at exit. */
	{"accept4", M},
	{"unlink", M},
	{"unlinkat", M},
	/* The gdb stub's thread: one client connection at a time (vmm/gdb.c). */
	{"poll", G},
	{"ppoll", G},
	{"accept4", G},
	{"recvfrom", G},
	{"sendto", G},
	{"setsockopt", G},
	{"close", G},
	/* stdio's first use of a stream; teardown. */
	{"newfstatat", M},
	{"fstat", M},
	{"lseek", M},
};

struct ioctl_rule {
	unsigned long req;
	const char *name;
	unsigned int classes;
};

static const struct ioctl_rule ioctls[] = {
	/* The terminal: restored on exit, also from fatal-signal handlers. */
	{TCSETS, "TCSETS", ALL},
	{TCGETS, "TCGETS", M},
	{KVM_RUN, "KVM_RUN", V},
	/* Exit handlers, dumps (arch_vcpu_dump / _where run on main at the end). */
	{KVM_GET_REGS, "KVM_GET_REGS", M | V | G},
	{KVM_SET_REGS, "KVM_SET_REGS", V | G},
	{KVM_GET_SREGS, "KVM_GET_SREGS", M | V | G},
	{KVM_SET_SREGS, "KVM_SET_SREGS", V | G},
	{KVM_SET_GUEST_DEBUG, "KVM_SET_GUEST_DEBUG", V | G},
	{KVM_GET_MP_STATE, "KVM_GET_MP_STATE", M | V},
	{KVM_SET_MP_STATE, "KVM_SET_MP_STATE", V},
#if defined(__x86_64__)
	{KVM_GET_MSRS, "KVM_GET_MSRS", V},
	{KVM_SET_MSRS, "KVM_SET_MSRS", V},
	{KVM_GET_LAPIC, "KVM_GET_LAPIC", V},
	{KVM_SET_LAPIC, "KVM_SET_LAPIC", V},
	{KVM_GET_FPU, "KVM_GET_FPU", V | G},
	{KVM_SET_FPU, "KVM_SET_FPU", V | G},
	/* gdb stub (arch/x86_64/gdb.c): a guest's own int3 / #DB goes back to it. */
	{KVM_GET_VCPU_EVENTS, "KVM_GET_VCPU_EVENTS", V | G},
	{KVM_SET_VCPU_EVENTS, "KVM_SET_VCPU_EVENTS", V | G},
	{KVM_TRANSLATE, "KVM_TRANSLATE", V | G}, /* gdb: virtual addresses, breakpoint hits */
#elif defined(__aarch64__)
	{KVM_GET_ONE_REG, "KVM_GET_ONE_REG", M | V | G},
	{KVM_SET_ONE_REG, "KVM_SET_ONE_REG", V | G},
#endif
	/* Device register writes run on vCPU threads: interrupts, MSI-X, BAR moves. */
	{KVM_IRQ_LINE, "KVM_IRQ_LINE", M | V | C | W},
	{KVM_SIGNAL_MSI, "KVM_SIGNAL_MSI", M | V | C | W},
	{KVM_IRQFD, "KVM_IRQFD", M | V},
	{KVM_IOEVENTFD, "KVM_IOEVENTFD", M | V},
	{KVM_SET_GSI_ROUTING, "KVM_SET_GSI_ROUTING", M | V},
	{KVM_CHECK_EXTENSION, "KVM_CHECK_EXTENSION", V | G}, /* gdb: KVM_CAP_SET_GUEST_DEBUG2 */
	/* virtio-net: activation (vCPU), VQ_PAIRS_SET and offloads (control). */
	{TUNSETOFFLOAD, "TUNSETOFFLOAD", M | V | C},
	{TUNSETQUEUE, "TUNSETQUEUE", M | V | C},
	{SIOCGIFMTU, "SIOCGIFMTU", V | C},
};

static enum ktvm_seccomp_mode cur_mode = KTVM_SECCOMP_OFF; /* until setup */
static bool ready;
static struct sock_fprog progs[KTVM_THREAD_NCLASSES];
static __thread enum ktvm_thread_class my_class;
static void (*volatile fatal_hook)(void);

/* Syscall names for the SIGSYS report, resolved at setup (no malloc in a handler). */
#define NAMES_MAX 512
static const char *sc_names[NAMES_MAX];

int ktvm_seccomp_parse_mode(const char *s, enum ktvm_seccomp_mode *out)
{
	if (!strcmp(s, "on"))
		*out = KTVM_SECCOMP_ON;
	else if (!strcmp(s, "log"))
		*out = KTVM_SECCOMP_LOG;
	else if (!strcmp(s, "off"))
		*out = KTVM_SECCOMP_OFF;
	else
		return -1;
	return 0;
}

const char *ktvm_seccomp_mode_name(enum ktvm_seccomp_mode mode)
{
	return mode == KTVM_SECCOMP_ON ? "on" : mode == KTVM_SECCOMP_LOG ? "log" : "off";
}

const char *ktvm_thread_class_name(enum ktvm_thread_class cls)
{
	return (unsigned int)cls < KTVM_THREAD_NCLASSES ? class_names[cls] : "?";
}

/* Async-signal-safe: append s to buf. */
static size_t put_str(char *buf, size_t pos, size_t cap, const char *s)
{
	while (*s && pos + 1 < cap)
		buf[pos++] = *s++;
	return pos;
}

static size_t put_num(char *buf, size_t pos, size_t cap, long v)
{
	char tmp[24];
	int n = 0;
	unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;

	if (v < 0 && pos + 1 < cap)
		buf[pos++] = '-';
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	while (n && pos + 1 < cap)
		buf[pos++] = tmp[--n];
	return pos;
}

static void sigsys_handler(int sig UNUSED, siginfo_t *si, void *uc UNUSED)
{
	char line[160];
	size_t n = 0;
	int nr = si->si_syscall;
	ssize_t w;

	n = put_str(line, n, sizeof(line), "ktvm: seccomp: thread class ");
	n = put_str(line, n, sizeof(line), ktvm_thread_class_name(my_class));
	n = put_str(line, n, sizeof(line), " made forbidden syscall ");
	n = put_num(line, n, sizeof(line), nr);
	if (nr >= 0 && nr < NAMES_MAX && sc_names[nr]) {
		n = put_str(line, n, sizeof(line), " (");
		n = put_str(line, n, sizeof(line), sc_names[nr]);
		n = put_str(line, n, sizeof(line), ")");
	}
	n = put_str(line, n, sizeof(line), "\n");
	w = write(STDERR_FILENO, line, n);
	(void)w;
	if (fatal_hook)
		fatal_hook();
	_exit(KTVM_EXIT_ERROR);
}

static int add_rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned int n,
		    const struct scmp_arg_cmp *args)
{
	int nr = seccomp_syscall_resolve_name(name);
	int r;

	if (nr == __NR_SCMP_ERROR)
		return 0; /* not a syscall on this architecture */
	r = seccomp_rule_add_array(ctx, action, nr, n, args);
	if (r < 0) {
		log_err("seccomp", "cannot add a rule for %s: %s", name, strerror(-r));
		return -1;
	}
	return 0;
}

static int add_rules(scmp_filter_ctx ctx, enum ktvm_thread_class cls)
{
	unsigned int mask = (1u << cls) | spawns[cls];
	bool creates = spawns[cls] != 0;
	const uint32_t allow = SCMP_ACT_ALLOW;
	int r = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(plain); i++)
		if (plain[i].classes & mask)
			r |= add_rule(ctx, allow, plain[i].name, 0, NULL);
	for (unsigned int i = 0; i < ARRAY_SIZE(ioctls); i++) {
		struct scmp_arg_cmp a = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, ioctls[i].req);

		if (ioctls[i].classes & mask)
			r |= add_rule(ctx, allow, "ioctl", 1, &a);
	}
	/* Log lines name their thread: pthread_getname_np() on itself (vmm/log.c). */
	{
		struct scmp_arg_cmp getname = SCMP_A0(SCMP_CMP_MASKED_EQ, ~0ull, PR_GET_NAME);

		r |= add_rule(ctx, allow, "prctl", 1, &getname);
	}
	/* The control socket (main) and the gdb stub's unix: socket check their peer. */
	if (mask & (M | G)) {
		struct scmp_arg_cmp peercred[] = {
			SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, SOL_SOCKET),
			SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffu, SO_PEERCRED),
		};

		r |= add_rule(ctx, allow, "getsockopt", 2, peercred);
	}
	/* Memory: never executable. */
	{
		struct scmp_arg_cmp noexec = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);

		r |= add_rule(ctx, allow, "mmap", 1, &noexec);
		r |= add_rule(ctx, allow, "mprotect", 1, &noexec);
	}
	if (creates) {
		/* Threads, never processes; clone3 hides its flags: ENOSYS, glibc falls back. */
		struct scmp_arg_cmp thread =
			SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
		struct scmp_arg_cmp filter =
			SCMP_A0(SCMP_CMP_MASKED_EQ, ~0ull, SECCOMP_SET_MODE_FILTER);
		/*
		 * A new thread names itself (pthread_setname_np(pthread_self()) is
		 * prctl(PR_SET_NAME)) before it enters its own filter, i.e. under
		 * its creator's.  Naming another thread would open
		 * /proc/self/task/TID/comm: no class may open files (see the top).
		 */
		struct scmp_arg_cmp setname = SCMP_A0(SCMP_CMP_MASKED_EQ, ~0ull, PR_SET_NAME);

		r |= add_rule(ctx, allow, "clone", 1, &thread);
		r |= add_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);
		r |= add_rule(ctx, allow, "seccomp", 1, &filter);
		r |= add_rule(ctx, allow, "prctl", 1, &setname);
	}
	return r ? -1 : 0;
}

/* Compile one class's filter to BPF (kept in progs[cls]). */
static int compile(enum ktvm_thread_class cls, uint32_t def_action)
{
	scmp_filter_ctx ctx = seccomp_init(def_action);
	int fd = -1, ret = -1;
	off_t len;

	if (!ctx)
		return -1;
	/* no_new_privs is already set (ktvm_drop_privileges); loading is done by hand. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (add_rules(ctx, cls))
		goto out;
	fd = memfd_create("ktvm-seccomp", MFD_CLOEXEC);
	if (fd < 0 || seccomp_export_bpf(ctx, fd) < 0)
		goto out;
	len = lseek(fd, 0, SEEK_END);
	if (len <= 0 || len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > 4096)
		goto out;
	progs[cls].len = (unsigned short)(len / sizeof(struct sock_filter));
	progs[cls].filter = malloc((size_t)len);
	if (!progs[cls].filter || pread(fd, progs[cls].filter, (size_t)len, 0) != len)
		goto out;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return ret;
}

static void free_progs(void)
{
	for (unsigned int i = 0; i < KTVM_THREAD_NCLASSES; i++) {
		free(progs[i].filter);
		progs[i].filter = NULL;
		progs[i].len = 0;
	}
}

int ktvm_seccomp_setup(enum ktvm_seccomp_mode mode)
{
	uint32_t def = mode == KTVM_SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP;
	struct sigaction sa;

	free_progs();
	ready = false;
	cur_mode = mode;
	if (mode == KTVM_SECCOMP_OFF) {
		log_info("seccomp", "off: no syscall filters");
		return 0;
	}
	/*
	 * glibc loads the time zone (open /etc/localtime, fstat, lseek) the first
	 * time anything converts a time, gmtime_r() and timegm() included (the
	 * CMOS RTC on a vCPU thread): load it now, while files may be opened.
	 */
	tzset();
	for (int nr = 0; nr < NAMES_MAX; nr++)
		if (!sc_names[nr])
			sc_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	for (unsigned int c = KTVM_THREAD_MAIN; c < KTVM_THREAD_NCLASSES; c++) {
		if (compile(c, def)) {
			log_err("seccomp", "cannot build the %s filter: %s", class_names[c],
				strerror(errno));
			free_progs();
			return -1;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		log_err("seccomp", "sigaction(SIGSYS): %s", strerror(errno));
		return -1;
	}
	ready = true;
	log_info("seccomp", "%s: filters for main, vcpu, net-ctl, net-worker, gdb threads",
		 ktvm_seccomp_mode_name(mode));
	return 0;
}

int ktvm_seccomp_violate(const char *what)
{
	static const char self_mem[] = "/proc/self/mem";
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char *const argv[] = {(char *)"/bin/true", NULL};
	long r;

	/* Each is harmless if it is allowed after all (--seccomp log): then closed. */
	if (!strcmp(what, "getppid")) {
		r = syscall(SYS_getppid);
	} else if (!strcmp(what, "openat")) {
		r = syscall(SYS_openat, AT_FDCWD, self_mem, O_RDWR | O_CLOEXEC, 0);
		if (r >= 0)
			close((int)r);
	} else if (!strcmp(what, "ptrace")) {
		r = syscall(SYS_ptrace, PTRACE_PEEKDATA, 0, 0, 0); /* ESRCH if allowed */
	} else if (!strcmp(what, "execve")) {
		r = syscall(SYS_execve, "/nonexistent/ktvm-seccomp-test", argv, NULL);
	} else if (!strcmp(what, "socket")) {
		r = syscall(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (r >= 0)
			close((int)r);
	} else if (!strcmp(what, "connect")) {
		r = syscall(SYS_connect, -1, &sun, sizeof(sun)); /* EBADF if allowed */
	} else if (!strcmp(what, "mprotect")) {
		void *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (page == MAP_FAILED)
			return -1;
		r = syscall(SYS_mprotect, page, 4096, PROT_READ | PROT_EXEC);
		munmap(page, 4096);
	} else {
		return -1;
	}
	(void)r;
	return 0;
}

#ifdef KTVM_TEST_HOOKS
/*
 * Test builds only: KTVM_TEST_SECCOMP_VIOLATE=CLASS[:SYSCALL] makes that
 * class break its list with SYSCALL (ktvm_seccomp_violate(); getppid when
 * not given).
 */
static void test_violate(enum ktvm_thread_class cls)
{
	const char *v = getenv("KTVM_TEST_SECCOMP_VIOLATE");
	size_t n = strlen(class_names[cls]);

	if (v && !strncmp(v, class_names[cls], n) && (v[n] == '\0' || v[n] == ':'))
		ktvm_seccomp_violate(v[n] ? v + n + 1 : "getppid");
}
#else
static void test_violate(enum ktvm_thread_class cls UNUSED)
{
}
#endif

int ktvm_seccomp_enter(enum ktvm_thread_class cls)
{
	sigset_t sys;

	if (cur_mode == KTVM_SECCOMP_OFF || !ready)
		return 0;
	if (cls <= KTVM_THREAD_NONE || cls >= KTVM_THREAD_NCLASSES || !progs[cls].filter) {
		log_err("seccomp", "no filter for thread class %d", (int)cls);
		return -1;
	}
	/* A blocked SIGSYS would make a trap a silent kill: let the reporter run. */
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	my_class = cls;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &progs[cls])) {
		log_err("seccomp", "cannot install the %s filter: %s", class_names[cls],
			strerror(errno));
		return -1;
	}
	test_violate(cls);
	return 0;
}

void ktvm_seccomp_set_fatal_hook(void (*fn)(void))
{
	fatal_hook = fn;
}

void ktvm_seccomp_reset_for_tests(void)
{
	free_progs();
	ready = false;
	cur_mode = KTVM_SECCOMP_OFF;
}
