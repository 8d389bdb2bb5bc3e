// index.d.ts — TypeScript declarations of the cpremote Node.js binding.
import { ChildProcess, StdioNull, StdioPipe } from 'child_process';
import { Stream } from 'stream';

/** One of stdin, stdout, stderr of the remote program, as for child_process.spawn(). */
export type StdioEntry = StdioNull | StdioPipe | 'overlapped' | Stream | number | null | undefined;

/** Options beyond cp-remote; every one is optional. */
export interface Options {
  /** ssh_config file (cprun -F); default $CPREMOTE_SSH_CONFIG, else ~/.ssh/config. */
  sshConfig?: string;
  /** ssh options as for `ssh -o`, e.g. ['ConnectTimeout=5'] (what cprun -o takes). */
  sshOptions?: string[];
  /** Remote user (cprun -l). */
  user?: string;
  /** Remote port (cprun -p). */
  port?: number;
  /** Private key file (cprun -i). */
  identity?: string;
  /** Added to the remote program's environment. */
  env?: Record<string, string>;
  /** Remote working directory; a relative modulePath is resolved from it. */
  cwd?: string;
  /** Stdin, stdout, stderr (one value for all three, or three); default ['ignore', 'inherit', 'inherit']. */
  stdio?: StdioNull | StdioPipe | [StdioEntry, StdioEntry, StdioEntry];
  /** The remote node program; default 'node' (found on the remote PATH). */
  node?: string;
  /** Options for the remote node, before its -e, e.g. ['--max-old-space-size=512']. */
  nodeArgs?: string[];
  /** The IPC channel's serialization, as for child_process.fork(); default 'json'. */
  serialization?: 'json' | 'advanced';
  /** The cprun program; default $CPRUN, else cprun on PATH, else ../../build/cli/cprun. */
  cprun?: string;
  /** Add an unknown host key to known_hosts (never a changed one). */
  acceptNew?: boolean;
  /**
   * modulePath is a file of THIS machine: it is uploaded into the host's
   * program cache (once while unchanged, checked by its SHA-256) and run
   * from there, so the host needs only node (cprun --ship --ship-arg).  One
   * file: its own relative require()s are not shipped.
   */
  ship?: boolean;
}

/**
 * The remote child: a real ChildProcess (of the local cprun) whose send(),
 * 'message', disconnect(), kill(), stdio, 'exit' and 'close' are those of
 * the remote program: 'exit' gives the program's own code, or null and the
 * name of the signal that ended it.
 */
export interface RemoteChildProcess extends ChildProcess {
  /** The host it was started on, as given. */
  readonly host: string;
  /**
   * True when the host could not be reached or the connection was lost
   * (connection, host key, authentication, helper or relay failure): 'exit'
   * then says (255, null), and an 'error' event with code 'ECONNLOST' comes
   * first when the 'error' event has a listener.
   */
  readonly connectionLost: boolean;
  /** cprun's message when it failed itself (not started, or connection lost); else null. */
  readonly cprunError: string | null;
  /** With ship: the bytes uploaded (0 when the host's cache had the file), once started; else null. */
  readonly shippedBytes: number | null;
}

/** ECONNLOST errors carry the host. */
export interface ConnectionLostError extends Error {
  code: 'ECONNLOST';
  host: string;
}

/**
 * Runs the Node.js module MODULEPATH (a path on HOST) on HOST.  ARGS reach
 * the remote process.argv from index 2 on as the values they were after a
 * JSON round trip, as cp-remote delivers them.
 */
export function run(host: string, modulePath: string, ...args: unknown[]): RemoteChildProcess;

/** run() on each of HOSTS: one child per host, in the same order. */
export function runOn(hosts: readonly string[], modulePath: string, ...args: unknown[]): RemoteChildProcess[];

/** run() and runOn() under OPTIONS; throws a TypeError for an unknown or bad option. */
export function withOptions(options: Options): {
  run: typeof run;
  runOn: typeof runOn;
};
