import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import { pickCampaign } from '../../domain/campaign.js';
import type { CartFacts } from '../../domain/segments.js';
import type { JobModule } from '../../jobs.js';
import type { JobQueue } from '../../queue/index.js';
import { readSteps } from '../campaigns/repository.js';
import { returningShopperSql } from '../carts/returning.js';
import type { EventsStoredListener } from '../ingest/index.js';
import { scheduleSends } from '../messaging/schedule.js';

/*
 * Abandonment: every batch that touches a cart re-arms the cart's idle job (`cart.idle`, one per
 * cart: scheduling again replaces the pending one), due at `carts.idle_due_at`, which the ingest
 * projection sets from the cart's latest activity and the store's idle threshold. When the job
 * fires, one transaction decides: a cart that still has lines, is not bought and has had no
 * activity since becomes `abandoned` and is enrolled in the store's highest-priority matching
 * active campaign, whose steps are written to the send ledger and armed. Postgres is the source
 * of truth: the reconciler re-arms every cart whose timer is due but missing from the queue.
 */

export const IDLE_JOB = 'cart.idle';

type IdlePayload = { storeId: string };

/** After each committed batch: arm (or move) the idle job of every cart that has a timer. */
export function armIdleTimers(queue: JobQueue): EventsStoredListener {
  return async (batch) => {
    for (const cart of batch.carts) {
      if (cart.idleDueAt) {
        await queue.schedule<IdlePayload>(IDLE_JOB, cart.id, cart.idleDueAt, {
          storeId: batch.storeId,
        });
      }
    }
  };
}

export const abandonmentJobs: JobModule = ({ db, queue, reconciler, logger, live }) => {
  queue.process<IdlePayload>(
    IDLE_JOB,
    async (job) => {
      const outcome = await abandonIfIdle(db, job.payload.storeId, job.id, new Date());
      if (outcome.kind === 'not_yet') {
        await queue.schedule<IdlePayload>(IDLE_JOB, job.id, outcome.dueAt, job.payload);
      } else if (outcome.kind === 'abandoned') {
        live?.publish(job.payload.storeId, {
          t: 'decision',
          cartId: job.id,
          kind: 'abandoned',
          enrolment: outcome.enrolment,
        });
        await scheduleSends(queue, job.payload.storeId, outcome.messages);
        logger.debug(
          { cartId: job.id, enrolment: outcome.enrolment, steps: outcome.messages.length },
          'cart abandoned',
        );
      }
    },
    // Each decision holds a pool connection for two short statements; with a queue whose every
    // job costs Redis round trips (BullMQ), decisions in flight at once keep the lateness down.
    { concurrency: 32 },
  );
  reconciler.register<IdlePayload>({ kind: IDLE_JOB, due: () => idleTimers(db) });
};

/** Every cart whose idle timer is still to fire, by id (keyset pages). */
async function* idleTimers(db: Db) {
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const page = await db
      .selectFrom('carts')
      .select(['id', 'store_id', 'idle_due_at'])
      .where('idle_due_at', 'is not', null)
      .where('status', 'in', ['active', 'checkout'])
      .where('id', '>', after)
      .orderBy('id')
      .limit(1000)
      .execute();
    for (const cart of page) {
      if (cart.idle_due_at) {
        yield { id: cart.id, runAt: cart.idle_due_at, payload: { storeId: cart.store_id } };
      }
    }
    const last = page.at(-1);
    if (!last || page.length < 1000) return;
    after = last.id;
  }
}

export type AbandonOutcome =
  | { kind: 'skipped' }
  | { kind: 'not_yet'; dueAt: Date }
  | {
      kind: 'abandoned';
      enrolment: 'enrolled' | 'no_campaign' | 'no_channel';
      messages: { id: string; scheduledAt: Date }[];
    };

/**
 * The abandonment decision for one cart, in one transaction with the cart's row locked, so a
 * purchase or new activity committed first is seen, and one committed after finds the cart
 * abandoned (and cancels or postpones what was scheduled). The common case costs two statements:
 * one marks the cart abandoned and reads what enrolment needs (the cart's facts, the shopper's
 * reachable channels, the store's active campaigns), the other writes the steps and the
 * enrolment.
 */
export async function abandonIfIdle(
  db: Db,
  storeId: string,
  cartId: string,
  now: Date,
): Promise<AbandonOutcome> {
  return db.transaction().execute(async (trx) => {
    const abandoned = await markAbandoned(trx, storeId, cartId, now);
    if (!abandoned) {
      // New activity moved the timer on (this job fired early), or nothing is to be done.
      const cart = await trx
        .selectFrom('carts')
        .select(['status', 'line_count', 'idle_due_at'])
        .where('store_id', '=', storeId)
        .where('id', '=', cartId)
        .executeTakeFirst();
      const live = cart && (cart.status === 'active' || cart.status === 'checkout');
      return live && cart.line_count > 0 && cart.idle_due_at && cart.idle_due_at > now
        ? { kind: 'not_yet', dueAt: cart.idle_due_at }
        : { kind: 'skipped' };
    }
    // A cart that comes back and is abandoned again keeps its first enrolment: its steps not yet
    // sent were postponed while the shopper was back, and go out from now on.
    if (abandoned.enrolledIn !== null) {
      return { kind: 'abandoned', enrolment: 'enrolled', messages: [] };
    }
    const enrolment = await enrol(trx, storeId, cartId, abandoned);
    return { kind: 'abandoned', enrolment: enrolment.kind, messages: enrolment.messages };
  });
}

type Trx = Parameters<Parameters<ReturnType<Db['transaction']>['execute']>[0]>[0];

interface CampaignCandidateRow {
  id: string;
  status: 'draft' | 'active' | 'paused';
  priority: number;
  created_at: string;
  version: number;
  trigger_filters: unknown;
  steps: unknown;
}

interface Abandoned {
  abandonedAt: Date;
  /** The campaign of an earlier enrolment, if the cart had one. */
  enrolledIn: string | null;
  /** What segment filters look at. */
  facts: CartFacts;
  /** The channels the shopper can be reached on now (an address given with consent, not opted out). */
  reachable: Set<string>;
  /** The store's active campaigns (only read for a cart not enrolled before). */
  campaigns: CampaignCandidateRow[];
}

/**
 * The common case in one statement: if the cart is still idle, still has lines and is not
 * bought, marks it abandoned and returns what enrolment needs; otherwise returns nothing.
 */
async function markAbandoned(
  trx: Trx,
  storeId: string,
  cartId: string,
  now: Date,
): Promise<Abandoned | null> {
  const { rows } = await sql<
    CartFacts & {
      campaign_id: string | null;
      abandoned_at: Date;
      email: boolean | null;
      sms: boolean | null;
      campaigns: CampaignCandidateRow[] | null;
    }
  >`
    with abandoned as (
      update carts
      set status = 'abandoned', abandoned_at = ${now}::timestamptz, idle_due_at = null,
        updated_at = ${now}::timestamptz
      where store_id = ${storeId}::uuid and id = ${cartId}::uuid
        and status in ('active', 'checkout') and line_count > 0
        and idle_due_at <= ${now}::timestamptz
      returning *
    )
    select a.campaign_id, a.abandoned_at,
      a.value_minor as "valueMinor", a.currency, a.line_count as "lineCount",
      a.device, s.country, a.utm->>'source' as "utmSource",
      (s.email is not null and s.email_consent and s.opted_out_at is null) as email,
      (s.phone is not null and s.sms_consent and s.opted_out_at is null) as sms,
      ${sql.raw(returningShopperSql('a'))} as "returningShopper",
      case when a.campaign_id is null then (
        select json_agg(json_build_object(
          'id', k.id, 'status', k.status, 'priority', k.priority, 'created_at', k.created_at,
          'version', k.version, 'trigger_filters', k.trigger_filters, 'steps', k.steps))
        from campaigns k
        where k.store_id = a.store_id and k.status = 'active'
      ) end as campaigns
    from abandoned a
    left join shoppers s on s.id = a.shopper_id and s.store_id = a.store_id
  `.execute(trx);
  const row = rows[0];
  if (!row) return null;
  const { campaign_id, abandoned_at, email, sms, campaigns, ...facts } = row;
  const reachable = new Set<string>();
  if (email) reachable.add('email');
  if (sms) reachable.add('sms');
  return {
    abandonedAt: abandoned_at,
    enrolledIn: campaign_id,
    facts,
    reachable,
    campaigns: campaigns ?? [],
  };
}

/**
 * Picks the campaign and writes its steps to the ledger as `scheduled` rows, each with the step
 * definition as it stands now (later edits of the campaign apply to later enrolments only), and
 * the enrolment on the cart, in one statement. A cart whose shopper cannot be reached on any of
 * the campaign's channels stays unenrolled.
 */
async function enrol(
  trx: Trx,
  storeId: string,
  cartId: string,
  abandoned: Abandoned,
): Promise<{
  kind: 'enrolled' | 'no_campaign' | 'no_channel';
  messages: { id: string; scheduledAt: Date }[];
}> {
  const candidates = abandoned.campaigns.map((row) => ({
    row,
    id: row.id,
    status: row.status,
    priority: row.priority,
    createdAt: new Date(row.created_at),
    triggerFilters: row.trigger_filters,
    steps: readSteps(row),
  }));
  const campaign = pickCampaign(
    candidates.filter((candidate) => candidate.steps !== null),
    abandoned.facts,
  );
  const unenrolled = campaign?.steps
    ? campaign.steps.some((step) => abandoned.reachable.has(step.channel))
      ? null
      : 'no_channel'
    : 'no_campaign';
  if (!campaign?.steps || unenrolled) {
    await trx
      .updateTable('carts')
      .set({ enrolment: unenrolled ?? 'no_campaign' })
      .where('store_id', '=', storeId)
      .where('id', '=', cartId)
      .execute();
    return { kind: unenrolled ?? 'no_campaign', messages: [] };
  }
  const { abandonedAt } = abandoned;
  const inserted = await trx
    .with('enrolled', (db) =>
      db
        .updateTable('carts')
        .set({
          campaign_id: campaign.id,
          campaign_version: campaign.row.version,
          enrolled_at: abandonedAt,
          enrolment: 'enrolled',
        })
        .where('store_id', '=', storeId)
        .where('id', '=', cartId),
    )
    .insertInto('messages')
    .values(
      campaign.steps.map((step, index) => ({
        store_id: storeId,
        cart_id: cartId,
        campaign_id: campaign.id,
        campaign_version: campaign.row.version,
        step: index,
        channel: step.channel,
        scheduled_at: new Date(abandonedAt.getTime() + step.delayMinutes * 60_000),
        step_def: JSON.stringify(step),
      })),
    )
    .onConflict((oc) =>
      oc.columns(['store_id', 'cart_id', 'campaign_id', 'step', 'channel']).doNothing(),
    )
    .returning(['id', 'scheduled_at'])
    .execute();
  return {
    kind: 'enrolled',
    messages: inserted.map((row) => ({ id: row.id, scheduledAt: row.scheduled_at })),
  };
}
