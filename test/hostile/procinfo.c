/*
 * procinfo.c — reads /proc for the hostile and backpressure tests: finds
 * the test's own relay by a tag in its environment and reads memory
 * high-water marks and parents from /proc/PID/status.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procinfo.h"

static char tag[64];

void procinfo_tag_self(void)
{
	snprintf(tag, sizeof(tag), "%s=%ld", PROCINFO_TAG_VAR, (long)getpid());
	setenv(PROCINFO_TAG_VAR, strchr(tag, '=') + 1, 1);
}

/* Reads all of a small /proc file into BUF (NUL-terminated); returns its length or -1. */
static ssize_t slurp(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

/* Whether PID's environment holds our tag exactly (the file is NUL-separated). */
static int has_tag(const char *pid)
{
	static char env[256 * 1024];
	char path[300];
	ssize_t n, i;

	snprintf(path, sizeof(path), "/proc/%s/environ", pid);
	if ((n = slurp(path, env, sizeof(env))) <= 0)
		return 0;
	for (i = 0; i < n; i += (ssize_t)strlen(env + i) + 1)
		if (strcmp(env + i, tag) == 0)
			return 1;
	return 0;
}

pid_t procinfo_find_relay(void)
{
	DIR *d;
	struct dirent *e;
	char path[300], cmd[4096];
	pid_t found = -1;

	if (tag[0] == '\0' || (d = opendir("/proc")) == NULL)
		return -1;
	while (found < 0 && (e = readdir(d)) != NULL) {
		ssize_t n;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		if ((n = slurp(path, cmd, sizeof(cmd))) <= 0)
			continue;
		/* argv[0] is "cpremote-relay"; under a wrapper (valgrind) it is a later argument. */
		if (memmem(cmd, (size_t)n, "cpremote-relay", 14) == NULL ||
		    memmem(cmd, (size_t)n, "--control-fd", 12) == NULL)
			continue;
		if (has_tag(e->d_name))
			found = (pid_t)atol(e->d_name);
	}
	closedir(d);
	return found;
}

/* The value of "NAME:" in /proc/PID/status as a number, or -1. */
static long status_field(pid_t pid, const char *name)
{
	char path[64], buf[8192], *p;
	size_t nl = strlen(name);

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if (slurp(path, buf, sizeof(buf)) < 0)
		return -1;
	for (p = buf; p != NULL && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, name, nl) == 0 && p[nl] == ':')
			return strtol(p + nl + 1, NULL, 10);
	return -1;
}

long procinfo_vm_kib(pid_t pid, const char *field)
{
	return status_field(pid, field);
}

pid_t procinfo_ppid(pid_t pid)
{
	return (pid_t)status_field(pid, "PPid");
}

int procinfo_alive(pid_t pid)
{
	char path[64], buf[8192], *p;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if (pid <= 0 || slurp(path, buf, sizeof(buf)) < 0 || (p = strstr(buf, "\nState:")) == NULL)
		return 0;
	p += strlen("\nState:");
	p += strspn(p, " \t");
	/* Z zombie, X dead: gone already, only not reaped. */
	return *p != 'Z' && *p != 'X';
}

const char *procinfo_hwm_unmeasurable(void)
{
	if (getenv("CPREMOTE_VALGRIND_RELAY") != NULL)
		return "the relay runs under valgrind";
#if defined(__SANITIZE_ADDRESS__)
	return "built with AddressSanitizer";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	return "built with AddressSanitizer";
#endif
#endif
	return NULL;
}
