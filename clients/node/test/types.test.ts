import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type CrosswalkClient,
  CrosswalkError,
  type ErrorCode,
  IDENTIFIER_KEYS,
  type IdentifierKey,
  type IntegrationIdentifiers,
} from '../src/index.js';

/**
 * Never called: `tsc --noEmit -p clients/node/tsconfig.json` checks that the types refuse what
 * they should (each @ts-expect-error fails the type check if its line compiles).
 */
export function typeChecks(client: CrosswalkClient): void {
  // @ts-expect-error an address needs a customer user id or a profile id
  void client.getProfile({});
  // @ts-expect-error platform must be one of the vendor's values
  void client.createProfile({ customerUserId: 'u' }, {}, { platform: 'Windows' });
  // @ts-expect-error gender is f, m or o
  void client.updateProfile({ profileId: 'p' }, { gender: 'x' });
  // @ts-expect-error unknown identifier key
  void client.setIntegrationIdentifiers({ customerUserId: 'u' }, { appsflyer: 'x' });
  // @ts-expect-error identifier values are strings, numbers or null
  void client.setIntegrationIdentifiers({ customerUserId: 'u' }, { appsflyer_id: true });
  void client.setIntegrationIdentifiers({ customerUserId: 'u', profileId: 'p' }, { appsflyer_id: 1, branch_id: null });
  const code: ErrorCode = 'some_future_code';
  void code;
}

test('IDENTIFIER_KEYS lists the 16 keys of IntegrationIdentifiers in vendor (alphabetical) order', () => {
  const keys: readonly IdentifierKey[] = IDENTIFIER_KEYS;
  assert.equal(keys.length, 16);
  assert.deepEqual([...keys].sort(), [...keys]);
  const sample: IntegrationIdentifiers = Object.fromEntries(keys.map((key) => [key, null])) as Record<IdentifierKey, null>;
  assert.deepEqual(Object.keys(sample), keys);
  assert.ok(new CrosswalkError({ status: 418, body: '' }, 'unknown', []) instanceof Error);
});
