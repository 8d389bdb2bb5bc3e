// echo.js — sends back every message as {type: 'echo', msg}; first sends
// {type: 'start', argv, env, cwd, pid, ppid}; {type: 'exit', code} makes it exit with that code.
'use strict';
process.on('message', (msg) => {
  if (msg && msg.type === 'exit') process.exit(msg.code);
  process.send({ type: 'echo', msg });
});
process.send({
  type: 'start',
  argv: process.argv.slice(2),
  argv1: process.argv[1],
  env: { CPR_TEST: process.env.CPR_TEST, SSH_CONNECTION: process.env.SSH_CONNECTION },
  cwd: process.cwd(),
  pid: process.pid,
  ppid: process.ppid,
});
if (process.argv[2] === 'stdout') {
  process.stdout.write('to stdout\n');
  process.stderr.write('to stderr\n');
}
