/*
 * console_server.c — the serving side of `cprun --connect`: a small
 * line-oriented console on a Unix socket file, for any number of clients
 * at once, each with its own variables.  The model is a REPL that a long
 * running program serves so that people can attach to it later.
 *
 * Usage: console_server DIR
 *   Makes DIR owner-only (mode 0700; an existing DIR must be ours and
 *   0700 already) and serves DIR/console.sock until SIGINT, SIGTERM or
 *   SIGHUP, then removes the socket and DIR.  Prints
 *   "listening on PATH uid UID" on stdout once clients may connect.
 * Attach:  cprun --connect HOST:DIR/console.sock
 * Commands: set NAME VALUE, get NAME, vars, whoami, help, quit.
 * Exit: 0 when told to stop, 1 on a setup failure.
 *
 * Who may connect: the directory's mode keeps other users from reaching
 * the socket at all, and each connection's peer credentials (SO_PEERCRED,
 * given by the kernel, not by the client) are checked again: a peer of
 * another uid (root walks through any mode) is told so and dropped.
 * Nothing listens on a TCP port.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_CLIENTS 64
#define MAX_VARS 32
#define MAX_LINE 1024 /* a longer line ends its client: the buffer is bounded */
#define NAME_LEN 32
#define VALUE_LEN 256

struct var {
	char name[NAME_LEN];
	char value[VALUE_LEN];
};

/* One attached client: its own socket, input line, and variables. */
struct client {
	int fd; /* -1: the slot is free */
	uid_t uid;
	pid_t pid;
	char line[MAX_LINE];
	size_t len;
	struct var vars[MAX_VARS];
	int nvars;
};

static struct client clients[MAX_CLIENTS];

/*
 * Sends a reply, never waiting: a client that lets its socket fill up
 * (it sends commands but reads no answers) is dropped rather than
 * allowed to stall every other client.  Returns 0, or -1 (drop it).
 */
static int say(struct client *c, const char *fmt, ...)
{
	char buf[VALUE_LEN + 128];
	va_list ap;
	ssize_t n;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (len < 0)
		return -1;
	if ((size_t)len >= sizeof(buf))
		len = (int)sizeof(buf) - 1;
	n = send(c->fd, buf, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
	return n == len ? 0 : -1;
}

static struct var *var_find(struct client *c, const char *name)
{
	for (int i = 0; i < c->nvars; i++)
		if (strcmp(c->vars[i].name, name) == 0)
			return &c->vars[i];
	return NULL;
}

static int cmd_set(struct client *c, const char *name, const char *value)
{
	struct var *v;

	if (name == NULL || value == NULL)
		return say(c, "usage: set NAME VALUE\n");
	v = var_find(c, name);
	if (strlen(name) >= NAME_LEN || strlen(value) >= VALUE_LEN)
		return say(c, "error: name or value too long\n");
	if (v == NULL) {
		if (c->nvars == MAX_VARS)
			return say(c, "error: %d variables already\n", MAX_VARS);
		v = &c->vars[c->nvars++];
		snprintf(v->name, sizeof(v->name), "%s", name);
	}
	snprintf(v->value, sizeof(v->value), "%s", value);
	return say(c, "ok\n");
}

static int cmd_get(struct client *c, const char *name)
{
	struct var *v = name != NULL ? var_find(c, name) : NULL;

	if (name == NULL)
		return say(c, "usage: get NAME\n");
	return v != NULL ? say(c, "%s\n", v->value) : say(c, "error: no variable %s\n", name);
}

/* Runs one command line.  Returns 0, 1 to close the client (quit), -1 to drop it. */
static int run_line(struct client *c, char *line)
{
	char *save = NULL, *cmd = strtok_r(line, " \t\r", &save);
	char *arg = cmd ? strtok_r(NULL, " \t\r", &save) : NULL;
	char *rest = arg ? strtok_r(NULL, "\r", &save) : NULL;
	int r = 0;

	if (cmd == NULL)
		r = 0;
	else if (strcmp(cmd, "set") == 0)
		r = cmd_set(c, arg, rest);
	else if (strcmp(cmd, "get") == 0)
		r = cmd_get(c, arg);
	else if (strcmp(cmd, "vars") == 0)
		for (int i = 0; i < c->nvars && r == 0; i++)
			r = say(c, "%s=%s\n", c->vars[i].name, c->vars[i].value);
	else if (strcmp(cmd, "whoami") == 0)
		r = say(c, "uid %u pid %ld\n", (unsigned)c->uid, (long)c->pid);
	else if (strcmp(cmd, "help") == 0)
		r = say(c, "set NAME VALUE | get NAME | vars | whoami | quit\n");
	else if (strcmp(cmd, "quit") == 0)
		return say(c, "bye\n") < 0 ? -1 : 1;
	else
		r = say(c, "error: unknown command %s (try help)\n", cmd);
	return r < 0 ? -1 : say(c, "> ");
}

static void client_close(struct client *c)
{
	close(c->fd);
	c->fd = -1;
}

/* Reads what C sent and runs each whole line.  At end of file the lines already read are answered first. */
static void client_input(struct client *c)
{
	ssize_t n = recv(c->fd, c->line + c->len, sizeof(c->line) - c->len, MSG_DONTWAIT);
	char *nl;
	int r = 0;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	while (r == 0 && (nl = memchr(c->line, '\n', c->len)) != NULL) {
		size_t used = (size_t)(nl - c->line) + 1;

		*nl = '\0';
		r = run_line(c, c->line);
		memmove(c->line, c->line + used, c->len - used);
		c->len -= used;
	}
	if (r == 0 && c->len == sizeof(c->line)) {
		(void)say(c, "error: line longer than %d bytes\n", MAX_LINE);
		r = -1;
	}
	if (r != 0)
		client_close(c);
}

/* A new connection: its peer's credentials decide, then it gets a slot of its own. */
static void client_accept(int lfd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct client *c = NULL;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || len != sizeof(cr)) {
		close(fd);
		return;
	}
	if (cr.uid != getuid()) {
		dprintf(fd, "refused: uid %u is not this console's owner\n", (unsigned)cr.uid);
		fprintf(stderr, "console_server: refused pid %ld of uid %u\n", (long)cr.pid,
			(unsigned)cr.uid);
		close(fd);
		return;
	}
	for (int i = 0; i < MAX_CLIENTS && c == NULL; i++)
		if (clients[i].fd < 0)
			c = &clients[i];
	if (c == NULL) {
		dprintf(fd, "refused: %d clients already\n", MAX_CLIENTS);
		close(fd);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->uid = cr.uid;
	c->pid = cr.pid;
	if (say(c, "console: connected as uid %u; type help\n> ", (unsigned)cr.uid) < 0)
		client_close(c);
}

/*
 * Makes DIR an owner-only directory and listens on DIR/console.sock.
 * Returns the listening fd, or -1 with a message on stderr.
 */
static int listen_on(const char *dir, struct sockaddr_un *sa)
{
	struct stat st;
	int fd;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "console_server: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	/* An existing directory is used only when it is ours and no one else's (no symlink either). */
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077) != 0) {
		fprintf(stderr, "console_server: %s: not a directory of ours with mode 0700\n", dir);
		return -1;
	}
	sa->sun_family = AF_UNIX;
	if ((size_t)snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/console.sock", dir) >=
	    sizeof(sa->sun_path)) {
		fprintf(stderr, "console_server: %s: path too long for a socket\n", dir);
		return -1;
	}
	(void)unlink(sa->sun_path); /* a socket left by a server that was killed */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(fd, 16) < 0) {
		fprintf(stderr, "console_server: %s: %s\n", sa->sun_path, strerror(errno));
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct pollfd p[2 + MAX_CLIENTS];
	struct sockaddr_un sa = { 0 };
	sigset_t stop;
	int lfd, sfd, n;

	if (argc != 2) {
		fprintf(stderr, "usage: console_server DIR\n");
		return 1;
	}
	if ((lfd = listen_on(argv[1], &sa)) < 0)
		return 1;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &stop, NULL) < 0 || (sfd = signalfd(-1, &stop, SFD_CLOEXEC)) < 0)
		return 1;
	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	printf("listening on %s uid %u\n", sa.sun_path, (unsigned)getuid());
	fflush(stdout);
	for (;;) {
		p[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		for (int i = 0; i < MAX_CLIENTS; i++)
			p[2 + i] = (struct pollfd){ .fd = clients[i].fd, .events = POLLIN };
		if ((n = poll(p, 2 + MAX_CLIENTS, -1)) < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (p[1].revents)
			break;
		if (p[0].revents)
			client_accept(lfd);
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (p[2 + i].revents && clients[i].fd >= 0)
				client_input(&clients[i]);
	}
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd >= 0)
			client_close(&clients[i]);
	unlink(sa.sun_path);
	rmdir(argv[1]);
	return 0;
}
