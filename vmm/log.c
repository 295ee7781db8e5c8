// SPDX-License-Identifier: MIT
/*
 * log.c - one-line log messages on stderr or the --log-file: a monotonic
 * timestamp (seconds since ktvm started), the thread's name, the level and
 * the subsystem.  Every line is one write(2), so lines from different
 * threads never interleave.  The thread name comes from
 * pthread_getname_np() (prctl(PR_GET_NAME) for the calling thread: allowed
 * by every seccomp class), read per line because a creator may name its
 * thread after the thread has started.
 *
 * log_msg_ratelimited() is log_ratelimited()'s back end (see ktvm.h): a
 * fixed window per call site, the window's clock CLOCK_MONOTONIC.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/ktvm.h"

static enum log_level current_level = LOG_WARN;
static struct timespec log_epoch;
static int log_fd = STDERR_FILENO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_set_level(enum log_level level)
{
	current_level = level;
}

void log_set_fd(int fd)
{
	log_fd = fd >= 0 ? fd : STDERR_FILENO;
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

static void log_vmsg(enum log_level level, const char *subsys, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

void log_msg(enum log_level level, const char *subsys, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, subsys, fmt, ap);
	va_end(ap);
}

void log_msg_ratelimited(struct log_ratelimit *rl, enum log_level level, const char *subsys,
			 const char *fmt, ...)
{
	struct timespec now;
	uint64_t t, dropped = 0;
	bool pass = true;
	va_list ap;

	if (level > current_level)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* +1: a window that starts at 0 ns is still a window. */
	t = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec + 1;
	pthread_mutex_lock(&rl->lock);
	if (!rl->window_start_ns ||
	    t - rl->window_start_ns >= (uint64_t)LOG_RATELIMIT_INTERVAL_MS * 1000000u) {
		rl->window_start_ns = t;
		rl->in_window = 0;
	}
	if (rl->in_window < LOG_RATELIMIT_BURST) {
		rl->in_window++;
		dropped = rl->suppressed;
		rl->suppressed = 0;
	} else {
		rl->suppressed++;
		pass = false;
	}
	pthread_mutex_unlock(&rl->lock);
	if (!pass)
		return;
	if (dropped)
		log_msg(level, subsys, "%llu more suppressed like: %s", (unsigned long long)dropped,
			fmt);
	va_start(ap, fmt);
	log_vmsg(level, subsys, fmt, ap);
	va_end(ap);
}

static void log_vmsg(enum log_level level, const char *subsys, const char *fmt, va_list ap)
{
	struct timespec now;
	char line[1024], tname[16];
	int n;

	if (level > current_level)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double t = (double)(now.tv_sec - log_epoch.tv_sec) +
		   (double)(now.tv_nsec - log_epoch.tv_nsec) / 1e9;
	if (pthread_getname_np(pthread_self(), tname, sizeof(tname)))
		snprintf(tname, sizeof(tname), "?");
	n = snprintf(line, sizeof(line), "ktvm: [%10.6f] %s %s: %s: ", t, tname, level_names[level],
		     subsys);
	if (n >= 0 && (size_t)n < sizeof(line))
		n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line so lines from different threads never interleave. */
	for (size_t off = 0; off < (size_t)n;) {
		ssize_t w = write(log_fd, line + off, (size_t)n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}
