/* carrier.c — the SSH link or a command transport behind one interface (see carrier.h). */
#include <string.h>

#include "carrier.h"
#include "transport.h"

int carrier_start(struct carrier *c, const struct relay_ctx *ctx, const struct conn_key *key, int verbosity,
		  const char *command, const struct link_ops *ops, void *arg)
{
	memset(c, 0, sizeof *c);
	c->ssh.fd = -1;
	c->cmd.in = c->cmd.out = c->cmd.err = -1;
	c->is_cmd = transport_is_command(key->host);
	if (c->is_cmd)
		return cmdlink_start(&c->cmd, ctx, key, command, ops, arg);
	return link_start(&c->ssh, ctx, key, verbosity, command, ops, arg);
}

void carrier_step(struct carrier *c)
{
	c->is_cmd ? cmdlink_step(&c->cmd) : link_step(&c->ssh);
}

void carrier_want_write(struct carrier *c)
{
	c->is_cmd ? cmdlink_want_write(&c->cmd) : link_want_write(&c->ssh);
}

int carrier_running(const struct carrier *c)
{
	return c->is_cmd ? c->cmd.state == L_RUNNING : link_running(&c->ssh);
}

void carrier_handshake_done(struct carrier *c)
{
	if (!c->is_cmd)
		link_handshake_done(&c->ssh);
	else if (c->cmd.deadline)
		evtimer_del(c->cmd.deadline);
}

void carrier_drain_stderr(struct carrier *c)
{
	c->is_cmd ? cmdlink_drain_stderr(&c->cmd) : link_drain_stderr(&c->ssh);
}

const char *carrier_stderr_line(struct carrier *c)
{
	char *tail, *end, *nl;

	if (!c->is_cmd)
		return link_stderr_line(&c->ssh);
	tail = c->cmd.stderr_tail;
	end = tail + c->cmd.stderr_len;
	while (end > tail && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	nl = strrchr(tail, '\n');
	return nl ? nl + 1 : tail;
}

void carrier_stop(struct carrier *c)
{
	c->is_cmd ? cmdlink_stop(&c->cmd) : link_stop(&c->ssh);
}

void carrier_free(struct carrier *c)
{
	c->is_cmd ? cmdlink_free(&c->cmd) : link_free(&c->ssh);
}

const struct session_opts *carrier_opts(const struct carrier *c)
{
	return c->is_cmd ? &c->cmd.so : &c->ssh.so;
}

int carrier_write(struct carrier *c, const void *p, size_t n, const char **why)
{
	int k;

	if (c->is_cmd) {
		k = cmdlink_write(&c->cmd, p, n);
		*why = k < 0 ? strerror(-k) : "";
		return k;
	}
	k = ssh_channel_write(c->ssh.ch, p, (uint32_t)n);
	*why = k < 0 ? ssh_get_error(c->ssh.s) : "";
	return k;
}

int carrier_read(struct carrier *c, void *buf, size_t n)
{
	if (c->is_cmd)
		return cmdlink_read(&c->cmd, buf, n);
	return ssh_channel_read_nonblocking(c->ssh.ch, buf, (uint32_t)n, 0);
}

int carrier_room(const struct carrier *c)
{
	return c->is_cmd ? 0 : ssh_channel_window_size(c->ssh.ch) > 0;
}
