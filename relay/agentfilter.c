/*
 * agentfilter.c — the user's ssh-agent seen through a filter that lists
 * one chosen key (see agentfilter.h).  The agent protocol is the one of
 * draft-miller-ssh-agent: a uint32 length, a type byte, then the fields.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agentfilter.h"
#include "proto.h"

#define AGENT_FAILURE 5
#define AGENT_REQUEST_IDENTITIES 11
#define AGENT_IDENTITIES_ANSWER 12
#define AGENT_SIGN_REQUEST 13

struct agent_filter {
	pthread_t thread;
	int fd; /* the filter's end of the socketpair */
	int stop[2]; /* a byte on stop[1] ends the thread */
	char *sock; /* the real agent */
	pthread_mutex_t lock;
	struct agent_key offered; /* blob NULL: nothing offered */
};

/* Waits until FD is ready for EVENTS, at most MS (-1: no bound), or STOP is readable. */
static int wait_fd(int fd, short events, int ms, int stop)
{
	struct pollfd p[2] = { { .fd = fd, .events = events }, { .fd = stop, .events = POLLIN } };
	int n;

	do
		n = poll(p, stop >= 0 ? 2 : 1, ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	if (stop >= 0 && p[1].revents)
		return -ECANCELED;
	return 0;
}

/* Reads or writes exactly LEN bytes of FD, each wait bounded by MS. */
static int xfer(int fd, void *buf, size_t len, int writing, int ms, int stop)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n;
		int rc = wait_fd(fd, writing ? POLLOUT : POLLIN, ms, stop);

		if (rc < 0)
			return rc;
		n = writing ? send(fd, p, len, MSG_NOSIGNAL) : read(fd, p, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one message (without its length) into a malloc'ed *MSG of *LEN bytes, bounded by AGENT_MAX_MSG. */
static int msg_read(int fd, uint8_t **msg, size_t *len, int ms, int stop)
{
	uint8_t hdr[4];
	uint32_t n;
	int rc = xfer(fd, hdr, 4, 0, ms, stop);

	if (rc < 0)
		return rc;
	n = cpr_get_u32(hdr);
	if (n == 0 || n > AGENT_MAX_MSG)
		return -EPROTO;
	*msg = malloc(n);
	if (!*msg)
		return -ENOMEM;
	rc = xfer(fd, *msg, n, 0, ms, stop);
	if (rc < 0) {
		free(*msg);
		*msg = NULL;
		return rc;
	}
	*len = n;
	return 0;
}

/* Writes MSG (LEN bytes) with its length in front. */
static int msg_write(int fd, const uint8_t *msg, size_t len, int ms, int stop)
{
	uint8_t hdr[4];
	int rc;

	cpr_put_u32(hdr, (uint32_t)len);
	rc = xfer(fd, hdr, 4, 1, ms, stop);
	return rc < 0 ? rc : xfer(fd, (void *)(uintptr_t)msg, len, 1, ms, stop);
}

/* A connection to the agent at SOCK, or a negative errno. */
static int agent_connect(const char *sock)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (!sock || strlen(sock) >= sizeof a.sun_path)
		return -ENAMETOOLONG;
	strcpy(a.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

/* Sends REQ (LEN bytes) to the agent at SOCK and reads its answer into *ANS. */
static int agent_ask(const char *sock, const uint8_t *req, size_t len, uint8_t **ans, size_t *anslen)
{
	int fd = agent_connect(sock), rc;

	if (fd < 0)
		return fd;
	rc = msg_write(fd, req, len, AGENT_TIMEOUT_MS, -1);
	if (rc == 0)
		rc = msg_read(fd, ans, anslen, AGENT_TIMEOUT_MS, -1);
	close(fd);
	return rc;
}

/* A uint32-length string at *P of the LEFT bytes: sets *S, *N and advances, or returns -EPROTO. */
static int get_string(const uint8_t **p, size_t *left, const uint8_t **s, size_t *n)
{
	uint32_t len;

	if (*left < 4)
		return -EPROTO;
	len = cpr_get_u32(*p);
	if (len > *left - 4)
		return -EPROTO;
	*s = *p + 4;
	*n = len;
	*p += 4 + len;
	*left -= 4 + len;
	return 0;
}

/* Parses an IDENTITIES_ANSWER (M, LEN bytes) into *OUT. */
static int parse_identities(const uint8_t *m, size_t len, struct agent_keys *out)
{
	const uint8_t *p = m + 5, *blob, *comment;
	size_t left = len - 5, blen, clen;
	uint32_t n;

	if (len < 5 || m[0] != AGENT_IDENTITIES_ANSWER)
		return -EPROTO;
	n = cpr_get_u32(m + 1);
	if (n > AGENT_MAX_KEYS)
		return -EPROTO;
	out->k = calloc(n ? n : 1, sizeof *out->k);
	if (!out->k)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct agent_key *k = &out->k[i];

		if (get_string(&p, &left, &blob, &blen) < 0 || get_string(&p, &left, &comment, &clen) < 0)
			return -EPROTO;
		k->blob = malloc(blen ? blen : 1);
		k->comment = malloc(clen + 1);
		out->n++;
		if (!k->blob || !k->comment)
			return -ENOMEM;
		memcpy(k->blob, blob, blen);
		k->len = blen;
		memcpy(k->comment, comment, clen);
		k->comment[clen] = '\0';
	}
	return 0;
}

int agent_list(const char *sock, struct agent_keys *out)
{
	static const uint8_t req[] = { AGENT_REQUEST_IDENTITIES };
	uint8_t *ans = NULL;
	size_t len = 0;
	int rc = agent_ask(sock, req, sizeof req, &ans, &len);

	memset(out, 0, sizeof *out);
	if (rc == 0)
		rc = parse_identities(ans, len, out);
	if (rc < 0)
		agent_keys_free(out);
	free(ans);
	return rc;
}

void agent_keys_free(struct agent_keys *k)
{
	for (size_t i = 0; i < k->n; i++) {
		free(k->k[i].blob);
		free(k->k[i].comment);
	}
	free(k->k);
	memset(k, 0, sizeof *k);
}

int agent_blob_base64(const uint8_t *blob, size_t len, char *out, size_t outlen)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	if (outlen < (len + 2) / 3 * 4 + 1)
		return -1;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)blob[i] << 16 | (i + 1 < len ? (uint32_t)blob[i + 1] << 8 : 0) |
			     (i + 2 < len ? blob[i + 2] : 0);

		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = i + 1 < len ? tab[v >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? tab[v & 63] : '=';
	}
	out[o] = '\0';
	return 0;
}

int agent_base64_blob(const char *b64, uint8_t *out, size_t outlen, size_t *len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	size_t n = 0;
	int bits = 0;

	for (const char *p = b64; *p && *p != '='; p++) {
		const char *c = strchr(tab, *p);

		if (!c)
			return -1;
		acc = acc << 6 | (uint32_t)(c - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == outlen)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	*len = n;
	return 0;
}

/* The answer to REQUEST_IDENTITIES: the offered key alone, or none. */
static int answer_identities(struct agent_filter *f, uint8_t **ans, size_t *len)
{
	size_t clen, n;
	uint8_t *p;

	pthread_mutex_lock(&f->lock);
	clen = f->offered.blob ? strlen(f->offered.comment) : 0;
	n = 5 + (f->offered.blob ? 8 + f->offered.len + clen : 0);
	p = *ans = malloc(n);
	if (p) {
		p[0] = AGENT_IDENTITIES_ANSWER;
		cpr_put_u32(p + 1, f->offered.blob ? 1 : 0);
		if (f->offered.blob) {
			cpr_put_u32(p + 5, (uint32_t)f->offered.len);
			memcpy(p + 9, f->offered.blob, f->offered.len);
			cpr_put_u32(p + 9 + f->offered.len, (uint32_t)clen);
			memcpy(p + 13 + f->offered.len, f->offered.comment, clen);
		}
		*len = n;
	}
	pthread_mutex_unlock(&f->lock);
	return p ? 0 : -ENOMEM;
}

/* Whether SIGN_REQUEST M (LEN bytes) names the offered key: no other key is ever used. */
static int sign_allowed(struct agent_filter *f, const uint8_t *m, size_t len)
{
	const uint8_t *p = m + 1, *blob;
	size_t left = len - 1, blen;
	int ok;

	if (get_string(&p, &left, &blob, &blen) < 0)
		return 0;
	pthread_mutex_lock(&f->lock);
	ok = f->offered.blob && blen == f->offered.len && memcmp(blob, f->offered.blob, blen) == 0;
	pthread_mutex_unlock(&f->lock);
	return ok;
}

/* Answers libssh's requests until it closes its end or the filter is stopped. */
static void *serve(void *arg)
{
	static const uint8_t failure[] = { AGENT_FAILURE };
	struct agent_filter *f = arg;

	for (;;) {
		uint8_t *req = NULL, *ans = NULL;
		size_t len = 0, anslen = 0;
		int rc = msg_read(f->fd, &req, &len, -1, f->stop[0]);

		if (rc < 0)
			break;
		if (req[0] == AGENT_REQUEST_IDENTITIES)
			rc = answer_identities(f, &ans, &anslen);
		else if (req[0] == AGENT_SIGN_REQUEST && sign_allowed(f, req, len))
			rc = agent_ask(f->sock, req, len, &ans, &anslen);
		else
			rc = -EPERM;
		free(req);
		rc = rc == 0 ? msg_write(f->fd, ans, anslen, AGENT_TIMEOUT_MS, f->stop[0])
			     : msg_write(f->fd, failure, sizeof failure, AGENT_TIMEOUT_MS, f->stop[0]);
		free(ans);
		if (rc < 0)
			break;
	}
	return NULL;
}

int agent_filter_start(struct agent_filter **fp, const char *sock, int *libssh_fd)
{
	struct agent_filter *f = calloc(1, sizeof *f);
	int sv[2] = { -1, -1 }, rc;

	*fp = NULL;
	if (!f)
		return -ENOMEM;
	f->stop[0] = f->stop[1] = -1;
	f->sock = strdup(sock);
	if (!f->sock || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(f->stop, O_CLOEXEC) < 0) {
		rc = f->sock ? -errno : -ENOMEM;
		goto fail;
	}
	f->fd = sv[0];
	pthread_mutex_init(&f->lock, NULL);
	rc = -pthread_create(&f->thread, NULL, serve, f);
	if (rc < 0) {
		pthread_mutex_destroy(&f->lock);
		goto fail;
	}
	*libssh_fd = sv[1];
	*fp = f;
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (f->stop[i] >= 0)
			close(f->stop[i]);
	}
	free(f->sock);
	free(f);
	return rc;
}

void agent_filter_offer(struct agent_filter *f, const struct agent_key *key)
{
	pthread_mutex_lock(&f->lock);
	free(f->offered.blob);
	free(f->offered.comment);
	memset(&f->offered, 0, sizeof f->offered);
	if (key) {
		f->offered.blob = malloc(key->len ? key->len : 1);
		f->offered.comment = strdup(key->comment ? key->comment : "");
		if (f->offered.blob && f->offered.comment) {
			memcpy(f->offered.blob, key->blob, key->len);
			f->offered.len = key->len;
		} else {
			free(f->offered.blob);
			free(f->offered.comment);
			memset(&f->offered, 0, sizeof f->offered);
		}
	}
	pthread_mutex_unlock(&f->lock);
}

void agent_filter_stop(struct agent_filter *f)
{
	if (!f)
		return;
	(void)!write(f->stop[1], "", 1);
	pthread_join(f->thread, NULL);
	agent_filter_offer(f, NULL);
	pthread_mutex_destroy(&f->lock);
	close(f->fd);
	close(f->stop[0]);
	close(f->stop[1]);
	free(f->sock);
	free(f);
}
