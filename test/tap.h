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

static inline void tap_plan(int n) { printf("1..%d\n", n); fflush(stdout); }
static inline void tap_skip_all(const char *why) { printf("1..0 # SKIP %s\n", why); exit(0); }

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

static inline void tap_diag(const char *msg) { printf("# %s\n", msg); fflush(stdout); }

/* Ends the test: prints the plan when none was given first. */
static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#define ok(cond, what) tap_ok(!!(cond), __FILE__, __LINE__, (what))

#define ok_int(got, want, what)                                                        \
	do {                                                                           \
		long long g_ = (long long)(got), w_ = (long long)(want);               \
		if (!tap_ok(g_ == w_, __FILE__, __LINE__, (what)))                     \
			printf("#   got %lld, want %lld\n", g_, w_);                    \
	} while (0)

#define ok_str(got, want, what)                                                        \
	do {                                                                           \
		const char *g_ = (got), *w_ = (want);                                  \
		int e_ = g_ && w_ && strcmp(g_, w_) == 0;                              \
		if (!tap_ok(e_, __FILE__, __LINE__, (what)))                           \
			printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)",       \
			       w_ ? w_ : "(null)");                                     \
	} while (0)

/* Passes when HAYSTACK contains NEEDLE. */
#define ok_contains(haystack, needle, what)                                            \
	do {                                                                           \
		const char *h_ = (haystack), *n_ = (needle);                           \
		if (!tap_ok(h_ && n_ && strstr(h_, n_) != NULL, __FILE__, __LINE__, (what))) \
			printf("#   \"%s\" does not contain \"%s\"\n", h_ ? h_ : "(null)", \
			       n_ ? n_ : "(null)");                                     \
	} while (0)

#endif
