// SPDX-License-Identifier: MIT
/*
 * loop.c - the main thread's event loop registry.  Device code (MSI-X
 * pending bits, INTx resampling, control sockets) adds and removes fds here
 * from any thread, vCPU threads included; callbacks run on the main thread.
 *
 * Handlers live in a fixed table and epoll events carry (slot, generation):
 * removing a handler bumps its generation, so an event already fetched for
 * it is recognised as stale and dropped, and the slot can be reused at once.
 * A callback may still run once just after another thread removed it (the
 * snapshot race): callbacks must treat a wakeup as a hint (non-blocking
 * reads) and their opaque must outlive the VM's devices, as all ktvm's do.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "vmm/vm_internal.h"

#define LOOP_MAX_HANDLERS 1024

struct loop_handler {
	int fd;
	loop_cb_fn cb; /* NULL: slot free */
	void *opaque;
	uint32_t gen;
};

struct loop_table {
	pthread_mutex_t lock;
	struct loop_handler h[LOOP_MAX_HANDLERS];
};

static struct loop_table *loop_table(struct vm *vm)
{
	return vm->loop_table;
}

int vm_loop_init(struct vm *vm)
{
	struct loop_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	pthread_mutex_init(&t->lock, NULL);
	vm->loop_table = t;
	vm->loop_fd = epoll_create1(EPOLL_CLOEXEC);
	return vm->loop_fd < 0 ? -1 : 0;
}

static uint64_t event_tag(const struct loop_table *t, const struct loop_handler *h)
{
	return (uint64_t)(h - t->h) | ((uint64_t)h->gen << 32);
}

struct loop_handler *vm_loop_add(struct vm *vm, int fd, loop_cb_fn cb, void *opaque)
{
	struct loop_table *t = loop_table(vm);
	struct loop_handler *h = NULL;
	struct epoll_event ev = { .events = EPOLLIN };

	pthread_mutex_lock(&t->lock);
	for (unsigned int i = 0; i < LOOP_MAX_HANDLERS; i++) {
		if (!t->h[i].cb) {
			h = &t->h[i];
			break;
		}
	}
	if (h) {
		h->fd = fd;
		h->cb = cb;
		h->opaque = opaque;
		ev.data.u64 = event_tag(t, h);
		if (epoll_ctl(vm->loop_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			h->cb = NULL;
			h = NULL;
		}
	} else {
		log_once(LOG_ERROR, "loop", "event loop handler table full");
	}
	pthread_mutex_unlock(&t->lock);
	return h;
}

void vm_loop_del(struct vm *vm, struct loop_handler *h)
{
	struct loop_table *t = loop_table(vm);

	if (!h)
		return;
	pthread_mutex_lock(&t->lock);
	if (h->cb) {
		epoll_ctl(vm->loop_fd, EPOLL_CTL_DEL, h->fd, NULL);
		h->cb = NULL;
		h->gen++; /* events already fetched for this slot are now stale */
	}
	pthread_mutex_unlock(&t->lock);
}

void vm_loop_run(struct vm *vm)
{
	struct loop_table *t = loop_table(vm);

	while (!vm_stopping(vm)) {
		struct epoll_event evs[16];
		int n = epoll_wait(vm->loop_fd, evs, ARRAY_SIZE(evs), -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			vm_request_stop(vm, KTVM_EXIT_ERROR, "epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			uint32_t slot = (uint32_t)evs[i].data.u64;
			uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
			loop_cb_fn cb = NULL;
			void *opaque = NULL;

			if (slot >= LOOP_MAX_HANDLERS)
				continue;
			pthread_mutex_lock(&t->lock);
			if (t->h[slot].cb && t->h[slot].gen == gen) {
				cb = t->h[slot].cb;
				opaque = t->h[slot].opaque;
			}
			pthread_mutex_unlock(&t->lock);
			/* Called unlocked: a callback may add or delete handlers. */
			if (cb)
				cb(opaque);
		}
	}
}

void vm_loop_destroy(struct vm *vm)
{
	if (vm->loop_fd >= 0)
		close(vm->loop_fd);
	vm->loop_fd = -1;
	if (vm->loop_table) {
		pthread_mutex_destroy(&vm->loop_table->lock);
		free(vm->loop_table);
		vm->loop_table = NULL;
	}
}
