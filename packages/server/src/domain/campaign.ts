import { z } from 'zod';
import { discountPolicy } from './discount.js';
import { onsiteOfferRule } from './onsite.js';
import { type CartFacts, matchesFilters, type TriggerFilters, triggerFilters } from './segments.js';

/**
 * Campaigns: the timed sequence of recovery messages an abandoned cart is enrolled in, which
 * campaign a cart gets, and when each step is due. Pure: no clock, no I/O.
 *
 * A campaign's `steps` document (`campaigns.steps`) is 1 to 10 steps, each sent `delayMinutes`
 * after the cart was abandoned (not after the step before), with delays strictly increasing.
 *
 * @example
 *   const { steps } = defaultCampaign();
 *   stepSchedule(abandonedAt, steps); // [abandonedAt + 1 h, + 1 day, + 3 days]
 *   pickCampaign(storeCampaigns, facts); // the active campaign this cart is for, or null
 *
 * A campaign may also carry an on-site step (`campaigns.onsite`, see `campaignOnsite`): what the
 * exit modal may offer the carts it would enrol, while their shoppers are still on the site.
 */

export const stepChannels = ['email', 'sms', 'push'] as const;
export type StepChannel = (typeof stepChannels)[number];

/** The longest a step may wait after abandonment: 30 days. */
export const maxStepDelayMinutes = 43_200;
export const maxSteps = 10;

const templateKey = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const templateUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when a step's `template` names a row of `templates` by id rather than by key. */
export function isTemplateId(template: string): boolean {
  return templateUuid.test(template);
}

export const campaignStep = z.strictObject({
  /** Minutes after abandonment: 0 (at once) to 43 200 (30 days). */
  delayMinutes: z.number().int().min(0).max(maxStepDelayMinutes),
  channel: z.enum(stepChannels),
  /** A template key such as `reminder`, or a template's id (uuid). */
  template: z
    .string()
    .refine(
      (template) => templateKey.test(template) || templateUuid.test(template),
      'must be a template key such as reminder, or a template id (uuid)',
    ),
  /** A discount to offer with this step; its code is issued when the step is sent. */
  discount: discountPolicy.optional(),
});

export type CampaignStep = z.infer<typeof campaignStep>;

export const campaignSteps = z
  .array(campaignStep)
  .min(1, 'a campaign has at least one step')
  .max(maxSteps, `a campaign has at most ${maxSteps} steps`)
  .superRefine((steps, ctx) => {
    for (let i = 1; i < steps.length; i++) {
      if (steps[i]!.delayMinutes <= steps[i - 1]!.delayMinutes) {
        ctx.addIssue({
          code: 'custom',
          message: 'each step must come later than the one before it',
          path: [i, 'delayMinutes'],
        });
      }
    }
  });

/**
 * A campaign's on-site step: the discount the exit modal may offer the carts this campaign
 * would enrol, in place of the store's own `onsite.offer`. `offer` is a rule with the same
 * fields and limits as the store's (`{ discount, minRisk, minValueMinor, maxPerDay }`), or null
 * for "no discount for these carts". A campaign without an on-site step (`campaigns.onsite` is
 * null) leaves its carts to the store's offer.
 *
 * It is not one of the ordered `steps`: those are messages, written to the send ledger at
 * enrolment and sent after abandonment; this one applies before abandonment, on the site.
 *
 * @example
 *   campaignOnsite.parse({ offer: { discount: { kind: 'percent', value: 15, validHours: 24 } } });
 *   // { offer: { discount: {...}, minRisk: 0.6, minValueMinor: 0, maxPerDay: 200 } }
 *   campaignOnsite.parse({ offer: null }); // no discount for this campaign's carts
 */
export const campaignOnsite = z.strictObject({
  offer: onsiteOfferRule.nullable(),
});

export type CampaignOnsite = z.infer<typeof campaignOnsite>;

/**
 * A stored on-site step read back: null when the campaign has none. A document that no longer
 * parses offers no discount (`{ offer: null }`) rather than falling back to the store's offer:
 * a code is never handed out on rules the merchant cannot see.
 */
export function readCampaignOnsite(stored: unknown): CampaignOnsite | null {
  if (stored === null || stored === undefined) return null;
  const parsed = campaignOnsite.safeParse(stored);
  return parsed.success ? parsed.data : { offer: null };
}

/** A campaign as created, before it has an id. */
export interface CampaignDraft {
  name: string;
  priority: number;
  triggerFilters: TriggerFilters;
  steps: CampaignStep[];
}

/**
 * The campaign a new store starts with: for every cart, a reminder email an hour after
 * abandonment, a last-chance email after a day, and 10 % off for 48 hours after three days.
 * A fresh object on each call.
 */
export function defaultCampaign(): CampaignDraft {
  return {
    name: 'Abandoned cart recovery',
    priority: 0,
    triggerFilters: {},
    steps: [
      { delayMinutes: 60, channel: 'email', template: 'reminder' },
      { delayMinutes: 1_440, channel: 'email', template: 'lastChance' },
      {
        delayMinutes: 4_320,
        channel: 'email',
        template: 'discount',
        discount: { kind: 'percent', value: 10, validHours: 48 },
      },
    ],
  };
}

/** What `pickCampaign` reads of a campaign. */
export interface CampaignCandidate {
  id: string;
  status: 'draft' | 'active' | 'paused';
  priority: number;
  createdAt: Date;
  /** As stored; parsed with `triggerFilters` here. */
  triggerFilters: unknown;
}

/**
 * The campaign a cart is enrolled in: the active campaign of highest priority whose filters
 * match the cart. Ties go to the campaign created first, then to the lower id, so the choice does
 * not depend on the order campaigns come in. A campaign whose stored filters do not parse never
 * matches. `null` when no campaign fits.
 */
export function pickCampaign<C extends CampaignCandidate>(
  campaigns: readonly C[],
  facts: CartFacts,
): C | null {
  let best: C | null = null;
  for (const campaign of campaigns) {
    if (campaign.status !== 'active') continue;
    const filters = triggerFilters.safeParse(campaign.triggerFilters);
    if (!filters.success || !matchesFilters(filters.data, facts)) continue;
    if (best === null || ranksAbove(campaign, best)) best = campaign;
  }
  return best;
}

/**
 * The campaign whose on-site step speaks for a cart while its shopper is still on the site: the
 * campaign the cart is enrolled in, if any (a cart keeps its first enrolment), else the one
 * `pickCampaign` would enrol it in now. Only an active campaign counts: null when the cart's
 * campaign is paused or gone, or when none would take it. Pass the campaigns that can enrol
 * (those whose steps parse), as abandonment does.
 */
export function onsiteCampaign<C extends CampaignCandidate>(
  campaigns: readonly C[],
  cart: { enrolledIn: string } | { enrolledIn: null; facts: CartFacts },
): C | null {
  if (cart.enrolledIn !== null) {
    return (
      campaigns.find(
        (campaign) => campaign.id === cart.enrolledIn && campaign.status === 'active',
      ) ?? null
    );
  }
  return pickCampaign(campaigns, cart.facts);
}

function ranksAbove(a: CampaignCandidate, b: CampaignCandidate): boolean {
  const priorityA = rankable(a.priority, Number.NEGATIVE_INFINITY);
  const priorityB = rankable(b.priority, Number.NEGATIVE_INFINITY);
  if (priorityA !== priorityB) return priorityA > priorityB;
  const createdA = rankable(a.createdAt.getTime(), Number.POSITIVE_INFINITY);
  const createdB = rankable(b.createdAt.getTime(), Number.POSITIVE_INFINITY);
  if (createdA !== createdB) return createdA < createdB;
  return a.id < b.id;
}

/** NaN would make the order depend on input order; it ranks as `fallback` instead. */
const rankable = (value: number, fallback: number) => (Number.isNaN(value) ? fallback : value);

/** When each step is due: `abandonedAt` plus the step's delay, in step order. */
export function stepSchedule(
  abandonedAt: Date,
  steps: readonly Pick<CampaignStep, 'delayMinutes'>[],
): Date[] {
  return steps.map((step) => new Date(abandonedAt.getTime() + step.delayMinutes * 60_000));
}
