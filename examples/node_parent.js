// node_parent.js — the local half of the Node demo: spawns a Node child on
// a host through cprun with an 'ipc' stdio slot, exactly as it would spawn
// a local one, and exchanges messages with it.
// Usage: node node_parent.js CPRUN SSH_CONFIG HOST
'use strict';

const { spawn } = require('child_process');
const path = require('path');

const [cprun, config, host] = process.argv.slice(2);
if (!host) {
  console.error('usage: node node_parent.js CPRUN SSH_CONFIG HOST');
  process.exit(2);
}
const texts = ['hello', 'how far away are you?', 'bye'];
const t0 = Date.now();
const child = spawn(cprun, ['-F', config, host, 'node', path.join(__dirname, 'node_child.js')],
  { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
let n = 0;
let sentAt = 0;

function next() {
  if (n === texts.length) {
    child.disconnect();
    return;
  }
  sentAt = process.hrtime.bigint();
  console.log(`  parent -> child : ${JSON.stringify({ text: texts[n] })}`);
  child.send({ text: texts[n++] });
}

child.on('spawn', () => {
  console.log(`spawned: cprun -F ssh_config ${host} node node_child.js`);
  next();
});
child.on('message', (m) => {
  const us = Number(process.hrtime.bigint() - sentAt) / 1000;
  // The first answer also waited for the SSH connection and the remote node to start.
  const note = n === 1 ? 'incl. SSH connection and node start-up' : 'round trip';
  console.log(`  child  -> parent: ${JSON.stringify(m)}   (${us.toFixed(0)} us, ${note})`);
  next();
});
child.on('exit', (code, signal) => {
  console.log(`remote node child exited with ${signal ? `signal ${signal}` : `code ${code}`}, ${Date.now() - t0} ms in all`);
  process.exitCode = code === 0 ? 0 : 1;
});
