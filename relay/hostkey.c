/*
 * hostkey.c — the known_hosts check.  libssh's verdict is not used: once
 * its ssh_config parser has turned StrictHostKeyChecking off (a "Host *"
 * block is enough, and a later "-o StrictHostKeyChecking=yes" does not undo
 * it), libssh 0.10 reports a key that the user's file records differently
 * as known whenever the global file has no entry.  It also skips @revoked
 * and @cert-authority lines.  So the files are read here, with OpenSSH's
 * rules: patterns with * ? and !negation, hashed names (|1|, matched by
 * libssh's own parser), the markers, and a changed key always refused.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "cpremote.h"
#include "hostkey.h"
#include "log.h"

/* A line of a file; line 0: none seen. */
struct where {
	const char *file;
	long line;
};

/* What the known_hosts lines naming the host say of the server's key. */
struct scan {
	ssh_key key; /* the server's */
	char name[300]; /* as known_hosts records the host */
	char *tail; /* " TYPE BASE64" of KEY, to test hashed names with */
	struct where revoked; /* @revoked, this key */
	struct where known; /* this key */
	struct where changed; /* another key of the same type */
	struct where other; /* a key of another type */
	struct where ca; /* @cert-authority for the host */
	const char *unread; /* a file that could not be read (errno in unread_errno) */
	int unread_errno;
};

/*
 * The name known_hosts records the host under, lower case: HostKeyAlias as
 * it is, else "name", or "[name]:port" off port 22, as ssh writes them.
 */
static void known_hosts_name(ssh_session s, const struct hostkey_policy *p, char *out, size_t len)
{
	char *h = NULL;
	const char *name = p->hostname;
	unsigned int port = 22;

	if (!name)
		ssh_options_get(s, SSH_OPTIONS_HOST, &h), name = h;
	ssh_options_get_port(s, &port);
	if (p->alias)
		snprintf(out, len, "%s", p->alias);
	else if (port == 22)
		snprintf(out, len, "%s", name ? name : "?");
	else
		snprintf(out, len, "[%s]:%u", name ? name : "?", port);
	for (char *q = out; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	ssh_string_free_char(h);
}

/* Whether NAME matches the N bytes of pattern P (* and ?, any case). */
static int wild_match(const char *name, const char *p, size_t n)
{
	for (; n > 0; p++, n--) {
		if (*p == '*') {
			while (n > 1 && p[1] == '*')
				p++, n--;
			for (;; name++) {
				if (wild_match(name, p + 1, n - 1))
					return 1;
				if (*name == '\0')
					return 0;
			}
		}
		if (*name == '\0' ||
		    (*p != '?' && tolower((unsigned char)*p) != tolower((unsigned char)*name)))
			return 0;
		name++;
	}
	return *name == '\0';
}

/* Whether the host field HOSTS covers the host: one negated match excludes it, as in ssh. */
static int host_matches(struct scan *sc, const char *hosts)
{
	int hit = 0;

	if (strncmp(hosts, "|1|", 3) == 0) {
		/* HMAC-SHA1 of the name: libssh's parser checks it; the key is the server's, so it parses. */
		struct ssh_knownhosts_entry *e = NULL;
		size_t len = strlen(hosts) + strlen(sc->tail) + 1;
		char *line = malloc(len);

		if (!line)
			return 0;
		snprintf(line, len, "%s%s", hosts, sc->tail);
		hit = ssh_known_hosts_parse_line(sc->name, line, &e) == SSH_OK;
		ssh_knownhosts_entry_free(e);
		free(line);
		return hit;
	}
	for (const char *p = hosts; *p;) {
		size_t n = strcspn(p, ",");
		int neg = *p == '!';

		if (wild_match(sc->name, p + neg, n - (size_t)neg)) {
			if (neg)
				return 0;
			hit = 1;
		}
		p += n + (p[n] == ',');
	}
	return hit;
}

/* The next blank-separated word of *P, NUL-terminated in place, or NULL. */
static char *next_word(char **p)
{
	char *w = *p + strspn(*p, " \t\r\n");

	if (*w == '\0')
		return NULL;
	*p = w + strcspn(w, " \t\r\n");
	if (**p)
		*(*p)++ = '\0';
	return w;
}

static void note(struct where *w, const char *file, long line)
{
	if (w->line == 0)
		*w = (struct where){ file, line };
}

/* Adds what line NO of FILE says of the server's key to SC; lines that do not parse say nothing, as in ssh. */
static void scan_line(struct scan *sc, char *line, const char *file, long no)
{
	char *p = line, *marker = NULL, *hosts, *type, *b64;
	enum ssh_keytypes_e t;
	ssh_key k = NULL;

	p += strspn(p, " \t");
	if (*p == '#')
		return;
	if (*p == '@') {
		marker = next_word(&p);
		if (strcmp(marker, "@revoked") != 0 && strcmp(marker, "@cert-authority") != 0)
			return;
	}
	hosts = next_word(&p);
	type = next_word(&p);
	b64 = next_word(&p);
	if (!b64 || !host_matches(sc, hosts))
		return;
	if (marker && strcmp(marker, "@cert-authority") == 0) {
		note(&sc->ca, file, no);
		return;
	}
	t = ssh_key_type_from_name(type);
	if (t == SSH_KEYTYPE_UNKNOWN || ssh_pki_import_pubkey_base64(b64, t, &k) != SSH_OK)
		return;
	if (ssh_key_cmp(sc->key, k, SSH_KEY_CMP_PUBLIC) == 0)
		note(marker ? &sc->revoked : &sc->known, file, no);
	else if (!marker)
		note(ssh_key_type(k) == ssh_key_type(sc->key) ? &sc->changed : &sc->other, file, no);
	ssh_key_free(k);
}

/*
 * Scans the known_hosts file PATH.  A missing one holds no entry and an
 * unreadable one (EACCES) is skipped, as by ssh; any other failure (out of
 * fds, a read error) is noted, so that it is reported as what it is rather
 * than as an unknown host, and so that no @revoked line goes unseen.
 */
static void scan_file(struct scan *sc, const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	long no = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		if (errno == ENOENT || errno == ENOTDIR || errno == EACCES)
			relay_log(2, "known_hosts %s: %s", path, strerror(errno));
		else if (!sc->unread)
			sc->unread = path, sc->unread_errno = errno;
		return;
	}
	errno = 0;
	while (getline(&line, &cap, f) != -1)
		scan_line(sc, line, path, ++no);
	if (ferror(f) && !sc->unread)
		sc->unread = path, sc->unread_errno = errno ? errno : EIO;
	free(line);
	fclose(f);
}

/*
 * Whether libssh's reading of the ssh_config turned StrictHostKeyChecking
 * off.  libssh has no getter for it, but every release from 0.9 to 0.12
 * calls a key that neither file records "known" exactly when the flag is
 * off (its development branch, when off or accept-new, first appends the
 * key to the user's file): so it is asked with both files pointed at
 * /dev/null, then given them back.  libssh 0.10 takes only yes and no from
 * a config ("accept-new" there stays strict).
 */
static int config_strict_off(ssh_session s, const char *user_file, const char *global_file)
{
	int off = ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, "/dev/null") == 0 &&
		  ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null") == 0 &&
		  ssh_session_is_known_server(s) == SSH_KNOWN_HOSTS_OK;

	ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, user_file);
	ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, global_file);
	return off;
}

/* Writes all LEN bytes of BUF to FD.  Returns 0 or -1 with errno set. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Opens PATH to append to (and read its last byte), creating it (0600) and its directory (0700) as ssh would.  Returns the fd or -1. */
static int open_append(const char *path)
{
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	char dir[4096];
	char *slash;

	if (fd >= 0 || errno != ENOENT || strlen(path) >= sizeof dir)
		return fd;
	memcpy(dir, path, strlen(path) + 1);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return -1;
	*slash = '\0';
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	return open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

/*
 * NAME as HashKnownHosts writes it, "|1|" base64(salt) "|" base64(HMAC-SHA1
 * of NAME keyed with the salt), into OUT.  Returns 0 or -1.
 */
static int hashed_name(const char *name, char *out, size_t len)
{
	unsigned char salt[20], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char b64salt[64], b64mac[64];

	if (RAND_bytes(salt, sizeof salt) != 1 ||
	    !HMAC(EVP_sha1(), salt, sizeof salt, (const unsigned char *)name, strlen(name), mac, &maclen))
		return -1;
	EVP_EncodeBlock((unsigned char *)b64salt, salt, sizeof salt);
	EVP_EncodeBlock((unsigned char *)b64mac, mac, (int)maclen);
	snprintf(out, len, "|1|%s|%s", b64salt, b64mac);
	return 0;
}

/* Appends the server's entry (SC's name, hashed when HASH, and key) to the user's known_hosts PATH.  Returns 0, or -1 with MSG set. */
static int record(const struct scan *sc, int hash, const char *host, const char *path, char *msg,
		  size_t msglen)
{
	char name[sizeof sc->name + 64], last = '\n';
	struct stat st;
	int fd = -1, r = -1;

	if (!path) {
		snprintf(msg, msglen, "%s: cannot record the host key: no known_hosts file", host);
		return -1;
	}
	if (hash ? hashed_name(sc->name, name, sizeof name) < 0
		 : snprintf(name, sizeof name, "%s", sc->name) < 0) {
		snprintf(msg, msglen, "%s: cannot record the host key: cannot hash its name", host);
		return -1;
	}
	fd = open_append(path);
	/* A last line without its newline would swallow the new entry. */
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)
		last = '\n';
	if (fd < 0 || (last != '\n' && write_all(fd, "\n", 1) < 0) || write_all(fd, name, strlen(name)) < 0 ||
	    write_all(fd, sc->tail, strlen(sc->tail)) < 0 || write_all(fd, "\n", 1) < 0) {
		snprintf(msg, msglen, "%s: cannot record the host key in %s: %s", host, path,
			 strerror(errno));
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/* The refusal for a key known_hosts does not vouch for; returns the code MSG goes with. */
static int refuse(const struct scan *sc, const char *host, const char *fp, const char *kh, char *msg,
		  size_t msglen)
{
	const struct where *w = sc->changed.line ? &sc->changed : &sc->other;

	if (sc->revoked.line) {
		snprintf(msg, msglen,
			 "%s: host key verification failed: the host's key (%s) is revoked: it is listed "
			 "@revoked in %s:%ld",
			 host, fp, sc->revoked.file, sc->revoked.line);
		return CPREMOTE_EHOSTKEY_CHANGED;
	}
	if (w->line) {
		snprintf(msg, msglen,
			 "%s: host key verification failed: the host's key (%s) differs from the one "
			 "recorded for %s in %s:%ld; if the change is expected, remove that entry",
			 host, fp, sc->name, w->file, w->line);
		return CPREMOTE_EHOSTKEY_CHANGED;
	}
	if (sc->ca.line) {
		snprintf(msg, msglen,
			 "%s: host key verification failed: %s:%ld names a @cert-authority for %s, but host "
			 "certificates are not supported over this transport (libssh); the OpenSSH client "
			 "verifies them: use openssh://HOST",
			 host, sc->ca.file, sc->ca.line, sc->name);
		return CPREMOTE_EHOSTKEY_UNKNOWN;
	}
	snprintf(msg, msglen,
		 "%s: host key verification failed: the host is not known (key %s, not in %s); "
		 "use --accept-new to trust it",
		 host, fp, kh ? kh : "known_hosts");
	return CPREMOTE_EHOSTKEY_UNKNOWN;
}

/* The files of LIST, or libssh's one for OPT (*MINE holds it, for the caller to free), into SC. */
static void scan_files(struct scan *sc, ssh_session s, char *const *list, enum ssh_options_e opt, char **mine)
{
	if (!list) {
		ssh_options_get(s, opt, mine);
		if (*mine)
			scan_file(sc, *mine);
		return;
	}
	for (; *list; list++)
		scan_file(sc, *list);
}

int session_check_host_key(ssh_session s, const char *host, const struct hostkey_policy *p, char *msg,
			   size_t msglen)
{
	struct scan sc = { 0 };
	char *kh = NULL, *gkh = NULL, *fp = NULL, *b64 = NULL;
	const char *first, *gfirst;
	unsigned char *hash = NULL;
	size_t hlen = 0;
	int r = CPREMOTE_ECONNECT;

	if (ssh_get_server_publickey(s, &sc.key) != SSH_OK ||
	    ssh_pki_export_pubkey_base64(sc.key, &b64) != SSH_OK) {
		snprintf(msg, msglen, "%s: cannot check the host key: %s", host, ssh_get_error(s));
		goto out;
	}
	if (ssh_get_publickey_hash(sc.key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0)
		fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
	sc.tail = malloc(strlen(b64) + 64);
	if (!sc.tail) {
		snprintf(msg, msglen, "%s: cannot check the host key: out of memory", host);
		goto out;
	}
	sprintf(sc.tail, " %s %s", ssh_key_type_to_char(ssh_key_type(sc.key)), b64);
	known_hosts_name(s, p, sc.name, sizeof sc.name);
	scan_files(&sc, s, p->user_files, SSH_OPTIONS_KNOWNHOSTS, &kh);
	scan_files(&sc, s, p->global_files, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, &gkh);
	first = p->user_files ? p->user_files[0] : kh;
	gfirst = p->global_files ? p->global_files[0] : gkh;
	if (sc.unread) {
		snprintf(msg, msglen, "%s: cannot check the host key: cannot read %s: %s", host, sc.unread,
			 strerror(sc.unread_errno));
	} else if (!sc.revoked.line && sc.known.line) {
		r = 0;
	} else if (sc.revoked.line || sc.changed.line || sc.other.line || sc.ca.line ||
		   !(p->accept_new > 0 ||
		     (p->accept_new == HOSTKEY_AS_CONFIG && config_strict_off(s, first, gfirst)))) {
		r = refuse(&sc, host, fp ? fp : "?", first, msg, msglen);
	} else if (record(&sc, p->hash, host, first, msg, msglen) == 0) {
		relay_log(1, "%s: added host key %s to %s", host, fp ? fp : "?", first);
		r = 0;
	} else {
		r = CPREMOTE_EHOSTKEY_UNKNOWN;
	}
out:
	free(sc.tail);
	ssh_string_free_char(b64);
	ssh_string_free_char(fp);
	ssh_clean_pubkey_hash(&hash);
	ssh_key_free(sc.key);
	ssh_string_free_char(kh);
	ssh_string_free_char(gkh);
	return r;
}
