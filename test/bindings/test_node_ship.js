// test_node_ship.js — the ship option: a module that only this machine has
// (in a directory the hosts' login user cannot read) runs on the host from
// its program cache: the first run uploads it (shippedBytes > 0), the next
// uploads nothing (0), messages pass both ways, argv values arrive as with
// a plain run(), and the remote module runs from the cache, not from the
// local path.  Also advanced serialization with ship, and a bad ship value.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { ok, main, cpremote, exited, message } = require('./tap');

// A module unique to this run (a nonce in it), so the first run is a cold one.
function writeModule(dir) {
  const file = path.join(dir, 'shipped_echo.js');
  fs.writeFileSync(file, [
    `// nonce ${crypto.randomBytes(8).toString('hex')}`,
    "'use strict';",
    "process.on('message', (m) => {",
    "  if (m && m.type === 'exit') process.exit(m.code);",
    "  process.send({ type: 'echo', m });",
    '});',
    "process.send({ type: 'start', argv: process.argv.slice(2), file: __filename });",
    '',
  ].join('\n'));
  return file;
}

async function once(api, file, what, ...args) {
  const c = api.run('h1', file, ...args);
  const ended = exited(c);
  const start = await message(c, 'start');
  c.send({ type: 'ping', n: 7 });
  const echo = await message(c, 'echo');
  c.send({ type: 'exit', code: 3 });
  const end = await ended;
  ok(end.code === 3 && end.signal === null, `${what}: the module's own exit code`, end);
  ok(echo.m && echo.m.n === 7, `${what}: a message there and back`, echo);
  return { c, start };
}

async function ship() {
  // The test runs as root; the hosts' user cannot enter a 0700 directory of root's.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cpr-node-ship-'));
  fs.chmodSync(dir, 0o700);
  const file = writeModule(dir);
  try {
    const shipping = cpremote.withOptions({ ship: true });
    const cold = await once(shipping, file, 'ship, cold', { answer: 42 }, 'two');
    ok(cold.c.shippedBytes === fs.statSync(file).size, 'cold: the whole file was uploaded (shippedBytes)',
      { shippedBytes: cold.c.shippedBytes, size: fs.statSync(file).size });
    ok(JSON.stringify(cold.start.argv) === JSON.stringify([{ answer: 42 }, 'two']),
      'argv values arrive as with run()', cold.start.argv);
    ok(cold.start.file !== file && /\/cpremote-ship-[0-9a-f]{64}$/.test(cold.start.file),
      'the module ran from the host\'s cache, not from the local path', cold.start.file);

    const warm = await once(shipping, file, 'ship, warm');
    ok(warm.c.shippedBytes === 0, 'warm: nothing uploaded', warm.c.shippedBytes);
    ok(warm.start.file === cold.start.file, 'warm: the same cached copy', warm.start.file);

    const adv = await once(cpremote.withOptions({ ship: true, serialization: 'advanced' }), file,
      'ship with advanced serialization', [1, 'x']);
    ok(JSON.stringify(adv.start.argv) === '[[1,"x"]]', 'advanced: the argument arrives', adv.start.argv);

    // Without ship the host cannot read the module: the test's premise.
    const plain = cpremote.withOptions({ stdio: ['ignore', 'ignore', 'ignore'] }).run('h1', file);
    const end = await exited(plain);
    ok(end.code !== 0 && plain.shippedBytes === null, 'without ship the host cannot load it', end);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  let threw = null;
  try {
    cpremote.withOptions({ ship: 'yes' });
  } catch (e) {
    threw = e;
  }
  ok(threw instanceof TypeError, 'ship must be a boolean', String(threw));
}

main(ship);
