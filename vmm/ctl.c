// SPDX-License-Identifier: MIT
/*
 * ctl.c - `ktvm ctl SOCKET COMMAND [--json] [--watch]`, the control
 * socket's client for people: `stats` prints a table (stats_table.c) unless
 * --json asks for the raw JSON line, and --watch repeats it once a second
 * until Ctrl-C.  The socket protocol itself is api.c's.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/api.h"
#include "vmm/ctl.h"
#include "vmm/stats.h"

#define CTL_USAGE "ktvm ctl SOCKET pause|resume|stop|help | ktvm ctl SOCKET stats [--json] [--watch]"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* One command; the answer line into *answer (malloc'ed).  Exit status. */
static int query(const char *sock, const char *cmd, char **answer, FILE *err)
{
	size_t len = 0;
	FILE *mem = open_memstream(answer, &len);
	int st;

	if (!mem) {
		fprintf(err, "ktvm: ctl: out of memory\n");
		return KTVM_EXIT_ERROR;
	}
	st = api_client(sock, cmd, mem, err);
	fclose(mem);
	return st;
}

static int show_stats(const char *sock, bool json, bool clear, FILE *out, FILE *err)
{
	char *answer = NULL;
	int st = query(sock, "stats", &answer, err);

	if (st == 0) {
		if (clear)
			fputs("\033[H\033[J", out); /* home, clear: the table redraws in place */
		if (json) {
			fputs(answer, out);
		} else if (stats_table_write(out, answer)) {
			fprintf(err, "ktvm: ctl: the answer is not ktvm's statistics: %.80s", answer);
			st = KTVM_EXIT_ERROR;
		}
		fflush(out);
	} else if (answer) {
		fputs(answer, out); /* the server's "error: ..." line */
	}
	free(answer);
	return st;
}

int ctl_main(int argc, char **argv, FILE *out, FILE *err)
{
	bool json = false, watch = false;
	const char *sock, *cmd;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fprintf(out, "Usage: %s\n", CTL_USAGE);
		return 0;
	}
	if (argc < 3) {
		fprintf(err, "ktvm: usage: %s\n", CTL_USAGE);
		return KTVM_EXIT_USAGE;
	}
	sock = argv[1];
	cmd = argv[2];
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--watch")) {
			watch = true;
		} else {
			fprintf(err, "ktvm: ctl: unknown option '%s' (usage: %s)\n", argv[i], CTL_USAGE);
			return KTVM_EXIT_USAGE;
		}
	}
	if (strcmp(cmd, "stats")) {
		if (json || watch) {
			fprintf(err, "ktvm: ctl: --json and --watch go with 'stats' only\n");
			return KTVM_EXIT_USAGE;
		}
		return api_client(sock, cmd, out, err);
	}
	if (!watch)
		return show_stats(sock, json, false, out, err);

	/* --watch: once a second, on a steady cadence, until Ctrl-C (status 0). */
	struct sigaction sa = { .sa_handler = on_sigint };
	struct timespec next;
	bool tty = isatty(fileno(out)) && !json;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!interrupted) {
		int st = show_stats(sock, json, tty, out, err);

		if (st)
			return st;
		if (!json && !tty)
			fputc('\n', out); /* a blank line between tables in a log */
		next.tv_sec++;
		while (!interrupted && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
	}
	return 0;
}
