// sleep.js — says it started, then waits to be ended (holding its channel).
'use strict';
process.send({ type: 'start', pid: process.pid, ppid: process.ppid });
setInterval(() => {}, 1000);
