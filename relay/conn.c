/*
 * conn.c — the per-connection multiplexer (see conn.h).  A failed or idle
 * connection is only marked dead here; the sweep, run from the loop once
 * the current callbacks are over, frees it, so no callee ever frees the
 * object its caller is still using.
 *
 * Over 500 lines: routing, the hello, pumping and the bound on the queue
 * to the helper all work on the one struct conn and its buffers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "cpremote.h"
#include "conn.h"
#include "install.h"
#include "keepalive.h"
#include "carrier.h"
#include "sweep.h"
#include "tail.h"

/*
 * The queue to the helper (out) is bounded: what the children send is
 * bounded by their credits (at most CPR_WINDOW on each of channel and
 * stdin, since a CREDIT above the window is refused), and the relay's own
 * frames (CREDIT, SIGNAL, PING) are small.  A queue beyond
 * OUT_BASE + OUT_PER_KID per child (plus their SPAWN payloads) means the
 * helper stopped reading while it goes on sending; the connection fails
 * with CPREMOTE_EPROTO rather than growing.
 */
#define OUT_BASE (1024u * 1024)
#define OUT_PER_KID (2 * (CPR_WINDOW + CPR_HEADER_LEN * 64) + 64u * 1024)

/* One registered child: its id (the table is sorted by it), and how to reach it. */
struct kid {
	uint32_t id;
	void *child;
	const struct conn_child_ops *ops;
	const struct cpr_buf *spawn;
	uint8_t type; /* CPR_SPAWN, or CPR_CONNECT for a connection to a socket file */
};

struct conn {
	TAILQ_ENTRY(conn) entry;
	const struct relay_ctx *ctx;
	struct conn_key key;
	char *helper; /* what runs there: the named helper, or the stub's "cpremote-helper" */
	int no_upload; /* --no-upload, or CPREMOTE_NO_UPLOAD: a missing helper is an error */
	int bootstrap; /* the run stub runs: it finds the helper, or asks for it */
	char nonce[BOOTSTRAP_NONCE_LEN + 1]; /* the run stub's first line; starts the install line */
	char *command; /* the exec string */
	struct install up; /* the helper's upload over the stub's stream, while active */
	int installed; /* the helper was installed on this connection (up.path) */
	struct carrier link; /* libssh, or a command transport */
	struct keepalive ka;
	struct event *idle; /* ControlPersist: how long the connection outlives its last child */
	int ready; /* the helper's hello arrived */
	uint32_t helper_caps; /* from that hello: CPR_CAP_CONNECT, CPR_CAP_TTY */
	int dead; /* failed or closed: freed by the sweep */
	struct cpr_buf in, out;
	struct kid *kids;
	size_t nkids, capkids;
	uint32_t next_id;
	uint32_t resend_below; /* children whose SPAWN went to the stub that asked for the helper */
	size_t spawn_bytes; /* the SPAWN payloads of the children in the table */
	int overflow; /* out went over its bound: failed at the next pump */
};

static TAILQ_HEAD(, conn) conns = TAILQ_HEAD_INITIALIZER(conns);
static struct event *sweep_ev;

static void conn_free(struct conn *k)
{
	TAILQ_REMOVE(&conns, k, entry);
	keepalive_stop(&k->ka, 1);
	if (k->idle)
		event_free(k->idle);
	carrier_free(&k->link);
	cpr_buf_free(&k->in);
	cpr_buf_free(&k->out);
	conn_key_free(&k->key);
	install_free(&k->up);
	free(k->command);
	free(k->helper);
	free(k->kids);
	free(k);
}

/* Frees the connections marked dead; run from the loop, under no other callback. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct conn *k, *next;

	for (k = TAILQ_FIRST(&conns); k; k = next) {
		next = TAILQ_NEXT(k, entry);
		if (k->dead)
			conn_free(k);
	}
}

/* Marks K dead: no event of it fires again, and the sweep frees it after this loop turn. */
static void mark_dead(struct conn *k)
{
	k->dead = 1;
	carrier_stop(&k->link);
	keepalive_stop(&k->ka, 0);
	if (k->idle)
		evtimer_del(k->idle);
	(void)sweep_soon(&sweep_ev, k->ctx->base, on_sweep);
}

/* Fails every child with CODE and the message, and marks K dead.  Returns the code the children got. */
static int conn_fail(struct conn *k, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int conn_fail(struct conn *k, int code, const char *fmt, ...)
{
	char raw[1024], msg[1024];
	va_list ap;
	size_t n = k->nkids;

	if (k->dead)
		return CPREMOTE_ECONNLOST;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	/* The message may quote the server (libssh's errors, a disconnect reason): no control bytes. */
	relay_escape(msg, sizeof msg, raw, sizeof raw);
	rlog(k->ctx, 1, "%s", msg);
	if (k->ready && code != CPREMOTE_EPROTO)
		code = CPREMOTE_ECONNLOST;
	mark_dead(k);
	/* The table is emptied first: the children are told, and forget K. */
	k->nkids = 0;
	while (n > 0) {
		n--;
		k->kids[n].ops->on_lost(k->kids[n].child, code, msg);
	}
	return code;
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
		uint32_t m = k->kids[mid].id;

		if (m == id)
			return (ssize_t)mid;
		if (m < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Routes the helper's frames to the children.  Returns 0, or the code K failed with. */
static int dispatch_frames(struct conn *k)
{
	while (!k->dead) {
		struct cpr_header h;
		const uint8_t *payload;
		ssize_t n = cpr_frame_next(cpr_buf_peek(&k->in), cpr_buf_len(&k->in), &h, &payload);

		if (n == 0)
			return 0;
		if (n < 0) {
			return conn_fail(k, CPREMOTE_EPROTO,
					 "%s: protocol violation by the helper (bad frame header)",
					 k->key.host);
		}
		ssize_t i = find_kid(k, h.child);

		if (i >= 0)
			k->kids[i].ops->on_frame(k->kids[i].child, &h, payload);
		cpr_buf_consume(&k->in, (size_t)n);
	}
	return CPREMOTE_ECONNLOST;
}

/*
 * The run stub found no usable helper (BS_NEED) or none for the host's
 * architecture (BS_NOARCH); its marker line ends USED bytes into K->in.
 * Either fails K, or starts the upload on the same stream (the stub waits
 * for the install line); the SPAWN frames already sent, which the stub
 * skips, are sent again to the helper that follows.  Returns 0 (upload
 * started) or the code K failed with.
 */
static int on_stub_marker(struct conn *k, enum bootstrap_marker m, const char *arch, size_t used)
{
	struct install_state st = { k->key.host, k->installed, k->up.path, k->no_upload };
	const struct helper_blob *b;
	struct cpr_err e;
	int rc = install_plan(&st, m, arch, &b, &e);

	if (rc < 0) {
		return conn_fail(k, rc, "%s", e.msg);
	}
	rlog(k->ctx, 1, "%s: no usable helper there; installing the one for %s", k->key.host, arch);
	cpr_buf_consume(&k->in, used);
	/* What was not written yet never reaches the stub; the rest it skips. */
	cpr_buf_consume(&k->out, cpr_buf_len(&k->out));
	k->resend_below = k->next_id;
	if (install_start(&k->up, b, k->nonce) < 0) {
		return conn_fail(k, CPREMOTE_EHELPER, "%s: out of memory", k->key.host);
	}
	carrier_want_write(&k->link);
	return 0;
}

static void on_exec(void *arg);

/*
 * The install script's answers, while the upload runs: "send" lets the
 * helper's bytes go; "installed" or "ready" means the helper now runs on
 * the stream, and gets the hello and SPAWN frames as a new one would.
 */
static void on_install_output(struct conn *k)
{
	size_t used;
	int asked = k->up.asked;

	if (!install_answer(&k->up, cpr_buf_peek(&k->in), cpr_buf_len(&k->in), &used)) {
		cpr_buf_consume(&k->in, used);
		if (k->up.asked && !asked) {
			/* Logged once, when bytes go: the tests count uploads by this line. */
			rlog(k->ctx, 1, "%s: uploading %zu bytes", k->key.host, k->up.blob->len);
			carrier_want_write(&k->link);
		}
		return;
	}
	cpr_buf_consume(&k->in, used);
	k->installed = 1;
	rlog(k->ctx, 1, "%s: helper %s as %s", k->key.host,
	     k->up.by_other ? "installed meanwhile by another spawn" : "installed", k->up.path);
	on_exec(k);
}

/* The helper is ready: the handshake deadline is over, and K may be idle already. */
static void on_ready(struct conn *k)
{
	struct timeval idle = { .tv_sec = carrier_opts(&k->link)->idle_close_s };

	k->ready = 1;
	carrier_handshake_done(&k->link);
	if (k->nkids == 0)
		evtimer_add(k->idle, &idle); /* every child left during the handshake */
	keepalive_start(&k->ka);
	rlog(k->ctx, 1, "%s: helper ready", k->key.host);
	/* CONNECTs wait for the hello (conn_helper_caps()); on_ready may not detach, so the table holds still. */
	for (size_t i = 0; i < k->nkids; i++)
		if (k->kids[i].type == CPR_CONNECT)
			k->kids[i].ops->on_ready(k->kids[i].child);
}

/* Waits for the helper's hello among whatever the login shell printed.  Returns 0, or the code K failed with. */
static int find_hello(struct conn *k)
{
	uint8_t version;
	uint32_t caps;
	ssize_t n = cpr_hello_find(cpr_buf_peek(&k->in), cpr_buf_len(&k->in), &version, &caps);
	char arch[64];
	enum bootstrap_marker m;
	size_t used;

	if (k->up.active) {
		on_install_output(k);
		if (k->up.active || k->dead)
			return 0;
		n = cpr_hello_find(cpr_buf_peek(&k->in), cpr_buf_len(&k->in), &version, &caps);
	} else if (k->bootstrap && !k->installed && n == 0 &&
		   (m = bootstrap_scan(cpr_buf_peek(&k->in), cpr_buf_len(&k->in), arch, sizeof arch,
				       &used)) != BS_NONE) {
		return on_stub_marker(k, m, arch, used);
	}
	if (n == 0)
		return 0;
	if (n < 0) {
		return conn_fail(k, CPREMOTE_EHELPER,
				 "%s: the helper did not answer (only unexpected output)", k->key.host);
	}
	if (version != CPR_VERSION) {
		return conn_fail(k, CPREMOTE_EHELPER,
				 "%s: the helper '%s' speaks protocol version %u, this relay %u: install the "
				 "cpremote-helper of this version there, or leave --helper out so that the "
				 "right "
				 "one is uploaded",
				 k->key.host, k->helper, version, CPR_VERSION);
	}
	cpr_buf_consume(&k->in, (size_t)n);
	k->helper_caps = caps;
	on_ready(k);
	return 0;
}

/*
 * Whether bytes wait to be written: queued frames, or during an upload
 * its own.  What was read may have queued some (an upload's next step,
 * the hello after it): a write wish from inside the link's own step would
 * be dropped when it re-arms its events, so pump() loops instead.
 */
static int has_output(const struct conn *k)
{
	const uint8_t *p;

	return k->up.active ? install_next(&k->up, &p) > 0 : cpr_buf_len(&k->out) > 0;
}

/*
 * The channel failed: the helper never started, or the running one was
 * lost.  The far side's last stderr line says why, when there is one (a
 * write may fail before the read that would have found it: a tunnel
 * command that could not start), else WRITE_ERR (NULL on a read).
 * Returns the code.
 */
static int channel_failed(struct conn *k, const char *write_err)
{
	const char *why;
	char more[80] = "";

	carrier_drain_stderr(&k->link);
	why = carrier_stderr_line(&k->link);
	if (!*why && write_err)
		why = write_err;
	/* Only the tail was kept: say how much there was. */
	if (!k->link.is_cmd && k->link.ssh.stderr_total > LINK_STDERR_TAIL)
		snprintf(more, sizeof more, " (the end of %llu bytes on its stderr)",
			 (unsigned long long)k->link.ssh.stderr_total);
	if (k->up.active)
		return conn_fail(k, CPREMOTE_EHELPER, "%s: cannot install the helper: %s%s", k->key.host,
				 *why ? why : "the install script ended early", more);
	if (!k->ready)
		return conn_fail(k, CPREMOTE_EHELPER, "%s: could not start the helper '%s'%s%s%s",
				 k->key.host, k->helper, *why ? ": " : "", why, more);
	return conn_fail(k, CPREMOTE_ECONNLOST, "%s: connection lost%s%s%s", k->key.host, *why ? ": " : "",
			 why, more);
}

/* Writes queued frames into the channel as far as the SSH window allows.  Returns bytes written, or the code K failed with. */
static ssize_t pump_out(struct conn *k)
{
	ssize_t total = 0;
	const uint8_t *p;
	size_t len;

	/* During an upload only its bytes go: anything else would land in the helper's file. */
	while ((len = k->up.active ? install_next(&k->up, &p) : cpr_buf_len(&k->out)) > 0) {
		const char *why;
		int n;

		if (!k->up.active)
			p = cpr_buf_peek(&k->out);
		n = carrier_write(&k->link, p, len, &why);
		if (n < 0)
			return channel_failed(k, why);
		if (n == 0)
			break; /* the SSH window is full: a window adjust will come */
		if (k->up.active)
			install_wrote(&k->up, (size_t)n);
		else
			cpr_buf_consume(&k->out, (size_t)n);
		total += n;
	}
	return total;
}

/* Takes what the helper sent (frames and stderr).  Returns bytes read, or the code K failed with. */
static ssize_t pump_in(struct conn *k)
{
	static uint8_t buf[64 * 1024];
	ssize_t total = 0;
	int n, rc;

	/* Stderr needs no read here: each carrier takes it as it arrives. */
	while ((n = carrier_read(&k->link, buf, sizeof buf)) != 0) {
		if (n < 0)
			return channel_failed(k, NULL);
		total += n;
		keepalive_heard(&k->ka);
		/* Frames are taken out as they arrive, so this holds at most one frame. */
		if (cpr_buf_append(&k->in, buf, (size_t)n) < 0)
			return conn_fail(k, CPREMOTE_EPROTO, "%s: the helper sent an oversized frame",
					 k->key.host);
		if (!k->ready && (rc = find_hello(k)) < 0)
			return rc;
		if (!carrier_running(&k->link))
			return 0; /* that channel is gone: the upload runs */
		if (k->ready && (rc = dispatch_frames(k)) < 0)
			return rc;
	}
	return total;
}

/*
 * Moves bytes both ways (the link's on_io).  Reading processes incoming
 * packets, among them SSH window adjusts that carry no data, so writing
 * is tried again while the window has room.  (Frames queued by what was
 * read wake us again through conn_send.)  Returns 0, or the code K failed with.
 */
static int pump(void *arg)
{
	struct conn *k = arg;
	ssize_t rc;

	if (k->overflow) {
		return conn_fail(k, CPREMOTE_EPROTO,
				 "%s: protocol violation by the helper: it stopped reading (%zu bytes queued "
				 "for it)",
				 k->key.host, cpr_buf_len(&k->out));
	}
	do {
		if ((rc = pump_out(k)) < 0 || (rc = pump_in(k)) < 0)
			return (int)rc;
		if (!carrier_running(&k->link))
			return 0;
	} while (has_output(k) && carrier_room(&k->link));
	return 0;
}

/*
 * The exec channel is open (the link's on_exec).  Our hello goes first
 * (behind the run stub's nonce line when bootstrapping),
 * then a PING, so that the helper knows the silence limit from its first
 * child on; the children's SPAWN frames go right behind, before the
 * helper's hello arrives, so a spawn on a new connection costs no extra
 * round trip.  Those the run stub swallowed before an upload go again
 * first.
 */
static void on_exec(void *arg)
{
	struct conn *k = arg;
	uint8_t hello[CPR_HELLO_LEN];

	cpr_buf_consume(&k->out, cpr_buf_len(&k->out));
	/* The run stub reads its nonce first (a helper it installed runs after that line). */
	if (k->bootstrap && !k->installed) {
		cpr_buf_append(&k->out, k->nonce, BOOTSTRAP_NONCE_LEN);
		cpr_buf_append(&k->out, "\n", 1);
	}
	cpr_hello_encode(hello, CPR_CAP_REAPED);
	cpr_buf_append(&k->out, hello, sizeof hello);
	if (k->ka.interval_s > 0)
		keepalive_ping(&k->ka, &k->out);
	for (size_t i = 0; i < k->nkids; i++)
		/* A CONNECT is never sent before the hello, so never to the stub. */
		if (k->kids[i].id < k->resend_below && k->kids[i].type == CPR_SPAWN)
			conn_send(k, CPR_SPAWN, 0, k->kids[i].id, cpr_buf_peek(k->kids[i].spawn),
				  (uint32_t)cpr_buf_len(k->kids[i].spawn));
	k->resend_below = 0;
	/* The nonce and hello go out even when no SPAWN follows (only CONNECTs, which wait for the helper's hello). */
	carrier_want_write(&k->link);
	/* on_ready may not detach, so the table holds still. */
	for (size_t i = 0; i < k->nkids; i++)
		k->kids[i].ops->on_ready(k->kids[i].child);
}

static void on_link_fail(void *arg, int code, const char *msg)
{
	struct conn *k = arg;

	if (k->up.active)
		conn_fail(k, CPREMOTE_EHELPER, "%s (while installing the helper)", msg);
	else
		conn_fail(k, code, "%s", msg);
}

static const struct link_ops link_ops = { .on_exec = on_exec, .on_io = pump, .on_fail = on_link_fail };

static void on_keepalive(evutil_socket_t fd, short what, void *arg)
{
	struct conn *k = arg;

	switch (keepalive_tick(&k->ka, k->nkids > 0)) {
	case KA_LOST:
		conn_fail(k, CPREMOTE_ECONNLOST, "%s: connection lost: no answer for %d s (keepalive)",
			  k->key.host, k->ka.missed * k->ka.interval_s);
		break;
	case KA_PING:
		keepalive_ping(&k->ka, &k->out);
		/* A frozen link may leave the write event armed forever: pump now. */
		carrier_step(&k->link);
		break;
	case KA_QUIET:
		break;
	}
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct conn *k = arg;

	if (k->nkids > 0)
		return;
	rlog(k->ctx, 1, "%s: idle, closing", k->key.host);
	mark_dead(k);
}

/* A new connection for R's key (taken), started from the loop.  NULL when out of memory. */
static struct conn *conn_new(const struct relay_ctx *ctx, struct spawn_request *r)
{
	struct conn *k = calloc(1, sizeof *k);
	const char *env = getenv("CPREMOTE_HELPER");
	int bootstrap;

	if (!k)
		return NULL;
	k->ctx = ctx;
	k->key = r->key;
	memset(&r->key, 0, sizeof r->key);
	TAILQ_INSERT_TAIL(&conns, k, entry);
	/* No helper named: the run stub finds it in the host's cache, or asks for it. */
	bootstrap = !k->key.helper && (!env || !*env);
	k->helper = strdup(k->key.helper ? k->key.helper : bootstrap ? "cpremote-helper" : env);
	k->no_upload = install_refused(&k->key);
	k->bootstrap = bootstrap;
	if (install_nonce(k->nonce) < 0) {
		conn_free(k);
		return NULL;
	}
	k->command = k->helper ? install_exec_command(bootstrap, k->helper) : NULL;
	k->next_id = 1;
	/* Frames are taken out as they arrive: one frame plus one read at most. */
	k->in.limit = CPR_HEADER_LEN + CPR_MAX_SPAWN + 64 * 1024;
	k->idle = evtimer_new(ctx->base, on_idle, k);
	if (!k->command || !k->idle ||
	    carrier_start(&k->link, ctx, &k->key, r->verbosity, k->command, &link_ops, k) < 0 ||
	    keepalive_init(&k->ka, ctx->base, carrier_opts(&k->link)->keepalive_s,
			   carrier_opts(&k->link)->keepalive_count, on_keepalive, k) < 0) {
		conn_free(k);
		return NULL;
	}
	rlog(ctx, 1, "%s: connecting", k->key.host);
	return k;
}

struct conn *conn_attach(const struct relay_ctx *ctx, struct spawn_request *r,
			 const struct conn_child_ops *ops, void *child, const struct cpr_buf *spawn,
			 uint32_t *id)
{
	struct conn *k;

	TAILQ_FOREACH(k, &conns, entry)
	{
		if (!k->dead && conn_key_equal(&k->key, &r->key))
			break;
	}
	if (!k && !(k = conn_new(ctx, r)))
		return NULL;
	if (k->nkids == k->capkids) {
		size_t cap = k->capkids ? 2 * k->capkids : 8;
		struct kid *kids = realloc(k->kids, cap * sizeof *kids);

		if (!kids)
			return NULL;
		k->kids = kids;
		k->capkids = cap;
	}
	*id = k->next_id++;
	k->kids[k->nkids++] = (struct kid){ *id, child, ops, spawn,
					    r->type == CPR_CONNECT ? CPR_CONNECT : CPR_SPAWN };
	k->spawn_bytes += cpr_buf_len(spawn);
	evtimer_del(k->idle); /* no longer idle */
	return k;
}

int conn_can_send(const struct conn *k)
{
	return !k->dead && !k->up.active && carrier_running(&k->link);
}

long conn_helper_caps(const struct conn *k)
{
	return k->ready ? (long)k->helper_caps : -1;
}

void conn_detach(struct conn *k, uint32_t id)
{
	ssize_t i = find_kid(k, id);

	/* Keeps the order find_kid() relies on (the last one costs nothing). */
	if (i >= 0) {
		k->spawn_bytes -= cpr_buf_len(k->kids[i].spawn);
		memmove(&k->kids[i], &k->kids[i + 1], (k->nkids - (size_t)i - 1) * sizeof *k->kids);
		k->nkids--;
	}
	if (k->nkids == 0 && k->ready && !k->dead) {
		struct timeval tv = { .tv_sec = carrier_opts(&k->link)->idle_close_s };

		evtimer_add(k->idle, &tv);
	}
}

int conn_send(struct conn *k, uint8_t type, uint8_t stream, uint32_t child, const void *payload, uint32_t len)
{
	int rc;

	if (k->dead)
		return CPREMOTE_ECONNLOST;
	if (k->overflow)
		return -ENOBUFS;
	/* SPAWN frames are bounded by the table (spawn_bytes), the others by the credits. */
	if (type != CPR_SPAWN && type != CPR_CONNECT &&
	    cpr_buf_len(&k->out) + CPR_HEADER_LEN + len >
		    OUT_BASE + k->nkids * OUT_PER_KID + k->spawn_bytes) {
		k->overflow = 1;
		carrier_want_write(&k->link);
		return -ENOBUFS;
	}
	rc = cpr_frame_append(&k->out, type, stream, child, payload, len);
	if (rc < 0)
		return rc;
	/* Sent from the loop, so many frames of one turn go out together. */
	carrier_want_write(&k->link);
	return 0;
}

int conn_send_u32(struct conn *k, uint8_t type, uint8_t stream, uint32_t child, uint32_t v)
{
	uint8_t p[4];

	cpr_put_u32(p, v);
	return conn_send(k, type, stream, child, p, sizeof p);
}

int conn_protocol_error(struct conn *k, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return conn_fail(k, CPREMOTE_EPROTO, "%s", msg);
}

int conn_confirm_timeout_s(const struct conn *k)
{
	return carrier_opts(&k->link)->handshake_timeout_s;
}

void conn_close_all(void)
{
	while (!TAILQ_EMPTY(&conns))
		conn_free(TAILQ_FIRST(&conns));
	sweep_free(&sweep_ev);
}
