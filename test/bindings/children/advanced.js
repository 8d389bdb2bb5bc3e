// advanced.js — with advanced serialization: answers each message with a
// description of its types and the value itself, so the parent can check
// both directions.
'use strict';
process.on('message', (m) => {
  process.send({
    kinds: {
      map: m.map instanceof Map, set: m.set instanceof Set, date: m.date instanceof Date,
      big: typeof m.big === 'bigint', bytes: m.bytes instanceof Uint8Array, err: m.err instanceof Error,
    },
    back: m,
  }, () => process.disconnect());
});
