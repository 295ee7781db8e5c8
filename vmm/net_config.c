// SPDX-License-Identifier: MIT
/*
 * net_config.c - one --net specification: a comma-separated list of
 * key=value pairs describing a virtio-net NIC and its TAP backend.
 *
 *   tap=NAME      create or attach TAP interface NAME (at most 15 characters)
 *   fd=N          use the already-open TAP file descriptor N instead
 *   mac=MAC       six hex pairs separated by ':'      [02:00:00:00:00:01]
 *   mtu=N         advertise this MTU (68..65535)        [not advertised]
 *   queue_pairs=N queue pairs, clamped to [1, 256]      [1]
 *   msix=on|off   MSI-X on the PCI function             [on]
 *   pcap=FILE     capture every frame of the NIC to FILE  [off]
 *
 * Pure parsing: nothing here opens the TAP or checks the fd (see cli.c and
 * devices/tap.c).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "vmm/net_config.h"

/*
 * Tap names live as long as the process (struct net_config points at them).
 * Kept on a list reachable from a global so leak checkers see them as owned.
 */
struct name_node {
	struct name_node *next;
	char name[NET_TAP_NAME_MAX + 1];
};
static struct name_node *tap_names;

static const char *keep_name(const char *s, size_t len)
{
	struct name_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	memcpy(n->name, s, len);
	n->next = tap_names;
	tap_names = n;
	return n->name;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void net_config_defaults(struct net_config *out)
{
	static const uint8_t def_mac[6] = KTVM_DEFAULT_MAC;

	memset(out, 0, sizeof(*out));
	out->tap = NULL;
	out->fd = -1;
	memcpy(out->mac, def_mac, sizeof(def_mac));
	out->mtu = 0;
	out->queue_pairs = 1;
	out->msix = true;
}

const char *net_mac_str(const uint8_t mac[6], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
	return buf;
}

/* Decimal digits only, no sign, no blanks; 0 or -1. */
static int parse_num(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly "xx:xx:xx:xx:xx:xx". */
int net_parse_mac(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

const char *net_mac_problem(const uint8_t mac[6])
{
	if (mac[0] & 1)
		return "is a multicast address";
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return "is not a valid address";
	return NULL;
}

const char *net_keep_name(const char *s)
{
	return strlen(s) > NET_TAP_NAME_MAX ? NULL : keep_name(s, strlen(s));
}

unsigned int net_clamp_queue_pairs(unsigned long long v)
{
	unsigned long long c;

	if (v >= 1 && v <= NET_MAX_QUEUE_PAIRS)
		return (unsigned int)v;
	c = v < 1 ? 1 : NET_MAX_QUEUE_PAIRS;
	log_warn("net", "queue_pairs=%llu clamped to %llu (the range is 1..%d)", v, c,
		 NET_MAX_QUEUE_PAIRS);
	return (unsigned int)c;
}

/* What Linux's dev_valid_name() accepts, and what fits in IFNAMSIZ. */
const char *net_bad_ifname(const char *s)
{
	size_t len = strlen(s);

	if (!len)
		return "is empty";
	if (len > NET_TAP_NAME_MAX)
		return "is longer than 15 characters (Linux's IFNAMSIZ limit)";
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return "is not a valid interface name";
	for (const char *p = s; *p; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p) ||
		    !isprint((unsigned char)*p))
			return "may not contain '/', ':', blanks or control characters";
	return NULL;
}

enum { K_TAP, K_FD, K_MAC, K_MTU, K_QP, K_MSIX, K_PCAP, K_NUM };
static const char *const key_names[K_NUM] = {"tap",	    "fd",   "mac", "mtu",
					     "queue_pairs", "msix", "pcap"};

const char *net_keep_path(const char *s)
{
	struct name_node *n;
	size_t len = strlen(s);

	n = calloc(1, sizeof(*n) + len + 1);
	if (!n)
		return NULL;
	memcpy((char *)(n + 1), s, len + 1);
	n->next = tap_names;
	tap_names = n;
	return (const char *)(n + 1);
}

int net_config_parse(const char *spec, struct net_config *out, char *err, size_t errlen)
{
	bool seen[K_NUM] = {false};
	char buf[256];
	char *item, *save = NULL;
	unsigned long v;

	net_config_defaults(out);
	if (!spec || !*spec)
		return fail(err, errlen, "is empty (expected tap=NAME or fd=N)");
	if (strlen(spec) >= sizeof(buf))
		return fail(err, errlen, "is too long");
	/* NOLINTNEXTLINE(clang-analyzer-security.insecureAPI.strcpy): length checked above */
	strcpy(buf, spec);
	if (buf[0] == ',' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,"))
		return fail(err, errlen, "has an empty item");

	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *val = strchr(item, '=');
		int k;

		if (!val)
			return fail(err, errlen, "'%s' is not key=value", item);
		*val++ = '\0';
		for (k = 0; k < K_NUM; k++)
			if (!strcmp(item, key_names[k]))
				break;
		if (k == K_NUM)
			return fail(err, errlen,
				    "unknown key '%s' (keys: tap, fd, mac, mtu, queue_pairs, msix, pcap)",
				    item);
		if (seen[k])
			return fail(err, errlen, "'%s' given twice", item);
		seen[k] = true;

		switch (k) {
		case K_TAP: {
			const char *why = net_bad_ifname(val);

			if (why)
				return fail(err, errlen, "tap name '%s' %s", val, why);
			out->tap = keep_name(val, strlen(val));
			if (!out->tap)
				return fail(err, errlen, "out of memory");
			break;
		}
		case K_FD:
			if (parse_num(val, INT_MAX, &v))
				return fail(err, errlen,
					    "fd takes a file descriptor number, not '%s'", val);
			out->fd = (int)v;
			break;
		case K_MAC:
			if (net_parse_mac(val, out->mac))
				return fail(
					err, errlen,
					"mac takes six hex pairs like 02:00:00:00:00:01, not '%s'",
					val);
			if (net_mac_problem(out->mac))
				return fail(err, errlen, "mac %s %s", val,
					    net_mac_problem(out->mac));
			break;
		case K_MTU:
			if (parse_num(val, ULONG_MAX, &v) || v < NET_MTU_MIN || v > NET_MTU_MAX)
				return fail(err, errlen,
					    "mtu takes a number from %d to %d, not '%s'",
					    NET_MTU_MIN, NET_MTU_MAX, val);
			out->mtu = (unsigned int)v;
			break;
		case K_QP:
			if (parse_num(val, UINT_MAX, &v))
				return fail(err, errlen, "queue_pairs takes a number, not '%s'",
					    val);
			out->queue_pairs = net_clamp_queue_pairs(v);
			break;
		case K_MSIX:
			if (!strcmp(val, "on"))
				out->msix = true;
			else if (!strcmp(val, "off"))
				out->msix = false;
			else
				return fail(err, errlen, "msix takes on or off, not '%s'", val);
			break;
		case K_PCAP:
			if (!*val)
				return fail(err, errlen, "pcap takes a file name");
			out->pcap = net_keep_path(val);
			if (!out->pcap)
				return fail(err, errlen, "out of memory");
			break;
		}
	}
	if (seen[K_TAP] && seen[K_FD])
		return fail(err, errlen, "give either tap=NAME or fd=N, not both");
	if (!seen[K_TAP] && !seen[K_FD])
		return fail(err, errlen, "needs a backend: tap=NAME or fd=N");
	return 0;
}
