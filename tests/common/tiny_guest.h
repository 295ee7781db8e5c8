/* SPDX-License-Identifier: MIT */
/*
 * tiny_guest.h - for the tests that run ktvm itself natively: a PVH ELF of
 * a few bytes of 32-bit code (a KVM that cannot boot Linux, kvm_pvm, still
 * runs it) and the path of build/ARCH/ktvm-testhooks beside the test binary.
 */
#ifndef KTVM_TESTS_TINY_GUEST_H
#define KTVM_TESTS_TINY_GUEST_H

#include <stddef.h>
#include <stdint.h>

/* Write to fd a PVH ELF whose 32-bit entry (at 1 MiB) runs 'code': 0 or -1. */
int tiny_guest_write(int fd, const uint8_t *code, size_t len);
/* build/ARCH/tests/test_X -> build/ARCH/ktvm-testhooks, into buf: 0 or -1. */
int tiny_guest_ktvm_testhooks(char *buf, size_t len);
/* CLOCK_MONOTONIC in ms (the tests' bounded waits). */
int64_t tiny_guest_now_ms(void);

#endif
