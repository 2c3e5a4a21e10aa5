import { describe, expect, it } from 'vitest';
import { fieldProblems } from './field-problems.js';

const fields = [
  'allowedOrigins',
  'settings.sender.replyTo',
  'settings.cartRestore',
  'settings.cartRestore.url',
  'settings.onsite.texts',
  'settings.onsite.consent.text',
];

describe('fieldProblems', () => {
  it('finds the field a schema refusal names', () => {
    expect(fieldProblems('body/settings/sender/replyTo must be an email address', fields)).toEqual({
      fields: { 'settings.sender.replyTo': 'must be an email address' },
      rest: [],
    });
  });

  it('takes the most precise field, or the one holding a deeper path', () => {
    const at = (message: string) => Object.keys(fieldProblems(message, fields).fields);
    expect(at('body/settings/cartRestore/url must be an http(s) URL')).toEqual([
      'settings.cartRestore.url',
    ]);
    expect(at('body/settings/cartRestore/kind Invalid input')).toEqual(['settings.cartRestore']);
    expect(at('body/settings/onsite/texts/it Invalid key in record')).toEqual([
      'settings.onsite.texts',
    ]);
  });

  it('splits a message of several problems, commas inside each kept', () => {
    expect(
      fieldProblems(
        'body/settings/onsite/consent/text Too small: expected string to have >=1 characters, body/settings/sender/replyTo must be an email address such as a@b.example, or empty',
        fields,
      ),
    ).toEqual({
      fields: {
        'settings.onsite.consent.text': 'Too small: expected string to have >=1 characters',
        'settings.sender.replyTo': 'must be an email address such as a@b.example, or empty',
      },
      rest: [],
    });
  });

  it('reads refusals of settings checked together, and of origins', () => {
    expect(
      fieldProblems("settings.cartRestore.url: must be on the store's own origin", fields).fields,
    ).toEqual({ 'settings.cartRestore.url': "must be on the store's own origin" });
    expect(fieldProblems('origin "ftp://x" is not an http(s) origin', fields).fields).toEqual({
      allowedOrigins: 'origin "ftp://x" is not an http(s) origin',
    });
  });

  it('leaves what no field holds to the form', () => {
    for (const message of [
      'body/settings/frequencyCapHours/sms Too small',
      'nothing to change',
      'body/settings/sendername Invalid',
    ]) {
      expect(fieldProblems(message, fields)).toEqual({ fields: {}, rest: [message] });
    }
  });
});
