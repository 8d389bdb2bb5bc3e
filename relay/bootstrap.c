/*
 * bootstrap.c — the run stub that makes a host need nothing but sshd and
 * a POSIX shell (run the cached helper, or say it is missing and take the
 * install script on the same stdin), the line that carries that script
 * (common/cache_script.c), and the reading of the scripts' marker lines.
 * doc/PROTOCOL.md, "Bootstrap", describes the exchange.
 *
 * The stub is one line handed to /bin/sh in single quotes, so that every
 * login shell sshd may start (sh, bash, zsh, fish, tcsh, mksh) passes it on
 * untouched: the quoted text holds no quote, backslash, "!" or newline,
 * and only /bin/sh expands its "$".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap.h"
#include "cache_script.h"

#define MARKER CPR_STUB_MARKER
#define MARKER_LEN (sizeof MARKER - 1)

/*
 * Run stub.  Its first line of stdin is this connection's nonce, which
 * the relay sends before anything else (so it never shows in the host's
 * process list); the shell's read takes one byte at a time from a pipe,
 * so nothing past that line is taken, and a helper run next finds the
 * relay's hello first.  After the architecture's case arms it runs the
 * first cached helper g() accepts.  Otherwise it says "need" and reads
 * its stdin line by line until the line that starts with the nonce, and
 * runs the rest of that line: the install script, which receives the
 * helper on the same stdin and execs it.  What comes before that line is
 * what the relay sent the helper it hoped for (its hello, SPAWN frames):
 * skipped.  Only the relay and this shell know the nonce, so no byte of
 * those frames (a child's argv) can pass for the line.  Field: protocol
 * version.
 */
/* A pattern of the nonce's length: what is cut off the install line is never a pattern of its own. */
#define NONCE_ANY "????????????????????????????????"
_Static_assert(sizeof NONCE_ANY - 1 == BOOTSTRAP_NONCE_LEN, "NONCE_ANY and the 32 of run_head follow it");

static const char run_head[] = "exec /bin/sh -c 'IFS= read -r t; test ${#t} -eq 32 || exit 1; "
			       "a=$(uname -m); case $a in ";
static const char run_tail[] =
	"*) echo \"" MARKER "noarch $a\"; exit 0;; esac; n=cpremote-helper-%d-$h; " CPR_CACHE_GOOD_FN
	"for d in " CPR_CACHE_DIRS "; do g \"$d\" && exec \"$f\"; done; echo \"" MARKER
	"need $a\"; while IFS= read -r l; do case $l in \"$t \"*) eval \"${l#" NONCE_ANY " }\"; "
	"exit 1;; esac; done; exit 1'";

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

char *bootstrap_run_command(void)
{
	struct cpr_buf b = { 0 };
	char arm[256], tail[sizeof run_tail + 16], *cmd = NULL;

	if (cpr_buf_append(&b, run_head, sizeof run_head - 1) < 0)
		goto out;
	for (size_t i = 0; i < helper_nblobs; i++) {
		const char *arch = blob_arch(&helper_blobs[i]);
		int n = snprintf(arm, sizeof arm, "%s) h=%s; a=%s;; ", arch_pattern(arch),
				 helper_blobs[i].sha256, arch);

		if (n < 0 || (size_t)n >= sizeof arm || !cpr_cache_quotable(arm) || strpbrk(arch, " ;)|"))
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

char *bootstrap_install_line(const struct helper_blob *b, const char *nonce)
{
	char name[128], hint[160], *script, *line = NULL;
	struct cpr_cache_file f = { name, b->sha256, b->len, hint, CPR_CACHE_EXEC };
	size_t n;

	snprintf(name, sizeof name, "cpremote-helper-%d-%s", CPR_VERSION, b->sha256);
	snprintf(hint, sizeof hint, "install cpremote-helper for %s on the host and use --helper PATH",
		 b->arch);
	script = cpr_cache_install_script(&f);
	if (!script)
		return NULL;
	n = strlen(nonce) + strlen(script) + 4;
	line = malloc(n);
	if (line)
		snprintf(line, n, "\n%s %s\n", nonce, script);
	free(script);
	return line;
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

enum bootstrap_marker bootstrap_scan(const uint8_t *buf, size_t len, char *arg, size_t arglen, size_t *used)
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
					if (used)
						*used = (size_t)(nl + 1 - buf);
					return words[i].m;
				}
			}
		}
		line = nl + 1;
	}
	return BS_NONE;
}
