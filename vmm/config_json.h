/* SPDX-License-Identifier: MIT */
/*
 * config_json.h - "ktvm run --config vm.json" and "ktvm config --print":
 * the whole run configuration as JSON (through json-c).
 *
 *   {
 *     "kernel": "bzImage", "initrd": "initrd.cpio.gz", "cmdline": "quiet",
 *     "cpus": 4, "memory": "2G", "console": "stdio", "timeout": 60,
 *     "log_level": "warn", "seccomp": "log", "user": "1000:1000",
 *     "gdb": "tcp::1234", "gdb_wait": true, "dump_dtb": "guest.dtb",
 *     "nets": [ { "tap": "tap0", "mac": "02:00:00:00:00:01", "queue_pairs": 4,
 *                 "mtu": 1500, "msix": true } ]
 *   }
 *
 * Every key is optional; "mac" may also be an array of six numbers (serde's
 * form of [u8; 6]); "memory" a size string like the CLI's or a number of
 * MiB; "timeout" 0 means none.  "seccomp", "user" and "gdb" take what
 * --seccomp, --user and --gdb take (the same parsers, below); "gdb_wait"
 * true needs "gdb" in the same file.  A net has "tap" or "fd".  Unknown
 * keys and values of the wrong type are errors naming the key and its path.
 */
#ifndef KTVM_CONFIG_JSON_H
#define KTVM_CONFIG_JSON_H

#include "vmm/ktvm.h"

/*
 * Read 'path' over cfg (which holds the defaults).  0, or KTVM_EXIT_USAGE
 * after one line on err: "ktvm: PATH: nets[1].queue_pairs: expected an integer".
 * Strings are copied into storage that lives as long as the process.
 */
int config_json_load(const char *path, struct vm_config *cfg, FILE *err);
/* The effective configuration as JSON that config_json_load reads back the same. */
int config_json_print(const struct vm_config *cfg, FILE *out);

/*
 * For a device type's json_load hook (struct ktvm_device_type): one line
 * "ktvm: FILE: PATH: MESSAGE" on the parse's err, returning KTVM_EXIT_USAGE;
 * a string (kept as long as ktvm runs) and a bounded integer, with the same
 * messages as the core's own keys.
 */
struct json_object;
int config_json_bad(struct config_json_ctx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int config_json_get_string(struct config_json_ctx *c, const char *path, struct json_object *v,
			   const char **out);
int config_json_get_int(struct config_json_ctx *c, const char *path, struct json_object *v,
			int64_t min, int64_t max, int64_t *out);

/*
 * Option values shared by the CLI and the file (defined in cli.c): each
 * checks s and stores it in cfg (s itself is kept, not copied): 0, or -1
 * with cfg unchanged.
 */
/* --seccomp / "seccomp": on, log or off. */
int config_parse_seccomp(const char *s, struct vm_config *cfg);
/* --user / "user": UID[:GID] or NAME[:GROUP] (looked up now), into has_user, uid, gid. */
int config_parse_user(const char *s, struct vm_config *cfg);
/* One line "ktvm: MESSAGE (see 'ktvm run --help')" on err: returns KTVM_EXIT_USAGE. */
int config_usage_error(FILE *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* --gdb / "gdb": tcp:[HOST]:PORT[,insecure] or unix:PATH (gdb_parse_addr): 0, -1 or -2. */
int config_parse_gdb(const char *s, struct vm_config *cfg);

#endif
