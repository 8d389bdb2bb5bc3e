// status.js — turns cprun's exit into the child's own: cprun reports on a
// pipe (--status-fd) how the remote program ended, and this rewrites the
// ChildProcess's 'exit'/'close' arguments, exitCode and signalCode to match,
// so that a remote SIGTERM is (null, 'SIGTERM') and not cprun's 143, and a
// lost connection is told apart from a program that exited 255 itself.
'use strict';

const os = require('os');

// At most this much of the status line is kept (cprun writes one short line).
const STATUS_MAX = 4096;

function signalName(n) {
  for (const [name, num] of Object.entries(os.constants.signals)) {
    if (num === n) return name;
  }
  return `SIG${n}`;
}

// Parses cprun's status line: {kind: 'exit'|'signal'|'error', value, text},
// or null when cprun wrote none (it was killed, or it is too old).
function parseStatus(text) {
  // With --ship, a line "shipped BYTES" comes first (see watchStatus()).
  const m = /^(?:shipped \d+\n)?(exit|signal|error) (\d+)(?: (.*))?\n/.exec(text);
  return m ? { kind: m[1], value: Number(m[2]), text: m[3] || null } : null;
}

// Watches CHILD's status pipe (STREAM) and holds its 'exit' event back
// until the pipe has ended, then emits 'exit' (and later 'close') with the
// remote program's own code and signal.  When cprun reports a failure of
// its own, child.cprunError holds its message; for a transport failure
// (exit status 255: connection, host key, authentication, helper, relay)
// child.connectionLost becomes true and, if anyone listens, an 'error'
// event comes first, with err.code 'ECONNLOST'.  'exit' then says 255, as
// cprun and ssh do.  With the ship option, child.shippedBytes is set as soon
// as cprun's "shipped BYTES" line is read (once the program has started).
function watchStatus(child, stream) {
  let text = '';
  let ended = false;
  let status = null;
  let heldExit = null;
  const emit = child.emit;

  child.connectionLost = false;
  child.cprunError = null;

  function settle(code, signal) {
    if (status && status.kind === 'exit') return [status.value, null];
    if (status && status.kind === 'signal') return [null, signalName(status.value)];
    if (status) return [status.value, null];
    return [code, signal];
  }

  child.emit = function (event, ...args) {
    if (event === 'exit') {
      if (!ended) {
        // Until cprun's line is read, the status is not known yet.
        heldExit = args;
        this.exitCode = null;
        this.signalCode = null;
        return true;
      }
      const [code, signal] = settle(args[0], args[1]);
      this.exitCode = code;
      this.signalCode = signal;
      if (status && status.kind === 'error' && status.value === 255 &&
          this.listenerCount('error') > 0) {
        const err = new Error(status.text || 'cprun: connection failure');
        err.code = 'ECONNLOST';
        err.host = this.host;
        emit.call(this, 'error', err);
      }
      return emit.call(this, 'exit', code, signal);
    }
    if (event === 'close') return emit.call(this, 'close', this.exitCode, this.signalCode);
    return emit.call(this, event, ...args);
  };

  function end() {
    if (ended) return;
    ended = true;
    status = parseStatus(text);
    if (status && status.kind === 'error') {
      child.cprunError = status.text;
      child.connectionLost = status.value === 255;
    }
    if (heldExit) child.emit('exit', ...heldExit);
  }

  stream.setEncoding('utf8');
  stream.on('data', (d) => {
    if (text.length < STATUS_MAX) text += d;
    // With ship, cprun says first how many bytes the upload took (0: the host's cache had it).
    const m = /^shipped (\d+)\n/.exec(text);
    if (m) child.shippedBytes = Number(m[1]);
  });
  // 'end' comes before the stream's 'close', which ChildProcess waits for
  // before its own 'close': so 'exit' still comes first.
  stream.on('end', end);
  stream.on('close', end);
  stream.on('error', () => {});
}

module.exports = { watchStatus, parseStatus, signalName };
