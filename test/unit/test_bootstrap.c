/*
 * test_bootstrap.c — bootstrap_scan() (relay/bootstrap.c), the reader of
 * what a login shell and the bootstrap stubs print before the helper's
 * hello: a marker counts only as a whole line of its own, after any
 * noise; its argument loses control bytes and fits its buffer.
 */
#include <string.h>

#include "bootstrap.h"
#include "tap.h"

/* Scans the C string S with an argument buffer of ARGLEN bytes (at most 256). */
static enum bootstrap_marker scan(const char *s, char *arg, size_t arglen)
{
	memset(arg, 'Z', arglen);
	return bootstrap_scan((const uint8_t *)s, strlen(s), arg, arglen, NULL);
}

static void every_marker(void)
{
	static const struct {
		const char *line;
		enum bootstrap_marker m;
		const char *arg;
	} cases[] = {
		{ "cpremote-stub: need x86_64\n", BS_NEED, "x86_64" },
		{ "cpremote-stub: noarch riscv64\n", BS_NOARCH, "riscv64" },
		{ "cpremote-stub: installed /home/u/.cache/cpremote/h\n", BS_INSTALLED,
		  "/home/u/.cache/cpremote/h" },
		{ "cpremote-stub: ready /tmp/cpremote-1000/h\n", BS_READY, "/tmp/cpremote-1000/h" },
		{ "cpremote-stub: send\n", BS_SEND, "" },
	};
	char arg[256], what[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum bootstrap_marker m = scan(cases[i].line, arg, sizeof(arg));

		/* The line without its newline names the case. */
		int n = (int)strlen(cases[i].line) - 1;

		snprintf(what, sizeof(what), "\"%.*s\" is recognised", n, cases[i].line);
		ok_int(m, cases[i].m, what);
		snprintf(what, sizeof(what), "\"%.*s\": its argument", n, cases[i].line);
		ok_str(arg, cases[i].arg, what);
	}
}

static void noise_and_partial_lines(void)
{
	char arg[64];
	const char *noisy = "Welcome to h1\r\nLast login: never\n\033[1mbold\033[0m\n"
			    "cpremote-stub: need x86_64\n";
	const char *partial = "noise\ncpremote-stub: need x86_64";
	const char *twice = "cpremote-stub: noarch sparc\ncpremote-stub: need x86_64\n";

	ok_int(scan(noisy, arg, sizeof(arg)), BS_NEED, "a marker after login-shell noise is found");
	ok_str(arg, "x86_64", "with its argument");
	ok_int(scan(partial, arg, sizeof(arg)), BS_NONE,
	       "a marker line without its newline does not count yet");
	ok_int(scan("", arg, sizeof(arg)), BS_NONE, "nothing at all: no marker");
	ok_int(scan("noise cpremote-stub: need x86_64\n", arg, sizeof(arg)), BS_NONE,
	       "a marker inside a line of noise does not count");
	ok_int(scan("cpremote-stub: need\n", arg, sizeof(arg)), BS_NONE,
	       "\"need\" without its argument is no marker");
	ok_int(scan("cpremote-stub: sendx\n", arg, sizeof(arg)), BS_NONE,
	       "\"send\" followed by more is no marker");
	ok_int(scan("cpremote-stub: hello\n", arg, sizeof(arg)), BS_NONE, "an unknown word is no marker");
	ok_int(scan(twice, arg, sizeof(arg)), BS_NOARCH, "the first whole marker line wins");
	ok_str(arg, "sparc", "with its own argument");
}

static void argument_bytes(void)
{
	static const uint8_t with_nul[] = "cpremote-stub: ready /a\0b\n";
	char arg[64], small[4], one[1];

	ok_int(scan("cpremote-stub: ready /tmp/a\033[31mb\x7f\x01\r\n", arg, sizeof(arg)), BS_READY,
	       "a marker with control bytes in its argument");
	ok_str(arg, "/tmp/a[31mb", "control bytes (ESC, DEL, ^A, CR) are dropped from the argument");
	ok_int(bootstrap_scan(with_nul, sizeof(with_nul) - 1, arg, sizeof(arg), NULL), BS_READY,
	       "a NUL in the argument does not end the line");
	ok_str(arg, "/ab", "and is dropped");
	ok_int(scan("cpremote-stub: need x86_64\n", small, sizeof(small)), BS_NEED,
	       "a marker whose argument is longer than its buffer");
	ok_str(small, "x86", "the argument is cut to the buffer, NUL included");
	ok_int(scan("cpremote-stub: installed /long/path\n", one, sizeof(one)), BS_INSTALLED,
	       "a one-byte argument buffer");
	ok_int(one[0], '\0', "holds just the NUL");
}

int main(void)
{
	every_marker();
	noise_and_partial_lines();
	argument_bytes();
	return tap_done();
}
