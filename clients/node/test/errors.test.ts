import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  CrosswalkAuthError,
  CrosswalkError,
  CrosswalkNotFoundError,
  CrosswalkValidationError,
  type ProfileRequest,
} from '../src/index.js';
import { type Crosswalk, failure, startCrosswalk, userId } from './support.js';

describe('typed errors from the real server', () => {
  let server: Crosswalk;
  before(async () => {
    server = await startCrosswalk();
  });
  after(() => server?.stop());

  test('profile operations: 404 profile_does_not_exist as CrosswalkNotFoundError', async () => {
    const client = server.client();
    const address = { customerUserId: userId('missing') };
    const calls = [() => client.getProfile(address), () => client.updateProfile(address, { first_name: 'x' }), () => client.deleteProfile(address)];
    for (const call of calls) {
      const error = await failure(call());
      assert.ok(error instanceof CrosswalkNotFoundError);
      assert.equal(error.status, 404);
      assert.equal(error.errorCode, 'profile_does_not_exist');
      assert.deepEqual(error.errors, [{ source: null, errors: ['Profile not found'] }]);
      assert.deepEqual(error.body, { errors: error.errors, error_code: 'profile_does_not_exist', status_code: 404 });
      assert.equal(error.message, '404 profile_does_not_exist: Profile not found');
    }
  });

  test('identifier operations: 404 profile_not_found as CrosswalkNotFoundError', async () => {
    const client = server.client();
    const address = { profileId: randomUUID() };
    for (const call of [() => client.getIntegrationIdentifiers(address), () => client.setIntegrationIdentifiers(address, { branch_id: 'b' })]) {
      const error = await failure(call());
      assert.ok(error instanceof CrosswalkNotFoundError);
      assert.equal(error.status, 404);
      assert.equal(error.errorCode, 'profile_not_found');
      assert.deepEqual(error.messagesFor(null), ['Profile not found']);
    }
  });

  test('400 validation_error carries one item per field source', async () => {
    const client = server.client();
    const customerUserId = userId('invalid');
    await client.createProfile({ customerUserId });
    const body = {
      email: 'not an email',
      gender: 'x',
      custom_attributes: [{ key: 'ok', value: 'fine' }, { key: 'bad key!', value: 'v' }],
      installation_meta: { device_id: 'not-a-uuid' },
    } as unknown as ProfileRequest;
    const error = await failure(client.updateProfile({ customerUserId }, body));
    assert.ok(error instanceof CrosswalkValidationError);
    assert.equal(error.status, 400);
    assert.equal(error.errorCode, 'validation_error');
    assert.deepEqual(
      error.errors.map((item) => item.source).sort(),
      ['custom_attributes.1.key', 'email', 'gender', 'installation_meta.device_id'],
    );
    assert.deepEqual(error.messagesFor('email'), ['Enter a valid email address.']);
  });

  test('400 for a header and for an identifier body, with their sources', async () => {
    const client = server.client();
    const badId = await failure(client.getProfile({ profileId: 'not-a-uuid' }));
    assert.ok(badId instanceof CrosswalkValidationError);
    assert.equal(badId.errors[0]?.source, 'adapty-profile-id');

    const customerUserId = userId('blank');
    await client.createProfile({ customerUserId });
    const blank = await failure(client.setIntegrationIdentifiers({ customerUserId }, { appsflyer_id: '  ', branch_id: 'ok' }));
    assert.ok(blank instanceof CrosswalkValidationError);
    assert.deepEqual(blank.messagesFor('appsflyer_id'), ['This field may not be blank; use null to clear it.']);

    const none = await failure(client.setIntegrationIdentifiers({ customerUserId }, {}));
    assert.ok(none instanceof CrosswalkValidationError);
    assert.deepEqual(none.messagesFor('non_field_errors'), ['At least one integration identifier must be provided.']);
    // Nothing was written by the failed call.
    assert.equal((await client.getIntegrationIdentifiers({ customerUserId })).branch_id, null);
  });

  test('401 unauthorized for an unknown key, as CrosswalkAuthError', async () => {
    const client = server.client({ apiKey: 'not-the-right-key-0123456789' });
    const error = await failure(client.getProfile({ customerUserId: 'anyone' }));
    assert.ok(error instanceof CrosswalkAuthError);
    assert.ok(error instanceof CrosswalkError);
    assert.equal(error.status, 401);
    assert.equal(error.errorCode, 'unauthorized');
    assert.deepEqual(error.messagesFor('non_field_errors'), ['Invalid API key']);
  });

  test('a wrong base path is a plain CrosswalkError not_found, not a missing profile', async () => {
    const client = server.client({ baseUrl: `${server.url}/nothing-here` });
    const error = await failure(client.getProfile({ customerUserId: 'anyone' }));
    assert.ok(error instanceof CrosswalkError);
    assert.ok(!(error instanceof CrosswalkNotFoundError));
    assert.equal(error.errorCode, 'not_found');
  });
});
