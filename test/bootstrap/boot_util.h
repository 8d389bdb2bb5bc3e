/*
 * boot_util.h — what the zero-install tests share: their dedicated users
 * on the test hosts (scripts/test-hosts creates them when run as root),
 * emptying those users' helper caches, running cprun as one of them, and
 * looking at what the bootstrap installed.
 */
#ifndef CPREMOTE_BOOT_UTIL_H
#define CPREMOTE_BOOT_UTIL_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fixture.h"

struct boot_user {
	const char *name;
	uid_t uid;
	gid_t gid;
	char home[256];
	char cache[300]; /* $HOME/.cache/cpremote: where the helper goes first */
	char tmp[64]; /* /tmp/cpremote-UID: the fallback */
};

/*
 * Prepares the test: checks the hosts, drops CPREMOTE_HELPER (these tests
 * exercise the upload) and skips the whole test unless run as root.
 */
void boot_init(void);

/* Looks user NAME up.  Returns 0, or -1 when the hosts have no such user (its shell is missing). */
int boot_user(const char *name, struct boot_user *u);

/* Removes both of U's helper caches (and what they hold), so the next spawn must upload. */
void boot_clean(const struct boot_user *u);

/*
 * Runs "cprun -v -l USER HOST sh -c SCRIPT" and collects its output.
 * Returns cprun's exit code, or -1 when it did not exit normally.
 */
int boot_cprun(const struct boot_user *u, const char *host, const char *script, struct fixture_result *r);

/* Whether cprun's stderr (at -v) tells that the relay uploaded the helper. */
int boot_uploaded(const struct fixture_result *r);

/*
 * Finds the installed helper in DIR: writes its path into PATH and fills
 * *st.  Returns the number of entries in DIR (helpers and anything else),
 * or -1 when DIR cannot be read; PATH is "" when no helper is there.
 */
int boot_find(const char *dir, char *path, size_t pathlen, struct stat *st);

/* Whether the file at PATH holds exactly the helper this relay embeds. */
int boot_is_helper(const char *path);

/* Runs a shell command locally (set-up that needs root); returns its exit code. */
int boot_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
