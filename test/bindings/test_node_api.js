// test_node_api.js — the Node.js binding against the test hosts: the seed
// README's example (objects in argv, messages both ways), argument values
// exactly as cp-remote delivers them, many messages each way in order, and
// the options beyond cp-remote (ssh config, env, cwd, stdio, remote node).
'use strict';

const assert = require('assert');
const path = require('path');
const { ok, main, sshConfig, cpremote, child, exited, message } = require('./tap');

// The seed README's example, as written there, plus the end it implies.
async function readme() {
  const remote = cpremote.run('h1', child('readme_sub.js'), 'foo', { answer: 42 });
  const ended = exited(remote);
  const got = message(remote);
  remote.send({ hello: 'world' });
  const msg = await got;
  ok(JSON.stringify(msg) === JSON.stringify({ foo: 'bar' }), 'README example: the message from the remote module', msg);
  const end = await ended;
  ok(end.code === 0 && end.signal === null, 'README example: its asserts on argv and the message held (exit 0)', end);
}

// Values through argv: what JSON.parse(JSON.stringify([...args])) gives, as cp-remote.
async function argvValues() {
  const args = ['foo', 42, -1, 3.5, true, null, { answer: 42, nested: { list: [1, 'two', null] } },
    [1, [2, [3]]], '', 'with spaces and "quotes"\nand a newline', '--not-an-option', '-1',
    undefined, () => 1, new Date(0), Buffer.from('hi'), 'ünïcødé ✓', { toJSON: () => 'custom' }];
  const want = JSON.parse(JSON.stringify(args));
  const remote = cpremote.run('h2', child('echo.js'), ...args);
  const ended = exited(remote);
  const start = await message(remote, 'start');
  let same = true;
  try {
    assert.deepStrictEqual(start.argv, want);
  } catch (e) {
    same = false;
  }
  ok(same, 'argv values deep-equal their JSON round trip (undefined and functions as null, Date as text)',
    { got: start.argv, want });
  ok(start.argv1 === child('echo.js'), 'process.argv[1] is the module path as given', start.argv1);
  remote.disconnect();
  const end = await ended;
  ok(end.code === 0, 'the child exits 0 once disconnected', end);
}

// Many messages both ways at once, each side checking the order.
async function burst() {
  const N = 5000;
  const remote = cpremote.run('h3', child('burst.js'), N);
  const ended = exited(remote);
  let fromChild = 0;
  let inOrder = true;
  const got = message(remote, 'got');
  remote.on('message', (m) => {
    if (m.type !== 'n') return;
    if (m.i !== fromChild) inOrder = false;
    fromChild++;
  });
  for (let i = 0; i < N; i++) remote.send({ type: 'n', i, pad: 'y'.repeat(i % 300) });
  remote.send({ type: 'end' });
  const report = await got;
  const end = await ended;
  ok(report.count === N && report.inOrder, `${N} messages to the child, in order`, report);
  ok(fromChild === N && inOrder, `${N} messages from the child, in order`, { fromChild, inOrder });
  ok(end.code === 0 && end.signal === null, 'the child exits 0 after disconnecting', end);
}

// The options beyond cp-remote.
async function options() {
  const api = cpremote.withOptions({
    sshConfig,
    env: { CPR_TEST: 'a value; with $HOME and spaces' },
    cwd: '/tmp',
    stdio: ['ignore', 'pipe', 'pipe'],
    node: process.execPath,
  });
  const remote = api.run('h1', child('echo.js'), 'stdout');
  const ended = exited(remote);
  const closed = new Promise((r) => remote.on('close', r));
  let out = '';
  let err = '';
  remote.stdout.on('data', (d) => { out += d; });
  remote.stderr.on('data', (d) => { err += d; });
  const start = await message(remote, 'start');
  ok(start.env.CPR_TEST === 'a value; with $HOME and spaces', 'env: the value arrives untouched', start.env);
  ok(start.cwd === '/tmp', 'cwd: the remote working directory', start.cwd);
  const echo = message(remote, 'echo');
  remote.send({ type: 'ping', n: 1 });
  const e = await echo;
  ok(e.msg && e.msg.n === 1, 'a message echoed', e);
  remote.send({ type: 'exit', code: 0 });
  const end = await ended;
  await closed;
  ok(out === 'to stdout\n' && err === 'to stderr\n', "stdio 'pipe': child.stdout and child.stderr", { out, err });
  ok(end.code === 0, 'exit 0', end);

  // A relative module path is found from the remote working directory.
  const rel = cpremote.withOptions({ cwd: child('') }).run('h2', 'echo.js');
  const relEnded = exited(rel);
  const s2 = await message(rel, 'start');
  ok(s2.argv1 === 'echo.js', 'a relative module path, resolved in cwd', s2.argv1);
  rel.disconnect();
  ok((await relEnded).code === 0, 'exit 0 (relative path)');

  // A bad option is refused at once.
  let threw = null;
  try {
    cpremote.withOptions({ sshconfig: 'x' });
  } catch (err2) {
    threw = err2;
  }
  ok(threw instanceof TypeError, 'an unknown option is a TypeError', threw && threw.message);
}

// The package from ESM: `import { run, runOn, withOptions }` finds each name.
async function esm() {
  const m = await import(require.resolve(path.join(__dirname, '..', '..', 'bindings', 'node')));
  ok(typeof m.run === 'function' && typeof m.runOn === 'function' && typeof m.withOptions === 'function',
    'ESM named imports: run, runOn, withOptions', Object.keys(m));
}

main(async () => {
  await esm();
  await readme();
  await argvValues();
  await burst();
  await options();
});
