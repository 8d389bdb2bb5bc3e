// locate.js — finds the cprun program the binding drives, and the relay a
// build tree's cprun needs.
'use strict';

const fs = require('fs');
const path = require('path');

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch (e) {
    return false;
  }
}

// The cprun to run: EXPLICIT when given, else $CPRUN, else the first
// `cprun` on PATH, else the build tree next to this package
// (../../build/cli/cprun).  Throws an Error saying where it looked when
// there is none.
function findCprun(explicit) {
  if (explicit) return explicit;
  if (process.env.CPRUN) return process.env.CPRUN;
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, 'cprun'))) return path.join(dir, 'cprun');
  }
  const built = path.join(__dirname, '..', '..', '..', 'build', 'cli', 'cprun');
  if (isExecutable(built)) return built;
  throw new Error('cpremote: cprun not found (set CPRUN, put cprun on PATH, ' +
    `or build the project so that ${built} exists)`);
}

// Environment additions for CPRUN: a cprun inside a meson build tree does
// not find its relay by itself (only an installed one does), so point
// CPREMOTE_RELAY at the tree's relay unless the caller already chose one.
function relayEnv(cprun) {
  if (process.env.CPREMOTE_RELAY) return {};
  const relay = path.join(path.dirname(cprun), '..', 'relay', 'cpremote-relay');
  return isExecutable(relay) ? { CPREMOTE_RELAY: relay } : {};
}

module.exports = { findCprun, relayEnv };
