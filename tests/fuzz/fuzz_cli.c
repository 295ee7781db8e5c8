// SPDX-License-Identifier: MIT
/*
 * fuzz_cli.c - the "ktvm run" command line parser (config_parse_run): the
 * input is split at NUL bytes into arguments after "ktvm".  Checked: a
 * configuration accepted is within the documented bounds.
 */
#include <getopt.h>

#include "tests/fuzz/fuzz.h"
#include "vmm/net_config.h"

#define MAX_ARGS 64

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	devnull = fopen("/dev/null", "w");
	FUZZ_CHECK(devnull);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	char *argv[MAX_ARGS + 2];
	struct vm_config cfg;
	int argc = 1, r;

	FUZZ_CHECK(buf);
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = "ktvm";
	for (size_t i = 0; i < size && argc <= MAX_ARGS; i += strlen(buf + i) + 1)
		argv[argc++] = buf + i;
	argv[argc] = NULL;

	/*
	 * glibc's getopt keeps a pointer into the last argv when a parse stopped
	 * inside a cluster ("-xk"); cli.c resets with optind = 1, which keeps it.
	 * optind = 0 reinitialises: inputs must not see each other's (freed) argv.
	 */
	optind = 0;
	(void)getopt(1, (char *[]){"ktvm", NULL}, "");
	r = config_parse_run(argc, argv, &cfg, devnull, devnull);
	FUZZ_CHECK(r == 0 || r == -1 || r == KTVM_EXIT_USAGE);
	if (r == 0) {
		FUZZ_CHECK(cfg.cpus >= 1 && cfg.cpus <= KTVM_MAX_CPUS);
		FUZZ_CHECK(cfg.mem_bytes >= KTVM_MIN_MEM);
		FUZZ_CHECK(net_configs(&cfg)->n <= KTVM_MAX_NICS);
		for (unsigned int i = 0; i < net_configs(&cfg)->n; i++)
			FUZZ_CHECK(net_configs(&cfg)->nets[i].queue_pairs >= 1 && net_configs(&cfg)->nets[i].queue_pairs <= 256);
	}
	free(buf);
	return 0;
}
