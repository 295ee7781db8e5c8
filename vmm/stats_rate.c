// SPDX-License-Identifier: MIT
/*
 * stats_rate.c - packets and bytes per second of every NIC queue over the
 * last whole second, for the statistics a person reads ("rate" in the JSON,
 * the pkt/s and Mbit/s columns of the table).
 *
 * A 1 Hz timerfd on the main loop samples each queue's counters into one of
 * two slots; the rate is the difference of the two newest samples over the
 * time between them.  Sampling (not a difference against the previous stats
 * request) is what lets a one-shot `ktvm ctl SOCK stats` show a rate.  All
 * of it runs on the main thread (the timer, the control socket, Ctrl-A s,
 * SIGUSR1), so the slots need no lock; the counters themselves are read
 * with relaxed atomic loads as stats.c does.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio_net.h"
#include "vmm/stats.h"

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

struct rate_slot {
	uint64_t packets, bytes;
};

struct rate_nic {
	const struct virtio_net *nic;
	unsigned int nq;
	struct rate_slot *slot[2]; /* [which sample][queue] */
};

static struct {
	int tfd;
	struct loop_handler *h;
	struct vm *vm;
	unsigned int samples; /* taken so far; the newest is in slot (samples - 1) % 2 */
	uint64_t t_ns[2];
	struct rate_nic *nics;
	unsigned int nnics;
} R = { .tfd = -1 };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void add_nic(struct virtio_net *n, void *opaque)
{
	struct rate_nic *tmp = realloc(R.nics, (R.nnics + 1) * sizeof(*R.nics));
	unsigned int nq = 2 * virtio_net_max_pairs(n);

	(void)opaque;
	if (!tmp)
		return;
	R.nics = tmp;
	R.nics[R.nnics] = (struct rate_nic){ .nic = n, .nq = nq };
	R.nics[R.nnics].slot[0] = calloc(nq, sizeof(struct rate_slot));
	R.nics[R.nnics].slot[1] = calloc(nq, sizeof(struct rate_slot));
	if (!R.nics[R.nnics].slot[0] || !R.nics[R.nnics].slot[1]) {
		free(R.nics[R.nnics].slot[0]);
		free(R.nics[R.nnics].slot[1]);
		return;
	}
	R.nnics++;
}

void stats_rate_sample(void)
{
	unsigned int s = R.samples % 2;

	for (unsigned int i = 0; i < R.nnics; i++) {
		struct rate_nic *rn = &R.nics[i];

		for (unsigned int q = 0; q < rn->nq; q++) {
			const struct net_queue_stats *st = virtio_net_stats(rn->nic, q);

			rn->slot[s][q].packets = LOAD(st->packets);
			rn->slot[s][q].bytes = LOAD(st->bytes);
		}
	}
	R.t_ns[s] = now_ns();
	R.samples++;
}

static void on_tick(void *opaque)
{
	uint64_t ticks;

	(void)opaque;
	if (read(R.tfd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	stats_rate_sample();
}

int stats_rate_start(struct vm *vm)
{
	struct itimerspec its = { .it_interval = { .tv_sec = 1 }, .it_value = { .tv_sec = 1 } };

	R.vm = vm;
	virtio_net_for_each(vm, add_nic, NULL);
	if (!R.nnics)
		return 0; /* nothing to rate: no timer, no wake-ups */
	stats_rate_sample();
	R.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (R.tfd < 0 || timerfd_settime(R.tfd, 0, &its, NULL) < 0)
		goto fail;
	R.h = vm_loop_add(vm, R.tfd, on_tick, NULL);
	if (!R.h)
		goto fail;
	return 0;
fail:
	stats_rate_stop();
	return -1;
}

void stats_rate_stop(void)
{
	if (R.h)
		vm_loop_del(R.vm, R.h);
	if (R.tfd >= 0)
		close(R.tfd);
	for (unsigned int i = 0; i < R.nnics; i++) {
		free(R.nics[i].slot[0]);
		free(R.nics[i].slot[1]);
	}
	free(R.nics);
	memset(&R, 0, sizeof(R));
	R.tfd = -1;
}

bool stats_rate_get(const struct virtio_net *n, unsigned int queue, double *pps, double *bps)
{
	unsigned int newer = (R.samples - 1) % 2, older = R.samples % 2;
	double dt;

	if (R.samples < 2)
		return false;
	dt = (double)(R.t_ns[newer] - R.t_ns[older]) / 1e9;
	if (dt <= 0)
		return false;
	for (unsigned int i = 0; i < R.nnics; i++) {
		const struct rate_nic *rn = &R.nics[i];

		if (rn->nic != n || queue >= rn->nq)
			continue;
		const struct rate_slot *a = &rn->slot[older][queue], *b = &rn->slot[newer][queue];

		/* Counters only grow; a smaller one (never expected) reads as no traffic. */
		*pps = b->packets >= a->packets ? (double)(b->packets - a->packets) / dt : 0;
		*bps = b->bytes >= a->bytes ? 8.0 * (double)(b->bytes - a->bytes) / dt : 0;
		return true;
	}
	return false;
}
