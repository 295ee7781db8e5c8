/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - what the libFuzzer targets under tests/fuzz/ share: the entry
 * point's prototype, a byte reader over the fuzz input, a small VM with
 * guest RAM and I/O buses (no KVM: every KVM call is stubbed in stubs.c and
 * routed there with -Wl,--wrap, like the unit tests do) and invariant checks
 * that abort (a crash libFuzzer records) when they fail.
 */
#ifndef KTVM_FUZZ_H
#define KTVM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmm/ktvm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Abort with a message: a violated invariant is a finding. */
#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                    \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* Consume the input front to back; past the end everything reads 0. */
struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline uint64_t fz_uint(struct fuzz_in *in, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes && in->left; i++, in->left--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

static inline uint8_t fz_u8(struct fuzz_in *in)
{
	return (uint8_t)fz_uint(in, 1);
}

static inline uint16_t fz_u16(struct fuzz_in *in)
{
	return (uint16_t)fz_uint(in, 2);
}

static inline uint32_t fz_u32(struct fuzz_in *in)
{
	return (uint32_t)fz_uint(in, 4);
}

static inline uint64_t fz_u64(struct fuzz_in *in)
{
	return fz_uint(in, 8);
}

/* Up to n bytes into dst (the rest zeroed); returns how many came from the input. */
static inline size_t fz_bytes(struct fuzz_in *in, void *dst, size_t n)
{
	size_t k = n < in->left ? n : in->left;

	memcpy(dst, in->p, k);
	memset((uint8_t *)dst + k, 0, n - k);
	in->p += k;
	in->left -= k;
	return k;
}

/*
 * A VM shell for device models: guest RAM per 'layout' (total 'size'), the
 * PIO and MMIO buses, no KVM fds.  Once per process (targets keep it).
 */
void fuzz_vm_init(struct vm *vm, uint64_t size, const struct mem_region *layout, unsigned int n);

/* vm_request_stop() calls so far (stubs.c counts them) and the last one's status. */
extern unsigned int fuzz_stop_requests;
extern int fuzz_stop_status;

/* Does [p, p + len) lie inside guest RAM?  For checking what devices hand out. */
bool fuzz_in_guest(const struct guest_mem *m, const void *p, size_t len);

#endif
