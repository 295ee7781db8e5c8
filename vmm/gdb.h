/* SPDX-License-Identifier: MIT */
/*
 * gdb.h - the gdb remote stub (vmm/gdb.c), its packet layer (vmm/gdb_rsp.c)
 * and the architecture hooks it needs (arch/ARCH/gdb.c).
 */
#ifndef KTVM_GDB_H
#define KTVM_GDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/ktvm.h"

/* ---- the stub --------------------------------------------------------- */
/*
 * "tcp:[HOST]:PORT[,insecure]" or "unix:PATH": 0, -1 (syntax), or -2: HOST is
 * not a loopback address and ",insecure" was not given (the stub has no
 * authentication).  The CLI checks it; gdb_addr_error() says what is wrong.
 */
int gdb_parse_addr(const char *spec, char *host, size_t hostlen, unsigned int *port,
		   const char **path);
const char *gdb_addr_error(int r);
/*
 * Open the socket and start the ktvm-gdb thread (vm->gdb); with --gdb-wait,
 * the vCPUs stay paused until gdb resumes them.  Call before the vCPUs start.
 */
int gdb_start(struct vm *vm);
/* After the vCPU threads have been joined: end the thread, close everything. */
void gdb_stop(struct vm *vm);
/* A vCPU's KVM_EXIT_DEBUG (vCPU thread): 0 to go on (it then parks), 1 to stop. */
int gdb_vcpu_debug_exit(struct vcpu *v);

/* ---- packets (gdb_rsp.c) ---------------------------------------------- */
#define GDB_PACKET_MAX 16384 /* what qSupported's PacketSize says (payload bytes) */

enum rsp_event {
	RSP_NONE,      /* need more bytes */
	RSP_PACKET,    /* p->buf[0..p->len) holds a checked, unescaped payload */
	RSP_BAD,       /* checksum mismatch or overlong packet: answer '-' */
	RSP_INTERRUPT, /* 0x03 outside a packet */
	RSP_ACK,       /* '+' */
	RSP_NACK,      /* '-': resend the last packet */
};

struct rsp_parser {
	int state;
	size_t len;
	uint8_t sum;
	bool esc, overflow;
	int ncs;
	char cs[2];
	char buf[GDB_PACKET_MAX + 1]; /* NUL-terminated for convenience */
};

void rsp_init(struct rsp_parser *p);
enum rsp_event rsp_feed(struct rsp_parser *p, uint8_t c);
/* "$payload#xx" with '#', '$', '}' and '*' escaped into out: length, or 0 if out is too small. */
size_t rsp_encode(const void *payload, size_t len, char *out, size_t outmax);
/* Binary data escaped for a qXfer reply: length written, or 0 if it does not fit. */
size_t rsp_escape_bin(const void *src, size_t len, char *out, size_t outmax);
void rsp_bin2hex(const void *src, size_t len, char *out); /* writes 2*len chars + NUL */
/* 2*len hex digits into len bytes: 0, or -1. */
int rsp_hex2bin(const char *hex, size_t len, void *dst);
/* A hex number up to the first non-hex character: *end after it; 0, or -1 if none. */
int rsp_parse_hex(const char *s, uint64_t *v, const char **end);

/* ---- architecture hooks (arch/ARCH/gdb.c) ---------------------------- */
/* target.xml (one file, no includes). */
const char *arch_gdb_target_xml(void);
/* The 'g' packet's register file in target byte order: its length, or -1. */
int arch_gdb_read_regs(struct vcpu *v, uint8_t *buf, size_t max);
/* The same layout back ('G'; only what changed is written): 0, or -1. */
int arch_gdb_write_regs(struct vcpu *v, const uint8_t *buf, size_t len);
/* Where register 'regno' lies in that layout (p/P): 0, or -1 if there is none. */
int arch_gdb_reg_span(unsigned int regno, size_t *off, size_t *size);
/* Guest virtual to guest physical on v's current page tables: 0, or -1. */
int arch_gdb_translate(struct vcpu *v, uint64_t gva, uint64_t *gpa);
/*
 * Guest memory at gpa was written with instructions (a breakpoint, gdb's M/X):
 * make the guest's instruction fetches see them.  Optional: vmm/gdb.c has an
 * empty weak default (x86's caches are coherent); arm64 cleans and
 * invalidates the host mapping.
 */
void arch_gdb_code_written(struct vm *vm, uint64_t gpa, size_t len);
/* The software breakpoint instruction (x86 int3: 1 byte). */
const uint8_t *arch_gdb_sw_bp(size_t *len);

#define GDB_MAX_HW_BPS 4
enum gdb_bp_type {
	GDB_BP_SW = 0,
	GDB_BP_HW = 1,
	GDB_WATCH_WRITE = 2,
	GDB_WATCH_READ = 3,
	GDB_WATCH_ACCESS = 4
};
struct gdb_hw_bp {
	bool used;
	enum gdb_bp_type type; /* GDB_BP_HW or a watchpoint */
	uint64_t addr;
	unsigned int len;
};

/* Can the hardware watch 'len' bytes at 'addr' with one debug register? */
bool arch_gdb_hw_bp_ok(enum gdb_bp_type type, uint64_t addr, unsigned int len);
/* KVM_SET_GUEST_DEBUG for v: everything off when !enable. 0, or -1. */
int arch_gdb_set_debug(struct vcpu *v, bool enable, bool sw_bps, bool step,
		       const struct gdb_hw_bp *hw, unsigned int nhw);

/* What a KVM_EXIT_DEBUG says. */
struct gdb_debug_exit {
	uint64_t pc; /* linear address of the instruction */
	bool sw_bp;  /* a software breakpoint instruction trapped */
	bool step;   /* a single step completed */
	int hw;	     /* index of the debug register that hit, or -1 */
};
void arch_gdb_debug_exit(struct vcpu *v, struct gdb_debug_exit *out);
/* Give the exception the exit reported back to the guest (not one of ours). */
int arch_gdb_reinject(struct vcpu *v);

#endif
