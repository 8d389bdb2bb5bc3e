/*
 * cache_script.h — the host's cache of content-addressed programs, as sh
 * text (cache_script.c): where it lives, the checks a cached file must
 * pass before it runs, and the install script that puts a file there
 * once, atomically, under a lock.  The relay uses it for the helper
 * (relay/bootstrap.c), the library for --ship (lib/ship.c).
 * doc/PROTOCOL.md, "Bootstrap", describes both.
 *
 * The text is meant for single quotes: it holds no quote, backslash, "!"
 * or newline, so it can be handed to /bin/sh through any login shell.
 */
#ifndef CPREMOTE_CACHE_SCRIPT_H
#define CPREMOTE_CACHE_SCRIPT_H

#include <stddef.h>

/* The prefix of every marker line the scripts print on stdout. */
#define CPR_STUB_MARKER "cpremote-stub: "

/*
 * The cache directories, best first: the XDG cache, then a per-user
 * directory in $TMPDIR for a read-only, full or noexec HOME.
 */
#define CPR_CACHE_DIR1 "${XDG_CACHE_HOME:-$HOME/.cache}/cpremote"
#define CPR_CACHE_DIR2 "${TMPDIR:-/tmp}/cpremote-$(id -u)"
#define CPR_CACHE_DIRS "\"" CPR_CACHE_DIR1 "\" \"" CPR_CACHE_DIR2 "\""

/*
 * g() tells whether DIR/$n may run: the directory and the file are the
 * user's, neither is a symbolic link nor writable by group or others, the
 * file may be executed (false on a noexec mount), and its SHA-256 is $h
 * (when sha256sum is there).  It leaves the file's path in $f.  Both the
 * helper's run stub and the install script use it, so that "ready" means
 * the run stub would take that file too.
 */
#define CPR_CACHE_GOOD_FN                                                                                   \
	"g() { f=$1/$n; test -f \"$f\" && test -x \"$f\" && test -O \"$1\" && test -O \"$f\" || return 1; " \
	"ls -ld \"$1\" \"$f\" | while read m r; do case $m in l*|?????w*|????????w*) exit 1;; esac; done "  \
	"|| return 1; command -v sha256sum >/dev/null || return 0; case $(sha256sum <\"$f\") in \"$h \"*) " \
	"return 0;; esac; return 1; }; "

/* What the install script does once the file is in place. */
enum cpr_cache_then {
	CPR_CACHE_EXEC, /* exec it, on the script's own stdin and stdout (the helper) */
	CPR_CACHE_EXIT /* exit 0 (a shipped program, run by a spawn of its own) */
};

/* What to install. */
struct cpr_cache_file {
	const char *name; /* the file name in the cache: it names the content (e.g. holds SHA256) */
	const char *sha256; /* 64 lowercase hex digits */
	size_t len;
	const char *hint; /* the end of the "no place for it" message: what to do instead */
	enum cpr_cache_then then;
};

/*
 * The install script for F, one line of sh for `sh -c` or `eval`.  It
 * takes the host's install lock; then, when a usable copy is there
 * already, prints "cpremote-stub: ready PATH", else "cpremote-stub: send",
 * reads exactly F->len bytes from stdin (nothing past them), checks size
 * and hash, installs them atomically in the first usable cache directory
 * and prints "cpremote-stub: installed PATH".  Then it execs PATH or
 * exits 0 (F->then).  On a failure the last line of its stderr is the
 * reason, and it exits 1.  Malloc'ed; NULL when out of memory or when a
 * field cannot be quoted.
 */
char *cpr_cache_install_script(const struct cpr_cache_file *f);

/* Whether S may go inside the scripts' single quotes (no ' \ ! or newline). */
int cpr_cache_quotable(const char *s);

#endif
