// SPDX-License-Identifier: MIT
/*
 * fuzz_virtq.c - the split virtqueue (devices/virtq.c) against a hostile
 * driver: ring addresses, queue size, feature bits and the whole guest RAM
 * come from the input, then a sequence of device operations (pop, push,
 * unpop, flush, interrupt and kick decisions) interleaved with guest writes.
 *
 * Input: 16-byte header | nops | nops x 4-byte op | guest RAM image (from GPA 0).
 * Checked: every chain popped points only into guest RAM, its byte counts
 * add up, its head is inside the ring; nothing loops or crashes.
 */
#include "devices/virtq.h"
#include "tests/fuzz/fuzz.h"

#define REGION  KiB(64)
#define HIGH    0x100000ULL /* second RAM region: rings may straddle the hole */

static struct vm vm;
static struct virtq_chain chain;
static const struct mem_region layout[] = {{.gpa = 0, .size = REGION},
					   {.gpa = HIGH, .size = REGION}};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_vm_init(&vm, 2 * REGION, layout, ARRAY_SIZE(layout));
	return 0;
}

static uint64_t pick_gpa(struct fuzz_in *in)
{
	uint8_t sel = fz_u8(in);
	uint16_t off = fz_u16(in);

	if (sel & 0x80)
		return fz_u64(in) ^ off; /* anything at all */
	return ((sel & 1) ? HIGH : 0) + off;
}

static void check_chain(const struct virtq *q, const struct virtq_chain *c)
{
	uint64_t out = 0, in = 0;

	FUZZ_CHECK(c->head < q->size);
	FUZZ_CHECK((unsigned int)c->n_out + c->n_in <= VIRTQ_MAX_CHAIN);
	for (unsigned int i = 0; i < (unsigned int)c->n_out + c->n_in; i++) {
		FUZZ_CHECK(c->iov[i].iov_len > 0);
		FUZZ_CHECK(fuzz_in_guest(&vm.mem, c->iov[i].iov_base, c->iov[i].iov_len));
		if (i < c->n_out)
			out += c->iov[i].iov_len;
		else
			in += c->iov[i].iov_len;
	}
	FUZZ_CHECK(out == c->out_bytes && in == c->in_bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct virtq q;
	uint8_t flags, sz, nops;
	const uint8_t *ops;
	unsigned int outstanding = 0;
	uint16_t last_head = 0;
	uint32_t last_in = 0;

	memset(vm.mem.base, 0, vm.mem.size);
	virtq_init(&q, &vm.mem, VIRTQ_MAX_SIZE);
	flags = fz_u8(&in);
	sz = fz_u8(&in);
	q.size = (sz & 0x80) ? fz_u16(&in) : (uint16_t)(1u << (sz % 11));
	q.event_idx = flags & 1;
	q.indirect = flags & 2;
	q.desc_gpa = pick_gpa(&in);
	q.avail_gpa = pick_gpa(&in);
	q.used_gpa = pick_gpa(&in);
	nops = fz_u8(&in);
	ops = in.p;
	if (in.left < 4u * nops)
		return 0;
	in.p += 4u * nops;
	in.left -= 4u * nops;
	/* The rest is guest RAM as the driver left it. */
	fz_bytes(&in, vm.mem.base, in.left < vm.mem.size ? in.left : vm.mem.size);

	if (virtq_enable(&q))
		return 0;
	for (unsigned int i = 0; i < nops; i++) {
		const uint8_t *op = ops + 4 * i;
		uint16_t arg = (uint16_t)(op[2] | op[3] << 8);
		int r;

		switch (op[0] % 12) {
		case 0:
		case 1:
		case 2:
			r = virtq_pop(&q, &chain);
			FUZZ_CHECK(r >= -1 && r <= 1);
			FUZZ_CHECK(r >= 0 || q.broken);
			if (r == 1) {
				check_chain(&q, &chain);
				outstanding++;
				last_head = chain.head;
				last_in = chain.in_bytes;
			}
			break;
		case 3:
			if (outstanding) {
				virtq_push(&q, last_head, arg < last_in ? arg : last_in);
				outstanding--;
			}
			break;
		case 4: {
			uint16_t n = (uint16_t)(op[1] % 4);

			if (n > outstanding)
				n = (uint16_t)outstanding;
			virtq_unpop(&q, n);
			outstanding -= n;
			break;
		}
		case 5:
			virtq_flush(&q);
			break;
		case 6:
			(void)virtq_should_interrupt(&q);
			break;
		case 7:
			(void)virtq_has_avail(&q);
			break;
		case 8:
			virtq_disable_kicks(&q);
			break;
		case 9:
			(void)virtq_enable_kicks(&q);
			break;
		case 10: {
			/* The guest writes a byte of RAM behind the device's back. */
			uint64_t gpa = (op[1] & 1 ? HIGH : 0) + arg;
			uint8_t *p = gmem_ptr(&vm.mem, gpa, 1);

			if (p)
				*p = op[1];
			break;
		}
		case 11:
			/* Reset and enable again (the driver re-initialises the queue). */
			virtq_reset(&q);
			q.size = (uint16_t)(1u << (op[1] % 11));
			q.event_idx = flags & 1;
			q.indirect = flags & 2;
			q.desc_gpa = 0;
			q.avail_gpa = 0x4000;
			q.used_gpa = 0x8000;
			outstanding = 0;
			if (virtq_enable(&q))
				return 0;
			break;
		}
	}
	return 0;
}
