import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { onsiteCampaign, readCampaignOnsite } from './campaign.js';
import {
  decideOverlay,
  type OnsiteOfferRule,
  type OnsiteRules,
  type OverlayFacts,
  offerDiscount,
  offerRuleFor,
  onsiteOffer,
  onsiteOfferRule,
  onsiteRules,
  pageAllowed,
} from './onsite.js';
import type { CartFacts } from './segments.js';

const now = new Date('2026-11-22T12:00:00Z');
const DAY = 24 * 60 * 60 * 1000;
const defaults = onsiteRules.parse({});

const exit: OverlayFacts = {
  trigger: 'exit_intent',
  cart: { status: 'active', score: 0.7, valueMinor: 5_000, lineCount: 2 },
  pagePath: '/cart',
  shownThisSession: false,
  lastDismissedAt: null,
};
const back: OverlayFacts = {
  ...exit,
  trigger: 'return_visit',
  cart: { ...exit.cart!, status: 'abandoned' },
};

const rules = (input: unknown): OnsiteRules => onsiteRules.parse(input);

describe('on-site rules', () => {
  it('fill every default from an empty document', () => {
    expect(defaults).toEqual({
      exitModal: {
        enabled: true,
        minValueMinor: 0,
        minRisk: 0.3,
        captureEmail: true,
        capturePhone: false,
        askReason: true,
      },
      returnSlideIn: { enabled: true },
      pages: { include: ['*'], exclude: ['/checkout*', '/checkouts/*', '/account*', '/orders/*'] },
      dismissCooldownDays: 7,
      offer: null,
      locale: 'auto',
      theme: {},
      texts: {},
      consent: null,
    });
  });

  it('refuse what is not a rule', () => {
    for (const bad of [
      { exitModal: { minRisk: 1.5 } },
      { exitModal: { minValueMinor: -1 } },
      { pages: { include: [] } },
      { pages: { include: ['cart'] } },
      { pages: { exclude: ['/cart?x=1'] } },
      { dismissCooldownDays: 400 },
      { offer: { discount: { kind: 'percent', value: 0, validHours: 24 } } },
      { surprise: true },
      { theme: { primary: 'red; }' } },
      { theme: { fontFamily: '"Comic Sans"' } },
      { texts: { it: { exitTitle: 'Aspetta' } } },
      { texts: { en: { notAKey: 'x' } } },
      { consent: { text: '', version: '1' } },
      { locale: 'it' },
    ]) {
      expect(onsiteRules.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});

describe('decideOverlay', () => {
  it('shows the exit modal on an exit from a risky cart, the slide-in to a returning shopper', () => {
    expect(decideOverlay(defaults, exit, now)).toEqual({ show: true, kind: 'exit_modal' });
    expect(decideOverlay(defaults, back, now)).toEqual({ show: true, kind: 'return_slide_in' });
  });

  it('says which rule refused', () => {
    const cases: [OnsiteRules, OverlayFacts, string][] = [
      [rules({ exitModal: { enabled: false } }), exit, 'disabled'],
      [rules({ returnSlideIn: { enabled: false } }), back, 'disabled'],
      [defaults, { ...exit, cart: null }, 'no_cart'],
      [defaults, { ...exit, cart: { ...exit.cart!, lineCount: 0 } }, 'no_cart'],
      [defaults, { ...exit, cart: { ...exit.cart!, status: 'converted' } }, 'bought'],
      [defaults, { ...back, cart: { ...back.cart!, status: 'recovered' } }, 'bought'],
      [defaults, { ...back, cart: { ...back.cart!, status: 'active' } }, 'no_cart'],
      [defaults, { ...exit, shownThisSession: true }, 'shown_this_session'],
      [
        defaults,
        { ...exit, lastDismissedAt: new Date(now.getTime() - 6 * DAY) },
        'dismissed_recently',
      ],
      [defaults, { ...exit, pagePath: '/checkout/payment' }, 'page_excluded'],
      [rules({ exitModal: { minValueMinor: 10_000 } }), exit, 'below_value'],
      [rules({ exitModal: { minRisk: 0.9 } }), exit, 'below_risk'],
    ];
    for (const [given, facts, reason] of cases) {
      expect(decideOverlay(given, facts, now), reason).toEqual({ show: false, reason });
    }
  });

  it('lets a dismissal lapse after the cooldown, and with no cooldown at once', () => {
    const lapsed = { ...exit, lastDismissedAt: new Date(now.getTime() - 7 * DAY) };
    expect(decideOverlay(defaults, lapsed, now).show).toBe(true);
    const justNow = { ...exit, lastDismissedAt: now };
    expect(decideOverlay(rules({ dismissCooldownDays: 0 }), justNow, now).show).toBe(true);
  });

  it('never shows after a purchase, twice in a session, or on an excluded page, whatever else holds', () => {
    const facts = fc.record({
      trigger: fc.constantFrom('exit_intent', 'return_visit'),
      cart: fc.option(
        fc.record({
          status: fc.constantFrom(
            'active',
            'checkout',
            'abandoned',
            'converted',
            'recovered',
            'emptied',
          ),
          score: fc.double({ min: 0, max: 1, noNaN: true }),
          valueMinor: fc.nat(1_000_000),
          lineCount: fc.nat(20),
        }),
        { nil: null },
      ),
      pagePath: fc.option(fc.constantFrom('/', '/cart', '/checkout', '/account/orders', '/p/mug'), {
        nil: null,
      }),
      shownThisSession: fc.boolean(),
      lastDismissedAt: fc.option(fc.date({ min: new Date(now.getTime() - 30 * DAY), max: now }), {
        nil: null,
      }),
    }) as fc.Arbitrary<OverlayFacts>;
    const anyRules = fc.record({
      exitModal: fc.record({ minRisk: fc.double({ min: 0, max: 1, noNaN: true }) }),
      dismissCooldownDays: fc.nat(30),
    });
    fc.assert(
      fc.property(anyRules, facts, (input, given) => {
        const parsed = onsiteRules.parse(input);
        const decision = decideOverlay(parsed, given, now);
        if (!decision.show) return;
        expect(given.cart).not.toBeNull();
        expect(['converted', 'recovered', 'emptied']).not.toContain(given.cart!.status);
        expect(given.shownThisSession).toBe(false);
        expect(pageAllowed(parsed.pages, given.pagePath)).toBe(true);
        if (decision.kind === 'exit_modal') {
          expect(given.cart!.score).toBeGreaterThanOrEqual(parsed.exitModal.minRisk);
        } else {
          expect(given.cart!.status).toBe('abandoned');
        }
      }),
    );
  });
});

describe('pageAllowed', () => {
  const pages = (include: string[], exclude: string[] = []) =>
    rules({ pages: { include, exclude } }).pages;

  it('matches paths with * and ignores a trailing slash, a query and the case', () => {
    expect(pageAllowed(pages(['/products/*']), '/products/mug')).toBe(true);
    expect(pageAllowed(pages(['/products/*']), '/collections/mugs')).toBe(false);
    expect(pageAllowed(pages(['/cart']), '/cart/')).toBe(true);
    expect(pageAllowed(pages(['/cart']), '/Cart?ref=x')).toBe(true);
    expect(pageAllowed(pages(['/cart']), '/cart/extra')).toBe(false);
    expect(pageAllowed(pages(['*'], ['/checkout*']), '/checkouts/123')).toBe(false);
  });

  it('reads dots and brackets in a pattern literally', () => {
    expect(pageAllowed(pages(['/a.html']), '/a.html')).toBe(true);
    expect(pageAllowed(pages(['/a.html']), '/aXhtml')).toBe(false);
    expect(pageAllowed(pages(['/(x)']), '/(x)')).toBe(true);
  });

  it('allows an unknown page only when every page is allowed', () => {
    expect(pageAllowed(pages(['*']), null)).toBe(true);
    expect(pageAllowed(pages(['/cart']), null)).toBe(false);
  });
});

describe('onsiteOffer', () => {
  const withOffer = rules({
    offer: {
      discount: { kind: 'percent', value: 10, validHours: 24 },
      minRisk: 0.6,
      minValueMinor: 3_000,
      maxPerDay: 2,
    },
  });

  it('offers the policy to a risky cart of enough value while under the daily cap', () => {
    expect(onsiteOffer(withOffer, { score: 0.7, valueMinor: 5_000 }, 1)).toEqual({
      kind: 'percent',
      value: 10,
      validHours: 24,
    });
  });

  it('offers nothing without an offer rule, below risk or value, at the cap, or under the code’s own minimum', () => {
    expect(onsiteOffer(defaults, { score: 1, valueMinor: 99_999 }, 0)).toBeNull();
    expect(onsiteOffer(withOffer, { score: 0.5, valueMinor: 5_000 }, 0)).toBeNull();
    expect(onsiteOffer(withOffer, { score: 0.7, valueMinor: 2_999 }, 0)).toBeNull();
    expect(onsiteOffer(withOffer, { score: 0.7, valueMinor: 5_000 }, 2)).toBeNull();
    const minimum = rules({
      offer: { discount: { kind: 'fixed', value: 500, minSubtotalMinor: 6_000, validHours: 24 } },
    });
    expect(onsiteOffer(minimum, { score: 0.9, valueMinor: 5_000 }, 0)).toBeNull();
  });
});

describe('offerDiscount', () => {
  const cartArb = fc.record({
    score: fc.double({ min: 0, max: 1, noNaN: true }),
    valueMinor: fc.nat(20_000),
  });
  const ruleArb: fc.Arbitrary<OnsiteOfferRule> = fc
    .record({
      discount: fc.oneof(
        fc.record({ kind: fc.constant('percent'), value: fc.integer({ min: 1, max: 100 }) }),
        fc.record({ kind: fc.constant('fixed'), value: fc.integer({ min: 1, max: 5_000 }) }),
        fc.record({ kind: fc.constant('free_shipping'), value: fc.constant(0) }),
      ),
      minSubtotalMinor: fc.option(fc.nat(20_000), { nil: undefined }),
      minRisk: fc.double({ min: 0, max: 1, noNaN: true }),
      minValueMinor: fc.nat(20_000),
      maxPerDay: fc.integer({ min: 1, max: 5 }),
    })
    .map(({ discount, minSubtotalMinor, ...rest }) =>
      onsiteOfferRule.parse({
        ...rest,
        discount: {
          ...discount,
          validHours: 24,
          ...(minSubtotalMinor === undefined ? {} : { minSubtotalMinor }),
        },
      }),
    );

  it('offers a rule’s discount exactly when the cart reaches every bound and the cap is not reached', () => {
    fc.assert(
      fc.property(ruleArb, cartArb, fc.nat(7), (rule, cart, issued) => {
        const offered = offerDiscount(rule, cart, issued);
        const allowed =
          cart.score >= rule.minRisk &&
          cart.valueMinor >= rule.minValueMinor &&
          cart.valueMinor >= (rule.discount.minSubtotalMinor ?? 0) &&
          issued < rule.maxPerDay;
        expect(offered).toBe(allowed ? rule.discount : null);
        // The store-level entry point decides the same for the same rule.
        expect(onsiteOffer(onsiteRules.parse({ offer: rule }), cart, issued)).toEqual(offered);
      }),
    );
  });

  it('offers nothing without a rule, and nothing for a score or value that is not a number', () => {
    expect(offerDiscount(null, { score: 1, valueMinor: 99_999 }, 0)).toBeNull();
    const anyCart = onsiteOfferRule.parse({
      discount: { kind: 'percent', value: 5, validHours: 1 },
      minRisk: 0,
    });
    expect(offerDiscount(anyCart, { score: 0, valueMinor: 0 }, 0)).not.toBeNull();
    expect(offerDiscount(anyCart, { score: Number.NaN, valueMinor: 0 }, 0)).toBeNull();
    expect(offerDiscount(anyCart, { score: 0.5, valueMinor: Number.NaN }, 0)).toBeNull();
    expect(offerDiscount(anyCart, { score: 0.5, valueMinor: 0 }, Number.NaN)).toBeNull();
  });
});

describe('offerRuleFor', () => {
  const storeOffer = onsiteOfferRule.parse({
    discount: { kind: 'percent', value: 10, validHours: 24 },
  });
  const campaignOffer = onsiteOfferRule.parse({
    discount: { kind: 'fixed', value: 500, validHours: 48 },
    minRisk: 0.2,
    maxPerDay: 5,
  });

  it('takes the campaign’s on-site step when it has one, else the store’s offer', () => {
    expect(offerRuleFor(storeOffer, { onsite: { offer: campaignOffer } })).toBe(campaignOffer);
    expect(offerRuleFor(null, { onsite: { offer: campaignOffer } })).toBe(campaignOffer);
    expect(offerRuleFor(storeOffer, { onsite: null })).toBe(storeOffer);
    expect(offerRuleFor(storeOffer, null)).toBe(storeOffer);
    expect(offerRuleFor(null, null)).toBeNull();
  });

  it('turns the store’s offer off for a campaign whose step says no discount', () => {
    expect(offerRuleFor(storeOffer, { onsite: { offer: null } })).toBeNull();
  });

  const factsArb: fc.Arbitrary<CartFacts> = fc.record({
    valueMinor: fc.nat(20_000),
    currency: fc.constantFrom('EUR', 'USD', null),
    lineCount: fc.integer({ min: 1, max: 5 }),
    returningShopper: fc.boolean(),
    device: fc.constantFrom('desktop', 'mobile', null),
    country: fc.constantFrom('DE', 'FR', null),
    utmSource: fc.constantFrom('mail', null),
  });
  const stepArb = fc.constantFrom<unknown>(null, { offer: null }, { offer: campaignOffer }, 'bad');
  const campaignArb = fc.record({
    id: fc.constantFrom('a', 'b', 'c', 'd'),
    status: fc.constantFrom('draft' as const, 'active' as const, 'paused' as const),
    priority: fc.integer({ min: 0, max: 3 }),
    createdAt: fc.integer({ min: 1, max: 3 }).map((d) => new Date(Date.UTC(2026, 0, d))),
    triggerFilters: fc.constantFrom<unknown>(
      {},
      { countries: ['DE'] },
      { minValueMinor: 10_000 },
      { devices: ['mobile'] },
      { currencies: ['USD'] },
    ),
    onsite: stepArb.map(readCampaignOnsite),
  });

  it('gives a cart the rule of the campaign that would enrol it, and the store’s when that campaign has no step', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(campaignArb, { selector: (c) => c.id, maxLength: 4 }),
        factsArb,
        fc.constantFrom(storeOffer, null),
        (campaigns, cart, store) => {
          const campaign = onsiteCampaign(campaigns, { enrolledIn: null, facts: cart });
          const rule = offerRuleFor(store, campaign);
          if (campaign === null || campaign.onsite === null) expect(rule).toBe(store);
          else expect(rule).toBe(campaign.onsite.offer);
          // Only the store or an active campaign's own step is ever the rule.
          const stepRules = campaigns
            .filter((c) => c.status === 'active')
            .map((c) => c.onsite?.offer);
          expect(rule === store || stepRules.includes(rule)).toBe(true);
        },
      ),
    );
  });

  it('never offers a discount to the carts of a campaign whose step says none', () => {
    fc.assert(
      fc.property(
        factsArb,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.nat(3),
        (cart, score, issued) => {
          const campaigns = [
            {
              id: 'none',
              status: 'active' as const,
              priority: 1,
              createdAt: new Date(0),
              triggerFilters: {},
              onsite: { offer: null },
            },
          ];
          const rule = offerRuleFor(
            storeOffer,
            onsiteCampaign(campaigns, { enrolledIn: null, facts: cart }),
          );
          expect(offerDiscount(rule, { score, valueMinor: cart.valueMinor }, issued)).toBeNull();
        },
      ),
    );
  });
});
