/* SPDX-License-Identifier: MIT */
/*
 * api.h - the control socket (--api-sock PATH): a unix stream socket served
 * on the main event loop with a line protocol.  One command per line, one
 * answer line per command:
 *
 *   pause    stop every vCPU (the guest freezes; devices stay)   -> ok
 *   resume   let them run again                                   -> ok
 *   stats    the statistics                                       -> {...} (one JSON line)
 *   stop     end ktvm cleanly, exit status 0                      -> ok
 *   help     the commands                                         -> ok: pause resume stats stop help
 *
 * The socket is mode 0600 whatever the umask, and a peer that is neither
 * ktvm's uid nor root gets "error: permission denied ..." and is hung up on.
 * Anything else gets "error: ..."; a line longer than API_LINE_MAX ends
 * that connection after its error.  Clients may come one after another or
 * several at once (up to API_MAX_CLIENTS).
 */
#ifndef KTVM_API_H
#define KTVM_API_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/un.h>

#include "vmm/ktvm.h"

#define API_LINE_MAX	512
#define API_MAX_CLIENTS 16

struct api_server;

/*
 * Create the socket at 'path' (a stale socket there is replaced, any other
 * file is an error) and serve it on vm's event loop.  NULL after logging.
 */
struct api_server *api_open(struct vm *vm, const char *path);
/* Stop serving, close every connection, remove the socket, give back a pause. */
void api_close(struct api_server *a);
/*
 * The protocol itself: the answer (malloc'ed, ending in a newline) to one
 * command line (without its newline).  Exposed for unit tests.
 */
char *api_handle_line(struct api_server *a, const char *line);
/* A server with no socket, for api_handle_line() in tests. */
struct api_server *api_new_detached(struct vm *vm);

/*
 * Shared with the gdb stub's unix: socket (vmm/gdb.c).  Bind fd to sa's path
 * as a socket node of mode 0600 owned by ktvm's user, whatever the umask:
 * 0, or -1 with errno.
 */
int api_bind_private(int fd, const struct sockaddr_un *sa);
/*
 * The peer of a connected unix socket is own_uid (ktvm's, taken before the
 * seccomp filters: they do not allow geteuid) or root (SO_PEERCRED).
 */
bool api_peer_allowed(int fd, uid_t own_uid, uid_t *peer_uid);

/* 'ktvm ctl SOCKET COMMAND': send one command, print the answer. Exit status. */
int api_client(const char *path, const char *cmd, FILE *out, FILE *err);

#endif
