// SPDX-License-Identifier: MIT
/*
 * config_json.c - the run configuration as a JSON file (json-c): loading
 * with errors that name the key and its path, and printing the effective
 * configuration so that it reads back the same.  See config_json.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <json-c/json.h>

#include "vmm/config_json.h"
#include "vmm/gdb.h"
#include "vmm/net_config.h"
#include "vmm/seccomp.h"

static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* Strings from the file live as long as the process: kept on a list leak checkers see. */
struct str_node {
	struct str_node *next;
	char s[];
};
static struct str_node *kept;

static const char *keep(const char *s)
{
	size_t len = strlen(s);
	struct str_node *n = malloc(sizeof(*n) + len + 1);

	if (!n)
		return NULL;
	memcpy(n->s, s, len + 1);
	n->next = kept;
	kept = n;
	return n->s;
}

struct ctx {
	const char *file;
	FILE *err;
};

static int bad(struct ctx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bad(struct ctx *c, const char *path, const char *fmt, ...)
{
	va_list ap;

	fprintf(c->err, "ktvm: %s: %s%s", c->file, path, *path ? ": " : "");
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
	fputc('\n', c->err);
	return KTVM_EXIT_USAGE;
}

static int get_string(struct ctx *c, const char *path, json_object *v, const char **out)
{
	const char *s = NULL;

	if (!json_object_is_type(v, json_type_string))
		return bad(c, path, "expected a string");
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return bad(c, path, "contains a NUL character");
	*out = keep(s);
	if (!*out)
		return bad(c, path, "out of memory");
	return 0;
}

/* An integer in [min, max] (JSON numbers with a fraction or exponent are not integers). */
static int get_int(struct ctx *c, const char *path, json_object *v, int64_t min, int64_t max,
		   int64_t *out)
{
	int64_t x = 0;

	if (!json_object_is_type(v, json_type_int))
		return bad(c, path, "expected an integer");
	errno = 0;
	x = json_object_get_int64(v);
	if (x < min || x > max || (errno == ERANGE && max != INT64_MAX))
		return bad(c, path, "expected an integer from %" PRId64 " to %" PRId64, min, max);
	*out = x;
	return 0;
}

static int get_mac(struct ctx *c, const char *path, json_object *v, uint8_t mac[6])
{
	char where[300];

	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);

		if (net_parse_mac(s, mac))
			return bad(c, path,
				   "expected six hex pairs like 02:00:00:00:00:01, not '%s'", s);
	} else if (json_object_is_type(v, json_type_array)) {
		if (json_object_array_length(v) != 6)
			return bad(c, path, "expected an array of six numbers, not %zu",
				   json_object_array_length(v));
		for (size_t i = 0; i < 6; i++) {
			int64_t b = 0;

			snprintf(where, sizeof(where), "%s[%zu]", path, i);
			if (get_int(c, where, json_object_array_get_idx(v, i), 0, 255, &b))
				return KTVM_EXIT_USAGE;
			mac[i] = (uint8_t)b;
		}
	} else {
		return bad(c, path,
			   "expected a string like 02:00:00:00:00:01 or an array of six numbers");
	}
	if (net_mac_problem(mac)) {
		char m[18];

		return bad(c, path, "%s %s", net_mac_str(mac, m, sizeof(m)), net_mac_problem(mac));
	}
	return 0;
}

static int load_net(struct ctx *c, const char *path, json_object *o, struct net_config *n)
{
	char where[256]; /* a very long unknown key is cut short in the message */
	bool has_tap = false, has_fd = false;
	int64_t x = 0;

	net_config_defaults(n);
	if (!json_object_is_type(o, json_type_object))
		return bad(c, path, "expected an object");
	json_object_object_foreach(o, key, v)
	{
		snprintf(where, sizeof(where), "%s.%s", path, key);
		if (!strcmp(key, "tap")) {
			const char *s = NULL, *why;

			if (get_string(c, where, v, &s))
				return KTVM_EXIT_USAGE;
			why = net_bad_ifname(s);
			if (why)
				return bad(c, where, "tap name '%s' %s", s, why);
			n->tap = net_keep_name(s);
			has_tap = true;
		} else if (!strcmp(key, "fd")) {
			if (get_int(c, where, v, 0, INT_MAX, &x))
				return KTVM_EXIT_USAGE;
			n->fd = (int)x;
			has_fd = true;
		} else if (!strcmp(key, "mac")) {
			if (get_mac(c, where, v, n->mac))
				return KTVM_EXIT_USAGE;
		} else if (!strcmp(key, "mtu")) {
			if (get_int(c, where, v, NET_MTU_MIN, NET_MTU_MAX, &x))
				return KTVM_EXIT_USAGE;
			n->mtu = (unsigned int)x;
		} else if (!strcmp(key, "queue_pairs")) {
			if (get_int(c, where, v, 0, INT64_MAX, &x))
				return KTVM_EXIT_USAGE;
			n->queue_pairs = net_clamp_queue_pairs((unsigned long long)x);
		} else if (!strcmp(key, "msix")) {
			if (!json_object_is_type(v, json_type_boolean))
				return bad(c, where, "expected true or false");
			n->msix = json_object_get_boolean(v);
		} else if (!strcmp(key, "pcap")) {
			if (get_string(c, where, v, &n->pcap))
				return KTVM_EXIT_USAGE;
			if (!*n->pcap)
				return bad(c, where, "expected a file name");
		} else {
			return bad(c, where,
				   "unknown key (keys: tap, fd, mac, mtu, queue_pairs, msix, pcap)");
		}
	}
	if (has_tap && has_fd)
		return bad(c, path, "give either \"tap\" or \"fd\", not both");
	if (!has_tap && !has_fd)
		return bad(c, path, "needs a backend: \"tap\" or \"fd\"");
	return 0;
}

static int load_top(struct ctx *c, json_object *root, struct vm_config *cfg)
{
	int64_t x = 0;

	if (!json_object_is_type(root, json_type_object))
		return bad(c, "", "expected a JSON object at the top");
	json_object_object_foreach(root, key, v)
	{
		if (!strcmp(key, "kernel")) {
			if (get_string(c, key, v, &cfg->kernel))
				return KTVM_EXIT_USAGE;
		} else if (!strcmp(key, "initrd")) {
			if (get_string(c, key, v, &cfg->initrd))
				return KTVM_EXIT_USAGE;
		} else if (!strcmp(key, "cmdline")) {
			if (get_string(c, key, v, &cfg->cmdline))
				return KTVM_EXIT_USAGE;
		} else if (!strcmp(key, "cpus")) {
			if (get_int(c, key, v, 1, KTVM_MAX_CPUS, &x))
				return KTVM_EXIT_USAGE;
			cfg->cpus = (unsigned int)x;
		} else if (!strcmp(key, "memory")) {
			uint64_t b = 0;

			if (json_object_is_type(v, json_type_int)) {
				if (get_int(c, key, v, 1, INT64_MAX >> 20, &x))
					return KTVM_EXIT_USAGE;
				b = MiB((uint64_t)x);
			} else if (json_object_is_type(v, json_type_string)) {
				if (parse_mem_size(json_object_get_string(v), &b))
					return bad(c, key,
						   "expected a size like 512M or 2G, not '%s'",
						   json_object_get_string(v));
			} else {
				return bad(c, key,
					   "expected a size like \"512M\" or a number of MiB");
			}
			if (b < KTVM_MIN_MEM || b % KiB(4))
				return bad(c, key,
					   "must be at least %" PRIu64 "M and a multiple of 4K",
					   KTVM_MIN_MEM >> 20);
			cfg->mem_bytes = b;
		} else if (!strcmp(key, "console")) {
			const char *s = NULL;

			if (get_string(c, key, v, &s) || !s)
				return KTVM_EXIT_USAGE;
			if (config_parse_console(s, cfg))
				return bad(c, key,
					   "expected stdio, none or file:PATH (or stdio,log=FILE), not '%s'",
					   s);
		} else if (!strcmp(key, "log_file")) {
			const char *s = NULL;

			if (get_string(c, key, v, &s) || !s)
				return KTVM_EXIT_USAGE;
			if (!*s)
				return bad(c, key, "expected a file name");
			cfg->log_file = s;
		} else if (!strcmp(key, "api_sock")) {
			const char *s = NULL;

			if (get_string(c, key, v, &s) || !s)
				return KTVM_EXIT_USAGE;
			if (!*s || strlen(s) >= 108)
				return bad(c, key, "expected a path of 1 to 107 bytes");
			cfg->api_sock = s;
		} else if (!strcmp(key, "stats")) {
			if (!json_object_is_type(v, json_type_boolean))
				return bad(c, key, "expected true or false");
			cfg->stats = json_object_get_boolean(v);
		} else if (!strcmp(key, "timeout")) {
			if (get_int(c, key, v, 0, 100000000, &x))
				return KTVM_EXIT_USAGE;
			cfg->timeout_s = (unsigned int)x;
		} else if (!strcmp(key, "log_level")) {
			const char *s = NULL;

			if (get_string(c, key, v, &s))
				return KTVM_EXIT_USAGE;
			if (log_parse_level(s, &cfg->log_level))
				return bad(c, key, "expected error, warn, info or debug, not '%s'",
					   s);
		} else if (!strcmp(key, "seccomp")) {
			const char *s = NULL;

			if (get_string(c, key, v, &s))
				return KTVM_EXIT_USAGE;
			if (config_parse_seccomp(s, cfg))
				return bad(c, key, "expected on, log or off, not '%s'", s);
		} else if (!strcmp(key, "user")) {
			const char *s = NULL;

			if (get_string(c, key, v, &s))
				return KTVM_EXIT_USAGE;
			if (config_parse_user(s, cfg))
				return bad(c, key, "expected UID[:GID] or NAME[:GROUP], not '%s'", s);
		} else if (!strcmp(key, "gdb")) {
			const char *s = NULL;
			int r;

			if (get_string(c, key, v, &s))
				return KTVM_EXIT_USAGE;
			r = config_parse_gdb(s, cfg);
			if (r == -2)
				return bad(c, key, "'%s': %s", s, gdb_addr_error(r));
			if (r)
				return bad(c, key, "expected tcp:[HOST]:PORT or unix:PATH, not '%s'",
					   s);
		} else if (!strcmp(key, "gdb_wait")) {
			if (!json_object_is_type(v, json_type_boolean))
				return bad(c, key, "expected true or false");
			cfg->gdb_wait = json_object_get_boolean(v);
		} else if (!strcmp(key, "dump_dtb")) {
			const char *s = NULL;

			if (get_string(c, key, v, &s) || !s)
				return KTVM_EXIT_USAGE;
			if (!*s)
				return bad(c, key, "expected a file name");
			cfg->dump_dtb = s;
		} else if (!strcmp(key, "nets")) {
			size_t n;

			if (!json_object_is_type(v, json_type_array))
				return bad(c, key, "expected an array of NIC objects");
			n = json_object_array_length(v);
			if (n > KTVM_MAX_NICS)
				return bad(c, key, "at most %u NICs, not %zu", KTVM_MAX_NICS, n);
			for (size_t i = 0; i < n; i++) {
				char where[32];

				snprintf(where, sizeof(where), "nets[%zu]", i);
				if (load_net(c, where, json_object_array_get_idx(v, i),
					     &cfg->nets[i]))
					return KTVM_EXIT_USAGE;
			}
			cfg->nnets = (unsigned int)n;
		} else {
			return bad(
				c, key,
				"unknown key (keys: kernel, initrd, cmdline, cpus, memory, console, "
				"timeout, log_level, log_file, stats, api_sock, seccomp, user, gdb, "
				"gdb_wait, dump_dtb, nets)");
		}
	}
	/* The CLI's rule (--gdb-wait needs --gdb), within the file: it must stand alone. */
	if (cfg->gdb_wait && !cfg->gdb)
		return bad(c, "gdb_wait", "needs \"gdb\" too");
	return 0;
}

int config_json_load(const char *path, struct vm_config *cfg, FILE *err)
{
	struct ctx c = {.file = path, .err = err};
	json_tokener *tok;
	json_object *root;
	char *text = NULL;
	size_t len = 0, cap = 0;
	FILE *f = fopen(path, "re"); /* close-on-exec */
	int r;

	if (!f) {
		fprintf(err, "ktvm: cannot read config file '%s': %s\n", path, strerror(errno));
		return KTVM_EXIT_USAGE;
	}
	for (;;) {
		if (len + 4096 > cap) {
			char *t;

			cap = cap ? 2 * cap : 8192;
			if (cap > MiB(16) || !(t = realloc(text, cap))) {
				fclose(f);
				free(text);
				return bad(&c, "", "too large");
			}
			text = t;
		}
		size_t k = fread(text + len, 1, cap - len - 1, f);

		len += k;
		if (k == 0)
			break;
	}
	r = ferror(f);
	fclose(f);
	if (r) {
		free(text);
		fprintf(err, "ktvm: cannot read config file '%s'\n", path);
		return KTVM_EXIT_USAGE;
	}
	text[len] = '\0';
	tok = json_tokener_new();
	if (!tok) {
		free(text);
		return bad(&c, "", "out of memory");
	}
	root = json_tokener_parse_ex(tok, text, (int)len + 1); /* the NUL ends the text */
	enum json_tokener_error e = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);

	/* One value, then only blanks: "{...} trailing" is not a configuration. */
	while (root && e == json_tokener_success && end < len && strchr(" \t\r\n", text[end]))
		end++;
	if (!root || e != json_tokener_success || end < len) {
		size_t line = 1;

		for (size_t i = 0; i < end && i < len; i++)
			line += text[i] == '\n';
		r = bad(&c, "", "not valid JSON: %s (line %zu)",
			e != json_tokener_success ? json_tokener_error_desc(e)
						  : "text after the configuration object",
			line);
	} else {
		r = load_top(&c, root, cfg);
	}
	json_object_put(root);
	json_tokener_free(tok);
	free(text);
	return r;
}

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void add_int(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

int config_json_print(const struct vm_config *cfg, FILE *out)
{
	json_object *root = json_object_new_object(), *nets = json_object_new_array();
	char buf[64];
	int r;

	if (!root || !nets)
		return -1;
	if (cfg->kernel)
		add_str(root, "kernel", cfg->kernel);
	if (cfg->initrd)
		add_str(root, "initrd", cfg->initrd);
	if (cfg->cmdline)
		add_str(root, "cmdline", cfg->cmdline);
	add_int(root, "cpus", cfg->cpus);
	if (cfg->mem_bytes % GiB(1) == 0)
		snprintf(buf, sizeof(buf), "%" PRIu64 "G", cfg->mem_bytes >> 30);
	else if (cfg->mem_bytes % MiB(1) == 0)
		snprintf(buf, sizeof(buf), "%" PRIu64 "M", cfg->mem_bytes >> 20);
	else
		snprintf(buf, sizeof(buf), "%" PRIu64 "K", cfg->mem_bytes >> 10);
	add_str(root, "memory", buf);
	if (cfg->console == CONSOLE_FILE) {
		char *s;

		if (asprintf(&s, "file:%s", cfg->console_path) < 0)
			s = NULL;
		add_str(root, "console", s ? s : "none");
		free(s);
	} else if (cfg->console == CONSOLE_STDIO && cfg->console_log) {
		char *s;

		if (asprintf(&s, "stdio,log=%s", cfg->console_log) < 0)
			s = NULL;
		add_str(root, "console", s ? s : "stdio");
		free(s);
	} else {
		add_str(root, "console", cfg->console == CONSOLE_NONE ? "none" : "stdio");
	}
	add_int(root, "timeout", cfg->timeout_s);
	add_str(root, "log_level",
		(unsigned int)cfg->log_level < ARRAY_SIZE(level_names) ? level_names[cfg->log_level]
								       : "warn");
	if (cfg->log_file)
		add_str(root, "log_file", cfg->log_file);
	if (cfg->stats)
		json_object_object_add(root, "stats", json_object_new_boolean(true));
	if (cfg->api_sock)
		add_str(root, "api_sock", cfg->api_sock);
	if (cfg->seccomp != KTVM_SECCOMP_ON)
		add_str(root, "seccomp",
			ktvm_seccomp_mode_name((enum ktvm_seccomp_mode)cfg->seccomp));
	if (cfg->has_user) {
		snprintf(buf, sizeof(buf), "%u:%u", cfg->uid, cfg->gid);
		add_str(root, "user", buf);
	}
	if (cfg->gdb)
		add_str(root, "gdb", cfg->gdb);
	if (cfg->gdb_wait)
		json_object_object_add(root, "gdb_wait", json_object_new_boolean(true));
	if (cfg->dump_dtb)
		add_str(root, "dump_dtb", cfg->dump_dtb);
	for (unsigned int i = 0; i < cfg->nnets; i++) {
		const struct net_config *n = &cfg->nets[i];
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
	r = fprintf(out, "%s\n",
		    json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_SPACED |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return r < 0 ? -1 : 0;
}
