// hmac_node_parent.js — the cp-remote check from Node.js: a Node parent
// spawns `cprun -F ssh_config hN node hmac_node_child.js KEY N` on h1..h3 at
// once with an 'ipc' stdio slot, sends each child 1 MiB of random data as
// messages, and checks each answer (HMAC-SHA256 computed with node's crypto,
// SSH_CONNECTION naming that host's address) and each exit status.  TAP.
'use strict';

const { spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const HOSTS = ['h1', 'h2', 'h3'];
const DATA_LEN = 1 << 20;
const CHUNK = 48 * 1024;     // 64 KiB of base64 per message
const TIMEOUT_MS = 120000;

const dir = process.env.CPREMOTE_TEST_DIR;
const cprun = process.env.CPRUN;
if (!dir || !fs.existsSync(path.join(dir, 'ssh_config'))) {
  console.log('1..0 # SKIP no test hosts (run scripts/test-hosts and set CPREMOTE_TEST_DIR)');
  process.exit(0);
}
if (!cprun) {
  console.log('1..0 # SKIP CPRUN is not set');
  process.exit(0);
}
const config = path.join(dir, 'ssh_config');
const childScript = path.join(__dirname, 'hmac_node_child.js');

// The HostName of each Host block of the test hosts' ssh_config.
function hostAddrs() {
  const addrs = {};
  let names = [];
  for (const line of fs.readFileSync(config, 'utf8').split('\n')) {
    const w = line.trim().split(/\s+/);
    if (/^host$/i.test(w[0])) names = w.slice(1);
    else if (/^hostname$/i.test(w[0])) for (const n of names) addrs[n] = addrs[n] || w[1];
  }
  return addrs;
}

const addrs = hostAddrs();
const results = [];
let failed = 0;
function check(cond, what, detail) {
  results.push(`${cond ? '' : 'not '}ok ${results.length + 1} - ${what}`);
  if (!cond) {
    failed++;
    if (detail) results.push(`#   ${detail}`);
  }
}

function runOne(host, index) {
  return new Promise((resolve) => {
    const key = crypto.randomBytes(256);
    const data = crypto.randomBytes(DATA_LEN);
    const want = crypto.createHmac('sha256', key).update(data).digest('hex');
    const addr = addrs[host] || `127.0.0.${index + 2}`;
    const child = spawn(cprun, ['-F', config, host, 'node', childScript, key.toString('hex'), String(DATA_LEN)],
      { stdio: ['ignore', 2, 2, 'ipc'] });
    let answer = null;
    let done = false;

    const finish = (code, signal, why) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      check(answer !== null, `${host}: the node child answered over the IPC channel`, why);
      check(answer && answer.hmac === want, `${host}: its HMAC-SHA256 is right`,
        `got ${answer && answer.hmac}, want ${want}`);
      const server = answer && answer.ssh_connection ? answer.ssh_connection.split(' ')[2] : null;
      check(server === addr, `${host}: SSH_CONNECTION names ${addr}`,
        `SSH_CONNECTION is "${answer && answer.ssh_connection}"`);
      check(code === 0, `${host}: cprun exited 0`, `code ${code}, signal ${signal}`);
      resolve();
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(null, 'timeout', `no answer within ${TIMEOUT_MS} ms`);
    }, TIMEOUT_MS);

    child.on('message', (m) => { answer = m; });
    child.on('error', (e) => finish(null, null, `spawn: ${e.message}`));
    child.on('exit', (code, signal) => finish(code, signal, 'exited without answering'));
    for (let off = 0; off < DATA_LEN; off += CHUNK) {
      child.send({ data: data.subarray(off, off + CHUNK).toString('base64') });
    }
    child.send({ end: true });
  });
}

function dumpLogs() {
  for (const h of HOSTS) {
    const log = path.join(dir, h, 'sshd.log');
    if (!fs.existsSync(log)) continue;
    const lines = fs.readFileSync(log, 'utf8').trimEnd().split('\n').slice(-40);
    console.log(`# ---- ${log} (last ${lines.length} lines)`);
    for (const l of lines) console.log(`# ${l}`);
  }
}

Promise.all(HOSTS.map(runOne)).then(() => {
  console.log(`1..${results.filter((l) => !l.startsWith('#')).length}`);
  for (const l of results) console.log(l);
  if (failed) dumpLogs();
  process.exitCode = failed ? 1 : 0;
});
