// SPDX-License-Identifier: MIT
/*
 * gdb_rsp.c - the gdb remote serial protocol's framing: "$payload#xx"
 * packets with a modulo-256 checksum, '}' escapes (byte ^ 0x20) and '*'
 * run-length encoding on input (ktvm never emits run-length), '+'/'-' acks,
 * and a bare 0x03 for Ctrl-C.  No I/O here: the parser is fed bytes.
 */
#include <string.h>

#include "vmm/gdb.h"

enum { S_IDLE, S_DATA, S_RLE, S_CSUM };

void rsp_init(struct rsp_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->state = S_IDLE;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void put(struct rsp_parser *p, char c)
{
	if (p->len < GDB_PACKET_MAX)
		p->buf[p->len++] = c;
	else
		p->overflow = true;
}

enum rsp_event rsp_feed(struct rsp_parser *p, uint8_t c)
{
	switch (p->state) {
	case S_IDLE:
		if (c == '$') {
			p->state = S_DATA;
			p->len = 0;
			p->sum = 0;
			p->esc = false;
			p->overflow = false;
			p->ncs = 0;
		} else if (c == 0x03) {
			return RSP_INTERRUPT;
		} else if (c == '+') {
			return RSP_ACK;
		} else if (c == '-') {
			return RSP_NACK;
		}
		return RSP_NONE; /* noise between packets */
	case S_DATA:
		if (c == '#' && !p->esc) {
			p->state = S_CSUM;
			return RSP_NONE;
		}
		if (c == '$' && !p->esc) { /* a new packet: the old one was cut */
			p->len = 0;
			p->sum = 0;
			p->overflow = false;
			return RSP_NONE;
		}
		p->sum += c;
		if (p->esc) {
			put(p, (char)(c ^ 0x20));
			p->esc = false;
		} else if (c == '}') {
			p->esc = true;
		} else if (c == '*' && p->len > 0) {
			/* Run length: repeat the last character (c2 - 29) more times. */
			p->esc = false;
			p->state = S_RLE;
		} else {
			put(p, (char)c);
		}
		return RSP_NONE;
	case S_RLE: {
		char last = p->buf[p->len - 1];
		int n = (int)c - 29;

		p->sum += c;
		p->state = S_DATA;
		if (n < 0 || c == '#' || c == '$')
			p->overflow = true; /* malformed: make the checksum step refuse it */
		while (n-- > 0)
			put(p, last);
		return RSP_NONE;
	}
	case S_CSUM: {
		int v = hexval(c);

		p->cs[p->ncs++] = (char)c;
		if (v < 0) {
			p->state = S_IDLE;
			return RSP_BAD;
		}
		if (p->ncs < 2)
			return RSP_NONE;
		p->state = S_IDLE;
		/* Both digits were checked on arrival; re-check so no shift sees a negative. */
		int hi = hexval(p->cs[0]), lo = hexval(p->cs[1]);

		if (p->overflow || hi < 0 || lo < 0 || (hi << 4 | lo) != p->sum)
			return RSP_BAD;
		p->buf[p->len] = '\0';
		return RSP_PACKET;
	}
	}
	p->state = S_IDLE;
	return RSP_NONE;
}

static bool needs_escape(uint8_t c)
{
	return c == '#' || c == '$' || c == '}' || c == '*';
}

size_t rsp_escape_bin(const void *src, size_t len, char *out, size_t outmax)
{
	const uint8_t *s = src;
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (needs_escape(s[i])) {
			if (n + 2 > outmax)
				return 0;
			out[n++] = '}';
			out[n++] = (char)(s[i] ^ 0x20);
		} else {
			if (n + 1 > outmax)
				return 0;
			out[n++] = (char)s[i];
		}
	}
	return n;
}

size_t rsp_encode(const void *payload, size_t len, char *out, size_t outmax)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t sum = 0;
	size_t n;

	if (outmax < 4)
		return 0;
	out[0] = '$';
	n = rsp_escape_bin(payload, len, out + 1, outmax - 4);
	if (!n && len)
		return 0;
	for (size_t i = 1; i <= n; i++)
		sum += (uint8_t)out[i];
	n++;
	out[n++] = '#';
	out[n++] = hex[sum >> 4];
	out[n++] = hex[sum & 15];
	return n;
}

void rsp_bin2hex(const void *src, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s = src;

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[s[i] >> 4];
		out[2 * i + 1] = hex[s[i] & 15];
	}
	out[2 * len] = '\0';
}

int rsp_hex2bin(const char *hex, size_t len, void *dst)
{
	uint8_t *d = dst;

	for (size_t i = 0; i < len; i++) {
		int hi = hexval((unsigned char)hex[2 * i]);
		int lo = hi < 0 ? -1 : hexval((unsigned char)hex[2 * i + 1]);

		if (lo < 0)
			return -1;
		d[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int rsp_parse_hex(const char *s, uint64_t *v, const char **end)
{
	uint64_t r = 0;
	int n = 0, d;

	while ((d = hexval((unsigned char)s[n])) >= 0) {
		if (n >= 16)
			return -1;
		r = r << 4 | (uint64_t)d;
		n++;
	}
	if (!n)
		return -1;
	*v = r;
	if (end)
		*end = s + n;
	return 0;
}
