// SPDX-License-Identifier: MIT
/*
 * fuzz_gdb_rsp.c - the gdb stub's packet handler (vmm/gdb.c handle_packet,
 * #included for its statics), after framing: what a gdb on the other end
 * of --gdb may send.  Two vCPUs that never run, 16 KiB of guest RAM with a
 * hole, guest virtual = guest physical, and a register file per vCPU in
 * place of KVM's (the arch hooks that would call KVM are redirected here;
 * target.xml, the register layout and the breakpoint rules are the real
 * arch/ARCH/gdb.c's).  Replies go to a socketpair and are read back.
 *
 * Input: packets, each a 2-byte little-endian length (capped at
 * GDB_PACKET_MAX) and that many payload bytes, as the framing layer hands
 * them over (unescaped, NUL-terminated, in a heap buffer of exactly that
 * size, so ASan sees any read past the packet).
 *
 * Checked after every packet:
 *  - the reply bytes are whole packets "$payload#xx" with a correct
 *    checksum, decoding to at most GDB_PACKET_MAX bytes; exactly one reply,
 *    except for the packets that resume or kill (c C s S vCont k: none, or
 *    an error);
 *  - a malformed or unsupported packet (answered "E01" or "") changes
 *    nothing: guest RAM, registers, breakpoints, thread selection, no-ack
 *    mode, pause state, stop requests;
 *  - guest RAM changes only inside an M/X packet's range, a Z0/z0
 *    breakpoint's instruction, or (D) where breakpoints were removed; no
 *    other packet writes guest memory;
 *  - every software breakpoint lies in guest RAM.
 */
#include <fcntl.h>
#include <sys/socket.h>

/* KVM-facing hooks, redirected to the fakes below (declarations included). */
#define arch_gdb_translate  fuzz_gdb_translate
#define arch_gdb_read_regs  fuzz_gdb_read_regs
#define arch_gdb_write_regs fuzz_gdb_write_regs
#define arch_gdb_set_debug  fuzz_gdb_set_debug
#define vm_request_stop	    fuzz_request_stop
#include "vmm/gdb.c" // NOLINT(bugprone-suspicious-include): its statics too
#include "tests/fuzz/fuzz.h"

#define NCPUS	 2
#define RAM_SIZE KiB(16)
#define REGS_MAX 4096

static struct vm vm;
static struct vcpu vcpus[NCPUS];
static struct gdb_stub *g;
static int peer = -1;
static uint8_t regfile[NCPUS][REGS_MAX];
static size_t regs_size;
static unsigned int stops;
static const struct mem_region layout[] = {
	{.gpa = 0, .size = KiB(8)}, {.gpa = KiB(12), .size = KiB(8)}, /* a hole at [8K, 12K) */
};
static uint8_t ram_before[RAM_SIZE];
static uint8_t wire[4 * GDB_PACKET_MAX + 64];

int fuzz_gdb_translate(struct vcpu *v, uint64_t gva, uint64_t *gpa)
{
	FUZZ_CHECK(v >= vcpus && v < vcpus + NCPUS);
	*gpa = gva;
	return 0;
}

int fuzz_gdb_read_regs(struct vcpu *v, uint8_t *buf, size_t max)
{
	FUZZ_CHECK(v >= vcpus && v < vcpus + NCPUS);
	FUZZ_CHECK(max >= regs_size);
	memcpy(buf, regfile[v->id], regs_size);
	return (int)regs_size;
}

int fuzz_gdb_write_regs(struct vcpu *v, const uint8_t *buf, size_t len)
{
	FUZZ_CHECK(v >= vcpus && v < vcpus + NCPUS);
	FUZZ_CHECK(len == regs_size);
	memcpy(regfile[v->id], buf, len);
	return 0;
}

int fuzz_gdb_set_debug(struct vcpu *v, bool enable, bool sw_bps, bool step,
		       const struct gdb_hw_bp *hw, unsigned int nhw)
{
	FUZZ_CHECK(v >= vcpus && v < vcpus + NCPUS);
	FUZZ_CHECK(nhw == GDB_MAX_HW_BPS);
	return 0;
}

void fuzz_request_stop(struct vm *v, int status, const char *fmt, ...)
{
	stops++;
}

static void connect_pair(void)
{
	int sv[2];

	FUZZ_CHECK(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	g->conn_fd = sv[0];
	peer = sv[1];
	FUZZ_CHECK(!fcntl(peer, F_SETFL, O_NONBLOCK));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t off, size;

	fuzz_vm_init(&vm, RAM_SIZE, layout, ARRAY_SIZE(layout));
	FUZZ_CHECK(!vm_pause_init(&vm));
	for (unsigned int i = 0; i < NCPUS; i++)
		vcpus[i] = (struct vcpu){.vm = &vm, .id = i, .fd = -1};
	vm.vcpus = vcpus;
	vm.ncpus = NCPUS;
	/* The register file is as long as the arch's layout says. */
	for (unsigned int r = 0; !arch_gdb_reg_span(r, &off, &size); r++)
		if (off + size > regs_size)
			regs_size = off + size;
	FUZZ_CHECK(regs_size > 0 && regs_size <= REGS_MAX);
	g = calloc(1, sizeof(*g));
	FUZZ_CHECK(g);
	g->vm = &vm;
	g->listen_fd = g->wake_fd = -1;
	pthread_mutex_init(&g->lock, NULL);
	return 0;
}

/* Each input starts from a connected, stopped, breakpoint-free stub. */
static void reset(void)
{
	if (g->conn_fd >= 0)
		close(g->conn_fd);
	if (peer >= 0)
		close(peer);
	g->conn_fd = peer = -1;
	/* Whatever a previous input left held is given back. */
	while (vm_paused(&vm))
		vm_resume_all(&vm);
	g->hold = true;
	vm_pause_all(&vm);
	g->running = g->event = false;
	g->step_cpu = -1;
	g->noack = false;
	g->g_cpu = g->c_cpu = 0;
	g->last_sig = GDB_SIGTRAP;
	g->last_cpu = 0;
	g->last_extra[0] = '\0';
	memset(g->sw, 0, sizeof(g->sw));
	memset(g->hw, 0, sizeof(g->hw));
	memset(vm.mem.base, 0x90, vm.mem.size);
	for (unsigned int i = 0; i < NCPUS; i++)
		memset(regfile[i], 0x11 * (i + 1), regs_size);
	stops = 0;
	connect_pair();
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* the stub sends lowercase checksums */
}

/*
 * Read every reply byte and check it is whole, well-formed packets; the
 * last one's payload (decoded: '}' escapes, '*' run lengths) into out.
 * Returns how many packets there were.
 */
static int read_replies(char *out, size_t outmax, size_t *outlen)
{
	size_t n = 0, i = 0;
	ssize_t r;
	int count = 0;

	while (n < sizeof(wire) && (r = read(peer, wire + n, sizeof(wire) - n)) > 0)
		n += (size_t)r;
	FUZZ_CHECK(n < sizeof(wire)); /* a reply can never be this long */
	*outlen = 0;
	while (i < n) {
		uint8_t sum = 0;
		size_t dlen = 0;
		int hi, lo;

		FUZZ_CHECK(wire[i] == '$');
		for (i++; i < n && wire[i] != '#'; i++) {
			uint8_t c = wire[i];

			FUZZ_CHECK(c != '$'); /* escaped in payloads */
			sum += c;
			if (c == '}') {
				FUZZ_CHECK(i + 1 < n && wire[i + 1] != '#');
				sum += wire[++i];
				c = wire[i] ^ 0x20;
			} else if (c == '*') {
				FUZZ_CHECK(dlen > 0 && i + 1 < n);
				sum += wire[++i];
				FUZZ_CHECK(wire[i] >= 29 + 3 && wire[i] <= 126);
				dlen += (size_t)(wire[i] - 29);
				continue;
			}
			if (dlen < outmax)
				out[dlen] = (char)c;
			dlen++;
		}
		FUZZ_CHECK(i + 3 <= n); /* '#' and two checksum digits */
		hi = hexval(wire[i + 1]);
		lo = hexval(wire[i + 2]);
		FUZZ_CHECK(hi >= 0 && lo >= 0);
		FUZZ_CHECK(((hi << 4) | lo) == sum);
		FUZZ_CHECK(dlen <= GDB_PACKET_MAX);
		*outlen = dlen < outmax ? dlen : outmax;
		i += 3;
		count++;
	}
	return count;
}

struct snapshot {
	uint8_t regs[NCPUS][REGS_MAX];
	struct gdb_sw_bp sw[GDB_MAX_SW_BPS];
	struct gdb_hw_bp hw[GDB_MAX_HW_BPS];
	int g_cpu, c_cpu, step_cpu;
	bool noack, hold, running, paused;
	unsigned int stops;
	bool connected;
};

static void take(struct snapshot *s)
{
	memcpy(ram_before, vm.mem.base, RAM_SIZE);
	memcpy(s->regs, regfile, sizeof(regfile));
	memcpy(s->sw, g->sw, sizeof(g->sw));
	memcpy(s->hw, g->hw, sizeof(g->hw));
	s->g_cpu = g->g_cpu;
	s->c_cpu = g->c_cpu;
	s->step_cpu = g->step_cpu;
	s->noack = g->noack;
	s->hold = g->hold;
	s->running = g->running;
	s->paused = vm_paused(&vm);
	s->stops = stops;
	s->connected = g->conn_fd >= 0;
}

static bool same_sw(const struct gdb_sw_bp *a, const struct gdb_sw_bp *b)
{
	if (a->used != b->used)
		return false;
	return !a->used || (a->addr == b->addr && a->gpa == b->gpa && a->len == b->len &&
			    !memcmp(a->orig, b->orig, a->len));
}

static bool same_hw(const struct gdb_hw_bp *a, const struct gdb_hw_bp *b)
{
	return a->used == b->used &&
	       (!a->used || (a->type == b->type && a->addr == b->addr && a->len == b->len));
}

static void check_unchanged(const struct snapshot *s)
{
	FUZZ_CHECK(!memcmp(ram_before, vm.mem.base, RAM_SIZE));
	FUZZ_CHECK(!memcmp(s->regs, regfile, sizeof(regfile)));
	for (unsigned int i = 0; i < GDB_MAX_SW_BPS; i++)
		FUZZ_CHECK(same_sw(&s->sw[i], &g->sw[i]));
	for (unsigned int i = 0; i < GDB_MAX_HW_BPS; i++)
		FUZZ_CHECK(same_hw(&s->hw[i], &g->hw[i]));
	FUZZ_CHECK(s->g_cpu == g->g_cpu && s->c_cpu == g->c_cpu && s->step_cpu == g->step_cpu);
	FUZZ_CHECK(s->noack == g->noack && s->hold == g->hold && s->running == g->running);
	FUZZ_CHECK(s->paused == vm_paused(&vm));
	FUZZ_CHECK(s->stops == stops);
	FUZZ_CHECK(s->connected == (g->conn_fd >= 0));
}

/* The guest-physical address of byte 'off' of the RAM block (layout[] order). */
static uint64_t off_to_gpa(size_t off)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(layout); i++) {
		if (off < layout[i].size)
			return layout[i].gpa + off;
		off -= layout[i].size;
	}
	FUZZ_CHECK(0);
	return 0;
}

/* Guest RAM may have changed only in the guest-physical ranges allowed[0..n). */
static void check_ram_changes(const uint64_t (*allowed)[2], unsigned int n)
{
	if (!memcmp(ram_before, vm.mem.base, RAM_SIZE))
		return;
	for (size_t off = 0; off < RAM_SIZE; off++) {
		uint64_t a = off_to_gpa(off);
		bool ok = false;

		if (ram_before[off] == vm.mem.base[off])
			continue;
		for (unsigned int i = 0; i < n && !ok; i++)
			ok = a >= allowed[i][0] && a < allowed[i][1];
		if (!ok) {
			fprintf(stderr, "guest RAM changed at gpa %#llx\n", (unsigned long long)a);
			FUZZ_CHECK(ok);
		}
	}
}

/* "m/M/X ADDR,LEN...": the range it names, or false if it does not parse. */
static bool mem_range(const char *pkt, uint64_t r[2])
{
	uint64_t addr, len;
	const char *p = pkt + 1;

	if (rsp_parse_hex(p, &addr, &p) || *p++ != ',' || rsp_parse_hex(p, &len, &p))
		return false;
	r[0] = addr;
	r[1] = addr + len < addr ? UINT64_MAX : addr + len;
	return true;
}

static void one_packet(const uint8_t *data, size_t len)
{
	static uint64_t allowed[GDB_MAX_SW_BPS + 1][2];
	char *pkt = malloc(len + 1), reply[64];
	struct snapshot before;
	size_t rlen;
	unsigned int nallowed = 0;
	bool resumes, error;
	int nreplies;

	FUZZ_CHECK(pkt);
	memcpy(pkt, data, len);
	pkt[len] = '\0';
	/* As rsp_feed leaves it: the payload in the parser's buffer, its length. */
	memcpy(g->parser.buf, data, len);
	g->parser.buf[len] = '\0';
	g->parser.len = len;
	take(&before);

	handle_packet(g, pkt);

	nreplies = before.connected ? read_replies(reply, sizeof(reply) - 1, &rlen) : 0;
	reply[nreplies ? rlen : 0] = '\0';
	resumes =
		strchr("cCsSk", pkt[0]) || !strncmp(pkt, "vCont;", 6) || !strncmp(pkt, "vKill", 5);
	FUZZ_CHECK(nreplies <= 1);
	if (before.connected && !resumes && pkt[0])
		FUZZ_CHECK(nreplies == 1);
	error = nreplies == 1 && (!strcmp(reply, "E01") || !reply[0]);
	if (error)
		check_unchanged(&before);

	/* Where guest RAM may have been written. */
	if (pkt[0] == 'M' || pkt[0] == 'X') {
		if (mem_range(pkt, allowed[0]))
			nallowed = 1;
	} else if (pkt[0] == 'Z' || pkt[0] == 'z') {
		uint64_t type, addr;
		const char *p = pkt + 1;

		/* A software breakpoint (type 0, however many zeros) writes its instruction. */
		if (!rsp_parse_hex(p, &type, &p) && type == 0 && *p++ == ',' &&
		    !rsp_parse_hex(p, &addr, NULL)) {
			allowed[0][0] = addr;
			allowed[0][1] = addr + 16 < addr ? UINT64_MAX : addr + 16;
			nallowed = 1;
		}
	} else if (pkt[0] == 'D') {
		for (unsigned int i = 0; i < GDB_MAX_SW_BPS; i++)
			if (before.sw[i].used) {
				allowed[nallowed][0] = before.sw[i].gpa;
				allowed[nallowed][1] = before.sw[i].gpa + before.sw[i].len;
				nallowed++;
			}
	}
	check_ram_changes(allowed, nallowed);
	for (unsigned int i = 0; i < GDB_MAX_SW_BPS; i++)
		if (g->sw[i].used)
			FUZZ_CHECK(gmem_ptr(&vm.mem, g->sw[i].gpa, g->sw[i].len));
	FUZZ_CHECK(g->g_cpu >= 0 && g->g_cpu < NCPUS && g->c_cpu >= 0 && g->c_cpu < NCPUS);
	free(pkt);
	/* D hangs up: the next packet comes on a new connection. */
	if (g->conn_fd < 0) {
		if (peer >= 0)
			close(peer);
		connect_pair();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};

	reset();
	while (in.left >= 2) {
		size_t len = fz_u16(&in);

		if (len > GDB_PACKET_MAX)
			len = GDB_PACKET_MAX;
		if (len > in.left)
			len = in.left;
		one_packet(in.p, len);
		in.p += len;
		in.left -= len;
	}
	return 0;
}
