/**
 * `pnpm bench:connections`: server memory per idle WebSocket.
 *
 * Creates a fresh database and store, starts the app in its own process (connections-server.ts,
 * with `--expose-gc`), opens BENCH_CONNECTIONS (10,000) WebSockets to `/v1/stream` from this
 * process and leaves them idle, then compares the server's RSS (after a full GC) with and without
 * them. Progress goes to stderr; last, one JSON line to stdout. Nothing asserts a figure.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createStore } from '@winback/server';
import { createDb, ensureEventPartitions, migrateToLatest } from '@winback/server/db';
import pg from 'pg';
import WebSocket from 'ws';

const log = (line: string) => process.stderr.write(`[bench:connections] ${line}\n`);
const envInt = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : fallback;
};
const serverUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const ORIGIN = 'https://shop.bench.example';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function admin(query: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(query);
  } finally {
    await client.end();
  }
}

function startServer(url: string, children: ChildProcess[]) {
  const child = fork(fileURLToPath(new URL('./connections-server.ts', import.meta.url)), [url], {
    execArgv: ['--expose-gc', '--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (message: { t: string } & T) => {
        if (message.t !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message);
      };
      const onExit = (code: number | null) => reject(new Error(`server exited with ${code}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  return {
    child,
    listening: next<{ address: string }>('listening'),
    async rss(): Promise<number> {
      const answer = next<{ rss: number }>('rss');
      child.send({ t: 'rss' });
      return (await answer).rss;
    },
  };
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { origin: ORIGIN, perMessageDeflate: false });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) =>
      reject(new Error(`upgrade refused with HTTP ${res.statusCode}`)),
    );
    socket.once('error', reject);
  });
}

const children: ChildProcess[] = [];

async function main(): Promise<void> {
  const count = envInt('BENCH_CONNECTIONS', 10_000);
  const name = `wb_bench_${randomBytes(5).toString('hex')}`;
  const sockets: WebSocket[] = [];
  let created = false;
  const deadline = Date.now() + envInt('BENCH_LIMIT_S', 120) * 1000;
  try {
    await admin(`create database ${name}`);
    created = true;
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    const db = createDb(url.toString(), 1);
    let publicKey: string;
    try {
      await migrateToLatest(db);
      await ensureEventPartitions(db);
      const { store } = await createStore(db, { name: 'Bench shop', allowedOrigins: [ORIGIN] });
      publicKey = store.public_key;
    } finally {
      await db.destroy();
    }

    const server = startServer(url.toString(), children);
    const { address } = await server.listening;
    const wsUrl = `${address.replace(/^http/, 'ws')}/v1/stream?key=${encodeURIComponent(publicKey)}`;
    // One connection first, so the upgrade path, key cache and pools are warm in "before".
    sockets.push(await open(wsUrl));
    await sleep(500);
    const before = await server.rss();
    log(`server on ${address}, RSS ${(before / 2 ** 20).toFixed(1)} MB with 1 connection`);

    while (sockets.length < count + 1) {
      if (Date.now() > deadline)
        throw new Error(`time limit reached at ${sockets.length} connections`);
      const batch = Math.min(200, count + 1 - sockets.length);
      sockets.push(...(await Promise.all(Array.from({ length: batch }, () => open(wsUrl)))));
      if ((sockets.length - 1) % 2000 === 0) log(`${sockets.length - 1} connections open`);
    }
    await sleep(2000);
    const after = await server.rss();
    const stillOpen = sockets.filter((socket) => socket.readyState === WebSocket.OPEN).length - 1;
    const perConnection = (after - before) / count;
    log(`server RSS ${(after / 2 ** 20).toFixed(1)} MB with ${stillOpen} more connections open`);
    log('rss is the server process alone, after a full GC, idle connections (no frames sent)');
    process.stdout.write(
      `${JSON.stringify({
        connections: count,
        open: stillOpen,
        rss_before_mb: Number((before / 2 ** 20).toFixed(1)),
        rss_after_mb: Number((after / 2 ** 20).toFixed(1)),
        kb_per_connection: Number((perConnection / 1024).toFixed(2)),
      })}\n`,
    );
  } finally {
    for (const socket of sockets) socket.terminate();
    for (const child of children) {
      if (child.exitCode !== null) continue;
      child.send({ t: 'stop' });
      await Promise.race([new Promise((resolve) => child.once('exit', resolve)), sleep(5000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    if (created) {
      await admin(`drop database if exists ${name} with (force)`)
        .then(() => log(`database ${name} dropped`))
        .catch((error: unknown) => log(`could not drop ${name}: ${String(error)}`));
    }
  }
}

// Ending the server makes the run fail over to the cleanup in main.
process.once('SIGINT', () => {
  log('interrupted, cleaning up');
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
