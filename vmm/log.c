// SPDX-License-Identifier: MIT
/* log.c - one-line, timestamped log messages on stderr. */
#include <string.h>
#include <time.h>

#include "vmm/ktvm.h"

static enum log_level current_level = LOG_WARN;
static struct timespec log_epoch;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

int log_parse_level(const char *s, enum log_level *out)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (!strcmp(s, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

__attribute__((constructor)) static void log_init_epoch(void)
{
	clock_gettime(CLOCK_MONOTONIC, &log_epoch);
}

void log_msg(enum log_level level, const char *subsys, const char *fmt, ...)
{
	struct timespec now;
	char line[1024];
	int n;
	va_list ap;

	if (level > current_level)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double t = (double)(now.tv_sec - log_epoch.tv_sec) +
		   (double)(now.tv_nsec - log_epoch.tv_nsec) / 1e9;
	n = snprintf(line, sizeof(line), "ktvm: [%10.6f] %s: %s: ", t, level_names[level], subsys);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(line))
		n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line so lines from different threads never interleave. */
	fwrite(line, 1, (size_t)n, stderr);
}
