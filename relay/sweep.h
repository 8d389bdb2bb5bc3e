/*
 * sweep.h — deferred freeing (sweep.c).  A relay object that fails or
 * ends is marked dead and its layer's sweep event made active: the loop
 * runs the sweep after the callbacks of the current turn, so an object is
 * never freed under a caller that still holds it.
 */
#ifndef CPREMOTE_RELAY_SWEEP_H
#define CPREMOTE_RELAY_SWEEP_H

#include <event2/event.h>

/*
 * Makes *EV run FN (with a NULL argument) once the current callbacks are
 * over, creating *EV on BASE at first use.  Returns 0, or -ENOMEM (then
 * the dead objects are freed at the next sweep, or at exit).
 */
int sweep_soon(struct event **ev, struct event_base *base, event_callback_fn fn);

/* Frees *EV (at exit, after every object was freed). */
void sweep_free(struct event **ev);

#endif
