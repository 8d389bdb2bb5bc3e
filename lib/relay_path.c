/*
 * relay_path.c — which cpremote-relay the library starts: $CPREMOTE_RELAY
 * when the process may trust its environment, else the relay installed
 * beside the library (found from where the library itself was loaded, so
 * any prefix works, and a build tree finds its own), else the path
 * compiled in.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib.h"

#ifndef CPREMOTE_RELAY_PATH
#define CPREMOTE_RELAY_PATH "/usr/local/libexec/cpremote-relay"
#endif
/* From the installed library's directory to the installed relay (meson computes it). */
#ifndef CPREMOTE_RELAY_FROM_LIBDIR
#define CPREMOTE_RELAY_FROM_LIBDIR "../libexec/cpremote-relay"
#endif

/* An address inside this library, for dladdr(). */
static const char anchor;

/*
 * Writes the directory of the file this code was loaded from (the shared
 * library, or a program that links it statically) into BUF, symbolic
 * links resolved.  Returns 0, or -1 when it cannot be known.
 */
static int own_dir(char *buf, size_t size)
{
	Dl_info info;
	char *real = NULL, *slash;
	int r = -1;

	if (dladdr(&anchor, &info) == 0 || info.dli_fname == NULL)
		return -1;
	/* The main program is named "" by the dynamic linker. */
	real = realpath(info.dli_fname[0] != '\0' ? info.dli_fname : "/proc/self/exe", NULL);
	if (real == NULL || (slash = strrchr(real, '/')) == NULL)
		goto out;
	*slash = '\0';
	if ((size_t)snprintf(buf, size, "%s", real[0] != '\0' ? real : "/") >= size)
		goto out;
	r = 0;
out:
	free(real);
	return r;
}

/* Sets BUF to DIR/REL when that is an executable file; returns 1 then, else 0. */
static int try_path(char *buf, size_t size, const char *dir, const char *rel)
{
	if ((size_t)snprintf(buf, size, "%s/%s", dir, rel) >= size)
		return 0;
	return access(buf, X_OK) == 0;
}

/*
 * Picks the relay to start and writes its path into BUF (SIZE bytes;
 * PATH_MAX is enough).  Never fails: the compiled-in path is the last
 * resort, and starting it reports what is wrong.  Does not block.
 */
void lib_relay_path(char *buf, size_t size)
{
	/* Not from the environment of a setuid or setgid program: it would run the invoker's choice. */
	const char *env = secure_getenv("CPREMOTE_RELAY");
	char dir[PATH_MAX], probe[PATH_MAX];

	if (env != NULL && *env != '\0') {
		snprintf(buf, size, "%s", env);
		return;
	}
	if (own_dir(dir, sizeof(dir)) == 0) {
		if (CPREMOTE_RELAY_FROM_LIBDIR[0] != '/' &&
		    try_path(buf, size, dir, CPREMOTE_RELAY_FROM_LIBDIR))
			return;
		/* A meson build tree: the library in lib/, the relay in relay/. */
		if ((size_t)snprintf(probe, sizeof(probe), "%s/../build.ninja", dir) < sizeof(probe) &&
		    access(probe, F_OK) == 0 && try_path(buf, size, dir, "../relay/cpremote-relay"))
			return;
	}
	snprintf(buf, size, "%s", CPREMOTE_RELAY_PATH);
}
