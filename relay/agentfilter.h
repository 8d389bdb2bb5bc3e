/*
 * agentfilter.h — the user's ssh-agent seen through a filter (agentfilter.c).
 * libssh 0.10 offers every key the agent holds, in the agent's order, and
 * has no call to sign with one chosen agent key (ssh_userauth_agent_pubkey
 * takes the legacy key type, which has no ed25519).  So libssh is given
 * its own agent instead: one end of a socketpair, answered by a thread
 * that lists only the key the relay chose and passes signature requests
 * for that key, and nothing else, to the real agent (SSH_AUTH_SOCK).
 * The relay can then offer keys one at a time, in OpenSSH's order, and
 * count what the server refused.
 */
#ifndef CPREMOTE_RELAY_AGENTFILTER_H
#define CPREMOTE_RELAY_AGENTFILTER_H

#include <stddef.h>
#include <stdint.h>

/* The longest agent message accepted either way (OpenSSH's own bound). */
#define AGENT_MAX_MSG (256 * 1024)
/* How long the real agent may take to answer. */
#define AGENT_TIMEOUT_MS 10000
/* The most keys read from the real agent. */
#define AGENT_MAX_KEYS 1024

/* One identity the real agent holds: its public key blob and comment. */
struct agent_key {
	uint8_t *blob;
	size_t len;
	char *comment;
};

struct agent_keys {
	struct agent_key *k;
	size_t n;
};

/*
 * Asks the agent at SOCK for its identities into *OUT (released with
 * agent_keys_free()).  Blocks at most AGENT_TIMEOUT_MS.  Returns 0, or a
 * negative errno (-EPROTO for a malformed answer).
 */
int agent_list(const char *sock, struct agent_keys *out);

/* Releases K's keys and zeroes it; accepts a zeroed K. */
void agent_keys_free(struct agent_keys *k);

/*
 * Base64 of BLOB (LEN bytes), as in a .pub file, into OUT (OUTLEN bytes).
 * Returns 0, or -1 when OUT is too small.
 */
int agent_blob_base64(const uint8_t *blob, size_t len, char *out, size_t outlen);

/*
 * The bytes of base64 text B64 (up to a '=' or its end) into OUT (OUTLEN
 * bytes), their number in *LEN.  Returns 0, or -1 for a character outside
 * base64 or an OUT too small.
 */
int agent_base64_blob(const char *b64, uint8_t *out, size_t outlen, size_t *len);

struct agent_filter;

/*
 * Starts a filter in front of the agent at SOCK.  *LIBSSH_FD receives the
 * end for ssh_set_agent_socket() (libssh owns and closes it).  The filter
 * lists no key until agent_filter_offer().  Returns 0 and sets *FP, or a
 * negative errno.
 */
int agent_filter_start(struct agent_filter **fp, const char *sock, int *libssh_fd);

/* From now on the filter lists only KEY (copied), or nothing for NULL. */
void agent_filter_offer(struct agent_filter *f, const struct agent_key *key);

/* Ends the filter's thread and frees F; accepts NULL. */
void agent_filter_stop(struct agent_filter *f);

#endif
