/*
 * conn.c — one SSH connection per destination, running one remote helper
 * that serves every child of the caller there.  libssh is driven without
 * blocking from the relay's libevent loop: a small state machine advanced
 * on every socket event, asking ssh_get_poll_flags() what to wait for.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libssh/libssh.h>

#include "bootstrap.h"
#include "cpremote.h"
#include "relay.h"
#include "session.h"
#include "tail.h"

#define HANDSHAKE_TIMEOUT_S 30
#define IDLE_CLOSE_S 2
#define KEEPALIVE_INTERVAL_S 5
#define KEEPALIVE_COUNT 3
#define HANDSHAKE_ATTEMPTS 6 /* sshd's MaxStartups drops handshakes at random under load */
#define RETRY_BASE_MS 100
#define STDERR_TAIL 1024

/* K_UPLOAD: the host had no helper; it is being installed over a second channel. */
enum conn_state {
	K_CONNECTING,
	K_AUTH,
	K_OPEN,
	K_EXEC,
	K_HELLO,
	K_UPLOAD,
	K_READY,
	K_DEAD
};

struct conn {
	TAILQ_ENTRY(conn) link;
	struct dest dest;
	ssh_session s;
	ssh_channel ch;
	enum conn_state state;
	int fd;
	struct event *rd, *wr, *timer, *kick;
	char config_error[512];
	struct cpr_buf in, out;
	char stderr_tail[STDERR_TAIL + 1];
	size_t stderr_len;
	struct rchild **kids;
	size_t nkids, capkids;
	uint32_t next_id;
	struct session_opts so;
	/* Keepalive: a frozen link shows as silence, not as an error. */
	struct event *keepalive;
	int missed;
	int heard; /* something arrived since the last keepalive tick */
	uint32_t ping_cookie;
	int attempts; /* handshakes dropped by the server so far */
	/* Zero-install (bootstrap.h): no helper path given, the run stub finds or asks for it. */
	int bootstrap;
	int no_upload; /* --no-upload: a missing helper is an error */
	int installed; /* uploaded once on this connection: not again */
	uint32_t resend_below; /* children whose SPAWN went to the stub that asked for the helper */
	struct upload up;
};

static TAILQ_HEAD(, conn) conns = TAILQ_HEAD_INITIALIZER(conns);

static void conn_step(struct conn *k);
static void conn_free(struct conn *k);

void dest_free(struct dest *d)
{
	free(d->host);
	free(d->user);
	free(d->identity);
	free(d->config);
	free(d->helper);
	if (d->options)
		for (char **o = d->options; *o; o++)
			free(*o);
	free(d->options);
	cpr_buf_free(&d->key);
	memset(d, 0, sizeof *d);
}

/* Fails every child with CODE and a message, then frees the connection. */
static void conn_fail(struct conn *k, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void conn_fail(struct conn *k, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	relay_log(1, "%s", msg);
	if (k->state == K_READY && code != CPREMOTE_EPROTO)
		code = CPREMOTE_ECONNLOST;
	k->state = K_DEAD;
	/* Each child detaches itself, so take them from the end. */
	while (k->nkids > 0)
		rchild_on_conn_lost(k->kids[k->nkids - 1], code, msg);
	conn_free(k);
}

/* The helper's stderr: kept (its tail) for error messages, shown with -v. */
static void keep_stderr(struct conn *k, const char *p, size_t n)
{
	relay_keep_tail(k->stderr_tail, STDERR_TAIL, &k->stderr_len, p, n);
	relay_log(1, "%s: helper: %.*s", k->dest.host, (int)n, p);
}

/* Takes whatever the helper (or the remote shell) wrote to stderr. */
static void drain_stderr(struct conn *k)
{
	char buf[4096];
	int n;

	while ((n = ssh_channel_read_nonblocking(k->ch, buf, sizeof buf, 1)) > 0)
		keep_stderr(k, buf, (size_t)n);
}

/* The last line the helper (or the remote shell) printed, for a message. */
static const char *stderr_last_line(struct conn *k)
{
	char *end = k->stderr_tail + k->stderr_len;

	while (end > k->stderr_tail && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	char *nl = strrchr(k->stderr_tail, '\n');
	return nl ? nl + 1 : k->stderr_tail;
}

/* The fixed exec string: the helper, quoted for any POSIX-like login shell. */
static char *helper_command(const char *helper)
{
	size_t n = strlen(helper);
	char *cmd = malloc(4 * n + 16), *p;

	if (!cmd)
		return NULL;
	p = cmd + sprintf(cmd, "exec '");
	for (const char *h = helper; *h; h++) {
		if (*h == '\'')
			p += sprintf(p, "'\\''");
		else
			*p++ = *h;
	}
	strcpy(p, "'");
	return cmd;
}

/* The exec string: the run stub, or the helper the caller named. */
static char *exec_command(struct conn *k)
{
	const char *stub;

	if (!k->bootstrap)
		return helper_command(k->dest.helper);
	stub = bootstrap_run_command();
	return stub ? strdup(stub) : NULL;
}

/*
 * The run stub found no usable helper (BS_NEED) or none for the host's
 * architecture (BS_NOARCH).  Either fails K, or drops the stub's channel
 * and starts the upload; the SPAWN frames already sent are sent again to
 * the helper that follows.  Returns 0 (upload started) or -1 (K failed).
 */
static int on_stub_marker(struct conn *k, enum bootstrap_marker m, const char *arch)
{
	const struct helper_blob *b = m == BS_NEED ? bootstrap_blob(arch) : NULL;

	if (!b) {
		conn_fail(k, CPREMOTE_EHELPER,
			  "%s: no cpremote-helper for this host's architecture '%s' (this relay carries: "
			  "%s); "
			  "build one for it and use --helper PATH",
			  k->dest.host, arch, bootstrap_arches());
		return -1;
	}
	if (k->installed) {
		conn_fail(k, CPREMOTE_EHELPER,
			  "%s: the helper was installed as %s, but the host does not run it", k->dest.host,
			  k->up.path);
		return -1;
	}
	if (k->no_upload) {
		conn_fail(k, CPREMOTE_EHELPER,
			  "%s: cpremote-helper is not installed there and uploading is off (--no-upload): "
			  "install "
			  "it as ~/.cache/cpremote/cpremote-helper-%d-%s (mode 700), or use --helper PATH",
			  k->dest.host, CPR_VERSION, b->sha256);
		return -1;
	}
	relay_log(1, "%s: no usable helper there; installing the one for %s", k->dest.host, arch);
	ssh_channel_close(k->ch);
	ssh_channel_free(k->ch);
	k->ch = NULL;
	cpr_buf_consume(&k->in, cpr_buf_len(&k->in));
	cpr_buf_consume(&k->out, cpr_buf_len(&k->out));
	k->resend_below = k->next_id;
	if (upload_start(&k->up, k->s, b) < 0) {
		conn_fail(k, CPREMOTE_EHELPER, "%s: out of memory", k->dest.host);
		return -1;
	}
	k->state = K_UPLOAD;
	/* Run from the loop: the caller is still reading the old channel. */
	event_active(k->wr, EV_WRITE, 0);
	return 0;
}

/*
 * The index of child ID in K's children, or -1.  Ids are handed out in
 * increasing order and the array keeps that order, so every frame costs a
 * binary search, not a scan of the (maybe thousand) children.
 */
static ssize_t find_kid(const struct conn *k, uint32_t id)
{
	size_t lo = 0, hi = k->nkids;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t m = rchild_id(k->kids[mid]);

		if (m == id)
			return (ssize_t)mid;
		if (m < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Routes the helper's frames to the children.  Returns 0 or -1 (K failed). */
static int dispatch_frames(struct conn *k)
{
	for (;;) {
		struct cpr_header h;
		const uint8_t *payload;
		ssize_t n = cpr_frame_next(cpr_buf_peek(&k->in), cpr_buf_len(&k->in), &h, &payload);

		if (n == 0)
			return 0;
		if (n < 0) {
			conn_fail(k, CPREMOTE_EPROTO,
				  "%s: protocol violation by the helper (bad frame header)", k->dest.host);
			return -1;
		}
		ssize_t i = find_kid(k, h.child);

		if (i >= 0)
			rchild_on_frame(k->kids[i], &h, payload);
		cpr_buf_consume(&k->in, (size_t)n);
	}
}

/* Waits for the helper's hello among whatever the login shell printed.  Returns 0 or -1. */
static int find_hello(struct conn *k)
{
	uint8_t version;
	uint32_t caps;
	ssize_t n = cpr_hello_find(cpr_buf_peek(&k->in), cpr_buf_len(&k->in), &version, &caps);
	char arch[64];
	enum bootstrap_marker m;

	if (k->bootstrap && n == 0 &&
	    (m = bootstrap_scan(cpr_buf_peek(&k->in), cpr_buf_len(&k->in), arch, sizeof arch)) != BS_NONE)
		return on_stub_marker(k, m, arch);
	if (n == 0)
		return 0;
	if (n < 0) {
		conn_fail(k, CPREMOTE_EHELPER, "%s: the helper did not answer (only unexpected output)",
			  k->dest.host);
		return -1;
	}
	if (version != CPR_VERSION) {
		conn_fail(k, CPREMOTE_EHELPER,
			  "%s: the helper '%s' speaks protocol version %u, this relay %u: install the "
			  "cpremote-helper of this version there, or leave --helper out so that the right "
			  "one is uploaded",
			  k->dest.host, k->dest.helper, version, CPR_VERSION);
		return -1;
	}
	cpr_buf_consume(&k->in, (size_t)n);
	k->state = K_READY;
	evtimer_del(k->timer); /* the handshake is over */
	if (k->nkids == 0) {
		/* Every child left during the handshake: idle from now on. */
		struct timeval idle = { .tv_sec = k->so.idle_close_s };

		evtimer_add(k->timer, &idle);
	}
	if (k->so.keepalive_s > 0) {
		struct timeval tv = { .tv_sec = k->so.keepalive_s };
		evtimer_add(k->keepalive, &tv);
	}
	relay_log(1, "%s: helper ready", k->dest.host);
	return 0;
}

/* Writes queued frames into the channel as far as the SSH window allows.  Returns bytes written or -1. */
static ssize_t pump_out(struct conn *k)
{
	ssize_t total = 0;

	while (cpr_buf_len(&k->out) > 0) {
		int n = ssh_channel_write(k->ch, cpr_buf_peek(&k->out), (uint32_t)cpr_buf_len(&k->out));
		if (n < 0) {
			conn_fail(k, CPREMOTE_ECONNLOST, "%s: connection lost: %s", k->dest.host,
				  ssh_get_error(k->s));
			return -1;
		}
		if (n == 0)
			break; /* the SSH window is full: a window adjust will come */
		cpr_buf_consume(&k->out, (size_t)n);
		total += n;
	}
	return total;
}

/* Takes what the helper sent (frames and stderr).  Returns bytes read or -1 (K failed). */
static ssize_t pump_in(struct conn *k)
{
	static uint8_t buf[64 * 1024];
	ssize_t total = 0;
	int n;

	/* Once the helper runs it writes to stderr only to complain: read at keepalive ticks. */
	if (k->state != K_READY)
		drain_stderr(k);
	while ((n = ssh_channel_read_nonblocking(k->ch, buf, sizeof buf, 0)) != 0) {
		if (n < 0) {
			const char *why;

			drain_stderr(k);
			why = stderr_last_line(k);
			if (k->state != K_READY)
				conn_fail(k, CPREMOTE_EHELPER, "%s: could not start the helper '%s'%s%s",
					  k->dest.host, k->dest.helper, *why ? ": " : "", why);
			else
				conn_fail(k, CPREMOTE_ECONNLOST, "%s: connection lost%s%s", k->dest.host,
					  *why ? ": " : "", why);
			return -1;
		}
		total += n;
		k->heard = 1;
		/* Frames are taken out as they arrive, so this holds at most one frame. */
		if (cpr_buf_append(&k->in, buf, (size_t)n) < 0) {
			conn_fail(k, CPREMOTE_EPROTO, "%s: the helper sent an oversized frame", k->dest.host);
			return -1;
		}
		if (k->state == K_HELLO && find_hello(k) < 0)
			return -1;
		if (k->state == K_UPLOAD)
			return 0; /* that channel is gone */
		if (k->state == K_READY && dispatch_frames(k) < 0)
			return -1;
	}
	return total;
}

/*
 * Moves bytes both ways.  Reading processes incoming packets, among them
 * SSH window adjusts that carry no data, so writing is tried again while
 * the window has room.  (Frames queued by what was read wake us again
 * through conn_send.)  Returns 0 or -1.
 */
static int pump(struct conn *k)
{
	do {
		if (pump_out(k) < 0 || pump_in(k) < 0)
			return -1;
		if (k->state == K_UPLOAD)
			return 0;
	} while (cpr_buf_len(&k->out) > 0 && ssh_channel_window_size(k->ch) > 0);
	return 0;
}

/* Registers the socket with the loop once libssh has one. */
static void watch_socket(struct conn *k);

/* Arms the write event when libssh has output waiting. */
static void rearm(struct conn *k)
{
	if (k->fd < 0)
		return;
	if (ssh_get_poll_flags(k->s) & SSH_WRITE_PENDING)
		event_add(k->wr, NULL);
	else
		event_del(k->wr);
}

static void on_socket(evutil_socket_t fd, short what, void *arg)
{
	conn_step(arg);
}

/*
 * Queues a PING.  It carries how long a silence means a lost link, so that
 * the helper can end its children by itself when the link freezes.
 */
static void queue_ping(struct conn *k)
{
	uint8_t ping[8];

	cpr_put_u32(ping, ++k->ping_cookie);
	cpr_put_u32(ping + 4, (uint32_t)(k->so.keepalive_s * (k->so.keepalive_count + 1)));
	cpr_frame_append(&k->out, CPR_PING, 0, 0, ping, sizeof ping);
}

/*
 * Every interval: a PING, answered by the helper with a PONG.  After
 * keepalive_count silent intervals in a row the link is declared lost, so
 * a frozen link is found within interval * (count + 1) seconds.
 */
static void on_keepalive(evutil_socket_t fd, short what, void *arg)
{
	struct conn *k = arg;
	struct timeval tv = { .tv_sec = k->so.keepalive_s };

	drain_stderr(k);
	if (k->heard)
		k->missed = 0;
	else if (k->nkids > 0 && ++k->missed >= k->so.keepalive_count) {
		conn_fail(k, CPREMOTE_ECONNLOST, "%s: connection lost: no answer for %d s (keepalive)",
			  k->dest.host, k->missed * k->so.keepalive_s);
		return;
	}
	k->heard = 0;
	evtimer_add(k->keepalive, &tv); /* before conn_step(), which may free k */
	if (k->nkids > 0) {
		queue_ping(k);
		/* A frozen link may leave the write event armed forever: pump now. */
		conn_step(k);
	}
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *k = arg;

	if (k->state == K_READY && k->nkids == 0) {
		relay_log(1, "%s: idle, closing", k->dest.host);
		conn_free(k);
	} else if (k->state == K_UPLOAD) {
		conn_fail(k, CPREMOTE_EHELPER, "%s: timed out while installing the helper", k->dest.host);
	} else if (k->state != K_READY) {
		conn_fail(k, CPREMOTE_ECONNECT, "%s: connection timed out during the SSH handshake",
			  k->dest.host);
	}
}

static void watch_socket(struct conn *k)
{
	if (k->fd >= 0)
		return;
	k->fd = ssh_get_fd(k->s);
	if (k->fd < 0)
		return;
	k->rd = event_new(relay_base, k->fd, EV_READ | EV_PERSIST, on_socket, k);
	k->wr = event_new(relay_base, k->fd, EV_WRITE, on_socket, k);
	event_add(k->rd, NULL);
}

/*
 * Whether the server closed the connection during the handshake, as sshd
 * does beyond MaxStartups; a refused or unresolvable host is final.
 */
static int handshake_dropped(struct conn *k)
{
	const char *e = ssh_get_error(k->s);

	return k->fd >= 0 && !strstr(e, "refused") && !strstr(e, "resolve") && !strstr(e, "unreachable") &&
	       !strstr(e, "No route");
}

/* Forgets the failed session and starts a new one after a backoff with jitter. */
static void retry_later(struct conn *k)
{
	long ms = RETRY_BASE_MS << k->attempts;
	struct timeval tv;

	ms += random() % (ms + 1);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	relay_log(1, "%s: handshake dropped (%s); retrying in %ld ms", k->dest.host, ssh_get_error(k->s), ms);
	k->attempts++;
	event_free(k->rd);
	event_free(k->wr);
	k->rd = k->wr = NULL;
	k->fd = -1;
	ssh_disconnect(k->s);
	ssh_free(k->s);
	k->s = ssh_new();
	if (!k->s || session_configure(k->s, &k->dest, &k->so, k->config_error, sizeof k->config_error) < 0) {
		if (!k->config_error[0])
			snprintf(k->config_error, sizeof k->config_error, "out of memory");
		tv = (struct timeval){ 0 };
	}
	event_add(k->kick, &tv);
}

/*
 * Drives the upload; once the helper is installed, runs the stub again on
 * a new channel, from K_OPEN.  Returns 0, or -1 when K failed or moved on.
 */
static int step_upload(struct conn *k)
{
	char msg[700];
	enum upload_result r;
	uint8_t hello[CPR_HELLO_LEN];

	/* Logged only when bytes go: the tests count uploads by this line. */
	while ((r = upload_step(&k->up, msg, sizeof msg)) == UPLOAD_SENDING)
		relay_log(1, "%s: uploading %zu bytes", k->dest.host, k->up.blob->len);
	if (r == UPLOAD_AGAIN)
		return 0;
	if (r == UPLOAD_FAILED) {
		conn_fail(k, CPREMOTE_EHELPER, "%s: cannot install the helper: %s", k->dest.host, msg);
		return -1;
	}
	relay_log(1, "%s: helper %s as %s", k->dest.host,
		  k->up.by_other ? "installed meanwhile by another spawn" : "installed", k->up.path);
	k->installed = 1;
	ssh_channel_close(k->up.ch);
	ssh_channel_free(k->up.ch);
	k->up.ch = NULL;
	k->ch = ssh_channel_new(k->s);
	if (!k->ch) {
		conn_fail(k, CPREMOTE_ECONNECT, "%s: %s", k->dest.host, ssh_get_error(k->s));
		return -1;
	}
	cpr_buf_consume(&k->out, cpr_buf_len(&k->out));
	cpr_hello_encode(hello, CPR_CAP_REAPED);
	cpr_buf_append(&k->out, hello, sizeof hello);
	if (k->so.keepalive_s > 0)
		queue_ping(k);
	k->state = K_OPEN;
	conn_step(k);
	return -1;
}

/* Advances the handshake as far as it goes without blocking, then pumps. */
static void conn_step(struct conn *k)
{
	int rc;
	char *cmd, msg[1024];

	switch (k->state) {
	case K_CONNECTING:
		rc = ssh_connect(k->s);
		watch_socket(k);
		if (rc == SSH_AGAIN)
			break;
		if (rc != SSH_OK) {
			if (handshake_dropped(k) && !session_error_is_final(k->s) &&
			    k->attempts + 1 < HANDSHAKE_ATTEMPTS) {
				retry_later(k);
				return;
			}
			conn_fail(k, CPREMOTE_ECONNECT, "%s: cannot connect: %s%s", k->dest.host,
				  session_error_message(k->s), k->attempts ? " (after retries)" : "");
			return;
		}
		rc = session_check_host_key(k->s, k->dest.host, k->so.accept_new, msg, sizeof msg);
		if (rc != 0) {
			conn_fail(k, rc, "%s", msg);
			return;
		}
		k->state = K_AUTH;
		/* fall through */
	case K_AUTH:
		rc = ssh_userauth_publickey_auto(k->s, NULL, NULL);
		if (rc == SSH_AUTH_AGAIN)
			break;
		if (rc != SSH_AUTH_SUCCESS) {
			char *user = NULL;
			ssh_options_get(k->s, SSH_OPTIONS_USER, &user);
			conn_fail(k, CPREMOTE_EAUTH,
				  "%s: authentication failed for user %s (publickey): no key was "
				  "accepted%s%s",
				  k->dest.host, user ? user : "?", rc == SSH_AUTH_ERROR ? ": " : "",
				  rc == SSH_AUTH_ERROR ? ssh_get_error(k->s) : "");
			ssh_string_free_char(user);
			return;
		}
		k->ch = ssh_channel_new(k->s);
		if (!k->ch) {
			conn_fail(k, CPREMOTE_ECONNECT, "%s: %s", k->dest.host, ssh_get_error(k->s));
			return;
		}
		k->state = K_OPEN;
		/* fall through */
	case K_OPEN:
		rc = ssh_channel_open_session(k->ch);
		if (rc == SSH_AGAIN)
			break;
		if (rc != SSH_OK) {
			conn_fail(k, CPREMOTE_ECONNECT, "%s: cannot open a session: %s", k->dest.host,
				  ssh_get_error(k->s));
			return;
		}
		k->state = K_EXEC;
		/* fall through */
	case K_EXEC:
		cmd = exec_command(k);
		rc = cmd ? ssh_channel_request_exec(k->ch, cmd) : SSH_ERROR;
		free(cmd);
		if (rc == SSH_AGAIN)
			break;
		if (rc != SSH_OK) {
			conn_fail(k, CPREMOTE_EHELPER, "%s: cannot run the helper: %s", k->dest.host,
				  ssh_get_error(k->s));
			return;
		}
		k->state = K_HELLO;
		/*
		 * Our hello is already queued; the children's SPAWN frames go
		 * right behind it, before the helper's hello arrives, so a
		 * spawn on a new connection costs no extra round trip.  Those
		 * the run stub swallowed before an upload go again first.
		 */
		for (size_t i = 0; i < k->nkids; i++)
			if (rchild_id(k->kids[i]) < k->resend_below)
				conn_send(k, CPR_SPAWN, 0, rchild_id(k->kids[i]),
					  cpr_buf_peek(rchild_spawn_payload(k->kids[i])),
					  (uint32_t)cpr_buf_len(rchild_spawn_payload(k->kids[i])));
		k->resend_below = 0;
		for (size_t i = 0; i < k->nkids; i++)
			rchild_on_conn_ready(k->kids[i]);
		/* fall through */
	case K_HELLO:
	case K_READY:
		if (pump(k) < 0)
			return;
		break;
	case K_UPLOAD:
		if (step_upload(k) < 0)
			return;
		break;
	case K_DEAD:
		return;
	}
	rearm(k);
}

/* Starts the connection from the loop: failures are then reported to attached children. */
static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct conn *k = arg;
	struct timeval tv = { .tv_sec = k->so.handshake_timeout_s };

	if (k->config_error[0]) {
		conn_fail(k, CPREMOTE_EINVAL, "%s: %s", k->dest.host, k->config_error);
		return;
	}
	if (k->attempts == 0)
		evtimer_add(k->timer, &tv); /* one deadline for every attempt */
	conn_step(k);
}

/* Whether the caller refused uploads: CPREMOTE_NO_UPLOAD in its request, or in the environment. */
static int want_no_upload(const struct dest *d)
{
	struct cpr_reader r = { cpr_buf_peek(&d->key), cpr_buf_len(&d->key) };
	const char *env = getenv("CPREMOTE_NO_UPLOAD");
	const uint8_t *v;
	uint32_t len;
	uint8_t tag;

	while (cpr_field_next(&r, &tag, &v, &len) == 1)
		if (tag == CPR_F_NO_UPLOAD && len == 4 && cpr_get_u32(v) != 0)
			return 1;
	return env && *env && strcmp(env, "0") != 0;
}

static struct conn *conn_new(struct dest *d)
{
	struct conn *k = calloc(1, sizeof *k);
	uint8_t hello[CPR_HELLO_LEN];

	if (!k)
		return NULL;
	k->dest = *d;
	memset(d, 0, sizeof *d);
	if (!k->dest.helper) {
		const char *env = getenv("CPREMOTE_HELPER");
		/* No helper named: the run stub finds it in the host's cache, or asks for it. */
		k->bootstrap = !env || !*env;
		k->dest.helper = strdup(k->bootstrap ? "cpremote-helper" : env);
	}
	k->no_upload = want_no_upload(&k->dest);
	k->fd = -1;
	k->next_id = 1;
	k->so.handshake_timeout_s = HANDSHAKE_TIMEOUT_S;
	k->so.keepalive_s = KEEPALIVE_INTERVAL_S;
	k->so.idle_close_s = IDLE_CLOSE_S;
	k->so.keepalive_count = KEEPALIVE_COUNT;
	/* Frames are taken out as they arrive: one frame plus one read at most. */
	k->in.limit = CPR_HEADER_LEN + CPR_MAX_SPAWN + 64 * 1024;
	cpr_hello_encode(hello, CPR_CAP_REAPED);
	cpr_buf_append(&k->out, hello, sizeof hello);
	k->timer = evtimer_new(relay_base, on_timer, k);
	k->kick = event_new(relay_base, -1, 0, on_kick, k);
	k->keepalive = evtimer_new(relay_base, on_keepalive, k);
	k->s = ssh_new();
	k->state = K_CONNECTING;
	TAILQ_INSERT_TAIL(&conns, k, link);
	if (!k->s || !k->timer || !k->kick || !k->keepalive || !k->dest.helper) {
		conn_free(k);
		return NULL;
	}
	if (session_configure(k->s, &k->dest, &k->so, k->config_error, sizeof k->config_error) < 0 &&
	    !k->config_error[0])
		snprintf(k->config_error, sizeof k->config_error, "bad options");
	/* Right behind the hello: the helper knows the silence limit from its first child on. */
	if (k->so.keepalive_s > 0)
		queue_ping(k);
	event_active(k->kick, 0, 0);
	relay_log(1, "%s: connecting", k->dest.host);
	return k;
}

struct conn *conn_attach(struct dest *d, struct rchild *c, uint32_t *id)
{
	struct conn *k;

	TAILQ_FOREACH(k, &conns, link)
	{
		if (k->state != K_DEAD && cpr_buf_len(&k->dest.key) == cpr_buf_len(&d->key) &&
		    memcmp(cpr_buf_peek(&k->dest.key), cpr_buf_peek(&d->key), cpr_buf_len(&d->key)) == 0)
			break;
	}
	if (k)
		dest_free(d);
	else if (!(k = conn_new(d)))
		return NULL;
	if (k->nkids == k->capkids) {
		size_t cap = k->capkids ? 2 * k->capkids : 8;
		struct rchild **kids = realloc(k->kids, cap * sizeof *kids);
		if (!kids)
			return NULL;
		k->kids = kids;
		k->capkids = cap;
	}
	k->kids[k->nkids++] = c;
	*id = k->next_id++;
	if (k->state == K_READY)
		evtimer_del(k->timer); /* no longer idle */
	return k;
}

int conn_can_send(const struct conn *k)
{
	return k->state == K_HELLO || k->state == K_READY;
}

void conn_detach(struct conn *k, struct rchild *c)
{
	ssize_t i = find_kid(k, rchild_id(c));

	/* Keeps the order find_kid() relies on (the last one, as conn_fail takes them, costs nothing). */
	if (i >= 0 && k->kids[i] == c) {
		memmove(&k->kids[i], &k->kids[i + 1], (k->nkids - (size_t)i - 1) * sizeof *k->kids);
		k->nkids--;
	}
	if (k->nkids == 0 && k->state == K_READY) {
		struct timeval tv = { .tv_sec = k->so.idle_close_s };

		evtimer_add(k->timer, &tv);
	}
}

int conn_send(struct conn *k, uint8_t type, uint8_t stream, uint32_t child, const void *payload, uint32_t len)
{
	if (k->state == K_DEAD)
		return -1;
	if (cpr_frame_append(&k->out, type, stream, child, payload, len) < 0)
		return -1;
	/* Sent from the loop, so many frames of one turn go out together. */
	if (k->state == K_HELLO || k->state == K_READY)
		event_active(k->wr, EV_WRITE, 0);
	return 0;
}

int conn_send_u32(struct conn *k, uint8_t type, uint8_t stream, uint32_t child, uint32_t v)
{
	uint8_t p[4];

	cpr_put_u32(p, v);
	return conn_send(k, type, stream, child, p, sizeof p);
}

static void conn_free(struct conn *k)
{
	TAILQ_REMOVE(&conns, k, link);
	if (k->rd)
		event_free(k->rd);
	if (k->wr)
		event_free(k->wr);
	if (k->timer)
		event_free(k->timer);
	if (k->kick)
		event_free(k->kick);
	if (k->keepalive)
		event_free(k->keepalive);
	if (k->ch) {
		/* Closing the channel ends the helper's stdin: it ends its children. */
		ssh_channel_close(k->ch);
		ssh_channel_free(k->ch);
	}
	upload_free(&k->up);
	if (k->s) {
		ssh_disconnect(k->s);
		ssh_free(k->s);
	}
	cpr_buf_free(&k->in);
	cpr_buf_free(&k->out);
	dest_free(&k->dest);
	free(k->kids);
	free(k);
}

void conn_close_all(void)
{
	while (!TAILQ_EMPTY(&conns)) {
		struct conn *k = TAILQ_FIRST(&conns);
		k->state = K_DEAD;
		conn_free(k);
	}
}
