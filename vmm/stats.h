/* SPDX-License-Identifier: MIT */
/* stats.h - ktvm's statistics as one line of JSON (see vmm/stats.c). */
#ifndef KTVM_STATS_H
#define KTVM_STATS_H

#include "vmm/ktvm.h"

/* Before the main thread's seccomp filter: what json-c does once (getrandom). */
void vm_stats_prepare(void);
/* One JSON object on one line, malloc'ed (no newline), or NULL. */
char *vm_stats_json(struct vm *vm);
/* The same plus a newline on fd (kill -USR1, Ctrl-A s, --stats: stderr). */
void vm_stats_print(struct vm *vm, int fd);

#endif
