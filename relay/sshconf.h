/*
 * sshconf.h — the ssh_config of one destination as OpenSSH itself
 * evaluates it: `ssh -G` prints every keyword's final value after Host and
 * Match blocks, Include, first-value-wins, tokens and the command line's
 * -o, -l, -p and -J.  Running OpenSSH's own evaluator means a file and the
 * command line can never disagree, and every ssh_config(5) feature a user
 * relies on (Match exec, canonicalisation, %-tokens) works as in ssh.
 */
#ifndef CPREMOTE_SSHCONF_H
#define CPREMOTE_SSHCONF_H

#include <stddef.h>

/* What to evaluate: as the arguments of `ssh -G`. */
struct sshconf_query {
	const char *ssh; /* the ssh binary; NULL: "ssh" on PATH */
	const char *config; /* -F FILE; NULL: ssh's default files */
	const char *user; /* -l USER, or NULL */
	int port; /* -p PORT, or 0 */
	const char *jump; /* -J DESTINATIONS, or NULL */
	const char *identity; /* -i FILE, or NULL */
	const char *const *options; /* NULL-terminated "Keyword=value" list for -o, or NULL */
	const char *host; /* the destination as the user wrote it (required) */
};

/* One "keyword value" line of the result; keywords are lower case. */
struct sshconf_entry {
	char *key;
	char *value;
};

/* The evaluated configuration, entries in the order ssh printed them. */
struct sshconf {
	struct sshconf_entry *entries;
	size_t n;
};

/* How long `ssh -G` may take (a Match exec may run a command). */
#define SSHCONF_TIMEOUT_MS 10000
/* The most output accepted from it: a real configuration prints about 8 KiB. */
#define SSHCONF_MAX_OUTPUT (256 * 1024)

/*
 * Runs `ssh -G` for Q and fills *OUT (which the caller releases with
 * sshconf_free()).  Blocks until ssh has answered, at most
 * SSHCONF_TIMEOUT_MS.  Returns 0; -ENOENT when the ssh binary is missing
 * (the caller may fall back to another parser); CPREMOTE_EINVAL when ssh
 * refused the configuration or the options, with ssh's own message in
 * MSG; or another negative code with MSG set.
 */
int sshconf_eval(const struct sshconf_query *q, struct sshconf *out, char *msg, size_t msglen);

/* The first value of KEY (lower case), or NULL. */
const char *sshconf_get(const struct sshconf *c, const char *key);

/*
 * The next value of KEY after entry index *I (start with *I = 0): for the
 * keywords ssh prints once per value (identityfile, certificatefile,
 * sendenv, setenv, localforward, ...).  Returns the value and advances *I,
 * or NULL after the last.
 */
const char *sshconf_next(const struct sshconf *c, const char *key, size_t *i);

/*
 * Parses ssh -G's output TEXT (LEN bytes) into *OUT.  Returns 0, or
 * -ENOMEM / CPREMOTE_EPROTO (a line without a value) with *OUT emptied.
 * Used by sshconf_eval(); public for the tests.
 */
int sshconf_parse(const char *text, size_t len, struct sshconf *out);

/*
 * Expands "~/" and the %-tokens of ssh_config(5) that ssh -G leaves in
 * file names (IdentityFile, CertificateFile): %% %d %h %i %L %l %n %p %r
 * %u, taking the values from C and ORIGHOST (the host as the user typed
 * it).  Returns a malloc'ed string, or NULL with errno set (EINVAL for an
 * unknown token, ENOMEM).
 */
char *sshconf_expand(const struct sshconf *c, const char *orighost, const char *value);

/* Releases C's entries.  Accepts a zeroed C. */
void sshconf_free(struct sshconf *c);

/*
 * Whether the ssh_config files ssh would read (CONFIG, else the user's and
 * the system's) could set one of KEYS (NULL-terminated keyword names, any
 * case): a line naming it in them or in a file they Include.  A file too
 * large or Includes too deep count as "could"; an unreadable file sets
 * nothing.  Cheap: it tells whether `ssh -G` is worth running for them.
 */
int sshconf_files_mention(const char *config, const char *const *keys);

#endif
