/* fdpass.h — passing file descriptors over AF_UNIX sockets (SCM_RIGHTS). */
#ifndef CPREMOTE_FDPASS_H
#define CPREMOTE_FDPASS_H

#include <stdint.h>

#define CPR_MAX_PASSED_FDS 8

/*
 * Sends one message of one data byte BYTE carrying NFDS descriptors (at
 * most CPR_MAX_PASSED_FDS).  Retries EINTR; never raises SIGPIPE.
 * Returns 0 or -errno.  The caller keeps its fds.
 */
int cpr_send_fds(int sock, uint8_t byte, const int *fds, int nfds);

/*
 * Receives one such message.  Returns 1 and sets *byte, fds[0..*nfds)
 * (close-on-exec), 0 at end of file, or -errno (-EAGAIN on a
 * non-blocking socket with nothing to read).  Descriptors beyond MAXFDS
 * or from a truncated message are closed, never leaked.
 */
int cpr_recv_fds(int sock, uint8_t *byte, int *fds, int maxfds, int *nfds);

#endif
