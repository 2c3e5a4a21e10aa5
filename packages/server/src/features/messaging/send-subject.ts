import { type Kysely, sql } from 'kysely';
import type { Database, MessageRow } from '../../db/schema.js';
import type { EmailTemplateSource } from './email/render.js';

type Conn = Kysely<Database>;

/** Everything a send decides on, as it stands inside the claiming transaction. */
export interface SendSubject {
  message: MessageRow;
  /** The row's version as read (`xmin`). */
  version: string;
  cart: {
    status: string;
    snapshot: unknown;
    currency: string | null;
    valueMinor: number;
    idleDueAt: Date | null;
  };
  store: {
    name: string;
    postalAddress: string | null;
    settings: unknown;
    revokedAt: Date | null;
  };
  shopper: {
    id: string;
    email: string | null;
    emailConsent: boolean;
    optedOutAt: Date | null;
    timezone: string | null;
    firstName: string | null;
    locale: string | null;
  } | null;
  /** The store's own template the step names (by id, else by name), if it has a complete one. */
  template: EmailTemplateSource | null;
  history: {
    bought: boolean;
    /** The digest of the shopper's address as Postgres took it, with `suppressed` for it. */
    addressHash: string | null;
    suppressed: boolean;
    lastEmailAt: Date | null;
  };
}

const uuidPattern = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

interface SubjectRow extends MessageRow {
  row_version: string;
  cart_status: string;
  cart_snapshot: unknown;
  cart_currency: string | null;
  cart_value_minor: number;
  cart_idle_due_at: Date | null;
  cart_since: Date;
  store_name: string;
  store_postal_address: string | null;
  store_settings: unknown;
  store_revoked_at: Date | null;
  shopper_id: string | null;
  shopper_email: string | null;
  shopper_email_consent: boolean | null;
  shopper_opted_out_at: Date | null;
  shopper_timezone: string | null;
  shopper_first_name: string | null;
  shopper_locale: string | null;
  template_subject: string | null;
  template_html: string | null;
  template_text: string | null;
  bought: boolean;
  address_hash: string | null;
  suppressed: boolean;
  last_email_at: Date | null;
}

/**
 * Reads ledger rows (each `messageId` of its `storeId`) with their cart, store, shopper, the
 * store's template for the step and the shopper's history, in one statement (every join scoped
 * by the store), with each row's version (`xmin`): the claim then writes only if the row has not
 * changed since, so a send costs one read and one write instead of a locked transaction. One
 * answer per request, in order (`undefined` for a row not found).
 *
 * The shopper's history:
 * - `bought`: they bought any cart since this cart began;
 * - `suppressed`: their email address is on the suppression list (the digest is taken here as
 *   `addressHash` takes it; `addressHash` checks it, see `send.ts`);
 * - `lastEmailAt`: when they (any browser with the same address) were last claimed an email for
 *   another cart. The frequency cap keeps parallel sequences apart; one cart's own steps follow
 *   the merchant's delays.
 */
export async function readSendSubjects(
  db: Conn,
  wanted: readonly { storeId: string; messageId: string }[],
): Promise<(SendSubject | undefined)[]> {
  const { rows } = await sql<SubjectRow>`
    select m.*, m.xmin::text as row_version,
      c.status as cart_status, c.snapshot as cart_snapshot, c.currency as cart_currency,
      c.value_minor as cart_value_minor, c.idle_due_at as cart_idle_due_at,
      coalesce(c.first_seen_at, c.created_at) as cart_since,
      st.name as store_name, st.postal_address as store_postal_address,
      st.settings as store_settings, st.revoked_at as store_revoked_at,
      s.id as shopper_id, s.email as shopper_email, s.email_consent as shopper_email_consent,
      s.opted_out_at as shopper_opted_out_at, s.timezone as shopper_timezone,
      s.first_name as shopper_first_name, s.locale as shopper_locale,
      tpl.subject as template_subject, tpl.html as template_html, tpl.text as template_text,
      s.id is not null and exists (
        select 1 from carts bought
        where bought.store_id = m.store_id and bought.shopper_id = s.id
          and bought.converted_at >= coalesce(c.first_seen_at, c.created_at)
      ) as bought,
      h.address_hash,
      h.address_hash is not null and exists (
        select 1 from suppressions x
        where x.store_id = m.store_id and x.channel = 'email' and x.address_hash = h.address_hash
      ) as suppressed,
      case when s.id is not null then (
        select max(other.claimed_at)
        from messages other
        join carts oc on oc.id = other.cart_id and oc.store_id = m.store_id
        join shoppers os on os.id = oc.shopper_id and os.store_id = m.store_id
        where other.store_id = m.store_id and other.channel = 'email'
          and other.status in ('sending', 'sent') and other.cart_id <> m.cart_id
          and (os.id = s.id or os.email = s.email)
      ) end as last_email_at
    from unnest(
      ${wanted.map((want) => want.storeId)}::uuid[],
      ${wanted.map((want) => want.messageId)}::uuid[]
    ) as want(store_id, id)
    join messages m on m.store_id = want.store_id and m.id = want.id
    join carts c on c.id = m.cart_id and c.store_id = m.store_id
    join stores st on st.id = m.store_id
    left join shoppers s on s.id = c.shopper_id and s.store_id = m.store_id
    cross join lateral (
      select 'sha256:' || encode(sha256(convert_to(lower(btrim(s.email)), 'UTF8')), 'hex')
        as address_hash
    ) h
    left join lateral (
      select t.subject, t.html, t.text from templates t
      where t.store_id = m.store_id and t.channel = 'email'
        and case when m.step_def->>'template' ~* ${uuidPattern}
          then t.id::text = lower(m.step_def->>'template')
          else t.name = m.step_def->>'template' end
      order by t.updated_at desc
      limit 1
    ) tpl on true
  `.execute(db);
  const byId = new Map(rows.map((row) => [`${row.store_id}/${row.id}`, row]));
  return wanted.map((want) => {
    const row = byId.get(`${want.storeId}/${want.messageId}`);
    return row && subjectOf(row);
  });
}

function subjectOf(row: SubjectRow): SendSubject {
  const {
    row_version,
    cart_status,
    cart_snapshot,
    cart_currency,
    cart_value_minor,
    cart_idle_due_at,
    cart_since,
    store_name,
    store_postal_address,
    store_settings,
    store_revoked_at,
    shopper_id,
    shopper_email,
    shopper_email_consent,
    shopper_opted_out_at,
    shopper_timezone,
    shopper_first_name,
    shopper_locale,
    template_subject,
    template_html,
    template_text,
    bought,
    address_hash,
    suppressed,
    last_email_at,
    ...message
  } = row;
  return {
    message,
    version: row_version,
    cart: {
      status: cart_status,
      snapshot: cart_snapshot,
      currency: cart_currency,
      valueMinor: cart_value_minor,
      idleDueAt: cart_idle_due_at,
    },
    store: {
      name: store_name,
      postalAddress: store_postal_address,
      settings: store_settings,
      revokedAt: store_revoked_at,
    },
    shopper: shopper_id
      ? {
          id: shopper_id,
          email: shopper_email,
          emailConsent: shopper_email_consent ?? false,
          optedOutAt: shopper_opted_out_at,
          timezone: shopper_timezone,
          firstName: shopper_first_name,
          locale: shopper_locale,
        }
      : null,
    template:
      template_subject && template_html && template_text
        ? { subject: template_subject, html: template_html, text: template_text }
        : null,
    history: { bought, addressHash: address_hash, suppressed, lastEmailAt: last_email_at },
  };
}
