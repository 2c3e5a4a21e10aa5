import { identifyEvent } from '@winback/shared';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isEmail, isPhone, toE164 } from './capture.js';

// What the shopper submits must pass the server's identify schema, or their consent is lost.
const identify = (contact: { email?: string; phone?: string }) =>
  identifyEvent.safeParse({
    id: '01JD2ZK3Q4M5N6P7R8S9T0VWXY',
    ts: Date.UTC(2026, 10, 22),
    sessionId: 'sess_12345678',
    anonymousId: 'anon_12345678',
    type: 'identify',
    consent: { email: true, textVersion: 'v1' },
    ...contact,
  }).success;

describe('contact checks', () => {
  it('accept an email exactly when the identify schema does', () => {
    const candidates = fc.oneof(
      fc.emailAddress(),
      fc.string(),
      fc.tuple(fc.string(), fc.string()).map(([a, b]) => `${a}@${b}`),
      fc.constantFrom('ana@example.com', 'a.b+c@shop.co.uk', 'ana@localhost', 'ana@@x.de'),
    );
    fc.assert(fc.property(candidates, (email) => isEmail(email) === identify({ email })));
  });

  it('accept a phone exactly when the identify schema does, once written as E.164', () => {
    expect(toE164('+44 7700 900123')).toBe('+447700900123');
    expect(toE164('0044 (7700) 900-123')).toBe('+447700900123');
    expect(toE164('+49.151.2345.6789')).toBe('+4915123456789');
    fc.assert(
      fc.property(fc.string(), (typed) => {
        const phone = toE164(typed);
        return isPhone(phone) === identify({ phone });
      }),
    );
    expect(isPhone(toE164('07700 900123'))).toBe(false);
  });
});
