/*
 * master.h — a relay shared by the processes of one user (ControlMaster,
 * as in ssh): it serves every caller that connects to its ControlPath
 * socket like its own local caller, and ends ControlPersist seconds after
 * its last caller and child are gone.
 */
#ifndef CPREMOTE_RELAY_MASTER_H
#define CPREMOTE_RELAY_MASTER_H

#include "log.h"

struct master;

/*
 * Makes this relay the master listening on LISTEN_FD (bound at PATH by
 * the library), with CONTROL_FD, its creator's control socket, as its
 * first caller.  A connecting peer of another uid is refused and logged;
 * the log of a master is PATH.log (its stderr), since it outlives its
 * creator's terminal.  It ends the loop of CTX PERSIST seconds after the
 * last caller and child are gone (0: at once; -1: only on an exit
 * request), and on an exit request.  Returns the master, or NULL.
 */
struct master *master_new(struct relay_ctx *ctx, int control_fd, int listen_fd, const char *path,
			  long persist);

/* Stops listening, removes the socket file when it is still this master's, frees M (NULL accepted). */
void master_free(struct master *m);

#endif
