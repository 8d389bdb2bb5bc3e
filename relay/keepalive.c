/* keepalive.c — finding a frozen link (see keepalive.h). */
#include <errno.h>

#include "keepalive.h"

int keepalive_init(struct keepalive *ka, struct event_base *base, int interval_s, int count,
		   void (*tick)(evutil_socket_t, short, void *), void *arg)
{
	*ka = (struct keepalive){ .interval_s = interval_s, .count = count };
	ka->ev = evtimer_new(base, tick, arg);
	return ka->ev ? 0 : -ENOMEM;
}

void keepalive_start(struct keepalive *ka)
{
	struct timeval tv = { .tv_sec = ka->interval_s };

	if (ka->interval_s > 0)
		evtimer_add(ka->ev, &tv);
}

enum keepalive_verdict keepalive_tick(struct keepalive *ka, int busy)
{
	if (ka->heard)
		ka->missed = 0;
	else if (busy && ++ka->missed >= ka->count)
		return KA_LOST;
	ka->heard = 0;
	keepalive_start(ka);
	return busy ? KA_PING : KA_QUIET;
}

int keepalive_ping(struct keepalive *ka, struct cpr_buf *out)
{
	uint8_t ping[8];

	cpr_put_u32(ping, ++ka->cookie);
	cpr_put_u32(ping + 4, (uint32_t)(ka->interval_s * (ka->count + 1)));
	return cpr_frame_append(out, CPR_PING, 0, 0, ping, sizeof ping);
}

void keepalive_stop(struct keepalive *ka, int free)
{
	if (!ka->ev)
		return;
	if (free) {
		event_free(ka->ev);
		ka->ev = NULL;
	} else {
		evtimer_del(ka->ev);
	}
}
