// SPDX-License-Identifier: MIT
/*
 * stats.c - ktvm's statistics as one JSON object (json-c): per NIC and per
 * queue, packets, bytes, drops by reason, guest kicks, interrupts raised and
 * suppressed, TAP EAGAINs.  Read while the workers run: every counter has
 * one writer and is read with a relaxed atomic load, so each number is
 * exact at some instant, and the object as a whole is a near-snapshot.
 *
 * Reached by kill -USR1 (stderr), Ctrl-A s on the console, the control
 * socket's "stats", and --stats at exit.
 */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "devices/virtio_net.h"
#include "vmm/net_config.h"
#include "vmm/net_pcap.h"
#include "vmm/pause.h"
#include "vmm/stats.h"

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static void add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

struct dir_sum {
	uint64_t packets, bytes, oversize, shrt, error, kicks, irqs, suppressed, eagain, nobuf;
};

static void sum_queue(struct dir_sum *s, const struct net_queue_stats *q)
{
	s->packets += LOAD(q->packets);
	s->bytes += LOAD(q->bytes);
	s->oversize += LOAD(q->drop_oversize);
	s->shrt += LOAD(q->drop_short);
	s->error += LOAD(q->drop_error);
	s->kicks += LOAD(q->kicks);
	s->irqs += LOAD(q->interrupts);
	s->suppressed += LOAD(q->irq_suppressed);
	s->eagain += LOAD(q->eagain);
	s->nobuf += LOAD(q->no_buffers);
}

static json_object *dir_json(const struct dir_sum *s, bool rx)
{
	json_object *o = json_object_new_object(), *d = json_object_new_object();

	add_u64(o, "packets", s->packets);
	add_u64(o, "bytes", s->bytes);
	add_u64(d, "total", s->oversize + s->shrt + s->error);
	if (rx)
		add_u64(d, "oversize", s->oversize);
	add_u64(d, "short", s->shrt);
	add_u64(d, "tap_error", s->error);
	json_object_object_add(o, "drops", d);
	add_u64(o, "kicks", s->kicks);
	add_u64(o, "interrupts", s->irqs);
	add_u64(o, "interrupts_suppressed", s->suppressed);
	add_u64(o, "tap_eagain", s->eagain);
	if (rx)
		add_u64(o, "no_buffers", s->nobuf);
	return o;
}

/* Where the queue's indices stand: what tells a stalled guest from a stalled ktvm. */
static json_object *ring_json(struct virtio_net *n, unsigned int queue)
{
	struct net_queue_state s;
	json_object *o = json_object_new_object();

	if (!virtio_net_queue_state(n, queue, &s))
		return o;
	json_object_object_add(o, "enabled", json_object_new_boolean(s.enabled));
	if (s.broken)
		json_object_object_add(o, "broken", json_object_new_boolean(true));
	json_object_object_add(o, "waiting", json_object_new_boolean(s.waiting));
	json_object_object_add(o, "more", json_object_new_boolean(s.more));
	add_u64(o, "size", s.size);
	add_u64(o, "avail_idx", s.avail_idx);
	add_u64(o, "last_avail", s.last_avail);
	add_u64(o, "used_idx", s.used_idx);
	add_u64(o, "signalled_used", s.signalled_used);
	add_u64(o, "used_event", s.used_event);
	add_u64(o, "avail_event", s.avail_event);
	add_u64(o, "avail_flags", s.avail_flags);
	add_u64(o, "used_flags", s.used_flags);
	add_u64(o, "msix_vector", s.msix_vector);
	add_u64(o, "tap_events", s.tap_events);
	return o;
}

/* "rate": packets and bits per second over the last whole second (stats_rate.c). */
static void rate_json(json_object *o, struct virtio_net *n, unsigned int queue)
{
	json_object *r;
	double pps, bps;

	if (!stats_rate_get(n, queue, &pps, &bps))
		return;
	r = json_object_new_object();
	json_object_object_add(r, "packets_per_s", json_object_new_double(pps));
	json_object_object_add(r, "bits_per_s", json_object_new_double(bps));
	json_object_object_add(o, "rate", r);
}

static void nic_json(struct virtio_net *n, void *opaque)
{
	json_object *nics = opaque, *o = json_object_new_object(), *qs = json_object_new_array();
	struct dir_sum tot[2];
	unsigned int pairs = virtio_net_max_pairs(n);
	uint8_t mac[6];
	char buf[18];

	memset(tot, 0, sizeof(tot));
	json_object_object_add(o, "name", json_object_new_string(virtio_net_name(n)));
	json_object_object_add(o, "tap", json_object_new_string(virtio_net_ifname(n)));
	virtio_net_mac(n, mac);
	json_object_object_add(o, "mac", json_object_new_string(net_mac_str(mac, buf, sizeof(buf))));
	add_u64(o, "queue_pairs", pairs);
	add_u64(o, "active_pairs", virtio_net_active_pairs(n));
	for (unsigned int q = 0; q < 2 * pairs; q++) {
		const struct net_queue_stats *st = virtio_net_stats(n, q);
		struct dir_sum one;
		json_object *j;

		memset(&one, 0, sizeof(one));
		sum_queue(&one, st);
		sum_queue(&tot[q % 2], st);
		j = dir_json(&one, q % 2 == VIRTIO_NET_RXQ);
		add_u64(j, "queue", q);
		add_u64(j, "pair", q / 2);
		json_object_object_add(j, "dir",
				       json_object_new_string(q % 2 == VIRTIO_NET_RXQ ? "rx" : "tx"));
		json_object_object_add(j, "ring", ring_json(n, q));
		rate_json(j, n, q);
		json_object_array_add(qs, j);
	}
	json_object_object_add(o, "rx", dir_json(&tot[VIRTIO_NET_RXQ], true));
	json_object_object_add(o, "tx", dir_json(&tot[VIRTIO_NET_TXQ], false));
	json_object_object_add(o, "queues", qs);
	if (pairs > 1) {
		const struct net_ctrl_stats *c = virtio_net_ctrl_stats(n);
		json_object *j = json_object_new_object();

		add_u64(j, "ok", LOAD(c->ok));
		add_u64(j, "err", LOAD(c->err));
		add_u64(j, "malformed", LOAD(c->malformed));
		add_u64(j, "no_status", LOAD(c->no_status));
		add_u64(j, "pairs_set", LOAD(c->pairs_set));
		json_object_object_add(o, "ctrl", j);
	}
	if (virtio_net_pcap(n)) {
		/* A stats request is also when the capture reaches the disk. */
		net_pcap_flush(virtio_net_pcap(n));
		add_u64(o, "pcap_frames", net_pcap_frames(virtio_net_pcap(n)));
	}
	json_object_array_add(nics, o);
}

void vm_stats_prepare(void)
{
	json_object *o = json_object_new_object();

	/* json-c seeds its string hash from getrandom(2) on first use: now, not under seccomp. */
	json_object_object_add(o, "seed", NULL);
	json_object_put(o);
}

char *vm_stats_json(struct vm *vm)
{
	json_object *root = json_object_new_object(), *nics = json_object_new_array();
	char *s;

	if (!root || !nics) {
		json_object_put(root);
		json_object_put(nics);
		return NULL;
	}
	json_object_object_add(root, "ktvm", json_object_new_string(KTVM_VERSION));
	json_object_object_add(root, "cpus", json_object_new_int64(vm->ncpus));
	json_object_object_add(root, "paused", json_object_new_boolean(vm_paused(vm)));
	{
		/*
		 * Its size only: its host address would defeat ASLR for whoever
		 * reads the stats (smaps names it "[anon:ktvm guest ram]").
		 */
		json_object *g = json_object_new_object();

		add_u64(g, "bytes", vm->mem.size);
		json_object_object_add(root, "guest_ram", g);
	}
	virtio_net_for_each(vm, nic_json, nics);
	json_object_object_add(root, "nics", nics);
	s = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return s;
}

void vm_stats_print(struct vm *vm, int fd)
{
	char *s = vm_stats_json(vm);
	size_t len, off = 0;

	if (!s)
		return;
	len = strlen(s);
	s[len] = '\n'; /* strdup'ed: the NUL's place; written with the length */
	while (off <= len) {
		ssize_t w = write(fd, s + off, len + 1 - off);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(s);
}

void vm_stats_print_table(struct vm *vm, int fd)
{
	char *s = vm_stats_json(vm), *buf = NULL;
	size_t len = 0, off = 0;
	FILE *mem;

	if (!s)
		return;
	mem = open_memstream(&buf, &len);
	if (mem) {
		stats_table_write(mem, s);
		fclose(mem);
	}
	while (buf && off < len) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(buf);
	free(s);
}
