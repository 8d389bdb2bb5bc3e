/*
 * log.h — the relay's context and its diagnostics.  Every relay object
 * receives the context at creation instead of reaching for globals, so
 * that each file can be linked and tested on its own.
 */
#ifndef CPREMOTE_RELAY_LOG_H
#define CPREMOTE_RELAY_LOG_H

#include <event2/event.h>

struct relay_ctx;

/* Where a diagnostic line goes; LINE has no newline. */
typedef void relay_log_fn(const struct relay_ctx *ctx, const char *line);

/* What every relay object shares; owned by main.c, outlives every object. */
struct relay_ctx {
	struct event_base *base; /* the single event loop */
	int verbose; /* raised by the first request asking for more (0 quiet) */
	relay_log_fn *log; /* NULL: stderr with the "cpremote-relay: " prefix */
};

/* Prints a diagnostic line when CTX's verbosity is at least LEVEL.  Never blocks for long (stderr). */
void rlog(const struct relay_ctx *ctx, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * The context rlog() uses for relay_log(): set once by main.c.  Only the
 * host key check still logs without a context (session_check_host_key()
 * has no context parameter); new code takes a struct relay_ctx.
 */
void relay_log_set_default(const struct relay_ctx *ctx);
void relay_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
