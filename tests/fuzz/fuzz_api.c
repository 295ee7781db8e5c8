// SPDX-License-Identifier: MIT
/*
 * fuzz_api.c - the control socket's server side (vmm/api.c, #included for
 * its statics): what a local client may write to --api-sock.  The input is
 * written, in chunks, into one end of a socketpair whose other end is a
 * client slot of a detached server, and on_client() runs after each chunk
 * as the event loop would run it; then every line is also handed to
 * api_handle_line() alone, from a heap buffer of exactly its size (ASan
 * sees a read past the line).
 *
 * Input: a chunk-size byte (1..64), then the bytes the client sends.
 *
 * Checked:
 *  - every answer is one line: "ok", "ok: ...", a JSON object, or
 *    "error: ..."; printable, at most API_ANSWER_MAX bytes; never more
 *    answers than lines sent (+1 for the line-too-long error);
 *  - the stats answer is valid JSON and gives no host address ("hva");
 *  - a line answered "error: ..." changes nothing (pause state, the
 *    server's pause, stop requests);
 *  - only "stop" requests a stop, only "pause"/"resume" change the pause.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <sys/socket.h>

#define vm_request_stop fuzz_request_stop
#include "vmm/api.c" // NOLINT(bugprone-suspicious-include): its statics too
#include "tests/fuzz/fuzz.h"

#define API_ANSWER_MAX 4096

static struct vm vm;
static struct api_server *srv;
static unsigned int stops;
static const struct mem_region layout[] = {{.gpa = 0, .size = KiB(64)}};

void fuzz_request_stop(struct vm *v, int status, const char *fmt, ...)
{
	FUZZ_CHECK(status == KTVM_EXIT_OK);
	stops++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_vm_init(&vm, KiB(64), layout, ARRAY_SIZE(layout));
	FUZZ_CHECK(!vm_pause_init(&vm));
	srv = api_new_detached(&vm);
	FUZZ_CHECK(srv);
	return 0;
}

/* One answer line (without its newline) is well-formed. */
static void check_answer(const char *s, size_t len)
{
	FUZZ_CHECK(len > 0 && len <= API_ANSWER_MAX);
	for (size_t i = 0; i < len; i++)
		FUZZ_CHECK((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f);
	if (s[0] == '{') {
		char *copy = strndup(s, len);
		json_object *o;

		FUZZ_CHECK(copy);
		o = json_tokener_parse(copy);
		FUZZ_CHECK(o && json_object_is_type(o, json_type_object));
		FUZZ_CHECK(!strstr(copy, "\"hva\""));
		json_object_put(o);
		free(copy);
		return;
	}
	FUZZ_CHECK((len == 2 && !memcmp(s, "ok", 2)) || (len > 4 && !memcmp(s, "ok: ", 4)) ||
		   (len > 7 && !memcmp(s, "error: ", 7)));
}

/* All answers waiting on the client end: how many lines. */
static unsigned int drain(int peer)
{
	static char buf[64 * 1024];
	static size_t have;
	unsigned int lines = 0;
	ssize_t n;

	while ((n = read(peer, buf + have, sizeof(buf) - have)) > 0) {
		char *nl;

		have += (size_t)n;
		while ((nl = memchr(buf, '\n', have))) {
			size_t len = (size_t)(nl - buf);

			check_answer(buf, len);
			lines++;
			memmove(buf, nl + 1, have - len - 1);
			have -= len + 1;
		}
		FUZZ_CHECK(have < sizeof(buf)); /* an answer that never ends */
	}
	if (n == 0) /* the server hung up: nothing half-said */
		FUZZ_CHECK(have == 0);
	have = 0;
	return lines;
}

/* The protocol on one line alone, with its state checks. */
static void one_line(const char *data, size_t len)
{
	char *line = calloc(1, len + 1), *r;
	bool paused = vm_paused(&vm), held = srv->paused;
	unsigned int s = stops;
	size_t rl;

	FUZZ_CHECK(line);
	memcpy(line, data, len);
	line[len] = '\0';
	r = api_handle_line(srv, line);
	FUZZ_CHECK(r);
	rl = strlen(r);
	FUZZ_CHECK(rl >= 2 && r[rl - 1] == '\n' && memchr(r, '\n', rl) == r + rl - 1);
	check_answer(r, rl - 1);
	if (!strncmp(r, "error: ", 7)) {
		FUZZ_CHECK(vm_paused(&vm) == paused && srv->paused == held && stops == s);
	} else {
		/* Which command it was, as the server reads it: blanks around it are fine. */
		const char *p = line + strspn(line, " \t");
		size_t n = strlen(p);

		while (n && strchr(" \t\r", p[n - 1]))
			n--;
		if (stops != s)
			FUZZ_CHECK(n == 4 && !memcmp(p, "stop", 4));
		if (srv->paused != held)
			FUZZ_CHECK((n == 5 && !memcmp(p, "pause", 5)) ||
				   (n == 6 && !memcmp(p, "resume", 6)));
		FUZZ_CHECK(vm_paused(&vm) == srv->paused);
	}
	free(r);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct api_client *c = &srv->clients[0];
	size_t chunk = (fz_u8(&in) & 63) + 1, nlines = 0;
	unsigned int answers = 0;
	const uint8_t *body = in.p;
	size_t body_len = in.left;
	int sv[2];

	if (srv->paused) { /* as a client leaving gives its pause back at api_close */
		srv->paused = false;
		vm_resume_all(&vm);
	}
	FUZZ_CHECK(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv));
	c->fd = sv[0];
	c->len = 0;
	c->h = NULL;
	while (in.left && c->fd >= 0) {
		size_t k = chunk < in.left ? chunk : in.left;

		FUZZ_CHECK(write(sv[1], in.p, k) == (ssize_t)k);
		in.p += k;
		in.left -= k;
		on_client(c);
		FUZZ_CHECK(c->len <= sizeof(c->buf));
		answers += drain(sv[1]);
	}
	for (size_t i = 0; i < body_len; i++)
		nlines += body[i] == '\n';
	FUZZ_CHECK(answers <= nlines + 1);
	if (c->fd >= 0)
		client_close(c);
	close(sv[1]);

	/* Each line alone, without the socket layer's NUL check (a C string ends there). */
	for (size_t i = 0, start = 0; i <= body_len; i++) {
		if (i == body_len || body[i] == '\n') {
			const char *l = (const char *)body + start;
			size_t len = i - start;
			const char *nul = memchr(l, '\0', len);

			one_line(l, nul ? (size_t)(nul - l) : len);
			start = i + 1;
		}
	}
	return 0;
}
