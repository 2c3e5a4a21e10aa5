import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** The real `winback` executable, run from source as `pnpm winback` would. */
export const winbackBin = fileURLToPath(
  new URL('../../packages/server/bin/winback.js', import.meta.url),
);

// The children see only what a test gives them, plus what Node needs to run.
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const { PATH, HOME, TMPDIR, LANG } = process.env;
  return { PATH, HOME, TMPDIR, LANG, LOG_LEVEL: 'warn', ...env };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `winback ...args` to completion. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [winbackBin, ...args], {
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(child);
}

async function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return { code, signal, stdout, stderr };
}

export interface RunningCli {
  child: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
}

/**
 * Starts `winback ...args` and resolves once its stdout matches `ready` (or rejects with its
 * output when it exits first).
 */
export async function startCli(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<RunningCli> {
  const child = spawn(process.execPath, [winbackBin, ...args], {
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (ready.test(stdout)) resolve();
    });
    exited.then(([code]) =>
      reject(
        new Error(`winback ${args.join(' ')} exited (${code}) before ready:\n${stdout}\n${stderr}`),
      ),
    );
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop(signal = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const [code, exitSignal] = (await exited) as [number | null, NodeJS.Signals | null];
      return { code, signal: exitSignal, stdout, stderr };
    },
  };
}
