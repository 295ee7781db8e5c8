// SPDX-License-Identifier: MIT
/* main.c - ktvm's entry point: subcommand dispatch. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "vmm/api.h"
#include "vmm/config_json.h"
#include "vmm/ctl.h"
#include "vmm/ktvm.h"
#include "vmm/output_file.h"

static void print_help(FILE *out)
{
	fprintf(out,
		"ktvm %s - a small, fast KVM virtual machine monitor\n"
		"\n"
		"Usage:\n"
		"  ktvm run --kernel PATH [options]   boot a guest ('ktvm run --help' lists options)\n"
		"  ktvm run --config vm.json [options]  the same, configured by a JSON file\n"
		"  ktvm config --print [options]      print the effective configuration as JSON\n"
		"  ktvm ctl SOCKET COMMAND            send COMMAND (pause, resume, stats, stop, help)\n"
		"                                     to the control socket of a 'ktvm run --api-sock\n"
		"                                     SOCKET'; prints the answer, status 0 unless it\n"
		"                                     is an error\n"
		"  ktvm ctl SOCKET stats [--json] [--watch]\n"
		"                                     statistics as a table per NIC and queue\n"
		"                                     (--json: the JSON line; --watch: every second\n"
		"                                     until Ctrl-C)\n"
		"  ktvm --version                     print the version\n"
		"  ktvm --help                        this text\n"
		"\n"
		"Exit status of 'ktvm run': 0 guest powered off or rebooted; V the byte the guest\n"
		"wrote to I/O port 0x501; 1 run-time failure; 2 usage or configuration error;\n"
		"3 guest panic; 124 --timeout expired.\n",
		KTVM_VERSION);
}

int main(int argc, char **argv)
{
	struct vm_config cfg;
	int ret;

	if (argc < 2) {
		print_help(stderr);
		return KTVM_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("ktvm %s\n", KTVM_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		print_help(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "config")) {
		if (argc < 3 || strcmp(argv[2], "--print")) {
			fprintf(stderr, "ktvm: usage: ktvm config --print [run options]\n");
			return KTVM_EXIT_USAGE;
		}
		/* argv[2] ("--print") stands where getopt expects the command name. */
		ret = config_parse_args(argc - 2, argv + 2, &cfg, false, stdout, stderr);
		if (ret < 0)
			return 0;
		if (ret)
			return ret;
		return config_json_print(&cfg, stdout) ? KTVM_EXIT_ERROR : 0;
	}
	if (!strcmp(argv[1], "ctl"))
		return ctl_main(argc - 1, argv + 1, stdout, stderr);
	if (strcmp(argv[1], "run") != 0) {
		fprintf(stderr, "ktvm: unknown command '%s' (see 'ktvm --help')\n", argv[1]);
		return KTVM_EXIT_USAGE;
	}
	ret = config_parse_run(argc - 1, argv + 1, &cfg, stdout, stderr);
	if (ret < 0)
		return 0; /* --help */
	if (ret)
		return ret;
	log_set_level(cfg.log_level);
	if (cfg.log_file) {
		int fd = output_file_open(cfg.log_file, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd < 0) {
			fprintf(stderr, "ktvm: cannot open log file '%s': %s\n", cfg.log_file,
				output_file_error(errno));
			return KTVM_EXIT_USAGE;
		}
		log_set_fd(fd);
	}
	log_info("boot", "ktvm %s starting", KTVM_VERSION);
	ret = vm_run(&cfg);
	log_info("boot", "ktvm exits with status %d", ret);
	return ret;
}
