/* SPDX-License-Identifier: MIT */
/* vm_internal.h - what the VM lifecycle files share among themselves (not for devices). */
#ifndef KTVM_VM_INTERNAL_H
#define KTVM_VM_INTERNAL_H

#include <stdlib.h>

#include "vmm/ktvm.h"

int vm_create(struct vm *vm, const struct vm_config *cfg);
void vm_destroy(struct vm *vm);
/* vm_destroy's first step: stop every device, then free them (vmm/device.c). */
void vm_devices_destroy(struct vm *vm);

int vm_loop_init(struct vm *vm);
void vm_loop_run(struct vm *vm);
void vm_loop_destroy(struct vm *vm);
void vm_irq_destroy(struct vm *vm);

int vcpu_create(struct vm *vm, struct vcpu *v, unsigned int id);
void vcpu_destroy(struct vcpu *v);
int vcpu_start(struct vcpu *v);
/* Make a vCPU leave KVM_RUN now and not enter it again. */
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);
/*
 * Signal used to kick vCPU threads out of KVM_RUN: a real-time signal, so
 * SIGUSR1 stays free for users (kill -USR1 prints the statistics).
 */
#define VCPU_KICK_SIGNAL SIGRTMIN
void vcpu_install_kick_handler(void);

#endif
