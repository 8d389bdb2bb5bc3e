// orig.js — drives the original Node.js cp-remote (npm package cp-remote)
// for scripts/bench, so that it is measured the same way as the C library.
// Every mode prints "NAME VALUE UNIT" lines, as examples/bench_client does.
//
//   node orig.js MODULE_DIR CHILD cold N HOST        mean spawn to first message
//   node orig.js MODULE_DIR CHILD rtt HOST N SIZE    mean round trip of SIZE chars
//   node orig.js MODULE_DIR CHILD tput HOST MIB      MIB MiB to the child
//   node orig.js MODULE_DIR CHILD tput-rx HOST MIB   MIB MiB from the child
//   node orig.js MODULE_DIR CHILD fanout N HOST...   N children at once, one message each
//
// MODULE_DIR holds node_modules/cp-remote; CHILD is orig_child.js on the host.
// The ssh it runs is the first on PATH (scripts/bench puts a wrapper there
// that adds -F and the cipher).  Exit 0, 1 when a measurement failed.
'use strict';

const path = require('path');
const [moduleDir, child, mode, ...args] = process.argv.slice(2);
const cp = require(path.join(moduleDir, 'node_modules', 'cp-remote'));
const CHUNK = 64 * 1024;

const now = () => Number(process.hrtime.bigint()) / 1e6;

// The next message of remote R, as a promise.
const next = (r) => new Promise((resolve, reject) => {
	const onExit = () => reject(new Error('child ended'));
	r.once('exit', onExit);
	r.once('message', (m) => {
		r.removeListener('exit', onExit);
		resolve(m);
	});
});

const end = (r) => new Promise((resolve) => {
	if (r.exitCode !== null || r.signalCode !== null)
		return resolve();
	r.once('exit', resolve);
	r.kill();
});

async function cold(n, host) {
	let sum = 0;
	for (let i = 0; i < n; i++) {
		const t0 = now();
		const r = cp.run(host, child, 'echo');
		if (await next(r) !== 'R')
			throw new Error('bad first message');
		sum += now() - t0;
		await end(r);
	}
	console.log(`orig_cold ${(sum / n).toFixed(3)} ms`);
}

async function rtt(host, n, size) {
	const r = cp.run(host, child, 'echo');
	const msg = 'x'.repeat(size);
	await next(r);
	const t0 = now();
	for (let i = 0; i < n; i++)
		if (await next((r.send(msg), r)) !== msg)
			throw new Error('bad echo');
	console.log(`orig_rtt ${((now() - t0) / n * 1000).toFixed(1)} us`);
	await end(r);
}

async function tput(host, mib) {
	const r = cp.run(host, child, 'sink');
	const chunk = 's'.repeat(CHUNK);
	await next(r);
	const t0 = now();
	const chunks = mib * 1024 * 1024 / CHUNK;
	for (let i = 0; i < chunks; i++)
		await new Promise((resolve, reject) => r.send(chunk, (e) => (e ? reject(e) : resolve())));
	r.send('end');
	if (await next(r) !== mib * 1024 * 1024)
		throw new Error('short count');
	console.log(`orig_tput ${(mib * 1048576 / (now() - t0) / 1000).toFixed(1)} MB/s`);
	await end(r);
}

async function tputRx(host, mib) {
	const r = cp.run(host, child, 'source', String(mib));
	let total = 0, t0 = 0;
	await new Promise((resolve, reject) => {
		r.on('exit', () => reject(new Error('child ended')));
		r.on('message', (m) => {
			if (m === 'end')
				return resolve();
			if (total === 0)
				t0 = now();
			total += m.length;
		});
	});
	if (total !== mib * 1024 * 1024)
		throw new Error('short count');
	console.log(`orig_tput_rx ${(total / (now() - t0) / 1000).toFixed(1)} MB/s`);
	r.removeAllListeners('exit');
	await end(r);
}

async function fanout(n, hosts) {
	const t0 = now();
	let failed = 0;
	const one = async (i) => {
		const r = cp.run(hosts[i % hosts.length], child, 'echo');
		try {
			if (await next(r) !== 'R')
				throw new Error('bad first message');
			r.send('m');
			if (await next(r) !== 'm')
				throw new Error('bad echo');
		} catch (e) {
			failed++;
		}
		return r;
	};
	const kids = await Promise.all(Array.from({ length: n }, (_, i) => one(i)));
	console.log(`orig_fanout_time ${(now() - t0).toFixed(3)} ms`);
	console.log(`orig_fanout_failed ${failed} children`);
	await Promise.all(kids.map(end));
}

const modes = {
	cold: () => cold(Number(args[0]), args[1]),
	rtt: () => rtt(args[0], Number(args[1]), Number(args[2])),
	tput: () => tput(args[0], Number(args[1])),
	'tput-rx': () => tputRx(args[0], Number(args[1])),
	fanout: () => fanout(Number(args[0]), args.slice(1)),
};
if (!modes[mode]) {
	console.error('orig.js: unknown mode');
	process.exit(2);
}
modes[mode]().then(() => process.exit(0), (e) => {
	console.error(`orig.js: ${mode}: ${e.message}`);
	process.exit(1);
});
