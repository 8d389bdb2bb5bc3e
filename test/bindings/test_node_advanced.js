// test_node_advanced.js — serialization: 'advanced' (Node's structured
// clone): a Map, Set, Date, BigInt, Uint8Array and Error cross the remote
// channel both ways as themselves, which JSON cannot carry.
'use strict';

const { ok, main, cpremote, child, exited, message } = require('./tap');

main(async () => {
  const remote = cpremote.withOptions({ serialization: 'advanced' }).run('h1', child('advanced.js'), { answer: 42 });
  const ended = exited(remote);
  const got = message(remote);
  const sent = {
    map: new Map([['a', 1], ['b', { nested: true }]]),
    set: new Set([1, 2, 3]),
    date: new Date(86400000),
    big: 12345678901234567890n,
    bytes: new Uint8Array([0, 1, 254, 255]),
    err: new Error('carried'),
  };
  remote.send(sent);
  const m = await got;
  const k = m.kinds;
  ok(k.map && k.set && k.date && k.big && k.bytes && k.err, 'the remote child received each type as itself', k);
  const b = m.back;
  ok(b.map instanceof Map && b.map.get('b').nested === true, 'a Map comes back as a Map');
  ok(b.set instanceof Set && b.set.has(3), 'a Set comes back as a Set');
  ok(b.date instanceof Date && b.date.getTime() === 86400000, 'a Date comes back as a Date');
  ok(b.big === 12345678901234567890n, 'a BigInt comes back as a BigInt');
  ok(b.bytes instanceof Uint8Array && b.bytes[3] === 255, 'a Uint8Array comes back as one');
  ok(b.err instanceof Error && b.err.message === 'carried', 'an Error comes back as an Error');
  const end = await ended;
  ok(end.code === 0 && end.signal === null, 'exit 0', end);
});
