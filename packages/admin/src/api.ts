/*
 * The admin API from the page: same-origin fetches that carry the session cookie (Path=/admin)
 * and, for writes, the Origin header the server checks. A 401 anywhere but the sign-in itself
 * means the session ended: the page goes back to sign-in.
 */

export interface Session {
  storeId: string;
  storeName: string;
  expiresAt: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let sessionEnded: () => void = () => {};

/** Called on any 401 answer outside sign-in. */
export function onSessionEnded(listener: () => void): void {
  sessionEnded = listener;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: {
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The server could not be reached. Check the connection.');
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    if (response.status === 401 && path !== '/admin/api/session') sessionEnded();
    throw new ApiError(
      response.status,
      error?.code ?? `HTTP_${response.status}`,
      error?.message ?? `The server answered ${response.status}.`,
    );
  }
  return parsed as T;
}

export const get = <T>(path: string) => api<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => api<T>('POST', path, body ?? {});
export const patch = <T>(path: string, body: unknown) => api<T>('PATCH', path, body);

/** What the page says for an error: its message, and what to do for the usual ones. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 404 && error.code === 'HTTP_404') {
      return 'This server does not offer this yet (404).';
    }
    return `${error.message} (${error.code})`;
  }
  return error instanceof Error ? error.message : String(error);
}

// Answers of the admin API the views read (see the server's OpenAPI document at /docs).

export interface Kpis {
  carts: number;
  abandoned: number;
  enrolled: number;
  messaged: number;
  opened: number;
  clicked: number;
  recovered: number;
  convertedUnassisted: number;
  recoveryRate: number | null;
  revenueRecovered: { currency: string; amountMinor: number }[];
}

export interface Overview {
  from: string;
  to: string;
  previousFrom: string;
  previousTo: string;
  timezone: string;
  current: Kpis;
  previous: Kpis;
  series: {
    date: string;
    carts: number;
    abandoned: number;
    recovered: number;
    revenueRecovered: { currency: string; amountMinor: number }[];
  }[];
  funnel: { stage: string; count: number }[];
}

export interface Breakdown {
  by: string;
  columns: { key: string; label: string }[];
  rows: { key: string; label: string; values: Record<string, number> }[];
}

export const cartStatuses = [
  'active',
  'checkout',
  'abandoned',
  'converted',
  'recovered',
  'emptied',
] as const;
export type CartStatus = (typeof cartStatuses)[number];

export interface CartSummary {
  id: string;
  externalId: string;
  status: CartStatus;
  valueMinor: number;
  currency: string | null;
  lineCount: number;
  score: number | null;
  device: string | null;
  email: string | null;
  lastActivityAt: string;
  abandonedAt: string | null;
  convertedAt: string | null;
  enrolment: string | null;
  exitReason: string | null;
}

export interface CartDetail {
  cart: CartSummary & {
    lines: Record<string, unknown>[];
    utm: Record<string, string> | null;
    orderId: string | null;
    orderValueMinor: number | null;
    campaignId: string | null;
  };
  timeline: {
    at: string;
    kind: 'event' | 'message' | 'discount' | 'order' | 'abandoned';
    type: string;
    detail: Record<string, unknown>;
  }[];
  eventsTruncated: boolean;
}

export interface DiscountPolicy {
  kind: 'percent' | 'fixed' | 'free_shipping';
  value: number;
  minSubtotalMinor?: number;
  validHours: number;
}

export interface CampaignStep {
  delayMinutes: number;
  channel: 'email' | 'sms' | 'push';
  template: string;
  discount?: DiscountPolicy;
}

export interface TriggerFilters {
  minValueMinor?: number;
  maxValueMinor?: number;
  minLines?: number;
  maxLines?: number;
  shopper?: 'new' | 'returning';
  devices?: ('desktop' | 'mobile' | 'tablet' | 'unknown')[];
  countries?: string[];
  utmSources?: string[];
  currencies?: string[];
}

export interface Campaign {
  id: string;
  name: string;
  status: 'draft' | 'active' | 'paused';
  priority: number;
  triggerFilters: TriggerFilters;
  steps: CampaignStep[];
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
  cart: { id: string | null; externalId: string | null };
}

export interface Template {
  id: string;
  name: string;
  subject: string;
  html: string;
  text: string;
  locale: string;
  updatedAt: string;
}

export interface Templates {
  builtIn: { key: string; subject: string; html: string; text: string }[];
  templates: Template[];
}

export interface Store {
  id: string;
  name: string;
  publicKey: string;
  allowedOrigins: string[];
  postalAddress: string | null;
  settings: Record<string, unknown>;
  createdAt: string;
}

/** The overlays' built-in wording (`GET /admin/api/store/overlay-texts`). */
export interface OverlayTextDefaults {
  locales: string[];
  keys: string[];
  defaults: Record<string, Record<string, string>>;
}

/** A template's test send, as the server reports it. */
export interface TestSent {
  sentTo: string;
  subject: string;
  cart: { id: string | null; externalId: string | null };
}

export interface MailSummary {
  id: string;
  receivedAt: string;
  sizeBytes: number;
  from: string | null;
  to: string | null;
  subject: string | null;
}

export interface Mail extends MailSummary {
  html: string | null;
  text: string | null;
}
