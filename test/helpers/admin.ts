import type { buildApp, Store } from '@winback/server';
import type { TrackedEvent } from '@winback/shared';
import { batch } from './ingest.js';
import { openWebSocket, type Upgrade } from './websocket.js';

type App = Awaited<ReturnType<typeof buildApp>>;

/** The PUBLIC_URL the admin suites give their apps: the admin's own origin. */
export const ADMIN_ORIGIN = 'https://admin.winback.test';

/**
 * A client address (for X-Forwarded-For) no other call has used, so tests never share a sign-in
 * rate-limit window by accident. From the documentation range; nothing is ever sent to it.
 */
let addresses = 0;
export function freshAddress(): string {
  addresses += 1;
  return `2001:db8::${(process.pid % 0xffff).toString(16)}:${(addresses % 0xffff).toString(16)}`;
}

/** Signs in through the API as the admin page would; `cookie` is ready for a Cookie header. */
export async function signIn(
  app: App,
  storeId: string,
  secret: string,
): Promise<{ cookie: string; token: string }> {
  const response = await app.inject({
    method: 'POST',
    url: '/admin/api/session',
    headers: { origin: ADMIN_ORIGIN, 'x-forwarded-for': freshAddress() },
    payload: { storeId, secret },
  });
  if (response.statusCode !== 201) {
    throw new Error(`sign-in failed: ${response.statusCode} ${response.body}`);
  }
  const session = response.cookies.find((cookie) => cookie.name === 'wb_admin');
  if (!session) throw new Error('sign-in set no session cookie');
  return { cookie: `wb_admin=${session.value}`, token: session.value };
}

/** Opens a real WebSocket to the live feed, with the given Origin and Cookie (each optional). */
export function openAdminFeed(
  url: string,
  headers: { origin?: string; cookie?: string },
): Promise<Upgrade> {
  return openWebSocket(url, headers.origin, headers.cookie);
}

/** Sends events through `/v1/collect` as a storefront of `store` would; resolves on the ack. */
export async function collect(
  app: App,
  store: Store,
  events: readonly TrackedEvent[],
): Promise<void> {
  const response = await app.inject({
    method: 'POST',
    url: `/v1/collect?key=${encodeURIComponent(store.public_key)}`,
    headers: { 'content-type': 'text/plain', origin: store.allowed_origins[0] ?? '' },
    body: batch(1, events),
  });
  if (response.statusCode !== 200 || response.json().t !== 'ack') {
    throw new Error(`collect failed: ${response.statusCode} ${response.body}`);
  }
}
