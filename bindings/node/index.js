// index.js — cpremote for Node.js: run a module on another host with its IPC
// channel intact.  run(host, modulePath, ...args) is a drop-in for the npm
// package cp-remote; the remote end is cprun (this project's CLI), so the
// host needs nothing but sshd and node.  See README.md in this folder.
'use strict';

const childProcess = require('child_process');
const { findCprun, relayEnv } = require('./lib/locate');
const { watchStatus } = require('./lib/status');

// The remote `node -e` program: the arguments after the module path come as
// JSON texts; put their values back into process.argv, then load the module
// (a relative path is taken from the remote working directory).
const BOOTSTRAP =
  'const a = process.argv;' +
  'a.splice(2, a.length - 2, ...a.slice(2).map((s) => JSON.parse(s)));' +
  'require(require("path").resolve(a[1]));';

// Under `sh -c` for advanced serialization (see nodeCommand()).
const ADVANCED_SH =
  'NODE_CHANNEL_FD=$CHANNEL_FD NODE_CHANNEL_SERIALIZATION_MODE=advanced; ' +
  'export NODE_CHANNEL_FD NODE_CHANNEL_SERIALIZATION_MODE; exec "$0" "$@"';

// cprun's fds in the child: 3 is Node's IPC channel, 4 the status pipe.
const CHANNEL_FD = 3;
const STATUS_FD = 4;

const OPTION_NAMES = new Set(['sshConfig', 'sshOptions', 'user', 'port', 'identity',
  'env', 'cwd', 'stdio', 'node', 'nodeArgs', 'serialization', 'cprun', 'acceptNew', 'ship']);

// One argument as cp-remote delivers it: the value after a JSON round trip.
// JSON.stringify() of undefined, a function or a symbol is no text at all;
// inside cp-remote's array of arguments it becomes null, so here too.
function encodeArg(v) {
  const s = JSON.stringify(v);
  return s === undefined ? 'null' : s;
}

function checkOptions(o) {
  if (o === null || typeof o !== 'object') throw new TypeError('cpremote: options must be an object');
  for (const k of Object.keys(o)) {
    if (!OPTION_NAMES.has(k)) throw new TypeError(`cpremote: unknown option ${k}`);
  }
  if (o.serialization !== undefined && o.serialization !== 'json' && o.serialization !== 'advanced') {
    throw new TypeError("cpremote: serialization is 'json' or 'advanced'");
  }
  if (o.ship !== undefined && typeof o.ship !== 'boolean') throw new TypeError('cpremote: ship is true or false');
}

// The program and arguments cprun runs on the host.  With 'json' (Node's
// default) that is node itself, and cprun's --node sets NODE_CHANNEL_FD.
// The helper always sets NODE_CHANNEL_SERIALIZATION_MODE=json for a Node
// child, so for 'advanced' the child is started through the host's /bin/sh,
// which names the channel and the mode itself (its arguments are passed as
// "$@", never parsed).
function nodeCommand(o, modulePath, args) {
  const node = o.node || 'node';
  const nodeArgv = [...(o.nodeArgs || []), '-e', BOOTSTRAP, '--', modulePath, ...args.map(encodeArg)];
  if (o.serialization === 'advanced') return { flags: [], argv: ['sh', '-c', ADVANCED_SH, node, ...nodeArgv] };
  return { flags: ['--node'], argv: [node, ...nodeArgv] };
}

// cprun's command line for one child.
function cprunArgs(o, host, modulePath, args) {
  const a = [];
  // Without sshConfig, cprun itself takes $CPREMOTE_SSH_CONFIG (and refuses a missing file).
  if (o.sshConfig) a.push('-F', o.sshConfig);
  if (o.user) a.push('-l', o.user);
  if (o.port) a.push('-p', String(o.port));
  if (o.identity) a.push('-i', o.identity);
  for (const opt of o.sshOptions || []) a.push('-o', opt);
  for (const [k, v] of Object.entries(o.env || {})) {
    if (k === '' || k.includes('=')) throw new TypeError(`cpremote: bad environment name ${JSON.stringify(k)}`);
    a.push('-e', `${k}=${v}`);
  }
  if (o.cwd) a.push('--chdir', o.cwd);
  if (o.acceptNew) a.push('--accept-new');
  const cmd = nodeCommand(o, modulePath, args);
  // ship: modulePath is a local file, uploaded into the host's cache (once
  // while unchanged); cprun puts the cached copy's path in its place.
  if (o.ship) a.push('--ship', modulePath, '--ship-arg', String(cmd.argv.length - args.length - 1));
  a.push(...cmd.flags, '--channel-fd', String(CHANNEL_FD), '--status-fd', String(STATUS_FD));
  // '--': a host name starting with '-' is still a host name.
  a.push('--', host, ...cmd.argv);
  return a;
}

// Stdin, stdout and stderr of cprun (which are the remote program's): by
// default stdin is empty (as cp-remote's remote stdin) and output goes to
// this process's stdout and stderr.
function stdioOf(o) {
  const s = o.stdio === undefined ? ['ignore', 'inherit', 'inherit'] : o.stdio;
  const three = typeof s === 'string' ? [s, s, s] : s;
  if (!Array.isArray(three) || three.length !== 3) {
    throw new TypeError('cpremote: stdio is a string or an array of three (stdin, stdout, stderr)');
  }
  return three;
}

// Starts MODULEPATH on HOST under options O; returns the ChildProcess.
function start(o, host, modulePath, args) {
  if (typeof host !== 'string' || host === '') throw new TypeError('cpremote: host must be a non-empty string');
  if (typeof modulePath !== 'string' || modulePath === '') throw new TypeError('cpremote: modulePath must be a non-empty string');
  const cprun = findCprun(o.cprun);
  const child = childProcess.spawn(cprun, cprunArgs(o, host, modulePath, args), {
    stdio: [...stdioOf(o), 'ipc', 'pipe'],
    env: { ...process.env, ...relayEnv(cprun) },
    serialization: o.serialization || 'json',
  });
  child.host = host;
  child.shippedBytes = null;
  watchStatus(child, child.stdio[STATUS_FD]);
  return child;
}

// The API under OPTIONS (see index.d.ts for each option).
function withOptions(options) {
  const o = options === undefined ? {} : options;
  checkOptions(o);
  return {
    run: (host, modulePath, ...args) => start(o, host, modulePath, args),
    runOn: (hosts, modulePath, ...args) => {
      if (!Array.isArray(hosts)) throw new TypeError('cpremote: hosts must be an array');
      return hosts.map((h) => start(o, h, modulePath, args));
    },
  };
}

const plain = withOptions({});

// One assignment each, so that ESM's `import { run } from` finds the names.
exports.run = plain.run;
exports.runOn = plain.runOn;
exports.withOptions = withOptions;
