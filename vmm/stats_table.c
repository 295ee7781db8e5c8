// SPDX-License-Identifier: MIT
/*
 * stats_table.c - the statistics JSON (stats.c) as a table a person reads:
 * per NIC a header line, then a row per queue and a total per direction
 * with packets, bytes, drops, kicks, interrupts and the rate over the last
 * second.  It works on the JSON text, not on the devices, so the same code
 * serves `ktvm ctl SOCK stats` (the client has only the text) and Ctrl-A s.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "vmm/stats.h"

static uint64_t u64_at(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? (uint64_t)json_object_get_uint64(v) : 0;
}

static const char *str_at(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "?";
}

/* 1234567 -> "1.2M": a column stays narrow whatever the count. */
static const char *human(uint64_t v, char *buf, size_t len)
{
	static const char suffix[] = "KMGTPE";
	double d = (double)v / 1000;
	unsigned int i = 0;

	if (v < 10000) {
		snprintf(buf, len, "%" PRIu64, v);
		return buf;
	}
	while (d >= 1000 && i < sizeof(suffix) - 2) {
		d /= 1000;
		i++;
	}
	snprintf(buf, len, "%.1f%c", d, suffix[i]);
	return buf;
}

/* One row: counts from q (a queue, or a NIC's "rx"/"tx" total); rate < 0: none yet. */
static void row(FILE *out, const char *queue, const char *dir, json_object *q, double pps,
		double bps)
{
	json_object *drops = NULL;
	char b[5][16];
	char rp[16] = "-", rb[16] = "-";

	if (pps >= 0) {
		snprintf(rp, sizeof(rp), "%.0f", pps);
		snprintf(rb, sizeof(rb), "%.2f", bps / 1e6);
	}
	json_object_object_get_ex(q, "drops", &drops);
	fprintf(out, "  %-6s %-3s %9s %9s %7s %9s %9s %9s %9s\n", queue, dir,
		human(u64_at(q, "packets"), b[0], sizeof(b[0])), human(u64_at(q, "bytes"), b[1], sizeof(b[1])),
		human(u64_at(drops, "total"), b[2], sizeof(b[2])), human(u64_at(q, "kicks"), b[3], sizeof(b[3])),
		human(u64_at(q, "interrupts"), b[4], sizeof(b[4])), rp, rb);
}

/* The queue's "rate" into *pps, *bps: false if it has none yet. */
static bool rate_of(json_object *q, double *pps, double *bps)
{
	json_object *rate;

	if (!json_object_object_get_ex(q, "rate", &rate))
		return false;
	*pps = json_object_get_double(json_object_object_get(rate, "packets_per_s"));
	*bps = json_object_get_double(json_object_object_get(rate, "bits_per_s"));
	return true;
}

/* The total of a direction: the NIC's "rx"/"tx" object, the rates summed over its queues. */
static void total_row(FILE *out, json_object *nic, json_object *queues, const char *dir)
{
	json_object *t;
	double pps = 0, bps = 0;
	bool have_rate = false;
	size_t nq = json_object_array_length(queues);

	if (!json_object_object_get_ex(nic, dir, &t))
		return;
	for (size_t i = 0; i < nq; i++) {
		json_object *q = json_object_array_get_idx(queues, i);
		double p, b;

		if (strcmp(str_at(q, "dir"), dir) || !rate_of(q, &p, &b))
			continue;
		have_rate = true;
		pps += p;
		bps += b;
	}
	row(out, "total", dir, t, have_rate ? pps : -1, bps);
}

int stats_table_write(FILE *out, const char *json)
{
	json_object *root = json_tokener_parse(json), *nics, *ram;
	size_t n;
	if (!root || !json_object_object_get_ex(root, "nics", &nics) ||
	    !json_object_is_type(nics, json_type_array)) {
		json_object_put(root);
		return -1;
	}
	fprintf(out, "ktvm %s, %" PRIu64 " vCPU%s%s", str_at(root, "ktvm"), u64_at(root, "cpus"),
		u64_at(root, "cpus") == 1 ? "" : "s",
		json_object_get_boolean(json_object_object_get(root, "paused")) ? ", paused" : "");
	if (json_object_object_get_ex(root, "guest_ram", &ram)) {
		uint64_t bytes = u64_at(ram, "bytes");

		if (bytes >= (1u << 20))
			fprintf(out, ", %" PRIu64 " MiB guest RAM", bytes >> 20);
		else
			fprintf(out, ", %" PRIu64 " bytes guest RAM", bytes);
	}
	n = json_object_array_length(nics);
	fprintf(out, ", %zu NIC%s\n", n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		json_object *nic = json_object_array_get_idx(nics, i), *queues;

		fprintf(out, "%s: tap %s, mac %s, %" PRIu64 " of %" PRIu64 " queue pairs active\n",
			str_at(nic, "name"), str_at(nic, "tap"), str_at(nic, "mac"), u64_at(nic, "active_pairs"),
			u64_at(nic, "queue_pairs"));
		fprintf(out, "  %-6s %-3s %9s %9s %7s %9s %9s %9s %9s\n", "queue", "dir", "packets", "bytes",
			"drops", "kicks", "irqs", "pkt/s", "Mbit/s");
		if (!json_object_object_get_ex(nic, "queues", &queues))
			continue;
		for (size_t j = 0; j < json_object_array_length(queues); j++) {
			json_object *q = json_object_array_get_idx(queues, j);
			char name[12];

			double pps = -1, bps = 0;

			snprintf(name, sizeof(name), "%" PRIu64, u64_at(q, "queue"));
			rate_of(q, &pps, &bps);
			row(out, name, str_at(q, "dir"), q, pps, bps);
		}
		total_row(out, nic, queues, "rx");
		total_row(out, nic, queues, "tx");
	}
	json_object_put(root);
	return 0;
}
