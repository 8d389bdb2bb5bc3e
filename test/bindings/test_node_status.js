// test_node_status.js — how a remote child's end is reported: kill() with a
// signal gives 'exit' (null, signal), also before the program has started
// and for SIGKILL (after which the remote program is ended too); the
// program's own exit codes (even 143 and 255) stay codes; a missing module
// exits non-zero; a host that cannot be reached and a connection lost while
// the child runs are told apart from all of these (connectionLost, an
// 'error' event ECONNLOST).
'use strict';

const { ok, main, cpremote, child, exited, message } = require('./tap');

async function killed() {
  const remote = cpremote.run('h1', child('sleep.js'));
  const ended = exited(remote);
  await message(remote, 'start');
  remote.kill('SIGTERM');
  const end = await ended;
  ok(end.code === null && end.signal === 'SIGTERM', "kill('SIGTERM'): 'exit' (null, 'SIGTERM')", end);
  ok(remote.exitCode === null && remote.signalCode === 'SIGTERM', 'exitCode null, signalCode SIGTERM',
    { exitCode: remote.exitCode, signalCode: remote.signalCode });
  ok(remote.connectionLost === false, 'not a lost connection');

  const r2 = cpremote.run('h2', child('sleep.js'));
  const e2 = exited(r2);
  await message(r2, 'start');
  r2.kill('SIGHUP');
  const end2 = await e2;
  ok(end2.code === null && end2.signal === 'SIGHUP', "kill('SIGHUP'): 'exit' (null, 'SIGHUP')", end2);
}

// kill() before the remote program has started, and SIGKILL (which cprun
// cannot forward: it dies, and the remote side ends the program as for a
// cut link).
async function killedEarly() {
  const quiet = cpremote.withOptions({ stdio: ['ignore', 'ignore', 'ignore'] });
  const early = quiet.run('h3', child('sleep.js'));
  const e1 = exited(early);
  early.kill('SIGTERM');
  const end1 = await e1;
  ok(end1.code === null && end1.signal === 'SIGTERM' && !early.connectionLost,
    "kill('SIGTERM') at once: 'exit' (null, 'SIGTERM')", end1);

  const hard = quiet.run('h3', child('sleep.js'));
  const e2 = exited(hard);
  const start = await message(hard, 'start');
  hard.kill('SIGKILL');
  const end2 = await e2;
  ok(end2.code === null && end2.signal === 'SIGKILL', "kill('SIGKILL'): 'exit' (null, 'SIGKILL')", end2);
  let alive = true;
  for (let i = 0; i < 150 && alive; i++) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      process.kill(start.pid, 0);
    } catch (e) {
      alive = false;
    }
  }
  ok(!alive, 'after SIGKILL the remote program is ended too (within 15 s)', start.pid);
}

async function ownCodes() {
  for (const code of [0, 3, 143, 255]) {
    const remote = cpremote.run('h3', child('exit_code.js'), code);
    const end = await exited(remote);
    ok(end.code === code && end.signal === null && !remote.connectionLost,
      `the program's own exit ${code} is the code, not a signal or a lost connection`,
      { end, connectionLost: remote.connectionLost, cprunError: remote.cprunError });
  }
}

async function missingModule() {
  const remote = cpremote.withOptions({ stdio: ['ignore', 'ignore', 'pipe'] })
    .run('h1', child('no_such_module.js'));
  let err = '';
  remote.stderr.on('data', (d) => { err += d; });
  const end = await exited(remote);
  ok(end.code !== 0 && end.code !== null && !remote.connectionLost, 'a missing module: a non-zero exit', end);
  ok(/Cannot find module/.test(err), "its stderr says 'Cannot find module'", err.slice(0, 200));
}

// A host name that does not resolve: no child, cprun's 255 as a lost connection.
async function unreachable() {
  const remote = cpremote.withOptions({ stdio: ['ignore', 'ignore', 'ignore'] })
    .run('no-such-host.invalid', child('echo.js'));
  let error = null;
  remote.on('error', (e) => { error = e; });
  const end = await exited(remote);
  ok(remote.connectionLost === true, 'an unknown host: connectionLost', remote.cprunError);
  ok(error && error.code === 'ECONNLOST' && /no-such-host/.test(error.message),
    "an 'error' event ECONNLOST naming the host", error && error.message);
  ok(end.code === 255 && end.signal === null, "then 'exit' (255, null), as cprun and ssh", end);

  // The same with no 'error' listener: nothing is thrown, the property says it.
  const quiet = cpremote.withOptions({ stdio: ['ignore', 'ignore', 'ignore'] })
    .run('no-such-host.invalid', child('echo.js'));
  const qend = await exited(quiet);
  ok(quiet.connectionLost === true && qend.code === 255, "without an 'error' listener: no throw, connectionLost", qend);
}

// The helper (the remote child's parent) killed while the child runs.
async function lost() {
  const remote = cpremote.withOptions({ stdio: ['ignore', 'ignore', 'ignore'] })
    .run('h2', child('sleep.js'));
  const ended = exited(remote);
  let error = null;
  remote.on('error', (e) => { error = e; });
  const start = await message(remote, 'start');
  process.kill(start.ppid, 'SIGKILL');
  const end = await ended;
  ok(remote.connectionLost === true, 'the helper killed: connectionLost', { end, cprunError: remote.cprunError });
  ok(error && error.code === 'ECONNLOST', "an 'error' event ECONNLOST", error && error.message);
  ok(end.code === 255 && end.signal === null, "'exit' (255, null), not the child's status", end);
}

main(async () => {
  await killed();
  await killedEarly();
  await ownCodes();
  await missingModule();
  await unreachable();
  await lost();
});
