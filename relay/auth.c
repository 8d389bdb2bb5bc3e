/*
 * auth.c — public-key authentication in OpenSSH's order, one key at a
 * time, with the reason when none was accepted (see auth.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "proto.h"

#define TOO_MANY "Too many authentication failures"
/* A step's result beside libssh's SSH_AUTH_*: the key could not be used (noted), the next one is tried. */
#define SKIPPED 100

void auth_init(struct auth *a, const struct auth_conf *conf)
{
	memset(a, 0, sizeof *a);
	a->conf = conf;
}

/* Adds a line to A's notes of keys that could not be used. */
static void note(struct auth *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct auth *a, const char *fmt, ...)
{
	size_t len = strlen(a->skipped);
	va_list ap;

	if (len + 3 >= sizeof a->skipped)
		return;
	strcpy(a->skipped + len, "; ");
	va_start(ap, fmt);
	vsnprintf(a->skipped + len + 2, sizeof a->skipped - len - 2, fmt, ap);
	va_end(ap);
}

/* PATH's public key: PATH.pub, else what libssh finds in PATH itself; NULL when neither reads. */
static ssh_key load_pub(const char *path)
{
	char pub[4096];
	ssh_key k = NULL;

	if (snprintf(pub, sizeof pub, "%s.pub", path) < (int)sizeof pub && access(pub, R_OK) == 0 &&
	    ssh_pki_import_pubkey_file(pub, &k) == SSH_OK)
		return k;
	if (access(path, R_OK) == 0 && ssh_pki_import_pubkey_file(path, &k) == SSH_OK)
		return k;
	return NULL;
}

/* Adds a candidate; PATH and CERT are copied, PUB taken.  Returns 0 or -ENOMEM. */
static int add(struct auth *a, int agent, const char *path, const char *cert, ssh_key pub)
{
	struct auth_cand *c = realloc(a->c, (a->n + 1) * sizeof *c);

	if (!c) {
		ssh_key_free(pub);
		return -ENOMEM;
	}
	a->c = c;
	c = &a->c[a->n++];
	*c = (struct auth_cand){ .agent = agent, .pub = pub };
	c->path = path ? strdup(path) : NULL;
	c->cert = cert ? strdup(cert) : NULL;
	return (path && !c->path) || (cert && !c->cert) ? -ENOMEM : 0;
}

/* The IdentityFile keys that exist, with their key-cert.pub certificates (when no CertificateFile is set). */
struct file_key {
	const char *path;
	char *cert; /* the certificate file, or NULL for the key itself */
	ssh_key pub;
	int used;
};

static size_t load_files(const struct auth_conf *conf, struct file_key *f, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; conf->identities && conf->identities[i] && n + 2 <= max; i++) {
		const char *path = conf->identities[i];
		char cert[4096];
		ssh_key k = load_pub(path);

		if (!k)
			continue;
		f[n++] = (struct file_key){ .path = path, .pub = k };
		if (conf->certs && conf->certs[0])
			continue;
		k = NULL;
		if (snprintf(cert, sizeof cert, "%s-cert.pub", path) < (int)sizeof cert &&
		    access(cert, R_OK) == 0 && ssh_pki_import_cert_file(cert, &k) == SSH_OK)
			f[n++] = (struct file_key){ .path = path, .cert = strdup(cert), .pub = k };
	}
	return n;
}

/* The agent's key K as a libssh key (its blob starts with its type's name), or NULL. */
static ssh_key agent_pub(const struct agent_key *k)
{
	char b64[8192], type[64];
	uint32_t tl = k->len >= 4 ? cpr_get_u32(k->blob) : 0;
	ssh_key key = NULL;

	if (tl == 0 || tl >= sizeof type || tl > k->len - 4 ||
	    agent_blob_base64(k->blob, k->len, b64, sizeof b64) < 0)
		return NULL;
	memcpy(type, k->blob + 4, tl);
	type[tl] = '\0';
	if (ssh_pki_import_pubkey_base64(b64, ssh_key_type_from_name(type), &key) != SSH_OK)
		return NULL;
	return key;
}

/* Whether the agent's key K is the public key P. */
static int same_key(const struct agent_key *k, ssh_key p)
{
	char b64[8192], *pb = NULL;
	int same;

	if (agent_blob_base64(k->blob, k->len, b64, sizeof b64) < 0 ||
	    ssh_pki_export_pubkey_base64(p, &pb) < 0)
		return 0;
	same = strcmp(b64, pb) == 0;
	ssh_string_free_char(pb);
	return same;
}

/* K's public key blob into OUT (CAP bytes); returns its length, or 0. */
static size_t key_blob(ssh_key k, uint8_t *out, size_t cap)
{
	char *b64 = NULL;
	size_t n = 0;

	if (ssh_pki_export_pubkey_base64(k, &b64) != SSH_OK || agent_base64_blob(b64, out, cap, &n) < 0)
		n = 0;
	ssh_string_free_char(b64);
	return n;
}

/* Skips the uint32-length string at *OFF of blob B (N bytes).  Returns 0, or -1 when it does not fit. */
static int skip_string(const uint8_t *b, size_t n, size_t *off)
{
	uint32_t len;

	if (n - *off < 4)
		return -1;
	len = cpr_get_u32(b + *off);
	if (len > n - *off - 4)
		return -1;
	*off += 4 + len;
	return 0;
}

/*
 * Whether CERT certifies the public key PUB.  libssh 0.10's ssh_key_cmp()
 * tells a certificate from its plain key, so the blobs are compared: a
 * certificate's is its type, a nonce, then the plain key's fields as they
 * follow the type in the plain key's blob (then the certificate's own).
 */
static int certifies(ssh_key cert, ssh_key pub)
{
	uint8_t cb[8192], pb[8192];
	size_t cn = key_blob(cert, cb, sizeof cb), pn = key_blob(pub, pb, sizeof pb), co = 0, po = 0;

	return cn && pn && skip_string(cb, cn, &co) == 0 && skip_string(cb, cn, &co) == 0 &&
	       skip_string(pb, pn, &po) == 0 && pn - po <= cn - co && memcmp(cb + co, pb + po, pn - po) == 0;
}

/* The CertificateFile certificates, each with the IdentityFile whose key it certifies. */
static int add_cert_files(struct auth *a, struct file_key *f, size_t nf)
{
	for (size_t i = 0; a->conf->certs && a->conf->certs[i]; i++) {
		const char *cert = a->conf->certs[i];
		ssh_key k = NULL;
		size_t j;

		if (ssh_pki_import_cert_file(cert, &k) != SSH_OK) {
			note(a, "CertificateFile %s cannot be read as a certificate", cert);
			continue;
		}
		for (j = 0; j < nf; j++)
			if (!f[j].cert && certifies(k, f[j].pub))
				break;
		if (j == nf) {
			note(a, "CertificateFile %s: no IdentityFile holds its private key (unencrypted)",
			     cert);
			ssh_key_free(k);
			continue;
		}
		if (add(a, -1, f[j].path, cert, k) < 0)
			return -ENOMEM;
	}
	return 0;
}

/*
 * Builds A's list in OpenSSH's order: CertificateFile certificates; the
 * agent's keys that an IdentityFile names, then (unless IdentitiesOnly)
 * its other keys; then the IdentityFile keys read from disk, each followed
 * by its key-cert.pub.
 */
static int prepare(struct auth *a)
{
	struct file_key f[64];
	size_t nf = load_files(a->conf, f, sizeof f / sizeof f[0]);
	int rc = 0;

	if (a->conf->agent_sock && (rc = agent_list(a->conf->agent_sock, &a->agent)) < 0)
		note(a, "the agent at %s did not answer (%s)", a->conf->agent_sock, strerror(-rc));
	rc = add_cert_files(a, f, nf);
	for (size_t k = 0; rc == 0 && k < a->agent.n; k++) {
		size_t j;

		for (j = 0; j < nf; j++)
			if (!f[j].used && !f[j].cert && same_key(&a->agent.k[k], f[j].pub))
				break;
		if (j < nf)
			f[j].used = 1;
		if (j < nf || !a->conf->identities_only)
			rc = add(a, (int)k, j < nf ? f[j].path : NULL, NULL, agent_pub(&a->agent.k[k]));
	}
	for (size_t j = 0; j < nf; j++) {
		if (rc == 0 && !f[j].used) {
			rc = add(a, -1, f[j].path, f[j].cert, f[j].pub);
			f[j].pub = NULL;
		}
		ssh_key_free(f[j].pub);
		free(f[j].cert);
	}
	a->prepared = 1;
	return rc;
}

/* Fails the authentication with RC, the reason in MSG. */
static int fail(struct auth *a, ssh_session s, int rc, char *msg, size_t msglen)
{
	const char *e = ssh_get_error(s);
	size_t from_agent = 0;

	for (size_t i = 0; i < a->n; i++)
		from_agent += a->c[i].agent >= 0;
	if (rc == SSH_AUTH_ERROR && strstr(e, TOO_MANY))
		snprintf(msg, msglen,
			 "the server ended the authentication at key %d of the %zu there were to offer, %zu "
			 "of "
			 "them from the agent (which holds %zu): \"" TOO_MANY "\" (sshd's MaxAuthTries)%s%s",
			 a->refused + 1, a->n, from_agent, a->agent.n,
			 a->conf->identities_only ? ""
						  : "; IdentitiesOnly yes offers only the IdentityFile keys",
			 a->skipped);
	else if (rc == SSH_AUTH_ERROR)
		snprintf(msg, msglen, "no key was accepted: %s%s", e, a->skipped);
	else if (rc == SSH_AUTH_PARTIAL)
		snprintf(msg, msglen, "the server accepted a key but asks for more methods than a key (%s)",
			 "only public keys are used, never a password or keyboard prompt");
	else if (a->n == 0)
		snprintf(msg, msglen, "no key was accepted: none to offer (no IdentityFile exists%s)%s",
			 a->conf->agent_sock ? ", the agent holds none of them" : " and there is no agent",
			 a->skipped);
	else if (a->refused == 0)
		snprintf(msg, msglen, "no key could be offered%s", a->skipped);
	else
		snprintf(msg, msglen,
			 "no key was accepted: the server refused all %d offered (%zu from the agent)%s",
			 a->refused, from_agent, a->skipped);
	return rc == SSH_AUTH_ERROR ? SSH_AUTH_ERROR : SSH_AUTH_DENIED;
}

/*
 * Has the filter list KEY alone to libssh (starting the filter and giving
 * libssh its end on the first call).  Returns 0, or SKIPPED (noted).
 */
static int filter_offer(struct auth *a, ssh_session s, const struct agent_key *key)
{
	if (!a->filter) {
		int fd, rc = agent_filter_start(&a->filter, a->conf->agent_sock, &fd);

		if (rc < 0) {
			note(a, "the agent cannot be used (%s)", strerror(-rc));
			return SKIPPED;
		}
		if (ssh_set_agent_socket(s, fd) != SSH_OK) {
			/* Never let libssh fall back to the unfiltered agent. */
			close(fd);
			agent_filter_stop(a->filter);
			a->filter = NULL;
			note(a, "the agent cannot be used (%s)", ssh_get_error(s));
			return SKIPPED;
		}
	}
	agent_filter_offer(a->filter, key);
	return 0;
}

/*
 * Offers agent key C, then has it signed through the filter, which lists
 * only that key to libssh.  The offer is made here and not by
 * ssh_userauth_agent(), which libssh 0.10 leaks a buffer on at each new
 * start: it starts once, for a key the server accepts.
 */
static int step_agent(struct auth *a, ssh_session s, struct auth_cand *c)
{
	if (a->phase == 0) {
		int rc = c->pub ? ssh_userauth_try_publickey(s, NULL, c->pub) : SSH_AUTH_SUCCESS;

		if (rc != SSH_AUTH_SUCCESS)
			return rc;
		a->phase = 1;
	}
	if (a->phase == 1) {
		if (filter_offer(a, s, &a->agent.k[c->agent]) != 0)
			return SKIPPED;
		a->phase = 2;
	}
	return ssh_userauth_agent(s, NULL);
}

/*
 * For certificate C whose private key file cannot be read: when the agent
 * holds that key, the filter lists the certificate (ssh-agent signs for a
 * certificate of a key it holds, as ssh has it do).  Returns 0, or SKIPPED.
 */
static int cert_by_agent(struct auth *a, ssh_session s, struct auth_cand *c)
{
	uint8_t blob[8192];
	struct agent_key cert = { .blob = blob, .comment = c->cert };
	ssh_key plain = load_pub(c->path);
	char *b64 = NULL;
	size_t k = a->agent.n;
	int rc = SKIPPED;

	if (plain)
		for (k = 0; k < a->agent.n && !same_key(&a->agent.k[k], plain); k++)
			;
	if (k < a->agent.n && ssh_pki_export_pubkey_base64(c->pub, &b64) == SSH_OK &&
	    agent_base64_blob(b64, blob, sizeof blob, &cert.len) == 0)
		rc = filter_offer(a, s, &cert);
	ssh_key_free(plain);
	ssh_string_free_char(b64);
	return rc;
}

/* Offers file key C, then signs with its private key (and certificate) once the server agrees. */
static int step_file(struct auth *a, ssh_session s, struct auth_cand *c)
{
	int rc;

	if (a->phase == 0) {
		rc = ssh_userauth_try_publickey(s, NULL, c->pub);
		if (rc != SSH_AUTH_SUCCESS)
			return rc;
		if (ssh_pki_import_privkey_file(c->path, NULL, NULL, NULL, &a->priv) != SSH_OK) {
			if (c->cert && cert_by_agent(a, s, c) == 0) {
				a->phase = 2;
				return ssh_userauth_agent(s, NULL);
			}
			note(a,
			     "%s is passphrase-protected (or unreadable) and not in the agent, and no "
			     "passphrase is ever asked: add it to the agent with ssh-add",
			     c->path);
			return SKIPPED;
		}
		if (c->cert && ssh_pki_copy_cert_to_privkey(c->pub, a->priv) != SSH_OK) {
			note(a, "certificate %s does not match %s", c->cert, c->path);
			return SKIPPED;
		}
		a->phase = 1;
	}
	if (a->phase == 2)
		return ssh_userauth_agent(s, NULL);
	return ssh_userauth_publickey(s, NULL, a->priv);
}

/* Offers file key C; a refused certificate is noted, with what to check. */
static int step_cert_or_file(struct auth *a, ssh_session s, struct auth_cand *c)
{
	int rc = step_file(a, s, c);

	if (rc == SSH_AUTH_DENIED && c->cert)
		note(a,
		     "certificate %s was refused (is its CA in the server's TrustedUserCAKeys, and the user "
		     "one of its principals?)",
		     c->cert);
	return rc;
}

int auth_step(struct auth *a, ssh_session s, char *msg, size_t msglen)
{
	if (!a->conf->have) {
		int rc = ssh_userauth_publickey_auto(s, NULL, NULL);

		if (rc == SSH_AUTH_AGAIN || rc == SSH_AUTH_SUCCESS)
			return rc;
		snprintf(msg, msglen, "no key was accepted%s%s", rc == SSH_AUTH_ERROR ? ": " : "",
			 rc == SSH_AUTH_ERROR ? ssh_get_error(s) : "");
		return rc == SSH_AUTH_ERROR ? SSH_AUTH_ERROR : SSH_AUTH_DENIED;
	}
	if (!a->prepared && prepare(a) < 0) {
		snprintf(msg, msglen, "out of memory");
		return SSH_AUTH_ERROR;
	}
	while (a->i < a->n) {
		struct auth_cand *c = &a->c[a->i];
		int rc = c->agent >= 0 ? step_agent(a, s, c) : step_cert_or_file(a, s, c);

		/* A server that disconnects (MaxAuthTries) leaves libssh waiting: no event would come. */
		if (rc == SSH_AUTH_AGAIN && !ssh_is_connected(s))
			rc = SSH_AUTH_ERROR;
		if (rc == SSH_AUTH_AGAIN || rc == SSH_AUTH_SUCCESS)
			return rc;
		if (rc == SSH_AUTH_ERROR || rc == SSH_AUTH_PARTIAL)
			return fail(a, s, rc, msg, msglen);
		if (rc != SKIPPED) {
			a->refused++;
			a->agent_refused += c->agent >= 0;
		}
		ssh_key_free(a->priv);
		a->priv = NULL;
		a->phase = 0;
		a->i++;
	}
	return fail(a, s, SSH_AUTH_DENIED, msg, msglen);
}

void auth_free(struct auth *a)
{
	agent_filter_stop(a->filter);
	agent_keys_free(&a->agent);
	for (size_t i = 0; i < a->n; i++) {
		free(a->c[i].path);
		free(a->c[i].cert);
		ssh_key_free(a->c[i].pub);
	}
	free(a->c);
	ssh_key_free(a->priv);
	memset(a, 0, sizeof *a);
}
