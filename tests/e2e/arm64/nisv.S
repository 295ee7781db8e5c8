// SPDX-License-Identifier: MIT
// nisv.S - a tiny arm64 Image for the kvm-error case (run.sh assembles it):
// a store pair to 0x0b000000, where ktvm's guest has neither RAM nor a
// device.  A load/store pair carries no instruction syndrome (ESR ISV = 0),
// so KVM cannot hand it to ktvm as an MMIO exit: without
// KVM_CAP_ARM_NISV_TO_USER, KVM_RUN fails with ENOSYS.  ktvm must end with
// status 1 and a register dump whose PC is the label `fault' (the dump's
// expected PC = RAM base 0x40000000 + text_offset 0 + its offset; run.sh
// reads it with nm).
	.text
	.globl	_start
_start:
	b	entry			// 0x00 code0
	.word	0			// 0x04 code1
	.quad	0			// 0x08 text_offset
	.quad	image_end - _start	// 0x10 image_size
	.quad	0xa			// 0x18 flags: little-endian, 4 KiB pages, anywhere in RAM
	.quad	0, 0, 0			// 0x20 res2..res4
	.ascii	"ARM\x64"		// 0x38 magic
	.word	0			// 0x3c res5
entry:
	movz	x1, #0x0b00, lsl #16	// 0x0b000000: no RAM, no device
	movz	x2, #0x1234
	movz	x3, #0x5678
	.globl	fault
fault:
	stp	x2, x3, [x1]		// ISV = 0: KVM_RUN -> ENOSYS
	b	.
	.balign	16
image_end:
