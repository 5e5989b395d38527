import type { ApiError } from '../errors.js';
import type { IdentifierChanges } from './identifiers.js';

export const MAX_BATCH_ITEMS = 1000;

/** A batch item that passed validation: its address and its identifier changes. */
export interface ValidBatchItem {
  index: number;
  address: { profileId?: string; customerUserId?: string };
  changes: IdentifierChanges;
}

/** A batch item refused before touching storage, with the error its own request would have had. */
export interface InvalidBatchItem {
  index: number;
  error: ApiError;
}
