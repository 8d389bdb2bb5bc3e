/* fanout.c — shared helpers of the fan-out tests (see fanout.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caller.h"
#include "fanout.h"
#include "fixture.h"
#include "io.h"
#include "sha256.h"
#include "tap.h"

/* Counts h1, h2, ... in the hosts' ssh_config; skips the test below two. */
int fan_hosts(void)
{
	int n = 0;

	for (int i = 1; i <= FAN_MAX_HOSTS; i++) {
		char name[16], *addr;

		snprintf(name, sizeof(name), "h%d", i);
		if ((addr = cl_host_addr(name)) == NULL)
			break;
		free(addr);
		n++;
	}
	if (n < 2)
		tap_skip_all("the fan-out tests need at least two test hosts");
	if (n < FAN_MAX_HOSTS)
		printf("# only %d test hosts (want %d: CPREMOTE_TEST_HOSTS=%d)\n", n, FAN_MAX_HOSTS,
		       FAN_MAX_HOSTS);
	return n;
}

/* Looks up each host's address (see fanout.h). */
void fan_host_addrs(char addr[][FAN_ADDR_LEN], int nhosts)
{
	for (int h = 0; h < nhosts; h++) {
		char name[16], *a;

		snprintf(name, sizeof(name), "h%d", h + 1);
		a = cl_host_addr(name);
		snprintf(addr[h], FAN_ADDR_LEN, "%s", a != NULL ? a : "?");
		free(a);
	}
}

/* Keeps the lines of OUT that start with PREFIX, without it (see fanout.h). */
char *fan_lines_of(const char *out, const char *prefix)
{
	size_t plen = strlen(prefix), n = 0;
	char *res = malloc(strlen(out) + 2);
	const char *p = out;

	if (res == NULL) {
		tap_diag("out of memory");
		exit(2);
	}
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

		if (len >= plen && strncmp(p, prefix, plen) == 0) {
			memcpy(res + n, p + plen, len - plen);
			n += len - plen;
			res[n++] = '\n';
		}
		p += len + (nl != NULL);
	}
	res[n] = '\0';
	return res;
}

/* Counts newlines. */
size_t fan_count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* Starts one hmac_child (see fanout.h). */
int fan_peer_start(struct fan_peer *p, const char *prog, int host, size_t len)
{
	char keyhex[2 * FAN_KEY_LEN + 1], lenstr[32], name[16];
	const char *argv[] = { prog, keyhex, lenstr, NULL };
	struct cpremote_options o;
	int r;

	memset(p, 0, sizeof(*p));
	p->host = host;
	p->fd = -1;
	p->len = len;
	if ((p->data = malloc(len > 0 ? len : 1)) == NULL) {
		tap_diag("out of memory");
		exit(2);
	}
	cl_random(p->key, sizeof(p->key));
	cl_random(p->data, len);
	io_hex(p->key, sizeof(p->key), keyhex);
	snprintf(lenstr, sizeof(lenstr), "%zu", len);
	snprintf(name, sizeof(name), "h%d", host + 1);
	fixture_options(&o, name);
	o.file = prog;
	o.argv = argv;
	o.stdio[2].mode = CPREMOTE_STDIO_INHERIT;
	r = cpremote_run(&o, &p->child);
	if (r == 0 && (r = cl_nonblock(cpremote_channel_fd(p->child))) == 0) {
		p->fd = cpremote_channel_fd(p->child);
		return 0;
	}
	printf("# %s: hmac_child: %s (%s)\n", name, cpremote_strerror(r), cpremote_errmsg());
	cpremote_free(p->child);
	p->child = NULL;
	p->done = 1;
	return r;
}

/* Moves what it can of one peer's data out and of its answer in. */
static void pump(struct fan_peer *p, short revents)
{
	if ((revents & POLLOUT) && p->sent < p->len) {
		ssize_t n = write(p->fd, p->data + p->sent, p->len - p->sent);

		if (n > 0)
			p->sent += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			p->done = 1;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		ssize_t n = read(p->fd, p->answer + p->alen, sizeof(p->answer) - 1 - p->alen);

		if (n > 0) {
			p->alen += (size_t)n;
			p->answer[p->alen] = '\0';
			if (memchr(p->answer, '\n', p->alen) != NULL || p->alen == sizeof(p->answer) - 1)
				p->done = 1;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			p->done = 1;
		}
	}
}

/* Drives every peer's channel together (see fanout.h). */
int fan_peers_drive(struct fan_peer *peers, int n, int deadline_ms)
{
	struct pollfd *pfd = calloc((size_t)n + 1, sizeof(*pfd));
	int *map = calloc((size_t)n + 1, sizeof(*map));
	long long deadline = fixture_now_ms() + deadline_ms;
	int answered = 0;

	if (pfd == NULL || map == NULL) {
		tap_diag("out of memory");
		exit(2);
	}
	for (;;) {
		int np = 0;

		for (int i = 0; i < n; i++) {
			if (peers[i].done)
				continue;
			pfd[np] = (struct pollfd){ .fd = peers[i].fd,
						   .events = POLLIN |
							     (peers[i].sent < peers[i].len ? POLLOUT : 0) };
			map[np++] = i;
		}
		if (np == 0 || fixture_now_ms() > deadline)
			break;
		if (poll(pfd, (nfds_t)np, 1000) < 0 && errno != EINTR)
			break;
		for (int k = 0; k < np; k++)
			if (pfd[k].revents != 0)
				pump(&peers[map[k]], pfd[k].revents);
	}
	for (int i = 0; i < n; i++)
		answered += peers[i].alen > 0 && memchr(peers[i].answer, '\n', peers[i].alen) != NULL;
	free(pfd);
	free(map);
	return answered;
}

/* Checks one peer's answer and end (see fanout.h). */
int fan_peer_check(struct fan_peer *p, const char *addr, int timeout_s)
{
	uint8_t mac[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1], got[2 * SHA256_LEN + 1] = "", conn[3][64] = { "", "", "" };
	struct hmac_sha256 m;
	int status = 0, r;

	if (p->child == NULL)
		return 0;
	hmac_sha256_init(&m, p->key, sizeof(p->key));
	hmac_sha256_update(&m, p->data, p->len);
	hmac_sha256_final(&m, mac);
	io_hex(mac, sizeof(mac), hex);
	sscanf(p->answer, "%64s %63s %63s %63s", got, conn[0], conn[1], conn[2]);
	r = fixture_wait_child(p->child, &status, timeout_s);
	if (p->sent != p->len || strcmp(got, hex) != 0 || strcmp(conn[2], addr) != 0 || r != 1 ||
	    status != 0) {
		printf("# h%d pid %ld: sent %zu of %zu, answer \"%.*s\", want %s at %s; wait %d: %s\n",
		       p->host + 1, cpremote_pid(p->child), p->sent, p->len, (int)strcspn(p->answer, "\n"),
		       p->answer, hex, addr, r,
		       r == 1 ? cl_status_str(status) : cpremote_child_errmsg(p->child));
		return 0;
	}
	return 1;
}

/* Releases a peer (see fanout.h). */
void fan_peer_free(struct fan_peer *p)
{
	cpremote_free(p->child);
	p->child = NULL;
	free(p->data);
	p->data = NULL;
}

void fan_peers_free(struct fan_peer *peers, int n)
{
	for (int i = 0; i < n; i++)
		fan_peer_free(&peers[i]);
	free(peers);
}
