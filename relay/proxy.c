/*
 * proxy.c — ProxyJump as OpenSSH builds it, and a proxy command's stderr
 * kept for the message when it fails (see proxy.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proxy.h"
#include "tail.h"

/* Whether S may stand inside single quotes of a shell command and be read by libssh's %-expansion untouched. */
static int quotable(const char *s)
{
	return strchr(s, '\'') == NULL && strchr(s, '%') == NULL && strpbrk(s, "\n\r") == NULL;
}

/* Whether S is made only of what a ProxyJump list holds: hosts, users, ports, ssh:// and commas. */
static int jump_chars(const char *s)
{
	return *s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@:,[]/") ==
			     strlen(s);
}

/* Appends " -l 'USER' -p 'PORT' 'HOST'" for hop H ("[user@]host[:port]", or an ssh:// URI, passed as is). */
static int hop_args(char *out, size_t cap, const char *h)
{
	char user[256] = "", host[512], port[16] = "";
	const char *at = strrchr(h, '@'), *hp = at ? at + 1 : h, *colon;
	size_t hl;

	if (strncmp(h, "ssh://", 6) == 0)
		return snprintf(out, cap, " '%s'", h) < (int)cap ? 0 : -1;
	if (at && (size_t)(at - h) < sizeof user)
		snprintf(user, sizeof user, "%.*s", (int)(at - h), h);
	if (*hp == '[') {
		const char *end = strchr(hp, ']');

		if (!end)
			return -1;
		hl = (size_t)(end - hp - 1);
		hp++;
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strchr(hp, ':');
		hl = colon ? (size_t)(colon - hp) : strlen(hp);
	}
	if (colon && strlen(colon + 1) < sizeof port)
		snprintf(port, sizeof port, "%s", colon + 1);
	if (hl == 0 || hl >= sizeof host)
		return -1;
	snprintf(host, sizeof host, "%.*s", (int)hl, hp);
	return snprintf(out, cap, "%s%s%s%s%s%s '%s'", *user ? " -l '" : "", user, *user ? "'" : "",
			*port ? " -p '" : "", port, *port ? "'" : "", host) < (int)cap
		       ? 0
		       : -1;
}

char *proxy_jump_command(const char *ssh, const char *jump, const char *config, char *msg, size_t msglen)
{
	char cmd[4096], rest[2048] = "", hop[1024];
	const char *last = strrchr(jump, ',');
	int n;

	if (!jump_chars(jump) || (config && !quotable(config)) || (ssh && !quotable(ssh)) ||
	    strlen(jump) >= sizeof rest) {
		snprintf(msg, msglen,
			 "ProxyJump \"%s\": only [user@]host[:port] hops (or ssh:// URIs) are "
			 "accepted, and a -F file name without ' or %%",
			 jump);
		errno = EINVAL;
		return NULL;
	}
	if (last)
		snprintf(rest, sizeof rest, "%.*s", (int)(last - jump), jump);
	if (hop_args(hop, sizeof hop, last ? last + 1 : jump) < 0) {
		snprintf(msg, msglen, "ProxyJump \"%s\": a hop is not [user@]host[:port]", jump);
		errno = EINVAL;
		return NULL;
	}
	/* OpenSSH's own form: the last hop is reached through the others (-J), the target through it (-W). */
	n = snprintf(cmd, sizeof cmd, "'%s'%s%s%s -o BatchMode=yes%s%s%s -W '[%%h]:%%p'%s", ssh ? ssh : "ssh",
		     config ? " -F '" : "", config ? config : "", config ? "'" : "", *rest ? " -J '" : "",
		     rest, *rest ? "'" : "", hop);
	if (n < 0 || (size_t)n >= sizeof cmd) {
		snprintf(msg, msglen, "ProxyJump \"%s\" is too long", jump);
		errno = EINVAL;
		return NULL;
	}
	return strdup(cmd);
}

int proxy_capture_stderr(ssh_session s, struct proxy_err *pe, char *msg, size_t msglen)
{
	char tmpl[] = "/tmp/cpremote-proxy-XXXXXX", *cmd = NULL, *wrapped = NULL;
	int rc = 0, fd;

	if (ssh_options_get(s, SSH_OPTIONS_PROXYCOMMAND, &cmd) != SSH_OK || !cmd || strcmp(cmd, "none") == 0)
		goto out;
	/* mkstemp makes it owner-only; the shell's 2> reopens the same file. */
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	pe->path = strdup(tmpl);
	if (!pe->path) {
		close(fd);
		rc = -ENOMEM;
		goto fail;
	}
	pe->fd = fd;
	if (asprintf(&wrapped, "exec 2>'%s'; %s", tmpl, cmd) < 0) {
		wrapped = NULL;
		rc = -ENOMEM;
		goto fail;
	}
	if (ssh_options_set(s, SSH_OPTIONS_PROXYCOMMAND, wrapped) < 0) {
		rc = -EINVAL;
		snprintf(msg, msglen, "cannot set the ProxyCommand: %s", ssh_get_error(s));
		proxy_err_free(pe);
	}
	goto out;
fail:
	snprintf(msg, msglen, "cannot set up the ProxyCommand: %s", strerror(-rc));
	proxy_err_free(pe);
out:
	ssh_string_free_char(cmd);
	free(wrapped);
	return rc;
}

const char *proxy_stderr(const struct proxy_err *pe, char *buf, size_t len)
{
	char raw[PROXY_STDERR_TAIL + 1];
	struct stat st;
	off_t off;
	ssize_t n;

	buf[0] = '\0';
	if (!pe->path || fstat(pe->fd, &st) < 0)
		return buf;
	off = st.st_size > PROXY_STDERR_TAIL ? st.st_size - PROXY_STDERR_TAIL : 0;
	n = pread(pe->fd, raw, PROXY_STDERR_TAIL, off);
	if (n <= 0)
		return buf;
	while (n > 0 && (raw[n - 1] == '\n' || raw[n - 1] == '\r'))
		n--;
	/* Lines joined by spaces: the message is one line. */
	for (ssize_t i = 0; i < n; i++)
		if (raw[i] == '\n' || raw[i] == '\r')
			raw[i] = ' ';
	relay_escape(buf, len, raw, (size_t)n);
	return buf;
}

void proxy_err_free(struct proxy_err *pe)
{
	/* FD is open exactly when PATH is set, so that a zeroed PE closes nothing. */
	if (pe->path) {
		unlink(pe->path);
		close(pe->fd);
	}
	free(pe->path);
	pe->path = NULL;
	pe->fd = 0;
}
