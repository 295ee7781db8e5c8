// SPDX-License-Identifier: MIT
/*
 * rsp-probe.c - a minimal gdb remote-protocol client for the arm64 gdb case
 * (the arm64 venue has no gdb; run.sh cross-builds this statically).
 *
 *   rsp-probe SOCKET        (a unix socket: ktvm --gdb unix:SOCKET --gdb-wait)
 *
 * Against a guest stopped at the Image's first instruction (MMU off), it
 * checks, in order: qSupported; target.xml has org.gnu.gdb.aarch64.core;
 * '?' is a stop; 'g' is 788 bytes (x0-x30 sp pc cpsr v0-v31 fpsr fpcr) with
 * pc at the Image entry and EL1h in cpsr; 'm' at pc reads the instruction;
 * 's' twice: pc + 4, then the target of the B at code1 (decoded from memory);
 * 'G' with the same registers is accepted; a software breakpoint (Z0) one
 * instruction after the branch target is hit by 'c' (swbreak, pc there) and
 * removed (z0); a hardware breakpoint (Z1) on the next instruction is hit
 * the same way (hwbreak); then 'D' detaches and the guest runs on.
 * Prints "RSP-PROBE: key=value ..." lines; exit 0 when every check passed.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int fd = -1;
static char reply[65536];

static void die(const char *fmt, ...)
{
	va_list ap;

	printf("RSP-PROBE: FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

static int getch(void)
{
	unsigned char c;
	ssize_t n;

	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		die("connection closed");
	return c;
}

static void send_packet(const char *p)
{
	char buf[8192];
	unsigned int sum = 0;
	int n, c;

	for (const char *q = p; *q; q++)
		sum += (unsigned char)*q;
	n = snprintf(buf, sizeof(buf), "$%s#%02x", p, sum & 0xff);
	if (write(fd, buf, (size_t)n) != n)
		die("write failed");
	while ((c = getch()) != '+')
		if (c == '-' && write(fd, buf, (size_t)n) != n)
			die("write failed");
}

/* The next packet's payload into reply (acked). */
static const char *recv_packet(void)
{
	size_t n = 0;
	int c;

	while ((c = getch()) != '$')
		;
	while ((c = getch()) != '#') {
		if (c == '}')
			c = getch() ^ 0x20;
		if (n + 1 < sizeof(reply))
			reply[n++] = (char)c;
	}
	reply[n] = '\0';
	getch();
	getch();
	if (write(fd, "+", 1) != 1 && strcmp(reply, "OK"))
		die("write failed"); /* but the ack of D's OK may find the socket closed */
	return reply;
}

static const char *cmd(const char *p)
{
	send_packet(p);
	return recv_packet();
}

static uint64_t le(const char *hex, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes; i++) {
		unsigned int b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			die("bad hex '%.16s'", hex);
		v |= (uint64_t)b << (8 * i);
	}
	return v;
}

static char regs[8192];

static uint64_t read_pc(uint32_t *cpsr)
{
	const char *r = cmd("g");

	if (strlen(r) != 2 * 788)
		die("'g' gave %zu hex digits, want %d (%.8s)", strlen(r), 2 * 788, r);
	snprintf(regs, sizeof(regs), "%s", r);
	if (cpsr)
		*cpsr = (uint32_t)le(r + 2 * 264, 4);
	return le(r + 2 * 256, 8);
}

/* Resume with PKT ("s" or "c") and wait for a T stop: the reply. */
static const char *resume(const char *pkt)
{
	static char stop[256];
	const char *r = cmd(pkt);

	if (r[0] != 'T' && r[0] != 'S')
		die("'%s' answered '%s', want a stop", pkt, r);
	snprintf(stop, sizeof(stop), "%s", r); /* reply[] is reused by the next command */
	return stop;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char buf[128], xml[16384] = "";
	const char *r;
	uint64_t pc0, pc1, pc2, pc3, pc4, insn, target;
	uint32_t cpsr;
	int i;

	setvbuf(stdout, NULL, _IONBF, 0); /* a timeout's kill must not lose the output */
	signal(SIGPIPE, SIG_IGN);	  /* the stub closes right after its OK to 'D' */
	if (argc != 2)
		die("usage: rsp-probe SOCKET");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	for (i = 0; i < 300; i++) { /* up to 30 s for ktvm to listen */
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		close(fd);
		fd = -1;
		usleep(100000);
	}
	if (fd < 0)
		die("cannot connect to %s", argv[1]);

	printf("RSP-PROBE: connected\n");
	r = cmd("qSupported:swbreak+;hwbreak+;xmlRegisters=aarch64");
	if (!strstr(r, "PacketSize") || !strstr(r, "qXfer:features:read+"))
		die("qSupported: '%s'", r);
	for (size_t off = 0;;) { /* target.xml, in chunks */
		snprintf(buf, sizeof(buf), "qXfer:features:read:target.xml:%zx,800", off);
		r = cmd(buf);
		if ((r[0] != 'm' && r[0] != 'l') || off + strlen(r + 1) >= sizeof(xml))
			die("target.xml: '%.40s'", r);
		strcat(xml, r + 1);
		off += strlen(r + 1);
		if (r[0] == 'l')
			break;
	}
	if (!strstr(xml, "<architecture>aarch64</architecture>") ||
	    !strstr(xml, "org.gnu.gdb.aarch64.core") || !strstr(xml, "org.gnu.gdb.aarch64.fpu"))
		die("target.xml lacks aarch64 core/fpu: %.80s", xml);
	r = cmd("?");
	if (r[0] != 'T' && r[0] != 'S')
		die("'?' answered '%s'", r);

	pc0 = read_pc(&cpsr);
	if ((cpsr & 0xf) != 5)
		die("cpsr 0x%x: not EL1h", cpsr);
	snprintf(buf, sizeof(buf), "m%llx,4", (unsigned long long)pc0);
	r = cmd(buf);
	if (strlen(r) != 8)
		die("'m' at pc 0x%llx: '%s'", (unsigned long long)pc0, r);
	insn = le(r, 4);
	printf("RSP-PROBE: pc0=0x%llx cpsr=0x%x insn0=0x%08llx\n", (unsigned long long)pc0, cpsr,
	       (unsigned long long)insn);

	resume("s");
	pc1 = read_pc(NULL);
	if (pc1 != pc0 + 4)
		die("stepi from 0x%llx went to 0x%llx, want +4", (unsigned long long)pc0,
		    (unsigned long long)pc1);
	snprintf(buf, sizeof(buf), "m%llx,4", (unsigned long long)pc1);
	insn = le(cmd(buf), 4);
	if ((insn >> 26) != 0x05) /* B imm26: the Image's code1 */
		die("instruction at 0x%llx is 0x%08llx, not a B", (unsigned long long)pc1,
		    (unsigned long long)insn);
	target = pc1 + (uint64_t)((int64_t)((insn & 0x3ffffff) << 38) >> 36);
	resume("s");
	pc2 = read_pc(NULL);
	if (pc2 != target)
		die("stepi over the B at 0x%llx went to 0x%llx, want 0x%llx",
		    (unsigned long long)pc1, (unsigned long long)pc2, (unsigned long long)target);
	printf("RSP-PROBE: step1=0x%llx step2=0x%llx (branch target)\n", (unsigned long long)pc1,
	       (unsigned long long)pc2);

	/* G with what g said: accepted, nothing changes. */
	{
		static char g[sizeof(regs) + 8];

		snprintf(g, sizeof(g), "G%s", regs);
		r = cmd(g);
		if (strcmp(r, "OK"))
			die("'G' answered '%s'", r);
	}
	if (read_pc(NULL) != pc2)
		die("pc changed after G");

	/* A software breakpoint after the branch target's instruction (a BL that returns). */
	snprintf(buf, sizeof(buf), "Z0,%llx,4", (unsigned long long)(pc2 + 4));
	r = cmd(buf);
	if (strcmp(r, "OK"))
		die("'%s' answered '%s'", buf, r);
	r = resume("c");
	pc3 = read_pc(NULL);
	if (pc3 != pc2 + 4 || !strstr(r, "swbreak"))
		die("continue to the breakpoint at 0x%llx stopped at 0x%llx ('%s')",
		    (unsigned long long)(pc2 + 4), (unsigned long long)pc3, r);
	snprintf(buf, sizeof(buf), "z0,%llx,4", (unsigned long long)(pc2 + 4));
	if (strcmp(cmd(buf), "OK"))
		die("'%s' failed", buf);
	snprintf(buf, sizeof(buf), "m%llx,4", (unsigned long long)pc3);
	r = cmd(buf);
	if (le(r, 4) == 0xd4200000)
		die("the BRK is still in memory after z0");
	printf("RSP-PROBE: swbreak=0x%llx\n", (unsigned long long)pc3);

	/* A hardware breakpoint on the instruction after that one. */
	snprintf(buf, sizeof(buf), "Z1,%llx,4", (unsigned long long)(pc3 + 4));
	r = cmd(buf);
	if (strcmp(r, "OK"))
		die("'%s' answered '%s'", buf, r);
	r = resume("c");
	pc4 = read_pc(NULL);
	if (pc4 != pc3 + 4 || !strstr(r, "hwbreak"))
		die("continue to the hardware breakpoint at 0x%llx stopped at 0x%llx ('%s')",
		    (unsigned long long)(pc3 + 4), (unsigned long long)pc4, r);
	snprintf(buf, sizeof(buf), "z1,%llx,4", (unsigned long long)(pc3 + 4));
	if (strcmp(cmd(buf), "OK"))
		die("'%s' failed", buf);
	printf("RSP-PROBE: hwbreak=0x%llx\n", (unsigned long long)pc4);

	if (strcmp(cmd("D"), "OK"))
		die("'D' failed");
	printf("RSP-PROBE: ok\n");
	return 0;
}
