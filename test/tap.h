/*
 * tap.h — a tiny TAP producer for the tests (run under `meson test` with
 * protocol: 'tap').  Typed asserts print both values on failure.  A test
 * that cannot run here (no test hosts) calls tap_skip_all().
 */
#ifndef CPREMOTE_TAP_H
#define CPREMOTE_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static inline void tap_plan(int n)
{
	printf("1..%d\n", n);
	fflush(stdout);
}
static inline void tap_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	exit(0);
}

/* Records one result; returns ok so that a caller can stop early. */
static inline int tap_ok(int ok, const char *file, int line, const char *what)
{
	tap_n++;
	if (!ok)
		tap_failed++;
	printf("%sok %d - %s", ok ? "" : "not ", tap_n, what);
	if (!ok)
		printf(" (%s:%d)", file, line);
	printf("\n");
	fflush(stdout);
	return ok;
}

static inline void tap_diag(const char *msg)
{
	printf("# %s\n", msg);
	fflush(stdout);
}

/* Ends the test: prints the plan when none was given first. */
static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#define ok(cond, what) tap_ok(!!(cond), __FILE__, __LINE__, (what))

#define ok_int(got, want, what)                                          \
	do {                                                             \
		long long g_ = (long long)(got), w_ = (long long)(want); \
		if (!tap_ok(g_ == w_, __FILE__, __LINE__, (what)))       \
			printf("#   got %lld, want %lld\n", g_, w_);     \
	} while (0)

/* Prints S as one diagnostic-safe line: newlines and control bytes escaped. */
static inline void tap_print_escaped(const char *s)
{
	if (!s) {
		fputs("(null)", stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '\n')
			fputs("\\n", stdout);
		else if (ch < 0x20 || ch == 0x7f)
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

#define ok_str(got, want, what)                                \
	do {                                                   \
		const char *g_ = (got), *w_ = (want);          \
		int e_ = g_ && w_ && strcmp(g_, w_) == 0;      \
		if (!tap_ok(e_, __FILE__, __LINE__, (what))) { \
			fputs("#   got ", stdout);             \
			tap_print_escaped(g_);                 \
			fputs(", want ", stdout);              \
			tap_print_escaped(w_);                 \
			putchar('\n');                         \
		}                                              \
	} while (0)

/* Passes when HAYSTACK contains NEEDLE. */
#define ok_contains(haystack, needle, what)                                                    \
	do {                                                                                   \
		const char *h_ = (haystack), *n_ = (needle);                                   \
		if (!tap_ok(h_ && n_ && strstr(h_, n_) != NULL, __FILE__, __LINE__, (what))) { \
			fputs("#   ", stdout);                                                 \
			tap_print_escaped(h_);                                                 \
			fputs(" does not contain ", stdout);                                   \
			tap_print_escaped(n_);                                                 \
			putchar('\n');                                                         \
		}                                                                              \
	} while (0)

#endif
