// SPDX-License-Identifier: MIT
/*
 * net_device.c - virtio-net as a device type (KTVM_DEVICE_TYPE): its --net
 * option and "nets" JSON key (parsing, cross-NIC checks, 'config --print'),
 * creating each NIC on the architecture's virtio bus, its part of the
 * statistics ("nics") and its teardown.  The device model itself is
 * virtio_net.c; parsing one NIC's specification is vmm/net_config.c.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <json-c/json.h>

#include "devices/virtio_net.h"
#include "vmm/config_json.h"
#include "vmm/net_config.h"
#include "vmm/net_pcap.h"
#include "vmm/output_file.h"
#include "vmm/stats.h"

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

_Static_assert(sizeof(struct net_configs) <= KTVM_DEVICE_CONFIG_SIZE,
	       "the NICs' configuration must fit their slot of struct vm_config");

struct net_configs *net_configs(struct vm_config *cfg)
{
	return ktvm_device_config(cfg, &ktvm_device_net);
}

const struct net_configs *net_configs_c(const struct vm_config *cfg)
{
	return ktvm_device_config_c(cfg, &ktvm_device_net);
}

/* ------------------------------------------------------------------ */
/* The command line: --net SPEC                                        */
/* ------------------------------------------------------------------ */

static void net_print_help(FILE *out)
{
	fprintf(out,
		"      --net SPEC         a virtio-net NIC (repeatable, up to %u), SPEC is\n"
		"                           tap=NAME[,mac=MAC][,mtu=N]  create or attach TAP NAME\n"
		"                           fd=N[,mac=MAC][,mtu=N]      use the open TAP fd N\n"
		"                         also queue_pairs=N (1..256) [1], msix=on|off [on],\n"
		"                         pcap=FILE: every frame both ways into FILE [off];\n"
		"                         MAC defaults to 02:00:00:00:00:01 and must differ per NIC;\n"
		"                         fd=N is one TAP queue, so it gives one queue pair\n",
		KTVM_MAX_NICS);
}

static void net_cli_reset(struct vm_config *cfg)
{
	net_configs(cfg)->n = 0;
}

static int net_cli_parse(struct vm_config *cfg, const char *spec, FILE *err)
{
	struct net_configs *nc = net_configs(cfg);
	char msg[200];

	if (nc->n >= KTVM_MAX_NICS)
		return config_usage_error(err, "at most %u --net options", KTVM_MAX_NICS);
	if (net_config_parse(spec, &nc->nets[nc->n], msg, sizeof(msg)))
		return config_usage_error(err, "--net '%s': %s", spec, msg);
	nc->n++;
	return 0;
}

/* Across all NICs: distinct MACs, TAP names and fds; fds that are open. */
static int net_check(const struct vm_config *cfg, FILE *err)
{
	const struct net_configs *nc = net_configs_c(cfg);
	char mac[18];

	for (unsigned int i = 0; i < nc->n; i++) {
		const struct net_config *a = &nc->nets[i];

		if (a->fd >= 0 && fcntl(a->fd, F_GETFD) < 0)
			return config_usage_error(err,
						  "--net fd=%d: %d is not an open file descriptor",
						  a->fd, a->fd);
		for (unsigned int j = 0; j < i; j++) {
			const struct net_config *b = &nc->nets[j];

			if (!memcmp(a->mac, b->mac, sizeof(a->mac)))
				return config_usage_error(
					err,
					"NICs %u and %u both have MAC %s: give each --net a distinct mac=",
					j, i, net_mac_str(a->mac, mac, sizeof(mac)));
			if (a->tap && b->tap && !strcmp(a->tap, b->tap))
				return config_usage_error(err, "NICs %u and %u both use TAP '%s'",
							  j, i, a->tap);
			if (a->fd >= 0 && a->fd == b->fd)
				return config_usage_error(err, "NICs %u and %u both use fd %d", j,
							  i, a->fd);
		}
	}
	return 0;
}

static int net_check_outputs(const struct vm_config *cfg, FILE *err)
{
	const struct net_configs *nc = net_configs_c(cfg);

	for (unsigned int i = 0; i < nc->n; i++)
		if (nc->nets[i].pcap && output_file_check(nc->nets[i].pcap))
			return config_usage_error(err, "%s '%s' %s", "--net pcap file",
						  nc->nets[i].pcap, OUTPUT_FILE_SYMLINK_MSG);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The JSON configuration: "nets"                                      */
/* ------------------------------------------------------------------ */

static int get_mac(struct config_json_ctx *c, const char *path, json_object *v, uint8_t mac[6])
{
	char where[300];

	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);

		if (net_parse_mac(s, mac))
			return config_json_bad(
				c, path, "expected six hex pairs like 02:00:00:00:00:01, not '%s'",
				s);
	} else if (json_object_is_type(v, json_type_array)) {
		if (json_object_array_length(v) != 6)
			return config_json_bad(c, path, "expected an array of six numbers, not %zu",
					       json_object_array_length(v));
		for (size_t i = 0; i < 6; i++) {
			int64_t b = 0;

			snprintf(where, sizeof(where), "%s[%zu]", path, i);
			if (config_json_get_int(c, where, json_object_array_get_idx(v, i), 0, 255,
						&b))
				return KTVM_EXIT_USAGE;
			mac[i] = (uint8_t)b;
		}
	} else {
		return config_json_bad(
			c, path,
			"expected a string like 02:00:00:00:00:01 or an array of six numbers");
	}
	if (net_mac_problem(mac)) {
		char m[18];

		return config_json_bad(c, path, "%s %s", net_mac_str(mac, m, sizeof(m)),
				       net_mac_problem(mac));
	}
	return 0;
}

static int load_net(struct config_json_ctx *c, const char *path, json_object *o,
		    struct net_config *n)
{
	char where[256]; /* a very long unknown key is cut short in the message */
	bool has_tap = false, has_fd = false;
	int64_t x = 0;

	net_config_defaults(n);
	if (!json_object_is_type(o, json_type_object))
		return config_json_bad(c, path, "expected an object");
	json_object_object_foreach(o, key, v)
	{
		snprintf(where, sizeof(where), "%s.%s", path, key);
		if (!strcmp(key, "tap")) {
			const char *s = NULL, *why;

			if (config_json_get_string(c, where, v, &s))
				return KTVM_EXIT_USAGE;
			why = net_bad_ifname(s);
			if (why)
				return config_json_bad(c, where, "tap name '%s' %s", s, why);
			n->tap = net_keep_name(s);
			has_tap = true;
		} else if (!strcmp(key, "fd")) {
			if (config_json_get_int(c, where, v, 0, INT_MAX, &x))
				return KTVM_EXIT_USAGE;
			n->fd = (int)x;
			has_fd = true;
		} else if (!strcmp(key, "mac")) {
			if (get_mac(c, where, v, n->mac))
				return KTVM_EXIT_USAGE;
		} else if (!strcmp(key, "mtu")) {
			if (config_json_get_int(c, where, v, NET_MTU_MIN, NET_MTU_MAX, &x))
				return KTVM_EXIT_USAGE;
			n->mtu = (unsigned int)x;
		} else if (!strcmp(key, "queue_pairs")) {
			if (config_json_get_int(c, where, v, 0, INT64_MAX, &x))
				return KTVM_EXIT_USAGE;
			n->queue_pairs = net_clamp_queue_pairs((unsigned long long)x);
		} else if (!strcmp(key, "msix")) {
			if (!json_object_is_type(v, json_type_boolean))
				return config_json_bad(c, where, "expected true or false");
			n->msix = json_object_get_boolean(v);
		} else if (!strcmp(key, "pcap")) {
			if (config_json_get_string(c, where, v, &n->pcap))
				return KTVM_EXIT_USAGE;
			if (!*n->pcap)
				return config_json_bad(c, where, "expected a file name");
		} else {
			return config_json_bad(
				c, where,
				"unknown key (keys: tap, fd, mac, mtu, queue_pairs, msix, pcap)");
		}
	}
	if (has_tap && has_fd)
		return config_json_bad(c, path, "give either \"tap\" or \"fd\", not both");
	if (!has_tap && !has_fd)
		return config_json_bad(c, path, "needs a backend: \"tap\" or \"fd\"");
	return 0;
}

static int net_json_load(struct config_json_ctx *c, const char *key, json_object *v,
			 struct vm_config *cfg)
{
	struct net_configs *nc = net_configs(cfg);
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return config_json_bad(c, key, "expected an array of NIC objects");
	n = json_object_array_length(v);
	if (n > KTVM_MAX_NICS)
		return config_json_bad(c, key, "at most %u NICs, not %zu", KTVM_MAX_NICS, n);
	for (size_t i = 0; i < n; i++) {
		char where[32];

		snprintf(where, sizeof(where), "nets[%zu]", i);
		if (load_net(c, where, json_object_array_get_idx(v, i), &nc->nets[i]))
			return KTVM_EXIT_USAGE;
	}
	nc->n = (unsigned int)n;
	return 0;
}

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void add_int(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void net_json_print(const struct vm_config *cfg, json_object *root)
{
	const struct net_configs *nc = net_configs_c(cfg);
	json_object *nets = json_object_new_array();
	char buf[64];

	for (unsigned int i = 0; i < nc->n; i++) {
		const struct net_config *n = &nc->nets[i];
		json_object *o = json_object_new_object();

		if (n->tap)
			add_str(o, "tap", n->tap);
		else
			add_int(o, "fd", n->fd);
		add_str(o, "mac", net_mac_str(n->mac, buf, sizeof(buf)));
		add_int(o, "queue_pairs", n->queue_pairs);
		if (n->mtu)
			add_int(o, "mtu", n->mtu);
		json_object_object_add(o, "msix", json_object_new_boolean(n->msix));
		if (n->pcap)
			add_str(o, "pcap", n->pcap);
		json_object_array_add(nets, o);
	}
	json_object_object_add(root, "nets", nets);
}

/* ------------------------------------------------------------------ */
/* The VM: creation, statistics, teardown                              */
/* ------------------------------------------------------------------ */

static int net_create(struct vm *vm)
{
	const struct net_configs *nc = net_configs_c(vm->cfg);

	for (unsigned int i = 0; i < nc->n; i++)
		if (virtio_net_create(vm, &nc->nets[i], i))
			return -1;
	return 0;
}

/*
 * Per NIC and per queue: packets, bytes, drops by reason, guest kicks,
 * interrupts raised and suppressed, TAP EAGAINs.  Read while the workers
 * run: every counter has one writer and is read with a relaxed atomic load,
 * so each number is exact at some instant, the whole a near-snapshot.
 */
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
	json_object_object_add(o, "mac",
			       json_object_new_string(net_mac_str(mac, buf, sizeof(buf))));
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
		json_object_object_add(
			j, "dir", json_object_new_string(q % 2 == VIRTIO_NET_RXQ ? "rx" : "tx"));
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

static void net_stats_json(struct vm *vm, json_object *root)
{
	json_object *nics = json_object_new_array();

	virtio_net_for_each(vm, nic_json, nics);
	json_object_object_add(root, "nics", nics);
}

/* ktvm is stopping: the workers go, guest memory is still mapped. */
static void net_stop(void *dev)
{
	struct virtio_dev *d = virtio_net_vdev(dev);

	pthread_mutex_lock(&d->lock);
	d->ops->reset(d);
	pthread_mutex_unlock(&d->lock);
}

static void net_destroy(void *dev)
{
	virtio_net_destroy(dev);
}

KTVM_DEVICE_TYPE(net, .name = "virtio-net", .option = "net", .print_help = net_print_help,
		 .cli_reset = net_cli_reset, .cli_parse = net_cli_parse, .check = net_check,
		 .check_outputs = net_check_outputs, .json_key = "nets", .json_load = net_json_load,
		 .json_print = net_json_print, .create = net_create, .stats_json = net_stats_json,
		 .stop = net_stop, .destroy = net_destroy);
