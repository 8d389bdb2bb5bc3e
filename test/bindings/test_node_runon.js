// test_node_runon.js — runOn(hosts, ...) for harnesses: one child per
// host, each on its own host (SSH_CONNECTION names that host's address),
// each with the same argument values, all talking at once.
'use strict';

const fs = require('fs');
const { ok, main, sshConfig, cpremote, child, exited, message } = require('./tap');

// The HostName of each Host block of the test hosts' ssh_config.
function hostAddrs() {
  const addrs = {};
  let names = [];
  for (const line of fs.readFileSync(sshConfig, 'utf8').split('\n')) {
    const w = line.trim().split(/\s+/);
    if (/^host$/i.test(w[0])) names = w.slice(1);
    else if (/^hostname$/i.test(w[0])) for (const n of names) addrs[n] = addrs[n] || w[1];
  }
  return addrs;
}

main(async () => {
  const hosts = ['h1', 'h2', 'h3'];
  const addrs = hostAddrs();
  const children = cpremote.runOn(hosts, child('echo.js'), { run: 7 }, 'x');
  ok(children.length === 3, 'one child per host');
  const ends = children.map((c) => exited(c));
  const starts = await Promise.all(children.map((c) => message(c, 'start')));
  children.forEach((c, i) => {
    const s = starts[i];
    const server = s.env.SSH_CONNECTION ? s.env.SSH_CONNECTION.split(' ')[2] : null;
    ok(c.host === hosts[i], `${hosts[i]}: child.host`, c.host);
    ok(server === addrs[hosts[i]], `${hosts[i]}: runs on ${addrs[hosts[i]]}`, s.env.SSH_CONNECTION);
    ok(JSON.stringify(s.argv) === JSON.stringify([{ run: 7 }, 'x']), `${hosts[i]}: argv values`, s.argv);
  });
  const echoes = children.map((c) => message(c, 'echo'));
  children.forEach((c, i) => c.send({ host: hosts[i] }));
  const got = await Promise.all(echoes);
  ok(got.every((e, i) => e.msg.host === hosts[i]), 'each child answers its own message', got);
  children.forEach((c, i) => c.send({ type: 'exit', code: i }));
  const codes = (await Promise.all(ends)).map((e) => e.code);
  ok(JSON.stringify(codes) === '[0,1,2]', 'each exits with its own code', codes);
});
