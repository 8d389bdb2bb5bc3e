/*
 * link.c — an SSH connection brought up to a running helper (see link.h).
 * A state machine advanced on every socket event, asking
 * ssh_get_poll_flags() what to wait for next.  Over 500 lines: one state
 * machine, whose states and retries read best side by side.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpremote.h"
#include "link.h"
#include "tail.h"

#define HANDSHAKE_ATTEMPTS 6 /* sshd's MaxStartups drops handshakes at random under load */
#define RETRY_BASE_MS 100

/* Stops L and tells its owner.  The owner frees L later, never from here. */
static void link_fail(struct link *l, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void link_fail(struct link *l, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	link_stop(l);
	l->ops->on_fail(l->arg, code, msg);
}

/*
 * Keeps helper stderr: the last LINK_STDERR_TAIL bytes for messages, the
 * first LINK_STDERR_LOG shown with -v, the rest only counted.
 */
static void keep_stderr(struct link *l, const char *p, size_t n)
{
	char line[4 * 4096 + 1];

	relay_keep_tail(l->stderr_tail, LINK_STDERR_TAIL, &l->stderr_len, p, n);
	if (l->stderr_total < LINK_STDERR_LOG) {
		relay_escape(line, sizeof line, p, n < 4096 ? n : 4096);
		rlog(l->ctx, 1, "%s: helper: %s", l->key->host, line);
	} else if (l->stderr_total - (uint64_t)n < LINK_STDERR_LOG) {
		rlog(l->ctx, 1, "%s: helper: (more on stderr, not shown)", l->key->host);
	}
	l->stderr_total += (uint64_t)n;
}

/*
 * libssh hands every data packet to this callback as it takes the packet
 * in, whichever read or poll made it do so.  Stderr is consumed here, so
 * it is read continuously and never held by libssh (whose window would
 * otherwise fill and block the helper), without a read of its own: a
 * stderr read makes libssh take in stdout packets and a CHANNEL_CLOSE
 * with them, stranding the stdout bytes where no socket event announces
 * them.  Stdout is left in libssh's buffer for carrier_read().
 */
static int on_channel_data(ssh_session s, ssh_channel ch, void *data, uint32_t len, int is_stderr, void *arg)
{
	(void)s;
	(void)ch;
	if (!is_stderr)
		return 0;
	keep_stderr(arg, data, len);
	return (int)len;
}

void link_drain_stderr(struct link *l)
{
	/* A poll takes in what the socket holds; the callback keeps its stderr. */
	if (l->ch)
		ssh_channel_poll(l->ch, 1);
}

const char *link_stderr_line(struct link *l)
{
	char *end = l->stderr_tail + l->stderr_len;
	const char *start;

	while (end > l->stderr_tail && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	l->stderr_len = (size_t)(end - l->stderr_tail);
	start = strrchr(l->stderr_tail, '\n');
	start = start ? start + 1 : l->stderr_tail;
	relay_escape(l->stderr_safe, sizeof l->stderr_safe, start, (size_t)(end - start));
	return l->stderr_safe;
}

/* Arms the write event when libssh has output waiting. */
static void rearm(struct link *l)
{
	if (l->fd < 0 || l->state == L_STOPPED)
		return;
	if (ssh_get_poll_flags(l->s) & SSH_WRITE_PENDING)
		event_add(l->wr, NULL);
	else
		event_del(l->wr);
}

static void on_socket(evutil_socket_t fd, short what, void *arg)
{
	link_step(arg);
}

/* Registers the socket with the loop once libssh has one. */
static void watch_socket(struct link *l)
{
	if (l->fd >= 0)
		return;
	l->fd = ssh_get_fd(l->s);
	if (l->fd < 0)
		return;
	l->rd = event_new(l->ctx->base, l->fd, EV_READ | EV_PERSIST, on_socket, l);
	l->wr = event_new(l->ctx->base, l->fd, EV_WRITE, on_socket, l);
	event_add(l->rd, NULL);
}

/*
 * Whether the server closed the connection during the handshake, as sshd
 * does beyond MaxStartups; a refused or unresolvable host is final.
 */
static int handshake_dropped(struct link *l)
{
	const char *e = ssh_get_error(l->s);

	return l->fd >= 0 && !strstr(e, "refused") && !strstr(e, "resolve") && !strstr(e, "unreachable") &&
	       !strstr(e, "No route");
}

/* A new session for KEY into L->s; a bad configuration is kept for on_kick() to report. */
static void new_session(struct link *l)
{
	l->s = ssh_new();
	if (!l->s) {
		snprintf(l->config_error, sizeof l->config_error, "out of memory");
		return;
	}
	if (session_configure(l->s, l->ctx, l->key, l->verbosity, &l->so, l->config_error,
			      sizeof l->config_error) < 0 &&
	    !l->config_error[0])
		snprintf(l->config_error, sizeof l->config_error, "bad options");
}

/* Forgets the failed session and starts a new one in MS milliseconds. */
static void retry_in(struct link *l, long ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	/* No socket yet when the connect failed at once. */
	if (l->rd)
		event_free(l->rd);
	if (l->wr)
		event_free(l->wr);
	l->rd = l->wr = NULL;
	l->fd = -1;
	ssh_disconnect(l->s);
	ssh_free(l->s);
	new_session(l);
	if (l->config_error[0])
		tv = (struct timeval){ 0 };
	event_add(l->kick, &tv);
}

/* A handshake the server dropped: again after a backoff with jitter. */
static void retry_later(struct link *l)
{
	long ms = RETRY_BASE_MS << l->attempts;

	ms += random() % (ms + 1);
	rlog(l->ctx, 1, "%s: handshake dropped (%s); retrying in %ld ms", l->key->host, ssh_get_error(l->s),
	     ms);
	l->attempts++;
	retry_in(l, ms);
}

/*
 * A connect refused (or unreachable) while ConnectionAttempts allows
 * another: again in a second, as ssh does, with a fresh ConnectTimeout.
 */
static int retry_connect(struct link *l)
{
	const char *e = ssh_get_error(l->s);

	if (l->tries + 1 >= l->so.connection_attempts || strstr(e, "resolve") ||
	    (!strstr(e, "refused") && !strstr(e, "unreachable") && !strstr(e, "No route")))
		return 0;
	l->tries++;
	rlog(l->ctx, 1, "%s: cannot connect (%s); attempt %d of %d in 1 s (ConnectionAttempts)", l->key->host,
	     e, l->tries + 1, l->so.connection_attempts);
	evtimer_del(l->deadline);
	l->attempts = 0; /* on_kick() arms the deadline again */
	retry_in(l, 1000);
	return 1;
}

/* What a state's step returns. */
enum {
	ST_FAILED = -1, /* L failed (its owner was told) or was stopped */
	ST_WAIT = 0, /* for the next socket event */
	ST_NEXT = 1 /* the next state follows at once */
};

/*
 * EMFILE or ENFILE when the relay itself is out of file descriptors, else
 * 0.  libssh says only "Couldn't apply options" or "Failed to create
 * socket" then, so ERR (errno right after its failure) is looked at, and
 * one fd is tried, since libssh may have closed its own by now.
 */
static int out_of_fds(int err)
{
	int fd;

	if (err == EMFILE || err == ENFILE)
		return err;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno == EMFILE || errno == ENFILE ? errno : 0;
}

static int st_connecting(struct link *l)
{
	char msg[1024];
	int rc, err;

	errno = 0;
	rc = ssh_connect(l->s);
	err = errno;
	watch_socket(l);
	if (rc == SSH_AGAIN)
		return ST_WAIT;
	if (rc != SSH_OK && (err = out_of_fds(err)) != 0) {
		link_fail(l, CPREMOTE_ECONNECT,
			  "%s: cannot connect: the relay is out of file descriptors (%s); end some "
			  "children or raise its limit (ulimit -n)",
			  l->key->host, strerror(err));
		return ST_FAILED;
	}
	if (rc != SSH_OK) {
		if (retry_connect(l))
			return ST_FAILED;
		if (handshake_dropped(l) && !session_error_is_final(l->s) &&
		    l->attempts + 1 < HANDSHAKE_ATTEMPTS) {
			retry_later(l);
			return ST_FAILED;
		}
		link_fail(l, CPREMOTE_ECONNECT, "%s: cannot connect: %s%s", l->key->host,
			  session_error_message(l->s), l->attempts || l->tries ? " (after retries)" : "");
		return ST_FAILED;
	}
	rc = session_check_host_key(l->s, l->key->host, &l->so.hk, msg, sizeof msg);
	if (rc != 0) {
		link_fail(l, rc, "%s", msg);
		return ST_FAILED;
	}
	l->state = L_AUTH;
	return ST_NEXT;
}

/* A new session channel for the exec, opened by the next state. */
static int new_channel(struct link *l)
{
	l->ch = ssh_channel_new(l->s);
	if (!l->ch) {
		link_fail(l, CPREMOTE_ECONNECT, "%s: %s", l->key->host, ssh_get_error(l->s));
		return ST_FAILED;
	}
	memset(&l->data_cb, 0, sizeof l->data_cb);
	l->data_cb.userdata = l;
	l->data_cb.channel_data_function = on_channel_data;
	ssh_callbacks_init(&l->data_cb);
	ssh_set_channel_callbacks(l->ch, &l->data_cb);
	l->state = L_OPEN;
	l->env_i = 0;
	return ST_NEXT;
}

static int st_auth(struct link *l)
{
	int rc = ssh_userauth_publickey_auto(l->s, NULL, NULL);

	if (rc == SSH_AUTH_AGAIN)
		return ST_WAIT;
	if (rc != SSH_AUTH_SUCCESS) {
		char *user = NULL;

		ssh_options_get(l->s, SSH_OPTIONS_USER, &user);
		link_fail(l, CPREMOTE_EAUTH,
			  "%s: authentication failed for user %s (publickey): no key was accepted%s%s",
			  l->key->host, user ? user : "?", rc == SSH_AUTH_ERROR ? ": " : "",
			  rc == SSH_AUTH_ERROR ? ssh_get_error(l->s) : "");
		ssh_string_free_char(user);
		return ST_FAILED;
	}
	return new_channel(l);
}

/* The end of a libssh call's step: wait on SSH_AGAIN, fail with CODE on an error (WHAT it was), else go to NEXT. */
static int call_done(struct link *l, int rc, enum link_state next, int code, const char *what)
{
	if (rc == SSH_AGAIN)
		return ST_WAIT;
	if (rc != SSH_OK) {
		link_fail(l, code, "%s: %s: %s", l->key->host, what, ssh_get_error(l->s));
		return ST_FAILED;
	}
	l->state = next;
	return ST_NEXT;
}

static int st_open(struct link *l)
{
	return call_done(l, ssh_channel_open_session(l->ch), L_ENV, CPREMOTE_ECONNECT,
			 "cannot open a session");
}

/*
 * SendEnv and SetEnv: one env request per variable.  sshd refuses the
 * names its AcceptEnv does not list; ssh goes on then, and so does this.
 */
static int st_env(struct link *l)
{
	char name[256];

	for (; l->so.env && l->so.env[l->env_i]; l->env_i++) {
		const char *e = l->so.env[l->env_i];
		size_t n = strcspn(e, "=");
		int rc;

		if (n >= sizeof name)
			continue;
		memcpy(name, e, n);
		name[n] = '\0';
		rc = ssh_channel_request_env(l->ch, name, e + n + 1);
		if (rc == SSH_AGAIN)
			return ST_WAIT;
		if (rc != SSH_OK)
			rlog(l->ctx, 1, "%s: the server did not accept the variable %s (AcceptEnv)",
			     l->key->host, name);
	}
	l->state = L_EXEC;
	return ST_NEXT;
}

static int st_exec(struct link *l)
{
	int rc = call_done(l, ssh_channel_request_exec(l->ch, l->command), L_RUNNING, CPREMOTE_EHELPER,
			   "cannot run the helper");

	if (rc != ST_NEXT)
		return rc;
	l->ops->on_exec(l->arg);
	return l->state == L_RUNNING ? ST_NEXT : ST_FAILED;
}

static int st_running(struct link *l)
{
	return l->ops->on_io(l->arg) < 0 ? ST_FAILED : ST_WAIT;
}

typedef int state_fn(struct link *l);

static state_fn *const states[] = {
	[L_CONNECTING] = st_connecting,
	[L_AUTH] = st_auth,
	[L_OPEN] = st_open,
	[L_ENV] = st_env,
	[L_EXEC] = st_exec,
	[L_RUNNING] = st_running,
};

void link_step(struct link *l)
{
	int r = ST_NEXT;

	/* Each state hands over to the next at once when it completes without waiting. */
	while (r == ST_NEXT && l->state != L_STOPPED)
		r = states[l->state](l);
	if (r == ST_WAIT)
		rearm(l);
}

/* Starts the link from the loop: failures are then reported to attached children. */
static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct link *l = arg;
	struct timeval tv = { .tv_sec = l->so.handshake_timeout_s };
	char msg[512];

	if (l->config_error[0]) {
		link_fail(l, CPREMOTE_EINVAL, "%s: %s", l->key->host, l->config_error);
		return;
	}
	if (session_resolve(l->s, &l->so, msg, sizeof msg) < 0) {
		link_fail(l, CPREMOTE_ECONNECT, "%s: cannot connect: %s", l->key->host, msg);
		return;
	}
	if (l->attempts == 0)
		evtimer_add(l->deadline, &tv); /* one deadline for every attempt */
	link_step(l);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct link *l = arg;

	link_fail(l, CPREMOTE_ECONNECT, "%s: connection timed out during the SSH handshake", l->key->host);
}

int link_start(struct link *l, const struct relay_ctx *ctx, const struct conn_key *key, int verbosity,
	       const char *command, const struct link_ops *ops, void *arg)
{
	*l = (struct link){ .ctx = ctx,
			    .key = key,
			    .command = command,
			    .verbosity = verbosity,
			    .ops = ops,
			    .arg = arg,
			    .fd = -1 };
	l->so = session_opts_default();
	l->kick = event_new(ctx->base, -1, 0, on_kick, l);
	l->deadline = evtimer_new(ctx->base, on_deadline, l);
	if (!l->kick || !l->deadline)
		return -ENOMEM;
	new_session(l);
	if (!l->s)
		return -ENOMEM;
	event_active(l->kick, 0, 0);
	return 0;
}

void link_want_write(struct link *l)
{
	if (l->state == L_RUNNING && l->wr)
		event_active(l->wr, EV_WRITE, 0);
}

int link_running(const struct link *l)
{
	return l->state == L_RUNNING;
}

void link_handshake_done(struct link *l)
{
	evtimer_del(l->deadline);
}

/* L's events, to stop or free them all. */
#define LINK_EVENTS(l)                                         \
	{                                                      \
		&(l)->rd, &(l)->wr, &(l)->kick, &(l)->deadline \
	}

void link_stop(struct link *l)
{
	struct event **evs[] = LINK_EVENTS(l);

	l->state = L_STOPPED;
	for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
		if (*evs[i])
			event_del(*evs[i]);
}

void link_free(struct link *l)
{
	struct event **evs[] = LINK_EVENTS(l);

	for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
		if (*evs[i])
			event_free(*evs[i]);
	if (l->ch) {
		/* Closing the channel ends the helper's stdin: it ends its children. */
		ssh_channel_close(l->ch);
		ssh_channel_free(l->ch);
	}
	session_opts_free(&l->so);
	if (l->s) {
		ssh_disconnect(l->s);
		ssh_free(l->s);
	}
	memset(l, 0, sizeof *l);
	l->fd = -1;
}
