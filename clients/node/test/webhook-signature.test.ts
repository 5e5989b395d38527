import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { signatureHeader } from '../../../src/webhooks/signing.js';
import { DEFAULT_SIGNATURE_TOLERANCE_SECONDS, verifyWebhookSignature } from '../src/index.js';

/** The client's verifier against the server's own signer (src/webhooks/signing.ts), which it does not import. */
describe('verifyWebhookSignature', () => {
  const secret = 'whsec_Zm9yIHRoZSB0ZXN0cyBvbmx5LCBub3QgYSByZWFsIHNlY3JldA';
  const body = '{"id":"7c6f…","type":"profile.created","data":{"profile_id":"p","customer_user_id":"Zoë ✓"}}';
  const sentAt = 1_764_412_800;
  const now = sentAt * 1000 + 10_000;
  const header = signatureHeader(secret, body, sentAt);

  test('accepts what the server signs, as text or bytes, within the tolerance', () => {
    assert.equal(verifyWebhookSignature(secret, header, body, { now }), true);
    assert.equal(verifyWebhookSignature(secret, header, new TextEncoder().encode(body), { now }), true);
    assert.equal(verifyWebhookSignature(secret, ` ${header.replace(',', ', ')} `, body, { now }), true);
    // A secret that is not whsec_-shaped is keyed with its UTF-8 bytes too.
    const chosen = 'my-own-signing-secret-ß€';
    assert.equal(verifyWebhookSignature(chosen, signatureHeader(chosen, body, sentAt), body, { now }), true);
  });

  test('refuses another secret, another body, another time, and malformed headers', () => {
    assert.equal(verifyWebhookSignature(`${secret}x`, header, body, { now }), false);
    assert.equal(verifyWebhookSignature(secret, header, body.replace('Zoë', 'Zoe'), { now }), false);
    assert.equal(verifyWebhookSignature(secret, header.replace(`t=${sentAt}`, `t=${sentAt + 1}`), body, { now }), false);
    for (const bad of [undefined, null, '', 'v1=abc', `t=${sentAt}`, `t=x,v1=${header.split('v1=')[1]}`, `t=${sentAt},v1=${'0'.repeat(64)}`, [header, header]]) {
      assert.equal(verifyWebhookSignature(secret, bad, body, { now }), false, String(bad));
    }
  });

  test('a timestamp older or newer than the tolerance is refused, unless the check is off', () => {
    const late = (sentAt + DEFAULT_SIGNATURE_TOLERANCE_SECONDS + 1) * 1000;
    assert.equal(verifyWebhookSignature(secret, header, body, { now: late }), false);
    assert.equal(verifyWebhookSignature(secret, header, body, { now: (sentAt - 301) * 1000 }), false);
    assert.equal(verifyWebhookSignature(secret, header, body, { now: late, toleranceSeconds: 600 }), true);
    assert.equal(verifyWebhookSignature(secret, header, body, { now: 0, toleranceSeconds: 0 }), true);
    assert.equal(verifyWebhookSignature(secret, header, body), false, 'a signature of 2025 is stale today');
  });

  test('one matching v1 entry among several is enough (a secret being rotated)', () => {
    const other = signatureHeader('whsec_the-previous-secret-000000', body, sentAt).split(',')[1]!;
    assert.equal(verifyWebhookSignature(secret, `${other},${header}`, body, { now }), true);
  });

  test('a missing secret or a negative tolerance is a mistake of the caller', () => {
    assert.throws(() => verifyWebhookSignature('', header, body), TypeError);
    assert.throws(() => verifyWebhookSignature(secret, header, body, { toleranceSeconds: -1 }), TypeError);
  });
});
