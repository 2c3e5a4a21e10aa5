import { z } from 'zod';
import { discountPolicy } from './discount.js';
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
