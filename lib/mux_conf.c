/*
 * mux_conf.c — the ControlMaster, ControlPath and ControlPersist of one
 * destination, as ssh would take them: from the -o list when it names
 * them with a literal path (no process started, the fast path of a warm
 * spawn), else from OpenSSH's own `ssh -G`, which applies the ssh_config
 * and expands the %-tokens.  `ssh -G` runs only when a ControlPath has
 * tokens or a config file could set one, so a caller that never asked for
 * a shared connection pays nothing.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib.h"
#include "sshconf.h"


/*
 * The value of KEY in the "-o" list, first value winning as with ssh;
 * NULL when not given.
 */
static const char *opt_value(const char *const *opts, const char *key)
{
	size_t n = strlen(key);

	for (const char *const *o = opts; o && *o; o++)
		if (strncasecmp(*o, key, n) == 0 && ((*o)[n] == '=' || (*o)[n] == ' ' || (*o)[n] == '\t'))
			return *o + n + strspn(*o + n, "= \t");
	return NULL;
}

/* ControlMaster's value as a LIB_MUX_* mode; -1 when unknown.  "ask" never prompts here. */
static int master_mode(const char *v)
{
	if (v == NULL || !strcasecmp(v, "no") || !strcasecmp(v, "false"))
		return LIB_MUX_NO;
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "ask"))
		return LIB_MUX_YES;
	if (!strcasecmp(v, "auto") || !strcasecmp(v, "autoask"))
		return LIB_MUX_AUTO;
	return -1;
}

/* ControlPersist in seconds (ssh's time format: 30, 10m, 1h), -1 for "yes", 0 for "no"; -2 when bad. */
static long persist_seconds(const char *v)
{
	long total = 0;

	if (v == NULL || !strcasecmp(v, "no") || !strcasecmp(v, "false"))
		return 0;
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true"))
		return -1;
	while (*v) {
		char *end;
		long n = strtol(v, &end, 10), unit = 1;

		if (end == v || n < 0)
			return -2;
		switch (tolower((unsigned char)*end)) {
		case '\0':
			break;
		case 's':
			unit = 1;
			end++;
			break;
		case 'm':
			unit = 60;
			end++;
			break;
		case 'h':
			unit = 3600;
			end++;
			break;
		case 'd':
			unit = 86400;
			end++;
			break;
		case 'w':
			unit = 7 * 86400;
			end++;
			break;
		default:
			return -2;
		}
		if (n > 100L * 365 * 86400 / unit)
			return -2;
		total += n * unit;
		v = end;
	}
	return total;
}

/* Whether the config files ssh would read for O could set a ControlPath. */
static int config_may_set(const struct cpremote_options *o)
{
	static const char *const keys[] = { "ControlPath", "ControlMaster", NULL };

	return sshconf_files_mention(lib_ssh_config(o), keys);
}

/* Fills M from the three values (NULL: not set).  0, or CPREMOTE_EINVAL with the message set. */
static int settings_from(const char *master, const char *path, const char *persist, struct lib_mux *m)
{
	m->mode = master_mode(master);
	m->persist_s = persist_seconds(persist);
	if (m->mode < 0 || m->persist_s < -1) {
		lib_errmsg_set("bad value for %s: \"%s\"", m->mode < 0 ? "ControlMaster" : "ControlPersist",
			       m->mode < 0 ? master : persist);
		return CPREMOTE_EINVAL;
	}
	m->path[0] = '\0';
	if (path == NULL || !strcasecmp(path, "none"))
		return 0;
	if (strlen(path) >= sizeof m->path) {
		lib_errmsg_set("ControlPath \"%s\" is too long for a socket (%zu bytes at most)", path,
			       sizeof m->path - 1);
		return CPREMOTE_EINVAL;
	}
	if (path[0] != '/') {
		lib_errmsg_set("ControlPath \"%s\" is not an absolute path", path);
		return CPREMOTE_EINVAL;
	}
	strcpy(m->path, path);
	return 0;
}

/*
 * The answers of `ssh -G` this process had, so that many children on a
 * few destinations (a fan-out) run it once per destination, not per child.
 */
#define CACHE_SLOTS 16
static struct {
	char *key;
	struct lib_mux m;
} cache[CACHE_SLOTS];
static unsigned cache_next;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* A fork must not copy cache_lock held by another thread (the child could never take it). */
static void atfork_prepare(void)
{
	pthread_mutex_lock(&cache_lock);
}

static void atfork_release(void)
{
	pthread_mutex_unlock(&cache_lock);
}

static void atfork_register(void)
{
	(void)pthread_atfork(atfork_prepare, atfork_release, atfork_release);
}

/* What `ssh -G` depends on, as one string (malloc'ed), or NULL. */
static char *cache_key(const struct cpremote_options *o)
{
	size_t n = 64;
	char *k, *p;

	n += strlen(o->host) + (o->user ? strlen(o->user) : 0) +
	     (lib_ssh_config(o) ? strlen(lib_ssh_config(o)) : 0);
	for (const char *const *x = o->ssh_options; x && *x; x++)
		n += strlen(*x) + 1;
	if (!(k = malloc(n)))
		return NULL;
	p = k + sprintf(k, "%s\n%s\n%d\n%s", o->host, o->user ? o->user : "", o->port,
			lib_ssh_config(o) ? lib_ssh_config(o) : "");
	for (const char *const *x = o->ssh_options; x && *x; x++)
		p += sprintf(p, "\n%s", *x);
	return k;
}

/* Looks KEY up (FOUND: copies into *M and returns 1) or stores *M under it. */
static int cache_use(char *key, struct lib_mux *m, int store)
{
	int hit = 0;

	pthread_once(&atfork_once, atfork_register);
	pthread_mutex_lock(&cache_lock);
	for (unsigned i = 0; i < CACHE_SLOTS && !store && !hit; i++)
		if (cache[i].key && strcmp(cache[i].key, key) == 0) {
			*m = cache[i].m;
			hit = 1;
		}
	if (store) {
		unsigned i = cache_next++ % CACHE_SLOTS;

		free(cache[i].key);
		cache[i].key = strdup(key);
		cache[i].m = *m;
	}
	pthread_mutex_unlock(&cache_lock);
	return hit;
}

static int settings_from_ssh_uncached(const struct cpremote_options *o, struct lib_mux *m);

/* The values from `ssh -G` for O, once per destination.  0, or a negative code with the message set. */
static int settings_from_ssh(const struct cpremote_options *o, struct lib_mux *m)
{
	char *key = cache_key(o);
	int r;

	if (key && cache_use(key, m, 0)) {
		free(key);
		return 0;
	}
	r = settings_from_ssh_uncached(o, m);
	if (key && r == 0)
		(void)cache_use(key, m, 1);
	free(key);
	return r;
}

/* `ssh -G` itself for O.  0, or a negative code with the message set. */
static int settings_from_ssh_uncached(const struct cpremote_options *o, struct lib_mux *m)
{
	struct sshconf_query q = { .config = lib_ssh_config(o),
				   .user = o->user,
				   .port = o->port,
				   .options = o->ssh_options,
				   .host = o->host };
	struct sshconf c = { 0 };
	char msg[1024];
	int r = sshconf_eval(&q, &c, msg, sizeof msg);

	if (r == -ENOENT) {
		/* Without the OpenSSH client only the -o list counts. */
		return settings_from(opt_value(o->ssh_options, "ControlMaster"),
				     opt_value(o->ssh_options, "ControlPath"),
				     opt_value(o->ssh_options, "ControlPersist"), m);
	}
	if (r < 0) {
		lib_errmsg_set("%s: %s", o->host, msg);
		return r;
	}
	r = settings_from(sshconf_get(&c, "controlmaster"), sshconf_get(&c, "controlpath"),
			  sshconf_get(&c, "controlpersist"), m);
	sshconf_free(&c);
	return r;
}

int lib_mux_options(const struct cpremote_options *o, const struct lib_mux *m, const char ***listp)
{
	size_t n = 0;
	const char **list;
	char *persist;

	*listp = NULL;
	if (m->path[0] == '\0' || opt_value(o->ssh_options, "ControlPersist"))
		return 0;
	for (const char *const *x = o->ssh_options; x && *x; x++)
		n++;
	/* The list, its NULL and the option's text in one block: one free(). */
	if (!(list = malloc((n + 2) * sizeof *list + 48)))
		return -ENOMEM;
	persist = (char *)(list + n + 2);
	if (m->persist_s < 0)
		snprintf(persist, 48, "ControlPersist=yes");
	else
		snprintf(persist, 48, "ControlPersist=%ld", m->persist_s);
	memcpy(list, o->ssh_options ? (const void *)o->ssh_options : (const void *)"", n * sizeof *list);
	list[n] = persist;
	list[n + 1] = NULL;
	*listp = list;
	return 0;
}

int lib_mux_settings(const struct cpremote_options *o, struct lib_mux *m)
{
	const char *path = opt_value(o->ssh_options, "ControlPath");

	if (path && strcasecmp(path, "none") && !strpbrk(path, "%~"))
		return settings_from(opt_value(o->ssh_options, "ControlMaster"), path,
				     opt_value(o->ssh_options, "ControlPersist"), m);
	if (path && !strcasecmp(path, "none")) {
		m->mode = LIB_MUX_NO;
		m->path[0] = '\0';
		return 0;
	}
	if (path || config_may_set(o))
		return settings_from_ssh(o, m);
	m->mode = LIB_MUX_NO;
	m->path[0] = '\0';
	m->persist_s = 0;
	return 0;
}
