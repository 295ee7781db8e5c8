// SPDX-License-Identifier: MIT
/*
 * stats.c - ktvm's statistics as one JSON object (json-c): the VM's own
 * (vCPUs, RAM, paused) and each device type's part (its stats_json hook,
 * e.g. virtio-net's "nics": devices/net_device.c).
 *
 * Reached by kill -USR1 (stderr), Ctrl-A s on the console, the control
 * socket's "stats", and --stats at exit.
 */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "vmm/pause.h"
#include "vmm/stats.h"

static void add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
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
	json_object *root = json_object_new_object();
	char *s;

	if (!root)
		return NULL;
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
	ktvm_for_each_device_type(t)
		if (t->stats_json)
			t->stats_json(vm, root);
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
