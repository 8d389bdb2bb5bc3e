/*
 * ship.c — struct cpremote_options .ship: the caller's local file is put
 * into the host's program cache, the same content-addressed, checked
 * cache as the helper's (common/cache_script.c), and the child runs that
 * copy.  The install goes through a child of its own on the same
 * connection (/bin/sh running the install script, the file's bytes on its
 * stdin), so it needs no other session or transport and works wherever
 * a program can be started.  Its stdout says "ready PATH" (the cache had
 * it: nothing is sent), or "send", then "installed PATH".
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <pthread.h>

#include "cache_script.h"
#include "lib.h"

/* The largest file shipped: it is read into memory whole, to hash it and send it. */
#define SHIP_MAX (512u * 1024 * 1024)
/* How long the install may take: the host's install lock is waited for up to 15 s of it. */
#define SHIP_TIMEOUT_MS (120 * 1000)

/* One install's progress, read from the install child's stdout and stderr. */
struct ship_io {
	cpremote_child *c;
	int in; /* our end of its stdin (a socket: writes never raise SIGPIPE) */
	char out[4096];
	size_t outlen;
	char err[512];
	size_t errlen;
};

/* Reads FILE whole into *DATA (malloc'ed), *LEN.  Returns 0, or -errno / CPREMOTE_EINVAL (message set). */
static int read_file(const char *file, unsigned char **data, size_t *len)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd = open(file, O_RDONLY | O_CLOEXEC), r = 0;

	*data = NULL;
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		lib_errmsg_set("--ship %s: %s", file, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > SHIP_MAX) {
		lib_errmsg_set("--ship %s: not a regular file of at most %u MiB", file, SHIP_MAX >> 20);
		r = CPREMOTE_EINVAL;
		goto out;
	}
	*len = (size_t)st.st_size;
	if (!(*data = malloc(*len ? *len : 1))) {
		r = -ENOMEM;
		lib_errmsg_set("--ship %s: out of memory", file);
		goto out;
	}
	while (got < *len && (n = read(fd, *data + got, *len - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			lib_errmsg_set("--ship %s: %s", file, strerror(errno));
			goto out;
		}
		got += (size_t)n;
	}
	*len = got; /* a file that shrank meanwhile is shipped as it was read */
out:
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		free(*data);
		*data = NULL;
	}
	return r;
}

/*
 * libcrypto is loaded here, on the first --ship, not linked into the
 * library: every caller would otherwise map and relocate it at start-up
 * (about 0.7 ms of each `cprun`), and only --ship needs it.  OpenSSL's
 * SHA-256 (SHA-NI where the CPU has it) hashes 15 times faster than plain C.
 */
static struct {
	pthread_once_t once;
	int (*digest)(const void *, size_t, unsigned char *, unsigned *, const EVP_MD *, ENGINE *);
	const EVP_MD *(*sha256)(void);
	char why[160]; /* dlopen's reason when it failed */
} crypto = { .once = PTHREAD_ONCE_INIT };

static void crypto_load(void)
{
	/* Never closed: OpenSSL pins itself in memory once initialised anyway. */
	void *h = dlopen(CPREMOTE_LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (h) {
		*(void **)&crypto.digest = dlsym(h, "EVP_Digest");
		*(void **)&crypto.sha256 = dlsym(h, "EVP_sha256");
	}
	if (!crypto.digest || !crypto.sha256) {
		const char *e = dlerror();

		crypto.digest = NULL;
		snprintf(crypto.why, sizeof crypto.why, "%s",
			 e ? e : CPREMOTE_LIBCRYPTO_SONAME ": no EVP_Digest");
	}
}

/* The SHA-256 of DATA as 64 hex digits in HEX.  Returns 0, -ENOMEM, or CPREMOTE_EINVAL (message set). */
static int sha256_hex(const struct cpremote_options *opts, const unsigned char *data, size_t len,
		      char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	pthread_once(&crypto.once, crypto_load);
	if (!crypto.digest) {
		lib_errmsg_set("%s: --ship %s: cannot hash it: %s", opts->host, opts->ship, crypto.why);
		return CPREMOTE_EINVAL;
	}
	if (!crypto.digest(data, len, md, &mdlen, crypto.sha256(), NULL) || mdlen != 32) {
		lib_errmsg_set("%s: --ship %s: out of memory", opts->host, opts->ship);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/*
 * Starts the install child for SCRIPT with the caller's destination
 * (OPTS).  Returns 0 with IO->c and IO->in set, or a negative code (message set).
 */
static int start_install(const struct cpremote_options *opts, const char *script, struct ship_io *io)
{
	const char *argv[] = { "sh", "-c", script, NULL };
	struct cpremote_options o = *opts;
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		lib_errmsg_set("%s: --ship: %s", opts->host, strerror(errno));
		return -errno;
	}
	o.file = "/bin/sh";
	o.argv = argv;
	o.env = NULL;
	o.cwd = NULL;
	o.ship = NULL;
	o.ship_arg = 0;
	o.flags &= CPREMOTE_ACCEPT_NEW | CPREMOTE_NO_UPLOAD;
	o.stdio[0] = (struct cpremote_stdio){ CPREMOTE_STDIO_FD, sv[1] };
	o.stdio[1].mode = o.stdio[2].mode = CPREMOTE_STDIO_PIPE;
	r = cpremote_run(&o, &io->c);
	close(sv[1]); /* the relay holds its own copy */
	if (r < 0) {
		close(sv[0]);
		return r;
	}
	io->in = sv[0];
	return 0;
}

/*
 * Takes the whole lines of stdout read so far, up to the first that is
 * "cpremote-stub: " and one of WORDS.  Returns 1 with *WHICH and the rest
 * of that line in ARG, else 0.
 */
static int take_marker(struct ship_io *io, const char *const *words, char *arg, size_t arglen, int *which)
{
	const size_t ml = strlen(CPR_STUB_MARKER);
	char *nl;

	while ((nl = memchr(io->out, '\n', io->outlen)) != NULL) {
		size_t used = (size_t)(nl + 1 - io->out);
		int found = -1;

		*nl = '\0';
		for (int i = 0; words[i] && found < 0 && strncmp(io->out, CPR_STUB_MARKER, ml) == 0; i++)
			if (strncmp(io->out + ml, words[i], strlen(words[i])) == 0)
				found = i;
		if (found >= 0)
			snprintf(arg, arglen, "%s", io->out + ml + strlen(words[found]));
		memmove(io->out, nl + 1, io->outlen - used);
		io->outlen -= used;
		if (found >= 0) {
			*which = found;
			return 1;
		}
	}
	if (io->outlen == sizeof io->out)
		io->outlen = 0; /* a line this long is no marker */
	return 0;
}

/* Keeps the tail of the install's stderr: its last line is the reason of a failure. */
static void keep_err(struct ship_io *io, const char *p, size_t n)
{
	if (n >= sizeof io->err - 1) {
		p += n - (sizeof io->err - 1);
		n = sizeof io->err - 1;
	}
	if (io->errlen + n > sizeof io->err - 1) {
		size_t drop = io->errlen + n - (sizeof io->err - 1);
		memmove(io->err, io->err + drop, io->errlen - drop);
		io->errlen -= drop;
	}
	memcpy(io->err + io->errlen, p, n);
	io->errlen += n;
	io->err[io->errlen] = '\0';
}

/*
 * Reads the install child's output until a marker of WORDS (take_marker())
 * or the end of its stdout.  Returns 1 (marker), 0 (the end), or
 * -ETIMEDOUT when it said nothing for SHIP_TIMEOUT_MS.
 */
static int next_marker(struct ship_io *io, const char *const *words, char *arg, size_t arglen, int *which)
{
	struct pollfd p[2] = { { cpremote_stdio_fd(io->c, 1), POLLIN, 0 },
			       { cpremote_stdio_fd(io->c, 2), POLLIN, 0 } };
	char buf[512];
	ssize_t n;

	while (!take_marker(io, words, arg, arglen, which)) {
		if (p[0].fd < 0)
			return 0;
		if ((n = poll(p, 2, SHIP_TIMEOUT_MS)) == 0)
			return -ETIMEDOUT;
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n < 0)
			continue;
		if (p[1].fd >= 0 && p[1].revents) {
			if ((n = read(p[1].fd, buf, sizeof buf)) > 0)
				keep_err(io, buf, (size_t)n);
			else if (n == 0 || errno != EINTR)
				p[1].fd = -1;
		}
		if (p[0].revents) {
			if ((n = read(p[0].fd, io->out + io->outlen, sizeof io->out - io->outlen)) > 0)
				io->outlen += (size_t)n;
			else if (n == 0 || errno != EINTR)
				p[0].fd = -1;
		}
	}
	return 1;
}

/* The install's last stderr line, without its "cpremote-stub: " prefix, or WHAT. */
static const char *reason(struct ship_io *io, const char *what)
{
	char *end = io->err + io->errlen, *line;

	while (end > io->err && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	line = strrchr(io->err, '\n');
	line = line ? line + 1 : io->err;
	if (strncmp(line, CPR_STUB_MARKER, strlen(CPR_STUB_MARKER)) == 0)
		line += strlen(CPR_STUB_MARKER);
	return *line ? line : what;
}

/* Drives the install child of IO: the bytes when it asks, then its answer.  Returns 0, or a code (message set). */
static int install(const struct cpremote_options *opts, struct ship_io *io, const unsigned char *data,
		   size_t len, char *path, size_t pathlen, long long *uploaded)
{
	static const char *const words[] = { "ready ", "send", "installed ", NULL };
	int which = -1, r, status;

	r = next_marker(io, words, path, pathlen, &which);
	if (r == 1 && which == 1) {
		if ((r = lib_send_all(io->in, data, len)) < 0) {
			lib_errmsg_set("%s: cannot ship %s: %s", opts->host, opts->ship,
				       reason(io, cpremote_strerror(r)));
			return CPREMOTE_ESPAWN;
		}
		*uploaded = (long long)len;
		r = next_marker(io, words, path, pathlen, &which);
	}
	close(io->in);
	io->in = -1;
	if (r == 1 && which != 1 && cpremote_wait(io->c, &status, 0) == 1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0 && path[0] == '/')
		return 0;
	if (r == -ETIMEDOUT)
		cpremote_kill(io->c, SIGKILL);
	lib_errmsg_set("%s: cannot ship %s: %s", opts->host, opts->ship,
		       reason(io,
			      r == -ETIMEDOUT ? "the install timed out" : "the install script ended early"));
	return CPREMOTE_ESPAWN;
}

int lib_ship(const struct cpremote_options *opts, char *path, size_t pathlen, long long *uploaded)
{
	char hex[65], name[96] = "";
	struct cpr_cache_file f = { name, hex, 0, "install it on the host and run it without --ship",
				    CPR_CACHE_EXIT };
	struct ship_io io = { .in = -1 };
	unsigned char *data = NULL;
	char *script = NULL;
	int r;

	*uploaded = 0;
	path[0] = '\0';
	if ((r = read_file(opts->ship, &data, &f.len)) < 0)
		goto out;
	if ((r = sha256_hex(opts, data, f.len, hex)) < 0)
		goto out;
	snprintf(name, sizeof name, "cpremote-ship-%s", hex);
	if (!(script = cpr_cache_install_script(&f))) {
		r = -ENOMEM;
		lib_errmsg_set("%s: --ship %s: out of memory", opts->host, opts->ship);
		goto out;
	}
	if ((r = start_install(opts, script, &io)) < 0)
		goto out;
	r = install(opts, &io, data, f.len, path, pathlen, uploaded);
out:
	if (io.in >= 0)
		close(io.in);
	cpremote_free(io.c);
	free(script);
	free(data);
	return r;
}

int lib_ship_apply(struct cpremote_options *opts, struct lib_shipped *s)
{
	const char *base = strrchr(opts->ship ? opts->ship : "", '/');
	size_t n = 0;
	int r;

	s->argv = NULL;
	s->bytes = -1;
	if (opts->ship == NULL)
		return 0;
	if ((r = lib_ship(opts, s->path, sizeof s->path, &s->bytes)) < 0)
		return r;
	if (opts->ship_arg == 0) {
		s->base_argv[0] = base ? base + 1 : opts->ship;
		s->base_argv[1] = NULL;
		opts->file = s->path;
		opts->argv = opts->argv ? opts->argv : s->base_argv;
		return 0;
	}
	/* validate() saw argv[ship_arg] exist. */
	while (opts->argv[n] != NULL)
		n++;
	if ((s->argv = malloc((n + 1) * sizeof *s->argv)) == NULL) {
		lib_errmsg_set("%s: --ship %s: out of memory", opts->host, opts->ship);
		return -ENOMEM;
	}
	memcpy(s->argv, opts->argv, (n + 1) * sizeof *s->argv);
	s->argv[opts->ship_arg] = s->path;
	opts->argv = s->argv;
	return 0;
}

void lib_shipped_free(struct lib_shipped *s)
{
	free(s->argv);
	s->argv = NULL;
}
