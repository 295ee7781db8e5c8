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

struct config_json_ctx {
	const char *file;
	FILE *err;
};

static int vbad(struct config_json_ctx *c, const char *path, const char *fmt, va_list ap)
{
	fprintf(c->err, "ktvm: %s: %s%s", c->file, path, *path ? ": " : "");
	vfprintf(c->err, fmt, ap);
	fputc('\n', c->err);
	return KTVM_EXIT_USAGE;
}

static int bad(struct config_json_ctx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bad(struct config_json_ctx *c, const char *path, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vbad(c, path, fmt, ap);
	va_end(ap);
	return r;
}

int config_json_bad(struct config_json_ctx *c, const char *path, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vbad(c, path, fmt, ap);
	va_end(ap);
	return r;
}

static int get_string(struct config_json_ctx *c, const char *path, json_object *v, const char **out)
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
static int get_int(struct config_json_ctx *c, const char *path, json_object *v, int64_t min, int64_t max,
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

int config_json_get_string(struct config_json_ctx *c, const char *path, json_object *v,
			   const char **out)
{
	return get_string(c, path, v, out);
}

int config_json_get_int(struct config_json_ctx *c, const char *path, json_object *v, int64_t min,
			int64_t max, int64_t *out)
{
	return get_int(c, path, v, min, max, out);
}

/* The device type whose JSON key this is, or NULL. */
static const struct ktvm_device_type *device_json_key(const char *key)
{
	ktvm_for_each_device_type(t)
		if (t->json_key && t->json_load && !strcmp(t->json_key, key))
			return t;
	return NULL;
}

static int load_top(struct config_json_ctx *c, json_object *root, struct vm_config *cfg)
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
		} else if (device_json_key(key)) {
			const struct ktvm_device_type *t = device_json_key(key);

			if (t->json_load(c, key, v, cfg))
				return KTVM_EXIT_USAGE;
		} else {
			char keys[256];
			size_t n = (size_t)snprintf(keys, sizeof(keys), "%s",
						    "kernel, initrd, cmdline, cpus, memory, console, "
						    "timeout, log_level, log_file, stats, api_sock, "
						    "seccomp, user, gdb, gdb_wait, dump_dtb");

			ktvm_for_each_device_type(t)
				if (t->json_key && n < sizeof(keys))
					n += (size_t)snprintf(keys + n, sizeof(keys) - n, ", %s",
							      t->json_key);
			return bad(c, key, "unknown key (keys: %s)", keys);
		}
	}
	/* The CLI's rule (--gdb-wait needs --gdb), within the file: it must stand alone. */
	if (cfg->gdb_wait && !cfg->gdb)
		return bad(c, "gdb_wait", "needs \"gdb\" too");
	return 0;
}

int config_json_load(const char *path, struct vm_config *cfg, FILE *err)
{
	struct config_json_ctx c = {.file = path, .err = err};
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
	json_object *root = json_object_new_object();
	char buf[64];
	int r;

	if (!root)
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
	ktvm_for_each_device_type(t)
		if (t->json_print)
			t->json_print(cfg, root);
	r = fprintf(out, "%s\n",
		    json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_SPACED |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return r < 0 ? -1 : 0;
}
