/*
 * test_secure_env.c — a setuid program linking the library ignores
 * CPREMOTE_RELAY, CPREMOTE_HELPER and CPREMOTE_SSH_CONFIG (secure_getenv),
 * so an invoker cannot make it run a relay of their choice with its
 * privileges, nor a helper of their choice on the host, nor read an
 * ssh_config (a ProxyCommand) of their choice.  A plain program takes
 * CPREMOTE_SSH_CONFIG as the default ssh_config.  This test copies itself twice, once plain and
 * once setuid root, and runs both as "nobody" with the two variables set;
 * the copies (argument --show) print what the library would use.  Needs
 * root (to make the setuid copy); skips otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib.h"
#include "tap.h"

#define EVIL_RELAY "/nonexistent/evil-relay"
#define EVIL_HELPER "/nonexistent/evil-helper"
#define EVIL_CONFIG "/nonexistent/evil-config"

/* In a copy: the relay the library would start and the helper its SPAWN would name. */
static int show(void)
{
	struct cpremote_options o = CPREMOTE_OPTIONS_INIT;
	struct cpr_buf f = { 0 };
	struct cpr_header h;
	struct cpr_reader rd;
	const uint8_t *pl, *v;
	char path[PATH_MAX];
	uint32_t vlen;
	uint8_t tag;
	int found = 0, config = 0;

	lib_relay_path(path, sizeof(path));
	printf("relay=%s\n", path);
	o.host = "h";
	o.file = "f";
	if (lib_spawn_frame(&o, NULL, &f) < 0 ||
	    cpr_frame_next(cpr_buf_peek(&f), cpr_buf_len(&f), &h, &pl) <= 0)
		return 1;
	rd = (struct cpr_reader){ pl, h.length };
	while (cpr_field_next(&rd, &tag, &v, &vlen) == 1) {
		if (tag == CPR_F_HELPER) {
			printf("helper=%.*s\n", (int)vlen, (const char *)v);
			found = 1;
		}
		if (tag == CPR_F_CONFIG) {
			printf("config=%.*s\n", (int)vlen, (const char *)v);
			config = 1;
		}
	}
	if (!config)
		printf("config=(none)\n");
	if (!found)
		printf("helper=(none)\n");
	cpr_buf_free(&f);
	return 0;
}

/* Copies /proc/self/exe to DST with MODE; 0 or -1. */
static int copy_self(const char *dst, mode_t mode)
{
	char buf[65536];
	int in, out, r = -1;
	ssize_t n;

	if ((in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700)) < 0)
		goto out;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			goto out;
	/* chmod after chown: chown clears the setuid bit. */
	if (n == 0 && fchown(out, 0, 0) == 0 && fchmod(out, mode) == 0)
		r = 0;
out:
	close(in);
	if (out >= 0)
		close(out);
	return r;
}

/* Runs PROG --show as nobody with the variables set; its output in OUT (SIZE bytes). */
static void run_as_nobody(const char *prog, char *out, size_t size)
{
	char cmd[PATH_MAX + 256];
	size_t len = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "CPREMOTE_RELAY=" EVIL_RELAY " CPREMOTE_HELPER=" EVIL_HELPER
		 " CPREMOTE_SSH_CONFIG=" EVIL_CONFIG
		 " setpriv --reuid=65534 --regid=65534 --clear-groups %s --show",
		 prog);
	out[0] = '\0';
	if ((p = popen(cmd, "r")) == NULL)
		return;
	while (len + 1 < size && fgets(out + len, (int)(size - len), p) != NULL)
		len += strlen(out + len);
	pclose(p);
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/secenv-test.XXXXXX", plain[64], suid[64], out[1024];

	if (argc == 2 && strcmp(argv[1], "--show") == 0)
		return show();
	if (geteuid() != 0)
		tap_skip_all("needs root to make a setuid copy of itself");
	if (access("/usr/bin/setpriv", X_OK) != 0)
		tap_skip_all("setpriv is not installed");
	if (!ok(mkdtemp(dir) != NULL && chmod(dir, 0755) == 0, "a directory for the copies"))
		return tap_done();
	snprintf(plain, sizeof(plain), "%s/plain", dir);
	snprintf(suid, sizeof(suid), "%s/suid", dir);
	ok(copy_self(plain, 0755) == 0, "a plain copy");
	ok(copy_self(suid, 04755) == 0, "a setuid-root copy");

	run_as_nobody(plain, out, sizeof(out));
	ok_contains(out, "relay=" EVIL_RELAY "\n", "plain: CPREMOTE_RELAY is used");
	ok_contains(out, "helper=" EVIL_HELPER "\n", "plain: CPREMOTE_HELPER is used");
	ok_contains(out, "config=" EVIL_CONFIG "\n", "plain: CPREMOTE_SSH_CONFIG is the default ssh_config");
	run_as_nobody(suid, out, sizeof(out));
	ok_contains(out, "relay=", "setuid: the copy ran");
	ok(strstr(out, EVIL_RELAY) == NULL, "setuid: CPREMOTE_RELAY is ignored");
	ok_contains(out, "helper=(none)\n", "setuid: CPREMOTE_HELPER is ignored");
	ok_contains(out, "config=(none)\n", "setuid: CPREMOTE_SSH_CONFIG is ignored");
	if (tap_failed)
		printf("#   setuid copy printed: %s\n", out);

	unlink(plain);
	unlink(suid);
	rmdir(dir);
	return tap_done();
}
