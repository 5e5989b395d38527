import { Type } from 'typebox';
import { pageCursor, pageLimit, Words } from './kit.js';

/** The query of the audit trail's listing: GET /crosswalk/v1/audit/ and `crosswalk audit` read it alike. */

export const AUDIT_DEFAULT_LIMIT = 50;
export const AUDIT_MAX_LIMIT = 500;

export const auditQuery = Type.Object(
  {
    limit: pageLimit(AUDIT_MAX_LIMIT, AUDIT_DEFAULT_LIMIT),
    cursor: pageCursor('Not a cursor this API gave out: pass next_cursor from the previous page unchanged.'),
  },
  { [Words]: { repeated: 'Give this query parameter only once.' } },
);
