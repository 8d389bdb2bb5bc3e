/* exec_util.h — what the exec tests share beyond the fixture: driving a child's piped stdio. */
#ifndef CPREMOTE_EXEC_UTIL_H
#define CPREMOTE_EXEC_UTIL_H

#include <stddef.h>
#include <string.h>
#include "cpremote.h"
#include "fixture.h"

/* Seconds on a monotonic clock. */
double exec_now(void);

/*
 * Feeds IN (IN_LEN bytes) to CHILD's piped stdin and closes it (EOF), reads
 * its piped stdout and stderr until both end, then waits for its status
 * (r->status, as wait(2)).  Streams not piped are skipped.  Gives up after
 * TIMEOUT_S seconds.  Returns 1 when the status came, or a negative code
 * from cpremote_wait(), or 0 on timeout.  Free R with fixture_result_free().
 */
int exec_pump(cpremote_child *child, const char *in, size_t in_len, int timeout_s,
	      struct fixture_result *r);

/* The text exec_child spew writes for BYTES bytes of TAG lines ('O' or 'E'); malloc'ed. */
char *exec_pattern(char tag, size_t bytes);

/* Reads CHILD's stdout until it holds a whole line or TIMEOUT_S passed; 1 when a line came. */
int exec_read_line(int fd, char *buf, size_t size, int timeout_s);

/*
 * Prints "#   LABEL "TEXT"" with newlines and other control bytes escaped,
 * so that a text compared in a test never breaks the TAP stream.
 */
void exec_diag_text(const char *label, const char *text);

/* As tap.h's ok_str(), for texts that hold newlines. */
#define ok_text(got, want, what)                                                       \
	do {                                                                           \
		const char *g_ = (got), *w_ = (want);                                  \
		if (!ok(g_ && w_ && strcmp(g_, w_) == 0, (what))) {                    \
			exec_diag_text("got", g_);                                     \
			exec_diag_text("want", w_);                                    \
		}                                                                      \
	} while (0)

#endif
