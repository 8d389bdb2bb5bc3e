/*
 * bootstrap.c — the two small sh scripts that make a host need nothing but
 * sshd and a POSIX shell: the run stub (every connection: run the cached
 * helper, or say it is missing) and the install stub (first contact:
 * receive the helper and install it atomically), and the reading of their
 * marker lines.  doc/PROTOCOL.md, "Bootstrap", describes the exchange.
 *
 * Each stub is one line handed to /bin/sh in single quotes, so that every
 * login shell sshd may start (sh, bash, zsh, fish, tcsh, mksh) passes it on
 * untouched: the quoted text holds no quote, backslash, "!" or newline,
 * and only /bin/sh expands its "$".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap.h"

#define MARKER "cpremote-stub: "
#define MARKER_LEN (sizeof MARKER - 1)

/* Extra KiB a cache directory must have free beyond the helper itself. */
#define SPACE_MARGIN_K 64

/*
 * The install lock: how long a live holder is waited for (ticks of 0.2 s,
 * or of 1 s where sleep takes whole seconds only), and the ages in minutes
 * past which a lock or an upload's temporary file is left over from a
 * cut-off install.
 */
#define LOCK_TICKS "75"
#define LOCK_WAIT "15 s"
#define STALE_LOCK_MIN "1"
#define STALE_TMP_MIN "2"

/*
 * The cache directories, best first: the XDG cache, then a per-user
 * directory in $TMPDIR for a read-only, full or noexec HOME.
 */
#define DIR1 "${XDG_CACHE_HOME:-$HOME/.cache}/cpremote"
#define DIR2 "${TMPDIR:-/tmp}/cpremote-$(id -u)"
#define DIRS "\"" DIR1 "\" \"" DIR2 "\""

/*
 * g() tells whether DIR/NAME may run: the directory and the file are the
 * user's, neither is a symbolic link nor writable by group or others, the
 * file may be executed (false on a noexec mount), and its SHA-256 matches
 * its name (when sha256sum is there).  It leaves the file's path in $f.
 * Both stubs use it, so that the install stub's "ready" means the run stub
 * will take that file.
 */
#define GOOD_FN                                                                                             \
	"g() { f=$1/$n; test -f \"$f\" && test -x \"$f\" && test -O \"$1\" && test -O \"$f\" || return 1; " \
	"ls -ld \"$1\" \"$f\" | while read m r; do case $m in l*|?????w*|????????w*) exit 1;; esac; done "  \
	"|| return 1; command -v sha256sum >/dev/null || return 0; case $(sha256sum <\"$f\") in \"$h \"*) " \
	"return 0;; esac; return 1; }; "

/*
 * Run stub, after the architecture's case arms: runs the first cached
 * helper g() accepts.  The caller fills in the protocol version.
 */
static const char run_tail[] = "*) echo \"" MARKER
			       "noarch $a\"; exit 0;; esac; n=cpremote-helper-%d-$h; " GOOD_FN
			       "for d in " DIRS "; do g \"$d\" && exec \"$f\"; done; echo \"" MARKER
			       "need $a\"'";

/*
 * Install stub.  Concurrent first spawns on one host install once: the
 * stub takes a lock (mkdir is atomic) in the first directory p() accepts,
 * and only its holder asks for the bytes ("send"); one that gets the lock
 * after another install finds a helper g() accepts and answers "ready
 * PATH" without receiving anything.  A live lock is waited for, up to
 * 15 s, within the relay's handshake deadline.  A lock whose holder is
 * gone is broken: its pid file names a dead process on this host, or,
 * without one of this host (a holder elsewhere sharing the home, or one
 * killed before writing it), it is over a minute old.  Breaking is itself
 * done under a second lock ("$L.b"), and rechecked there, so that two
 * waiters never both remove a lock and one of them a fresh one.  The
 * holder removes the temporary files of uploads cut off minutes ago: no
 * live upload of this protocol can own them while it holds the lock.
 *
 * p() makes DIR owner-only and checks it has room; a helper found in a
 * directory others could write is dropped then, since g() would no longer
 * see that it cannot be trusted.  v() checks a copy's
 * size and hash; q() gives up for lack of a place, naming the owner of a
 * directory that someone else holds (a squatter of /tmp/cpremote-UID);
 * x() drops the lock.
 * The helper is received once, into the first usable directory; where
 * exec is not allowed there (noexec) it is copied on to the next.
 * rename() makes the install atomic, so that no one sees a torn file.
 * Fields: version, hash, hash, size, architecture, KiB needed.
 */
static const char install_fmt[] =
	"exec /bin/sh -c 'umask 077; n=cpremote-helper-%d-%s; h=%s; s=%zu; "
	"q() { w=; for d in " DIRS "; do test -e \"$d\" && { test -O \"$d\" || { set -- $(ls -ld \"$d\"); "
	"w=\"$w; $d belongs to $3, not to $(id -un)\"; }; }; done; echo \"" MARKER
	"no place for it: neither " DIR1 " nor " DIR2
	" is an owner-only directory with room where programs may run$w; free space or allow exec there, "
	"or install cpremote-helper for %s on the host and use --helper PATH\" >&2; exit 1; }; "
	"p() { mkdir -p \"$1\" 2>/dev/null; test -d \"$1\" && test -O \"$1\" || return 1; "
	"test -L \"$1\" && return 1; case $(ls -ld \"$1\") in ?????w*|????????w*) chmod 700 \"$1\" "
	"2>/dev/null && rm -f \"$1/$n\";; esac; chmod 700 \"$1\" 2>/dev/null && test -w \"$1\" || return 1; "
	"command -v df >/dev/null || return 0; "
	"df -Pk \"$1\" 2>/dev/null | { read x; read x x x k x; test \"${k:-0}\" -gt %zu; }; }; "
	"v() { test \"$(wc -c <\"$1\")\" -eq $s || return 1; command -v sha256sum >/dev/null || return 0; "
	"case $(sha256sum <\"$1\") in \"$h \"*) return 0;; esac; return 1; }; " GOOD_FN "L=; for d in " DIRS
	"; do p \"$d\" && L=$d/.lock && break; done; test -n \"$L\" || q; "
	"u=$(uname -n); k=0; until mkdir \"$L\" 2>/dev/null; do k=$((k+1)); "
	"test $k -le " LOCK_TICKS " || { echo \"" MARKER
	"another install of the helper has held $L for " LOCK_WAIT
	"; try again, or remove that directory if none runs\" >&2; exit 1; }; "
	"if mkdir \"$L.b\" 2>/dev/null; then o=$(cat \"$L/pid\" 2>/dev/null); case $o in \"$u:\"*) "
	"kill -0 \"${o#*:}\" 2>/dev/null || rm -rf \"$L\";; *) test -n \"$(find \"$L\" -prune -mmin "
	"+" STALE_LOCK_MIN " 2>/dev/null)\" && rm -rf \"$L\";; esac; rmdir \"$L.b\"; else test -n "
	"\"$(find \"$L.b\" -prune -mmin +" STALE_LOCK_MIN " 2>/dev/null)\" && rmdir \"$L.b\"; fi; "
	"sleep 0.2 2>/dev/null || sleep 1; done; "
	"x() { trap - 0; rm -rf \"$L\"; }; trap x 0; trap \"exit 1\" 1 2 13 15; echo \"$u:$$\" >\"$L/pid\"; "
	"for d in " DIRS "; do g \"$d\" && { x; echo \"" MARKER "ready $f\"; exit 0; }; done; "
	"for d in " DIRS "; do for t in \"$d\"/.in.* \"$d\"/.new.*; do test -f \"$t\" && test -O \"$t\" && "
	"test -n \"$(find \"$t\" -mmin +" STALE_TMP_MIN " 2>/dev/null)\" && rm -f \"$t\"; done; done; "
	"echo \"" MARKER "send\"; "
	"r=; for d in " DIRS "; do p \"$d\" || continue; "
	"if test -z \"$r\"; then r=$d/.in.$$; t=$r; if cat >\"$r\" && v \"$r\"; then :; else rm -f \"$r\"; "
	"echo \"" MARKER "the helper did not arrive whole in $d (disk full?)\" >&2; exit 1; fi; "
	"else t=$d/.new.$$; cp \"$r\" \"$t\" 2>/dev/null && v \"$t\" || { rm -f \"$t\"; continue; }; fi; "
	"if chmod 700 \"$t\" && test -x \"$t\" && mv -f \"$t\" \"$d/$n\"; then rm -f \"$r\"; x; "
	"echo \"" MARKER "installed $d/$n\"; exit 0; fi; test \"$t\" = \"$r\" || rm -f \"$t\"; done; "
	"rm -f \"$r\"; q'";

/* `uname -m` spellings of one architecture, as a case pattern. */
static const char *arch_pattern(const char *arch)
{
	static const struct {
		const char *arch, *pattern;
	} alias[] = {
		{ "x86_64", "x86_64|amd64" },
		{ "aarch64", "aarch64|arm64" },
		{ "i686", "i?86" },
		{ "armv7l", "armv7*|armv8l" },
	};

	for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
		if (strcmp(alias[i].arch, arch) == 0)
			return alias[i].pattern;
	return arch;
}

/*
 * The architecture a blob is offered for.  CPREMOTE_TEST_HELPER_ARCH
 * pretends it is another one, so that the tests can see a real host
 * refused for its architecture.
 */
static const char *blob_arch(const struct helper_blob *b)
{
	const char *env = getenv("CPREMOTE_TEST_HELPER_ARCH");

	return env && *env ? env : b->arch;
}

/* Whether S may go inside the stub's single quotes. */
static int quotable(const char *s)
{
	return strpbrk(s, "'\\!\n") == NULL;
}

const struct helper_blob *bootstrap_blob(const char *arch)
{
	for (size_t i = 0; i < helper_nblobs; i++)
		if (strcmp(blob_arch(&helper_blobs[i]), arch) == 0)
			return &helper_blobs[i];
	return NULL;
}

const char *bootstrap_arches(void)
{
	static char list[256];

	if (!list[0]) {
		for (size_t i = 0; i < helper_nblobs; i++) {
			size_t used = strlen(list);
			snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
				 blob_arch(&helper_blobs[i]));
		}
	}
	return list;
}

const char *bootstrap_run_command(void)
{
	static char *cmd;
	struct cpr_buf b = { 0 };
	char arm[256], tail[sizeof run_tail + 16];
	static const char head[] = "exec /bin/sh -c 'a=$(uname -m); case $a in ";

	if (cmd)
		return cmd;
	if (cpr_buf_append(&b, head, sizeof head - 1) < 0)
		goto out;
	for (size_t i = 0; i < helper_nblobs; i++) {
		const char *arch = blob_arch(&helper_blobs[i]);
		int n = snprintf(arm, sizeof arm, "%s) h=%s; a=%s;; ", arch_pattern(arch),
				 helper_blobs[i].sha256, arch);

		if (n < 0 || (size_t)n >= sizeof arm || !quotable(arm) || strpbrk(arch, " ;)|"))
			continue; /* a name the stub cannot carry is no architecture */
		if (cpr_buf_append(&b, arm, (size_t)n) < 0)
			goto out;
	}
	snprintf(tail, sizeof tail, run_tail, CPR_VERSION);
	if (cpr_buf_append(&b, tail, strlen(tail) + 1) < 0)
		goto out;
	cmd = strdup((const char *)cpr_buf_peek(&b));
out:
	cpr_buf_free(&b);
	return cmd;
}

char *bootstrap_install_command(const struct helper_blob *b)
{
	size_t need_k = b->len / 1024 + SPACE_MARGIN_K;
	int n = snprintf(NULL, 0, install_fmt, CPR_VERSION, b->sha256, b->sha256, b->len, b->arch, need_k);
	char *cmd;

	if (n < 0 || !(cmd = malloc((size_t)n + 1)))
		return NULL;
	snprintf(cmd, (size_t)n + 1, install_fmt, CPR_VERSION, b->sha256, b->sha256, b->len, b->arch, need_k);
	return cmd;
}

/* Copies the marker's argument: printable bytes only, for messages and lookups. */
static void copy_arg(const uint8_t *p, const uint8_t *end, char *arg, size_t arglen)
{
	size_t n = 0;

	for (; p < end && n + 1 < arglen; p++)
		if (*p >= 0x20 && *p < 0x7f)
			arg[n++] = (char)*p;
	arg[n] = '\0';
}

enum bootstrap_marker bootstrap_scan(const uint8_t *buf, size_t len, char *arg, size_t arglen)
{
	static const struct {
		const char *word;
		enum bootstrap_marker m;
	} words[] = {
		{ "need ", BS_NEED },   { "noarch ", BS_NOARCH }, { "installed ", BS_INSTALLED },
		{ "ready ", BS_READY }, { "send", BS_SEND },
	};
	const uint8_t *line = buf, *end = buf + len;

	while (line < end) {
		const uint8_t *nl = memchr(line, '\n', (size_t)(end - line));

		if (!nl)
			break; /* a marker counts once its line is whole */
		if ((size_t)(nl - line) > MARKER_LEN && memcmp(line, MARKER, MARKER_LEN) == 0) {
			const uint8_t *w = line + MARKER_LEN;
			for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
				size_t wl = strlen(words[i].word);
				/* A word without an argument is the whole rest of its line. */
				if ((size_t)(nl - w) >= wl && memcmp(w, words[i].word, wl) == 0 &&
				    (words[i].word[wl - 1] == ' ' || (size_t)(nl - w) == wl)) {
					copy_arg(w + wl, nl, arg, arglen);
					return words[i].m;
				}
			}
		}
		line = nl + 1;
	}
	return BS_NONE;
}
