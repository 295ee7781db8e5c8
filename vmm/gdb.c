// SPDX-License-Identifier: MIT
/*
 * gdb.c - a gdb remote stub (--gdb tcp:HOST:PORT | unix:PATH, --gdb-wait).
 *
 * One thread, ktvm-gdb, owns the socket and speaks the remote serial
 * protocol (framing in gdb_rsp.c) to one gdb at a time, all-stop: when the
 * guest is stopped for gdb, every vCPU is parked (vmm/pause.c) and the stub
 * uses their register, translation and debug ioctls directly.  Each vCPU is
 * a gdb thread (id = vCPU index + 1).  Memory addresses are guest virtual,
 * translated page by page on the selected vCPU (arch_gdb_translate()).
 *
 * Stops: a vCPU's KVM_EXIT_DEBUG (software breakpoint, hardware breakpoint
 * or watchpoint, single step) that belongs to the stub takes the stub's
 * pause, records the stop and wakes the thread, which waits until all vCPUs
 * are parked and sends the stop reply.  One that does not (the guest's own
 * int3, e.g. the kernel's text patching) goes back to the guest.  Ctrl-C
 * pauses the same way and reports SIGINT.  A single step lets only the
 * stepped vCPU run (vm_pause_run_one()).  gdb inserts its breakpoints before
 * resuming and removes them at each stop; whatever is left when gdb detaches
 * or disconnects is removed then.  When the VM ends, gdb gets "W<status>".
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/api.h"
#include "vmm/gdb.h"
#include "vmm/seccomp.h"
#include "vmm/pause.h"
#include "vmm/vm_internal.h"

#define GDB_MAX_SW_BPS 256
#define GDB_SIGINT     2
#define GDB_SIGTRAP    5

struct gdb_sw_bp {
	bool used;
	uint64_t addr, gpa;
	size_t len;
	uint8_t orig[8];
};

struct gdb_stub {
	struct vm *vm;
	uid_t euid; /* ktvm's, read at creation: the gdb class may not ask */
	int listen_fd, conn_fd, wake_fd;
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pthread_t thread;
	bool thread_started;
	atomic_bool quit;

	/* The gdb thread's own. */
	struct rsp_parser parser;
	bool noack;
	int g_cpu, c_cpu; /* Hg, Hc: vCPU index */
	int last_sig, last_cpu;
	char last_extra[64];
	size_t wire_len;
	char reply[GDB_PACKET_MAX + 1];
	char wire[2 * GDB_PACKET_MAX + 8];
	uint8_t regs[4096];
	uint8_t mem[GDB_PACKET_MAX / 2];

	/* Shared with the vCPU threads. */
	pthread_mutex_t lock;
	bool hold;    /* the stub holds one pause */
	bool running; /* resumed by gdb, waiting for a stop */
	int step_cpu; /* the vCPU single-stepping, or -1 */
	bool event;   /* a vCPU stopped for gdb: ev_* */
	int ev_cpu;
	char ev_extra[64];
	struct gdb_sw_bp sw[GDB_MAX_SW_BPS];
	struct gdb_hw_bp hw[GDB_MAX_HW_BPS];
};

/* ---- addresses ---------------------------------------------------------- */

const char *gdb_addr_error(int r)
{
	return r == -2 ? "not a loopback address; the gdb stub has no authentication "
			 "(anyone who reaches it owns the guest): add ',insecure' to mean it"
		       : "expected tcp:[HOST]:PORT or unix:PATH";
}

/* The host part of tcp: names a loopback address ("" and "localhost" do). */
static bool host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (!host[0] || !strcmp(host, "localhost"))
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return false;
}

int gdb_parse_addr(const char *spec, char *host, size_t hostlen, unsigned int *port,
		   const char **path)
{
	static const char insecure_opt[] = ",insecure";
	const char *colon, *stop;
	bool insecure = false;
	char *end, num[8];
	unsigned long p;
	size_t n, len;

	*path = NULL;
	if (!strncmp(spec, "unix:", 5)) {
		if (!spec[5] || strlen(spec + 5) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return -1;
		*path = spec + 5;
		return 0;
	}
	if (!strncmp(spec, "tcp:", 4))
		spec += 4;
	len = strlen(spec);
	if (len >= sizeof(insecure_opt) - 1 &&
	    !strcmp(spec + len - (sizeof(insecure_opt) - 1), insecure_opt)) {
		insecure = true;
		len -= sizeof(insecure_opt) - 1;
	}
	stop = spec + len;
	colon = memrchr(spec, ':', len);
	if (!colon || colon + 1 == stop || (size_t)(stop - colon - 1) >= sizeof(num))
		return -1;
	memcpy(num, colon + 1, (size_t)(stop - colon - 1));
	num[stop - colon - 1] = '\0';
	errno = 0;
	p = strtoul(num, &end, 10);
	if (*end || errno || p > 65535 || num[0] == '-' || num[0] == '+')
		return -1;
	n = (size_t)(colon - spec);
	if (n && spec[0] == '[' && spec[n - 1] == ']') { /* [::1]:1234 */
		spec++;
		n -= 2;
	}
	if (n >= hostlen)
		return -1;
	memcpy(host, spec, n);
	host[n] = '\0';
	*port = (unsigned int)p;
	/* The stub has no authentication: off loopback only when asked for by name. */
	if (!insecure && !host_is_loopback(host))
		return -2;
	return 0;
}

static int open_listener(struct gdb_stub *g, const char *spec)
{
	char host[256], portstr[8], desc[NI_MAXHOST + NI_MAXSERV + 8];
	struct addrinfo hints, *res = NULL;
	const char *path;
	unsigned int port;
	int fd = -1, one = 1, r;

	r = gdb_parse_addr(spec, host, sizeof(host), &port, &path);
	if (r) {
		log_err("gdb", "--gdb '%s': %s", spec, gdb_addr_error(r));
		return -1;
	}
	if (path) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		struct stat st;

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		if (!lstat(path, &st) && S_ISSOCK(st.st_mode))
			unlink(path); /* a stale socket of an earlier run */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		/* 0600 whatever the umask, and a peer check on accept (as the control socket). */
		if (fd < 0 || api_bind_private(fd, &sa) || listen(fd, 1)) {
			log_err("gdb", "cannot listen on unix:%s: %s", path, strerror(errno));
			goto fail;
		}
		snprintf(g->unix_path, sizeof(g->unix_path), "%s", path);
		log_info("gdb", "waiting for gdb on unix:%s", path);
		g->listen_fd = fd;
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/*
	 * Numeric addresses only (and "localhost"): a name lookup would go
	 * through NSS, which a static ktvm must not load (see caps.c).
	 */
	hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST | AI_PASSIVE;
	snprintf(portstr, sizeof(portstr), "%u", port);
	/* No host: loopback (a gdb stub owns the guest; elsewhere needs ",insecure"). */
	r = getaddrinfo(!host[0] || !strcmp(host, "localhost") ? "127.0.0.1" : host, portstr,
			&hints, &res);
	if (r) {
		log_err("gdb", "--gdb %s: %s", spec, gai_strerror(r));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 1)) {
		log_err("gdb", "cannot listen on %s: %s", spec, strerror(errno));
		goto fail;
	}
	freeaddrinfo(res);
	res = NULL;
	{
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char h[NI_MAXHOST], s[NI_MAXSERV];

		if (!getsockname(fd, (struct sockaddr *)&ss, &sl) &&
		    !getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), s, sizeof(s),
				 NI_NUMERICHOST | NI_NUMERICSERV))
			snprintf(desc, sizeof(desc), "tcp:%s:%s", h, s);
		else
			snprintf(desc, sizeof(desc), "%s", spec);
	}
	log_info("gdb", "waiting for gdb on %s", desc);
	g->listen_fd = fd;
	return 0;
fail:
	if (res)
		freeaddrinfo(res);
	if (fd >= 0)
		close(fd);
	return -1;
}

/* ---- output ------------------------------------------------------------- */

static void send_raw(struct gdb_stub *g, const char *buf, size_t len)
{
	while (len && g->conn_fd >= 0) {
		ssize_t n = send(g->conn_fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* the reader sees the connection end */
		buf += n;
		len -= (size_t)n;
	}
}

static void send_packet_len(struct gdb_stub *g, const char *payload, size_t len)
{
	g->wire_len = rsp_encode(payload, len, g->wire, sizeof(g->wire));
	send_raw(g, g->wire, g->wire_len);
}

static void send_packet(struct gdb_stub *g, const char *payload)
{
	send_packet_len(g, payload, strlen(payload));
}

static void send_stop_reply(struct gdb_stub *g)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "T%02xthread:%x;%s", g->last_sig, g->last_cpu + 1,
		 g->last_extra);
	send_packet(g, buf);
}

/* ---- guest state ---------------------------------------------------------- */

static struct vcpu *cur_vcpu(struct gdb_stub *g, bool for_resume)
{
	int i = for_resume ? g->c_cpu : g->g_cpu;

	if (i < 0 || (unsigned int)i >= g->vm->ncpus)
		i = 0;
	return &g->vm->vcpus[i];
}

/* Instruction cache maintenance after ktvm wrote guest code: none unless the arch has some. */
__attribute__((weak)) void arch_gdb_code_written(struct vm *vm UNUSED, uint64_t gpa UNUSED,
						 size_t len UNUSED)
{
}

/* Copy guest virtual memory: bytes done (maybe short), -1 if none. */
static long mem_access(struct gdb_stub *g, uint64_t addr, uint8_t *buf, size_t len, bool write)
{
	struct vcpu *v = cur_vcpu(g, false);
	size_t done = 0;

	while (done < len) {
		uint64_t a = addr + done, gpa;
		size_t chunk = 4096 - (a & 4095);

		if (chunk > len - done)
			chunk = len - done;
		if (arch_gdb_translate(v, a, &gpa))
			break;
		if (write ? gmem_write(&g->vm->mem, gpa, buf + done, chunk)
			  : gmem_read(&g->vm->mem, gpa, buf + done, chunk))
			break;
		if (write)
			arch_gdb_code_written(g->vm, gpa, chunk);
		done += chunk;
	}
	return done ? (long)done : -1;
}

static bool any_sw(struct gdb_stub *g)
{
	for (unsigned int i = 0; i < GDB_MAX_SW_BPS; i++)
		if (g->sw[i].used)
			return true;
	return false;
}

static int find_sw(struct gdb_stub *g, uint64_t addr)
{
	for (unsigned int i = 0; i < GDB_MAX_SW_BPS; i++)
		if (g->sw[i].used && g->sw[i].addr == addr)
			return (int)i;
	return -1;
}

static int find_sw_gpa(struct gdb_stub *g, uint64_t gpa)
{
	for (unsigned int i = 0; i < GDB_MAX_SW_BPS && gpa != UINT64_MAX; i++)
		if (g->sw[i].used && g->sw[i].gpa == gpa)
			return (int)i;
	return -1;
}

static int sw_insert(struct gdb_stub *g, uint64_t addr)
{
	struct vcpu *v = cur_vcpu(g, false);
	const uint8_t *insn;
	struct gdb_sw_bp *b = NULL;
	size_t len;
	uint64_t gpa;

	if (find_sw(g, addr) >= 0)
		return 0;
	for (unsigned int i = 0; i < GDB_MAX_SW_BPS && !b; i++)
		if (!g->sw[i].used)
			b = &g->sw[i];
	insn = arch_gdb_sw_bp(&len);
	if (!b || len > sizeof(b->orig) || arch_gdb_translate(v, addr, &gpa) ||
	    gmem_read(&g->vm->mem, gpa, b->orig, len) || gmem_write(&g->vm->mem, gpa, insn, len))
		return -1;
	arch_gdb_code_written(g->vm, gpa, len);
	pthread_mutex_lock(&g->lock);
	b->addr = addr;
	b->gpa = gpa;
	b->len = len;
	b->used = true;
	pthread_mutex_unlock(&g->lock);
	return 0;
}

static void sw_remove_one(struct gdb_stub *g, struct gdb_sw_bp *b)
{
	if (!gmem_write(&g->vm->mem, b->gpa, b->orig, b->len))
		arch_gdb_code_written(g->vm, b->gpa, b->len);
	pthread_mutex_lock(&g->lock);
	b->used = false;
	pthread_mutex_unlock(&g->lock);
}

static int sw_remove(struct gdb_stub *g, uint64_t addr)
{
	int i = find_sw(g, addr);

	if (i < 0)
		return -1;
	sw_remove_one(g, &g->sw[i]);
	return 0;
}

static int hw_insert(struct gdb_stub *g, enum gdb_bp_type type, uint64_t addr, unsigned int len)
{
	if (!arch_gdb_hw_bp_ok(type, addr, len))
		return -1;
	for (unsigned int i = 0; i < GDB_MAX_HW_BPS; i++) {
		struct gdb_hw_bp *b = &g->hw[i];

		if (b->used && b->type == type && b->addr == addr && b->len == len)
			return 0;
	}
	for (unsigned int i = 0; i < GDB_MAX_HW_BPS; i++) {
		struct gdb_hw_bp *b = &g->hw[i];

		if (!b->used) {
			pthread_mutex_lock(&g->lock);
			*b = (struct gdb_hw_bp){
				.used = true, .type = type, .addr = addr, .len = len};
			pthread_mutex_unlock(&g->lock);
			return 0;
		}
	}
	return -1;
}

static int hw_remove(struct gdb_stub *g, enum gdb_bp_type type, uint64_t addr, unsigned int len)
{
	for (unsigned int i = 0; i < GDB_MAX_HW_BPS; i++) {
		struct gdb_hw_bp *b = &g->hw[i];

		if (b->used && b->type == type && b->addr == addr && b->len == len) {
			pthread_mutex_lock(&g->lock);
			b->used = false;
			pthread_mutex_unlock(&g->lock);
			return 0;
		}
	}
	return -1;
}

/* Arm (or with !enable, disarm) KVM's guest debugging on every vCPU. */
static void set_debug_all(struct gdb_stub *g, bool enable, int step_cpu)
{
	bool sw = any_sw(g);

	for (unsigned int i = 0; i < g->vm->ncpus; i++)
		if (arch_gdb_set_debug(&g->vm->vcpus[i], enable, sw, (int)i == step_cpu, g->hw,
				       GDB_MAX_HW_BPS))
			log_warn("gdb", "KVM_SET_GUEST_DEBUG on vCPU %u: %s", i, strerror(errno));
}

/* ---- running and stopping ------------------------------------------------ */

/* Take the stub's pause and wait for every vCPU to park: 0, or -1 if the VM is ending. */
static int stop_all(struct gdb_stub *g)
{
	pthread_mutex_lock(&g->lock);
	if (!g->hold) {
		g->hold = true;
		vm_pause_all(g->vm);
	}
	g->step_cpu = -1;
	vm_pause_run_one(g->vm, -1);
	pthread_mutex_unlock(&g->lock);
	return vm_pause_wait_parked(g->vm);
}

static void resume(struct gdb_stub *g, int step_cpu)
{
	set_debug_all(g, true, step_cpu);
	pthread_mutex_lock(&g->lock);
	g->running = true;
	g->event = false;
	g->step_cpu = step_cpu;
	if (step_cpu >= 0) {
		if (!g->hold) { /* cannot happen: gdb resumes only a stopped guest */
			g->hold = true;
			vm_pause_all(g->vm);
		}
		vm_pause_run_one(g->vm, step_cpu);
	} else if (g->hold) {
		g->hold = false;
		vm_resume_all(g->vm);
	}
	pthread_mutex_unlock(&g->lock);
}

/* Detach or disconnect: no breakpoints left behind, the guest runs on. */
static void release_guest(struct gdb_stub *g)
{
	for (unsigned int i = 0; i < GDB_MAX_SW_BPS; i++)
		if (g->sw[i].used)
			sw_remove_one(g, &g->sw[i]);
	pthread_mutex_lock(&g->lock);
	memset(g->hw, 0, sizeof(g->hw));
	pthread_mutex_unlock(&g->lock);
	set_debug_all(g, false, -1);
	pthread_mutex_lock(&g->lock);
	g->running = false;
	g->event = false;
	g->step_cpu = -1;
	vm_pause_run_one(g->vm, -1);
	if (g->hold) {
		g->hold = false;
		vm_resume_all(g->vm);
	}
	pthread_mutex_unlock(&g->lock);
}

int gdb_vcpu_debug_exit(struct vcpu *v)
{
	struct gdb_stub *g = v->vm->gdb;
	struct gdb_debug_exit e;
	char extra[64] = "";
	bool ours = false;
	uint64_t one = 1, gpa = UINT64_MAX;

	if (!g) {
		vm_request_stop(v->vm, KTVM_EXIT_ERROR, "vCPU %u: debug exit without --gdb", v->id);
		return 1;
	}
	arch_gdb_debug_exit(v, &e);
	/* A breakpoint set through another mapping of the same page (e.g. before paging) too. */
	if (e.sw_bp && arch_gdb_translate(v, e.pc, &gpa))
		gpa = UINT64_MAX;
	pthread_mutex_lock(&g->lock);
	if (e.step && g->step_cpu == (int)v->id)
		ours = true;
	if (e.sw_bp && (find_sw(g, e.pc) >= 0 || find_sw_gpa(g, gpa) >= 0)) {
		ours = true;
		snprintf(extra, sizeof(extra), "swbreak:;");
	}
	if (e.hw >= 0 && e.hw < GDB_MAX_HW_BPS && g->hw[e.hw].used) {
		static const char *const kind[] = {[GDB_WATCH_WRITE] = "watch",
						   [GDB_WATCH_READ] = "rwatch",
						   [GDB_WATCH_ACCESS] = "awatch"};
		const struct gdb_hw_bp *b = &g->hw[e.hw];

		ours = true;
		if (b->type == GDB_BP_HW)
			snprintf(extra, sizeof(extra), "hwbreak:;");
		else
			snprintf(extra, sizeof(extra), "%s:%llx;", kind[b->type],
				 (unsigned long long)b->addr);
	}
	if (!ours) {
		pthread_mutex_unlock(&g->lock);
		if (arch_gdb_reinject(v))
			log_once(LOG_WARN, "gdb",
				 "cannot give a debug exception back to the guest");
		return 0;
	}
	if (g->running && !g->event) {
		g->event = true;
		g->ev_cpu = (int)v->id;
		snprintf(g->ev_extra, sizeof(g->ev_extra), "%s", extra);
		if (!g->hold) {
			g->hold = true;
			vm_pause_all(v->vm);
		}
		g->step_cpu = -1;
		vm_pause_run_one(v->vm, -1);
		if (write(g->wake_fd, &one, sizeof(one)) < 0)
			log_once(LOG_WARN, "gdb", "cannot wake the gdb thread");
	}
	/* Else another vCPU's stop is being reported: this one parks (a breakpoint hits again). */
	pthread_mutex_unlock(&g->lock);
	return 0;
}

static void on_event(struct gdb_stub *g)
{
	uint64_t n;
	bool report;

	if (read(g->wake_fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&g->lock);
	report = g->event && g->running;
	if (report) {
		g->running = false;
		g->event = false;
		g->last_cpu = g->ev_cpu;
		g->last_sig = GDB_SIGTRAP;
		snprintf(g->last_extra, sizeof(g->last_extra), "%s", g->ev_extra);
	}
	pthread_mutex_unlock(&g->lock);
	if (!report || vm_pause_wait_parked(g->vm))
		return;
	g->g_cpu = g->c_cpu = g->last_cpu;
	if (g->conn_fd >= 0)
		send_stop_reply(g);
}

static void on_interrupt(struct gdb_stub *g)
{
	bool stop;

	pthread_mutex_lock(&g->lock);
	stop = g->running && !g->event;
	if (stop)
		g->running = false;
	pthread_mutex_unlock(&g->lock);
	if (!stop || stop_all(g))
		return; /* not running, or a stop is already on its way */
	g->last_sig = GDB_SIGINT;
	g->last_cpu = cur_vcpu(g, true)->id;
	g->last_extra[0] = '\0';
	send_stop_reply(g);
}

/* ---- packets ------------------------------------------------------------- */

/* A thread id: vCPU index, -1 for "all" (-1) or "any" (0); -2 if invalid. */
static int parse_tid(struct gdb_stub *g, const char *s)
{
	uint64_t t;

	if (!strcmp(s, "-1"))
		return -1;
	if (rsp_parse_hex(s, &t, NULL))
		return -2;
	if (t == 0)
		return -1;
	if (t > g->vm->ncpus)
		return -2;
	return (int)t - 1;
}

static void reply_hex(struct gdb_stub *g, const void *data, size_t len)
{
	if (2 * len > GDB_PACKET_MAX) {
		send_packet(g, "E01");
		return;
	}
	rsp_bin2hex(data, len, g->reply);
	send_packet(g, g->reply);
}

static void handle_qxfer(struct gdb_stub *g, const char *args)
{
	static const char prefix[] = "features:read:target.xml:";
	const char *xml = arch_gdb_target_xml(), *p;
	uint64_t off, len;
	size_t total = strlen(xml), n;

	if (strncmp(args, prefix, sizeof(prefix) - 1)) {
		send_packet(g, strncmp(args, "features:read:", 14) ? "" : "E00");
		return;
	}
	p = args + sizeof(prefix) - 1;
	if (rsp_parse_hex(p, &off, &p) || *p++ != ',' || rsp_parse_hex(p, &len, NULL)) {
		send_packet(g, "E01");
		return;
	}
	if (off >= total) {
		send_packet(g, "l");
		return;
	}
	if (len > GDB_PACKET_MAX / 2 - 1)
		len = GDB_PACKET_MAX / 2 - 1;
	if (len > total - off)
		len = total - off;
	g->reply[0] = off + len < total ? 'm' : 'l';
	n = rsp_escape_bin(xml + off, len, g->reply + 1, GDB_PACKET_MAX - 1);
	send_packet_len(g, g->reply, n + 1);
}

static void handle_query(struct gdb_stub *g, const char *pkt)
{
	char buf[64];

	if (!strncmp(pkt, "qSupported", 10)) {
		snprintf(g->reply, sizeof(g->reply),
			 "PacketSize=%x;qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+;"
			 "vContSupported+",
			 GDB_PACKET_MAX);
		send_packet(g, g->reply);
	} else if (!strncmp(pkt, "qXfer:", 6)) {
		handle_qxfer(g, pkt + 6);
	} else if (!strcmp(pkt, "qfThreadInfo")) {
		size_t n = 0;

		g->reply[n++] = 'm';
		for (unsigned int i = 0; i < g->vm->ncpus && n + 12 < sizeof(g->reply); i++)
			n += (size_t)snprintf(g->reply + n, sizeof(g->reply) - n, "%s%x",
					      i ? "," : "", i + 1);
		send_packet(g, g->reply);
	} else if (!strcmp(pkt, "qsThreadInfo")) {
		send_packet(g, "l");
	} else if (!strcmp(pkt, "qC")) {
		snprintf(buf, sizeof(buf), "QC%x", cur_vcpu(g, false)->id + 1);
		send_packet(g, buf);
	} else if (!strncmp(pkt, "qThreadExtraInfo,", 17)) {
		int t = parse_tid(g, pkt + 17);

		snprintf(buf, sizeof(buf), "vCPU %d", t < 0 ? 0 : t);
		reply_hex(g, buf, strlen(buf));
	} else if (!strncmp(pkt, "qAttached", 9)) {
		send_packet(g, "1");
	} else if (!strncmp(pkt, "qSymbol", 7)) {
		send_packet(g, "OK");
	} else {
		send_packet(g, ""); /* qOffsets, qTStatus, ...: not supported */
	}
}

/* vCont;ACTION[:TID]... : the vCPU to single-step (-1 for none) into *step; -1 if malformed. */
static int parse_vcont(struct gdb_stub *g, const char *p, int *step, bool *only_t)
{
	*step = -1;
	*only_t = true;
	while (*p == ';') {
		char act = *++p;
		int tid = -1;

		if (act != 'c' && act != 'C' && act != 's' && act != 'S' && act != 't')
			return -1;
		p++;
		if (act == 'C' || act == 'S') { /* a signal number: cannot be delivered, ignored */
			uint64_t sig;

			if (rsp_parse_hex(p, &sig, &p))
				return -1;
		}
		if (*p == ':') {
			char tbuf[24];
			size_t n = strcspn(p + 1, ";");

			if (n >= sizeof(tbuf))
				return -1;
			memcpy(tbuf, p + 1, n);
			tbuf[n] = '\0';
			tid = parse_tid(g, tbuf);
			if (tid == -2)
				return -1;
			p += 1 + n;
		}
		if (act != 't')
			*only_t = false;
		if ((act == 's' || act == 'S') && *step < 0)
			*step = tid >= 0 ? tid : (int)cur_vcpu(g, true)->id;
	}
	return *p ? -1 : 0;
}

static void handle_mem(struct gdb_stub *g, const char *pkt)
{
	uint64_t addr, len;
	const char *p = pkt + 1;
	uint8_t *buf = g->mem;
	long n;

	if (rsp_parse_hex(p, &addr, &p) || *p++ != ',' || rsp_parse_hex(p, &len, &p)) {
		send_packet(g, "E01");
		return;
	}
	if (pkt[0] == 'm') {
		if (len > GDB_PACKET_MAX / 2 - 1)
			len = GDB_PACKET_MAX / 2 - 1;
		n = mem_access(g, addr, buf, len, false);
		if (n < 0) {
			send_packet(g, "E14");
			return;
		}
		reply_hex(g, buf, (size_t)n);
		return;
	}
	if (*p++ != ':' || len > sizeof(g->mem)) {
		send_packet(g, "E01");
		return;
	}
	if (pkt[0] == 'M') {
		if (strlen(p) != 2 * len || rsp_hex2bin(p, len, buf)) {
			send_packet(g, "E01");
			return;
		}
	} else { /* X: binary, already unescaped by the parser */
		size_t have = g->parser.len - (size_t)(p - pkt);

		if (have != len) {
			send_packet(g, "E01");
			return;
		}
		memcpy(buf, p, len);
	}
	n = len ? mem_access(g, addr, buf, len, true) : 0;
	send_packet(g, n == (long)len ? "OK" : "E14");
}

static void handle_bp(struct gdb_stub *g, const char *pkt)
{
	bool insert = pkt[0] == 'Z';
	uint64_t type, addr, kind;
	const char *p = pkt + 1;
	int r;

	if (rsp_parse_hex(p, &type, &p) || *p++ != ',' || rsp_parse_hex(p, &addr, &p) ||
	    *p++ != ',' || rsp_parse_hex(p, &kind, &p)) {
		send_packet(g, "E01");
		return;
	}
	if (type > GDB_WATCH_ACCESS) {
		send_packet(g, "");
		return;
	}
	if (type == GDB_BP_SW)
		r = insert ? sw_insert(g, addr) : sw_remove(g, addr);
	else if (insert)
		r = hw_insert(g, (enum gdb_bp_type)type, addr, (unsigned int)kind);
	else
		r = hw_remove(g, (enum gdb_bp_type)type, addr, (unsigned int)kind);
	send_packet(g, r ? "E01" : "OK");
}

static void handle_regs(struct gdb_stub *g, const char *pkt)
{
	struct vcpu *v = cur_vcpu(g, false);
	int n = arch_gdb_read_regs(v, g->regs, sizeof(g->regs));
	uint64_t regno;
	size_t off, size;
	const char *p;

	if (n < 0) {
		send_packet(g, "E01");
		return;
	}
	switch (pkt[0]) {
	case 'g':
		reply_hex(g, g->regs, (size_t)n);
		return;
	case 'G':
		if (strlen(pkt + 1) != 2 * (size_t)n || rsp_hex2bin(pkt + 1, (size_t)n, g->regs) ||
		    arch_gdb_write_regs(v, g->regs, (size_t)n)) {
			send_packet(g, "E01");
			return;
		}
		send_packet(g, "OK");
		return;
	case 'p':
		if (rsp_parse_hex(pkt + 1, &regno, NULL) || regno > 4096 ||
		    arch_gdb_reg_span((unsigned int)regno, &off, &size) || off + size > (size_t)n) {
			send_packet(g, "E01");
			return;
		}
		reply_hex(g, g->regs + off, size);
		return;
	case 'P':
		if (rsp_parse_hex(pkt + 1, &regno, &p) || *p++ != '=' || regno > 4096 ||
		    arch_gdb_reg_span((unsigned int)regno, &off, &size) || off + size > (size_t)n ||
		    strlen(p) != 2 * size || rsp_hex2bin(p, size, g->regs + off) ||
		    arch_gdb_write_regs(v, g->regs, (size_t)n)) {
			send_packet(g, "E01");
			return;
		}
		send_packet(g, "OK");
		return;
	}
}

static void close_conn(struct gdb_stub *g)
{
	if (g->conn_fd >= 0)
		close(g->conn_fd);
	g->conn_fd = -1;
}

static void handle_packet(struct gdb_stub *g, const char *pkt)
{
	int tid, step;
	bool only_t;

	switch (pkt[0]) {
	case '?':
		send_stop_reply(g);
		return;
	case 'g':
	case 'G':
	case 'p':
	case 'P':
		handle_regs(g, pkt);
		return;
	case 'm':
	case 'M':
	case 'X':
		handle_mem(g, pkt);
		return;
	case 'Z':
	case 'z':
		handle_bp(g, pkt);
		return;
	case 'c':
	case 'C':
		resume(g, -1); /* an address or signal argument is ignored */
		return;
	case 's':
	case 'S':
		resume(g, (int)cur_vcpu(g, true)->id);
		return;
	case 'H':
		/* The operation first: a bare "H" has no pkt + 2 (fuzz_gdb_rsp found it). */
		if ((pkt[1] != 'g' && pkt[1] != 'c') || (tid = parse_tid(g, pkt + 2)) == -2) {
			send_packet(g, "E01");
			return;
		}
		if (tid >= 0) {
			if (pkt[1] == 'g')
				g->g_cpu = tid;
			else
				g->c_cpu = tid;
		}
		send_packet(g, "OK");
		return;
	case 'T':
		tid = parse_tid(g, pkt + 1);
		send_packet(g, tid >= 0 ? "OK" : "E01");
		return;
	case 'q':
		handle_query(g, pkt);
		return;
	case 'Q':
		if (!strcmp(pkt, "QStartNoAckMode")) {
			send_packet(g, "OK");
			g->noack = true;
		} else {
			send_packet(g, "");
		}
		return;
	case 'v':
		if (!strcmp(pkt, "vCont?")) {
			send_packet(g, "vCont;c;C;s;S;t");
		} else if (!strncmp(pkt, "vCont;", 6)) {
			if (parse_vcont(g, pkt + 5, &step, &only_t)) {
				send_packet(g, "E01");
			} else if (only_t) {
				send_packet(g, "OK"); /* all-stop: already stopped */
			} else {
				resume(g, step);
			}
		} else if (!strncmp(pkt, "vKill", 5)) {
			send_packet(g, "OK");
			vm_request_stop(g->vm, KTVM_EXIT_OK, "killed from gdb");
		} else {
			send_packet(g, "");
		}
		return;
	case 'D':
		send_packet(g, "OK");
		release_guest(g);
		log_info("gdb", "gdb detached");
		close_conn(g);
		return;
	case 'k':
		vm_request_stop(g->vm, KTVM_EXIT_OK, "killed from gdb");
		return;
	default:
		send_packet(g, "");
	}
}

static void on_accept(struct gdb_stub *g)
{
	int fd = accept4(g->listen_fd, NULL, NULL, SOCK_CLOEXEC), one = 1;
	uid_t uid;

	if (fd < 0)
		return;
	/* unix: only ktvm's own user and root; tcp: loopback has no peer to check (docs/security.md). */
	if (g->unix_path[0] && !api_peer_allowed(fd, g->euid, &uid)) {
		static const char denied[] = "$E01#a6"; /* one error reply, then the hang-up */
		ssize_t w = send(fd, denied, sizeof(denied) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);

		(void)w;
		close(fd);
		log_warn_rl("gdb", "refused a connection from uid %ld (not ktvm's user or root)",
			    uid == (uid_t)-1 ? -1L : (long)uid);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* fails on unix: fine */
	g->conn_fd = fd;
	g->noack = false;
	rsp_init(&g->parser);
	log_info("gdb", "gdb connected");
	/* gdb expects a stopped target: stop it if it runs. */
	pthread_mutex_lock(&g->lock);
	g->running = false;
	g->event = false;
	pthread_mutex_unlock(&g->lock);
	if (stop_all(g))
		return;
	g->last_sig = GDB_SIGTRAP;
	g->last_cpu = 0;
	g->last_extra[0] = '\0';
	g->g_cpu = g->c_cpu = 0;
}

static void on_input(struct gdb_stub *g)
{
	char buf[4096];
	ssize_t n = recv(g->conn_fd, buf, sizeof(buf), 0);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		log_info("gdb", "gdb disconnected");
		close_conn(g);
		release_guest(g);
		return;
	}
	for (ssize_t i = 0; i < n && g->conn_fd >= 0; i++) {
		switch (rsp_feed(&g->parser, (uint8_t)buf[i])) {
		case RSP_PACKET:
			if (!g->noack)
				send_raw(g, "+", 1);
			handle_packet(g, g->parser.buf);
			break;
		case RSP_BAD:
			if (!g->noack)
				send_raw(g, "-", 1);
			break;
		case RSP_NACK:
			if (!g->noack)
				send_raw(g, g->wire, g->wire_len);
			break;
		case RSP_INTERRUPT:
			on_interrupt(g);
			break;
		case RSP_ACK:
		case RSP_NONE:
			break;
		}
	}
}

/* The gdb thread's own allow-list (vmm/seccomp.c, class "gdb"). */
static int gdb_seccomp_enter(void)
{
	return ktvm_seccomp_enter(KTVM_THREAD_GDB);
}

static void *gdb_thread(void *arg)
{
	struct gdb_stub *g = arg;
	struct vm *vm = g->vm;

	pthread_setname_np(pthread_self(), "ktvm-gdb");
	if (gdb_seccomp_enter()) {
		vm_request_stop(vm, KTVM_EXIT_ERROR,
				"cannot install the gdb thread's seccomp filter");
		return NULL;
	}
	while (!atomic_load(&g->quit)) {
		struct pollfd fds[3] = {
			{.fd = g->wake_fd, .events = POLLIN},
			{.fd = vm->stop_eventfd, .events = POLLIN},
			{.fd = g->conn_fd >= 0 ? g->conn_fd : g->listen_fd, .events = POLLIN},
		};

		if (poll(fds, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("gdb", "poll: %s", strerror(errno));
			break;
		}
		if (atomic_load(&g->quit))
			break;
		if (vm_stopping(vm)) {
			char buf[8];

			/* Tell gdb the "process" is gone, with ktvm's exit status. */
			snprintf(buf, sizeof(buf), "W%02x", atomic_load(&vm->stop_status) & 0xff);
			send_packet(g, buf);
			break;
		}
		if (fds[0].revents)
			on_event(g);
		if (fds[2].revents && g->conn_fd < 0)
			on_accept(g);
		else if (fds[2].revents)
			on_input(g);
	}
	close_conn(g);
	return NULL;
}

int gdb_start(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct gdb_stub *g;
	sigset_t all, old;
	int r;

	if (!cfg->gdb)
		return 0;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -1;
	g->vm = vm;
	g->euid = geteuid();
	g->listen_fd = g->conn_fd = -1;
	g->step_cpu = -1;
	g->last_sig = GDB_SIGTRAP;
	pthread_mutex_init(&g->lock, NULL);
	g->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->gdb = g;
	if (g->wake_fd < 0 || open_listener(g, cfg->gdb))
		return -1;
	if (cfg->gdb_wait) {
		/* Parked before their first KVM_RUN until gdb lets them go. */
		g->hold = true;
		vm_pause_all(vm);
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&g->thread, NULL, gdb_thread, g);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		log_err("gdb", "cannot start the gdb thread: %s", strerror(r));
		return -1;
	}
	g->thread_started = true;
	return 0;
}

void gdb_stop(struct vm *vm)
{
	struct gdb_stub *g = vm->gdb;
	uint64_t one = 1;

	if (!g)
		return;
	if (g->thread_started) {
		atomic_store(&g->quit, true);
		if (write(g->wake_fd, &one, sizeof(one)) < 0)
			log_warn("gdb", "cannot wake the gdb thread");
		pthread_join(g->thread, NULL);
	}
	close_conn(g);
	if (g->listen_fd >= 0)
		close(g->listen_fd);
	if (g->wake_fd >= 0)
		close(g->wake_fd);
	pthread_mutex_destroy(&g->lock);
	free(g);
	vm->gdb = NULL;
}
