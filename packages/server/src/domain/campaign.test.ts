import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CampaignCandidate,
  type CampaignStep,
  campaignOnsite,
  campaignStep,
  campaignSteps,
  defaultCampaign,
  isTemplateId,
  onsiteCampaign,
  pickCampaign,
  readCampaignOnsite,
  stepSchedule,
} from './campaign.js';
import { onsiteRules } from './onsite.js';
import type { CartFacts } from './segments.js';
import { triggerFilters } from './segments.js';

const cart: CartFacts = {
  valueMinor: 8_000,
  currency: 'EUR',
  lineCount: 3,
  returningShopper: true,
  device: 'desktop',
  country: 'FR',
  utmSource: null,
};

const day = (n: number) => new Date(Date.UTC(2026, 0, n));

function campaign(
  id: string,
  overrides: Partial<CampaignCandidate> & { name?: string } = {},
): CampaignCandidate & { name: string } {
  return {
    id,
    name: `campaign ${id}`,
    status: 'active',
    priority: 0,
    createdAt: day(1),
    triggerFilters: {},
    ...overrides,
  };
}

describe('campaignSteps schema', () => {
  const reminder: CampaignStep = { delayMinutes: 60, channel: 'email', template: 'reminder' };

  it('accepts steps with increasing delays, template keys and ids, and discounts', () => {
    const steps = [
      reminder,
      { delayMinutes: 120, channel: 'sms', template: '0b7e0c34-6f5e-4c1b-9a3e-5f1d2c3b4a59' },
      {
        delayMinutes: 43_200,
        channel: 'push',
        template: 'last_chance-2',
        discount: { kind: 'free_shipping', value: 0, validHours: 24 },
      },
    ];
    expect(campaignSteps.parse(steps)).toEqual(steps);
  });

  it('requires delays to increase strictly', () => {
    const same = campaignSteps.safeParse([reminder, { ...reminder, template: 'again' }]);
    expect(same.success).toBe(false);
    expect(same.error?.issues[0]?.path).toEqual([1, 'delayMinutes']);
    expect(campaignSteps.safeParse([{ ...reminder, delayMinutes: 120 }, reminder]).success).toBe(
      false,
    );
  });

  it('accepts a first step at 0 minutes: as soon as the cart is abandoned', () => {
    expect(campaignSteps.safeParse([{ ...reminder, delayMinutes: 0 }]).success).toBe(true);
    const twoAtOnce = [
      { ...reminder, delayMinutes: 0 },
      { ...reminder, delayMinutes: 0 },
    ];
    expect(campaignSteps.safeParse(twoAtOnce).success).toBe(false);
  });

  it('takes 1 to 10 steps', () => {
    const steps = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ ...reminder, delayMinutes: (i + 1) * 60 }));
    expect(campaignSteps.safeParse(steps(0)).success).toBe(false);
    expect(campaignSteps.safeParse(steps(1)).success).toBe(true);
    expect(campaignSteps.safeParse(steps(10)).success).toBe(true);
    expect(campaignSteps.safeParse(steps(11)).success).toBe(false);
  });

  it.each([
    ['a negative delay', { ...reminder, delayMinutes: -1 }],
    ['a delay over 30 days', { ...reminder, delayMinutes: 43_201 }],
    ['a fractional delay', { ...reminder, delayMinutes: 1.5 }],
    ['the on-site channel', { ...reminder, channel: 'onsite' }],
    ['an empty template', { ...reminder, template: '' }],
    ['a template with spaces', { ...reminder, template: 'last chance' }],
    ['a template that is a path', { ...reminder, template: '../reminder' }],
    ['a bad discount', { ...reminder, discount: { kind: 'percent', value: 0, validHours: 1 } }],
    ['an unknown key', { ...reminder, subject: 'Hi' }],
  ])('refuses a step with %s', (_, step) => {
    expect(campaignStep.safeParse(step).success).toBe(false);
  });

  it('accepts exactly the step lists whose delays increase', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 43_200 }), { minLength: 1, maxLength: 10 }),
        (delays) => {
          const steps = delays.map((delayMinutes) => ({ ...reminder, delayMinutes }));
          const increasing = delays.every((d, i) => i === 0 || d > delays[i - 1]!);
          expect(campaignSteps.safeParse(steps).success).toBe(increasing);
        },
      ),
    );
  });

  it('tells template ids from keys', () => {
    expect(isTemplateId('0b7e0c34-6f5e-4c1b-9a3e-5f1d2c3b4a59')).toBe(true);
    expect(isTemplateId('reminder')).toBe(false);
  });
});

describe('defaultCampaign', () => {
  it('is valid, matches every cart, and follows up at 1 h, 1 day and 3 days', () => {
    const draft = defaultCampaign();
    expect(campaignSteps.parse(draft.steps)).toEqual(draft.steps);
    expect(triggerFilters.parse(draft.triggerFilters)).toEqual({});
    expect(draft.name).toBeTruthy();
    expect(draft.steps.map((s) => [s.delayMinutes, s.channel, s.template])).toEqual([
      [60, 'email', 'reminder'],
      [1_440, 'email', 'lastChance'],
      [4_320, 'email', 'discount'],
    ]);
    expect(draft.steps[2]?.discount).toEqual({ kind: 'percent', value: 10, validHours: 48 });
    expect(draft.steps[0]?.discount).toBeUndefined();
  });

  it('returns a fresh object each time', () => {
    const first = defaultCampaign();
    first.steps[0]!.delayMinutes = 5;
    first.steps[2]!.discount!.value = 50;
    expect(defaultCampaign().steps[0]?.delayMinutes).toBe(60);
    expect(defaultCampaign().steps[2]?.discount?.value).toBe(10);
  });
});

describe('pickCampaign', () => {
  it('picks the active campaign of highest priority', () => {
    const picked = pickCampaign(
      [campaign('a', { priority: 1 }), campaign('b', { priority: 5 }), campaign('c')],
      cart,
    );
    expect(picked?.id).toBe('b');
  });

  it('skips drafts and paused campaigns', () => {
    const campaigns = [
      campaign('draft', { status: 'draft', priority: 9 }),
      campaign('paused', { status: 'paused', priority: 8 }),
      campaign('live', { priority: 1 }),
    ];
    expect(pickCampaign(campaigns, cart)?.id).toBe('live');
    expect(pickCampaign(campaigns.slice(0, 2), cart)).toBeNull();
    expect(pickCampaign([], cart)).toBeNull();
  });

  it('skips campaigns whose filters do not match the cart', () => {
    const campaigns = [
      campaign('germany', { priority: 5, triggerFilters: { countries: ['DE'] } }),
      campaign('france', { priority: 3, triggerFilters: { countries: ['FR'] } }),
      campaign('everyone'),
    ];
    expect(pickCampaign(campaigns, cart)?.id).toBe('france');
    expect(pickCampaign(campaigns, { ...cart, country: 'IT' })?.id).toBe('everyone');
  });

  it('never matches a campaign whose stored filters do not parse', () => {
    for (const broken of [null, 'all', [], { countries: 'DE' }, { minValue: 1 }, { maxLines: 0 }]) {
      const campaigns = [campaign('broken', { priority: 9, triggerFilters: broken })];
      expect(pickCampaign(campaigns, cart)).toBeNull();
      expect(pickCampaign([...campaigns, campaign('fine')], cart)?.id).toBe('fine');
    }
  });

  it('breaks ties by the oldest campaign, then by id', () => {
    const older = campaign('z', { createdAt: day(1) });
    const newer = campaign('a', { createdAt: day(2) });
    expect(pickCampaign([newer, older], cart)?.id).toBe('z');
    const twinA = campaign('a');
    const twinB = campaign('b');
    expect(pickCampaign([twinB, twinA], cart)?.id).toBe('a');
  });

  it('returns the caller’s own object, with its extra fields', () => {
    const mine = campaign('mine', { name: 'Spring' });
    expect(pickCampaign([mine], cart)).toBe(mine);
    expect(pickCampaign([mine], cart)?.name).toBe('Spring');
  });

  const candidateArb = fc.record({
    id: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
    status: fc.constantFrom('draft' as const, 'active' as const, 'paused' as const),
    priority: fc.integer({ min: 0, max: 3 }),
    createdAt: fc.integer({ min: 1, max: 4 }).map(day),
    triggerFilters: fc.constantFrom<unknown>(
      {},
      { countries: ['FR'] },
      { countries: ['DE'] },
      { minValueMinor: 10_000 },
      { shopper: 'returning' },
      { devices: 'mobile' },
      null,
    ),
  });

  it('picks a best matching active campaign, whatever the order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(candidateArb, { selector: (c) => c.id, maxLength: 5 }),
        fc.infiniteStream(fc.nat()).map((s) => [...s.take(5)]),
        (campaigns, shuffleKeys) => {
          const picked = pickCampaign(campaigns, cart);
          const eligible = campaigns.filter(
            (c) => c.status === 'active' && pickCampaign([c], cart) !== null,
          );
          if (eligible.length === 0) {
            expect(picked).toBeNull();
            return;
          }
          expect(picked).not.toBeNull();
          expect(eligible).toContain(picked);
          for (const other of eligible) {
            expect(picked!.priority).toBeGreaterThanOrEqual(other.priority);
            if (other.priority !== picked!.priority) continue;
            expect(picked!.createdAt.getTime()).toBeLessThanOrEqual(other.createdAt.getTime());
            if (other.createdAt.getTime() === picked!.createdAt.getTime()) {
              expect(picked!.id <= other.id).toBe(true);
            }
          }
          const shuffled = campaigns
            .map((c, i) => ({ c, key: shuffleKeys[i] ?? 0 }))
            .sort((x, y) => x.key - y.key)
            .map(({ c }) => c);
          expect(pickCampaign(shuffled, cart)).toBe(picked);
          expect(pickCampaign([...campaigns].reverse(), cart)).toBe(picked);
        },
      ),
    );
  });
});

describe('campaignOnsite schema', () => {
  const discount = { kind: 'percent', value: 15, validHours: 24 } as const;

  it('fills the store offer’s defaults into a rule, and takes an explicit "no discount"', () => {
    expect(campaignOnsite.parse({ offer: { discount } })).toEqual({
      offer: { discount, minRisk: 0.6, minValueMinor: 0, maxPerDay: 200 },
    });
    const full = { discount, minRisk: 0.2, minValueMinor: 5_000, maxPerDay: 3 };
    expect(campaignOnsite.parse({ offer: full })).toEqual({ offer: full });
    expect(campaignOnsite.parse({ offer: null })).toEqual({ offer: null });
  });

  it.each([
    ['no offer key', {}],
    ['an unknown key', { offer: null, exitModal: {} }],
    ['an offer without a discount', { offer: { minRisk: 0.5 } }],
    ['a bad discount', { offer: { discount: { ...discount, value: 0 } } }],
    ['a risk above 1', { offer: { discount, minRisk: 1.01 } }],
    ['a negative risk', { offer: { discount, minRisk: -0.1 } }],
    ['a negative value', { offer: { discount, minValueMinor: -1 } }],
    ['a fractional value', { offer: { discount, minValueMinor: 1.5 } }],
    ['a zero cap', { offer: { discount, maxPerDay: 0 } }],
    ['a cap over a million', { offer: { discount, maxPerDay: 1_000_001 } }],
    ['an unknown offer key', { offer: { discount, perShopper: 1 } }],
    ['a string', 'store'],
    ['an array', [{ offer: null }]],
  ])('refuses %s', (_, step) => {
    expect(campaignOnsite.safeParse(step).success).toBe(false);
  });

  it('accepts exactly the offers the store’s own setting accepts', () => {
    const offerArb = fc.record(
      {
        discount: fc.record(
          {
            kind: fc.constantFrom('percent', 'fixed', 'free_shipping', 'bogo'),
            value: fc.oneof(fc.integer({ min: -5, max: 150 }), fc.double(), fc.constant('10')),
            validHours: fc.oneof(fc.integer({ min: -1, max: 800 }), fc.constant(null)),
            minSubtotalMinor: fc.integer({ min: -1, max: 10_000 }),
          },
          { requiredKeys: ['kind'] },
        ),
        minRisk: fc.oneof(fc.double({ min: -0.5, max: 1.5 }), fc.constant(Number.NaN)),
        minValueMinor: fc.oneof(fc.integer({ min: -10, max: 1_000_000 }), fc.double()),
        maxPerDay: fc.oneof(fc.integer({ min: -1, max: 2_000_000 }), fc.constant(1.5)),
        extra: fc.constant(true),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(offerArb, (offer) => {
        const asStore = onsiteRules.safeParse({ offer });
        const asCampaign = campaignOnsite.safeParse({ offer });
        expect(asCampaign.success).toBe(asStore.success);
        if (asStore.success && asCampaign.success) {
          expect(asCampaign.data.offer).toEqual(asStore.data.offer);
        }
      }),
    );
  });
});

describe('readCampaignOnsite', () => {
  it('reads no step as null, and a stored step as it was written', () => {
    expect(readCampaignOnsite(null)).toBeNull();
    expect(readCampaignOnsite(undefined)).toBeNull();
    expect(readCampaignOnsite({ offer: null })).toEqual({ offer: null });
    const offer = {
      discount: { kind: 'fixed', value: 500, validHours: 48 },
      minRisk: 0.4,
      minValueMinor: 2_000,
      maxPerDay: 50,
    };
    expect(readCampaignOnsite({ offer })).toEqual({ offer });
  });

  it('offers no discount on a stored step that no longer parses', () => {
    for (const broken of ['x', 0, [], {}, { offer: { discount: { kind: 'percent' } } }]) {
      expect(readCampaignOnsite(broken), JSON.stringify(broken)).toEqual({ offer: null });
    }
  });
});

describe('onsiteCampaign', () => {
  const campaigns = [
    campaign('big', { priority: 5, triggerFilters: { minValueMinor: 10_000 } }),
    campaign('france', { priority: 3, triggerFilters: { countries: ['FR'] } }),
    campaign('paused', { status: 'paused', priority: 9 }),
    campaign('everyone'),
  ];

  it('is the campaign that would enrol a cart not enrolled yet', () => {
    expect(onsiteCampaign(campaigns, { enrolledIn: null, facts: cart })?.id).toBe('france');
    expect(
      onsiteCampaign(campaigns, { enrolledIn: null, facts: { ...cart, valueMinor: 20_000 } })?.id,
    ).toBe('big');
    expect(onsiteCampaign([], { enrolledIn: null, facts: cart })).toBeNull();
  });

  it('is the campaign an enrolled cart is in, while that campaign is active', () => {
    expect(onsiteCampaign(campaigns, { enrolledIn: 'everyone' })?.id).toBe('everyone');
    expect(onsiteCampaign(campaigns, { enrolledIn: 'paused' })).toBeNull();
    expect(onsiteCampaign(campaigns, { enrolledIn: 'gone' })).toBeNull();
  });

  it('always answers an active campaign of the list, pickCampaign’s for a cart not enrolled', () => {
    const candidateArb = fc.record({
      id: fc.constantFrom('a', 'b', 'c', 'd'),
      status: fc.constantFrom('draft' as const, 'active' as const, 'paused' as const),
      priority: fc.integer({ min: 0, max: 3 }),
      createdAt: fc.integer({ min: 1, max: 4 }).map(day),
      triggerFilters: fc.constantFrom<unknown>({}, { countries: ['FR'] }, { countries: ['DE'] }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(candidateArb, { selector: (c) => c.id, maxLength: 4 }),
        fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { nil: null }),
        (list, enrolledIn) => {
          const found = onsiteCampaign(
            list,
            enrolledIn === null ? { enrolledIn, facts: cart } : { enrolledIn },
          );
          if (found !== null) {
            expect(list).toContain(found);
            expect(found.status).toBe('active');
          }
          if (enrolledIn === null) expect(found).toBe(pickCampaign(list, cart));
          else
            expect(found?.id ?? null).toBe(
              list.some((c) => c.id === enrolledIn && c.status === 'active') ? enrolledIn : null,
            );
        },
      ),
    );
  });
});

describe('stepSchedule', () => {
  it('schedules each step its delay after abandonment', () => {
    const abandonedAt = new Date('2026-03-01T10:00:00Z');
    expect(stepSchedule(abandonedAt, defaultCampaign().steps).map((d) => d.toISOString())).toEqual([
      '2026-03-01T11:00:00.000Z',
      '2026-03-02T10:00:00.000Z',
      '2026-03-04T10:00:00.000Z',
    ]);
  });

  it('keeps step order and is strictly increasing for valid steps', () => {
    fc.assert(
      fc.property(
        fc.date({ noInvalidDate: true, min: new Date(0), max: new Date('2100-01-01T00:00:00Z') }),
        fc.uniqueArray(fc.integer({ min: 1, max: 43_200 }), { minLength: 1, maxLength: 10 }),
        (abandonedAt, delays) => {
          const steps = [...delays].sort((a, b) => a - b).map((delayMinutes) => ({ delayMinutes }));
          const schedule = stepSchedule(abandonedAt, steps);
          expect(schedule).toHaveLength(steps.length);
          schedule.forEach((due, i) => {
            expect(due.getTime() - abandonedAt.getTime()).toBe(steps[i]!.delayMinutes * 60_000);
            if (i > 0) expect(due.getTime()).toBeGreaterThan(schedule[i - 1]!.getTime());
          });
        },
      ),
    );
  });
});
