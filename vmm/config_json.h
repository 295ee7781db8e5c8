/* SPDX-License-Identifier: MIT */
/*
 * config_json.h - "ktvm run --config vm.json" and "ktvm config --print":
 * the whole run configuration as JSON (through json-c).
 *
 *   {
 *     "kernel": "bzImage", "initrd": "initrd.cpio.gz", "cmdline": "quiet",
 *     "cpus": 4, "memory": "2G", "console": "stdio", "timeout": 60,
 *     "log_level": "warn",
 *     "nets": [ { "tap": "tap0", "mac": "02:00:00:00:00:01", "queue_pairs": 4,
 *                 "mtu": 1500, "msix": true } ]
 *   }
 *
 * Every key is optional; "mac" may also be an array of six numbers (serde's
 * form of [u8; 6]); "memory" a size string like the CLI's or a number of
 * MiB; "timeout" 0 means none.  A net has "tap" or "fd".  Unknown keys and
 * values of the wrong type are errors naming the key and its path.
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

#endif
