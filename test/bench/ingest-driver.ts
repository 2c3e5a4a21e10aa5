/**
 * The load generator of `pnpm bench:ingest`, run in its own process (forked by ingest.ts) so
 * that building frames and reading acks never competes with the server's event loop.
 *
 * It receives one `run` message over IPC, opens the connections, runs the two phases and sends
 * back their figures and every event id it got an ack for. It exits by itself when done, and
 * gives up on a phase when the phase's time limit is reached.
 */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';

export interface DriverOptions {
  /** `ws://127.0.0.1:<port>/v1/stream?key=...` */
  url: string;
  origin: string;
  connections: number;
  /** Frames in flight per connection in the throughput phase (the paced phase sends on time). */
  pipeline: number;
  eventsPerFrame: number;
  /** Events for the throughput phase. */
  events: number;
  /** Offered rate and length of the paced phase. */
  pacedRate: number;
  pacedSeconds: number;
  /** A phase is abandoned after this long, whatever is still in flight. */
  phaseLimitMs: number;
}

export interface PhaseResult {
  sentEvents: number;
  ackedEvents: number;
  rejectedEvents: number;
  nacks: number;
  elapsedMs: number;
  /** Ack latency of every acked frame, in ms (from the send, or the scheduled send when paced). */
  latencies: number[];
  timedOut: boolean;
  /** CPU time this driver process used during the phase, in ms (user + system). */
  driverCpuMs: number;
}

export type DriverMessage =
  | { t: 'progress'; line: string }
  | { t: 'phase-start'; name: 'throughput' | 'paced' }
  | { t: 'phase'; name: 'throughput' | 'paced'; result: PhaseResult }
  | { t: 'ids'; ids: string[] }
  | { t: 'done' }
  | { t: 'error'; message: string };

// ---- realistic events -------------------------------------------------------------------

const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function timePrefix(ms: number): string {
  let prefix = '';
  let rest = ms;
  for (let i = 0; i < 10; i += 1) {
    prefix = crockford.charAt(rest % 32) + prefix;
    rest = Math.floor(rest / 32);
  }
  return prefix;
}

let entropy = randomBytes(0);
let entropyAt = 0;
function ulid(): string {
  if (entropyAt + 16 > entropy.length) {
    entropy = randomBytes(16 * 4096);
    entropyAt = 0;
  }
  let random = '';
  for (let i = 0; i < 16; i += 1) random += crockford.charAt(entropy[entropyAt + i]! & 31);
  entropyAt += 16;
  return timePrefix(Date.now()) + random;
}

function token(prefix: string): string {
  return `${prefix}_${randomBytes(9).toString('base64url')}`;
}

const products = [
  ['Blue ceramic mug', 1800],
  ['Linen tea towel', 1200],
  ['Cast iron skillet 26 cm', 5900],
  ['Espresso cups (set of 4)', 3400],
  ['Walnut serving board', 4500],
  ['Stoneware dinner plate', 2200],
  ['French press 1 l', 3900],
  ['Olive wood spoon', 900],
] as const;
const pages = ['/', '/collections/kitchen', '/products/blue-mug', '/products/skillet', '/cart'];
const exitSignals = ['mouse_top', 'scroll_up', 'tab_hidden', 'idle', 'back'] as const;
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

/** One simulated shopper: a session, an anonymous id and a cart that changes over time. */
class Shopper {
  readonly sessionId = token('s');
  readonly anonymousId = token('a');
  readonly cartId = `cart-${randomBytes(6).toString('hex')}`;
  private lines = 1 + Math.floor(Math.random() * 5);

  next(): Record<string, unknown> {
    const envelope = {
      id: ulid(),
      ts: Date.now(),
      sessionId: this.sessionId,
      anonymousId: this.anonymousId,
    };
    const roll = Math.random();
    if (roll < 0.45) {
      return {
        ...envelope,
        type: 'page_view',
        page: {
          url: `https://shop.example${pick(pages)}`,
          title: 'Kitchen things',
          referrer: 'https://www.google.com/',
          utm: { source: 'newsletter', medium: 'email', campaign: 'winter' },
        },
        device: {
          viewport: { width: 390, height: 844 },
          language: 'en-GB',
          timezone: 'Europe/London',
        },
      };
    }
    if (roll < 0.9) {
      const before = this.lines;
      this.lines = 1 + Math.floor(Math.random() * 5);
      const lines = Array.from({ length: this.lines }, (_, i) => {
        const [title, unitPrice] = products[i % products.length]!;
        return {
          id: `line-${i + 1}`,
          productId: `prod-${i + 1}`,
          variantId: `var-${i + 1}`,
          title,
          quantity: 1 + (i % 3),
          unitPrice,
          url: `https://shop.example/products/${i + 1}`,
        };
      });
      return {
        ...envelope,
        cartId: this.cartId,
        type: 'cart_updated',
        cart: {
          currency: 'EUR',
          subtotal: lines.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0),
          lines,
        },
        changes: [
          this.lines >= before
            ? { kind: 'add', lineId: `line-${this.lines}` }
            : { kind: 'remove', lineId: `line-${before}` },
        ],
      };
    }
    return { ...envelope, cartId: this.cartId, type: 'exit_intent', signal: pick(exitSignals) };
  }
}

// ---- connections ------------------------------------------------------------------------

const FRAMES_PER_SHOPPER = 5;

interface Pending {
  seq: number;
  ids: string[];
  text: string;
  sentAt: number;
  tries: number;
}

/** One WebSocket with frames in flight, answered in seq order. */
class Connection {
  private readonly socket: WebSocket;
  private readonly pending = new Map<number, Pending>();
  // Like a browser, a frame comes from one shopper; the connection stands for a new shopper
  // (a new session, cart and anonymous id) every few frames.
  private shopper = new Shopper();
  private seq = 0;
  onAnswer: (frame: Pending, acked: boolean, rejected: number) => void = () => {};
  nacks = 0;

  constructor(
    url: string,
    origin: string,
    private readonly eventsPerFrame: number,
  ) {
    this.socket = new WebSocket(url, { origin, perMessageDeflate: false });
    this.socket.on('message', (data: Buffer) => this.answer(JSON.parse(data.toString('utf8'))));
    this.socket.on('error', () => {});
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('unexpected-response', (_req, res) =>
        reject(new Error(`upgrade refused with HTTP ${res.statusCode}`)),
      );
      this.socket.once('error', reject);
    });
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends a new frame; `scheduledAt` is when it should have left (latency counts from it). */
  sendFrame(scheduledAt = performance.now()): void {
    if (this.seq > 0 && this.seq % FRAMES_PER_SHOPPER === 0) this.shopper = new Shopper();
    const events = Array.from({ length: this.eventsPerFrame }, () => this.shopper.next());
    const seq = this.seq;
    this.seq += 1;
    const text = JSON.stringify({ t: 'batch', seq, events });
    const frame = {
      seq,
      ids: events.map((e) => e.id as string),
      text,
      sentAt: scheduledAt,
      tries: 1,
    };
    this.pending.set(seq, frame);
    this.socket.send(text);
  }

  private answer(message: { t: string; seq: number; retryAfterMs?: number; rejected?: unknown[] }) {
    const frame = this.pending.get(message.seq);
    if (!frame) return;
    if (message.t === 'ack') {
      this.pending.delete(message.seq);
      this.onAnswer(frame, true, message.rejected?.length ?? 0);
      return;
    }
    this.nacks += 1;
    // Retryable refusals are resent as the sdk would (same ids), a bounded number of times.
    if (message.t === 'nack' && frame.tries < 5 && (message.retryAfterMs ?? 0) <= 10_000) {
      frame.tries += 1;
      setTimeout(() => {
        if (this.socket.readyState === WebSocket.OPEN) this.socket.send(frame.text);
      }, message.retryAfterMs ?? 0);
      return;
    }
    this.pending.delete(message.seq);
    this.onAnswer(frame, false, 0);
  }

  close(): void {
    this.socket.terminate();
  }
}

// ---- phases -----------------------------------------------------------------------------

function emptyResult(): PhaseResult {
  return {
    sentEvents: 0,
    ackedEvents: 0,
    rejectedEvents: 0,
    nacks: 0,
    elapsedMs: 0,
    latencies: [],
    timedOut: false,
    driverCpuMs: 0,
  };
}

async function runPhase(
  connections: Connection[],
  options: DriverOptions,
  acked: string[],
  kind: 'throughput' | 'paced',
  progress: (line: string) => void,
): Promise<PhaseResult> {
  const result = emptyResult();
  const nacksBefore = connections.reduce((sum, c) => sum + c.nacks, 0);
  const totalFrames =
    kind === 'throughput'
      ? Math.ceil(options.events / options.eventsPerFrame)
      : Math.ceil((options.pacedRate * options.pacedSeconds) / options.eventsPerFrame);
  let sentFrames = 0;
  let answered = 0;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();

  return new Promise<PhaseResult>((resolve) => {
    let finished = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (timedOut: boolean) => {
      if (finished) return;
      finished = true;
      for (const timer of timers) clearTimeout(timer);
      for (const connection of connections) connection.onAnswer = () => {};
      result.timedOut = timedOut;
      result.elapsedMs = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      result.driverCpuMs = (cpu.user + cpu.system) / 1000;
      result.nacks = connections.reduce((sum, c) => sum + c.nacks, 0) - nacksBefore;
      resolve(result);
    };
    timers.push(setTimeout(() => finish(true), options.phaseLimitMs));

    const send = (connection: Connection, scheduledAt?: number) => {
      sentFrames += 1;
      result.sentEvents += options.eventsPerFrame;
      connection.sendFrame(scheduledAt);
    };

    for (const connection of connections) {
      connection.onAnswer = (frame, ok, rejected) => {
        answered += 1;
        if (ok) {
          result.latencies.push(performance.now() - frame.sentAt);
          result.ackedEvents += frame.ids.length - rejected;
          result.rejectedEvents += rejected;
          for (const id of frame.ids) acked.push(id);
        }
        if (kind === 'throughput' && sentFrames < totalFrames) send(connection);
        if (answered % 1000 === 0) {
          const seconds = (performance.now() - started) / 1000;
          progress(
            `${kind}: ${result.ackedEvents} events acked in ${seconds.toFixed(1)} s ` +
              `(${Math.round(result.ackedEvents / seconds)}/s)`,
          );
        }
        if (answered >= totalFrames) finish(false);
      };
    }

    if (kind === 'throughput') {
      for (let round = 0; round < options.pipeline; round += 1) {
        for (const connection of connections) if (sentFrames < totalFrames) send(connection);
      }
      return;
    }

    // Paced: frames leave on a fixed schedule whatever the answers do (an open loop), round
    // robin over the connections; latency counts from the scheduled time, so a stalled server
    // cannot hide its queue.
    const interval = (1000 * options.eventsPerFrame) / options.pacedRate;
    const tick = () => {
      const now = performance.now();
      while (sentFrames < totalFrames && started + sentFrames * interval <= now) {
        send(connections[sentFrames % connections.length]!, started + sentFrames * interval);
      }
      if (sentFrames < totalFrames) timers.push(setTimeout(tick, 1));
    };
    tick();
  });
}

async function main(options: DriverOptions): Promise<void> {
  const post = (message: DriverMessage) =>
    new Promise<void>((resolve) => process.send!(message, () => resolve()));
  const progress = (line: string) => void post({ t: 'progress', line });

  const connections = Array.from(
    { length: options.connections },
    () => new Connection(options.url, options.origin, options.eventsPerFrame),
  );
  try {
    await Promise.all(connections.map((connection) => connection.open()));
    progress(`${connections.length} connections open`);
    const acked: string[] = [];

    await post({ t: 'phase-start', name: 'throughput' });
    const throughput = await runPhase(connections, options, acked, 'throughput', progress);
    await post({ t: 'phase', name: 'throughput', result: throughput });
    // Let whatever the first phase left in flight settle before the paced run.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await post({ t: 'phase-start', name: 'paced' });
    const paced = await runPhase(connections, options, acked, 'paced', progress);
    await post({ t: 'phase', name: 'paced', result: paced });

    for (let i = 0; i < acked.length; i += 50_000) {
      await post({ t: 'ids', ids: acked.slice(i, i + 50_000) });
    }
    await post({ t: 'done' });
  } finally {
    for (const connection of connections) connection.close();
  }
}

process.once('message', (message: { t: 'run'; options: DriverOptions }) => {
  main(message.options)
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      process.send!({ t: 'error', message: String(error) } satisfies DriverMessage, () =>
        process.exit(1),
      );
    });
});
