import { useEffect, useRef, useState } from 'preact/hooks';
import { type CartStatus, type CartSummary, describeError, post } from '../api.js';
import { Badge, Empty, TableScroll } from '../components.js';
import { formatDateTime } from '../format.js';
import { money, score } from './carts.js';

/** What the live feed says (see the server README, "Live feed"). */
type FeedMessage =
  | { t: 'ready' }
  | { t: 'resync' }
  | {
      t: 'cart';
      cart: {
        id: string;
        externalId: string;
        status: CartStatus;
        score: number | null;
        valueMinor: number;
        lineCount: number;
        idleDueAt: string | null;
      };
    }
  | { t: 'decision'; cartId: string; kind: string; enrolment: string | null }
  | { t: 'message'; messageId: string; cartId: string; status: string };

interface LiveCart {
  id: string;
  externalId: string;
  status: CartStatus;
  score: number | null;
  valueMinor: number;
  currency: string | null;
  lineCount: number;
  updatedAt: string;
  decision: string | null;
}

type Connection = 'connecting' | 'live' | 'reconnecting' | 'ended';

const SHOWN = 50;

function fromSummary(cart: CartSummary): LiveCart {
  return {
    id: cart.id,
    externalId: cart.externalId,
    status: cart.status,
    score: cart.score,
    valueMinor: cart.valueMinor,
    currency: cart.currency,
    lineCount: cart.lineCount,
    updatedAt: cart.lastActivityAt,
    decision: cart.enrolment,
  };
}

export function Live() {
  const [carts, setCarts] = useState<LiveCart[]>([]);
  const [loaded, setLoaded] = useState<'loading' | 'ready' | { error: unknown }>('loading');
  const [connection, setConnection] = useState<Connection>('connecting');
  const [log, setLog] = useState<{ at: string; text: string }[]>([]);
  const attempts = useRef(0);

  useEffect(() => {
    let socket: WebSocket | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;

    const load = async () => {
      try {
        const page = await post<{ carts: CartSummary[] }>('/admin/api/carts/search', {
          limit: SHOWN,
        });
        if (!stopped) {
          setCarts(page.carts.map(fromSummary));
          setLoaded('ready');
        }
      } catch (error) {
        if (!stopped) setLoaded({ error });
      }
    };
    const note = (text: string) =>
      setLog((entries) => [{ at: new Date().toISOString(), text }, ...entries].slice(0, 30));

    const apply = (message: FeedMessage) => {
      switch (message.t) {
        case 'ready':
          attempts.current = 0;
          setConnection('live');
          void load();
          return;
        case 'resync':
          void load();
          return;
        case 'cart': {
          const update = message.cart;
          setCarts((current) => {
            const before = current.find((cart) => cart.id === update.id);
            const next: LiveCart = {
              currency: before?.currency ?? null,
              decision: before?.decision ?? null,
              ...update,
              updatedAt: new Date().toISOString(),
            };
            return [next, ...current.filter((cart) => cart.id !== update.id)].slice(0, SHOWN);
          });
          return;
        }
        case 'decision':
          setCarts((current) =>
            current.map((cart) =>
              cart.id === message.cartId
                ? { ...cart, status: 'abandoned', decision: message.enrolment ?? message.kind }
                : cart,
            ),
          );
          note(`Cart ${message.cartId.slice(0, 8)}: ${message.kind} (${message.enrolment ?? '—'})`);
          return;
        case 'message':
          note(`Message for cart ${message.cartId.slice(0, 8)}: ${message.status}`);
          return;
      }
    };

    const connect = () => {
      setConnection(attempts.current === 0 ? 'connecting' : 'reconnecting');
      const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
      socket = new WebSocket(`${scheme}://${location.host}/admin/live`);
      socket.onmessage = (event) => {
        try {
          apply(JSON.parse(String(event.data)) as FeedMessage);
        } catch {
          // A message of another shape is ignored: the next resync or reload corrects the view.
        }
      };
      socket.onclose = (event) => {
        if (stopped) return;
        if (event.code === 4401) {
          // The session ended: any API call now leads back to sign-in.
          setConnection('ended');
          void load();
          return;
        }
        attempts.current += 1;
        setConnection('reconnecting');
        const delay = Math.min(30_000, 1000 * 2 ** Math.min(attempts.current, 5));
        retry = setTimeout(connect, delay * (0.5 + Math.random() / 2));
      };
    };
    connect();
    return () => {
      stopped = true;
      if (retry) clearTimeout(retry);
      socket?.close();
    };
  }, []);

  return (
    <>
      <h1 tabIndex={-1}>Live</h1>
      <p class={`connection connection-${connection}`} role="status" aria-live="polite">
        {connection === 'live'
          ? 'Live: carts update as shoppers act.'
          : connection === 'connecting'
            ? 'Connecting to the live feed…'
            : connection === 'reconnecting'
              ? 'The live feed was interrupted; reconnecting…'
              : 'The live feed ended.'}
      </p>
      {loaded === 'loading' ? (
        <p class="state loading">Loading carts…</p>
      ) : typeof loaded === 'object' ? (
        <p class="state error" role="alert">
          {describeError(loaded.error)}
        </p>
      ) : carts.length === 0 ? (
        <Empty>No carts yet. They appear here the moment a storefront sends a cart.</Empty>
      ) : (
        <TableScroll label="Live carts">
          <table class="live">
            <thead>
              <tr>
                <th scope="col">Cart</th>
                <th scope="col">Status</th>
                <th scope="col" class="number">
                  Value
                </th>
                <th scope="col" class="number">
                  Lines
                </th>
                <th scope="col" class="number">
                  Risk
                </th>
                <th scope="col">Decision</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {carts.map((cart) => (
                <tr key={cart.id} data-cart={cart.id}>
                  <td>
                    <a href={`#/carts/${cart.id}`}>{cart.externalId}</a>
                  </td>
                  <td>
                    <Badge value={cart.status} />
                  </td>
                  <td class="number">{money(cart)}</td>
                  <td class="number">{cart.lineCount}</td>
                  <td class="number">
                    <meter
                      min={0}
                      max={1}
                      low={0.3}
                      high={0.6}
                      optimum={0}
                      value={cart.score ?? 0}
                    />{' '}
                    {score(cart.score)}
                  </td>
                  <td>{cart.decision ?? '—'}</td>
                  <td>{formatDateTime(cart.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      <section aria-labelledby="activity-heading">
        <h2 id="activity-heading">Decisions and messages</h2>
        {log.length === 0 ? (
          <Empty>Nothing decided since this view opened.</Empty>
        ) : (
          <ol class="log">
            {log.map((entry, index) => (
              <li key={`${entry.at}-${index}`}>
                <time dateTime={entry.at}>{formatDateTime(entry.at)}</time> {entry.text}
              </li>
            ))}
          </ol>
        )}
      </section>
    </>
  );
}
