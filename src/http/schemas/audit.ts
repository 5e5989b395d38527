import { Type } from 'typebox';
import { AUDIT_ACTIONS } from '../../domain/audit.js';
import { nullableString } from './common.js';

export { AUDIT_DEFAULT_LIMIT, auditQuery } from '../../schemas/audit.js';

/** Schemas of GET /crosswalk/v1/audit/: the answer (the query is in src/schemas/audit.ts). */

export const auditResponse = Type.Object({
  data: Type.Array(
    Type.Object({
      id: Type.String({ description: 'Increasing: newer entries have larger ids' }),
      actor: Type.String({ description: 'The id of the API key that made the change, `cli` for the crosswalk command, or `startup` for the server starting' }),
      action: Type.String({ enum: [...AUDIT_ACTIONS] }),
      target_id: nullableString,
      detail: Type.Object({}, { additionalProperties: true, description: 'What changed; never a secret' }),
      created_at: Type.String({ format: 'date-time' }),
    }),
  ),
  next_cursor: nullableString,
});
