/* cprun_ctl.h — `cprun -O check|exit HOST`, as `ssh -O` (cprun_ctl.c). */
#ifndef CPRUN_CTL_H
#define CPRUN_CTL_H

#include "cpremote.h"

/*
 * Runs the control command CMD against the master at O's ControlPath,
 * printing ssh's messages on stderr.  Returns cprun's exit code: 0 when
 * done, 255 when no master answers or the request is bad (as ssh).
 */
int cprun_ctl(const char *cmd, const struct cpremote_options *o);

#endif
