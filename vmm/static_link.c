// SPDX-License-Identifier: MIT
/*
 * static_link.c - what a static ktvm needs (linked only into ./ktvm with
 * STATIC=1, the default; see the Makefile) that Debian has no
 * static library for.  libpcap.a (vmm/net_pcap.c) pulls in its D-Bus
 * capture source, and libdbus-1.a calls two libsystemd functions for socket
 * activation; Debian ships no libsystemd.a.  ktvm never captures from D-Bus,
 * so "no sockets passed" is the true answer.
 */
#include "vmm/ktvm.h"

int sd_listen_fds(int unset_environment);
int sd_is_socket(int fd, int family, int type, int listening);

int sd_listen_fds(int unset_environment UNUSED)
{
	return 0;
}

int sd_is_socket(int fd UNUSED, int family UNUSED, int type UNUSED, int listening UNUSED)
{
	return 0;
}
