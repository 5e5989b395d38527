import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { backoff, DEFAULT_SCHEDULE, nextAttemptAt } from '../../src/webhooks/schedule.js';
import { generateSecret, secretHint, signatureHeader, verifySignature } from '../../src/webhooks/signing.js';

describe('webhook signatures', () => {
  const secret = 'whsec_test-secret-0123456789';
  const body = '{"id":"e1","type":"profile.created","data":{"profile_id":"p","customer_user_id":"ü"}}';
  const t = 1_764_412_800;
  const now = t * 1000;

  test('the header is t=<seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">, computed independently here', () => {
    const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    assert.equal(signatureHeader(secret, body, t), `t=${t},v1=${expected}`);
  });

  test('a signature verifies with the right secret and the exact body, and not otherwise', () => {
    const header = signatureHeader(secret, body, t);
    assert.equal(verifySignature(secret, header, body, { now }), true);
    assert.equal(verifySignature(secret, header, Buffer.from(body, 'utf8'), { now }), true, 'raw bytes work too');
    assert.equal(verifySignature(secret, header, body.replace('created', 'deleted'), { now }), false, 'tampered body');
    assert.equal(verifySignature(secret, header, `${body} `, { now }), false, 'one more byte');
    assert.equal(verifySignature(`${secret}!`, header, body, { now }), false, 'wrong secret');
    assert.equal(verifySignature(secret, header.replace(`t=${t}`, `t=${t + 1}`), body, { now }), false, 'moved timestamp');
  });

  test('the timestamp must be within the tolerance (300 s by default; 0 turns the check off)', () => {
    const header = signatureHeader(secret, body, t);
    assert.equal(verifySignature(secret, header, body, { now: now + 300_000 }), true);
    assert.equal(verifySignature(secret, header, body, { now: now + 301_000 }), false);
    assert.equal(verifySignature(secret, header, body, { now: now - 301_000 }), false);
    assert.equal(verifySignature(secret, header, body, { now: now + 3_600_000, toleranceSeconds: 0 }), true);
  });

  test('malformed headers do not verify and do not throw; any of several v1 entries may match', () => {
    for (const header of [undefined, null, '', 'garbage', `t=${t}`, 'v1=abc', `t=x,v1=${'0'.repeat(64)}`, `t=${t},v1=${'z'.repeat(64)}`]) {
      assert.equal(verifySignature(secret, header, body, { now }), false, String(header));
    }
    const good = signatureHeader(secret, body, t).split(',')[1]!;
    assert.equal(verifySignature(secret, `t=${t},v1=${'0'.repeat(64)},${good}`, body, { now }), true);
  });

  test('generated secrets are whsec_ and 32 random bytes; hints show only their start', () => {
    const one = generateSecret();
    assert.match(one, /^whsec_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(one.slice(6), 'base64url').length, 32);
    assert.notEqual(one, generateSecret());
    assert.equal(secretHint(one), `${one.slice(0, 10)}…`);
    assert.equal(secretHint('my-own-signing-secret'), 'my-o…');
  });
});

describe('webhook retry schedule', () => {
  test('10 s doubling, capped at one hour', () => {
    const waits = Array.from({ length: 12 }, (_, i) => backoff(i + 1, DEFAULT_SCHEDULE) / 1000);
    assert.deepEqual(waits, [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600, 3600]);
    assert.equal(backoff(10_000, DEFAULT_SCHEDULE), 3_600_000);
  });

  test('jitter moves each wait by at most 20 % either way', () => {
    assert.equal(nextAttemptAt(1, 0, 0, DEFAULT_SCHEDULE, () => 0), 8_000);
    assert.equal(nextAttemptAt(1, 0, 0, DEFAULT_SCHEDULE, () => 0.5), 10_000);
    assert.equal(nextAttemptAt(1, 0, 0, DEFAULT_SCHEDULE, () => 0.999_999), 12_000);
    assert.equal(nextAttemptAt(12, 0, 0, DEFAULT_SCHEDULE, () => 0), 2_880_000);
  });

  test('past the retry period (24 h from the delivery by default) there is no next attempt', () => {
    const day = 86_400_000;
    assert.equal(nextAttemptAt(30, day - 3_600_000, 0, DEFAULT_SCHEDULE, () => 0.5), day);
    assert.equal(nextAttemptAt(30, day - 3_600_000 + 1, 0, DEFAULT_SCHEDULE, () => 0.5), null);
    // With the default schedule and no jitter, a delivery that always fails gets 32 attempts: at 0, 10, 30, 70, 150, 310, 630, 1270, 2550 and 5110 s, then hourly.
    let at = 0;
    let attempts = 1;
    for (let next = nextAttemptAt(1, at, 0, DEFAULT_SCHEDULE, () => 0.5); next !== null; next = nextAttemptAt(attempts, at, 0, DEFAULT_SCHEDULE, () => 0.5)) {
      at = next;
      attempts++;
    }
    assert.equal(attempts, 32);
    assert.equal(at, (5110 + 22 * 3600) * 1000);
  });
});
