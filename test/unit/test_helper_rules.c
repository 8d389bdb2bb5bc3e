/*
 * test_helper_rules.c — the helper (run over pipes, helper_driver.h) on
 * the paths a shell user walks: a forwarded signal reaches the child's
 * whole process group (the foreground `sleep` under `sh -c`, and an
 * orphan that holds stdout after its shell exited), the relay's EOF on an
 * output stream makes the writer get SIGPIPE as `yes | head` would, and
 * the helper runs with its soft fd limit raised to the hard one while its
 * children get the original.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "helper_driver.h"
#include "proto.h"
#include "tap.h"

static uint8_t payload[CPR_MAX_DATA];

/* Reads frames for ID until it is SPAWNED (or fails); its pid, or 0. */
static uint32_t wait_spawned(struct hd *h, uint32_t id, struct hd_result *r)
{
	struct cpr_header f;
	long end = hd_now_ms() + 5000;

	while (!r->spawned && !r->error && hd_now_ms() < end)
		if (hd_next_frame(h, 1000, &f, payload) == 1)
			hd_record(h, id, &f, payload, r, 1);
	return r->spawned ? r->pid : 0;
}

/* Whether PID runs (a zombie does not count). */
static int running(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *fp;
	int yes = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), fp) != NULL && (p = strrchr(buf, ')')) != NULL)
		yes = p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
	fclose(fp);
	return yes;
}

/* A running process named COMM in process group PGID, waited for up to 3 s; its pid, or 0. */
static pid_t find_in_group(pid_t pgid, const char *comm)
{
	char path[300], buf[256], name[64];
	long end = hd_now_ms() + 3000;
	struct dirent *de;
	int pid, ppid, pgrp;
	char state;
	FILE *fp;
	DIR *d;

	while (hd_now_ms() < end) {
		if ((d = opendir("/proc")) == NULL)
			return 0;
		while ((de = readdir(d)) != NULL) {
			snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
			if ((fp = fopen(path, "r")) == NULL)
				continue;
			/* Names of the programs here have no spaces or parentheses. */
			if (fgets(buf, sizeof(buf), fp) != NULL &&
			    sscanf(buf, "%d (%63[^)]) %c %d %d", &pid, name, &state, &ppid, &pgrp) == 5 &&
			    pgrp == pgid && strcmp(name, comm) == 0 && state != 'Z') {
				fclose(fp);
				closedir(d);
				return pid;
			}
			fclose(fp);
		}
		closedir(d);
		usleep(20000);
	}
	return 0;
}

/* Waits up to MS for PID to stop running. */
static int gone_within(pid_t pid, long ms)
{
	long end = hd_now_ms() + ms;

	while (running(pid) && hd_now_ms() < end)
		usleep(20000);
	return !running(pid);
}

/* Ctrl-C as a terminal sends it: the foreground sleep of `sh -c 'sleep 100; :'` dies too. */
static void test_signal_group(struct hd *h)
{
	const char *argv[] = { "sh", "-c", "sleep 100; :", NULL };
	struct hd_spawn a = { .file = "sh", .argv = argv, .stdio = { 0, 0, 0 } };
	struct hd_result r = { 0 };
	pid_t pid, sleeper;

	hd_send_spawn(h, 1, &a);
	pid = (pid_t)wait_spawned(h, 1, &r);
	sleeper = pid > 0 ? find_in_group(pid, "sleep") : 0;
	ok(sleeper > 0, "SIGINT: the shell's sleep runs in the child's group");
	hd_send_u32(h, CPR_SIGNAL, 0, 1, cpr_signal_to_wire(SIGINT));
	hd_collect(h, 1, &r, 5000);
	ok(r.exited, "SIGINT: EXIT came");
	ok(sleeper > 0 && gone_within(sleeper, 2000), "SIGINT: the sleep got it too and is gone");
	if (sleeper > 0)
		kill(sleeper, SIGKILL);
	hd_result_free(&r);
}

/*
 * The shell exited, its background sleep holds stdout: the child is
 * reaped but not finished.  A signal still reaches the group, and the
 * EXIT follows at once instead of after 100 s.
 */
static void test_signal_orphan(struct hd *h)
{
	const char *argv[] = { "sh", "-c", "sleep 100 & exit 0", NULL };
	struct hd_spawn a = { .file = "sh", .argv = argv, .stdio = { 0, 1, 0 } };
	struct hd_result r = { 0 };
	pid_t pid, sleeper;
	long t0;

	hd_send_spawn(h, 2, &a);
	pid = (pid_t)wait_spawned(h, 2, &r);
	sleeper = pid > 0 ? find_in_group(pid, "sleep") : 0;
	ok(sleeper > 0, "orphan: the background sleep runs in the child's group");
	/* The shell ends first; give the helper time to reap it. */
	ok(pid > 0 && gone_within(pid, 2000), "orphan: the shell exited");
	usleep(100000);
	t0 = hd_now_ms();
	hd_send_u32(h, CPR_SIGNAL, 0, 2, cpr_signal_to_wire(SIGTERM));
	hd_collect(h, 2, &r, 5000);
	ok(r.exited && r.kind == CPR_EXITED && r.status == 0, "orphan: EXIT 0 (the shell's status)");
	ok(hd_now_ms() - t0 < 3000, "orphan: promptly after the signal");
	ok(sleeper > 0 && gone_within(sleeper, 2000), "orphan: the sleep got the signal and is gone");
	if (sleeper > 0)
		kill(sleeper, SIGKILL);
	hd_result_free(&r);
}

/* `yes | head -c ...`: the relay's EOF on stdout means its reader is gone; yes dies of SIGPIPE. */
static void test_reader_gone(struct hd *h, uint8_t stream)
{
	const char *out[] = { "yes", NULL };
	const char *err[] = { "sh", "-c", "exec yes >&2", NULL };
	struct hd_spawn a = { .file = stream == CPR_STDOUT ? "yes" : "sh",
			      .argv = stream == CPR_STDOUT ? out : err,
			      .stdio = { 0, 1, 1 } };
	const char *name = stream == CPR_STDOUT ? "stdout" : "stderr";
	struct hd_result r = { 0 };
	struct cpr_header f;
	char msg[128];
	long t0;

	hd_send_spawn(h, 3, &a);
	/* No CREDIT given back: the helper stops at the window, with yes blocked on a full pipe. */
	while (cpr_buf_len(&r.data[stream]) < 4096 && !r.exited && !r.error &&
	       hd_next_frame(h, 3000, &f, payload) == 1)
		hd_record(h, 3, &f, payload, &r, 0);
	snprintf(msg, sizeof(msg), "reader gone (%s): some output came first", name);
	ok(cpr_buf_len(&r.data[stream]) >= 4096, msg);
	t0 = hd_now_ms();
	hd_send_frame(h, CPR_EOF, stream, 3, NULL, 0);
	hd_collect(h, 3, &r, 5000);
	snprintf(msg, sizeof(msg), "reader gone (%s): EXIT, killed by SIGPIPE (wire 13)", name);
	ok(r.exited && r.kind == CPR_SIGNALED && r.status == 13, msg);
	if (!r.exited || r.kind != CPR_SIGNALED || r.status != 13)
		printf("#   exited %d kind %u status %u\n", r.exited, r.kind, r.status);
	snprintf(msg, sizeof(msg), "reader gone (%s): within 2 s", name);
	ok(hd_now_ms() - t0 < 2000, msg);
	hd_result_free(&r);
}

/* The value of "Max open files" in /proc/PID/limits: soft and hard, -1 when not found. */
static void nofile_of(pid_t pid, long *soft, long *hard)
{
	char path[64], line[256];
	FILE *fp;

	*soft = *hard = -1;
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "Max open files", 14) == 0 && sscanf(line + 14, "%ld %ld", soft, hard) != 2)
			*soft = *hard = -1;
	fclose(fp);
}

/* Started under a soft limit of 256: the helper raises its own to the hard limit, its children keep 256. */
static void test_nofile(void)
{
	const char *argv[] = { "sh", "-c", "ulimit -Sn", NULL };
	struct hd_spawn a = { .file = "sh", .argv = argv, .stdio = { 0, 1, 0 } };
	struct rlimit orig, low;
	struct hd_result r = { 0 };
	long soft, hard;
	struct hd h;
	int started;

	if (getrlimit(RLIMIT_NOFILE, &orig) < 0 || orig.rlim_max <= 256) {
		ok(1, "fd limit # SKIP the hard fd limit is 256 or less");
		return;
	}
	low = (struct rlimit){ .rlim_cur = 256, .rlim_max = orig.rlim_max };
	setrlimit(RLIMIT_NOFILE, &low);
	started = hd_start(&h, NULL) == 0;
	setrlimit(RLIMIT_NOFILE, &orig);
	if (!ok(started && hd_hello(&h) == 0, "fd limit: helper started under a soft limit of 256")) {
		hd_end(&h, 0);
		return;
	}
	nofile_of(h.pid, &soft, &hard);
	ok(soft == hard && hard == (long)orig.rlim_max, "fd limit: the helper's soft limit is the hard one");
	if (soft != hard)
		printf("#   helper: soft %ld, hard %ld\n", soft, hard);
	hd_send_spawn(&h, 1, &a);
	hd_collect(&h, 1, &r, 5000);
	ok_str(hd_text(&r, CPR_STDOUT), "256\n",
	       "fd limit: a child gets the soft limit the helper was given");
	hd_result_free(&r);
	hd_close_input(&h);
	hd_end(&h, 5000);
}

int main(void)
{
	struct hd h;

	signal(SIGPIPE, SIG_IGN);
	if (getenv("CPREMOTE_HELPER") == NULL)
		tap_skip_all("CPREMOTE_HELPER not set");
	if (!ok(hd_start(&h, NULL) == 0 && hd_hello(&h) == 0, "helper started, hello exchanged"))
		return tap_done();
	test_signal_group(&h);
	test_signal_orphan(&h);
	test_reader_gone(&h, CPR_STDOUT);
	test_reader_gone(&h, CPR_STDERR);
	hd_close_input(&h);
	hd_end(&h, 10000);
	test_nofile();
	return tap_done();
}
