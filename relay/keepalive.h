/*
 * keepalive.h — finding a frozen link (keepalive.c).  A frozen link shows
 * as silence, not as an error: every interval a PING goes to the helper,
 * which answers with a PONG, and a connection with children that stays
 * silent for COUNT intervals in a row is lost, so a freeze is found
 * within interval * (count + 1) seconds.
 */
#ifndef CPREMOTE_RELAY_KEEPALIVE_H
#define CPREMOTE_RELAY_KEEPALIVE_H

#include <stdint.h>
#include <event2/event.h>

#include "proto.h"

struct keepalive {
	struct event *ev;
	int interval_s; /* 0: off */
	int count;
	int missed; /* silent intervals in a row */
	int heard; /* something arrived since the last tick */
	uint32_t cookie;
};

enum keepalive_verdict {
	KA_QUIET, /* nothing to do this tick */
	KA_PING, /* queue a PING and send it now */
	KA_LOST /* silent too long: the link is lost (the timer is stopped) */
};

/* Sets up KA; TICK(ARG) runs every interval once started.  Returns 0 or -ENOMEM. */
int keepalive_init(struct keepalive *ka, struct event_base *base, int interval_s, int count,
		   void (*tick)(evutil_socket_t, short, void *), void *arg);

/* Starts the ticks (nothing when off). */
void keepalive_start(struct keepalive *ka);

/* Bytes arrived: the link is alive. */
static inline void keepalive_heard(struct keepalive *ka)
{
	ka->heard = 1;
}

/* Decides at a tick; BUSY when children depend on the link.  Re-arms the timer unless KA_LOST. */
enum keepalive_verdict keepalive_tick(struct keepalive *ka, int busy);

/*
 * Appends a PING to OUT.  It carries how long a silence means a lost link,
 * so that the helper can end its children by itself when the link
 * freezes.  Returns 0 or a negative code (OUT full).
 */
int keepalive_ping(struct keepalive *ka, struct cpr_buf *out);

/* Stops the ticks; frees the timer when FREE. */
void keepalive_stop(struct keepalive *ka, int free);

#endif
