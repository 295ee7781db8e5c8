// SPDX-License-Identifier: MIT
/*
 * loop.c - the main thread's event loop registry.  Device code (MSI-X
 * pending bits, link state, control sockets) adds fds here from any thread;
 * their callbacks run on the main thread, one at a time.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "vmm/vm_internal.h"

struct loop_handler {
	int fd;
	loop_cb_fn cb;
	void *opaque;
};

int vm_loop_init(struct vm *vm)
{
	vm->loop_fd = epoll_create1(EPOLL_CLOEXEC);
	return vm->loop_fd < 0 ? -1 : 0;
}

struct loop_handler *vm_loop_add(struct vm *vm, int fd, loop_cb_fn cb, void *opaque)
{
	struct loop_handler *h = calloc(1, sizeof(*h));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!h)
		return NULL;
	h->fd = fd;
	h->cb = cb;
	h->opaque = opaque;
	ev.data.ptr = h;
	if (epoll_ctl(vm->loop_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(h);
		return NULL;
	}
	return h;
}

/* Handlers are only removed on the main thread (from a callback) or after the loop ends. */
void vm_loop_del(struct vm *vm, struct loop_handler *h)
{
	if (!h)
		return;
	epoll_ctl(vm->loop_fd, EPOLL_CTL_DEL, h->fd, NULL);
	/* Stale events for h may still sit in the current epoll batch: mark, free later. */
	h->cb = NULL;
	h->fd = -1;
}

void vm_loop_run(struct vm *vm)
{
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
			struct loop_handler *h = evs[i].data.ptr;

			if (h->cb)
				h->cb(h->opaque);
		}
	}
}

void vm_loop_destroy(struct vm *vm)
{
	if (vm->loop_fd >= 0)
		close(vm->loop_fd);
	vm->loop_fd = -1;
}
