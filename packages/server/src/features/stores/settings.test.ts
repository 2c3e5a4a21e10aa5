import { describe, expect, it } from 'vitest';
import { readStoreSettings, senderFrom, storeSettingsUpdate } from './settings.js';

describe('the sender setting', () => {
  it('defaults to no name and no address, also in place of a stored one that no longer parses', () => {
    expect(readStoreSettings({}).sender).toEqual({ name: null, replyTo: null });
    expect(readStoreSettings({ sender: { name: 'A"B', replyTo: 'x' } }).sender).toEqual({
      name: null,
      replyTo: null,
    });
    expect(
      readStoreSettings({ sender: { name: ' Sunrise ', replyTo: 'owner@sunrise.example' } }).sender,
    ).toEqual({ name: 'Sunrise', replyTo: 'owner@sunrise.example' });
  });

  it('refuses names that could leave the quoted display name, and anything but one address', () => {
    for (const sender of [
      { name: 'Shop" <evil@else.example>', replyTo: null },
      { name: 'Shop\r\nBcc: evil@else.example', replyTo: null },
      { name: 'Shop \\', replyTo: null },
      { name: '   ', replyTo: null },
      { name: null, replyTo: 'owner@shop.example\nBcc: evil@else.example' },
      { name: null, replyTo: 'owner@shop.example, evil@else.example' },
      { name: null, replyTo: 'Owner <owner@shop.example>' },
      { name: null },
    ]) {
      expect(storeSettingsUpdate.safeParse({ sender }).success, JSON.stringify(sender)).toBe(false);
    }
  });

  it('puts the store’s name over MAIL_FROM’s address', () => {
    const mailFrom = 'Winback <recovery@mail.example>';
    expect(senderFrom({ name: 'Café Süd', replyTo: null }, mailFrom)).toBe(
      '"Café Süd" <recovery@mail.example>',
    );
    expect(senderFrom({ name: null, replyTo: 'a@b.example' }, mailFrom)).toBe(mailFrom);
    expect(senderFrom({ name: 'Shop', replyTo: null }, 'recovery@mail.example')).toBe(
      '"Shop" <recovery@mail.example>',
    );
    // Nothing to put a name on: MAIL_FROM as it is.
    expect(senderFrom({ name: 'Shop', replyTo: null }, 'a@x.example, b@y.example')).toBe(
      'a@x.example, b@y.example',
    );
  });
});
