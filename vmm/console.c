// SPDX-License-Identifier: MIT
/*
 * console.c - the guest's serial console on the host side.
 *
 * Output goes to stdout, a file, or nowhere; with stdio,log=FILE to the
 * terminal and FILE both.  vCPU threads only append it to
 * a buffer; the main thread writes the buffer out when woken, so a slow sink
 * (a 9p file, a busy terminal) costs one write per batch instead of one per
 * guest byte, and never runs on a vCPU.
 *
 * No write may block the main thread: it also runs --timeout, signals,
 * poweroff and the control socket, and a reader that stops draining
 * (`ktvm run | less`, a stuck log collector) would otherwise leave only
 * SIGKILL.  So output is written only as far as the sink takes it now
 * (see open_output() for how, per kind of sink), the rest waits in the
 * buffer, and the main loop comes back when the sink is writable again.
 * When the buffer is full the UART's transmitter is "busy" (LSR.THRE
 * clear, see serial.c): a driver that waits for THRE, as Linux's does,
 * waits like one on a real line with flow control, and loses nothing;
 * a byte written anyway is dropped and counted (console_dropped()), as a
 * real UART's FIFO overrun loses it.  vCPUs never wait for the sink.
 *
 * Input comes from stdin: when
 * stdin is a terminal it is put in raw mode (restored on every exit path,
 * fatal signals included) and Ctrl-A is an escape prefix; when it is not a
 * terminal it is only ever read when epoll says it is readable, so ktvm
 * never blocks on it in CI.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "vmm/console_host.h"
#include "vmm/seccomp.h"
#include "vmm/output_file.h"
#include "vmm/stats.h"

#define ESCAPE_CHAR 0x01 /* Ctrl-A */
#define OUT_BUF_SIZE (64 * 1024)
/*
 * At exit, console_close() waits for a sink that is still taking output:
 * up to CLOSE_IDLE_MS for each sign of progress, CLOSE_DRAIN_MS in all.
 * A sink that takes nothing costs CLOSE_IDLE_MS (--timeout N ends by N s
 * plus a little); one that reads slowly gets the rest of the buffer.
 */
#define CLOSE_IDLE_MS  250
#define CLOSE_DRAIN_MS 2000

/* How output reaches the sink without ever blocking (open_output()). */
enum out_mode {
	OUT_PLAIN,    /* a regular file or block device: never waits for a reader */
	OUT_NONBLOCK, /* a file description of our own, O_NONBLOCK: EAGAIN when full */
	OUT_GUARDED,  /* shared and blocking (a socket): written only when epoll says so */
};

struct console {
	struct vm *vm;
	int out_fd;	/* -1: output discarded */
	bool close_out;
	enum out_mode out_mode;
	int log_fd;	/* stdio,log=FILE: a copy of the output, or -1 */
	/* Output ring: vCPUs append, the main thread drains. */
	uint8_t *out_buf;
	size_t out_head, out_len;
	uint64_t dropped;  /* guest bytes that found the ring full */
	bool tx_full_seen; /* the UART saw the ring full: tell it when there is room */
	int out_wake_fd;   /* eventfd: "there is output to write" */
	/*
	 * What the main loop watches (console_output_fd): an epoll set of the
	 * wake eventfd and, while output waits for the sink, out_fd for EPOLLOUT.
	 */
	int poll_fd;
	bool out_watched;
	int guard_fd; /* OUT_GUARDED: epoll of out_fd alone, "is it writable now?" */
	bool finished; /* console_finish() ran: output drained, fds closed */
	bool wrote_any;
	console_tx_ready_fn tx_ready_fn;
	void *tx_ready_opaque;
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

/*
 * A file description ktvm opened itself (console=file:PATH, log=FILE) may
 * be made non-blocking: nobody else shares it.  A regular file ignores it.
 */
static void make_own_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/*
 * Choose how to write to the output without blocking.  stdout's file
 * description is shared (with the shell, the terminal's other programs,
 * the rest of a pipeline): setting O_NONBLOCK on it would make their
 * writes fail with EAGAIN, so ktvm never does.  Instead:
 *  - a regular file or block device is written directly: such a write
 *    never waits for a reader (OUT_PLAIN);
 *  - a pipe, FIFO, terminal or other character device is opened again
 *    through /proc/self/fd: a new file description of the same pipe or
 *    terminal, ktvm's alone, which can be O_NONBLOCK (OUT_NONBLOCK);
 *  - a socket cannot be reopened, and send(MSG_DONTWAIT) is outside the
 *    main thread's seccomp list: it is written only when epoll reports it
 *    writable, at most PIPE_BUF bytes at a time, which a writable pipe or
 *    socket takes without blocking (OUT_GUARDED).  The same fallback
 *    serves when /proc is not mounted.
 * A writer thread would also do, but it would be one more thread with its
 * own seccomp class, and it would still be stuck in write() at exit.
 */
static void open_output(struct console *c)
{
	struct stat st;
	char path[64];
	int fd;

	if (fstat(c->out_fd, &st) < 0 || S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
		c->out_mode = OUT_PLAIN; /* (a bad fd: writes fail and are dropped) */
		return;
	}
	if (c->close_out) { /* console=file:PATH: our own description already */
		make_own_nonblocking(c->out_fd);
		c->out_mode = OUT_NONBLOCK;
		return;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", c->out_fd);
		fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd >= 0) {
			c->out_fd = fd;
			c->close_out = true;
			c->out_mode = OUT_NONBLOCK;
			return;
		}
	}
	c->out_mode = OUT_GUARDED;
}

static int open_guard(struct console *c)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.fd = c->out_fd };

	c->guard_fd = epoll_create1(EPOLL_CLOEXEC);
	if (c->guard_fd < 0)
		return -1;
	if (epoll_ctl(c->guard_fd, EPOLL_CTL_ADD, c->out_fd, &ev) < 0) {
		/* Not pollable: nothing better than plain writes. */
		c->out_mode = OUT_PLAIN;
	}
	return 0;
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
	c->poll_fd = -1;
	c->guard_fd = -1;
	c->log_fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	switch (cfg->console) {
	case CONSOLE_NONE:
		break;
	case CONSOLE_FILE:
		c->out_fd = output_file_open(cfg->console_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (c->out_fd < 0) {
			fprintf(stderr, "ktvm: cannot open console file '%s': %s\n", cfg->console_path,
				output_file_error(errno));
			free(c);
			return NULL;
		}
		c->close_out = true;
		break;
	case CONSOLE_STDIO:
		c->out_fd = STDOUT_FILENO;
		c->in_fd = STDIN_FILENO;
		if (cfg->console_log) {
			c->log_fd = output_file_open(cfg->console_log, O_WRONLY | O_CREAT | O_TRUNC,
						     0644);
			if (c->log_fd < 0) {
				fprintf(stderr, "ktvm: cannot open console log file '%s': %s\n",
					cfg->console_log, output_file_error(errno));
				console_close(c);
				return NULL;
			}
		}
		if (isatty(STDIN_FILENO))
			console_enter_raw_mode();
		break;
	}
	if (c->out_fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN };

		open_output(c);
		if (c->log_fd >= 0)
			make_own_nonblocking(c->log_fd);
		c->out_buf = malloc(OUT_BUF_SIZE);
		c->out_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		c->poll_fd = epoll_create1(EPOLL_CLOEXEC);
		ev.data.fd = c->out_wake_fd;
		if (!c->out_buf || c->out_wake_fd < 0 || c->poll_fd < 0 ||
		    epoll_ctl(c->poll_fd, EPOLL_CTL_ADD, c->out_wake_fd, &ev) < 0 ||
		    (c->out_mode == OUT_GUARDED && open_guard(c) < 0)) {
			fprintf(stderr, "ktvm: cannot set up the console: %s\n", strerror(errno));
			console_close(c);
			return NULL;
		}
	}
	return c;
}

int console_output_fd(struct console *c)
{
	return c->poll_fd;
}

/* OUT_GUARDED: does epoll say the sink takes a write now? */
static bool guard_writable(struct console *c)
{
	struct epoll_event ev;

	return epoll_wait(c->guard_fd, &ev, 1, 0) == 1;
}

/*
 * Write what the sink takes now of [p, p + len): the bytes consumed (an
 * error consumes everything: that output is dropped), 0 when the sink is
 * full.
 */
static size_t out_write(struct console *c, const uint8_t *p, size_t len)
{
	ssize_t n;

	if (c->out_mode == OUT_GUARDED) {
		if (!guard_writable(c))
			return 0;
		if (len > PIPE_BUF)
			len = PIPE_BUF;
	}
	do
		n = write(c->out_fd, p, len);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		return (size_t)n;
	if (n < 0 && errno == EAGAIN)
		return 0;
	/* A closed terminal or a full disk must not stop the guest: drop output. */
	log_once(LOG_WARN, "console", "console output failed (%s); dropping output",
		 n < 0 ? strerror(errno) : "short write");
	return len;
}

/* The log copy: best effort, never waits (a FIFO as log=FILE loses what does not fit). */
static void log_write(struct console *c, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(c->log_fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_once(LOG_WARN, "console", "console log output failed (%s); dropping",
				 n < 0 ? strerror(errno) : "short write");
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

/* Watch out_fd for EPOLLOUT (the sink is full) or stop watching it. */
static void watch_out(struct console *c, bool on)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.fd = c->out_fd };

	if (on == c->out_watched || c->out_mode == OUT_PLAIN)
		return;
	if (epoll_ctl(c->poll_fd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, c->out_fd, &ev) == 0 || !on)
		c->out_watched = on;
}

void console_flush(struct console *c)
{
	uint64_t ignored;
	/* Bytes per call: a fast guest and a fast sink must not keep the loop here. */
	size_t budget = 2 * OUT_BUF_SIZE;
	bool blocked = false, notify = false, more;
	console_tx_ready_fn fn;
	void *opaque;

	if (!c || c->out_fd < 0)
		return;
	if (read(c->out_wake_fd, &ignored, sizeof(ignored)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&c->lock);
	while (c->out_len && budget) {
		/* The contiguous part from head; written without the lock held. */
		size_t chunk = c->out_len, n;
		if (chunk > OUT_BUF_SIZE - c->out_head)
			chunk = OUT_BUF_SIZE - c->out_head;
		if (chunk > budget)
			chunk = budget;
		const uint8_t *p = c->out_buf + c->out_head;

		pthread_mutex_unlock(&c->lock);
		n = out_write(c, p, chunk);
		if (n && c->log_fd >= 0)
			log_write(c, p, n);
		pthread_mutex_lock(&c->lock);
		if (!n) {
			blocked = true;
			break;
		}
		c->out_head = (c->out_head + n) % OUT_BUF_SIZE;
		c->out_len -= n;
		budget -= n;
	}
	more = c->out_len && !blocked;
	if (c->tx_full_seen && c->out_len < OUT_BUF_SIZE) {
		c->tx_full_seen = false;
		notify = true;
	}
	fn = c->tx_ready_fn;
	opaque = c->tx_ready_opaque;
	pthread_mutex_unlock(&c->lock);
	watch_out(c, blocked);
	if (more) {
		/* Budget used up: come back on the next loop turn. */
		uint64_t one = 1;
		ssize_t w = write(c->out_wake_fd, &one, sizeof(one));
		(void)w;
	}
	if (notify && fn)
		fn(opaque);
}

uint64_t console_dropped(struct console *c)
{
	uint64_t n;

	pthread_mutex_lock(&c->lock);
	n = c->dropped;
	pthread_mutex_unlock(&c->lock);
	return n;
}

bool console_tx_room(struct console *c)
{
	bool room;

	if (!c || c->out_fd < 0)
		return true; /* output discarded: never full */
	pthread_mutex_lock(&c->lock);
	room = c->out_len < OUT_BUF_SIZE;
	if (!room)
		c->tx_full_seen = true;
	pthread_mutex_unlock(&c->lock);
	return room;
}

void console_set_tx_ready(struct console *c, console_tx_ready_fn fn, void *opaque)
{
	pthread_mutex_lock(&c->lock);
	c->tx_ready_fn = fn;
	c->tx_ready_opaque = opaque;
	pthread_mutex_unlock(&c->lock);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * At exit: what is left goes out while the sink keeps taking it (see
 * CLOSE_IDLE_MS); a sink that does not drain is not waited for.
 */
static void drain_at_close(struct console *c)
{
	int64_t deadline = now_ms() + CLOSE_DRAIN_MS;
	size_t left;

	for (;;) {
		struct epoll_event ev;
		int64_t wait;

		console_flush(c);
		pthread_mutex_lock(&c->lock);
		left = c->out_len;
		pthread_mutex_unlock(&c->lock);
		wait = deadline - now_ms();
		if (!left || wait <= 0)
			break;
		if (wait > CLOSE_IDLE_MS)
			wait = CLOSE_IDLE_MS;
		if (epoll_wait(c->poll_fd, &ev, 1, (int)wait) == 0)
			break;
	}
	if (left)
		log_warn("console", "%zu bytes of console output not written: the output is not "
				    "being read", left);
	if (c->dropped)
		log_warn("console", "%llu bytes of console output dropped: the output was not "
				    "being read", (unsigned long long)c->dropped);
}

int console_input_fd(struct console *c)
{
	return c->in_fd;
}

void console_finish(struct console *c)
{
	if (!c || c->finished)
		return;
	c->finished = true;
	if (c->out_buf && c->out_wake_fd >= 0 && c->poll_fd >= 0)
		drain_at_close(c);
	console_restore_terminal();
	pthread_mutex_lock(&c->lock);
	if (c->close_out)
		close(c->out_fd);
	c->out_fd = -1; /* from now on output is discarded (console_write) */
	if (c->log_fd >= 0)
		close(c->log_fd);
	c->log_fd = -1;
	if (c->out_wake_fd >= 0)
		close(c->out_wake_fd);
	c->out_wake_fd = -1;
	if (c->poll_fd >= 0)
		close(c->poll_fd);
	c->poll_fd = -1;
	if (c->guard_fd >= 0)
		close(c->guard_fd);
	c->guard_fd = -1;
	pthread_mutex_unlock(&c->lock);
}

void console_close(struct console *c)
{
	if (!c)
		return;
	console_finish(c);
	free(c->out_buf);
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
	while (len && c->out_len < OUT_BUF_SIZE) {
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
	if (len) {
		/*
		 * Full: the sink is not draining.  Never wait for it here (a
		 * vCPU that waits delays pause and stop); drop and count.
		 */
		c->dropped += len;
		c->tx_full_seen = true;
		log_once(LOG_WARN, "console", "console output is not draining; dropping");
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
