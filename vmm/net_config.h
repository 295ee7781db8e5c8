/* SPDX-License-Identifier: MIT */
/* net_config.h - parsing one --net specification into a struct net_config. */
#ifndef KTVM_NET_CONFIG_H
#define KTVM_NET_CONFIG_H

#include "vmm/ktvm.h"

#define NET_MAX_QUEUE_PAIRS 256 /* NetConfig's MAX_QUEUE_PAIRS */
#define NET_TAP_NAME_MAX    15	/* IFNAMSIZ - 1 */
#define NET_MTU_MIN	    68
#define NET_MTU_MAX	    65535

/* Defaults: no backend, MAC 02:00:00:00:00:01, no MTU, one queue pair, MSI-X on. */
void net_config_defaults(struct net_config *out);

/*
 * Parse "tap=NAME[,mac=..][,mtu=N][,queue_pairs=N][,msix=on|off]" or
 * "fd=N[,...]" into *out (defaults first).  Returns 0, or -1 with one
 * sentence (no "ktvm:" prefix, no newline) in err.  queue_pairs outside
 * [1, 256] is clamped with one warning line (NetConfig's contract).
 * The tap name is copied into storage that lives as long as the process.
 */
int net_config_parse(const char *spec, struct net_config *out, char *err, size_t errlen);

/* "02:00:00:00:00:01" into buf (at least 18 bytes). */
const char *net_mac_str(const uint8_t mac[6], char *buf, size_t len);

#endif
