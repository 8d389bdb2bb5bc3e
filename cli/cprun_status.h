/* cprun_status.h — cprun's exit status for a failure to start and for a remote child's end. */
#ifndef CPRUN_STATUS_H
#define CPRUN_STATUS_H

/*
 * The exit status for ERR, a failure of cpremote_run(): 127 program not
 * found, 126 not executable or not started, 2 bad options, 255 for the
 * rest (connection, host key, authentication, helper, relay).
 */
int cprun_status_run_error(int err);

/* The exit status for a wait(2)-style STATUS: the code, 128+N for signal N, else 255. */
int cprun_status_wait(int status);

/*
 * Whether signal SIG, arriving once the program has exited while processes
 * it left behind hold its output, ends cprun (SIGINT, SIGTERM, SIGQUIT,
 * SIGHUP) rather than being only forwarded (SIGUSR1, SIGUSR2).
 */
int cprun_status_ends_drain(int sig);

#endif
