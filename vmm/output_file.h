/* SPDX-License-Identifier: MIT */
/*
 * output_file.h - opening the files ktvm writes at a path the user gave
 * (--console file:PATH and log=FILE, --log-file, --net pcap=FILE,
 * --dump-dtb): never through a symbolic link, never inherited by a child.
 */
#ifndef KTVM_OUTPUT_FILE_H
#define KTVM_OUTPUT_FILE_H

#include <sys/types.h>

/* Why ktvm refuses a symbolic link (for "WHAT 'PATH': %s" lines). */
#define OUTPUT_FILE_SYMLINK_MSG                                                   \
	"is a symbolic link; ktvm does not follow links for the files it writes " \
	"(give the real path)"

/*
 * open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode): an fd, or -1 with errno
 * (ELOOP: path is a symbolic link, see output_file_error()).
 */
int output_file_open(const char *path, int flags, mode_t mode);
/* strerror(errno) after output_file_open(), with ELOOP said plainly. */
const char *output_file_error(int err);
/* At configuration time: 0, or -1 if path is a symbolic link (a usage error). */
int output_file_check(const char *path);

#endif
