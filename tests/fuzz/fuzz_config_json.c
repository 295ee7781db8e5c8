// SPDX-License-Identifier: MIT
/*
 * fuzz_config_json.c - the JSON configuration parser (vmm/config_json.c):
 * the input is the file.  Checked: what loads prints back as JSON that
 * loads again to the same configuration (config_json_print's contract).
 */
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/config_json.h"
#include "tests/fuzz/fuzz.h"

static FILE *devnull;
static int in_fd, out_fd;
static char in_path[64], out_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	devnull = fopen("/dev/null", "w");
	in_fd = memfd_create("fuzz-config-in", MFD_CLOEXEC);
	out_fd = memfd_create("fuzz-config-out", MFD_CLOEXEC);
	FUZZ_CHECK(devnull && in_fd >= 0 && out_fd >= 0);
	snprintf(in_path, sizeof(in_path), "/proc/self/fd/%d", in_fd);
	snprintf(out_path, sizeof(out_path), "/proc/self/fd/%d", out_fd);
	return 0;
}

static void defaults(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = 1;
	cfg->mem_bytes = KTVM_DEFAULT_MEM;
	cfg->log_level = LOG_WARN;
}

/* The printed form of cfg, NUL-terminated, in a malloc'd buffer. */
static char *print(const struct vm_config *cfg)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	FUZZ_CHECK(f);
	FUZZ_CHECK(config_json_print(cfg, f) == 0);
	fclose(f);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config a, b;
	char *pa, *pb;

	FUZZ_CHECK(ftruncate(in_fd, 0) == 0);
	FUZZ_CHECK(pwrite(in_fd, data, size, 0) == (ssize_t)size);
	defaults(&a);
	if (config_json_load(in_path, &a, devnull))
		return 0;
	pa = print(&a);
	FUZZ_CHECK(ftruncate(out_fd, 0) == 0);
	FUZZ_CHECK(pwrite(out_fd, pa, strlen(pa), 0) == (ssize_t)strlen(pa));
	defaults(&b);
	FUZZ_CHECK(config_json_load(out_path, &b, devnull) == 0);
	pb = print(&b);
	if (strcmp(pa, pb)) {
		fprintf(stderr, "printed:\n%s\nreloaded and printed:\n%s\n", pa, pb);
		abort();
	}
	free(pa);
	free(pb);
	return 0;
}
