// SPDX-License-Identifier: MIT
/*
 * api.c - the control socket and 'ktvm ctl' (see api.h).
 *
 * Everything runs on the main thread's event loop (vm_loop_add): no thread
 * of its own, so the main thread's seccomp list covers it (accept4 for new
 * connections, read/write/close on them, unlink of the socket at the end).
 * Sockets are non-blocking; an answer that does not fit the socket buffer
 * (a client that never reads) ends that connection instead of blocking the
 * loop.
 *
 * Other local users are hostile: 'stop' ends the guest, 'stats' describes
 * it.  The socket is created mode 0600 whatever the umask (bound under
 * umask 0177, checked afterwards), and every connection's peer is checked
 * (SO_PEERCRED): ktvm's own uid or root, anyone else gets one error line
 * and is hung up on (logged at most once a second).  The mode alone is not
 * enough: a socket in a directory of another owner, or a path whose mode
 * someone loosens, would still let them in.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/api.h"
#include "vmm/pause.h"
#include "vmm/stats.h"

struct api_client {
	struct api_server *srv;
	int fd; /* -1: slot free */
	struct loop_handler *h;
	size_t len;
	char buf[API_LINE_MAX];
};

struct api_server {
	struct vm *vm;
	uid_t euid; /* ktvm's, read at creation: no thread may ask under its seccomp list */
	int fd;
	char *path;
	struct loop_handler *h;
	bool paused; /* this server holds one pause */
	struct api_client clients[API_MAX_CLIENTS];
};

static char *answer(const char *s)
{
	size_t n = strlen(s);
	char *r = malloc(n + 2);

	if (r) {
		memcpy(r, s, n);
		r[n] = '\n';
		r[n + 1] = '\0';
	}
	return r;
}

char *api_handle_line(struct api_server *a, const char *line)
{
	char cmd[32];
	size_t len = strlen(line);

	/* Blanks around the command are fine ("stats\r" from a telnet-like client too). */
	while (len && strchr(" \t\r", line[len - 1]))
		len--;
	while (len && strchr(" \t", *line)) {
		line++;
		len--;
	}
	if (!len)
		return answer("error: empty command (commands: pause resume stats stop help)");
	if (len >= sizeof(cmd))
		return answer("error: unknown command (commands: pause resume stats stop help)");
	memcpy(cmd, line, len);
	cmd[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)cmd[i] < 0x20 || (unsigned char)cmd[i] >= 0x7f)
			return answer("error: control characters in the command");

	if (!strcmp(cmd, "pause")) {
		if (!a->paused) {
			a->paused = true;
			vm_pause_all(a->vm);
			log_info("api", "vCPUs paused");
		}
		return answer("ok");
	}
	if (!strcmp(cmd, "resume")) {
		if (a->paused) {
			a->paused = false;
			vm_resume_all(a->vm);
			log_info("api", "vCPUs resumed");
		}
		return answer("ok");
	}
	if (!strcmp(cmd, "stats")) {
		char *s = vm_stats_json(a->vm), *r;

		if (!s)
			return answer("error: out of memory");
		r = answer(s);
		free(s);
		return r;
	}
	if (!strcmp(cmd, "stop")) {
		vm_request_stop(a->vm, KTVM_EXIT_OK, "stopped through the control socket");
		return answer("ok");
	}
	if (!strcmp(cmd, "help"))
		return answer("ok: pause resume stats stop help");
	return answer("error: unknown command (commands: pause resume stats stop help)");
}

static void client_close(struct api_client *c)
{
	if (c->fd < 0)
		return;
	vm_loop_del(c->srv->vm, c->h);
	close(c->fd);
	c->fd = -1;
	c->h = NULL;
	c->len = 0;
}

/* The whole answer or nothing more on this connection: 0 or -1. */
static int send_all(int fd, const char *s)
{
	size_t len = strlen(s), off = 0;

	while (off < len) {
		ssize_t w = write(fd, s + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

static int reply(struct api_client *c, const char *line)
{
	char *r = api_handle_line(c->srv, line);
	int ret;

	if (!r)
		return -1;
	ret = send_all(c->fd, r);
	free(r);
	return ret;
}

static void on_client(void *opaque)
{
	struct api_client *c = opaque;
	ssize_t n;

	if (c->fd < 0)
		return; /* a stale wakeup (see loop.c) */
	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		size_t used;

		if (!nl)
			break;
		*nl = '\0';
		if (memchr(c->buf, '\0', (size_t)(nl - c->buf))) {
			if (send_all(c->fd, "error: NUL byte in the command\n")) {
				client_close(c);
				return;
			}
		} else if (reply(c, c->buf)) {
			client_close(c);
			return;
		}
		used = (size_t)(nl - c->buf) + 1;
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
	if (c->len == sizeof(c->buf)) {
		send_all(c->fd, "error: command line too long\n");
		client_close(c);
	}
}

bool api_peer_allowed(int fd, uid_t own_uid, uid_t *peer_uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	*peer_uid = (uid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || len != sizeof(cred))
		return false;
	*peer_uid = cred.uid;
	return cred.uid == own_uid || cred.uid == 0;
}

static void refuse(struct api_server *a, int fd, uid_t uid)
{
	send_all(fd, "error: permission denied (the control socket serves its own user and "
		     "root only)\n");
	close(fd);
	/* Another local user can knock as often as it likes: a few lines a second at most. */
	log_warn_rl("api", "refused a connection from uid %ld (not ktvm's user or root)",
		    uid == (uid_t)-1 ? -1L : (long)uid);
}

static void on_accept(void *opaque)
{
	struct api_server *a = opaque;
	struct api_client *c = NULL;
	int fd = accept4(a->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	uid_t uid;

	if (fd < 0)
		return; /* EAGAIN: a stale wakeup; anything else: the client is gone */
	if (!api_peer_allowed(fd, a->euid, &uid)) {
		refuse(a, fd, uid);
		return;
	}
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++) {
		if (a->clients[i].fd < 0) {
			c = &a->clients[i];
			break;
		}
	}
	if (!c) {
		send_all(fd, "error: too many connections\n");
		close(fd);
		return;
	}
	c->fd = fd;
	c->len = 0;
	c->h = vm_loop_add(a->vm, fd, on_client, c);
	if (!c->h) {
		close(fd);
		c->fd = -1;
	}
}

struct api_server *api_new_detached(struct vm *vm)
{
	struct api_server *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->vm = vm;
	a->euid = geteuid();
	a->fd = -1;
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++) {
		a->clients[i].srv = a;
		a->clients[i].fd = -1;
	}
	return a;
}

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (!*path || strlen(path) >= sizeof(sa->sun_path))
		return -1;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

int api_bind_private(int fd, const struct sockaddr_un *sa)
{
	/*
	 * bind() creates the node with 0777 & ~umask: under umask 0177 it is
	 * 0600 from its first instant.  umask is per process, and ktvm's other
	 * threads create no files (no class's seccomp list has openat).
	 */
	mode_t old = umask(0177);
	int r = bind(fd, (const struct sockaddr *)sa, sizeof(*sa));
	int e = errno;
	struct stat st;

	umask(old);
	if (r) {
		errno = e;
		return -1;
	}
	/* The node we made, as made (lstat: never a symlink planted in its place). */
	if (lstat(sa->sun_path, &st) || !S_ISSOCK(st.st_mode) || (st.st_mode & 0077) ||
	    st.st_uid != geteuid()) {
		unlink(sa->sun_path);
		errno = EPERM;
		return -1;
	}
	return 0;
}

struct api_server *api_open(struct vm *vm, const char *path)
{
	struct api_server *a = api_new_detached(vm);
	struct sockaddr_un sa;
	struct stat st;

	if (!a)
		return NULL;
	if (fill_addr(&sa, path)) {
		log_err("api", "--api-sock '%s': the path is empty or longer than %zu bytes", path,
			sizeof(sa.sun_path) - 1);
		goto fail;
	}
	/* A socket left by an earlier ktvm is replaced; a file of any other kind is not. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_err("api", "--api-sock '%s': exists and is not a socket", path);
			goto fail;
		}
		unlink(path);
	}
	a->path = strdup(path);
	a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (!a->path || a->fd < 0 || api_bind_private(a->fd, &sa) || listen(a->fd, 8)) {
		log_err("api", "--api-sock '%s': %s", path, strerror(errno));
		goto fail;
	}
	a->h = vm_loop_add(vm, a->fd, on_accept, a);
	if (!a->h) {
		log_err("api", "--api-sock '%s': cannot watch it", path);
		unlink(path);
		goto fail;
	}
	log_info("api", "control socket at %s", path);
	return a;
fail:
	if (a->fd >= 0)
		close(a->fd);
	free(a->path);
	free(a);
	return NULL;
}

void api_close(struct api_server *a)
{
	if (!a)
		return;
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++)
		client_close(&a->clients[i]);
	if (a->h)
		vm_loop_del(a->vm, a->h);
	if (a->fd >= 0) {
		close(a->fd);
		unlink(a->path);
	}
	if (a->paused)
		vm_resume_all(a->vm);
	free(a->path);
	free(a);
}

int api_client(const char *path, const char *cmd, FILE *out, FILE *err)
{
	struct sockaddr_un sa;
	char buf[4096];
	bool is_err = false, first = true;
	size_t got = 0;
	int fd;

	if (fill_addr(&sa, path)) {
		fprintf(err, "ktvm: ctl: '%s' is not a usable socket path\n", path);
		return KTVM_EXIT_USAGE;
	}
	if (strchr(cmd, '\n')) {
		fprintf(err, "ktvm: ctl: one command, without newlines\n");
		return KTVM_EXIT_USAGE;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(err, "ktvm: ctl: cannot connect to '%s': %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return KTVM_EXIT_ERROR;
	}
	if (send_all(fd, cmd) || send_all(fd, "\n")) {
		fprintf(err, "ktvm: ctl: cannot send to '%s': %s\n", path, strerror(errno));
		close(fd);
		return KTVM_EXIT_ERROR;
	}
	/* One answer line. */
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (first && n >= 6 && !memcmp(buf, "error:", 6))
			is_err = true;
		first = false;
		nl = memchr(buf, '\n', (size_t)n);
		fwrite(buf, 1, nl ? (size_t)(nl - buf) + 1 : (size_t)n, out);
		got += (size_t)n;
		if (nl)
			break;
	}
	close(fd);
	if (!got) {
		fprintf(err, "ktvm: ctl: no answer from '%s'\n", path);
		return KTVM_EXIT_ERROR;
	}
	return is_err ? KTVM_EXIT_ERROR : 0;
}
