// readme_sub.js — the remote module of the seed README's example: checks
// its argv values, answers a message, disconnects when told hello.
'use strict';
const assert = require('assert');
assert.equal(process.argv[2], 'foo');
assert.deepEqual(process.argv[3], { answer: 42 });
process.on('message', (msg) => {
  assert.deepEqual(msg, { hello: 'world' });
  process.disconnect();
});
process.send({ foo: 'bar' });
