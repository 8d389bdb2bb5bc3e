// burst.js — sends N numbered messages ({type: 'n', i}), then counts the
// parent's numbered messages and reports {type: 'got', count, inOrder}.
'use strict';
const n = process.argv[2];
let next = 0;
let inOrder = true;
process.on('message', (m) => {
  if (m.type === 'n') {
    if (m.i !== next) inOrder = false;
    next++;
  } else if (m.type === 'end') {
    process.send({ type: 'got', count: next, inOrder }, () => process.disconnect());
  }
});
for (let i = 0; i < n; i++) process.send({ type: 'n', i, pad: 'x'.repeat(i % 200) });
