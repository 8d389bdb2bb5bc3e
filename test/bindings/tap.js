// tap.js — the Node.js binding tests' shared setup: TAP output, the test
// hosts (CPREMOTE_TEST_DIR; skipped without them), the binding from the
// source tree, and a child's end as a promise.
'use strict';

const fs = require('fs');
const path = require('path');

const results = [];
let failed = 0;

// Records one TAP result; DETAIL is printed under a failure.
function ok(cond, what, detail) {
  results.push(`${cond ? '' : 'not '}ok ${results.filter((l) => !l.startsWith('#')).length + 1} - ${what}`);
  if (!cond) {
    failed++;
    if (detail !== undefined) results.push(`#   ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`);
  }
}

// Prints the plan and the results; the exit code says whether all passed.
function done() {
  console.log(`1..${results.filter((l) => !l.startsWith('#')).length}`);
  for (const l of results) console.log(l);
  process.exitCode = failed ? 1 : 0;
}

function skip(why) {
  console.log(`1..0 # SKIP ${why}`);
  process.exit(0);
}

const dir = process.env.CPREMOTE_TEST_DIR;
if (!dir || !fs.existsSync(path.join(dir, 'ssh_config'))) {
  skip('no test hosts (run scripts/test-hosts and set CPREMOTE_TEST_DIR)');
}
const sshConfig = path.join(dir, 'ssh_config');
// The binding finds the config here, as a user's program would.
process.env.CPREMOTE_SSH_CONFIG = sshConfig;

const cpremote = require(path.join(__dirname, '..', '..', 'bindings', 'node'));

// The path of a remote child program (the hosts are this machine).
function child(name) {
  return path.join(__dirname, 'children', name);
}

// Resolves with {code, signal} at CHILD's 'exit'; rejects after MS.  Call
// it right after starting the child: an 'exit' already past is not seen.
function exited(c, ms = 60000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      c.kill('SIGKILL');
      reject(new Error(`no exit within ${ms} ms`));
    }, ms);
    c.on('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal });
    });
  });
}

// The next 'message' of C (or of type TYPE).
function message(c, type) {
  return new Promise((resolve) => {
    const on = (m) => {
      if (type === undefined || (m && m.type === type)) {
        c.removeListener('message', on);
        resolve(m);
      }
    };
    c.on('message', on);
  });
}

// Runs MAIN (async), reporting a throw as a failure, then prints the TAP.
function main(fn) {
  fn().catch((e) => ok(false, 'no exception', e.stack)).finally(done);
}

module.exports = { ok, done, skip, main, dir, sshConfig, cpremote, child, exited, message };
