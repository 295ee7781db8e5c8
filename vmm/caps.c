// SPDX-License-Identifier: MIT
/*
 * caps.c - least privilege after setup: no_new_privs, an optional drop to
 * another user (--user, when started as root), and no capabilities at all.
 *
 * Called once by vm_run() when everything that needs privileges is done
 * (/dev/kvm open, guest memory mapped, TAPs opened and configured, console
 * file open, vCPUs created) and before any thread exists: capabilities and
 * credentials are per thread in the kernel, and glibc's setuid() on a
 * single-threaded process is one plain syscall.  The order matters:
 *   1. PR_SET_NO_NEW_PRIVS (seccomp filters without CAP_SYS_ADMIN need it;
 *      nothing ktvm runs afterwards can gain privileges through execve).
 *   2. The ambient set cleared (needs no privilege).
 *   3. The bounding set emptied, while CAP_SETPCAP is still effective (an
 *      unprivileged ktvm has no CAP_SETPCAP and nothing to bound: skipped).
 *   4. --user: setgroups(gid only), setgid, setuid (needs CAP_SETGID and
 *      CAP_SETUID, still held); checked afterwards that uid 0 is gone for good.
 *      Root without --user stays uid 0 (one warning line): root-owned files
 *      stay writable by uid, capabilities or not.
 *   5. Effective, permitted and inheritable sets cleared (cap_set_proc), then
 *      read back: CapEff, CapPrm and CapInh must be 0.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "vmm/ktvm.h"
#include "vmm/seccomp.h"

static int parse_id(const char *s, size_t len, unsigned long *out)
{
	char buf[32], *end;

	if (!len || len >= sizeof(buf) || *s == '-' || *s == '+')
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtoul(buf, &end, 10);
	return errno || *end || *out >= UINT_MAX ? -1 : 0;
}

/*
 * User and group names are looked up in /etc/passwd and /etc/group
 * themselves (fgetpwent/fgetgrent), never through NSS: ./ktvm is linked
 * statically, and a static glibc that meets "passwd: files systemd" in
 * nsswitch.conf loads the shared NSS module into the process, which
 * crashes.  Users from other databases (LDAP, ...) are given as numbers.
 */
static FILE *open_db(const char *path)
{
	return fopen(path, "re");
}

static bool user_by_name(const char *name, uid_t *uid, gid_t *gid)
{
	FILE *f = open_db("/etc/passwd");
	struct passwd *pw;
	bool found = false;

	while (f && !found && (pw = fgetpwent(f))) {
		if (!strcmp(pw->pw_name, name)) {
			*uid = pw->pw_uid;
			*gid = pw->pw_gid;
			found = true;
		}
	}
	if (f)
		fclose(f);
	return found;
}

static bool user_by_uid(uid_t uid, gid_t *gid)
{
	FILE *f = open_db("/etc/passwd");
	struct passwd *pw;
	bool found = false;

	while (f && !found && (pw = fgetpwent(f))) {
		if (pw->pw_uid == uid) {
			*gid = pw->pw_gid;
			found = true;
		}
	}
	if (f)
		fclose(f);
	return found;
}

static bool group_by_name(const char *name, gid_t *gid)
{
	FILE *f = open_db("/etc/group");
	struct group *gr;
	bool found = false;

	while (f && !found && (gr = fgetgrent(f))) {
		if (!strcmp(gr->gr_name, name)) {
			*gid = gr->gr_gid;
			found = true;
		}
	}
	if (f)
		fclose(f);
	return found;
}

int ktvm_parse_user(const char *s, uid_t *uid, gid_t *gid)
{
	const char *colon = strchr(s, ':');
	size_t ulen = colon ? (size_t)(colon - s) : strlen(s);
	unsigned long v;
	char name[64];

	if (!ulen || ulen >= sizeof(name))
		return -1;
	if (!parse_id(s, ulen, &v)) {
		*uid = (uid_t)v;
		if (!user_by_uid(*uid, gid))
			*gid = (gid_t)v; /* no passwd entry: gid = uid */
	} else {
		memcpy(name, s, ulen);
		name[ulen] = '\0';
		if (!user_by_name(name, uid, gid))
			return -1;
	}
	if (colon) {
		const char *g = colon + 1;

		if (!parse_id(g, strlen(g), &v)) {
			*gid = (gid_t)v;
		} else if (!*g || !group_by_name(g, gid)) {
			return -1;
		}
	}
	return 0;
}

static int drop_bounding_set(void)
{
	cap_flag_value_t setpcap = CAP_CLEAR;
	cap_t cur = cap_get_proc();

	if (cur)
		cap_get_flag(cur, CAP_SETPCAP, CAP_EFFECTIVE, &setpcap);
	cap_free(cur);
	if (setpcap != CAP_SET)
		return 0; /* unprivileged: the bounding set cannot be changed (nor used: no_new_privs) */
	for (cap_value_t c = 0;; c++) {
		int in = prctl(PR_CAPBSET_READ, c, 0, 0, 0);

		if (in < 0)
			break; /* EINVAL: past the kernel's last capability */
		if (in && cap_drop_bound(c)) {
			log_err("caps", "cannot drop capability %d from the bounding set: %s",
				(int)c, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int change_user(uid_t uid, gid_t gid)
{
	if (getuid() == uid && geteuid() == uid && getgid() == gid && getegid() == gid)
		return 0;
	if (setgroups(1, &gid) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid)) {
		log_err("caps", "--user %u:%u: %s%s", (unsigned int)uid, (unsigned int)gid,
			strerror(errno), errno == EPERM ? " (changing user needs root)" : "");
		return -1;
	}
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		log_err("caps", "--user: uid 0 could be regained");
		return -1;
	}
	log_info("caps", "now running as %u:%u", (unsigned int)uid, (unsigned int)gid);
	return 0;
}

int ktvm_drop_privileges(bool has_user, uid_t uid, gid_t gid)
{
	cap_t none, cur;
	int cmp;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		log_err("caps", "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	/* EINVAL on kernels without ambient capabilities (< 4.3): nothing to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL) {
		log_err("caps", "clearing ambient capabilities: %s", strerror(errno));
		return -1;
	}
	if (drop_bounding_set())
		return -1;
	if (has_user && change_user(uid, gid))
		return -1;
	if (!has_user && (geteuid() == 0 || getuid() == 0))
		/*
		 * Capabilities go, uid 0 stays: a hijacked ktvm could still write
		 * every root-owned file its seccomp filters let it reach.
		 */
		log_once(LOG_WARN, "caps",
			 "started as root without --user: still uid 0 after dropping "
			 "capabilities (files owned by root stay writable); use --user");
	none = cap_init();
	if (!none || cap_set_proc(none)) {
		log_err("caps", "cannot drop capabilities: %s", strerror(errno));
		cap_free(none);
		return -1;
	}
	cur = cap_get_proc();
	cmp = cur ? cap_compare(cur, none) : -1;
	cap_free(cur);
	cap_free(none);
	if (cmp) {
		log_err("caps", "capabilities are still held after dropping them");
		return -1;
	}
	log_info("caps", "all capabilities dropped, no_new_privs set");
	return 0;
}
