/* cprun_lines.h — cuts one remote stream into whole lines and writes each with its host's prefix. */
#ifndef CPRUN_LINES_H
#define CPRUN_LINES_H

#include <stddef.h>

/* A line longer than this is written in pieces, each ended by a newline. */
#define CPRUN_LINE_MAX 65536

/* The part of a stream after its last newline, waiting for the rest of the line. */
struct cprun_lines {
	char *buf; /* CPRUN_LINE_MAX bytes, allocated on first use */
	size_t len;
};

/*
 * Writes every whole line of the N bytes at P to OUTFD, each preceded by
 * PREFIX, and keeps an unfinished last line for later: only whole lines
 * are written, so lines of several hosts never mix.  Blocks until written
 * (EINTR retried; a non-blocking OUTFD is waited for).  Returns 0 or
 * -errno (out of memory, a write error).
 */
int cprun_lines_feed(struct cprun_lines *l, int outfd, const char *prefix, const char *p, size_t n);

/*
 * Writes a kept unfinished line with PREFIX and an added newline (the
 * stream ended without one).  Returns 0 or -errno.
 */
int cprun_lines_flush(struct cprun_lines *l, int outfd, const char *prefix);

/* Releases the buffer.  Accepts a never-used struct. */
void cprun_lines_free(struct cprun_lines *l);

#endif
