/* SPDX-License-Identifier: MIT */
/*
 * other_user.h - play another local user against a unix socket server:
 * a forked child becomes uid/gid 65534 (needs root), connects, sends a
 * line and reads until the server hangs up.  Shared by test_api.c (the
 * control socket) and test_gdb_rsp.c (the gdb stub's unix: socket).
 */
#ifndef KTVM_TESTS_OTHER_USER_H
#define KTVM_TESTS_OTHER_USER_H

#include <stddef.h>

#define OTHER_UID 65534

/*
 * As uid/gid OTHER_UID: connect to 'path', send 'line' (may be refused
 * early: EPIPE is fine), read until EOF (ECONNRESET counts as EOF), at most
 * 5 s.  Into ans (NUL-terminated): "connect: ERRNO-NAME", or what was read.
 * 0, or -1 if the child could not run or change user.
 */
int other_user_talk(const char *path, const char *line, char *ans, size_t cap);

#endif
