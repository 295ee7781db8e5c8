// SPDX-License-Identifier: MIT
/*
 * pause.c - parking vCPU threads between two KVM_RUNs (see vmm/pause.h).
 *
 * A pause kicks every vCPU (immediate_exit + signal, vcpu_kick's way without
 * its "never again"); the vCPU loop calls vcpu_pause_point() before each
 * KVM_RUN, which finishes the last exit's I/O with one KVM_RUN under
 * immediate_exit and then waits on a condition variable.  The waits are
 * timed so that a stop request (which does not know about pauses) ends them.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <linux/kvm.h>

#include "vmm/pause.h"
#include "vmm/vm_internal.h"

struct vm_pause {
	pthread_mutex_t lock;
	pthread_cond_t wake;	  /* vCPUs wait here */
	pthread_cond_t parked_cv; /* pausers wait here */
	unsigned int holds;	  /* pauses taken and not given back */
	unsigned int parked;	  /* vCPUs waiting in vcpu_pause_point() */
	int run_one;		  /* the vCPU allowed to run while paused, or -1 */
};

#define PAUSE_POLL_NS 50000000L /* how often parked threads look at vm_stopping() */

int vm_pause_init(struct vm *vm)
{
	struct vm_pause *p = calloc(1, sizeof(*p));
	pthread_condattr_t ca;

	if (!p)
		return -1;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &ca);
	pthread_cond_init(&p->parked_cv, &ca);
	pthread_condattr_destroy(&ca);
	p->run_one = -1;
	vm->pause = p;
	return 0;
}

void vm_pause_destroy(struct vm *vm)
{
	struct vm_pause *p = vm->pause;

	if (!p)
		return;
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->parked_cv);
	pthread_mutex_destroy(&p->lock);
	free(p);
	vm->pause = NULL;
}

static void deadline_in(struct timespec *ts, long ns)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_nsec += ns;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void kick_one(struct vcpu *v)
{
	if (!v->started || !v->run)
		return;
	v->run->immediate_exit = 1;
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vm_pause_all(struct vm *vm)
{
	struct vm_pause *p = vm->pause;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->holds++;
	pthread_mutex_unlock(&p->lock);
	for (unsigned int i = 0; i < vm->ncpus; i++)
		kick_one(&vm->vcpus[i]);
}

void vm_resume_all(struct vm *vm)
{
	struct vm_pause *p = vm->pause;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	if (p->holds && !--p->holds)
		p->run_one = -1;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

void vm_pause_run_one(struct vm *vm, int id)
{
	struct vm_pause *p = vm->pause;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->run_one = id;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

bool vm_paused(struct vm *vm)
{
	struct vm_pause *p = vm->pause;
	bool r;

	if (!p)
		return false;
	pthread_mutex_lock(&p->lock);
	r = p->holds > 0;
	pthread_mutex_unlock(&p->lock);
	return r;
}

int vm_pause_wait_parked(struct vm *vm)
{
	struct vm_pause *p = vm->pause;
	struct timespec ts;
	int r = 0;

	if (!p)
		return -1;
	pthread_mutex_lock(&p->lock);
	while (p->parked < vm->ncpus) {
		if (vm_stopping(vm)) {
			r = -1;
			break;
		}
		deadline_in(&ts, PAUSE_POLL_NS);
		pthread_cond_timedwait(&p->parked_cv, &p->lock, &ts);
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}

static bool must_park(struct vm_pause *p, struct vcpu *v)
{
	return p->holds && p->run_one != (int)v->id;
}

void vcpu_pause_point(struct vcpu *v)
{
	struct vm_pause *p = v->vm->pause;
	struct timespec ts;
	bool park;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	park = must_park(p, v);
	pthread_mutex_unlock(&p->lock);
	if (!park)
		return;
	/* Complete the last exit (I/O results into registers) without entering the guest. */
	v->run->immediate_exit = 1;
	if (ioctl(v->fd, KVM_RUN, 0) == 0)
		log_debug("pause", "vCPU %u: KVM_RUN ran despite immediate_exit", v->id);
	v->run->immediate_exit = 0;

	pthread_mutex_lock(&p->lock);
	p->parked++;
	pthread_cond_broadcast(&p->parked_cv);
	while (must_park(p, v) && !vm_stopping(v->vm)) {
		deadline_in(&ts, PAUSE_POLL_NS);
		pthread_cond_timedwait(&p->wake, &p->lock, &ts);
	}
	p->parked--;
	pthread_mutex_unlock(&p->lock);
	/* immediate_exit stays as is: a pause taken since must make the next KVM_RUN return. */
}
