import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Device,
  defaultModel,
  type ExitSignalKind,
  type ModelInput,
  modelInputNames,
  riskLogit,
  type ScoreFeatures,
  type ScoreModel,
  score,
  type TrafficSource,
  toModelInputs,
} from './score.js';

const devices: Device[] = ['desktop', 'mobile', 'tablet', 'unknown'];
const sources: TrafficSource[] = [
  'direct',
  'search',
  'social',
  'email',
  'paid',
  'referral',
  'unknown',
];
const exitKinds: ExitSignalKind[] = ['mouse_top', 'scroll_up', 'tab_hidden', 'idle', 'back'];

/** A new shopper's one-line desktop cart, just touched, in the afternoon. */
const freshCart: ScoreFeatures = {
  idleSeconds: 0,
  cartValueMinor: 4_999,
  valueBand: 0,
  lineCount: 1,
  edits: 0,
  removals: 0,
  checkoutReached: false,
  checkoutStepsSeen: 0,
  pageViews: 3,
  productViews: 1,
  returningShopper: false,
  device: 'desktop',
  source: 'direct',
  exitSignals: { mouse_top: 0, scroll_up: 0, tab_hidden: 0, idle: 0, back: 0 },
  tabHidden: false,
  localHour: 14,
};

// Any number a caller could hand over, including the ones a bug upstream would produce.
const anyNumber = fc.oneof(
  fc.double(),
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 1e308),
);
const count = fc.integer({ min: 0, max: 50 });

function featuresWith(
  n: fc.Arbitrary<number>,
  c: fc.Arbitrary<number>,
): fc.Arbitrary<ScoreFeatures> {
  return fc.record({
    idleSeconds: n,
    cartValueMinor: n,
    valueBand: n,
    lineCount: c,
    edits: c,
    removals: c,
    checkoutReached: fc.boolean(),
    checkoutStepsSeen: c,
    pageViews: c,
    productViews: c,
    returningShopper: fc.boolean(),
    device: fc.constantFrom(...devices),
    source: fc.constantFrom(...sources),
    exitSignals: fc.record({
      mouse_top: c,
      scroll_up: c,
      tab_hidden: c,
      idle: c,
      back: c,
    }),
    tabHidden: fc.boolean(),
    localHour: n,
  });
}

/** Anything of the type, garbage numbers included. */
const anyFeatures = featuresWith(anyNumber, anyNumber);
/** Plausible sessions: finite, non-negative, bounded. */
const sessionFeatures = featuresWith(
  fc.double({ min: 0, max: 7 * 24 * 3600, noNaN: true }),
  count,
).map((features) => ({
  ...features,
  valueBand: Math.max(-6, Math.min(6, Math.log2(1 + features.cartValueMinor / 5000) - 1)),
  localHour: Math.floor(features.localHour) % 24,
}));

const weight = fc.double({ min: -5, max: 5, noNaN: true });
const anyModel: fc.Arbitrary<ScoreModel> = fc.record({
  intercept: weight,
  weights: fc.record(
    Object.fromEntries(modelInputNames.map((name) => [name, weight])) as Record<
      ModelInput,
      fc.Arbitrary<number>
    >,
  ),
});

function zeroModel(): ScoreModel {
  return {
    intercept: 0,
    weights: Object.fromEntries(modelInputNames.map((name) => [name, 0])) as Record<
      ModelInput,
      number
    >,
  };
}

const isInOpenUnitInterval = (p: number) => Number.isFinite(p) && p > 0 && p < 1;
const hasAtMostFourDecimals = (p: number) => Math.abs(p * 1e4 - Math.round(p * 1e4)) < 1e-6;

describe('score', () => {
  it('is a finite probability strictly between 0 and 1, rounded to 4 decimals, for any features', () => {
    fc.assert(
      fc.property(anyFeatures, (features) => {
        const p = score(features);
        expect(isInOpenUnitInterval(p)).toBe(true);
        expect(hasAtMostFourDecimals(p)).toBe(true);
      }),
    );
  });

  it('stays within (0, 1) for any model, even one with absurd or missing coefficients', () => {
    const absurd = fc.record({
      intercept: anyNumber,
      weights: fc.dictionary(fc.constantFrom(...modelInputNames), anyNumber),
    }) as fc.Arbitrary<ScoreModel>;
    fc.assert(
      fc.property(anyFeatures, fc.oneof(anyModel, absurd), (features, model) => {
        expect(isInOpenUnitInterval(score(features, model))).toBe(true);
      }),
    );
  });

  it('treats NaN as 0 and infinities as the cap', () => {
    expect(score({ ...freshCart, idleSeconds: Number.NaN })).toBe(score(freshCart));
    expect(score({ ...freshCart, removals: Number.NEGATIVE_INFINITY })).toBe(score(freshCart));
    expect(score({ ...freshCart, idleSeconds: Number.POSITIVE_INFINITY })).toBe(
      score({ ...freshCart, idleSeconds: 1e12 }),
    );
    expect(score({ ...freshCart, idleSeconds: Number.POSITIVE_INFINITY })).toBeGreaterThan(
      score({ ...freshCart, idleSeconds: 3600 }),
    );
  });

  it('is monotone non-decreasing in idle time, all else equal', () => {
    fc.assert(
      fc.property(
        sessionFeatures,
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        (features, a, b) => {
          const [shorter, longer] = a <= b ? [a, b] : [b, a];
          expect(score({ ...features, idleSeconds: longer })).toBeGreaterThanOrEqual(
            score({ ...features, idleSeconds: shorter }),
          );
          expect(riskLogit({ ...features, idleSeconds: longer })).toBeGreaterThanOrEqual(
            riskLogit({ ...features, idleSeconds: shorter }),
          );
        },
      ),
    );
  });

  it('keeps rising with idle time but by less and less (saturating)', () => {
    const at = (minutes: number) => score({ ...freshCart, idleSeconds: minutes * 60 });
    expect(at(1)).toBeGreaterThan(at(0));
    expect(at(10)).toBeGreaterThan(at(1));
    expect(at(60)).toBeGreaterThan(at(10));
    expect(at(24 * 60)).toBeGreaterThan(at(60));
    expect(at(10) - at(0)).toBeGreaterThan(at(24 * 60) - at(60 * 14));
  });

  it('lowers the risk when checkout was reached', () => {
    fc.assert(
      fc.property(sessionFeatures, (features) => {
        const browsing = { ...features, checkoutReached: false };
        const atCheckout = { ...features, checkoutReached: true };
        expect(riskLogit(atCheckout)).toBeLessThan(riskLogit(browsing));
        expect(score(atCheckout)).toBeLessThanOrEqual(score(browsing));
      }),
    );
    expect(score({ ...freshCart, checkoutReached: true })).toBeLessThan(score(freshCart));
  });

  it('lowers the risk the further into checkout the shopper got', () => {
    const steps = (n: number) =>
      score({ ...freshCart, idleSeconds: 600, checkoutReached: true, checkoutStepsSeen: n });
    expect(steps(1)).toBeLessThan(steps(0));
    expect(steps(3)).toBeLessThan(steps(1));
  });

  it('raises the risk with more removals', () => {
    fc.assert(
      fc.property(sessionFeatures, count, (features, removals) => {
        const fewer = { ...features, removals };
        const more = { ...features, removals: removals + 1 };
        expect(riskLogit(more)).toBeGreaterThan(riskLogit(fewer));
        expect(score(more)).toBeGreaterThanOrEqual(score(fewer));
      }),
    );
    expect(score({ ...freshCart, removals: 1 })).toBeGreaterThan(score(freshCart));
  });

  it('lowers the risk for a returning shopper', () => {
    fc.assert(
      fc.property(sessionFeatures, (features) => {
        const returning = { ...features, returningShopper: true };
        const newShopper = { ...features, returningShopper: false };
        expect(riskLogit(returning)).toBeLessThan(riskLogit(newShopper));
        expect(score(returning)).toBeLessThanOrEqual(score(newShopper));
      }),
    );
    expect(score({ ...freshCart, returningShopper: true })).toBeLessThan(score(freshCart));
  });

  it.each(exitKinds)('raises the risk with each %s exit signal', (kind) => {
    fc.assert(
      fc.property(sessionFeatures, count, (features, seen) => {
        const before = { ...features, exitSignals: { ...features.exitSignals, [kind]: seen } };
        const after = { ...features, exitSignals: { ...features.exitSignals, [kind]: seen + 1 } };
        expect(riskLogit(after)).toBeGreaterThan(riskLogit(before));
        expect(score(after)).toBeGreaterThanOrEqual(score(before));
      }),
    );
    const once = { ...freshCart, exitSignals: { ...freshCart.exitSignals, [kind]: 1 } };
    expect(score(once)).toBeGreaterThan(score(freshCart));
  });

  it('raises the risk while the tab is hidden', () => {
    expect(score({ ...freshCart, tabHidden: true })).toBeGreaterThan(score(freshCart));
  });

  it('scores mobile at least as risky as desktop', () => {
    fc.assert(
      fc.property(sessionFeatures, (features) => {
        expect(score({ ...features, device: 'mobile' })).toBeGreaterThanOrEqual(
          score({ ...features, device: 'desktop' }),
        );
      }),
    );
    expect(score({ ...freshCart, device: 'mobile' })).toBeGreaterThan(score(freshCart));
  });

  it('raises the risk slightly late at night', () => {
    const at = (localHour: number) => score({ ...freshCart, idleSeconds: 600, localHour });
    expect(at(2)).toBeGreaterThan(at(14));
    expect(at(2) - at(14)).toBeLessThan(0.05);
    expect(at(23)).toBe(at(14));
  });

  it('scores a fresh single-line desktop cart idle for an hour as likely abandoned', () => {
    const p = score({ ...freshCart, idleSeconds: 3600 });
    expect(p).toBeGreaterThan(0.6);
    expect(p).toBeLessThan(0.95);
  });

  it('scores a cart at checkout, active 10 s ago, as more likely bought than not', () => {
    const p = score({ ...freshCart, idleSeconds: 10, checkoutReached: true, checkoutStepsSeen: 1 });
    expect(p).toBeLessThan(0.5);
  });

  it('starts a fresh cart near the ~70% base abandonment rate', () => {
    expect(score(freshCart)).toBeGreaterThan(0.6);
    expect(score(freshCart)).toBeLessThan(0.75);
  });
});

describe('score with a custom model', () => {
  it('gives 0.5 for a model whose coefficients are all zero', () => {
    fc.assert(
      fc.property(anyFeatures, (features) => {
        expect(score(features, zeroModel())).toBe(0.5);
      }),
    );
  });

  it('follows the weights it is given', () => {
    const returningOnly = zeroModel();
    returningOnly.weights.returningShopper = 2;
    // 1 / (1 + e^-2) = 0.880797...
    expect(score({ ...freshCart, returningShopper: true }, returningOnly)).toBe(0.8808);
    expect(score({ ...freshCart, returningShopper: false }, returningOnly)).toBe(0.5);

    const interceptOnly = { ...zeroModel(), intercept: -1 };
    expect(score(freshCart, interceptOnly)).toBe(0.2689);

    // Flipping the sign of the device weight flips the direction: mobile becomes safer.
    const mobileSafer = { ...defaultModel, weights: { ...defaultModel.weights, deviceMobile: -1 } };
    expect(score({ ...freshCart, device: 'mobile' }, mobileSafer)).toBeLessThan(
      score(freshCart, mobileSafer),
    );
  });

  it('equals the logistic function of intercept + Σ weight × toModelInputs(features)', () => {
    fc.assert(
      fc.property(sessionFeatures, anyModel, (features, model) => {
        const inputs = toModelInputs(features);
        let logit = model.intercept;
        for (const name of modelInputNames) logit += model.weights[name] * inputs[name];
        expect(riskLogit(features, model)).toBeCloseTo(logit, 9);
        const expected = Math.min(0.9999, Math.max(0.0001, 1 / (1 + Math.exp(-logit))));
        expect(Math.abs(score(features, model) - expected)).toBeLessThanOrEqual(0.00005 + 1e-12);
      }),
    );
  });

  it('uses the default model when none is given', () => {
    fc.assert(
      fc.property(sessionFeatures, (features) => {
        expect(score(features)).toBe(score(features, defaultModel));
      }),
    );
  });
});

describe('toModelInputs', () => {
  it('produces a finite number for every model input, whatever the features', () => {
    fc.assert(
      fc.property(anyFeatures, (features) => {
        const inputs = toModelInputs(features);
        expect(Object.keys(inputs).sort()).toEqual([...modelInputNames].sort());
        for (const name of modelInputNames) expect(Number.isFinite(inputs[name])).toBe(true);
      }),
    );
  });

  it('encodes device and source one-hot against desktop and direct', () => {
    const desktop = toModelInputs(freshCart);
    expect([desktop.deviceMobile, desktop.deviceTablet, desktop.deviceUnknown]).toEqual([0, 0, 0]);
    const tablet = toModelInputs({ ...freshCart, device: 'tablet', source: 'email' });
    expect([tablet.deviceMobile, tablet.deviceTablet, tablet.deviceUnknown]).toEqual([0, 1, 0]);
    expect(tablet.sourceEmail).toBe(1);
    expect(tablet.sourceSocial + tablet.sourceSearch + tablet.sourcePaid).toBe(0);
  });

  it('measures idle time as ln(1 + minutes) and caps the value band', () => {
    expect(toModelInputs({ ...freshCart, idleSeconds: 3600 }).idleMinutes).toBeCloseTo(
      Math.log1p(60),
      12,
    );
    expect(toModelInputs({ ...freshCart, valueBand: 40 }).valueBand).toBe(6);
    expect(toModelInputs({ ...freshCart, valueBand: -40 }).valueBand).toBe(-6);
  });

  it('reads the local hour modulo a day and ignores an unknown hour', () => {
    expect(toModelInputs({ ...freshCart, localHour: 3 }).lateNight).toBe(1);
    expect(toModelInputs({ ...freshCart, localHour: 27 }).lateNight).toBe(1);
    expect(toModelInputs({ ...freshCart, localHour: 5 }).lateNight).toBe(0);
    expect(toModelInputs({ ...freshCart, localHour: Number.NaN }).lateNight).toBe(0);
  });
});
