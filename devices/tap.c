// SPDX-License-Identifier: MIT
/* tap.c - opening and configuring TAP devices for virtio-net. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_tun.h>

#include "devices/tap.h"

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

/* Vnet header size, non-blocking, offloads off: common to both ways in. */
static int tap_setup(int fd, char *err, size_t errlen, const char *what)
{
	int hdr = TAP_VNET_HDR_LEN;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return fail(err, errlen, "%s: cannot make it non-blocking: %s", what,
			    strerror(errno));
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return fail(err, errlen, "%s: TUNSETVNETHDRSZ %d: %s", what, hdr, strerror(errno));
	/* Nothing GSO/partial-checksum reaches the guest before it negotiates it. */
	if (tap_set_offload(fd, 0) < 0)
		return fail(err, errlen, "%s: TUNSETOFFLOAD: %s", what, strerror(errno));
	return 0;
}

int tap_open(const char *name, bool multi_queue, char *ifname, char *err, size_t errlen)
{
	struct ifreq ifr;
	unsigned int features = 0;
	int fd;

	if (!name || !*name || strlen(name) >= IFNAMSIZ)
		return fail(err, errlen, "TAP name '%s' must be 1 to %d characters",
			    name ? name : "", IFNAMSIZ - 1);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, "cannot open /dev/net/tun for TAP '%s': %s%s", name,
			    strerror(errno),
			    errno == ENOENT ? " (is the tun module loaded?)"
			    : errno == EACCES || errno == EPERM
				    ? " (needs CAP_NET_ADMIN or access to /dev/net/tun)"
				    : "");
	if (ioctl(fd, TUNGETFEATURES, &features) < 0 || !(features & IFF_VNET_HDR)) {
		close(fd);
		return fail(err, errlen, "TAP '%s': this kernel's tun driver has no IFF_VNET_HDR",
			    name);
	}
	if (multi_queue && !(features & IFF_MULTI_QUEUE)) {
		close(fd);
		return fail(err, errlen,
			    "TAP '%s': this kernel's tun driver has no IFF_MULTI_QUEUE", name);
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (multi_queue ? IFF_MULTI_QUEUE : 0);
	memcpy(ifr.ifr_name, name, strlen(name));
	int r = ioctl(fd, TUNSETIFF, &ifr);

	if (r < 0 && errno == EINVAL && !multi_queue && (features & IFF_MULTI_QUEUE)) {
		/*
		 * A TAP created with 'multi_queue' (as the docs advise, so one TAP
		 * serves any queue_pairs) refuses a single-queue attach: attach as
		 * its one queue instead.
		 */
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
		r = ioctl(fd, TUNSETIFF, &ifr);
		if (r < 0)
			errno = EINVAL; /* report the first attempt's reason */
	}
	if (r < 0) {
		int e = errno;

		close(fd);
		return fail(err, errlen, "cannot create or attach TAP '%s': %s%s", name,
			    strerror(e),
			    e == EPERM	  ? " (needs CAP_NET_ADMIN, or a TAP created for this user)"
			    : e == EBUSY  ? " (in use by another process, or not a TAP)"
			    : e == EINVAL ? " (exists with other flags, or is not a TAP)"
					  : "");
	}
	if (tap_setup(fd, err, errlen, name)) {
		close(fd);
		return -1;
	}
	if (ifname)
		snprintf(ifname, IFNAMSIZ, "%s", ifr.ifr_name);
	return fd;
}

int tap_adopt(int fd, char *ifname, char *err, size_t errlen)
{
	struct ifreq ifr;
	char what[32];

	snprintf(what, sizeof(what), "fd %d", fd);
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return fail(err, errlen, "fd %d is not an attached TUN/TAP device: %s", fd,
			    strerror(errno));
	if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP)) != IFF_TAP)
		return fail(err, errlen, "fd %d is a TUN device, not a TAP (%s)", fd, ifr.ifr_name);
	if (!(ifr.ifr_flags & IFF_VNET_HDR))
		return fail(err, errlen, "fd %d (TAP %s) was opened without IFF_VNET_HDR", fd,
			    ifr.ifr_name);
	if (!(ifr.ifr_flags & IFF_NO_PI))
		return fail(err, errlen, "fd %d (TAP %s) was opened without IFF_NO_PI", fd,
			    ifr.ifr_name);
	if (tap_setup(fd, err, errlen, what))
		return -1;
	if (ifname)
		snprintf(ifname, IFNAMSIZ, "%s", ifr.ifr_name);
	return fd;
}

int tap_set_offload(int fd, unsigned int tun_flags)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)tun_flags) < 0 ? -1 : 0;
}

int tap_set_queue(int fd, bool attach)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = attach ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
	return ioctl(fd, TUNSETQUEUE, &ifr) < 0 ? -1 : 0;
}

bool tap_probe_ufo(int fd)
{
	bool ok = tap_set_offload(fd, TUN_F_CSUM | TUN_F_UFO) == 0;

	tap_set_offload(fd, 0);
	return ok;
}
