import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { IDENTIFIER_KEYS } from '../src/index.js';
import { type Crosswalk, startCrosswalk, userId } from './support.js';

describe('integration identifier operations against the real server', () => {
  let server: Crosswalk;
  before(async () => {
    server = await startCrosswalk();
  });
  after(() => server?.stop());

  test('a new profile has all 16 keys, in vendor order, all null', async () => {
    const client = server.client();
    const customerUserId = userId('empty');
    await client.createProfile({ customerUserId });
    const identifiers = await client.getIntegrationIdentifiers({ customerUserId });
    assert.deepEqual(Object.keys(identifiers), [...IDENTIFIER_KEYS]);
    assert.ok(Object.values(identifiers).every((value) => value === null));
  });

  test('setIntegrationIdentifiers merges: sets strings and numbers, clears null, keeps the rest', async () => {
    const client = server.client();
    const customerUserId = userId('set');
    const { profile_id: profileId } = await client.createProfile({ customerUserId });
    const result = await client.setIntegrationIdentifiers(
      { customerUserId },
      { appsflyer_id: '1712345678901-1234567', mixpanel_user_id: 'mx', branch_id: 42, adjust_device_id: '  padded  ' },
    );
    assert.equal(result, undefined);
    await client.setIntegrationIdentifiers({ profileId }, { mixpanel_user_id: null, amplitude_user_id: customerUserId });

    const identifiers = await client.getIntegrationIdentifiers({ profileId });
    assert.equal(identifiers.appsflyer_id, '1712345678901-1234567');
    assert.equal(identifiers.branch_id, '42');
    assert.equal(identifiers.adjust_device_id, 'padded');
    assert.equal(identifiers.amplitude_user_id, customerUserId);
    assert.equal(identifiers.mixpanel_user_id, null);
    assert.equal(identifiers.posthog_distinct_user_id, null);
  });
});
