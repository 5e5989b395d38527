import { Type } from 'typebox';
import { IDENTIFIER_KEYS } from '../../domain/identifiers.js';
import { data } from './common.js';

/** The answer of GET /crosswalk/v1/stats/: what `crosswalk stats --json` reports, in wire words. */

const count = (description?: string) => Type.Integer({ minimum: 0, description });

export const statsResponse = data(
  Type.Object({
    app: Type.Object({ id: Type.String({ format: 'uuid' }), name: Type.String() }),
    profiles: count(),
    identifiers: Type.Object(
      Object.fromEntries(IDENTIFIER_KEYS.map((key) => [key, count()])),
      { description: 'Profiles holding each of the 16 keys; 0 where none does' },
    ),
    api_keys: Type.Object({ active: count(), revoked: count() }),
    revenue: Type.Object({
      transactions: Type.Array(
        Type.Object({
          store: Type.String(),
          environment: Type.String(),
          count: count(),
          refunded: count(),
          revenue_usd: Type.Number({ description: 'The converted price of the transactions not refunded' }),
        }),
        { description: 'Per store and environment' },
      ),
      grants: count('Access levels given without a transaction'),
      revenue_usd: Type.Number({ description: 'Production transactions not refunded, in US dollars, rounded to cents' }),
    }),
    database: Type.Object(
      {
        dialect: Type.String({ enum: ['sqlite', 'postgres'] }),
        bytes: count('SQLite: page_count * page_size of the main file plus its WAL file; PostgreSQL: pg_total_relation_size over the tables of the schema'),
      },
      { description: 'The whole database, every app included' },
    ),
  }),
);
