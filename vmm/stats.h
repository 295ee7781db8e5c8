/* SPDX-License-Identifier: MIT */
/* stats.h - ktvm's statistics as one line of JSON (see vmm/stats.c). */
#ifndef KTVM_STATS_H
#define KTVM_STATS_H

#include <stdbool.h>
#include <stdio.h>

#include "vmm/ktvm.h"

/* Before the main thread's seccomp filter: what json-c does once (getrandom). */
void vm_stats_prepare(void);
/* One JSON object on one line, malloc'ed (no newline), or NULL. */
char *vm_stats_json(struct vm *vm);
/* The same plus a newline on fd (kill -USR1, Ctrl-A s, --stats: stderr). */
void vm_stats_print(struct vm *vm, int fd);
/* The same as a table for people (Ctrl-A s). */
void vm_stats_print_table(struct vm *vm, int fd);

/* stats_table.c: the JSON text as a table on out; -1 if it is not ktvm's statistics. */
int stats_table_write(FILE *out, const char *json);

/*
 * stats_rate.c: each queue's packets and bytes per second over the last
 * whole second, sampled by a 1 Hz timer on vm's main loop (none without
 * NICs).  Main thread only.  start: 0 or -1; get: false until two samples.
 */
struct virtio_net;
int stats_rate_start(struct vm *vm);
void stats_rate_stop(void);
void stats_rate_sample(void);
bool stats_rate_get(const struct virtio_net *n, unsigned int queue, double *pps, double *bps);

#endif
