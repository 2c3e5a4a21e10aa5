import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { identifyShopper, loadConsent, setConsent } from './consent.js';
import { flushStorage } from './storage.js';

let sent: [string, Record<string, unknown>][];
const send = (type: string, fields: object) => sent.push([type, fields as Record<string, unknown>]);
let warnings: ReturnType<typeof vi.spyOn>;

const setGpc = (value: boolean | undefined) =>
  Object.defineProperty(navigator, 'globalPrivacyControl', { value, configurable: true });

beforeEach(() => {
  flushStorage();
  localStorage.clear();
  sent = [];
  warnings = vi.spyOn(console, 'warn').mockImplementation(() => {});
  setGpc(undefined);
  loadConsent(send);
});
afterEach(() => {
  vi.restoreAllMocks();
  setGpc(undefined);
});

const jane = { email: 'jane@example.com', phone: '+44 7700 900-123', firstName: 'Jane' };

describe('identify and consent', () => {
  it('sends no contact details before consent, and never stores them', () => {
    identifyShopper(jane);
    expect(sent).toEqual([]);
    flushStorage();
    expect(Object.values({ ...localStorage }).join()).not.toMatch(/jane|7700/);
  });

  it('releases the email once email consent arrives; the phone waits for SMS consent', () => {
    identifyShopper(jane);
    setConsent({ email: true, textVersion: '2026-11-01' }, 'site');
    const consent = { email: true, textVersion: '2026-11-01' };
    expect(sent).toEqual([
      ['consent_changed', { consent, source: 'site' }],
      ['identify', { email: 'jane@example.com', firstName: 'Jane', consent }],
    ]);

    setConsent({ sms: true, textVersion: '2026-11-02' }, 'site');
    expect(sent[3]).toEqual([
      'identify',
      {
        phone: '+447700900123',
        firstName: 'Jane',
        consent: { email: true, sms: true, textVersion: '2026-11-02' },
      },
    ]);
    // Nothing is left waiting.
    setConsent({ push: true, textVersion: '2026-11-03' }, 'site');
    expect(sent.filter(([type]) => type === 'identify')).toHaveLength(2);
  });

  it('sends at once when consent was given on an earlier page', () => {
    setConsent({ email: true, sms: false, textVersion: 'v1' }, 'site');
    flushStorage();
    sent = [];
    loadConsent(send);
    identifyShopper(jane);
    expect(sent).toEqual([
      [
        'identify',
        {
          email: 'jane@example.com',
          firstName: 'Jane',
          consent: { email: true, sms: false, textVersion: 'v1' },
        },
      ],
    ]);
  });

  it('needs a text version to grant, not to withdraw', () => {
    setConsent({ email: true }, 'site');
    expect(sent).toEqual([]);
    expect(warnings).toHaveBeenCalledWith('[winback] W8', '');
    setConsent({ email: true, textVersion: 'v7' }, 'site');
    setConsent({ email: false }, 'site');
    expect(sent[1]).toEqual([
      'consent_changed',
      { consent: { email: false, textVersion: 'v7' }, source: 'site' },
    ]);
  });

  it('warns when identify has neither email nor phone', () => {
    identifyShopper({ firstName: 'Nobody' });
    setConsent({ email: true, sms: true, textVersion: 'v1' }, 'site');
    expect(sent.map(([type]) => type)).toEqual(['consent_changed']);
    expect(warnings).toHaveBeenCalledWith('[winback] W7', '');
  });
});

describe('Global Privacy Control', () => {
  it('turns marketing consent off once, with source gpc', () => {
    setConsent({ email: true, textVersion: 'v1' }, 'site');
    flushStorage();
    setGpc(true);
    sent = [];
    loadConsent(send);
    expect(sent).toEqual([
      [
        'consent_changed',
        { consent: { email: false, sms: false, push: false, textVersion: 'gpc' }, source: 'gpc' },
      ],
    ]);
    flushStorage();
    loadConsent(send);
    expect(sent).toHaveLength(1);
  });

  it('keeps the site from granting again, and holds contact details back', () => {
    setGpc(true);
    loadConsent(send);
    identifyShopper(jane);
    setConsent({ email: true, textVersion: 'v1' }, 'site');
    expect(sent.map(([type]) => type)).toEqual(['consent_changed']);
    expect(warnings).toHaveBeenCalledWith('[winback] W9', '');
  });

  it("lets the shopper's own opt-in in the widget through, and keeps it", () => {
    setGpc(true);
    loadConsent(send);
    identifyShopper(jane);
    setConsent({ email: true, textVersion: 'widget-v1' }, 'widget');
    expect(sent.at(-1)?.[0]).toBe('identify');
    flushStorage();
    sent = [];
    loadConsent(send);
    expect(sent).toEqual([]);
  });
});
