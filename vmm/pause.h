/* SPDX-License-Identifier: MIT */
/*
 * pause.h - stop every vCPU outside KVM_RUN and let them go again: for the
 * gdb stub (vmm/gdb.c) and a control socket's pause/resume.
 *
 * Pauses nest: each vm_pause_all() is undone by one vm_resume_all(), and the
 * vCPUs run only when no pause is held.  A holder keeps at most one pause of
 * its own (the gdb stub one, the control socket another).  A paused vCPU has
 * completed its last exit (pending port I/O or MMIO results are in its
 * registers), so other threads may use its register ioctls while it is parked.
 */
#ifndef KTVM_PAUSE_H
#define KTVM_PAUSE_H

#include <stdbool.h>

#include "vmm/ktvm.h"

/* Allocate the VM's pause state (vm->pause): 0, or -1. */
int vm_pause_init(struct vm *vm);
void vm_pause_destroy(struct vm *vm);
/* Take one pause and kick every vCPU out of KVM_RUN (returns at once). */
void vm_pause_all(struct vm *vm);
/* Give back one pause: when none is left, the parked vCPUs run again. */
void vm_resume_all(struct vm *vm);
/*
 * Wait until every vCPU is parked: 0, or -1 when the VM is stopping (vCPU
 * threads then leave instead of parking).
 */
int vm_pause_wait_parked(struct vm *vm);
bool vm_paused(struct vm *vm);
/*
 * While paused, let vCPU 'id' alone run (gdb single step), or nobody again
 * with -1; the vCPU's next debug exit is expected to pause it again.
 */
void vm_pause_run_one(struct vm *vm, int id);

/* vmm/vcpu.c's loop, before each KVM_RUN: parks the calling vCPU while paused. */
void vcpu_pause_point(struct vcpu *v);

#endif
