/* boot_util.c — the zero-install tests' users, caches and cprun runs (boot_util.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot_util.h"
#include "bootstrap.h"
#include "tap.h"

void boot_init(void)
{
	fixture_dir(); /* skips without hosts */
	unsetenv("CPREMOTE_HELPER");
	unsetenv("CPREMOTE_NO_UPLOAD");
	unsetenv("CPREMOTE_TEST_HELPER_ARCH");
	if (geteuid() != 0)
		tap_skip_all("the zero-install tests need root (test users of their own)");
}

int boot_user(const char *name, struct boot_user *u)
{
	struct passwd *pw = getpwnam(name);

	memset(u, 0, sizeof *u);
	if (!pw)
		return -1;
	u->name = name;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	snprintf(u->home, sizeof u->home, "%s", pw->pw_dir);
	snprintf(u->cache, sizeof u->cache, "%s/.cache/cpremote", u->home);
	snprintf(u->tmp, sizeof u->tmp, "/tmp/cpremote-%u", (unsigned)u->uid);
	return 0;
}

int boot_sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	fflush(stdout);
	st = system(cmd);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void boot_clean(const struct boot_user *u)
{
	boot_sh("rm -rf '%s' '%s'", u->cache, u->tmp);
}

int boot_cprun(const struct boot_user *u, const char *host, const char *script, struct fixture_result *r)
{
	const char *args[] = { "-v", "-l", u->name, host, "sh", "-c", script, NULL };

	if (fixture_cprun(args, NULL, 0, 60, r) != 0)
		return -1;
	if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0) {
		printf("# cprun as %s on %s: status 0x%x, stderr: ", u->name, host, r->status);
		tap_print_escaped(r->err);
		putchar('\n');
	}
	return WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
}

int boot_uploaded(const struct fixture_result *r)
{
	return r->err && strstr(r->err, "uploading") != NULL;
}

int boot_find(const char *dir, char *path, size_t pathlen, struct stat *st)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	path[0] = '\0';
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		n++;
		if (strncmp(e->d_name, "cpremote-helper-", 16) == 0) {
			snprintf(path, pathlen, "%s/%s", dir, e->d_name);
			if (lstat(path, st) != 0)
				memset(st, 0, sizeof *st);
		}
	}
	closedir(d);
	return n;
}

int boot_is_helper(const char *path)
{
	const struct helper_blob *b = &helper_blobs[0];
	unsigned char *buf = malloc(b->len + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC), same = 0;
	size_t got = 0;
	ssize_t n;

	if (fd < 0 || !buf)
		goto out;
	while (got <= b->len && (n = read(fd, buf + got, b->len + 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		got += (size_t)n;
	}
	same = got == b->len && memcmp(buf, b->data, b->len) == 0 && strstr(path, b->sha256) != NULL;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return same;
}
