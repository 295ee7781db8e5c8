// SPDX-License-Identifier: MIT
/*
 * console.c - the guest's serial console on the host side.
 *
 * Output goes to stdout, a file, or nowhere; with stdio,log=FILE to the
 * terminal and FILE both.  vCPU threads only append it to
 * a buffer; the main thread writes the buffer out when woken, so a slow sink
 * (a 9p file, a busy terminal) costs one write per batch instead of one per
 * guest byte, and never runs on a vCPU.  Input comes from stdin: when
 * stdin is a terminal it is put in raw mode (restored on every exit path,
 * fatal signals included) and Ctrl-A is an escape prefix; when it is not a
 * terminal it is only ever read when epoll says it is readable, so ktvm
 * never blocks on it in CI.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "vmm/console_host.h"
#include "vmm/seccomp.h"
#include "vmm/stats.h"

#define ESCAPE_CHAR 0x01 /* Ctrl-A */
#define OUT_BUF_SIZE (64 * 1024)

struct console {
	struct vm *vm;
	int out_fd;	/* -1: output discarded */
	bool close_out;
	int log_fd;	/* stdio,log=FILE: a copy of the output, or -1 */
	/* Output ring: vCPUs append, the main thread drains. */
	uint8_t *out_buf;
	size_t out_head, out_len;
	pthread_cond_t out_space;
	int out_wake_fd; /* eventfd: "there is output to write" */
	bool wrote_any;
	int in_fd;	/* -1: no input */
	bool escape_pending;
	pthread_mutex_t lock;
	console_input_fn input_fn;
	void *input_opaque;
	console_break_fn break_fn;
	void *break_opaque;
};

/* Saved terminal state: global because a fatal-signal handler restores it. */
static struct termios saved_termios;
static volatile sig_atomic_t termios_saved;

static void console_restore_terminal(void)
{
	if (termios_saved) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
		termios_saved = 0;
	}
}

static void fatal_signal_handler(int sig)
{
	/* tcsetattr is async-signal-safe; then die of the same signal. */
	console_restore_terminal();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void console_enter_raw_mode(void)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGQUIT };
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &saved_termios) != 0)
		return;
	raw = saved_termios;
	cfmakeraw(&raw);
	/* Keep output post-processing so ktvm's own log lines still start at column 0. */
	raw.c_oflag |= OPOST | ONLCR;
	termios_saved = 1;
	atexit(console_restore_terminal);
	ktvm_seccomp_set_fatal_hook(console_restore_terminal);
	for (unsigned int i = 0; i < ARRAY_SIZE(fatal); i++)
		signal(fatal[i], fatal_signal_handler);
	tcsetattr(STDIN_FILENO, TCSANOW, &raw);
}

struct console *console_open(struct vm *vm, const struct vm_config *cfg)
{
	struct console *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->vm = vm;
	c->out_fd = -1;
	c->in_fd = -1;
	c->out_wake_fd = -1;
	c->log_fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->out_space, NULL);
	switch (cfg->console) {
	case CONSOLE_NONE:
		break;
	case CONSOLE_FILE:
		c->out_fd = open(cfg->console_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (c->out_fd < 0) {
			fprintf(stderr, "ktvm: cannot open console file '%s': %s\n", cfg->console_path,
				strerror(errno));
			free(c);
			return NULL;
		}
		c->close_out = true;
		break;
	case CONSOLE_STDIO:
		c->out_fd = STDOUT_FILENO;
		c->in_fd = STDIN_FILENO;
		if (cfg->console_log) {
			c->log_fd = open(cfg->console_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
					 0644);
			if (c->log_fd < 0) {
				fprintf(stderr, "ktvm: cannot open console log file '%s': %s\n",
					cfg->console_log, strerror(errno));
				console_close(c);
				return NULL;
			}
		}
		if (isatty(STDIN_FILENO))
			console_enter_raw_mode();
		break;
	}
	if (c->out_fd >= 0) {
		c->out_buf = malloc(OUT_BUF_SIZE);
		c->out_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (!c->out_buf || c->out_wake_fd < 0) {
			fprintf(stderr, "ktvm: cannot set up the console: %s\n", strerror(errno));
			console_close(c);
			return NULL;
		}
	}
	return c;
}

int console_output_fd(struct console *c)
{
	return c->out_wake_fd;
}

static void write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* A closed terminal or a full disk must not stop the guest: drop output. */
			log_once(LOG_WARN, "console", "console output failed (%s); dropping output",
				 n < 0 ? strerror(errno) : "short write");
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

void console_flush(struct console *c)
{
	uint64_t ignored;

	if (!c || c->out_fd < 0)
		return;
	if (read(c->out_wake_fd, &ignored, sizeof(ignored)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&c->lock);
	while (c->out_len) {
		/* The contiguous part from head; written without the lock held. */
		size_t chunk = c->out_len;
		if (chunk > OUT_BUF_SIZE - c->out_head)
			chunk = OUT_BUF_SIZE - c->out_head;
		const uint8_t *p = c->out_buf + c->out_head;

		pthread_mutex_unlock(&c->lock);
		write_all(c->out_fd, p, chunk);
		if (c->log_fd >= 0)
			write_all(c->log_fd, p, chunk);
		pthread_mutex_lock(&c->lock);
		c->out_head = (c->out_head + chunk) % OUT_BUF_SIZE;
		c->out_len -= chunk;
		pthread_cond_broadcast(&c->out_space);
	}
	pthread_mutex_unlock(&c->lock);
}

int console_input_fd(struct console *c)
{
	return c->in_fd;
}

void console_close(struct console *c)
{
	if (!c)
		return;
	if (c->out_buf)
		console_flush(c);
	console_restore_terminal();
	if (c->close_out)
		close(c->out_fd);
	if (c->log_fd >= 0)
		close(c->log_fd);
	if (c->out_wake_fd >= 0)
		close(c->out_wake_fd);
	free(c->out_buf);
	pthread_cond_destroy(&c->out_space);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void console_write(struct console *c, const uint8_t *buf, size_t len)
{
	bool wake;

	if (!c || c->out_fd < 0)
		return;
	pthread_mutex_lock(&c->lock);
	if (!c->wrote_any) {
		/* A boot-timeline mark: the guest's first sign of life. */
		c->wrote_any = true;
		log_info("boot", "guest's first console byte");
	}
	wake = c->out_len == 0;
	while (len) {
		/*
		 * Full: wait for the main thread to drain (bounded, so a wedged
		 * sink slows the guest's console instead of losing its output).
		 */
		if (c->out_len == OUT_BUF_SIZE) {
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			if (pthread_cond_timedwait(&c->out_space, &c->lock, &until)) {
				log_once(LOG_WARN, "console", "console output is not draining; dropping");
				break;
			}
			continue;
		}
		size_t tail = (c->out_head + c->out_len) % OUT_BUF_SIZE;
		size_t room = OUT_BUF_SIZE - c->out_len;
		size_t chunk = len < room ? len : room;
		if (chunk > OUT_BUF_SIZE - tail)
			chunk = OUT_BUF_SIZE - tail;
		memcpy(c->out_buf + tail, buf, chunk);
		c->out_len += chunk;
		buf += chunk;
		len -= chunk;
	}
	pthread_mutex_unlock(&c->lock);
	if (wake) {
		uint64_t one = 1;
		ssize_t n = write(c->out_wake_fd, &one, sizeof(one));
		(void)n; /* cannot fail short of counter overflow */
	}
}

void console_set_input(struct console *c, console_input_fn fn, void *opaque)
{
	pthread_mutex_lock(&c->lock);
	c->input_fn = fn;
	c->input_opaque = opaque;
	pthread_mutex_unlock(&c->lock);
}

void console_set_break(struct console *c, console_break_fn fn, void *opaque)
{
	pthread_mutex_lock(&c->lock);
	c->break_fn = fn;
	c->break_opaque = opaque;
	pthread_mutex_unlock(&c->lock);
}

static void console_deliver(struct console *c, const uint8_t *buf, size_t len)
{
	if (len && c->input_fn)
		c->input_fn(c->input_opaque, buf, len);
}

/*
 * Filter the escape sequences out of terminal input.  Returns the number of
 * bytes left in buf for the guest.
 */
size_t console_filter_escapes(struct console *c, uint8_t *buf, size_t len)
{
	size_t out = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t ch = buf[i];

		if (c->escape_pending) {
			c->escape_pending = false;
			if (ch == 'x' || ch == 'X') {
				vm_request_stop(c->vm, KTVM_EXIT_OK, "console escape: quit");
				continue;
			}
			if (ch == ESCAPE_CHAR) {
				buf[out++] = ESCAPE_CHAR;
				continue;
			}
			if (ch == 's' || ch == 'S') {
				if (c->vm)
					vm_stats_print_table(c->vm, STDERR_FILENO);
				continue;
			}
			if (ch == 'b' || ch == 'B') {
				/* Bytes before the break reach the guest first. */
				console_deliver(c, buf, out);
				out = 0;
				if (c->break_fn)
					c->break_fn(c->break_opaque);
				continue;
			}
			/* Unknown escape: swallow it, like screen and QEMU do. */
			continue;
		}
		if (ch == ESCAPE_CHAR) {
			c->escape_pending = true;
			continue;
		}
		buf[out++] = ch;
	}
	return out;
}

int console_handle_input(struct console *c)
{
	uint8_t buf[256];
	ssize_t n = read(c->in_fd, buf, sizeof(buf));

	if (n < 0)
		return (errno == EINTR || errno == EAGAIN) ? 0 : -1;
	if (n == 0)
		return -1; /* EOF: stop watching */
	size_t len = (size_t)n;
	if (termios_saved)
		len = console_filter_escapes(c, buf, len);
	console_deliver(c, buf, len);
	return 0;
}
