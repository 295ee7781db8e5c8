/* SPDX-License-Identifier: MIT */
/*
 * seccomp.h - per-thread-class syscall allow-lists (libseccomp), and the
 * capability / user drop (caps.c) that precedes them.  See vmm/seccomp.c
 * for the lists and the installation order.
 */
#ifndef KTVM_SECCOMP_H
#define KTVM_SECCOMP_H

#include <stdbool.h>
#include <sys/types.h>

enum ktvm_seccomp_mode {
	KTVM_SECCOMP_ON = 0, /* default: a syscall outside the list kills ktvm */
	KTVM_SECCOMP_LOG,    /* allowed, but logged by the kernel (dmesg / audit) */
	KTVM_SECCOMP_OFF,    /* no filters */
};

/* Thread classes: each has its own allow-list. */
enum ktvm_thread_class {
	KTVM_THREAD_NONE = 0,	/* no filter of its own yet (inherited only) */
	KTVM_THREAD_MAIN,	/* the main thread's event loop and teardown */
	KTVM_THREAD_VCPU,	/* KVM_RUN and the exit handlers (device registers) */
	KTVM_THREAD_NET_CTL,	/* virtio-net control queue thread */
	KTVM_THREAD_NET_WORKER, /* virtio-net queue pair data path */
	KTVM_THREAD_GDB,	/* the gdb stub: its socket, parked vCPUs' registers */
	KTVM_THREAD_NCLASSES
};

/* "on" / "log" / "off" into *out: 0, or -1. */
int ktvm_seccomp_parse_mode(const char *s, enum ktvm_seccomp_mode *out);
const char *ktvm_seccomp_mode_name(enum ktvm_seccomp_mode mode);
const char *ktvm_thread_class_name(enum ktvm_thread_class cls);

/*
 * Compile every class's filter and install the SIGSYS reporter.  Main
 * thread, after setup and before any thread is created.  Until this is
 * called (unit tests, fuzzers) ktvm_seccomp_enter() does nothing.  0 or -1.
 */
int ktvm_seccomp_setup(enum ktvm_seccomp_mode mode);
/*
 * Install class 'cls's filter on the calling thread (only): first thing in
 * a thread's function, before it touches anything the guest controls.
 * 0, or -1 after logging (the caller must then not go on).
 */
int ktvm_seccomp_enter(enum ktvm_thread_class cls);
/*
 * Make one syscall that no class allows, for tests: "getppid", "openat"
 * (/proc/self/mem, O_RDWR), "ptrace", "execve", "socket" (AF_INET),
 * "connect", "mprotect" (PROT_EXEC).  0, or -1 for an unknown name.
 */
int ktvm_seccomp_violate(const char *what);
/* Called (async-signal-safe) by the SIGSYS reporter before it exits: the terminal. */
void ktvm_seccomp_set_fatal_hook(void (*fn)(void));
/* Test hook: a thread's mode is its own; reset for the next test (tests only). */
void ktvm_seccomp_reset_for_tests(void);

/* caps.c ----------------------------------------------------------- */
/* "UID[:GID]" or "NAME[:GROUP]" into uid/gid: 0, or -1. */
int ktvm_parse_user(const char *s, uid_t *uid, gid_t *gid);
/*
 * After setup (TAP opened, memory mapped, /dev/kvm open), before any thread
 * is created: set no_new_privs, drop to uid:gid when has_user (needs root),
 * and drop every capability (effective, permitted, inheritable, ambient,
 * and the bounding set when CAP_SETPCAP allows it).  0, or -1 after logging.
 */
int ktvm_drop_privileges(bool has_user, uid_t uid, gid_t gid);

#endif
