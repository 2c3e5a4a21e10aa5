import { sql } from 'kysely';
import type { Db } from '../../db/index.js';
import { pickCampaign } from '../../domain/campaign.js';
import type { CartFacts } from '../../domain/segments.js';
import type { JobModule } from '../../jobs.js';
import type { JobQueue } from '../../queue/index.js';
import { listActiveCampaigns, readSteps } from '../campaigns/repository.js';
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
    { concurrency: 8 },
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
 * abandoned (and cancels or postpones what was scheduled).
 */
export async function abandonIfIdle(
  db: Db,
  storeId: string,
  cartId: string,
  now: Date,
): Promise<AbandonOutcome> {
  return db.transaction().execute(async (trx) => {
    // The common case in one statement: the cart is still idle, still has lines, is not bought.
    const abandoned = await trx
      .updateTable('carts')
      .set({ status: 'abandoned', abandoned_at: now, idle_due_at: null, updated_at: now })
      .where('store_id', '=', storeId)
      .where('id', '=', cartId)
      .where('status', 'in', ['active', 'checkout'])
      .where('line_count', '>', 0)
      .where('idle_due_at', '<=', now)
      .returning(['campaign_id', 'abandoned_at'])
      .executeTakeFirst();
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
    if (abandoned.campaign_id !== null) {
      return { kind: 'abandoned', enrolment: 'enrolled', messages: [] };
    }
    const enrolment = await enrol(trx, storeId, cartId, abandoned.abandoned_at ?? now);
    if (enrolment.kind !== 'enrolled') {
      await trx
        .updateTable('carts')
        .set({ enrolment: enrolment.kind })
        .where('id', '=', cartId)
        .execute();
    }
    return { kind: 'abandoned', enrolment: enrolment.kind, messages: enrolment.messages };
  });
}

type Trx = Parameters<Parameters<ReturnType<Db['transaction']>['execute']>[0]>[0];

/**
 * What segment filters look at, and the channels the shopper can be reached on now (an address
 * given with consent, not opted out).
 */
async function cartFacts(
  trx: Trx,
  storeId: string,
  cartId: string,
): Promise<CartFacts & { reachable: Set<string> }> {
  const { rows } = await sql<CartFacts & { email: boolean | null; sms: boolean | null }>`
    select c.value_minor as "valueMinor", c.currency, c.line_count as "lineCount",
      c.device, s.country, c.utm->>'source' as "utmSource",
      (s.email is not null and s.email_consent and s.opted_out_at is null) as email,
      (s.phone is not null and s.sms_consent and s.opted_out_at is null) as sms,
      exists (
        select 1 from carts earlier
        where earlier.store_id = c.store_id and earlier.shopper_id = c.shopper_id
          and earlier.id <> c.id and earlier.session_id is distinct from c.session_id
          and earlier.first_seen_at < c.first_seen_at
      ) as "returningShopper"
    from carts c left join shoppers s on s.id = c.shopper_id
    where c.store_id = ${storeId}::uuid and c.id = ${cartId}::uuid
  `.execute(trx);
  const row = rows[0];
  if (!row) throw new Error('abandoned cart vanished inside its own transaction');
  const { email, sms, ...facts } = row;
  const reachable = new Set<string>();
  if (email) reachable.add('email');
  if (sms) reachable.add('sms');
  return { ...facts, reachable };
}

/**
 * Picks the campaign and writes its steps to the ledger as `scheduled` rows, each with the step
 * definition as it stands now (later edits of the campaign apply to later enrolments only). A
 * cart whose shopper cannot be reached on any of the campaign's channels stays unenrolled.
 */
async function enrol(
  trx: Trx,
  storeId: string,
  cartId: string,
  abandonedAt: Date,
): Promise<{
  kind: 'enrolled' | 'no_campaign' | 'no_channel';
  messages: { id: string; scheduledAt: Date }[];
}> {
  const facts = await cartFacts(trx, storeId, cartId);
  const candidates = (await listActiveCampaigns(trx, storeId)).map((row) => ({
    row,
    id: row.id,
    status: row.status,
    priority: row.priority,
    createdAt: row.created_at,
    triggerFilters: row.trigger_filters,
    steps: readSteps(row),
  }));
  const campaign = pickCampaign(
    candidates.filter((candidate) => candidate.steps !== null),
    facts,
  );
  if (!campaign?.steps) return { kind: 'no_campaign', messages: [] };
  if (!campaign.steps.some((step) => facts.reachable.has(step.channel))) {
    return { kind: 'no_channel', messages: [] };
  }
  const inserted = await trx
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
  await trx
    .updateTable('carts')
    .set({
      campaign_id: campaign.id,
      campaign_version: campaign.row.version,
      enrolled_at: abandonedAt,
      enrolment: 'enrolled',
    })
    .where('id', '=', cartId)
    .execute();
  return {
    kind: 'enrolled',
    messages: inserted.map((row) => ({ id: row.id, scheduledAt: row.scheduled_at })),
  };
}
