// SPDX-License-Identifier: MIT
/*
 * output_file.c - see output_file.h.
 *
 * Why: ktvm often runs as root, and its output paths are often in shared
 * directories (/tmp).  Following a symbolic link planted there would let
 * another local user aim ktvm's writes (O_TRUNC, O_APPEND) at any file.
 * O_NOFOLLOW refuses a link in the last component (ELOOP); the
 * configuration check turns the usual case into a usage error before
 * anything runs, O_NOFOLLOW covers a link planted after it.  O_CLOEXEC
 * because no child should hold ktvm's files (ktvm execs nothing, but
 * libraries might).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "vmm/output_file.h"

int output_file_open(const char *path, int flags, mode_t mode)
{
	return open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
}

const char *output_file_error(int err)
{
	return err == ELOOP ? OUTPUT_FILE_SYMLINK_MSG : strerror(err);
}

int output_file_check(const char *path)
{
	struct stat st;

	return path && !lstat(path, &st) && S_ISLNK(st.st_mode) ? -1 : 0;
}
