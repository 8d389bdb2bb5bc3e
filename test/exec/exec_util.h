/* exec_util.h — what the exec tests share beyond the fixture: driving a child's piped stdio. */
#ifndef CPREMOTE_EXEC_UTIL_H
#define CPREMOTE_EXEC_UTIL_H

#include <stddef.h>
#include "cpremote.h"
#include "fixture.h"

/*
 * Feeds IN (IN_LEN bytes) to CHILD's piped stdin and closes it (EOF), reads
 * its piped stdout and stderr until both end, then waits for its status
 * (r->status, as wait(2)).  Streams not piped are skipped.  Gives up after
 * TIMEOUT_S seconds.  Returns 1 when the status came, or a negative code
 * from cpremote_wait(), or 0 on timeout.  Free R with fixture_result_free().
 */
int exec_pump(cpremote_child *child, const char *in, size_t in_len, int timeout_s, struct fixture_result *r);

/* The text exec_child spew writes for BYTES bytes of TAG lines ('O' or 'E'); malloc'ed. */
char *exec_pattern(char tag, size_t bytes);

/* Reads CHILD's stdout until it holds a whole line or TIMEOUT_S passed; 1 when a line came. */
int exec_read_line(int fd, char *buf, size_t size, int timeout_s);

#endif
