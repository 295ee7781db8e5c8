// SPDX-License-Identifier: MIT
/* other_user.c - see other_user.h. */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/common/other_user.h"

static size_t talk(const char *path, const char *line, char *buf, size_t cap)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {5, 0};
	size_t k = 0, len = strlen(line);
	ssize_t n = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return (size_t)snprintf(buf, cap, "socket: %s", strerrorname_np(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return (size_t)snprintf(buf, cap, "connect: %s", strerrorname_np(errno));
	/* The server may have hung up already: then read what it said. */
	if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len && errno != EPIPE &&
	    errno != ECONNRESET)
		return (size_t)snprintf(buf, cap, "send: %s", strerrorname_np(errno));
	while (k < cap - 1 && (n = read(fd, buf + k, cap - 1 - k)) > 0)
		k += (size_t)n;
	/* Hung up on with our line unread: ECONNRESET is its EOF. */
	if (n < 0 && errno != ECONNRESET)
		k += (size_t)snprintf(buf + k, cap - k, "[read: %s]", strerrorname_np(errno));
	close(fd);
	return k < cap ? k : cap - 1;
}

int other_user_talk(const char *path, const char *line, char *ans, size_t cap)
{
	int pp[2], st;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(pp))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char buf[1024];
		size_t k;

		close(pp[0]);
		if (setgroups(0, NULL) || setresgid(OTHER_UID, OTHER_UID, OTHER_UID) ||
		    setresuid(OTHER_UID, OTHER_UID, OTHER_UID))
			_exit(3);
		k = talk(path, line, buf, sizeof(buf));
		_exit(write(pp[1], buf, k) == (ssize_t)k ? 0 : 4);
	}
	close(pp[1]);
	while (got < cap - 1 && (n = read(pp[0], ans + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	ans[got] = '\0';
	close(pp[0]);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		return -1;
	return 0;
}
