/* cprun_connect.h — cprun --connect HOST:PATH (cprun_connect.c). */
#ifndef CPRUN_CONNECT_H
#define CPRUN_CONNECT_H

#include "cpremote.h"

/*
 * Joins cprun's stdin and stdout to the socket file PATH served on HOST
 * (TARGET is "HOST:PATH"; O holds the destination options, its host is
 * set here).  Returns cprun's exit status: 0 when the server closed the
 * connection, 2 for a bad TARGET or options, 255 when the connection
 * failed (PATH missing, not a socket, permission denied: the message
 * names host, path and reason), 128+N when signal N ended it.
 */
int cprun_connect(struct cpremote_options *o, const char *target);

#endif
