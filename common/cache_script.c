/*
 * cache_script.c — the install script of the host's program cache (see
 * cache_script.h), shared by the helper's zero-install and --ship.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_script.h"

#define M CPR_STUB_MARKER
#define DIRS CPR_CACHE_DIRS

/* Extra KiB a cache directory must have free beyond the file itself. */
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
 * Concurrent first uses on one host install once: the script takes a lock
 * (mkdir is atomic) in the first directory p() accepts, and only its
 * holder asks for the bytes ("send"); one that gets the lock after
 * another install finds a file g() accepts and answers "ready PATH"
 * without receiving anything.  A live lock is waited for, up to 15 s,
 * within the relay's handshake deadline.  A lock whose holder is gone is
 * broken: its pid file names a dead process on this host, or, without one
 * of this host (a holder elsewhere sharing the home, or one killed before
 * writing it), it is over a minute old.  Breaking is itself done under a
 * second lock ("$L.b"), and rechecked there, so that two waiters never
 * both remove a lock and one of them a fresh one.  The holder removes the
 * temporary files of uploads cut off minutes ago: no live upload of this
 * protocol can own them while it holds the lock.
 *
 * p() makes DIR owner-only and checks it has room; a file found in a
 * directory others could write is dropped then, since g() would no longer
 * see that it cannot be trusted.  v() checks a copy's size and hash; q()
 * gives up for lack of a place, naming the owner of a directory that
 * someone else holds (a squatter of /tmp/cpremote-UID); x() drops the
 * lock; b() reads exactly $s bytes of stdin, never one more, since what
 * follows on that stdin may be another program's (the helper's frames):
 * `head -c` reads no further than asked, `dd bs=1` where head has no -c;
 * e() is the end (ready or installed: run it, or exit).
 * The file is received once, into the first usable directory; where
 * exec is not allowed there (noexec) it is copied on to the next.
 * rename() makes the install atomic, so that no one sees a torn file.
 * The umask of the login is put back before the helper runs: its
 * children inherit it.
 * Fields: name, hash, size, what to do instead, KiB needed, e().
 */
static const char install_fmt[] =
	"o=$(umask); umask 077; n=%s; h=%s; s=%zu; %s"
	"q() { w=; for d in " DIRS "; do test -e \"$d\" && { test -O \"$d\" || { set -- $(ls -ld \"$d\"); "
	"w=\"$w; $d belongs to $3, not to $(id -un)\"; }; }; done; echo \"" M
	"no place for it: neither " CPR_CACHE_DIR1 " nor " CPR_CACHE_DIR2
	" is an owner-only directory with room where programs may run$w; free space or allow exec there, "
	"or %s\" >&2; exit 1; }; "
	"p() { mkdir -p \"$1\" 2>/dev/null; test -d \"$1\" && test -O \"$1\" || return 1; "
	"test -L \"$1\" && return 1; case $(ls -ld \"$1\") in ?????w*|????????w*) chmod 700 \"$1\" "
	"2>/dev/null && rm -f \"$1/$n\";; esac; chmod 700 \"$1\" 2>/dev/null && test -w \"$1\" || return 1; "
	"command -v df >/dev/null || return 0; "
	"df -Pk \"$1\" 2>/dev/null | { read x; read x x x k x; test \"${k:-0}\" -gt %zu; }; }; "
	"v() { test \"$(wc -c <\"$1\")\" -eq $s || return 1; command -v sha256sum >/dev/null || return 0; "
	"case $(sha256sum <\"$1\") in \"$h \"*) return 0;; esac; return 1; }; "
	"b() { if head -c 0 </dev/null >/dev/null 2>&1; then head -c $s; else dd bs=1 count=$s 2>/dev/null; "
	"fi; }; " CPR_CACHE_GOOD_FN "L=; for d in " DIRS "; do p \"$d\" && L=$d/.lock && break; done; "
	"test -n \"$L\" || q; "
	"u=$(uname -n); k=0; until mkdir \"$L\" 2>/dev/null; do k=$((k+1)); "
	"test $k -le " LOCK_TICKS " || { echo \"" M "another install has held $L for " LOCK_WAIT
	"; try again, or remove that directory if none runs\" >&2; exit 1; }; "
	"if mkdir \"$L.b\" 2>/dev/null; then o2=$(cat \"$L/pid\" 2>/dev/null); case $o2 in \"$u:\"*) "
	"kill -0 \"${o2#*:}\" 2>/dev/null || rm -rf \"$L\";; *) test -n \"$(find \"$L\" -prune -mmin "
	"+" STALE_LOCK_MIN " 2>/dev/null)\" && rm -rf \"$L\";; esac; rmdir \"$L.b\"; else test -n "
	"\"$(find \"$L.b\" -prune -mmin +" STALE_LOCK_MIN " 2>/dev/null)\" && rmdir \"$L.b\"; fi; "
	"sleep 0.2 2>/dev/null || sleep 1; done; "
	"x() { trap - 0; rm -rf \"$L\"; }; trap x 0; trap \"exit 1\" 1 2 13 15; echo \"$u:$$\" >\"$L/pid\"; "
	"for d in " DIRS "; do g \"$d\" && { x; e ready \"$f\"; }; done; "
	"for d in " DIRS "; do for t in \"$d\"/.in.* \"$d\"/.new.*; do test -f \"$t\" && test -O \"$t\" && "
	"test -n \"$(find \"$t\" -mmin +" STALE_TMP_MIN " 2>/dev/null)\" && rm -f \"$t\"; done; done; "
	"echo \"" M "send\"; "
	"r=; for d in " DIRS "; do p \"$d\" || continue; "
	"if test -z \"$r\"; then r=$d/.in.$$; t=$r; if b >\"$r\" && v \"$r\"; then :; else rm -f \"$r\"; "
	"echo \"" M "the file did not arrive whole in $d (disk full?)\" >&2; exit 1; fi; "
	"else t=$d/.new.$$; cp \"$r\" \"$t\" 2>/dev/null && v \"$t\" || { rm -f \"$t\"; continue; }; fi; "
	"if chmod 700 \"$t\" && test -x \"$t\" && mv -f \"$t\" \"$d/$n\"; then rm -f \"$r\"; x; "
	"e installed \"$d/$n\"; fi; test \"$t\" = \"$r\" || rm -f \"$t\"; done; "
	"rm -f \"$r\"; q";

/* The ends: tell where the file is, then run it in this shell's place or stop. */
static const char end_exec[] = "e() { echo \"" M "$1 $2\"; umask $o; exec \"$2\"; }; ";
static const char end_exit[] = "e() { echo \"" M "$1 $2\"; exit 0; }; ";

int cpr_cache_quotable(const char *s)
{
	return strpbrk(s, "'\\!\n") == NULL;
}

char *cpr_cache_install_script(const struct cpr_cache_file *f)
{
	size_t need_k = f->len / 1024 + SPACE_MARGIN_K;
	const char *end = f->then == CPR_CACHE_EXEC ? end_exec : end_exit;
	int n;
	char *s;

	/* The name, hash and hint go inside the caller's single quotes, and the name unquoted into n=. */
	if (strspn(f->sha256, "0123456789abcdef") != 64 || f->sha256[64] != '\0' ||
	    !cpr_cache_quotable(f->name) || !cpr_cache_quotable(f->hint) ||
	    strpbrk(f->name, " \t;&|<>()$`\"*?[]#~=%/") || strpbrk(f->hint, "\"$`"))
		return NULL;
	n = snprintf(NULL, 0, install_fmt, f->name, f->sha256, f->len, end, f->hint, need_k);
	if (n < 0 || !(s = malloc((size_t)n + 1)))
		return NULL;
	snprintf(s, (size_t)n + 1, install_fmt, f->name, f->sha256, f->len, end, f->hint, need_k);
	return s;
}
