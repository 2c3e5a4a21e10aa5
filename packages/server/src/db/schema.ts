import type {
  ColumnType,
  Generated,
  GeneratedAlways,
  Insertable,
  JSONColumnType,
  Selectable,
  Updateable,
} from 'kysely';

// Table interfaces for Kysely. The migrations create the tables; this file mirrors them and must
// change whenever a migration does.
//
// Conventions:
// - timestamptz reads as `Date`; writes accept a `Date` or an ISO string.
// - bigint reads as `number` (db/index.ts installs that parser; money in minor units and ids stay
//   far below 2^53).
// - jsonb columns are written as JSON text (`JSON.stringify(value)`): node-postgres would turn
//   a JS array into a Postgres array literal, not JSON, so strings keep arrays and objects alike.

/** A timestamp the database fills in (`default now()`) that code may still set. */
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
/** A timestamp that only the database sets, on insert. */
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type NullableTimestamp = ColumnType<
  Date | null,
  Date | string | null | undefined,
  Date | string | null
>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** A jsonb column with a database default, so it may be left out on insert. */
type DefaultedJson<T extends object> = JSONColumnType<T, string | undefined, string>;

export type Channel = 'email' | 'sms' | 'push' | 'onsite';
/** Channels a shopper consents to (on-site overlays need no consent). */
export type ConsentChannel = Exclude<Channel, 'onsite'>;
export type CartStatus =
  | 'active'
  | 'checkout'
  | 'abandoned'
  | 'converted'
  | 'recovered'
  | 'emptied';
export type CartEnrolment = 'enrolled' | 'no_campaign' | 'no_channel';
export type CampaignStatus = 'draft' | 'active' | 'paused';
export type MessageStatus =
  | 'scheduled'
  | 'sending'
  | 'sent'
  | 'suppressed'
  | 'cancelled'
  | 'failed';
export type DiscountKind = 'percent' | 'fixed' | 'free_shipping';

export interface StoresTable {
  id: Generated<string>;
  name: string;
  /** `pk_...`: sent by the storefront script; identifies, never authorises on its own. */
  public_key: string;
  /** `sha256:<hex>` of the admin secret; the secret itself is never stored. */
  secret_hash: string;
  /** Normalised `scheme://host[:port]` origins the storefront may connect from. */
  allowed_origins: ColumnType<string[], string[] | undefined, string[]>;
  /** Read through `readStoreSettings` (features/stores/settings.ts), which fills defaults. */
  settings: DefaultedJson<Record<string, unknown>>;
  postal_address: string | null;
  revoked_at: NullableTimestamp;
  created_at: CreatedAt;
  updated_at: DefaultedTimestamp;
}

export interface ShoppersTable {
  id: Generated<string>;
  store_id: string;
  anonymous_id: string;
  email: string | null;
  phone: string | null;
  /** Kept, like an address, only from an `identify` that grants consent for a channel. */
  first_name: string | null;
  email_consent: Generated<boolean>;
  sms_consent: Generated<boolean>;
  consent_text_version: string | null;
  locale: string | null;
  timezone: string | null;
  country: string | null;
  opted_out_at: NullableTimestamp;
  /** Browser time of the latest consent decision reflected in the flags. */
  consent_updated_at: NullableTimestamp;
  created_at: CreatedAt;
  updated_at: DefaultedTimestamp;
}

export interface CartsTable {
  id: Generated<string>;
  store_id: string;
  /** The storefront's own cart id (the wire protocol's `cartId`). */
  external_id: string;
  shopper_id: string | null;
  session_id: string | null;
  status: ColumnType<CartStatus, CartStatus | undefined, CartStatus>;
  /** The latest full cart snapshot as sent by the sdk; its shape belongs to the wire protocol. */
  snapshot: DefaultedJson<Record<string, unknown>>;
  currency: string | null;
  value_minor: Generated<number>;
  line_count: Generated<number>;
  score: number | null;
  last_activity_at: DefaultedTimestamp;
  idle_due_at: NullableTimestamp;
  abandoned_at: NullableTimestamp;
  converted_at: NullableTimestamp;
  device: string | null;
  utm: JSONColumnType<Record<string, string> | null, string | null | undefined, string | null>;
  campaign_id: string | null;
  campaign_version: number | null;
  variant: string | null;
  enrolled_at: NullableTimestamp;
  /** Browser time and event id of the `cart_updated` that gave `snapshot`. */
  snapshot_ts: NullableTimestamp;
  snapshot_event_id: string | null;
  /** Browser time of the latest checkout activity. */
  checkout_at: NullableTimestamp;
  /** Browser time of the page view that gave `device` and `utm`. */
  context_ts: NullableTimestamp;
  /** Score counters, grown only by newly stored events: `cart_updated` changes (quantity/add). */
  edits: Generated<number>;
  /** `cart_updated` changes of kind remove. */
  removals: Generated<number>;
  page_views: Generated<number>;
  /** Page views whose URL path looks like a product page (/products/, /product/, /p/). */
  product_views: Generated<number>;
  /** `checkout_step` events. */
  checkout_steps: Generated<number>;
  /** `exit_intent` events, by signal. */
  exit_mouse_top: Generated<number>;
  exit_scroll_up: Generated<number>;
  exit_tab_hidden: Generated<number>;
  exit_idle: Generated<number>;
  exit_back: Generated<number>;
  /** Browser time of the cart's earliest event. */
  first_seen_at: NullableTimestamp;
  /** The cart's first `order_completed` (its time is `converted_at`). */
  order_id: string | null;
  order_value_minor: number | null;
  order_currency: string | null;
  /** The message whose open or click the purchase is attributed to (status `recovered`). */
  attributed_message_id: string | null;
  /** What the abandonment worker decided; null until the cart is abandoned. */
  enrolment: CartEnrolment | null;
  /** The shopper's answer to the exit modal's "why are you leaving?", and when it came. */
  exit_reason: string | null;
  exit_reason_at: NullableTimestamp;
  created_at: CreatedAt;
  updated_at: DefaultedTimestamp;
}

/** Partitioned by month through ranges of the ULID `id`; see the events migration. */
export interface EventsTable {
  store_id: string;
  /** The client's ULID, kept across retries; (store_id, id) is the dedupe key. */
  id: string;
  type: string;
  ts: Timestamp;
  received_at: DefaultedTimestamp;
  session_id: string | null;
  anonymous_id: string | null;
  /** The storefront's cart id (`carts.external_id`), not `carts.id`. */
  cart_id: string | null;
  payload: DefaultedJson<Record<string, unknown>>;
}

export interface CampaignsTable {
  id: Generated<string>;
  store_id: string;
  name: string;
  status: ColumnType<CampaignStatus, CampaignStatus | undefined, CampaignStatus>;
  priority: Generated<number>;
  /** Segment rules; their shape belongs to the campaigns feature. */
  trigger_filters: DefaultedJson<Record<string, unknown>>;
  steps: DefaultedJson<unknown[]>;
  /**
   * The on-site step: what the exit modal may offer this campaign's carts; null: none, the
   * store's offer applies. Its shape belongs to the campaigns feature.
   */
  onsite: JSONColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  variants: DefaultedJson<unknown[]>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: DefaultedTimestamp;
}

export interface TemplatesTable {
  id: Generated<string>;
  store_id: string;
  name: string;
  channel: Channel;
  subject: string | null;
  html: string | null;
  text: string | null;
  locale: Generated<string>;
  created_at: CreatedAt;
  updated_at: DefaultedTimestamp;
}

/** The send ledger: one row per cart x campaign x step x channel. */
export interface MessagesTable {
  id: Generated<string>;
  store_id: string;
  cart_id: string;
  campaign_id: string;
  campaign_version: number | null;
  variant: string | null;
  step: number;
  channel: Channel;
  template_id: string | null;
  status: ColumnType<MessageStatus, MessageStatus | undefined, MessageStatus>;
  scheduled_at: Timestamp;
  claimed_at: NullableTimestamp;
  sent_at: NullableTimestamp;
  provider_id: string | null;
  error: string | null;
  suppress_reason: string | null;
  opened_at: NullableTimestamp;
  clicked_at: NullableTimestamp;
  attempt: Generated<number>;
  /** The step as it stood when the cart enrolled; its shape belongs to the campaigns feature. */
  step_def: DefaultedJson<Record<string, unknown>>;
  discount_id: string | null;
  created_at: CreatedAt;
  updated_at: DefaultedTimestamp;
}

export interface DiscountsTable {
  id: Generated<string>;
  store_id: string;
  code: string;
  cart_id: string | null;
  kind: DiscountKind;
  /** Whole percent (`percent`), minor units of `currency` (`fixed`), or 0 (`free_shipping`). */
  value: Generated<number>;
  currency: string | null;
  min_subtotal_minor: number | null;
  expires_at: NullableTimestamp;
  used_at: NullableTimestamp;
  created_at: CreatedAt;
  /** What issued the code: a recovery message, or an on-site overlay (capped per day). */
  origin: ColumnType<DiscountOrigin, DiscountOrigin | undefined, DiscountOrigin>;
}

export type DiscountOrigin = 'message' | 'onsite';

/** Per store and browser: the overlay decision's memory across pages and nodes. */
export interface OnsiteStateTable {
  store_id: string;
  anonymous_id: string;
  /** The session an overlay was last shown in: never two in one session. */
  shown_session_id: string | null;
  shown_kind: string | null;
  shown_at: NullableTimestamp;
  /** When the shopper last dismissed an overlay. */
  dismissed_at: NullableTimestamp;
}

/** Append-only: the database refuses UPDATE, DELETE and TRUNCATE. */
export interface ConsentLogTable {
  id: GeneratedAlways<number>;
  store_id: string;
  shopper_id: string;
  channel: ConsentChannel;
  granted: boolean;
  source: string;
  text_version: string | null;
  ip_hash: string | null;
  created_at: CreatedAt;
}

export interface SuppressionsTable {
  id: Generated<string>;
  store_id: string;
  channel: ConsentChannel;
  /** Digest of the normalised address, so the list outlives the shopper's erasure. */
  address_hash: string;
  reason: string;
  created_at: CreatedAt;
}

export interface WebhookReceiptsTable {
  store_id: string;
  provider: string;
  delivery_id: string;
  received_at: DefaultedTimestamp;
}

/** Append-only: the database refuses UPDATE, DELETE and TRUNCATE. */
export interface AuditLogTable {
  id: GeneratedAlways<number>;
  store_id: string;
  actor: string;
  action: string;
  subject: string | null;
  detail: DefaultedJson<Record<string, unknown>>;
  created_at: CreatedAt;
}

/** A signed-in merchant; the cookie's token itself is never stored. */
export interface AdminSessionsTable {
  id: Generated<string>;
  store_id: string;
  /** Hex SHA-256 of the session cookie's token. */
  token_hash: string;
  created_at: CreatedAt;
  /** Fixed at sign-in (12 hours later); use does not extend it. */
  expires_at: Timestamp;
  last_seen_at: DefaultedTimestamp;
}

export interface Database {
  stores: StoresTable;
  shoppers: ShoppersTable;
  carts: CartsTable;
  events: EventsTable;
  campaigns: CampaignsTable;
  templates: TemplatesTable;
  messages: MessagesTable;
  discounts: DiscountsTable;
  consent_log: ConsentLogTable;
  suppressions: SuppressionsTable;
  webhook_receipts: WebhookReceiptsTable;
  audit_log: AuditLogTable;
  admin_sessions: AdminSessionsTable;
  onsite_state: OnsiteStateTable;
}

export type StoreRow = Selectable<StoresTable>;
export type NewStoreRow = Insertable<StoresTable>;
export type StoreUpdate = Updateable<StoresTable>;

export type ShopperRow = Selectable<ShoppersTable>;
export type NewShopperRow = Insertable<ShoppersTable>;
export type ShopperUpdate = Updateable<ShoppersTable>;

export type CartRow = Selectable<CartsTable>;
export type NewCartRow = Insertable<CartsTable>;
export type CartUpdate = Updateable<CartsTable>;

export type EventRow = Selectable<EventsTable>;
export type NewEventRow = Insertable<EventsTable>;

export type CampaignRow = Selectable<CampaignsTable>;
export type NewCampaignRow = Insertable<CampaignsTable>;
export type CampaignUpdate = Updateable<CampaignsTable>;

export type TemplateRow = Selectable<TemplatesTable>;
export type NewTemplateRow = Insertable<TemplatesTable>;
export type TemplateUpdate = Updateable<TemplatesTable>;

export type MessageRow = Selectable<MessagesTable>;
export type NewMessageRow = Insertable<MessagesTable>;
export type MessageUpdate = Updateable<MessagesTable>;

export type DiscountRow = Selectable<DiscountsTable>;
export type NewDiscountRow = Insertable<DiscountsTable>;
export type DiscountUpdate = Updateable<DiscountsTable>;

export type ConsentLogRow = Selectable<ConsentLogTable>;
export type NewConsentLogRow = Insertable<ConsentLogTable>;

export type SuppressionRow = Selectable<SuppressionsTable>;
export type NewSuppressionRow = Insertable<SuppressionsTable>;

export type WebhookReceiptRow = Selectable<WebhookReceiptsTable>;
export type NewWebhookReceiptRow = Insertable<WebhookReceiptsTable>;

export type AuditLogRow = Selectable<AuditLogTable>;
export type NewAuditLogRow = Insertable<AuditLogTable>;

export type AdminSessionRow = Selectable<AdminSessionsTable>;
export type NewAdminSessionRow = Insertable<AdminSessionsTable>;
