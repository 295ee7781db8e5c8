/* SPDX-License-Identifier: MIT */
/*
 * sanitized.h - KTVM_SANITIZED is 1 in an ASan build (make SANITIZE=1).
 * Tests that run ktvm itself with its seccomp lists skip then: the
 * sanitizer runtime makes syscalls no thread class allows (SIGSYS).
 */
#ifndef KTVM_TESTS_SANITIZED_H
#define KTVM_TESTS_SANITIZED_H

#if defined(__SANITIZE_ADDRESS__)
#define KTVM_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KTVM_SANITIZED 1
#endif
#endif
#ifndef KTVM_SANITIZED
#define KTVM_SANITIZED 0
#endif

#endif
