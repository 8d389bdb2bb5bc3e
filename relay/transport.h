/*
 * transport.h — destinations reached through a local command rather than
 * libssh (transport.c): which destination names one, and the argv that
 * carries the helper's stream.  A leaf: pure string work, unit-tested on
 * its own (test/transport/test_transport_argv.c).  README.md,
 * "Transports", lists the forms.
 */
#ifndef CPREMOTE_RELAY_TRANSPORT_H
#define CPREMOTE_RELAY_TRANSPORT_H

#include "errors.h"
#include "request.h"

/* Whether HOST names a command transport (exec:, openssh://, docker://, podman://, k8s://, ssm://). */
int transport_is_command(const char *host);

/*
 * Builds into *ARGV (malloc'ed, NULL-terminated, every string malloc'ed;
 * free with transport_argv_free()) the command that runs STUB, a command
 * line for a POSIX shell, on the far side of K's destination, with its
 * stdin and stdout as the stream.  The program of each transport may be
 * replaced through the environment (CPREMOTE_SSH, CPREMOTE_DOCKER,
 * CPREMOTE_PODMAN, CPREMOTE_KUBECTL, CPREMOTE_AWS).  Returns 0, or
 * CPREMOTE_EINVAL (a malformed destination) or -ENOMEM with a message in E.
 */
int transport_argv(const struct conn_key *k, const char *stub, char ***argv, struct cpr_err *e);

/* Frees an argv of transport_argv() (NULL is fine). */
void transport_argv_free(char **argv);

#endif
