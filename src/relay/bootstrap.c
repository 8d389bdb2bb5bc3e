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
 * The cache directories, best first: the XDG cache, then a per-user
 * directory in $TMPDIR for a read-only, full or noexec HOME.
 */
#define DIR1 "${XDG_CACHE_HOME:-$HOME/.cache}/cpremote"
#define DIR2 "${TMPDIR:-/tmp}/cpremote-$(id -u)"
#define DIRS "\"" DIR1 "\" \"" DIR2 "\""

/*
 * Run stub, after the architecture's case arms.  t() runs DIR/NAME only
 * when the directory and the file are the user's, neither is a symbolic
 * link nor writable by group or others, the file may be executed (false on
 * a noexec mount), and its SHA-256 matches its name (when sha256sum is
 * there).  The caller fills in the protocol version.
 */
static const char run_tail[] =
	"*) echo \"" MARKER "noarch $a\"; exit 0;; esac; n=cpremote-helper-%d-$h; "
	"t() { f=$1/$n; test -f \"$f\" && test -x \"$f\" && test -O \"$1\" && test -O \"$f\" || return 0; "
	"ls -ld \"$1\" \"$f\" | while read m r; do case $m in l*|?????w*|????????w*) exit 1;; esac; done "
	"|| return 0; if command -v sha256sum >/dev/null; then case $(sha256sum <\"$f\") in \"$h \"*) ;; "
	"*) return 0;; esac; fi; exec \"$f\"; }; "
	"for d in " DIRS "; do t \"$d\"; done; echo \"" MARKER "need $a\"'";

/*
 * Install stub.  p() makes DIR owner-only and checks it has room; v()
 * checks a copy's size and hash.  The helper is received once, into the
 * first usable directory; where exec is not allowed there (noexec) it is
 * copied on to the next.  rename() makes the install atomic, so that
 * concurrent first spawns never see a torn file.  Fields: version, hash,
 * hash, size, KiB needed, architecture.
 */
static const char install_fmt[] =
	"exec /bin/sh -c 'umask 077; n=cpremote-helper-%d-%s; h=%s; s=%zu; "
	"p() { mkdir -p \"$1\" 2>/dev/null; test -d \"$1\" && test -O \"$1\" || return 1; "
	"test -L \"$1\" && return 1; chmod 700 \"$1\" 2>/dev/null && test -w \"$1\" || return 1; "
	"command -v df >/dev/null || return 0; "
	"df -Pk \"$1\" 2>/dev/null | { read x; read x x x k x; test \"${k:-0}\" -gt %zu; }; }; "
	"v() { test \"$(wc -c <\"$1\")\" -eq $s || return 1; command -v sha256sum >/dev/null || return 0; "
	"case $(sha256sum <\"$1\") in \"$h \"*) return 0;; esac; return 1; }; "
	"r=; for d in " DIRS "; do p \"$d\" || continue; "
	"if test -z \"$r\"; then r=$d/.in.$$; t=$r; if cat >\"$r\" && v \"$r\"; then :; else rm -f \"$r\"; "
	"echo \"" MARKER "the helper did not arrive whole in $d (disk full?)\" >&2; exit 1; fi; "
	"else t=$d/.new.$$; cp \"$r\" \"$t\" 2>/dev/null && v \"$t\" || { rm -f \"$t\"; continue; }; fi; "
	"if chmod 700 \"$t\" && test -x \"$t\" && mv -f \"$t\" \"$d/$n\"; then rm -f \"$r\"; "
	"echo \"" MARKER "installed $d/$n\"; exit 0; fi; test \"$t\" = \"$r\" || rm -f \"$t\"; done; "
	"rm -f \"$r\"; echo \"" MARKER "no place for it: neither " DIR1 " nor " DIR2
	" is an owner-only directory with room where programs may run; free space or allow exec there, "
	"or install cpremote-helper for %s on the host and use --helper PATH\" >&2; exit 1'";

/* `uname -m` spellings of one architecture, as a case pattern. */
static const char *arch_pattern(const char *arch)
{
	static const struct { const char *arch, *pattern; } alias[] = {
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
	int n = snprintf(NULL, 0, install_fmt, CPR_VERSION, b->sha256, b->sha256, b->len, need_k,
			 b->arch);
	char *cmd;

	if (n < 0 || !(cmd = malloc((size_t)n + 1)))
		return NULL;
	snprintf(cmd, (size_t)n + 1, install_fmt, CPR_VERSION, b->sha256, b->sha256, b->len, need_k,
		 b->arch);
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
	static const struct { const char *word; enum bootstrap_marker m; } words[] = {
		{ "need ", BS_NEED }, { "noarch ", BS_NOARCH }, { "installed ", BS_INSTALLED },
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
				if ((size_t)(nl - w) >= wl && memcmp(w, words[i].word, wl) == 0) {
					copy_arg(w + wl, nl, arg, arglen);
					return words[i].m;
				}
			}
		}
		line = nl + 1;
	}
	return BS_NONE;
}
