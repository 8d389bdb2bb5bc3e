// orig_child.js — the remote child of the original Node.js cp-remote in
// scripts/bench (the counterpart of examples/bench_echo.c):
//   orig_child.js echo        sends "R", then echoes every message
//   orig_child.js sink        counts the characters of every message; on
//                             the message "end" replies with the count
//   orig_child.js source MIB  sends MIB MiB as 64 KiB strings, then "end"
'use strict';

const mode = process.argv[2];
const CHUNK = 64 * 1024;
let count = 0;

process.on('disconnect', () => process.exit(0));
if (mode === 'echo') {
	process.on('message', (m) => process.send(m));
	process.send('R');
} else if (mode === 'sink') {
	process.on('message', (m) => {
		if (m === 'end')
			process.send(count);
		else
			count += m.length;
	});
	process.send('R');
} else if (mode === 'source') {
	const chunk = 's'.repeat(CHUNK);
	let left = Number(process.argv[3]) * 1024 * 1024 / CHUNK;
	// Sending waits for each callback so that memory stays bounded.
	const pump = () => {
		if (left-- > 0)
			process.send(chunk, pump);
		else
			process.send('end');
	};
	pump();
}
