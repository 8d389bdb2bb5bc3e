// hmac_node_child.js — the remote side of the Node.js HMAC test: a plain
// Node child that talks to its parent with process.send/process.on, unaware
// that the parent is on another host.  Usage: node hmac_node_child.js
// KEYHEX NBYTES.  Receives {data: base64} messages then {end: true}, answers
// {hmac, bytes, ssh_connection, pid} and disconnects so that it can exit.
'use strict';

const crypto = require('crypto');

if (typeof process.send !== 'function') {
  process.stderr.write('hmac_node_child: no IPC channel (NODE_CHANNEL_FD unset?)\n');
  process.exit(2);
}

const key = Buffer.from(process.argv[2] || '', 'hex');
const want = Number(process.argv[3]);
const mac = crypto.createHmac('sha256', key);
let got = 0;

process.on('message', (m) => {
  if (typeof m.data === 'string') {
    const b = Buffer.from(m.data, 'base64');
    mac.update(b);
    got += b.length;
  }
  if (m.end) {
    process.send({
      hmac: got === want ? mac.digest('hex') : `short read: ${got} of ${want} bytes`,
      bytes: got,
      ssh_connection: process.env.SSH_CONNECTION || null,
      pid: process.pid,
    }, () => process.disconnect());
  }
});
