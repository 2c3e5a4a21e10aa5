import { describe, expect, it } from 'vitest';
import {
  addDays,
  compare,
  formatDelay,
  formatMoney,
  formatMoneyList,
  formatRate,
  parseAmountToMinor,
  periodLength,
  periodProblem,
  presetPeriod,
  previousPeriod,
  toCsv,
} from './format.js';
import { hrefOf, parseRoute } from './route.js';

describe('money and numbers', () => {
  it('formats minor units by the currency’s digits', () => {
    expect(formatMoney({ currency: 'EUR', amountMinor: 1050 })).toBe('€10.50');
    expect(formatMoney({ currency: 'JPY', amountMinor: 1050 })).toBe('¥1,050');
    expect(formatMoney({ currency: 'NOPE', amountMinor: 5 })).toBe('5 NOPE');
    expect(formatMoneyList([])).toBe('—');
    expect(
      formatMoneyList([
        { currency: 'USD', amountMinor: 300 },
        { currency: 'EUR', amountMinor: 1050 },
      ]),
    ).toBe('€10.50 · $3.00');
  });

  it('reads typed amounts without floating point', () => {
    expect(parseAmountToMinor('12')).toBe(1200);
    expect(parseAmountToMinor('12.5')).toBe(1250);
    expect(parseAmountToMinor(' 0,07 ')).toBe(7);
    expect(parseAmountToMinor('19.99')).toBe(1999);
    for (const bad of ['', '-1', '1.234', 'abc', '1e3']) expect(parseAmountToMinor(bad)).toBeNull();
    expect(parseAmountToMinor('12.')).toBe(1200);
  });

  it('compares periods and rates', () => {
    expect(compare(110, 100)).toEqual({ trend: 'up', text: '+10.0%' });
    expect(compare(90, 100)).toEqual({ trend: 'down', text: '−10.0%' });
    expect(compare(100, 100)).toEqual({ trend: 'flat', text: '±0%' });
    expect(compare(5, 0)).toEqual({ trend: 'new', text: 'new' });
    expect(compare(0, 0)).toEqual({ trend: 'none', text: '—' });
    expect(formatRate(null)).toBe('—');
    expect(formatRate(0.1234)).toBe('12.3%');
  });

  it('says delays as people read them', () => {
    expect(formatDelay(0)).toBe('at once');
    expect(formatDelay(90)).toBe('1 h 30 min');
    expect(formatDelay(2880)).toBe('2 d');
  });
});

describe('periods', () => {
  it('counts both ends and finds the previous period of the same length', () => {
    expect(periodLength('2024-05-01', '2024-05-07')).toBe(7);
    expect(previousPeriod('2024-05-01', '2024-05-07')).toEqual({
      from: '2024-04-24',
      to: '2024-04-30',
    });
    // Across a daylight-saving change and a leap day.
    expect(addDays('2024-03-30', 2)).toBe('2024-04-01');
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
  });

  it('turns presets into days ending today', () => {
    expect(presetPeriod('7d', '2024-05-10')).toEqual({ from: '2024-05-04', to: '2024-05-10' });
    expect(presetPeriod('month', '2024-05-10')).toEqual({ from: '2024-05-01', to: '2024-05-10' });
    expect(presetPeriod('last_month', '2024-03-10')).toEqual({
      from: '2024-02-01',
      to: '2024-02-29',
    });
  });

  it('refuses periods it cannot ask for', () => {
    expect(periodProblem('2024-05-01', '2024-05-07')).toBeNull();
    expect(periodProblem('2024-05-08', '2024-05-07')).toMatch(/before/);
    expect(periodProblem('2024-02-30', '2024-03-01')).toMatch(/Pick both/);
    expect(periodProblem('2020-01-01', '2024-01-01')).toMatch(/at most/);
  });
});

describe('CSV', () => {
  it('quotes what needs quoting and defuses formulas', () => {
    expect(toCsv([['a', 'b,c', 'say "hi"', 'x\ny', null, 3]])).toBe(
      'a,"b,c","say ""hi""","x\ny",,3\r\n',
    );
    expect(toCsv([['=SUM(A1)', '+1', '-2', '@x']])).toBe("'=SUM(A1),'+1,'-2,'@x\r\n");
    expect(toCsv([[-2]])).toBe('-2\r\n');
  });
});

describe('routes', () => {
  it('reads and writes hash routes', () => {
    expect(parseRoute('')).toEqual({ view: 'overview' });
    expect(parseRoute('#/carts/0b6f')).toEqual({ view: 'cart', id: '0b6f' });
    expect(parseRoute('#/campaigns/new')).toEqual({ view: 'campaign', id: 'new' });
    expect(parseRoute('#/outbox')).toEqual({ view: 'outbox' });
    expect(parseRoute('#/carts/<script>')).toEqual({ view: 'carts' });
    expect(parseRoute('#/nowhere')).toEqual({ view: 'overview' });
    expect(hrefOf({ view: 'mail', id: 'm1' })).toBe('#/outbox/m1');
  });
});
