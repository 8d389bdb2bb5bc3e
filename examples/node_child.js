// node_child.js — the remote half of the Node demo: an ordinary Node child
// that answers every message of its parent with process.send.  It runs on
// another host through cprun and does not know it.
'use strict';

const server = (process.env.SSH_CONNECTION || '? ? local').split(' ')[2];

process.on('message', (m) => {
  process.send({ reply: `"${m.text}" received by pid ${process.pid} on ${server}` });
});
// The parent's disconnect closes the channel; then there is nothing left to do.
process.on('disconnect', () => process.exit(0));
