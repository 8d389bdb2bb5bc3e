/* session.c — the --connect tests' server and clients (see session.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "session.h"

int server_start(struct server *s, const char *host, const char *const *argv)
{
	return server_start_with(s, host, argv, NULL);
}

int server_start_with(struct server *s, const char *host, const char *const *argv, const char *helper)
{
	struct cpremote_options o;
	struct client out = { .fd = -1 };
	char fmt[64], line[512];
	int r;

	memset(s, 0, sizeof(*s));
	fixture_options(&o, host);
	o.helper = helper;
	o.file = argv[0];
	o.argv = argv;
	o.stdio[1].mode = CPREMOTE_STDIO_PIPE;
	o.stdio[2].mode = CPREMOTE_STDIO_INHERIT;
	if ((r = cpremote_run(&o, &s->child)) < 0) {
		printf("# the server did not start: %s\n", cpremote_errmsg());
		return -1;
	}
	out.fd = cpremote_stdio_fd(s->child, 1);
	if (!client_expect(&out, "\n", 30000))
		return -1;
	snprintf(line, sizeof(line), "%.500s", out.last);
	snprintf(fmt, sizeof(fmt), "listening on %%%zus uid %%%zus", sizeof(s->path) - 1, sizeof(s->uid) - 1);
	/* client_expect() dropped the line up to its newline: it is still in the buffer's past. */
	if (sscanf(line, fmt, s->path, s->uid) != 2) {
		printf("# the server's first line is not \"listening on PATH uid UID\": %s\n", line);
		return -1;
	}
	return 0;
}

int server_stop(struct server *s)
{
	int st = -1;

	if (s->child == NULL)
		return 0;
	(void)cpremote_kill(s->child, SIGTERM);
	if (fixture_wait_child(s->child, &st, 30) != 1)
		st = -1;
	cpremote_free(s->child);
	s->child = NULL;
	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int client_attach(struct client *c, const char *host, const char *path)
{
	struct cpremote_options o;
	int r;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	fixture_options(&o, host);
	if ((r = cpremote_connect(&o, path, &c->child)) < 0)
		return r;
	c->fd = cpremote_channel_fd(c->child);
	return 0;
}

int client_send(struct client *c, const char *line)
{
	size_t off = 0, len = strlen(line);

	while (off < len) {
		ssize_t n = send(c->fd, line + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	return 0;
}

int client_expect(struct client *c, const char *needle, int timeout_ms)
{
	long long deadline = fixture_now_ms() + timeout_ms;
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	char *at;

	for (;;) {
		c->buf[c->len] = '\0';
		if ((at = strstr(c->buf, needle)) != NULL) {
			size_t used = (size_t)(at - c->buf) + strlen(needle);

			snprintf(c->last, sizeof(c->last), "%.*s", (int)used, c->buf);
			memmove(c->buf, c->buf + used, c->len - used + 1);
			c->len -= used;
			return 1;
		}
		long long left = deadline - fixture_now_ms();
		ssize_t n;

		if (left <= 0 || c->len + 1 >= sizeof(c->buf) || poll(&p, 1, (int)left) <= 0)
			break;
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		c->len += (size_t)n;
	}
	printf("#   waited for \"%s\", got: %s\n", needle, c->buf);
	return 0;
}

void client_free(struct client *c)
{
	cpremote_free(c->child);
	c->child = NULL;
	c->fd = -1;
}
