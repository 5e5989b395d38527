/**
 * A fixed corpus of the nastiest requests found or thought of, each with its exact answer. Every
 * refused request is also checked to have written nothing (all data tables compared before and
 * after) and every answer to carry no internals.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import {
  createTestContext,
  DATABASES,
  onDatabase,
  envelope,
  IDENTIFIERS_PATH,
  PROFILE_PATH,
  queryRows,
  subscriptionBody,
  type Tenant,
  type TestContext,
} from '../helpers.js';
import {
  assertEnvelope,
  assertNoInternals,
  assertPrototypeClean,
  prototypeKeys,
  type SentRequest,
  snapshot,
} from './support.js';
import { DEFAULT_RULES } from '../../src/domain/rules.js';
import { keyOf } from '../keys-support.js';
import { GRANT_PATH, REFUND_SAVER_PATH, REVOKE_PATH, TRANSACTION_PATH } from '../../src/http/routes/purchase.js';

const KIB = 1024;
const NO_IDENTIFIER = envelope(400, 'validation_error', ['non_field_errors', 'At least one integration identifier must be provided.']);
const NOT_AN_OBJECT = envelope(400, 'validation_error', ['non_field_errors', 'Expected a JSON object of integration identifiers.']);
const NOT_EXACT = 'This number cannot be stored exactly; send it as a string.';
const BAD_TYPE = 'Must be a string, a number or null.';
const NOT_UTF8 = envelope(400, 'parse_error', [null, 'JSON parse error - body is not valid UTF-8']);
const TOO_LARGE = envelope(413, 'payload_too_large', ['non_field_errors', 'The request body must not be larger than 65536 bytes.']);
const ONCE = 'This header must be sent only once.';
const NOT_AUTHENTICATED = envelope(401, 'not_authenticated', ['non_field_errors', 'Authentication credentials were not provided.']);

/** A JSON text of exactly `size` bytes: the object, padded with spaces before its closing brace. */
function padded(json: string, size: number): string {
  assert.ok(json.endsWith('}'));
  const text = json.slice(0, -1) + ' '.repeat(size - Buffer.byteLength(json)) + '}';
  assert.equal(Buffer.byteLength(text), size);
  return text;
}

const nestedArrays = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends bytes over a real TCP connection and reads the answer until the server closes it. */
function rawHttp(port: number, request: string | Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return reject(new Error(`not an HTTP answer: ${JSON.stringify(text)}`));
      const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine!)?.[1]), headers, body: text.slice(split + 4) });
    });
    socket.write(request);
  });
}

for (const kind of DATABASES) {
  describe(`corpus of nasty requests (${kind})`, onDatabase(kind), () => {
    let ctx: TestContext;
    let a: Tenant;
    let b: Tenant;
    let port: number;
    let counter = 0;
    const prototypeBefore = prototypeKeys();

    before(async () => {
      ctx = await createTestContext(kind);
      a = await ctx.newTenant();
      b = await ctx.newTenant();
      await ctx.app.listen({ host: '127.0.0.1', port: 0 });
      port = (ctx.app.server.address() as net.AddressInfo).port;
    });
    after(() => ctx.close());

    async function inject(request: SentRequest): Promise<LightMyRequestResponse> {
      const options: InjectOptions = { method: request.method as 'GET', url: request.url, headers: request.headers };
      if (request.payload !== undefined) options.payload = request.payload;
      const res = await ctx.app.inject(options);
      assert.ok(res.statusCode < 500, `5xx: ${res.statusCode} ${res.body}`);
      if (res.statusCode >= 400 && request.method !== 'HEAD') {
        assertEnvelope(res, '', request.url);
        assertNoInternals(res, request);
      }
      assertPrototypeClean(prototypeBefore);
      return res;
    }

    /** A profile of tenant A with two identifiers and an attribute, so that any change shows. */
    async function victim(owner: Tenant = a) {
      const cuid = `corpus-${++counter}-${randomUUID().slice(0, 8)}`;
      const headers = { ...owner.auth, 'adapty-customer-user-id': cuid, 'content-type': 'application/json' };
      const created = await inject({ method: 'POST', url: PROFILE_PATH, headers, payload: JSON.stringify({ first_name: 'Orig', custom_attributes: [{ key: 'tier', value: 'gold' }] }) });
      assert.equal(created.statusCode, 200, created.body);
      const set = await inject({ method: 'POST', url: IDENTIFIERS_PATH, headers, payload: '{"appsflyer_id":"orig-af","branch_id":"orig-br"}' });
      assert.equal(set.statusCode, 200, set.body);
      return { cuid, headers, profileId: (created.json() as { data: { profile_id: string } }).data.profile_id };
    }

    /** The request is answered exactly `expected` and every data table is as it was. */
    async function refused(request: SentRequest, expected: ReturnType<typeof envelope>) {
      const before = await snapshot(ctx.database);
      const res = await inject(request);
      assert.equal(res.statusCode, expected.status_code, res.body);
      assert.deepEqual(res.json(), expected);
      assert.deepEqual(await snapshot(ctx.database), before, 'a refused request changed the database');
      return res;
    }

    async function identifiersOf(headers: Record<string, string>) {
      const res = await inject({ method: 'GET', url: IDENTIFIERS_PATH, headers });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as Record<string, string | null>;
    }

    const setIds = (headers: Record<string, string | string[]>, payload: string | Buffer): SentRequest => ({ method: 'POST', url: IDENTIFIERS_PATH, headers, payload });

    describe('set integration identifiers', () => {
      test('{"__proto__":{"appsflyer_id":"x"}} names no identifier: 400, nothing written, prototype untouched', async () => {
        const v = await victim();
        await refused(setIds(v.headers, '{"__proto__":{"appsflyer_id":"x"}}'), NO_IDENTIFIER);
        await refused(setIds(v.headers, '{"constructor":{"prototype":{"appsflyer_id":"x"}}}'), NO_IDENTIFIER);
        await refused(setIds(v.headers, '{"prototype":{"appsflyer_id":"x"},"__proto__":null}'), NO_IDENTIFIER);
        assert.equal((await identifiersOf(v.headers)).appsflyer_id, 'orig-af');
      });

      test('__proto__ beside a real key: only the real key is written', async () => {
        const v = await victim();
        const res = await inject(setIds(v.headers, '{"__proto__":{"appsflyer_id":"evil","polluted":"yes"},"branch_id":"new-br"}'));
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.body, '');
        const ids = await identifiersOf(v.headers);
        assert.equal(ids.appsflyer_id, 'orig-af');
        assert.equal(ids.branch_id, 'new-br');
        assert.deepEqual(Object.keys(ids).length, 16);
      });

      test('numbers JSON cannot carry exactly are refused: 1e400, -1e400, 2^64, 2^53+1, 1e21, 1e-7', async () => {
        const v = await victim();
        for (const literal of ['1e400', '-1e400', '18446744073709551616', '9007199254740993', '1e21', '1e-7', '1.7976931348623157e309']) {
          await refused(setIds(v.headers, `{"appsflyer_id":${literal}}`), envelope(400, 'validation_error', ['appsflyer_id', NOT_EXACT]));
        }
      });

      test('numbers that parse to an exact decimal are stored as that decimal: -0, 1E2, 1e-400 (underflows to 0), 0.10', async () => {
        // The documented rule looks at the parsed number: -0 and 1e-400 are the number 0, whose
        // decimal text needs no exponent. (A client that needs "1e-400" kept must send a string.)
        // This app accepts placeholders: by default "0" is one, and would be left out.
        const owner = await ctx.newTenant();
        await ctx.store.setRules(owner.appId, { ...DEFAULT_RULES, placeholderMode: 'accept' });
        const v = await victim(owner);
        const cases: [string, string][] = [['-0', '0'], ['1E2', '100'], ['1e-400', '0'], ['0.10', '0.1'], ['9007199254740991', '9007199254740991'], ['-12.5', '-12.5']];
        for (const [literal, stored] of cases) {
          const res = await inject(setIds(v.headers, `{"adjust_device_id":${literal}}`));
          assert.equal(res.statusCode, 200, `${literal}: ${res.body}`);
          assert.equal((await identifiersOf(v.headers)).adjust_device_id, stored, literal);
        }
      });

      test('a key given twice in the raw JSON: the last one counts, as JSON.parse keeps it', async () => {
        const v = await victim();
        const res = await inject(setIds(v.headers, '{"appsflyer_id":"a","appsflyer_id":"b"}'));
        assert.equal(res.statusCode, 200, res.body);
        assert.equal((await identifiersOf(v.headers)).appsflyer_id, 'b');
        // The last value decides validity too: a bad last value refuses the request.
        await refused(setIds(v.headers, '{"appsflyer_id":"ok","appsflyer_id":true}'), envelope(400, 'validation_error', ['appsflyer_id', BAD_TYPE]));
        // ...and a good last value wins over a bad first one.
        const ok = await inject(setIds(v.headers, '{"branch_id":[1,2],"branch_id":"fine"}'));
        assert.equal(ok.statusCode, 200, ok.body);
        assert.equal((await identifiersOf(v.headers)).branch_id, 'fine');
      });

      test('all bad keys are reported together, in schema order, and the good key is not written', async () => {
        const v = await victim();
        await refused(
          setIds(v.headers, '{"branch_id":"   ","adjust_device_id":"fine","appsflyer_id":{"x":1},"mixpanel_user_id":1e400,"amplitude_user_id":false}'),
          envelope(
            400,
            'validation_error',
            ['amplitude_user_id', BAD_TYPE],
            ['appsflyer_id', BAD_TYPE],
            ['branch_id', 'This field may not be blank; use null to clear it.'],
            ['mixpanel_user_id', NOT_EXACT],
          ),
        );
        assert.equal((await identifiersOf(v.headers)).adjust_device_id, null);
      });

      test('length is counted in characters: 512 emoji (2,048 bytes) are kept exactly, 513 are refused', async () => {
        const v = await victim();
        const ok = await inject(setIds(v.headers, JSON.stringify({ appsflyer_id: '😀'.repeat(512) })));
        assert.equal(ok.statusCode, 200, ok.body);
        assert.equal((await identifiersOf(v.headers)).appsflyer_id, '😀'.repeat(512));
        await refused(setIds(v.headers, JSON.stringify({ appsflyer_id: '😀'.repeat(513) })), envelope(400, 'validation_error', ['appsflyer_id', 'Ensure this field has no more than 512 characters.']));
        await refused(setIds(v.headers, JSON.stringify({ appsflyer_id: 'x'.repeat(513) })), envelope(400, 'validation_error', ['appsflyer_id', 'Ensure this field has no more than 512 characters.']));
        // Surrounding white space is trimmed before the length is counted.
        const trimmed = await inject(setIds(v.headers, JSON.stringify({ branch_id: `  ${'y'.repeat(512)}\n\t` })));
        assert.equal(trimmed.statusCode, 200, trimmed.body);
        assert.equal((await identifiersOf(v.headers)).branch_id, 'y'.repeat(512));
      });

      test('NUL characters in a value are stored exactly, or refused with a field error; never a 5xx', async () => {
        const v = await victim();
        const before = await snapshot(ctx.database);
        const res = await inject(setIds(v.headers, '{"appsflyer_id":"a\\u0000b"}'));
        if (res.statusCode === 200) {
          assert.equal((await identifiersOf(v.headers)).appsflyer_id, 'a\u0000b');
        } else {
          assert.equal(res.statusCode, 400, res.body);
          const body = res.json() as { error_code: string; errors: { source: string }[] };
          assert.equal(body.error_code, 'validation_error');
          assert.deepEqual(body.errors.map((e) => e.source), ['appsflyer_id']);
          assert.deepEqual(await snapshot(ctx.database), before);
        }
      });

      test('a lone surrogate (\\ud800) is never silently replaced: stored exactly or refused with a field error', async () => {
        // Bytes that are not UTF-8 are refused so that "no replacement characters are ever stored";
        // the same must hold for a JSON escape that names half a surrogate pair.
        const v = await victim();
        const before = await snapshot(ctx.database);
        const res = await inject(setIds(v.headers, '{"appsflyer_id":"id-\\ud800"}'));
        if (res.statusCode === 200) {
          const stored = (await identifiersOf(v.headers)).appsflyer_id;
          const codes = [...(stored ?? '')].map((c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`);
          assert.equal(stored, 'id-\ud800', `accepted with 200 but stored as ${codes.join(' ')}`);
        } else {
          assert.equal(res.statusCode, 400, res.body);
          const body = res.json() as { error_code: string; errors: { source: string }[] };
          assert.equal(body.error_code, 'validation_error');
          assert.deepEqual(body.errors.map((e) => e.source), ['appsflyer_id']);
          assert.deepEqual(await snapshot(ctx.database), before);
        }
      });

      test('10,000- and 32,000-deep nested arrays under the 64 KiB limit: a plain 400, nothing written', async () => {
        const v = await victim();
        for (const depth of [10_000, 32_000]) {
          await refused(setIds(v.headers, `{"appsflyer_id":${nestedArrays(depth)}}`), envelope(400, 'validation_error', ['appsflyer_id', BAD_TYPE]));
          await refused(setIds(v.headers, nestedArrays(depth)), NOT_AN_OBJECT);
        }
        // 10,000-deep objects under an unknown key are ignored with it.
        const deep = '{"x":'.repeat(10_000) + '1' + '}'.repeat(10_000);
        const res = await inject(setIds(v.headers, `{"ignored":${deep},"branch_id":"after-deep"}`));
        assert.equal(res.statusCode, 200, res.body);
        assert.equal((await identifiersOf(v.headers)).branch_id, 'after-deep');
      });

      test('a body of exactly 64 KiB is read; 64 KiB + 1 byte is a 413 and writes nothing', async () => {
        const v = await victim();
        const exact = await inject(setIds(v.headers, padded('{"branch_id":"sixty-four"}', 64 * KIB)));
        assert.equal(exact.statusCode, 200, exact.body);
        assert.equal((await identifiersOf(v.headers)).branch_id, 'sixty-four');
        await refused(setIds(v.headers, padded('{"branch_id":"one-more"}', 64 * KIB + 1)), TOO_LARGE);
        await refused(setIds(v.headers, padded('{"branch_id":"one-more"}', 1024 * KIB)), TOO_LARGE);
      });

      test('invalid UTF-8 in every form is a parse_error and writes nothing', async () => {
        const v = await victim();
        const forms: number[][] = [[0xff], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xe2, 0x82]];
        for (const bytes of forms) {
          const payload = Buffer.concat([Buffer.from('{"appsflyer_id":"x'), Buffer.from(bytes), Buffer.from('"}')]);
          await refused(setIds(v.headers, payload), NOT_UTF8);
        }
        // Cut off in the middle of a character, at the very end of the body.
        await refused(setIds(v.headers, Buffer.concat([Buffer.from('{"appsflyer_id":"x"}'), Buffer.from([0xf0, 0x9f])])), NOT_UTF8);
      });

      test('a UTF-8 byte order mark before the JSON is ignored (RFC 8259 §8.1)', async () => {
        const v = await victim();
        const res = await inject(setIds(v.headers, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"branch_id":"bom"}')])));
        assert.equal(res.statusCode, 200, res.body);
        assert.equal((await identifiersOf(v.headers)).branch_id, 'bom');
      });

      test('JSON that is not an object, and bodies with no known key', async () => {
        const v = await victim();
        for (const payload of ['null', '[1]', '"appsflyer_id"', '1', 'true', '[{"appsflyer_id":"x"}]']) await refused(setIds(v.headers, payload), NOT_AN_OBJECT);
        for (const payload of ['{}', '[]', '{"unknown":"x"}', '{"APPSFLYER_ID":"x"}', '{"appsflyer_id ":"x"}']) await refused(setIds(v.headers, payload), NO_IDENTIFIER);
        await refused({ method: 'POST', url: IDENTIFIERS_PATH, headers: { ...v.headers, 'content-length': '0' } }, NO_IDENTIFIER);
      });

      test('media types: text/plain and a missing type are 415; charsets other than UTF-8 are 415', async () => {
        const v = await victim();
        const media = envelope(415, 'unsupported_media_type', ['non_field_errors', 'Unsupported media type: send the body as application/json.']);
        await refused(setIds({ ...v.headers, 'content-type': 'text/plain' }, '{"appsflyer_id":"x"}'), media);
        await refused(setIds({ ...v.headers, 'content-type': 'application/x-www-form-urlencoded' }, 'appsflyer_id=x'), media);
        const { 'content-type': _omit, ...untyped } = v.headers;
        await refused(setIds(untyped, '{"appsflyer_id":"x"}'), media);
        for (const charset of ['latin1', 'utf-16', 'UTF-32']) {
          await refused(
            setIds({ ...v.headers, 'content-type': `application/json; charset=${charset}` }, '{"appsflyer_id":"x"}'),
            envelope(415, 'unsupported_media_type', ['non_field_errors', `Unsupported charset "${charset.toLowerCase()}": send JSON in UTF-8.`]),
          );
        }
      });

      test('a doubled adapty-customer-user-id or adapty-profile-id header is a 400 naming it, even with equal values', async () => {
        const v = await victim();
        await refused(setIds({ ...v.headers, 'adapty-customer-user-id': [v.cuid, v.cuid] }, '{"appsflyer_id":"dup"}'), envelope(400, 'validation_error', ['adapty-customer-user-id', ONCE]));
        await refused(setIds({ ...v.headers, 'adapty-customer-user-id': [v.cuid, 'other'] }, '{"appsflyer_id":"dup"}'), envelope(400, 'validation_error', ['adapty-customer-user-id', ONCE]));
        const { 'adapty-customer-user-id': _cuid, ...byId } = v.headers;
        await refused(setIds({ ...byId, 'adapty-profile-id': [v.profileId, v.profileId] }, '{"appsflyer_id":"dup"}'), envelope(400, 'validation_error', ['adapty-profile-id', ONCE]));
      });

      test('Authorization sent twice is refused as not authenticated (401), whichever key comes first', async () => {
        // Node keeps only the first Authorization line; a request with two keys is ambiguous and
        // must not be served as the first key's app.
        const v = await victim();
        await refused(setIds({ ...v.headers, authorization: [a.auth.authorization, b.auth.authorization] }, '{"appsflyer_id":"two-keys"}'), NOT_AUTHENTICATED);
        await refused(setIds({ ...v.headers, authorization: [b.auth.authorization, a.auth.authorization] }, '{"appsflyer_id":"two-keys"}'), NOT_AUTHENTICATED);
        assert.equal((await identifiersOf(v.headers)).appsflyer_id, 'orig-af');
      });

      test('a 10 KiB customer user id header is a 400 and creates nothing; 256 characters are fine', async () => {
        const long = 'u'.repeat(10 * KIB);
        const headers = { ...a.auth, 'adapty-customer-user-id': long, 'content-type': 'application/json' };
        const tooLong = envelope(400, 'validation_error', ['adapty-customer-user-id', 'Ensure this header has no more than 256 characters.']);
        await refused(setIds(headers, '{"appsflyer_id":"x"}'), tooLong);
        await refused({ method: 'POST', url: PROFILE_PATH, headers, payload: '{}' }, tooLong);
        await refused({ method: 'POST', url: PROFILE_PATH, headers: { ...headers, 'adapty-customer-user-id': 'u'.repeat(257) }, payload: '{}' }, tooLong);
        const ok = await inject({ method: 'POST', url: PROFILE_PATH, headers: { ...headers, 'adapty-customer-user-id': 'u'.repeat(256) }, payload: '{}' });
        assert.equal(ok.statusCode, 200, ok.body);
      });

      test('an unknown profile is a 404 profile_not_found and nothing is created', async () => {
        await refused(setIds({ ...a.auth, 'adapty-customer-user-id': `ghost-${randomUUID()}`, 'content-type': 'application/json' }, '{"appsflyer_id":"x"}'), envelope(404, 'profile_not_found', [null, 'Profile not found']));
        await refused(setIds({ ...a.auth, 'adapty-profile-id': randomUUID(), 'content-type': 'application/json' }, '{"appsflyer_id":"x"}'), envelope(404, 'profile_not_found', [null, 'Profile not found']));
      });
    });

    describe('profiles', () => {
      const profileRequest = (method: string, headers: Record<string, string>, payload?: string | Buffer): SentRequest =>
        payload === undefined ? { method, url: PROFILE_PATH, headers } : { method, url: PROFILE_PATH, headers, payload };

      async function customAttributesOf(headers: Record<string, string>) {
        const res = await inject(profileRequest('GET', headers));
        assert.equal(res.statusCode, 200, res.body);
        return (res.json() as { data: { custom_attributes: { key: string; value: unknown }[] } }).data.custom_attributes;
      }

      test('custom attribute keys __proto__, constructor and prototype are plain keys', async () => {
        const v = await victim();
        const res = await inject(profileRequest('PATCH', v.headers, JSON.stringify({ custom_attributes: [{ key: '__proto__', value: 'x' }, { key: 'constructor', value: 1 }, { key: 'prototype', value: 'p' }] })));
        assert.equal(res.statusCode, 200, res.body);
        const expected = [{ key: '__proto__', value: 'x' }, { key: 'constructor', value: 1 }, { key: 'prototype', value: 'p' }, { key: 'tier', value: 'gold' }];
        assert.deepEqual((res.json() as { data: { custom_attributes: unknown } }).data.custom_attributes, expected);
        assert.deepEqual(await customAttributesOf(v.headers), expected);
        const rows = await queryRows(ctx.database, `select key, value from custom_attributes where profile_id = '${v.profileId}' order by key`);
        assert.deepEqual(rows.map((r) => r.key), ['__proto__', 'constructor', 'prototype', 'tier']);
        // And they delete like any other key.
        const removed = await inject(profileRequest('PATCH', v.headers, JSON.stringify({ custom_attributes: [{ key: '__proto__', value: null }, { key: 'constructor', value: '' }] })));
        assert.equal(removed.statusCode, 200, removed.body);
        assert.deepEqual(await customAttributesOf(v.headers), [{ key: 'prototype', value: 'p' }, { key: 'tier', value: 'gold' }]);
      });

      test('__proto__ and constructor.prototype in a profile body are ignored and pollute nothing', async () => {
        const v = await victim();
        const res = await inject(profileRequest('PATCH', v.headers, '{"__proto__":{"first_name":"evil","polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"last_name":"Kept"}'));
        assert.equal(res.statusCode, 200, res.body);
        const [row] = await queryRows(ctx.database, `select first_name, last_name from profiles where id = '${v.profileId}'`);
        assert.deepEqual({ ...row }, { first_name: 'Orig', last_name: 'Kept' });
        const meta = await inject(profileRequest('PATCH', v.headers, '{"installation_meta":{"device_id":"11111111-2222-4333-8444-555555555555","__proto__":{"os":"evil"},"os":"iOS 18"}}'));
        assert.equal(meta.statusCode, 200, meta.body);
        const [device] = await queryRows(ctx.database, `select meta from installations where profile_id = '${v.profileId}'`);
        assert.deepEqual(JSON.parse(String(device!.meta)), { os: 'iOS 18' });
      });

      test('31 custom attributes on a create: 400 on custom_attributes and no profile is created', async () => {
        const cuid = `over-${randomUUID()}`;
        const many = Array.from({ length: 31 }, (_, i) => ({ key: `k${i}`, value: i }));
        await refused(
          profileRequest('POST', { ...a.auth, 'adapty-customer-user-id': cuid, 'content-type': 'application/json' }, JSON.stringify({ first_name: 'Over', custom_attributes: many })),
          envelope(400, 'validation_error', ['custom_attributes', 'A profile can have at most 30 custom attributes.']),
        );
        // On an existing profile with one attribute, 30 new ones make 31: refused, nothing changes.
        const v = await victim();
        await refused(
          profileRequest('PATCH', v.headers, JSON.stringify({ first_name: 'Changed', custom_attributes: many.slice(0, 30) })),
          envelope(400, 'validation_error', ['custom_attributes', 'A profile can have at most 30 custom attributes.']),
        );
      });

      test('a custom attribute value of 1e400 (Infinity after parsing) is a field error', async () => {
        const v = await victim();
        await refused(
          profileRequest('PATCH', v.headers, '{"custom_attributes":[{"key":"n","value":1e400},{"key":"ok","value":1}]}'),
          envelope(400, 'validation_error', ['custom_attributes.0.value', 'Must be a string, a number, or null (or "") to delete the attribute.']),
        );
      });

      test('att_status -0 is 0; 1e400 and 1.5 are refused', async () => {
        const v = await victim();
        const res = await inject(profileRequest('PATCH', v.headers, '{"att_status":-0}'));
        assert.equal(res.statusCode, 200, res.body);
        const [row] = await queryRows(ctx.database, `select att_status from profiles where id = '${v.profileId}'`);
        assert.equal(Number(row!.att_status), 0);
        for (const literal of ['1e400', '1.5', '"1"', 'true']) {
          await refused(profileRequest('PATCH', v.headers, `{"att_status":${literal}}`), envelope(400, 'validation_error', ['att_status', 'Must be one of 0, 1, 2, 3 or null.']));
        }
      });

      test('10,000-deep nested arrays as custom_attributes: a field error, nothing written', async () => {
        const v = await victim();
        await refused(
          profileRequest('PATCH', v.headers, `{"first_name":"Deep","custom_attributes":${nestedArrays(10_000)}}`),
          envelope(400, 'validation_error', ['custom_attributes.0', 'Must be an object with "key" and "value".']),
        );
      });

      test('NUL characters in first_name, a custom attribute value and installation_meta: stored exactly or a field error; never a 5xx', async () => {
        const cases: { payload: unknown; source: string; read: (profileId: string) => Promise<unknown>; expected: unknown }[] = [
          {
            payload: { first_name: 'Nul\u0000Name' },
            source: 'first_name',
            read: async (id) => (await queryRows(ctx.database, `select first_name from profiles where id = '${id}'`))[0]!.first_name,
            expected: 'Nul\u0000Name',
          },
          {
            payload: { custom_attributes: [{ key: 'nul', value: 'a\u0000b' }] },
            source: 'custom_attributes.0.value',
            read: async (id) => (await queryRows(ctx.database, `select value from custom_attributes where profile_id = '${id}' and key = 'nul'`))[0]?.value,
            expected: 'a\u0000b',
          },
          {
            payload: { installation_meta: { device_id: '11111111-2222-4333-8444-555555555555', device: 'Phone\u0000X' } },
            source: 'installation_meta.device',
            read: async (id) => JSON.parse(String((await queryRows(ctx.database, `select meta from installations where profile_id = '${id}'`))[0]?.meta)).device,
            expected: 'Phone\u0000X',
          },
        ];
        for (const { payload, source, read, expected } of cases) {
          const v = await victim();
          const before = await snapshot(ctx.database);
          const res = await inject(profileRequest('PATCH', v.headers, JSON.stringify(payload)));
          if (res.statusCode === 200) {
            assert.equal(await read(v.profileId), expected, source);
          } else {
            assert.equal(res.statusCode, 400, `${source}: ${res.body}`);
            assert.deepEqual((res.json() as { errors: { source: string }[] }).errors.map((e) => e.source), [source]);
            assert.deepEqual(await snapshot(ctx.database), before);
          }
        }
      });

      test('invalid UTF-8 and an oversized body on PATCH write nothing', async () => {
        const v = await victim();
        await refused(profileRequest('PATCH', v.headers, Buffer.concat([Buffer.from('{"first_name":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])), NOT_UTF8);
        await refused(profileRequest('PATCH', v.headers, padded('{"first_name":"Big"}', 64 * KIB + 1)), TOO_LARGE);
      });

      test('DELETE with a broken JSON body is a parse_error and deletes nothing', async () => {
        const v = await victim();
        const res = await refused(profileRequest('DELETE', v.headers, '{"x":'), envelope(400, 'parse_error', [null, 'JSON parse error - Unexpected end of JSON input']));
        assert.equal(res.statusCode, 400);
        assert.equal((await customAttributesOf(v.headers)).length, 1);
      });

      test('create with both headers, when another profile holds the customer user id: 400, nothing written', async () => {
        const v = await victim();
        await refused(
          profileRequest('POST', { ...a.auth, 'adapty-profile-id': randomUUID(), 'adapty-customer-user-id': v.cuid, 'content-type': 'application/json' }, '{"first_name":"Thief"}'),
          envelope(400, 'validation_error', ['adapty-customer-user-id', 'This customer user id already belongs to another profile.']),
        );
      });
    });

    describe('purchases', () => {
      const NOT_OBJECT = envelope(400, 'validation_error', ['non_field_errors', 'Expected a JSON object.']);
      const REQUIRED = 'This field is required.';
      const NOT_A_PRICE = 'Must be a number from 0 to 1000000000000.';
      const field = (source: string, message: string) => envelope(400, 'validation_error', [source, message]);
      const noProfile = (message: 'Profile not found' | 'Profile does not exist') =>
        envelope(400, 'profile_does_not_exist', ['non_field_errors', message]);
      const post = (url: string, headers: Record<string, string | string[]>, payload: unknown): SentRequest => ({
        method: 'POST',
        url,
        headers,
        payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
      });
      const ghost = () => ({ ...a.auth, 'adapty-customer-user-id': `ghost-${randomUUID()}`, 'content-type': 'application/json' });

      /** A subscription period active now, with a transaction id no other test uses. */
      const subscription = (changes: Record<string, unknown> = {}) => subscriptionBody(`corpus-tx-${++counter}`, changes);
      /**
       * Sends `request` and expects a 400 validation_error on exactly `source`, every data table as
       * it was; or, when `accepted` is given, a 200 that `accepted` checks instead.
       */
      async function refusedOn(request: SentRequest, source: string, accepted?: (res: LightMyRequestResponse) => Promise<void>) {
        const before = await snapshot(ctx.database);
        const res = await inject(request);
        if (accepted && res.statusCode === 200) return accepted(res);
        assert.equal(res.statusCode, 400, `${source}: ${res.body}`);
        const answer = res.json() as { error_code: string; errors: { source: string }[] };
        assert.equal(answer.error_code, 'validation_error', res.body);
        assert.deepEqual(answer.errors.map((item) => item.source), [source], res.body);
        assert.deepEqual(await snapshot(ctx.database), before, 'a refused request changed the database');
      }
      const oneTime = (changes: Record<string, unknown> = {}) => {
        const { originally_purchased_at: _o, expires_at: _e, renew_status: _r, ...common } = subscription({ purchase_type: 'one_time_purchase' });
        return { ...common, ...changes };
      };

      test('set transaction: JSON that is not an object is refused; {}, [] and a body hidden under __proto__ name every field required', async () => {
        const v = await victim();
        for (const payload of ['null', '1', '"subscription"', 'true', '[1]', `[${JSON.stringify(subscription())}]`]) {
          await refused(post(TRANSACTION_PATH, v.headers, payload), NOT_OBJECT);
        }
        const required = ['purchase_type', 'store', 'store_product_id', 'store_transaction_id', 'store_original_transaction_id', 'price', 'purchased_at'];
        const allRequired = envelope(400, 'validation_error', ...required.map((source): [string, string] => [source, REQUIRED]));
        for (const payload of ['{}', '[]', `{"__proto__":${JSON.stringify(subscription())}}`, `{"constructor":{"prototype":${JSON.stringify(subscription())}}}`]) {
          await refused(post(TRANSACTION_PATH, v.headers, payload), allRequired);
        }
        await refused({ method: 'POST', url: TRANSACTION_PATH, headers: { ...v.headers, 'content-length': '0' } }, allRequired);
        // A subscription names its own fields too.
        await refused(
          post(TRANSACTION_PATH, v.headers, { purchase_type: 'subscription' }),
          envelope(400, 'validation_error', ...[...required.slice(1), 'originally_purchased_at', 'expires_at', 'renew_status'].map((source): [string, string] => [source, REQUIRED])),
        );
        const price = JSON.stringify(subscription()).replace('"value":9.99', '"__proto__":{"value":9.99}');
        await refused(post(TRANSACTION_PATH, v.headers, price), field('price.value', REQUIRED));
      });

      test("set transaction: each of the vendor's rules is refused with its own code, on its field, and writes nothing", async () => {
        const v = await victim();
        const later = 'Must be later than purchased_at.';
        const cases: [Record<string, unknown>, string, string, string][] = [
          [oneTime({ store_original_transaction_id: 'another' }), 'store_transaction_id_error', 'store_transaction_id', 'A one-time purchase must have store_transaction_id equal to store_original_transaction_id.'],
          [oneTime({ offer: { category: 'introductory', type: 'free_trial' } }), 'one_time_purchase_trial_error', 'offer.type', 'A one-time purchase cannot have a free trial offer.'],
          [subscription({ offer: { category: 'introductory', type: 'free_trial' } }), 'free_trial_price_error', 'price.value', 'A free trial must have a price of 0.'],
          [subscription({ is_family_shared: true }), 'family_share_price_error', 'price.value', 'A family-shared purchase must have a price of 0.'],
          [subscription({ offer: { category: 'promotional', type: 'pay_up_front' } }), 'missing_offer_id', 'offer.id', 'An offer other than introductory needs its id.'],
          [subscription({ originally_purchased_at: '2024-01-02T00:00:00Z' }), 'originally_purchased_date_error', 'originally_purchased_at', 'Must not be later than purchased_at.'],
          [subscription({ expires_at: '2024-01-01T00:00:00Z' }), 'expires_date_error', 'expires_at', later],
          [subscription({ renew_status_changed_at: '2023-12-31T00:00:00Z' }), 'renew_status_changed_date_error', 'renew_status_changed_at', later],
          [subscription({ billing_issue_detected_at: '2023-12-31T00:00:00Z' }), 'billing_issue_detected_at_date_comparison_error', 'billing_issue_detected_at', later],
          [subscription({ grace_period_expires_at: '2099-02-01T00:00:00Z' }), 'grace_period_billing_error', 'grace_period_expires_at', 'A grace period needs billing_issue_detected_at.'],
          [subscription({ billing_issue_detected_at: '2024-01-02T00:00:00Z', grace_period_expires_at: '2098-01-01T00:00:00Z' }), 'grace_period_expires_date_error', 'grace_period_expires_at', 'Must not be earlier than expires_at.'],
          [subscription({ refunded_at: '2024-01-02T00:00:00Z' }), 'refund_fields_error', 'refunded_at', 'refunded_at and cancellation_reason "refund" must be given together.'],
          [subscription({ cancellation_reason: 'refund' }), 'refund_fields_error', 'refunded_at', 'refunded_at and cancellation_reason "refund" must be given together.'],
          [subscription({ refunded_at: '2023-12-31T00:00:00Z', cancellation_reason: 'refund' }), 'refund_date_error', 'refunded_at', later],
        ];
        for (const [body, code, source, message] of cases) await refused(post(TRANSACTION_PATH, v.headers, body), envelope(400, code, [source, message]));
      });

      test('set transaction: field limits and formats, each on its field', async () => {
        const v = await victim();
        const tooLong = 'x'.repeat(51);
        await refused(post(TRANSACTION_PATH, v.headers, subscription({ store_transaction_id: tooLong })), field('store_transaction_id', 'Ensure this field has no more than 50 characters.'));
        for (const literal of ['1e400', '-1', '-1e-7', '"9.99"', 'null']) {
          await refused(post(TRANSACTION_PATH, v.headers, JSON.stringify(subscription()).replace('"value":9.99', `"value":${literal}`)), field('price.value', NOT_A_PRICE));
        }
        await refused(post(TRANSACTION_PATH, v.headers, subscription({ price: { country: 'XX', currency: 'USD', value: 1 } })), field('price.country', 'Must be a two-letter ISO 3166-1 alpha-2 country code.'));
        await refused(post(TRANSACTION_PATH, v.headers, subscription({ environment: 'production' })), field('environment', 'Must be one of: Production, Sandbox.'));
        await refused(post(TRANSACTION_PATH, v.headers, subscription({ purchase_type: 'consumable' })), field('purchase_type', 'Must be one of: one_time_purchase, subscription.'));
        await refused(post(TRANSACTION_PATH, v.headers, subscription({ store: '' })), field('store', 'Must be a non-empty string.'));
        for (const date of ['2023-02-29T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01', '1704067200000', 'now']) {
          await refused(post(TRANSACTION_PATH, v.headers, subscription({ purchased_at: date })), field('purchased_at', 'Must be a date-time such as 2024-01-15T10:30:00Z.'));
        }
        await refused(post(TRANSACTION_PATH, v.headers, subscription({ store_product_id: 'a\u0000b' })), field('store_product_id', 'Must not contain the NUL character (U+0000).'));
        await refused(post(TRANSACTION_PATH, v.headers, subscription({ variation_id: 'v-\ud800' })), field('variation_id', 'Must be valid Unicode text (it holds a lone surrogate).'));
        // Length is counted in characters: 50 emoji are a transaction id.
        const emoji = '😀'.repeat(50);
        const ok = await inject(post(TRANSACTION_PATH, v.headers, subscription({ store_transaction_id: emoji, store_original_transaction_id: emoji })));
        assert.equal(ok.statusCode, 200, ok.body);
        assert.equal((ok.json() as { data: { subscriptions: { store_transaction_id: string }[] } }).data.subscriptions[0]!.store_transaction_id, emoji);
      });

      test('set transaction: sent again it is one transaction; from another profile, or in a currency without a rate, it is refused', async () => {
        const v = await victim();
        const body = subscription();
        for (let i = 0; i < 2; i++) {
          const res = await inject(post(TRANSACTION_PATH, v.headers, body));
          assert.equal(res.statusCode, 200, res.body);
          assert.equal((res.json() as { data: { total_revenue_usd: number } }).data.total_revenue_usd, 9.99);
        }
        const rows = await queryRows(ctx.database, `select profile_id from transactions where store_transaction_id = '${body.store_transaction_id}'`);
        assert.deepEqual(rows.map((row) => row.profile_id), [v.profileId]);
        const other = await victim();
        await refused(post(TRANSACTION_PATH, other.headers, body), field('store_transaction_id', 'This transaction is recorded for another profile of this app.'));
        await refused(
          post(TRANSACTION_PATH, v.headers, subscription({ price: { country: 'DE', currency: 'EUR', value: 9.99 } })),
          field('price.currency', 'No exchange rate to USD is set for EUR; set one with `crosswalk revenue rates set` or the currency-rates API.'),
        );
      });

      test('date-times the format reads but the calendar cannot hold (offsets of a day or more, years past 9999 in UTC): a field error, never a 5xx', async () => {
        const v = await victim();
        const cases: [string, string, Record<string, unknown>][] = [
          [TRANSACTION_PATH, 'purchased_at', subscription({ purchased_at: '2024-01-01T00:00:00+24:00' })],
          [TRANSACTION_PATH, 'expires_at', subscription({ expires_at: '2099-01-01T00:00:00+99:99' })],
          [TRANSACTION_PATH, 'expires_at', subscription({ expires_at: '9999-12-31T23:59:59-23:59' })],
          [GRANT_PATH, 'expires_at', { access_level_id: 'corpus-gold', expires_at: '2099-01-01T00:00:00+24:00' }],
          [GRANT_PATH, 'expires_at', { access_level_id: 'corpus-gold', expires_at: '9999-12-31T23:59:59-23:59' }],
        ];
        for (const [url, source, body] of cases) await refusedOn(post(url, v.headers, body), source);
      });

      test("a one-time purchase carrying a subscription's fields, with values no schema checked: ignored or refused on their fields, never a 5xx", async () => {
        const v = await victim();
        const cases: [string, Record<string, unknown>][] = [
          ['expires_at', { expires_at: 'tomorrow' }],
          ['billing_issue_detected_at', { billing_issue_detected_at: {} }],
          ['originally_purchased_at', { originally_purchased_at: '' }],
          ['renew_status', { renew_status: 'yes' }],
        ];
        for (const [source, fields] of cases) {
          const body = oneTime(fields);
          await refusedOn(post(TRANSACTION_PATH, v.headers, body), source, async () => {
            const [row] = await queryRows(ctx.database, `select * from transactions where store_transaction_id = '${body.store_transaction_id}'`);
            assert.equal(row?.[source], null, `${source}: ${JSON.stringify(fields[source])} was stored as ${JSON.stringify(row?.[source])}`);
          });
        }
      });

      test('a price whose dollar value overflows: refused on price.value, or counted as a finite total', async () => {
        const v = await victim();
        await refusedOn(post(TRANSACTION_PATH, v.headers, subscription({ price: { country: 'US', currency: 'USD', value: 1e303 } })), 'price.value', async (res) => {
          const total = (res.json() as { data: { total_revenue_usd: unknown } }).data.total_revenue_usd;
          assert.ok(typeof total === 'number' && Number.isFinite(total), `total_revenue_usd is ${total}`);
        });
      });

      test('grant access level: bad bodies, each on its field', async () => {
        const v = await victim();
        await refused(post(GRANT_PATH, v.headers, 'null'), NOT_OBJECT);
        for (const payload of ['{}', '[]', '{"__proto__":{"access_level_id":"corpus-gold"}}']) await refused(post(GRANT_PATH, v.headers, payload), field('access_level_id', REQUIRED));
        await refused(post(GRANT_PATH, v.headers, { access_level_id: '' }), field('access_level_id', 'Must be a non-empty string.'));
        await refused(post(GRANT_PATH, v.headers, { access_level_id: 'x'.repeat(101) }), field('access_level_id', 'Ensure this field has no more than 100 characters.'));
        await refused(post(GRANT_PATH, v.headers, { access_level_id: 'gold\ud800' }), field('access_level_id', 'Must be valid Unicode text (it holds a lone surrogate).'));
        await refused(post(GRANT_PATH, v.headers, { access_level_id: 'corpus-gold', starts_at: 'tomorrow' }), field('starts_at', 'Must be a date-time such as 2024-01-15T10:30:00Z, or null.'));
        await refused(
          post(GRANT_PATH, v.headers, { access_level_id: 'corpus-gold', starts_at: '2099-01-02T00:00:00Z', expires_at: '2099-01-01T00:00:00Z' }),
          field('non_field_errors', 'expires_at must be later than starts_at.'),
        );
      });

      test("revoke access level: the vendor's refusals, each with its code", async () => {
        const v = await victim();
        const granted = await inject(post(GRANT_PATH, v.headers, { access_level_id: 'corpus-gold', expires_at: '2099-01-01T00:00:00Z' }));
        assert.equal(granted.statusCode, 200, granted.body);
        await refused(post(REVOKE_PATH, v.headers, { access_level_id: 'corpus-none' }), envelope(400, 'paid_access_level_does_not_exist', ['non_field_errors', 'Paid access level `corpus-none` does not exist']));
        await refused(post(REVOKE_PATH, (await victim()).headers, { access_level_id: 'corpus-gold' }), envelope(400, 'profile_paid_access_level_does_not_exist', ['non_field_errors', 'The profile has no access level `corpus-gold`']));
        await refused(post(REVOKE_PATH, v.headers, { access_level_id: 'corpus-gold', revoke_at: '2020-01-01T00:00:00Z' }), envelope(400, 'value_error', [null, 'Must be greater than the current time or null']));
        await refused(
          post(REVOKE_PATH, v.headers, { access_level_id: 'corpus-gold', revoke_at: '2099-06-01T00:00:00Z' }),
          envelope(400, 'revocation_date_more_than_expiration_date', ['revoke_at', 'Must not be later than the access level expires.']),
        );
        for (const payload of ['{}', '{"revoke_at":null}']) await refused(post(REVOKE_PATH, v.headers, payload), field('access_level_id', REQUIRED));
      });

      test('Refund Saver settings: bad bodies, each on its field', async () => {
        const v = await victim();
        for (const payload of ['{}', '[]', '{"consent":null,"custom_preference":null}', '{"__proto__":{"consent":true}}']) {
          await refused(post(REFUND_SAVER_PATH, v.headers, payload), field('non_field_errors', 'Set consent, custom_preference, or both.'));
        }
        await refused(post(REFUND_SAVER_PATH, v.headers, '[1]'), NOT_OBJECT);
        await refused(post(REFUND_SAVER_PATH, v.headers, { consent: 'yes' }), field('consent', 'Must be a boolean or null.'));
        await refused(
          post(REFUND_SAVER_PATH, v.headers, { consent: 1, custom_preference: 'maybe' }),
          envelope(400, 'validation_error', ['custom_preference', 'Must be one of: grant, no_preference, decline.'], ['consent', 'Must be a boolean or null.']),
        );
      });

      test('a profile that does not exist is a 400 profile_does_not_exist on every purchase route, and nothing is created', async () => {
        await refused(post(TRANSACTION_PATH, ghost(), subscription()), noProfile('Profile not found'));
        await refused(post(GRANT_PATH, ghost(), { access_level_id: 'corpus-gold' }), noProfile('Profile not found'));
        await refused(post(REVOKE_PATH, ghost(), { access_level_id: 'corpus-gold' }), noProfile('Profile not found'));
        await refused({ method: 'GET', url: REFUND_SAVER_PATH, headers: ghost() }, noProfile('Profile does not exist'));
        await refused(post(REFUND_SAVER_PATH, ghost(), { consent: true }), noProfile('Profile does not exist'));
        const { 'adapty-customer-user-id': _cuid, ...byId } = ghost();
        await refused(post(TRANSACTION_PATH, { ...byId, 'adapty-profile-id': randomUUID() }, subscription()), noProfile('Profile not found'));
      });

      test('headers, media types, UTF-8 and size on every purchase route: answered before the body is looked at, nothing written', async () => {
        const v = await victim();
        const media = envelope(415, 'unsupported_media_type', ['non_field_errors', 'Unsupported media type: send the body as application/json.']);
        const { 'adapty-customer-user-id': _cuid, ...anonymous } = v.headers;
        const noAddress = field('non_field_errors', 'Provide the adapty-customer-user-id header, the adapty-profile-id header, or both.');
        const bodies: [string, unknown][] = [[TRANSACTION_PATH, subscription()], [GRANT_PATH, { access_level_id: 'corpus-gold' }], [REVOKE_PATH, { access_level_id: 'corpus-gold' }], [REFUND_SAVER_PATH, { consent: true }]];
        for (const [url, body] of bodies) {
          await refused(post(url, { ...v.headers, 'adapty-customer-user-id': [v.cuid, v.cuid] }, body), field('adapty-customer-user-id', ONCE));
          await refused(post(url, { ...anonymous, 'adapty-profile-id': 'not-a-uuid' }, body), field('adapty-profile-id', 'Must be a valid UUID.'));
          await refused(post(url, anonymous, body), noAddress);
          await refused(post(url, { ...v.headers, 'content-type': 'text/plain' }, body), media);
          await refused(post(url, v.headers, Buffer.concat([Buffer.from('{"access_level_id":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])), NOT_UTF8);
          await refused(post(url, v.headers, padded(JSON.stringify(body), 64 * KIB + 1)), TOO_LARGE);
        }
        await refused({ method: 'GET', url: REFUND_SAVER_PATH, headers: { ...v.headers, 'adapty-customer-user-id': [v.cuid, 'other'] } }, field('adapty-customer-user-id', ONCE));
        await refused({ method: 'GET', url: REFUND_SAVER_PATH, headers: anonymous }, noAddress);
      });
    });

    describe('key scopes and shed clients', () => {
      const forbidden = (granted: string, needed: string) =>
        envelope(403, 'forbidden', ['non_field_errors', `This API key has the ${granted} scope; this operation needs the ${needed} scope.`]);

      test('a key below the scope is a 403 before the body is read: broken JSON, 64 KiB + 1, a foreign media type, hostile keys', async () => {
        const v = await victim();
        const reader = (await keyOf(ctx, a.appId, 'read')).auth;
        const writer = (await keyOf(ctx, a.appId, 'write')).auth;
        const headers = { ...v.headers, ...reader };
        await refused(setIds(headers, '{"appsflyer_id": '), forbidden('read', 'write'));
        await refused(setIds(headers, padded('{"appsflyer_id":"big"}', 64 * KIB + 1)), forbidden('read', 'write'));
        await refused(setIds({ ...headers, 'content-type': 'text/plain' }, 'appsflyer_id=x'), forbidden('read', 'write'));
        await refused(setIds(headers, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])), forbidden('read', 'write'));
        await refused({ method: 'DELETE', url: PROFILE_PATH, headers }, forbidden('read', 'write'));
        await refused({ method: 'POST', url: TRANSACTION_PATH, headers, payload: JSON.stringify(subscriptionBody('tx-read')) }, forbidden('read', 'write'));
        const management = { ...writer, 'content-type': 'application/json' };
        await refused({ method: 'PUT', url: '/crosswalk/v1/revenue/settings/', headers: management, payload: '{"__proto__":{"unknown_access_levels":"reject"}}' }, forbidden('write', 'admin'));
        await refused({ method: 'PUT', url: `/crosswalk/v1/revenue/products/${'%F0%9F%98%80'.repeat(200)}/`, headers: management, payload: '{}' }, forbidden('write', 'admin'));
        await refused({ method: 'DELETE', url: '/crosswalk/v1/webhooks/endpoints/%00/', headers: writer }, forbidden('write', 'admin'));
        await refused({ method: 'GET', url: '/crosswalk/v1/audit/?limit=abc&limit=1', headers: writer }, forbidden('write', 'admin'));
        // Two keys, one of them an admin key, are no credentials at all.
        await refused(setIds({ ...v.headers, authorization: [reader.authorization, a.auth.authorization] }, '{"appsflyer_id":"two-keys"}'), NOT_AUTHENTICATED);
        assert.equal((await identifiersOf(v.headers)).appsflyer_id, 'orig-af');
      });

      test('a client address that failed too often is a 429 with Retry-After before its key or body is looked at; a known key still works', async () => {
        const v = await victim();
        const remoteAddress = '203.0.113.66';
        const from = async (headers: Record<string, string | string[]>, payload?: string) => {
          const res = await ctx.app.inject({ method: 'POST', url: IDENTIFIERS_PATH, remoteAddress, headers: { 'adapty-customer-user-id': v.cuid, 'content-type': 'application/json', ...headers }, ...(payload === undefined ? {} : { payload }) });
          assert.ok(res.statusCode < 500, res.body);
          if (res.statusCode >= 400) {
            assertEnvelope(res, '', IDENTIFIERS_PATH);
            assertNoInternals(res);
          }
          return res;
        };
        for (let i = 0; i < 60; i++) assert.equal((await from({ authorization: `Api-Key wrong-key-${i}-abcdefghijklmnop` }, '{"appsflyer_id":"x"}')).statusCode, 401);
        const shed = envelope(429, 'rate_limited', ['non_field_errors', 'Too many failed authentications from this address; retry in 1 s.']);
        const before = await snapshot(ctx.database);
        for (const [headers, payload] of [
          [{ authorization: 'Api-Key secret_live_AAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' }, '{"appsflyer_id": '],
          [{}, '{"appsflyer_id":"x"}'],
          [{ authorization: 'Bearer nothing' }, padded('{"appsflyer_id":"big"}', 64 * KIB + 1)],
          [{ authorization: `Api-Key ${'k'.repeat(4000)}`, 'content-type': 'text/plain' }, 'x'],
        ] as [Record<string, string>, string][]) {
          const res = await from(headers, payload);
          assert.equal(res.statusCode, 429, res.body);
          assert.equal(res.headers['retry-after'], '1');
          assert.deepEqual(res.json(), shed);
        }
        assert.deepEqual(await snapshot(ctx.database), before, 'a shed request changed the database');
        const known = await from(a.auth, '{"appsflyer_id":"known-key"}');
        assert.equal(known.statusCode, 200, known.body);
        assert.equal((await identifiersOf(v.headers)).appsflyer_id, 'known-key');
      });
    });

    describe('real HTTP', () => {
      const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;

      test('a UTF-8 customer user id header is read as UTF-8', async () => {
        const cuid = 'ユーザー-😀';
        const request = Buffer.concat([
          Buffer.from(`POST ${PROFILE_PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: ${a.auth.authorization}\r\nadapty-customer-user-id: `),
          Buffer.from(cuid, 'utf8'),
          Buffer.from('\r\nContent-Length: 0\r\n\r\n'),
        ]);
        const res = await rawHttp(port, request);
        assert.equal(res.status, 200, res.body);
        assert.equal((JSON.parse(res.body) as { data: { customer_user_id: string } }).data.customer_user_id, cuid);
      });

      test('doubled addressing headers over the wire are a 400 naming the header', async () => {
        const res = await rawHttp(port, head([`GET ${PROFILE_PATH} HTTP/1.1`, 'Host: x', 'Connection: close', `Authorization: ${a.auth.authorization}`, 'adapty-customer-user-id: one', 'adapty-customer-user-id: two']));
        assert.equal(res.status, 400);
        assert.deepEqual(JSON.parse(res.body), envelope(400, 'validation_error', ['adapty-customer-user-id', ONCE]));
      });

      test('two Authorization lines over the wire: 401 not_authenticated, nothing written', async () => {
        const v = await victim();
        const before = await snapshot(ctx.database);
        const body = '{"appsflyer_id":"two-keys"}';
        const res = await rawHttp(port, head([`POST ${IDENTIFIERS_PATH} HTTP/1.1`, 'Host: x', 'Connection: close', `Authorization: ${a.auth.authorization}`, `Authorization: ${b.auth.authorization}`, `adapty-customer-user-id: ${v.cuid}`, 'Content-Type: application/json', `Content-Length: ${body.length}`]) + body);
        assert.equal(res.status, 401, res.body);
        assert.deepEqual(JSON.parse(res.body), NOT_AUTHENTICATED);
        assert.deepEqual(await snapshot(ctx.database), before);
      });

      test('a path whose percent-encoding does not decode is answered in the envelope', async () => {
        for (const path of [`${PROFILE_PATH}%`, `${IDENTIFIERS_PATH}%E0%A4%A`, `${REFUND_SAVER_PATH}%zz`, '/api/v2/server-side-api/%ff/']) {
          const res = await rawHttp(port, head([`GET ${path} HTTP/1.1`, 'Host: x', 'Connection: close', `Authorization: ${a.auth.authorization}`, 'adapty-customer-user-id: x']));
          assert.equal(res.status, 400, `${path}: ${res.status} ${res.body}`);
          const body = assertEnvelope({ statusCode: res.status, body: res.body, headers: res.headers }, path);
          assert.equal(body.error_code, 'validation_error', path);
          assertNoInternals({ statusCode: res.status, body: res.body, headers: res.headers });
        }
      });

      test('requests Node itself rejects (header block over 16 KiB, control characters, bad framing) are answered in the envelope', async () => {
        const cases: [string, string][] = [
          ['header block over 16 KiB', head([`GET ${PROFILE_PATH} HTTP/1.1`, 'Host: x', `X-Big: ${'a'.repeat(17 * KIB)}`])],
          ['control character in a header value', head([`GET ${PROFILE_PATH} HTTP/1.1`, 'Host: x', 'adapty-customer-user-id: a\u0001b'])],
          ['NUL in a header value', head([`GET ${PROFILE_PATH} HTTP/1.1`, 'Host: x', 'adapty-customer-user-id: a\u0000b'])],
          ['Content-Length and Transfer-Encoding together', head([`POST ${IDENTIFIERS_PATH} HTTP/1.1`, 'Host: x', 'Transfer-Encoding: chunked', 'Content-Length: 3', 'Content-Type: application/json']) + '0\r\n\r\n'],
          ['a request line that is not HTTP', 'GARBAGE\r\n\r\n'],
        ];
        const failures: string[] = [];
        for (const [name, request] of cases) {
          const res = await rawHttp(port, request);
          try {
            assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
            const body = JSON.parse(res.body) as Record<string, unknown>;
            assert.deepEqual(Object.keys(body).sort(), ['error_code', 'errors', 'status_code']);
            assert.equal(body.status_code, res.status);
            assert.ok(Array.isArray(body.errors) && body.errors.length > 0);
          } catch (error) {
            failures.push(`${name}: ${res.status} ${res.body} (${(error as Error).message.split('\n')[0]})`);
          }
        }
        assert.deepEqual(failures, [], `not in the envelope:\n${failures.join('\n')}`);
      });
    });

    describe('webhook targets', () => {
      const ADVICE = 'webhook targets must be public (set WEBHOOK_ALLOW_PRIVATE_NETWORKS=true for local development, or allow the network in WEBHOOK_ALLOWED_NETWORKS)';
      const notPublic = (address: string, why: string) => envelope(400, 'validation_error', ['url', `The address ${address} is ${why}; ${ADVICE}.`]);
      const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;

      test('loopback, metadata, private and reserved targets in every spelling: 400 on url over the wire, no endpoint stored', async () => {
        const cases: [string, ReturnType<typeof envelope>][] = [
          ['http://127.0.0.1:8080/', notPublic('127.0.0.1', 'a loopback address')],
          ['http://2130706433/', notPublic('127.0.0.1', 'a loopback address')],
          ['http://0x7f000001/', notPublic('127.0.0.1', 'a loopback address')],
          ['http://017700000001/', notPublic('127.0.0.1', 'a loopback address')],
          ['http://127.1/', notPublic('127.0.0.1', 'a loopback address')],
          ['http://0177.0x0.0.1./', notPublic('127.0.0.1', 'a loopback address')],
          ['http://%30x7f.1/', notPublic('127.0.0.1', 'a loopback address')],
          ['http://169.254.169.254/latest/meta-data/iam/', notPublic('169.254.169.254', 'a link-local address')],
          ['http://[fd00:ec2::254]/', notPublic('fd00:ec2::254', 'a private address')],
          ['http://[::ffff:169.254.169.254]/', notPublic('::ffff:a9fe:a9fe', 'the IPv4-mapped form of 169.254.169.254, a link-local address')],
          ['http://[::ffff:7f00:1]/', notPublic('::ffff:7f00:1', 'the IPv4-mapped form of 127.0.0.1, a loopback address')],
          ['http://[0::1]/', notPublic('::1', 'a loopback address')],
          ['http://0/', notPublic('0.0.0.0', 'an unspecified address')],
          ['https://10.1.2.3/', notPublic('10.1.2.3', 'a private address')],
          ['https://100.100.100.200/', notPublic('100.100.100.200', 'a shared (carrier-grade NAT) address')],
          ['https://255.255.255.255/', notPublic('255.255.255.255', 'the broadcast address')],
          ['https://[64:ff9b::192.168.0.1]/', notPublic('64:ff9b::c0a8:1', 'the NAT64 form of 192.168.0.1, a private address')],
        ];
        const before = await queryRows(ctx.database, 'select count(*) as n from webhook_endpoints');
        for (const [url, expected] of cases) {
          const body = JSON.stringify({ url });
          const res = await rawHttp(port, head([`POST /crosswalk/v1/webhooks/endpoints/ HTTP/1.1`, 'Host: x', 'Connection: close', `Authorization: ${a.auth.authorization}`, 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`]) + body);
          assert.equal(res.status, 400, `${url}: ${res.body}`);
          assert.deepEqual(JSON.parse(res.body), expected, url);
          assertNoInternals({ statusCode: res.status, body: res.body, headers: res.headers });
        }
        assert.deepEqual(await queryRows(ctx.database, 'select count(*) as n from webhook_endpoints'), before);
      });
    });
  });
}
