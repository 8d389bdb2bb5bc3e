/*
 * test_auth_leaves.c — the agent filter against a real ssh-agent (it lists
 * only the offered key and refuses to have any other signed), and the
 * ProxyCommand built for a ProxyJump (OpenSSH's form, hops in order, -F
 * passed on, nothing unquotable accepted).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentfilter.h"
#include "proto.h"
#include "proxy.h"
#include "tap.h"

static char dir[] = "/tmp/cpremote-agentfilter.XXXXXX";

/* Runs the shell line FMT...; returns its exit status. */
static int sh(const char *fmt, const char *a)
{
	char cmd[1024];

	snprintf(cmd, sizeof cmd, fmt, a, a, a, a);
	return system(cmd);
}

/* Sends request REQ (LEN bytes) on FD and returns the answer's type byte (and its key count for 12). */
static int ask(int fd, const uint8_t *req, uint32_t len, uint32_t *count)
{
	uint8_t hdr[4], ans[8192];
	uint32_t n;

	cpr_put_u32(hdr, len);
	if (write(fd, hdr, 4) != 4 || write(fd, req, len) != (ssize_t)len || read(fd, hdr, 4) != 4)
		return -1;
	n = cpr_get_u32(hdr);
	if (n == 0 || n > sizeof ans)
		return -1;
	for (uint32_t got = 0; got < n;) {
		ssize_t r = read(fd, ans + got, n - got);

		if (r <= 0)
			return -1;
		got += (uint32_t)r;
	}
	if (count && ans[0] == 12 && n >= 5)
		*count = cpr_get_u32(ans + 1);
	return ans[0];
}

/* A SIGN_REQUEST for KEY over some bytes into OUT; returns its length. */
static uint32_t sign_request(const struct agent_key *key, uint8_t *out)
{
	uint32_t n = 0;

	out[n++] = 13;
	cpr_put_u32(out + n, (uint32_t)key->len);
	memcpy(out + n + 4, key->blob, key->len);
	n += 4 + (uint32_t)key->len;
	cpr_put_u32(out + n, 5);
	memcpy(out + n + 4, "hello", 5);
	n += 9;
	cpr_put_u32(out + n, 0);
	return n + 4;
}

static void test_filter(void)
{
	char sock[128], pidfile[128], pid[32] = "";
	struct agent_keys keys = { 0 };
	struct agent_filter *f = NULL;
	static const uint8_t ids[] = { 11 };
	uint8_t req[4096];
	uint32_t count = 99;
	FILE *p;
	int fd = -1;

	snprintf(sock, sizeof sock, "%s/agent.sock", dir);
	snprintf(pidfile, sizeof pidfile, "%s/agent.pid", dir);
	if (sh("ssh-keygen -q -t ed25519 -N '' -C one -f %s/one && ssh-keygen -q -t ed25519 -N '' -C two -f "
	       "%s/two &&"
	       " ssh-agent -a %s/agent.sock -s | sed -n 's/^SSH_AGENT_PID=\\([0-9]*\\);.*/\\1/p' "
	       ">%s/agent.pid",
	       dir) != 0) {
		ok(0, "ssh-keygen and ssh-agent run");
		return;
	}
	p = fopen(pidfile, "r");
	if (p) {
		if (!fgets(pid, sizeof pid, p))
			pid[0] = '\0';
		fclose(p);
	}
	ok(sh("SSH_AUTH_SOCK=%s/agent.sock ssh-add -q %s/one %s/two 2>/dev/null", dir) == 0,
	   "two keys added");
	ok_int(agent_list(sock, &keys), 0, "agent_list reads the agent");
	ok_int((long)keys.n, 2, "the agent holds two keys");
	ok_int(agent_list("/nonexistent/agent.sock", &(struct agent_keys){ 0 }), -ENOENT,
	       "agent_list of a missing socket: -ENOENT");
	if (keys.n == 2 && ok(agent_filter_start(&f, sock, &fd) == 0, "the filter starts")) {
		ok_int(ask(fd, ids, 1, &count), 12, "identities asked before any offer: an answer");
		ok_int(count, 0, "  listing no key");
		agent_filter_offer(f, &keys.k[0]);
		ok_int(ask(fd, ids, 1, &count), 12, "identities after offering key one: an answer");
		ok_int(count, 1, "  listing one key");
		ok_int(ask(fd, req, sign_request(&keys.k[1], req), NULL), 5,
		       "a signature with key two (held by the agent, not offered): refused");
		ok_int(ask(fd, req, sign_request(&keys.k[0], req), NULL), 14,
		       "a signature with the offered key: the agent's signature");
		agent_filter_offer(f, NULL);
		ok_int(ask(fd, req, sign_request(&keys.k[0], req), NULL), 5,
		       "after the offer is withdrawn: refused");
		agent_filter_stop(f);
		close(fd);
	}
	agent_keys_free(&keys);
	if (atoi(pid) > 0)
		kill(atoi(pid), SIGTERM);
}

static void jump_is(const char *jump, const char *config, const char *want)
{
	char msg[256] = "", what[512];
	char *cmd = proxy_jump_command(NULL, jump, config, msg, sizeof msg);

	snprintf(what, sizeof what, "ProxyJump %s", jump);
	ok_str(cmd ? cmd : msg, want, what);
	free(cmd);
}

static void test_jump(void)
{
	char msg[256] = "";

	jump_is("j1", "/t/cfg", "'ssh' -F '/t/cfg' -o BatchMode=yes -W '[%h]:%p' 'j1'");
	jump_is("j1", NULL, "'ssh' -o BatchMode=yes -W '[%h]:%p' 'j1'");
	/* The last hop is reached through the others, as OpenSSH does it. */
	jump_is("a,u@b:2200", NULL, "'ssh' -o BatchMode=yes -J 'a' -W '[%h]:%p' -l 'u' -p '2200' 'b'");
	jump_is("a,b,c", "f", "'ssh' -F 'f' -o BatchMode=yes -J 'a,b' -W '[%h]:%p' 'c'");
	jump_is("u@[::1]:22", NULL, "'ssh' -o BatchMode=yes -W '[%h]:%p' -l 'u' -p '22' '::1'");
	jump_is("ssh://u@h:22", NULL, "'ssh' -o BatchMode=yes -W '[%h]:%p' 'ssh://u@h:22'");
	ok(proxy_jump_command(NULL, "h;touch x", NULL, msg, sizeof msg) == NULL && errno == EINVAL,
	   "a shell character in ProxyJump is refused");
	ok_contains(msg, "ProxyJump", "  with a message naming ProxyJump");
	ok(proxy_jump_command(NULL, "h", "it's", msg, sizeof msg) == NULL,
	   "a -F file with a quote is refused");
}

int main(void)
{
	if (!mkdtemp(dir))
		tap_skip_all("no temporary directory");
	test_jump();
	if (system("command -v ssh-agent >/dev/null && command -v ssh-keygen >/dev/null") == 0)
		test_filter();
	sh("rm -rf %s", dir);
	return tap_done();
}
