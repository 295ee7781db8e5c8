// SPDX-License-Identifier: MIT
/*
 * cli.c - "ktvm run" option parsing into a struct vm_config.
 *
 * Bad user input gets exactly one line on stderr and status 2; nothing here
 * touches KVM or the files named (the loaders check those), except that a
 * missing --kernel file is reported here with the path, where users look.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/config_json.h"
#include "vmm/gdb.h"
#include "vmm/output_file.h"
#include "vmm/ktvm.h"
#include "vmm/seccomp.h"

enum {
	OPT_KERNEL = 'k',
	OPT_INITRD = 'i',
	OPT_CMDLINE = 'a',
	OPT_CPUS = 'c',
	OPT_MEMORY = 'm',
	OPT_HELP = 'h',
	OPT_CONSOLE = 0x100,
	OPT_TIMEOUT,
	OPT_LOG_LEVEL,
	OPT_CONFIG,
	OPT_SECCOMP,
	OPT_USER,
	OPT_DUMP_DTB,
	OPT_LOG_FILE,
	OPT_STATS,
	OPT_API_SOCK,
	OPT_GDB,
	OPT_GDB_WAIT,
	OPT_DEVICE, /* OPT_DEVICE + i: device type i's option (all_options) */
};

static const struct option run_options[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "user", required_argument, NULL, OPT_USER },
	{ "dump-dtb", required_argument, NULL, OPT_DUMP_DTB },
	{ "log-file", required_argument, NULL, OPT_LOG_FILE },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "api-sock", required_argument, NULL, OPT_API_SOCK },
	{ "gdb", required_argument, NULL, OPT_GDB },
	{ "gdb-wait", no_argument, NULL, OPT_GDB_WAIT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

void config_print_run_help(FILE *out)
{
	fprintf(out,
		"Usage: ktvm run --kernel PATH [options]\n"
		"\n"
		"Boot a Linux kernel in a KVM virtual machine.\n"
		"\n"
		"Options (defaults in brackets):\n"
		"  -k, --kernel PATH      kernel: x86 bzImage, or an ELF vmlinux with a PVH entry note\n"
		"  -i, --initrd PATH      initial ramdisk [none]\n"
		"  -a, --cmdline ARGS     appended to ktvm's default command line:\n"
		"                           \"%s\"\n"
		"  -c, --cpus N           number of vCPUs, 1..%u [1]\n"
		"  -m, --memory SIZE      guest RAM: 512M, 2G, or a plain number of MiB [512M]\n"
		"      --console KIND     stdio | stdio,log=FILE | none | file:PATH: where the\n"
		"                         serial console goes; log=FILE also copies the output\n"
		"                         to FILE [stdio]\n"
		"      --timeout SECONDS  stop the guest after SECONDS, status 124 [none]\n"
		"      --log-level LEVEL  error | warn | info | debug [warn]; info adds the boot\n"
		"                         timeline (start, first KVM_RUN, first console byte, exit)\n"
		"      --log-file FILE    log lines (timestamp, thread, level, subsystem) to FILE,\n"
		"                         appended, instead of stderr [stderr]\n"
		"      --stats            print the statistics as one JSON line on stderr at exit\n"
		"                         (any time: kill -USR1, Ctrl-A s, or the control socket) [off]\n"
		"      --api-sock PATH    serve a control socket at PATH: one command per line,\n"
		"                         pause | resume | stats | stop | help, answered \"ok\",\n"
		"                         a JSON line (stats) or \"error: ...\"; 'stop' ends ktvm\n"
		"                         with status 0; see 'ktvm ctl'; mode 0600, served to\n"
		"                         ktvm's own user and root only [none]\n",
		arch_default_cmdline(), KTVM_MAX_CPUS);
	ktvm_for_each_device_type(t)
		if (t->print_help)
			t->print_help(out);
	fprintf(out,
		"      --config FILE      read the configuration from a JSON file first; flags\n"
		"                         given on the command line override it, and any --net\n"
		"                         replaces the file's \"nets\" ('ktvm config --print\n"
		"                         [options]' prints the effective configuration as JSON)\n"
		"      --seccomp MODE     on | log | off: per-thread syscall allow-lists; a\n"
		"                         forbidden syscall ends ktvm (status 1) with a line naming\n"
		"                         the thread class; log only logs it (dmesg/audit) [on]\n"
		"      --user UID[:GID]   started as root: become this user (or NAME[:GROUP])\n"
		"                         after setup; all capabilities are dropped either way,\n"
		"                         but root without --user stays uid 0 (one warning)\n"
		"      --dump-dtb FILE    arm64: write the guest's device tree to FILE and stop\n"
		"      --gdb ADDR         a gdb remote stub on tcp:[HOST]:PORT (HOST: a numeric\n"
		"                         address or localhost; defaults to 127.0.0.1) or\n"
		"                         unix:PATH (mode 0600, ktvm's user and root only);\n"
		"                         'target remote' stops the guest; addresses are guest\n"
		"                         virtual [none].  No authentication: a HOST that is\n"
		"                         not loopback needs tcp:HOST:PORT,insecure\n"
		"      --gdb-wait         with --gdb: stop before the first instruction until gdb\n"
		"                         continues\n"
		"  -h, --help             this text\n"
		"\n"
		"Console escapes (when stdin is a terminal), Ctrl-A then:\n"
		"    x       quit (status 0)\n"
		"    s       print the statistics (one JSON line) on stderr\n"
		"    b       send a serial break (Linux: the next key within 5 s is a\n"
		"            SysRq command, e.g. Ctrl-A b h for its help)\n"
		"    Ctrl-A  send Ctrl-A to the guest\n"
		"Signals: SIGUSR1 prints the statistics on stderr; SIGINT, SIGTERM, SIGHUP\n"
		"stop the guest (status 128 + the signal's number).\n"
		"\n"
		"Exit status:\n"
		"    0  the guest powered off (ACPI S5) or rebooted (ACPI reset, i8042 reset)\n"
		"    V  the guest wrote byte V (1..255) to I/O port 0x501 (test exit)\n"
		"    1  ktvm failed at run time (KVM error, triple fault); registers are dumped\n"
		"    2  usage or configuration error\n"
		"    3  the guest kernel panicked (reported through the pvpanic PCI device)\n"
		"  124  --timeout expired; each vCPU's instruction pointer is printed\n"
		"A TAP that cannot be opened or set up (no /dev/net/tun, no permission, an fd\n"
		"that is not a TAP) is a run-time failure: status 1.\n");
}

int parse_mem_size(const char *s, uint64_t *bytes)
{
	char *end;
	uint64_t mult = MiB(1);

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (*end) {
		switch (*end) {
		case 'k': case 'K': mult = KiB(1); break;
		case 'm': case 'M': mult = MiB(1); break;
		case 'g': case 'G': mult = GiB(1); break;
		case 't': case 'T': mult = GiB(1024); break;
		default: return -1;
		}
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'B')
			end++;
		if (*end)
			return -1;
	}
	if (v > UINT64_MAX / mult)
		return -1;
	*bytes = v * mult;
	return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

int config_usage_error(FILE *err, const char *fmt, ...)
{
	va_list ap;

	fputs("ktvm: ", err);
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
	fputs(" (see 'ktvm run --help')\n", err);
	return KTVM_EXIT_USAGE;
}

#define usage_error config_usage_error

static void config_defaults(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = 1;
	cfg->mem_bytes = KTVM_DEFAULT_MEM;
	cfg->console = CONSOLE_STDIO;
	cfg->log_level = LOG_WARN;
}

int config_parse_console(const char *s, struct vm_config *cfg)
{
	if (!strcmp(s, "stdio")) {
		cfg->console = CONSOLE_STDIO;
		cfg->console_log = NULL;
	} else if (!strncmp(s, "stdio,log=", 10) && s[10]) {
		cfg->console = CONSOLE_STDIO;
		cfg->console_log = s + 10;
	} else if (!strcmp(s, "none")) {
		cfg->console = CONSOLE_NONE;
		cfg->console_log = NULL;
	} else if (!strncmp(s, "file:", 5) && s[5]) {
		cfg->console = CONSOLE_FILE;
		cfg->console_path = s + 5;
		cfg->console_log = NULL;
	} else {
		return -1;
	}
	return 0;
}

/*
 * Shared with the JSON file (config_json.c), so that "seccomp", "user" and
 * "gdb" take exactly what the flags take.
 */
int config_parse_seccomp(const char *s, struct vm_config *cfg)
{
	enum ktvm_seccomp_mode mode;

	if (!s || ktvm_seccomp_parse_mode(s, &mode))
		return -1;
	cfg->seccomp = (int)mode;
	return 0;
}

int config_parse_user(const char *s, struct vm_config *cfg)
{
	uid_t uid;
	gid_t gid;

	if (!s || ktvm_parse_user(s, &uid, &gid))
		return -1;
	cfg->has_user = true;
	cfg->uid = (unsigned int)uid;
	cfg->gid = (unsigned int)gid;
	return 0;
}

int config_parse_gdb(const char *s, struct vm_config *cfg)
{
	char host[256];
	unsigned int port;
	const char *path;

	int r;

	if (!s)
		return -1;
	r = gdb_parse_addr(s, host, sizeof(host), &port, &path);
	if (r)
		return r;
	cfg->gdb = s;
	return 0;
}

static int check_readable(const char *what, const char *path, FILE *err)
{
	if (access(path, R_OK) != 0)
		return usage_error(err, "cannot read %s '%s': %s", what, path, strerror(errno));
	return 0;
}

/* A file ktvm will write: a symbolic link there is refused (vmm/output_file.c). */
static int check_output(const char *what, const char *path, FILE *err)
{
	if (output_file_check(path))
		return usage_error(err, "%s '%s' %s", what, path, OUTPUT_FILE_SYMLINK_MSG);
	return 0;
}

static int check_outputs(const struct vm_config *cfg, FILE *err)
{
	if (cfg->console == CONSOLE_FILE && check_output("console file", cfg->console_path, err))
		return -1;
	if (cfg->console_log && check_output("console log file", cfg->console_log, err))
		return -1;
	if (cfg->log_file && check_output("log file", cfg->log_file, err))
		return -1;
	if (cfg->dump_dtb && check_output("--dump-dtb file", cfg->dump_dtb, err))
		return -1;
	return 0;
}

/*
 * The core's options plus each device type's (OPT_DEVICE + its index), for
 * getopt_long: built once per parse into 'opts' (room for every type).
 */
static const struct option *all_options(struct option *opts, size_t max)
{
	size_t n = 0, i = 0;

	for (; run_options[n].name && n + 1 < max; n++)
		opts[n] = run_options[n];
	ktvm_for_each_device_type(t)
	{
		if (t->option && t->cli_parse && n + 1 < max)
			opts[n++] = (struct option){t->option, required_argument, NULL,
						    OPT_DEVICE + (int)i};
		i++;
	}
	opts[n] = (struct option){0};
	return opts;
}

/* Device type number i (OPT_DEVICE + i), or NULL. */
static const struct ktvm_device_type *device_type_at(int i)
{
	ktvm_for_each_device_type(t)
		if (i-- == 0)
			return t;
	return NULL;
}

/* The --config FILE among the options (the last one given), or NULL. */
static const char *find_config(int argc, char **argv)
{
	struct option opts[ARRAY_SIZE(run_options) + KTVM_MAX_DEVICE_TYPES];
	const char *path = NULL;
	int c;

	optind = 0; /* 0, not 1: glibc fully resets getopt only then */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:i:a:c:m:h", all_options(opts, ARRAY_SIZE(opts)),
				NULL)) != -1)
		if (c == OPT_CONFIG)
			path = optarg;
	return path;
}

int config_parse_args(int argc, char **argv, struct vm_config *cfg, bool need_kernel, FILE *out,
		      FILE *err)
{
	struct option opts[ARRAY_SIZE(run_options) + KTVM_MAX_DEVICE_TYPES];
	const char *file;
	bool cli_devices[KTVM_MAX_DEVICE_TYPES] = {false};
	unsigned long v;
	int c, r;

	config_defaults(cfg);
	file = find_config(argc, argv);
	if (file && config_json_load(file, cfg, err))
		return KTVM_EXIT_USAGE;
	optind = 0; /* 0, not 1: glibc fully resets getopt only then */
	opterr = 0;
	all_options(opts, ARRAY_SIZE(opts));
	while ((c = getopt_long(argc, argv, ":k:i:a:c:m:h", opts, NULL)) != -1) {
		if (c >= OPT_DEVICE && c < OPT_DEVICE + KTVM_MAX_DEVICE_TYPES) {
			const struct ktvm_device_type *t = device_type_at(c - OPT_DEVICE);

			/* The command line's devices of a type replace the file's. */
			if (!cli_devices[c - OPT_DEVICE] && t->cli_reset)
				t->cli_reset(cfg);
			cli_devices[c - OPT_DEVICE] = true;
			if (t->cli_parse(cfg, optarg, err))
				return KTVM_EXIT_USAGE;
			continue;
		}
		switch (c) {
		case OPT_CONFIG:
			break; /* read above */
		case OPT_KERNEL:
			cfg->kernel = optarg;
			break;
		case OPT_INITRD:
			cfg->initrd = optarg;
			break;
		case OPT_CMDLINE:
			cfg->cmdline = optarg;
			break;
		case OPT_CPUS:
			if (parse_uint(optarg, ULONG_MAX, &v) || v < 1 || v > KTVM_MAX_CPUS)
				return usage_error(err, "--cpus must be a number from 1 to %u, not '%s'",
						   KTVM_MAX_CPUS, optarg);
			cfg->cpus = (unsigned int)v;
			break;
		case OPT_MEMORY:
			if (parse_mem_size(optarg, &cfg->mem_bytes))
				return usage_error(err, "--memory takes a size like 512M or 2G, not '%s'",
						   optarg);
			if (cfg->mem_bytes < KTVM_MIN_MEM)
				return usage_error(err, "--memory %s is too small: at least %" PRIu64 "M",
						   optarg, KTVM_MIN_MEM >> 20);
			if (cfg->mem_bytes % KiB(4))
				return usage_error(err, "--memory must be a multiple of 4K, not '%s'",
						   optarg);
			break;
		case OPT_CONSOLE:
			/* optarg is never NULL for a required_argument option; the analyzer can't know. */
			if (!optarg || config_parse_console(optarg, cfg))
				return usage_error(
					err, "--console takes stdio, stdio,log=FILE, none or file:PATH, not '%s'",
					optarg ? optarg : "");
			break;
		case OPT_LOG_FILE:
			if (!optarg || !*optarg)
				return usage_error(err, "--log-file needs a file name");
			cfg->log_file = optarg;
			break;
		case OPT_STATS:
			cfg->stats = true;
			break;
		case OPT_API_SOCK:
			if (!optarg || !*optarg || strlen(optarg) >= 108)
				return usage_error(err, "--api-sock takes a path of 1 to 107 bytes");
			cfg->api_sock = optarg;
			break;
		case OPT_TIMEOUT:
			if (parse_uint(optarg, 100000000UL, &v) || v == 0)
				return usage_error(err, "--timeout takes a positive number of seconds, not '%s'",
						   optarg);
			cfg->timeout_s = (unsigned int)v;
			break;
		case OPT_LOG_LEVEL:
			if (log_parse_level(optarg, &cfg->log_level))
				return usage_error(err, "--log-level takes error, warn, info or debug, not '%s'",
						   optarg);
			break;
		case OPT_SECCOMP:
			if (config_parse_seccomp(optarg, cfg))
				return usage_error(err, "--seccomp takes on, log or off, not '%s'",
						   optarg ? optarg : "");
			break;
		case OPT_USER:
			if (config_parse_user(optarg, cfg))
				return usage_error(err, "--user takes UID[:GID] or NAME[:GROUP], not '%s'",
						   optarg ? optarg : "");
			break;
		case OPT_DUMP_DTB:
			if (!optarg || !*optarg)
				return usage_error(err, "--dump-dtb needs a file name");
			cfg->dump_dtb = optarg;
			break;
		case OPT_GDB:
			r = config_parse_gdb(optarg, cfg);
			if (r == -2)
				return usage_error(err, "--gdb '%s': %s", optarg, gdb_addr_error(r));
			if (r)
				return usage_error(err, "--gdb takes tcp:[HOST]:PORT or unix:PATH, not '%s'",
						   optarg ? optarg : "");
			break;
		case OPT_GDB_WAIT:
			cfg->gdb_wait = true;
			break;
		case OPT_HELP:
			config_print_run_help(out);
			return -1;
		case ':':
			return usage_error(err, "option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error(err, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error(err, "unexpected argument '%s'", argv[optind]);
	if (!cfg->kernel && need_kernel)
		return usage_error(err, "--kernel is required");
	if (cfg->gdb_wait && !cfg->gdb)
		return usage_error(err, "--gdb-wait needs --gdb");
	ktvm_for_each_device_type(t)
		if (t->check && t->check(cfg, err))
			return KTVM_EXIT_USAGE;
	if (check_outputs(cfg, err))
		return KTVM_EXIT_USAGE;
	ktvm_for_each_device_type(t)
		if (t->check_outputs && t->check_outputs(cfg, err))
			return KTVM_EXIT_USAGE;
	if (cfg->kernel && check_readable("kernel", cfg->kernel, err))
		return KTVM_EXIT_USAGE;
	if (cfg->initrd && check_readable("initrd", cfg->initrd, err))
		return KTVM_EXIT_USAGE;
	return 0;
}

int config_parse_run(int argc, char **argv, struct vm_config *cfg, FILE *out, FILE *err)
{
	return config_parse_args(argc, argv, cfg, true, out, err);
}
