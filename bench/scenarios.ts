import { customerUserId } from './preload.js';

export const PROFILE_PATH = '/api/v2/server-side-api/profile/';
export const IDENTIFIERS_PATH = '/api/v2/server-side-api/integration/profile/set/integration-identifiers/';

export interface RequestShape {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface Scenario {
  name: string;
  description: string;
  /** A new request each call; `auth` is the Authorization header value. */
  next(auth: string): RequestShape;
}

const pick = (profiles: number) => Math.floor(Math.random() * profiles);

export function scenarios(profiles: number, runId: string): Scenario[] {
  let created = 0;
  let sequence = 0;
  const set = (auth: string): RequestShape => {
    const i = pick(profiles);
    sequence++;
    return {
      method: 'POST',
      path: IDENTIFIERS_PATH,
      headers: { authorization: auth, 'adapty-customer-user-id': customerUserId(i), 'content-type': 'application/json' },
      body: JSON.stringify({
        appsflyer_id: `af-${i}-${sequence}`,
        adjust_device_id: `adj-${sequence}`,
        mixpanel_user_id: `mx-${i}`,
      }),
    };
  };
  const get = (auth: string): RequestShape => ({
    method: 'GET',
    path: IDENTIFIERS_PATH,
    headers: { authorization: auth, 'adapty-customer-user-id': customerUserId(pick(profiles)) },
  });
  return [
    { name: 'set', description: 'POST 3 identifiers to a random profile', next: set },
    { name: 'get', description: 'GET the identifiers of a random profile', next: get },
    {
      name: 'create',
      description: 'idempotent create of a new customer user id',
      next: (auth) => ({
        method: 'POST',
        path: PROFILE_PATH,
        headers: { authorization: auth, 'adapty-customer-user-id': `new-${runId}-${created++}`, 'content-type': 'application/json' },
        body: '{}',
      }),
    },
    { name: 'mixed', description: '80% get, 20% set', next: (auth) => (Math.random() < 0.8 ? get(auth) : set(auth)) },
  ];
}
