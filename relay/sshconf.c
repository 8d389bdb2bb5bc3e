/*
 * sshconf.c — evaluating a destination's ssh_config with OpenSSH's own
 * `ssh -G` (see sshconf.h), and parsing what it prints.
 */
#include <errno.h>
#include <pwd.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cpremote.h"
#include "sshconf.h"

extern char **environ;

/* ssh's stderr kept for a message: its last lines say what it refused. */
#define STDERR_KEEP 2048
/* The most arguments a query makes: fixed ones plus two per -o. */
#define FIXED_ARGS 14

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* The argv of `ssh -G` for Q (malloc'ed array of borrowed strings), or NULL. */
static char **query_argv(const struct sshconf_query *q, char *portbuf, size_t portlen)
{
	size_t nopt = 0, i = 0;
	char **argv;

	for (const char *const *o = q->options; o && *o; o++)
		nopt++;
	argv = calloc(FIXED_ARGS + 2 * nopt, sizeof *argv);
	if (!argv)
		return NULL;
	argv[i++] = (char *)(q->ssh ? q->ssh : "ssh");
	argv[i++] = "-G";
	if (q->config) {
		argv[i++] = "-F";
		argv[i++] = (char *)q->config;
	}
	if (q->user) {
		argv[i++] = "-l";
		argv[i++] = (char *)q->user;
	}
	if (q->port > 0) {
		snprintf(portbuf, portlen, "%d", q->port);
		argv[i++] = "-p";
		argv[i++] = portbuf;
	}
	if (q->identity) {
		argv[i++] = "-i";
		argv[i++] = (char *)q->identity;
	}
	if (q->jump) {
		argv[i++] = "-J";
		argv[i++] = (char *)q->jump;
	}
	for (const char *const *o = q->options; o && *o; o++) {
		argv[i++] = "-o";
		argv[i++] = (char *)*o;
	}
	/* "--" so that a host name starting with "-" is never an option. */
	argv[i++] = "--";
	argv[i++] = (char *)q->host;
	return argv;
}

/*
 * Starts ssh -G with stdin from /dev/null and stdout, stderr on pipes.
 * Returns its pid, or a negative code (-ENOENT: no ssh binary).
 */
static pid_t start_ssh(char **argv, int *out_fd, int *err_fd)
{
	posix_spawn_file_actions_t fa;
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, r;
	pid_t pid = -1;

	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	r = -posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r < 0)
		goto fail;
	close(out[1]);
	close(err[1]);
	*out_fd = out[0];
	*err_fd = err[0];
	return pid;
fail:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	return r;
}

/*
 * Reads ssh's stdout into *OUT (up to SSHCONF_MAX_OUTPUT) and the tail of
 * its stderr into ERRBUF until both close or the deadline passes.
 * Returns 0, -ETIMEDOUT or -EFBIG.
 */
static int collect(int out_fd, int err_fd, char **out, size_t *outlen, char *errbuf, size_t *errlen)
{
	long deadline = now_ms() + SSHCONF_TIMEOUT_MS;
	struct pollfd p[2] = { { .fd = out_fd, .events = POLLIN }, { .fd = err_fd, .events = POLLIN } };
	size_t cap = 0;

	while (p[0].fd >= 0 || p[1].fd >= 0) {
		long left = deadline - now_ms();
		char chunk[4096];

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(p, 2, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			n = read(p[i].fd, chunk, sizeof chunk);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				p[i].fd = -1; /* closed by the caller */
				continue;
			}
			if (i == 1) {
				/* Keep the end: that is where ssh says what it refused. */
				size_t keep = (size_t)n < STDERR_KEEP - 1 ? (size_t)n : STDERR_KEEP - 1;

				if (*errlen + keep > STDERR_KEEP - 1) {
					size_t drop = *errlen + keep - (STDERR_KEEP - 1);
					memmove(errbuf, errbuf + drop, *errlen - drop);
					*errlen -= drop;
				}
				memcpy(errbuf + *errlen, chunk + n - keep, keep);
				*errlen += keep;
				errbuf[*errlen] = '\0';
				continue;
			}
			if (*outlen + (size_t)n > SSHCONF_MAX_OUTPUT)
				return -EFBIG;
			if (*outlen + (size_t)n > cap) {
				size_t ncap = cap ? 2 * cap : 16384;
				char *b;

				while (ncap < *outlen + (size_t)n)
					ncap *= 2;
				b = realloc(*out, ncap);
				if (!b)
					return -ENOMEM;
				*out = b;
				cap = ncap;
			}
			memcpy(*out + *outlen, chunk, (size_t)n);
			*outlen += (size_t)n;
		}
	}
	return 0;
}

/*
 * The lines of ssh's stderr worth showing, on one line: ssh warns that no
 * terminal will be allocated (it has no command), which says nothing here.
 */
static void describe_stderr(char *err, char *msg, size_t msglen)
{
	size_t used = 0;

	msg[0] = '\0';
	char *save = NULL;

	for (char *line = strtok_r(err, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		if (strncmp(line, "Pseudo-terminal will not be allocated", 37) == 0 || !*line)
			continue;
		int n = snprintf(msg + used, msglen - used, "%s%s", used ? "; " : "", line);
		if (n < 0 || (size_t)n >= msglen - used)
			break;
		used += (size_t)n;
	}
}

int sshconf_eval(const struct sshconf_query *q, struct sshconf *out, char *msg, size_t msglen)
{
	char portbuf[16], errbuf[STDERR_KEEP], shown[1024], *text = NULL;
	char **argv = NULL;
	size_t textlen = 0, errlen = 0;
	int out_fd = -1, err_fd = -1, status = 0, r;
	pid_t pid = -1;

	memset(out, 0, sizeof *out);
	errbuf[0] = '\0';
	if (!q->host || !*q->host) {
		snprintf(msg, msglen, "no host given");
		return CPREMOTE_EINVAL;
	}
	argv = query_argv(q, portbuf, sizeof portbuf);
	if (!argv) {
		r = -ENOMEM;
		snprintf(msg, msglen, "out of memory");
		goto out;
	}
	pid = start_ssh(argv, &out_fd, &err_fd);
	if (pid < 0) {
		r = (int)pid;
		snprintf(msg, msglen, "cannot run %s -G: %s", argv[0], strerror(-r));
		pid = -1;
		goto out;
	}
	r = collect(out_fd, err_fd, &text, &textlen, errbuf, &errlen);
	if (r < 0) {
		snprintf(msg, msglen, "%s -G: %s", argv[0],
			 r == -ETIMEDOUT ? "no answer within 10 s (a Match exec that hangs?)" : strerror(-r));
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (r < 0)
		goto out;
	/* A spawn that reports a failed exec as exit 127 (valgrind's does): no ssh binary. */
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && textlen == 0) {
		snprintf(msg, msglen, "cannot run %s -G", argv[0]);
		r = -ENOENT;
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		describe_stderr(errbuf, shown, sizeof shown);
		snprintf(msg, msglen, "%s", shown[0] ? shown : "ssh -G refused the configuration");
		r = CPREMOTE_EINVAL;
		goto out;
	}
	r = sshconf_parse(text ? text : "", textlen, out);
	if (r < 0)
		snprintf(msg, msglen, "cannot read what ssh -G printed");
out:
	if (out_fd >= 0)
		close(out_fd);
	if (err_fd >= 0)
		close(err_fd);
	free(text);
	free(argv);
	return r;
}

int sshconf_parse(const char *text, size_t len, struct sshconf *out)
{
	size_t cap = 0;
	const char *p = text, *end = text + len;

	memset(out, 0, sizeof *out);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *sp = memchr(p, ' ', (size_t)(eol - p));
		struct sshconf_entry *e;

		if (eol == p) {
			p = eol + 1;
			continue;
		}
		if (!sp) {
			sshconf_free(out);
			return CPREMOTE_EPROTO;
		}
		if (out->n == cap) {
			size_t ncap = cap ? 2 * cap : 128;
			struct sshconf_entry *ne = realloc(out->entries, ncap * sizeof *ne);

			if (!ne)
				goto nomem;
			out->entries = ne;
			cap = ncap;
		}
		e = &out->entries[out->n];
		e->key = strndup(p, (size_t)(sp - p));
		e->value = strndup(sp + 1, (size_t)(eol - sp - 1));
		if (!e->key || !e->value) {
			free(e->key);
			free(e->value);
			goto nomem;
		}
		out->n++;
		p = eol + 1;
	}
	return 0;
nomem:
	sshconf_free(out);
	return -ENOMEM;
}

const char *sshconf_next(const struct sshconf *c, const char *key, size_t *i)
{
	for (; *i < c->n; (*i)++) {
		if (strcmp(c->entries[*i].key, key) == 0)
			return c->entries[(*i)++].value;
	}
	return NULL;
}

const char *sshconf_get(const struct sshconf *c, const char *key)
{
	size_t i = 0;

	return sshconf_next(c, key, &i);
}

/* Appends the N bytes of P to the growing string *S (*LEN used, *CAP allocated).  Returns 0 or -1. */
static int append(char **s, size_t *len, size_t *cap, const char *p, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t ncap = (*len + n + 1) * 2;
		char *b = realloc(*s, ncap);

		if (!b)
			return -1;
		*s = b;
		*cap = ncap;
	}
	memcpy(*s + *len, p, n);
	*len += n;
	(*s)[*len] = '\0';
	return 0;
}

/* The value of token T, written into BUF when it must be computed; NULL when unknown. */
static const char *token_value(const struct sshconf *c, const char *orighost, char t, char *buf, size_t len)
{
	const struct passwd *pw = getpwuid(getuid());
	const char *v = NULL;

	switch (t) {
	case '%':
		return "%";
	case 'd':
		return pw ? pw->pw_dir : NULL;
	case 'h':
		return sshconf_get(c, "hostname");
	case 'i':
		snprintf(buf, len, "%u", (unsigned)getuid());
		return buf;
	case 'L':
	case 'l':
		if (gethostname(buf, len) < 0)
			return NULL;
		buf[len - 1] = '\0';
		if (t == 'L')
			buf[strcspn(buf, ".")] = '\0';
		return buf;
	case 'n':
		return orighost;
	case 'p':
		return sshconf_get(c, "port");
	case 'r':
		return sshconf_get(c, "user");
	case 'u':
		return pw ? pw->pw_name : NULL;
	default:
		return v;
	}
}

char *sshconf_expand(const struct sshconf *c, const char *orighost, const char *value)
{
	char *s = NULL, buf[256];
	size_t len = 0, cap = 0;
	const char *p = value;

	if (append(&s, &len, &cap, "", 0) < 0)
		goto nomem;
	if (p[0] == '~' && p[1] == '/') {
		const char *home = token_value(c, orighost, 'd', buf, sizeof buf);

		if (!home || append(&s, &len, &cap, home, strlen(home)) < 0)
			goto nomem;
		p++;
	}
	for (; *p; p++) {
		const char *v;

		if (*p != '%') {
			if (append(&s, &len, &cap, p, 1) < 0)
				goto nomem;
			continue;
		}
		v = token_value(c, orighost, p[1], buf, sizeof buf);
		if (!v) {
			free(s);
			errno = EINVAL;
			return NULL;
		}
		if (append(&s, &len, &cap, v, strlen(v)) < 0)
			goto nomem;
		p++;
	}
	return s;
nomem:
	free(s);
	errno = ENOMEM;
	return NULL;
}

void sshconf_free(struct sshconf *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->entries[i].key);
		free(c->entries[i].value);
	}
	free(c->entries);
	memset(c, 0, sizeof *c);
}
