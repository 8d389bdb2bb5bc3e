/* sweep.c — deferred freeing (see sweep.h). */
#include <errno.h>

#include "sweep.h"

int sweep_soon(struct event **ev, struct event_base *base, event_callback_fn fn)
{
	if (!*ev)
		*ev = event_new(base, -1, 0, fn, NULL);
	if (!*ev)
		return -ENOMEM;
	event_active(*ev, 0, 0);
	return 0;
}

void sweep_free(struct event **ev)
{
	if (*ev)
		event_free(*ev);
	*ev = NULL;
}
