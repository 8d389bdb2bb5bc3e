/*
 * faults.c — the fault tests' shared parts: scratch directory, netproxy,
 * the remote target, /proc lookups and a background cprun.
 */
#include <dirent.h>
#include <pwd.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faults.h"
#include "fixture.h"

static char tmpdir[256];
static char logpath[300];
static char tag[64];
static char child_path[4096];

/*
 * Reads up to SIZE - 1 bytes of /proc/PID/WHAT into BUF with a NUL after
 * them, in one read (enough for the stat, comm and environment of the
 * processes these tests look for).  The count, or -1 when the
 * process or the file is gone.
 */
static ssize_t read_proc(pid_t pid, const char *what, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* Reads /proc/PID/stat: state, parent and start time.  Returns 0 or -1. */
static int read_stat(pid_t pid, char *state, pid_t *ppid, unsigned long long *start)
{
	char buf[1024], *p;
	unsigned long long st = 0;
	int field, pp = 0;

	if (read_proc(pid, "stat", buf, sizeof(buf)) <= 0)
		return -1;
	/* The command name may hold spaces and parentheses: start after the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL || p[1] == '\0')
		return -1;
	p += 2;
	*state = *p;
	for (field = 3; field <= 22 && p != NULL; field++) {
		if (field == 4)
			pp = atoi(p);
		if (field == 22)
			st = strtoull(p, NULL, 10);
		p = strchr(p, ' ');
		if (p != NULL)
			p++;
	}
	if (ppid)
		*ppid = pp;
	if (start)
		*start = st;
	return 0;
}

int fault_proc_get(pid_t pid, struct fault_proc *p)
{
	char state;

	p->pid = pid;
	return pid > 0 ? read_stat(pid, &state, NULL, &p->start) : -1;
}

pid_t fault_ppid(pid_t pid)
{
	char state;
	pid_t pp;

	return read_stat(pid, &state, &pp, NULL) == 0 ? pp : -1;
}

int fault_proc_exists(const struct fault_proc *p)
{
	unsigned long long st;
	char state;

	return p->pid > 0 && read_stat(p->pid, &state, NULL, &st) == 0 && st == p->start;
}

int fault_proc_zombie(const struct fault_proc *p)
{
	unsigned long long st;
	char state;

	return p->pid > 0 && read_stat(p->pid, &state, NULL, &st) == 0 && st == p->start && state == 'Z';
}

double fault_wait_gone(const struct fault_proc *ps, int n, double timeout_s)
{
	double t0 = fixture_now();
	int i, alive;

	for (;;) {
		alive = 0;
		for (i = 0; i < n; i++)
			alive |= fault_proc_exists(&ps[i]);
		if (!alive)
			return fixture_now() - t0;
		if (fixture_now() - t0 > timeout_s)
			break;
		usleep(20000);
	}
	for (i = 0; i < n; i++)
		if (fault_proc_exists(&ps[i]))
			printf("#   pid %d still there%s\n", (int)ps[i].pid,
			       fault_proc_zombie(&ps[i]) ? " (zombie)" : "");
	return -1;
}

int fault_zombies_of(const struct fault_proc *ps, int n)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int count = 0, i;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		pid_t pid = atoi(e->d_name), pp;
		char state;

		if (pid <= 0 || read_stat(pid, &state, &pp, NULL) < 0 || state != 'Z')
			continue;
		if (pp == getpid())
			count++;
		for (i = 0; i < n; i++)
			if (ps[i].pid == pp && fault_proc_exists(&ps[i]))
				count++;
	}
	closedir(d);
	return count;
}

pid_t fault_find_env(const char *entry, const char *comm)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;
	size_t elen = strlen(entry) + 1;

	if (d == NULL)
		return 0;
	while (found == 0 && (e = readdir(d)) != NULL) {
		pid_t pid = atoi(e->d_name);
		char buf[65536];
		ssize_t n;

		if (pid <= 0 || pid == getpid())
			continue;
		if (comm != NULL) {
			if (read_proc(pid, "comm", buf, sizeof(buf)) <= 0)
				continue;
			buf[strcspn(buf, "\n")] = '\0';
			if (strcmp(buf, comm) != 0)
				continue;
		}
		if ((n = read_proc(pid, "environ", buf, sizeof(buf))) <= 0)
			continue;
		/* Entries are NUL-separated: match a whole one. */
		for (char *p = buf; p < buf + n; p += strlen(p) + 1) {
			buf[n] = '\0';
			if ((size_t)(buf + n - p) >= elen - 1 && strcmp(p, entry) == 0) {
				found = pid;
				break;
			}
		}
	}
	closedir(d);
	return found;
}

/*
 * Whether NAME in DIR looks like something the product or sshd could
 * leave: anything the remote user owns (but the fault tests' own scratch
 * directories), or ssh/libssh temporaries of anyone.  (cp-remote itself
 * makes no temporary file; other tests' files are not ours to judge.)
 */
static int suspicious(const char *dir, const char *name, uid_t remote_uid)
{
	char path[1200];
	struct stat st;

	if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
		return 0;
	if (strncmp(name, "cpr-fault-", 10) == 0)
		return 0;
	if (strncmp(name, "ssh-", 4) == 0 || strncmp(name, "libssh", 6) == 0)
		return 1;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return remote_uid != (uid_t)-1 && lstat(path, &st) == 0 && st.st_uid == remote_uid;
}

size_t fault_temp_files(char *buf, size_t len)
{
	struct passwd *pw = getuid() == 0 ? getpwnam("cprtest") : NULL;
	uid_t uid = pw != NULL ? pw->pw_uid : (uid_t)-1;
	char home[512] = "";
	const char *dirs[3] = { "/tmp", "/dev/shm", home };
	size_t used = 0;
	struct dirent *e;
	DIR *d;

	/* The remote user's home: only when it is a dedicated test user, not our own. */
	if (pw != NULL)
		snprintf(home, sizeof(home), "%s", pw->pw_dir);
	buf[0] = '\0';
	for (int i = 0; i < 3; i++) {
		if (dirs[i][0] == '\0' || (d = opendir(dirs[i])) == NULL)
			continue;
		while ((e = readdir(d)) != NULL) {
			if (!suspicious(dirs[i], e->d_name, uid))
				continue;
			used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s/%s\n", dirs[i],
						 e->d_name);
		}
		closedir(d);
	}
	return used;
}

/* Lines of AFTER that are not in BEFORE: new temporary files. */
int fault_new_files(const char *before, const char *after)
{
	const char *p = after, *nl;
	char line[1200];
	int n = 0;

	for (; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		size_t l = (size_t)(nl - p) + 1;

		if (l >= sizeof(line))
			continue;
		memcpy(line, p, l);
		line[l] = '\0';
		if (strstr(before, line) == NULL) {
			printf("#   new: %s", line);
			n++;
		}
	}
	return n;
}

int fault_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	/* opendir's own fd is not the caller's. */
	return n - 1;
}

const char *fault_tmpdir(void)
{
	if (tmpdir[0] == '\0') {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/cpr-fault-XXXXXX");
		if (mkdtemp(tmpdir) == NULL) {
			perror("mkdtemp");
			exit(1);
		}
		/* The remote user (cprtest) writes the target's log here. */
		chmod(tmpdir, 0777);
	}
	return tmpdir;
}

const char *fault_tag(void)
{
	if (tag[0] == '\0')
		snprintf(tag, sizeof(tag), "CPREMOTE_FAULT_TAG=%d-%ld", (int)getpid(), (long)time(NULL));
	return tag;
}

void fault_tmpdir_remove(void)
{
	DIR *d;
	struct dirent *e;
	char path[600];

	if (tmpdir[0] == '\0' || (d = opendir(tmpdir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(tmpdir);
}

int fault_proxy_start(struct fault_proxy *px, const char *addr)
{
	const char *port_env = fixture_port();
	const char *dir = getenv("CPREMOTE_TEST_DIR");
	char *proxy = fixture_prog("tools/netproxy"), *kh = NULL;
	char listen[64], target[64], line[4096], want[64], buf[16];
	int p[2] = { -1, -1 }, r = -1;
	FILE *in = NULL, *out = NULL;
	ssize_t n;

	memset(px, 0, sizeof(*px));
	px->pid = -1;
	snprintf(px->fifo, sizeof(px->fifo), "%s/proxy.ctl", fault_tmpdir());
	snprintf(px->known_hosts, sizeof(px->known_hosts), "%s/known_hosts", fault_tmpdir());
	snprintf(listen, sizeof(listen), "%s:0", addr);
	snprintf(target, sizeof(target), "%s:%s", addr, port_env);
	if (pipe2(p, O_CLOEXEC) < 0)
		goto out;
	fflush(stdout);
	if ((px->pid = fork()) == 0) {
		dup2(p[1], 1);
		/* Only the processes of the product carry the tag. */
		unsetenv("CPREMOTE_FAULT_TAG");
		execl(proxy, "netproxy", "-c", px->fifo, listen, target, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	p[1] = -1;
	n = read(p[0], buf, sizeof(buf) - 1);
	if (n <= 0)
		goto out;
	buf[n] = '\0';
	px->port = atoi(buf);
	r = 0;
	/* Without test hosts (netproxy's own test) there is no host key to record. */
	if (dir == NULL || *dir == '\0')
		goto out;
	r = -1;
	kh = fixture_file("known_hosts");
	/* The host's key, recorded under the proxy's address and port. */
	snprintf(want, sizeof(want), "[%s]:%s ", addr, port_env);
	if ((in = fopen(kh, "re")) == NULL || (out = fopen(px->known_hosts, "we")) == NULL)
		goto out;
	while (fgets(line, sizeof(line), in) != NULL)
		if (strncmp(line, want, strlen(want)) == 0)
			fprintf(out, "[%s]:%d %s", addr, px->port, line + strlen(want));
	snprintf(px->kh_option, sizeof(px->kh_option), "UserKnownHostsFile=%s", px->known_hosts);
	r = px->port > 0 ? 0 : -1;
out:
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	free(proxy);
	free(kh);
	return r;
}

int fault_proxy_cmd(struct fault_proxy *px, const char *cmd)
{
	char line[128];
	int fd, n, r;

	if ((fd = open(px->fifo, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	n = snprintf(line, sizeof(line), "%s\n", cmd);
	r = write(fd, line, (size_t)n) == n ? 0 : -1;
	close(fd);
	/* The proxy acts from its loop: give it a moment so the effect has happened on return. */
	usleep(100000);
	return r;
}

void fault_proxy_stop(struct fault_proxy *px)
{
	if (px->pid <= 0)
		return;
	kill(px->pid, SIGTERM);
	while (waitpid(px->pid, NULL, 0) < 0 && errno == EINTR)
		;
	px->pid = -1;
	unlink(px->fifo);
	unlink(px->known_hosts);
}

void fault_child_argv(const char *argv[4], const char *mode)
{
	if (child_path[0] == '\0') {
		char *p = fixture_prog("faults/fault_child");

		snprintf(child_path, sizeof(child_path), "%s", p);
		free(p);
	}
	argv[0] = child_path;
	argv[1] = mode;
	argv[2] = fault_child_log();
	argv[3] = NULL;
}

const char *fault_child_log(void)
{
	if (logpath[0] == '\0')
		snprintf(logpath, sizeof(logpath), "%s/child.log", fault_tmpdir());
	return logpath;
}

int fault_term_got(pid_t pid)
{
	FILE *f = fopen(fault_child_log(), "re");
	char line[128];
	int got = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "TERM ", 5) == 0 && atoi(line + 5) == (int)pid)
			got = 1;
	fclose(f);
	return got;
}

int fault_read_pids(int fd, pid_t *pid, pid_t *gpid, double timeout_s)
{
	double deadline = fixture_now() + timeout_s;
	char line[128];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(line) - 1) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		double left = deadline - fixture_now();

		if (left <= 0 || poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
			return -1;
		n = read(fd, line + len, 1);
		if (n <= 0)
			return -1;
		if (line[len] == '\n') {
			line[len] = '\0';
			int a = 0, b = 0;
			if (sscanf(line, "%d %d", &a, &b) != 2)
				return -1;
			*pid = a;
			*gpid = b;
			return 0;
		}
		len++;
	}
	return -1;
}

int fault_remote_procs(pid_t child, pid_t gchild, struct fault_proc ps[5])
{
	pid_t helper = fault_ppid(child), sess = helper > 0 ? fault_ppid(helper) : -1;
	pid_t priv = sess > 0 ? fault_ppid(sess) : -1;
	int n = 0;

	if (fault_proc_get(child, &ps[n]) == 0)
		n++;
	if (fault_proc_get(gchild, &ps[n]) == 0)
		n++;
	if (fault_proc_get(helper, &ps[n]) == 0)
		n++;
	if (fault_proc_get(sess, &ps[n]) == 0)
		n++;
	/* sshd's privileged process for this connection; not the listener (pid file). */
	if (priv > 1 && fault_ppid(priv) > 1 && fault_proc_get(priv, &ps[n]) == 0)
		n++;
	return n;
}

int fault_cprun_start(struct fault_cprun *r, const char *const *args, const char *extra_env)
{
	struct fixture_spawn sp = { .fd = { FIXTURE_FD_NULL }, .chan = -1, .env = extra_env };
	int out[2], err[2];

	if (pipe2(out, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(err, O_CLOEXEC) < 0) {
		close(out[0]);
		close(out[1]);
		return -1;
	}
	sp.fd[1] = out[1];
	sp.fd[2] = err[1];
	r->pid = fixture_cprun_start(args, &sp);
	close(out[1]);
	close(err[1]);
	r->out = out[0];
	r->err = err[0];
	return r->pid > 0 ? 0 : -1;
}

int fault_cprun_finish(struct fault_cprun *r, double timeout_s, char *errbuf, size_t errlen)
{
	double deadline = fixture_now() + timeout_s;
	size_t len = 0;
	int st, code = -1;
	pid_t w;

	errbuf[0] = '\0';
	for (;;) {
		struct pollfd pfd = { .fd = r->err, .events = POLLIN };
		ssize_t n;

		w = waitpid(r->pid, &st, WNOHANG);
		if (w == r->pid)
			break;
		if (fixture_now() > deadline) {
			printf("#   cprun still runs after %.0f s: killed\n", timeout_s);
			kill(r->pid, SIGKILL);
			waitpid(r->pid, &st, 0);
			goto out;
		}
		if (r->err >= 0 && poll(&pfd, 1, 50) > 0) {
			n = read(r->err, errbuf + len, errlen - 1 - len);
			if (n > 0) {
				len += (size_t)n;
				errbuf[len] = '\0';
			} else {
				close(r->err);
				r->err = -1;
			}
		} else if (r->err < 0) {
			usleep(50000);
		}
	}
	if (r->err >= 0) {
		ssize_t n;

		fcntl(r->err, F_SETFL, O_NONBLOCK);
		while (len < errlen - 1 && (n = read(r->err, errbuf + len, errlen - 1 - len)) > 0)
			len += (size_t)n;
		errbuf[len] = '\0';
	}
	code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
out:
	if (r->err >= 0)
		close(r->err);
	close(r->out);
	r->err = r->out = -1;
	return code;
}
