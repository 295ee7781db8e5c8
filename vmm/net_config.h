/* SPDX-License-Identifier: MIT */
/* net_config.h - parsing one --net specification into a struct net_config. */
#ifndef KTVM_NET_CONFIG_H
#define KTVM_NET_CONFIG_H

#include "vmm/ktvm.h"

#define KTVM_MAX_NICS 8
#define KTVM_DEFAULT_MAC { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 } /* NetConfig's default */

/* One --net: a virtio-net NIC backed by a TAP device (NetConfig plus the backend). */
struct net_config {
	const char *tap;	/* tap=NAME: create or attach TAP NAME; NULL with fd= */
	int fd;			/* fd=N: an already-open TAP fd; -1 with tap= */
	uint8_t mac[6];		/* mac=, default KTVM_DEFAULT_MAC */
	unsigned int mtu;	/* mtu=, 0 = not advertised (1500) */
	unsigned int queue_pairs; /* queue_pairs=, clamped to [1, 256] (NetConfig) */
	bool msix;		/* msix=on|off (PCI): multiqueue needs it */
	const char *pcap;	/* pcap=FILE: capture every frame of this NIC, NULL = off */
};

/* Every --net (or "nets") of a configuration: virtio-net's slot of struct vm_config. */
struct net_configs {
	unsigned int n;
	struct net_config nets[KTVM_MAX_NICS];
};

/* That slot (devices/net_device.c). */
struct net_configs *net_configs(struct vm_config *cfg);
const struct net_configs *net_configs_c(const struct vm_config *cfg);

#define NET_MAX_QUEUE_PAIRS 256 /* NetConfig's MAX_QUEUE_PAIRS */
#define NET_TAP_NAME_MAX    15	/* IFNAMSIZ - 1 */
#define NET_MTU_MIN	    68
#define NET_MTU_MAX	    65535

/* Defaults: no backend, MAC 02:00:00:00:00:01, no MTU, one queue pair, MSI-X on. */
void net_config_defaults(struct net_config *out);

/*
 * Parse "tap=NAME[,mac=..][,mtu=N][,queue_pairs=N][,msix=on|off][,pcap=FILE]" or
 * "fd=N[,...]" into *out (defaults first).  Returns 0, or -1 with one
 * sentence (no "ktvm:" prefix, no newline) in err.  queue_pairs outside
 * [1, 256] is clamped with one warning line (NetConfig's contract).
 * The tap name is copied into storage that lives as long as the process.
 */
int net_config_parse(const char *spec, struct net_config *out, char *err, size_t errlen);

/* Shared with the JSON configuration (vmm/config_json.c). */
int net_parse_mac(const char *s, uint8_t mac[6]); /* exactly xx:xx:xx:xx:xx:xx: 0 or -1 */
const char *net_mac_problem(const uint8_t mac[6]); /* "is a multicast address", or NULL */
const char *net_bad_ifname(const char *s);	   /* why it is no interface name, or NULL */
const char *net_keep_name(const char *s);	   /* a copy that lives as long as ktvm */
const char *net_keep_path(const char *s);	   /* the same, any length (pcap=FILE) */
/* queue_pairs clamped to [1, 256], with one warning line when it had to be. */
unsigned int net_clamp_queue_pairs(unsigned long long v);

/* "02:00:00:00:00:01" into buf (at least 18 bytes). */
const char *net_mac_str(const uint8_t mac[6], char *buf, size_t len);

#endif
