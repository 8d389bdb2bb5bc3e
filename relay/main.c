/*
 * main.c — cpremote-relay: the process the library forks once per caller.
 * It receives children over its control socket and serves them until the
 * control socket closes (the caller is gone), then ends every connection
 * (the helpers then end their children) and exits.
 *
 * Usage: cpremote-relay --control-fd N [--master LISTEN_FD PATH PERSIST]
 * (not meant to be run by hand; --master: see master.h)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "child.h"
#include "control.h"
#include "conn.h"
#include "log.h"
#include "master.h"
#include "proto.h"
#include "session.h"

/* The relay's context: one per process, handed to every object it creates. */
static struct relay_ctx ctx;

/* The one caller of a relay that is no master: when it is gone, nothing of it may be left running. */
static void on_control(evutil_socket_t fd, short what, void *arg)
{
	if (control_on_readable(&ctx, fd) != CONTROL_MORE)
		event_base_loopbreak(ctx.base);
}

int main(int argc, char **argv)
{
	struct event *control_ev = NULL;
	struct master *master = NULL;
	int control_fd = -1;

	if ((argc == 3 || (argc == 7 && strcmp(argv[3], "--master") == 0)) &&
	    strcmp(argv[1], "--control-fd") == 0)
		control_fd = atoi(argv[2]);
	if (control_fd < 0) {
		fprintf(stderr, "usage: cpremote-relay --control-fd N (started by libcpremote)\n");
		return 2;
	}
	/* First of all: the library waits for it, with a deadline, before it sends anything. */
	if (control_greet(control_fd) < 0)
		return 1;
	/* Every child holds a few fds here (status, channel, stdio): allow many. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Writes to a reader that left must fail with EPIPE, not kill the relay. */
	signal(SIGPIPE, SIG_IGN);
	if (getenv("CPREMOTE_RELAY_VERBOSE"))
		ctx.verbose = atoi(getenv("CPREMOTE_RELAY_VERBOSE"));
	/* Retry jitter must differ between the relays of concurrent callers. */
	srandom((unsigned)getpid() ^ (unsigned)time(NULL));
	ssh_init();
	ctx.base = event_base_new();
	if (!ctx.base)
		return 1;
	relay_log_set_default(&ctx);
	evutil_make_socket_nonblocking(control_fd);
	/* A ProxyCommand started by libssh must not keep the caller's socket open. */
	evutil_make_socket_closeonexec(control_fd);
	if (argc == 7) {
		master = master_new(&ctx, control_fd, atoi(argv[4]), argv[5], atol(argv[6]));
		if (!master)
			return 1;
	} else {
		control_ev = event_new(ctx.base, control_fd, EV_READ | EV_PERSIST, on_control, NULL);
		event_add(control_ev, NULL);
	}
	event_base_dispatch(ctx.base);

	master_free(master);
	rchild_free_all();
	conn_close_all();
	session_cache_free();
	if (control_ev)
		event_free(control_ev);
	event_base_free(ctx.base);
	ssh_finalize();
	return 0;
}
